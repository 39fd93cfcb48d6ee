/*
** chan.c: Go's channels and select.
**
** A channel's values live in its box (its uservalue table): buffered ones
** at 1..cap (a ring), a parked sender's under its waiter's address, and a
** value handed to a parked receiver under the receiver's waiter's.  A
** partner that finds a waiter completes the operation for both (direct
** hand-off), marks the waiter and wakes its task; the task reads the box
** when it runs.  Waiters of a select whose other case already fired are
** skipped (the task unregisters them when it runs).
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"

#define CHAN_MT "ucoro.go.chan"

/* For the methods (upvalue 1: the scheduler): the metatable compared by
** address, not looked up by name. */
static go_chan *check_chan(lua_State *L, int idx) {
  go_sched *S = go_sched_of(L);
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_getmetatable(L, idx)) {
    const void *mt = lua_topointer(L, -1);
    lua_pop(L, 1);
    if (mt == S->chan_mt) return (go_chan *)p;
  }
  return (go_chan *)luaL_checkudata(L, idx, CHAN_MT);
}

static go_chan *check_chan_slow(lua_State *L, int idx) {
  return (go_chan *)luaL_checkudata(L, idx, CHAN_MT);
}

/* The first waiter of q whose park is still waiting, off the queue. */
static go_waiter *take_waiter(go_wait_queue *q) {
  go_waiter *w;
  while ((w = q->head) != NULL) {
    go_queue_remove(q, w);
    if (w->task->state == GO_PARKED && w->task->fired == GO_NOT_FIRED)
      return w;
  }
  return NULL;
}

static int has_waiter(go_wait_queue *q) {
  go_waiter *w;
  for (w = q->head; w != NULL; w = w->next)
    if (w->task->state == GO_PARKED && w->task->fired == GO_NOT_FIRED)
      return 1;
  return 0;
}

static void complete(go_waiter *w, int ok) {
  go_task *t = w->task;
  w->ok = ok;
  t->fired_ok = ok;
  t->fired_key = w;
  go_wake(t, t->token, w->index);
}

/* Receives without parking; box at bi.  1: the value pushed; 0: closed
** and empty; -1: would block. */
static int recv_now(lua_State *L, go_chan *c, int bi) {
  go_waiter *w = take_waiter(&c->sendq);
  if (w != NULL) {
    if (c->cap > 0) {  /* full: the head out, the sender's value in */
      lua_rawgeti(L, bi, c->head + 1);
      lua_rawgetp(L, bi, w);
      lua_rawseti(L, bi, c->head + 1);
      c->head = (c->head + 1) % c->cap;
    } else {
      lua_rawgetp(L, bi, w);
    }
    lua_pushnil(L);
    lua_rawsetp(L, bi, w);
    complete(w, 1);
    return 1;
  }
  if (c->count > 0) {
    lua_rawgeti(L, bi, c->head + 1);
    lua_pushnil(L);
    lua_rawseti(L, bi, c->head + 1);
    c->head = (c->head + 1) % c->cap;
    c->count--;
    return 1;
  }
  return c->closed ? 0 : -1;
}

/* Sends the value at vi without parking; box at bi.  1: sent; 0: would
** block.  Raises on a closed channel. */
static int send_now(lua_State *L, go_chan *c, int bi, int vi) {
  go_waiter *w;
  if (c->closed) return luaL_error(L, "send on closed channel");
  w = take_waiter(&c->recvq);
  if (w != NULL) {
    lua_pushvalue(L, vi);
    lua_rawsetp(L, bi, w);
    complete(w, 1);
    return 1;
  }
  if (c->count < c->cap) {
    lua_pushvalue(L, vi);
    lua_rawseti(L, bi, (lua_Integer)(((long long)c->head + c->count) % c->cap) + 1);
    c->count++;
    return 1;
  }
  return 0;
}

static int recv_ready(go_chan *c) {
  return c->count > 0 || c->closed || has_waiter(&c->sendq);
}

