/*
** lean_test.c: lean coroutines (shared stacks, frames copied on and off)
** and the "auto" mode's fall-back to them, at the level of the C core.
*/
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "guard_pages.h"
#include "bodies.h"
#include "lean.h"
#include "record.h"
#include "ucoro.h"

/* Fills a frame with a pattern of its own, checks it after every switch:
** a frame copied back wrong, or overwritten by another coroutine's while
** parked, fails the check. */
static void fill(unsigned char *buf, size_t n, uintptr_t seed) {
  size_t i;
  for (i = 0; i < n; i++) buf[i] = (unsigned char)(seed * 31u + i * 7u);
}

static int intact(const unsigned char *buf, size_t n, uintptr_t seed) {
  size_t i;
  for (i = 0; i < n; i++)
    if (buf[i] != (unsigned char)(seed * 31u + i * 7u)) return 0;
  return 1;
}

/* Recurses depth levels, each with a patterned frame, then yields times
** times; every level checks its frame afterwards.  Returns the number of
** frames found intact. */
static uintptr_t deep_yields(uintptr_t id, int depth, int times) {
  volatile unsigned char buf[200];
  uintptr_t ok;
  fill((unsigned char *)buf, sizeof buf, id * 1000u + (uintptr_t)depth);
  if (depth > 0) {
    ok = deep_yields(id, depth - 1, times);
  } else {
    int i;
    ok = 0;
    for (i = 0; i < times; i++) {
      void *in = NULL;
      assert_int_equal(ucoro_yield((void *)id, &in), UCORO_OK);
      assert_ptr_equal(in, (void *)(id + 1));
    }
  }
  return ok + (uintptr_t)intact((unsigned char *)buf, sizeof buf,
                                id * 1000u + (uintptr_t)depth);
}

enum { TIMES = 5 };

static void *patterned(ucoro *co, void *arg) {
  uintptr_t id = (uintptr_t)arg;
  (void)co;
  /* ids give frames of different depths, so copies differ in size */
  return (void *)deep_yields(id, (int)(id % 7) * 3, TIMES);
}

static ucoro *lean(ucoro_fn fn) {
  ucoro *co;
  assert_int_equal(ucoro_create_mode(&co, fn, NULL, 0, UCORO_LEAN),
                   UCORO_OK);
  assert_int_equal(ucoro_mode_of(co), UCORO_LEAN);
  return co;
}

/* Many parked at once, resumed round robin: every resume copies. */
static void round_robin_keeps_every_frame(void **state) {
  enum { N = 300 };
  ucoro *all[N];
  uintptr_t id;
  int round;
  (void)state;
  for (id = 0; id < N; id++) {
    void *out;
    all[id] = lean(patterned);
    assert_int_equal(ucoro_resume(all[id], (void *)id, &out), UCORO_OK);
    assert_ptr_equal(out, (void *)id);
  }
  for (round = 1; round <= TIMES; round++) {
    for (id = 0; id < N; id++) {
      void *out;
      assert_int_equal(ucoro_resume(all[id], (void *)(id + 1), &out),
                       UCORO_OK);
      if (round < TIMES) {
        assert_ptr_equal(out, (void *)id);
      } else {  /* ended: every level of its frames was intact */
        assert_int_equal(ucoro_status(all[id]), UCORO_DEAD);
        assert_int_equal((uintptr_t)out, (id % 7) * 3 + 1);
      }
    }
  }
  for (id = 0; id < N; id++) assert_int_equal(ucoro_destroy(all[id]), 0);
}

/* Nesting among lean coroutines: each of six, resumed, resumes another.
** Six lean coroutines share at most four stacks (UCORO_SHARED_SPREAD), so
** some pairs run on one stack: a coroutine then resumes one whose frames
** must go where its own are, and later they swap back (the scratch-stack
** path); the last round ends coroutines inside such nested resumes. */
enum { PEERS = 6, PEER_ROUNDS = 4 };
static ucoro *peers[PEERS];

