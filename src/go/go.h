/*
** go.h: the shared types of ucoro.go (tasks, wait queues, scopes, the
** scheduler).  Each task is a ucoro coroutine, driven through the
** binding's C API (lua_ucoro_api.h: resume on a native stack, park) and
** its Lua functions (create, close), so the go layer never sees the
** binding's internals.  (require loads ucoro/core.so with RTLD_LOCAL: its
** C symbols are out of this module's reach; the API is a table of
** function pointers in the registry.)
*/
#ifndef UCORO_GO_H
#define UCORO_GO_H

#include <stddef.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"
#include "uv.h"

#include "lua_ucoro_api.h"

typedef struct go_sched go_sched;
typedef struct go_task go_task;
typedef struct go_scope go_scope;
typedef struct go_chan go_chan;

/* The kinds of select operations.  An op is a go_op userdata (recv_op,
** send_op, join_op, go.after), or a table {kind, target, value}
** (go.default, scope:done_op()). */
enum { GO_OP_DEFAULT, GO_OP_RECV, GO_OP_SEND, GO_OP_AFTER, GO_OP_JOIN,
       GO_OP_DONE };

/* Uservalue 1: the target (a channel, a task), which keeps it alive;
** uservalue 2: a send's value.  select trusts the fields below only once
** uservalue 1 is the very block they name (debug.setuservalue can change
** it): the same address, size and serial. */
#define GO_OP_TAG 0x676f6f70u  /* "goop" */
typedef struct go_op {
  unsigned tag;        /* GO_OP_TAG */
  int kind;
  uint64_t at;         /* after: the deadline (hrtime, ns) */
  void *target;        /* the target's block (NULL for after) */
  size_t size;         /* its size */
  uint64_t serial;     /* its serial (random) */
} go_op;

/* What a park was ended by: a case index (1-based), or one of these. */
enum { GO_NOT_FIRED = 0, GO_FIRED_CANCEL = -1, GO_FIRED_YIELD = -2,
       GO_FIRED_DEADLINE = -3, GO_FIRED_ERROR = -4 };

/* A task waiting on a channel (Go's sudog).  It lives in its task (or in
** an array the task owns for a select), never on a C stack: a lean
** coroutine's stack is copied away while it is parked.  A channel's
** waiter names the thread that parked and its frame's top then: a
** sender's value stays in that frame (at vi), and a value handed to a
** receiver is pushed there (at top + 1), where the thread keeps it. */
typedef struct go_waiter {
  struct go_waiter *prev, *next;
  go_task *task;
  struct go_wait_queue *q;  /* the queue it is on; NULL when on none */
  go_chan *chan;       /* a channel case's channel */
  lua_State *L;        /* a channel case's: the parked thread */
  int top;             /* its stack top when it parked */
  int vi;              /* a send's value, on L */
  int index;           /* the case it stands for */
  int ok;              /* set by the partner: 1 done, 0 channel closed */
} go_waiter;

typedef struct go_wait_queue { go_waiter *head, *tail; } go_wait_queue;


enum go_state { GO_READY, GO_RUNNING, GO_PARKED, GO_DONE };
enum go_end { GO_END_NONE, GO_END_OK, GO_END_ERROR, GO_END_CANCELLED };

/* A cancel scope (go.scope, go.timeout, go.shield, go.run's root). */
struct go_scope {
  go_scope *parent;      /* the enclosing scope (of this or an outer task) */
  go_task *owner;        /* the task whose body runs in it */
  go_task *children;     /* tasks spawned into it (a list by sib_next) */
  int live;              /* children not yet ended, daemons excluded */
  int all;               /* children not yet ended, daemons included */
  int cancelled, shield, failed;
  int supervise;         /* a child's failure cancels nothing (kept) */
  int ref;               /* the scope's userdata in the anchors table */
  go_wait_queue waiters; /* its owner, waiting for its children */
  go_wait_queue done_waiters;  /* selects on scope:done_op() */
  uint64_t deadline;     /* go.timeout: hrtime (ns), 0 if none */
  uint64_t check;        /* GO_CHECK_WORD (go_to_block) */
  int finalized;         /* its finalizer ran, not armed again (go_rearm) */
};

