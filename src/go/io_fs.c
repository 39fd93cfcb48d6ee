/*
** io_fs.c: files for ucoro.go tasks, on libuv's thread pool.
**
** Each call is a request in malloc'd memory that owns its buffers: a
** task cancelled while the pool still works on it abandons the request,
** and the completion frees it (closing a file an abandoned open opened).
** The task parks only; it is never resumed inside the callback.
*/
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>

#include "lua.h"
#include "lauxlib.h"

#include "io.h"

#define FILE_MT "ucoro.go.file"

typedef struct fs_req {
  uv_fs_t req;
  io_req q;
  int has;               /* a timeout, until `at` (hrtime) */
  uint64_t at;
  char *buf;             /* a read's or a write's bytes */
} fs_req;

/* wait_req's result when the timeout passed first (f abandoned). */
#define FS_TIMEOUT (-0x7fff0000)

typedef struct go_file {
  uv_file fd;             /* -1 once closed */
  uint64_t check;         /* GO_CHECK_WORD (go_to_block) */
} go_file;

static void destroy_req(fs_req *f) {
  uv_fs_req_cleanup(&f->req);
  free(f->buf);
  free(f);
}

/* Frees f, unless abandoned: then its completion does. */
static void free_req(fs_req *f) {
  if (!f->q.abandoned) destroy_req(f);
}

static void on_fs(uv_fs_t *req) {
  fs_req *f = (fs_req *)req->data;
  if (!io_req_done(&f->q)) return;
  /* its task stopped waiting: nobody takes what the request made */
  if (req->fs_type == UV_FS_OPEN && req->result >= 0) {
    uv_fs_t c;
    uv_fs_close(NULL, &c, (uv_file)req->result, NULL);
    uv_fs_req_cleanup(&c);
  }
  destroy_req(f);
}

/* A new request for the current task, its timeout the argument at targ
** (raises first where no task runs: nothing is started then). */
static fs_req *new_req(lua_State *L, go_sched *S, const char *what,
                       int targ) {
  fs_req *f;
  int has = 0;
  uint64_t at = 0;
  go_current(L, S, what);
  if (targ > 0) at = go_deadline(L, targ, &has);
  f = (fs_req *)calloc(1, sizeof *f);
  if (f == NULL) luaL_error(L, "not enough memory");
  f->has = has;
  f->at = at;
  f->req.data = f;
  return f;
}

/* Waits for f, started with result r; the request's result (a libuv
** error is negative; FS_TIMEOUT).  The caller frees f (free_req leaves an
** abandoned one to its completion).  Raises go.Cancelled (f abandoned). */
static ssize_t wait_req(lua_State *L, go_sched *S, fs_req *f, int r,
                        const char *what) {
  go_task *t = S->current;
  if (r < 0) {
    f->req.result = r;
    return r;  /* refused at once: no callback comes */
  }
  switch (io_wait_req(L, S, &f->q, (uv_req_t *)&f->req, f->has, f->at,
                      what)) {
    case IO_TIMEOUT: return FS_TIMEOUT;
    case IO_CANCELLED: return go_raise_cancelled(L, t);
    default: return f->req.result;
  }
}

/* nil, luv's message for a call on a path ("ENOENT: ...: path"). */
static int fail_path(lua_State *L, int err, const char *path) {
  if (err == FS_TIMEOUT) return io_fail_msg(L, "timeout");
  if (path == NULL) return io_fail(L, err);
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s: %s", uv_err_name(err), uv_strerror(err), path);
  return 2;
}

/* The common tail: true, or nil, luv's message; frees f. */
static int ok_or_fail(lua_State *L, fs_req *f, ssize_t r, const char *path) {
  free_req(f);
  if (r < 0) return fail_path(L, (int)r, path);
  lua_pushboolean(L, 1);
  return 1;
}

static int open_flags(lua_State *L, const char *s) {
  if (strcmp(s, "r") == 0) return O_RDONLY;
  if (strcmp(s, "r+") == 0) return O_RDWR;
  if (strcmp(s, "w") == 0) return O_WRONLY | O_CREAT | O_TRUNC;
  if (strcmp(s, "w+") == 0) return O_RDWR | O_CREAT | O_TRUNC;
  if (strcmp(s, "wx") == 0) return O_WRONLY | O_CREAT | O_EXCL;
  if (strcmp(s, "a") == 0) return O_WRONLY | O_CREAT | O_APPEND;
  if (strcmp(s, "a+") == 0) return O_RDWR | O_CREAT | O_APPEND;
  return luaL_error(L, "invalid open flags '%s'", s);
}

static go_file *check_file(lua_State *L) {
  return GO_CHECK(L, 1, go_file, FILE_MT);
}

