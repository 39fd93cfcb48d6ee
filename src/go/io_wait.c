/*
** io_wait.c: how an I/O call parks its task (a token, the timer heap for
** its timeout, cancellation as a code so the caller deregisters first),
** luv-style error results, addresses and name resolution.
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

/* Parks the current task on w until io_wake(w), the deadline `at` (when
** has), or cancellation.  w is not touched once the park began (what
** holds it may be freed meanwhile): the caller clears w->t if it still
** names its task.  Raises where no task runs or no park is possible. */
int io_park(lua_State *L, go_sched *S, io_wait *w, int has, uint64_t at,
            const char *what) {
  go_task *t = go_current(L, S, what);
  int fired;
  t->token++;
  t->armed = 1;
  t->early = GO_NOT_FIRED;
  if (t->io != NULL) t->io->t = NULL;  /* one I/O wait at a time */
  w->t = t;
  w->token = t->token;
  t->io = w;
  if (has && !go_timer_add(S, t, at, IO_TIMEOUT)) {
    w->t = NULL;
    t->io = NULL;
    t->armed = 0;
    return luaL_error(L, "not enough memory");
  }
  fired = go_park_code(L, S, t, what);
  if (fired == GO_FIRED_CANCEL) return IO_CANCELLED;
  if (fired == GO_FIRED_ERROR) {  /* go_unregister cleared w */
    return luaL_error(L, "%s: no park possible here (inside a metamethod "
                      "or finalizer that cannot yield?)", what);
  }
  return fired == IO_TIMEOUT ? IO_TIMEOUT : IO_WOKEN;
}

/* Queues the wake-up of w's task, if one waits (from a libuv callback). */
void io_wake(io_wait *w) {
  go_task *t = w->t;
  if (t == NULL) return;
  w->t = NULL;
  if (t->io == w) t->io = NULL;
  go_wake(t, w->token, IO_WOKEN);
}

/* Parks until q is done (IO_WOKEN); or until the timeout or a
** cancellation came first (IO_TIMEOUT, IO_CANCELLED): then q is
** abandoned, libuv asked to cancel req, and q's completion frees it (the
** caller must not; it returns "timeout" or raises the cancellation). */
int io_wait_req(lua_State *L, go_sched *S, io_req *q, uv_req_t *req,
                int has, uint64_t at, const char *what) {
  while (!q->done) {
    int why = io_park(L, S, &q->w, has, at, what);
    q->w.t = NULL;  /* q is still ours */
    if (why == IO_WOKEN) continue;
    q->abandoned = 1;
    uv_cancel(req);
    return why;
  }
  return IO_WOKEN;
}

/* For a completion: 1 when q's task stopped waiting (the caller frees the
** request); else q is done and its task's wake-up queued: 0.  No task
** waiting (q->w.t NULL: set only while one is parked for q) means it
** never runs again: the state closed (the scheduler's finalizer cleared
** its waits), or ucoro.close dropped its frames. */
int io_req_done(io_req *q) {
  if (q->abandoned || q->w.t == NULL) return 1;
  q->done = 1;
  io_wake(&q->w);
  return 0;
}

/* nil, "ECONNREFUSED: connection refused" (luv's wording). */
int io_fail(lua_State *L, int uverr) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", uv_err_name(uverr), uv_strerror(uverr));
  return 2;
}

int io_fail_msg(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* Pushes an address as host string and port number (2 values). */
int io_push_addr(lua_State *L, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN + 1];
  int port = 0;
  ip[0] = '\0';
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof ip);
    port = ntohs(a->sin6_port);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
    return 2;
  }
  lua_pushstring(L, ip);
  lua_pushinteger(L, port);
  return 2;
}

/* The integer at stack index idx; raises "WHAT out of range" against
** argument arg when it is outside lo..hi: the C type it goes to would
** keep its low bits, another value (a file descriptor 2^32 would be 0,
** a port 70000 would be 4464). */
lua_Integer io_check_range(lua_State *L, int idx, int arg, lua_Integer lo,
                           lua_Integer hi, const char *what) {
  lua_Integer v = luaL_checkinteger(L, idx);
  if (v < lo || v > hi)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s out of range", what));
  return v;
}

/* Field name of the options table at opts when it is a number, checked
** as io_check_range does; dflt when opts is not a table or the field is
** not a number. */
lua_Integer io_opt_field(lua_State *L, int opts, const char *name,
                         lua_Integer dflt, lua_Integer lo, lua_Integer hi) {
  if (lua_type(L, opts) != LUA_TTABLE) return dflt;
  if (lua_getfield(L, opts, name) == LUA_TNUMBER)
    dflt = io_check_range(L, -1, opts, lo, hi, name);
  lua_pop(L, 1);
  return dflt;
}

/* The port argument at arg (dflt when absent; required when dflt < 0). */
int io_check_port(lua_State *L, int arg, lua_Integer dflt) {
  if (dflt >= 0 && lua_isnoneornil(L, arg)) return (int)dflt;
  return (int)io_check_range(L, arg, arg, 0, 65535, "port");
}

/* Resolves host (a numeric address needs no request) into out, port set.
** Returns 0, a libuv error code, or IO_TIMEOUT/IO_CANCELLED as positive
** codes (the caller raises the cancellation). */
int io_resolve(lua_State *L, go_sched *S, const char *host, int port,
               int socktype, struct sockaddr_storage *out, int has,
               uint64_t at) {
  struct addrinfo hints, *res;
  char service[16];
  int r;
  memset(out, 0, sizeof *out);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0) return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  snprintf(service, sizeof service, "%d", port);
  r = io_getaddrinfo(L, S, host, service, &hints, has, at, "resolve", &res);
  if (r != 0) return r;
  if (res == NULL) return UV_EAI_NONAME;
  memcpy(out, res->ai_addr, res->ai_addrlen);  /* port set */
  uv_freeaddrinfo(res);
  return 0;
}
