/*
** scope.c: cancel scopes (go.scope, go.timeout, go.shield, go.run's root)
** and cancellation.
**
** A task is cancelled when t:cancel was called or a scope it is inside is
** cancelled, up to the nearest shield.  The scopes a task is inside are
** its own (opened by its body, innermost first), then its spawn scope and
** that scope's chain.  Cancellation is delivered at park sites as a Lua
** error (go.Cancelled), so C frames under the park unwind normally.
*/
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"

#define SCOPE_MT "ucoro.go.scope"

int go_is_cancelled_walk(go_task *t) {
  go_scope *s;
  if (t->nocancel) return 0;
  for (s = t->scope; s != NULL && s != t->spawn; s = s->parent) {
    if (s->cancelled) return 1;
    if (s->shield) return 0;
  }
  if (t->cancelled) return 1;
  for (s = t->spawn; s != NULL; s = s->parent) {
    if (s->cancelled) return 1;
    if (s->shield) return 0;
  }
  return 0;
}

/* Pushes why t is cancelled (the reason given to cancel, or the scope's). */
void go_push_reason(lua_State *L, go_task *t) {
  go_scope *s;
  go_sched *S = t->S;
  for (s = t->scope; s != NULL && s != t->spawn; s = s->parent) {
    if (s->cancelled) goto scope;
    if (s->shield) break;
  }
  if (t->cancelled || s == NULL || s != t->spawn) {
    go_push_anchor(L, S, t->ref);
    lua_getiuservalue(L, -1, 2);  /* (t:cancel's reason) */
    lua_remove(L, -2);
    return;
  }
  for (s = t->spawn; s != NULL && !s->cancelled; s = s->parent) {}
  if (s == NULL) {
    lua_pushnil(L);
    return;
  }
scope:
  go_push_anchor(L, S, s->ref);
  lua_getiuservalue(L, -1, 2);
  lua_remove(L, -2);
}

static void recheck(go_task *t) {
  if (t->state == GO_PARKED && go_is_cancelled(t))
    go_wake(t, t->token, GO_FIRED_CANCEL);
}

/* Rechecks every task below scope top: its children, the tasks in the
** scopes they opened, and so on, depth first.  Without recursion: scopes
** nest as deep as tasks do (each task a scope inside the last), and a
** cancel may run on a task's stack.  A scope s below top is in the chain
** of scopes its owner opened (innermost first, s->parent outward, up to
** the owner's spawn scope), which is how the walk climbs back. */
static void visit_children(go_scope *top) {
  go_scope *s = top;
  go_task *c = s->children;
  for (;;) {
    if (c != NULL) {
      recheck(c);
      if (c->scope != NULL && c->scope != c->spawn) {  /* c's own scopes */
        s = c->scope;
        c = s->children;
      } else {
        c = c->sib_next;
      }
      continue;
    }
    if (s == top) return;
    if (s->parent != s->owner->spawn) {  /* the owner's next scope out */
      s = s->parent;
      c = s->children;
    } else {  /* the owner's scopes done: its next sibling */
      c = s->owner->sib_next;
      s = s->owner->spawn;
    }
  }
}

/* The children of the scopes t opened, below `until`. */
static void visit_task(go_task *t, go_scope *until) {
  go_scope *s;
  for (s = t->scope; s != NULL && s != until; s = s->parent)
    visit_children(s);
}

static void wake_all(go_wait_queue *q) {
  go_waiter *w;
  while ((w = q->head) != NULL) {
    go_queue_remove(q, w);
    go_wake(w->task, w->task->token, w->index);
  }
}

void go_cancel_scope(go_sched *S, go_scope *s) {
  (void)S;
  if (s == NULL || s->cancelled) return;
  s->cancelled = 1;
  wake_all(&s->done_waiters);
  visit_children(s);
  if (s->owner != NULL) {
    recheck(s->owner);
    visit_task(s->owner, s);
  }
}

void go_cancel_task(go_sched *S, go_task *t) {
  (void)S;
  t->cancelled = 1;
  recheck(t);
  visit_task(t, t->spawn);
}

/* Before t parks: a passed deadline of one of its own scopes cancels it;
** the earliest to come arms t's timer. */
void go_scope_deadline(go_sched *S, go_task *t) {
  go_scope *s, *first = NULL;
  uint64_t now = 0;
  for (s = t->scope; s != NULL && s != t->spawn; s = s->parent)
    if (s->deadline != 0 && !s->cancelled &&
        (first == NULL || s->deadline < first->deadline))
      first = s;
  if (first == NULL) return;
  now = uv_hrtime();
  if (first->deadline <= now) {
    go_cancel_scope(S, first);
    return;
  }
  if (t->heap_index >= 0) {
    if (t->deadline <= first->deadline) return;
    go_timer_remove(S, t);
  }
  if (go_timer_add(S, t, first->deadline, GO_FIRED_DEADLINE))
    t->timer_scope = first;
}

