/*
** ucoro.c: coroutine life cycle, statuses, and the switch protocol that
** keeps the sanitizers informed.  The stack and the switch itself live in
** stack.c and the backend behind context.h.
*/
#include "ucoro.h"

#include <stdint.h>

#include "context.h"
#include "sanitizer.h"
#include "stack.h"

/* The record sits at the top of the coroutine's own stack mapping, so a
** coroutine costs no allocation besides its (pooled) stack. */
struct ucoro {
  uco_context ctx;           /* the coroutine, while suspended */
  uco_context caller;        /* its resumer, while the coroutine runs */
  ucoro_fn fn;
  void *user;
  const void *owner;         /* the OS thread that first resumed it */
  ucoro_state status;
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

static size_t usable_size(const ucoro *co) {
  return (size_t)((const char *)co - uco_stack_lo(&co->stack));
}

/* The first and only frame at the base of every coroutine stack. */
static void coroutine_main(void *arg, void *value) {
  ucoro *co = arg;
  san_finish_switch(NULL, &co->caller_bottom, &co->caller_size);
  value = co->fn(co, value);
  co->status = UCORO_DEAD;
  tsan_switch_to(co->caller_fiber);
  san_start_switch(NULL, co->caller_bottom, co->caller_size);
  uco_context_switch(&co->ctx, &co->caller, value);
  /* not reached: nobody resumes a dead coroutine */
}

ucoro_result ucoro_create(ucoro **out, ucoro_fn fn, void *user,
                          size_t stack_size) {
  size_t size;
  uco_stack stack;
  ucoro *co;
  char *lo;
  if (out == NULL) return UCORO_EINVAL;
  *out = NULL;
  if (fn == NULL) return UCORO_EINVAL;
  size = uco_stack_round(stack_size);
  if (size == 0 || uco_stack_acquire(size, &stack) != 0) return UCORO_ENOMEM;
  co = (ucoro *)((uintptr_t)(uco_stack_hi(&stack) - sizeof(ucoro)) &
                 ~(uintptr_t)63);
  co->fn = fn;
  co->user = user;
  co->owner = NULL;
  co->status = UCORO_SUSPENDED;
  co->stack = stack;
  co->asan_fake = NULL;
  co->caller_bottom = NULL;
  co->caller_size = 0;
  co->tsan_fiber = tsan_create_fiber();
  co->caller_fiber = NULL;
  lo = uco_stack_lo(&stack);
  uco_context_init(&co->ctx, lo, usable_size(co), coroutine_main, co);
  *out = co;
  return UCORO_OK;
}

static ucoro_result not_suspended(ucoro_state status) {
  switch (status) {
    case UCORO_RUNNING: return UCORO_ERUNNING;
    case UCORO_NORMAL: return UCORO_ENORMAL;
    default: return UCORO_EDEAD;
  }
}

ucoro_result ucoro_resume(ucoro *co, void *arg, void **out) {
  ucoro *prev;
  void *fake;
  void *value;
  if (co == NULL) return UCORO_EINVAL;
  if (co->status != UCORO_SUSPENDED) return not_suspended(co->status);
  if (co->owner != &current) {
    if (co->owner != NULL) return UCORO_ETHREAD;
    co->owner = &current;
  }
  prev = current;
  if (prev != NULL) prev->status = UCORO_NORMAL;
  co->status = UCORO_RUNNING;
  current = co;
  co->caller_fiber = tsan_current_fiber();
  tsan_switch_to(co->tsan_fiber);
  san_start_switch(&fake, uco_stack_lo(&co->stack), usable_size(co));
  value = uco_context_switch(&co->caller, &co->ctx, arg);
  san_finish_switch(fake, NULL, NULL);
  current = prev;
  if (prev != NULL) prev->status = UCORO_RUNNING;
  if (out != NULL) *out = value;
  return UCORO_OK;
}

ucoro_result ucoro_yield(void *value, void **in) {
  ucoro *co = current;
  if (co == NULL) return UCORO_ENOTCORO;
  co->status = UCORO_SUSPENDED;
  tsan_switch_to(co->caller_fiber);
  san_start_switch(&co->asan_fake, co->caller_bottom, co->caller_size);
  value = uco_context_switch(&co->ctx, &co->caller, value);
  /* the resumer may be another stack than last time */
  san_finish_switch(co->asan_fake, &co->caller_bottom, &co->caller_size);
  if (in != NULL) *in = value;
  return UCORO_OK;
}

ucoro_state ucoro_status(const ucoro *co) {
  return co == NULL ? UCORO_DEAD : co->status;
}

ucoro *ucoro_running(void) {
  return current;
}

ucoro_result ucoro_destroy(ucoro *co) {
  uco_stack stack;
  if (co == NULL) return UCORO_OK;
  if (co->status == UCORO_RUNNING) return UCORO_ERUNNING;
  if (co->status == UCORO_NORMAL) return UCORO_ENORMAL;
  tsan_destroy_fiber(co->tsan_fiber);
  stack = co->stack;  /* the record lives inside the stack */
  uco_stack_release(&stack);
  return UCORO_OK;
}

void *ucoro_userdata(const ucoro *co) {
  return co == NULL ? NULL : co->user;
}

ucoro_fn ucoro_function(const ucoro *co) {
  return co == NULL ? NULL : co->fn;
}

size_t ucoro_stack_size(const ucoro *co) {
  return co == NULL ? 0 : usable_size(co);
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
