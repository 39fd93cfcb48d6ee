/*
** core_test.c: the C core on its own (cmocka).  Run through
** tools/run-tests, which reads its TAP output.
*/
#define _GNU_SOURCE
#include <fenv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bodies.h"
#include "ucoro.h"

/* Values both ways: yields count up from what resume passed in. */
static void *counter(ucoro *co, void *arg) {
  intptr_t n = (intptr_t)arg;
  (void)co;
  for (;;) {
    void *in;
    if (n >= 100) return (void *)(n * 2);
    assert_int_equal(ucoro_yield((void *)(n + 1), &in), UCORO_OK);
    n = (intptr_t)in;
  }
}

static void values_flow_both_ways(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, counter, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, (void *)10, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 11);
  assert_int_equal(ucoro_resume(co, (void *)50, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 51);
  assert_int_equal(ucoro_resume(co, (void *)100, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 200);  /* the body's return value */
  assert_int_equal(ucoro_status(co), UCORO_DEAD);
  assert_int_equal(ucoro_destroy(co), UCORO_OK);
}

/* A resume's result slot is that resume's only: a later resume that
** wants no value (NULL) leaves the earlier slot alone, own or lean. */
static void out_slot_is_per_resume(void **state) {
  static const ucoro_mode modes[] = {UCORO_OWN, UCORO_LEAN};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    ucoro *co;
    void *first = NULL, *third = NULL;
    assert_int_equal(ucoro_create_mode(&co, counter, NULL, 0, modes[i]),
                     UCORO_OK);
    assert_int_equal(ucoro_resume(co, (void *)10, &first), UCORO_OK);
    assert_int_equal((intptr_t)first, 11);
    assert_int_equal(ucoro_resume(co, (void *)20, NULL), UCORO_OK);
    assert_int_equal((intptr_t)first, 11);  /* not 21 */
    assert_int_equal(ucoro_resume(co, (void *)30, &third), UCORO_OK);
    assert_int_equal((intptr_t)third, 31);
    assert_int_equal((intptr_t)first, 11);
    assert_int_equal(ucoro_destroy(co), UCORO_OK);
  }
}

/* Statuses, seen from inside and outside. */
static ucoro *outer_co, *inner_co;

static void *inner_body(ucoro *co, void *arg) {
  (void)arg;
  assert_ptr_equal(ucoro_running(), co);
  assert_int_equal(ucoro_status(co), UCORO_RUNNING);
  assert_int_equal(ucoro_status(outer_co), UCORO_NORMAL);
  ucoro_yield(NULL, NULL);
  return NULL;
}

