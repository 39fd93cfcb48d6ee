/*
** ucoro.c: coroutine life cycle, statuses, and the switch protocol that
** keeps the sanitizers informed.  The record is in record.h; own stacks
** live in stack.c, shared ones in lean.c, the switch itself behind
** arch/context.h.
*/
#include "ucoro.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "arch/context.h"
#include "compiler.h"
#include "fast.h"
#include "lean.h"
#include "record.h"
#include "sanitizer.h"
#include "stack.h"

/* This OS thread's running coroutine and its number (fast.h). */
ucoro uco_none;
UCO_TLS uco_this_thread uco_here = {&uco_none, 0, UCO_MARK(0), 0};
#define here uco_here
static atomic_uintptr_t last_thread_id;

/* What the core keeps per thread (its stack pool, its shared and scratch
** stacks) is given back when the thread exits: one hook, set when the
** thread first creates a coroutine, or destroys another thread's. */
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_ok;

static void thread_exit(void *unused) {
  (void)unused;
  uco_lean_thread_exit();
  uco_stack_pool_clear();
  here.hooked = 0;
}

static void exit_key_create(void) {
  exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

static UCO_NOINLINE void hook_thread_exit(void) {
  if (here.hooked) return;
  pthread_once(&exit_key_once, exit_key_create);
  if (exit_key_ok) pthread_setspecific(exit_key, &here);
  here.hooked = 1;
}

static uintptr_t this_thread_id(void) {
  if (UCO_UNLIKELY(here.id == 0)) {
    here.id = atomic_fetch_add(&last_thread_id, 1) + 1;
    here.mark = UCO_MARK(here.id);
    hook_thread_exit();
  }
  return here.id;
}

void *uco_slow_out_mark;

/* What a stopping coroutine does for its resumer on the fast paths. */
static inline void hand_back(ucoro *co, void *value) {
  here.current = co->prev;
  if (co->resume_out != NULL) *co->resume_out = value;
}

/* Are a and b lean and bound to one shared stack? */
static inline int same_stack(const ucoro *a, const ucoro *b) {
  return a != NULL && b != NULL && a->mode == UCORO_LEAN &&
         b->mode == UCORO_LEAN && a->lean.stack == b->lean.stack;
}

/* Is co lean with its frames copied off (or never run)?  Then they go
** back on its stack before anything writes into them. */
static inline int evicted(const ucoro *co) {
  return co != NULL && co->evicted;
}

/* Every switch is announced to the tools (sanitizer.h) by one of these,
** and completed by san_finish_switch first thing on the other side. */

/* The running side is about to switch into co; fake: its fake-stack slot
** (AddressSanitizer). */
UCO_INLINE void announce_resume(ucoro *co, void **fake) {
#ifdef UCORO_TSAN
  co->caller_fiber = tsan_current_fiber();
#endif
  tsan_switch_to(co->tsan_fiber);
  san_start_switch(fake, co->stack_lo, co->stack_size);
}

/* co is about to switch back to its resumer; fake: co's slot, NULL when co
** leaves its stack for good. */
UCO_INLINE void announce_return(ucoro *co, void **fake) {
  tsan_switch_to(co->caller_fiber);
  san_start_switch(fake, co->caller_bottom, co->caller_size);
}

/* co stops (it yielded or ended): hands value to its resumer and switches
** there.  If the resumer's frames are off their stack, they go back first
** (from the scratch stack if co runs on that same stack). */
UCO_INLINE void switch_back(
    ucoro *co, void *value, int to_evicted, int on_same_stack) {
  ucoro *prev = co->prev;
  void **out = uco_out(co);
  co->resume_out = NULL;  /* suspended, it has none (record.h) */
  here.current = prev;
  if (on_same_stack) {
    uco_context_switch(&co->ctx, uco_lean_via_scratch(prev, prev, out, value,
                                                      &co->caller));
    return;
  }
  if (to_evicted) uco_lean_restore(prev, prev);
  if (out != NULL) *out = value;
  uco_context_switch(&co->ctx, &co->caller);
}

/* How a coroutine ends when lean coroutines are involved (see
** coroutine_main). */
static UCO_NOINLINE UCO_NORETURN void end_slow(ucoro *co, void *value) {
  int to_evicted = evicted(co->prev);
  int on_same_stack = to_evicted && same_stack(co, co->prev);
  if (co->mode == UCORO_LEAN) uco_lean_release(co);  /* frames go */
  announce_return(co, NULL);
  switch_back(co, value, to_evicted, on_same_stack);
  __builtin_unreachable();  /* nobody resumes a dead coroutine */
}

/* The first and only frame at the base of every coroutine stack. */
static void coroutine_main(void *arg) {
  ucoro *co = arg;
  void *value;
  san_finish_switch(NULL, &co->caller_bottom, &co->caller_size);
  value = co->fn(co, co->start_arg);
  co->status = UCORO_DEAD;
  if (UCO_UNLIKELY(co->resume_out == UCO_SLOW_OUT)) end_slow(co, value);
  hand_back(co, value);
  announce_return(co, NULL);
  (void)uco_switch_back(co);
  /* not reached: nobody resumes a dead coroutine */
}

/* The record of an own-stack coroutine, at the top of its stack. */
static inline ucoro *own_record(const uco_stack *stack) {
  ucoro *co = (ucoro *)((uintptr_t)(uco_stack_hi(stack) - sizeof(ucoro)) &
                        ~(uintptr_t)63);
  co->mode = UCORO_OWN;
  co->status = UCORO_SUSPENDED;
  co->evicted = 0;
  co->stack = *stack;
  co->stack_lo = uco_stack_lo(stack);
  co->stack_size = (size_t)((char *)co - co->stack_lo);
  uco_context_init(&co->ctx, co->stack_lo, co->stack_size, coroutine_main,
                   co);
  return co;
}

/* The record of a lean coroutine: its stack and context come at its first
** run (lean.c). */
static ucoro *lean_record(size_t size) {
  ucoro *co = (ucoro *)calloc(1, sizeof(ucoro));
  if (co == NULL) return NULL;
  co->mode = UCORO_LEAN;
  co->status = UCO_SUSPENDED_LEAN;
  co->evicted = 1;
  co->stack_size = size;
  return co;
}

UCO_INLINE ucoro_result create(
    ucoro **out, ucoro_fn fn, void *user, size_t stack_size,
    ucoro_mode mode) {
  size_t size;
  ucoro *co = NULL;
  if (out == NULL) return UCORO_EINVAL;
  *out = NULL;
  if (fn == NULL || (mode != UCORO_AUTO && mode != UCORO_OWN &&
                     mode != UCORO_LEAN))
    return UCORO_EINVAL;
  size = uco_stack_round(stack_size);
  if (size == 0) return UCORO_ENOMEM;
  if (mode != UCORO_LEAN) {
    /* auto: a pooled stack always; a new mapping while under the limit */
    uco_stack stack;
    if (uco_stack_acquire(size, &stack, 0) == 0) {
      co = own_record(&stack);
    } else {
      int may_map = mode == UCORO_OWN || uco_stack_mapped() < uco_stack_limit();
      if (may_map && uco_stack_acquire(size, &stack, 1) == 0)
        co = own_record(&stack);
      else if (may_map)  /* no memory for it: lean would fare no better */
        return UCORO_ENOMEM;
    }
  }
  if (co == NULL && (co = lean_record(size)) == NULL) return UCORO_ENOMEM;
  co->fn = fn;
  co->user = user;
  co->tag = NULL;
  co->prev = NULL;
  co->resume_out = NULL;
  co->yield_in = &co->start_arg;
  co->owner = this_thread_id();
  co->asan_fake = NULL;
  co->caller_bottom = NULL;
  co->caller_size = 0;
  co->tsan_fiber = tsan_create_fiber();
  co->caller_fiber = NULL;
  *out = co;
  return UCORO_OK;
}

ucoro_result ucoro_create(ucoro **out, ucoro_fn fn, void *user,
                          size_t stack_size) {
  return create(out, fn, user, stack_size, UCORO_AUTO);
}

ucoro_result ucoro_create_mode(ucoro **out, ucoro_fn fn, void *user,
                               size_t stack_size, ucoro_mode mode) {
  return create(out, fn, user, stack_size, mode);
}

static ucoro_result not_suspended(const ucoro *co) {
  switch (ucoro_status(co)) {
    case UCORO_RUNNING: return UCORO_ERUNNING;
    case UCORO_NORMAL: return UCORO_ENORMAL;
    default: return UCORO_EDEAD;
  }
}

/* What resuming a lean coroutine needs before anything changes: at its
** first run, a stack; room to copy off the frames now on that stack; and
** the scratch stack when the resumer runs there itself. */
static ucoro_result prepare_lean(ucoro *co, ucoro *resumer) {
  if (co->lean.stack == NULL && uco_lean_bind(co) != 0)
    return UCORO_ENOMEM;
  if (!co->evicted) return UCORO_OK;
  if (same_stack(co, resumer)) {
    if (uco_lean_reserve_resumer(resumer) != 0 ||
        uco_lean_scratch_ready() != 0)
      return UCORO_ENOMEM;
  } else if (uco_lean_room(co, resumer) != 0) {
    return UCORO_ENOMEM;
  }
  return UCORO_OK;
}

/* Resumes a lean coroutine: its frames go back on its stack if they are
** off (at its first run, a new context goes there), then the switch. */
static ucoro_result resume_lean(ucoro *co, void *arg, void **out) {
  ucoro *resumer = here.current;
  ucoro_result r = prepare_lean(co, resumer);
  void *fake;  /* the resumer's fake stack, while away (ASan) */
  if (r != UCORO_OK) return r;
  UCORO_ASSERT(co->lean.stack != NULL && co->owner == here.id);
  co->prev = resumer;
  co->status = UCORO_RUNNING;
  here.current = co;
  co->real_out = out;
  co->resume_out = UCO_SLOW_OUT;  /* it must keep its frames to yield */
  announce_resume(co, &fake);
  if (co->evicted && same_stack(co, resumer)) {
    uco_context_switch(&co->caller, uco_lean_via_scratch(co, co, co->yield_in,
                                                         arg, &co->ctx));
  } else {
    if (co->evicted && !uco_lean_restore(co, co))
      uco_context_init(&co->ctx, co->stack_lo, co->stack_size,
                       coroutine_main, co);
    if (co->yield_in != NULL) *co->yield_in = arg;
    uco_context_switch(&co->caller, &co->ctx);
  }
  san_finish_switch(fake, NULL, NULL);
  return UCORO_OK;
}

/* Not UCORO_SUSPENDED: a suspended lean coroutine, or an error. */
static UCO_NOINLINE ucoro_result resume_slow(ucoro *co, void *arg,
                                              void **out) {
  if (co->status != UCO_SUSPENDED_LEAN) return not_suspended(co);
  if (co->owner != here.id) return UCORO_ETHREAD;
  return resume_lean(co, arg, out);
}

ucoro_result ucoro_resume(ucoro *co, void *arg, void **out) {
  if (co == NULL) return UCORO_EINVAL;
  if (UCO_UNLIKELY(co->status != UCORO_SUSPENDED))
    return resume_slow(co, arg, out);
  if (co->owner != here.id) return UCORO_ETHREAD;
  co->prev = here.current;
  co->status = UCORO_RUNNING;
  here.current = co;
  co->resume_out = out;
  if (co->yield_in != NULL) *co->yield_in = arg;
#ifdef UCORO_TOOLS
  {
    void *fake;  /* the resumer's fake stack, while away */
    announce_resume(co, &fake);
    uco_context_switch(&co->caller, &co->ctx);
    san_finish_switch(fake, NULL, NULL);
    return UCORO_OK;
  }
#else
  return uco_switch_into_passing(co, arg);
#endif
}

/* Yields from a lean coroutine, or to a resumer whose frames are off. */
static UCO_NOINLINE ucoro_result yield_slow(ucoro *co, void *value,
                                             void **in) {
  int to_evicted = evicted(co->prev);
  int on_same_stack = to_evicted && same_stack(co, co->prev);
  if (co->mode == UCORO_LEAN && uco_lean_reserve(co, on_same_stack) != 0)
    return UCORO_ENOMEM;
  if (on_same_stack ? uco_lean_scratch_ready() != 0
                    : to_evicted && uco_lean_room(co->prev, co) != 0)
    return UCORO_ENOMEM;
  co->status = co->mode == UCORO_LEAN ? UCO_SUSPENDED_LEAN : UCORO_SUSPENDED;
  co->yield_in = in;
  announce_return(co, &co->asan_fake);
  switch_back(co, value, to_evicted, on_same_stack);
  san_finish_switch(co->asan_fake, &co->caller_bottom, &co->caller_size);
  return UCORO_OK;
}

/* Each side does the other's bookkeeping before it switches, so that
** nothing is left to do after a switch: resume and yield end in a tail
** call to the switch, which hands back 0 (UCORO_OK) in both directions. */
ucoro_result ucoro_yield(void *value, void **in) {
  ucoro *co = here.current;
  void **out;
  if (co->fn == NULL) return UCORO_ENOTCORO;  /* uco_none */
  UCORO_ASSERT(co->status == UCORO_RUNNING);
  out = co->resume_out;
  if (out != NULL) {
    if (UCO_UNLIKELY(out == UCO_SLOW_OUT)) return yield_slow(co, value, in);
    *out = value;
    co->resume_out = NULL;  /* suspended, it has none (record.h) */
  }
  co->status = UCORO_SUSPENDED;
  here.current = co->prev;
  co->yield_in = in;
#ifdef UCORO_TOOLS
  announce_return(co, &co->asan_fake);
  uco_context_switch(&co->ctx, &co->caller);
  /* the resumer may be another stack than last time */
  san_finish_switch(co->asan_fake, &co->caller_bottom, &co->caller_size);
  return UCORO_OK;
#else
  return uco_switch_back(co);
#endif
}

/* A coroutine that resumed another stays marked RUNNING; it is NORMAL
** exactly when it is not the one this thread is running. */
ucoro_state ucoro_status(const ucoro *co) {
  if (co == NULL) return UCORO_DEAD;
  if (co->status == UCORO_RUNNING && co != here.current) return UCORO_NORMAL;
  if (co->status == UCO_SUSPENDED_LEAN) return UCORO_SUSPENDED;
  return co->status;
}

ucoro *ucoro_running(void) {
  return here.current != &uco_none ? here.current : NULL;
}

void *ucoro_running_user(ucoro_fn fn) {
  ucoro *co = here.current;
  return fn != NULL && co->fn == fn ? co->user : NULL;
}

ucoro_result ucoro_destroy(ucoro *co) {
  uco_stack stack;
  if (co == NULL) return UCORO_OK;
  if (co->status == UCORO_RUNNING) return not_suspended(co);
  if (UCO_UNLIKELY(co->owner != here.id)) hook_thread_exit();  /* pools */
  tsan_destroy_fiber(co->tsan_fiber);
  if (co->status != UCORO_DEAD) san_drop_fake(co->asan_fake);  /* parked */
  if (co->mode == UCORO_LEAN) {
    uco_lean_release(co);
    free(co);
    return UCORO_OK;
  }
  stack = co->stack;  /* the record lives inside the stack */
  uco_stack_release(&stack);
  return UCORO_OK;
}

ucoro_mode ucoro_mode_of(const ucoro *co) {
  return co == NULL ? UCORO_AUTO : co->mode;
}

size_t ucoro_own_limit(void) {
  return uco_stack_limit();
}

size_t ucoro_set_own_limit(size_t limit) {
  return uco_stack_set_limit(limit);
}

void *ucoro_userdata(const ucoro *co) {
  return co == NULL ? NULL : co->user;
}

void ucoro_set_userdata(ucoro *co, void *user) {
  if (co != NULL) uco_fast_set_user(co, user);
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
  if (co->mode == UCORO_LEAN) return uco_lean_used(co, here.current);
  touched = uco_stack_touched(&co->stack);
  record = (size_t)(uco_stack_hi(&co->stack) - (const char *)co);
  return touched > record ? touched - record : 0;
}

/* Not inlined: its frame address is its caller's stack pointer, near
** enough, and the real one (ASan may keep locals on a fake stack). */
__attribute__((noinline)) size_t ucoro_stack_left(void) {
  const ucoro *co = here.current;
  const char *sp = (const char *)__builtin_frame_address(0);
  if (co == &uco_none || sp < co->stack_lo || sp > co->stack_lo + co->stack_size)
    return SIZE_MAX;
  return (size_t)(sp - co->stack_lo);
}

size_t ucoro_default_stack_size(void) {
  return uco_stack_round(0);
}

size_t ucoro_round_stack_size(size_t size) {
  return uco_stack_round(size);
}

void ucoro_pool_clear(void) {
  uco_lean_clear();
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
