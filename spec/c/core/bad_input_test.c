/*
** bad_input_test.c: the bad-input table of the core's C API (cmocka), one
** test per row: every public function of ucoro.h given NULL, a dead,
** running or normal coroutine, another OS thread's, sizes of 0 or past
** what can be mapped.  Each gets an error result, never a crash.  (The
** host API's rows: spec/c/lua/bad_input_test.c.)
*/
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "bodies.h"
#include "ucoro.h"

/* ---- the core (ucoro.h) ---- */

static void *yields_once(ucoro *co, void *arg) {
  (void)co;
  ucoro_yield(arg, NULL);
  return NULL;
}

static void create_null_out(void **state) {
  (void)state;
  assert_int_equal(ucoro_create(NULL, returns_arg, NULL, 0), UCORO_EINVAL);
}

static void create_null_function(void **state) {
  ucoro *co = (ucoro *)&co;
  (void)state;
  assert_int_equal(ucoro_create(&co, NULL, NULL, 0), UCORO_EINVAL);
  assert_null(co);
}

static void create_null_out_and_function(void **state) {
  (void)state;
  assert_int_equal(ucoro_create(NULL, NULL, NULL, 0), UCORO_EINVAL);
}

static void create_size_0_is_the_default(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, 0), UCORO_OK);
  assert_true(ucoro_stack_size(co) <= ucoro_default_stack_size());
  assert_true(ucoro_stack_size(co) >= ucoro_default_stack_size() - 4096);
  ucoro_destroy(co);
}

static void create_size_1_is_raised_to_the_minimum(void **state) {
  ucoro *co;
  void *out = NULL;
  (void)state;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, 1), UCORO_OK);
  assert_true(ucoro_stack_size(co) >= 8 * 1024);  /* 16 KiB less the record */
  assert_int_equal(ucoro_resume(co, (void *)7, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 7);
  ucoro_destroy(co);
}

/* Sizes past what can be mapped: ENOMEM and *out NULL, for each. */
static void create_size_unmappable(size_t size) {
  ucoro *co = (ucoro *)&co;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, size), UCORO_ENOMEM);
  assert_null(co);
}

static void create_size_max(void **state) {
  (void)state;
  create_size_unmappable(SIZE_MAX);
}

static void create_size_max_less_a_page(void **state) {
  (void)state;  /* rounding up to pages must not wrap around */
  create_size_unmappable(SIZE_MAX - 4095);
}

static void create_size_a_quarter_of_max(void **state) {
  (void)state;
  create_size_unmappable(SIZE_MAX / 4 + 1);
}

static void create_size_2_to_the_60(void **state) {
  (void)state;
#if SIZE_MAX > 0xffffffffu
  create_size_unmappable((size_t)1 << 60);
#else  /* 32-bit: the nearest unmappable size there */
  create_size_unmappable(SIZE_MAX - 4096);
#endif
}

static void resume_null(void **state) {
  void *out = (void *)1;
  (void)state;
  assert_int_equal(ucoro_resume(NULL, NULL, &out), UCORO_EINVAL);
  assert_ptr_equal(out, (void *)1);
}

static void resume_dead(void **state) {
  ucoro *co;
  void *out = (void *)1;
  (void)state;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_EDEAD);
  assert_ptr_equal(out, (void *)1);  /* untouched */
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_EDEAD);
  ucoro_destroy(co);
}

static void *resumes_itself(ucoro *co, void *arg) {
  (void)arg;
  return (void *)(intptr_t)ucoro_resume(co, NULL, NULL);
}

static void resume_running(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, resumes_itself, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, UCORO_ERUNNING);
  ucoro_destroy(co);
}

/* The child does to its parent (arg) what ucoro_user says. */
typedef ucoro_result (*parent_probe)(ucoro *parent);

static void *probes_parent(ucoro *co, void *arg) {
  parent_probe probe = (parent_probe)(uintptr_t)ucoro_userdata(co);
  return (void *)(intptr_t)probe((ucoro *)arg);
}

