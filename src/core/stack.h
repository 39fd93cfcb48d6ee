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
** else (if may_map) from mmap.  Returns 0 on success, -1 when no memory or
** mapping, or none pooled and !may_map. */
int uco_stack_acquire(size_t size, uco_stack *out, int may_map);

/* Stacks the process has mapped now (pooled ones too), and the count past
** which UCORO_AUTO stops mapping own stacks (ucoro_own_limit). */
size_t uco_stack_mapped(void);
size_t uco_stack_limit(void);
size_t uco_stack_set_limit(size_t limit);

/* Gives a stack back to this thread's pool (or unmaps it past the cap). */
void uco_stack_release(const uco_stack *s);

/* Unmaps a stack at once (for stacks freed at thread exit). */
void uco_stack_free(const uco_stack *s);

/* Bytes from the top of the stack down to the lowest touched page. */
size_t uco_stack_touched(const uco_stack *s);

/* Unmaps every stack in this thread's pool (also when it exits). */
void uco_stack_pool_clear(void);

static inline char *uco_stack_lo(const uco_stack *s) {
  return s->base + uco_page_size();
}

static inline char *uco_stack_hi(const uco_stack *s) {
  return s->base + s->map_size;
}

#endif