/* go.fs.open(path [, flags [, mode]]): a file; nil, err. */
static int fs_open(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  int flags = open_flags(L, luaL_optstring(L, 2, "r"));
  int mode = lua_isnoneornil(L, 3) ? 0644
             : (int)io_check_range(L, 3, 3, 0, 07777, "mode");
  go_file *fl;
  fs_req *f;
  ssize_t r;
  go_current(L, S, "fs.open");
  fl = (go_file *)lua_newuserdatauv(L, sizeof *fl, 0);
  fl->fd = -1;
  fl->check = GO_CHECK_WORD(fl);
  luaL_setmetatable(L, FILE_MT);
  f = new_req(L, S, "fs.open", 4);
  r = wait_req(L, S, f, uv_fs_open(S->loop, &f->req, path, flags, mode, on_fs),
               "fs.open");
  free_req(f);
  if (r < 0) return fail_path(L, (int)r, path);
  fl->fd = (uv_file)r;
  return 1;
}

/* file:read([n [, offset]]): up to n bytes (default 64 KiB); nil, "eof". */
static int file_read(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_file *fl = check_file(L);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  int64_t off = (int64_t)luaL_optinteger(L, 3, -1);
  fs_req *f;
  uv_buf_t b;
  ssize_t r;
  luaL_argcheck(L, n >= 0 && n <= 0x7fffffff, 2, "size out of range");
  if (fl->fd < 0) return io_fail_msg(L, "closed");
  f = new_req(L, S, "fs.read", 4);
  f->buf = (char *)malloc((size_t)n + 1);
  if (f->buf == NULL) {
    free(f);
    return luaL_error(L, "not enough memory");
  }
  b = uv_buf_init(f->buf, (unsigned)n);
  r = wait_req(L, S, f, uv_fs_read(S->loop, &f->req, fl->fd, &b, 1, off, on_fs),
               "fs.read");
  if (r < 0) return ok_or_fail(L, f, r, NULL);
  if (r == 0 && n > 0) {
    free_req(f);
    return io_fail_msg(L, "eof");
  }
  lua_pushlstring(L, f->buf, (size_t)r);
  free_req(f);
  return 1;
}

/* file:write(data [, offset]): the bytes written; nil, err. */
static int file_write(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_file *fl = check_file(L);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int64_t off = (int64_t)luaL_optinteger(L, 3, -1);
  size_t done = 0;
  if (fl->fd < 0) return io_fail_msg(L, "closed");
  while (done < len || len == 0) {
    fs_req *f = new_req(L, S, "fs.write", 4);
    unsigned chunk = IO_BUF_LEN(len - done);
    uv_buf_t b;
    ssize_t r;
    f->buf = (char *)malloc((size_t)chunk + 1);  /* outlives an abandon */
    if (f->buf == NULL) {
      free(f);
      return luaL_error(L, "not enough memory");
    }
    memcpy(f->buf, data + done, chunk);
    b = uv_buf_init(f->buf, chunk);
    r = wait_req(L, S, f,
                 uv_fs_write(S->loop, &f->req, fl->fd, &b, 1,
                             off < 0 ? -1 : off + (int64_t)done, on_fs),
                 "fs.write");
    free_req(f);
    if (r < 0) return fail_path(L, (int)r, NULL);
    if (len == 0 || r == 0) break;  /* 0: the file takes no more */
    done += (size_t)r;
  }
  lua_pushinteger(L, (lua_Integer)done);
  return 1;
}

static int file_close(lua_State *L) {
  go_sched *S = go_sched_of(L);
  go_file *fl = check_file(L);
  uv_file fd = fl->fd;
  fs_req *f;
  if (fd < 0) return io_fail_msg(L, "closed");
  fl->fd = -1;
  if (S->current == NULL) {  /* outside a task: close synchronously */
    uv_fs_t c;
    int r = uv_fs_close(NULL, &c, fd, NULL);
    uv_fs_req_cleanup(&c);
    if (r < 0) return io_fail(L, r);
    lua_pushboolean(L, 1);
    return 1;
  }
  f = new_req(L, S, "fs.close", 0);
  return ok_or_fail(L, f, wait_req(L, S, f,
                    uv_fs_close(S->loop, &f->req, fd, on_fs), "fs.close"), NULL);
}

/* __gc, __close: a file left open is closed here, synchronously. */
static int file_gc(lua_State *L) {
  go_file *fl = GO_TO(L, 1, go_file);
  if (fl != NULL && fl->fd >= 0) {  /* (NULL: another userdata, given our metatable) */
    uv_fs_t c;
    uv_fs_close(NULL, &c, fl->fd, NULL);
    uv_fs_req_cleanup(&c);
    fl->fd = -1;
  }
  return 0;
}

static void push_time(lua_State *L, const char *k, uv_timespec_t ts) {
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  lua_setfield(L, -2, k);
}

static void push_stat(lua_State *L, const uv_stat_t *st) {
  const char *type = "unknown";
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, (lua_Integer)st->st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)(st->st_mode & 07777));
  lua_setfield(L, -2, "mode");
  switch (st->st_mode & S_IFMT) {
    case S_IFREG: type = "file"; break;
    case S_IFDIR: type = "directory"; break;
    case S_IFLNK: type = "link"; break;
    case S_IFIFO: type = "fifo"; break;
    case S_IFSOCK: type = "socket"; break;
    case S_IFCHR: type = "char"; break;
    case S_IFBLK: type = "block"; break;
    default: break;
  }
  lua_pushstring(L, type);
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st->st_ino);
  lua_setfield(L, -2, "ino");
  lua_pushinteger(L, (lua_Integer)st->st_nlink);
  lua_setfield(L, -2, "nlink");
  lua_pushinteger(L, (lua_Integer)st->st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st->st_gid);
  lua_setfield(L, -2, "gid");
  push_time(L, "mtime", st->st_mtim);
  push_time(L, "atime", st->st_atim);
  push_time(L, "ctime", st->st_ctim);
}

