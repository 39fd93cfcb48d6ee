/*
** check_word.c: the secret of check_word.h's check words, drawn once a
** process.
*/
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <time.h>

#include "check_word.h"

#if defined(__linux__)
#include <sys/random.h>
#define DRAW(s) (getrandom(&(s), sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__)
#include <stdlib.h>
#define DRAW(s) (arc4random_buf(&(s), sizeof(s)), 1)
#else
#define DRAW(s) 0
#endif

_Atomic uintptr_t ucoro_lua_secret_word;

/* The first use's: random (else the clock and a stack address, mixed:
** weaker, never 0); two first uses at once agree on the one stored. */
uintptr_t ucoro_lua_secret_draw(void) {
  uintptr_t s = 0, none = 0;
  if (!DRAW(s) || s == 0) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    s = (uintptr_t)ts.tv_nsec ^ (uintptr_t)ts.tv_sec ^ (uintptr_t)&ts;
  }
  s |= 1;
  if (!atomic_compare_exchange_strong(&ucoro_lua_secret_word, &none, s))
    s = none;  /* another thread's, stored first */
  return s;
}
