/*
** capi_test.c: ucoro_go.h, each function and each of its codes, called
** from straight-line C (cmocka).  The C functions below run as tasks (or
** on a task's stack); they record what the API returned, and the tests
** check the records once go.run has returned, on the main stack (a
** cmocka failure must not longjmp off a task's stack).
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "uv.h"

#include "lua_state.h"
#include "ucoro_go.h"
#include "pool_job.h"

/* What the C functions saw: codes, times, flags. */
static struct {
  int code[8];
  double secs[8];
  unsigned token[4];
  int flag[4];
  int ticks;
} rec;

/* rec.code[0], [1]... are the codes given (ANY: not checked). */
#define ANY (-1)
#define assert_codes(...) \
  check_codes((const int[]){__VA_ARGS__}, \
              sizeof((const int[]){__VA_ARGS__}) / sizeof(int), __LINE__)

static void check_codes(const int *want, size_t n, int line) {
  size_t i;
  for (i = 0; i < n; i++)
    if (want[i] != ANY && rec.code[i] != want[i])
      fail_msg("line %d: code[%zu] is %d, not %d", line, i, rec.code[i],
               want[i]);
}

static const ucoro_go_api *go;  /* the API of the test's state */
static lua_State *main_L;       /* the test's state (its main thread) */

static double now(void) { return (double)uv_hrtime() / 1e9; }

/* luv's loop in L's state: luv's context (luv.h) starts with it. */
static uv_loop_t *loop_of(lua_State *L) {
  uv_loop_t **ctx;
  lua_getfield(L, LUA_REGISTRYINDEX, "luv_context");
  ctx = (uv_loop_t **)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return ctx != NULL ? *ctx : NULL;
}

/* ---- the fixture: a state with ucoro.go as the global go ---- */

static int c_sleep(lua_State *L);
static int c_park_wake_from_callbacks(lua_State *L);
static int c_early_stale_double(lua_State *L);
static int c_cancel_body(lua_State *L);
static int c_wait_fd(lua_State *L);
static int c_work(lua_State *L);
static int c_no_park_in_gc(lua_State *L);
static int c_park_forever(lua_State *L);
static int c_from_luv_callback(lua_State *L);

static int go_setup(void **state) {
  lua_State *L = new_state();
  if (L == NULL) return -1;
  memset(&rec, 0, sizeof rec);
  lua_pushstring(L, TEST_TREE "/lua/?.lua;" TEST_TREE "/lua/?/init.lua;");
  lua_setglobal(L, "TREE_PATH");
  lua_pushstring(L, TEST_BUILD "/?.so;");
  lua_setglobal(L, "BUILD_CPATH");
  /* ucoro's facade (lua/ucoro/init.lua) over the binding linked here */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_ucoro_core);
  lua_setfield(L, -2, "ucoro.core");
  lua_pop(L, 1);
  if (luaL_dostring(L, "package.loaded.ucoro, ucoro = nil, nil\n"
                       "package.path = TREE_PATH .. package.path\n"
                       "package.cpath = BUILD_CPATH .. package.cpath\n"
                       "ucoro = require 'ucoro'\n"
                       "go = require 'ucoro.go'") != LUA_OK) {
    print_error("%s\n", lua_tostring(L, -1));
    lua_close(L);
    return -1;
  }
  go = ucoro_go_api_of(L);
  main_L = L;
  lua_register(L, "c_sleep", c_sleep);
  lua_register(L, "c_park_wake_from_callbacks", c_park_wake_from_callbacks);
  lua_register(L, "c_early_stale_double", c_early_stale_double);
  lua_register(L, "c_cancel_body", c_cancel_body);
  lua_register(L, "c_wait_fd", c_wait_fd);
  lua_register(L, "c_work", c_work);
  lua_register(L, "c_no_park_in_gc", c_no_park_in_gc);
  lua_register(L, "c_park_forever", c_park_forever);
  lua_register(L, "c_from_luv_callback", c_from_luv_callback);
  *state = L;
  return 0;
}

#define go_test(f) cmocka_unit_test_setup_teardown(f, go_setup, state_teardown)

/* ---- finding the API ---- */