static int send_ready(go_chan *c) {
  return c->closed || c->count < c->cap || has_waiter(&c->recvq);
}

/* The value a completed park received (its waiter w): pushed. */
static void take_handed(lua_State *L, int bi, void *w) {
  lua_rawgetp(L, bi, w);
  lua_pushnil(L);
  lua_rawsetp(L, bi, w);
}

static void push_closed(lua_State *L) {
  lua_pushnil(L);
  lua_pushboolean(L, 0);
  lua_pushliteral(L, "closed");
}

static void setup_waiter(go_task *t, go_waiter *w, go_chan *c, int index,
                         int send) {
  w->task = t;
  w->chan = c;
  w->index = index;
  w->send = send;
  w->ok = 0;
  go_queue_push(send ? &c->sendq : &c->recvq, w);
}

/* go.chan([cap]) */
static int chan_new(lua_State *L) {
  lua_Integer cap = luaL_optinteger(L, 1, 0);
  go_chan *c;
  luaL_argcheck(L, cap >= 0 && cap <= 0x7fffffff, 1,
                "capacity must be a non-negative integer");
  c = (go_chan *)lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  c->cap = (int)cap;
  c->serial = go_random(go_sched_of(L)) | 1;
  luaL_setmetatable(L, CHAN_MT);
  lua_createtable(L, cap < 64 ? (int)cap : 64, 0);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* ch:send(v [, timeout]) -> true | false, "timeout"; raises on closed. */
static int chan_send(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_chan *c = check_chan(L, 1);
  int has, fired;
  uint64_t at = go_deadline(L, 3, &has);
  go_task *t;
  lua_settop(L, 3);
  go_push_uvtable(L, 1, 1);  /* box at 4 */
  if (send_now(L, c, 4, 2)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  t = go_current(L, S, "send");
  /* the value in the box before the waits (the box may grow: a memory
  ** error must not leave a wait registered) */
  lua_pushvalue(L, 2);
  lua_rawsetp(L, 4, &t->w[0]);
  if (has && !go_timer_add(S, t, at, 2)) {
    lua_pushnil(L);
    lua_rawsetp(L, 4, &t->w[0]);
    return luaL_error(L, "not enough memory");
  }
  t->ws = t->w;
  t->nws = 1;
  setup_waiter(t, &t->w[0], c, 1, 1);
  fired = go_park_code(L, S, t, "send");
  if (fired != 1 || !t->w[0].ok) {  /* not taken: drop the value */
    lua_pushnil(L);
    lua_rawsetp(L, 4, &t->w[0]);
  }
  if (fired == GO_FIRED_ERROR) return lua_error(L);
  if (fired == GO_FIRED_CANCEL) return go_raise_cancelled(L, t);
  if (fired == 2) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  if (!t->w[0].ok) return luaL_error(L, "send on closed channel");
  lua_pushboolean(L, 1);
  return 1;
}

/* ch:recv([timeout]) -> v, true | nil, false, "closed" | "timeout" */
static int chan_recv(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_chan *c = check_chan(L, 1);
  int has, fired, r;
  uint64_t at = go_deadline(L, 2, &has);
  go_task *t;
  lua_settop(L, 2);
  go_push_uvtable(L, 1, 1);  /* box at 3 */
  r = recv_now(L, c, 3);
  if (r > 0) {
    lua_pushboolean(L, 1);
    return 2;
  }
  if (r == 0) {
    push_closed(L);
    return 3;
  }
  t = go_current(L, S, "recv");
  if (has && !go_timer_add(S, t, at, 2))
    return luaL_error(L, "not enough memory");
  t->ws = t->w;
  t->nws = 1;
  setup_waiter(t, &t->w[0], c, 1, 0);
  fired = go_park(L, S, t, "recv");
  if (fired == 2) {
    lua_pushnil(L);
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "timeout");
    return 3;
  }
  if (!t->w[0].ok) {
    push_closed(L);
    return 3;
  }
  take_handed(L, 3, &t->w[0]);
  lua_pushboolean(L, 1);
  return 2;
}

/* ch:try_send(v) -> true | false (full); raises on closed. */
static int chan_try_send(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  lua_settop(L, 2);
  go_push_uvtable(L, 1, 1);
  lua_pushboolean(L, send_now(L, c, 3, 2));
  return 1;
}

/* ch:try_recv() -> v, true | nil, false, "closed" | "empty" */
static int chan_try_recv(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  int r;
  lua_settop(L, 1);
  go_push_uvtable(L, 1, 1);
  r = recv_now(L, c, 2);
  if (r > 0) {
    lua_pushboolean(L, 1);
    return 2;
  }
  lua_pushnil(L);
  lua_pushboolean(L, 0);
  if (r == 0) lua_pushliteral(L, "closed"); else lua_pushliteral(L, "empty");
  return 3;
}

/* ch:close(): receivers get what is buffered, then "closed"; parked
** senders raise "send on closed channel".  A second close raises. */
static int chan_close(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  go_waiter *w;
  if (c->closed) return luaL_error(L, "close of closed channel");
  c->closed = 1;
  while ((w = take_waiter(&c->recvq)) != NULL) complete(w, 0);
  while ((w = take_waiter(&c->sendq)) != NULL) complete(w, 0);
  return 0;
}

static int chan_len(lua_State *L) {
  lua_pushinteger(L, check_chan_slow(L, 1)->count);
  return 1;
}

static int chan_cap(lua_State *L) {
  lua_pushinteger(L, check_chan(L, 1)->cap);
  return 1;
}

static int chan_closed(lua_State *L) {
  lua_pushboolean(L, check_chan(L, 1)->closed);
  return 1;
}

#define OP_MT "ucoro.go.op"

go_op *go_new_op(lua_State *L, go_sched *S, int kind, int idx) {
  go_op *op;
  (void)S;
  if (idx != 0) idx = lua_absindex(L, idx);
  op = (go_op *)lua_newuserdatauv(L, sizeof *op, 2);
  memset(op, 0, sizeof *op);
  op->tag = GO_OP_TAG;
  op->kind = kind;
  luaL_setmetatable(L, OP_MT);
  if (idx != 0) {  /* a channel or a task: its block, size and serial */
    op->target = lua_touserdata(L, idx);
    op->size = lua_rawlen(L, idx);
    op->serial = kind == GO_OP_JOIN ? ((go_task *)op->target)->serial
                                    : ((go_chan *)op->target)->serial;
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, -2, 1);
  }
  return op;
}

