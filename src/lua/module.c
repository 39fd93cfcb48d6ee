/*
** module.c: the Lua binding ucoro.core: the coroutine library, with the
** results and messages of Lua 5.4's lcorolib.c, over native stacks
** (native.c) and the ucoro.call bridge (bridge.c).
*/
#include <stddef.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"
#include "compat.h"

#include "lua_ucoro.h"
#include "lua_ucoro_api.h"
#include "bridge.h"
#include "native.h"

#define HANDLES lua_upvalueindex(1)
#define CONFIG ((native_config *)lua_touserdata(L, lua_upvalueindex(2)))

static const char *const statname[] =
  {"running", "dead", "suspended", "normal"};
enum { COS_RUN, COS_DEAD, COS_YIELD, COS_NORM };

static lua_State *getco(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "thread");
  return co;
}

/* The coroutine L's code runs for: L, or inside ucoro.call the caller's
** (also while the bridge closes the function's variables). */
static lua_State *logical_thread(lua_State *L) {
  native *r = native_running(L);
  if (r == NULL) r = bridge_closing(L);
  return r != NULL && r->outer != NULL ? r->outer : L;
}

static int auxstatus(lua_State *L, lua_State *co, native *r) {
  if (L == co || co == logical_thread(L)) return COS_RUN;
  if (native_is_parked(r)) return COS_YIELD;
  switch (lua_status(co)) {  /* as stock lcorolib.c */
    case LUA_YIELD:
      return COS_YIELD;
    case LUA_OK: {
      lua_Debug ar;
      if (lua_getstack(co, 0, &ar)) return COS_NORM;
      return lua_gettop(co) == 0 ? COS_DEAD : COS_YIELD;
    }
    default:
      return COS_DEAD;
  }
}

/* auxresume's answer for a memory error: ucoro's own (no stack, or no
** memory as co first parks) leaves co's status alone, yet wrap raises it
** bare, as stock raises a memory error. */
#define AUX_ERRMEM (-2)

/* The results of a resume, moved to L, or -1 with the error on L. */
UCO_INLINE int take_results(lua_State *L, lua_State *co, int nres) {
  /* L's frame, its arguments moved out, has LUA_MINSTACK - 1 free */
  if (nres + 1 >= LUA_MINSTACK - 1 && !lua_checkstack(L, nres + 1)) {
    lua_pop(co, nres);
    lua_pushliteral(L, "too many results to resume");
    return -1;
  }
  if (nres != 0) lua_xmove(co, L, nres);
  return nres;
}

/* What a resume that stopped with status leaves: its nres results moved
** to L (their count), or -1 (AUX_ERRMEM) with the error object on L. */
UCO_INLINE int resumed(lua_State *L, lua_State *co, int status, int nres) {
  if (status == LUA_OK || status == LUA_YIELD)
    return take_results(L, co, nres);
  lua_xmove(co, L, 1);
  return status == LUA_ERRMEM ? AUX_ERRMEM : -1;
}

/* co parked for the first time: its run lasts, and its stack is charged
** to the collector once the values are moved (a step may run finalizers,
** which may do anything with co). */
static UCO_NOINLINE int first_park(lua_State *L, lua_State *co, native *r,
                                   int nres) {
  if (native_keep(L, HANDLES, co, r) == NULL)
    return AUX_ERRMEM;  /* co closed, the error on L */
  nres = take_results(L, co, nres);
  native_account(L);
  return nres;
}

