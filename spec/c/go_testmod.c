/*
** go_testmod.c: C functions that block through ucoro_go.h, built only for
** spec/75-go_capi_spec.lua.  Each returns the code's name.
*/
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "ucoro_go.h"
#include "go/pool_job.h"

int luaopen_ucoro_go_testmod(lua_State *L);

static const char *const names[] = {"ok", "timeout", "cancelled", "notask",
                                    "nomem", "uverror"};
static ucoro_go_task *prepared;  /* the task of the last prepare() */

static const ucoro_go_api *api(lua_State *L) {
  const ucoro_go_api *a = ucoro_go_api_of(L);
  if (a == NULL) luaL_error(L, "ucoro_go_api_of: no API");
  return a;
}

static int code(lua_State *L, int c) {
  lua_pushstring(L, names[c]);
  return 1;
}

static int t_sleep(lua_State *L) {
  return code(L, api(L)->sleep(L, luaL_checknumber(L, 1)));
}

/* prepare() -> token (the task kept for wake) | nil */
static int t_prepare(lua_State *L) {
  const ucoro_go_api *a = api(L);
  prepared = a->current(L);
  if (prepared == NULL) return 0;
  lua_pushinteger(L, (lua_Integer)a->prepare(prepared));
  return 1;
}

/* wake(token): as a completion callback would */
static int t_wake(lua_State *L) {
  api(L)->wake(prepared, (unsigned)luaL_checkinteger(L, 1));
  return 0;
}

/* park([timeout]) -> code */
static int t_park(lua_State *L) {
  const ucoro_go_api *a = api(L);
  return code(L, a->park(L, a->current(L), luaL_optnumber(L, 1, -1)));
}

static int t_cancelled(lua_State *L) {
  return code(L, api(L)->cancelled(L));
}

/* wait_fd(fd, events, timeout) -> code */
static int t_wait_fd(lua_State *L) {
  return code(L, api(L)->wait_fd(L, (int)luaL_checkinteger(L, 1),
                                 (int)luaL_checkinteger(L, 2),
                                 luaL_optnumber(L, 3, -1)));
}

/* work(ms) -> code, result: a job on the thread pool.  Its data is not
** in this frame: a lean task's frames are copied away while it parks. */
static int t_work(lua_State *L) {
  pool_job *j = (pool_job *)lua_newuserdatauv(L, sizeof *j, 0);
  int c;
  memset(j, 0, sizeof *j);
  j->ms = (int)luaL_checkinteger(L, 1);
  c = api(L)->work(L, run_pool_job, j);
  code(L, c);
  lua_pushinteger(L, j->result);
  return 2;
}

static const luaL_Reg functions[] = {
  {"sleep", t_sleep}, {"prepare", t_prepare}, {"wake", t_wake},
  {"park", t_park}, {"cancelled", t_cancelled}, {"wait_fd", t_wait_fd},
  {"work", t_work}, {NULL, NULL}
};

int luaopen_ucoro_go_testmod(lua_State *L) {
  luaL_newlib(L, functions);
  return 1;
}