static void api_found_with_every_function(void **state) {
  lua_State *L = *state;
  int top = lua_gettop(L);
  const ucoro_go_api *a = ucoro_go_api_of(L);
  assert_non_null(a);
  assert_int_equal(lua_gettop(L), top);  /* the stack as it was */
  assert_int_equal(a->version, UCORO_GO_API_VERSION);
  assert_non_null(a->current);
  assert_non_null(a->prepare);
  assert_non_null(a->park);
  assert_non_null(a->wake);
  assert_non_null(a->sleep);
  assert_non_null(a->cancelled);
  assert_non_null(a->wait_fd);
  assert_non_null(a->work);
}

/* Where ucoro.go cannot be loaded: NULL, and the stack as it was. */
static void api_absent_is_null(void **state) {
  lua_State *L = *state;
  int top;
  run(L, "package.loaded['ucoro.go.core'] = nil\n"
         "package.path, package.cpath = '', ''\n"
         "package.searchers = { package.searchers[1] }");
  top = lua_gettop(L);
  assert_null(ucoro_go_api_of(L));
  assert_int_equal(lua_gettop(L), top);
}

/* ---- outside a task ---- */

/* Every call outside a task: NOTASK at once, never a hang; work runs fn
** on the calling thread (NOTASK always means fn has run). */
static void outside_a_task_every_call_is_notask(void **state) {
  lua_State *L = *state;
  double t0 = now();
  pool_job j = {1, 0, 0, 0};
  int fds[2];
  assert_null(go->current(L));
  assert_int_equal(go->prepare(go->current(L)), 0);  /* NULL: no token */
  go->wake(NULL, 1);                                  /* a no-op */
  assert_int_equal(go->sleep(L, 1), UCORO_GO_NOTASK);
  assert_int_equal(go->cancelled(L), UCORO_GO_NOTASK);
  assert_int_equal(go->park(L, NULL, 1), UCORO_GO_NOTASK);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(go->wait_fd(L, fds[0], 1, 1), UCORO_GO_NOTASK);
  close(fds[0]);
  close(fds[1]);
  assert_true(now() - t0 < 0.5);
  assert_int_equal(go->work(L, run_pool_job, &j), UCORO_GO_NOTASK);
  assert_int_equal(j.ran, 1);
  assert_int_equal(j.result, 2);
}

/* ---- sleep ---- */

static int c_sleep(lua_State *L) {
  double t0 = now();
  rec.code[0] = go->sleep(L, 0.01);
  rec.secs[0] = now() - t0;
  t0 = now();
  rec.code[1] = go->sleep(L, 0);     /* a pass through the loop */
  rec.code[2] = go->sleep(L, -1);    /* as 0 */
  rec.secs[1] = now() - t0;
  rec.code[3] = go->cancelled(L);
  rec.flag[0] = go->current(L) != NULL;
  return 0;
}

static void sleep_parks_at_least_the_time_given(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_sleep))");
  assert_codes(UCORO_GO_OK, UCORO_GO_OK, UCORO_GO_OK,
               UCORO_GO_OK);  /* the last: cancelled(), no */
  assert_true(rec.secs[0] >= 0.01);
  assert_true(rec.secs[1] < 0.5);
  assert_int_equal(rec.flag[0], 1);
}

/* While another task sleeps in C, the others run (only the caller parks),
** and in a sort comparator, at C depth. */
static void sleep_parks_only_its_task_at_any_depth(void **state) {
  lua_State *L = *state;
  run(L, "local log = {}\n"
         "assert(go.run(function()\n"
         "  local t = go.spawn(function()\n"
         "    local a = { 3, 1, 2 }\n"
         "    table.sort(a, function(x, y) c_sleep() return x < y end)\n"
         "    log[#log + 1] = 'sorted ' .. table.concat(a, ',')\n"
         "  end)\n"
         "  go.yield()\n"
         "  log[#log + 1] = 'other ran'\n"
         "  assert(t:join())\n"
         "end))\n"
         "assert(table.concat(log, '; ') == 'other ran; sorted 1,2,3',\n"
         "       table.concat(log, '; '))");
  assert_int_equal(rec.code[0], UCORO_GO_OK);
  assert_true(rec.secs[0] >= 0.01);
}

