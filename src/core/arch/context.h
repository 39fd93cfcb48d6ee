/*
** context.h: the one interface every context-switch backend implements
** (x86_64_sysv.c with x86_64_sysv_elf.S, aarch64_aapcs.c with
** aarch64_aapcs_elf.S, posix_sjlj.c or posix_ucontext.c; backend.h picks,
** context.c compiles the pick).
*/
#ifndef UCORO_CONTEXT_H
#define UCORO_CONTEXT_H

#include <stddef.h>

#include "backend.h"

/* An address at or below its caller's stack pointer (context.c). */
char *uco_below_caller(void);

#if defined(UCORO_BACKEND_X86_64_SYSV_ELF)
#include "x86_64_sysv.h"
#elif defined(UCORO_BACKEND_AARCH64_AAPCS_ELF)
#include "aarch64_aapcs.h"
#elif defined(UCORO_BACKEND_SJLJ)
#include "posix_sjlj.h"
#else
#include "posix_ucontext.h"
#endif

/* Bytes a switch may keep below the stack pointer of the function it is
** called from (or inline in) while suspended: lean stacks reserve that
** much below a coroutine's frames.  Where the backend's header does not
** say, a generous guess at a C switch function's frame. */
#ifndef UCO_SWITCH_FRAME
#define UCO_SWITCH_FRAME 256
#endif

/* Bytes a switch into a context that never ran may keep beyond that (the
** scratch stack of lean.c is such a context at every use). */
#ifndef UCO_ENTER_FRAME
#define UCO_ENTER_FRAME 0
#endif

/* Bytes below its stack pointer a leaf function may keep data in, which
** the ABI leaves it (the backend's header says where there are). */
#ifndef UCO_CONTEXT_RED_ZONE
#define UCO_CONTEXT_RED_ZONE 0
#endif

/* What runs first on a new context: entry(arg).  It must never return. */
typedef void (*uco_context_entry)(void *arg);

/* Prepares ctx to run entry(arg, ...) on the stack [lo, lo + size). */
void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg);

/* Where the frames of a suspended context begin (at or a little below its
** stack pointer; a red zone is the caller's to add): the live part of its
** stack is [that, top). */
char *uco_context_sp(const uco_context *ctx);

/* int uco_context_switch(uco_context *from, uco_context *to):
** saves the running context in from and continues to; returns 0 when
** something later switches back to from (0, so that callers can end in a
** tail call).  Declared in the backend's header, inline where it can be. */

/* The backend's name, for ucoro_backend(). */
extern const char uco_context_backend[];

#endif
