/*
** x86_64_sysv.c: lays out a new stack for x86_64_sysv_elf.S.
*/
#include "context.h"

#include <stdint.h>

const char uco_context_backend[] = "asm-x86_64";

void uco_start_x86_64(void);  /* the trampoline in x86_64_sysv_elf.S */

/* The first switch to a new context pops this frame (see the table in
** x86_64_sysv_elf.S) and "returns" into the trampoline, which calls
** entry(arg). */
void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
  uint64_t *frame = (uint64_t *)(top - 64);
  uint32_t mxcsr;
  uint16_t fpucw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  frame[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
  frame[1] = 0;                        /* r15 */
  frame[2] = 0;                        /* r14 */
  frame[3] = (uint64_t)(uintptr_t)entry; /* r13 */
  frame[4] = (uint64_t)(uintptr_t)arg;   /* r12 */
  frame[5] = 0;                        /* rbx */
  frame[6] = 0;                        /* rbp */
  frame[7] = (uint64_t)(uintptr_t)uco_start_x86_64;  /* return address */
  ctx->sp = frame;
}

char *uco_context_sp(const uco_context *ctx) {
  return (char *)ctx->sp;
}
