/*
** native.h: the native half of a Lua thread, shared by the binding's
** files.  While a thread runs on a native stack, its "native" record
** holds that stack.  Most records live on the resumer's C stack for one
** resume; a record lasts (as a userdata found through the thread, with a
** finalizer) once its thread parks under C frames, or when it carries a
** stack size of its own.
*/
#ifndef UCORO_LUA_NATIVE_H
#define UCORO_LUA_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "lua.h"

#include "compiler.h"
#include "fast.h"
#include "ucoro.h"

#define NATIVE_MT "ucoro.native"

/* The Lua API calls of the round trips, create and resume, called
** through the GOT rather than the PLT: one jump less each (GCC's noplt,
** x86-64 PIC only; -fno-plt would do it for every call). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__PIC__)
#define NATIVE_NOPLT __attribute__((noplt))
LUA_API int (lua_gettop)(lua_State *L) NATIVE_NOPLT;
LUA_API void *(lua_touserdata)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API void (lua_xmove)(lua_State *from, lua_State *to, int n) NATIVE_NOPLT;
LUA_API int (lua_isyieldable)(lua_State *L) NATIVE_NOPLT;
LUA_API int (lua_checkstack)(lua_State *L, int n) NATIVE_NOPLT;
LUA_API int (lua_gc)(lua_State *L, int what, ...) NATIVE_NOPLT;
LUA_API int (lua_status)(lua_State *L) NATIVE_NOPLT;
LUA_API int (lua_getstack)(lua_State *L, int level, lua_Debug *ar) NATIVE_NOPLT;
LUA_API lua_State *(lua_tothread)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API int (lua_pushthread)(lua_State *L) NATIVE_NOPLT;
LUA_API int (lua_rawget)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API void (lua_settop)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API void (lua_rotate)(lua_State *L, int idx, int n) NATIVE_NOPLT;
LUA_API void (lua_pushboolean)(lua_State *L, int b) NATIVE_NOPLT;
LUA_API lua_State *(lua_newthread)(lua_State *L) NATIVE_NOPLT;
LUA_API void (lua_pushvalue)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API int (lua_type)(lua_State *L, int idx) NATIVE_NOPLT;
LUA_API int (lua_resume)(lua_State *L, lua_State *from, int narg,
                        int *nres) NATIVE_NOPLT;
LUA_API int (lua_yieldk)(lua_State *L, int nresults, lua_KContext ctx,
                        lua_KFunction k) NATIVE_NOPLT;
#endif

struct native_config;

typedef struct native {
  ucoro *stack;       /* its stack while running or parked in C, else NULL */
  struct native_config *config;  /* its state's, which keeps an idle stack */
  lua_State *L1;      /* the thread it belongs to (which owns this) */
  lua_State *from;    /* the resumer, while the thread runs */
  lua_State *outer;   /* for ucoro.call: the coroutine the thread serves */
  int outer_yields;   /* could outer yield when ucoro.call began?  (Then
                         always: it resumes through lua_resume.) */
  int close_outer;    /* Lua 5.5: f closed outer (coroutine.close()); the
                         bridge does, on outer's stack, once f has ended */
  int dropped;        /* its parked C frames were dropped: its lua_resume
                         never returned, its chain of error handlers ends
                         on a stack that is gone (5.5's close of itself
                         would walk it) */
  size_t stack_size;  /* for the next native stack (0: the default) */
  ucoro_mode mode;    /* for the next native stack */
  int nvalues;        /* values crossing the switch, either way */
  int status;         /* what lua_resume returned, once it has */
  uintptr_t parked;   /* suspended in a native yield, C frames kept:
                         NATIVE_PARKED, or NATIVE_ROOMY (or more) in a
                         frame that holds only its values, so with
                         LUA_MINSTACK free slots once they are taken; or
                         else 0.  Roomy, parked on the core's fast path
                         (uco_fast_yield_now), the parking OS thread's
                         mark (uco_fast_mark): its owner's resume of it
                         takes the fast path with one compare */
  int temporary;      /* on the resumer's C stack, for one resume */
  int ended;          /* its stack ended after lua_resume returned (a lean
                         one with no room to keep its frames idle) */
  int armed;          /* a userdata with a finalizer */
  uint64_t check;     /* a userdata's: UCORO_CHECK_WORD (check_word.h) */
} native;

enum { NATIVE_PARKED = 1, NATIVE_ROOMY = 2 };

/* Roomy (NATIVE_ROOMY or a mark)? */
UCO_INLINE int native_roomy(const native *r) {
  return r->parked >= NATIVE_ROOMY;
}

