/*
** context_ucontext.h: the portable POSIX ucontext backend.
*/
#ifndef UCORO_CONTEXT_UCONTEXT_H
#define UCORO_CONTEXT_UCONTEXT_H

#include <ucontext.h>

typedef struct uco_context {
  ucontext_t uc;
  void *value;  /* set by whoever switches to this context */
} uco_context;

static inline void *uco_context_switch(uco_context *from, uco_context *to,
                                       void *value) {
  to->value = value;
  swapcontext(&from->uc, &to->uc);
  return from->value;
}

#endif
