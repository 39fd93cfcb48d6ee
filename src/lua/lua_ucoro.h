/*
** lua_ucoro.h: ucoro's C API for programs that embed Lua 5.4.
**
** Open the module statically:
**   luaL_requiref(L, "ucoro", luaopen_ucoro_core, 0);
** Write a C function that yields in straight-line C, and register it:
**   static int wait_line(lua_State *L) {
**     ...                            // any C, any depth, any callback
**     lua_pushstring(L, "want a line");
**     lua_ucoro_yield(L, 1);         // returns when resumed
**     ... lua_tostring(L, -1) ...    // the resume values are on top
**   }
**   lua_ucoro_pushcfunction(L, wait_line);
**   lua_setglobal(L, "wait_line");
*/
#ifndef LUA_UCORO_H
#define LUA_UCORO_H

#include "lua.h"

#include "ucoro.h"

/* What the module exports when built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define LUA_UCORO_API __attribute__((visibility("default")))
#else
#define LUA_UCORO_API
#endif

/* The module ucoro.core (the facade "ucoro" only re-exports it). */
LUA_UCORO_API int luaopen_ucoro_core(lua_State *L);

/* Yields the top nresults values of L from C code running on a ucoro
** stack (a ucoro coroutine, or a function under ucoro.call or pushed by
** lua_ucoro_pushcfunction).  Returns when the coroutine is resumed, with
** the resume values pushed; the result is their number.  Raises a Lua
** error where no such yield is possible, and when nresults is negative or
** more than the values of the calling C function.  L must be the thread
** running that function (as for lua_yield). */
LUA_UCORO_API int lua_ucoro_yield(lua_State *L, int nresults);

/* Pushes a function that calls f on a native stack (as ucoro.call does),
** so that f, and any C it calls, may use lua_ucoro_yield.  Inside a ucoro
** coroutine it simply calls f.  Works whether or not ucoro.core was
** opened in L.  Raises a Lua error when f is NULL. */
LUA_UCORO_API void lua_ucoro_pushcfunction(lua_State *L, lua_CFunction f);

#endif
