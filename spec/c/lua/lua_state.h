/*
** lua_state.h: for the C tests with Lua (after cmocka.h): a fresh state
** with ucoro opened, the fixture that gives one to each test, and running
** a chunk that must not fail.
*/
#ifndef SPEC_LUA_STATE_H
#define SPEC_LUA_STATE_H

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#include "lua_ucoro.h"

/* The standard libraries, and ucoro as the global `ucoro`. */
static inline lua_State *new_state(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "ucoro", luaopen_ucoro_core, 1);
  lua_pop(L, 1);
  return L;
}

/* The fixture: a test listed as state_test(f) finds a fresh state in
** *state, closed after it whatever the outcome. */
static inline int state_setup(void **state) {
  *state = new_state();
  return *state == NULL ? -1 : 0;
}

static inline int state_teardown(void **state) {
  lua_close((lua_State *)*state);
  return 0;
}

#define state_test(f) \
  cmocka_unit_test_setup_teardown(f, state_setup, state_teardown)

/* Runs code; a Lua error fails the test with its message. */
static inline void run(lua_State *L, const char *code) {
  if (luaL_dostring(L, code) != LUA_OK) fail_msg("%s", lua_tostring(L, -1));
}

#endif
