/*
** io.h: ucoro.go's I/O on libuv (io_*.c): what the module registers, and
** the parking helpers its files share.
*/
#ifndef UCORO_GO_IO_H
#define UCORO_GO_IO_H

#include "go.h"

/* What ended an I/O wait. */
enum { IO_WOKEN = 1, IO_TIMEOUT = 2, IO_CANCELLED = 3 };

/* One task waiting for one thing (a read, a write, an accept, a request).
** Set only while that task is parked for it, and named back by the task
** (go_task.io): io_wake clears both, and so does go_unregister however
** the park ends (woken, timed out, cancelled, its coroutine closed from
** outside): a callback never reaches a task that no longer waits.  t
** comes first (go_unregister clears it through go_task.io). */
typedef struct io_wait { go_task *t; unsigned token; } io_wait;

/* A request on libuv's thread pool that a task waits for (first in the
** request's record or anywhere in it).  When its task stops waiting (a
** timeout, a cancellation) it is abandoned: its completion frees it. */
typedef struct io_req { io_wait w; int done, abandoned; } io_req;

/* The most one libuv buffer carries.  uv_buf_t's length is an unsigned
** int on Unix: longer data is cut into buffers of this size (a length
** passed whole would be truncated modulo 4 GiB).  16 MiB: each buffer is
** a copy, which malloc then reuses from its heap instead of mapping
** fresh pages each time. */
#define IO_MAX_BUF ((size_t)1 << 24)
#define IO_BUF_LEN(n) ((unsigned)((n) < IO_MAX_BUF ? (n) : IO_MAX_BUF))

/* io_wait.c */
int io_wait_req(lua_State *L, go_sched *S, io_req *q, uv_req_t *req,
                int has, uint64_t at, const char *what);
int io_req_done(io_req *q);
int io_park(lua_State *L, go_sched *S, io_wait *w, int has, uint64_t at,
            const char *what);
void io_wake(io_wait *w);
int io_fail(lua_State *L, int uverr);
int io_fail_msg(lua_State *L, const char *msg);
int io_push_addr(lua_State *L, const struct sockaddr *sa);
lua_Integer io_check_range(lua_State *L, int idx, int arg, lua_Integer lo,
                           lua_Integer hi, const char *what);
lua_Integer io_opt_field(lua_State *L, int opts, const char *name,
                         lua_Integer dflt, lua_Integer lo, lua_Integer hi);
int io_check_port(lua_State *L, int arg, lua_Integer dflt);
int io_resolve(lua_State *L, go_sched *S, const char *host, int port,
               int socktype, struct sockaddr_storage *out, int has,
               uint64_t at);

/* io_module.c: adds the I/O functions to the module table at m, and
** their metatables (the scheduler at the stack top, left there). */
void go_io_open(lua_State *L, int m);
void io_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                  lua_CFunction gc, lua_CFunction close);

/* io_stream.c: streams (TCP, pipes, terminals), servers */
enum { IO_TCP, IO_PIPE, IO_TTY };
typedef struct io_stream io_stream;
extern const luaL_Reg go_io_stream_functions[];
int go_io_stream_open(lua_State *L);
io_stream *io_stream_new(lua_State *L, go_sched *S, int kind);
uv_stream_t *io_stream_handle(io_stream *s);
void io_stream_start(io_stream *s);

/* io_fs.c: files on libuv's thread pool */
extern const luaL_Reg go_io_fs_functions[];
int go_io_fs_open(lua_State *L);

/* io_dns.c: name resolution */
extern const luaL_Reg go_io_dns_functions[];
int io_getaddrinfo(lua_State *L, go_sched *S, const char *host,
                   const char *service, const struct addrinfo *hints,
                   int has, uint64_t at, const char *what,
                   struct addrinfo **res);

/* io_udp.c: UDP sockets */
extern const luaL_Reg go_io_udp_functions[];
int go_io_udp_open(lua_State *L);

/* io_process.c: child processes, signals */
extern const luaL_Reg go_io_process_functions[];
int go_io_process_open(lua_State *L);

#endif
