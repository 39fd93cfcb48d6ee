/*
** module.c: the module ucoro.go.core (the facade is lua/ucoro/go.lua).
** One scheduler per opening, on the loop luv uses in this Lua state.
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"
#include "io.h"

/* luv's per-state context, as luv.h (lua-luv-dev) declares it: read from
** the registry, so this module need not link luv. */
typedef struct {
  uv_loop_t *loop;
  lua_State *L;
  void *cb_pcall, *thrd_pcall, *thrd_cpcall;
  int mode;  /* the mode uv.run runs the loop in; -1 when not running */
  void *extra;
} luv_context;

#if defined(__GNUC__)
#define GO_API __attribute__((visibility("default")))
#else
#define GO_API
#endif

GO_API int luaopen_ucoro_go_core(lua_State *L);

static void on_handle_closed(uv_handle_t *h) { free(h); }

/* Closes one of the scheduler's handles (freed by its close callback). */
static void close_handle(uv_handle_t *h) {
  if (h == NULL || uv_is_closing(h)) return;
  h->data = NULL;
  uv_close(h, on_handle_closed);
}

/* Collected only at lua_close while attached (the registry holds it
** then; go.run holds it as an upvalue): the loop outlives it, and luv's
** own finalizer, which runs later, closes every handle left in the loop
** as one of luv's (its data a luv handle): close ours first. */
static int sched_gc(lua_State *L) {
  go_sched *S = (go_sched *)go_to_block(L, 1, sizeof(go_sched),
                                         offsetof(go_sched, check_word));
  if (S == NULL) return 0;  /* another userdata, given our metatable */
  close_handle((uv_handle_t *)S->prepare);
  close_handle((uv_handle_t *)S->check);
  close_handle((uv_handle_t *)S->idle);
  close_handle((uv_handle_t *)S->timer);
  S->prepare = NULL; S->check = NULL; S->idle = NULL; S->timer = NULL;
  go_capi_close(S);
  go_tasks_unregister(L, S);
  S->in_uv = 0;  /* a late wake-up (a pool request ending) only queues */
  S->attached = 0;
  S->running = 0;  /* (go.spawn from a later finalizer: refused) */
  S->gone = 1;
  free(S->heap);
  S->heap = NULL;
  S->nheap = S->capheap = 0;
  return 0;
}

static int cancelled_tostring(lua_State *L) {
  lua_getfield(L, 1, "reason");
  if (lua_isnil(L, -1)) lua_pushliteral(L, "cancelled");
  else lua_pushfstring(L, "cancelled: %s", luaL_tolstring(L, -1, NULL));
  return 1;
}

static int require(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  return lua_gettop(L);
}

static int ref_field(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

GO_API int luaopen_ucoro_go_core(lua_State *L) {
  go_sched *S;
  luv_context *ctx;
  int ucoro;
  luaL_checkversion(L);
  ucoro = require(L, "ucoro");
  /* luv 1.44 frees its loop with its module table yet keeps using it on
  ** a later require: keep the first module (the one whose _loop holds
  ** the loop) for the life of the state; a later load of luv (after
  ** package.loaded was cleared) has no _loop and must not replace it. */
  require(L, "luv");
  if (lua_getfield(L, LUA_REGISTRYINDEX, "ucoro.go: luv") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: luv");
  } else {
    lua_pop(L, 2);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "luv_context");
  ctx = (luv_context *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (ctx == NULL || ctx->loop == NULL)
    return luaL_error(L, "ucoro.go: luv's loop not found");
  lua_getfield(L, LUA_REGISTRYINDEX, "ucoro.go: luv");
  go_luv_walk_install(L, lua_gettop(L), ctx->loop);
  lua_pop(L, 1);
  go_secret_init();
  S = (go_sched *)lua_newuserdatauv(L, sizeof *S, 0);
  memset(S, 0, sizeof *S);
  S->check_word = GO_CHECK_WORD(S);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, sched_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  S->loop = ctx->loop;
  S->luv_mode = &ctx->mode;
  S->rng = uv_hrtime() | 1;
  S->ref_resume = ref_field(L, ucoro, "resume");
  S->ref_yield = ref_field(L, ucoro, "yield");
  S->ref_create = ref_field(L, ucoro, "create");
  S->ref_close = ref_field(L, ucoro, "close");
  /* the key go.run sets without allocating (a memory error there would
  ** leave the scheduler running) */
  lua_pushboolean(L, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  lua_newtable(L);
  S->ref_anchors = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_createtable(L, 0, 2);  /* go.Cancelled */
  lua_pushcfunction(L, cancelled_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "go.Cancelled");
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -1);
  S->ref_cancelled_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  /* ..., ucoro, sched, Cancelled */
  {
    int sched = lua_gettop(L) - 1, m;
    lua_newtable(L);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "Cancelled");
    lua_remove(L, -2);
    m = lua_gettop(L);
    lua_pushvalue(L, m);
    lua_pushvalue(L, sched);
    luaL_setfuncs(L, go_sched_functions, 1);
    lua_pushvalue(L, sched);
    luaL_setfuncs(L, go_chan_functions, 1);
    lua_pushvalue(L, sched);
    luaL_setfuncs(L, go_scope_functions, 1);
    lua_pop(L, 1);
    lua_pushvalue(L, sched);
    go_task_open(L);
    go_chan_open(L);
    lua_setfield(L, m, "chan_methods");
    go_io_open(L, m);
    go_scope_open(L);
    lua_pop(L, 1);
  }
  lua_createtable(L, 1, 0);  /* go.default */
  lua_pushinteger(L, GO_OP_DEFAULT);
  lua_rawseti(L, -2, 1);
  lua_setfield(L, -2, "default");
  lua_pushliteral(L, "timeout");
  lua_setfield(L, -2, "TIMEOUT");
  lua_pushlightuserdata(L, (void *)go_capi);  /* ucoro_go.h */
  lua_setfield(L, -2, "capi");
  return 1;
}
