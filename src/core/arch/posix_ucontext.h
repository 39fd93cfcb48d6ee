/*
** posix_ucontext.h: the portable POSIX ucontext backend.
*/
#ifndef UCORO_POSIX_UCONTEXT_H
#define UCORO_POSIX_UCONTEXT_H

#include <ucontext.h>

typedef struct uco_context {
  ucontext_t uc;
  char *sp;  /* at or below its stack pointer while suspended: read from
                the ucontext_t, it would take each machine's register
                layout */
} uco_context;

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  from->sp = uco_below_caller();
  swapcontext(&from->uc, &to->uc);
  return 0;
}

#endif
