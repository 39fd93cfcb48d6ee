/*
** lean.c: shared stacks for lean coroutines (see lean.h).
*/
#include "lean.h"

#include <pthread.h>
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

/* Saved frames grow in steps (lean.h), so that a coroutine that goes a
** little deeper each time does not reallocate each time. */
#define SAVED_STEP UCO_LEAN_SAVED_STEP

/* Below frames put back on a stack, what the switch into them and the
** code they go on with may write before moving the stack pointer down
** there (Memcheck must take it as writable): generous. */
#define WRITABLE_BELOW (UCO_SWITCH_FRAME + UCO_CONTEXT_RED_ZONE + 256)

/* The scratch stack only copies frames (under sanitizers, through their
** interceptors). */
#define SCRATCH_SIZE (64u * 1024u)

/* Any OS thread may destroy a lean coroutine that is not in use, while
** the owner of its stack copies frames off that stack (into the buffer
** of the very coroutine being destroyed, perhaps): the lock covers the
** occupant, the count of bound coroutines, the orphan flag, and the
** frames kept by the occupant while they are copied off. */
typedef struct uco_lean_stack {
  uco_stack stack;
  pthread_mutex_t lock;
  ucoro *occupant;          /* whose frames are on it, or NULL */
  size_t bound;             /* lean coroutines bound to it */
  int orphan;               /* its thread has exited */
  struct uco_lean_stack *next;  /* the thread's list (its thread only) */
} uco_lean_stack;

/* Copies to and from a shared stack run unannounced (SAN_UNANNOUNCED):
** ThreadSanitizer is told of their heap side, the kept frames, so that it
** sees a destroy on another OS thread that would race with them. */
#ifdef UCORO_TSAN
void __tsan_read_range(void *addr, unsigned long size);
void __tsan_write_range(void *addr, unsigned long size);
#define announce_read(p, n) __tsan_read_range((void *)(p), (n))
#define announce_write(p, n) __tsan_write_range((void *)(p), (n))
#else
#define announce_read(p, n) ((void)(p), (void)(n))
#define announce_write(p, n) ((void)(p), (void)(n))
#endif

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
  pthread_mutex_destroy(&s->lock);
  uco_stack_free(&s->stack);
  free(s);
}

static size_t bound_count(uco_lean_stack *s) {
  size_t bound;
  pthread_mutex_lock(&s->lock);
  bound = s->bound;
  pthread_mutex_unlock(&s->lock);
  return bound;
}

/* At thread exit: unused stacks go; used ones stay for their coroutines
** (which no thread can resume now) until they are destroyed. */
void uco_lean_thread_exit(void) {
  uco_lean_stack *s = the_thread.stacks;
  the_thread.stacks = NULL;
  while (s != NULL) {
    uco_lean_stack *next = s->next;
    int unused_now;
    pthread_mutex_lock(&s->lock);
    unused_now = s->bound == 0;
    s->orphan = 1;
    s->occupant = NULL;
    pthread_mutex_unlock(&s->lock);
    if (unused_now) free_lean_stack(s);
    s = next;
  }
  if (the_thread.has_scratch) uco_stack_free(&the_thread.scratch);
  the_thread.has_scratch = 0;
}

static int is_active(const ucoro *co) {
  return co != NULL && co->status == UCORO_RUNNING;  /* or normal */
}

