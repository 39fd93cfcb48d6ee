/* The Lua API where releases differ, chosen at compile time: the binding
** builds against every release from Lua 5.4.0 to 5.5 through these names
** alone.  LUA_VERSION_RELEASE_NUM says 50400 in 5.4.0 to 5.4.3 and the
** release from 5.4.4 on, which is all the tests below need. */
#ifndef UCORO_LUA_COMPAT_H
#define UCORO_LUA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

/* The release as a number (50402 for 5.4.2), where the header's number
** says 50400 (5.4.0 to 5.4.3): a constant expression, not for #if. */
#define COMPAT_RELEASE_NUM                                            \
  (LUA_VERSION_RELEASE_NUM % 100 != 0                                 \
       ? LUA_VERSION_RELEASE_NUM                                      \
       : LUA_VERSION_NUM * 100 + (LUA_VERSION_RELEASE[0] - '0'))

/* wrap, when the coroutine dies by error, closes it; from 5.4.3 the
** close's error (a __close may raise another) is what wrap raises, before
** the coroutine's own; from 5.4.1 a memory error gets no position. */
#define COMPAT_WRAP_RAISES_CLOSE_ERROR (COMPAT_RELEASE_NUM >= 50403)
#define COMPAT_WRAP_ERRMEM_BARE (COMPAT_RELEASE_NUM >= 50401)

/* Closes thread co (runs its pending to-be-closed variables, resets it),
** as stock coroutine.close and wrap do in that release; from is the
** thread doing it, whose count of C calls co takes over from 5.4.6 on,
** so that a chain of closes ends in "C stack overflow".  5.4.5 (withdrawn)
** named it lua_resetthread(co, from); before, lua_resetthread(co) keeps
** co's own count; from 5.4.6 lua_resetthread(co) sets it to zero. */
#if LUA_VERSION_RELEASE_NUM >= 50406
#define compat_closethread(co, from) lua_closethread((co), (from))
#elif LUA_VERSION_RELEASE_NUM == 50405
#define compat_closethread(co, from) lua_resetthread((co), (from))
#else
#define compat_closethread(co, from) ((void)(from), lua_resetthread(co))
#endif

/* Does the C-call count of the thread closing another carry over to it
** (above)?  Before, ucoro bounds such recursion itself. */
#define COMPAT_CLOSE_COUNTS_CALLS (LUA_VERSION_RELEASE_NUM >= 50405)

/* 5.5's coroutine.close closes the running coroutine too (the default,
** with no argument): lua_closethread(L, L) runs its pending __close and
** ends it, returning through its lua_resume; the main thread cannot. */
#define COMPAT_CLOSE_RUNNING (LUA_VERSION_NUM >= 505)

/* A new state with an allocator: 5.5 also takes the seed of its string
** hashes (luaL_makeseed gives luaL_newstate's). */
#if LUA_VERSION_NUM >= 505
#define compat_newstate(f, ud) lua_newstate((f), (ud), luaL_makeseed(NULL))
#else
#define compat_newstate(f, ud) lua_newstate((f), (ud))
#endif

#endif
