/*
** line_host.c: a C program that embeds Lua and ucoro.go, and serves a line
** protocol over TCP with straight-line C reads and writes.  Each connection
** is a ucoro.go task running serve() below: plain read(2) and write(2) on a
** non-blocking socket, and where either would block, ucoro_go.h's wait_fd
** parks only that task, on its own stack, inside this C function, while
** the loop serves the others; a blocking call (stat(2)) runs on libuv's
** thread pool through ucoro_go.h's work, the task parked meanwhile.  No
** callbacks, no state machine: the protocol is the code's control flow.
**
**   line_host [PORT [CLIENTS [IDLE]]]   (PORT 0: any; CLIENTS: stop after
**       that many connections are served, default 1; IDLE: seconds a
**       client may stay silent, default 5)
** prints "listening on PORT" once it listens, then "served N lines over M
** connections" at the end.  Loopback only.
**
** The protocol: "upper TEXT" -> TEXT in capitals, "sum A B" -> A+B,
** "stat PATH" -> the file's size in bytes (or "error"), "quit" -> "bye"
** and the end; anything else -> "error".  A client silent
** for IDLE seconds gets "timeout" and is closed.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "ucoro_go.h"

#define LINE_CAP 4096

static const ucoro_go_api *go;   /* ucoro.go's C API, found once in main */
static long lines_served, connections;
static double idle_seconds = 5;

/* A connection: the socket, the bytes read past the last line, and the
** line and answer at hand (a userdata: frames this large would jump a
** task stack's guard page). */
typedef struct {
  int fd;
  size_t have;
  char buf[LINE_CAP];
  char line[LINE_CAP + 1];
  char out[LINE_CAP + 2];
} conn;

/* Reads one line (without its end) into line; 0, or an error text. */
static const char *read_line(lua_State *L, conn *c, char *line) {
  for (;;) {
    char *nl = (char *)memchr(c->buf, '\n', c->have);
    ssize_t k;
    if (nl != NULL) {
      size_t len = (size_t)(nl - c->buf);
      memcpy(line, c->buf, len);
      line[len > 0 && line[len - 1] == '\r' ? len - 1 : len] = '\0';
      c->have -= len + 1;
      memmove(c->buf, nl + 1, c->have);
      return NULL;
    }
    if (c->have == LINE_CAP) return "line too long";
    k = read(c->fd, c->buf + c->have, LINE_CAP - c->have);
    if (k > 0) {
      c->have += (size_t)k;
    } else if (k == 0) {
      return "eof";
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      /* the task parks here, inside C, until the socket is readable */
      int code = go->wait_fd(L, c->fd, 1, idle_seconds);
      if (code == UCORO_GO_TIMEOUT) return "timeout";
      if (code != UCORO_GO_OK) return "cancelled";
    } else if (errno != EINTR) {
      return strerror(errno);
    }
  }
}

/* Writes all of s; 0, or an error text. */
static const char *write_all(lua_State *L, conn *c, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
    if (k > 0) {
      s += k;
      n -= (size_t)k;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (go->wait_fd(L, c->fd, 2, idle_seconds) != UCORO_GO_OK)
        return "write stalled";
    } else if (k < 0 && errno != EINTR) {
      return strerror(errno);
    }
  }
  return NULL;
}

/* "stat PATH", on a thread of libuv's pool: c is a userdata, not in the
** task's frames (a lean task's frames move while it is parked). */
static void stat_job(void *arg) {
  conn *c = (conn *)arg;
  struct stat st;
  if (stat(c->line + 5, &st) == 0)
    snprintf(c->out, sizeof c->out, "%lld\n", (long long)st.st_size);
  else
    snprintf(c->out, sizeof c->out, "error\n");
}

