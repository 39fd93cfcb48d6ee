/*
** lucoro.c: the Lua binding, ucoro.core.
**
** A Lua thread gets a native stack (a core coroutine) while its body runs,
** or while it is parked in ucoro.yield under C frames.  On that stack,
** lua_resume runs the thread exactly as stock Lua would; ucoro.yield just
** switches back to the resumer, leaving every C frame where it is.  A stock
** yield ends lua_resume as usual, and the stack goes back to the pool.
**
** Each thread that has had a native stack has a "run" userdata, found
** through a weak-keyed table (an upvalue of every function): the run dies
** with its thread, and its __gc drops a parked stack.
*/
#include <stddef.h>

#include "lua.h"
#include "lauxlib.h"

#include "ucoro.h"

#define RUN_MT "ucoro.run"

/* The native half of one Lua thread. */
typedef struct run {
  ucoro *native;      /* its stack while running or parked in C, else NULL */
  lua_State *L1;      /* the thread it belongs to (which owns this) */
  lua_State *from;    /* the resumer, while the thread runs */
  size_t stack_size;  /* for the next native stack (0: the default) */
  int nvalues;        /* values crossing the switch, either way */
  int status;         /* what lua_resume returned, once it has */
} run;

/* Per-state settings, shared by every function of the module. */
typedef struct config {
  size_t stack_size;  /* default for new coroutines (0: the core's) */
} config;

#define HANDLES lua_upvalueindex(1)
#define CONFIG lua_upvalueindex(2)

static const char *const statname[] =
  {"running", "dead", "suspended", "normal"};
enum { COS_RUN, COS_DEAD, COS_YIELD, COS_NORM };

static lua_State *getco(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "thread");
  return co;
}

