/*
** chan.c: Go's channels and select.
**
** A channel's buffered values live in its box (its uservalue table, at
** 1..cap: a ring).  An unbuffered hand-off uses no box: a parked sender's
** value stays in its own frame, and a value for a parked receiver is
** pushed onto the receiver's thread, above its frame, where the thread
** keeps it until it runs (go.h: go_waiter).  A partner that finds a
** waiter completes the operation for both (direct hand-off), marks the
** waiter and wakes its task.  Waiters of a select whose other case already
** fired are skipped (the task unregisters them when it runs).
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"

#define CHAN_MT "ucoro.go.chan"

#define check_chan(L, idx) GO_CHECK((L), (idx), go_chan, CHAN_MT)

/* What a waiter w is to a partner now. */
enum { GONE = 0, PARTNER = 1, PARKING = -1, DROPPED = -2 };

/* Its task is parked and not woken yet (else GONE: off the queue), its
** frame intact (else DROPPED: a coroutine closed while parked
** (ucoro.close) has none, nor has a generator's (go.coroutine) once its
** task's frames, which hold it, are gone; woken, to end).  A task whose
** park is still being made (the task running) is PARKING, stays queued,
** when the finalizer that asks runs on its thread (its frame is not on
** top) or its frame is not ready yet (a generator's yield on its way);
** else a partner, as when the scheduler's code that ends a first park
** runs a finalizer.  L: the thread that asks; NULL for a close, which
** needs no frame and wakes also a task that is parking. */
static int partner(go_waiter *w, lua_State *L) {
  go_task *t = w->task;
  lua_Debug ar;
  if (t->state != GO_PARKED || t->fired != GO_NOT_FIRED) return GONE;
  if (L == NULL) return PARTNER;
  if (t == t->S->current)
    return L == w->L || lua_gettop(w->L) != w->top ? PARKING : PARTNER;
  if (w->L != t->co && !lua_getstack(t->co, 0, &ar)) return DROPPED;
  return lua_gettop(w->L) == w->top ? PARTNER : DROPPED;
}

/* Ends the park of w's task (parked, not woken yet: partner()). */
static void complete(go_waiter *w, int ok) {
  go_task *t = w->task;
  w->ok = ok;
  t->fired_ok = ok;
  go_fire(t, w->index);
}

/* The first partner on q, off the queue; waiters whose park ended leave
** the queue on the way, those of a task parking now stay. */
static inline go_waiter *take_waiter(go_wait_queue *q, lua_State *L) {
  go_waiter *w = q->head, *next;
  for (; w != NULL; w = next) {
    int p = partner(w, L);
    next = w->next;
    if (p == PARKING) continue;
    go_queue_remove(q, w);
    if (p == PARTNER) return w;
    if (p == DROPPED) complete(w, 0);
  }
  return NULL;
}

static int has_waiter(go_wait_queue *q, lua_State *L) {
  go_waiter *w;
  for (w = q->head; w != NULL; w = w->next)
    if (partner(w, L) == PARTNER) return 1;
  return 0;
}

/* Pushes the value of the parked sender w (moved off its frame when on
** top: its park is ending, and its frame needs it no more). */
static void push_sent(lua_State *L, go_waiter *w) {
  if (w->vi != w->top)
    lua_pushvalue(w->L, w->vi);  /* (its frame has room: go_current) */
  lua_xmove(w->L, L, 1);
}

/* Moves the top of L to the parked receiver w. */
static void hand(lua_State *L, go_waiter *w) {
  lua_xmove(L, w->L, 1);
}

/* Pushes the box of the channel at ci (buffered). */
static int push_box(lua_State *L, int ci) {
  go_push_uvtable(L, ci, 1);
  return lua_gettop(L);
}

/* The ring's head pushed and taken out (box at bi). */
static void ring_take(lua_State *L, go_chan *c, int bi) {
  lua_rawgeti(L, bi, c->head + 1);
  lua_pushnil(L);
  lua_rawseti(L, bi, c->head + 1);
  c->head = (c->head + 1) % c->cap;
  c->count--;
}

/* The top of L appended to the ring (box at bi; not full). */
static void ring_put(lua_State *L, go_chan *c, int bi) {
  lua_rawseti(L, bi, (lua_Integer)(((long long)c->head + c->count) % c->cap) + 1);
  c->count++;
}

