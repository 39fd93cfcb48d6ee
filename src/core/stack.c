/*
** stack.c: guarded, lazily committed stacks and their per-thread pool.
*/
#define _GNU_SOURCE
#include "stack.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "sanitizer.h"

/* bench/stack_depth.lua, gcc -O2, Lua 5.4.4: recursion through nested
** string.gsub (the costliest standard-library boundary) reaches Lua's own
** "C stack overflow" after 195 levels and 403 KiB of coroutine stack;
** string.format+__tostring 315 KiB, table.sort 91 KiB.  512 KiB leaves a
** fifth spare.  Sanitizers make frames larger. */
#ifndef UCORO_DEFAULT_STACK_SIZE
#if defined(UCORO_ASAN) || defined(UCORO_TSAN)
#define UCORO_DEFAULT_STACK_SIZE (4096u * 1024u)
#else
#define UCORO_DEFAULT_STACK_SIZE (512u * 1024u)
#endif
#endif

/* Smallest usable stack: room for the coroutine's record and a few frames. */
#define UCORO_MIN_STACK_SIZE (16u * 1024u)

/* Stacks kept per thread for reuse, of which the warm keep their pages. */
#ifndef UCORO_POOL_MAX
#define UCORO_POOL_MAX 64
#endif
#ifndef UCORO_POOL_WARM
#define UCORO_POOL_WARM 8
#endif

/* A pooled stack keeps its own list link in its top bytes. */
typedef struct pool_node {
  uco_stack stack;
  struct pool_node *next;
} pool_node;

/* This thread's pool: warm stacks keep their pages and are taken first;
** cold ones had their pages released (madvise) when they came back. */
typedef struct pool {
  pool_node *warm, *cold;
  unsigned nwarm, ncold;
} pool;

static UCO_TLS pool the_pool;


/* Threads creating their first coroutines at once may each set it (to
** the same value): atomic, so that this is no data race. */
static atomic_size_t page_size;

/* MAP_NORESERVE: no swap reserved for pages never touched (Linux; FreeBSD
** has no such flag).  MAP_STACK only on Linux, where it is a hint: on the
** BSDs it makes a grow-down region with a guard of its own. */
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif
#if defined(__linux__) && defined(MAP_STACK)
#define STACK_MAP_FLAGS \
  (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK)
#else
#define STACK_MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
#endif

/* Process-wide: stacks mapped now, and the limit for UCORO_AUTO plus one
** (0: not read yet). */
static size_t mapped_stacks, stack_limit_1;

size_t uco_stack_mapped(void) {
  return __atomic_load_n(&mapped_stacks, __ATOMIC_RELAXED);
}

/* A guarded stack takes two mappings; half of vm.max_map_count is left to
** everything else the program maps.  With 32-bit addresses, stacks of the
** default size may take a quarter of the address space (2,000 or so),
** not 16,000 of them (8 GiB). */
static size_t default_limit(void) {
  unsigned long max_map_count = 65530;  /* Linux's default */
  size_t limit, by_space = SIZE_MAX / 4 / (UCORO_DEFAULT_STACK_SIZE + 4096u);
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (f != NULL) {
    if (fscanf(f, "%lu", &max_map_count) != 1) max_map_count = 65530;
    fclose(f);
  }
  limit = (size_t)(max_map_count / 4);
  return limit < by_space ? limit : by_space;
}

