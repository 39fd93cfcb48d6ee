/*
** posix_ucontext.c: makecontext/swapcontext; portable, and slow because
** glibc saves and restores the signal mask with two system calls.
*/
#include "context.h"

#include <stdint.h>
#include <string.h>

const char uco_context_backend[] = "ucontext";

typedef struct start_args {
  uco_context_entry entry;
  void *arg;
} start_args;

/* makecontext passes only ints: the start record's address comes in two
** halves, and lives on the new stack itself. */
static void start(unsigned hi, unsigned lo) {
  start_args *a = (start_args *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
  a->entry(a->arg);
}

void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  start_args *a = (start_args *)(lo + size - sizeof(start_args));
  uintptr_t p = (uintptr_t)a;
  a->entry = entry;
  a->arg = arg;
  memset(&ctx->uc, 0, sizeof ctx->uc);
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = lo;
  ctx->uc.uc_stack.ss_size = ((size - sizeof(start_args)) & ~(size_t)15);
  ctx->uc.uc_link = NULL;
  makecontext(&ctx->uc, (void (*)(void))start, 2,
              (unsigned)(p >> 32), (unsigned)(p & 0xffffffffu));
}

/* swapcontext keeps the registers in the ucontext_t, off the stack. */
char *uco_context_sp(const uco_context *ctx) {
#if defined(__x86_64__) && defined(REG_RSP)
  return (char *)ctx->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (char *)ctx->uc.uc_mcontext.sp;
#else
  (void)ctx;
  return NULL;
#endif
}
