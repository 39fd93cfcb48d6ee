/*
** lucoro_bridge.h: ucoro.call and the host C API (lua_ucoro.h).
*/
#ifndef LUCORO_BRIDGE_H
#define LUCORO_BRIDGE_H

#include "lua.h"

/* Adds call to the module table on top of the stack. */
void lucoro_bridge_open(lua_State *L);

/* Inside ucoro.call's function, running on thread L: pushes the thread
** that called ucoro.call. */
void lucoro_bridge_push_outer(lua_State *L);

#endif
