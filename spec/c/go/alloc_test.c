/*
** alloc_test.c: ucoro.go with a Lua allocator that refuses a chosen
** allocation (cmocka).  For each allocation a scenario makes (go.run,
** spawn, send, recv, select of few and many cases, sleep, scope,
** timeout, cancel, join), refused once or from there on, the scenario
** may fail (a memory error, or an assertion that a memory error broke)
** but must not crash, and the state must stay usable: with the
** allocator back to normal the same scenario runs to its end in the
** same state (go.run not left "already running", no wait left behind).
** Run under Valgrind or ASan, nothing is read after it is freed.
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

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_ucoro.h"
#include "budget_alloc.h"

/* Returns a function that runs the scenario: "done", or raises. */
static const char scenario_source[] =
  "local go = require 'ucoro.go'\n"
  "return function()\n"
  "  local ok, err = go.run(function()\n"
  "    local ch, buf = go.chan(), go.chan(2)\n"
  "    local t = go.spawn(function(a, b)\n"
  "      local v = ch:recv()\n"
  "      buf:send(v + a + b)\n"
  "      table.sort({3, 2, 1}, function(x, y) go.yield() return x < y end)\n"
  "      return 't'\n"
  "    end, 1, 2)\n"
  "    assert(ch:send(10))\n"
  "    assert(buf:recv() == 13)\n"
  "    local c1, c2, c3 = go.chan(), go.chan(), go.chan()\n"
  "    go.spawn(function() c2:send('x') end)\n"
  "    assert(go.select(c1:recv_op(), c2:recv_op(), go.after(5)) == 2)\n"
  "    go.spawn(function() go.yield() c1:recv() end)\n"
  "    assert(go.select(c1:send_op(1), c3:recv_op(), go.after(5)) == 1)\n"
  "    local ops, chans = {}, {}\n"
  "    for i = 1, 20 do\n"
  "      chans[i] = go.chan()\n"
  "      ops[i] = i % 2 == 0 and chans[i]:recv_op() or chans[i]:send_op(i)\n"
  "    end\n"
  "    go.spawn(function() chans[7]:recv() end)\n"
  "    assert(go.select(table.unpack(ops)) == 7)\n"
  "    assert(select(2, t:join()) == 't')\n"
  "    assert(select(3, c3:recv(0.001)) == 'timeout')\n"
  "    go.sleep(0.001)\n"
  "    assert(go.scope(function(s)\n"
  "      go.spawn(function() go.yield() end)\n"
  "      return 1\n"
  "    end) == 1)\n"
  "    assert(go.timeout(5, function() return 2 end))\n"
  "    local t2 = go.spawn(function() go.sleep(10) end)\n"
  "    go.yield()\n"
  "    t2:cancel()\n"
  "    assert(t2:join() == false)\n"
  "    return 'ran'\n"
  "  end)\n"
  "  if not ok then error(err, 0) end\n"
  "  assert(err == 'ran')\n"
  "  return 'done'\n"
  "end\n";

static budget the_budget;

/* A state with the libraries, ucoro (as a host opens it), ucoro.go from
** the build, and the scenario as the global `scenario`. */
static lua_State *new_state(void) {
  lua_State *L;
  memset(&the_budget, 0, sizeof the_budget);
#if LUA_VERSION_NUM >= 505  /* 5.5 takes the hash seed */
  L = lua_newstate(budget_alloc, &the_budget, luaL_makeseed(NULL));
#else
  L = lua_newstate(budget_alloc, &the_budget);
#endif
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  luaL_requiref(L, "ucoro", luaopen_ucoro_core, 1);
  lua_pop(L, 1);
  lua_pushstring(L, TEST_TREE "/lua/?.lua;" TEST_TREE "/lua/?/init.lua;");
  lua_setglobal(L, "TREE_PATH");
  lua_pushstring(L, TEST_BUILD "/?.so;");
  lua_setglobal(L, "BUILD_CPATH");
  if (luaL_dostring(L, "package.path = TREE_PATH .. package.path\n"
                       "package.cpath = BUILD_CPATH .. package.cpath\n") ||
      luaL_loadstring(L, scenario_source) || lua_pcall(L, 0, 1, 0)) {
    print_error("%s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  lua_setglobal(L, "scenario");
  return L;
}

/* Runs the scenario: 1 when it returned "done"; its error in *why. */
static int run_scenario(lua_State *L, char *why, size_t n) {
  int ok;
  lua_getglobal(L, "scenario");
  ok = lua_pcall(L, 0, 1, 0) == LUA_OK;
  if (ok) ok = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "done") == 0;
  snprintf(why, n, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_pop(L, 1);
  return ok;
}

/* For every k from 1 (by stride), refuses from the k-th request on
** (fail_count of them), then checks the state runs the scenario whole. */
static void refuse_each(long fail_count) {
  lua_State *L = new_state();
  char why[256];
  long k, total, stride = getenv("UCORO_TEST_QUICK") ? 5 : 1;
  assert_non_null(L);
  /* a clean run counts the requests */
  the_budget.requests = 0;
  if (!run_scenario(L, why, sizeof why)) fail_msg("clean run: %s", why);
  total = the_budget.requests;
  assert_true(total > 100);
  if (getenv("ALLOC_TEST_VERBOSE")) print_message("%ld requests\n", total);
  for (k = 1; k <= total + 10; k += stride) {
    the_budget.requests = 0;
    the_budget.refused = 0;
    the_budget.fail_at = k;
    the_budget.fail_count = fail_count;
    (void)run_scenario(L, why, sizeof why);  /* may fail: no crash */
    the_budget.fail_at = 0;
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (!run_scenario(L, why, sizeof why))
      fail_msg("after refusing request %ld: %s", k, why);
  }
  lua_close(L);
}

static void one_refusal_anywhere(void **state) {
  (void)state;
  refuse_each(1);
}

static void memory_gone_from_anywhere(void **state) {
  (void)state;
  refuse_each(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(one_refusal_anywhere),
    cmocka_unit_test(memory_gone_from_anywhere),
  };
  return cmocka_run_group_tests_name("ucoro.go out of memory", tests,
                                     NULL, NULL);
}