static void *outer_body(ucoro *co, void *arg) {
  (void)arg;
  assert_ptr_equal(ucoro_running(), co);
  assert_int_equal(ucoro_status(co), UCORO_RUNNING);
  assert_int_equal(ucoro_status(inner_co), UCORO_SUSPENDED);
  assert_int_equal(ucoro_resume(inner_co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(inner_co), UCORO_SUSPENDED);
  assert_int_equal(ucoro_status(co), UCORO_RUNNING);
  ucoro_yield(NULL, NULL);
  assert_int_equal(ucoro_resume(inner_co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(inner_co), UCORO_DEAD);
  return NULL;
}

static void status_at_every_point(void **state) {
  (void)state;
  assert_null(ucoro_running());
  assert_int_equal(ucoro_create(&outer_co, outer_body, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_create(&inner_co, inner_body, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_status(outer_co), UCORO_SUSPENDED);
  assert_int_equal(ucoro_resume(outer_co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(outer_co), UCORO_SUSPENDED);
  assert_null(ucoro_running());
  assert_int_equal(ucoro_resume(outer_co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(outer_co), UCORO_DEAD);
  assert_int_equal(ucoro_status(NULL), UCORO_DEAD);
  assert_int_equal(ucoro_destroy(outer_co), UCORO_OK);
  assert_int_equal(ucoro_destroy(inner_co), UCORO_OK);
}

/* Nesting three deep: each level yields its depth to the one above. */
static void *nest(ucoro *co, void *arg) {
  intptr_t depth = (intptr_t)arg;
  void *out = NULL;
  (void)co;
  if (depth < 3) {
    ucoro *child;
    assert_int_equal(ucoro_create(&child, nest, NULL, 0), UCORO_OK);
    assert_int_equal(ucoro_resume(child, (void *)(depth + 1), &out),
                     UCORO_OK);
    assert_int_equal((intptr_t)out, depth + 1);
    assert_int_equal(ucoro_resume(child, NULL, &out), UCORO_OK);
    assert_int_equal((intptr_t)out, (depth + 1) * 10);
    assert_int_equal(ucoro_status(child), UCORO_DEAD);
    ucoro_destroy(child);
  }
  ucoro_yield((void *)depth, NULL);
  return (void *)(depth * 10);
}

static void nesting_three_deep(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, nest, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, (void *)1, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 1);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 10);
  ucoro_destroy(co);
}

/* Ten thousand alive at once, each holding its own value on its stack. */
static void *keeper(ucoro *co, void *arg) {
  volatile intptr_t mine = (intptr_t)arg;  /* lives on this stack */
  (void)co;
  ucoro_yield(NULL, NULL);
  return (void *)mine;
}

/* ThreadSanitizer gives each fiber a large state of its own (it clears
** 768 KiB per fiber created): fewer coroutines there. */
#ifdef __SANITIZE_THREAD__
#define ALIVE 500
#define CHURN 5000
#else
#define ALIVE 10000
#define CHURN (getenv("UCORO_TEST_QUICK") ? 100000 : 1000000)
#endif

static void ten_thousand_alive(void **state) {
  ucoro **all = calloc(ALIVE, sizeof *all);
  intptr_t i;
  (void)state;
  assert_non_null(all);
  for (i = 0; i < ALIVE; i++) {
    assert_int_equal(ucoro_create(&all[i], keeper, NULL, 64 * 1024),
                     UCORO_OK);
    assert_int_equal(ucoro_resume(all[i], (void *)i, NULL), UCORO_OK);
  }
  for (i = ALIVE - 1; i >= 0; i--) {
    void *out;
    assert_int_equal(ucoro_resume(all[i], NULL, &out), UCORO_OK);
    assert_int_equal((intptr_t)out, i);
    assert_int_equal(ucoro_destroy(all[i]), UCORO_OK);
  }
  free(all);
}

/* A million create/run/destroy cycles reuse pooled stacks: the number of
** mappings and the resident memory stay where they were. */
static long count_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  long n = 0;
  int c;
  if (f == NULL) return -1;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

static long resident_pages(void) {
  long size, resident = -1;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident;
}

static void churn_reuses_pooled_stacks(void **state) {
  long maps, rss;
  long i, n = CHURN;
  (void)state;
  for (i = 0; i < 1000; i++) {  /* warm up */
    ucoro *co;
    assert_int_equal(ucoro_create(&co, returns_arg, NULL, 0), UCORO_OK);
    ucoro_resume(co, NULL, NULL);
    ucoro_destroy(co);
  }
  maps = count_mappings();
  rss = resident_pages();
  for (i = 0; i < n; i++) {
    ucoro *co;
    void *out;
    assert_int_equal(ucoro_create(&co, returns_arg, NULL, 0), UCORO_OK);
    assert_int_equal(ucoro_resume(co, (void *)i, &out), UCORO_OK);
    assert_int_equal((intptr_t)out, i);
    assert_int_equal(ucoro_destroy(co), UCORO_OK);
  }
  assert_int_equal(count_mappings(), maps);
  /* a sanitizer's or Valgrind's own memory grows: judge RSS without them */
  if (getenv("UCORO_TEST_TOOL") == NULL)
    assert_true(resident_pages() <= rss + 256);  /* 1 MiB, of 4 GiB if each cycle kept a page */
}

/* Once many stacks were pooled, churn still reuses warm stacks: no page
** faults per cycle (a release that handed pages back to the kernel each
** time made every next create fault them in again). */
static long minor_faults(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

static void *touches_three_pages(ucoro *co, void *arg) {
  volatile char frame[12 * 1024];
  size_t i;
  (void)co;
  for (i = 0; i < sizeof frame; i += 512) frame[i] = 1;
  return arg;
}

static void churn_after_burst_stays_warm(void **state) {
  ucoro *burst[100];
  long i, faults;
  (void)state;
  for (i = 0; i < 100; i++) {
    assert_int_equal(ucoro_create(&burst[i], touches_three_pages, NULL, 0),
                     UCORO_OK);
    assert_int_equal(ucoro_resume(burst[i], NULL, NULL), UCORO_OK);
  }
  for (i = 0; i < 100; i++) ucoro_destroy(burst[i]);
  faults = minor_faults();
  /* under a tool (whose fake stacks make each new coroutine costly) only
  ** a short run, for memory errors: the fault count is not judged there */
  for (i = 0; i < (getenv("UCORO_TEST_TOOL") ? 300 : 10000); i++) {
    ucoro *co;
    assert_int_equal(ucoro_create(&co, touches_three_pages, NULL, 0),
                     UCORO_OK);
    assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
    ucoro_destroy(co);
  }
  if (getenv("UCORO_TEST_TOOL") == NULL)  /* tools fault on their own */
    assert_true(minor_faults() - faults < 1000);
}

/* Misuse gets a result, never a crash. */
static ucoro *self_co;

static void *misuses_itself(ucoro *co, void *arg) {
  (void)arg;
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_ERUNNING);
  assert_int_equal(ucoro_destroy(co), UCORO_ERUNNING);
  return NULL;
}

static void *resumes_parent(ucoro *co, void *arg) {
  ucoro *parent = arg;
  (void)co;
  assert_int_equal(ucoro_resume(parent, NULL, NULL), UCORO_ENORMAL);
  assert_int_equal(ucoro_destroy(parent), UCORO_ENORMAL);
  return NULL;
}

static void *parent_body(ucoro *co, void *arg) {
  ucoro *child;
  (void)arg;
  assert_int_equal(ucoro_create(&child, resumes_parent, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(child, co, NULL), UCORO_OK);
  ucoro_destroy(child);
  return NULL;
}

static void misuse_returns_results(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_yield(NULL, NULL), UCORO_ENOTCORO);
  assert_int_equal(ucoro_resume(NULL, NULL, NULL), UCORO_EINVAL);
  assert_int_equal(ucoro_create(NULL, returns_arg, NULL, 0), UCORO_EINVAL);
  assert_int_equal(ucoro_create(&co, NULL, NULL, 0), UCORO_EINVAL);
  assert_null(co);
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, SIZE_MAX),
                   UCORO_ENOMEM);
  assert_null(co);

  assert_int_equal(ucoro_create(&self_co, misuses_itself, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(self_co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_resume(self_co, NULL, NULL), UCORO_EDEAD);
  ucoro_destroy(self_co);

  assert_int_equal(ucoro_create(&co, parent_body, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  ucoro_destroy(co);

  assert_int_equal(ucoro_destroy(NULL), UCORO_OK);
  assert_string_equal(ucoro_strerror(UCORO_EDEAD), "coroutine is dead");
  assert_string_equal(ucoro_strerror((ucoro_result)99), "unknown error");
}

/* Dropping a suspended coroutine runs none of its code. */
static int reached_after_yield;

static void *never_finishes(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  ucoro_yield(NULL, NULL);
  reached_after_yield = 1;
  return NULL;
}

static void destroy_suspended(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create(&co, never_finishes, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_destroy(co), UCORO_OK);  /* never started */
  assert_int_equal(ucoro_create(&co, never_finishes, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(co), UCORO_SUSPENDED);
  assert_int_equal(ucoro_destroy(co), UCORO_OK);
  assert_int_equal(reached_after_yield, 0);
}

/* Two OS threads switch their own coroutines at the same time. */
typedef struct thread_job {
  long rounds;
  long long sum;  /* ~2e10: past a 32-bit long */
  int errors;
  ucoro *foreign;       /* another thread's coroutine, to try resuming */
  ucoro_result foreign_result;
} thread_job;

static void *adder(ucoro *co, void *arg) {
  long n = (long)(intptr_t)arg;
  (void)co;
  for (;;) {
    void *in;
    ucoro_yield((void *)(intptr_t)(n + 1), &in);
    n = (long)(intptr_t)in;
  }
  return NULL;
}

static void *thread_main(void *arg) {
  thread_job *job = arg;
  ucoro *co;
  long i;
  if (ucoro_create(&co, adder, NULL, 0) != UCORO_OK) {
    job->errors++;
    return NULL;
  }
  for (i = 0; i < job->rounds; i++) {
    void *out;
    if (ucoro_resume(co, (void *)(intptr_t)i, &out) != UCORO_OK)
      job->errors++;
    job->sum += (long long)(intptr_t)out;
    if (ucoro_running() != NULL) job->errors++;
  }
  if (job->foreign)
    job->foreign_result = ucoro_resume(job->foreign, NULL, NULL);
  ucoro_destroy(co);
  return NULL;
}

static void two_threads_at_once(void **state) {
  pthread_t t[2];
  thread_job job[2];
  ucoro *mine;
  long long rounds = 200000, expected = rounds * (rounds - 1) / 2 + rounds;
  int i;
  (void)state;
  memset(job, 0, sizeof job);
  /* started here, so it belongs to this thread */
  assert_int_equal(ucoro_create(&mine, never_finishes, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(mine, NULL, NULL), UCORO_OK);
  for (i = 0; i < 2; i++) {
    job[i].rounds = rounds;
    job[i].foreign = i == 0 ? mine : NULL;
    assert_int_equal(pthread_create(&t[i], NULL, thread_main, &job[i]), 0);
  }
  for (i = 0; i < 2; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(job[i].errors, 0);
    assert_int_equal(job[i].sum, expected);
  }
  assert_int_equal(job[0].foreign_result, UCORO_ETHREAD);
  assert_int_equal(ucoro_status(mine), UCORO_SUSPENDED);
  ucoro_destroy(mine);
}

/* Overflowing into the guard page kills the process with a signal. */
static volatile int recursion_limit = 1 << 30;  /* never reached */

static int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = (char)depth;
  if (depth > recursion_limit) return 0;
  return recurse(depth + 1) + frame[0];
}

static void *overflows(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  recurse(0);
  return NULL;
}

/* In a child: a coroutine of the given mode recurses without end (a lean
** one beside another parked on a shared stack of its size). */
static void overflow_in(ucoro_mode mode) {
  pid_t pid;
  int status;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ucoro *parked, *co;
    signal(SIGSEGV, SIG_DFL);  /* not cmocka's handler */
    if (ucoro_create_mode(&parked, parks_once, NULL, 64 * 1024, mode) ||
        ucoro_resume(parked, NULL, NULL) ||
        ucoro_create_mode(&co, overflows, NULL, 64 * 1024, mode))
      _exit(3);
    ucoro_resume(co, NULL, NULL);
    _exit(0);  /* not reached: the guard page stops the recursion */
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
}

static void overflow_hits_guard_page(void **state) {
  (void)state;
  overflow_in(UCORO_OWN);
}

/* A shared stack's guard page stops it too, before another coroutine's
** frames. */
static void lean_overflow_hits_guard_page(void **state) {
  (void)state;
  overflow_in(UCORO_LEAN);
}

/* When mmap refuses (here: more address space than the machine has),
** create reports out of memory. */
static void refused_mapping_is_enomem(void **state) {
  ucoro *co = (ucoro *)1;
  (void)state;
  /* 2^50 bytes; on 32-bit targets all but the top page */
  size_t huge = SIZE_MAX > 0xffffffffu ? (size_t)((uint64_t)1 << 50)
                                       : SIZE_MAX - 4096;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, huge), UCORO_ENOMEM);
  assert_null(co);
}

/* Under a low address-space limit (RLIMIT_AS, in a forked child) a stack
** that is not in the pool cannot be mapped: create says UCORO_ENOMEM, and
** everything else goes on.  Returns which step failed, 0 if none. */
#define BIG_STACK ((size_t)64 << 20)  /* more than the limit leaves */

static long address_space_bytes(void) {
  long size = -1;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1;
  if (fscanf(f, "%ld", &size) != 1) size = -1;
  fclose(f);
  return size * sysconf(_SC_PAGESIZE);
}

static int under_address_limit(void) {
  ucoro *parked, *co;
  void *out;
  struct rlimit old, low;
  if (ucoro_create(&parked, counter, NULL, BIG_STACK) != UCORO_OK) return 1;
  if (ucoro_resume(parked, (void *)1, &out) != UCORO_OK) return 2;
  ucoro_pool_clear();
  if (getrlimit(RLIMIT_AS, &old) != 0) return 3;
  low = old;
  low.rlim_cur = (rlim_t)address_space_bytes() + ((rlim_t)16 << 20);
  if (setrlimit(RLIMIT_AS, &low) != 0) return 4;
  co = (ucoro *)1;
  if (ucoro_create(&co, returns_arg, NULL, BIG_STACK) != UCORO_ENOMEM)
    return 5;
  if (co != NULL) return 6;
  /* the parked one goes on to its end; its stack goes back to the pool */
  if (ucoro_resume(parked, (void *)100, &out) != UCORO_OK) return 7;
  if ((intptr_t)out != 200 || ucoro_status(parked) != UCORO_DEAD) return 8;
  if (ucoro_destroy(parked) != UCORO_OK) return 9;
  /* the pool serves one more, the next one is refused */
  if (ucoro_create(&parked, returns_arg, NULL, BIG_STACK) != UCORO_OK)
    return 10;
  if (ucoro_create(&co, returns_arg, NULL, BIG_STACK) != UCORO_ENOMEM)
    return 11;
  if (ucoro_resume(parked, (void *)7, &out) != UCORO_OK || out != (void *)7)
    return 12;
  ucoro_destroy(parked);
  if (setrlimit(RLIMIT_AS, &old) != 0) return 13;
  ucoro_pool_clear();
  if (ucoro_create(&co, returns_arg, NULL, BIG_STACK) != UCORO_OK) return 14;
  if (ucoro_resume(co, (void *)8, &out) != UCORO_OK || out != (void *)8)
    return 15;
  ucoro_destroy(co);
  ucoro_pool_clear();
  return 0;
}

static void low_address_limit_is_enomem(void **state) {
  pid_t pid;
  int status;
  const char *runner = getenv("RUNNER");
  (void)state;
  if (runner != NULL && *runner != '\0') {
    /* qemu-user applies no RLIMIT_AS the guest sets; the same refusal is
    ** checked there by spec/41-faults_spec.lua (prlimit on the emulator
    ** from outside) and refused_mapping_is_enomem */
    print_message("# under %s: setrlimit(RLIMIT_AS) does not hold\n", runner);
    skip();
  }
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(under_address_limit());
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);  /* else: the step that failed */
}

/* Destroying parked coroutines gives back all they held: their stacks and,
** under AddressSanitizer's use-after-return checks, the fake stack each
** one's frames lived on (ASan frees one only when a switch leaves it for
** good).  The address space stays where it was. */
static void *parks_a_frame(ucoro *co, void *arg) {
  volatile char frame[64];  /* its address escapes: an instrumented frame */
  (void)co;
  (void)arg;
  frame[0] = 1;
  ucoro_yield((void *)frame, NULL);
  return NULL;
}

static void destroyed_parked_coroutines_leave_nothing(void **state) {
  static const ucoro_mode modes[] = {UCORO_OWN, UCORO_LEAN};
  int n = getenv("UCORO_TEST_QUICK") ? 300 : 3000;
  size_t m;
  (void)state;
  for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    long before = 0;
    int i;
    for (i = -100; i < n; i++) {  /* the first 100 warm up */
      ucoro *co;
      void *frame = NULL;
      if (i == 0) before = address_space_bytes();
      assert_int_equal(ucoro_create_mode(&co, parks_a_frame, NULL,
                                         64 * 1024, modes[m]), UCORO_OK);
      assert_int_equal(ucoro_resume(co, NULL, &frame), UCORO_OK);
      assert_non_null(frame);
      assert_int_equal(ucoro_destroy(co), UCORO_OK);
    }
    /* ASan's fake stack for a 64 KiB stack maps over 700 KiB */
    assert_true(address_space_bytes() <= before + (16L << 20));
  }
}

/* Stack size: asked, rounded, reported; use is measured. */
static void *deep_user(ucoro *co, void *arg) {
  volatile char big[100 * 1024];
  size_t i;
  (void)co;
  (void)arg;
  for (i = 0; i < sizeof big; i += 512) big[i] = 1;
  ucoro_yield(NULL, NULL);
  return NULL;
}

static void stack_size_and_use(void **state) {
  ucoro *co;
  (void)state;
  assert_true(ucoro_default_stack_size() >= 256 * 1024);
  assert_int_equal(ucoro_create(&co, deep_user, NULL, 300 * 1024), UCORO_OK);
  assert_true(ucoro_stack_size(co) >= 290 * 1024);
  assert_true(ucoro_stack_size(co) <= 300 * 1024);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_true(ucoro_stack_used(co) >= 100 * 1024);
  assert_true(ucoro_stack_used(co) < 200 * 1024);
  ucoro_destroy(co);
  ucoro_pool_clear();
}

/* Room left at two depths of one coroutine: less deeper down, both within
** its stack; SIZE_MAX outside any coroutine. */
__attribute__((noinline)) static size_t left_at(int depth) {
  char frame[4096];
  size_t left;
  frame[0] = 0;
  /* the whole array escapes (clang keeps only used elements otherwise) */
  __asm__ volatile("" : : "r"(frame) : "memory");
  left = depth > 0 ? left_at(depth - 1) : ucoro_stack_left();
  return left + (size_t)frame[0];  /* the frame stays live: no tail call */
}

static void *measure_left(ucoro *co, void *arg) {
  size_t *out = (size_t *)arg;
  (void)co;
  out[0] = ucoro_stack_left();
  out[1] = left_at(8);
  return NULL;
}

static void stack_left_shrinks_with_depth(void **state) {
  ucoro *co;
  size_t left[2];
  (void)state;
  assert_true(ucoro_stack_left() == SIZE_MAX);
  assert_int_equal(ucoro_create(&co, measure_left, NULL, 256 * 1024), UCORO_OK);
  assert_int_equal(ucoro_resume(co, left, NULL), UCORO_OK);
  assert_true(left[0] < ucoro_stack_size(co));
  assert_true(left[0] > ucoro_stack_size(co) - 16 * 1024);
  assert_true(left[1] < left[0] - 8 * 4096);
  assert_true(ucoro_stack_left() == SIZE_MAX);
  ucoro_destroy(co);
}

static void backend_is_named(void **state) {
  (void)state;
#if defined(UCORO_BACKEND_UCONTEXT)
  assert_string_equal(ucoro_backend(), "ucontext");
#elif defined(UCORO_BACKEND_SJLJ)
  assert_string_equal(ucoro_backend(), "sjlj");
#elif defined(__x86_64__)
  assert_string_equal(ucoro_backend(), "asm-x86_64");
#elif defined(__aarch64__)
  assert_string_equal(ucoro_backend(), "asm-aarch64");
#else
  assert_string_equal(ucoro_backend(), "sjlj");  /* glibc's default */
#endif
}

/* The floating-point control state (rounding mode: MXCSR and the x87
** control word on x86-64, FPCR on aarch64) is callee-saved: each context
** keeps its own across switches.  Not with sjlj: _setjmp/_longjmp leave it
** alone (README: Platforms and backends). */
static void *rounds_down(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  fesetround(FE_DOWNWARD);
  ucoro_yield(NULL, NULL);
  return (void *)(intptr_t)(fegetround() == FE_DOWNWARD);
}

static void fp_control_is_per_context(void **state) {
  ucoro *co;
  void *out = NULL;
  (void)state;
#if defined(UCORO_BACKEND_SJLJ) || \
    (!defined(__x86_64__) && !defined(__aarch64__) && \
     !defined(UCORO_BACKEND_UCONTEXT))
  skip();  /* sjlj */
#endif
  assert_int_equal(fegetround(), FE_TONEAREST);
  assert_int_equal(ucoro_create(&co, rounds_down, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_int_equal(fegetround(), FE_TONEAREST);  /* not the coroutine's */
  fesetround(FE_UPWARD);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal(fegetround(), FE_UPWARD);
  fesetround(FE_TONEAREST);
  assert_int_equal((intptr_t)out, 1);  /* it kept FE_DOWNWARD */
  ucoro_destroy(co);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(values_flow_both_ways),
    cmocka_unit_test(out_slot_is_per_resume),
    cmocka_unit_test(status_at_every_point),
    cmocka_unit_test(nesting_three_deep),
    cmocka_unit_test(ten_thousand_alive),
    cmocka_unit_test(churn_reuses_pooled_stacks),
    cmocka_unit_test(churn_after_burst_stays_warm),
    cmocka_unit_test(misuse_returns_results),
    cmocka_unit_test(destroy_suspended),
    cmocka_unit_test(destroyed_parked_coroutines_leave_nothing),
    cmocka_unit_test(overflow_hits_guard_page),
    cmocka_unit_test(lean_overflow_hits_guard_page),  /* forks: before threads */
    cmocka_unit_test(low_address_limit_is_enomem),  /* forks too */
    cmocka_unit_test(two_threads_at_once),
    cmocka_unit_test(refused_mapping_is_enomem),
    cmocka_unit_test(stack_size_and_use),
    cmocka_unit_test(stack_left_shrinks_with_depth),
    cmocka_unit_test(backend_is_named),
    cmocka_unit_test(fp_control_is_per_context),
  };
  return cmocka_run_group_tests_name("ucoro core", tests, NULL, NULL);
}
