/*
** x86_64_sysv.c: lays out a new context for x86_64_sysv.h's switch.
*/
#include "context.h"

#include <stdint.h>

const char uco_context_backend[] = "asm-x86_64";

void uco_start_x86_64(void);  /* the trampoline in x86_64_sysv_elf.S */

/* The first switch to a new context jumps into the trampoline, which
** calls entry(arg), both found at the stack pointer; the floating-point
** control state is the creator's. */
void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
  uint64_t *frame = (uint64_t *)(top - 16);
  frame[0] = (uint64_t)(uintptr_t)arg;
  frame[1] = (uint64_t)(uintptr_t)entry;
  ctx->sp = frame;
  ctx->pc = (const void *)uco_start_x86_64;
  ctx->fp = NULL;  /* no caller frame */
  __asm__ volatile("stmxcsr %0" : "=m"(ctx->mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(ctx->fpucw));
}

char *uco_context_sp(const uco_context *ctx) {
  return (char *)ctx->sp;
}