/* (A new field is set in sched.c's task_init, which sets each but w.) */
struct go_task {  /* (pointers first, then ints, then flags: no padding) */
  lua_State *co;         /* its coroutine (the userdata's uservalue 1) */
  void *hint;            /* the binding's, for resuming co (its API) */
  go_sched *S;
  go_scope *timer_scope; /* whose deadline the timer stands for */
  uint64_t id;
  uint64_t serial;       /* random, for select's ops (go_op) */
  uint64_t check;        /* its address mixed with the secret (GO_TO) */
  go_task *rq_next, *rq_prev;  /* ready queue */
  go_task *sib_prev, *sib_next;  /* the spawn scope's children */
  go_scope *spawn;       /* the scope it was spawned into */
  go_scope *scope;       /* innermost scope its body is in now */
  lua_State *nest;       /* generator run through go.coroutine, if any */
  go_waiter w[2];        /* inline waiters for a plain send/recv/join */
  go_waiter *ws;         /* the waiters of this park (w or a select's) */
  go_wait_queue joiners; /* tasks waiting for this one to end */
  uint64_t deadline;     /* timer: hrtime (ns) */
  const char *what;      /* what it waits on, for go.tasks() */
  struct io_wait *io;    /* an I/O wait naming it (io.h): cleared with
                         ** its other waits, however its park ends */
  int ref;               /* index in the anchors table */
  int coref;             /* its thread's, while it lives: uservalue 1
                         ** (which Lua code can replace) is not relied on */
  int nest_ref;          /* anchors the generator's thread a park waits
                         ** in (its waiters name it; the task's frame
                         ** that holds it is Lua's to change:
                         ** debug.setlocal); 0 until a generator runs */
  int state, end;
  int nargs;             /* arguments waiting on co for the first resume */
  int nres;              /* ended ok: its results, on co's stack */
  unsigned token;        /* changes at each park: stale wake-ups miss */
  int fired;             /* what ended the current park */
  int fired_ok;          /* the fired waiter's ok */
  int early;             /* what woke the prepared park before it began */
  int spawn_line;        /* the go.spawn call's line (uservalue 3: its function) */
  int nws;
  int heap_index;        /* -1 when not in the timer heap */
  int timer_case;        /* what a timer fire means (a case index) */
  unsigned char daemon, cancelled, joined;
  unsigned char nocancel;  /* waiting for its scope's children */
  unsigned char armed;   /* a C park prepared (its token is current) */
  unsigned char started; /* resumed at least once */
};

struct go_sched {
  uv_loop_t *loop;
  uv_timer_t *timer;     /* one uv timer for the heap; NULL until go.run */
  uint64_t timer_at;     /* when it is armed for (0: not armed) */
  int ref_resume, ref_yield, ref_create, ref_close, ref_anchors;
  const lua_ucoro_api *api;  /* the binding's C API (set by go.run/attach) */
  int ref_cancelled_mt;  /* metatable of go.Cancelled errors */
  int ref_task_mt;       /* the task metatable */
  int last_ref;          /* the anchors table's highest slot used */
  int *free_refs;        /* its free slots (a userdata, registry ref_free) */
  int nfree, capfree, ref_free;
  int spare_ref, spare_coref;  /* the last ended task's slots (or 0) */
  int *luv_mode;         /* luv's "loop running" mode (-1: not running) */
  go_task *rq_head, *rq_tail;
  go_task *drain_last;   /* the drain running ends after this one... */
  int drain_done;        /* ...or after the one running now */
  int inline_depth;      /* joins running the joined task inline, nested */
  int inline_runs;       /* such joins in this drain */
  go_task *current;      /* the task running now */
  go_task **heap;        /* timer heap, by deadline */
  int nheap, capheap;
  int running;           /* inside go.run, or attached */
  int attached;          /* go.attach */
  int in_uv;             /* inside uv_run: a wake-up must stop the poll */
  int closing;           /* go.run is cancelling what is left */
  go_scope *root;        /* go.run's scope */
  uint64_t next_id;
  uint64_t rng;          /* select's choices (go.seed) */
  int ntasks;
  /* go.attach(): drains from the loop's prepare and check phases */
  uv_prepare_t *prepare;
  uv_check_t *check;
  uv_idle_t *idle;        /* active while tasks are ready: poll does not block */
  lua_State *main;        /* the state's main thread, for the drains */
  struct fd_wait *fd_waits;  /* ucoro_go.h's wait_fd polls open (capi.c) */
  int gone;               /* finalized (lua_close): no task runs again */
  uint64_t check_word;    /* GO_CHECK_WORD (go_to_block) */
};

/* The sentinel a park yields (its address). */
extern const char go_park_sentinel;