typedef struct order {
  int target;      /* the peer to resume, or -1 */
  uintptr_t value;
} order;

static void *peer(ucoro *co, void *arg) {
  unsigned char buf[600];
  uintptr_t me = (uintptr_t)ucoro_userdata(co);
  order *o = arg;
  int resumes = 0;
  fill(buf, sizeof buf, me);
  for (;;) {
    if (o->target >= 0 && ucoro_status(peers[o->target]) == UCORO_SUSPENDED) {
      void *out = NULL;
      order inner = {-1, me};
      assert_int_equal(ucoro_resume(peers[o->target], &inner, &out),
                       UCORO_OK);
      assert_true(out == (void *)(uintptr_t)o->target ||
                  out == (void *)(uintptr_t)(100 + o->target));
    }
    assert_true(intact(buf, sizeof buf, me));
    if (++resumes == PEER_ROUNDS * PEERS) break;
    assert_int_equal(ucoro_yield((void *)me, (void **)&o), UCORO_OK);
  }
  return (void *)(100 + me);  /* ends, maybe inside another's resume */
}

static void lean_resumes_lean_on_any_stack(void **state) {
  uintptr_t i;
  int round;
  order start = {-1, 0};
  (void)state;
  for (i = 0; i < PEERS; i++) {
    void *out;
    peers[i] = lean(peer);
    ucoro_set_userdata(peers[i], (void *)i);
    assert_int_equal(ucoro_resume(peers[i], &start, &out), UCORO_OK);
  }
  for (round = 0; round < PEER_ROUNDS * PEERS; round++) {
    for (i = 0; i < PEERS; i++) {
      order o;
      void *out;
      if (ucoro_status(peers[i]) != UCORO_SUSPENDED) continue;
      o.target = (int)((i + 1 + (uintptr_t)round) % PEERS);
      o.value = 0;
      if (o.target == (int)i) o.target = -1;
      assert_int_equal(ucoro_resume(peers[i], &o, &out), UCORO_OK);
      assert_true(out == (void *)i || out == (void *)(100 + i));
    }
  }
  for (i = 0; i < PEERS; i++) {
    assert_int_equal(ucoro_status(peers[i]), UCORO_DEAD);
    ucoro_destroy(peers[i]);
  }
}

/* Own-stack and lean coroutines nest in any order. */
static void *nest_mixed(ucoro *co, void *arg) {
  uintptr_t depth = (uintptr_t)arg;
  unsigned char buf[300];
  void *out = NULL;
  (void)co;
  fill(buf, sizeof buf, depth);
  if (depth < 8) {
    ucoro *child;
    ucoro_mode mode = depth % 2 ? UCORO_OWN : UCORO_LEAN;
    assert_int_equal(ucoro_create_mode(&child, nest_mixed, NULL, 0, mode),
                     UCORO_OK);
    assert_int_equal(ucoro_resume(child, (void *)(depth + 1), &out), 0);
    assert_int_equal(ucoro_yield((void *)depth, NULL), UCORO_OK);
    assert_int_equal(ucoro_resume(child, NULL, &out), UCORO_OK);
    assert_int_equal(ucoro_status(child), UCORO_DEAD);
    ucoro_destroy(child);
  } else {
    assert_int_equal(ucoro_yield((void *)depth, NULL), UCORO_OK);
  }
  assert_true(intact(buf, sizeof buf, depth));
  return (void *)(depth + 100);
}

static void own_and_lean_nest(void **state) {
  ucoro *co = lean(nest_mixed);
  void *out;
  (void)state;
  assert_int_equal(ucoro_resume(co, (void *)0, &out), UCORO_OK);
  assert_ptr_equal(out, (void *)0);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_ptr_equal(out, (void *)100);
  ucoro_destroy(co);
}

