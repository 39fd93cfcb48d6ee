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
** 32-bit halves (hi is 0 on 32-bit targets), and lives on the new stack
** itself. */
static void start(unsigned hi, unsigned lo) {
  uint64_t p = ((uint64_t)hi << 32) | (uint64_t)lo;
  start_args *a = (start_args *)(uintptr_t)p;
  a->entry(a->arg);
}

void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  start_args *a = (start_args *)(lo + size - sizeof(start_args));
  uint64_t p = (uint64_t)(uintptr_t)a;
  a->entry = entry;
  a->arg = arg;
  memset(&ctx->uc, 0, sizeof ctx->uc);
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = lo;
  ctx->uc.uc_stack.ss_size = ((size - sizeof(start_args)) & ~(size_t)15);
  ctx->uc.uc_link = NULL;
  ctx->sp = (char *)a;
  makecontext(&ctx->uc, (void (*)(void))start, 2,
              (unsigned)(p >> 32), (unsigned)(p & 0xffffffffu));
}

char *uco_context_sp(const uco_context *ctx) {
  return ctx->sp;
}
