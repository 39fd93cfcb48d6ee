/*
** threads_test.c: several OS threads, each with its own Lua state running
** ucoro coroutines at the same time (cmocka); and a state handed from one
** OS thread to another, whose coroutines parked on the first must be
** refused with a clear error on the second.  Runs under ThreadSanitizer
** too (liblua5.4 is not instrumented; each state stays on one thread at a
** time, handed over through pthread_join).
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
#include <pthread.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_state.h"
#include "lua_ucoro.h"

/* Runs code (with the given integer arguments) and returns the string it
** returns, copied into out; on a Lua error, "error: " and the message. */
static void run_to(lua_State *L, const char *code, char *out, size_t size,
                   int nargs, const lua_Integer *args) {
  int i;
  const char *s;
  if (luaL_loadstring(L, code) != LUA_OK) {
    snprintf(out, size, "error: %s", lua_tostring(L, -1));
    lua_settop(L, 0);
    return;
  }
  for (i = 0; i < nargs; i++) lua_pushinteger(L, args[i]);
  if (lua_pcall(L, nargs, 1, 0) != LUA_OK) {
    s = lua_tostring(L, -1);
    snprintf(out, size, "error: %s", s ? s : "(not a string)");
  } else {
    s = lua_tostring(L, -1);
    snprintf(out, size, "%s", s ? s : "(not a string)");
  }
  lua_settop(L, 0);
}

/* Under a sanitizer or Valgrind (tools/run-tests says so): fewer rounds. */
static int quick(void) {
  return getenv("UCORO_TEST_QUICK") != NULL;
}

/* ---- several states at once ---- */

/* Each round: width coroutines parked in sort comparators, gsub callbacks,
** nested coroutines and ucoro.call inside stock coroutines, with
** to-be-closed variables; resumed round-robin, some closed, some left for
** the collector.  The script checks each result (sorted, the same gsub
** as without yields...); it returns how many coroutines it accounted
** for: all of them, each ended, closed or abandoned. */
static const char workload[] =
  "local ucoro = require 'ucoro'\n"
  "local seed, rounds, width = ...\n"
  "local state = seed\n"
  "local function rand(n)\n"
  "  state = (state * 1103515245 + 12345) % 2147483648\n"
  "  return state // 65536 % n + 1\n"
  "end\n"
  "local done, closed, abandoned, tbc = 0, 0, 0, 0\n"
  "local function guard() return setmetatable({}, { __close = function() tbc = tbc + 1 end }) end\n"
  "local function sorter(t)\n"
  "  return ucoro.create(function()\n"
  "    local _g <close> = guard()\n"
  "    table.sort(t, function(a, b) ucoro.yield() return a < b end)\n"
  "    for k = 2, #t do assert(t[k - 1] <= t[k], 'not sorted') end\n"
  "    return 'sorted'\n"
  "  end)\n"
  "end\n"
  "local function gsubber(t)\n"
  "  local s = table.concat(t, ',')\n"
  "  local expected = s:gsub('%d+', function(d) return tostring(d * 2) end)\n"
  "  return ucoro.create(function()\n"
  "    local r = s:gsub('%d+', function(d) ucoro.yield() return tostring(d * 2) end)\n"
  "    assert(r == expected, 'wrong gsub')\n"
  "    return 'gsubbed'\n"
  "  end)\n"
  "end\n"
  "local function nester(t)\n"
  "  return ucoro.create(function()\n"
  "    local _g <close> = guard()\n"
  "    local inner = ucoro.wrap(function()\n"
  "      return (tostring(#t):gsub('%d', function(d) ucoro.yield('in') return d end))\n"
  "    end)\n"
  "    local r\n"
  "    table.sort(t, function(a, b)\n"
  "      r = r or inner()\n"
  "      ucoro.yield() return a > b end)\n"
  "    assert(r == 'in' and inner() == tostring(#t), 'wrong nesting')\n"
  "    return 'nested'\n"
  "  end)\n"
  "end\n"
  "local function caller(t)\n"
  "  return coroutine.create(function()\n"
  "    ucoro.call(table.sort, t, function(a, b) ucoro.yield() return a < b end)\n"
  "    return 'called'\n"
  "  end)\n"
  "end\n"
  "local makers = { sorter, gsubber, nester, caller }\n"
  "local function resume(co)\n"
  "  if ucoro.status(co) ~= 'suspended' then return 'gone' end\n"
  "  local ok, e = ucoro.resume(co)\n"
  "  assert(ok, e)\n"
  "  return ucoro.status(co)\n"
  "end\n"
  "for round = 1, rounds do\n"
  "  local cos, live = {}, width\n"
  "  for i = 1, width do\n"
  "    local t = {}\n"
  "    for k = 1, 3 + rand(6) do t[k] = rand(1000) end\n"
  "    cos[i] = makers[(i + round) % #makers + 1](t)\n"
  "  end\n"
  "  while live > 0 do\n"
  "    for i = 1, width do\n"
  "      local co = cos[i]\n"
  "      if co then\n"
  "        local r = rand(40)\n"
  "        if r == 1 then\n"
  "          assert(ucoro.close(co)) closed = closed + 1\n"
  "          cos[i] = nil live = live - 1\n"
  "        elseif r == 2 and ucoro.status(co) == 'suspended' then\n"
  "          abandoned = abandoned + 1\n"
  "          cos[i] = nil live = live - 1\n"
  "        elseif resume(co) == 'dead' then\n"
  "          done = done + 1 cos[i] = nil live = live - 1\n"
  "        end\n"
  "      end\n"
  "    end\n"
  "    if rand(8) == 1 then collectgarbage('step') end\n"
  "  end\n"
  "  if round % 4 == 0 then collectgarbage() end\n"
  "end\n"
  "collectgarbage() collectgarbage()\n"
  "assert(done + closed + abandoned == rounds * width, 'lost coroutines')\n"
  "assert(done > 0 and closed > 0 and abandoned > 0 and tbc > 0, 'a path not taken')\n"
  "return ('%d'):format(done + closed + abandoned)\n";

