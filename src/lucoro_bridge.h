/*
** lucoro_bridge.h: ucoro.call and the host C API (lua_ucoro.h).
*/
#ifndef LUCORO_BRIDGE_H
#define LUCORO_BRIDGE_H

#include "lua.h"

/* Adds call to the module table on top of the stack. */
void lucoro_bridge_open(lua_State *L);

/* The run of ucoro.call's helper thread L while the bridge closes the
** function's pending to-be-closed variables (its code then runs for the
** thread that called ucoro.call, run->outer), else NULL. */
struct lucoro_run *lucoro_bridge_closing(lua_State *L);

#endif
