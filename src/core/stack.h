/*
** stack.h: guarded, lazily committed coroutine stacks, pooled per OS thread.
*/
#ifndef UCORO_STACK_H
#define UCORO_STACK_H

#include <stddef.h>

/* A guard this wide (reserved PROT_NONE address space below every stack:
** one mapping, no memory) is wider than any frame that C libraries open
** with a single `sub rsp`, without probing each page: Debian 12's libc
** has one of 33,312 bytes (vfwprintf), fnmatch 18,600, libuv 12,520,
** LPeg 9,752, liblua5.4 8,264 (luaL_loadfilex).  A frame of that size
** opened near the end of a stack lands in the guard, never in the
** neighbouring mapping.  A whole number of pages wherever pages are 64
** KiB or less (all Linux ports); no stack is mapped where they are
** larger. */
#define UCO_GUARD_SIZE ((size_t)64 * 1024)

/* One mapping: a PROT_NONE guard at base, then size usable bytes. */
typedef struct uco_stack {
  char *base;            /* start of the mapping (the guard) */
  size_t map_size;       /* guard + usable bytes */
  unsigned valgrind_id;  /* Valgrind's name for the stack, or 0 */
} uco_stack;

/* Lowest and one-past-highest usable addresses. */
static inline char *uco_stack_lo(const uco_stack *s);
static inline char *uco_stack_hi(const uco_stack *s);

/* pure: the same answer every time (read once, then cached), so that
** the compiler may call it once where several helpers ask, and not at all
** where the answer goes unused (an annotation compiled out). */
size_t uco_page_size(void) __attribute__((pure));

/* The mapping a stack of usable size bytes takes (guard included). */
static inline size_t uco_stack_map_size(size_t size);

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

static inline size_t uco_stack_map_size(size_t size) {
  return size + UCO_GUARD_SIZE;
}

static inline char *uco_stack_lo(const uco_stack *s) {
  return s->base + UCO_GUARD_SIZE;
}

static inline char *uco_stack_hi(const uco_stack *s) {
  return s->base + s->map_size;
}

#endif