/* Parked by ucoro.yield on the core's fast path, on this OS thread (which
** owns its stack): its round trip's resume need test nothing else. */
UCO_INLINE int native_fast_parked(const native *r) {
  return r->parked == uco_fast_mark();
}

/* Per-state settings. */
typedef struct native_config {
  size_t stack_size;  /* the default (0: the core's) */
  ucoro_mode mode;    /* the default */
  int sized;          /* has any coroutine a stack size or mode of its own? */
  /* A native stack whose thread's lua_resume returned waits here, in
  ** native_main's loop, for the next thread to run: creating a coroutine
  ** that never parks then maps, initialises and frees nothing.  The state
  ** keeps one, for the stack size and mode it was made with; its finalizer
  ** frees it. */
  ucoro *idle;
  size_t idle_size;
  ucoro_mode idle_mode;
  uint64_t check;     /* UCORO_CHECK_WORD (check_word.h) */
} native_config;

/* Push the state's table thread -> run (weak keys), and its config. */
void native_push_handles(lua_State *L);
void native_push_config(lua_State *L);
native_config *native_config_of(lua_State *L);

/* The run of thread co (NULL if none); handles is the table's index. */
native *native_find(lua_State *L, int handles, lua_State *co);

/* Pushes the run of thread co, made with these settings if co has none:
** one run per thread, so that whoever holds it (a wrap, a ucoro.call)
** holds the one its thread uses. */
native *native_new(lua_State *L, int handles, lua_State *co,
                   native_config *c, size_t stack_size, ucoro_mode mode);

/* Sets up a run for one resume, on the caller's C stack. */
UCO_INLINE void native_init(native *r, lua_State *co, native_config *c,
                            size_t stack_size, ucoro_mode mode) {
  r->stack = NULL;
  r->config = c;
  r->L1 = co;
  r->from = NULL;
  r->outer = NULL;
  r->outer_yields = 0;
  r->close_outer = 0;
  r->dropped = 0;
  r->stack_size = stack_size;
  r->mode = mode;
  r->nvalues = 0;
  r->status = LUA_OK;
  r->parked = 0;
  r->temporary = 1;
  r->ended = 0;
  r->armed = 0;
}


/* After a resume that left co parked: makes its run last, with a
** finalizer that frees the stack if the thread dies parked.  Returns the
** lasting run (the same, unless r was temporary); out of memory, closes
** co (dropping its stack) and returns NULL with the error on top of L. */
native *native_keep(lua_State *L, int handles, lua_State *co,
                        native *r);

/* The resume path is inline: a switch back to the resumer then returns
** through as many frames as the switch into the coroutine did, which
** keeps the CPU's return predictions right (bench/README.md). */
#define UCO_INLINE static inline __attribute__((always_inline))

/* May the C stack running now be copied away while a coroutine it resumes
** runs (a lean coroutine's)?  Then a run must not live on it. */
UCO_INLINE int native_on_lean_stack(void) {
  /* (ucoro_mode_of(ucoro_running())): uco_none is not lean */
  return uco_here.current->mode == UCORO_LEAN;
}

/* The first frame of every native stack: runs lua_resume for one thread
** after another (each run handed in by the resume that starts it). */
void *native_main(ucoro *stack, void *run);

/* The run whose native stack is running L, or NULL. */
UCO_INLINE native *native_running(lua_State *L) {
  ucoro *stack = uco_fast_running_fn(native_main);
  native *r;
  if (stack == NULL) return NULL;
  r = (native *)stack->user;  /* a native stack's user is its run, never
                                 NULL (native_new_stack, _take_stack) */
  return r->L1 == L ? r : NULL;
}

/* Makes stack r's (its user), its tag cleared: ucoro.yield sets it at
** its first park (native_tag), as a coroutine that never parks (most)
** need not pay for it. */
UCO_INLINE void native_bind(ucoro *stack, native *r) {
  uco_fast_set_user(stack, r);
}

/* Tags stack, running L (r: its run), L where a park of L needs no
** ucoro.call filter (outer unset, or outer could yield) and may take the
** core's fast yield, so that ucoro.yield finds it by one compare
** (native_running_free) and tests neither.  r->outer is set before r
** first takes a stack (bridge.c), and never changes; the core clears the
** tag where the stack must yield the slow way, native_bind where it runs
** another run. */
UCO_INLINE void native_tag(ucoro *stack, lua_State *L, const native *r) {
  if ((r->outer == NULL || r->outer_yields) && uco_fast_yield_ready(stack))
    uco_fast_set_tag(stack, L);
}

/* The native stack of native_running(L) when L's parks need no ucoro.call
** filter, else NULL (then native_running tells); its user is the run. */
UCO_INLINE ucoro *native_running_free(lua_State *L) {
  return uco_fast_running_tagged(L);
}

