/*
** compiler.h: the compiler-specific macros of every layer (GCC and
** Clang spell them the same), and UCORO_ASSERT.
*/
#ifndef UCORO_COMPILER_H
#define UCORO_COMPILER_H

#define UCO_LIKELY(x) __builtin_expect(!!(x), 1)
#define UCO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define UCO_INLINE static inline __attribute__((always_inline))
#define UCO_NOINLINE __attribute__((noinline))
#define UCO_NORETURN __attribute__((noreturn))

/* Thread-local.  With glibc in the initial-exec model, which costs no
** __tls_get_addr call on each switch, even in a module loaded with dlopen:
** glibc keeps static TLS room for that (a few hundred bytes; ucoro takes
** under a hundred).  Other C libraries promise no such room (musl refuses
** to load the module): the default model there (a call per access in a
** dlopen'd module: bench/README.md has its cost on musl). */
#include <limits.h> /* __GLIBC__ */
#if defined(__GLIBC__) && !defined(__UCLIBC__)
#define UCO_TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define UCO_TLS __thread
#endif

/* Invariants the comments state, checked in debug (UCORO_DEBUG) and
** sanitizer builds, as Lua's lua_assert: a failure is a bug in ucoro, so
** it stops the program there; plain builds check nothing. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(UCORO_DEBUG) || defined(__SANITIZE_ADDRESS__) || \
    defined(__SANITIZE_THREAD__) || __has_feature(address_sanitizer) || \
    __has_feature(thread_sanitizer)
#include <stdio.h>
#include <stdlib.h>
#define UCORO_ASSERT(c)                                                   \
  ((c) ? (void)0                                                          \
       : (fprintf(stderr, "%s:%d: ucoro: assertion failed: %s\n",         \
                  __FILE__, __LINE__, #c),                                \
          abort()))
#else
#define UCORO_ASSERT(c) ((void)0)
#endif

#endif