/* Past the own-stack limit, "auto" makes lean coroutines: no more
** mappings however many are parked. */
static void auto_turns_lean_past_the_limit(void **state) {
  enum { N = 200 };
  ucoro *all[N];
  size_t old;
  int i, own = 0, before;
  (void)state;
  ucoro_pool_clear();
  old = ucoro_set_own_limit(0);
  assert_true(old >= 1000);  /* a quarter of vm.max_map_count */
  before = guard_pages();
  for (i = 0; i < N; i++) {
    assert_int_equal(ucoro_create(&all[i], parks_once, NULL, 0), UCORO_OK);
    assert_int_equal(ucoro_resume(all[i], NULL, NULL), UCORO_OK);
    own += ucoro_mode_of(all[i]) == UCORO_OWN;
  }
  assert_int_equal(own, 0);
  assert_true(guard_pages() - before <= 5);  /* shared stacks, scratch */
  for (i = 0; i < N; i++) ucoro_destroy(all[i]);
  ucoro_pool_clear();  /* no stack mapped now: the next two are own */
  ucoro_set_own_limit(2);
  for (i = 0; i < 4; i++) {
    assert_int_equal(ucoro_create(&all[i], parks_once, NULL, 0), UCORO_OK);
    assert_int_equal(ucoro_resume(all[i], NULL, NULL), UCORO_OK);
  }
  assert_int_equal(ucoro_mode_of(all[0]), UCORO_OWN);
  assert_int_equal(ucoro_mode_of(all[1]), UCORO_OWN);
  assert_int_equal(ucoro_mode_of(all[2]), UCORO_LEAN);
  assert_int_equal(ucoro_mode_of(all[3]), UCORO_LEAN);
  for (i = 0; i < 4; i++) ucoro_destroy(all[i]);
  assert_int_equal(ucoro_set_own_limit(old), 2);
  assert_int_equal(ucoro_own_limit(), old);
}

/* Frames are copied off only as deep as they are: stack_used tells.  (A
** bound the compiler cannot see keeps the whole array: clang shrinks a
** volatile one to the elements used.) */
static volatile size_t big_size = 20000;

static void *uses(ucoro *co, void *arg) {
  char big[20000];
  size_t i;
  (void)co;
  for (i = 0; i < big_size; i++) big[i] = (char)i;
  ucoro_yield(arg, NULL);
  return (void *)(uintptr_t)(unsigned char)big[big_size - 1];
}

static void stack_used_is_the_frames(void **state) {
  ucoro *small = lean(parks_once), *large = lean(uses);
  (void)state;
  assert_int_equal(ucoro_stack_used(small), 0);  /* not run yet */
  ucoro_resume(small, NULL, NULL);
  ucoro_resume(large, NULL, NULL);
  assert_true(ucoro_stack_used(small) > 0);
  assert_true(ucoro_stack_used(small) < 16384);
  assert_true(ucoro_stack_used(large) >= 20000);
  assert_int_equal(ucoro_stack_size(large), ucoro_default_stack_size());
  ucoro_resume(small, NULL, NULL);
  ucoro_resume(large, NULL, NULL);
  ucoro_destroy(small);
  ucoro_destroy(large);
}

/* A parked lean coroutine's copied-off frames take little more than
** their length (a parked task's memory is mostly that): its reservation
** measures from a little below the yield's frame (the frames of
** uco_lean_reserve and below_caller: under 128 bytes, also under
** AddressSanitizer), adds what the switch keeps below that (exact for the
** asm switches, a guess for those in C: context.h), and rounds up to a
** step.  The record is the core's: this test reads it. */
#if defined(UCORO_BACKEND_X86_64_SYSV_ELF) || \
    defined(UCORO_BACKEND_AARCH64_AAPCS_ELF)
#define RESERVE_SLACK 128
#else
#define RESERVE_SLACK (128 + UCO_SWITCH_FRAME)
#endif

static void *parks_deep(ucoro *co, void *arg) {
  volatile unsigned char buf[1000];
  fill((unsigned char *)buf, sizeof buf, 7);
  (void)co;
  ucoro_yield(arg, NULL);
  return (void *)(uintptr_t)intact((unsigned char *)buf, sizeof buf, 7);
}

