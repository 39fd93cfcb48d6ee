/*
** aarch64_aapcs.c: lays out a new stack for aarch64_aapcs_elf.S.
*/
#include "context.h"

#include <stdint.h>

const char uco_context_backend[] = "asm-aarch64";

void uco_start_aarch64(void);  /* the trampoline in aarch64_aapcs_elf.S */

/* The first switch to a new context loads this frame (see the table in
** aarch64_aapcs_elf.S) and returns into the trampoline, which calls
** entry(arg).  Registers the table leaves out start at 0. */
void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
  uint64_t *frame = (uint64_t *)(top - 176);
  uint64_t fpcr;
  int i;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  for (i = 0; i < 22; i++) frame[i] = 0;
  frame[0] = (uint64_t)(uintptr_t)entry;              /* x19 */
  frame[1] = (uint64_t)(uintptr_t)arg;                /* x20 */
  frame[11] = (uint64_t)(uintptr_t)uco_start_aarch64; /* x30 */
  frame[20] = fpcr;
  ctx->sp = frame;
}

char *uco_context_sp(const uco_context *ctx) {
  return (char *)ctx->sp;
}
