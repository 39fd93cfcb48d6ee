/*
** sched.c: tasks, the run queue, parking and waking, and go.run's loop.
**
** A task is a ucoro coroutine.  It parks by yielding nothing through
** ucoro's yield (any depth of C calls; the scheduler knows a park by the
** task's state, and a park inside a go.coroutine generator yields a
** private sentinel to the task's code that resumed it); the scheduler
** resumes it through ucoro's resume, only from go.run's own frame: never
** inside a libuv callback.  A wake-up marks the task ready and queues it once; a
** wake-up for a park that has ended (its token changed) is a no-op.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"

#define TASK_MT "ucoro.go.task"

const char go_park_sentinel = 0;

go_sched *go_sched_of(lua_State *L) {
  return (go_sched *)lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- anchors: what the scheduler holds strongly, by an integer ---- */

/* The anchors table's free slots are kept in C (an int array in a
** userdata the registry holds), not in the table as luaL_ref keeps them:
** a spawn costs one rawseti.  The array has room for every slot ever
** used, made when the slot is first used, so freeing one never
** allocates. */
static void free_grow(lua_State *L, go_sched *S) {
  int cap, *a;
  if (S->capfree > INT_MAX / 4) luaL_error(L, "too many tasks");
  cap = S->capfree ? S->capfree * 2 : 64;
  luaL_checkstack(L, 2, NULL);
  a = (int *)lua_newuserdatauv(L, (size_t)cap * sizeof *a, 0);
  if (S->nfree > 0) memcpy(a, S->free_refs, (size_t)S->nfree * sizeof *a);
  if (S->ref_free == 0)
    S->ref_free = luaL_ref(L, LUA_REGISTRYINDEX);
  else
    lua_rawseti(L, LUA_REGISTRYINDEX, S->ref_free);  /* the old one goes */
  S->free_refs = a;
  S->capfree = cap;
}

/* Makes sure n slots can be taken without raising. */
static void reserve_refs(lua_State *L, go_sched *S, int n) {
  if (S->nfree >= n) return;
  if (S->last_ref > INT_MAX - n) luaL_error(L, "too many tasks");
  while (S->last_ref + n > S->capfree) free_grow(L, S);
}

static int take_ref(go_sched *S) {  /* (reserved) */
  return S->nfree > 0 ? S->free_refs[--S->nfree] : ++S->last_ref;
}

int go_anchor(lua_State *L, go_sched *S, int idx) {
  int ref;
  idx = lua_absindex(L, idx);
  reserve_refs(L, S, 1);
  ref = take_ref(S);
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_pushvalue(L, idx);
  lua_rawseti(L, -2, ref);  /* (a memory error: the slot is lost) */
  lua_pop(L, 1);
  return ref;
}

/* Anchors a new task and its thread (on top, popped) in the anchors
** table (below the task), leaving the table and the task: no look-up of
** the table, no pop here.  The slots of the task that ended last are
** taken first: overwritten, never cleared (a loop of spawn and join
** clears no slot). */
static void anchor_task(lua_State *L, go_sched *S, go_task *t) {
  if (S->spare_ref != 0) {
    t->ref = S->spare_ref;
    t->coref = S->spare_coref;
    S->spare_ref = S->spare_coref = 0;
  } else {
    reserve_refs(L, S, 2);
    t->ref = take_ref(S);
    t->coref = take_ref(S);
  }
  lua_pushvalue(L, -2);
  lua_rawseti(L, -4, t->ref);  /* (a memory error: the slots are lost) */
  lua_rawseti(L, -3, t->coref);
}

void go_push_anchor(lua_State *L, go_sched *S, int ref) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_rawgeti(L, -1, ref);
  lua_remove(L, -2);
}

void go_renew_uvtable(lua_State *L, int idx, int n) {
  if (idx < 0) idx += lua_gettop(L);  /* (given before the push) */
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, idx, n);
}

static void free_ref(go_sched *S, int ref) {
  if (S->nfree < S->capfree) S->free_refs[S->nfree++] = ref;
}

/* Clears the slots of the task that ended last (which still hold it and
** its thread: at most one ended task is held so, until the next spawn
** takes them, the next end, or the end of go.run or go.attach). */
static void clear_spare(lua_State *L, go_sched *S) {
  if (S->spare_ref == 0) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_pushnil(L);
  lua_rawseti(L, -2, S->spare_ref);  /* (nils: no allocation) */
  lua_pushnil(L);
  lua_rawseti(L, -2, S->spare_coref);
  lua_pop(L, 1);
  free_ref(S, S->spare_coref);
  free_ref(S, S->spare_ref);
  S->spare_ref = S->spare_coref = 0;
}

void go_unanchor(lua_State *L, go_sched *S, int ref) {
  if (ref <= 0) return;  /* LUA_NOREF, LUA_REFNIL */
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_pushnil(L);
  lua_rawseti(L, -2, ref);  /* (a nil: no allocation) */
  lua_pop(L, 1);
  free_ref(S, ref);
}

