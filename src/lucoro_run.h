/*
** lucoro_run.h: the native half of a Lua thread, shared by the binding's
** files.  A thread has a "run" once it has been resumed by ucoro; the run
** holds the thread's native stack while its body runs or is parked in C.
*/
#ifndef LUCORO_RUN_H
#define LUCORO_RUN_H

#include <stddef.h>

#include "lua.h"

#include "ucoro.h"

#define LUCORO_RUN_MT "ucoro.run"

typedef struct lucoro_run {
  ucoro *native;      /* its stack while running or parked in C, else NULL */
  lua_State *L1;      /* the thread it belongs to (which owns this) */
  lua_State *from;    /* the resumer, while the thread runs */
  lua_State *outer;   /* for ucoro.call: the coroutine the thread serves */
  size_t stack_size;  /* for the next native stack (0: the default) */
  int nvalues;        /* values crossing the switch, either way */
  int status;         /* what lua_resume returned, once it has */
} lucoro_run;

/* Pushes the state's table thread -> run (weak keys), and the config. */
void lucoro_push_handles(lua_State *L);
size_t *lucoro_default_stack_size(lua_State *L);

/* The run of thread co (NULL if none); handles is the table's index. */
lucoro_run *lucoro_find_run(lua_State *L, int handles, lua_State *co);
lucoro_run *lucoro_new_run(lua_State *L, int handles, lua_State *co,
                           size_t stack_size);

/* Parked: suspended in a native yield, with C frames on its stack. */
int lucoro_is_parked(const lucoro_run *r);

/* Can co be resumed (started, or continued after a yield)? */
int lucoro_resumable(lua_State *L, lua_State *co, const lucoro_run *r);

/* Resumes co (resumable, with a run) with narg values from L: returns
** lua_resume's status; results or the error object are left on co, their
** count in r->nvalues. */
int lucoro_resume(lua_State *L, lua_State *co, lucoro_run *r, int narg);

/* The run whose native stack is running L, or NULL. */
lucoro_run *lucoro_running_run(lua_State *L);

/* Parks the running thread L (r is its run), handing its top nvalues to
** the resumer; returns the number of resume values then on top.  Raises
** a Lua error where a yield is not allowed. */
int lucoro_park(lua_State *L, lucoro_run *r, int nvalues);

#endif
