/*
** bridge.c: ucoro.call(f, ...), for coroutines that ucoro did not
** create (stock ones, or threads a C host drives with lua_resume).
**
** f runs on a helper thread with a native stack of its own.  When f yields
** (at any C depth), the helper parks and ucoro.call, back on the caller's
** C stack, relays the values with lua_yieldk; the continuation relays the
** resume values the other way.  The caller's thread is never touched from
** the native stack, and no error ever jumps between stacks.
**
** ucoro.call is a small Lua function around the C bridge: its to-be-closed
** guard, in a Lua frame below the bridge, closes f's pending variables
** when the caller is closed while suspended inside f; and it leaves the
** bridge's own frame free to hold exactly the yielded values (C schedulers
** read them from index 1).
*/
#include "bridge.h"

#include "lauxlib.h"
#include "compat.h"

#include "native.h"
#include "check_word.h"

#define GUARD_MT "ucoro.call"

/* One ucoro.call in progress.  Uservalues: 1 the helper thread, 2 its run
** (so that the run stays valid while the guard is).  The calls table
** (weak keys: caller -> guard) keeps the guard as long as its caller,
** whose suspended bridge frame has only a raw pointer to it (the
** continuation's context): the local that holds it could be changed by
** debug.setlocal.  No finalizer: a helper dropped parked (with its
** caller) has its stack dropped by its own run's finalizer. */
typedef struct guard {
  native *run;  /* the helper's run; NULL once released */
  uint64_t check;  /* UCORO_CHECK_WORD (check_word.h) */
} guard;

static const char wrappers_key = 'w', calls_key = 'c';

/* The run whose helper release() is closing, while it does. */
static UCO_TLS native *closing;

native *bridge_closing(lua_State *L) {
  return closing != NULL && closing->L1 == L ? closing : NULL;
}

static int guard_new(lua_State *L) {
  guard *g = (guard *)lua_newuserdatauv(L, sizeof(guard), 2);
  g->run = NULL;
  g->check = UCORO_CHECK_WORD(g);
  luaL_setmetatable(L, GUARD_MT);
  return 1;
}

/* Drops the helper's parked stack, and runs f's pending to-be-closed
** variables (raising a __close error, as stock).
** They are pending while f is suspended, and after f raised an error:
** then, as in a function called directly, they close when the caller's
** frames unwind (or its coroutine is closed) with that error, which goes
** on unless a __close raises another.  (A __close that raises f's very
** error again is taken for one that raised nothing.) */
static int release(lua_State *L, guard *g) {
  native *r = g->run, *saved;
  lua_State *helper;
  int status, erred, parked;
  if (r == NULL) return 0;
  g->run = NULL;
  helper = r->L1;
  status = lua_status(helper);
  erred = status != LUA_OK && status != LUA_YIELD;
  parked = native_is_parked(r);
  native_drop(r);
  if (!parked && status == LUA_OK) return 0;  /* nothing pending */
  luaL_checkstack(L, 2, NULL);
  if (erred && lua_checkstack(helper, 1)) {  /* f's error, to compare */
    lua_pushvalue(helper, -1);
    lua_xmove(helper, L, 1);
  } else {
    erred = 0;
  }
  saved = closing;
  closing = r;  /* f's __close code runs for L: ucoro.running() says so */
  status = compat_closethread(helper, L);
  closing = saved;
#if COMPAT_CLOSE_RUNNING
  if (r->close_outer) return compat_closethread(L, L);  /* f closed L */
#endif
  if (status == LUA_OK) return 0;
  lua_xmove(helper, L, 1);
  if (erred && lua_rawequal(L, -1, -2)) return 0;
  return lua_error(L);
}

/* The call ends (on its caller L): the calls table lets the guard go. */
static int guard_close(lua_State *L) {
  guard *g = UCORO_TO(L, 1, guard);
  if (g == NULL) return 0;  /* another userdata, given our metatable */
  luaL_checkstack(L, 3, NULL);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &calls_key);
  lua_pushthread(L);
  if (lua_rawget(L, -2) == LUA_TUSERDATA && lua_touserdata(L, -1) == g) {
    lua_pushthread(L);
    lua_pushnil(L);
    lua_rawset(L, -4);
  }
  lua_settop(L, 2);
  return release(L, g);
}

