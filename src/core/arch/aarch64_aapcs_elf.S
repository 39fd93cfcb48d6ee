/*
** aarch64_aapcs_elf.S: context switch for AArch64, AAPCS64 (ELF, gas).
**
** A suspended context is its stack pointer; everything AAPCS64 says a
** callee must preserve sits just above it (176 bytes, 16-aligned):
**
**   +--------+----------------------------------------------------+
**   | sp+  0 | x19  (new context: entry function)  | sp+  8 | x20  |
**   |        |                                     |  (entry's arg) |
**   | sp+ 16 | x21                                 | sp+ 24 | x22  |
**   | sp+ 32 | x23                                 | sp+ 40 | x24  |
**   | sp+ 48 | x25                                 | sp+ 56 | x26  |
**   | sp+ 64 | x27                                 | sp+ 72 | x28  |
**   | sp+ 80 | x29  frame pointer (new: 0)         | sp+ 88 | x30  |
**   |        |      return address (new: uco_start_aarch64)         |
**   | sp+ 96 | d8                                  | sp+104 | d9   |
**   | sp+112 | d10                                 | sp+120 | d11  |
**   | sp+128 | d12                                 | sp+136 | d13  |
**   | sp+144 | d14                                 | sp+152 | d15  |
**   | sp+160 | FPCR                                | sp+168 | (pad)|
**   +--------+----------------------------------------------------+
**
** Only the low 64 bits of v8-v15 are callee-saved.  FPCR (rounding mode,
** flush-to-zero...) is written only when it differs: writing it is slow
** on many cores.  Entry points start with `bti c` and the file carries
** the GNU property note, so systems that enforce BTI (and qemu) run it.
*/

#include "backend.h"

#ifdef UCORO_BACKEND_AARCH64_AAPCS_ELF

        .text

/* int uco_switch_aarch64(void **save_sp, void *load_sp)
** Saves the running context, sets *save_sp, resumes the one at load_sp,
** and there returns 0. */
        .globl  uco_switch_aarch64
        .hidden uco_switch_aarch64
        .type   uco_switch_aarch64, %function
        .p2align 4
uco_switch_aarch64:
        .cfi_startproc
        hint    #34                     /* bti c (a NOP without BTI) */
        stp     x19, x20, [sp, #-176]!  /* callee-saved registers */
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]     /* frame and return address */
        stp     d8,  d9,  [sp, #96]     /* low halves of v8-v15 */
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x2, fpcr                /* FP control (callee-saved) */
        str     x2, [sp, #160]
        mov     x3, sp
        str     x3, [x0]                /* *save_sp = this context */
        mov     sp, x1                  /* on to the other stack */
        ldr     x3, [sp, #160]
        cmp     x2, x3
        b.ne    2f                      /* its FPCR differs: write it */
1:      ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x19, x20, [sp], #176
        mov     w0, #0                  /* returns 0 */
        ret                             /* x30: no BTI landing pad needed */
2:      msr     fpcr, x3
        b       1b
        .cfi_endproc
        .size   uco_switch_aarch64, .-uco_switch_aarch64

/* First code of every new context (the first switch "returns" here):
** calls entry(arg), which never returns.  x30 undefined and x29 zero end
** a debugger's backtrace here instead of walking above the stack. */
        .globl  uco_start_aarch64
        .hidden uco_start_aarch64
        .type   uco_start_aarch64, %function
        .p2align 4
uco_start_aarch64:
        .cfi_startproc
        .cfi_undefined x30
        hint    #34                     /* bti c */
        mov     x29, #0                 /* no caller frame */
        mov     x30, #0
        mov     x0, x20                 /* arg */
        blr     x19                     /* entry(arg) */
        brk     #0                      /* entry never returns */
        .cfi_endproc
        .size   uco_start_aarch64, .-uco_start_aarch64

/* GNU property note: this code is BTI- and PAC-compatible, so linking it
** does not strip the marking from a program built with
** -mbranch-protection=standard. */
        .section .note.gnu.property, "a"
        .p2align 3
        .word   4                       /* name size ("GNU\0") */
        .word   16                      /* descriptor size */
        .word   5                       /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .word   0xc0000000              /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
        .word   4                       /* data size */
        .word   3                       /* BTI | PAC */
        .word   0                       /* pad to 8 */

#endif

#if defined(__ELF__)
        .section .note.GNU-stack,"",%progbits
#endif