/* Parked: suspended in a native yield, with C frames on its stack. */
UCO_INLINE int native_is_parked(const native *r) {
  return r != NULL && r->parked;
}

/* Is there room for n more values on co, parked or not?  A frame that
** holds only its values leaves LUA_MINSTACK slots, so most calls skip
** lua_checkstack. */
UCO_INLINE int native_room(lua_State *co, const native *r, int n) {
  return n == 0 ||
         (r != NULL && native_roomy(r) && n < LUA_MINSTACK) ||
         lua_checkstack(co, n);
}

/* Has co no call in progress: fresh, or suspended by a stock yield?  (A
** dead one with its function gone is left to lua_resume to refuse.) */
UCO_INLINE int native_frameless(lua_State *co) {
  lua_Debug ar;
  int status = lua_status(co);
  return status == LUA_YIELD ||
         (status == LUA_OK && !lua_getstack(co, 0, &ar));
}

/* Can co be resumed (started, or continued after a yield)? */
UCO_INLINE int native_resumable(lua_State *L, lua_State *co,
                                   const native *r) {
  return native_is_parked(r) || (co != L && native_frameless(co));
}

/* A resume that could not start: drops the values, leaves the error
** message on co (a stack of a fresh start is freed), returns the status. */
int native_resume_failed(lua_State *co, native *r, int narg,
                         ucoro_result res);

/* Gives r a new native stack, or the state's idle one (from another OS
** thread, or of another size or mode: native_take_stack checks the last
** two). */
ucoro_result native_new_stack(native *r);

/* Gives r a native stack: the state's idle one if it fits, else a new
** one. */
UCO_INLINE ucoro_result native_take_stack(native *r) {
  native_config *c = r->config;
  ucoro *idle = c->idle;
  if (UCO_LIKELY(idle != NULL && c->idle_size == r->stack_size &&
                 c->idle_mode == r->mode)) {
    c->idle = NULL;
    r->stack = idle;
    native_bind(idle, r);
    return UCORO_OK;
  }
  return native_new_stack(r);
}

/* Native stacks are memory and mappings the collector does not see: when
** none can be had (or a lean one has no room), a full collection may give
** some back.  These collect, then try once more. */
ucoro_result native_new_stack_after_gc(lua_State *L, native *r);
ucoro_result native_resume_after_gc(lua_State *L, native *r);

/* native_finished's other cases: an idle stack there already, or r's
** stack ended. */
void native_finished_slow(native *r);

/* After lua_resume returned on r's stack: the stack waits, idle, for the
** next thread. */
UCO_INLINE void native_finished(native *r) {
  native_config *c = r->config;
  if (UCO_UNLIKELY(c->idle != NULL || r->ended)) {
    native_finished_slow(r);
    return;
  }
  c->idle = r->stack;
  c->idle_size = r->stack_size;
  c->idle_mode = r->mode;
  r->stack = NULL;
}

/* After ucoro_resume(r->stack) gave res: lua_resume's status as
** native_resume returns it (for the round trips that check only for the
** common case themselves). */
int native_stopped(lua_State *L, lua_State *co, native *r, int narg,
                   ucoro_result res);

/* Resumes co (resumable, with a run) with narg values from L: returns
** lua_resume's status; results or the error object are left on co, their
** count in r->nvalues.  co has room for them (native_room).  The run goes
** to the native stack as the resume's value: the parked side need not
** look it up.  inline_switch (a constant): switch with the core's inline
** resume (every native yield asks for its resume value, as it needs);
** module.c's auxresume switches with ucoro_resume, as the inline one
** would cost ucoro.resume's round trip 3 instructions there. */
#define native_resume(L, co, r, narg) native_resume_with(L, co, r, narg, 0)
UCO_INLINE int native_resume_with(lua_State *L, lua_State *co, native *r,
                                  int narg, int inline_switch) {
  ucoro_result res;
  r->from = L;
  r->nvalues = narg;
  if (UCO_UNLIKELY(r->stack == NULL) &&
      UCO_UNLIKELY(native_take_stack(r) != UCORO_OK) &&
      native_new_stack_after_gc(L, r) != UCORO_OK) {
    lua_xmove(L, co, narg);
    return native_resume_failed(co, r, narg, UCORO_ENOMEM);
  }
  if (narg != 0) lua_xmove(L, co, narg);
  res = inline_switch ? uco_fast_resume(r->stack, r)
                      : ucoro_resume(r->stack, r, NULL);
  if (UCO_UNLIKELY(res != UCORO_OK) &&
      (res != UCORO_ENOMEM ||
       (res = native_resume_after_gc(L, r)) != UCORO_OK))
    return native_resume_failed(co, r, narg, res);
  if (r->parked) return LUA_YIELD;
  native_finished(r);  /* lua_resume returned: the stack is free */
  return r->status;
}

