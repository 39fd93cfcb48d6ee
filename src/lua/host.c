/*
** host.c: the C API for hosts (lua_ucoro.h), over native stacks
** (native.c) and the ucoro.call bridge (bridge.c).
*/
#include "lua_ucoro.h"

#include "lauxlib.h"

#include "bridge.h"
#include "native.h"

/* Given the thread that resumed the one running on this native stack, or
** the main thread (misuse: L must be the running thread), an error raised
** on L would jump off this stack: it is raised on the running thread. */
static void check_not_misused(lua_State *L) {
  native *running = (native *)ucoro_running_user(native_main);
  if (running != NULL && running->L1 != L &&
      (L == running->from || native_is_main_thread(running->L1, L)))
    luaL_error(running->L1, "lua_ucoro_yield: L is not the running thread");
}

LUA_UCORO_API int lua_ucoro_yield(lua_State *L, int nresults) {
  native *r = native_running(L);
  if (r == NULL) check_not_misused(L);
  if (nresults < 0 || nresults > lua_gettop(L))
    return luaL_error(L, "lua_ucoro_yield: cannot yield %d values, %d on "
                      "the stack", nresults, lua_gettop(L));
  if (r == NULL) {
    luaL_checkstack(L, 1, NULL);
    if (lua_pushthread(L))
      return luaL_error(L, "attempt to yield from outside a coroutine");
    return luaL_error(L, "attempt to yield across a C-call boundary");
  }
  return native_park(L, r, nresults, NATIVE_PARKED);
}

LUA_UCORO_API void lua_ucoro_pushcfunction(lua_State *L, lua_CFunction f) {
  if (f == NULL) {
    luaL_error(L, "lua_ucoro_pushcfunction: NULL function");
    return;
  }
  bridge_push_cfunction(L, f);
}
