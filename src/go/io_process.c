/*
** io_process.c: child processes for ucoro.go tasks: spawn with args, env
** and cwd, its standard streams as go streams (pipes), wait with a
** timeout, kill; and signals (a watcher a task waits on).
**
** A process handle is closed by its userdata's finalizer (a child still
** running keeps running, its exit status unread): no handle of ours is
** left open for luv's loop to find at the end.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

#define PROC_MT "ucoro.go.process"
#define SIGNAL_MT "ucoro.go.signal"

typedef struct io_proc {
  uv_process_t h;
  io_wait w;
  int exited;
  int64_t code;
  int signal;
} io_proc;

typedef struct proc_ud {
  io_proc *p;
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} proc_ud;

static void on_proc_closed(uv_handle_t *h) { free(h->data); }

static void on_exit_cb(uv_process_t *h, int64_t code, int sig) {
  io_proc *p = (io_proc *)h->data;
  p->exited = 1;
  p->code = code;
  p->signal = sig;
  io_wake(&p->w);
}

static int proc_gc(lua_State *L) {
  proc_ud *ud = GO_TO(L, 1, proc_ud);
  io_proc *p;
  if (ud == NULL) return 0;  /* another userdata, given our metatable */
  p = ud->p;
  if (p == NULL) return 0;
  ud->p = NULL;
  uv_close((uv_handle_t *)&p->h, on_proc_closed);
  return 0;
}

static const char *opt_string(lua_State *L, int t, const char *k) {
  const char *s;
  lua_getfield(L, t, k);
  s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
  lua_pop(L, 1);  /* t holds it */
  return s;
}

/* A NULL-terminated array of the strings of the list at idx (numbers
** converted), first (if any) in front.  Pushes the array (a userdata)
** and a table holding the strings: both keep it valid while on the
** stack; the list itself is not modified. */
static char **string_list(lua_State *L, int idx, const char *first) {
  int n = lua_istable(L, idx) ? (int)luaL_len(L, idx) : 0, i, k = 0, keep;
  char **v = (char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 2), 0);
  lua_createtable(L, n, 0);
  keep = lua_gettop(L);
  if (first != NULL) v[k++] = (char *)first;
  for (i = 1; i <= n; i++) {
    lua_geti(L, idx, i);
    v[k++] = (char *)luaL_checkstring(L, -1);  /* converted on the stack */
    lua_rawseti(L, keep, i);
  }
  v[k] = NULL;
  return v;
}

