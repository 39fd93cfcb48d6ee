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

/* ---- name resolution (libuv's thread pool) ---- */

typedef struct gai_req {
  uv_getaddrinfo_t req;
  io_wait w;
  int done, status, abandoned;
  struct addrinfo *res;
} gai_req;

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  gai_req *g = (gai_req *)req->data;
  if (g->abandoned) {  /* its task stopped waiting: nobody to tell */
    if (res) uv_freeaddrinfo(res);
    free(g);
    return;
  }
  g->done = 1;
  g->status = status;
  g->res = res;
  io_wake(&g->w);
}

/* Resolves host (a numeric address needs no request) into out, port set.
** Returns 0, a libuv error code, or IO_TIMEOUT/IO_CANCELLED as positive
** codes (the caller raises the cancellation). */
/* The port argument at arg (dflt when absent; required when dflt < 0);
** raises when it is out of 0..65535 (libuv would truncate it to 16 bits:
** another port). */
int io_check_port(lua_State *L, int arg, lua_Integer dflt) {
  lua_Integer port = dflt < 0 ? luaL_checkinteger(L, arg)
                              : luaL_optinteger(L, arg, dflt);
  luaL_argcheck(L, port >= 0 && port <= 65535, arg, "port out of range");
  return (int)port;
}

int io_resolve(lua_State *L, go_sched *S, const char *host, int port,
               int socktype, struct sockaddr_storage *out, int has,
               uint64_t at) {
  struct addrinfo hints;
  gai_req *g;
  char service[16];
  int r;
  memset(out, 0, sizeof *out);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0) return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0) return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  snprintf(service, sizeof service, "%d", port);
  g = (gai_req *)calloc(1, sizeof *g);
  if (g == NULL) return UV_ENOMEM;
  g->req.data = g;
  r = uv_getaddrinfo(S->loop, &g->req, on_gai, host, service, &hints);
  if (r < 0) {
    free(g);
    return r;
  }
  while (!g->done) {
    int why = io_park(L, S, &g->w, has, at, "resolve");
    g->w.t = NULL;  /* g is still ours */
    if (why == IO_WOKEN) continue;
    g->abandoned = 1;  /* on_gai frees it */
    uv_cancel((uv_req_t *)&g->req);
    return why;
  }
  r = g->status;
  if (r == 0 && g->res != NULL) {
    memcpy(out, g->res->ai_addr, g->res->ai_addrlen);  /* port set */
  } else if (r == 0) {
    r = UV_EAI_NONAME;
  }
  if (g->res) uv_freeaddrinfo(g->res);
  free(g);
  return r;
}