static int bridge_continue(lua_State *L, int status, lua_KContext ctx);

/* After the helper ran: return f's results, relay its yield, or raise its
** error.  The bridge's frame is empty (its arguments went to the helper),
** so that it holds exactly the values it returns or yields. */
/* The helper parked for the first time: its run lasts, and is charged to
** the collector once the values are moved. */
static UCO_NOINLINE int first_park(lua_State *L, guard *g) {
  lua_State *helper = g->run->L1;
  int n = g->run->nvalues;
  native_push_handles(L);
  if (native_keep(L, -1, helper, g->run) == NULL) return lua_error(L);
  lua_pop(L, 1);
  if (n >= LUA_MINSTACK && !lua_checkstack(L, n)) {
    lua_pop(helper, n);
    return luaL_error(L, "too many results to return");
  }
  lua_xmove(helper, L, n);
  native_account(L);
  return lua_yieldk(L, n, (lua_KContext)g, bridge_continue);
}

static int step(lua_State *L, guard *g, int status) {
  lua_State *helper = g->run->L1;
  int n = g->run->nvalues;
  if (UCO_UNLIKELY(g->run->parked && !g->run->armed))
    return first_park(L, g);  /* (status is LUA_YIELD) */
  if (status == LUA_OK || status == LUA_YIELD) {
    /* the emptied frame keeps the LUA_MINSTACK slots of its call */
    if (n >= LUA_MINSTACK && !lua_checkstack(L, n)) {
      lua_pop(helper, n);
      return luaL_error(L, "too many results to return");
    }
#if COMPAT_CLOSE_RUNNING
    if (status == LUA_OK && g->run->close_outer) {  /* f closed L */
      lua_pop(helper, n);
      return compat_closethread(L, L);
    }
#endif
    if (n != 0) lua_xmove(helper, L, n);
    if (status == LUA_OK) return n;
    return lua_yieldk(L, n, (lua_KContext)g, bridge_continue);
  }
  status = lua_status(helper);
  /* f erred: the helper keeps its error and its pending variables (for
  ** release), and L raises the error, its message handler running first */
  if (status != LUA_OK && status != LUA_YIELD && lua_checkstack(helper, 1))
    lua_pushvalue(helper, -1);
  lua_xmove(helper, L, 1);
  return lua_error(L);
}

/* bridge_continue's every case but the round trip. */
static UCO_NOINLINE int continue_slow(lua_State *L, guard *g, int narg) {
  if (g->run == NULL || !native_resumable(L, g->run->L1, g->run))
    return luaL_error(L, "cannot resume dead coroutine");
  if (!native_room(g->run->L1, g->run, narg))
    return luaL_error(L, "too many arguments to resume");
  return step(L, g, native_resume(L, g->run->L1, g->run, narg));
}

/* After the round trip's resume, any other outcome than a park with a
** few values.  A resume that did not switch (res not UCORO_OK) left
** r->nvalues as it was set, the count of arguments still on the helper;
** one that did needs no count. */
static UCO_NOINLINE int continue_stopped(lua_State *L, guard *g, native *r,
                                         ucoro_result res) {
  int narg = res != UCORO_OK ? r->nvalues : 0;
  return step(L, g, native_stopped(L, r->L1, r, narg, res));
}

/* The relay's round trip (f parked by ucoro.yield, a few values each way)
** takes one test before the resume and one after; its frame holds nothing
** else.  Only L, r and ctx live across the switch, the rest is read back
** from r (fewer registers to save). */
static int bridge_continue(lua_State *L, int status, lua_KContext ctx) {
  guard *g = (guard *)ctx;  /* alive: the calls table holds it for L */
  native *r = g->run;
  int narg = lua_gettop(L);
  (void)status;
  if (UCO_LIKELY(r != NULL && native_fast_parked(r) &&
                 narg < LUA_MINSTACK)) {
    ucoro_result res;
    r->from = L;
    r->nvalues = narg;
    if (narg != 0) lua_xmove(L, r->L1, narg);
    res = uco_fast_resume_yielded(r->stack, r);  /* it waits for r */
    if (UCO_LIKELY(res == UCORO_OK && r->parked &&
                   r->nvalues < LUA_MINSTACK)) {
      if (r->nvalues != 0) lua_xmove(r->L1, L, r->nvalues);
      return lua_yieldk(L, r->nvalues, ctx, bridge_continue);
    }
    return continue_stopped(L, g, r, res);
  }
  return continue_slow(L, g, narg);
}