/* As lcorolib.c's auxresume: results on L, or -1 with the error on L
** (AUX_ERRMEM for a memory error).
** resumable: native_resumable(L, co, r), which the caller has at hand; c:
** the config, needed (and read) only for a thread with no frames. */
UCO_INLINE int auxresume(lua_State *L, lua_State *co, native *r,
                         native_config *c, int narg, int resumable) {
  int status, nres;
  if (!native_room(co, r, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (resumable) {
    native temp;
    if (r == NULL) {  /* most never park: no userdata for them... */
      if (!native_on_lean_stack()) {
        native_init(&temp, co, c, c->stack_size, c->mode);
        r = &temp;
      } else {  /* ...unless this stack may be copied away meanwhile */
        r = native_new(L, HANDLES, co, c, c->stack_size, c->mode);
        lua_pop(L, 1);  /* (kept by the handles table, as co lives) */
      }
    }
    status = native_resume(L, co, r, narg);
    nres = r->nvalues;
    if (UCO_UNLIKELY(r->parked && !r->armed))
      return first_park(L, co, r, nres);
  } else {  /* not resumable: stock Lua says why, touching nothing */
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &nres);
  }
  return resumed(L, co, status, nres);
}

/* A non-negative integer as a size_t: past SIZE_MAX (32-bit targets),
** SIZE_MAX, which no stack or limit can reach, instead of its low bits. */
static size_t to_size(lua_Integer n) {
#if LUA_MAXINTEGER > SIZE_MAX
  if (n > (lua_Integer)SIZE_MAX) return SIZE_MAX;
#endif
  return (size_t)n;
}

static size_t opt_stack_size(lua_State *L, int arg, size_t def) {
  lua_Integer n;
  if (lua_isnoneornil(L, arg)) return def;
  n = luaL_checkinteger(L, arg);
  luaL_argcheck(L, n > 0, arg, "stack size must be positive");
  return to_size(n);
}

static const char *const mode_names[] = {"auto", "own", "lean", NULL};

/* As stock coroutine.create; leaves the thread on top (and above it its
** run, when there is one).  The second argument, a stack size or a mode
** name, goes in a run of its own (wrap always makes one, for its
** upvalue). */
static native *create(lua_State *L, int with_run) {
  lua_State *NL;
  native_config *c = NULL;
  size_t stack_size = 0;
  ucoro_mode mode = UCORO_AUTO;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (with_run || (lua_gettop(L) >= 2 && !lua_isnoneornil(L, 2))) {
    c = CONFIG;
    stack_size = c->stack_size;
    mode = c->mode;
    if (lua_type(L, 2) == LUA_TSTRING && !lua_isnumber(L, 2))
      mode = (ucoro_mode)luaL_checkoption(L, 2, NULL, mode_names);
    else
      stack_size = opt_stack_size(L, 2, stack_size);
    if (!lua_isnoneornil(L, 2)) c->sized = 1;
    with_run = 1;
  }
  NL = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, NL, 1);
  return with_run ? native_new(L, HANDLES, NL, c, stack_size, mode) : NULL;
}

static int co_create(lua_State *L) {
  if (create(L, 0) != NULL) lua_pop(L, 1);
  return 1;
}

/* After round_trip's resume, any other outcome than a park with a few
** values: as auxresume.  A resume that did not switch (res not UCORO_OK)
** left r->nvalues as it set it, the count of arguments still on co; one
** that did needs no count. */
static UCO_NOINLINE int stopped(native *r, ucoro_result res) {
  lua_State *L = r->from, *co = r->L1;
  int narg = res != UCORO_OK ? r->nvalues : 0;
  return resumed(L, co, native_stopped(L, co, r, narg, res), r->nvalues);
}

/* What a round trip does with any other outcome (stopped, wrap_stopped);
** the resumer is r->from. */
typedef int (*other_outcome)(native *r, ucoro_result res);

/* What a round trip does with LUA_MINSTACK arguments or more (wrap_resume),
** before it changes anything but r->nvalues (which a resume sets). */
typedef int (*many_arguments)(lua_State *L, native *r, int narg);

/* The round trip, as auxresume: r parked by ucoro.yield on the core's fast
** path, on this OS thread (native_fast_parked), resumed with narg values:
** below LUA_MINSTACK, else `many`'s.  One test before the resume (the
** caller's, and the bound where there are values to move) and one after;
** the frame holds nothing else.  Inline, so that `other` and `many`,
** constants at each call, are direct calls. */
UCO_INLINE int round_trip(lua_State *L, native *r, int narg,
                          other_outcome other, many_arguments many) {
  ucoro_result res;
  r->nvalues = narg;  /* (many's resume sets it too) */
  if (UCO_LIKELY(narg != 0)) {
    if (UCO_UNLIKELY(narg >= LUA_MINSTACK)) return many(L, r, narg);
    lua_xmove(L, r->L1, narg);
  }
  r->from = L;
  res = uco_fast_resume_yielded(r->stack, r);  /* it waits for r */
  /* only r lives across the switch: the rest is read back from it, L too
  ** (r->from: only a resume of r->L1 sets it, and r->L1 was running), which
  ** costs less than keeping it on the stack.  The bound is tested only
  ** where there are values to move. */
  if (UCO_LIKELY(res == UCORO_OK && r->parked)) {
    if (r->nvalues == 0) return 0;
    if (UCO_LIKELY(r->nvalues < LUA_MINSTACK - 2)) {
      lua_xmove(r->L1, r->from, r->nvalues);
      return r->nvalues;
    }
  }
  return other(r, res);
}

