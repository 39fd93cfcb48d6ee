/*
** backend.h: the one place that picks the context-switch backend.
**
**   UCORO_BACKEND_X86_64_SYSV_ELF    x86_64_sysv_elf.S: x86-64, System V
**                                    ABI, ELF objects (Linux, the BSDs)
**   UCORO_BACKEND_AARCH64_AAPCS_ELF  aarch64_aapcs_elf.S: AArch64, AAPCS64,
**                                    ELF objects
**   UCORO_BACKEND_SJLJ               posix_sjlj.c: makecontext once per
**                                    stack, then _setjmp/_longjmp; glibc
**                                    targets without a switch of their own,
**                                    or make BACKEND=sjlj
**   UCORO_BACKEND_UCONTEXT           posix_ucontext.c: POSIX swapcontext;
**                                    other C libraries that have it (the
**                                    BSDs, macOS), or make BACKEND=ucontext
**
** The build may name UCORO_BACKEND_SJLJ or UCORO_BACKEND_UCONTEXT; else the
** target decides.  musl and Bionic have no getcontext/makecontext/
** swapcontext: there only the hand-written switches build.  context.h,
** context.c and the .S files read the choice from here; nothing else
** knows which backend runs.
*/
#ifndef UCORO_BACKEND_H
#define UCORO_BACKEND_H

#if defined(UCORO_BACKEND_SJLJ) || defined(UCORO_BACKEND_UCONTEXT)
/* the build's choice */
#elif defined(__x86_64__) && !defined(__ILP32__) && defined(__ELF__)
#define UCORO_BACKEND_X86_64_SYSV_ELF 1
#elif defined(__aarch64__) && !defined(__ILP32__) && defined(__ELF__)
#define UCORO_BACKEND_AARCH64_AAPCS_ELF 1
#elif !defined(__ASSEMBLER__)
#include <limits.h> /* __GLIBC__ */
#if defined(__GLIBC__)
#define UCORO_BACKEND_SJLJ 1
#else
#define UCORO_BACKEND_UCONTEXT 1
#endif
#endif

/* The POSIX backends need makecontext, which Linux C libraries other than
** glibc (musl, Bionic) lack: say so when building, not when loading. */
#if (defined(UCORO_BACKEND_SJLJ) || defined(UCORO_BACKEND_UCONTEXT)) && \
    !defined(__ASSEMBLER__)
#include <limits.h>
#if defined(__linux__) && !defined(__GLIBC__)
#error "ucoro: this C library (musl?) has no getcontext/makecontext/swapcontext, so neither the ucontext nor the sjlj backend builds; use BACKEND=asm (x86-64, aarch64)"
#endif
#endif

#endif