uint64_t go_random(go_sched *S) {  /* xorshift64* */
  uint64_t x = S->rng;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  S->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* An optional timeout in seconds at arg: its deadline (hrtime, ns). */
uint64_t go_deadline(lua_State *L, int arg, int *has) {
  lua_Number s;
  *has = !lua_isnoneornil(L, arg);
  if (!*has) return 0;
  s = luaL_checknumber(L, arg);
  if (!(s > 0)) s = 0;
  if (s > 1e9) s = 1e9;
  return uv_hrtime() + (uint64_t)(s * 1e9);
}

/* ---- wait queues ---- */

/* (go_queue_push and go_queue_remove: go.h) */

/* Empties q, whose owner is being collected: a waiter left on it belongs
** to a task whose coroutine was closed while parked (by ucoro.close, by
** lua_close), which nothing else would take off before the memory goes. */
void go_queue_drop(go_wait_queue *q) {
  go_waiter *w;
  while ((w = q->head) != NULL) go_queue_remove(q, w);
}

/* Takes the task off every queue and the timer heap (its park ended). */
void go_unregister(go_task *t) {
  int i;
  for (i = 0; i < t->nws; i++)
    if (t->ws[i].q != NULL) go_queue_remove(t->ws[i].q, &t->ws[i]);
  if (t->ws != NULL && t->ws != t->w) free(t->ws);
  t->ws = NULL;
  t->nws = 0;
  if (t->heap_index >= 0) go_timer_remove(t->S, t);
  if (t->io != NULL) {  /* io.h's io_wait: { go_task *t; ... } */
    *(go_task **)t->io = NULL;
    t->io = NULL;
  }
}

/* ---- ready queue, wake, park ---- */

static void on_idle(uv_idle_t *h) { (void)h; }

/* A task made ready from a libuv callback (a timer, I/O): the loop must
** not go on to block in poll (libuv runs due timers before it polls). */
static void poll_no_more(go_sched *S) {
  if (S->attached) uv_idle_start(S->idle, on_idle);
  else uv_stop(S->loop);
}

static void enqueue(go_sched *S, go_task *t) {
  t->state = GO_READY;
  t->rq_next = NULL;
  t->rq_prev = S->rq_tail;
  if (S->rq_tail) S->rq_tail->rq_next = t; else S->rq_head = t;
  S->rq_tail = t;
  if (S->in_uv) poll_no_more(S);
}

/* Takes the ready task t off the ready queue (to run it now, or
** because it runs on). */
static void rq_remove(go_sched *S, go_task *t) {
  if (t == S->drain_last) {  /* the drain ends where it would have */
    S->drain_last = t->rq_prev;
    if (S->drain_last == NULL) S->drain_done = 1;
  }
  if (t->rq_prev) t->rq_prev->rq_next = t->rq_next; else S->rq_head = t->rq_next;
  if (t->rq_next) t->rq_next->rq_prev = t->rq_prev; else S->rq_tail = t->rq_prev;
  t->rq_next = t->rq_prev = NULL;
}

/* A park that could not yield (inside a finalizer, a metamethod that
** cannot yield): t runs on, so it leaves the ready queue a wake-up (its
** own go.yield's, or one that came meanwhile) put it on. */
static void park_failed(go_sched *S, go_task *t) {
  if (t->state == GO_READY) rq_remove(S, t);
  t->state = GO_RUNNING;
  go_unregister(t);
}

/* Wakes t's park number token with the reason fired; a no-op unless that
** park is still on and nothing ended it yet. */
void go_wake(go_task *t, unsigned token, int fired) {
  if (t->armed && t->state == GO_RUNNING && t->token == token) {
    if (t->early == GO_NOT_FIRED) t->early = fired;  /* before the park */
    return;
  }
  if (t->state != GO_PARKED || t->token != token ||
      t->fired != GO_NOT_FIRED)
    return;
  t->fired = fired;
  enqueue(t->S, t);
}

/* Ends t's park with fired: t is parked and nothing ended its park yet
** (go_wake's checks, done by the caller). */
void go_fire(go_task *t, int fired) {
  t->fired = fired;
  enqueue(t->S, t);
}

/* The task whose code calls; raises where no park is possible. */
go_task *go_current(lua_State *L, go_sched *S, const char *op) {
  luaL_checkstack(L, 4, NULL);
  return go_current_in_call(L, S, op);
}

/* go_current_in_call's errors. */
go_task *go_not_current(lua_State *L, go_sched *S, const char *op) {
  go_task *t = S->current;
  if (t == NULL)
    luaL_error(L, "%s: not inside a task (blocking calls need go.run)", op);
  if (L != t->co && L != t->nest)
    luaL_error(L, "%s: blocking call inside a coroutine not run by "
               "go.coroutine", op);
  /* a finalizer run by its park's own yield: the park's waits are in
  ** place */
  luaL_error(L, "%s: blocking call while its task parks (in a finalizer?)",
             op);
  return NULL;
}

int go_raise_cancelled(lua_State *L, go_task *t) {
  lua_createtable(L, 0, 1);
  go_push_reason(L, t);
  lua_setfield(L, -2, "reason");
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->S->ref_cancelled_mt);
  lua_setmetatable(L, -2);
  return lua_error(L);
}

/* The slot that anchors the generator t's park may wait in (a park
** through go.coroutine): made before the generator runs, where a memory
** error may be raised and a collection may run. */
static void nest_slot(lua_State *L, go_sched *S, go_task *t) {
  if (t->nest_ref != 0) return;
  lua_pushboolean(L, 0);
  t->nest_ref = go_anchor(L, S, -1);
  lua_pop(L, 1);
}

/* Puts the running generator's thread L in that slot (hold), or false
** back: the key is there, so no allocation, no collection, no error in
** a park whose waits are registered. */
static void hold_nest(lua_State *L, go_sched *S, go_task *t, int hold) {
  if (t->nest_ref <= 0) return;  /* (not reached: nest_slot) */
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  if (hold) lua_pushthread(L); else lua_pushboolean(L, 0);
  lua_rawseti(L, -2, t->nest_ref);
  lua_pop(L, 1);
}

/* Parks the current task t (its waiters and timer registered) until a
** wake-up; returns what fired.  Raises go.Cancelled (after unregistering)
** when t is cancelled, before or during the park. */
static int park(lua_State *L, go_sched *S, go_task *t, const char *what,
                int requeue, int raise) {
  int status, nest;
  if (t->scope != t->spawn)  /* (none but in its own scopes) */
    go_scope_deadline(S, t);  /* may cancel, or arm the timer */
  if (go_is_cancelled(t)) {
    go_unregister(t);
    t->armed = 0;
    return raise ? go_raise_cancelled(L, t) : GO_FIRED_CANCEL;
  }
  if (t->armed && t->early != GO_NOT_FIRED) {  /* woken before it began */
    t->fired = t->early;
    t->armed = 0;
    go_unregister(t);
    return t->fired;
  }
  if (!t->armed) t->token++;
  t->armed = 0;
  t->state = GO_PARKED;
  t->what = what;
  if (requeue) go_wake(t, t->token, GO_FIRED_YIELD);
  /* A park yields nothing to the scheduler, which knows it by the task's
  ** state; a generator's (go.coroutine) yields the sentinel to the
  ** task's code that resumed it, which parks in turn.  The generator's
  ** thread is anchored meanwhile: its waiters name it (chan.c). */
  nest = L != t->co;
  if (nest) hold_nest(L, S, t, 1);
  do {  /* a resume by anyone but the scheduler (ucoro.resume on the
        ** task's coroutine) does not end the park: it parks again */
    if (nest) lua_pushlightuserdata(L, (void *)&go_park_sentinel);
    status = S->api->park(L, nest);
    if (status > 0) lua_pop(L, status);  /* (that resume's values) */
  } while (status >= 0 && S->current != t);
  t->what = NULL;
  if (nest) hold_nest(L, S, t, 0);
  if (status < 0) {  /* no park possible here: say why (on top) */
    if (nest) lua_remove(L, -2);  /* the sentinel, not yielded */
    park_failed(S, t);
    if (!raise) return GO_FIRED_ERROR;  /* the error left on top */
    return lua_error(L);
  }
  if (t->nws == 1 && t->ws == t->w && t->w[0].q == NULL &&
      t->heap_index < 0 && t->io == NULL) {  /* (go_unregister's work,
                                             ** for a plain wait ended) */
    t->ws = NULL;
    t->nws = 0;
  } else {
    go_unregister(t);
  }
  if (t->fired == GO_FIRED_DEADLINE) go_cancel_scope(S, t->timer_scope);
  if ((t->fired == GO_FIRED_CANCEL || t->fired == GO_FIRED_DEADLINE) &&
      go_is_cancelled(t))
    return raise ? go_raise_cancelled(L, t) : GO_FIRED_CANCEL;
  return t->fired;
}

