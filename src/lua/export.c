/*
** export.c: lua_ucoro_api.h, the binding's C API for other C modules
** (resume a thread on a native stack, park the running one): what
** ucoro.resume and ucoro.yield do, without a Lua call, a pcall or a
** boolean to push.  Same steps as module.c's auxresume and co_yield.
*/
#include "lauxlib.h"

#include "lua_ucoro.h"
#include "lua_ucoro_api.h"
#include "native.h"

/* The API of one Lua state: a userdata in its registry (for the state's
** life: never replaced), holding the state's config. */
typedef struct export_api {
  lua_ucoro_api pub;
  native_config *config;
} export_api;

/* The results of co (or its error object) onto L; then the handles
** table, at index handles of L below them (0: none), removed. */
static int move_results(lua_State *L, lua_State *co, int handles, int status,
                        int *nres, int n) {
  if (status != LUA_OK && status != LUA_YIELD) n = 1;  /* the error */
  if (UCO_UNLIKELY(n != 0 && !lua_checkstack(L, n))) {  /* (a park, an
                                                         ** end: none) */
    lua_pop(co, n);
    if (handles != 0) lua_remove(L, handles);
    lua_pushliteral(L, "too many results to resume");
    *nres = 1;
    return LUA_ERRRUN;
  }
  if (n != 0) lua_xmove(co, L, n);
  if (handles != 0) lua_remove(L, handles);
  *nres = n;
  return status;
}

/* co (run r, on the caller's C stack) parked for the first time: its run
** lasts (as module.c's first_park), and the hint names it. */
static UCO_NOINLINE int first_park(lua_State *L, lua_State *co, native *r,
                                   int handles, int status, int *nres,
                                   void **hint) {
  int n = r->nvalues;
  if (handles == 0) {
    native_push_handles(L);
    handles = lua_gettop(L);
  }
  if ((r = native_keep(L, handles, co, r)) == NULL) {  /* co closed */
    lua_remove(L, handles);  /* the error on L */
    *nres = 1;
    return LUA_ERRMEM;
  }
  if (hint != NULL) *hint = r;
  status = move_results(L, co, handles, status, nres, n);
  native_account(L);
  return status;
}

static int error_on(lua_State *L, int narg, const char *msg, int *nres) {
  lua_pop(L, narg);
  lua_pushstring(L, msg);
  *nres = 1;
  return LUA_ERRRUN;
}

/* Every case but a parked co with its hint. */
static UCO_NOINLINE int resume_slow(const lua_ucoro_api *api, lua_State *L,
                                    lua_State *co, int narg, int *nres,
                                    void **hint) {
  native_config *c = ((const export_api *)api)->config;
  int frameless = co != L && native_frameless(co);
  int handles, status, n;
  native temp, *r;
  *nres = 0;
  if (!lua_checkstack(L, 3))  /* (a last slot for the message) */
    return error_on(L, narg, "stack overflow", nres);
  if (frameless && !c->sized && !native_on_lean_stack()) {
    /* fresh, or yielded the stock way, and no run of its own: a run on
    ** this C stack for one resume, no look-up */
    if (!native_room(co, NULL, narg))
      return error_on(L, narg, "too many arguments to resume", nres);
    native_init(&temp, co, c, c->stack_size, c->mode);
    status = native_resume_with(L, co, &temp, narg, 1);
    if (UCO_UNLIKELY(temp.parked))
      return first_park(L, co, &temp, 0, status, nres, hint);
    return move_results(L, co, 0, status, nres, temp.nvalues);
  }
  native_push_handles(L);
  lua_insert(L, -(narg + 1));
  handles = lua_gettop(L) - narg;
  r = frameless && !c->sized ? NULL : native_find(L, handles, co);
  if (!native_room(co, r, narg)) {
    lua_remove(L, handles);
    return error_on(L, narg, "too many arguments to resume", nres);
  }
  if (frameless || native_is_parked(r)) {
    if (r == NULL) {  /* on a stack that may be copied away meanwhile */
      r = native_new(L, handles, co, c, c->stack_size, c->mode);
      lua_pop(L, 1);  /* (kept by the handles table, as co lives) */
    }
    status = native_resume(L, co, r, narg);
    n = r->nvalues;
    if (hint != NULL && r->armed) *hint = r;
    if (UCO_UNLIKELY(r->parked && !r->armed))
      return first_park(L, co, r, handles, status, nres, hint);
  } else {  /* not resumable: stock Lua says why */
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &n);
  }
  return move_results(L, co, handles, status, nres, n);
}

/* The common case: co parked, its run (one per thread, kept by the
** handles table while co lives) known from the hint.  Its values go
** straight to L. */
static int api_resume(const lua_ucoro_api *api, lua_State *L, lua_State *co,
                      int narg, int *nres, void **hint) {
  native *r;
  int status, n;
  if (hint == NULL || (r = (native *)*hint) == NULL || r->L1 != co ||
      !r->armed || !r->parked || !native_room(co, r, narg))
    return resume_slow(api, L, co, narg, nres, hint);
  status = native_resume_with(L, co, r, narg, 1);
  n = status == LUA_OK || status == LUA_YIELD ? r->nvalues : 1;
  if (UCO_UNLIKELY(n != 0 && !lua_checkstack(L, n))) {
    lua_pop(co, n);
    lua_pushliteral(L, "too many results to resume");
    *nres = 1;
    return LUA_ERRRUN;
  }
  if (n != 0) lua_xmove(co, L, n);
  *nres = n;
  return status;
}

static int api_park(lua_State *L, int nvalues) {
  native *r = native_running(L);
  const char *refused;
  void *in;
  if (r == NULL) {
    lua_pushliteral(L, "attempt to yield across a C-call boundary");
    return -1;
  }
  refused = native_park_refused(L, r);
  if (refused != NULL) {
    lua_pushstring(L, refused);
    return -1;
  }
  r->nvalues = nvalues;
  r->parked = NATIVE_PARKED;
  if (UCO_UNLIKELY(uco_fast_yield(r->stack, &in) != UCORO_OK)) {
    /* a lean stack could not keep L's frames: once more after a full
    ** collection (as native_park_after_gc, without raising) */
    r->parked = 0;
    if (lua_gc(L, LUA_GCISRUNNING) != 1) goto nomem;
    lua_gc(L, LUA_GCCOLLECT);
    r = (native *)ucoro_running_user(native_main);  /* kept meanwhile? */
    r->parked = NATIVE_PARKED;
    if (ucoro_yield(NULL, &in) != UCORO_OK) {
      r->parked = 0;
      goto nomem;
    }
  }
  r = (native *)in;
  r->parked = 0;
  return r->nvalues;
nomem:
  lua_pushliteral(L, "not enough memory");
  return -1;
}

void lua_ucoro_export(lua_State *L) {
  export_api *a;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY) != LUA_TNIL) {
    lua_pop(L, 1);  /* opened before: its users may hold it */
    return;
  }
  lua_pop(L, 1);
  a = (export_api *)lua_newuserdatauv(L, sizeof *a, 0);
  a->pub.version = LUA_UCORO_API_VERSION;
  a->pub.resume = api_resume;
  a->pub.park = api_park;
  a->config = native_config_of(L);  /* (in the registry too) */
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY);
}
