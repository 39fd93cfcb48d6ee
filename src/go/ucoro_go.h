/*
** ucoro_go.h: ucoro.go's C API, for C code running on a task's stack at
** any depth (a C function a task calls, or a C library's callback under
** it): block in straight-line C.  Every call returns a code; none raises
** or longjmps past the caller's cleanup (a cancellation is the code
** UCORO_GO_CANCELLED: clean up, then raise or return as you see fit).
**
** The functions come in a table, found at run time (ucoro.go's C part is
** a Lua module, loaded where the caller cannot link it):
**   const ucoro_go_api *go = ucoro_go_api_of(L);   (NULL: not loadable)
**   if (go->sleep(L, 0.5) == UCORO_GO_CANCELLED) { ...cleanup...; }
** Generic park and wake, for completions that come from libuv callbacks:
**   ucoro_go_task *t = go->current(L);   (NULL: not inside a task)
**   unsigned token = go->prepare(t);     (before starting the operation)
**   start_operation(..., on_done);        (on_done calls go->wake(t, token),
**                                          even before the park: not lost)
**   int code = go->park(L, t, timeout);   (UCORO_GO_OK when woken)
** A wake-up with the token of a park that has ended is a no-op; a task
** is never resumed inside the callback.  t must outlive every wake-up
** that may still come: stop the source before returning (the task can
** end, and be freed, once the C function returns).  ucoro.close on a
** parked task's coroutine drops its C frames without running them: a
** source that must be stopped then needs a to-be-closed slot of its own
** (lua_toclose) whose __close stops it, as wait_fd and work have.
*/
#ifndef UCORO_GO_API_H
#define UCORO_GO_API_H

#include "lua.h"

#define UCORO_GO_API_VERSION 1

enum {
  UCORO_GO_OK = 0,
  UCORO_GO_TIMEOUT,     /* the timeout passed first */
  UCORO_GO_CANCELLED,   /* the task is cancelled (go.Cancelled) */
  UCORO_GO_NOTASK,      /* not inside a task, or no park possible here */
  UCORO_GO_NOMEM,       /* out of memory */
  UCORO_GO_UVERROR      /* libuv refused (a bad file descriptor...) */
};

typedef struct ucoro_go_task ucoro_go_task;

typedef struct ucoro_go_api {
  int version;
  /* The task whose code runs on L now, or NULL. */
  ucoro_go_task *(*current)(lua_State *L);
  /* Starts a park of t (the current task): its token (0 for a NULL t). */
  unsigned (*prepare)(ucoro_go_task *t);
  /* Parks t until wake(t, token), the timeout (seconds; negative: none),
  ** or cancellation. */
  int (*park)(lua_State *L, ucoro_go_task *t, double timeout);
  /* Queues t's wake-up (from a libuv callback, on the loop's thread); a
  ** NULL t is a no-op. */
  void (*wake)(ucoro_go_task *t, unsigned token);
  /* Parks the current task for the given seconds (never fewer). */
  int (*sleep)(lua_State *L, double seconds);
  /* UCORO_GO_CANCELLED when the current task is cancelled, else OK (or
  ** UCORO_GO_NOTASK). */
  int (*cancelled)(lua_State *L);
  /* Parks until fd is readable (events: 1) and/or writable (2). */
  int (*wait_fd)(lua_State *L, int fd, int events, double timeout);
  /* Runs fn(arg) on libuv's thread pool; parks until it has returned
  ** (also when cancelled meanwhile: then UCORO_GO_CANCELLED).  Where no
  ** park is possible (outside a task, a __gc finalizer) it blocks the
  ** thread until fn has returned (outside a task fn runs on it):
  ** UCORO_GO_NOTASK.  Whatever the code, fn has run.
  ** arg must not point into the task's stack: a lean task's frames are
  ** copied away while it is parked (use the heap or a userdata). */
  int (*work)(lua_State *L, void (*fn)(void *arg), void *arg);
} ucoro_go_api;

/* The API of the ucoro.go in L's state (required if need be), or NULL. */
static inline const ucoro_go_api *ucoro_go_api_of(lua_State *L) {
  const ucoro_go_api *found = NULL;
  int top = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "ucoro.go.core");
  if (lua_pcall(L, 1, 1, 0) == 0 && lua_istable(L, -1) &&
      lua_getfield(L, -1, "capi") == LUA_TLIGHTUSERDATA) {
    found = (const ucoro_go_api *)lua_touserdata(L, -1);
    if (found->version != UCORO_GO_API_VERSION) found = NULL;
  }
  lua_settop(L, top);
  return found;
}

#endif