/* Inside a generator the task resumes with go.coroutine: the park
** reaches the scheduler; under a plain resume no park is possible. */
static void sleep_inside_a_generator(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(function()\n"
         "  local gen = go.coroutine.wrap(function()\n"
         "    c_sleep()\n"
         "    coroutine.yield('slept')\n"
         "  end)\n"
         "  assert(gen() == 'slept')\n"
         "end))");
  assert_int_equal(rec.code[0], UCORO_GO_OK);
  assert_true(rec.secs[0] >= 0.01);
  memset(&rec, 0, sizeof rec);
  run(L, "assert(go.run(function()\n"
         "  local co = ucoro.create(function() c_sleep() end)\n"
         "  assert(ucoro.resume(co))\n"
         "end))");
  assert_codes(UCORO_GO_NOTASK, ANY, ANY, UCORO_GO_NOTASK);  /* cancelled() */
  assert_int_equal(rec.flag[0], 0);                /* current(): NULL */
}

/* ---- park and wake ---- */

typedef struct waker {
  uv_timer_t timer;
  ucoro_go_task *t;
  unsigned token;       /* for the timer's wake-ups */
  unsigned close_token; /* for the close callback's */
} waker;

static void on_waker_closed(uv_handle_t *h) {
  waker *w = (waker *)h->data;
  go->wake(w->t, w->close_token);  /* a wake-up from a close callback */
  free(w);
}

static void on_waker_timer(uv_timer_t *h) {
  waker *w = (waker *)h->data;
  go->wake(w->t, w->token);
  go->wake(w->t, w->token);  /* a double wake-up: a no-op */
  rec.flag[1] = 1;           /* the callback went on after the wake-up */
  rec.flag[2] = rec.flag[3]; /* had the task run before this? */
}

static int c_park_wake_from_callbacks(lua_State *L) {
  waker *w = (waker *)malloc(sizeof *w);
  double t0;
  if (w == NULL) return luaL_error(L, "no memory");
  w->t = go->current(L);
  uv_timer_init(loop_of(L), &w->timer);
  w->timer.data = w;
  w->token = go->prepare(w->t);
  uv_timer_start(&w->timer, on_waker_timer, 2, 0);
  rec.code[0] = go->park(L, w->t, 5);
  rec.flag[3] = 1;  /* the task runs again */
  /* the second wake-up of that callback is stale now */
  rec.token[0] = go->prepare(w->t);
  t0 = now();
  rec.code[1] = go->park(L, w->t, 0.005);
  rec.secs[1] = now() - t0;
  /* woken from the handle's close callback */
  rec.token[2] = w->token;
  w->close_token = rec.token[1] = go->prepare(w->t);
  uv_close((uv_handle_t *)&w->timer, on_waker_closed);  /* frees w */
  rec.code[2] = go->park(L, go->current(L), 5);
  return 0;
}

static void park_woken_from_libuv_callbacks(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_park_wake_from_callbacks))");
  /* woken, the double wake-up a no-op (timeout), woken on close */
  assert_codes(UCORO_GO_OK, UCORO_GO_TIMEOUT, UCORO_GO_OK);
  assert_int_equal(rec.flag[1], 1);
  assert_int_equal(rec.flag[2], 0);  /* not resumed inside the callback */
  assert_true(rec.secs[1] >= 0.005);
  assert_true(rec.token[0] != rec.token[2]);
  assert_true(rec.token[1] != rec.token[0]);
}

static int c_early_stale_double(lua_State *L) {
  ucoro_go_task *t = go->current(L);
  unsigned old, token;
  double t0;
  /* early: the wake-up before the park (a synchronous completion) */
  token = go->prepare(t);
  go->wake(t, token);
  t0 = now();
  rec.code[0] = go->park(L, t, 5);
  rec.secs[0] = now() - t0;
  /* stale: the token of a park that timed out */
  old = go->prepare(t);
  rec.code[1] = go->park(L, t, 0.001);
  (void)go->prepare(t);
  go->wake(t, old);
  rec.code[2] = go->park(L, t, 0.005);
  go->wake(t, token);  /* the token of the park that just timed out */
  /* stale: the token of a park that was woken; then a double wake-up */
  old = go->prepare(t);
  go->wake(t, old);
  rec.code[3] = go->park(L, t, 5);
  go->wake(t, old);
  go->wake(t, old);
  token = go->prepare(t);
  rec.code[4] = go->park(L, t, 0.005);
  /* a token from before the prepare: stale too */
  go->wake(t, token - 1);
  (void)go->prepare(t);
  rec.code[5] = go->park(L, t, 0.005);
  /* a park with no wake-up and no timeout on another task's behalf */
  rec.code[6] = go->park(L, NULL, 5);
  return 0;
}

