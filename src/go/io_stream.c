/*
** io_stream.c: streams (TCP, pipes) and their servers for ucoro.go tasks.
**
** A stream's libuv handle lives in malloc'd memory (uv_close completes in
** a later loop iteration); its userdata points at it until close, then
** holds NULL.  A task waiting on a stream is named in one of its io_wait
** slots (one reader, one writer, one connect/accept at a time); callbacks
** only buffer and queue wake-ups, the task does the work when it runs.
** Input is buffered up to a high-water mark, then reading stops until a
** read takes it below (or a reader needs more); a write goes out at once
** when it can, else is queued, and parks while libuv's queue is above the
** write high-water mark.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

#define STREAM_MT "ucoro.go.stream"

enum { W_READ, W_WRITE, W_OTHER, W_N };

struct io_stream {
  union {
    uv_handle_t h; uv_stream_t s; uv_tcp_t tcp; uv_pipe_t pipe; uv_tty_t tty;
  } u;
  go_sched *S;
  int kind;              /* IO_TCP, IO_PIPE, IO_TTY */
  int server;            /* a listening socket */
  int reading, eof;
  int rerr, werr, lerr;  /* libuv error codes (0: none) */
  char *buf;             /* buffered input: buf[off .. len) */
  size_t off, len, cap;
  size_t rhwm, whwm;     /* high-water marks: input buffered, write queue */
  size_t maxline;        /* the longest line a read("l") waits for */
  io_wait w[W_N];
  int pending;           /* connections ready for accept */
  int connected;         /* connect's status, once done (1: ok) */
  int cstatus;
  uv_connect_t creq;
};

typedef struct stream_ud {
  io_stream *s;
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} stream_ud;

#define DEFAULT_RHWM (64 * 1024)
#define DEFAULT_WHWM (64 * 1024)
#define READ_CHUNK (64 * 1024)
#define DEFAULT_MAXLINE (1024 * 1024)

#define new_stream io_stream_new

uv_stream_t *io_stream_handle(io_stream *s) { return &s->u.s; }

static stream_ud *check_ud(lua_State *L) {
  return GO_CHECK(L, 1, stream_ud, STREAM_MT);
}

/* Clears slot k of ud's stream if it still names t (the park ended). */
static void unwait(stream_ud *ud, int k, go_task *t) {
  if (ud->s != NULL && ud->s->w[k].t == t) ud->s->w[k].t = NULL;
}

/* ---- life cycle ---- */

static void on_closed(uv_handle_t *h) {
  io_stream *s = (io_stream *)h->data;
  free(s->buf);
  free(s);
}

static void close_ud(stream_ud *ud) {
  io_stream *s = ud->s;
  int k;
  if (s == NULL) return;
  ud->s = NULL;
  for (k = 0; k < W_N; k++) io_wake(&s->w[k]);  /* they find it closed */
  uv_close(&s->u.h, on_closed);
}

/* A new stream of kind (IO_TCP, IO_PIPE; IO_TTY on fd): its userdata on
** top; NULL with *err set when libuv refused the handle (the userdata
** then holds none). */
static io_stream *stream_init(lua_State *L, go_sched *S, int kind, int fd,
                              int *err) {
  stream_ud *ud = (stream_ud *)lua_newuserdatauv(L, sizeof *ud, 0);
  io_stream *s;
  ud->s = NULL;
  ud->check = GO_CHECK_WORD(ud);
  luaL_setmetatable(L, STREAM_MT);
  s = (io_stream *)calloc(1, sizeof *s);
  if (s == NULL) {
    luaL_error(L, "not enough memory");
    return NULL;
  }
  s->S = S;
  s->rhwm = DEFAULT_RHWM;
  s->whwm = DEFAULT_WHWM;
  s->maxline = DEFAULT_MAXLINE;
  s->kind = kind;
  *err = kind == IO_TCP ? uv_tcp_init(S->loop, &s->u.tcp)
       : kind == IO_PIPE ? uv_pipe_init(S->loop, &s->u.pipe, 0)
       : uv_tty_init(S->loop, &s->u.tty, fd, 0);
  if (*err != 0) {
    free(s);
    return NULL;
  }
  s->u.h.data = s;
  ud->s = s;
  return s;
}

