/*
** bad_input_test.c: the bad-input table of the host API (lua_ucoro.h,
** cmocka), one test per row: lua_ucoro_yield and lua_ucoro_pushcfunction
** given bad counts, the wrong thread, another Lua state's coroutine, a
** bare state.  Each gets a clear Lua error, never a crash.  (The core's
** rows: spec/c/core/bad_input_test.c; the Lua functions' table:
** spec/40-bad_input_spec.lua.)
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
  lua_State *L = *state;
  lua_register(L, "yield_n", yield_n);
  run(L, "msg = select(2, pcall(yield_n, 1))");
  assert_global(L, "msg", "attempt to yield from outside a coroutine");
}

static void yield_in_a_stock_coroutine(void **state) {
  lua_State *L = *state;
  lua_register(L, "yield_n", yield_n);
  run(L, "local co = coroutine.create(function() return pcall(yield_n, 1) end)"
         "msg = select(3, coroutine.resume(co))");
  assert_global(L, "msg", "attempt to yield across a C-call boundary");
}

/* A thread the host made with lua_newthread and drives with lua_resume. */
static void yield_in_a_host_driven_thread(void **state) {
  lua_State *L = *state;
  lua_State *co;
  int nres;
  lua_register(L, "yield_n", yield_n);
  co = lua_newthread(L);
  luaL_loadstring(co, "return yield_n(0)");
  assert_int_equal(lua_resume(co, L, 0, &nres), LUA_ERRRUN);
  assert_string_equal(lua_tostring(co, -1), "[string \"return yield_n(0)\"]:1: "
                      "attempt to yield across a C-call boundary");
}

static void yield_in_ucoro_call_on_the_main_thread(void **state) {
  lua_State *L = *state;
  lua_register(L, "yield_n", yield_n);
  run(L, "msg = select(2, pcall(ucoro.call, yield_n, 1))");
  assert_global(L, "msg", "attempt to yield from outside a coroutine");
  run(L, "assert(ucoro.call(function() return 'usable' end) == 'usable')");
}

static void yield_in_a_gc_finalizer(void **state) {
  lua_State *L = *state;
  in_coroutine(L, "setmetatable({}, { __gc = function()"
                  "  msg = select(2, pcall(yield_n, 0)) end })"
                  "collectgarbage()");
  assert_global(L, "msg", "attempt to yield inside a __gc finalizer");
}

static void yield_count_negative(void **state) {
  lua_State *L = *state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, -1))");
  assert_global(L, "msg", "lua_ucoro_yield: cannot yield -1 values, 1 on "
                          "the stack");
}

static void yield_count_past_the_stack(void **state) {
  lua_State *L = *state;
  in_coroutine(L, "msg = select(2, pcall(yield_n, 3, 'a'))");
  assert_global(L, "msg", "lua_ucoro_yield: cannot yield 3 values, 2 on "
                          "the stack");
}

static void yield_count_int_max(void **state) {
  lua_State *L = *state;
  char expected[100];
  in_coroutine(L, "msg = select(2, pcall(yield_n, 2147483647))");
  snprintf(expected, sizeof expected,
           "lua_ucoro_yield: cannot yield %d values, 1 on the stack",
           INT_MAX);
  assert_global(L, "msg", expected);
}

static void yield_count_int_min(void **state) {
  lua_State *L = *state;
  char expected[100];
  in_coroutine(L, "msg = select(2, pcall(yield_n, -2147483648))");
  snprintf(expected, sizeof expected,
           "lua_ucoro_yield: cannot yield %d values, 1 on the stack",
           INT_MIN);
  assert_global(L, "msg", expected);
}

