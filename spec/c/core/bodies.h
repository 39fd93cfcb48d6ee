/*
** bodies.h: for the core's C tests (after cmocka.h), coroutine bodies
** several of them use.
*/
#ifndef SPEC_CORE_BODIES_H
#define SPEC_CORE_BODIES_H

#include "ucoro.h"

/* Finishes at once, giving back what it was started with. */
static inline void *returns_arg(ucoro *co, void *arg) {
  (void)co;
  return arg;
}

/* Parks once, yielding arg, then finishes giving it back again. */
static inline void *parks_once(ucoro *co, void *arg) {
  (void)co;
  ucoro_yield(arg, NULL);
  return arg;
}

#endif