static void parked_frames_take_a_tight_reservation(void **state) {
  enum { N = 16 };
  ucoro *first = lean(parks_deep), *others[N];
  void *out = NULL;
  int i, n = 0;
  (void)state;
  assert_int_equal(ucoro_resume(first, NULL, NULL), UCORO_OK);
  while (!first->evicted && n < N) {  /* until one shares its stack */
    others[n] = lean(parks_once);
    assert_int_equal(ucoro_resume(others[n++], NULL, NULL), UCORO_OK);
  }
  assert_true(first->evicted);
  assert_true(first->lean.saved_len > 1000);
  assert_true(first->lean.saved_cap >= first->lean.saved_len);
  assert_true(first->lean.saved_cap - first->lean.saved_len <
              RESERVE_SLACK + UCO_LEAN_SAVED_STEP);
  assert_int_equal(ucoro_resume(first, NULL, &out), UCORO_OK);
  assert_ptr_equal(out, (void *)1);  /* its frame came back intact */
  assert_int_equal(ucoro_destroy(first), UCORO_OK);
  for (i = 0; i < n; i++)
    assert_int_equal(ucoro_destroy(others[i]), UCORO_OK);
}

/* Destroying parked lean coroutines, whether their frames are on their
** stack or copied off, frees everything (the leak checkers tell). */
static void destroy_parked_either_way(void **state) {
  ucoro *a = lean(parks_once), *b = lean(parks_once);
  (void)state;
  ucoro_resume(a, NULL, NULL);
  ucoro_resume(b, NULL, NULL);
  assert_int_equal(ucoro_destroy(a), UCORO_OK);
  assert_int_equal(ucoro_destroy(b), UCORO_OK);
  a = lean(parks_once);
  assert_int_equal(ucoro_destroy(a), UCORO_OK);  /* never ran */
}

/* A thread that ends with lean coroutines parked: its unused shared
** stacks go at once, the used one when its coroutines are destroyed (here,
** by another thread: they can no longer be resumed); the leak checkers
** tell. */
static void *leaves_two_parked(void *arg) {
  ucoro **two = arg;
  ucoro *done = lean(parks_once);
  ucoro_resume(done, NULL, NULL);
  ucoro_resume(done, NULL, NULL);
  ucoro_destroy(done);
  two[0] = lean(parks_once);
  two[1] = lean(parks_once);
  ucoro_resume(two[0], NULL, NULL);
  ucoro_resume(two[1], NULL, NULL);
  return NULL;
}

static void thread_exit_leaves_parked_ones_destroyable(void **state) {
  pthread_t t;
  ucoro *two[2];
  (void)state;
  assert_int_equal(pthread_create(&t, NULL, leaves_two_parked, two), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(ucoro_status(two[0]), UCORO_SUSPENDED);
  assert_int_equal(ucoro_resume(two[0], NULL, NULL), UCORO_ETHREAD);
  assert_int_equal(ucoro_destroy(two[0]), UCORO_OK);
  assert_int_equal(ucoro_destroy(two[1]), UCORO_OK);
}

static void bad_mode_is_einval(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create_mode(&co, parks_once, NULL, 0, (ucoro_mode)7),
                   UCORO_EINVAL);
  assert_null(co);
  assert_int_equal(ucoro_mode_of(NULL), UCORO_AUTO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(round_robin_keeps_every_frame),
    cmocka_unit_test(lean_resumes_lean_on_any_stack),
    cmocka_unit_test(own_and_lean_nest),
    cmocka_unit_test(auto_turns_lean_past_the_limit),
    cmocka_unit_test(stack_used_is_the_frames),
    cmocka_unit_test(parked_frames_take_a_tight_reservation),
    cmocka_unit_test(destroy_parked_either_way),
    cmocka_unit_test(thread_exit_leaves_parked_ones_destroyable),
    cmocka_unit_test(bad_mode_is_einval),
  };
  return cmocka_run_group_tests_name("ucoro lean mode", tests, NULL, NULL);
}