/* A new stream of kind (IO_TCP, IO_PIPE): its userdata on top. */
io_stream *io_stream_new(lua_State *L, go_sched *S, int kind) {
  int err;
  io_stream *s = stream_init(L, S, kind, -1, &err);
  if (s == NULL) luaL_error(L, "not enough memory");
  return s;
}

/* __gc, __close */
static int stream_gc(lua_State *L) {
  stream_ud *ud = GO_TO(L, 1, stream_ud);
  if (ud != NULL) close_ud(ud);  /* another userdata, given our metatable */
  return 0;
}

static int stream_close(lua_State *L) {
  close_ud(check_ud(L));
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  io_stream *s = (io_stream *)h->data;
  (void)hint;
  if (s->off > 0 && (s->off == s->len || s->cap - s->len < READ_CHUNK)) {
    memmove(s->buf, s->buf + s->off, s->len - s->off);
    s->len -= s->off;
    s->off = 0;
  }
  if (s->cap - s->len < READ_CHUNK) {
    size_t cap = s->len + READ_CHUNK;
    char *nb = (char *)realloc(s->buf, cap);
    if (nb == NULL) {  /* libuv reports UV_ENOBUFS to on_read */
      b->base = NULL;
      b->len = 0;
      return;
    }
    s->buf = nb;
    s->cap = cap;
  }
  b->base = s->buf + s->len;
  b->len = s->cap - s->len;
}

static void stop_reading(io_stream *s) {
  if (s->reading) uv_read_stop(&s->u.s);
  s->reading = 0;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  io_stream *s = (io_stream *)st->data;
  (void)b;
  if (n == 0) return;
  if (n > 0) {
    s->len += (size_t)n;
    /* backpressure: nobody reads and enough is buffered */
    if (s->w[W_READ].t == NULL && s->len - s->off >= s->rhwm)
      stop_reading(s);
  } else {
    if (n == UV_EOF) s->eof = 1; else s->rerr = (int)n;
    stop_reading(s);
  }
  io_wake(&s->w[W_READ]);
}

/* Reads on while input is wanted: a reader waits, or below the mark. */
static int want_input(io_stream *s) {
  int r;
  if (s->reading || s->eof || s->rerr || s->server) return 0;
  if (s->w[W_READ].t == NULL && s->len - s->off >= s->rhwm) return 0;
  r = uv_read_start(&s->u.s, on_alloc, on_read);
  if (r == 0) s->reading = 1; else s->rerr = r;
  return r;
}

/* A stream that reads from now on (a process's output). */
void io_stream_start(io_stream *s) { want_input(s); }

static void consume(lua_State *L, io_stream *s, size_t n, size_t drop) {
  lua_pushlstring(L, s->buf + s->off, n - drop);
  s->off += n;
  if (s->off == s->len) {
    s->off = s->len = 0;
    if (s->cap > 2 * READ_CHUNK) {  /* a burst's buffer: not kept */
      free(s->buf);
      s->buf = NULL;
      s->cap = 0;
    }
  }
  want_input(s);
}

/* What a read format asks: 0 some, 1 n bytes, 2 line, 3 line with its
** end, 4 all. */
enum { R_SOME, R_N, R_LINE, R_LINE_END, R_ALL };

/* Tries to satisfy a read from the buffer; 1 when it pushed a result, 2
** when it pushed nil, why. */
static int take(lua_State *L, io_stream *s, int mode, size_t n) {
  size_t avail = s->len - s->off;
  int done = s->eof || s->rerr;
  switch (mode) {
    case R_SOME:
      if (avail > 0) { consume(L, s, avail, 0); return 1; }
      break;
    case R_N:
      if (avail >= n) { consume(L, s, n, 0); return 1; }
      if (done && avail > 0) { consume(L, s, avail, 0); return 1; }
      break;
    case R_LINE: case R_LINE_END: {
      const char *nl = avail ? (const char *)memchr(s->buf + s->off, '\n', avail) : NULL;
      if (nl != NULL) {
        size_t k = (size_t)(nl - (s->buf + s->off)) + 1;
        size_t drop = 0;
        if (mode == R_LINE) {
          drop = 1;
          if (k >= 2 && s->buf[s->off + k - 2] == '\r') drop = 2;
        }
        consume(L, s, k, drop);
        return 1;
      }
      if (done && avail > 0) { consume(L, s, avail, 0); return 1; }
      if (avail >= s->maxline) {  /* a peer that never ends its line */
        lua_pushnil(L);
        lua_pushliteral(L, "line too long");
        return 2;
      }
      break;
    }
    case R_ALL:
      if (s->eof) {
        consume(L, s, avail, 0);
        return 1;
      }
      break;
  }
  return 0;
}

