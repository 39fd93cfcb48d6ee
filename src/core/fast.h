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
  ucoro *current;  /* &uco_none outside any coroutine: never NULL */
  uintptr_t id;
  uintptr_t mark;  /* UCO_MARK(id), see uco_fast_mark */
  int hooked;  /* thread_exit will run when it exits */
} uco_this_thread;

extern UCO_TLS uco_this_thread uco_here;

/* What the thread runs outside any coroutine: a record all zeros, so with
** no fn, user, tag, prev, nor frames evicted, and not lean (UCORO_AUTO):
** a look-up of the running coroutine's fields needs no test for none. */
extern ucoro uco_none;

#define UCO_MARK(id) ((uintptr_t)(id) * 4 + 3)

/* A word that tells this OS thread from every other: never 0, 1 or 2,
** and a thread's is never another's (ids are never reused; on a 32-bit
** target, until 2^30 threads were made).  A thread that made no coroutine
** yet has UCO_MARK(0), which no thread with a coroutine has.  The binding
** notes it where a stack parks through uco_fast_yield_now, so that one
** compare tells its resumer both that the stack waits there and that this
** thread owns it (uco_fast_resume_yielded). */
UCO_INLINE uintptr_t uco_fast_mark(void) {
  return uco_here.mark;
}

/* ucoro_running_user, inline (fn: not NULL). */
UCO_INLINE void *uco_fast_running_user(ucoro_fn fn) {
  ucoro *co = uco_here.current;
  return co->fn == fn ? co->user : NULL;
}

/* The binding's tag of co, the running coroutine, which may yield the
** fast way now (uco_fast_yield_ready): a word its fast paths compare (see
** uco_fast_running_tagged).  NULL from co's creation until set, and again
** once co must yield the slow way (uco_take_slow_path), or gets another
** user: a tagged coroutine may yield with uco_fast_yield_now, untested.
** (The binding never resumes its stacks with an out slot, the one other
** way to make them yield slowly.) */
UCO_INLINE void uco_fast_set_tag(ucoro *co, const void *tag) {
  UCORO_ASSERT(co->resume_out == NULL);
  co->tag = tag;
}

/* ucoro_set_userdata(co, user), inline, which also clears co's tag (that
** told the previous user's case). */
UCO_INLINE void uco_fast_set_user(ucoro *co, void *user) {
  co->user = user;
  co->tag = NULL;
}

/* This OS thread's running coroutine if its tag is tag (not NULL), else
** NULL: one compare, where uco_fast_running_fn and a test of its user
** would take two. */
UCO_INLINE ucoro *uco_fast_running_tagged(const void *tag) {
  ucoro *co = uco_here.current;
  return co->tag == tag ? co : NULL;
}

/* This OS thread's running coroutine if it runs fn (not NULL; else
** NULL), for a caller that knows its fn's coroutines never have a NULL
** user. */
UCO_INLINE ucoro *uco_fast_running_fn(ucoro_fn fn) {
  ucoro *co = uco_here.current;
  return co->fn == fn ? co : NULL;
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
  (void)uco_switch_into_passing(co, arg);
  return UCORO_OK;
#endif
}

/* uco_fast_resume of co, not NULL, known to wait in uco_fast_yield_now on
** this OS thread (its owner): the binding knows it by the mark it noted
** there (uco_fast_mark).  No test: resuming costs its bookkeeping and the
** switch. */
UCO_INLINE ucoro_result uco_fast_resume_yielded(ucoro *co, void *arg) {
#ifdef UCORO_TOOLS
  return ucoro_resume(co, arg, NULL);
#else
  UCORO_ASSERT(co->status == UCORO_SUSPENDED && co->owner == uco_here.id &&
               co->yield_in != NULL && co->resume_out == NULL);
  co->prev = uco_here.current;
  co->status = UCORO_RUNNING;
  uco_here.current = co;
#if UCO_SWITCH_PASSES
  (void)uco_switch_into_passing(co, arg);  /* all uco_fast_yield_now wants */
#else
  *co->yield_in = arg;
  (void)uco_switch_into(co);
#endif
  return UCORO_OK;
#endif
}

/* May co, the running coroutine, yield through uco_fast_yield_now?  Not
** a lean one, nor one whose resumer wants its value somewhere (its
** resume_out: UCO_SLOW_OUT, or a C resumer's slot); never in builds whose
** tools must hear of each switch. */
UCO_INLINE int uco_fast_yield_ready(const ucoro *co) {
#ifdef UCORO_TOOLS
  (void)co;
  return 0;
#else
  return co->resume_out == NULL;
#endif
}

/* ucoro_yield(NULL, in) of co, the running coroutine, which may
** (uco_fast_yield_ready). */
UCO_INLINE void uco_fast_yield_now(ucoro *co, void **in) {
#ifdef UCORO_TOOLS
  (void)co;
  *in = NULL;
  UCORO_ASSERT(0);  /* never ready there */
#else
  UCORO_ASSERT(co == uco_here.current && co->status == UCORO_RUNNING &&
               co->resume_out == NULL);
  co->status = UCORO_SUSPENDED;
  uco_here.current = co->prev;
#if UCO_SWITCH_PASSES
  co->yield_in = &co->start_arg;  /* where a resume may store it too */
  *in = uco_switch_back_receiving(co);
#else
  co->yield_in = in;
  (void)uco_switch_back(co);
#endif
#endif
}

/* ucoro_yield(NULL, in) of co, the running coroutine (not NULL): as
** ucoro_yield. */
UCO_INLINE ucoro_result uco_fast_yield(ucoro *co, void **in) {
  if (UCO_UNLIKELY(!uco_fast_yield_ready(co)))
    return ucoro_yield(NULL, in);
  uco_fast_yield_now(co, in);
  return UCORO_OK;
}

#endif