static int chan_recv_op(lua_State *L) {
  check_chan(L, 1);
  go_new_op(L, go_sched_of(L), GO_OP_RECV, 1);
  return 1;
}

static int chan_send_op(lua_State *L) {
  check_chan(L, 1);
  lua_settop(L, 2);
  go_new_op(L, go_sched_of(L), GO_OP_SEND, 1);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 2);
  return 1;
}

static int chan_gc(lua_State *L) {
  go_chan *c = (go_chan *)lua_touserdata(L, 1);
  go_queue_drop(&c->recvq);
  go_queue_drop(&c->sendq);
  return 0;
}

static int chan_tostring(lua_State *L) {
  go_chan *c = check_chan_slow(L, 1);
  lua_pushfstring(L, "channel (%d/%d%s)", c->count, c->cap,
                  c->closed ? ", closed" : "");
  return 1;
}

/* go.after(s): an op ready once s seconds have passed (from now). */
static int go_after(lua_State *L) {
  int has;
  uint64_t at = go_deadline(L, 1, &has);
  go_new_op(L, go_sched_of(L), GO_OP_AFTER, 0)->at = at;
  return 1;
}

/* ---- select ---- */

/* A case of a select.  Its op table is the caller's to change, also while
** the select is parked: what it names is read once and kept on the
** select's own stack (target at ti, a send's value at vi), which also
** keeps alive what the case's waiter is queued on. */
typedef struct sel_case {
  int arg, kind, ti, vi;
  void *target;
  void *w;
  uint64_t at;  /* an after op's deadline */
} sel_case;

