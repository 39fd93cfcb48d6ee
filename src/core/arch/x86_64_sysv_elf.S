/*
** x86_64_sysv_elf.S: context switch for x86-64, System V ABI, ELF objects
** (GNU as).  backend.h builds it only there.
**
** A suspended context is its stack pointer; everything the ABI says a
** callee must preserve sits just above it:
**
**   +--------+------------------------------------------+
**   | sp+ 0  | MXCSR (low 4 bytes), x87 control word (+4)|
**   | sp+ 8  | r15                                       |
**   | sp+16  | r14                                       |
**   | sp+24  | r13    (new context: entry function)      |
**   | sp+32  | r12    (new context: entry's argument)    |
**   | sp+40  | rbx                                       |
**   | sp+48  | rbp                                       |
**   | sp+56  | return address (new: uco_start_x86_64)    |
**   +--------+------------------------------------------+
*/

#include "backend.h"

#ifdef UCORO_BACKEND_X86_64_SYSV_ELF

        .text

/* int uco_switch_x86_64(void **save_sp, void *load_sp)
** Saves the running context, sets *save_sp, resumes the one at load_sp,
** and there returns 0. */
        .globl  uco_switch_x86_64
        .hidden uco_switch_x86_64
        .type   uco_switch_x86_64, @function
        .align  16
uco_switch_x86_64:
        .cfi_startproc
        pushq   %rbp                /* callee-saved registers */
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)              /* SSE control/status (callee-saved) */
        fnstcw  4(%rsp)             /* x87 control word (callee-saved) */
        movq    %rsp, (%rdi)        /* *save_sp = this context */
        movq    %rsi, %rsp          /* on to the other stack */
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        xorl    %eax, %eax          /* returns 0 */
        ret
        .cfi_endproc
        .size   uco_switch_x86_64, .-uco_switch_x86_64

/* First code of every new context: calls entry(arg), which never
** returns.  The undefined return address ends a debugger's backtrace
** here instead of walking into whatever lies above the stack. */
        .globl  uco_start_x86_64
        .hidden uco_start_x86_64
        .type   uco_start_x86_64, @function
        .align  16
uco_start_x86_64:
        .cfi_startproc
        .cfi_undefined rip
        xorl    %ebp, %ebp          /* no caller frame */
        movq    %r12, %rdi          /* arg */
        callq   *%r13               /* entry(arg) */
        ud2                         /* entry never returns */
        .cfi_endproc
        .size   uco_start_x86_64, .-uco_start_x86_64

#endif

/* Even when empty: no executable stack. */
#if defined(__ELF__)
        .section .note.GNU-stack,"",%progbits
#endif
