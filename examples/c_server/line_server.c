/*
** line_server.c: a line protocol served in straight-line C from ucoro.go
** tasks (a Lua C module, `line_server`).  Each call of serve(fd) reads
** lines from a connected socket with plain read(2) and answers each with
** write(2); where either would block, ucoro_go.h's wait_fd parks only the
** calling task, on its own stack, inside this C function.  No callbacks,
** no state machine: the protocol is the code's control flow.
**
**   local ls = require "line_server"
**   local fd = ls.listen(port)            -- a listening socket (port 0: any)
**   ls.accept(fd [, timeout])  -> client fd | nil, err
**   ls.serve(client)           -> lines served | nil, err (closes client)
**
** The protocol: "upper TEXT" -> TEXT in capitals, "sum A B" -> A+B,
** "quit" -> "bye" and the end; anything else -> "error".
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

#include "lua.h"
#include "lauxlib.h"

#include "ucoro_go.h"

#define LINE_MAX_LEN 4096

int luaopen_line_server(lua_State *L);

static const ucoro_go_api *api(lua_State *L) {
  const ucoro_go_api *go = ucoro_go_api_of(L);
  if (go == NULL) luaL_error(L, "line_server: ucoro.go not found");
  return go;
}

/* Pushes nil, why; returns 2. */
static int fail(lua_State *L, const char *why) {
  lua_pushnil(L);
  lua_pushstring(L, why);
  return 2;
}

static const char *code_name(int code) {
  switch (code) {
    case UCORO_GO_TIMEOUT: return "timeout";
    case UCORO_GO_CANCELLED: return "cancelled";
    case UCORO_GO_NOTASK: return "not inside a task";
    case UCORO_GO_NOMEM: return "not enough memory";
    default: return "libuv refused the descriptor";
  }
}

static int set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int l_listen(lua_State *L) {
  int port = (int)luaL_checkinteger(L, 1), one = 1;
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(L, strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
      set_nonblocking(fd) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    int e = errno;
    close(fd);
    return fail(L, strerror(e));
  }
  lua_pushinteger(L, fd);
  lua_pushinteger(L, ntohs(a.sin_port));
  return 2;
}

static int l_close(lua_State *L) {
  close((int)luaL_checkinteger(L, 1));
  return 0;
}

/* accept(fd [, timeout]): parks until a client connects. */
static int l_accept(lua_State *L) {
  const ucoro_go_api *go = api(L);
  int fd = (int)luaL_checkinteger(L, 1);
  double timeout = luaL_optnumber(L, 2, -1);
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), code;
    if (c >= 0) {
      lua_pushinteger(L, c);
      return 1;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return fail(L, strerror(errno));
    code = go->wait_fd(L, fd, 1, timeout);
    if (code != UCORO_GO_OK) return fail(L, code_name(code));
  }
}

/* Writes all of buf; 0, or a ucoro_go code / -1 (errno). */
static int write_all(lua_State *L, const ucoro_go_api *go, int fd,
                     const char *buf, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, buf, n);
    if (k > 0) {
      buf += k;
      n -= (size_t)k;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int code = go->wait_fd(L, fd, 2, 10);
      if (code != UCORO_GO_OK) return code;
    } else if (k < 0 && errno != EINTR) {
      return -1;
    }
  }
  return 0;
}

/* The answer to one request line (NUL-terminated) into out. */
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

/* serve(fd): the protocol, until "quit" or the end; closes fd. */
static int l_serve(lua_State *L) {
  const ucoro_go_api *go = api(L);
  int fd = (int)luaL_checkinteger(L, 1);
  char *buf = (char *)malloc(LINE_MAX_LEN + 1), out[LINE_MAX_LEN + 2];
  size_t have = 0;
  lua_Integer served = 0;
  const char *err = NULL;
  if (buf == NULL) {
    close(fd);
    return fail(L, "not enough memory");
  }
  for (;;) {
    char *nl = have ? (char *)memchr(buf, '\n', have) : NULL;
    if (nl != NULL) {  /* a whole line: answer it */
      size_t len = (size_t)(nl - buf);
      int more, code;
      if (len > 0 && buf[len - 1] == '\r') buf[len - 1] = '\0';
      *nl = '\0';
      more = answer(buf, out, sizeof out);
      code = write_all(L, go, fd, out, strlen(out));
      if (code != 0) {
        err = code < 0 ? strerror(errno) : code_name(code);
        break;
      }
      served++;
      have -= len + 1;
      memmove(buf, nl + 1, have);
      if (!more) break;
      continue;
    }
    if (have == LINE_MAX_LEN) {
      err = "line too long";
      break;
    }
    {
      ssize_t k = read(fd, buf + have, LINE_MAX_LEN - have);
      if (k > 0) {
        have += (size_t)k;
      } else if (k == 0) {
        break;  /* the client is done */
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* the only wait: this task parks here, inside C */
        int code = go->wait_fd(L, fd, 1, 30);
        if (code != UCORO_GO_OK) {
          err = code_name(code);
          break;
        }
      } else if (errno != EINTR) {
        err = strerror(errno);
        break;
      }
    }
  }
  free(buf);
  close(fd);
  if (err != NULL) return fail(L, err);
  lua_pushinteger(L, served);
  return 1;
}

int luaopen_line_server(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"listen", l_listen},
    {"accept", l_accept},
    {"serve", l_serve},
    {"close", l_close},
    {NULL, NULL}
  };
  luaL_newlib(L, fns);
  return 1;
}
