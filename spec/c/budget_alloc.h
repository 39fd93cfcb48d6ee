/*
** budget_alloc.h: a Lua allocator that runs out of memory on demand, for
** the C tests that fail each allocation in turn (spec/c/lua, spec/c/go).
*/
#ifndef BUDGET_ALLOC_H
#define BUDGET_ALLOC_H

#include <stdlib.h>

/* Counts the requests that need memory (new blocks, growing ones); from
** the fail_at-th on it refuses fail_count of them (0: all), as an
** allocator out of memory would.  Frees and shrinks always work. */
typedef struct budget {
  long requests;
  long fail_at;     /* 0: never fail */
  long fail_count;  /* how many to refuse from fail_at on; 0: every one */
  long refused;
} budget;

static inline void *budget_alloc(void *ud, void *ptr, size_t osize,
                                 size_t nsize) {
  budget *b = ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (ptr == NULL || nsize > osize) {
    b->requests++;
    if (b->fail_at > 0 && b->requests >= b->fail_at &&
        (b->fail_count == 0 || b->refused < b->fail_count)) {
      b->refused++;
      return NULL;
    }
  }
  return realloc(ptr, nsize);
}

#endif