/* The answer to one request line into out; 0 when it is the last. */
static int answer(const char *line, char *out, size_t cap) {
  long a, b;
  if (strncmp(line, "upper ", 6) == 0) {
    size_t i, n = strlen(line + 6);
    if (n + 2 > cap) n = cap - 2;
    for (i = 0; i < n; i++) out[i] = (char)toupper((unsigned char)line[6 + i]);
    out[n] = '\n';
    out[n + 1] = '\0';
    return 1;
  }
  if (sscanf(line, "sum %ld %ld", &a, &b) == 2) {
    snprintf(out, cap, "%ld\n", a + b);
    return 1;
  }
  if (strcmp(line, "quit") == 0) {
    snprintf(out, cap, "bye\n");
    return 0;
  }
  snprintf(out, cap, "error\n");
  return 1;
}

/* serve(fd): a task's body; the protocol, in straight-line C. */
static int serve(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  conn *c = (conn *)lua_newuserdatauv(L, sizeof(conn), 0);
  const char *err;
  c->fd = fd;
  c->have = 0;
  while ((err = read_line(L, c, c->line)) == NULL) {
    int more = 1;
    if (strncmp(c->line, "stat ", 5) == 0) {
      /* a blocking call: the task parks until the pool has run it */
      if (go->work(L, stat_job, c) == UCORO_GO_CANCELLED) {
        err = "cancelled";
        break;
      }
    } else {
      more = answer(c->line, c->out, sizeof c->out);
    }
    if ((err = write_all(L, c, c->out)) != NULL) break;
    lines_served++;
    if (!more) break;
  }
  if (err != NULL && strcmp(err, "timeout") == 0) write_all(L, c, "timeout\n");
  close(c->fd);
  return 0;
}

static int listen_loopback(int port, int *bound) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

/* The root task: accepts `clients` connections, a task each (go.spawn). */
static int accept_loop(lua_State *L) {
  int port = (int)luaL_checkinteger(L, 1), bound = 0, fd;
  lua_Integer clients = luaL_checkinteger(L, 2);
  if ((fd = listen_loopback(port, &bound)) < 0)
    return luaL_error(L, "listen: %s", strerror(errno));
  printf("listening on %d\n", bound);
  fflush(stdout);
  while (connections < clients) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      connections++;
      lua_getglobal(L, "go");
      lua_getfield(L, -1, "spawn");
      lua_pushcfunction(L, serve);
      lua_pushinteger(L, c);
      lua_call(L, 2, 0);
      lua_pop(L, 1);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      int code = go->wait_fd(L, fd, 1, -1);
      if (code != UCORO_GO_OK) break;
    } else {
      int e = errno;
      close(fd);
      return luaL_error(L, "accept: %s", strerror(e));
    }
  }
  close(fd);
  return 0;  /* go.run waits for the connections' tasks */
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0, status = 1;
  long clients = argc > 2 ? atol(argv[2]) : 1;
  if (argc > 3) idle_seconds = atof(argv[3]);
  lua_State *L = luaL_newstate();
  if (L == NULL) return 1;
  luaL_openlibs(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "ucoro.go");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "line_host: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_setglobal(L, "go");
  if ((go = ucoro_go_api_of(L)) == NULL) {
    fprintf(stderr, "line_host: ucoro.go's C API not found\n");
    lua_close(L);
    return 1;
  }
  /* go.run(accept_loop, port, clients) -> true | false, err */
  lua_getglobal(L, "go");
  lua_getfield(L, -1, "run");
  lua_pushcfunction(L, accept_loop);
  lua_pushinteger(L, port);
  lua_pushinteger(L, clients);
  if (lua_pcall(L, 3, 2, 0) != LUA_OK) {
    fprintf(stderr, "line_host: %s\n", lua_tostring(L, -1));
  } else if (!lua_toboolean(L, -2)) {
    fprintf(stderr, "line_host: %s\n", luaL_tolstring(L, -1, NULL));
  } else {
    printf("served %ld lines over %ld connections\n", lines_served, connections);
    status = 0;
  }
  lua_close(L);
  return status;
}