int go_park_code(lua_State *L, go_sched *S, go_task *t, const char *what) {
  return park(L, S, t, what, 0, 0);
}

int go_park(lua_State *L, go_sched *S, go_task *t, const char *what) {
  return park(L, S, t, what, 0, 1);
}

/* ---- tasks ---- */

/* At lua_close: the tasks that never ran again give up their waits (a
** select's waiters are malloc'd). */
void go_tasks_unregister(lua_State *L, go_sched *S) {
  if (lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      go_task *t = GO_TO(L, -1, go_task);
      if (t != NULL && t->state != GO_DONE) go_unregister(t);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
}

/* The secret of check words (go.h: go_to_block). */
uint64_t go_secret;
static uv_once_t secret_once = UV_ONCE_INIT;

static void secret_init(void) {
  uint64_t s = 0;
  if (uv_random(NULL, NULL, &s, sizeof s, 0, NULL) != 0 || s == 0)
    s = uv_hrtime() ^ (uint64_t)(uintptr_t)&s ^ 0x9E3779B97F4A7C15ULL;
  go_secret = s;
}

void go_secret_init(void) { uv_once(&secret_once, secret_init); }

go_task *go_check_task(lua_State *L, int idx) {
  return GO_CHECK(L, idx, go_task, TASK_MT);
}

/* Every field of a new task but its inline waiters (w), which each wait
** sets up before it uses them, as it must anyway when it reuses them:
** no memset of the whole record (45 steps of rep stos). */
static void task_init(go_task *t, go_sched *S) {
  t->co = NULL;
  t->hint = NULL;
  t->S = S;
  t->timer_scope = NULL;
  t->id = 0;
  t->serial = 0;
  t->check = GO_CHECK_WORD(t);
  t->rq_next = t->rq_prev = NULL;
  t->sib_prev = t->sib_next = NULL;
  t->spawn = t->scope = NULL;
  t->nest = NULL;
  t->ws = NULL;
  t->joiners.head = t->joiners.tail = NULL;
  t->deadline = 0;
  t->what = NULL;
  t->io = NULL;
  t->ref = t->coref = LUA_NOREF;
  t->nest_ref = 0;
  t->state = GO_READY;
  t->end = GO_END_NONE;
  t->nargs = t->nres = 0;
  t->token = 0;
  t->fired = t->early = GO_NOT_FIRED;
  t->fired_ok = 0;
  t->spawn_line = 0;
  t->nws = 0;
  t->heap_index = -1;
  t->timer_case = 0;
  t->daemon = t->cancelled = t->joined = t->nocancel = t->armed = 0;
  t->started = 0;
}

/* go.spawn([opts,] f, ...): a new task, queued (it runs at the next
** drain).  opts: name, stack (a size or a ucoro mode), daemon. */
static go_task *spawn(lua_State *L, go_sched *S, go_scope *scope, int base) {
  int first = base, nargs, daemon = 0, hasname = 0, hasstack = 0;
  go_task *t;
  int type = lua_type(L, base);
  if (type == LUA_TTABLE) {
    first = base + 1;
    lua_getfield(L, base, "daemon");
    daemon = lua_toboolean(L, -1);
    lua_pop(L, 1);
    hasname = lua_getfield(L, base, "name") != LUA_TNIL;
    lua_pop(L, 1);
    hasstack = lua_getfield(L, base, "stack") != LUA_TNIL;
    lua_pop(L, 1);
    type = lua_type(L, first);
  }
  if (type != LUA_TFUNCTION) luaL_checktype(L, first, LUA_TFUNCTION);
  nargs = lua_gettop(L) - first;
  /* pushed: the anchors table (for anchor_task), the task, the thread
  ** (which anchor_task pops); the caller returns the task, on top */
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  /* uservalues: 1 the thread once it ended with results (the anchors
  ** hold it while the task lives), 2 the error (before the end: the cancel
  ** reason, which the end no longer needs), 3 the spawning function, 4 the
  ** name (only a named task has a fourth: a missing one reads as nil) */
  t = (go_task *)lua_newuserdatauv(L, sizeof(go_task), hasname ? 4 : 3);
  task_init(t, S);
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_task_mt);
  lua_setmetatable(L, -2);
  /* the coroutine: ucoro.create(f, stack); without a stack option a
  ** plain thread does (ucoro.resume gives it a native stack as needed) */
  if (hasstack) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_create);
    lua_pushvalue(L, first);
    lua_getfield(L, base, "stack");
    lua_call(L, 2, 1);
    t->co = lua_tothread(L, -1);
  } else {
    t->co = lua_newthread(L);
    lua_pushvalue(L, first);
    lua_xmove(L, t->co, 1);
  }
  if (hasname) {
    lua_getfield(L, base, "name");
    lua_setiuservalue(L, -3, 4);
  }
  {  /* where it was spawned (the caller and its line; formatted only
     ** when asked): for t:spawned_at() and deadlock reports */
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "fl", &ar)) {
      t->spawn_line = ar.currentline;
      lua_setiuservalue(L, -3, 3);
    }
  }
  /* (a new thread has 2 * LUA_MINSTACK slots, its function in one) */
  if (nargs + 1 >= LUA_MINSTACK &&
      !lua_checkstack(t->co, nargs + LUA_MINSTACK))
    luaL_error(L, "go.spawn: too many arguments");
  if (nargs > 0) {
    lua_rotate(L, first + 1, 3);  /* the arguments on top */
    lua_xmove(L, t->co, nargs);
  }
  t->nargs = nargs;
  /* now: ..., anchors, task, thread; both held while the task lives */
  anchor_task(L, S, t);
  t->id = ++S->next_id;
  t->serial = go_random(S) | 1;
  t->daemon = daemon;
  t->spawn = t->scope = scope;
  t->sib_next = scope->children;
  if (scope->children) scope->children->sib_prev = t;
  scope->children = t;
  scope->all++;
  if (!daemon) scope->live++;
  S->ntasks++;
  enqueue(S, t);
  return t;  /* on top */
}

