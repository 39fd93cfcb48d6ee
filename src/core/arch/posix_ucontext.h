/*
** posix_ucontext.h: the portable POSIX ucontext backend.
*/
#ifndef UCORO_POSIX_UCONTEXT_H
#define UCORO_POSIX_UCONTEXT_H

#include <ucontext.h>

/* A suspended context's ucontext_t lives on its own stack, in the frame
** of the switch that suspended it (4.5 KiB on aarch64: not in every
** coroutine's record, twice). */
typedef struct uco_context {
  ucontext_t *uc;         /* while suspended */
  char *sp;               /* at or below its stack pointer then */
  void (*entry)(void *);  /* before its first run: what to start, */
  void *arg;
  char *lo;               /* and on which stack */
  size_t size;
} uco_context;

/* The switch's frame holds a ucontext_t: lean stacks keep that much more
** room below a suspended coroutine's frames (lean.c); into a context that
** never ran, it goes through a second frame with another. */
#define UCO_SWITCH_FRAME (256 + sizeof(ucontext_t))
#define UCO_ENTER_FRAME (256 + sizeof(ucontext_t))

int uco_ucontext_switch(uco_context *from, uco_context *to);

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  return uco_ucontext_switch(from, to);
}

#endif
