/*
** host.c: a C program that embeds Lua 5.4 and ucoro.
**
** It registers two C functions written in straight-line C that wait by
** yielding, one of them deep inside a callback of a real C library (libc's
** qsort_r), and runs several Lua scripts at once under its own small
** lua_resume scheduler with a virtual clock:
**
**   host.sleep(ms)        waits ms virtual milliseconds
**   host.sort_slowly(t)   sorts the strings of t with qsort_r, waiting 1 ms
**                         inside each comparison
**
**   usage: host SCRIPT.lua...
*/
#define _GNU_SOURCE  /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_ucoro.h"

/* Waits: yields ("sleep", ms) to the scheduler from plain C.  The frame
** keeps what it held before; only the resume values are new. */
static void wait_ms(lua_State *L, lua_Integer ms) {
  lua_pushliteral(L, "sleep");
  lua_pushinteger(L, ms);
  lua_pop(L, lua_ucoro_yield(L, 2));  /* resume values: none expected */
}

static int host_sleep(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 1);
  wait_ms(L, ms);
  return 0;
}

static int compare_slowly(const void *a, const void *b, void *thread) {
  wait_ms((lua_State *)thread, 1);  /* yields from inside qsort_r */
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int host_sort_slowly(lua_State *L) {
  lua_Integer i, n;
  const char **items;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = luaL_len(L, 1);
  /* a userdata holds the array, so an error cannot leak it */
  items = (const char **)lua_newuserdatauv(L, (size_t)n * sizeof *items, 0);
  for (i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    items[i - 1] = luaL_checkstring(L, -1);  /* anchored by t */
    lua_pop(L, 1);
  }
  qsort_r(items, (size_t)n, sizeof *items, compare_slowly, L);
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    lua_pushstring(L, items[i - 1]);
    lua_seti(L, -2, i);
  }
  return 1;
}

typedef struct task {
  lua_State *thread;
  const char *name;
  long wake;  /* virtual ms at which it runs next */
  int done;
} task;

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  task *tasks;
  int i, ntasks = argc - 1, running = ntasks, status = 0;
  long now = 0;
  luaL_openlibs(L);
  luaL_requiref(L, "ucoro", luaopen_ucoro_core, 0);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_ucoro_pushcfunction(L, host_sleep);
  lua_setfield(L, -2, "sleep");
  lua_ucoro_pushcfunction(L, host_sort_slowly);
  lua_setfield(L, -2, "sort_slowly");
  lua_setglobal(L, "host");

  tasks = calloc((size_t)(ntasks > 0 ? ntasks : 1), sizeof *tasks);
  for (i = 0; i < ntasks; i++) {
    tasks[i].thread = lua_newthread(L);  /* anchored on L's stack */
    tasks[i].name = argv[i + 1];
    if (luaL_loadfile(tasks[i].thread, argv[i + 1]) != LUA_OK) {
      fprintf(stderr, "%s\n", lua_tostring(tasks[i].thread, -1));
      return 1;
    }
  }
  while (running > 0) {  /* run the task that wakes first */
    task *t = NULL;
    int nres;
    for (i = 0; i < ntasks; i++)
      if (!tasks[i].done && (t == NULL || tasks[i].wake < t->wake))
        t = &tasks[i];
    if (t == NULL) break;
    now = t->wake;
    lua_pushinteger(t->thread, now);
    lua_setglobal(t->thread, "now");
    switch (lua_resume(t->thread, L, 0, &nres)) {
      case LUA_YIELD:  /* the yielded values start at index 1 */
        if (nres == 2 && strcmp(lua_tostring(t->thread, 1), "sleep") == 0) {
          t->wake = now + (long)lua_tointeger(t->thread, 2);
        }
        lua_pop(t->thread, nres);
        break;
      case LUA_OK:
        t->done = 1;
        running--;
        break;
      default:
        fprintf(stderr, "%s: %s\n", t->name, lua_tostring(t->thread, -1));
        t->done = 1;
        running--;
        status = 1;
    }
  }
  printf("all %d scripts done at %ld ms\n", ntasks, now);
  lua_close(L);
  free(tasks);
  return status;
}
