/*
** idle_test.c: the native stack a Lua state keeps idle between threads
** (cmocka).  After lua_resume returns on a native stack, the stack waits
** in native_main's loop for the next thread; a lean one that has no memory
** to keep its frames meanwhile must end instead, and never run the last
** thread again.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"

/* While set, realloc refuses every new block (ptr NULL): lean.c's first
** room for a coroutine's frames among them. */
static volatile int refuse_new_blocks;

void *realloc(void *ptr, size_t size) {
  static void *(*real)(void *, size_t);
  if (real == NULL) real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  if (refuse_new_blocks && ptr == NULL && size > 0) return NULL;
  return real(ptr, size);
}

/* Valgrind replaces realloc everywhere, this one too: then nothing is
** refused, and the test would prove nothing. */
static int refusing_works(void) {
  void *volatile none = NULL;  /* (realloc(NULL, n) would become malloc) */
  void *p;
  refuse_new_blocks = 1;
  p = realloc(none, 16);
  refuse_new_blocks = 0;
  free(p);
  return p == NULL;
}

static int memory_gone(lua_State *L) {
  (void)L;
  refuse_new_blocks = 1;
  return 0;
}

static int memory_back(lua_State *L) {
  (void)L;
  refuse_new_blocks = 0;
  return 0;
}

/* A fresh lean coroutine ends while realloc refuses: its stack cannot
** wait idle (a first yield of a lean coroutine must make room for its
** frames), so it ends; the resume still gives the coroutine's results,
** and every later coroutine runs its own body, once. */
static void lean_idle_without_memory_ends(void **state) {
  lua_State *L = new_state();
  (void)state;
  if (!refusing_works()) {
    lua_close(L);
    skip();
  }
  lua_register(L, "memory_gone", memory_gone);
  lua_register(L, "memory_back", memory_back);
  run(L, "ucoro.mode('lean')\n"
         "runs = 0\n"
         "local co = ucoro.create(function(x)\n"
         "  runs = runs + 1\n"
         "  memory_gone()\n"
         "  return x\n"
         "end)\n"
         "local ok, v = ucoro.resume(co, 'first')\n"
         "memory_back()\n"
         "assert(ok and v == 'first', tostring(v))\n"
         "assert(runs == 1, runs)\n"
         "assert(ucoro.status(co) == 'dead')\n"
         "for i = 1, 3 do\n"
         "  local co2 = ucoro.create(function(y) runs = runs + 1 return y end)\n"
         "  local ok2, w = ucoro.resume(co2, i)\n"
         "  assert(ok2 and w == i, tostring(w))\n"
         "end\n"
         "assert(runs == 4, runs)\n");
  lua_close(L);
}

/* One state's coroutines, created and finished one after another, and
** nested: each runs its own body with its own values, whichever stack it
** gets (the idle one, or a new one while the idle one is busy). */
static void idle_stack_runs_each_thread_once(void **state) {
  lua_State *L = new_state();
  (void)state;
  run(L, "local log = {}\n"
         "local function body(name, depth)\n"
         "  log[#log + 1] = name\n"
         "  if depth > 0 then\n"
         "    local inner = ucoro.create(body)\n"
         "    assert(select(2, ucoro.resume(inner, name .. '>', depth - 1))\n"
         "           == name .. '>')\n"
         "  end\n"
         "  return name\n"
         "end\n"
         "for i = 1, 5 do\n"
         "  local co = ucoro.create(body)\n"
         "  local ok, v = ucoro.resume(co, 'c' .. i, i % 3)\n"
         "  assert(ok and v == 'c' .. i, tostring(v))\n"
         "end\n"
         "assert(table.concat(log, ' ') == 'c1 c1> c2 c2> c2>> c3 c4 c4> '\n"
         "       .. 'c5 c5> c5>>', table.concat(log, ' '))\n");
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(lean_idle_without_memory_ends),
    cmocka_unit_test(idle_stack_runs_each_thread_once),
  };
  return cmocka_run_group_tests_name("ucoro idle stack", tests, NULL, NULL);
}