/* s:read([n | "l" | "L" | "a" [, timeout]]): the data; nil, "eof" at the
** end; nil, "timeout" (nothing consumed); nil, "closed"; nil, luv's
** message.  No format: whatever has arrived (at least a byte). */
static int stream_read(lua_State *L) {
  stream_ud *ud = check_ud(L);
  go_sched *S = go_sched_of(L);
  int mode = R_SOME, has;
  size_t n = 0;
  uint64_t at;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_Integer k = luaL_checkinteger(L, 2);
    luaL_argcheck(L, k >= 0, 2, "negative size");
    mode = R_N;
    n = (size_t)k;
  } else if (!lua_isnoneornil(L, 2)) {
    const char *f = luaL_checkstring(L, 2);
    if (*f == '*') f++;
    switch (*f) {
      case 'l': mode = R_LINE; break;
      case 'L': mode = R_LINE_END; break;
      case 'a': mode = R_ALL; break;
      default: return luaL_argerror(L, 2, "invalid format");
    }
  }
  at = go_deadline(L, 3, &has);
  for (;;) {
    io_stream *s = ud->s;
    go_task *t;
    int why, got;
    if (s == NULL) return io_fail_msg(L, "closed");
    if (s->server) return luaL_error(L, "read: a listening socket");
    got = take(L, s, mode, n);
    if (got) return got;
    if (s->rerr) return io_fail(L, s->rerr);
    if (s->eof) return io_fail_msg(L, "eof");
    if (s->w[W_READ].t != NULL)
      return io_fail_msg(L, "busy: another task reads this stream");
    t = go_current(L, S, "read");
    s->w[W_READ].t = t;  /* a reader waits: reading resumes */
    s->w[W_READ].token = t->token + 1;
    if (want_input(s) != 0) {
      s->w[W_READ].t = NULL;
      continue;  /* reports rerr */
    }
    why = io_park(L, S, &s->w[W_READ], has, at, "read");
    unwait(ud, W_READ, t);
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
}

/* ---- writing ---- */

static void on_write(uv_write_t *req, int status) {
  io_stream *s = (io_stream *)req->handle->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED && s->werr == 0) s->werr = status;
  if (s->werr || uv_stream_get_write_queue_size(&s->u.s) <= s->whwm)
    io_wake(&s->w[W_WRITE]);
}

