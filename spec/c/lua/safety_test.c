/*
** safety_test.c: memory safety where only C can set the scene (cmocka):
** guards wider than the frames C libraries open without probing, a lean
** yield that cannot keep its frames, the host API given many values, a
** stock yield in a pushed function, lua_ucoro_yield given the wrong
** thread.
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
#include <valgrind/valgrind.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"
#include "refusing_realloc.h"
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
  /* a size known only at run time, without a VLA's scope rules */
  room = alloca((size_t)room_wanted);  /* cppcheck-suppress allocaCalled */
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

/* ---- the binding ---- */

/* A lean yield that cannot keep its frames raises "not enough memory" in
** the coroutine (which may catch it and go on), never returns as if
** resumed. */
static int yield_failing(lua_State *L) {
  refuse_new_blocks = 1;
  return lua_ucoro_yield(L, lua_gettop(L));
}

static void lean_yield_out_of_memory_raises(void **state) {
  lua_State *L;
  (void)state;
  if (RUNNING_ON_VALGRIND) {
    skip();  /* its allocator cannot be made to fail */
    return;
  }
  L = new_state();
  lua_register(L, "yield_failing", yield_failing);
  lua_register(L, "memory_back", memory_back);
  run(L, "ucoro.mode('lean')\n"
         "local co = ucoro.create(function()\n"
         "  local ok, e = pcall(yield_failing, 'lost')\n"
         "  memory_back()\n"
         "  local back = ucoro.yield('after', ok, e)\n"
         "  return back\n"
         "end)\n"
         "local ok, a, b, c = ucoro.resume(co)\n"
         "assert(ok and a == 'after' and b == false, tostring(a))\n"
         "assert(c == 'not enough memory', c)\n"
         "assert(select(2, ucoro.resume(co, 'again')) == 'again')\n");
  refuse_new_blocks = 0;
  lua_close(L);
}

/* A function pushed by lua_ucoro_pushcfunction takes any number of
** arguments, as a plain C function does. */
static int count_arguments(lua_State *L) {
  lua_pushinteger(L, lua_gettop(L));
  return 1;
}

static void pushed_function_takes_many_arguments(void **state) {
  lua_State *L = *state;
  lua_ucoro_pushcfunction(L, count_arguments);
  lua_setglobal(L, "count");
  run(L, "assert(count(table.unpack({}, 1, 100000)) == 100000)\n"
         "local n = coroutine.wrap(function(...) return count(...) end)"
         "  (table.unpack({}, 1, 100000))\n"
         "assert(n == 100000, n)\n");
}

/* lua_yield in a pushed function inside a ucoro coroutine, where the
** pushed function is simply called. */
static int stock_yield(lua_State *L) {
  return lua_yield(L, lua_gettop(L));
}

static void pushed_function_may_yield_the_stock_way(void **state) {
  lua_State *L = *state;
  lua_ucoro_pushcfunction(L, stock_yield);
  lua_setglobal(L, "stock_yield");
  run(L, "local co = ucoro.create(function() return 'back', stock_yield('up') end)\n"
         "local ok, v = ucoro.resume(co)\n"
         "assert(ok and v == 'up', tostring(v))\n"
         "local ok2, a, b = ucoro.resume(co, 'down')\n"
         "assert(ok2 and a == 'back' and b == 'down', tostring(a))\n");
}

/* lua_ucoro_yield given a thread that is not the running one (misuse):
** a clear error on the running thread, and nothing else. */
static int yield_on_main(lua_State *L) {
  lua_State *main_thread;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main_thread = lua_tothread(L, -1);
  lua_pop(L, 1);
  return lua_ucoro_yield(main_thread, 0);
}

static void yield_given_another_thread(void **state) {
  pid_t pid;
  int status;
  (void)state;
  pid = fork();  /* today's misuse longjmps between stacks: may abort */
  assert_true(pid >= 0);
  if (pid == 0) {
    lua_State *L = new_state();
    lua_register(L, "yield_on_main", yield_on_main);
    if (luaL_dostring(L,
          "local co = ucoro.create(function()\n"
          "  local ok, e = pcall(yield_on_main)\n"
          "  ucoro.yield(ok, e)\n"
          "  return 'still fine'\n"
          "end)\n"
          "local ok, a, e = ucoro.resume(co)\n"
          "assert(ok and a == false, tostring(a))\n"
          "assert(e:find('not the running', 1, true), e)\n"
          "assert(select(2, ucoro.resume(co)) == 'still fine')\n"
          "assert(ucoro.running() and select(2, ucoro.running()))\n") !=
        LUA_OK) {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      _exit(1);
    }
    lua_close(L);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(large_frame_never_reaches_a_neighbour),  /* forks */
    cmocka_unit_test(yield_given_another_thread),             /* forks */
    cmocka_unit_test(guards_are_wide_at_every_size),
    cmocka_unit_test(scratch_stack_is_guarded),
    cmocka_unit_test(lean_yield_out_of_memory_raises),
    state_test(pushed_function_takes_many_arguments),
    state_test(pushed_function_may_yield_the_stock_way),
  };
  return cmocka_run_group_tests_name("ucoro safety", tests, NULL, NULL);
}
