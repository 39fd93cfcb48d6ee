/*
** posix_ucontext.h: the portable POSIX ucontext backend.
*/
#ifndef UCORO_POSIX_UCONTEXT_H
#define UCORO_POSIX_UCONTEXT_H

#include <ucontext.h>

typedef struct uco_context {
  ucontext_t uc;
} uco_context;

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  swapcontext(&from->uc, &to->uc);
  return 0;
}

#endif
