/*
** alloc_test.c: a Lua allocator that fails from a chosen allocation on
** (cmocka).  For every allocation a scenario of ucoro's makes (create,
** park in a sort comparator, resume, close, wrap, ucoro.call inside a
** stock coroutine, lean coroutines, collect), the scenario must end in "not enough memory"
** or succeed, never crash, and leave the state usable: with the allocator
** back to normal the scenario runs to completion.  After lua_close no
** native stack is left mapped.  Run under Valgrind or ASan, nothing leaks.
*/
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "compat.h"
#include "lua_ucoro.h"
#include "budget_alloc.h"
#include "guard_pages.h"
#include "ucoro.h"

/* Each step checks its results; a failed check raises its message, so a
** memory error reaches the end as "not enough memory".  Returns "done". */
static const char scenario_source[] =
  "local ucoro, stock = ucoro, coroutine\n"
  "local function check(ok, ...)\n"
  "  if not ok then error((...), 0) end\n"
  "  return ...\n"
  "end\n"
  "local function expect(want, got)\n"
  "  if want ~= got then error(('expected %s, got %s'):format(want, got), 0) end\n"
  "end\n"
  "return function()\n"
  "  -- parks inside a table.sort comparator; resumed to the end\n"
  "  local co = ucoro.create(function(t)\n"
  "    table.sort(t, function(a, b) ucoro.yield('cmp') return a < b end)\n"
  "    return table.concat(t, ',')\n"
  "  end)\n"
  "  expect('cmp', check(ucoro.resume(co, {3, 1, 2})))\n"
  "  local r = 'cmp'\n"
  "  while r == 'cmp' do r = check(ucoro.resume(co)) end\n"
  "  expect('1,2,3', r)\n"
  "  -- parks inside gsub with a to-be-closed variable, and is closed\n"
  "  local closed = false\n"
  "  local c = ucoro.create(function()\n"
  "    local _guard <close> = setmetatable({}, {__close = function() closed = true end})\n"
  "    return (('ab'):gsub('.', function(x) return ucoro.yield(x) end))\n"
  "  end)\n"
  "  expect('a', check(ucoro.resume(c)))\n"
  "  check(ucoro.close(c))\n"
  "  expect(true, closed)\n"
  "  -- wrap, with an explicit stack size\n"
  "  local w = ucoro.wrap(function(x)\n"
  "    local y = ucoro.yield(x + 1)\n"
  "    return y * 2\n"
  "  end, 64 * 1024)\n"
  "  expect(2, w(1))\n"
  "  expect(10, w(5))\n"
  "  -- ucoro.call inside a stock coroutine: the yield crosses a sort\n"
  "  local s = stock.wrap(function()\n"
  "    return ucoro.call(function()\n"
  "      local t = {2, 1}\n"
  "      table.sort(t, function(a, b) ucoro.yield('in sort') return a < b end)\n"
  "      return t[1]\n"
  "    end)\n"
  "  end)\n"
  "  expect('in sort', s())\n"
  "  local v = s()\n"
  "  while v == 'in sort' do v = s() end\n"
  "  expect(1, v)\n"
  "  -- two lean coroutines share a stack: each park copies frames off\n"
  "  local function lean(tag)\n"
  "    return ucoro.create(function()\n"
  "      table.sort({2, 1}, function(a, b) ucoro.yield(tag) return a < b end)\n"
  "      return tag .. ' done'\n"
  "    end, 'lean')\n"
  "  end\n"
  "  local l1, l2 = lean('l1'), lean('l2')\n"
  "  expect('l1', check(ucoro.resume(l1)))\n"
  "  expect('l2', check(ucoro.resume(l2)))\n"
  "  expect('l1 done', check(ucoro.resume(l1)))\n"
  "  expect('l2 done', check(ucoro.resume(l2)))\n"
  "  -- parked, then left to the collector\n"
  "  check(ucoro.resume(ucoro.create(function()\n"
  "    table.sort({2, 1}, function() ucoro.yield() return false end)\n"
  "  end)))\n"
  "  collectgarbage()\n"
  "  return 'done'\n"
  "end\n";

