/*
** sanitizer.h: tell AddressSanitizer, ThreadSanitizer and Valgrind about
** stack switches.  Everything here compiles to nothing in a plain build.
*/
#ifndef UCORO_SANITIZER_H
#define UCORO_SANITIZER_H

#include <stddef.h>

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#ifndef __has_include
#define __has_include(x) 0
#endif

#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define UCORO_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
#define UCORO_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

#if __has_include(<valgrind/valgrind.h>) && !defined(UCORO_NO_VALGRIND)
#define UCORO_VALGRIND 1
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif

/* Any tool that must hear of each switch. */
#if defined(UCORO_ASAN) || defined(UCORO_TSAN)
#define UCORO_TOOLS 1
#endif

/* For code that runs where the sanitizers are not told it runs (the
** scratch stack of lean.c, between two announced switches). */
#if defined(UCORO_ASAN) || defined(UCORO_TSAN)
#define SAN_UNANNOUNCED __attribute__((no_sanitize("address", "thread")))
#else
#define SAN_UNANNOUNCED
#endif

/* AddressSanitizer: a switch is announced before it happens (start) and
** completed first thing on the other side (finish).  fake is the side's own
** fake-stack slot; a NULL slot says the side leaves for good. */
static inline void san_start_switch(void **fake, const void *bottom,
                                    size_t size) {
#ifdef UCORO_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake; (void)bottom; (void)size;
#endif
}

static inline void san_finish_switch(void *fake, const void **old_bottom,
                                     size_t *old_size) {
#ifdef UCORO_ASAN
  __sanitizer_finish_switch_fiber(fake, old_bottom, old_size);
#else
  (void)fake; (void)old_bottom; (void)old_size;
#endif
}

/* Frees the fake stack (saved by its last switch away) of a coroutine
** that will never run again, from the stack running now.  ASan frees a
** fake stack only when a switch leaves it for good: so, without moving,
** announce a switch onto that fake stack, then one that leaves it for
** good back to this stack (whose bounds the first finish reports). */
static inline void san_drop_fake(void *fake) {
#ifdef UCORO_ASAN
  void *mine;
  const void *bottom;
  size_t size;
  if (fake == NULL) return;
  __sanitizer_start_switch_fiber(&mine, NULL, 0);
  __sanitizer_finish_switch_fiber(fake, &bottom, &size);
  __sanitizer_start_switch_fiber(NULL, bottom, size);
  __sanitizer_finish_switch_fiber(mine, NULL, NULL);
#else
  (void)fake;
#endif
}

/* A stack reused from the pool may still hold poisoned frames. */
static inline void san_unpoison(void *lo, size_t size) {
#ifdef UCORO_ASAN
  __asan_unpoison_memory_region(lo, size);
#else
  (void)lo; (void)size;
#endif
}

/* ThreadSanitizer: each coroutine is a fiber of its own. */
static inline void *tsan_current_fiber(void) {
#ifdef UCORO_TSAN
  return __tsan_get_current_fiber();
#else
  return NULL;
#endif
}

static inline void *tsan_create_fiber(void) {
#ifdef UCORO_TSAN
  return __tsan_create_fiber(0);
#else
  return NULL;
#endif
}

static inline void tsan_switch_to(void *fiber) {
#ifdef UCORO_TSAN
  __tsan_switch_to_fiber(fiber, 0);
#else
  (void)fiber;
#endif
}

static inline void tsan_destroy_fiber(void *fiber) {
#ifdef UCORO_TSAN
  if (fiber) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

/* Valgrind: a registered stack is not mistaken for a wild jump of %rsp. */
static inline unsigned valgrind_register_stack(void *lo, void *hi) {
#ifdef UCORO_VALGRIND
  return VALGRIND_STACK_REGISTER(lo, hi);
#else
  (void)lo; (void)hi;
  return 0;
#endif
}

/* Memcheck keeps stack memory below a stack pointer that went up as not
** addressable: frames copied back there are written as if allocated. */
static inline void valgrind_writable(void *lo, size_t size) {
#ifdef UCORO_VALGRIND
  VALGRIND_MAKE_MEM_UNDEFINED(lo, size);
#else
  (void)lo; (void)size;
#endif
}

static inline void valgrind_deregister_stack(unsigned id) {
#ifdef UCORO_VALGRIND
  VALGRIND_STACK_DEREGISTER(id);
#else
  (void)id;
#endif
}

#endif