#define NTHREADS 4

typedef struct job {
  int seed;
  int rounds, width;
  pthread_barrier_t *start;
  char result[512];
} job;

static void *work(void *arg) {
  job *j = arg;
  lua_State *L = new_state();
  lua_Integer args[3];
  args[0] = j->seed;
  args[1] = j->rounds;
  args[2] = j->width;
  pthread_barrier_wait(j->start);  /* all threads at once */
  run_to(L, workload, j->result, sizeof j->result, 3, args);
  lua_close(L);
  return NULL;
}

static void states_on_threads_at_once(void **state) {
  pthread_t t[NTHREADS];
  job jobs[NTHREADS];
  pthread_barrier_t start;
  int i;
  (void)state;
  assert_int_equal(pthread_barrier_init(&start, NULL, NTHREADS), 0);
  for (i = 0; i < NTHREADS; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].seed = 17 + i;
    jobs[i].rounds = quick() ? 4 : 60;
    jobs[i].width = 24;
    jobs[i].start = &start;
    assert_int_equal(pthread_create(&t[i], NULL, work, &jobs[i]), 0);
  }
  for (i = 0; i < NTHREADS; i++) {
    char expected[32];
    assert_int_equal(pthread_join(t[i], NULL), 0);
    snprintf(expected, sizeof expected, "%d", jobs[i].rounds * jobs[i].width);
    assert_string_equal(jobs[i].result, expected);
  }
  pthread_barrier_destroy(&start);
}

/* ---- one state handed from thread to thread ---- */

/* Runs code on L on a new OS thread (the state is used by one thread at a
** time: pthread_create and pthread_join hand it over). */
typedef struct handoff {
  lua_State *L;
  const char *code;
  char result[512];
} handoff;

static void *run_handed(void *arg) {
  handoff *h = arg;
  run_to(h->L, h->code, h->result, sizeof h->result, 0, NULL);
  return NULL;
}