static budget the_budget;

/* A state with the libraries, ucoro (global) and the scenario (global). */
static lua_State *new_state(void) {
  lua_State *L;
  memset(&the_budget, 0, sizeof the_budget);
  L = compat_newstate(budget_alloc, &the_budget);
  assert_non_null(L);
  luaL_openlibs(L);
  luaL_requiref(L, "ucoro", luaopen_ucoro_core, 1);
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, scenario_source, sizeof scenario_source - 1,
                      "=scenario") != LUA_OK ||
      lua_pcall(L, 0, 1, 0) != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  lua_setglobal(L, "scenario");
  lua_gc(L, LUA_GCCOLLECT);
  return L;
}

/* Runs the scenario; returns its result or error message, copied. */
static void run_scenario(lua_State *L, char *out, size_t size) {
  const char *s;
  lua_getglobal(L, "scenario");
  lua_pcall(L, 0, 1, 0);
  s = lua_tostring(L, -1);
  snprintf(out, size, "%s", s != NULL ? s : "(not a string)");
  lua_pop(L, 1);
}

/* Guard pages with no native stack mapped, after a first run of the
** scenario (AddressSanitizer maps some of its own the first time). */
static int baseline_guard_pages(void) {
  char result[256];
  lua_State *L = new_state();
  run_scenario(L, result, sizeof result);
  assert_string_equal(result, "done");
  lua_close(L);
  ucoro_pool_clear();
  return guard_pages();
}

/* Every allocation point of the scenario, the refusals lasting
** fail_count requests (0: to the end of the scenario); aggressive: a
** collection step at (nearly) every allocation, so finalizers run at every
** point too.  Checks that many points ended in "not enough memory". */
static void fail_everywhere(long fail_count, int aggressive) {
  long at, failures = 0;
  int baseline = baseline_guard_pages();
  for (at = 1;; at++) {
    char result[256];
    lua_State *L = new_state();
    long requests;
    if (aggressive) lua_gc(L, LUA_GCINC, 0, 1000, 0);
    the_budget.requests = 0;
    the_budget.fail_at = at;
    the_budget.fail_count = fail_count;
    run_scenario(L, result, sizeof result);
    requests = the_budget.requests;
    the_budget.fail_at = 0;
    if (strcmp(result, "done") != 0) {
      if (getenv("ALLOC_TRACE") != NULL)  /* which points fail, and how */
        fprintf(stderr, "%ld: %s\n", at, result);
      if (strcmp(result, "not enough memory") != 0)
        fail_msg("allocation %ld: %s", at, result);
      failures++;
    }
    run_scenario(L, result, sizeof result);  /* the state is still usable */
    if (strcmp(result, "done") != 0)
      fail_msg("after failing allocation %ld: %s", at, result);
    lua_close(L);
    ucoro_pool_clear();
    if (guard_pages() != baseline)
      fail_msg("allocation %ld: %d native stacks left mapped", at,
               guard_pages() - baseline);
    if (requests < at) break;  /* the scenario never reached a refusal */
  }
  assert_true(at > 50);  /* the scenario allocates at many points... */
  assert_true(failures > at / 2);  /* ...and most of them it needs */
}

static void memory_runs_out_for_good(void **state) {
  (void)state;
  fail_everywhere(0, 0);
}

/* Lua retries a refused allocation once after an emergency collection:
** refusing two requests makes that one fail, and the next ones work. */
static void memory_runs_out_for_a_moment(void **state) {
  (void)state;
  fail_everywhere(2, 0);
}

static void memory_runs_out_under_aggressive_gc(void **state) {
  (void)state;
  fail_everywhere(0, 1);
  fail_everywhere(2, 1);
}

