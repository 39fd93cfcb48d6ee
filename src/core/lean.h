/*
** lean.h: shared stacks for lean coroutines, and copying frames on and
** off them (the approach of cloudwu/coroutine and libaco, with nesting).
**
** Each OS thread keeps a few guarded shared stacks per size.  A lean
** coroutine is bound to one at its first run and stays there (its frames
** hold pointers into it).  Copies are lazy: a coroutine's frames stay on
** the stack after it stops, and are copied off only when another
** coroutine bound to that stack is resumed.  A coroutine is never bound
** to a stack whose occupant is running or normal, so only an unusual
** nesting (a lean coroutine resuming one bound to its own stack, or
** yielding to one that was copied off) restores onto the stack it runs
** on: that copy is done from a small scratch stack.
*/
#ifndef UCORO_LEAN_H
#define UCORO_LEAN_H

#include <stddef.h>

#include "record.h"

/* Binds a lean coroutine that never ran to a shared stack of its size
** (sets its stack_lo and stack_size).  Returns -1 when no stack can be
** had. */
int uco_lean_bind(ucoro *co);

/* Saved frames grow in steps of this many bytes. */
#define UCO_LEAN_SAVED_STEP 64

/* Makes sure co (lean, about to stop) can keep its frames, which reach
** down to the stack pointer of the caller of this function, or of a
** caller of that, at the switch: the switch must be there, inline, or
** called from there (not from a function called after this one);
** via_scratch: it switches to uco_lean_via_scratch's context.  Returns -1
** when out of memory. */
int uco_lean_reserve(ucoro *co, int via_scratch);

/* The same for co, lean and running, about to resume another coroutine
** on its own stack (so via the scratch stack): its frames reach down to
** the resume's switch, and the red zone below it (lean.c). */
int uco_lean_reserve_resumer(ucoro *co);

/* Makes sure the frames now on co's stack (of a coroutine not running)
** can be copied off.  Returns -1 when out of memory.  running: the
** coroutine this thread runs (frames of normal ones are found from it). */
int uco_lean_room(ucoro *co, ucoro *running);

/* Copies the frames of co's stack's occupant off, and co's own frames on.
** Returns 0 when co never ran (its stack is then free for a new context),
** 1 when its frames are back. */
int uco_lean_restore(ucoro *co, ucoro *running);

/* co ends or is destroyed: lets go of its shared stack and saved frames. */
void uco_lean_release(ucoro *co);

/* Is the scratch stack of this thread there (made if not)?  0 or -1. */
int uco_lean_scratch_ready(void);

/* Readies the scratch stack to restore co's frames, store value in *slot
** (slot may be NULL) and switch to `to`; returns its context, for the
** caller to switch to (from the function that reserved room for the
** frames it leaves).  For restoring the stack one is running on. */
uco_context *uco_lean_via_scratch(ucoro *co, ucoro *running, void **slot,
                                  void *value, uco_context *to);

/* Bytes of co's frames when it last stopped (now, when running). */
size_t uco_lean_used(const ucoro *co, ucoro *running);

/* Frees this thread's unused shared stacks and its scratch stack. */
void uco_lean_clear(void);

/* The same at thread exit; stacks still bound to coroutines are freed
** when their last one is destroyed. */
void uco_lean_thread_exit(void);

#endif
