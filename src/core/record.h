/*
** record.h: the coroutine record, private to the core (ucoro.c, lean.c).
*/
#ifndef UCORO_RECORD_H
#define UCORO_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "arch/context.h"
#include "compiler.h"
#include "stack.h"
#include "ucoro.h"

struct uco_lean_stack;

/* A lean coroutine's hold on a shared stack (lean.c). */
typedef struct uco_lean {
  struct uco_lean_stack *stack; /* bound at its first run, until it ends */
  char *saved;               /* its frames, while another's are there */
  size_t saved_len;
  size_t saved_cap;          /* never less than its live frames while it is
                                not running, so evicting never allocates */
} uco_lean;

/* An own-stack record sits at the top of its stack mapping; a lean one is
** allocated on its own. */
struct ucoro {
  void *start_arg;           /* the first resume's value; first, so that
                                fast.h's yield points yield_in at it with
                                the record's own address */
  uco_context ctx;           /* the coroutine, while suspended */
  uco_context caller;        /* its resumer, while the coroutine runs */
  ucoro *prev;               /* what was running when it was resumed */
  void **yield_in;           /* where the body wants the next resume value
                                (fast.h's yield, which takes it from a
                                register: start_arg, of no use by then) */
  void **resume_out;         /* where its resumer wants the next value, or
                                UCO_SLOW_OUT: see uco_take_slow_path;
                                NULL while an own one is suspended (its
                                yield clears it), so that fast.h's resume
                                need not */
  void **real_out;           /* ...the real one then */
  ucoro_fn fn;
  void *user;
  const void *tag;           /* the binding's (fast.h); NULL when created,
                                and whenever it takes the slow path */
  uintptr_t owner;           /* the OS thread that created it (its id) */
  ucoro_state status;        /* RUNNING also while NORMAL: see ucoro_status;
                                UCO_SUSPENDED_LEAN for a suspended lean one */
  int evicted;               /* lean: its frames are not on its stack now
                                (also before its first run) */
  ucoro_mode mode;           /* UCORO_OWN or UCORO_LEAN */
  char *stack_lo;            /* usable stack: [stack_lo, stack_lo+size) */
  size_t stack_size;
  uco_stack stack;           /* own: the mapping that holds this record */
  uco_lean lean;             /* lean only: not even set for own ones */
  void *asan_fake;           /* AddressSanitizer's fake stack of the body */
  const void *caller_bottom; /* the resumer's stack, for AddressSanitizer */
  size_t caller_size;
  void *tsan_fiber;          /* ThreadSanitizer's fibers: the body's, */
  void *caller_fiber;        /* and its resumer's */
};


/* Switches from co's resumer into co (resume), and from co back to its
** resumer (yield, end); each gives UCORO_OK once something switches back.
** Where the backend has it, one register addresses both contexts, and the
** UCORO_OK is made after the switch: else the compiler may keep a value
** it knows to be 0 (a status tested before) in rbp, which the switch
** preserves and the prologue must then save.  Elsewhere the switch's own
** 0, so that a caller may end in a tail call to it. */
#ifdef UCO_CONTEXT_SWITCH_AT
UCO_INLINE ucoro_result uco_ok_after_switch(void) {
  int ok = UCORO_OK;
  __asm__("" : "+r"(ok));
  return (ucoro_result)ok;
}

UCO_INLINE ucoro_result uco_switch_into(ucoro *co) {
  UCO_CONTEXT_SWITCH_AT(co, offsetof(ucoro, caller), offsetof(ucoro, ctx));
  return uco_ok_after_switch();
}

UCO_INLINE ucoro_result uco_switch_back(ucoro *co) {
  UCO_CONTEXT_SWITCH_AT(co, offsetof(ucoro, ctx), offsetof(ucoro, caller));
  return uco_ok_after_switch();
}
#endif

/* Where the backend can hand a word across a switch in a register: every
** switch into a coroutine hands the resume value (uco_switch_into_passing,
** also where it is stored at yield_in), and fast.h's yield takes it from
** there (uco_switch_back_receiving), rather than from memory that both
** sides must address.  Only suspended contexts saved by these two are
** ever resumed by them: a lean coroutine resumes and yields the core's
** slow ways. */
#ifdef UCO_CONTEXT_SWITCH_AT_PASSING
#define UCO_SWITCH_PASSES 1
UCO_INLINE ucoro_result uco_switch_into_passing(ucoro *co, void *arg) {
  UCO_CONTEXT_SWITCH_AT_PASSING(co, offsetof(ucoro, caller),
                                offsetof(ucoro, ctx), arg);
  return uco_ok_after_switch();
}

UCO_INLINE void *uco_switch_back_receiving(ucoro *co) {
  void *value;
  UCO_CONTEXT_SWITCH_AT_RECEIVING(co, offsetof(ucoro, ctx),
                                  offsetof(ucoro, caller), value);
  return value;
}
#else
#define UCO_SWITCH_PASSES 0
#define uco_switch_into_passing(co, arg) uco_switch_into(co)
#endif

#ifndef UCO_CONTEXT_SWITCH_AT
UCO_INLINE ucoro_result uco_switch_into(ucoro *co) {
  return (ucoro_result)uco_context_switch(&co->caller, &co->ctx);
}

UCO_INLINE ucoro_result uco_switch_back(ucoro *co) {
  return (ucoro_result)uco_context_switch(&co->ctx, &co->caller);
}
#endif

/* The status of a suspended lean coroutine: ucoro_resume's fast path,
** which checks for UCORO_SUSPENDED, then leaves lean ones to the slow
** path at no cost of its own. */
#define UCO_SUSPENDED_LEAN ((ucoro_state)4)

/* Likewise ucoro_yield's fast path leaves to the slow path a coroutine
** whose resume_out is UCO_SLOW_OUT: a lean one (it must be able to keep
** its frames), or one whose resumer's frames are copied off. */
extern void *uco_slow_out_mark;
#define UCO_SLOW_OUT (&uco_slow_out_mark)

static inline void uco_take_slow_path(ucoro *co) {
  co->tag = NULL;  /* its tag said it could yield the fast way (fast.h) */
  if (co->resume_out != UCO_SLOW_OUT) {
    co->real_out = co->resume_out;
    co->resume_out = UCO_SLOW_OUT;
  }
}

/* Where co's resumer wants the next value (NULL: nowhere). */
static inline void **uco_out(const ucoro *co) {
  return co->resume_out == UCO_SLOW_OUT ? co->real_out : co->resume_out;
}

#endif
