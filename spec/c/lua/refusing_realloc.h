/*
** refusing_realloc.h: for the C tests whose allocations must fail on
** demand (include once per program, after cmocka.h and lua.h): a realloc
** that refuses every new block while refuse_new_blocks is set.
*/
#ifndef SPEC_REFUSING_REALLOC_H
#define SPEC_REFUSING_REALLOC_H

#include <dlfcn.h>
#include <stdlib.h>

#include "lua.h"

/* While set, realloc refuses every new block (ptr NULL): lean.c's first
** room for a coroutine's frames, and Lua's new objects; shrinking and
** freeing still work, so that a collection can run. */
static volatile int refuse_new_blocks;

void *realloc(void *ptr, size_t size) {
  static void *(*real)(void *, size_t);
  if (real == NULL) real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  if (refuse_new_blocks && ptr == NULL && size > 0) return NULL;
  return real(ptr, size);
}

/* Valgrind replaces realloc everywhere, this one too: then nothing is
** refused, and a test that needs refusals would prove nothing. */
static inline int refusing_works(void) {
  void *volatile none = NULL;  /* (realloc(NULL, n) would become malloc) */
  void *p;
  refuse_new_blocks = 1;
  p = realloc(none, 16);
  refuse_new_blocks = 0;
  free(p);
  return p == NULL;
}

/* memory_gone(), memory_back(): the refusals on and off, from Lua. */
static inline int memory_gone(lua_State *L) {
  (void)L;
  refuse_new_blocks = 1;
  return 0;
}

static inline int memory_back(lua_State *L) {
  (void)L;
  refuse_new_blocks = 0;
  return 0;
}

#endif
