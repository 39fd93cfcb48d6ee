/*
** io_module.c: registers ucoro.go's I/O (io_*.c) in the module table;
** lua/ucoro/go/io.lua arranges them as go.tcp, go.pipe, go.fs, go.dns, go.udp,
** go.process, go.signal.
*/
#include "lua.h"
#include "lauxlib.h"

#include "io.h"

static void add(lua_State *L, int m, const luaL_Reg *fns) {
  lua_pushvalue(L, m);
  lua_pushvalue(L, -2);  /* the scheduler: each function's upvalue */
  luaL_setfuncs(L, fns, 1);
  lua_pop(L, 1);
}

void go_io_open(lua_State *L, int m) {
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
