/*
** core_bench.c: the C core against a bare glibc swapcontext, in one run.
**
**   core_bench            timed: medians of alternating runs, and ratios
**   core_bench count W N  untimed: N iterations of workload W, for
**                         callgrind (W: roundtrip, swapcontext, lifecycle)
*/
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "ucoro.h"

#define RUNS 9

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* --- ucoro resume + yield ------------------------------------------------ */
static void *yielder(ucoro *co, void *arg) {
  (void)co;
  for (;;) ucoro_yield(arg, &arg);
  return NULL;
}

static void ucoro_roundtrips(long n) {
  ucoro *co;
  long i;
  if (ucoro_create(&co, yielder, NULL, 0) != UCORO_OK) exit(1);
  for (i = 0; i < n; i++) ucoro_resume(co, (void *)(intptr_t)i, NULL);
  ucoro_destroy(co);
}

/* --- bare swapcontext ---------------------------------------------------- */
static ucontext_t main_uc, loop_uc;

static void swap_loop(void) {
  for (;;) swapcontext(&loop_uc, &main_uc);
}

static void swapcontext_roundtrips(long n) {
  static char stack[64 * 1024];
  long i;
  getcontext(&loop_uc);
  loop_uc.uc_stack.ss_sp = stack;
  loop_uc.uc_stack.ss_size = sizeof stack;
  makecontext(&loop_uc, swap_loop, 0);
  for (i = 0; i < n; i++) swapcontext(&main_uc, &loop_uc);
}

/* --- create + run + destroy, pool warm ----------------------------------- */
static void *returns(ucoro *co, void *arg) {
  (void)co;
  return arg;
}

static void lifecycles(long n) {
  long i;
  for (i = 0; i < n; i++) {
    ucoro *co;
    if (ucoro_create(&co, returns, NULL, 0) != UCORO_OK) exit(1);
    ucoro_resume(co, NULL, NULL);
    ucoro_destroy(co);
  }
}

typedef struct workload {
  const char *name;
  void (*run)(long n);
  long n;
  double samples[RUNS];
} workload;

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v) {
  qsort(v, RUNS, sizeof *v, by_value);
  return v[RUNS / 2];
}

int main(int argc, char **argv) {
  workload w[] = {
    {"roundtrip", ucoro_roundtrips, 2000000, {0}},
    {"swapcontext", swapcontext_roundtrips, 500000, {0}},
    {"lifecycle", lifecycles, 1000000, {0}},
  };
  size_t i, k, nw = sizeof w / sizeof w[0];
  double rt, sw, lc;
  if (argc == 4 && strcmp(argv[1], "count") == 0) {
    for (i = 0; i < nw; i++)
      if (strcmp(argv[2], w[i].name) == 0) {
        w[i].run(atol(argv[3]));
        return 0;
      }
    return 2;
  }
  for (i = 0; i < nw; i++) w[i].run(w[i].n / 10);  /* warm up */
  for (k = 0; k < RUNS; k++)  /* alternate, so drift hits all alike */
    for (i = 0; i < nw; i++) {
      double t0 = now_ns();
      w[i].run(w[i].n);
      w[i].samples[k] = (now_ns() - t0) / (double)w[i].n;
    }
  rt = median(w[0].samples);
  sw = median(w[1].samples);
  lc = median(w[2].samples);
  printf("backend %s, medians of %d alternating runs\n", ucoro_backend(),
         RUNS);
  printf("%-44s %8.1f ns\n", "swapcontext round trip (bare glibc)", sw);
  printf("%-44s %8.1f ns  %.3fx swapcontext\n",
         "ucoro resume+yield round trip", rt, rt / sw);
  printf("%-44s %8.1f ns  %.3fx swapcontext\n",
         "ucoro create+run+destroy (warm pool)", lc, lc / sw);
  return 0;
}