static void early_stale_and_double_wakeups(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_early_stale_double))");
  assert_codes(UCORO_GO_OK, UCORO_GO_TIMEOUT, UCORO_GO_TIMEOUT, UCORO_GO_OK,
               UCORO_GO_TIMEOUT, UCORO_GO_TIMEOUT, UCORO_GO_NOTASK);
  assert_true(rec.secs[0] < 1);
}

/* A park that nothing will wake is a deadlock go.run reports (the task's
** park site named "C"); the task gets CANCELLED and its C code goes on. */
static int c_park_forever(lua_State *L) {
  ucoro_go_task *t = go->current(L);
  (void)go->prepare(t);
  rec.code[0] = go->park(L, t, -1);
  rec.flag[0] = 1;  /* cleaned up */
  return 0;
}

static void park_with_no_waker_is_a_deadlock(void **state) {
  lua_State *L = *state;
  run(L, "local ok, err = go.run(c_park_forever)\n"
         "assert(ok == false, tostring(err))\n"
         "assert(err:find('all tasks are asleep - deadlock!', 1, true), err)\n"
         "assert(err:find('[C]', 1, true), err)");
  assert_int_equal(rec.code[0], UCORO_GO_CANCELLED);
  assert_int_equal(rec.flag[0], 1);
}

/* ---- cancellation: each blocking call returns CANCELLED ---- */

static void on_pipe_write(uv_timer_t *h);

/* c_cancel_body(kind): blocks in one call (1 sleep, 2 park, 3 wait_fd,
** 4 work) until cancelled; then every call returns CANCELLED at once. */
static int c_cancel_body(lua_State *L) {
  int kind = (int)luaL_checkinteger(L, 1);
  ucoro_go_task *t = go->current(L);
  pool_job *j = (pool_job *)lua_newuserdatauv(L, sizeof *j, 0);
  int fds[2], i = kind - 1;
  double t0;
  memset(j, 0, sizeof *j);
  j->ms = 30;
  rec.code[4] = go->cancelled(L);
  if (pipe(fds) != 0) return luaL_error(L, "pipe");
  switch (kind) {
    case 1: rec.code[i] = go->sleep(L, 10); break;
    case 2: (void)go->prepare(t); rec.code[i] = go->park(L, t, 10); break;
    case 3: rec.code[i] = go->wait_fd(L, fds[0], 1, 10); break;
    default:
      rec.code[i] = go->work(L, run_pool_job, j);
      rec.flag[0] = j->ran;  /* work returned after fn, even cancelled */
      break;
  }
  close(fds[0]);
  close(fds[1]);
  rec.code[5] = go->cancelled(L);
  t0 = now();
  rec.code[6] = go->sleep(L, 10);
  (void)go->prepare(t);
  rec.code[7] = go->park(L, t, 10);
  rec.secs[0] = now() - t0;
  lua_pushliteral(L, "cleaned up");
  return 1;
}

static void every_blocking_call_returns_cancelled(void **state) {
  lua_State *L = *state;
  int kind;
  for (kind = 1; kind <= 4; kind++) {
    memset(&rec, 0, sizeof rec);
    lua_pushinteger(L, kind);
    lua_setglobal(L, "kind");
    run(L, "assert(go.run(function()\n"
           "  local t = go.spawn(c_cancel_body, kind)\n"
           "  go.sleep(0.005)\n"
           "  assert(t:status() == 'parked', t:status())\n"
           "  t:cancel('stop')\n"
           "  local ok, v = t:join()\n"
           "  assert(ok == true and v == 'cleaned up', tostring(v))\n"
           "end))");
    assert_int_equal(rec.code[kind - 1], UCORO_GO_CANCELLED);
    assert_codes(ANY, ANY, ANY, ANY, UCORO_GO_OK, UCORO_GO_CANCELLED,
                 UCORO_GO_CANCELLED, UCORO_GO_CANCELLED);
    assert_true(rec.secs[0] < 1);
    if (kind == 4) assert_int_equal(rec.flag[0], 1);
  }
}

