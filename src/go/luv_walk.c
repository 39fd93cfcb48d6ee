/*
** luv_walk.c: luv's uv.walk, replaced by one that skips ucoro.go's
** handles.  luv's takes every handle in the loop for one of its own (its
** data a luv_handle_t) and asserts, or crashes, on ours; the loop is
** shared, so ours are there whenever go.run or go.attach is on, and
** while an I/O object is open.
*/
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"

/* The head of luv's luv_handle_t (lhandle.h, lua-luv-dev): the registry
** reference of the handle's userdata, which holds a pointer to the uv
** handle. */
typedef struct {
  int ref;
} luv_handle_head;

typedef struct {
  lua_State *L;
  int list, n;
} walk_state;

/* Collects h when it is luv's: its data's ref names, in the registry, a
** userdata that points to h (none of ours: ours have no such data). */
static void collect(uv_handle_t *h, void *arg) {
  walk_state *w = (walk_state *)arg;
  const luv_handle_head *d = (const luv_handle_head *)h->data;
  lua_State *L = w->L;
  if (d == NULL || d->ref <= 0 || d->ref >= 0x1000000) return;
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref) == LUA_TUSERDATA &&
      lua_rawlen(L, -1) >= sizeof(void *) &&
      *(void **)lua_touserdata(L, -1) == (void *)h)
    lua_rawseti(L, w->list, ++w->n);
  else
    lua_pop(L, 1);
}

/* uv.walk(f): f(handle) for each of luv's handles in the loop (upvalue
** 1: the loop), called after the walk, so f may close them; an error in
** f reaches the caller. */
static int luv_walk(lua_State *L) {
  uv_loop_t *loop = (uv_loop_t *)lua_touserdata(L, lua_upvalueindex(1));
  walk_state w;
  int i;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_newtable(L);
  w.L = L;
  w.list = 2;
  w.n = 0;
  luaL_checkstack(L, 4, NULL);
  uv_walk(loop, collect, &w);
  for (i = 1; i <= w.n; i++) {
    lua_pushvalue(L, 1);
    lua_rawgeti(L, 2, i);
    lua_call(L, 1, 0);
  }
  return 0;
}

void go_luv_walk_install(lua_State *L, int luv, uv_loop_t *loop) {
  lua_pushlightuserdata(L, loop);
  lua_pushcclosure(L, luv_walk, 1);
  lua_setfield(L, luv, "walk");
}
