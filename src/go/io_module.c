/*
** io_module.c: registers ucoro.go's I/O (io_*.c) in the module table;
** lua/ucoro/go/io.lua arranges them as go.tcp, go.pipe, go.fs, go.dns, go.udp,
** go.process, go.signal.
*/
#include <signal.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

/* The metatable `name` of a userdata with methods (their upvalue: the
** scheduler, which must be at the stack top), __gc, and __close when
** given; leaves the methods table on the stack. */
void io_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                  lua_CFunction gc, lua_CFunction close) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, methods, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -3, "__gc");
  if (close != NULL) {
    lua_pushcfunction(L, close);
    lua_setfield(L, -3, "__close");
  }
  lua_remove(L, -2);
}

static void add(lua_State *L, int m, const luaL_Reg *fns) {
  lua_pushvalue(L, m);
  lua_pushvalue(L, -2);  /* the scheduler: each function's upvalue */
  luaL_setfuncs(L, fns, 1);
  lua_pop(L, 1);
}

/* A write to a pipe or socket whose reader is gone raises SIGPIPE, whose
** default action ends the process; libuv writes with write(2), which has
** no per-call way out.  Ignored, the write fails with EPIPE and the task
** gets nil, "EPIPE: broken pipe", as node and luvit do.  A disposition
** the host chose (a handler, or ignoring it already) is left alone;
** libuv resets signals to their defaults in the children it spawns. */
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
      !(sa.sa_flags & SA_SIGINFO)) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
}

void go_io_open(lua_State *L, int m) {
  ignore_sigpipe();
  add(L, m, go_io_stream_functions);
  add(L, m, go_io_fs_functions);
  add(L, m, go_io_dns_functions);
  add(L, m, go_io_udp_functions);
  add(L, m, go_io_process_functions);
  go_io_stream_open(L);
  lua_setfield(L, m, "stream_methods");
  go_io_fs_open(L);
  go_io_udp_open(L);
  go_io_process_open(L);
}