/* The error of s's child (at err_idx) that nobody joined (go.h:
** go_scope_child_ended): the scope gets it, siblings stop. */
void go_scope_child_failed(lua_State *L, go_sched *S, go_scope *s,
                           int err_idx) {
  go_push_anchor(L, S, s->ref);
  go_push_uvtable(L, -1, 1);
  lua_pushvalue(L, err_idx);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
  if (!s->cancelled && !s->supervise) {
    lua_pushvalue(L, err_idx);
    lua_setiuservalue(L, -2, 2);
  }
  lua_pop(L, 1);
  if (!s->supervise) {  /* (a supervisor's body handles or raises it) */
    s->failed = 1;
    go_cancel_scope(S, s);
  }
}

void go_scope_wake_waiters(go_scope *s) { wake_all(&s->waiters); }

/* Pushes a new scope (its userdata), inside owner's current scope. */
go_scope *go_new_scope(lua_State *L, go_sched *S, go_task *owner) {
  go_scope *s = (go_scope *)lua_newuserdatauv(L, sizeof *s, 2);
  memset(s, 0, sizeof *s);
  s->check = GO_CHECK_WORD(s);
  luaL_setmetatable(L, SCOPE_MT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  s->owner = owner;
  s->parent = owner != NULL ? owner->scope : NULL;
  s->ref = go_anchor(L, S, -1);
  return s;
}

/* The owner waits (not cancellable) until s has no child left; daemons
** are cancelled once the others have ended.  Returns 0; or
** GO_FIRED_ERROR, the error on top, where no park is possible (inside a
** finalizer): raises nothing, t's state put back.  (Room for 4 values.) */
static int scope_wait(lua_State *L, go_sched *S, go_scope *s, go_task *t) {
  int saved = t->nocancel, fired = 0;
  if (go_is_cancelled(t)) go_cancel_scope(S, s);
  t->nocancel = 1;
  while (s->all > 0 && fired != GO_FIRED_ERROR) {
    if (s->live == 0) go_cancel_scope(S, s);
    t->ws = t->w;
    t->nws = 1;
    t->w[0].task = t;
    t->w[0].chan = NULL;
    t->w[0].index = 1;
    go_queue_push(&s->waiters, &t->w[0]);
    t->fired = GO_NOT_FIRED;
    fired = go_park_code(L, S, t, "scope");  /* (never cancelled) */
  }
  t->nocancel = saved;
  return fired == GO_FIRED_ERROR ? fired : 0;
}

static int is_cancelled_error(lua_State *L, go_sched *S, int idx) {
  int r;
  if (!lua_getmetatable(L, idx)) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_cancelled_mt);
  r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}

/* Runs f(scope, ...) in a new scope of the current task (arguments from
** index 2, its timeout at 1, may be nil), waits for its children, and
** returns f's results; raises the first error (a supervising scope's
** children's too, once all have ended, unless its body took them out of
** scope:errors()).  Returns -1 when the scope's own deadline cancelled f
** (nothing pushed). */
static int run_scope(lua_State *L, const char *op, int shield,
                     int supervise) {
  go_sched *S = go_sched_of(L);
  go_task *t = go_current(L, S, op);
  go_scope *s;
  int status, base, nargs = lua_gettop(L) - 2, timed_out = 0;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  s = go_new_scope(L, S, t);
  s->shield = shield;
  s->supervise = supervise;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    int has;
    s->deadline = go_deadline(L, 1, &has);
    if (s->deadline == 0) s->deadline = 1;
  }
  lua_insert(L, 1);  /* scope at 1, options at 2, f at 3 */
  base = 2;
  t->scope = s;
  lua_pushvalue(L, 1);
  lua_insert(L, 4);  /* f(scope, ...) */
  status = lua_pcall(L, nargs + 1, LUA_MULTRET, 0);
  /* from here, what may raise runs with t back in its outer scope: an
  ** error must not leave it inside s for good */
  if (status == LUA_OK && !lua_checkstack(L, 8)) {  /* f's results filled
    ** the stack: no room for the wait */
    lua_settop(L, base);
    lua_pushliteral(L, "stack overflow (too many results)");
    status = LUA_ERRRUN;
  }
  if (status != LUA_OK) {
    int own = 0;
    if (is_cancelled_error(L, S, -1) && s->cancelled) {
      /* its own cancellation (deadline, scope:cancel(), a child's
      ** failure) ends it: not an error of its own */
      go_scope *keep = t->scope;
      t->scope = s->parent;
      own = !go_is_cancelled(t);
      t->scope = keep;
      timed_out = own && !s->failed;
    }
    if (!own) {  /* the body's error comes first */
      lua_Integer i;
      s->failed = 1;
      go_cancel_scope(S, s);  /* (t still in s: cancelling s visits t
                              ** from s, not from s's parent, which would
                              ** walk all of t's outer scopes each time) */
      t->scope = s->parent;  /* (a memory error raised here: s is left
                             ** to its children, cancelled, anchored) */
      go_push_uvtable(L, 1, 1);
      for (i = (lua_Integer)lua_rawlen(L, -1); i >= 1; i--) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
      }
      lua_pushvalue(L, -2);
      lua_rawseti(L, -2, 1);
      lua_pop(L, 1);
      t->scope = s;
    }
    go_cancel_scope(S, s);
  }
  if (scope_wait(L, S, s, t) == GO_FIRED_ERROR) {
    /* no wait possible here (a finalizer): s is left to its children,
    ** cancelled (they name it: it stays anchored) */
    t->scope = s->parent;
    go_cancel_scope(S, s);
    return lua_error(L);
  }
  t->scope = s->parent;
  go_unanchor(L, S, s->ref);
  s->ref = LUA_NOREF;
  go_push_uvtable(L, 1, 1);
  lua_rawgeti(L, -1, 1);  /* the first error */
  if (s->failed || (supervise && !lua_isnil(L, -1))) return lua_error(L);
  lua_pop(L, 2);
  if (timed_out) return -1;
  return lua_gettop(L) - base;
}

