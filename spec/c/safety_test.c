/*
** safety_test.c: memory safety where only C can set the scene (cmocka):
** guards wider than the frames C libraries open without probing.
*/
#define _GNU_SOURCE
#include <alloca.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"
#include "ucoro.h"

/* The widest frame Debian's liblua5.4 and libc open with one `sub rsp`
** (luaL_loadfilex: 8.3 KiB) fits many times over in a guard this wide. */
#define GUARD_MIN (64u * 1024u)

/* ---- where a stack is ---- */

/* The readable mapping holding addr: its bounds, and the size of the
** PROT_NONE mapping right below it (0 if none). */
typedef struct where {
  uintptr_t lo, hi;
  size_t guard;
} where;

static where mapping_of(const void *addr) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  where w = {0, 0, 0};
  uintptr_t a = (uintptr_t)addr, prev_lo = 0, prev_hi = 0;
  int prev_none = 0;
  assert_non_null(f);
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
    if (a >= lo && a < hi) {
      w.lo = lo;
      w.hi = hi;
      if (prev_none && prev_hi == lo) w.guard = prev_hi - prev_lo;
      break;
    }
    prev_lo = lo;
    prev_hi = hi;
    prev_none = strcmp(perms, "---p") == 0;
  }
  fclose(f);
  return w;
}

/* Hands its resumer an address in its frame (the resumer reads the maps:
** that takes more stack than the smallest coroutine stack has).  Not a
** local's address: under ASan locals may live on a fake stack. */
static void *reports_its_stack(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  ucoro_yield(__builtin_frame_address(0), NULL);
  return NULL;
}

/* Every stack a user can ask for, own or lean, has a guard of at least
** GUARD_MIN right below it. */
static void guards_are_wide_at_every_size(void **state) {
  static const size_t sizes[] = {0, 1, 4096, 16 * 1024, 16 * 1024 + 1,
                                 100000, 1u << 20, 8u << 20};
  static const ucoro_mode modes[] = {UCORO_OWN, UCORO_LEAN};
  size_t i, m;
  (void)state;
  for (m = 0; m < 2; m++) {
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      ucoro *co;
      void *local;
      where w;
      assert_int_equal(ucoro_create_mode(&co, reports_its_stack, NULL,
                                         sizes[i], modes[m]), UCORO_OK);
      assert_int_equal(ucoro_resume(co, NULL, &local), UCORO_OK);
      w = mapping_of(local);
      assert_int_equal(ucoro_destroy(co), UCORO_OK);
      if (w.guard < GUARD_MIN)
        fail_msg("mode %d, size %zu: guard of %zu bytes", (int)modes[m],
                 sizes[i], w.guard);
    }
  }
  ucoro_pool_clear();
}

/* The scratch stack (a lean coroutine resuming one bound to its own
** shared stack) is guarded as widely. */
static void *on_same_stack(ucoro *co, void *arg) {
  (void)co;
  (void)arg;
  ucoro_yield(NULL, NULL);
  return NULL;
}

/* Resumes each of five lean coroutines; one shares its stack, and its
** frames come back through the scratch stack. */
static void *resumes_its_neighbour(ucoro *co, void *arg) {
  ucoro **others = arg;
  int i;
  (void)co;
  for (i = 0; i < 5; i++)
    if (ucoro_resume(others[i], NULL, NULL) != UCORO_OK) return others[i];
  return NULL;
}

/* PROT_NONE mappings narrower than GUARD_MIN in this process (the tools'
** own, threads' guard pages...). */
static int narrow_guards(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int narrow = 0;
  assert_non_null(f);
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
        strcmp(perms, "---p") == 0 && hi - lo < GUARD_MIN)
      narrow++;
  }
  fclose(f);
  return narrow;
}

static void scratch_stack_is_guarded(void **state) {
  ucoro *cos[5], *runner;
  void *failed = NULL;
  int i, narrow_before;
  (void)state;
  ucoro_pool_clear();
  narrow_before = narrow_guards();
  /* five lean ones of one size: the fifth shares a stack */
  for (i = 0; i < 5; i++) {
    assert_int_equal(ucoro_create_mode(&cos[i], on_same_stack, NULL,
                                       48 * 1024, UCORO_LEAN), UCORO_OK);
    assert_int_equal(ucoro_resume(cos[i], NULL, NULL), UCORO_OK);
  }
  assert_int_equal(ucoro_create_mode(&runner, resumes_its_neighbour, NULL,
                                     48 * 1024, UCORO_LEAN), UCORO_OK);
  assert_int_equal(ucoro_resume(runner, cos, &failed), UCORO_OK);
  assert_null(failed);
  /* the shared stacks and the scratch stack: no narrow guard among them */
  assert_int_equal(narrow_guards(), narrow_before);
  for (i = 0; i < 5; i++) ucoro_destroy(cos[i]);
  ucoro_destroy(runner);
  ucoro_pool_clear();
}

/* Two 16 KiB own stacks mapped one below the other.  The upper one calls
** luaL_loadfilex (an 8.3 KiB frame, no probing in Debian's build) with 2
** KiB left: the frame must land in the guard (SIGSEGV), never in the
** neighbour's stack (then loadfile returns, and the child says so). */
static lua_State *big_frame_state;

static void *parks_here(ucoro *co, void *arg) {
  (void)co;
  ucoro_yield(arg, NULL);
  return NULL;
}

static void *loads_near_the_bottom(ucoro *co, void *arg) {
  void *room_wanted;
  volatile char *room;
  (void)co;
  (void)arg;
  ucoro_yield(__builtin_frame_address(0), &room_wanted);
  room = alloca((size_t)room_wanted);
  room[0] = 1;
  luaL_loadfilex(big_frame_state, "/dev/null", NULL);
  return NULL;
}

static void large_frame_never_reaches_a_neighbour(void **state) {
  pid_t pid;
  int status;
  (void)state;
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ucoro *upper, *lower;
    void *local;
    where w;
    signal(SIGSEGV, SIG_DFL);  /* not cmocka's handler */
    ucoro_pool_clear();
    big_frame_state = luaL_newstate();
    /* bound now: the first call through the PLT takes 2.5 KiB more */
    luaL_loadfilex(big_frame_state, "/dev/null", NULL);
    if (ucoro_create_mode(&upper, loads_near_the_bottom, NULL, 16 * 1024,
                          UCORO_OWN) != UCORO_OK ||
        ucoro_create_mode(&lower, parks_here, NULL, 16 * 1024, UCORO_OWN) !=
            UCORO_OK ||
        ucoro_resume(lower, NULL, NULL) != UCORO_OK ||
        ucoro_resume(upper, NULL, &local) != UCORO_OK)
      _exit(3);
    w = mapping_of(local);
    /* 2 KiB left above the bottom of the stack */
    ucoro_resume(upper, (void *)((uintptr_t)local - w.lo - 2048), NULL);
    _exit(2);  /* loadfile returned: its frame was somewhere it had no business */
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status))
    fail_msg("the child exited with %d: a frame jumped over the guard",
             WEXITSTATUS(status));
  assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(large_frame_never_reaches_a_neighbour),  /* forks */
    cmocka_unit_test(guards_are_wide_at_every_size),
    cmocka_unit_test(scratch_stack_is_guarded),
  };
  return cmocka_run_group_tests_name("ucoro safety", tests, NULL, NULL);
}