static void *parent_body(ucoro *co, void *arg) {
  ucoro *child;
  void *out;
  if (ucoro_create(&child, probes_parent, arg, 0) != UCORO_OK) return NULL;
  ucoro_resume(child, co, &out);
  ucoro_destroy(child);
  return out;
}

static ucoro_result with_a_normal_coroutine(parent_probe probe) {
  ucoro *co;
  void *out = NULL;
  assert_int_equal(ucoro_create(&co, parent_body, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, (void *)(uintptr_t)probe, &out), UCORO_OK);
  assert_int_equal(ucoro_status(co), UCORO_DEAD);
  ucoro_destroy(co);
  return (ucoro_result)(intptr_t)out;
}

static ucoro_result resume_it(ucoro *co) { return ucoro_resume(co, NULL, NULL); }
static ucoro_result destroy_it(ucoro *co) { return ucoro_destroy(co); }
static ucoro_result status_it(ucoro *co) { return (ucoro_result)ucoro_status(co); }

static void resume_normal(void **state) {
  (void)state;
  assert_int_equal(with_a_normal_coroutine(resume_it), UCORO_ENORMAL);
}

static void status_normal(void **state) {
  (void)state;
  assert_int_equal(with_a_normal_coroutine(status_it), UCORO_NORMAL);
}

static void destroy_normal(void **state) {
  (void)state;
  assert_int_equal(with_a_normal_coroutine(destroy_it), UCORO_ENORMAL);
}

static void resume_with_null_out(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create(&co, yields_once, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_int_equal(ucoro_status(co), UCORO_DEAD);
  ucoro_destroy(co);
}

/* Another OS thread's coroutine: it runs job(co) on a thread of its own. */
typedef struct elsewhere {
  ucoro *co;
  ucoro_result result;
  ucoro_state status;
} elsewhere;

static void *resume_there(void *arg) {
  elsewhere *e = arg;
  e->status = ucoro_status(e->co);
  e->result = ucoro_resume(e->co, NULL, NULL);
  return NULL;
}

static void *create_there(void *arg) {
  elsewhere *e = arg;
  e->result = ucoro_create(&e->co, yields_once, NULL, 0);
  if (e->result == UCORO_OK) e->result = ucoro_resume(e->co, NULL, NULL);
  return NULL;
}

static void *destroy_there(void *arg) {
  elsewhere *e = arg;
  e->result = ucoro_destroy(e->co);
  ucoro_pool_clear();
  return NULL;
}

static void run_there(void *(*job)(void *), elsewhere *e) {
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, job, e), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
}

