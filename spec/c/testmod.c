/*
** testmod.c: a C module built only for the specs.  Its functions call back
** into Lua with a plain lua_call (no continuation), the way many real C
** libraries do, so a yield inside the callback must cross a C frame.
*/
#include "lua.h"
#include "lauxlib.h"

/* call(f, ...): returns f(...) called through lua_call. */
static int call(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* each(t, f): calls f(v) for each v of the sequence t, collects results. */
static int each(lua_State *L) {
  lua_Integer i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  n = luaL_len(L, 1);
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    lua_pushvalue(L, 2);
    lua_geti(L, 1, i);
    lua_call(L, 1, 1);
    lua_seti(L, 3, i);
  }
  return 1;
}

static const luaL_Reg functions[] = {
  {"call", call},
  {"each", each},
  {NULL, NULL}
};

LUAMOD_API int luaopen_ucoro_testmod(lua_State *L);

LUAMOD_API int luaopen_ucoro_testmod(lua_State *L) {
  luaL_newlib(L, functions);
  return 1;
}