static int op_kind(lua_State *L, int arg) {
  int kind;
  luaL_argexpected(L, lua_type(L, arg) == LUA_TTABLE, arg, "select operation");
  lua_rawgeti(L, arg, 1);
  kind = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (kind < GO_OP_DEFAULT || kind > GO_OP_DONE)
    luaL_argerror(L, arg, "select operation expected");
  return kind;
}

/* Reads case k's op (at k->arg, its kind known; op: the go_op there, or
** NULL for a table): its target (a channel, a task or a scope, by kind),
** checked (a table made by hand must not pass another userdata for a
** channel; a go_op's, changed by debug.setuservalue, must be the one it
** was made with: its block, size and serial) and pushed, a send's value
** pushed, an after's deadline.  want: the metatable of the kind's
** target. */
static void read_op(lua_State *L, sel_case *k, const go_op *op,
                    const void *want) {
  void *p = NULL;
  if (k->kind == GO_OP_AFTER) {
    if (op != NULL) {
      k->at = op->at;
    } else {
      lua_rawgeti(L, k->arg, 3);
      k->at = (uint64_t)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    k->target = NULL;
    k->ti = k->vi = 0;
    return;
  }
  if (op != NULL) {
    lua_getiuservalue(L, k->arg, 1);
    p = lua_touserdata(L, -1);
    if (p != op->target || p == NULL || lua_rawlen(L, -1) != op->size ||
        (k->kind == GO_OP_JOIN ? ((go_task *)p)->serial
                               : ((go_chan *)p)->serial) != op->serial)
      p = NULL;
  } else {
    lua_rawgeti(L, k->arg, 2);
    p = lua_touserdata(L, -1);
    if (p == NULL || !lua_getmetatable(L, -1)) {
      p = NULL;
    } else {
      if (lua_topointer(L, -1) != want) p = NULL;
      lua_pop(L, 1);
    }
  }
  if (p == NULL) luaL_argerror(L, k->arg, "select operation expected");
  k->target = p;
  k->ti = lua_gettop(L);
  k->vi = 0;
  if (k->kind == GO_OP_SEND) {
    if (op != NULL) lua_getiuservalue(L, k->arg, 2);
    else lua_rawgeti(L, k->arg, 3);
    k->vi = lua_gettop(L);
  }
}

/* The go_op at arg, or NULL (not one: maybe a table op).  Known by its
** size and tag, which costs less than its metatable: whatever a block
** that passes names is checked by read_op all the same, and its kind is
** checked here. */
static const go_op *to_op(lua_State *L, int arg) {
  const go_op *op = (const go_op *)lua_touserdata(L, arg);
  if (op != NULL && lua_rawlen(L, arg) == sizeof(go_op) &&
      op->tag == GO_OP_TAG && op->kind > GO_OP_DEFAULT &&
      op->kind < GO_OP_DONE)
    return op;
  return NULL;
}

static int case_ready(sel_case *k, uint64_t now) {
  switch (k->kind) {
    case GO_OP_RECV: return recv_ready((go_chan *)k->target);
    case GO_OP_SEND: return send_ready((go_chan *)k->target);
    case GO_OP_AFTER: return k->at <= now;
    case GO_OP_JOIN: return ((go_task *)k->target)->state == GO_DONE;
    case GO_OP_DONE: return ((go_scope *)k->target)->cancelled;
    default: return 0;
  }
}

/* Pushes the box of case k's channel (its op's target). */
static int push_box(lua_State *L, sel_case *k) {
  go_push_uvtable(L, k->ti, 1);
  return lua_gettop(L);
}

/* Commits case k, ready now; pushes its index and results. */
static int commit(lua_State *L, sel_case *k) {
  int base = lua_gettop(L), bi;
  lua_pushinteger(L, k->arg);
  switch (k->kind) {
    case GO_OP_RECV:
      bi = push_box(L, k);
      if (recv_now(L, (go_chan *)k->target, bi) > 0) {
        lua_remove(L, bi);
        lua_pushboolean(L, 1);
      } else {
        lua_pop(L, 1);
        push_closed(L);
      }
      break;
    case GO_OP_SEND:  /* closed: ready, to raise (Go's panic) */
      if (((go_chan *)k->target)->closed)
        return luaL_error(L, "send on closed channel");
      bi = push_box(L, k);
      send_now(L, (go_chan *)k->target, bi, k->vi);
      lua_settop(L, base + 1);
      break;
    case GO_OP_JOIN:
      go_task_results(L, (go_task *)k->target, k->ti);
      break;
    default:
      break;
  }
  return lua_gettop(L) - base;
}

/* go.select(op, ...): waits until one op can proceed, commits exactly
** that one, and returns its argument index and its results (recv: v,
** true | nil, false, "closed"; join: the join's results).  nil args are
** disabled cases; go.default makes it not wait.  Among ready ops, one is
** chosen uniformly at random (go.seed). */
static int go_select(lua_State *L) {
  go_sched *S = go_sched_of(L);
  int n = lua_gettop(L), i, m = 0, dflt = 0, nw = 0, fired, timer_case = 0;
  uint64_t now = uv_hrtime(), at = 0;
  sel_case stack_cases[16], *cases = stack_cases;
  go_task *t;
  if (n > 16) cases = (sel_case *)lua_newuserdatauv(L, (size_t)n * sizeof *cases, 0);
  /* room for each case's target and value, and what commit pushes */
  if (n > LUA_MINSTACK / 4)
    luaL_checkstack(L, 2 * n + LUA_MINSTACK, "too many select cases");
  for (i = 1; i <= n; i++) {
    int kind;
    const go_op *op = to_op(L, i);
    if (op != NULL) {
      kind = op->kind;
    } else {
      if (lua_isnil(L, i)) continue;
      kind = op_kind(L, i);
    }
    if (kind == GO_OP_DEFAULT) {
      dflt = i;
      continue;
    }
    cases[m].arg = i;
    cases[m].kind = kind;
    read_op(L, &cases[m], op,
            kind == GO_OP_JOIN ? S->task_mt
            : kind == GO_OP_DONE ? S->scope_mt : S->chan_mt);
    m++;
  }
  {  /* one ready case, uniformly at random (reservoir sampling: the
     ** c-th ready one replaces the choice with probability 1/c) */
    int c = 0, chosen = -1;
    for (i = 0; i < m; i++)
      if (case_ready(&cases[i], now) &&
          (++c == 1 || go_random(S) % (uint64_t)c == 0))
        chosen = i;
    if (chosen >= 0) return commit(L, &cases[chosen]);
  }
  if (dflt) {
    lua_pushinteger(L, dflt);
    return 1;
  }
  t = go_current(L, S, "go.select");
  luaL_checkstack(L, 8, NULL);
  for (i = 0; i < m; i++)
    if (cases[i].kind != GO_OP_AFTER) nw++;
  if (nw > 0) {
    t->ws = nw <= 2 ? t->w : (go_waiter *)calloc((size_t)nw, sizeof(go_waiter));
    if (t->ws == NULL) return luaL_error(L, "not enough memory");
    t->nws = 0;  /* (the task owns ws: freed however this ends) */
  }
  /* the values to send in the boxes before any wait is registered (a box
  ** may grow: a memory error must not leave a wait behind) */
  nw = 0;
  for (i = 0; i < m; i++) {
    sel_case *k = &cases[i];
    if (k->kind == GO_OP_AFTER) continue;
    k->w = &t->ws[nw++];
    if (k->kind == GO_OP_SEND) {
      int bi = push_box(L, k);
      lua_pushvalue(L, k->vi);
      lua_rawsetp(L, bi, k->w);
      lua_pop(L, 1);
    }
  }
  nw = 0;
  for (i = 0; i < m; i++) {
    sel_case *k = &cases[i];
    if (k->kind == GO_OP_AFTER) {
      if (timer_case == 0 || k->at < at) { at = k->at; timer_case = k->arg; }
    } else if (k->kind == GO_OP_JOIN || k->kind == GO_OP_DONE) {
      go_waiter *w = &t->ws[nw++];
      w->task = t;
      w->chan = NULL;
      w->index = k->arg;
      w->send = 0;
      go_queue_push(k->kind == GO_OP_JOIN
                        ? &((go_task *)k->target)->joiners
                        : &((go_scope *)k->target)->done_waiters, w);
    } else {
      go_waiter *w = &t->ws[nw++];
      setup_waiter(t, w, (go_chan *)k->target, k->arg, k->kind == GO_OP_SEND);
    }
    t->nws = nw;
  }
  if (timer_case && !go_timer_add(S, t, at, timer_case)) {
    go_unregister(t);
    return luaL_error(L, "not enough memory");
  }
  if (m == 0) t->what = NULL;  /* select{}: waits forever */
  fired = go_park_code(L, S, t, "select");
  for (i = 0; i < m; i++) {  /* values not taken leave the boxes */
    sel_case *k = &cases[i];
    if (k->kind == GO_OP_SEND) {
      int bi = push_box(L, k);
      lua_pushnil(L);
      lua_rawsetp(L, bi, k->w);
      lua_pop(L, 1);
    }
  }
  if (fired == GO_FIRED_ERROR) return lua_error(L);
  if (fired == GO_FIRED_CANCEL) return go_raise_cancelled(L, t);
  for (i = 0; i < m; i++) {
    sel_case *k = &cases[i];
    if (k->arg != fired) continue;
    lua_pushinteger(L, fired);
    switch (k->kind) {
      case GO_OP_RECV: {
        int bi = push_box(L, k);
        if (!t->fired_ok) {
          lua_pop(L, 1);
          push_closed(L);
          return 4;
        }
        take_handed(L, bi, t->fired_key);
        lua_remove(L, bi);
        lua_pushboolean(L, 1);
        return 3;
      }
      case GO_OP_SEND:
        if (!t->fired_ok) return luaL_error(L, "send on closed channel");
        return 1;
      case GO_OP_JOIN: {
        int base = lua_gettop(L);
        go_task_results(L, (go_task *)k->target, k->ti);
        return lua_gettop(L) - base + 1;
      }
      default:
        return 1;
    }
  }
  return luaL_error(L, "go.select: woken by no case");
}

static const luaL_Reg chan_methods[] = {
  {"send", chan_send},
  {"recv", chan_recv},
  {"try_send", chan_try_send},
  {"try_recv", chan_try_recv},
  {"close", chan_close},
  {"cap", chan_cap},
  {"closed", chan_closed},
  {"recv_op", chan_recv_op},
  {"send_op", chan_send_op},
  {NULL, NULL}
};

const luaL_Reg go_chan_functions[] = {
  {"chan", chan_new},
  {"select", go_select},
  {"after", go_after},
  {NULL, NULL}
};

/* The channel metatable (the scheduler at the stack top); leaves the
** methods table on the stack, for the facade. */
int go_chan_open(lua_State *L) {
  luaL_newmetatable(L, CHAN_MT);
  ((go_sched *)lua_touserdata(L, -2))->chan_mt = lua_topointer(L, -1);
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, chan_methods, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_pushcfunction(L, chan_len);
  lua_setfield(L, -3, "__len");
  lua_pushcfunction(L, chan_tostring);
  lua_setfield(L, -3, "__tostring");
  lua_pushcfunction(L, chan_gc);
  lua_setfield(L, -3, "__gc");
  lua_remove(L, -2);
  luaL_newmetatable(L, OP_MT);  /* select ops (for their name) */
  lua_pushliteral(L, "select operation");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  return 1;
}
