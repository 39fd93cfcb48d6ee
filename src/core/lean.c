/*
** lean.c: shared stacks for lean coroutines (see lean.h).
*/
#include "lean.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "sanitizer.h"

/* Shared stacks of one size a thread makes before lean coroutines start
** sharing them (a few coroutines switching among themselves then copy
** nothing); more are made only when all hold running or normal ones. */
#ifndef UCORO_LEAN_SPREAD
#define UCORO_LEAN_SPREAD 4
#endif

/* Room below the stack pointer a reservation is measured at: what a
** switch keeps under its caller's frame (72 bytes for x86-64's; the
** ucontext backend's holds a ucontext_t). */
#define SWITCH_ROOM UCO_SWITCH_FRAME

/* Saved frames grow in steps, so that a coroutine that goes a little
** deeper each time does not reallocate each time. */
#define SAVED_STEP 256

/* The scratch stack only copies frames (under sanitizers, through their
** interceptors). */
#define SCRATCH_SIZE (64u * 1024u)

typedef struct uco_lean_stack {
  uco_stack stack;
  ucoro *occupant;          /* whose frames are on it, or NULL */
  size_t bound;             /* lean coroutines bound to it */
  int orphan;               /* its thread has exited */
  struct uco_lean_stack *next;  /* the thread's list */
} uco_lean_stack;

/* What the scratch stack does, once per use; it lives at the top of the
** scratch stack, not in TLS (a ucontext_t is 4.5 KiB on aarch64: static
** TLS has no room for that in a module loaded with dlopen). */
typedef struct copy_job {
  ucoro *co;
  ucoro *running;
  void **slot;
  void *value;
  uco_context *to;
  uco_context ctx;  /* the scratch context itself */
} copy_job;

typedef struct lean_thread {
  uco_lean_stack *stacks;    /* this thread's, a list */
  uco_stack scratch;
  int has_scratch;
  copy_job *job;             /* at the scratch stack's top */
} lean_thread;

static UCO_TLS lean_thread the_thread;

static void free_lean_stack(uco_lean_stack *s) {
  uco_stack_free(&s->stack);
  free(s);
}

/* At thread exit: unused stacks go; used ones stay for their coroutines
** (which no thread can resume now) until they are destroyed. */
void uco_lean_thread_exit(void) {
  uco_lean_stack *s = the_thread.stacks;
  the_thread.stacks = NULL;
  while (s != NULL) {
    uco_lean_stack *next = s->next;
    if (s->bound == 0) {
      free_lean_stack(s);
    } else {
      s->orphan = 1;
      s->occupant = NULL;
    }
    s = next;
  }
  if (the_thread.has_scratch) uco_stack_free(&the_thread.scratch);
  the_thread.has_scratch = 0;
}

static int is_active(const ucoro *co) {
  return co != NULL && co->status == UCORO_RUNNING;  /* or normal */
}

int uco_lean_bind(ucoro *co) {
  size_t map_size = co->stack_size + uco_page_size();
  unsigned same_size = 0;
  uco_lean_stack *s, *best = NULL;
  for (s = the_thread.stacks; s != NULL; s = s->next) {
    if (s->stack.map_size != map_size) continue;
    same_size++;
    if (is_active(s->occupant)) continue;
    if (best == NULL || s->bound < best->bound) best = s;
  }
  if (best == NULL || (best->bound > 0 && same_size < UCORO_LEAN_SPREAD)) {
    uco_lean_stack *made = malloc(sizeof *made);
    if (made != NULL && uco_stack_acquire(co->stack_size, &made->stack, 1)) {
      free(made);
      made = NULL;
    }
    if (made != NULL) {
      made->occupant = NULL;
      made->bound = 0;
      made->orphan = 0;
      made->next = the_thread.stacks;
      the_thread.stacks = made;
      best = made;
    }
    if (best == NULL) return -1;
  }
  UCORO_ASSERT(co->lean.stack == NULL && !is_active(best->occupant));
  best->bound++;
  co->lean.stack = best;
  co->stack_lo = uco_stack_lo(&best->stack);
  return 0;
}

static char *stack_top(const ucoro *co) {
  return uco_stack_hi(&co->lean.stack->stack);
}

/* A little below the stack pointer of this function's caller. */
static UCO_NOINLINE char *below_caller(void) {
  return (char *)__builtin_frame_address(0) - SWITCH_ROOM;
}

static int grow(ucoro *co, size_t need) {
  char *saved;
  size_t cap;
  if (need <= co->lean.saved_cap) return 0;
  cap = (need + SAVED_STEP - 1) / SAVED_STEP * SAVED_STEP;
  saved = realloc(co->lean.saved, cap);
  if (saved == NULL) return -1;
  co->lean.saved = saved;
  co->lean.saved_cap = cap;
  return 0;
}

int uco_lean_reserve(ucoro *co) {
  return grow(co, (size_t)(stack_top(co) - below_caller()));
}

/* The coroutine that normal coroutine o resumed, found by walking the
** chain of resumers from the running one. */
static ucoro *resumed_by(const ucoro *o, ucoro *running) {
  ucoro *x;
  for (x = running; x != NULL; x = x->prev)
    if (x->prev == o) return x;
  return NULL;
}

