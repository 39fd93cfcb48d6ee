/*
** bad_input_test.c: the bad-input table of the C API (cmocka), one test per
** row: every public function of ucoro.h and lua_ucoro.h given NULL, a
** dead, running or normal coroutine, another OS thread's, sizes of 0 or
** past what can be mapped, bad counts, another Lua state's coroutine.
** Each gets an error result or a clear Lua error, never a crash.  (The Lua
** functions' table is spec/40-bad_input_spec.lua.)
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

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"
#include "ucoro.h"

/* ---- the core (ucoro.h) ---- */

static void *returns_arg(ucoro *co, void *arg) {
  (void)co;
  return arg;
}

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

/* ---- the host API (lua_ucoro.h) ---- */

static void assert_global(lua_State *L, const char *name,
                          const char *expected) {
  lua_getglobal(L, name);
  assert_non_null(lua_tostring(L, -1));
  assert_string_equal(lua_tostring(L, -1), expected);
  lua_pop(L, 1);
}

/* yield_n(n, ...): lua_ucoro_yield(L, n) as given, after its arguments. */
static int yield_n(lua_State *L) {
  int n = (int)luaL_checkinteger(L, 1);
  return lua_ucoro_yield(L, n);
}

/* Runs code in a ucoro coroutine that reports through the global msg. */
static void in_coroutine(lua_State *L, const char *body) {
  lua_register(L, "yield_n", yield_n);
  lua_pushstring(L, body);
  lua_setglobal(L, "body");
  run(L, "local co = ucoro.create(load(body))"
         "local ok, e = ucoro.resume(co)"
         "assert(ok, e)"
         "assert(ucoro.status(co) == 'dead', 'not dead')");
}

static void yield_on_the_main_thread(void **state) {
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "yield_n", yield_n);
  run(L, "msg = select(2, pcall(yield_n, 1))");
  assert_global(L, "msg", "attempt to yield from outside a coroutine");
  lua_close(L);
}

static void yield_in_a_stock_coroutine(void **state) {
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "yield_n", yield_n);
  run(L, "local co = coroutine.create(function() return pcall(yield_n, 1) end)"
         "msg = select(3, coroutine.resume(co))");
  assert_global(L, "msg", "attempt to yield across a C-call boundary");
  lua_close(L);
}

/* A thread the host made with lua_newthread and drives with lua_resume. */
static void yield_in_a_host_driven_thread(void **state) {
  lua_State *L = new_state();
  lua_State *co;
  int nres;
  (void)state;
  lua_register(L, "yield_n", yield_n);
  co = lua_newthread(L);
  luaL_loadstring(co, "return yield_n(0)");
  assert_int_equal(lua_resume(co, L, 0, &nres), LUA_ERRRUN);
  assert_string_equal(lua_tostring(co, -1), "[string \"return yield_n(0)\"]:1: "
                      "attempt to yield across a C-call boundary");
  lua_close(L);
}

static void yield_in_ucoro_call_on_the_main_thread(void **state) {
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "yield_n", yield_n);
  run(L, "msg = select(2, pcall(ucoro.call, yield_n, 1))");
  assert_global(L, "msg", "attempt to yield from outside a coroutine");
  run(L, "assert(ucoro.call(function() return 'usable' end) == 'usable')");
  lua_close(L);
}

static void yield_in_a_gc_finalizer(void **state) {
  lua_State *L = new_state();
  (void)state;
  in_coroutine(L, "setmetatable({}, { __gc = function()"
                  "  msg = select(2, pcall(yield_n, 0)) end })"
                  "collectgarbage()");
  assert_global(L, "msg", "attempt to yield inside a __gc finalizer");
  lua_close(L);
}

static void yield_count_negative(void **state) {
  lua_State *L = new_state();
  (void)state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, -1))");
  assert_global(L, "msg", "lua_ucoro_yield: cannot yield -1 values, 1 on "
                          "the stack");
  lua_close(L);
}

static void yield_count_past_the_stack(void **state) {
  lua_State *L = new_state();
  (void)state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, 3, 'a'))");
  assert_global(L, "msg", "lua_ucoro_yield: cannot yield 3 values, 2 on "
                          "the stack");
  lua_close(L);
}

static void yield_count_int_max(void **state) {
  lua_State *L = new_state();
  char expected[100];
  (void)state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, 2147483647))");
  snprintf(expected, sizeof expected,
           "lua_ucoro_yield: cannot yield %d values, 1 on the stack",
           INT_MAX);
  assert_global(L, "msg", expected);
  lua_close(L);
}