/* Closes co for L, as stock close and wrap do (compat_closethread).  Lua
** before 5.4.5 does not count closes nested in __close handlers, which
** then recurse without bound: on a native stack, a close that finds less
** than half of it left raises "C stack overflow" instead (the half kept
** for what Lua's own limit lets the handlers do). */
int native_closethread(lua_State *L, lua_State *co);

/* Drops r's native stack, parked C frames and all (not a running one). */
void native_drop(native *r);

/* A thread just parked for the first time (its run kept): its native
** stack is charged to the collector, which would not otherwise run in
** time to give back the stacks of parked threads dropped meanwhile. */
void native_account(lua_State *L);

/* Is co the main thread of L's state?  (Asked on L.) */
int native_is_main_thread(lua_State *L, lua_State *co);

/* Why a park of the running thread L (r is its run) would be refused (the
** message), or NULL where it is allowed.  Inline: it is on every park. */
const char *native_call_refusal(lua_State *L, const native *r);

/* Is a __gc finalizer running on L?  (A frame that the debug library
** names as the "__gc" metamethod: for releases before 5.4.4.) */
int native_in_finalizer(lua_State *L);

/* Is L, not yieldable, inside a __gc finalizer?  Finalizers run
** non-yieldable, with the GC stopped: from 5.4.4 lua_gc says -1 there;
** before, 0 as when stopped, so the frames tell. */
UCO_INLINE int native_in_gc_finalizer(lua_State *L) {
#if LUA_VERSION_RELEASE_NUM >= 50404
  return lua_gc(L, LUA_GCISRUNNING) < 0;
#else
  return lua_gc(L, LUA_GCISRUNNING) == 0 && native_in_finalizer(L);
#endif
}

/* yieldable: lua_isyieldable(L), which the caller has at hand. */
UCO_INLINE const char *native_refusal(lua_State *L, const native *r,
                                      int yieldable) {
  if (!yieldable && native_in_gc_finalizer(L))
    return "attempt to yield inside a __gc finalizer";
  if (r->outer != NULL && !r->outer_yields)  /* ucoro.call */
    return native_call_refusal(L, r);
  return NULL;
}

UCO_INLINE const char *native_park_refused(lua_State *L,
                                              const native *r) {
  return native_refusal(L, r, lua_isyieldable(L));
}

/* Raises the error of a refused park of L, if it is refused. */
void native_check_park(lua_State *L, const native *r, int yieldable);

/* Parks the running thread L (r is its run), handing its top nvalues to
** the resumer (parked: NATIVE_ROOMY where L's frame holds nothing else,
** else NATIVE_PARKED); returns the number of resume values then on top.
** Raises a Lua error where a yield is not allowed, and "not enough
** memory" when a lean stack cannot keep L's frames.  The resumer hands
** the run back (it may have moved to a lasting userdata meanwhile). */
void native_park_after_gc(int parked, void **in);

/* native_park; filtered (a constant): 0 where the caller knows that r's
** parks need no ucoro.call filter and may take the core's fast yield
** (native_running_free found it). */
#define native_park(L, r, nvalues, parked) \
  native_park_as(L, r, nvalues, parked, 1)
UCO_INLINE int native_park_as(lua_State *L, native *r, int nvalues,
                              int parked, int filtered) {
  void *in;
  int yieldable;
  /* set first, so that only L and r live across the calls (the resumer
  ** reads it only once L has parked or ended, which set it again) */
  r->nvalues = nvalues;
  yieldable = lua_isyieldable(L);
  /* under a C call (a sort comparator): native_refusal's test inline,
  ** which costs less than the call (asked only of a park under C) */
  if (filtered ? UCO_UNLIKELY(!yieldable ||
                              (r->outer != NULL && !r->outer_yields)) &&
                     native_refusal(L, r, yieldable) != NULL
               : UCO_UNLIKELY(!yieldable) && native_in_gc_finalizer(L))
    native_check_park(L, r, lua_isyieldable(L));  /* raises */
  /* the resumer takes the values... */
  if (!filtered || UCO_LIKELY(uco_fast_yield_ready(r->stack))) {
    r->parked = parked == NATIVE_ROOMY ? uco_fast_mark() : (uintptr_t)parked;
    uco_fast_yield_now(r->stack, &in);
  } else {
    r->parked = (uintptr_t)parked;
    if (ucoro_yield(NULL, &in) != UCORO_OK)
      native_park_after_gc(parked, &in);
  }
  r = (native *)in;
  r->parked = 0;
  return r->nvalues;       /* ...and leaves its arguments */
}

#endif