/* ---- file descriptors ---- */

typedef struct pipe_writer {
  uv_timer_t timer;
  int fd;
} pipe_writer;

static void on_writer_closed(uv_handle_t *h) { free(h->data); }

static void on_pipe_write(uv_timer_t *h) {
  pipe_writer *p = (pipe_writer *)h->data;
  rec.flag[1] = write(p->fd, "x", 1) == 1;
  uv_close((uv_handle_t *)h, on_writer_closed);
}

static int c_wait_fd(lua_State *L) {
  int fds[2];
  char c = 0;
  double t0;
  pipe_writer *p = (pipe_writer *)malloc(sizeof *p);
  if (p == NULL || pipe(fds) != 0) return luaL_error(L, "no pipe");
  t0 = now();
  rec.code[0] = go->wait_fd(L, fds[0], 1, 0.005);
  rec.secs[0] = now() - t0;
  p->fd = fds[1];
  uv_timer_init(loop_of(L), &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, on_pipe_write, 2, 0);
  rec.code[1] = go->wait_fd(L, fds[0], 1, 5);
  rec.flag[0] = read(fds[0], &c, 1) == 1 && c == 'x';
  rec.code[2] = go->wait_fd(L, fds[1], 2, 5);      /* writable */
  rec.code[3] = go->wait_fd(L, fds[1], 1 | 2, 5);  /* either */
  close(fds[0]);
  close(fds[1]);
  rec.code[4] = go->wait_fd(L, fds[0], 1, 0.001);  /* closed: refused */
  rec.code[5] = go->wait_fd(L, -1, 1, 0.001);
  return 0;
}

static void wait_fd_readiness_timeout_and_bad_fd(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_wait_fd))");
  assert_codes(UCORO_GO_TIMEOUT, UCORO_GO_OK, UCORO_GO_OK, UCORO_GO_OK,
               UCORO_GO_UVERROR, UCORO_GO_UVERROR);
  assert_true(rec.secs[0] >= 0.005);
  assert_int_equal(rec.flag[1], 1);
  assert_int_equal(rec.flag[0], 1);
}

/* ---- the thread pool ---- */

static void on_tick(uv_timer_t *h) {
  if (++rec.ticks == 1000) uv_timer_stop(h);
}

static void on_ticker_closed(uv_handle_t *h) { free(h); }

/* c_work(): fn on a pool thread while the loop goes on (a repeating
** timer ticks meanwhile); its data in a userdata, not this frame. */
static int c_work(lua_State *L) {
  pool_job *j = (pool_job *)lua_newuserdatauv(L, sizeof *j, 0);
  uv_timer_t *ticker = (uv_timer_t *)malloc(sizeof *ticker);
  if (ticker == NULL) return luaL_error(L, "no memory");
  memset(j, 0, sizeof *j);
  j->ms = 30;
  uv_timer_init(loop_of(L), ticker);
  uv_timer_start(ticker, on_tick, 1, 1);
  rec.code[0] = go->work(L, run_pool_job, j);
  uv_close((uv_handle_t *)ticker, on_ticker_closed);
  rec.flag[0] = j->ran;
  rec.flag[1] = j->result == 60;
  rec.flag[2] = !pthread_equal(j->thread, pthread_self());
  return 0;
}

static void work_runs_on_the_pool_while_the_loop_goes_on(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_work))");
  assert_int_equal(rec.code[0], UCORO_GO_OK);
  assert_int_equal(rec.flag[0], 1);
  assert_int_equal(rec.flag[1], 1);
  assert_int_equal(rec.flag[2], 1);
  assert_true(rec.ticks >= 3);
}

/* The same on a lean task (its frames copied away while it parks). */
static void work_and_sleep_on_a_lean_task(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(function()\n"
         "  local a = go.spawn({ stack = 'lean' }, c_work)\n"
         "  local b = go.spawn({ stack = 'lean' }, function()\n"
         "    local s = { 2, 1 }\n"
         "    table.sort(s, function(x, y) c_sleep() return x < y end)\n"
         "  end)\n"
         "  assert(a:join()) assert(b:join())\n"
         "end))");
  assert_int_equal(rec.code[0], UCORO_GO_OK);  /* c_sleep's, last */
  assert_int_equal(rec.flag[0], 1);
  assert_int_equal(rec.flag[1], 1);
}