static void yield_count_int_min(void **state) {
  lua_State *L = new_state();
  char expected[100];
  (void)state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, -2147483648))");
  snprintf(expected, sizeof expected,
           "lua_ucoro_yield: cannot yield %d values, 1 on the stack",
           INT_MIN);
  assert_global(L, "msg", expected);
  lua_close(L);
}

static void yield_count_all_and_none(void **state) {
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "yield_n", yield_n);
  run(L, "local co = ucoro.wrap(function()"
         "  local a, b = yield_n(2, 'x')"  /* the count itself and 'x' */
         "  local n = yield_n(0)"  /* yields nothing, returns the 5 */
         "  return a .. b .. tostring(n) end)"
         "local n, x = co()"
         "assert(n == 2 and x == 'x')"
         "assert(select('#', co('p', 'q')) == 0)"
         "msg = co(5)");
  assert_global(L, "msg", "pq5");
  lua_close(L);
}

/* Another Lua state: B's coroutines work inside A's, and stay B's. */
static lua_State *other;

static int run_in_other(lua_State *L) {
  const char *code = luaL_checkstring(L, 1);
  if (luaL_dostring(other, code) != LUA_OK)
    return luaL_error(L, "in the other state: %s", lua_tostring(other, -1));
  lua_pushstring(L, lua_tostring(other, -1));
  lua_settop(other, 0);
  return 1;
}

static void two_states(lua_State **A) {
  *A = new_state();
  other = new_state();
  lua_register(*A, "run_in_other", run_in_other);
  lua_register(other, "yield_n", yield_n);
}

static void yield_in_another_states_stock_coroutine(void **state) {
  lua_State *A;
  (void)state;
  two_states(&A);
  /* A's coroutine is on a native stack; B's stock coroutine is not */
  run(A, "local co = ucoro.wrap(function() return run_in_other("
         "  'return select(3, coroutine.resume(coroutine.create(function()'"
         "  .. ' return pcall(yield_n, 0) end)))') end)"
         "msg = co()");
  assert_global(A, "msg", "attempt to yield across a C-call boundary");
  lua_close(other);
  lua_close(A);
}

static void another_states_coroutine_nested_in_ours(void **state) {
  lua_State *A;
  (void)state;
  two_states(&A);
  /* B's ucoro coroutine parks under C inside A's coroutine, which then
  ** parks too; each is resumed later from its own state's main thread */
  run(other, "bco = ucoro.create(function()"
             "  table.sort({2, 1}, function(a, b) yield_n(0) return a < b end)"
             "  return 'B done' end)");
  run(A, "aco = ucoro.create(function()"
         "  local r = run_in_other('return select(2, ucoro.resume(bco)) or "
         "ucoro.status(bco)')"
         "  table.sort({2, 1}, function(a, b) ucoro.yield(r) return a < b end)"
         "  return 'A done' end)"
         "first = select(2, ucoro.resume(aco))");
  assert_global(A, "first", "suspended");  /* B's parked, A's result */
  run(other, "msg = select(2, ucoro.resume(bco))");
  assert_global(other, "msg", "B done");
  run(A, "msg = select(2, ucoro.resume(aco))");
  assert_global(A, "msg", "A done");
  lua_close(other);
  lua_close(A);
}

static void close_ours_while_another_states_is_parked(void **state) {
  lua_State *A;
  (void)state;
  two_states(&A);
  run(other, "bco = ucoro.create(function()"
             "  table.sort({2, 1}, function(a, b) yield_n(0) return a < b end)"
             "  return 'B done' end)");
  run(A, "aco = ucoro.create(function()"
         "  run_in_other('ucoro.resume(bco)')"
         "  table.sort({2, 1}, function(a, b) ucoro.yield() return a < b end)"
         "end)"
         "assert(ucoro.resume(aco))"
         "assert(ucoro.close(aco))"
         "aco = nil collectgarbage()");
  run(other, "msg = select(2, ucoro.resume(bco))");
  assert_global(other, "msg", "B done");
  lua_close(other);
  lua_close(A);
}

static int close_other(lua_State *L) {
  (void)L;
  lua_close(other);
  other = NULL;
  return 0;
}

static void close_another_state_with_parked_coroutines(void **state) {
  lua_State *A;
  (void)state;
  two_states(&A);
  lua_register(A, "close_other", close_other);
  run(other, "bco = ucoro.create(function()"
             "  table.sort({2, 1}, function(a, b) yield_n(0) return a < b end)"
             "end)");
  /* B is closed from inside A's coroutine, B's coroutine parked there */
  run(A, "local co = ucoro.wrap(function()"
         "  run_in_other('ucoro.resume(bco)')"
         "  close_other()"
         "  return 'A goes on' end)"
         "msg = co()");
  assert_global(A, "msg", "A goes on");
  lua_close(A);
}