static int go_spawn(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_scope *scope;
  if (!S->running)
    return luaL_error(L, "go.spawn: the scheduler is not running (use go.run)");
  scope = S->current ? S->current->scope : S->root;
  if (scope == NULL || S->closing)
    return luaL_error(L, "go.spawn: the scheduler is ending");
  spawn(L, S, scope, 1);
  return 1;
}

/* Stores the results (the n values on top of L) or the error (the one),
** ends the task, wakes its joiners, tells its scope; leaves L's top
** below them.  joiner: the task whose join ran t inline (on its stack),
** or NULL.  An end that went well raises nothing (the results leave L
** first: they may fill its stack). */
static void task_ended(lua_State *L, go_sched *S, go_task *t, int ok,
                       int n, go_task *joiner) {
  go_waiter *w;
  int base = n != 0 ? lua_gettop(L) - n : 0;  /* (used only with values) */
  int kept = ok && (n == 0 || lua_checkstack(t->co, n));
  if (!kept)  /* (room for what follows) */
    luaL_checkstack(L, LUA_MINSTACK, "too many results");
  if (t->ws != NULL || t->heap_index >= 0 || t->io != NULL)
    go_unregister(t);  /* (its frames closed from outside while parked) */
  if (kept) {
    /* the results wait on the dead thread's stack, from its first slot
    ** (push_results reads them there), which the task's uservalue 1
    ** holds from now on (the anchors did until now): no table for them;
    ** L then has their room, or (none) the 3 slots run_task's caller
    ** made */
    if (n != 0) {
      if (lua_gettop(t->co) != 0) lua_settop(t->co, 0);
      lua_xmove(L, t->co, n);
      lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
      lua_rawgeti(L, -1, t->ref);
      lua_rawgeti(L, -2, t->coref);
      lua_setiuservalue(L, -2, 1);
      lua_settop(L, base);
    }
    t->nres = n;
    t->end = GO_END_OK;
  } else {
    int status;
    if (ok) {  /* (never: they were on that stack a moment ago) */
      lua_settop(L, base);
      lua_pushliteral(L, "too many results");
    }
    go_push_anchor(L, S, t->ref);
    /* as ucoro.close: the pending __close of its frames run now; an
    ** error of theirs replaces the task's, as coroutine.close's does */
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_close);
    go_push_anchor(L, S, t->coref);
    status = lua_pcall(L, 1, 2, 0);
    if (status == LUA_ERRMEM) lua_error(L);  /* (the close may be half
                                             ** done: as before, raised) */
    if (status != LUA_OK) {  /* the call itself raised before the close
      ** ran (a C stack overflow: the task was joined inline deep in C
      ** calls): its error replaces the task's, which ends all the same */
      lua_replace(L, base + 1);
    } else {
      if (!lua_toboolean(L, -2)) lua_replace(L, base + 1);
      else lua_pop(L, 1);
      lua_pop(L, 1);
    }
    lua_pushvalue(L, base + 1);
    lua_setiuservalue(L, -2, 2);
    t->end = GO_END_ERROR;
    if (lua_getmetatable(L, base + 1)) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_cancelled_mt);
      if (lua_rawequal(L, -1, -2) && go_is_cancelled(t))
        t->end = GO_END_CANCELLED;
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
    ok = 0;
  }
  t->state = GO_DONE;
  /* run by its joiner's join, which returns its outcome (unless the
  ** joiner was cancelled meanwhile: then its scope gets an error) */
  if (joiner != NULL && !go_is_cancelled(joiner)) t->joined = 1;
  while ((w = t->joiners.head) != NULL) {
    go_task *j = w->task;
    go_queue_remove(&t->joiners, w);
    /* joined only by one this wake-up reaches (not one already woken,
    ** say cancelled: the error would be nobody's) */
    if (j->state == GO_PARKED && j->fired == GO_NOT_FIRED) t->joined = 1;
    go_wake(j, j->token, w->index);
  }
  go_scope_child_ended(L, S, t, ok ? 0 : base + 1);
  go_unanchor(L, S, t->nest_ref);  /* (0: no generator ran in it) */
  t->nest_ref = 0;
  /* its slots are cleared by the next end, or taken by the next spawn */
  clear_spare(L, S);
  S->spare_ref = t->ref;
  S->spare_coref = t->coref;
  t->ref = t->coref = LUA_NOREF;
  S->ntasks--;
  if (!ok) lua_settop(L, base);  /* (results: moved off above) */
}

/* Runs t until it parks, yields or ends.  The caller made room on L for
** t's arguments, if any, and 3 more (before taking t off the ready
** queue); the API makes room for what a resume returns.  Returns 0; or,
** when t ended, 1 with its results (ok) or its error, the *n values on
** top of L, for task_ended, which may raise: its caller puts its own
** state back first.  Raises nothing. */
static inline int resume_task(lua_State *L, go_sched *S, go_task *t,
                              int *n, int *ok) {
  int nargs = t->nargs, status, nres, base;
  if (nargs > 0) {
    lua_xmove(t->co, L, nargs);
    t->nargs = 0;
  }
  t->state = GO_RUNNING;
  t->started = 1;
  S->current = t;
  status = S->api->resume(S->api, L, t->co, nargs, &nres, &t->hint);
  S->current = NULL;
  if (status == LUA_YIELD && nres == 0 &&
      (t->state == GO_PARKED || t->state == GO_READY))
    return 0;  /* parked (the common case: nothing on L) */
  if (status != LUA_YIELD) {
    *ok = status == LUA_OK;
    *n = *ok ? nres : 1;  /* its results, or its error */
    return 1;
  }
  base = lua_gettop(L) - nres;  /* below what it yielded */
  /* parked (its state says so: no code of the task runs while it is
  ** parked but its park's, which yields nothing, or the sentinel when
  ** the park came through a generator) */
  if (!((t->state == GO_PARKED || t->state == GO_READY) && nres == 1 &&
        lua_touserdata(L, base + 1) == &go_park_sentinel)) {
    /* a plain coroutine.yield in the task: as go.yield */
    t->state = GO_RUNNING;
    enqueue(S, t);
  }
  lua_settop(L, base);
  return 0;
}