/* go.fs.stat(path), file:stat(): a table (size, mode, type, mtime...). */
static int fs_stat(lua_State *L) {
  go_sched *S = go_sched_of(L);
  fs_req *f;
  ssize_t r;
  if (lua_type(L, 1) == LUA_TUSERDATA) {
    go_file *fl = check_file(L);
    if (fl->fd < 0) return io_fail_msg(L, "closed");
    f = new_req(L, S, "fs.stat", 2);
    r = wait_req(L, S, f, uv_fs_fstat(S->loop, &f->req, fl->fd, on_fs),
                 "fs.stat");
  } else {
    const char *path = luaL_checkstring(L, 1);
    f = new_req(L, S, "fs.stat", 2);
    r = wait_req(L, S, f, uv_fs_stat(S->loop, &f->req, path, on_fs),
                 "fs.stat");
  }
  if (r < 0) return ok_or_fail(L, f, r, lua_tostring(L, 1));
  push_stat(L, &f->req.statbuf);
  free_req(f);
  return 1;
}

static const char *dirent_type(uv_dirent_type_t t) {
  switch (t) {
    case UV_DIRENT_FILE: return "file";
    case UV_DIRENT_DIR: return "directory";
    case UV_DIRENT_LINK: return "link";
    case UV_DIRENT_FIFO: return "fifo";
    case UV_DIRENT_SOCKET: return "socket";
    case UV_DIRENT_CHAR: return "char";
    case UV_DIRENT_BLOCK: return "block";
    default: return "unknown";
  }
}

/* go.fs.readdir(path): { {name=, type=}, ... } sorted by name; nil, err. */
static int fs_readdir(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  fs_req *f = new_req(L, S, "fs.readdir", 2);
  uv_dirent_t ent;
  ssize_t r = wait_req(L, S, f, uv_fs_scandir(S->loop, &f->req, path, 0, on_fs),
                       "fs.readdir");
  int i = 0;
  if (r < 0) return ok_or_fail(L, f, r, path);
  if (!lua_checkstack(L, 4)) {
    free_req(f);
    return luaL_error(L, "stack overflow");
  }
  lua_createtable(L, (int)r, 0);
  while (uv_fs_scandir_next(&f->req, &ent) != UV_EOF) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, ent.name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, dirent_type(ent.type));
    lua_setfield(L, -2, "type");
    lua_rawseti(L, -2, ++i);
  }
  free_req(f);
  return 1;
}

static int fs_mkdir(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  int mode = lua_isnoneornil(L, 2) ? 0755
             : (int)io_check_range(L, 2, 2, 0, 07777, "mode");
  fs_req *f = new_req(L, S, "fs.mkdir", 3);
  return ok_or_fail(L, f, wait_req(L, S, f,
                    uv_fs_mkdir(S->loop, &f->req, path, mode, on_fs), "fs.mkdir"), path);
}

static int fs_rmdir(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  fs_req *f = new_req(L, S, "fs.rmdir", 2);
  return ok_or_fail(L, f, wait_req(L, S, f,
                    uv_fs_rmdir(S->loop, &f->req, path, on_fs), "fs.rmdir"), path);
}

static int fs_unlink(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *path = luaL_checkstring(L, 1);
  fs_req *f = new_req(L, S, "fs.unlink", 2);
  return ok_or_fail(L, f, wait_req(L, S, f,
                    uv_fs_unlink(S->loop, &f->req, path, on_fs), "fs.unlink"), path);
}

static int fs_rename(lua_State *L) {
  go_sched *S = go_sched_of(L);
  const char *from = luaL_checkstring(L, 1);
  const char *to = luaL_checkstring(L, 2);
  fs_req *f = new_req(L, S, "fs.rename", 3);
  return ok_or_fail(L, f, wait_req(L, S, f,
                    uv_fs_rename(S->loop, &f->req, from, to, on_fs), "fs.rename"), from);
}

static const luaL_Reg file_methods[] = {
  {"read", file_read},
  {"write", file_write},
  {"close", file_close},
  {"stat", fs_stat},
  {NULL, NULL}
};

const luaL_Reg go_io_fs_functions[] = {
  {"fs_open", fs_open},
  {"fs_stat", fs_stat},
  {"fs_readdir", fs_readdir},
  {"fs_mkdir", fs_mkdir},
  {"fs_rmdir", fs_rmdir},
  {"fs_unlink", fs_unlink},
  {"fs_rename", fs_rename},
  {NULL, NULL}
};

/* The file metatable (upvalue 1: the scheduler, at the stack top). */
int go_io_fs_open(lua_State *L) {
  io_metatable(L, FILE_MT, file_methods, file_gc, file_gc);
  lua_pop(L, 1);
  return 0;
}