/* Receives without parking (the channel at ci).  1: the value pushed; 0:
** closed and empty; -1: would block; 2 (keep_box only): the value pushed
** above the channel's box. */
static int recv_now(lua_State *L, go_chan *c, int ci, int keep_box) {
  go_waiter *w;
  int bi;
  if (c->count == 0) {  /* (unbuffered: always) */
    if ((w = take_waiter(&c->sendq, L)) == NULL) return c->closed ? 0 : -1;
    push_sent(L, w);
    complete(w, 1);
    return 1;
  }
  bi = push_box(L, ci);
  ring_take(L, c, bi);
  if ((w = take_waiter(&c->sendq, L)) != NULL) {  /* its value in */
    push_sent(L, w);
    ring_put(L, c, bi);
    complete(w, 1);
  }
  if (keep_box) return 2;  /* (the caller's to drop) */
  lua_remove(L, bi);
  return 1;
}

/* Sends the value at vi without parking (the channel at ci).  1: sent;
** 0: would block.  Raises on a closed channel.  top: vi is the top, and
** the caller needs it no more (it may move to a receiver). */
static int send_now(lua_State *L, go_chan *c, int ci, int vi, int top) {
  go_waiter *w;
  int bi;
  if (c->closed) return luaL_error(L, "send on closed channel");
  if ((w = take_waiter(&c->recvq, L)) != NULL) {
    if (c->count == 0) {  /* (unbuffered: always) */
      if (!top) lua_pushvalue(L, vi);
    } else {  /* (a receiver queued while its task parked: the oldest
              ** value is its, this one goes in) */
      bi = push_box(L, ci);
      ring_take(L, c, bi);
      lua_pushvalue(L, vi);
      ring_put(L, c, bi);
      lua_remove(L, bi);
    }
    hand(L, w);
    complete(w, 1);
    return 1;
  }
  if (c->count < c->cap) {
    bi = push_box(L, ci);
    lua_pushvalue(L, vi);
    ring_put(L, c, bi);
    lua_pop(L, 1);
    return 1;
  }
  return 0;
}

static int recv_ready(lua_State *L, go_chan *c) {
  return c->count > 0 || c->closed || has_waiter(&c->sendq, L);
}

static int send_ready(lua_State *L, go_chan *c) {
  return c->closed || c->count < c->cap || has_waiter(&c->recvq, L);
}

static void push_closed(lua_State *L) {
  lua_pushnil(L);
  lua_pushboolean(L, 0);
  lua_pushliteral(L, "closed");
}

/* w waits on c (at ci), on L (vi: a send's value), whose frame ends at
** top. */
static void setup_waiter(lua_State *L, go_task *t, go_waiter *w, go_chan *c,
                         int ci, int index, int vi, int top) {
  go_rearm(L, ci, &c->finalized);
  w->task = t;
  w->chan = c;
  w->L = L;
  w->top = top;
  w->vi = vi;
  w->index = index;
  w->ok = 0;
  go_queue_push(vi ? &c->sendq : &c->recvq, w);
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
  c->S = go_sched_of(L);
  c->serial = go_random(c->S) | 1;
  c->check = GO_CHECK_WORD(c);
  luaL_setmetatable(L, CHAN_MT);
  if (cap > 0) {  /* (an unbuffered channel's box is never used) */
    lua_createtable(L, cap < 64 ? (int)cap : 64, 0);
    lua_setiuservalue(L, -2, 1);
  }
  return 1;
}

