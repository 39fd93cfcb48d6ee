/*
** bridge.h: ucoro.call, for coroutines that ucoro did not create.
*/
#ifndef UCORO_LUA_BRIDGE_H
#define UCORO_LUA_BRIDGE_H

#include "lua.h"

/* Adds call to the module table on top of the stack. */
void bridge_open(lua_State *L);

/* Pushes a function that calls f on a native stack, as ucoro.call does
** (lua_ucoro_pushcfunction). */
void bridge_push_cfunction(lua_State *L, lua_CFunction f);

/* The run of ucoro.call's helper thread L while the bridge closes the
** function's pending to-be-closed variables (its code then runs for the
** thread that called ucoro.call, run->outer), else NULL. */
struct native *bridge_closing(lua_State *L);

#endif