int uco_lean_bind(ucoro *co) {
  size_t map_size = uco_stack_map_size(co->stack_size);
  unsigned same_size = 0;
  uco_lean_stack *s, *best = NULL;
  size_t best_bound = 0;
  for (s = the_thread.stacks; s != NULL; s = s->next) {
    int active;
    size_t bound;
    if (s->stack.map_size != map_size) continue;
    same_size++;
    pthread_mutex_lock(&s->lock);
    active = is_active(s->occupant);
    bound = s->bound;
    pthread_mutex_unlock(&s->lock);
    if (active) continue;
    if (best == NULL || bound < best_bound) {
      best = s;
      best_bound = bound;
    }
  }
  if (best == NULL || (best_bound > 0 && same_size < UCORO_LEAN_SPREAD)) {
    uco_lean_stack *made = malloc(sizeof *made);
    if (made != NULL && uco_stack_acquire(co->stack_size, &made->stack, 1)) {
      free(made);
      made = NULL;
    }
    if (made != NULL && pthread_mutex_init(&made->lock, NULL) != 0) {
      uco_stack_free(&made->stack);
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
  pthread_mutex_lock(&best->lock);
  UCORO_ASSERT(co->lean.stack == NULL && !is_active(best->occupant));
  best->bound++;
  pthread_mutex_unlock(&best->lock);
  co->lean.stack = best;
  co->stack_lo = uco_stack_lo(&best->stack);
  return 0;
}

static char *stack_top(const ucoro *co) {
  return uco_stack_hi(&co->lean.stack->stack);
}

/* An address below the stack pointer of this function's caller: in its
** own frame, which lies below its caller's. */
static UCO_NOINLINE char *below_caller(void) {
  return (char *)__builtin_frame_address(0);
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

/* The reservations measure from below_caller(), called here: below the
** frames of the caller of uco_lean_reserve*, which switches (or calls
** what does).  Under them the switch keeps UCO_SWITCH_FRAME bytes, more
** into the scratch stack's context, new at each use; a resumer's frames
** count the red zone too (frames_of). */
int uco_lean_reserve(ucoro *co, int via_scratch) {
  return grow(co, (size_t)(stack_top(co) - below_caller()) +
                      UCO_SWITCH_FRAME + (via_scratch ? UCO_ENTER_FRAME : 0));
}

int uco_lean_reserve_resumer(ucoro *co) {
  return grow(co, (size_t)(stack_top(co) - below_caller()) +
                      UCO_SWITCH_FRAME + UCO_ENTER_FRAME +
                      UCO_CONTEXT_RED_ZONE);
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
** the backend cannot tell: then the whole stack.
**
** A normal one's frames take in the red zone below its resume, which may
** be inline in a leaf function (ucoro_resume's fast path, or fast.h's in
** the binding), where the compiler keeps data below the stack pointer.  A
** suspended one's need not: a lean coroutine stops only in yield_slow
** (ucoro.c), whose switch is inline there and which calls
** uco_lean_reserve: no leaf, and GCC and Clang use the red zone only in
** leaves (a call would overwrite it). */
static char *frames_of(const ucoro *o, ucoro *running) {
  const ucoro *x;
  char *sp;
  size_t red_zone = 0;
  if (o->status != UCORO_RUNNING) {
    sp = uco_context_sp(&o->ctx);
  } else {
    x = resumed_by(o, running);
    sp = x != NULL ? uco_context_sp(&x->caller) : NULL;
    red_zone = UCO_CONTEXT_RED_ZONE;
  }
  /* (the red zone stops at the stack) */
  return sp != NULL && sp > o->stack_lo + red_zone ? sp - red_zone
                                                   : o->stack_lo;
}

int uco_lean_room(ucoro *co, ucoro *running) {
  uco_lean_stack *s = co->lean.stack;
  ucoro *o;
  int r = 0;
  pthread_mutex_lock(&s->lock);
  o = s->occupant;
  if (o != NULL && o != co) {
    size_t len = (size_t)(stack_top(o) - frames_of(o, running));
    /* a suspended one made room as it stopped (uco_lean_reserve) */
    UCORO_ASSERT(o->status == UCORO_RUNNING || len <= o->lean.saved_cap);
    r = grow(o, len);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

/* With the stack's lock held. */
SAN_UNANNOUNCED static void evict(ucoro *o, ucoro *running) {
  char *sp = frames_of(o, running);
  size_t len = (size_t)(stack_top(o) - sp);
  /* uco_lean_reserve* or uco_lean_room made room: an allocation here
  ** could only fail by aborting */
  UCORO_ASSERT(len <= o->lean.saved_cap);
  if (grow(o, len) != 0) {  /* not reached */
    fputs("ucoro: no memory to keep a lean coroutine's frames\n", stderr);
    abort();
  }
  san_unpoison(sp, len);  /* its frames' poisoned red zones go too */
  announce_write(o->lean.saved, len);
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
  pthread_mutex_lock(&s->lock);
  announce_read(&s->occupant, sizeof s->occupant);
  if (s->occupant != NULL && s->occupant != co) evict(s->occupant, running);
  announce_write(&s->occupant, sizeof s->occupant);
  s->occupant = co;
  pthread_mutex_unlock(&s->lock);
  co->evicted = 0;
  if (len == 0) return 0;  /* never ran */
  UCORO_ASSERT(len <= co->lean.saved_cap);
  {  /* below the frames too: swapcontext pushes the return address there,
     * a leaf keeps its red zone there */
    char *lo = uco_stack_hi(&s->stack) - len;
    size_t room = (size_t)(lo - uco_stack_lo(&s->stack));
    if (room > WRITABLE_BELOW) room = WRITABLE_BELOW;
    valgrind_writable(lo - room, len + room);
  }
  san_unpoison(uco_stack_hi(&s->stack) - len, len);
  announce_read(co->lean.saved, len);
  memcpy(uco_stack_hi(&s->stack) - len, co->lean.saved, len);
  return 1;
}

/* Also on another OS thread than the stack's: once the occupant is
** changed under the lock, the owner no longer copies into co's frames. */
void uco_lean_release(ucoro *co) {
  uco_lean_stack *s = co->lean.stack;
  int last = 0;
  if (s != NULL) {
    pthread_mutex_lock(&s->lock);
    if (s->occupant == co) s->occupant = NULL;
    UCORO_ASSERT(s->bound > 0);
    last = --s->bound == 0 && s->orphan;
    pthread_mutex_unlock(&s->lock);
    co->lean.stack = NULL;
  }
  free(co->lean.saved);
  co->lean.saved = NULL;
  co->lean.saved_len = co->lean.saved_cap = 0;
  co->evicted = 0;
  if (last) free_lean_stack(s);
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

uco_context *uco_lean_via_scratch(ucoro *co, ucoro *running, void **slot,
                                  void *value, uco_context *to) {
  copy_job *job = the_thread.job;
  job->co = co;
  job->running = running;
  job->slot = slot;
  job->value = value;
  job->to = to;
  uco_context_init(&job->ctx, uco_stack_lo(&the_thread.scratch),
                   (size_t)((char *)job - uco_stack_lo(&the_thread.scratch)),
                   copier_main, job);
  return &job->ctx;
}

size_t uco_lean_used(const ucoro *co, ucoro *running) {
  char *sp;
  if (co->lean.stack == NULL) return 0;
  if (co->evicted) return co->lean.saved_len;
  sp = co == running ? below_caller() : frames_of(co, running);
  return (size_t)(stack_top(co) - sp);
}

void uco_lean_clear(void) {
  uco_lean_stack **link = &the_thread.stacks;
  while (*link != NULL) {
    uco_lean_stack *s = *link;
    if (bound_count(s) == 0) {
      *link = s->next;
      free_lean_stack(s);
    } else {
      link = &s->next;
    }
  }
  if (the_thread.has_scratch) uco_stack_free(&the_thread.scratch);
  the_thread.has_scratch = 0;
}