/* s:write(data [, timeout]): true once data is written or queued under
** the write high-water mark; parks while the queue is above it.  nil,
** "timeout" (data stays queued), nil, "closed", nil, luv's message. */
static int stream_write(lua_State *L) {
  stream_ud *ud = check_ud(L);
  go_sched *S = go_sched_of(L);
  size_t len, done = 0;
  const char *data = luaL_checklstring(L, 2, &len);
  int has;
  uint64_t at = go_deadline(L, 3, &has);
  io_stream *s = ud->s;
  if (s == NULL) return io_fail_msg(L, "closed");
  if (s->server) return luaL_error(L, "write: a listening socket");
  if (s->werr) return io_fail(L, s->werr);
  if (len == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (uv_stream_get_write_queue_size(&s->u.s) == 0) {
    uv_buf_t b = uv_buf_init((char *)data, IO_BUF_LEN(len));
    int r = uv_try_write(&s->u.s, &b, 1);
    if (r >= 0) done = (size_t)r;
    else if (r != UV_EAGAIN && r != UV_ENOSYS) return io_fail(L, s->werr = r);
  }
  while (done < len) {  /* the rest is copied and queued, a buffer a request */
    unsigned chunk = IO_BUF_LEN(len - done);
    uv_write_t *req = (uv_write_t *)malloc(sizeof *req + chunk);
    uv_buf_t b;
    int r;
    if (req == NULL) return luaL_error(L, "not enough memory");
    memcpy((char *)(req + 1), data + done, chunk);
    b = uv_buf_init((char *)(req + 1), chunk);
    r = uv_write(req, &s->u.s, &b, 1, on_write);
    if (r < 0) {
      free(req);
      return io_fail(L, s->werr = r);
    }
    done += chunk;
  }
  for (;;) {
    go_task *t;
    int why;
    s = ud->s;
    if (s == NULL) return io_fail_msg(L, "closed");
    if (s->werr) return io_fail(L, s->werr);
    if (uv_stream_get_write_queue_size(&s->u.s) <= s->whwm) break;
    if (s->w[W_WRITE].t != NULL) break;  /* another writer waits: queued */
    t = go_current(L, S, "write");
    why = io_park(L, S, &s->w[W_WRITE], has, at, "write");
    unwait(ud, W_WRITE, t);
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
  lua_pushboolean(L, 1);
  return 1;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  free(req);
}

/* s:shutdown(): no more writes (after the queued ones, the peer gets an
** end of stream); reading goes on. */
static int stream_shutdown(lua_State *L) {
  stream_ud *ud = check_ud(L);
  uv_shutdown_t *req;
  int r;
  if (ud->s == NULL) return io_fail_msg(L, "closed");
  req = (uv_shutdown_t *)malloc(sizeof *req);
  if (req == NULL) return luaL_error(L, "not enough memory");
  r = uv_shutdown(req, &ud->s->u.s, on_shutdown);
  if (r < 0) {
    free(req);
    return io_fail(L, r);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- connecting ---- */

static void on_connect(uv_connect_t *req, int status) {
  io_stream *s = (io_stream *)req->handle->data;
  s->connected = 1;
  s->cstatus = status;
  io_wake(&s->w[W_OTHER]);
}

static void set_hwm(lua_State *L, io_stream *s, int opts) {
  s->rhwm = (size_t)io_opt_field(L, opts, "read_hwm", (lua_Integer)s->rhwm,
                                 0, LUA_MAXINTEGER);
  s->whwm = (size_t)io_opt_field(L, opts, "write_hwm", (lua_Integer)s->whwm,
                                 0, LUA_MAXINTEGER);
  s->maxline = (size_t)io_opt_field(L, opts, "max_line",
                                    (lua_Integer)s->maxline, 0, LUA_MAXINTEGER);
}

/* tcp_connect(host, port [, opts]): a connected stream; nil, err. */
static int go_tcp_connect(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *host = luaL_checkstring(L, 1);
  int port = io_check_port(L, 2, -1), has = 0, r;
  uint64_t at = 0;
  struct sockaddr_storage addr;
  stream_ud *ud;
  io_stream *s;
  go_task *t = go_current(L, S, "tcp.connect");
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "timeout");
    at = go_deadline(L, -1, &has);
    lua_pop(L, 1);
  }
  r = io_resolve(L, S, host, port, SOCK_STREAM, &addr, has, at);
  if (r == IO_CANCELLED) return go_raise_cancelled(L, t);
  if (r == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  if (r < 0) return io_fail(L, r);
  s = new_stream(L, S, IO_TCP);
  ud = (stream_ud *)lua_touserdata(L, -1);
  set_hwm(L, s, 3);
  s->creq.data = s;
  r = uv_tcp_connect(&s->creq, &s->u.tcp, (struct sockaddr *)&addr, on_connect);
  if (r < 0) {
    close_ud(ud);
    return io_fail(L, r);
  }
  while (!s->connected) {
    int why = io_park(L, S, &s->w[W_OTHER], has, at, "connect");
    unwait(ud, W_OTHER, t);
    if (why == IO_WOKEN) continue;
    close_ud(ud);  /* libuv cancels the request */
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    return io_fail_msg(L, "timeout");
  }
  if (s->cstatus < 0) {
    r = s->cstatus;
    close_ud(ud);
    return io_fail(L, r);
  }
  want_input(s);
  return 1;
}

/* ---- pipes ---- */

static void on_connection(uv_stream_t *st, int status);

/* pipe_connect(path [, opts]): a stream; nil, err. */
static int go_pipe_connect(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  int has = 0;
  uint64_t at = 0;
  stream_ud *ud;
  io_stream *s;
  go_task *t = go_current(L, S, "pipe.connect");
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_getfield(L, 2, "timeout");
    at = go_deadline(L, -1, &has);
    lua_pop(L, 1);
  }
  s = new_stream(L, S, IO_PIPE);
  ud = (stream_ud *)lua_touserdata(L, -1);
  set_hwm(L, s, 2);
  s->creq.data = s;
  uv_pipe_connect(&s->creq, &s->u.pipe, path, on_connect);
  while (!s->connected) {
    int why = io_park(L, S, &s->w[W_OTHER], has, at, "connect");
    unwait(ud, W_OTHER, t);
    if (why == IO_WOKEN) continue;
    close_ud(ud);
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    return io_fail_msg(L, "timeout");
  }
  if (s->cstatus < 0) {
    int r = s->cstatus;
    close_ud(ud);
    return io_fail(L, r);
  }
  want_input(s);
  return 1;
}

/* pipe_bind(path [, {backlog=}]): a listening pipe; nil, err. */
static int go_pipe_bind(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  int backlog = (int)io_opt_field(L, 2, "backlog", 128, 0, INT_MAX), r;
  io_stream *s;
  stream_ud *ud;
  s = new_stream(L, S, IO_PIPE);
  ud = (stream_ud *)lua_touserdata(L, -1);
  s->server = 1;
  set_hwm(L, s, 2);
  r = uv_pipe_bind(&s->u.pipe, path);
  if (r == 0) r = uv_listen(&s->u.s, backlog, on_connection);
  if (r < 0) {
    close_ud(ud);
    return io_fail(L, r);
  }
  return 1;
}

/* pipe_open(fd): a stream over an open file descriptor; nil, err. */
static int go_pipe_open(lua_State *L) {
  go_sched *S = go_sched_of(L);
  int fd = (int)io_check_range(L, 1, 1, INT_MIN, INT_MAX, "fd"), r;
  io_stream *s = new_stream(L, S, IO_PIPE);
  r = uv_pipe_open(&s->u.pipe, fd);
  if (r < 0) {
    close_ud((stream_ud *)lua_touserdata(L, -1));
    return io_fail(L, r);
  }
  return 1;
}

/* tty_open(fd): a terminal as a stream; nil, err (EINVAL: not a terminal). */
static int go_tty_open(lua_State *L) {
  go_sched *S = go_sched_of(L);
  int fd = (int)io_check_range(L, 1, 1, INT_MIN, INT_MAX, "fd"), r;
  if (stream_init(L, S, IO_TTY, fd, &r) == NULL) return io_fail(L, r);
  return 1;
}

/* s:ttymode("normal" | "raw"): a terminal's mode (libuv's); nil, err. */
static int stream_ttymode(lua_State *L) {
  static const char *const names[] = {"normal", "raw", NULL};
  static const uv_tty_mode_t modes[] = {UV_TTY_MODE_NORMAL, UV_TTY_MODE_RAW};
  stream_ud *ud = check_ud(L);
  int mode = luaL_checkoption(L, 2, NULL, names), r;
  if (ud->s == NULL) return io_fail_msg(L, "closed");
  if (ud->s->kind != IO_TTY) return io_fail_msg(L, "not a terminal");
  r = uv_tty_set_mode(&ud->s->u.tty, modes[mode]);
  if (r < 0) return io_fail(L, r);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- servers ---- */

static void on_connection(uv_stream_t *st, int status) {
  io_stream *s = (io_stream *)st->data;
  if (status < 0) s->lerr = status; else s->pending++;
  io_wake(&s->w[W_OTHER]);
}

/* tcp_bind(host, port [, {backlog=, read_hwm=, write_hwm=}]): a listening
** socket (accept it with :accept()); nil, err. */
static int go_tcp_bind(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *host = luaL_checkstring(L, 1);
  int port = io_check_port(L, 2, -1), r;
  int backlog = (int)io_opt_field(L, 3, "backlog", 128, 0, INT_MAX);
  struct sockaddr_storage addr;
  io_stream *s;
  stream_ud *ud;
  memset(&addr, 0, sizeof addr);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
    return io_fail(L, UV_EINVAL);
  s = new_stream(L, S, IO_TCP);
  ud = (stream_ud *)lua_touserdata(L, -1);
  s->server = 1;
  set_hwm(L, s, 3);
  r = uv_tcp_bind(&s->u.tcp, (struct sockaddr *)&addr, 0);
  if (r == 0) r = uv_listen(&s->u.s, backlog, on_connection);
  if (r < 0) {
    close_ud(ud);
    return io_fail(L, r);
  }
  return 1;
}

/* server:accept([timeout]): the next connection, a stream; nil, err. */
static int stream_accept(lua_State *L) {
  stream_ud *ud = check_ud(L);
  go_sched *S = go_sched_of(L);
  int has;
  uint64_t at = go_deadline(L, 2, &has);
  for (;;) {
    io_stream *s = ud->s, *c;
    go_task *t;
    int why, r;
    if (s == NULL) return io_fail_msg(L, "closed");
    if (!s->server) return luaL_error(L, "accept: not a listening socket");
    if (s->pending > 0) {
      stream_ud *cud;
      c = new_stream(L, S, s->kind);
      cud = (stream_ud *)lua_touserdata(L, -1);
      c->rhwm = s->rhwm;
      c->whwm = s->whwm;
      c->maxline = s->maxline;
      s->pending--;
      r = uv_accept(&s->u.s, &c->u.s);
      if (r < 0) {
        close_ud(cud);
        lua_pop(L, 1);
        if (r == UV_EAGAIN) continue;
        return io_fail(L, r);
      }
      want_input(c);
      return 1;
    }
    if (s->lerr) {
      r = s->lerr;
      s->lerr = 0;
      return io_fail(L, r);
    }
    if (s->w[W_OTHER].t != NULL)
      return io_fail_msg(L, "busy: another task accepts on this socket");
    t = go_current(L, S, "accept");
    why = io_park(L, S, &s->w[W_OTHER], has, at, "accept");
    unwait(ud, W_OTHER, t);
    if (why == IO_CANCELLED) return go_raise_cancelled(L, t);
    if (why == IO_TIMEOUT) return io_fail_msg(L, "timeout");
  }
}

/* ---- addresses, options ---- */

static int push_name(lua_State *L, int peer) {
  stream_ud *ud = check_ud(L);
  struct sockaddr_storage a;
  int len = (int)sizeof a, r;
  if (ud->s == NULL) return io_fail_msg(L, "closed");
  if (ud->s->kind == IO_TTY) return io_fail_msg(L, "not a socket");
  if (ud->s->kind == IO_PIPE) {  /* the path */
    char path[1024];
    size_t n = sizeof path;
    r = peer ? uv_pipe_getpeername(&ud->s->u.pipe, path, &n)
             : uv_pipe_getsockname(&ud->s->u.pipe, path, &n);
    if (r < 0) return io_fail(L, r);
    lua_pushlstring(L, path, n);
    return 1;
  }
  r = peer ? uv_tcp_getpeername(&ud->s->u.tcp, (struct sockaddr *)&a, &len)
           : uv_tcp_getsockname(&ud->s->u.tcp, (struct sockaddr *)&a, &len);
  if (r < 0) return io_fail(L, r);
  return io_push_addr(L, (struct sockaddr *)&a);
}

static int stream_peername(lua_State *L) { return push_name(L, 1); }
static int stream_sockname(lua_State *L) { return push_name(L, 0); }

static int result(lua_State *L, int r) {
  if (r < 0) return io_fail(L, r);
  lua_pushboolean(L, 1);
  return 1;
}

/* The stream at 1, open and TCP (else nil, why pushed: returns NULL). */
static io_stream *check_tcp(lua_State *L) {
  stream_ud *ud = check_ud(L);
  if (ud->s == NULL) {
    io_fail_msg(L, "closed");
    return NULL;
  }
  if (ud->s->kind != IO_TCP) {
    io_fail_msg(L, "not a TCP stream");
    return NULL;
  }
  return ud->s;
}

static int stream_nodelay(lua_State *L) {
  stream_ud *ud = check_ud(L);
  if (check_tcp(L) == NULL) return 2;
  return result(L, uv_tcp_nodelay(&ud->s->u.tcp, lua_toboolean(L, 2)));
}

static int stream_keepalive(lua_State *L) {
  stream_ud *ud = check_ud(L);
  lua_Integer delay = luaL_optinteger(L, 3, 60);
  luaL_argcheck(L, delay >= 0 && delay <= INT_MAX, 3, "delay out of range");
  if (check_tcp(L) == NULL) return 2;
  return result(L, uv_tcp_keepalive(&ud->s->u.tcp, lua_toboolean(L, 2),
                                    (unsigned)delay));
}

/* s:buffered(): bytes of input buffered, bytes in libuv's write queue,
** whether it reads now, the input buffer's capacity (the backpressure,
** for tests and monitoring). */
static int stream_buffered(lua_State *L) {
  stream_ud *ud = check_ud(L);
  if (ud->s == NULL) return io_fail_msg(L, "closed");
  lua_pushinteger(L, (lua_Integer)(ud->s->len - ud->s->off));
  lua_pushinteger(L, (lua_Integer)uv_stream_get_write_queue_size(&ud->s->u.s));
  lua_pushboolean(L, ud->s->reading);
  lua_pushinteger(L, (lua_Integer)ud->s->cap);
  return 4;
}

/* s:reset(): closes with an RST (SO_LINGER 0): the peer sees ECONNRESET. */
static int stream_reset(lua_State *L) {
  stream_ud *ud = check_ud(L);
  int r;
  if (check_tcp(L) == NULL) return 2;
  r = uv_tcp_close_reset(&ud->s->u.tcp, on_closed);
  if (r < 0) return io_fail(L, r);
  {
    io_stream *s = ud->s;
    int k;
    ud->s = NULL;
    for (k = 0; k < W_N; k++) io_wake(&s->w[k]);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int stream_tostring(lua_State *L) {
  stream_ud *ud = check_ud(L);
  if (ud->s == NULL) lua_pushliteral(L, "go stream (closed)");
  else lua_pushfstring(L, "go %s %s (%p)", ud->s->kind == IO_TCP ? "tcp"
                       : ud->s->kind == IO_PIPE ? "pipe" : "tty",
                       ud->s->server ? "server" : "stream", (void *)ud->s);
  return 1;
}

static const luaL_Reg stream_methods[] = {
  {"read", stream_read},
  {"write", stream_write},
  {"shutdown", stream_shutdown},
  {"close", stream_close},
  {"accept", stream_accept},
  {"peername", stream_peername},
  {"sockname", stream_sockname},
  {"nodelay", stream_nodelay},
  {"keepalive", stream_keepalive},
  {"buffered", stream_buffered},
  {"reset", stream_reset},
  {"ttymode", stream_ttymode},
  {NULL, NULL}
};

const luaL_Reg go_io_stream_functions[] = {
  {"tcp_connect", go_tcp_connect},
  {"tcp_bind", go_tcp_bind},
  {"pipe_connect", go_pipe_connect},
  {"pipe_bind", go_pipe_bind},
  {"pipe_open", go_pipe_open},
  {"tty_open", go_tty_open},
  {NULL, NULL}
};

/* The stream metatable (upvalue 1: the scheduler, at the stack top);
** leaves the methods table on the stack (the facade adds to it). */
int go_io_stream_open(lua_State *L) {
  io_metatable(L, STREAM_MT, stream_methods, stream_gc, stream_gc);
  luaL_getmetatable(L, STREAM_MT);
  lua_pushcfunction(L, stream_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  return 1;
}
