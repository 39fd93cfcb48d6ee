/*
** ucoro.c: coroutine life cycle, statuses, and the switch protocol that
** keeps the sanitizers informed.  The stack and the switch itself live in
** stack.c and the backend behind context.h.
*/
#include "ucoro.h"

#include <stdatomic.h>
#include <stdint.h>

#include "context.h"
#include "sanitizer.h"
#include "stack.h"

/* The record sits at the top of the coroutine's own stack mapping, so a
** coroutine costs no allocation besides its (pooled) stack. */
struct ucoro {
  uco_context ctx;           /* the coroutine, while suspended */
  uco_context caller;        /* its resumer, while the coroutine runs */
  ucoro *prev;               /* what was running when it was resumed */
  void **yield_in;           /* where the body wants the next resume value */
  void **resume_out;         /* where its resumer wants the next value */
  void *start_arg;           /* the first resume's value */
  ucoro_fn fn;
  void *user;
  uintptr_t owner;           /* the OS thread that created it */
  ucoro_state status;        /* RUNNING also while NORMAL: see ucoro_status */
  char *stack_lo;            /* usable stack: [stack_lo, this record) */
  size_t stack_size;
  uco_stack stack;
  void *asan_fake;           /* AddressSanitizer's fake stack of the body */
  const void *caller_bottom; /* the resumer's stack, for AddressSanitizer */
  size_t caller_size;
  void *tsan_fiber;          /* ThreadSanitizer's fibers: the body's, */
  void *caller_fiber;        /* and its resumer's */
};

/* initial-exec: no __tls_get_addr call on every switch, even in a module
** loaded with dlopen (a pointer fits in glibc's static TLS reserve). */
static __thread ucoro *current __attribute__((tls_model("initial-exec")));

/* Names the running OS thread with a number never reused: a thread
** created after another exited may get its thread pointer and TLS block
** (glibc reuses them), and must not own its coroutines.  0 until the
** thread first creates a coroutine, and no coroutine is owned by 0. */
static __thread uintptr_t thread_id __attribute__((tls_model("initial-exec")));
static atomic_uintptr_t last_thread_id;

static uintptr_t this_thread(void) {
  if (thread_id == 0) thread_id = atomic_fetch_add(&last_thread_id, 1) + 1;
  return thread_id;
}

/* Each side does the other's bookkeeping before it switches, so that
** nothing is left to do after a switch: resume and yield end in a tail
** call to the switch, which hands back 0 (UCORO_OK) in both directions. */
static inline void hand_back(ucoro *co, void *value) {
  current = co->prev;
  if (co->resume_out != NULL) *co->resume_out = value;
}

/* The first and only frame at the base of every coroutine stack. */
static void coroutine_main(void *arg) {
  ucoro *co = arg;
  void *value;
  san_finish_switch(NULL, &co->caller_bottom, &co->caller_size);
  value = co->fn(co, co->start_arg);
  co->status = UCORO_DEAD;
  hand_back(co, value);
#ifdef UCORO_TSAN
  tsan_switch_to(co->caller_fiber);
#endif
  san_start_switch(NULL, co->caller_bottom, co->caller_size);
  uco_context_switch(&co->ctx, &co->caller);
  /* not reached: nobody resumes a dead coroutine */
}

ucoro_result ucoro_create(ucoro **out, ucoro_fn fn, void *user,
                          size_t stack_size) {
  size_t size;
  uco_stack stack;
  ucoro *co;
  if (out == NULL) return UCORO_EINVAL;
  *out = NULL;
  if (fn == NULL) return UCORO_EINVAL;
  size = uco_stack_round(stack_size);
  if (size == 0 || uco_stack_acquire(size, &stack) != 0) return UCORO_ENOMEM;
  co = (ucoro *)((uintptr_t)(uco_stack_hi(&stack) - sizeof(ucoro)) &
                 ~(uintptr_t)63);
  co->fn = fn;
  co->user = user;
  co->prev = NULL;
  co->resume_out = NULL;
  co->yield_in = &co->start_arg;
  co->owner = this_thread();
  co->status = UCORO_SUSPENDED;
  co->stack = stack;
  co->stack_lo = uco_stack_lo(&stack);
  co->stack_size = (size_t)((char *)co - co->stack_lo);
  co->asan_fake = NULL;
  co->caller_bottom = NULL;
  co->caller_size = 0;
  co->tsan_fiber = tsan_create_fiber();
  co->caller_fiber = NULL;
  uco_context_init(&co->ctx, co->stack_lo, co->stack_size, coroutine_main,
                   co);
  *out = co;
  return UCORO_OK;
}