/* A thread the host made with lua_newthread, given to ucoro's functions:
** stock's answers, at each point of its life. */
static void host_thread_given_to_every_function(void **state) {
  lua_State *L = new_state();
  lua_State *co;
  (void)state;
  co = lua_newthread(L);
  lua_setglobal(L, "host_thread");
  luaL_loadstring(co, "coroutine.yield('stock yield')"
                      "table.sort({2, 1}, function(a, b)"
                      "  ucoro.yield('parked') return a < b end)"
                      "return 'done'");
  run(L, "local function same()"
         "  assert(ucoro.status(host_thread) == coroutine.status(host_thread))"
         "  assert(ucoro.isyieldable(host_thread) =="
         "         coroutine.isyieldable(host_thread))"
         "end "
         "same() assert(ucoro.stackused(host_thread) == nil)"
         "assert(select(2, ucoro.resume(host_thread)) == 'stock yield')"
         "same() assert(ucoro.stackused(host_thread) == nil)"
         "assert(select(2, ucoro.resume(host_thread)) == 'parked')"
         "assert(ucoro.status(host_thread) == 'suspended')"
         "assert(ucoro.isyieldable(host_thread))"
         "assert(ucoro.stackused(host_thread) > 0)"
         "assert(select(2, ucoro.resume(host_thread)) == 'done')"
         "same() assert(ucoro.stackused(host_thread) == nil)"
         "msg = select(2, ucoro.resume(host_thread))");
  assert_global(L, "msg", "cannot resume dead coroutine");
  lua_close(L);
}

/* The host's own lua_resume on a thread ucoro parked under C: stock's
** refusal, and ucoro goes on with it once the host popped the message. */
static void host_lua_resume_of_a_parked_thread(void **state) {
  lua_State *L = new_state();
  lua_State *co;
  int nres;
  (void)state;
  co = lua_newthread(L);
  lua_setglobal(L, "host_thread");
  luaL_loadstring(co, "table.sort({2, 1}, function(a, b)"
                      "  ucoro.yield('parked') return a < b end)"
                      "return 'done'");
  run(L, "assert(select(2, ucoro.resume(host_thread)) == 'parked')");
  assert_int_equal(lua_resume(co, L, 0, &nres), LUA_ERRRUN);
  assert_string_equal(lua_tostring(co, -1),
                      "cannot resume non-suspended coroutine");
  lua_pop(co, 1);
  run(L, "msg = select(2, ucoro.resume(host_thread))");
  assert_global(L, "msg", "done");
  lua_close(L);
}

/* Calls lua_ucoro_pushcfunction(L, f) (through to_push) under a
** protected call; returns its status, the function or message on top. */
static lua_CFunction to_push;

static int push_it(lua_State *L) {
  lua_ucoro_pushcfunction(L, to_push);
  return 1;
}

static int pcall_push(lua_State *L, lua_CFunction f) {
  to_push = f;
  lua_pushcfunction(L, push_it);
  return lua_pcall(L, 0, 1, 0);
}

static void pushcfunction_null(void **state) {
  lua_State *L = new_state();
  (void)state;
  assert_int_equal(pcall_push(L, NULL), LUA_ERRRUN);
  assert_string_equal(lua_tostring(L, -1),
                      "lua_ucoro_pushcfunction: NULL function");
  lua_pop(L, 1);
  assert_int_equal(pcall_push(L, yield_n), LUA_OK);  /* still usable */
  lua_close(L);
}

static void pushcfunction_in_a_bare_state(void **state) {
  lua_State *L = luaL_newstate();  /* no library opened, not even ucoro */
  int nres;
  lua_State *co;
  (void)state;
  assert_int_equal(pcall_push(L, yield_n), LUA_OK);
  lua_setglobal(L, "yield_n");
  co = lua_newthread(L);
  luaL_loadstring(co, "return yield_n(1) + 1");
  assert_int_equal(lua_resume(co, L, 0, &nres), LUA_YIELD);
  assert_int_equal(lua_tointeger(co, -1), 1);
  lua_pop(co, nres);
  lua_pushinteger(co, 41);
  assert_int_equal(lua_resume(co, L, 1, &nres), LUA_OK);
  assert_int_equal(lua_tointeger(co, -1), 42);
  lua_close(L);
}