/* The run of thread co, or NULL if it never had a native stack. */
static run *find_run(lua_State *L, lua_State *co) {
  run *r;
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  lua_rawget(L, HANDLES);
  r = (run *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

static run *new_run(lua_State *L, lua_State *co, size_t stack_size) {
  run *r = (run *)lua_newuserdatauv(L, sizeof(run), 0);
  r->native = NULL;
  r->L1 = co;
  r->from = NULL;
  r->stack_size = stack_size;
  r->nvalues = 0;
  r->status = LUA_OK;
  luaL_setmetatable(L, RUN_MT);
  lua_pushthread(co);
  lua_xmove(co, L, 1);
  lua_pushvalue(L, -2);
  lua_rawset(L, HANDLES);
  lua_pop(L, 1);
  return r;
}

static size_t default_stack_size(lua_State *L) {
  return ((config *)lua_touserdata(L, CONFIG))->stack_size;
}

/* Parked: suspended in ucoro.yield, with C frames on its native stack. */
static int is_parked(const run *r) {
  return r != NULL && r->native != NULL &&
         ucoro_status(r->native) == UCORO_SUSPENDED;
}

static int auxstatus(lua_State *L, lua_State *co, run *r) {
  if (L == co) return COS_RUN;
  if (is_parked(r)) return COS_YIELD;
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

/* The first frame of every native stack: the thread runs as under stock
** coroutine.resume, until it ends, errs, or yields the stock way. */
static void *native_main(ucoro *native, void *unused) {
  run *r = (run *)ucoro_userdata(native);
  (void)unused;
  r->status = lua_resume(r->L1, r->from, r->nvalues, &r->nvalues);
  return NULL;
}

/* Can lua_resume start or continue co with nothing on a C stack? */
static int resumable_from_lua(lua_State *co) {
  lua_Debug ar;
  return lua_status(co) == LUA_YIELD ||
         (lua_status(co) == LUA_OK && !lua_getstack(co, 0, &ar));
}

/* Moves narg arguments from L to co and runs co on its native stack.
** Returns lua_resume's status; the results (or error) are on co. */
static int native_resume(lua_State *L, lua_State *co, run *r, int narg) {
  ucoro_result res;
  lua_xmove(L, co, narg);
  r->from = L;
  r->nvalues = narg;
  if (r->native == NULL &&
      ucoro_create(&r->native, native_main, r, r->stack_size) != UCORO_OK) {
    lua_pop(co, narg);
    lua_pushliteral(co, "not enough memory");
    return LUA_ERRMEM;
  }
  res = ucoro_resume(r->native, NULL, NULL);
  if (res != UCORO_OK) {  /* another OS thread's */
    lua_pop(co, narg);
    lua_pushfstring(co, "cannot resume coroutine: %s", ucoro_strerror(res));
    return LUA_ERRRUN;
  }
  if (ucoro_status(r->native) == UCORO_SUSPENDED) return LUA_YIELD;
  ucoro_destroy(r->native);  /* lua_resume returned: the stack is free */
  r->native = NULL;
  return r->status;
}

/* As lcorolib.c's auxresume: results on L, or -1 with the error on L. */
static int auxresume(lua_State *L, lua_State *co, run *r, int narg) {
  int status, nres;
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  if (is_parked(r) || (co != L && resumable_from_lua(co))) {
    if (r == NULL) r = new_run(L, co, default_stack_size(L));
    status = native_resume(L, co, r, narg);
    nres = r->nvalues;
  } else {  /* not resumable: stock Lua says why, touching nothing */
    lua_xmove(L, co, narg);
    status = lua_resume(co, L, narg, &nres);
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);
  return -1;
}

static size_t opt_stack_size(lua_State *L, int arg, size_t def) {
  lua_Integer n;
  if (lua_isnoneornil(L, arg)) return def;
  n = luaL_checkinteger(L, arg);
  luaL_argcheck(L, n > 0, arg, "stack size must be positive");
  return (size_t)n;
}

/* As stock coroutine.create, plus the run that remembers the stack size;
** leaves the thread on top. */
static run *create(lua_State *L) {
  lua_State *NL;
  size_t stack_size;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  stack_size = opt_stack_size(L, 2, default_stack_size(L));
  NL = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, NL, 1);
  return new_run(L, NL, stack_size);
}

static int co_create(lua_State *L) {
  create(L);
  return 1;
}

static int co_resume(lua_State *L) {
  lua_State *co = getco(L);
  int r = auxresume(L, co, find_run(L, co), lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

/* Upvalues: handles, config, the thread, its run (kept alive by the
** handles table for as long as the thread lives). */
static int auxwrap(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(3));
  run *r = (run *)lua_touserdata(L, lua_upvalueindex(4));
  int n = auxresume(L, co, r, lua_gettop(L));
  if (n < 0) {  /* as stock: close an erred coroutine, add a position */
    int stat = lua_status(co);
    if (stat != LUA_OK && stat != LUA_YIELD) {
      stat = lua_resetthread(co);
      lua_xmove(co, L, 1);
    }
    if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return n;
}

static int co_wrap(lua_State *L) {
  run *r = create(L);
  lua_pushvalue(L, HANDLES);
  lua_pushvalue(L, CONFIG);
  lua_rotate(L, -3, 2);  /* handles, config, thread */
  lua_pushlightuserdata(L, r);
  lua_pushcclosure(L, auxwrap, 4);
  return 1;
}

/* The run whose native stack is running L, or NULL. */
static run *running_run(lua_State *L) {
  ucoro *native = ucoro_running();
  run *r;
  if (native == NULL || ucoro_function(native) != native_main) return NULL;
  r = (run *)ucoro_userdata(native);
  return r->L1 == L ? r : NULL;
}

static int co_yield(lua_State *L) {
  run *r = running_run(L);
  if (r == NULL)  /* not on its own native stack: a stock yield */
    return lua_yield(L, lua_gettop(L));
  if (lua_gc(L, LUA_GCISRUNNING) < 0)  /* the GC stops for finalizers */
    return luaL_error(L, "attempt to yield inside a __gc finalizer");
  r->nvalues = lua_gettop(L);
  ucoro_yield(NULL, NULL);  /* the resumer takes the values... */
  return r->nvalues;        /* ...and leaves its arguments */
}

static int co_status(lua_State *L) {
  lua_State *co = getco(L);
  lua_pushstring(L, statname[auxstatus(L, co, find_run(L, co))]);
  return 1;
}

static int co_isyieldable(lua_State *L) {
  lua_State *co = lua_isnone(L, 1) ? L : getco(L);
  int native;
  if (co == L) {
    native = running_run(L) != NULL;
  } else {
    run *r = find_run(L, co);
    native = r != NULL && r->native != NULL;
  }
  lua_pushboolean(L, native || lua_isyieldable(co));
  return 1;
}

static int co_running(lua_State *L) {
  int ismain = lua_pushthread(L);
  lua_pushboolean(L, ismain);
  return 2;
}

static int co_close(lua_State *L) {
  lua_State *co = getco(L);
  run *r = find_run(L, co);
  int status = auxstatus(L, co, r);
  if (status != COS_DEAD && status != COS_YIELD)
    return luaL_error(L, "cannot close a %s coroutine", statname[status]);
  if (r != NULL && r->native != NULL) {  /* parked: drop its C frames */
    ucoro_destroy(r->native);
    r->native = NULL;
  }
  status = lua_resetthread(co);  /* runs pending __close, as stock */
  if (status == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

static int co_stacksize(lua_State *L) {
  config *c = (config *)lua_touserdata(L, CONFIG);
  size_t old = c->stack_size ? c->stack_size : ucoro_default_stack_size();
  c->stack_size = opt_stack_size(L, 1, c->stack_size);
  lua_pushinteger(L, (lua_Integer)old);
  return 1;
}

/* Bytes of co's native stack touched so far (co: the running thread by
** default), or nil when it has none now. */
static int co_stackused(lua_State *L) {
  lua_State *co = lua_isnone(L, 1) ? L : getco(L);
  run *r = co == L ? running_run(L) : find_run(L, co);
  if (r == NULL || r->native == NULL) return 0;
  lua_pushinteger(L, (lua_Integer)ucoro_stack_used(r->native));
  return 1;
}

static int run_gc(lua_State *L) {
  run *r = (run *)luaL_checkudata(L, 1, RUN_MT);
  if (r->native != NULL && ucoro_destroy(r->native) == UCORO_OK)
    r->native = NULL;
  return 0;
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
  {NULL, NULL}
};

LUAMOD_API int luaopen_ucoro_core(lua_State *L);

/* The handles table and the config are one per Lua state, in the
** registry, however often the module is loaded (busted reloads it). */
static const char handles_key = 'h', config_key = 'c';

static void push_shared(lua_State *L, const char *key) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) != LUA_TNIL) return;
  lua_pop(L, 1);
  if (key == &handles_key) {  /* thread -> run, weak keys */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  } else {
    config *c = (config *)lua_newuserdatauv(L, sizeof(config), 0);
    c->stack_size = 0;
  }
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
}

LUAMOD_API int luaopen_ucoro_core(lua_State *L) {
  luaL_checkversion(L);
  if (luaL_newmetatable(L, RUN_MT)) {
    lua_pushcfunction(L, run_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_newtable(L);  /* the module */
  push_shared(L, &handles_key);
  push_shared(L, &config_key);
  luaL_setfuncs(L, functions, 2);
  lua_pushstring(L, ucoro_backend());
  lua_setfield(L, -2, "backend");
  lua_pushliteral(L, "ucoro " UCORO_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