static ucoro_result not_suspended(const ucoro *co) {
  switch (ucoro_status(co)) {
    case UCORO_RUNNING: return UCORO_ERUNNING;
    case UCORO_NORMAL: return UCORO_ENORMAL;
    default: return UCORO_EDEAD;
  }
}

ucoro_result ucoro_resume(ucoro *co, void *arg, void **out) {
  if (co == NULL) return UCORO_EINVAL;
  if (co->status != UCORO_SUSPENDED) return not_suspended(co);
  if (co->owner != thread_id) return UCORO_ETHREAD;
  co->prev = current;
  co->status = UCORO_RUNNING;
  current = co;
  co->resume_out = out;
  if (co->yield_in != NULL) *co->yield_in = arg;
#ifdef UCORO_TSAN
  co->caller_fiber = tsan_current_fiber();
  tsan_switch_to(co->tsan_fiber);
#endif
#ifdef UCORO_ASAN
  {
    void *fake;  /* the resumer's fake stack, while away */
    san_start_switch(&fake, co->stack_lo, co->stack_size);
    uco_context_switch(&co->caller, &co->ctx);
    san_finish_switch(fake, NULL, NULL);
    return UCORO_OK;
  }
#else
  return (ucoro_result)uco_context_switch(&co->caller, &co->ctx);
#endif
}

ucoro_result ucoro_yield(void *value, void **in) {
  ucoro *co = current;
  if (co == NULL) return UCORO_ENOTCORO;
  co->status = UCORO_SUSPENDED;
  hand_back(co, value);
  co->yield_in = in;
#ifdef UCORO_TSAN
  tsan_switch_to(co->caller_fiber);
#endif
#ifdef UCORO_ASAN
  san_start_switch(&co->asan_fake, co->caller_bottom, co->caller_size);
  uco_context_switch(&co->ctx, &co->caller);
  /* the resumer may be another stack than last time */
  san_finish_switch(co->asan_fake, &co->caller_bottom, &co->caller_size);
  return UCORO_OK;
#else
  return (ucoro_result)uco_context_switch(&co->ctx, &co->caller);
#endif
}

/* A coroutine that resumed another stays marked RUNNING; it is NORMAL
** exactly when it is not the one this thread is running. */
ucoro_state ucoro_status(const ucoro *co) {
  if (co == NULL) return UCORO_DEAD;
  if (co->status == UCORO_RUNNING && co != current) return UCORO_NORMAL;
  return co->status;
}

ucoro *ucoro_running(void) {
  return current;
}

void *ucoro_running_user(ucoro_fn fn) {
  ucoro *co = current;
  return co != NULL && co->fn == fn ? co->user : NULL;
}

ucoro_result ucoro_destroy(ucoro *co) {
  uco_stack stack;
  if (co == NULL) return UCORO_OK;
  if (co->status == UCORO_RUNNING) return not_suspended(co);
  tsan_destroy_fiber(co->tsan_fiber);
  stack = co->stack;  /* the record lives inside the stack */
  uco_stack_release(&stack);
  return UCORO_OK;
}

void *ucoro_userdata(const ucoro *co) {
  return co == NULL ? NULL : co->user;
}

void ucoro_set_userdata(ucoro *co, void *user) {
  if (co != NULL) co->user = user;
}

ucoro_fn ucoro_function(const ucoro *co) {
  return co == NULL ? NULL : co->fn;
}

size_t ucoro_stack_size(const ucoro *co) {
  return co == NULL ? 0 : co->stack_size;
}

size_t ucoro_stack_used(const ucoro *co) {
  size_t touched, record;
  if (co == NULL) return 0;
  touched = uco_stack_touched(&co->stack);
  record = (size_t)(uco_stack_hi(&co->stack) - (const char *)co);
  return touched > record ? touched - record : 0;
}

size_t ucoro_default_stack_size(void) {
  return uco_stack_round(0);
}

void ucoro_pool_clear(void) {
  uco_stack_pool_clear();
}

const char *ucoro_strerror(ucoro_result r) {
  switch (r) {
    case UCORO_OK: return "no error";
    case UCORO_EINVAL: return "invalid argument";
    case UCORO_ENOMEM: return "not enough memory";
    case UCORO_ERUNNING: return "coroutine is running";
    case UCORO_ENORMAL: return "coroutine is normal (it resumed another)";
    case UCORO_EDEAD: return "coroutine is dead";
    case UCORO_ENOTCORO: return "no coroutine is running";
    case UCORO_ETHREAD: return "coroutine belongs to another OS thread";
  }
  return "unknown error";
}

const char *ucoro_backend(void) {
  return uco_context_backend;
}