/* Every userdata of ucoro.go (channels, tasks, scopes, the scheduler,
** the I/O types, the C API's guards) is known by its block: its size,
** and a check word, its address mixed with a secret of the process, that
** no other userdata has (a metatable compared instead costs ~75
** instructions a call, and debug.setmetatable gives it to any userdata:
** a method or a finalizer that trusted it read and wrote that userdata's
** memory as its own). */
extern uint64_t go_secret;
void go_secret_init(void);  /* (once a process: uv_once) */
#define GO_CHECK_WORD(p) (go_secret ^ (uint64_t)(uintptr_t)(p))
/* The userdata at idx if it is a block of size whose check word (at
** offset off) is right, else NULL. */
static inline void *go_to_block(lua_State *L, int idx, size_t size,
                                size_t off) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_rawlen(L, idx) == size &&
      *(const uint64_t *)(const void *)((const char *)p + off) ==
          GO_CHECK_WORD(p))
    return p;
  return NULL;
}
/* As go_to_block, or raises the type error "tname expected". */
static inline void *go_check_block(lua_State *L, int idx, size_t size,
                                   size_t off, const char *tname) {
  void *p = go_to_block(L, idx, size, off);
  if (p == NULL) luaL_typeerror(L, idx, tname);
  return p;
}
/* The block of type T (its check word: field `check`) at idx, or NULL;
** or raises "tname expected". */
#define GO_TO(L, idx, T) \
  ((T *)go_to_block((L), (idx), sizeof(T), offsetof(T, check)))
#define GO_CHECK(L, idx, T, tname) \
  ((T *)go_check_block((L), (idx), sizeof(T), offsetof(T, check), (tname)))

/* sched.c */
go_sched *go_sched_of(lua_State *L);  /* upvalue 1 */
go_task *go_current(lua_State *L, go_sched *S, const char *op);
/* As go_current, without the room it makes for 4 more values: for a C
** function called from Lua (given LUA_MINSTACK slots) that has used
** fewer than LUA_MINSTACK - 4 of them. */
static inline go_task *go_current_in_call(lua_State *L, go_sched *S,
                                          const char *op);
/* Raises why L cannot park now (never returns). */
go_task *go_not_current(lua_State *L, go_sched *S, const char *op);
void go_wake(go_task *t, unsigned token, int fired);
void go_fire(go_task *t, int fired);
int go_park(lua_State *L, go_sched *S, go_task *t, const char *what);
/* As go_park, but returns GO_FIRED_CANCEL, or GO_FIRED_ERROR with the
** error on top, instead of raising (the caller cleans up, then raises). */
int go_park_code(lua_State *L, go_sched *S, go_task *t, const char *what);
int go_raise_cancelled(lua_State *L, go_task *t);
extern const void *go_capi;
void go_push_anchor(lua_State *L, go_sched *S, int ref);
int go_anchor(lua_State *L, go_sched *S, int idx);
void go_unanchor(lua_State *L, go_sched *S, int ref);

/* Pushes the table in uservalue n of the userdata at idx.  Lua code can
** replace a uservalue (debug.setuservalue): what is not a table is
** replaced by a new, empty one, never read as a table. */
void go_renew_uvtable(lua_State *L, int idx, int n);

/* Replaces uv.walk in luv's module table (at luv) with one that skips
** ucoro.go's handles (luv_walk.c). */
void go_luv_walk_install(lua_State *L, int luv, uv_loop_t *loop);
#define go_push_uvtable(L, idx, n) \
  ((void)(lua_getiuservalue((L), (idx), (n)) == LUA_TTABLE || \
          (go_renew_uvtable((L), (idx), (n)), 0)))
uint64_t go_random(go_sched *S);
uint64_t go_deadline(lua_State *L, int arg, int *has);
/* (inline: every channel operation takes a waiter off or puts one on) */
static inline void go_queue_push(go_wait_queue *q, go_waiter *w) {
  w->q = q;
  w->next = NULL;
  w->prev = q->tail;
  if (q->tail) q->tail->next = w; else q->head = w;
  q->tail = w;
}
static inline void go_queue_remove(go_wait_queue *q, go_waiter *w) {
  if (w->prev) w->prev->next = w->next; else q->head = w->next;
  if (w->next) w->next->prev = w->prev; else q->tail = w->prev;
  w->prev = w->next = NULL;
  w->q = NULL;
}
void go_queue_drop(go_wait_queue *q);
void go_unregister(go_task *t);
/* (inline: every blocking call asks) */
static inline go_task *go_current_in_call(lua_State *L, go_sched *S,
                                          const char *op) {
  go_task *t = S->current;
  if (t != NULL && (L == t->co || L == t->nest) && t->state == GO_RUNNING) {
    if (t->ws != NULL) go_unregister(t);  /* left by an op a memory error
                                           ** ended before its park */
    t->armed = 0;  /* a C park prepared, then given up: its token must
                   ** not be this park's (its late wake-up would end it) */
    t->fired = GO_NOT_FIRED;
    return t;
  }
  return go_not_current(L, S, op);
}
int go_task_open(lua_State *L);
int go_task_results(lua_State *L, go_task *t, int idx);
extern const luaL_Reg go_sched_functions[];
go_task *go_check_task(lua_State *L, int idx);
void go_tasks_unregister(lua_State *L, go_sched *S);