static void pushcfunction_with_ucoro_core_taken(void **state) {
  lua_State *L = luaL_newstate();
  (void)state;
  luaL_openlibs(L);
  run(L, "package.loaded['ucoro.core'] = 42");  /* junk where it would go */
  assert_int_equal(pcall_push(L, yield_n), LUA_OK);
  lua_setglobal(L, "yield_n");
  run(L, "local co = coroutine.wrap(function() return yield_n(1, 'up') end)"
         "msg = co() .. co('down')");
  assert_global(L, "msg", "updown");
  lua_close(L);
}

static int raises(lua_State *L) {
  return luaL_error(L, "raised with %d", 7);
}

static void pushed_function_that_raises(void **state) {
  lua_State *L = new_state();
  (void)state;
  assert_int_equal(pcall_push(L, raises), LUA_OK);
  lua_setglobal(L, "raises");
  run(L, "msg = select(2, pcall(raises))"
         "msg2 = select(2, ucoro.resume(ucoro.create(raises)))"
         "msg3 = select(2, coroutine.resume(coroutine.create(raises)))");
  assert_global(L, "msg", "raised with 7");
  assert_global(L, "msg2", "raised with 7");
  assert_global(L, "msg3", "raised with 7");
  lua_close(L);
}

static void pushed_function_yields_where_refused(void **state) {
  lua_State *L = new_state();
  (void)state;
  assert_int_equal(pcall_push(L, yield_n), LUA_OK);
  lua_setglobal(L, "yield_n");
  run(L, "msg = select(2, pcall(yield_n, 0))"
         "local co = coroutine.wrap(function()"
         "  local r; table.sort({2, 1}, function(a, b)"
         "    r = select(2, pcall(yield_n, 0)) return a < b end)"
         "  return r end)"
         "msg2 = co()");
  assert_global(L, "msg", "attempt to yield from outside a coroutine");
  assert_global(L, "msg2", "attempt to yield across a C-call boundary");
  lua_close(L);
}

static void open_twice_shares_the_state(void **state) {
  lua_State *L = new_state();
  (void)state;
  /* a second opening (busted reloads modules) under another name, with
  ** junk arguments: one default stack size, one set of coroutines */
  lua_pushcfunction(L, luaopen_ucoro_core);
  lua_pushinteger(L, 1);
  lua_pushstring(L, "junk");
  lua_call(L, 2, 1);
  lua_setglobal(L, "again");
  run(L, "assert(again ~= ucoro)"
         "local old = ucoro.stacksize(65536)"
         "assert(again.stacksize() == 65536)"
         "again.stacksize(old)"
         "local co = ucoro.create(function()"
         "  table.sort({2, 1}, function(a, b) again.yield('p') return a < b end)"
         "  return 'done' end)"
         "assert(select(2, again.resume(co)) == 'p')"
         "assert(ucoro.status(co) == 'suspended')"
         "msg = select(2, ucoro.resume(co))");
  assert_global(L, "msg", "done");
  lua_close(L);
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
    cmocka_unit_test(yield_on_the_main_thread),
    cmocka_unit_test(yield_in_a_stock_coroutine),
    cmocka_unit_test(yield_in_a_host_driven_thread),
    cmocka_unit_test(yield_in_ucoro_call_on_the_main_thread),
    cmocka_unit_test(yield_in_a_gc_finalizer),
    cmocka_unit_test(yield_count_negative),
    cmocka_unit_test(yield_count_past_the_stack),
    cmocka_unit_test(yield_count_int_max),
    cmocka_unit_test(yield_count_int_min),
    cmocka_unit_test(yield_count_all_and_none),
    cmocka_unit_test(yield_in_another_states_stock_coroutine),
    cmocka_unit_test(another_states_coroutine_nested_in_ours),
    cmocka_unit_test(close_ours_while_another_states_is_parked),
    cmocka_unit_test(close_another_state_with_parked_coroutines),
    cmocka_unit_test(host_thread_given_to_every_function),
    cmocka_unit_test(host_lua_resume_of_a_parked_thread),
    cmocka_unit_test(pushcfunction_null),
    cmocka_unit_test(pushcfunction_in_a_bare_state),
    cmocka_unit_test(pushcfunction_with_ucoro_core_taken),
    cmocka_unit_test(pushed_function_that_raises),
    cmocka_unit_test(pushed_function_yields_where_refused),
    cmocka_unit_test(open_twice_shares_the_state),
  };
  return cmocka_run_group_tests_name("ucoro bad input", tests, NULL, NULL);
}