/* Only a thread with frames can be parked, and only a sized one has a run
** before it parks: for the rest (fresh, or yielded the stock way) a
** look-up of its run would find nothing of use, and only they need the
** config. */
static int co_resume(lua_State *L) {
  lua_State *co = getco(L);
  int narg = lua_gettop(L) - 1;
  int frameless = co != L && native_frameless(co);
  native_config *c = frameless ? CONFIG : NULL;
  native *run = frameless && !c->sized ? NULL : native_find(L, HANDLES, co);
  int r;
  if (run != NULL && native_fast_parked(run) && narg < LUA_MINSTACK) {
    r = round_trip(L, run, narg, stopped, NULL);  /* (bound tested) */
    L = run->from;  /* read back: nothing need live across the switch */
  } else {
    r = auxresume(L, co, run, c, narg, frameless || native_is_parked(run));
  }
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

/* As stock auxwrap's error (n: auxresume's answer): an erred coroutine
** is closed, a position added to a string message. */
static int wrap_error(lua_State *L, lua_State *co, int n) {
  int stat = lua_status(co);
  if (stat != LUA_OK && stat != LUA_YIELD) {
    if (COMPAT_WRAP_RAISES_CLOSE_ERROR) {
      stat = native_closethread(L, co);
      lua_xmove(co, L, 1);
    } else {  /* the coroutine's own error goes on */
      native_closethread(L, co);
    }
  } else if (n == AUX_ERRMEM) {  /* ucoro's own: no stack, or no memory
                                    as co first parked (co closed) */
    stat = LUA_ERRMEM;
  }
  if ((stat != LUA_ERRMEM || !COMPAT_WRAP_ERRMEM_BARE) &&
      lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

/* auxwrap's every case but the round trip (also its many_arguments). */
static UCO_NOINLINE int wrap_resume(lua_State *L, native *r, int narg) {
  lua_State *co = r->L1;
  int n = auxresume(L, co, r, r->config, narg, native_resumable(L, co, r));
  return n < 0 ? wrap_error(L, co, n) : n;
}

/* After auxwrap's round trip: as stopped, with auxwrap's error. */
static UCO_NOINLINE int wrap_stopped(native *r, ucoro_result res) {
  lua_State *L = r->from;
  int n = stopped(r, res);
  return n < 0 ? wrap_error(L, r->L1, n) : n;
}

/* Upvalues: handles, config, the thread, its run's address, and its run
** (the thread's one run, see native_new: kept alive here, read through
** the light userdata, which costs less).  The round trip is round_trip's,
** its other outcomes wrap_stopped's. */
static int auxwrap(lua_State *L) {
  native *r = (native *)lua_touserdata(L, lua_upvalueindex(4));
  int narg = lua_gettop(L);
  if (UCO_LIKELY(native_fast_parked(r)))
    return round_trip(L, r, narg, wrap_stopped, wrap_resume);
  return wrap_resume(L, r, narg);
}

static int co_wrap(lua_State *L) {
  native *r = create(L, 1);
  lua_pushvalue(L, HANDLES);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_rotate(L, -4, 2);  /* handles, config, thread, run */
  lua_pushlightuserdata(L, r);
  lua_insert(L, -2);     /* ..., the run's address, run */
  lua_pushcclosure(L, auxwrap, 5);
  return 1;
}

/* co_yield's every case but a park that needs no ucoro.call filter. */
static UCO_NOINLINE int yield_slow(lua_State *L) {
  native *r = native_running(L);
  if (r == NULL)  /* not on its own native stack: a stock yield */
    return lua_yield(L, lua_gettop(L));
  native_tag(r->stack, L, r);  /* the next park takes the fast way */
  return native_park(L, r, lua_gettop(L), NATIVE_ROOMY);
}

static int co_yield(lua_State *L) {
  ucoro *stack = native_running_free(L);
  if (UCO_LIKELY(stack != NULL))
    return native_park_as(L, (native *)stack->user, lua_gettop(L),
                          NATIVE_ROOMY, 0);
  return yield_slow(L);
}

static int co_status(lua_State *L) {
  lua_State *co = getco(L);
  lua_pushstring(L, statname[auxstatus(L, co, native_find(L, HANDLES, co))]);
  return 1;
}

static int co_isyieldable(lua_State *L) {
  lua_State *co = lua_isnone(L, 1) ? L : getco(L);
  int on_stack;
  if (co == L) {  /* on its native stack: yieldable unless a yield is refused */
    native *r = native_running(L);
    if (r != NULL) {
      lua_pushboolean(L, native_park_refused(L, r) == NULL);
      return 1;
    }
    on_stack = 0;
  } else {
    native *r = native_find(L, HANDLES, co);
    /* one closed while parked keeps its dropped frames' count of
    ** non-yieldable calls (lua_resetthread does not reset it): dead, it
    ** is yieldable, as stock's dead ones are */
    on_stack = (r != NULL && r->stack != NULL) ||
             auxstatus(L, co, r) == COS_DEAD;
  }
  lua_pushboolean(L, on_stack || lua_isyieldable(co));
  return 1;
}

static int co_running(lua_State *L) {
  lua_State *co = logical_thread(L);
  int ismain;
  if (co == L) {
    ismain = lua_pushthread(L);
  } else {  /* inside ucoro.call: the caller, waiting in a C frame of the
               bridge, which has room to spare (checked all the same) */
    if (!lua_checkstack(co, 1)) return luaL_error(L, "stack overflow");
    ismain = lua_pushthread(co);
    lua_xmove(co, L, 1);
  }
  lua_pushboolean(L, ismain);
  return 2;
}

#if COMPAT_CLOSE_RUNNING
/* 5.5: the running coroutine closes itself (never returns: Lua jumps to
** its first error handler), not the main thread.  Inside ucoro.call, f's
** thread closes itself, then the bridge closes co.  Not a thread whose
** parked C frames were dropped (closed while parked, its __close handlers
** running now): its first error handler was on the stack dropped. */
static int close_running(lua_State *L, lua_State *co) {
  native *r = co == L ? native_find(L, HANDLES, co) : native_running(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  if (lua_tothread(L, -1) == co)
    return luaL_error(L, "cannot close main thread");
  lua_pop(L, 1);
  if (co != L && r == NULL) r = bridge_closing(L);
  if ((co != L && (r == NULL || r->outer != co)) || (r != NULL && r->dropped))
    return luaL_error(L, "cannot close a running coroutine");
  if (co != L) r->close_outer = 1;
  return compat_closethread(L, L);
}
#endif

static int co_close(lua_State *L) {
#if COMPAT_CLOSE_RUNNING
  lua_State *co = lua_isnone(L, 1) ? logical_thread(L) : getco(L);
#else
  lua_State *co = getco(L);
#endif
  native *r = native_find(L, HANDLES, co);
  int status = auxstatus(L, co, r);
#if COMPAT_CLOSE_RUNNING
  if (status == COS_RUN) return close_running(L, co);
#endif
  if (status != COS_DEAD && status != COS_YIELD)
    return luaL_error(L, "cannot close a %s coroutine", statname[status]);
  if (r != NULL) native_drop(r);  /* parked: drop its C frames */
  status = native_closethread(L, co);  /* runs pending __close, as stock */
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

/* The size set is the size used (a small one raised to the minimum, all
** rounded to whole pages); one too large to map at all is kept as given,
** and resumes fail with "not enough memory". */
static int co_stacksize(lua_State *L) {
  native_config *c = CONFIG;
  size_t old = c->stack_size ? c->stack_size : ucoro_default_stack_size();
  if (!lua_isnoneornil(L, 1)) {
    size_t asked = opt_stack_size(L, 1, 0);
    size_t used = ucoro_round_stack_size(asked);
    c->stack_size = used != 0 ? used : asked;
  }
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}

/* Bytes of co's native stack touched so far (co: the running thread by
** default), or nil when it has none now. */
static int co_stackused(lua_State *L) {
  lua_State *co = lua_isnone(L, 1) ? L : getco(L);
  native *r = co == L ? native_running(L)
                          : native_find(L, HANDLES, co);
  if (r == NULL || r->stack == NULL)
    lua_pushnil(L);
  else
    lua_pushinteger(L, (lua_Integer)ucoro_stack_used(r->stack));
  return 1;
}

/* ucoro.mode(): the default mode; ucoro.mode(m): sets it, returning the
** old; ucoro.mode(co): the mode of co's native stack, or nil when it has
** none now. */
static int co_mode(lua_State *L) {
  native_config *c = CONFIG;
  if (lua_type(L, 1) == LUA_TTHREAD) {
    lua_State *co = lua_tothread(L, 1);
    native *r = co == L ? native_running(L)
                            : native_find(L, HANDLES, co);
    if (r == NULL || r->stack == NULL)
      lua_pushnil(L);
    else
      lua_pushstring(L, mode_names[ucoro_mode_of(r->stack)]);
    return 1;
  }
  lua_pushstring(L, mode_names[c->mode]);
  if (!lua_isnoneornil(L, 1))
    c->mode = (ucoro_mode)luaL_checkoption(L, 1, NULL, mode_names);
  return 1;
}

/* The number of own stacks past which "auto" makes lean coroutines, for
** the whole process; sets it when given, returning the old. */
static int co_ownlimit(lua_State *L) {
  size_t old = ucoro_own_limit();
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "limit must not be negative");
    ucoro_set_own_limit(to_size(n));
  }
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}

static const luaL_Reg functions[] = {
  {"create", co_create},
  {"resume", co_resume},
  {"running", co_running},
  {"status", co_status},
  {"wrap", co_wrap},
  {"yield", co_yield},
  {"isyieldable", co_isyieldable},
  {"close", co_close},
  {"stacksize", co_stacksize},
  {"stackused", co_stackused},
  {"mode", co_mode},
  {"ownlimit", co_ownlimit},
  {NULL, NULL}
};

/* Makes ucoro the coroutine library in place: the fields of the table
** package.loaded.coroutine (also the global coroutine) become ucoro's, so
** later look-ups find them.  They are closures of their own, so that an
** argument error names 'coroutine.resume' as stock does, not 'ucoro.resume'
** (Lua names a function by looking for it in package.loaded).  Upvalue:
** the module. */
static int co_install(lua_State *L) {
  static const char *const names[] = {"create", "resume", "running",
    "status", "wrap", "yield", "isyieldable", "close", NULL};
  int i;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "coroutine") != LUA_TTABLE) {
    lua_pop(L, 1);
    if (lua_getglobal(L, "coroutine") != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
    }
  }
  for (i = 0; names[i] != NULL; i++) {
    lua_getfield(L, lua_upvalueindex(1), names[i]);
    native_push_handles(L);
    native_push_config(L);
    lua_pushcclosure(L, lua_tocfunction(L, -3), 2);
    lua_setfield(L, -3, names[i]);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "coroutine");
  lua_setglobal(L, "coroutine");
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

LUA_UCORO_API int luaopen_ucoro_core(lua_State *L) {
  luaL_checkversion(L);
  lua_newtable(L);
  native_push_handles(L);
  native_push_config(L);
  luaL_setfuncs(L, functions, 2);
  bridge_open(L);  /* adds call */
  lua_ucoro_export(L);  /* lua_ucoro_api.h, for other C modules */
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, co_install, 1);
  lua_setfield(L, -2, "install");
  lua_pushstring(L, ucoro_backend());
  lua_setfield(L, -2, "backend");
  lua_pushliteral(L, "ucoro " UCORO_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
