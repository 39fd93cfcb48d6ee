/*
** backend.h: the one place that picks the context-switch backend.
**
** The hand-written switch on x86-64 System V (switch_x86_64.S); POSIX
** ucontext everywhere else, or when UCORO_BACKEND_UCONTEXT is defined
** (make BACKEND=ucontext).  context.h, context.c and switch_x86_64.S read
** UCORO_BACKEND_ASM from here; nothing else knows.
*/
#ifndef UCORO_BACKEND_H
#define UCORO_BACKEND_H

#if defined(__x86_64__) && !defined(_WIN32) && \
    !defined(UCORO_BACKEND_UCONTEXT)
#define UCORO_BACKEND_ASM 1
#endif

#endif