/* go.scope([{timeout=, supervise=},] f, ...): f(scope, ...) with its own
** scope: spawns inside it belong to it; it returns once they have all
** ended.  A child's error (unless joined) cancels the rest and is raised,
** as is f's own; with supervise, it cancels nothing and is raised once
** all have ended.  At the timeout: nil, "timeout". */
static int go_scope_fn(lua_State *L) {
  int n, supervise = 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      if (strcmp(k, "timeout") != 0 && strcmp(k, "supervise") != 0)
        return luaL_error(L, "go.scope: unknown option '%s'", k);
      lua_pop(L, 1);
    }
    lua_getfield(L, 1, "supervise");
    supervise = lua_toboolean(L, -1);
    if (lua_getfield(L, 1, "timeout") != LUA_TNIL && !lua_isnumber(L, -1))
      return luaL_error(L, "go.scope: option timeout must be a number");
    lua_replace(L, 1);
    lua_pop(L, 1);
  } else {
    lua_pushnil(L);
    lua_insert(L, 1);
  }
  n = run_scope(L, "go.scope", 0, supervise);
  if (n < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  return n;
}

/* go.timeout(s, f, ...): true, f's results; or nil, "timeout" when s
** seconds passed first (f and its children were cancelled). */
static int go_timeout(lua_State *L) {
  int n;
  luaL_checknumber(L, 1);
  n = run_scope(L, "go.timeout", 0, 0);
  if (n < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(n + 1));
  return n + 1;
}

/* go.shield(f, ...): f(scope, ...) shielded from outer cancellation. */
static int go_shield(lua_State *L) {
  int n;
  lua_pushnil(L);
  lua_insert(L, 1);
  n = run_scope(L, "go.shield", 1, 0);
  return n < 0 ? 0 : n;
}

static go_scope *check_scope(lua_State *L) {
  return GO_CHECK(L, 1, go_scope, SCOPE_MT);
}

static int scope_cancel(lua_State *L) {
  go_scope *s = check_scope(L);
  if (s->cancelled || s->ref == LUA_NOREF) return 0;
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 2);
  go_cancel_scope(go_sched_of(L), s);
  return 0;
}

static int scope_cancelled(lua_State *L) {
  lua_pushboolean(L, check_scope(L)->cancelled);
  return 1;
}

/* scope:done_op(): a select op ready once the scope is cancelled. */
static int scope_done_op(lua_State *L) {
  check_scope(L);
  lua_createtable(L, 2, 0);
  lua_pushinteger(L, GO_OP_DONE);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 2);
  return 1;
}

static int scope_errors(lua_State *L) {
  check_scope(L);
  go_push_uvtable(L, 1, 1);
  return 1;
}

static const luaL_Reg scope_methods[] = {
  {"cancel", scope_cancel},
  {"cancelled", scope_cancelled},
  {"errors", scope_errors},
  {"done_op", scope_done_op},
  {NULL, NULL}
};

const luaL_Reg go_scope_functions[] = {
  {"scope", go_scope_fn},
  {"timeout", go_timeout},
  {"shield", go_shield},
  {NULL, NULL}
};

static int scope_gc(lua_State *L) {
  go_scope *s = GO_TO(L, 1, go_scope);
  if (s == NULL) return 0;  /* another userdata, given our metatable */
  go_queue_drop(&s->waiters);
  go_queue_drop(&s->done_waiters);
  s->finalized = 1;
  return 0;
}

int go_scope_open(lua_State *L) {
  luaL_newmetatable(L, SCOPE_MT);
  lua_pushcfunction(L, scope_gc);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, scope_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  return 0;
}
