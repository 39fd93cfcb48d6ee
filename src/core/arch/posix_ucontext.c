/*
** posix_ucontext.c: makecontext/swapcontext; portable, and slow because
** glibc saves and restores the signal mask with two system calls.
*/
#include "context.h"

#include <stdint.h>

const char uco_context_backend[] = "ucontext";

void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  ctx->uc = NULL;
  ctx->sp = lo + size;
  ctx->entry = entry;
  ctx->arg = arg;
  ctx->lo = lo;
  ctx->size = size;
}

/* makecontext passes only ints: the context's address comes in two
** 32-bit halves (hi is 0 on 32-bit targets). */
static void start(unsigned hi, unsigned lo) {
  uint64_t p = ((uint64_t)hi << 32) | (uint64_t)lo;
  uco_context *ctx = (uco_context *)(uintptr_t)p;
  uco_context_entry entry = ctx->entry;
  ctx->entry = NULL;  /* from now on it is resumed with swapcontext */
  entry(ctx->arg);    /* never returns */
}

/* The first switch to a context: a ucontext_t for that one entry, on the
** stack being left (below here: the hint goes lower too). */
static __attribute__((noinline)) void enter(uco_context *from,
                                            ucontext_t *here,
                                            uco_context *to) {
  ucontext_t first;
  uint64_t p = (uint64_t)(uintptr_t)to;
  from->sp = uco_below_caller();
  getcontext(&first);
  first.uc_stack.ss_sp = to->lo;
  first.uc_stack.ss_size = to->size & ~(size_t)15;
  first.uc_link = NULL;
  makecontext(&first, (void (*)(void))start, 2, (unsigned)(p >> 32),
              (unsigned)(p & 0xffffffffu));
  swapcontext(here, &first);
}

int uco_ucontext_switch(uco_context *from, uco_context *to) {
  ucontext_t here;
  /* valid while suspended: this frame lives until the context resumes */
  /* cppcheck-suppress autoVariables */
  from->uc = &here;
  from->sp = uco_below_caller();
  from->entry = NULL;  /* started: a resumer's context was never set up */
  if (to->entry != NULL)
    enter(from, &here, to);
  else
    swapcontext(&here, to->uc);
  return 0;
}

char *uco_context_sp(const uco_context *ctx) {
  return ctx->sp;
}