struct go_chan {
  uint64_t serial;       /* random, for select's ops (go_op) */
  uint64_t check;        /* its address mixed with the secret (GO_TO) */
  go_sched *S;
  int cap, count, head;  /* buffered values: box[head+1 ...], a ring */
  int closed;
  int finalized;         /* its finalizer ran, not armed again (go_rearm) */
  go_wait_queue recvq, sendq;
};

/* A channel's or scope's finalizer takes off its queues the waiters of
** tasks whose coroutine was closed while parked (nothing else would
** before its memory goes).  It runs once: another finalizer may bring the
** object back, and a waiter queued on it afterwards would outlive it.  So
** a waiter goes on the queue of an object whose finalizer ran only once
** that finalizer is armed again (its metatable set again; no allocation).
** (The object at idx, with a free stack slot.) */
static inline void go_rearm(lua_State *L, int idx, int *finalized) {
  if (*finalized) {
    idx = lua_absindex(L, idx);
    if (lua_getmetatable(L, idx)) lua_setmetatable(L, idx);
    *finalized = 0;
  }
}

/* capi.c: closes the polls of tasks parked for good (lua_close) */
void go_capi_close(go_sched *S);

/* timer.c */
int go_timer_add(go_sched *S, go_task *t, uint64_t deadline, int fired);
void go_timer_remove(go_sched *S, go_task *t);
void go_timer_arm(go_sched *S);
void go_timer_fire(go_sched *S);

/* chan.c */
int go_chan_open(lua_State *L);
/* Pushes a new op of kind on the target at idx (0: none); returns it. */
go_op *go_new_op(lua_State *L, go_sched *S, int kind, int idx);
extern const luaL_Reg go_chan_functions[];

/* scope.c */
int go_is_cancelled_walk(go_task *t);
/* Is t cancelled (t:cancel, or a scope it is inside, up to a shield)?
** Inline, the common case: its body in the scope it was spawned into,
** an outermost one (go.run's root, go.attach's) or a shield, nothing
** cancelled; else the walk up its scopes. */
static inline int go_is_cancelled(go_task *t) {
  go_scope *s = t->spawn;
  if (t->scope == s && s != NULL && !t->cancelled && !s->cancelled &&
      (s->parent == NULL || s->shield))
    return 0;
  return go_is_cancelled_walk(t);
}
void go_push_reason(lua_State *L, go_task *t);
void go_cancel_scope(go_sched *S, go_scope *s);
void go_cancel_task(go_sched *S, go_task *t);
void go_scope_child_failed(lua_State *L, go_sched *S, go_scope *s,
                           int err_idx);
void go_scope_wake_waiters(go_scope *s);
/* A child of t's spawn scope ended (its error at err_idx, or 0).
** (Inline: every task's end; the rest in scope.c.) */
static inline void go_scope_child_ended(lua_State *L, go_sched *S,
                                        go_task *t, int err_idx) {
  go_scope *s = t->spawn;
  if (t->sib_prev) t->sib_prev->sib_next = t->sib_next;
  else s->children = t->sib_next;
  if (t->sib_next) t->sib_next->sib_prev = t->sib_prev;
  t->sib_prev = t->sib_next = NULL;
  s->all--;
  if (!t->daemon) s->live--;
  if (err_idx != 0 && t->end == GO_END_ERROR && !t->joined)
    go_scope_child_failed(L, S, s, err_idx);  /* nobody waits for it */
  if (s->waiters.head != NULL) go_scope_wake_waiters(s);
}
int go_scope_open(lua_State *L);
go_scope *go_new_scope(lua_State *L, go_sched *S, go_task *owner);
void go_scope_deadline(go_sched *S, go_task *t);
extern const luaL_Reg go_scope_functions[];

#endif
