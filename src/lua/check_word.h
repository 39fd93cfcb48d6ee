/*
** check_word.h: the binding's userdata known by their block, not their
** metatable.  debug.setmetatable gives any userdata one of our metatables
** (reached through getmetatable, the registry): a method or a finalizer
** that trusted it read and wrote that userdata's memory as ours.  Our
** blocks carry a check word, their address mixed with a secret of the
** process, that no other userdata has; code that takes one from Lua
** checks its size and check word first.  (ucoro.go has its own, go.h:
** go_to_block; the layers share no code but lua_ucoro_api.h.)
*/
#ifndef UCORO_LUA_CHECK_WORD_H
#define UCORO_LUA_CHECK_WORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lua.h"

/* The secret: random, drawn at its first use (check_word.c), 0 until
** then.  (Not derived from an address: tostring of any C function of
** the module tells where it was loaded.) */
extern _Atomic uintptr_t ucoro_lua_secret_word;
uintptr_t ucoro_lua_secret_draw(void);
static inline uint64_t ucoro_lua_secret(void) {
  uintptr_t s = atomic_load_explicit(&ucoro_lua_secret_word,
                                     memory_order_relaxed);
  if (s == 0) s = ucoro_lua_secret_draw();
  return (uint64_t)s * 0x9E3779B97F4A7C15ULL;
}
#define UCORO_CHECK_WORD(p) (ucoro_lua_secret() ^ (uint64_t)(uintptr_t)(p))

/* The userdata at idx if it is a block of size whose check word (at
** offset off) is right, else NULL. */
static inline void *ucoro_to_block(lua_State *L, int idx, size_t size,
                                   size_t off) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_rawlen(L, idx) == size &&
      *(const uint64_t *)(const void *)((const char *)p + off) ==
          UCORO_CHECK_WORD(p))
    return p;
  return NULL;
}
/* The block of type T (its check word: field `check`) at idx, or NULL. */
#define UCORO_TO(L, idx, T) \
  ((T *)ucoro_to_block((L), (idx), sizeof(T), offsetof(T, check)))

#endif
