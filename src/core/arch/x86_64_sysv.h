/*
** x86_64_sysv.h: the x86-64 System V switch, inline: the compiler sees
** it, so a function that switches saves the callee-saved registers once,
** in its own prologue, rather than its prologue saving those it uses and
** the switch all of them again; and the switch ends in a jump, not a
** return the other stack would consume (which the CPU's return
** prediction gets wrong).
**
** A suspended context is all in its record: the stack pointer, where to
** go on, rbp (a frame pointer may live there: the asm cannot clobber it),
** and the floating-point control state (MXCSR, the x87 control word:
** callee-saved, so each coroutine keeps its own rounding mode).  A switch
** stores the running context's and loads the other's, then jumps; on
** arrival the callee-saved registers hold garbage, which the clobbers
** tell the compiler.  Nothing is written below the stack pointer.
*/
#ifndef UCORO_X86_64_SYSV_H
#define UCORO_X86_64_SYSV_H

#include <stdint.h>

typedef struct uco_context {
  void *sp;           /* +0 */
  const void *pc;     /* +8: where it goes on */
  void *fp;           /* +16: rbp */
  uint32_t mxcsr;     /* +24 */
  uint16_t fpucw;     /* +28 */
} uco_context;

/* With -fcf-protection=branch, a jump's target is a landing pad. */
#if defined(__CET__) && (__CET__ & 1)
#define UCO_X86_LANDING "endbr64\n\t"
#else
#define UCO_X86_LANDING ""
#endif

/* Registers the other side's code may leave changed, beyond the asm's
** operands (rdi, and rsi or the base): every general one but rbp and rsp,
** the vector, mask and x87 registers, the flags. */
#ifdef __AVX512F__
#define UCO_X86_AVX512_CLOBBERS                                           \
  , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",        \
    "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29",        \
    "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#else
#define UCO_X86_AVX512_CLOBBERS
#endif

/* The switch's code: the context saved at FD(FB), the one loaded at
** TD(TB) (a displacement, which may be an operand, and a base register). */
#define UCO_X86_SWITCH(FD, FB, TD, TB)                                    \
  "stmxcsr 24+" FD "(" FB ")\n\t"                                         \
  "fnstcw 28+" FD "(" FB ")\n\t"                                          \
  "leaq 1f(%%rip), %%rax\n\t"                                            \
  "movq %%rbp, 16+" FD "(" FB ")\n\t"                                     \
  "movq %%rax, 8+" FD "(" FB ")\n\t"                                      \
  "movq %%rsp, " FD "(" FB ")\n\t"                                        \
  "ldmxcsr 24+" TD "(" TB ")\n\t"                                         \
  "fldcw 28+" TD "(" TB ")\n\t"                                           \
  "movq 16+" TD "(" TB "), %%rbp\n\t"                                     \
  "movq " TD "(" TB "), %%rsp\n\t"                                        \
  "jmpq *8+" TD "(" TB ")\n"                                               \
  "1:\n\t" UCO_X86_LANDING

#define UCO_X86_CLOBBERS                                                  \
  "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13",     \
  "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",   \
  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",    \
  "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",    \
  "st(7)", "cc", "memory" UCO_X86_AVX512_CLOBBERS

/* Saves the running context in from, continues to; returns 0 once
** something switches back to from.  Always inline: its label is then one
** per call site. */
__attribute__((always_inline)) static inline int uco_context_switch(
    uco_context *from, uco_context *to) {
  __asm__ volatile(UCO_X86_SWITCH("0", "%[from]", "0", "%[to]")
                   : [from] "+D"(from), [to] "+S"(to)
                   :
                   : UCO_X86_CLOBBERS);
  return 0;
}

/* The same from the context at base + from to the one at base + to
** (offsets: constants), when one register addresses both, as in a
** coroutine's record.  A macro: the offsets are immediates even without
** optimisation. */
#define UCO_CONTEXT_SWITCH_AT(base, from, to)                             \
  do {                                                                    \
    void *uco_base_ = (base);                                             \
    __asm__ volatile(UCO_X86_SWITCH("%c[f]", "%[b]", "%c[t]", "%[b]")     \
                     : [b] "+D"(uco_base_)                                \
                     : [f] "i"(from), [t] "i"(to)                         \
                     : "rsi", UCO_X86_CLOBBERS);                          \
  } while (0)

/* The same, handing a word across in rsi: a switch _PASSING puts val
** there, and the switch _RECEIVING that waited on the other side gives it
** as its val.  (A switch that passes leaves val as the other side left
** rsi; one that receives from another kind of switch gets that side's
** rsi.) */
#define UCO_CONTEXT_SWITCH_AT_PASSING(base, from, to, val)                \
  do {                                                                    \
    void *uco_base_ = (base);                                             \
    __asm__ volatile(UCO_X86_SWITCH("%c[f]", "%[b]", "%c[t]", "%[b]")     \
                     : [b] "+D"(uco_base_), "+S"(val)                     \
                     : [f] "i"(from), [t] "i"(to)                         \
                     : UCO_X86_CLOBBERS);                                 \
  } while (0)

#define UCO_CONTEXT_SWITCH_AT_RECEIVING(base, from, to, val)              \
  do {                                                                    \
    void *uco_base_ = (base);                                             \
    __asm__ volatile(UCO_X86_SWITCH("%c[f]", "%[b]", "%c[t]", "%[b]")     \
                     : [b] "+D"(uco_base_), "=S"(val)                     \
                     : [f] "i"(from), [t] "i"(to)                         \
                     : UCO_X86_CLOBBERS);                                 \
  } while (0)

/* Inline, the switch keeps nothing below the stack pointer of the
** function it is in. */
#define UCO_SWITCH_FRAME 0

/* But a leaf function (no calls but this asm) may keep data in the 128
** bytes below its stack pointer, which the ABI leaves it: they count as
** its frames where a lean stack's live part is copied (lean.c). */
#define UCO_CONTEXT_RED_ZONE 128

#endif
