/*
** lua_test.c: what only C can set up (cmocka): a coroutine resumed from
** another OS thread, yields into another Lua state, the host C API.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"

static const char *global_string(lua_State *L, const char *name) {
  lua_getglobal(L, name);
  return lua_tostring(L, -1);
}

/* Another OS thread gets an error, and the owner can still go on. */
typedef struct resume_job {
  lua_State *L;
  char message[200];
} resume_job;

static void *resume_elsewhere(void *arg) {
  resume_job *job = arg;
  lua_getglobal(job->L, "try_resume");
  if (lua_pcall(job->L, 0, 1, 0) == LUA_OK || lua_isstring(job->L, -1))
    strncpy(job->message, lua_tostring(job->L, -1), sizeof job->message - 1);
  lua_pop(job->L, 1);
  return NULL;
}

static void another_thread_cannot_resume(void **state) {
  lua_State *L = *state;
  pthread_t t;
  resume_job job;
  memset(&job, 0, sizeof job);
  job.L = L;
  run(L, "co = ucoro.create(function()"
         "  table.sort({2, 1}, function(a, b) ucoro.yield('parked') return a < b end)"
         "  return 'done' end)"
         "assert(ucoro.resume(co))"
         "function try_resume() return select(2, ucoro.resume(co)) end");
  /* the state is handed over, never used by two threads at once */
  assert_int_equal(pthread_create(&t, NULL, resume_elsewhere, &job), 0);
  pthread_join(t, NULL);
  assert_string_equal(job.message, "cannot resume coroutine: coroutine "
                                   "belongs to another OS thread");
  run(L, "assert(ucoro.status(co) == 'suspended')"
         "result = select(2, ucoro.resume(co))");
  assert_string_equal(global_string(L, "result"), "done");
}

/* A C function, called in state A's coroutine, runs code in state B that
** yields: B's yield belongs to B (its main thread here), never to A's. */
static lua_State *other_state;

static int run_in_other_state(lua_State *L) {
  if (luaL_dostring(other_state, "return select(2, pcall(ucoro.yield, 1))")
      != LUA_OK)
    return luaL_error(L, "other state failed");
  lua_pushstring(L, lua_tostring(other_state, -1));
  lua_pop(other_state, 1);
  return 1;
}

static void no_yield_into_another_state(void **state) {
  lua_State *A = new_state();
  (void)state;
  other_state = new_state();
  lua_register(A, "run_in_other_state", run_in_other_state);
  run(A, "local co = ucoro.wrap(function()"
         "  local r; table.sort({2, 1}, function(a, b)"
         "    r = run_in_other_state() ucoro.yield('A parked') return a < b end)"
         "  return r end)"
         "first = co() result = co()");
  assert_string_equal(global_string(A, "first"), "A parked");
  assert_string_equal(global_string(A, "result"),
                      "attempt to yield from outside a coroutine");
  lua_close(other_state);
  lua_close(A);
}

/* The host API: a C function yields in straight-line C under a C
** lua_resume loop, and reads back what the resumer passed. */
static int add_twice(lua_State *L) {
  lua_Integer sum = luaL_checkinteger(L, 1);
  int i;
  for (i = 0; i < 2; i++) {
    lua_pushinteger(L, sum);
    lua_ucoro_yield(L, 1);
    sum += luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  lua_pushinteger(L, sum);
  return 1;
}

static void host_function_yields_in_straight_line(void **state) {
  lua_State *L = *state;
  lua_State *co;
  int nres;
  lua_ucoro_pushcfunction(L, add_twice);
  lua_setglobal(L, "add_twice");
  co = lua_newthread(L);
  luaL_loadstring(co, "return add_twice(1) * 10");
  assert_int_equal(lua_resume(co, L, 0, &nres), LUA_YIELD);
  assert_int_equal(nres, 1);
  assert_int_equal(lua_gettop(co), 1);  /* the yielded value at index 1 */
  assert_int_equal(lua_tointeger(co, 1), 1);
  lua_pop(co, 1);
  lua_pushinteger(co, 10);
  assert_int_equal(lua_resume(co, L, 1, &nres), LUA_YIELD);
  assert_int_equal(lua_tointeger(co, 1), 11);
  lua_pop(co, 1);
  lua_pushinteger(co, 100);
  assert_int_equal(lua_resume(co, L, 1, &nres), LUA_OK);
  assert_int_equal(lua_tointeger(co, -1), 1110);
}

static void host_yield_outside_gets_an_error(void **state) {
  lua_State *L = *state;
  lua_register(L, "plain_add_twice", add_twice);  /* not wrapped */
  run(L, "ok, message = pcall(plain_add_twice, 1)");
  assert_string_equal(global_string(L, "message"),
                      "attempt to yield from outside a coroutine");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    state_test(another_thread_cannot_resume),
    cmocka_unit_test(no_yield_into_another_state),
    state_test(host_function_yields_in_straight_line),
    state_test(host_yield_outside_gets_an_error),
  };
  return cmocka_run_group_tests_name("ucoro with Lua", tests, NULL, NULL);
}