static void resume_from_another_thread(void **state) {
  elsewhere e;
  (void)state;
  memset(&e, 0, sizeof e);
  assert_int_equal(ucoro_create(&e.co, yields_once, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(e.co, NULL, NULL), UCORO_OK);
  run_there(resume_there, &e);
  assert_int_equal(e.result, UCORO_ETHREAD);
  assert_int_equal(e.status, UCORO_SUSPENDED);
  assert_int_equal(ucoro_resume(e.co, NULL, NULL), UCORO_OK);  /* owner can */
  assert_int_equal(ucoro_status(e.co), UCORO_DEAD);
  ucoro_destroy(e.co);
}

static void resume_fresh_from_another_thread(void **state) {
  elsewhere e;
  (void)state;
  memset(&e, 0, sizeof e);
  assert_int_equal(ucoro_create(&e.co, yields_once, NULL, 0), UCORO_OK);
  run_there(resume_there, &e);  /* not even started */
  assert_int_equal(e.result, UCORO_ETHREAD);
  assert_int_equal(ucoro_destroy(e.co), UCORO_OK);
}

static void resume_coroutine_of_an_exited_thread(void **state) {
  elsewhere e;
  (void)state;
  memset(&e, 0, sizeof e);
  run_there(create_there, &e);
  assert_int_equal(e.result, UCORO_OK);
  assert_int_equal(ucoro_status(e.co), UCORO_SUSPENDED);
  assert_int_equal(ucoro_resume(e.co, NULL, NULL), UCORO_ETHREAD);
  /* destroying it here is allowed (a state that moved threads collects
  ** its coroutines wherever it is): the stack joins this thread's pool */
  assert_int_equal(ucoro_destroy(e.co), UCORO_OK);
}

/* A new thread may get the exited one's thread pointer and TLS block (glibc
** reuses them): it is still another thread. */
static void resume_exited_threads_coroutine_from_a_new_thread(void **state) {
  elsewhere e;
  (void)state;
  memset(&e, 0, sizeof e);
  run_there(create_there, &e);
  assert_int_equal(e.result, UCORO_OK);
  run_there(resume_there, &e);
  assert_int_equal(e.result, UCORO_ETHREAD);
  assert_int_equal(e.status, UCORO_SUSPENDED);
  assert_int_equal(ucoro_destroy(e.co), UCORO_OK);
}

static void destroy_from_another_thread(void **state) {
  elsewhere e;
  (void)state;
  memset(&e, 0, sizeof e);
  assert_int_equal(ucoro_create(&e.co, yields_once, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(e.co, NULL, NULL), UCORO_OK);
  run_there(destroy_there, &e);  /* handed over: suspended, not in use */
  assert_int_equal(e.result, UCORO_OK);
}

static void yield_outside_any_coroutine(void **state) {
  void *in = (void *)1;
  (void)state;
  assert_int_equal(ucoro_yield(NULL, &in), UCORO_ENOTCORO);
  assert_ptr_equal(in, (void *)1);
  assert_int_equal(ucoro_yield(NULL, NULL), UCORO_ENOTCORO);
}

static void *yields_with_null_in(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  return (void *)(intptr_t)ucoro_yield((void *)5, NULL);
}

static void yield_with_null_in(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, yields_with_null_in, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 5);
  assert_int_equal(ucoro_resume(co, (void *)9, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, UCORO_OK);
  ucoro_destroy(co);
}

static void status_null(void **state) {
  (void)state;
  assert_int_equal(ucoro_status(NULL), UCORO_DEAD);
}

static void destroy_null(void **state) {
  (void)state;
  assert_int_equal(ucoro_destroy(NULL), UCORO_OK);
}

static void *destroys_itself(ucoro *co, void *arg) {
  (void)arg;
  return (void *)(intptr_t)ucoro_destroy(co);
}

static void destroy_running(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, destroys_itself, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, UCORO_ERUNNING);
  assert_int_equal(ucoro_destroy(co), UCORO_OK);  /* dead now */
}

static void destroy_never_started(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create(&co, returns_arg, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_destroy(co), UCORO_OK);
}

static void accessors_given_null(void **state) {
  (void)state;
  assert_null(ucoro_userdata(NULL));
  ucoro_set_userdata(NULL, (void *)1);  /* nothing to set: no crash */
  assert_null(ucoro_function(NULL));
  assert_int_equal(ucoro_stack_size(NULL), 0);
  assert_int_equal(ucoro_stack_used(NULL), 0);
}

static void accessors_of_a_dead_coroutine(void **state) {
  ucoro *co;
  (void)state;
  assert_int_equal(ucoro_create(&co, returns_arg, (void *)3, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, NULL), UCORO_OK);
  assert_ptr_equal(ucoro_userdata(co), (void *)3);
  assert_ptr_equal(ucoro_function(co), returns_arg);
  assert_true(ucoro_stack_size(co) > 0);
  assert_true(ucoro_stack_used(co) <= ucoro_stack_size(co));
  ucoro_set_userdata(co, (void *)4);
  assert_ptr_equal(ucoro_userdata(co), (void *)4);
  ucoro_destroy(co);
}

static void running_outside_any_coroutine(void **state) {
  (void)state;
  assert_null(ucoro_running());
  assert_null(ucoro_running_user(NULL));
  assert_null(ucoro_running_user(returns_arg));
}

static void *asks_running_user(ucoro *co, void *arg) {
  (void)arg;
  /* NULL is no coroutine's function; another function is not its own */
  if (ucoro_running_user(NULL) != NULL) return (void *)1;
  if (ucoro_running_user(returns_arg) != NULL) return (void *)2;
  if (ucoro_running_user(asks_running_user) != ucoro_userdata(co))
    return (void *)3;
  return NULL;
}

static void running_user_given_another_function(void **state) {
  ucoro *co;
  void *out = (void *)9;
  (void)state;
  assert_int_equal(ucoro_create(&co, asks_running_user, (void *)8, 0),
                   UCORO_OK);
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_null(out);
  ucoro_destroy(co);
}

static void strerror_of_every_result(void **state) {
  int r;
  (void)state;
  for (r = UCORO_OK; r <= UCORO_ETHREAD; r++) {
    const char *s = ucoro_strerror((ucoro_result)r);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown error");
  }
  assert_string_equal(ucoro_strerror((ucoro_result)(UCORO_ETHREAD + 1)),
                      "unknown error");
  assert_string_equal(ucoro_strerror((ucoro_result)-1), "unknown error");
  assert_string_equal(ucoro_strerror((ucoro_result)INT_MAX), "unknown error");
}

static void *clears_pool_inside(ucoro *co, void *arg) {
  volatile char frame[8192];  /* the running stack stays mapped */
  (void)co;
  frame[0] = 1;
  ucoro_pool_clear();
  frame[sizeof frame - 1] = frame[0];
  ucoro_yield(arg, NULL);
  return (void *)(intptr_t)(frame[sizeof frame - 1] + 1);
}

static void pool_clear_inside_a_coroutine(void **state) {
  ucoro *co;
  void *out;
  (void)state;
  assert_int_equal(ucoro_create(&co, clears_pool_inside, NULL, 0), UCORO_OK);
  assert_int_equal(ucoro_resume(co, (void *)1, &out), UCORO_OK);
  ucoro_pool_clear();  /* and again outside, a suspended one alive */
  ucoro_pool_clear();
  assert_int_equal(ucoro_resume(co, NULL, &out), UCORO_OK);
  assert_int_equal((intptr_t)out, 2);
  ucoro_destroy(co);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_null_out),
    cmocka_unit_test(create_null_function),
    cmocka_unit_test(create_null_out_and_function),
    cmocka_unit_test(create_size_0_is_the_default),
    cmocka_unit_test(create_size_1_is_raised_to_the_minimum),
    cmocka_unit_test(create_size_max),
    cmocka_unit_test(create_size_max_less_a_page),
    cmocka_unit_test(create_size_a_quarter_of_max),
    cmocka_unit_test(create_size_2_to_the_60),
    cmocka_unit_test(resume_null),
    cmocka_unit_test(resume_dead),
    cmocka_unit_test(resume_running),
    cmocka_unit_test(resume_normal),
    cmocka_unit_test(status_normal),
    cmocka_unit_test(destroy_normal),
    cmocka_unit_test(resume_with_null_out),
    cmocka_unit_test(resume_from_another_thread),
    cmocka_unit_test(resume_fresh_from_another_thread),
    cmocka_unit_test(resume_coroutine_of_an_exited_thread),
    cmocka_unit_test(resume_exited_threads_coroutine_from_a_new_thread),
    cmocka_unit_test(destroy_from_another_thread),
    cmocka_unit_test(yield_outside_any_coroutine),
    cmocka_unit_test(yield_with_null_in),
    cmocka_unit_test(status_null),
    cmocka_unit_test(destroy_null),
    cmocka_unit_test(destroy_running),
    cmocka_unit_test(destroy_never_started),
    cmocka_unit_test(accessors_given_null),
    cmocka_unit_test(accessors_of_a_dead_coroutine),
    cmocka_unit_test(running_outside_any_coroutine),
    cmocka_unit_test(running_user_given_another_function),
    cmocka_unit_test(strerror_of_every_result),
    cmocka_unit_test(pool_clear_inside_a_coroutine),
  };
  return cmocka_run_group_tests_name("ucoro bad input: core", tests, NULL,
                                     NULL);
}
