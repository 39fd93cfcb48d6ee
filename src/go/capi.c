/*
** capi.c: ucoro_go.h's functions: parks for C code on a task's stack that
** return codes instead of raising.  The scheduler running now is found in
** the registry (go.run sets it).
*/
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"

#include "go.h"
#include "ucoro_go.h"

static go_sched *running_sched(lua_State *L) {
  go_sched *S;
  lua_getfield(L, LUA_REGISTRYINDEX, "ucoro.go: running");
  S = (go_sched *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return S;
}

static ucoro_go_task *current(lua_State *L) {
  go_sched *S = running_sched(L);
  go_task *t = S != NULL ? S->current : NULL;
  if (t == NULL || (L != t->co && L != t->nest)) return NULL;
  if (t->state != GO_RUNNING) return NULL;  /* a finalizer its park ran */
  return (ucoro_go_task *)t;
}

static unsigned prepare(ucoro_go_task *task) {
  go_task *t = (go_task *)task;
  if (t == NULL) return 0;  /* (current() found no task) */
  t->token++;
  t->armed = 1;
  t->early = GO_NOT_FIRED;
  t->fired = GO_NOT_FIRED;
  return t->token;
}

static void wake(ucoro_go_task *task, unsigned token) {
  if (task != NULL) go_wake((go_task *)task, token, 1);
}

static int code_of(int fired) {
  switch (fired) {
    case 1: return UCORO_GO_OK;
    case 2: return UCORO_GO_TIMEOUT;
    case GO_FIRED_CANCEL: return UCORO_GO_CANCELLED;
    case GO_FIRED_ERROR: return UCORO_GO_NOTASK;
    default: return UCORO_GO_OK;
  }
}

/* Parks the prepared task t (fired 1: woken; 2: the timeout). */
static int park(lua_State *L, ucoro_go_task *task, double timeout) {
  go_task *t = (go_task *)task;
  if (t == NULL || (go_task *)current(L) != t) return UCORO_GO_NOTASK;
  if (!lua_checkstack(L, 4)) return UCORO_GO_NOMEM;
  if (timeout >= 0) {
    uint64_t at = uv_hrtime() + (uint64_t)(timeout > 1e9 ? 1e18 : timeout * 1e9);
    if (!go_timer_add(t->S, t, at, 2)) {
      t->armed = 0;
      return UCORO_GO_NOMEM;
    }
  }
  {
    int fired = go_park_code(L, t->S, t, "C");
    if (fired == GO_FIRED_ERROR) lua_pop(L, 1);
    return code_of(fired);
  }
}

static int sleep_for(lua_State *L, double seconds) {
  ucoro_go_task *t = current(L);
  if (t == NULL) return UCORO_GO_NOTASK;
  prepare(t);
  if (!(seconds > 0)) seconds = 0;
  {
    int code = park(L, t, seconds);
    return code == UCORO_GO_TIMEOUT ? UCORO_GO_OK : code;
  }
}

static int cancelled(lua_State *L) {
  go_task *t = (go_task *)current(L);
  if (t == NULL) return UCORO_GO_NOTASK;
  return go_is_cancelled(t) ? UCORO_GO_CANCELLED : UCORO_GO_OK;
}

/* ---- guards: a wait's cleanup when its C frames are dropped ---- */

/* ucoro.close on a parked task's coroutine (from another task) drops its
** C frames without running them: a wait below would never stop its poll
** or wait for its pool work.  A to-be-closed slot in the caller's frame
** does it then (the close runs pending __close); pushed with
** lua_toclose, which allocates nothing from Lua 5.4.3 on (before, the
** wait goes unguarded: the API must not raise). */
typedef struct wait_guard {
  void (*end)(void *);
  void *p;
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} wait_guard;

static int guard_close(lua_State *L) {
  wait_guard *g = GO_TO(L, 1, wait_guard);
  void *p;
  if (g == NULL) return 0;  /* another userdata, given our metatable */
  p = g->p;
  g->p = NULL;
  if (p != NULL) g->end(p);
  return 0;
}

static int guard_new(lua_State *L) {
  wait_guard *g = (wait_guard *)lua_newuserdatauv(L, sizeof *g, 0);
  g->end = NULL;
  g->p = NULL;
  g->check = GO_CHECK_WORD(g);
  if (luaL_newmetatable(L, "ucoro.go.wait_guard")) {
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  return 1;
}

/* Pushes a guard calling end(p) if the frames are dropped: 1 pushed, 0
** none (an older Lua), -1 out of memory (nothing pushed). */
static int push_guard(lua_State *L, void (*end)(void *), void *p) {
#if LUA_VERSION_RELEASE_NUM >= 50403
  wait_guard *g;
  if (!lua_checkstack(L, 2)) return -1;
  lua_pushcfunction(L, guard_new);
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return -1;
  }
  g = (wait_guard *)lua_touserdata(L, -1);
  g->end = end;
  g->p = p;
  lua_toclose(L, -1);
  return 1;
#else
  (void)L; (void)end; (void)p;
  return 0;
#endif
}

/* Disarms and removes the guard push_guard pushed (when it did). */
static void pop_guard(lua_State *L, int pushed) {
  if (pushed <= 0) return;
  ((wait_guard *)lua_touserdata(L, -1))->p = NULL;
  lua_settop(L, -2);  /* closes the slot: a no-op now */
}

/* ---- file descriptors ---- */

typedef struct fd_wait {
  uv_poll_t poll;        /* first: the handle's address is the wait's */
  go_task *t;
  unsigned token;
  struct fd_wait *prev, *next;  /* the scheduler's open polls */
} fd_wait;

static void on_poll(uv_poll_t *h, int status, int events) {
  fd_wait *w = (fd_wait *)h->data;
  (void)status;
  (void)events;
  uv_poll_stop(h);
  go_wake(w->t, w->token, 1);
}

static void on_poll_closed(uv_handle_t *h) { free(h); }

static void unlink_wait(go_sched *S, fd_wait *w) {
  if (w->prev) w->prev->next = w->next; else S->fd_waits = w->next;
  if (w->next) w->next->prev = w->prev;
  w->prev = w->next = NULL;
}

/* At lua_close, tasks parked in wait_fd never return to close their
** polls, and luv's loop finalizer would close them as luv handles. */
void go_capi_close(go_sched *S) {
  fd_wait *w;
  while ((w = S->fd_waits) != NULL) {
    unlink_wait(S, w);
    uv_poll_stop(&w->poll);
    w->poll.data = NULL;
    uv_close((uv_handle_t *)&w->poll, on_poll_closed);
  }
}

/* The poll of a wait whose frames were dropped. */
static void drop_fd_wait(void *p) {
  fd_wait *w = (fd_wait *)p;
  uv_poll_stop(&w->poll);
  unlink_wait(w->t->S, w);
  w->poll.data = NULL;
  uv_close((uv_handle_t *)&w->poll, on_poll_closed);
}

static int wait_fd(lua_State *L, int fd, int events, double timeout) {
  go_task *t = (go_task *)current(L);
  fd_wait *w;
  int code, guarded, uv_events = 0;
  if (t == NULL) return UCORO_GO_NOTASK;
  if (events & 1) uv_events |= UV_READABLE;
  if (events & 2) uv_events |= UV_WRITABLE;
  w = (fd_wait *)malloc(sizeof *w);
  if (w == NULL) return UCORO_GO_NOMEM;
  if (uv_poll_init(t->S->loop, &w->poll, fd) != 0) {
    free(w);
    return UCORO_GO_UVERROR;
  }
  w->poll.data = w;
  w->prev = NULL;
  w->next = t->S->fd_waits;
  if (w->next) w->next->prev = w;
  t->S->fd_waits = w;
  w->t = t;
  guarded = push_guard(L, drop_fd_wait, w);
  w->token = prepare((ucoro_go_task *)t);
  if (guarded < 0) {
    t->armed = 0;
    code = UCORO_GO_NOMEM;
  } else if (uv_poll_start(&w->poll, uv_events, on_poll) != 0) {
    t->armed = 0;
    code = UCORO_GO_UVERROR;
  } else {
    code = park(L, (ucoro_go_task *)t, timeout);
  }
  pop_guard(L, guarded);
  /* stopped and closed before t may end: no callback comes after this */
  uv_poll_stop(&w->poll);
  unlink_wait(t->S, w);
  uv_close((uv_handle_t *)&w->poll, on_poll_closed);
  return code;
}

/* ---- the thread pool ---- */

typedef struct pool_work {
  uv_work_t req;
  void (*fn)(void *);
  void *arg;
  go_task *t;            /* NULL once the task stopped waiting for it */
  unsigned token;
  int nocancel;          /* the task's, before the wait */
  int done;              /* after_work ran (on the loop's thread) */
  int ran;               /* fn returned (under the mutex) */
  uv_mutex_t mutex;
  uv_cond_t cond;
} pool_work;

static void on_work(uv_work_t *req) {  /* on a pool thread */
  pool_work *w = (pool_work *)req->data;
  w->fn(w->arg);
  uv_mutex_lock(&w->mutex);
  w->ran = 1;
  uv_cond_signal(&w->cond);
  uv_mutex_unlock(&w->mutex);
}

static void free_work(pool_work *w) {
  uv_cond_destroy(&w->cond);
  uv_mutex_destroy(&w->mutex);
  free(w);
}

static void on_work_done(uv_work_t *req, int status) {
  pool_work *w = (pool_work *)req->data;
  (void)status;
  if (w->t == NULL || w->t->S->gone) {  /* its task no longer waits (or
                                         ** never runs again: lua_close) */
    free_work(w);
    return;
  }
  w->done = 1;
  go_wake(w->t, w->token, 1);
}

/* Waits (blocking this thread) until fn has returned; after_work frees w. */
static void abandon_work(void *p) {
  pool_work *w = (pool_work *)p;
  uv_mutex_lock(&w->mutex);
  while (!w->ran) uv_cond_wait(&w->cond, &w->mutex);
  uv_mutex_unlock(&w->mutex);
  w->t->nocancel = w->nocancel;
  w->t = NULL;
}

static int work(lua_State *L, void (*fn)(void *), void *arg) {
  go_task *t = (go_task *)current(L);
  pool_work *w;
  int guarded;
  if (t == NULL) {  /* no park possible: block this thread, as below */
    fn(arg);
    return UCORO_GO_NOTASK;
  }
  w = (pool_work *)calloc(1, sizeof *w);
  if (w == NULL) return UCORO_GO_NOMEM;
  if (uv_mutex_init(&w->mutex) != 0) {
    free(w);
    return UCORO_GO_UVERROR;
  }
  if (uv_cond_init(&w->cond) != 0) {
    uv_mutex_destroy(&w->mutex);
    free(w);
    return UCORO_GO_UVERROR;
  }
  w->req.data = w;
  w->fn = fn;
  w->arg = arg;
  w->t = t;
  w->nocancel = t->nocancel;
  guarded = push_guard(L, abandon_work, w);
  if (guarded < 0) {
    free_work(w);
    return UCORO_GO_NOMEM;
  }
  w->token = prepare((ucoro_go_task *)t);
  if (uv_queue_work(t->S->loop, &w->req, on_work, on_work_done) != 0) {
    t->armed = 0;
    pop_guard(L, guarded);
    free_work(w);
    return UCORO_GO_UVERROR;
  }
  /* fn may use memory of this frame: wait for it whatever happens */
  t->nocancel = 1;
  for (;;) {
    if (park(L, (ucoro_go_task *)t, -1) == UCORO_GO_NOTASK) {
      /* no park possible here (a __gc finalizer...): wait for fn on this
      ** thread; after_work frees w later */
      pop_guard(L, guarded);
      abandon_work(w);
      return UCORO_GO_NOTASK;
    }
    if (w->done) break;
    w->token = prepare((ucoro_go_task *)t);
  }
  pop_guard(L, guarded);
  t->nocancel = w->nocancel;
  free_work(w);
  return go_is_cancelled(t) ? UCORO_GO_CANCELLED : UCORO_GO_OK;
}

static const ucoro_go_api api = {
  UCORO_GO_API_VERSION, current, prepare, park, wake, sleep_for,
  cancelled, wait_fd, work
};

const void *go_capi = &api;