static void yield_count_all_and_none(void **state) {
  lua_State *L = *state;
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

/* The fixture of the two-state tests: A in *state, B in other (closed
** first after the test, unless the test closed it). */
static int two_states_setup(void **state) {
  if (state_setup(state) != 0) return -1;
  other = new_state();
  if (other == NULL) return -1;
  lua_register((lua_State *)*state, "run_in_other", run_in_other);
  lua_register(other, "yield_n", yield_n);
  return 0;
}

static int two_states_teardown(void **state) {
  if (other != NULL) lua_close(other);
  other = NULL;
  return state_teardown(state);
}

#define two_states_test(f) \
  cmocka_unit_test_setup_teardown(f, two_states_setup, two_states_teardown)

static void yield_in_another_states_stock_coroutine(void **state) {
  lua_State *A = *state;
  /* A's coroutine is on a native stack; B's stock coroutine is not */
  run(A, "local co = ucoro.wrap(function() return run_in_other("
         "  'return select(3, coroutine.resume(coroutine.create(function()'"
         "  .. ' return pcall(yield_n, 0) end)))') end)"
         "msg = co()");
  assert_global(A, "msg", "attempt to yield across a C-call boundary");
}

static void another_states_coroutine_nested_in_ours(void **state) {
  lua_State *A = *state;
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
}

static void close_ours_while_another_states_is_parked(void **state) {
  lua_State *A = *state;
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
}

static int close_other(lua_State *L) {
  (void)L;
  lua_close(other);
  other = NULL;
  return 0;
}

static void close_another_state_with_parked_coroutines(void **state) {
  lua_State *A = *state;
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
}

/* A thread the host made with lua_newthread, given to ucoro's functions:
** stock's answers, at each point of its life. */
static void host_thread_given_to_every_function(void **state) {
  lua_State *L = *state;
  lua_State *co;
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
}

/* The host's own lua_resume on a thread ucoro parked under C: stock's
** refusal, and ucoro goes on with it once the host popped the message. */
static void host_lua_resume_of_a_parked_thread(void **state) {
  lua_State *L = *state;
  lua_State *co;
  int nres;
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
  lua_State *L = *state;
  assert_int_equal(pcall_push(L, NULL), LUA_ERRRUN);
  assert_string_equal(lua_tostring(L, -1),
                      "lua_ucoro_pushcfunction: NULL function");
  lua_pop(L, 1);
  assert_int_equal(pcall_push(L, yield_n), LUA_OK);  /* still usable */
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
  lua_State *L = *state;
  assert_int_equal(pcall_push(L, raises), LUA_OK);
  lua_setglobal(L, "raises");
  run(L, "msg = select(2, pcall(raises))"
         "msg2 = select(2, ucoro.resume(ucoro.create(raises)))"
         "msg3 = select(2, coroutine.resume(coroutine.create(raises)))");
  assert_global(L, "msg", "raised with 7");
  assert_global(L, "msg2", "raised with 7");
  assert_global(L, "msg3", "raised with 7");
}

static void pushed_function_yields_where_refused(void **state) {
  lua_State *L = *state;
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
}

static void open_twice_shares_the_state(void **state) {
  lua_State *L = *state;
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
}

int main(void) {
  const struct CMUnitTest tests[] = {
    state_test(yield_on_the_main_thread),
    state_test(yield_in_a_stock_coroutine),
    state_test(yield_in_a_host_driven_thread),
    state_test(yield_in_ucoro_call_on_the_main_thread),
    state_test(yield_in_a_gc_finalizer),
    state_test(yield_count_negative),
    state_test(yield_count_past_the_stack),
    state_test(yield_count_int_max),
    state_test(yield_count_int_min),
    state_test(yield_count_all_and_none),
    two_states_test(yield_in_another_states_stock_coroutine),
    two_states_test(another_states_coroutine_nested_in_ours),
    two_states_test(close_ours_while_another_states_is_parked),
    two_states_test(close_another_state_with_parked_coroutines),
    state_test(host_thread_given_to_every_function),
    state_test(host_lua_resume_of_a_parked_thread),
    state_test(pushcfunction_null),
    cmocka_unit_test(pushcfunction_in_a_bare_state),
    cmocka_unit_test(pushcfunction_with_ucoro_core_taken),
    state_test(pushed_function_that_raises),
    state_test(pushed_function_yields_where_refused),
    state_test(open_twice_shares_the_state),
  };
  return cmocka_run_group_tests_name("ucoro bad input: host API", tests,
                                     NULL, NULL);
}