/* Runs t (resume_task) and ends it if it ended. */
static inline void run_task(lua_State *L, go_sched *S, go_task *t) {
  int n, ok;
  if (resume_task(L, S, t, &n, &ok)) task_ended(L, S, t, ok, n, NULL);
}

/* Runs the tasks ready when it began. */
static inline void drain(lua_State *L, go_sched *S) {
  go_task *t;
  S->drain_last = S->rq_tail;
  S->drain_done = 0;
  S->inline_runs = 0;
  do {
    t = S->rq_head;
    if (t->nargs > 0)  /* (a resume makes room for what it returns) */
      luaL_checkstack(L, t->nargs + 3, NULL);  /* run_task's */
    S->rq_head = t->rq_next;
    if (S->rq_head == NULL) S->rq_tail = NULL;
    else S->rq_head->rq_prev = NULL;
    t->rq_next = NULL;
    run_task(L, S, t);
  } while (t != S->drain_last && !S->drain_done && S->rq_head != NULL);
  S->drain_last = NULL;
}

/* ---- the loop ---- */

static void on_timer_closed(uv_handle_t *h) { free(h); }

static void push_spawn_site(lua_State *L, go_task *t, int idx);
static int push_results(lua_State *L, go_task *t, int idx, int room);

/* The deadlock report: each parked task with its traceback. */
static void push_deadlock(lua_State *L, go_sched *S, go_scope *root);

static int loop_running(go_sched *S) {
  return S->luv_mode != NULL && *S->luv_mode != -1;
}

/* Runs until the root scope has no live task; returns 0, or 1 on a
** deadlock (the report pushed). */
static int run_loop(lua_State *L, go_sched *S, go_scope *root) {
  unsigned drains = 0;
  for (;;) {
    if (root->live == 0 && (S->closing ? root->all == 0 : 1)) return 0;
    if (S->rq_head != NULL) {
      drain(L, S);
      if ((++drains & 63) != 0) continue;
      S->in_uv = 1;
      uv_run(S->loop, UV_RUN_NOWAIT);  /* I/O and timers never starve */
      S->in_uv = 0;
      continue;
    }
    if (S->nheap == 0 && !uv_loop_alive(S->loop)) {
      push_deadlock(L, S, root);
      return 1;
    }
    S->in_uv = 1;
    uv_run(S->loop, UV_RUN_ONCE);
    S->in_uv = 0;
  }
}

static void push_deadlock(lua_State *L, go_sched *S, go_scope *root) {
  int list, n = 0;
  (void)root;
  lua_newtable(L);  /* the parked tasks */
  list = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    go_task *t = GO_TO(L, -1, go_task);
    if (t != NULL && t->state == GO_PARKED && !t->daemon) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, list, ++n);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  {  /* one buffer: linear in the tasks (100,000 parked is a report) */
    luaL_Buffer b;
    int i;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "all tasks are asleep - deadlock!");
    for (i = 1; i <= n; i++) {
      go_task *t;
      lua_rawgeti(L, list, i);
      t = (go_task *)lua_touserdata(L, -1);
      lua_pop(L, 1);
      go_push_anchor(L, S, t->ref);
      push_spawn_site(L, t, lua_gettop(L));
      lua_pushfstring(L, "\n\ntask %d [%s], spawned at %s:\n", (int)t->id,
                      t->what ? t->what : "parked", lua_tostring(L, -1));
      lua_replace(L, -3);
      lua_pop(L, 1);
      luaL_addvalue(&b);
      luaL_traceback(L, t->co, NULL, 0);  /* (t anchored, its thread held) */
      luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
  }
  lua_remove(L, list);
}

/* Spawns the root task (arguments: the scheduler, main, its arguments)
** and runs the loop; returns the root task and the deadlock report (or
** nil).  Protected: a memory error in the spawn is go.run's to clean. */
static int run_protected(lua_State *L) {
  go_sched *S = (go_sched *)lua_touserdata(L, 1);
  go_scope *root = S->root;
  int task;
  spawn(L, S, root, 2);
  task = lua_gettop(L);
  if (run_loop(L, S, root)) {  /* deadlock: cancel every task, unwind */
    S->closing = 1;
    go_cancel_scope(S, root);
    if (run_loop(L, S, root)) lua_pop(L, 1);  /* stuck again: left as is */
    lua_pushvalue(L, task);
    lua_insert(L, -2);
    return 2;
  }
  if (root->all > 0) {  /* daemons: cancelled when the root scope ends */
    S->closing = 1;
    go_cancel_scope(S, root);
    if (run_loop(L, S, root)) lua_pop(L, 1);
  }
  lua_pushvalue(L, task);
  lua_pushnil(L);
  return 2;
}

/* The binding's C API (lua_ucoro_api.h), which ucoro.core, loaded before
** this module, keeps in the registry. */
static void need_api(lua_State *L, go_sched *S) {
  const lua_ucoro_api *api;
  if (S->api != NULL) return;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY);
  api = (const lua_ucoro_api *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (api == NULL || api->version != LUA_UCORO_API_VERSION)
    luaL_error(L, "ucoro.go: ucoro.core's C API (version %d) not found",
               LUA_UCORO_API_VERSION);
  S->api = api;
}

