/*
** testmod.c: a C module built only for the specs.  Its functions call back
** into Lua with a plain lua_call (no continuation), the way many real C
** libraries do, so a yield inside the callback must cross a C frame.
*/
#define _GNU_SOURCE  /* ucontext_t, under -std=c11 (musl) */
#include <ucontext.h>

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

/* compare(a, b [, op]): lua_compare(a, b) with op "eq" (the default),
** "lt" or "le", so __eq, __lt and __le are called from C. */
static int compare(lua_State *L) {
  static const char *const names[] = {"eq", "lt", "le", NULL};
  static const int ops[] = {LUA_OPEQ, LUA_OPLT, LUA_OPLE};
  int op = ops[luaL_checkoption(L, 3, "eq", names)];
  luaL_checkany(L, 2);
  lua_pushboolean(L, lua_compare(L, 1, 2, op));
  return 1;
}

/* concat(...): lua_concat of all its arguments, so __concat is called
** from C.  It first reserves stack room so that a metamethod does not
** make the Lua stack move: Debian 12's liblua5.4 (5.4.4-3) has upstream's
** fix 42d40581 without its follow-up 603b2c64, so luaV_concat resets
** L->top from a stale pointer when the stack moves under a metamethod
** (stock Lua, with or without ucoro: `obj .. "a" .. "b"` gives nil). */
static int concat(lua_State *L) {
  luaL_checkstack(L, 1000, "concat");
  lua_concat(L, lua_gettop(L));
  return 1;
}

/* ucontext_size(): sizeof(ucontext_t) on this target (936 bytes on x86-64,
** 4,560 on aarch64), which the ucontext backend keeps on the stack of each
** suspended coroutine: the scale specs allow for it. */
static int ucontext_size(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)sizeof(ucontext_t));
  return 1;
}

static const luaL_Reg functions[] = {
  {"ucontext_size", ucontext_size},
  {"call", call},
  {"each", each},
  {"compare", compare},
  {"concat", concat},
  {NULL, NULL}
};

LUAMOD_API int luaopen_ucoro_testmod(lua_State *L);

LUAMOD_API int luaopen_ucoro_testmod(lua_State *L) {
  luaL_newlib(L, functions);
  return 1;
}