/* Where the frames of o (not running) begin: suspended, in its own
** context; normal, in the context of the coroutine it resumed.  NULL when
** the backend cannot tell: then the whole stack. */
static char *frames_of(const ucoro *o, ucoro *running) {
  const ucoro *x;
  char *sp;
  if (o->status != UCORO_RUNNING) {
    sp = uco_context_sp(&o->ctx);
  } else {
    x = resumed_by(o, running);
    sp = x != NULL ? uco_context_sp(&x->caller) : NULL;
  }
  return sp != NULL ? sp : o->stack_lo;
}

int uco_lean_room(ucoro *co, ucoro *running) {
  ucoro *o = co->lean.stack->occupant;
  if (o == NULL || o == co) return 0;
  return grow(o, (size_t)(stack_top(o) - frames_of(o, running)));
}

SAN_UNANNOUNCED static void evict(ucoro *o, ucoro *running) {
  char *sp = frames_of(o, running);
  size_t len = (size_t)(stack_top(o) - sp);
  if (grow(o, len) != 0) {  /* uco_lean_reserve made room: not reached */
    fputs("ucoro: no memory to keep a lean coroutine's frames\n", stderr);
    abort();
  }
  san_unpoison(sp, len);  /* its frames' poisoned red zones go too */
  memcpy(o->lean.saved, sp, len);
  o->lean.saved_len = len;
  o->evicted = 1;
  o->lean.stack->occupant = NULL;
  if (o->status == UCORO_RUNNING) {  /* normal: who yields to it must */
    ucoro *x = resumed_by(o, running);  /* put its frames back first */
    if (x != NULL) uco_take_slow_path(x);
  }
}

SAN_UNANNOUNCED int uco_lean_restore(ucoro *co, ucoro *running) {
  uco_lean_stack *s = co->lean.stack;
  size_t len = co->lean.saved_len;
  if (s->occupant != NULL && s->occupant != co) evict(s->occupant, running);
  s->occupant = co;
  co->evicted = 0;
  if (len == 0) return 0;  /* never ran */
  UCORO_ASSERT(len <= co->lean.saved_cap);
  {  /* below the frames too: swapcontext pushes the return address there */
    char *lo = uco_stack_hi(&s->stack) - len;
    size_t room = (size_t)(lo - uco_stack_lo(&s->stack));
    if (room > SWITCH_ROOM) room = SWITCH_ROOM;
    valgrind_writable(lo - room, len + room);
  }
  san_unpoison(uco_stack_hi(&s->stack) - len, len);
  memcpy(uco_stack_hi(&s->stack) - len, co->lean.saved, len);
  return 1;
}

void uco_lean_release(ucoro *co) {
  uco_lean_stack *s = co->lean.stack;
  free(co->lean.saved);
  co->lean.saved = NULL;
  co->lean.saved_len = co->lean.saved_cap = 0;
  co->evicted = 0;
  if (s == NULL) return;
  co->lean.stack = NULL;
  if (s->occupant == co) s->occupant = NULL;
  UCORO_ASSERT(s->bound > 0);
  if (--s->bound == 0 && s->orphan) free_lean_stack(s);
}

int uco_lean_scratch_ready(void) {
  if (the_thread.has_scratch) return 0;
  if (uco_stack_acquire(SCRATCH_SIZE, &the_thread.scratch, 1) != 0)
    return -1;
  the_thread.has_scratch = 1;
  the_thread.job = (copy_job *)((uintptr_t)(uco_stack_hi(&the_thread.scratch) -
                                            sizeof(copy_job)) &
                                ~(uintptr_t)63);
  return 0;
}

SAN_UNANNOUNCED static void copier_main(void *arg) {
  copy_job *job = arg;
  uco_lean_restore(job->co, job->running);
  if (job->slot != NULL) *job->slot = job->value;
  uco_context_switch(&job->ctx, job->to);
  /* not reached: each use starts the scratch stack afresh */
}

void uco_lean_switch_via_scratch(uco_context *from, ucoro *co,
                                 ucoro *running, void **slot, void *value,
                                 uco_context *to) {
  copy_job *job = the_thread.job;
  job->co = co;
  job->running = running;
  job->slot = slot;
  job->value = value;
  job->to = to;
  uco_context_init(&job->ctx, uco_stack_lo(&the_thread.scratch),
                   (size_t)((char *)job - uco_stack_lo(&the_thread.scratch)),
                   copier_main, job);
  uco_context_switch(from, &job->ctx);
}

size_t uco_lean_used(const ucoro *co, ucoro *running) {
  char *sp;
  if (co->lean.stack == NULL) return 0;
  if (co->evicted) return co->lean.saved_len;
  sp = co == running ? below_caller() + SWITCH_ROOM : frames_of(co, running);
  return (size_t)(stack_top(co) - sp);
}

void uco_lean_clear(void) {
  uco_lean_stack **link = &the_thread.stacks;
  while (*link != NULL) {
    uco_lean_stack *s = *link;
    if (s->bound == 0) {
      *link = s->next;
      free_lean_stack(s);
    } else {
      link = &s->next;
    }
  }
  if (the_thread.has_scratch) uco_stack_free(&the_thread.scratch);
  the_thread.has_scratch = 0;
}
