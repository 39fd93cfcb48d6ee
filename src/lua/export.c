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

/* The results of co (or its error object) onto L, below which the
** handles table sits at index handles (removed). */
static int move_results(lua_State *L, lua_State *co, int handles, int status,
                        int *nres, int n) {
  if (status != LUA_OK && status != LUA_YIELD) n = 1;  /* the error */
  if (!lua_checkstack(L, n)) {
    lua_pop(co, n);
    lua_remove(L, handles);
    lua_pushliteral(L, "too many results to resume");
    *nres = 1;
    return LUA_ERRRUN;
  }
  if (n != 0) lua_xmove(co, L, n);
  lua_remove(L, handles);
  *nres = n;
  return status;
}

static int resume_slow(lua_State *L, lua_State *co, int narg, int *nres,
                       void **hint);

/* The common case: co parked, its run (one per thread, kept by the
** handles table while co lives) known from the hint.  Its values go
** straight to L. */
UCO_INLINE int resume_parked(lua_State *L, lua_State *co, native *r,
                             int narg, int *nres) {
  int status, n;
  status = native_resume(L, co, r, narg);
  n = status == LUA_OK || status == LUA_YIELD ? r->nvalues : 1;
  if (UCO_UNLIKELY(!lua_checkstack(L, n))) {
    lua_pop(co, n);
    lua_pushliteral(L, "too many results to resume");
    *nres = 1;
    return LUA_ERRRUN;
  }
  if (n != 0) lua_xmove(co, L, n);
  *nres = n;
  return status;
}

static int api_resume(lua_State *L, lua_State *co, int narg, int *nres,
                      void **hint) {
  native *r;
  if (hint != NULL && (r = (native *)*hint) != NULL && r->L1 == co &&
      r->armed && r->parked && native_room(co, r, narg))
    return resume_parked(L, co, r, narg, nres);
  return resume_slow(L, co, narg, nres, hint);
}

static UCO_NOINLINE int resume_slow(lua_State *L, lua_State *co, int narg,
                                    int *nres, void **hint) {
  int frameless = co != L && native_frameless(co);
  int handles, status, n;
  native_config *c = NULL;
  native *r;
  *nres = 0;
  if (!lua_checkstack(L, 3)) {  /* (a last slot for the message) */
    lua_pop(L, narg);
    lua_pushliteral(L, "stack overflow");
    *nres = 1;
    return LUA_ERRRUN;
  }
  native_push_handles(L);
  lua_insert(L, -(narg + 1));
  handles = lua_gettop(L) - narg;
  if (frameless) c = native_config_of(L);
  r = frameless && !c->sized ? NULL : native_find(L, handles, co);
  if (!native_room(co, r, narg)) {
    lua_pop(L, narg);
    lua_remove(L, handles);
    lua_pushliteral(L, "too many arguments to resume");
    *nres = 1;
    return LUA_ERRRUN;
  }
  if (frameless || native_is_parked(r)) {
    native temp;
    if (r == NULL) {  /* most never park: no userdata for them... */
      if (!native_on_lean_stack()) {
        native_init(&temp, co, c, c->stack_size, c->mode);
        r = &temp;
      } else {  /* ...unless this stack may be copied away meanwhile */
        r = native_new(L, handles, co, c, c->stack_size, c->mode);
        lua_pop(L, 1);  /* (kept by the handles table, as co lives) */
      }
    }
    status = native_resume(L, co, r, narg);
    n = r->nvalues;
    if (hint != NULL && r->armed) *hint = r;
    if (UCO_UNLIKELY(r->parked && !r->armed)) {  /* its first park */
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
  } else {  /* not resumable: stock Lua says why */
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &n);
  }
  return move_results(L, co, handles, status, nres, n);
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
  if (UCO_UNLIKELY(ucoro_yield(NULL, &in) != UCORO_OK)) {
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

static const lua_ucoro_api api = {LUA_UCORO_API_VERSION, api_resume,
                                  api_park};

void lua_ucoro_export(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&api);
  lua_setfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY);
}
