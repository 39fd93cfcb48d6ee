/*
** posix_sjlj.c: a new stack is entered once with makecontext/setcontext;
** after that every switch is _setjmp on one side and _longjmp on the
** other.  _setjmp/_longjmp leave the signal mask alone, so a switch makes
** no system call (swapcontext makes two).
**
** context.c leaves _FORTIFY_SOURCE undefined for this file: with it glibc
** turns _longjmp into __longjmp_chk, which aborts when the jump lands
** on a lower stack ("longjmp causes uninitialized stack frame"), as every
** switch to another stack may.
*/
#include "context.h"

#include <setjmp.h>
#include <ucontext.h>

#include "compiler.h"
#include "sanitizer.h"

#if defined(__USE_FORTIFY_LEVEL) && __USE_FORTIFY_LEVEL > 0
#error "posix_sjlj.c needs _longjmp unchecked: build it without _FORTIFY_SOURCE"
#endif

const char uco_context_backend[] = "sjlj";

/* The context a new stack starts with: set just before setcontext, read
** first thing on the new stack (makecontext passes only ints). */
static UCO_TLS uco_context *starting;

void uco_context_init(uco_context *ctx, char *lo, size_t size,
                      uco_context_entry entry, void *arg) {
  ctx->sp = lo + size;
  ctx->entry = entry;
  ctx->arg = arg;
  ctx->lo = lo;
  ctx->size = size;
}

static void start(void) {
  uco_context *ctx = starting;
  uco_context_entry entry = ctx->entry;
  ctx->entry = NULL;  /* from now on it is resumed with _longjmp */
  entry(ctx->arg);    /* never returns */
}

/* Enters a context never run: a ucontext_t for this one jump, on the
** stack being left (its frames there are dead once it is left; not
** instrumented, so that AddressSanitizer leaves no poisoned red zones
** there). */
SAN_UNANNOUNCED static __attribute__((noinline, noreturn)) void enter(
    uco_context *to) {
  ucontext_t uc;
  getcontext(&uc);
  uc.uc_stack.ss_sp = to->lo;
  uc.uc_stack.ss_size = to->size;
  uc.uc_link = NULL;
  makecontext(&uc, start, 0);
  starting = to;
  setcontext(&uc);
  __builtin_trap();  /* setcontext returns only on error */
}

int uco_sjlj_switch(uco_context *from, uco_context *to) {
  from->sp = uco_below_caller();
  from->entry = NULL;  /* started: a resumer's context was never set up */
  if (_setjmp(from->jb) == 0) {
    if (to->entry != NULL) enter(to);
    _longjmp(to->jb, 1);
  }
  return 0;
}

char *uco_context_sp(const uco_context *ctx) {
  return ctx->sp;
}