size_t uco_stack_limit(void) {
  size_t limit_1 = __atomic_load_n(&stack_limit_1, __ATOMIC_RELAXED);
  if (limit_1 == 0) {
    size_t unset = 0;
    limit_1 = default_limit() + 1;
    if (!__atomic_compare_exchange_n(&stack_limit_1, &unset, limit_1, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      limit_1 = unset;  /* set meanwhile by another thread */
  }
  return limit_1 - 1;
}

size_t uco_stack_set_limit(size_t limit) {
  size_t old = uco_stack_limit();
  if (limit == SIZE_MAX) limit--;
  __atomic_store_n(&stack_limit_1, limit + 1, __ATOMIC_RELAXED);
  return old;
}

size_t uco_page_size(void) {
  size_t size = atomic_load_explicit(&page_size, memory_order_relaxed);
  if (size == 0) {
    size = (size_t)sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&page_size, size, memory_order_relaxed);
  }
  return size;
}

size_t uco_stack_round(size_t size) {
  size_t page = uco_page_size();
  if (size == 0) size = UCORO_DEFAULT_STACK_SIZE;
  if (size < UCORO_MIN_STACK_SIZE) size = UCORO_MIN_STACK_SIZE;
  if (size > SIZE_MAX / 4) return 0;
  return (size + page - 1) / page * page;
}

static void unmap(const uco_stack *s) {
  valgrind_deregister_stack(s->valgrind_id);
  munmap(s->base, s->map_size);
  __atomic_sub_fetch(&mapped_stacks, 1, __ATOMIC_RELAXED);
}

static pool_node *node_of(const uco_stack *s) {
  return (pool_node *)(uco_stack_hi(s) - sizeof(pool_node));
}

/* Takes a stack of map_size bytes out of a list, if one is there. */
static int take(pool_node **list, unsigned *count, size_t map_size,
                uco_stack *out) {
  pool_node **link;
  for (link = list; *link != NULL; link = &(*link)->next) {
    if ((*link)->stack.map_size == map_size) {
      pool_node *node = *link;
      *out = node->stack;
      *link = node->next;
      (*count)--;
      return 1;
    }
  }
  return 0;
}

int uco_stack_acquire(size_t size, uco_stack *out, int may_map) {
  size_t map_size = uco_stack_map_size(size);
  if (take(&the_pool.warm, &the_pool.nwarm, map_size, out) ||
      take(&the_pool.cold, &the_pool.ncold, map_size, out))
    return 0;
  if (!may_map || uco_page_size() > UCO_GUARD_SIZE) return -1;
  out->base = mmap(NULL, map_size, PROT_READ | PROT_WRITE, STACK_MAP_FLAGS,
                   -1, 0);
  if (out->base == MAP_FAILED) return -1;
  out->map_size = map_size;
  if (mprotect(out->base, UCO_GUARD_SIZE, PROT_NONE) != 0) {
    munmap(out->base, map_size);
    return -1;
  }
  out->valgrind_id = valgrind_register_stack(uco_stack_lo(out),
                                             uco_stack_hi(out));
  __atomic_add_fetch(&mapped_stacks, 1, __ATOMIC_RELAXED);
  return 0;
}

static void push(pool_node **list, unsigned *count, const uco_stack *s) {
  pool_node *node = node_of(s);
  node->stack = *s;
  node->next = *list;
  *list = node;
  (*count)++;
}

void uco_stack_release(const uco_stack *s) {
  size_t page = uco_page_size(), guard = UCO_GUARD_SIZE;
  san_unpoison(uco_stack_lo(s), s->map_size - guard);
  if (the_pool.nwarm < UCORO_POOL_WARM) {
    push(&the_pool.warm, &the_pool.nwarm, s);
  } else if (the_pool.ncold < UCORO_POOL_MAX - UCORO_POOL_WARM) {
    /* release all but the top page, where the list link lives */
    madvise(uco_stack_lo(s), s->map_size - guard - page, MADV_DONTNEED);
    push(&the_pool.cold, &the_pool.ncold, s);
  } else {
    unmap(s);
  }
}

void uco_stack_free(const uco_stack *s) {
  unmap(s);
}

size_t uco_stack_touched(const uco_stack *s) {
  size_t page = uco_page_size();
  size_t pages = (s->map_size - UCO_GUARD_SIZE) / page;
  unsigned char vec[256];
  size_t done = 0;
  while (done < pages) {  /* from the bottom up, a chunk at a time */
    size_t n = pages - done < sizeof vec ? pages - done : sizeof vec;
    size_t i;
    if (mincore(uco_stack_lo(s) + done * page, n * page, vec) != 0) return 0;
    for (i = 0; i < n; i++)
      if (vec[i] & 1) return (pages - done - i) * page;
    done += n;
  }
  return 0;
}

static void clear(pool_node **list, unsigned *count) {
  while (*list != NULL) {
    uco_stack s = (*list)->stack;
    *list = (*list)->next;
    unmap(&s);
  }
  *count = 0;
}

void uco_stack_pool_clear(void) {
  clear(&the_pool.warm, &the_pool.nwarm);
  clear(&the_pool.cold, &the_pool.ncold);
}