/* From Lua: refuse_memory() refuses every request from now on,
** allow_memory() ends that. */
static int refuse_memory(lua_State *L) {
  (void)L;
  the_budget.fail_at = the_budget.requests + 1;
  the_budget.fail_count = 0;
  return 0;
}

/* refuse_next(n) refuses the next n requests only. */
static int refuse_next(lua_State *L) {
  the_budget.fail_at = the_budget.requests + 1;
  the_budget.fail_count = (long)luaL_checkinteger(L, 1);
  return 0;
}

static int allow_memory(lua_State *L) {
  (void)L;
  the_budget.fail_at = 0;
  return 0;
}

/* The first park makes the run last (a userdata): if that allocation
** fails, the coroutine is closed, its __close run and its stack freed at
** once, though the coroutine itself is still reachable. */
static void first_park_out_of_memory_closes_the_coroutine(void **state) {
  int baseline = baseline_guard_pages();
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "refuse_memory", refuse_memory);
  lua_register(L, "allow_memory", allow_memory);
  if (luaL_dostring(L,
        "closed = false\n"
        "co = ucoro.create(function()\n"
        "  local _c <close> = setmetatable({}, {__close = function()\n"
        "    closed = true end})\n"
        "  table.sort({2, 1}, function(a, b)\n"
        "    refuse_memory() ucoro.yield('parked') return a < b end)\n"
        "end)\n"
        "local ok, message = ucoro.resume(co)\n"
        "allow_memory()\n"
        "assert(ok == false and message == 'not enough memory', message)\n"
        "assert(closed, 'the pending __close did not run')\n"
        "assert(ucoro.status(co) == 'dead', ucoro.status(co))\n") != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  ucoro_pool_clear();
  assert_int_equal(guard_pages(), baseline);  /* co is still alive */
  lua_close(L);
}

/* The same through wrap, called from Lua: whenever memory runs out as a
** wrapped coroutine first parks (its run is made with the wrap; the park
** marks it alive, in a table that grows now and then: many wraps park,
** each with the next two requests refused, one more than Lua's retry
** after a collection), wrap raises the bare "not enough memory", as
** stock wrap raises a memory error (no position in front). */
static void first_park_out_of_memory_in_wrap_is_bare(void **state) {
  lua_State *L = new_state();
  (void)state;
  lua_register(L, "refuse_next", refuse_next);
  lua_register(L, "allow_memory", allow_memory);
  if (luaL_dostring(L,
        "local failures, kept = 0, {}\n"
        "for n = 1, 200 do\n"
        "  local closed = false\n"
        "  local w = ucoro.wrap(function()\n"
        "    local _c <close> = setmetatable({}, {__close = function()\n"
        "      closed = true end})\n"
        "    table.sort({2, 1}, function(a, b)\n"
        "      refuse_next(2) ucoro.yield('parked') return a < b end)\n"
        "  end)\n"
        "  kept[n] = w\n"
        "  local ok, message = pcall(function() return w() end)\n"
        "  allow_memory()\n"
        "  if not ok then\n"
        "    assert(message == 'not enough memory', message)\n"
        "    assert(closed, 'the pending __close did not run')\n"
        "    failures = failures + 1\n"
        "  end\n"
        "end\n"
        "assert(failures > 0, 'no refusal reached a first park')\n") != LUA_OK)
    fail_msg("%s", lua_tostring(L, -1));
  lua_close(L);
  ucoro_pool_clear();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(first_park_out_of_memory_closes_the_coroutine),
    cmocka_unit_test(first_park_out_of_memory_in_wrap_is_bare),
    cmocka_unit_test(memory_runs_out_for_good),
    cmocka_unit_test(memory_runs_out_for_a_moment),
    cmocka_unit_test(memory_runs_out_under_aggressive_gc),
  };
  return cmocka_run_group_tests_name("ucoro out of Lua memory", tests, NULL,
                                     NULL);
}