/* go.run(main, ...): runs main as the root task, and the loop until no
** task but daemons is left; true, main's results / false, error. */
static int go_run(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_scope *root;
  go_task *t;
  int status, deadlock;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (S->gone)  /* a finalizer at lua_close, after the scheduler's: the
                ** loop is closed, or about to be */
    return luaL_error(L, "go.run: the Lua state is closing");
  if (S->running)
    return luaL_error(L, "go.run: already running (inside go.run or a task)");
  need_api(L, S);
  if (loop_running(S))
    return luaL_error(L, "go.run: the luv loop is running (inside a luv "
                      "callback or uv.run)");
  /* what may raise (memory) comes first, or runs protected below: an
  ** error must not leave the scheduler running, or a handle behind */
  root = go_new_scope(L, S, NULL);  /* at nargs + 1 */
  lua_insert(L, 1);
  S->timer = (uv_timer_t *)malloc(sizeof *S->timer);
  if (S->timer == NULL) {
    go_unanchor(L, S, root->ref);
    return luaL_error(L, "not enough memory");
  }
  uv_timer_init(S->loop, S->timer);
  S->timer->data = S;
  S->timer_at = 0;
  S->root = root;
  S->running = 1;
  S->closing = 0;
  lua_pushlightuserdata(L, S);  /* (the key exists: no allocation) */
  lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  lua_pushcfunction(L, run_protected);
  lua_insert(L, 2);
  lua_pushlightuserdata(L, S);
  lua_insert(L, 3);  /* run_protected(S, main, ...) */
  status = lua_pcall(L, lua_gettop(L) - 2, 2, 0);
  S->running = 0;
  S->closing = 0;
  S->root = NULL;
  lua_pushboolean(L, 0);
  lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  S->current = NULL;  /* also when the loop raised */
  clear_spare(L, S);  /* (no ended task held once go.run returns) */
  if (root->all == 0) {  /* tasks stuck for good keep their scope */
    go_unanchor(L, S, root->ref);
    root->ref = LUA_NOREF;
  }
  uv_timer_stop(S->timer);
  uv_close((uv_handle_t *)S->timer, on_timer_closed);
  S->timer = NULL;
  S->timer_at = 0;
  uv_run(S->loop, UV_RUN_NOWAIT);  /* the close completes */
  if (status != LUA_OK) return lua_error(L);
  deadlock = !lua_isnil(L, -1);
  if (deadlock) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pop(L, 1);
  t = (go_task *)lua_touserdata(L, -1);
  if (root->failed) {  /* the first error kept by the root scope */
    lua_pushboolean(L, 0);
    go_push_uvtable(L, 1, 1);
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
    return 2;
  }
  return push_results(L, t, lua_gettop(L), 0);
}

static int go_self(lua_State *L) {
  go_sched *S = go_sched_of(L);
  if (S->current == NULL) return 0;
  go_push_anchor(L, S, S->current->ref);
  return 1;
}

static int go_yield(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_task *t = go_current(L, S, "go.yield");
  park(L, S, t, "yield", 1, 1);
  return 0;
}

static int go_sleep(lua_State *L) {
  go_sched *S = go_sched_of(L);
  lua_Number s = luaL_checknumber(L, 1);
  go_task *t = go_current(L, S, "go.sleep");
  int has;
  uint64_t at = go_deadline(L, 1, &has);
  if (!(s > 0)) {
    park(L, S, t, "yield", 1, 1);
    return 0;
  }
  if (!go_timer_add(S, t, at, 1)) return luaL_error(L, "not enough memory");
  go_park(L, S, t, "sleep");
  return 0;
}

static int go_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e9);
  return 1;
}

static int go_seed(lua_State *L) {
  go_sched *S = go_sched_of(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  S->rng = (uint64_t)n * 2654435761u + 0x9E3779B97F4A7C15ULL;
  if (S->rng == 0) S->rng = 1;
  return 0;
}

/* go.coroutine's resume: as ucoro.resume, but a park inside the resumed
** coroutine parks the calling task too (the park passes through to the
** scheduler), and the coroutine goes on when the task is woken. */
static int go_resume_through(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_task *t = S->current;
  lua_State *co = lua_tothread(L, 1);
  int through, nargs = lua_gettop(L) - 1;
  lua_State *prev;
  luaL_argexpected(L, co != NULL, 1, "thread");
  through = t != NULL && (L == t->co || L == t->nest) &&
            t->state == GO_RUNNING;  /* (not a finalizer its park ran) */
  prev = through ? t->nest : NULL;
  if (through) nest_slot(L, S, t);
  for (;;) {
    luaL_checkstack(L, 3, NULL);
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_resume);
    lua_pushvalue(L, 1);
    lua_rotate(L, 2, 2);
    if (!through) {
      lua_call(L, nargs + 1, LUA_MULTRET);
      return lua_gettop(L) - 1;
    }
    /* protected: the task names co only while it runs (a C stack
    ** overflow, a memory error raised by the call itself must not leave
    ** co named: a later resume of it by anyone would park the task) */
    {
      int status;
      t->nest = co;
      status = lua_pcall(L, nargs + 1, LUA_MULTRET, 0);
      t->nest = prev;
      if (status != LUA_OK) return lua_error(L);
    }
    if (lua_gettop(L) == 3 && lua_toboolean(L, 2) &&
        lua_touserdata(L, 3) == &go_park_sentinel &&
        (t->state == GO_PARKED || t->state == GO_READY)) {
      lua_settop(L, 1);  /* park this coroutine too, up to the task */
      lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_yield);
      lua_pushlightuserdata(L, (void *)&go_park_sentinel);
      if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        park_failed(S, t);
        return lua_error(L);
      }
      nargs = 0;
      continue;
    }
    return lua_gettop(L) - 1;
  }
}