/* After f, called directly (and perhaps resumed after a stock yield):
** its results, above the guard. */
static int called_directly(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L) - 1;
}

/* bridge(guard, f, ...): runs f(...) on a helper thread's native stack. */
static int bridge(lua_State *L) {
  guard *g = UCORO_TO(L, 1, guard);
  int narg = lua_gettop(L) - 2;
  lua_State *helper;
  native_config *c;
  native *r;
  if (g == NULL) return luaL_typeerror(L, 1, GUARD_MT);
  if (narg < 0) {  /* ucoro.call(): as stock pcall(), where it was called */
    luaL_where(L, 2);
    lua_pushliteral(L, "bad argument #1 to 'call' (value expected)");
    lua_concat(L, 2);
    return lua_error(L);
  }
  if (native_running(L) != NULL) {  /* already on a native stack */
    lua_callk(L, narg, LUA_MULTRET, 0, called_directly);
    return called_directly(L, LUA_OK, 0);
  }
  helper = lua_newthread(L);
  if (!lua_checkstack(helper, narg + 1))
    return luaL_error(L, "too many arguments to call");
  lua_setiuservalue(L, 1, 1);
  native_push_handles(L);
  c = native_config_of(L);
  r = native_new(L, -1, helper, c, c->stack_size, c->mode);
  lua_setiuservalue(L, 1, 2);
  lua_pop(L, 1);
  lua_pushthread(L);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &calls_key);
  lua_rotate(L, -2, 1);  /* calls, L */
  lua_pushvalue(L, 1);
  lua_rawset(L, -3);     /* calls[L] = the guard */
  lua_pop(L, 1);
  r->outer = L;
  r->outer_yields = lua_isyieldable(L);
  g->run = r;
  lua_rotate(L, 2, -1);  /* f on top of its arguments... */
  lua_xmove(L, helper, 1);  /* ...onto the helper */
  lua_rotate(L, 1, -1);  /* the guard on top of the arguments */
  lua_pop(L, 1);  /* the frame: only the arguments, which go next */
  return step(L, g, native_resume(L, helper, r, narg));
}

static const char wrapper_source[] =
  "local bridge, guard = ...\n"
  "local function call(...)\n"
  "  local g <close> = guard()\n"
  "  return bridge(g, ...)\n"
  "end\n"
  "local function wrap(f)\n"
  "  return function(...)\n"
  "    local g <close> = guard()\n"
  "    return bridge(g, f, ...)\n"
  "  end\n"
  "end\n"
  "return call, wrap\n";

/* Pushes the wrapper function `name` ("call" or "wrap"), made once per
** state. */
static void push_wrapper(lua_State *L, const char *name) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &wrappers_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    if (luaL_newmetatable(L, GUARD_MT)) {
      lua_pushcfunction(L, guard_close);
      lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    lua_newtable(L);  /* calls: caller -> guard, weak keys */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &calls_key);
    lua_createtable(L, 0, 2);
    if (luaL_loadbuffer(L, wrapper_source, sizeof wrapper_source - 1,
                        "=ucoro.call") != LUA_OK)
      lua_error(L);
    lua_pushcfunction(L, bridge);
    lua_pushcfunction(L, guard_new);
    lua_call(L, 2, 2);
    lua_setfield(L, -3, "wrap");
    lua_setfield(L, -2, "call");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &wrappers_key);
  }
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

void bridge_open(lua_State *L) {
  push_wrapper(L, "call");
  lua_setfield(L, -2, "call");
}

void bridge_push_cfunction(lua_State *L, lua_CFunction f) {
  push_wrapper(L, "wrap");
  lua_pushcfunction(L, f);
  lua_call(L, 1, 1);
}
