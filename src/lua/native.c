/*
** native.c: a Lua thread's native stack.
**
** On its native stack, lua_resume runs the thread exactly as stock
** coroutine.resume would; a native yield just switches back to the
** resumer, leaving every C frame where it is.  A stock yield ends
** lua_resume as usual, and the stack goes back to the pool.  Code on a
** native stack touches only its own thread; the resumer moves the values.
*/
#include "native.h"

#include "lauxlib.h"

/* One handles table and one config per Lua state, in the registry, however
** often the module is loaded (busted reloads it for each spec file). */
static const char handles_key = 'h', config_key = 'c';

void native_drop(native *r) {
  if (r->stack != NULL && ucoro_destroy(r->stack) == UCORO_OK) {
    r->stack = NULL;
    r->parked = 0;
  }
}

static int native_gc(lua_State *L) {  /* only the collector calls it */
  native_drop((native *)lua_touserdata(L, 1));
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
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &handles_key);
}

void native_push_config(lua_State *L) {
  native_config *c;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &config_key) != LUA_TNIL) return;
  lua_pop(L, 1);
  c = (native_config *)lua_newuserdatauv(L, sizeof(native_config), 0);
  c->stack_size = 0;
  c->mode = UCORO_AUTO;
  c->sized = 0;
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

/* Pushes co itself onto L: only a thread can push itself. */
static void push_thread(lua_State *L, lua_State *co) {
  if (!lua_checkstack(co, 1)) luaL_error(L, "stack overflow");
  lua_pushthread(co);
  lua_xmove(co, L, 1);
}

native *native_find(lua_State *L, int handles, lua_State *co) {
  native *r;
  push_thread(L, co);
  lua_rawget(L, handles);
  r = (native *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

void native_init(native *r, lua_State *co, size_t stack_size,
                     ucoro_mode mode) {
  r->stack = NULL;
  r->L1 = co;
  r->from = NULL;
  r->outer = NULL;
  r->outer_yields = 0;
  r->stack_size = stack_size;
  r->mode = mode;
  r->nvalues = 0;
  r->status = LUA_OK;
  r->parked = 0;
  r->roomy = 0;
  r->temporary = 1;
  r->armed = 0;
}

native *native_new(lua_State *L, int handles, lua_State *co,
                           size_t stack_size, ucoro_mode mode) {
  native *r;
  handles = lua_absindex(L, handles);
  r = (native *)lua_newuserdatauv(L, sizeof(native), 0);
  native_init(r, co, stack_size, mode);
  r->temporary = 0;
  push_thread(L, co);
  lua_pushvalue(L, -2);
  lua_rawset(L, handles);
  lua_pop(L, 1);
  return r;
}

/* native_keep's part that allocates, so may raise: (handles, r) -> the
** lasting run.  The copy comes last, once nothing can raise. */
static int keep_protected(lua_State *L) {
  native *r = (native *)lua_touserdata(L, 2);
  native *kept = r->temporary ? native_new(L, 1, r->L1, r->stack_size,
                                                   r->mode)
                                  : r;
  push_thread(L, r->L1);
  lua_rawget(L, 1);
  luaL_setmetatable(L, NATIVE_MT);  /* the finalizer, from now on */
  if (kept != r) {
    *kept = *r;
    kept->temporary = 0;
    ucoro_set_userdata(kept->stack, kept);  /* the parked side follows */
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
  if (lua_resetthread(co) != LUA_OK) lua_pop(co, 1);
  return NULL;
}

int native_resume_failed(lua_State *co, native *r, int narg,
                         ucoro_result res) {
  if (r->stack != NULL && !r->parked) {  /* it never started */
    ucoro_destroy(r->stack);
    r->stack = NULL;
  }
  lua_pop(co, narg);
  if (res == UCORO_ENOMEM) {
    lua_pushliteral(co, "not enough memory");
    return LUA_ERRMEM;
  }
  lua_pushfstring(co, "cannot resume coroutine: %s", ucoro_strerror(res));
  return LUA_ERRRUN;
}

void *native_main(ucoro *stack, void *unused) {
  native *r = (native *)ucoro_userdata(stack);
  int nres, status;
  (void)unused;
  status = lua_resume(r->L1, r->from, r->nvalues, &nres);
  r = (native *)ucoro_userdata(stack);  /* kept while parked? */
  r->status = status;
  r->nvalues = nres;
  return NULL;
}

native *native_running(lua_State *L) {
  native *r = (native *)ucoro_running_user(native_main);
  return r != NULL && r->L1 == L ? r : NULL;
}

static int is_main_thread(lua_State *L, lua_State *co) {
  int main;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main = lua_tothread(L, -1) == co;
  lua_pop(L, 1);
  return main;
}

/* Inside ucoro.call whose caller cannot yield: why. */
const char *native_call_refusal(lua_State *L, const native *r) {
  if (is_main_thread(L, r->outer))
    return "attempt to yield from outside a coroutine";
  return "attempt to yield across a C-call boundary";
}

int native_park(lua_State *L, native *r, int nvalues, int roomy) {
  const char *refused = native_park_refused(L, r);
  if (refused != NULL) return luaL_error(L, "%s", refused);
  r->nvalues = nvalues;
  r->roomy = roomy;
  r->parked = 1;
  ucoro_yield(NULL, NULL);  /* the resumer takes the values... */
  r = (native *)ucoro_running_user(native_main);  /* kept? */
  r->parked = 0;
  return r->nvalues;        /* ...and leaves its arguments */
}