static int go_tasks(lua_State *L) {
  go_sched *S = go_sched_of(L);
  int n = 0;
  lua_newtable(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_anchors);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    go_task *t = GO_TO(L, -1, go_task);
    if (t != NULL && t->state != GO_DONE) {  /* (not the last ended) */
      lua_pushvalue(L, -1);
      lua_rawseti(L, -5, ++n);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 1;
}

/* ---- go.attach: for hosts that run the loop themselves ---- */

static int drain_protected(lua_State *L) {
  go_sched *S = (go_sched *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  if (S->rq_head != NULL) drain(L, S);
  return 0;
}

/* A drain from a loop phase: never lets an error reach libuv. */
static void attached_drain(go_sched *S) {
  lua_State *L = S->main;
  int top = lua_gettop(L), status;
  if (S->rq_head == NULL) return;
  if (!lua_checkstack(L, LUA_MINSTACK)) return;
  lua_pushcfunction(L, drain_protected);
  lua_pushlightuserdata(L, S);
  S->in_uv = 0;  /* the prepare and check callbacks see to the idle */
  status = lua_pcall(L, 1, 0, 0);
  S->in_uv = 1;
  if (status != LUA_OK) {  /* kept with the tasks' errors */
    S->current = NULL;
    go_push_anchor(L, S, S->root->ref);
    go_push_uvtable(L, -1, 1);
    lua_pushvalue(L, -3);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    S->root->failed = 1;
  }
  lua_settop(L, top);
}

/* A task runs the loop itself (uv.run inside a task: luv does not refuse
** a nested run): no drain inside it, nor a busy loop; the tasks ready run
** once it returns to the outer loop. */
static int inside_task(go_sched *S) {
  if (S->current == NULL) return 0;
  uv_idle_stop(S->idle);
  return 1;
}

/* Before poll: run what is ready; poll must not block while tasks are. */
static void on_prepare(uv_prepare_t *h) {
  go_sched *S = (go_sched *)h->data;
  if (inside_task(S)) return;
  attached_drain(S);
  if (S->rq_head != NULL) uv_idle_start(S->idle, on_idle);
  else uv_idle_stop(S->idle);
}

/* After poll: run what I/O and timers made ready. */
static void on_check(uv_check_t *h) {
  go_sched *S = (go_sched *)h->data;
  if (inside_task(S)) return;
  attached_drain(S);
  if (S->rq_head != NULL) uv_idle_start(S->idle, on_idle);
}

static void on_closed(uv_handle_t *h) { free(h); }

/* go.attach(): tasks run while whoever runs luv's loop runs it (uv.run);
** spawn from luv callbacks or from tasks.  Returns the root scope. */
static int go_attach(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_scope *root;
  if (S->gone) return luaL_error(L, "go.attach: the Lua state is closing");
  if (S->running) return luaL_error(L, "go.attach: already running");
  need_api(L, S);
  /* what may raise (memory) first: an error must not leave handles in
  ** the loop, nor the scheduler half attached */
  root = go_new_scope(L, S, NULL);
  /* the loop's handles use S: S lives while they do */
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_rawsetp(L, LUA_REGISTRYINDEX, S);
  S->timer = (uv_timer_t *)malloc(sizeof *S->timer);
  S->prepare = (uv_prepare_t *)malloc(sizeof *S->prepare);
  S->check = (uv_check_t *)malloc(sizeof *S->check);
  S->idle = (uv_idle_t *)malloc(sizeof *S->idle);
  if (!S->timer || !S->prepare || !S->check || !S->idle) {
    free(S->timer); free(S->prepare); free(S->check); free(S->idle);
    S->timer = NULL; S->prepare = NULL; S->check = NULL; S->idle = NULL;
    go_unanchor(L, S, root->ref);
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, S);
    return luaL_error(L, "not enough memory");
  }
  uv_timer_init(S->loop, S->timer);
  S->timer->data = S;
  S->timer_at = 0;
  uv_prepare_init(S->loop, S->prepare);
  uv_check_init(S->loop, S->check);
  uv_idle_init(S->loop, S->idle);
  S->prepare->data = S->check->data = S->idle->data = S;
  uv_prepare_start(S->prepare, on_prepare);
  uv_check_start(S->check, on_check);
  uv_unref((uv_handle_t *)S->prepare);  /* only ready tasks and timers */
  uv_unref((uv_handle_t *)S->check);    /* keep the loop alive */
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  S->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  S->root = root;
  S->running = 1;
  S->attached = 1;
  S->in_uv = 1;  /* from now on, wake-ups come from the loop's callbacks */
  lua_pushlightuserdata(L, S);
  lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  return 1;
}

/* go.detach(): ends go.attach once no task is left; returns the errors
** of the tasks nobody joined (a list, maybe empty). */
static int go_detach(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_scope *root = S->root;
  if (!S->attached) return luaL_error(L, "go.detach: not attached");
  if (S->current != NULL) return luaL_error(L, "go.detach: inside a task");
  if (root->all > 0)
    return luaL_error(L, "go.detach: %d task(s) not ended", root->all);
  uv_close((uv_handle_t *)S->prepare, on_closed);
  uv_close((uv_handle_t *)S->check, on_closed);
  uv_close((uv_handle_t *)S->idle, on_closed);
  uv_timer_stop(S->timer);
  uv_close((uv_handle_t *)S->timer, on_closed);
  S->prepare = NULL; S->check = NULL; S->idle = NULL; S->timer = NULL;
  S->timer_at = 0;
  S->running = 0;
  S->attached = 0;
  S->in_uv = 0;
  S->root = NULL;
  lua_pushboolean(L, 0);  /* (false, not nil: the key stays) */
  lua_setfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, S);
  clear_spare(L, S);
  go_push_anchor(L, S, root->ref);
  go_push_uvtable(L, -1, 1);
  go_unanchor(L, S, root->ref);
  root->ref = LUA_NOREF;
  return 1;
}
const luaL_Reg go_sched_functions[] = {
  {"spawn", go_spawn},
  {"run", go_run},
  {"self", go_self},
  {"yield", go_yield},
  {"sleep", go_sleep},
  {"now", go_now},
  {"seed", go_seed},
  {"resume_through", go_resume_through},
  {"tasks", go_tasks},
  {"attach", go_attach},
  {"detach", go_detach},
  {NULL, NULL}
};

/* ---- task methods ---- */

/* Pushes t's outcome: true, its results (kept on its dead thread's
** stack) / false, its error.  idx: t's userdata; room: the slots L is
** known to have free (0: none known).  (Inline: a join's is the end of
** every spawn + join.) */
static inline int push_results(lua_State *L, go_task *t, int idx,
                               int room) {
  int n = t->nres;
  if (t->end != GO_END_OK) {
    lua_pushboolean(L, 0);
    lua_getiuservalue(L, idx, 2);
    return 2;
  }
  if (n >= room) luaL_checkstack(L, n + 1, "too many results");
  lua_pushboolean(L, 1);
  if (n > 0) {
    lua_State *co = t->co;
    int i;
    /* held by the task's uservalue 1 unless Lua code replaced it */
    if (lua_getiuservalue(L, idx, 1) != LUA_TTHREAD ||
        lua_tothread(L, -1) != co)
      return luaL_error(L, "the task's results are gone (its thread replaced)");
    lua_pop(L, 1);
    if (!lua_checkstack(co, n)) return luaL_error(L, "too many results");
    for (i = 1; i <= n; i++) lua_pushvalue(co, i);
    lua_xmove(co, L, n);
  }
  return n + 1;
}

