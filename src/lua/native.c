/*
** native.c: a Lua thread's native stack.
**
** On its native stack, lua_resume runs the thread exactly as stock
** coroutine.resume would; a native yield just switches back to the
** resumer, leaving every C frame where it is.  A stock yield ends
** lua_resume as usual, and the stack goes back to the pool.  Code on a
** native stack touches only its own thread; the resumer moves the values.
*/
#include <stdint.h>
#include <string.h>

#include "native.h"

#include "lauxlib.h"
#include "check_word.h"
#include "compat.h"

/* One handles table and one config per Lua state, in the registry, however
** often the module is loaded (busted reloads it for each spec file); and
** the marks table: run -> its life mark (see push_life_mark), weak keys.
** (Not a uservalue: lua_touserdata costs more on a userdata that has
** one, and runs are read on every resume.) */
static const char handles_key = 'h', config_key = 'c', marks_key = 'm';

/* A charge for each parked native stack, in KiB: a few touched pages and
** their page tables, and the mappings (a resource the collector cannot
** see at all). */
#define NATIVE_GC_KB 8

void native_drop(native *r) {
  if (r->stack != NULL && ucoro_destroy(r->stack) == UCORO_OK) {
    r->dropped |= r->parked != 0;
    r->stack = NULL;
    r->parked = 0;
  }
}

/* Pushes co itself onto L: only a thread can push itself. */
static void push_thread(lua_State *L, lua_State *co) {
  if (!lua_checkstack(co, 1)) luaL_error(L, "stack overflow");
  lua_pushthread(co);
  lua_xmove(co, L, 1);
}

/* A finalizer runs when its object is unreachable; another finalizer of
** the same cycle may bring back (resurrect) what the object stands for.
** A life mark tells: a table with weak keys holding only the thread,
** which the collector empties before finalizers run unless the thread
** survives the cycle (reachable, or brought back).  Sets the mark of the
** run on top of L, of thread co. */
static void set_life_mark(lua_State *L, lua_State *co) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &marks_key);
  lua_pushvalue(L, -2);
  lua_createtable(L, 0, 1);
  push_thread(L, co);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_getmetatable(L, -3);  /* weak keys, as the marks table's */
  lua_setmetatable(L, -2);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Does the thread of the run at index 1 live on?  (Being finalized, the
** run is still a key of the marks table in its finalizer.) */
static int thread_lives(lua_State *L) {
  int lives = 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &marks_key);
  lua_pushvalue(L, 1);
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_pushnil(L);
    lives = lua_next(L, -2) != 0;
  }
  lua_settop(L, 1);
  return lives;
}

/* Only the collector calls it, when the run is unreachable, and so its
** thread (or the thread was brought back by another finalizer, and may
** run again: then its stack stays).  A stack that stays, or that is
** running, arms the finalizer again for a later cycle. */
static int native_gc(lua_State *L) {
  native *r = UCORO_TO(L, 1, native);
  if (r == NULL) return 0;  /* another userdata, given our metatable */
  if (!thread_lives(L)) native_drop(r);
  if (r->stack != NULL) {
    lua_getmetatable(L, 1);
    lua_setmetatable(L, 1);
  }
  return 0;
}

/* At lua_close (the registry holds the handles table, so that is the only
** time it is finalized): every thread lives until then, so runs have kept
** their stacks; they all go now. */
static int handles_gc(lua_State *L) {
  lua_settop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    native *r = UCORO_TO(L, -1, native);  /* (a forged table holds others) */
    if (r != NULL) native_drop(r);
    lua_pop(L, 1);
  }
  return 0;
}

void native_push_handles(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &handles_key) != LUA_TNIL) return;
  lua_pop(L, 1);
  if (luaL_newmetatable(L, NATIVE_MT)) {
    lua_pushcfunction(L, native_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_newtable(L);  /* marks */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &marks_key);
  lua_newtable(L);
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_pushcfunction(L, handles_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &handles_key);
}

static void drop_idle(native_config *c) {
  ucoro *idle = c->idle;
  c->idle = NULL;
  ucoro_destroy(idle);
}

static int config_gc(lua_State *L) {  /* only the collector calls it */
  native_config *c = UCORO_TO(L, 1, native_config);
  if (c != NULL) drop_idle(c);  /* another userdata, given our metatable */
  return 0;
}

