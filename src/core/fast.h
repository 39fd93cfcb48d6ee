/*
** fast.h: the core's fast paths for the Lua binding, inline: its round
** trip (resume a parked stack, yield back) then costs no calls into the
** core and skips the checks the binding's own invariants make moot.
** Anything off the common case goes to ucoro.c's functions, as do all
** switches in builds whose tools must hear of each (sanitizer.h).
*/
#ifndef UCORO_FAST_H
#define UCORO_FAST_H

#include <stdint.h>

#include "compiler.h"
#include "record.h"
#include "sanitizer.h"

/* This OS thread's running coroutine, and its number: a number never
** reused, since a thread created after another exited may get its thread
** pointer and TLS block (glibc reuses them) and must not own its
** coroutines.  The id is 0 until the thread first creates a coroutine, and
** no coroutine is owned by 0.  One struct: resume finds both through one
** TLS offset.  initial-exec: no __tls_get_addr call on every switch, even
** in a module loaded with dlopen (static TLS has room for 16 bytes).
** Hidden (the library's symbols are): only the core and its binding see
** it. */
typedef struct uco_this_thread {
  ucoro *current;
  uintptr_t id;
  int hooked;  /* thread_exit will run when it exits */
} uco_this_thread;

extern UCO_TLS uco_this_thread uco_here;

/* ucoro_running_user, inline. */
UCO_INLINE void *uco_fast_running_user(ucoro_fn fn) {
  ucoro *co = uco_here.current;
  return co != NULL && co->fn == fn ? co->user : NULL;
}

/* This OS thread's running coroutine if it runs fn (else NULL), for a
** caller that knows its fn's coroutines never have a NULL user. */
UCO_INLINE ucoro *uco_fast_running_fn(ucoro_fn fn) {
  ucoro *co = uco_here.current;
  return co != NULL && co->fn == fn ? co : NULL;
}

/* ucoro_resume(co, arg, NULL) of co, not NULL, whose body waits in a yield
** that asked for the resume value (in not NULL): as ucoro_resume. */
UCO_INLINE ucoro_result uco_fast_resume(ucoro *co, void *arg) {
#ifdef UCORO_TOOLS
  return ucoro_resume(co, arg, NULL);
#else
  if (UCO_UNLIKELY(co->status != UCORO_SUSPENDED ||
                   co->owner != uco_here.id))
    return ucoro_resume(co, arg, NULL);  /* lean, or an error */
  UCORO_ASSERT(co->yield_in != NULL && co->resume_out == NULL);
  co->prev = uco_here.current;
  co->status = UCORO_RUNNING;
  uco_here.current = co;
  *co->yield_in = arg;
  /* the switch back hands 0 (context.h): a constant lets the caller's
  ** test of the result go to the slow path's branch only */
  (void)uco_switch_into(co);
  return UCORO_OK;
#endif
}

/* ucoro_yield(NULL, in) of co, the running coroutine (not NULL): as
** ucoro_yield. */
UCO_INLINE ucoro_result uco_fast_yield(ucoro *co, void **in) {
#ifdef UCORO_TOOLS
  (void)co;
  return ucoro_yield(NULL, in);
#else
  UCORO_ASSERT(co == uco_here.current && co->status == UCORO_RUNNING);
  if (UCO_UNLIKELY(co->resume_out != NULL))  /* UCO_SLOW_OUT, or a C
                                                 resumer's slot */
    return ucoro_yield(NULL, in);
  co->status = UCORO_SUSPENDED;
  uco_here.current = co->prev;
  co->yield_in = in;
  (void)uco_switch_back(co);
  return UCORO_OK;
#endif
}

#endif