/* ch:send(v [, timeout]) -> true | false, "timeout"; raises on closed. */
static int chan_send(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  int top = lua_gettop(L), has = 0, fired;
  uint64_t at = top >= 3 ? go_deadline(L, 3, &has) : 0;
  go_task *t;
  if (top < 2) lua_settop(L, top = 2);
  if (send_now(L, c, 1, 2, top == 2)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  t = go_current_in_call(L, c->S, "send");
  if (has && !go_timer_add(c->S, t, at, 2))
    return luaL_error(L, "not enough memory");
  t->ws = t->w;
  t->nws = 1;
  setup_waiter(L, t, &t->w[0], c, 1, 1, 2, top);
  fired = go_park(L, c->S, t, "send");
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
  go_chan *c = check_chan(L, 1);
  int top = lua_gettop(L), has = 0, fired, r;
  uint64_t at = top >= 2 ? go_deadline(L, 2, &has) : 0;
  go_task *t;
  r = recv_now(L, c, 1, 0);
  if (r > 0) {
    lua_pushboolean(L, 1);
    return 2;
  }
  if (r == 0) {
    push_closed(L);
    return 3;
  }
  t = go_current_in_call(L, c->S, "recv");
  if (has && !go_timer_add(c->S, t, at, 2))
    return luaL_error(L, "not enough memory");
  t->ws = t->w;
  t->nws = 1;
  setup_waiter(L, t, &t->w[0], c, 1, 1, 0, top);
  fired = go_park(L, c->S, t, "recv");
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
  lua_pushboolean(L, 1);  /* (the value handed is on top) */
  return 2;
}

/* ch:try_send(v) -> true | false (full); raises on closed. */
static int chan_try_send(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  lua_settop(L, 2);
  lua_pushboolean(L, send_now(L, c, 1, 2, 1));
  return 1;
}

/* ch:try_recv() -> v, true | nil, false, "closed" | "empty" */
static int chan_try_recv(lua_State *L) {
  go_chan *c = check_chan(L, 1);
  int r;
  lua_settop(L, 1);
  r = recv_now(L, c, 1, 0);
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
  while ((w = take_waiter(&c->recvq, NULL)) != NULL) complete(w, 0);
  while ((w = take_waiter(&c->sendq, NULL)) != NULL) complete(w, 0);
  return 0;
}

static int chan_len(lua_State *L) {
  lua_pushinteger(L, check_chan(L, 1)->count);
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
  go_chan *c = GO_TO(L, 1, go_chan);  /* (a metatable is given by debug too) */
  if (c == NULL) return 0;
  go_queue_drop(&c->recvq);
  go_queue_drop(&c->sendq);
  c->finalized = 1;
  return 0;
}

static int chan_tostring(lua_State *L) {
  go_chan *c = check_chan(L, 1);
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
** pushed, an after's deadline.  A target is known by its block (size
** and check word), never by its metatable, which any userdata may be
** given. */
static void read_op(lua_State *L, sel_case *k, const go_op *op, int *top) {
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
  } else {  /* a table: a channel, a task, a scope */
    lua_rawgeti(L, k->arg, 2);
    p = k->kind == GO_OP_JOIN ? (void *)GO_TO(L, -1, go_task)
      : k->kind == GO_OP_DONE ? (void *)GO_TO(L, -1, go_scope)
      : (void *)GO_TO(L, -1, go_chan);
  }
  if (p == NULL) luaL_argerror(L, k->arg, "select operation expected");
  k->target = p;
  k->ti = ++*top;
  k->vi = 0;
  if (k->kind == GO_OP_SEND) {
    if (op != NULL) lua_getiuservalue(L, k->arg, 2);
    else lua_rawgeti(L, k->arg, 3);
    k->vi = ++*top;
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

static int case_ready(lua_State *L, sel_case *k, uint64_t now) {
  switch (k->kind) {
    case GO_OP_RECV: return recv_ready(L, (go_chan *)k->target);
    case GO_OP_SEND: return send_ready(L, (go_chan *)k->target);
    case GO_OP_AFTER: return k->at <= now;
    case GO_OP_JOIN: return ((go_task *)k->target)->state == GO_DONE;
    case GO_OP_DONE: return ((go_scope *)k->target)->cancelled;
    default: return 0;
  }
}

/* Commits case k, ready now; pushes its index and results. */
static int commit(lua_State *L, sel_case *k) {
  int base = lua_gettop(L), r;
  lua_pushinteger(L, k->arg);
  switch (k->kind) {
    case GO_OP_RECV:
      r = recv_now(L, (go_chan *)k->target, k->ti, 1);
      if (r <= 0) {
        push_closed(L);
        return 4;
      }
      if (r == 2) lua_copy(L, -3, -2);  /* the index over the box: the
                                        ** last 3 are returned */
      lua_pushboolean(L, 1);
      return 3;
    case GO_OP_SEND:  /* closed: ready, to raise (Go's panic) */
      send_now(L, (go_chan *)k->target, k->ti, k->vi, 0);
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
  go_sched *S = NULL;  /* (known from a target, else looked up) */
  int n = lua_gettop(L), i, m = 0, dflt = 0, nw = 0, fired, timer_case = 0;
  int top = n;
  uint64_t now = 0, at = 0;  /* (now: read once an after op needs it) */
  sel_case stack_cases[16], *cases = stack_cases;
  go_task *t;
  if (n > 16) {
    cases = (sel_case *)lua_newuserdatauv(L, (size_t)n * sizeof *cases, 0);
    top++;
  }
  /* room for each case's target and value, and what commit pushes (4;
  ** a join's results make their own): a C function has LUA_MINSTACK */
  if (2 * n + 4 > LUA_MINSTACK)
    luaL_checkstack(L, 2 * n + LUA_MINSTACK, "too many select cases");
  for (i = 1; i <= n; i++) {
    int kind;
    const go_op *op = to_op(L, i);
    if (op != NULL && op->kind <= GO_OP_SEND) {  /* a channel's op (the
      ** common case: read_op's steps for it, inline) */
      sel_case *k = &cases[m];
      go_chan *c;
      lua_getiuservalue(L, i, 1);
      c = (go_chan *)lua_touserdata(L, -1);
      if (c != op->target || c == NULL || lua_rawlen(L, -1) != op->size ||
          c->serial != op->serial)
        luaL_argerror(L, i, "select operation expected");
      k->arg = i;
      k->kind = op->kind;
      k->target = c;
      k->ti = ++top;
      k->vi = 0;
      if (op->kind == GO_OP_SEND) {
        lua_getiuservalue(L, i, 2);
        k->vi = ++top;
      }
      if (S == NULL) S = c->S;
      m++;
      continue;
    }
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
    if ((kind == GO_OP_JOIN || kind == GO_OP_DONE) && S == NULL)
      S = go_sched_of(L);
    read_op(L, &cases[m], op, &top);
    if (kind == GO_OP_AFTER) {
      if (now == 0) now = uv_hrtime();
    } else if (S == NULL) {  /* a channel's */
      S = ((go_chan *)cases[m].target)->S;
    }
    m++;
  }
  if (S == NULL) S = go_sched_of(L);
  {  /* one ready case, uniformly at random (reservoir sampling: the
     ** c-th ready one replaces the choice with probability 1/c) */
    int c = 0, chosen = -1;
    for (i = 0; i < m; i++)
      if (case_ready(L, &cases[i], now) &&
          (++c == 1 || go_random(S) % (uint64_t)c == 0))
        chosen = i;
    if (chosen >= 0) return commit(L, &cases[chosen]);
  }
  if (dflt) {
    lua_pushinteger(L, dflt);
    return 1;
  }
  t = go_current(L, S, "go.select");
  luaL_checkstack(L, 8, NULL);  /* (a value handed, the results) */
  for (i = 0; i < m; i++)
    if (cases[i].kind != GO_OP_AFTER) nw++;
  if (nw > 0) {
    t->ws = nw <= 2 ? t->w : (go_waiter *)calloc((size_t)nw, sizeof(go_waiter));
    if (t->ws == NULL) return luaL_error(L, "not enough memory");
    t->nws = 0;  /* (the task owns ws: freed however this ends) */
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
      if (k->kind == GO_OP_DONE)  /* (a task has no finalizer: anchored
                                  ** until it ends, and then ready) */
        go_rearm(L, k->ti, &((go_scope *)k->target)->finalized);
      go_queue_push(k->kind == GO_OP_JOIN
                        ? &((go_task *)k->target)->joiners
                        : &((go_scope *)k->target)->done_waiters, w);
    } else {
      setup_waiter(L, t, &t->ws[nw++], (go_chan *)k->target, k->ti,
                   k->arg, k->vi, top);
    }
    t->nws = nw;
  }
  if (timer_case && !go_timer_add(S, t, at, timer_case)) {
    go_unregister(t);
    return luaL_error(L, "not enough memory");
  }
  if (m == 0) t->what = NULL;  /* select{}: waits forever */
  fired = go_park(L, S, t, "select");
  for (i = 0; i < m; i++) {
    sel_case *k = &cases[i];
    if (k->arg != fired) continue;
    lua_pushinteger(L, fired);
    switch (k->kind) {
      case GO_OP_RECV:
        if (!t->fired_ok) {
          push_closed(L);
          return 4;
        }
        lua_pushvalue(L, top + 1);  /* the value handed */
        lua_pushboolean(L, 1);
        return 3;
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