void native_push_config(lua_State *L) {
  native_config *c;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &config_key) != LUA_TNIL) return;
  lua_pop(L, 1);
  c = (native_config *)lua_newuserdatauv(L, sizeof(native_config), 0);
  c->stack_size = 0;
  c->mode = UCORO_AUTO;
  c->sized = 0;
  c->idle = NULL;
  c->idle_size = 0;
  c->idle_mode = UCORO_AUTO;
  c->check = UCORO_CHECK_WORD(c);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, config_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &config_key);
}

native_config *native_config_of(lua_State *L) {
  native_config *c;
  native_push_config(L);
  c = (native_config *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}

native *native_find(lua_State *L, int handles, lua_State *co) {
  native *r;
  push_thread(L, co);
  lua_rawget(L, handles);
  r = (native *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

native *native_new(lua_State *L, int handles, lua_State *co,
                   native_config *c, size_t stack_size, ucoro_mode mode) {
  native *r;
  handles = lua_absindex(L, handles);
  push_thread(L, co);
  if (lua_rawget(L, handles) == LUA_TUSERDATA)
    return (native *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  r = (native *)lua_newuserdatauv(L, sizeof(native), 0);
  native_init(r, co, c, stack_size, mode);
  r->temporary = 0;
  r->check = UCORO_CHECK_WORD(r);
  push_thread(L, co);
  lua_pushvalue(L, -2);
  lua_rawset(L, handles);
  return r;
}

/* native_keep's part that allocates, so may raise: (handles, r) -> the
** lasting run, armed with its finalizer and the table that tells it
** whether its thread lives.  The copy comes last, once nothing can
** raise. */
static int keep_protected(lua_State *L) {
  native *r = (native *)lua_touserdata(L, 2);
  native *kept = native_new(L, 1, r->L1, r->config, r->stack_size,
                            r->mode);
  set_life_mark(L, r->L1);
  luaL_setmetatable(L, NATIVE_MT);  /* the finalizer, from now on */
  if (kept != r) {  /* r was temporary: the thread's run takes its state */
    size_t stack_size = kept->stack_size;
    ucoro_mode mode = kept->mode;
    *kept = *r;
    kept->stack_size = stack_size;  /* its own settings, for later stacks */
    kept->mode = mode;
    kept->temporary = 0;
    kept->check = UCORO_CHECK_WORD(kept);  /* (r's, if any, names r) */
    native_bind(kept->stack, kept);  /* the parked side follows */
  }
  kept->armed = 1;
  lua_pushlightuserdata(L, kept);
  return 1;
}

native *native_keep(lua_State *L, int handles, lua_State *co,
                        native *r) {
  if (r->armed) return r;
  handles = lua_absindex(L, handles);
  lua_pushcfunction(L, keep_protected);
  lua_pushvalue(L, handles);
  lua_pushlightuserdata(L, r);
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
    r = (native *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return r;
  }
  /* out of memory: parked without a lasting run, co would hold its stack
  ** for good; close it instead, as ucoro.close does */
  native_drop(r);
  if (compat_closethread(co, L) != LUA_OK) lua_pop(co, 1);
  return NULL;
}

/* A new native stack for r, started at native_main. */
static ucoro_result new_stack(native *r) {
  ucoro_result res =
      r->mode == UCORO_AUTO
          ? ucoro_create(&r->stack, native_main, r, r->stack_size)
          : ucoro_create_mode(&r->stack, native_main, r, r->stack_size,
                              r->mode);
  if (res == UCORO_OK) native_bind(r->stack, r);
  return res;
}

ucoro_result native_new_stack(native *r) {
  return new_stack(r);
}

void native_finished_slow(native *r) {
  native_config *c = r->config;
  ucoro *stack = r->stack;
  r->stack = NULL;
  if (r->ended) {
    r->ended = 0;
    ucoro_destroy(stack);
    return;
  }
  drop_idle(c);  /* the newer one fits the settings now */
  c->idle = stack;
  c->idle_size = r->stack_size;
  c->idle_mode = r->mode;
}

/* The collector, unless it is stopped (by the program, or because a
** finalizer is running: lua_gc says -1 then). */
static int collector_runs(lua_State *L) {
  return lua_gc(L, LUA_GCISRUNNING) == 1;
}

ucoro_result native_new_stack_after_gc(lua_State *L, native *r) {
  if (!collector_runs(L)) return UCORO_ENOMEM;
  lua_gc(L, LUA_GCCOLLECT);
  drop_idle(r->config);  /* (none could have fit) */
  return r->stack != NULL ? UCORO_OK : new_stack(r);
}

ucoro_result native_resume_after_gc(lua_State *L, native *r) {
  if (!collector_runs(L)) return UCORO_ENOMEM;
  lua_gc(L, LUA_GCCOLLECT);
  return ucoro_resume(r->stack, r, NULL);
}

void native_account(lua_State *L) {
  if (collector_runs(L)) lua_gc(L, LUA_GCSTEP, NATIVE_GC_KB);
}

int native_resume_failed(lua_State *co, native *r, int narg,
                         ucoro_result res) {
  if (r->stack != NULL && !r->parked) {  /* it never started */
    ucoro *stack = r->stack;
    r->stack = NULL;
    ucoro_destroy(stack);
    /* an idle stack from another OS thread (the state moved): start on
    ** a new one of this thread's */
    if (res == UCORO_ETHREAD && new_stack(r) == UCORO_OK) {
      res = ucoro_resume(r->stack, r, NULL);
      if (res == UCORO_OK) {
        if (r->parked) return LUA_YIELD;
        native_finished(r);
        return r->status;
      }
      ucoro_destroy(r->stack);
      r->stack = NULL;
    }
  }
  lua_pop(co, narg);
  /* a slot for the message (co's frame may be full); never raised on co,
  ** which is not running here: failing that, Lua's spare slots hold it */
  (void)lua_checkstack(co, 1);
  if (res == UCORO_ENOMEM) {
    lua_pushliteral(co, "not enough memory");
    return LUA_ERRMEM;
  }
  lua_pushfstring(co, "cannot resume coroutine: %s", ucoro_strerror(res));
  return LUA_ERRRUN;
}

int native_stopped(lua_State *L, lua_State *co, native *r, int narg,
                   ucoro_result res) {
  if (res == UCORO_ENOMEM) res = native_resume_after_gc(L, r);
  if (res != UCORO_OK) return native_resume_failed(co, r, narg, res);
  if (r->parked) return LUA_YIELD;
  native_finished(r);
  return r->status;
}

int native_closethread(lua_State *L, lua_State *co) {
#if !COMPAT_CLOSE_COUNTS_CALLS
  size_t left = ucoro_stack_left();
  if (left != SIZE_MAX && left < ucoro_stack_size(ucoro_running()) / 2)
    return luaL_error(L, "C stack overflow");
#endif
  return compat_closethread(co, L);
}

void *native_main(ucoro *stack, void *run) {
  native *r = (native *)run;
  for (;;) {
    int nres;
    int status = lua_resume(r->L1, r->from, r->nvalues, &nres);
    r = (native *)ucoro_userdata(stack);  /* kept while parked? */
    r->status = status;
    r->nvalues = nres;
    /* idle, until the next thread's resume; a lean stack with no room to
    ** keep its frames meanwhile ends instead */
    if (uco_fast_yield(stack, &run) != UCORO_OK) break;
    r = (native *)run;
  }
  r->ended = 1;
  return NULL;
}

int native_is_main_thread(lua_State *L, lua_State *co) {
  int main;
  luaL_checkstack(L, 1, NULL);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main = lua_tothread(L, -1) == co;
  lua_pop(L, 1);
  return main;
}

int native_in_finalizer(lua_State *L) {
  lua_Debug ar;
  int level;
  for (level = 0; lua_getstack(L, level, &ar); level++) {
    if (lua_getinfo(L, "n", &ar) && ar.name != NULL &&
        ar.namewhat != NULL && strcmp(ar.namewhat, "metamethod") == 0 &&
        strcmp(ar.name, "__gc") == 0)
      return 1;
  }
  return 0;
}

/* Inside ucoro.call whose caller cannot yield: why. */
const char *native_call_refusal(lua_State *L, const native *r) {
  if (native_is_main_thread(L, r->outer))
    return "attempt to yield from outside a coroutine";
  return "attempt to yield across a C-call boundary";
}

void native_check_park(lua_State *L, const native *r, int yieldable) {
  const char *refused = native_refusal(L, r, yieldable);
  if (refused != NULL) luaL_error(L, "%s", refused);
}

/* A lean stack could not keep L's frames: after a full collection, once
** more; else L gets the memory error (never the values it yielded back,
** as if resumed). */
void native_park_after_gc(int parked, void **in) {
  /* no switch happened: the running stack's run is the parked one's */
  native *r = (native *)ucoro_running_user(native_main);
  lua_State *L = r->L1;
  r->parked = 0;
  if (collector_runs(L)) {
    lua_gc(L, LUA_GCCOLLECT);
    r = (native *)ucoro_running_user(native_main);  /* kept meanwhile? */
    r->parked = parked;
    if (ucoro_yield(NULL, in) == UCORO_OK) return;
    r->parked = 0;
  }
  lua_pushliteral(L, "not enough memory");
  lua_error(L);
}