static void on_another_thread(lua_State *L, const char *code, char *result,
                              size_t size) {
  pthread_t t;
  handoff h;
  memset(&h, 0, sizeof h);
  h.L = L;
  h.code = code;
  assert_int_equal(pthread_create(&t, NULL, run_handed, &h), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  snprintf(result, size, "%s", h.result);
}

#define REFUSED "cannot resume coroutine: coroutine belongs to another OS thread"

/* Parks coroutines under C on one thread, leaves others suspended at Lua
** level (no native stack) or fresh. */
static const char park_some[] =
  "parked = ucoro.create(function()\n"
  "  table.sort({ 2, 1 }, function(a, b) ucoro.yield('parked') return a < b end)\n"
  "  return 'parked done' end)\n"
  "assert(select(2, ucoro.resume(parked)) == 'parked')\n"
  /* a stock yield ends the native stack's lua_resume: no C frames kept */
  "at_lua_level = ucoro.create(function() coroutine.yield('lua') return 'lua done' end)\n"
  "assert(select(2, ucoro.resume(at_lua_level)) == 'lua')\n"
  "fresh = ucoro.create(function() return 'fresh done' end)\n"
  "wrapped = ucoro.wrap(function()\n"
  "  ('x'):gsub('x', function() ucoro.yield('w') end) return 'wrapped done' end)\n"
  "assert(wrapped() == 'w')\n"
  "to_close = ucoro.create(function()\n"
  "  local _g <close> = setmetatable({}, { __close = function() closed_tbc = true end })\n"
  "  table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end) end)\n"
  "assert(ucoro.resume(to_close))\n"
  "for i = 1, 20 do\n"  /* abandoned, for the collector elsewhere */
  "  local co = ucoro.create(function()\n"
  "    table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end) end)\n"
  "  assert(ucoro.resume(co))\n"
  "end\n"
  "return 'ok'\n";

static void parked_elsewhere_refused(void **state) {
  lua_State *L = *state;
  char out[512];
  on_another_thread(L, park_some, out, sizeof out);
  assert_string_equal(out, "ok");
  on_another_thread(L,
    "return table.concat({ select(2, ucoro.resume(parked)),"
    "  ucoro.status(parked), select(2, pcall(wrapped)) }, '|')",
    out, sizeof out);
  assert_string_equal(out, REFUSED "|suspended|" REFUSED);
}

static void suspended_at_lua_level_resumes_elsewhere(void **state) {
  lua_State *L = *state;
  char out[512];
  on_another_thread(L, park_some, out, sizeof out);
  /* no C frames kept: these run on the new thread's own stacks, park
  ** there, and go on there */
  on_another_thread(L,
    "local a = select(2, ucoro.resume(at_lua_level))\n"
    "local f = select(2, ucoro.resume(fresh))\n"
    "local co = ucoro.create(function()\n"
    "  table.sort({ 2, 1 }, function(a, b) ucoro.yield('here') return a < b end)\n"
    "  return 'here done' end)\n"
    "local h1 = select(2, ucoro.resume(co))\n"
    "local h2 = select(2, ucoro.resume(co))\n"
    "return table.concat({ a, f, h1, h2 }, '|')",
    out, sizeof out);
  assert_string_equal(out, "lua done|fresh done|here|here done");
}

static void closed_and_collected_elsewhere(void **state) {
  lua_State *L = *state;
  char out[512];
  on_another_thread(L, park_some, out, sizeof out);
  on_another_thread(L,
    "local ok = ucoro.close(to_close)\n"
    "wrapped = nil collectgarbage() collectgarbage()\n"
    "return tostring(ok) .. '|' .. tostring(closed_tbc) .. '|' .."
    "  ucoro.status(to_close)",
    out, sizeof out);
  assert_string_equal(out, "true|true|dead");
  /* the owner thread is gone: the rest goes with the state, closed here */
}

/* The host API: a host's C function parks inside a lua_resume'd thread;
** resumed on another OS thread, lua_resume reports the refusal. */
static int wait_twice(lua_State *L) {
  lua_pushliteral(L, "first");
  lua_ucoro_yield(L, 1);
  lua_pushliteral(L, "second");
  lua_ucoro_yield(L, 1);
  lua_pushliteral(L, "end");
  return 1;
}

typedef struct host_job {
  lua_State *co;
  int status;
  char message[200];
} host_job;

static void *resume_host_thread(void *arg) {
  host_job *j = arg;
  int nres;
  j->status = lua_resume(j->co, NULL, 0, &nres);
  snprintf(j->message, sizeof j->message, "%s",
           lua_tostring(j->co, -1) ? lua_tostring(j->co, -1) : "?");
  lua_pop(j->co, nres > 0 ? nres : 1);
  return NULL;
}

static void host_thread_parked_elsewhere_refused(void **state) {
  lua_State *L = *state;
  host_job j;
  pthread_t t;
  memset(&j, 0, sizeof j);
  lua_ucoro_pushcfunction(L, wait_twice);
  lua_setglobal(L, "wait_twice");
  j.co = lua_newthread(L);
  luaL_loadstring(j.co, "return wait_twice()");
  assert_int_equal(pthread_create(&t, NULL, resume_host_thread, &j), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(j.status, LUA_YIELD);
  assert_string_equal(j.message, "first");
  /* here, on another thread than the one it parked on */
  resume_host_thread(&j);
  assert_int_equal(j.status, LUA_ERRRUN);
  assert_string_equal(j.message, REFUSED);
}

/* ---- lean coroutines destroyed by another OS thread ---- */

/* Keeps a patterned buffer in its frames across each yield. */
static void *lean_keeps_frames(ucoro *co, void *arg) {
  volatile unsigned char frame[2048];
  size_t i;
  (void)co;
  for (;;) {
    for (i = 0; i < sizeof frame; i++) frame[i] = (unsigned char)(i ^ (uintptr_t)arg);
    ucoro_yield(NULL, NULL);
    for (i = 0; i < sizeof frame; i++)
      if (frame[i] != (unsigned char)(i ^ (uintptr_t)arg)) return (void *)1;
  }
  return NULL;
}

#define LEAN_PARKED 4  /* UCORO_SHARED_SPREAD: the next one shares a stack */

static void *destroy_parked(void *arg) {
  ucoro **cos = arg;
  int i;
  for (i = 0; i < LEAN_PARKED; i++) ucoro_destroy(cos[i]);
  return NULL;
}

/* The owner parks lean coroutines, then resumes another that shares a
** stack with them, over and over, while a second OS thread destroys the
** parked ones (README: any thread may destroy a coroutine not in use).
** Their frames are copied off that stack meanwhile.  ThreadSanitizer sees
** every access to the shared stacks' bookkeeping and to kept frames;
** AddressSanitizer sees frames copied into freed memory. */
static void lean_destroyed_by_another_thread(void **state) {
  int round, rounds = quick() ? 30 : 300;
  (void)state;
  for (round = 0; round < rounds; round++) {
    ucoro *parked[LEAN_PARKED], *runner;
    pthread_t t;
    void *bad = NULL;
    int i;
    for (i = 0; i < LEAN_PARKED; i++) {
      assert_int_equal(ucoro_create_mode(&parked[i], lean_keeps_frames,
                                         NULL, 72 * 1024, UCORO_LEAN),
                       UCORO_OK);
      assert_int_equal(ucoro_resume(parked[i], (void *)(uintptr_t)i, NULL),
                       UCORO_OK);
    }
    assert_int_equal(ucoro_create_mode(&runner, lean_keeps_frames, NULL,
                                       72 * 1024, UCORO_LEAN), UCORO_OK);
    assert_int_equal(pthread_create(&t, NULL, destroy_parked, parked), 0);
    for (i = 0; i < 20 && bad == NULL; i++)
      assert_int_equal(ucoro_resume(runner, (void *)(uintptr_t)7, &bad),
                       UCORO_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_null(bad);
    assert_int_equal(ucoro_destroy(runner), UCORO_OK);
  }
  ucoro_pool_clear();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(states_on_threads_at_once),
    state_test(parked_elsewhere_refused),
    state_test(suspended_at_lua_level_resumes_elsewhere),
    state_test(closed_and_collected_elsewhere),
    state_test(host_thread_parked_elsewhere_refused),
    cmocka_unit_test(lean_destroyed_by_another_thread),
  };
  return cmocka_run_group_tests_name("ucoro threads", tests, NULL, NULL);
}
