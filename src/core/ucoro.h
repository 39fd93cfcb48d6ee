/*
** ucoro.h: native coroutines for C, on guarded stacks of their own or
** (lean mode) on a shared stack they are copied on and off.
**
** No Lua here: this is the core that the Lua binding stands on, and it is
** usable on its own.  Errors are return values; nothing aborts.
**
** Configuration (compile-time macros, with defaults):
**   UCORO_DEFAULT_STACK_SIZE  stack size used when 0 is asked (see stack.c)
**   UCORO_POOL_MAX            stacks kept per OS thread for reuse (64)
**   UCORO_POOL_WARM           of those, how many keep their pages (8)
**
** A coroutine belongs to the OS thread that creates it: only that thread
** resumes it.  Each OS thread has its own running coroutine and its own
** stack pool.
*/
#ifndef UCORO_H
#define UCORO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCORO_VERSION "0.1.0"

typedef struct ucoro ucoro;

/* The body of a coroutine: gets the value of its first resume; what it
** returns is the value that resume hands back when the coroutine ends. */
typedef void *(*ucoro_fn)(ucoro *co, void *arg);

typedef enum ucoro_result {
  UCORO_OK = 0,
  UCORO_EINVAL,       /* a NULL coroutine or function */
  UCORO_ENOMEM,       /* no memory or no mapping for a stack */
  UCORO_ERUNNING,     /* the coroutine is running */
  UCORO_ENORMAL,      /* the coroutine is resuming another one */
  UCORO_EDEAD,        /* the coroutine has ended */
  UCORO_ENOTCORO,     /* no coroutine is running on this OS thread */
  UCORO_ETHREAD       /* the coroutine belongs to another OS thread */
} ucoro_result;

/* Lua's four statuses. */
typedef enum ucoro_state {
  UCORO_SUSPENDED = 0,  /* created, or yielded */
  UCORO_RUNNING,        /* the coroutine of this OS thread now running */
  UCORO_NORMAL,         /* it resumed another coroutine, still running */
  UCORO_DEAD            /* its function returned */
} ucoro_state;

/* Where a coroutine's frames live.
**   UCORO_OWN:  a guarded stack of its own; switches never copy.  Each
**               costs two memory mappings, and Linux allows 65,530 per
**               process (vm.max_map_count).
**   UCORO_LEAN: a guarded stack shared with other lean coroutines of the
**               OS thread; when another needs it, the live part of its
**               frames is copied to the heap (and back when it resumes).
**               A parked lean coroutine costs the bytes it really uses;
**               a switch that copies costs time in proportion to them.
**               Pointers into a lean coroutine's frames are valid only
**               while its frames are on the stack: never hand another
**               coroutine the address of a local of a lean one.
**   UCORO_AUTO: OWN while the process maps fewer own stacks than
**               ucoro_own_limit(), else LEAN. */
typedef enum ucoro_mode {
  UCORO_AUTO = 0,
  UCORO_OWN,
  UCORO_LEAN
} ucoro_mode;

/* Creates a suspended coroutine running fn on a stack of stack_size bytes
** (0: the default), in mode UCORO_AUTO.  user is kept for ucoro_userdata. */
ucoro_result ucoro_create(ucoro **out, ucoro_fn fn, void *user,
                          size_t stack_size);

/* The same in a chosen mode.  For UCORO_LEAN, stack_size is the size of
** the shared stack it runs on. */
ucoro_result ucoro_create_mode(ucoro **out, ucoro_fn fn, void *user,
                               size_t stack_size, ucoro_mode mode);

/* UCORO_OWN or UCORO_LEAN (UCORO_AUTO for NULL). */
ucoro_mode ucoro_mode_of(const ucoro *co);

/* How many own stacks the process may map before UCORO_AUTO makes lean
** coroutines; by default a quarter of vm.max_map_count (each own stack
** takes two mappings: half the budget is left to the rest of the
** program).  Setting returns the previous limit. */
size_t ucoro_own_limit(void);
size_t ucoro_set_own_limit(size_t limit);

/* Runs co until it yields or ends; arg goes in, what it yields (or
** returns) comes back in *out (out may be NULL).  UCORO_ENOMEM: a lean
** coroutine could get no shared stack, or (resumer lean) no room to keep
** the resumer's frames. */
ucoro_result ucoro_resume(ucoro *co, void *arg, void **out);

/* Suspends the running coroutine, handing value to its resumer; *in (may
** be NULL) gets the value of the next resume.  UCORO_ENOMEM (the
** coroutine goes on running): a lean coroutine had no room to keep its
** frames. */
ucoro_result ucoro_yield(void *value, void **in);

/* The status of co (UCORO_DEAD for NULL). */
ucoro_state ucoro_status(const ucoro *co);

/* The coroutine running on this OS thread, or NULL outside any. */
ucoro *ucoro_running(void);

/* The user pointer of the coroutine running on this OS thread if that
** coroutine runs fn, else NULL (one call where a library checks that the
** running coroutine is one of its own). */
void *ucoro_running_user(ucoro_fn fn);

/* Frees a suspended or dead coroutine; its stack goes back to the pool.
** A suspended one is dropped without running any more of its code.  Any
** OS thread may destroy one that is not in use (its stack joins that
** thread's pool). */
ucoro_result ucoro_destroy(ucoro *co);

/* The user pointer given to ucoro_create, or set since. */
void *ucoro_userdata(const ucoro *co);
void ucoro_set_userdata(ucoro *co, void *user);

/* The function given to ucoro_create (tells whose coroutine this is). */
ucoro_fn ucoro_function(const ucoro *co);

/* Usable bytes of co's stack, and how many of them have been touched
** (a high-water mark, in whole pages).  For a lean coroutine: the size of
** its shared stack, and the bytes of its frames when it last stopped. */
size_t ucoro_stack_size(const ucoro *co);
size_t ucoro_stack_used(const ucoro *co);

/* Bytes of the running coroutine's stack left below the caller's frame
** (for code that bounds its own recursion), or SIZE_MAX outside any
** coroutine (the thread's own stack is not ucoro's to measure). */
size_t ucoro_stack_left(void);

/* The stack size used when 0 is asked. */
size_t ucoro_default_stack_size(void);

/* The usable size of a stack asked with size bytes (0: the default): the
** minimum for a smaller one, whole pages; 0 when none that large can be
** mapped. */
size_t ucoro_round_stack_size(size_t size);

/* Unmaps the stacks this OS thread keeps for reuse. */
void ucoro_pool_clear(void);

/* A short English description of a result ("coroutine is dead"...). */
const char *ucoro_strerror(ucoro_result r);

/* The name of the context-switch backend ("asm-x86_64" or "ucontext"). */
const char *ucoro_backend(void);

#ifdef __cplusplus
}
#endif

#endif
