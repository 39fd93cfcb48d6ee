/*
** api_test.c: lua_ucoro_api.h, the binding's C API for other C modules
** (cmocka): found in the registry once ucoro.core is opened, the same
** table for the state's life; resume and park as ucoro.resume and
** ucoro.yield from C, at any depth of C calls, with their statuses,
** values and errors, and the hint that spares the look-up.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"
#include "lua_ucoro_api.h"

static const lua_ucoro_api *api_of(lua_State *L) {
  const lua_ucoro_api *api;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY);
  api = (const lua_ucoro_api *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return api;
}

/* c_park(...): parks with its arguments; returns the resume values (or
** false, the message where the park is refused: the arguments are left
** below it, untouched). */
static int c_park(lua_State *L) {
  int top = lua_gettop(L);
  int n = api_of(L)->park(L, top);
  if (n < 0) {
    assert_int_equal(lua_gettop(L), top + 1);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  return n;
}

/* A thread running the global function named fn. */
static lua_State *thread_of(lua_State *L, const char *fn) {
  lua_State *co = lua_newthread(L);
  lua_setfield(L, LUA_REGISTRYINDEX, fn);  /* kept */
  lua_getglobal(co, fn);
  return co;
}

static void api_found_and_kept(void **state) {
  lua_State *L = *state;
  const lua_ucoro_api *api = api_of(L);
  assert_non_null(api);
  assert_int_equal(api->version, LUA_UCORO_API_VERSION);
  assert_non_null(api->resume);
  assert_non_null(api->park);
  luaL_requiref(L, "ucoro2", luaopen_ucoro_core, 0);  /* opened again */
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT);
  assert_ptr_equal(api_of(L), api);
}

static void resume_park_and_end(void **state) {
  lua_State *L = *state;
  const lua_ucoro_api *api = api_of(L);
  lua_State *co;
  void *hint = NULL;
  int nres, status;
  lua_register(L, "c_park", c_park);
  run(L, "function body(a)\n"
         "  local got\n"
         "  table.sort({3, 1, 2}, function(x, y)\n"  /* under a C call */
         "    if not got then got = table.pack(c_park(a, 'two')) end\n"
         "    return x < y\n"
         "  end)\n"
         "  return got.n, got[1], got[2]\n"
         "end\n");
  co = thread_of(L, "body");
  lua_pushinteger(L, 1);
  status = api->resume(api, L, co, 1, &nres, &hint);
  assert_int_equal(status, LUA_YIELD);
  assert_int_equal(nres, 2);
  assert_int_equal(lua_tointeger(L, -2), 1);
  assert_string_equal(lua_tostring(L, -1), "two");
  lua_pop(L, 2);
  assert_non_null(hint);  /* parked: its run named */
  lua_pushliteral(L, "x");
  lua_pushliteral(L, "y");
  status = api->resume(api, L, co, 2, &nres, &hint);
  assert_int_equal(status, LUA_OK);
  assert_int_equal(nres, 3);
  assert_int_equal(lua_tointeger(L, -3), 2);
  assert_string_equal(lua_tostring(L, -2), "x");
  assert_string_equal(lua_tostring(L, -1), "y");
  lua_pop(L, 3);
  assert_int_equal(lua_gettop(L), 0);
  /* dead now: stock Lua says why, hint or not */
  status = api->resume(api, L, co, 0, &nres, &hint);
  assert_int_equal(status, LUA_ERRRUN);
  assert_int_equal(nres, 1);
  assert_string_equal(lua_tostring(L, -1), "cannot resume dead coroutine");
  lua_pop(L, 1);
}

static void errors_and_refusals(void **state) {
  lua_State *L = *state;
  const lua_ucoro_api *api = api_of(L);
  lua_State *co;
  int nres, status;
  lua_register(L, "c_park", c_park);
  run(L, "function fails() c_park() error('boom', 0) end\n");
  co = thread_of(L, "fails");
  status = api->resume(api, L, co, 0, &nres, NULL);  /* no hint */
  assert_int_equal(status, LUA_YIELD);
  assert_int_equal(nres, 0);
  status = api->resume(api, L, co, 0, &nres, NULL);
  assert_int_equal(status, LUA_ERRRUN);
  assert_int_equal(nres, 1);
  assert_string_equal(lua_tostring(L, -1), "boom");
  lua_pop(L, 1);
  /* on the main thread, no native stack: refused, not raised */
  run(L, "local ok, msg = c_park(1)\n"
         "assert(ok == false and msg:find('C%-call boundary'), msg)\n");
  /* inside a finalizer: refused */
  run(L, "function in_gc()\n"
         "  setmetatable({}, {__gc = function() r1, r2 = c_park() end})\n"
         "  collectgarbage()\n"
         "  return r1, r2\n"
         "end\n");
  co = thread_of(L, "in_gc");
  status = api->resume(api, L, co, 0, &nres, NULL);
  assert_int_equal(status, LUA_OK);
  assert_int_equal(nres, 2);
  assert_false(lua_toboolean(L, -2));
  assert_non_null(strstr(lua_tostring(L, -1), "__gc"));
  lua_pop(L, 2);
}

/* A thread parked by ucoro.yield (Lua) resumed through the API, and one
** parked through the API resumed by ucoro.resume: one run per thread. */
static void mixes_with_ucoro_resume(void **state) {
  lua_State *L = *state;
  const lua_ucoro_api *api = api_of(L);
  lua_State *co;
  void *hint = NULL;
  int nres, status;
  lua_register(L, "c_park", c_park);
  run(L, "function mixed()\n"
         "  local a = ucoro.yield('y1')\n"
         "  local b = c_park('p1')\n"
         "  return a, b\n"
         "end\n");
  co = thread_of(L, "mixed");
  status = api->resume(api, L, co, 0, &nres, &hint);
  assert_int_equal(status, LUA_YIELD);
  assert_string_equal(lua_tostring(L, -1), "y1");
  lua_pop(L, 1);
  lua_pushliteral(L, "A");
  status = api->resume(api, L, co, 1, &nres, &hint);
  assert_int_equal(status, LUA_YIELD);
  assert_string_equal(lua_tostring(L, -1), "p1");
  lua_pop(L, 1);
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  lua_setglobal(L, "co");
  run(L, "local ok, a, b = ucoro.resume(co, 'B')\n"
         "assert(ok and a == 'A' and b == 'B', tostring(a))\n"
         "assert(ucoro.status(co) == 'dead')\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    state_test(api_found_and_kept),
    state_test(resume_park_and_end),
    state_test(errors_and_refusals),
    state_test(mixes_with_ucoro_resume),
  };
  return cmocka_run_group_tests_name("lua_ucoro_api.h", tests, NULL, NULL);
}
