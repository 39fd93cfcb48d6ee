/*
** io_udp.c: UDP sockets for ucoro.go tasks.  Datagrams are received all
** the time into a bounded queue (a full queue drops the newest and
** counts it); recv takes the oldest or parks for the next.  A send goes
** out at once when the kernel takes it, else is copied and queued.
*/
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

#define UDP_MT "ucoro.go.udp"
#define DGRAM_MAX 65536

typedef struct dgram {
  char *data;
  size_t len;
  struct sockaddr_storage from;
} dgram;

typedef struct io_udp {
  uv_udp_t h;
  dgram *q;              /* a ring of cap entries */
  int cap, head, count;
  lua_Integer dropped;
  int rerr;
  io_wait reader;
  char buf[DGRAM_MAX];
} io_udp;

typedef struct udp_ud {
  io_udp *u;
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} udp_ud;

static udp_ud *check_udp(lua_State *L) {
  return GO_CHECK(L, 1, udp_ud, UDP_MT);
}

static void on_udp_closed(uv_handle_t *h) {
  io_udp *u = (io_udp *)h->data;
  int i;
  for (i = 0; i < u->count; i++) free(u->q[(u->head + i) % u->cap].data);
  free(u->q);
  free(u);
}

static void close_udp(udp_ud *ud) {
  io_udp *u = ud->u;
  if (u == NULL) return;
  ud->u = NULL;
  io_wake(&u->reader);  /* it finds the socket closed */
  uv_close((uv_handle_t *)&u->h, on_udp_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  io_udp *u = (io_udp *)h->data;
  (void)hint;
  *b = uv_buf_init(u->buf, sizeof u->buf);
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                    const struct sockaddr *from, unsigned flags) {
  io_udp *u = (io_udp *)h->data;
  dgram *g;
  (void)b;
  (void)flags;
  if (n < 0) {
    u->rerr = (int)n;
    io_wake(&u->reader);
    return;
  }
  if (from == NULL) return;  /* nothing more to read now */
  if (u->count == u->cap) {
    u->dropped++;
    return;
  }
  g = &u->q[(u->head + u->count) % u->cap];
  g->data = (char *)malloc(n > 0 ? (size_t)n : 1);
  if (g->data == NULL) {
    u->dropped++;
    return;
  }
  memcpy(g->data, u->buf, (size_t)n);
  g->len = (size_t)n;
  memset(&g->from, 0, sizeof g->from);
  memcpy(&g->from, from, from->sa_family == AF_INET6
         ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
  u->count++;
  io_wake(&u->reader);
}

/* go.udp.bind(host, port [, {queue=64}]): a UDP socket; nil, err. */
static int udp_bind(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *host = luaL_checkstring(L, 1);
  int port = io_check_port(L, 2, -1), r;
  int cap = (int)io_opt_field(L, 3, "queue", 64, 1, 1 << 20);
  struct sockaddr_storage addr;
  udp_ud *ud;
  io_udp *u;
  memset(&addr, 0, sizeof addr);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
    return io_fail(L, UV_EINVAL);
  ud = (udp_ud *)lua_newuserdatauv(L, sizeof *ud, 0);
  ud->u = NULL;
  ud->check = GO_CHECK_WORD(ud);
  luaL_setmetatable(L, UDP_MT);
  u = (io_udp *)calloc(1, sizeof *u);
  if (u == NULL) return luaL_error(L, "not enough memory");
  u->q = (dgram *)calloc((size_t)cap, sizeof *u->q);
  if (u->q == NULL || uv_udp_init(S->loop, &u->h) != 0) {
    free(u->q);
    free(u);
    return luaL_error(L, "not enough memory");
  }
  u->cap = cap;
  u->h.data = u;
  ud->u = u;
  r = uv_udp_bind(&u->h, (struct sockaddr *)&addr, 0);
  if (r == 0) r = uv_udp_recv_start(&u->h, on_alloc, on_recv);
  if (r < 0) {
    close_udp(ud);
    return io_fail(L, r);
  }
  return 1;
}

/* sock:recv([timeout]): data, addr, port; nil, "timeout" | "closed" | err. */
static int udp_recv(lua_State *L) {
  go_sched *S = go_sched_of(L);
  udp_ud *ud = check_udp(L);
  int has;
  uint64_t at = go_deadline(L, 2, &has);
  for (;;) {
    io_udp *u = ud->u;
    go_task *t;
    int why;
    if (u == NULL) return io_fail_msg(L, "closed");
    if (u->count > 0) {
      dgram *g = &u->q[u->head];
      lua_pushlstring(L, g->data, g->len);
      free(g->data);
      g->data = NULL;
      u->head = (u->head + 1) % u->cap;
      u->count--;
      io_push_addr(L, (struct sockaddr *)&g->from);
      return 3;
    }
    if (u->rerr) {
      int r = u->rerr;
      u->rerr = 0;
      return io_fail(L, r);
    }
    if (u->reader.t != NULL)
      return io_fail_msg(L, "busy: another task receives on this socket");
    t = go_current(L, S, "udp.recv");
    why = io_park(L, S, &u->reader, has, at, "udp.recv");
    if (ud->u != NULL && ud->u->reader.t == t) ud->u->reader.t = NULL;
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
}

static void on_send(uv_udp_send_t *req, int status) {
  (void)status;
  free(req);
}

/* sock:send(data, host, port): true; nil, err.  Never parks (a datagram
** the kernel cannot take at once is queued in libuv). */
static int udp_send(lua_State *L) {
  udp_ud *ud = check_udp(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  const char *host = luaL_checkstring(L, 3);
  int port = io_check_port(L, 4, -1), r;
  struct sockaddr_storage addr;
  uv_buf_t b;
  if (ud->u == NULL) return io_fail_msg(L, "closed");
  if (len > IO_MAX_BUF) return io_fail(L, UV_EMSGSIZE);  /* never truncated */
  memset(&addr, 0, sizeof addr);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
    return io_fail(L, UV_EINVAL);
  b = uv_buf_init((char *)data, (unsigned)len);
  r = uv_udp_try_send(&ud->u->h, &b, 1, (struct sockaddr *)&addr);
  if (r == UV_EAGAIN || r == UV_ENOSYS) {
    uv_udp_send_t *req = (uv_udp_send_t *)malloc(sizeof *req + len + 1);
    if (req == NULL) return luaL_error(L, "not enough memory");
    memcpy((char *)(req + 1), data, len);
    b = uv_buf_init((char *)(req + 1), (unsigned)len);
    r = uv_udp_send(req, &ud->u->h, &b, 1, (struct sockaddr *)&addr, on_send);
    if (r < 0) free(req);
  }
  if (r < 0) return io_fail(L, r);
  lua_pushboolean(L, 1);
  return 1;
}

static int udp_sockname(lua_State *L) {
  udp_ud *ud = check_udp(L);
  struct sockaddr_storage a;
  int len = (int)sizeof a, r;
  if (ud->u == NULL) return io_fail_msg(L, "closed");
  r = uv_udp_getsockname(&ud->u->h, (struct sockaddr *)&a, &len);
  if (r < 0) return io_fail(L, r);
  return io_push_addr(L, (struct sockaddr *)&a);
}

/* sock:dropped(): datagrams dropped because the queue was full. */
static int udp_dropped(lua_State *L) {
  udp_ud *ud = check_udp(L);
  lua_pushinteger(L, ud->u != NULL ? ud->u->dropped : 0);
  return 1;
}

static int udp_close(lua_State *L) {
  close_udp(check_udp(L));
  lua_pushboolean(L, 1);
  return 1;
}

/* __gc, __close */
static int udp_gc(lua_State *L) {
  udp_ud *ud = GO_TO(L, 1, udp_ud);
  if (ud != NULL) close_udp(ud);  /* another userdata, given our metatable */
  return 0;
}

static const luaL_Reg udp_methods[] = {
  {"recv", udp_recv},
  {"send", udp_send},
  {"sockname", udp_sockname},
  {"dropped", udp_dropped},
  {"close", udp_close},
  {NULL, NULL}
};

const luaL_Reg go_io_udp_functions[] = {
  {"udp_bind", udp_bind},
  {NULL, NULL}
};

/* The UDP metatable (upvalue 1: the scheduler, at the stack top). */
int go_io_udp_open(lua_State *L) {
  io_metatable(L, UDP_MT, udp_methods, udp_gc, udp_gc);
  lua_pop(L, 1);
  return 0;
}