/* process_spawn(file, {args=, env=, cwd=, stdin=, stdout=, stderr=}):
** proc, stdin, stdout, stderr (streams where "pipe", the default; nil
** for "inherit" or "null"); nil, err. */
static int process_spawn(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *file = luaL_checkstring(L, 1);
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  static const char *const names[3] = { "stdin", "stdout", "stderr" };
  io_stream *streams[3] = { NULL, NULL, NULL };
  int stream_idx[3] = { 0, 0, 0 };
  proc_ud *ud;
  io_proc *p;
  int i, r, pud;
  lua_settop(L, 2);
  if (lua_isnil(L, 2)) {
    lua_newtable(L);
    lua_replace(L, 2);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  memset(&o, 0, sizeof o);
  o.file = file;
  o.exit_cb = on_exit_cb;
  lua_getfield(L, 2, "args");
  o.args = string_list(L, lua_gettop(L), file);
  if (lua_getfield(L, 2, "env") != LUA_TNIL)
    o.env = string_list(L, lua_gettop(L), NULL);
  o.cwd = opt_string(L, 2, "cwd");
  ud = (proc_ud *)lua_newuserdatauv(L, sizeof *ud, 0);
  pud = lua_gettop(L);
  ud->p = NULL;
  ud->check = GO_CHECK_WORD(ud);
  luaL_setmetatable(L, PROC_MT);
  for (i = 0; i < 3; i++) {
    const char *how;
    lua_getfield(L, 2, names[i]);
    how = lua_isnil(L, -1) ? "pipe" : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    if (strcmp(how, "pipe") == 0) {
      streams[i] = io_stream_new(L, S, IO_PIPE);
      stream_idx[i] = lua_gettop(L);
      stdio[i].flags = (uv_stdio_flags)(UV_CREATE_PIPE |
                       (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE));
      stdio[i].data.stream = io_stream_handle(streams[i]);
    } else if (strcmp(how, "inherit") == 0) {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
    } else if (strcmp(how, "null") == 0) {
      stdio[i].flags = UV_IGNORE;
    } else {
      return luaL_error(L, "%s: 'pipe', 'inherit' or 'null' expected", names[i]);
    }
  }
  o.stdio = stdio;
  o.stdio_count = 3;
  p = (io_proc *)calloc(1, sizeof *p);
  if (p == NULL) return luaL_error(L, "not enough memory");
  p->h.data = p;
  r = uv_spawn(S->loop, &p->h, &o);
  if (r < 0) {
    /* libuv wants the handle closed even when the spawn failed */
    uv_close((uv_handle_t *)&p->h, on_proc_closed);
    return io_fail(L, r);  /* the streams' finalizers close them */
  }
  ud->p = p;
  lua_pushvalue(L, pud);
  for (i = 0; i < 3; i++) {
    if (streams[i] != NULL) {
      if (i > 0) io_stream_start(streams[i]);
      lua_pushvalue(L, stream_idx[i]);
    } else {
      lua_pushnil(L);
    }
  }
  return 4;
}

static proc_ud *check_proc(lua_State *L) {
  return GO_CHECK(L, 1, proc_ud, PROC_MT);
}

/* proc:wait([timeout]): exit code, terminating signal (0 if none); nil,
** "timeout". */
static int proc_wait(lua_State *L) {
  go_sched *S = go_sched_of(L);
  proc_ud *ud = check_proc(L);
  int has;
  uint64_t at = go_deadline(L, 2, &has);
  io_proc *p = ud->p;
  if (p == NULL) return io_fail_msg(L, "closed");
  while (!p->exited) {
    go_task *t;
    int why;
    if (p->w.t != NULL)
      return io_fail_msg(L, "busy: another task waits for this process");
    t = go_current(L, S, "process.wait");
    why = io_park(L, S, &p->w, has, at, "process");
    if (p->w.t == t) p->w.t = NULL;  /* p lives while ud holds it */
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
  lua_pushinteger(L, (lua_Integer)p->code);
  lua_pushinteger(L, p->signal);
  return 2;
}

static int signal_number(lua_State *L, int idx, int dflt) {
  static const struct { const char *name; int num; } sigs[] = {
    {"sigint", SIGINT}, {"sigterm", SIGTERM}, {"sigkill", SIGKILL},
    {"sighup", SIGHUP}, {"sigquit", SIGQUIT}, {"sigusr1", SIGUSR1},
    {"sigusr2", SIGUSR2}, {"sigchld", SIGCHLD}, {"sigpipe", SIGPIPE},
    {"sigalrm", SIGALRM}, {"sigwinch", SIGWINCH}, {"sigcont", SIGCONT},
    {"sigstop", SIGSTOP}, {NULL, 0}
  };
  const char *s;
  int i;
  if (lua_isnoneornil(L, idx)) return dflt;
  if (lua_type(L, idx) == LUA_TNUMBER)
    return (int)io_check_range(L, idx, idx, 0, INT_MAX, "signal");
  s = luaL_checkstring(L, idx);
  for (i = 0; sigs[i].name != NULL; i++)
    if (strcmp(s, sigs[i].name) == 0) return sigs[i].num;
  return luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", s));
}

/* proc:kill([signal]): true; nil, err (default sigterm). */
static int proc_kill(lua_State *L) {
  proc_ud *ud = check_proc(L);
  int sig = signal_number(L, 2, SIGTERM), r;
  if (ud->p == NULL) return io_fail_msg(L, "closed");
  if (ud->p->exited) return io_fail(L, UV_ESRCH);
  r = uv_process_kill(&ud->p->h, sig);
  if (r < 0) return io_fail(L, r);
  lua_pushboolean(L, 1);
  return 1;
}

static int proc_pid(lua_State *L) {
  proc_ud *ud = check_proc(L);
  if (ud->p == NULL) return 0;
  lua_pushinteger(L, ud->p->h.pid);
  return 1;
}

/* ---- signals ---- */

typedef struct io_signal {
  uv_signal_t h;
  io_wait w;
  lua_Integer count;     /* deliveries not yet taken */
} io_signal;

typedef struct signal_ud {
  io_signal *s;
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} signal_ud;

static void on_signal_closed(uv_handle_t *h) { free(h->data); }

static void on_signal(uv_signal_t *h, int signum) {
  io_signal *s = (io_signal *)h->data;
  (void)signum;
  s->count++;
  io_wake(&s->w);
}

/* signal_watch(name): a watcher (libuv's handler for that signal while
** it lives): watcher:wait([timeout]) -> the number of deliveries since
** the last wait; nil, "timeout" | "closed". */
static int signal_watch(lua_State *L) {
  go_sched *S = go_sched_of(L);
  int sig = signal_number(L, 1, 0), r;
  signal_ud *ud = (signal_ud *)lua_newuserdatauv(L, sizeof *ud, 0);
  io_signal *s;
  ud->s = NULL;
  ud->check = GO_CHECK_WORD(ud);
  luaL_setmetatable(L, SIGNAL_MT);
  s = (io_signal *)calloc(1, sizeof *s);
  if (s == NULL) return luaL_error(L, "not enough memory");
  uv_signal_init(S->loop, &s->h);
  s->h.data = s;
  ud->s = s;
  r = uv_signal_start(&s->h, on_signal, sig);
  if (r < 0) {
    ud->s = NULL;
    uv_close((uv_handle_t *)&s->h, on_signal_closed);
    return io_fail(L, r);
  }
  /* only a task waiting on it keeps the loop alive (nor go.run going) */
  uv_unref((uv_handle_t *)&s->h);
  return 1;
}

static int signal_close_ud(signal_ud *ud) {
  io_signal *s = ud->s;
  if (s != NULL) {
    ud->s = NULL;
    io_wake(&s->w);
    uv_close((uv_handle_t *)&s->h, on_signal_closed);
  }
  return 0;
}

static int signal_gc(lua_State *L) {
  signal_ud *ud = GO_TO(L, 1, signal_ud);
  return ud != NULL ? signal_close_ud(ud) : 0;  /* another userdata, given our metatable */
}

static int signal_close(lua_State *L) {
  return signal_close_ud(GO_CHECK(L, 1, signal_ud, SIGNAL_MT));
}

static int signal_wait(lua_State *L) {
  go_sched *S = go_sched_of(L);
  signal_ud *ud = GO_CHECK(L, 1, signal_ud, SIGNAL_MT);
  int has;
  uint64_t at = go_deadline(L, 2, &has);
  for (;;) {
    io_signal *s = ud->s;
    go_task *t;
    int why;
    if (s == NULL) return io_fail_msg(L, "closed");
    if (s->count > 0) {
      lua_pushinteger(L, s->count);
      s->count = 0;
      return 1;
    }
    if (s->w.t != NULL)
      return io_fail_msg(L, "busy: another task waits for this signal");
    t = go_current(L, S, "signal.wait");
    uv_ref((uv_handle_t *)&s->h);  /* a task waits: the loop goes on */
    why = io_park(L, S, &s->w, has, at, "signal");
    if (ud->s != NULL) {
      if (ud->s->w.t == t) ud->s->w.t = NULL;
      uv_unref((uv_handle_t *)&ud->s->h);
    }
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
}

static const luaL_Reg proc_methods[] = {
  {"wait", proc_wait},
  {"kill", proc_kill},
  {"pid", proc_pid},
  {NULL, NULL}
};

static const luaL_Reg signal_methods[] = {
  {"wait", signal_wait},
  {"close", signal_close},
  {NULL, NULL}
};

const luaL_Reg go_io_process_functions[] = {
  {"process_spawn", process_spawn},
  {"signal_watch", signal_watch},
  {NULL, NULL}
};

/* The metatables (upvalue 1: the scheduler, at the stack top). */
int go_io_process_open(lua_State *L) {
  io_metatable(L, PROC_MT, proc_methods, proc_gc, NULL);
  lua_pop(L, 1);  /* the scheduler on top again, for the next one */
  io_metatable(L, SIGNAL_MT, signal_methods, signal_gc, NULL);
  lua_pop(L, 1);
  return 0;
}