int go_task_results(lua_State *L, go_task *t, int idx) {
  t->joined = 1;
  return push_results(L, t, idx, 0);
}

/* join's: its own LUA_MINSTACK slots are free (it pushed nothing it
** did not pop), so its results need no look at the stack but for more
** than LUA_MINSTACK - 1 results. */
static int join_results(lua_State *L, go_task *t) {
  t->joined = 1;
  return push_results(L, t, 1, LUA_MINSTACK);
}

static int task_join(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_task *t = go_check_task(L, 1), *me;
  int has = 0, fired;
  uint64_t at = 0;
  if (lua_gettop(L) > 1) at = go_deadline(L, 2, &has);  /* (t:join()) */
  /* (from here to each return, L's top is where the call left it: the
  ** LUA_MINSTACK slots Lua gives a C function are free) */
  if (t->state == GO_DONE) return join_results(L, t);
  me = go_current_in_call(L, S, "join");
  if (me == t) return luaL_error(L, "join: a task cannot join itself");
  if (t == S->rq_head && !t->started && !has && S->inline_depth < 8 &&
      S->inline_runs < 16 && !go_is_cancelled(me)) {
    /* never run, and next in the ready queue: it runs now, on the
    ** joiner's stack, as it would once the joiner parked; a task that
    ** never parks then costs no park of its joiner */
    int n, ok, ended;
    S->inline_runs++;  /* (a loop of such joins still parks now and then:
                       ** the drain ends, the loop gets its turn) */
    if (t->nargs + 3 > LUA_MINSTACK)  /* run_task's room, before any
                                      ** change */
      luaL_checkstack(L, t->nargs + 3, NULL);
    rq_remove(S, t);
    S->inline_depth++;
    ended = resume_task(L, S, t, &n, &ok);
    /* the joiner's state back before t's end, which may raise into the
    ** joiner's code (a memory error...) */
    S->inline_depth--;
    S->current = me;
    if (ended) {
      task_ended(L, S, t, ok, n, me);  /* (L's top as before) */
      if (!go_is_cancelled(me))  /* (else its scope got its error) */
        return join_results(L, t);
    }
  }
  if (has && !go_timer_add(S, me, at, 2))
    return luaL_error(L, "not enough memory");
  me->ws = me->w;
  me->nws = 1;
  me->w[0].task = me;
  me->w[0].chan = NULL;
  me->w[0].index = 1;
  go_queue_push(&t->joiners, &me->w[0]);
  fired = go_park(L, S, me, "join");
  if (fired == 2) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  return join_results(L, t);
}

static int task_cancel(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_task *t = go_check_task(L, 1);
  if (t->state == GO_DONE || t->cancelled) return 0;
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 2);  /* (the error's slot: it ends no task) */
  go_cancel_task(S, t);
  return 0;
}

static const char *status_name(go_task *t) {
  switch (t->state) {
    case GO_READY: return "ready";
    case GO_RUNNING: return "running";
    case GO_PARKED: return "parked";
    default:
      return t->end == GO_END_OK ? "done"
             : t->end == GO_END_CANCELLED ? "cancelled" : "failed";
  }
}

static int task_status(lua_State *L) {
  go_task *t = go_check_task(L, 1);
  lua_pushstring(L, status_name(t));
  return 1;
}

static int task_id(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)go_check_task(L, 1)->id);
  return 1;
}

static int task_name(lua_State *L) {
  go_check_task(L, 1);
  lua_getiuservalue(L, 1, 4);
  return 1;
}

static int task_waiting(lua_State *L) {
  go_task *t = go_check_task(L, 1);
  if (t->state != GO_PARKED || t->what == NULL) return 0;
  lua_pushstring(L, t->what);
  return 1;
}

static int task_traceback(lua_State *L) {
  go_task *t = go_check_task(L, 1);
  if (t->state == GO_DONE) return 0;
  luaL_traceback(L, t->co, NULL, 0);
  return 1;
}

/* Pushes "file:line" of t's go.spawn call (t's userdata at idx), or "?". */
static void push_spawn_site(lua_State *L, go_task *t, int idx) {
  lua_Debug ar;
  if (lua_getiuservalue(L, idx, 3) == LUA_TFUNCTION &&
      lua_getinfo(L, ">S", &ar))
    lua_pushfstring(L, "%s:%d", ar.short_src, t->spawn_line);
  else {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
}

/* t:spawned_at(): "file:line" of the go.spawn call. */
static int task_spawned_at(lua_State *L) {
  push_spawn_site(L, go_check_task(L, 1), 1);
  return 1;
}

static int task_join_op(lua_State *L) {
  go_check_task(L, 1);
  go_new_op(L, go_sched_of(L), GO_OP_JOIN, 1);
  return 1;
}

static int task_tostring(lua_State *L) {
  go_task *t = go_check_task(L, 1);
  lua_getiuservalue(L, 1, 4);
  if (lua_isnil(L, -1))
    lua_pushfstring(L, "task %d (%s)", (int)t->id, status_name(t));
  else
    lua_pushfstring(L, "task %d %s (%s)", (int)t->id,
                    luaL_tolstring(L, -1, NULL), status_name(t));
  return 1;
}

static const luaL_Reg task_methods[] = {
  {"join", task_join},
  {"cancel", task_cancel},
  {"status", task_status},
  {"id", task_id},
  {"name", task_name},
  {"waiting", task_waiting},
  {"traceback", task_traceback},
  {"spawned_at", task_spawned_at},
  {"join_op", task_join_op},
  {NULL, NULL}
};

/* The task metatable (upvalue 1: the scheduler, at the stack top). */
int go_task_open(lua_State *L) {
  go_sched *S = (go_sched *)lua_touserdata(L, -1);
  luaL_newmetatable(L, TASK_MT);
  lua_pushvalue(L, -1);
  /* (not in one expression with the look-up: luaL_ref pops, and the
  ** order of an assignment's operands is unspecified; clang differs) */
  S->ref_task_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, task_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, task_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  return 0;
}
