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
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__)
#include <stdlib.h>
#endif

/* Random bits from the system, or 0. */
static uintptr_t draw(void) {
  uintptr_t s = 0;
#if defined(__linux__)
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__)
  arc4random_buf(&s, sizeof s);
#endif
  return s;
}

_Atomic uintptr_t ucoro_lua_secret_word;

/* The first use's: random (else the clock and a stack address, mixed:
** weaker, never 0); two first uses at once agree on the one stored. */
uintptr_t ucoro_lua_secret_draw(void) {
  uintptr_t s = draw(), none = 0;
  if (s == 0) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    s = (uintptr_t)ts.tv_nsec ^ (uintptr_t)ts.tv_sec ^ (uintptr_t)&ts;
  }
  s |= 1;
  if (!atomic_compare_exchange_strong(&ucoro_lua_secret_word, &none, s))
    s = none;  /* another thread's, stored first */
  return s;
}
