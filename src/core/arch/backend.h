/*
** backend.h: the one place that picks the context-switch backend.
**
**   UCORO_BACKEND_X86_64_SYSV_ELF  x86_64_sysv_elf.S: x86-64, System V
**                                  ABI, ELF objects (Linux, the BSDs)
**   UCORO_BACKEND_UCONTEXT         posix_ucontext.c: POSIX makecontext/
**                                  swapcontext, anywhere else, or when
**                                  UCORO_BACKEND_UCONTEXT is defined
**                                  (make BACKEND=ucontext)
**
** context.h, context.c and the .S files read the choice from here;
** nothing else knows which backend runs.
*/
#ifndef UCORO_BACKEND_H
#define UCORO_BACKEND_H

#if !defined(UCORO_BACKEND_UCONTEXT) && defined(__x86_64__) && \
    defined(__ELF__)
#define UCORO_BACKEND_X86_64_SYSV_ELF 1
#else
#ifndef UCORO_BACKEND_UCONTEXT
#define UCORO_BACKEND_UCONTEXT 1
#endif
#endif

#endif
