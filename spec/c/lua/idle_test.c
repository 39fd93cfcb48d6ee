/*
** idle_test.c: the native stack a Lua state keeps idle between threads
** (cmocka).  After lua_resume returns on a native stack, the stack waits
** in native_main's loop for the next thread; a lean one that has no memory
** to keep its frames meanwhile must end instead, and never run the last
** thread again.
*/
#define _GNU_SOURCE
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
#include "refusing_realloc.h"

/* A fresh lean coroutine ends while realloc refuses: its stack cannot
** wait idle (a first yield of a lean coroutine must make room for its
** frames), so it ends; the resume still gives the coroutine's results,
** and every later coroutine runs its own body, once. */
static void lean_idle_without_memory_ends(void **state) {
  lua_State *L = *state;
  if (!refusing_works()) skip();
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
}

/* One state's coroutines, created and finished one after another, and
** nested: each runs its own body with its own values, whichever stack it
** gets (the idle one, or a new one while the idle one is busy). */
static void idle_stack_runs_each_thread_once(void **state) {
  lua_State *L = *state;
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
}

int main(void) {
  const struct CMUnitTest tests[] = {
    state_test(lean_idle_without_memory_ends),
    state_test(idle_stack_runs_each_thread_once),
  };
  return cmocka_run_group_tests_name("ucoro idle stack", tests, NULL, NULL);
}
