/*
** host.c: the C API for hosts (lua_ucoro.h), over native stacks
** (native.c) and the ucoro.call bridge (bridge.c).
*/
#include "lua_ucoro.h"

#include "lauxlib.h"

#include "bridge.h"
#include "native.h"

LUA_UCORO_API int lua_ucoro_yield(lua_State *L, int nresults) {
  native *r;
  if (nresults < 0 || nresults > lua_gettop(L))
    return luaL_error(L, "lua_ucoro_yield: cannot yield %d values, %d on "
                      "the stack", nresults, lua_gettop(L));
  r = native_running(L);
  if (r == NULL) {
    if (lua_pushthread(L))
      return luaL_error(L, "attempt to yield from outside a coroutine");
    return luaL_error(L, "attempt to yield across a C-call boundary");
  }
  return native_park(L, r, nresults, 0);
}

LUA_UCORO_API void lua_ucoro_pushcfunction(lua_State *L, lua_CFunction f) {
  if (f == NULL) {
    luaL_error(L, "lua_ucoro_pushcfunction: NULL function");
    return;
  }
  bridge_push_cfunction(L, f);
}
