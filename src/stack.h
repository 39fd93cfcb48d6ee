/*
** stack.h: guarded, lazily committed coroutine stacks, pooled per OS thread.
*/
#ifndef UCORO_STACK_H
#define UCORO_STACK_H

#include <stddef.h>

/* One mapping: a PROT_NONE guard page at base, then size usable bytes. */
typedef struct uco_stack {
  char *base;            /* start of the mapping (the guard page) */
  size_t map_size;       /* guard page + usable bytes */
  unsigned valgrind_id;  /* Valgrind's name for the stack, or 0 */
} uco_stack;

/* Lowest and one-past-highest usable addresses. */
static inline char *uco_stack_lo(const uco_stack *s);
static inline char *uco_stack_hi(const uco_stack *s);

size_t uco_page_size(void);

/* Rounds a requested size (0: the default) up to whole pages, or returns 0
** when it cannot be mapped at all. */
size_t uco_stack_round(size_t size);

/* Gets a stack of the rounded size: from this thread's pool if one fits,
** else from mmap.  Returns 0 on success, -1 when no memory or mapping. */
int uco_stack_acquire(size_t size, uco_stack *out);

/* Gives a stack back to this thread's pool (or unmaps it past the cap). */
void uco_stack_release(const uco_stack *s);

/* Bytes from the top of the stack down to the lowest touched page. */
size_t uco_stack_touched(const uco_stack *s);

/* Unmaps every stack in this thread's pool. */
void uco_stack_pool_clear(void);

static inline char *uco_stack_lo(const uco_stack *s) {
  return s->base + uco_page_size();
}

static inline char *uco_stack_hi(const uco_stack *s) {
  return s->base + s->map_size;
}

#endif