/* ---- where no park is possible ---- */

static int gc_blocks(lua_State *L) {
  pool_job *j = (pool_job *)malloc(sizeof *j);
  int fds[2];
  if (j == NULL) return 0;
  memset(j, 0, sizeof *j);
  j->ms = 1;
  rec.flag[3] = go->current(L) != NULL;
  rec.code[0] = go->sleep(L, 0.001);
  if (pipe(fds) == 0) {
    rec.code[1] = go->wait_fd(L, fds[0], 1, 0.001);
    close(fds[0]);
    close(fds[1]);
  }
  rec.code[2] = go->work(L, run_pool_job, j);
  rec.flag[0] = j->ran;  /* NOTASK from work: fn has run all the same */
  free(j);
  return 0;
}

/* In a __gc finalizer (collected on a task's thread): NOTASK, and the
** task goes on. */
static int c_no_park_in_gc(lua_State *L) {
  lua_newuserdatauv(L, 1, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, gc_blocks);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  rec.code[3] = go->sleep(L, 0.001);  /* the task parks as ever after */
  return 0;
}

static void no_park_in_a_finalizer(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_no_park_in_gc))");
  assert_int_equal(rec.flag[3], 1);
  assert_codes(UCORO_GO_NOTASK, UCORO_GO_NOTASK, UCORO_GO_NOTASK,
               UCORO_GO_OK);
  assert_int_equal(rec.flag[0], 1);
}

/* ---- from a raw libuv callback ---- */

typedef struct cb_probe {
  uv_timer_t timer;
  ucoro_go_task *t;
  unsigned token;
} cb_probe;

static void on_probe_closed(uv_handle_t *h) { free(h->data); }

static void on_probe(uv_timer_t *h) {
  cb_probe *p = (cb_probe *)h->data;
  double t0 = now();
  /* on the loop, outside any task: no task, no park, no hang */
  rec.flag[0] = go->current(main_L) == NULL;
  rec.code[0] = go->sleep(main_L, 1);
  rec.code[1] = go->cancelled(main_L);
  rec.code[2] = go->park(main_L, p->t, 1);
  rec.secs[0] = now() - t0;
  go->wake(p->t, p->token);
  uv_close((uv_handle_t *)h, on_probe_closed);
}

static int c_from_luv_callback(lua_State *L) {
  cb_probe *p = (cb_probe *)malloc(sizeof *p);
  if (p == NULL) return luaL_error(L, "no memory");
  p->t = go->current(L);
  p->token = go->prepare(p->t);
  uv_timer_init(loop_of(L), &p->timer);
  p->timer.data = p;
  uv_timer_start(&p->timer, on_probe, 1, 0);
  rec.code[3] = go->park(L, p->t, 5);
  return 0;
}

static void calls_from_a_libuv_callback_are_notask(void **state) {
  lua_State *L = *state;
  run(L, "assert(go.run(c_from_luv_callback))");
  assert_int_equal(rec.flag[0], 1);
  assert_codes(UCORO_GO_NOTASK, UCORO_GO_NOTASK, UCORO_GO_NOTASK,
               UCORO_GO_OK);
  assert_true(rec.secs[0] < 0.5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    go_test(api_found_with_every_function),
    go_test(api_absent_is_null),
    go_test(outside_a_task_every_call_is_notask),
    go_test(sleep_parks_at_least_the_time_given),
    go_test(sleep_parks_only_its_task_at_any_depth),
    go_test(sleep_inside_a_generator),
    go_test(park_woken_from_libuv_callbacks),
    go_test(early_stale_and_double_wakeups),
    go_test(park_with_no_waker_is_a_deadlock),
    go_test(every_blocking_call_returns_cancelled),
    go_test(wait_fd_readiness_timeout_and_bad_fd),
    go_test(work_runs_on_the_pool_while_the_loop_goes_on),
    go_test(work_and_sleep_on_a_lean_task),
    go_test(no_park_in_a_finalizer),
    go_test(calls_from_a_libuv_callback_are_notask),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
