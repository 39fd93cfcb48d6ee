/*
** posix_sjlj.h: the portable fallback for glibc targets without a
** hand-written switch: each new stack is entered once through makecontext,
** then every switch is _setjmp/_longjmp (no signal mask, no system call).
*/
#ifndef UCORO_POSIX_SJLJ_H
#define UCORO_POSIX_SJLJ_H

#include <setjmp.h>
#include <stddef.h>

typedef struct uco_context {
  jmp_buf jb;   /* while suspended (after its first run) */
  char *sp;     /* a little below its stack pointer then: jmp_buf's copy
                   is mangled by glibc, so lean stacks need their own */
  void (*entry)(void *);  /* before its first run: what to start, */
  void *arg;
  char *lo;               /* and on which stack */
  size_t size;
} uco_context;

int uco_sjlj_switch(uco_context *from, uco_context *to);

static inline int uco_context_switch(uco_context *from, uco_context *to) {
  return uco_sjlj_switch(from, to);
}

#endif
