/*
** io_dns.c: name resolution for ucoro.go tasks (libuv's thread pool):
** go.dns.getaddrinfo, go.dns.getnameinfo.  A request its task stopped
** waiting for (timeout, cancellation) is abandoned: the completion frees
** it.
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

typedef struct dns_req {
  io_req q;
  union { uv_getaddrinfo_t ai; uv_getnameinfo_t ni; } u;
  int status;
  struct addrinfo *res;
  char host[NI_MAXHOST], service[NI_MAXSERV];
} dns_req;

static void on_addrinfo(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  dns_req *d = (dns_req *)req->data;
  d->status = status;
  d->res = res;
  if (io_req_done(&d->q)) {  /* its task stopped waiting */
    if (res) uv_freeaddrinfo(res);
    free(d);
  }
}

static void on_nameinfo(uv_getnameinfo_t *req, int status,
                        const char *host, const char *service) {
  dns_req *d = (dns_req *)req->data;
  d->status = status;
  if (status == 0) {
    snprintf(d->host, sizeof d->host, "%s", host ? host : "");
    snprintf(d->service, sizeof d->service, "%s", service ? service : "");
  }
  if (io_req_done(&d->q)) free(d);
}

/* getaddrinfo on libuv's thread pool for the current task: 0 and *res
** (the caller frees it with uv_freeaddrinfo), a libuv error code, or
** IO_TIMEOUT/IO_CANCELLED as positive codes (the request abandoned; the
** caller raises the cancellation). */
int io_getaddrinfo(lua_State *L, go_sched *S, const char *host,
                   const char *service, const struct addrinfo *hints,
                   int has, uint64_t at, const char *what,
                   struct addrinfo **res) {
  dns_req *d = (dns_req *)calloc(1, sizeof *d);
  int r;
  *res = NULL;
  if (d == NULL) return UV_ENOMEM;
  d->u.ai.data = d;
  r = uv_getaddrinfo(S->loop, &d->u.ai, on_addrinfo, host, service, hints);
  if (r < 0) {
    free(d);
    return r;
  }
  r = io_wait_req(L, S, &d->q, (uv_req_t *)&d->u.ai, has, at, what);
  if (r != IO_WOKEN) return r;  /* abandoned: on_addrinfo frees d */
  r = d->status;
  if (r == 0) *res = d->res;
  else if (d->res) uv_freeaddrinfo(d->res);
  free(d);
  return r;
}

static uint64_t opt_timeout(lua_State *L, int opts, int *has) {
  uint64_t at = 0;
  *has = 0;
  if (lua_type(L, opts) == LUA_TTABLE) {
    lua_getfield(L, opts, "timeout");
    at = go_deadline(L, -1, has);
    lua_pop(L, 1);
  }
  return at;
}

/* go.dns.getaddrinfo(host [, {family="inet"|"inet6", timeout=}]): a list
** of { addr=, family= } (each address once); nil, err. */
static int dns_getaddrinfo(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *host = luaL_checkstring(L, 1);
  struct addrinfo hints, *res, *ai;
  int has, r, n = 0;
  uint64_t at = opt_timeout(L, 2, &has);
  go_task *t = go_current(L, S, "dns.getaddrinfo");
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (lua_type(L, 2) == LUA_TTABLE &&
      lua_getfield(L, 2, "family") == LUA_TSTRING) {
    const char *f = lua_tostring(L, -1);
    if (strcmp(f, "inet") == 0) hints.ai_family = AF_INET;
    else if (strcmp(f, "inet6") == 0) hints.ai_family = AF_INET6;
    else return luaL_error(L, "invalid family '%s'", f);
  }
  lua_settop(L, 2);
  r = io_getaddrinfo(L, S, host, NULL, &hints, has, at, "dns", &res);
  if (r == IO_CANCELLED) return go_raise_cancelled(L, t);
  if (r == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  if (r < 0) return io_fail(L, r);
  lua_newtable(L);
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    if (!lua_checkstack(L, 4)) break;
    io_push_addr(L, ai->ai_addr);
    lua_pop(L, 1);  /* the port */
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    lua_createtable(L, 0, 2);
    lua_insert(L, -2);
    lua_setfield(L, -2, "addr");
    lua_pushstring(L, ai->ai_family == AF_INET6 ? "inet6" : "inet");
    lua_setfield(L, -2, "family");
    lua_rawseti(L, -2, ++n);
  }
  uv_freeaddrinfo(res);
  return 1;
}

/* go.dns.getnameinfo(addr [, port [, {timeout=}]]): host, service. */
static int dns_getnameinfo(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *addr = luaL_checkstring(L, 1);
  int port = io_check_port(L, 2, 0), has, r;
  uint64_t at = opt_timeout(L, 3, &has);
  struct sockaddr_storage sa;
  dns_req *d;
  go_task *t = go_current(L, S, "dns.getnameinfo");
  memset(&sa, 0, sizeof sa);
  if (uv_ip4_addr(addr, port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&sa) != 0)
    return io_fail(L, UV_EINVAL);
  d = (dns_req *)calloc(1, sizeof *d);
  if (d == NULL) return luaL_error(L, "not enough memory");
  d->u.ni.data = d;
  r = uv_getnameinfo(S->loop, &d->u.ni, on_nameinfo, (struct sockaddr *)&sa, 0);
  if (r < 0) {
    free(d);
    return io_fail(L, r);
  }
  r = io_wait_req(L, S, &d->q, (uv_req_t *)&d->u.ni, has, at, "dns");
  if (r == IO_CANCELLED) return go_raise_cancelled(L, t);  /* d abandoned */
  if (r == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  if (d->status < 0) {
    r = d->status;
    free(d);
    return io_fail(L, r);
  }
  lua_pushstring(L, d->host);
  lua_pushstring(L, d->service);
  free(d);
  return 2;
}

const luaL_Reg go_io_dns_functions[] = {
  {"dns_getaddrinfo", dns_getaddrinfo},
  {"dns_getnameinfo", dns_getnameinfo},
  {NULL, NULL}
};
