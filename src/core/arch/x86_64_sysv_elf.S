/*
** x86_64_sysv_elf.S: the first code of a new context for x86-64, System V
** ABI, ELF objects (GNU as); the switch itself is inline
** (x86_64_sysv.h).  backend.h builds it only there.
*/

#include "backend.h"

#ifdef UCORO_BACKEND_X86_64_SYSV_ELF

        .text

/* First code of every new context, reached by the switch's jump with
** arg at the stack pointer and entry above it: calls entry(arg), which
** never returns.  The undefined return address ends a debugger's
** backtrace here instead of walking into whatever lies above the stack. */
        .globl  uco_start_x86_64
        .hidden uco_start_x86_64
        .type   uco_start_x86_64, @function
        .align  16
uco_start_x86_64:
        .cfi_startproc
        .cfi_undefined rip
#if defined(__CET__) && (__CET__ & 1)
        endbr64                     /* reached by an indirect jump */
#endif
        movq    (%rsp), %rdi        /* arg */
        callq   *8(%rsp)            /* entry(arg); rbp is 0: no caller frame */
        ud2                         /* entry never returns */
        .cfi_endproc
        .size   uco_start_x86_64, .-uco_start_x86_64

#endif

/* Even when empty: no executable stack. */
#if defined(__ELF__)
        .section .note.GNU-stack,"",%progbits
#endif
