/*
** lua_ucoro_api.h: the binding's C API for other C modules loaded into
** the same Lua state (ucoro.go is one).  A Lua C module is loaded with
** RTLD_LOCAL, so its symbols are out of other modules' reach: the API is a
** table of function pointers, a full userdata that the module stores
** in the registry under LUA_UCORO_API_KEY once ucoro.core is opened (one
** per Lua state, for the state's life; it serves that state's threads).
**
**   lua_getfield(L, LUA_REGISTRYINDEX, LUA_UCORO_API_KEY);  // a userdata
**   api = (const lua_ucoro_api *)lua_touserdata(L, -1);
**   lua_pop(L, 1);
**   if (api == NULL || api->version != LUA_UCORO_API_VERSION) ...refuse
**
** Only lua.h is needed: the API speaks of threads, not of native stacks.
*/
#ifndef LUA_UCORO_API_H
#define LUA_UCORO_API_H

#include "lua.h"

#define LUA_UCORO_API_KEY "ucoro.core: C API"
#define LUA_UCORO_API_VERSION 1

typedef struct lua_ucoro_api lua_ucoro_api;
struct lua_ucoro_api {
  int version;  /* LUA_UCORO_API_VERSION */
  /* As ucoro.resume(co, ...) from C (api: this table): resumes co with the top narg values
  ** of L (moved), on a native stack of its own.  Returns LUA_OK (co
  ** ended), LUA_YIELD (parked or yielded) or an error status; the
  ** results (their number in *nres), or the error object, are moved onto
  ** L.  Never raises on L (a memory error is returned as LUA_ERRMEM).
  ** hint: NULL, or a slot (first NULL) that the caller keeps for co
  ** alone, and co alive, while it uses the slot: the API keeps there what
  ** spares it a look-up at the next resume of co. */
  int (*resume)(const lua_ucoro_api *api, lua_State *L, lua_State *co,
                int narg, int *nres, void **hint);
  /* As ucoro.yield from C: parks L, the running thread, on its native
  ** stack (any depth of C calls), handing its top nvalues to the
  ** resumer (which takes them).  Returns the number of resume values
  ** then on top, or -1 with an error message pushed above the nvalues
  ** values, left where they were, where no park is possible (L not on a
  ** native stack, a refused yield, no memory to keep a lean stack's
  ** frames).  Never raises.  L has room for one more value. */
  int (*park)(lua_State *L, int nvalues);
};

/* The binding's own: stores the API in L's registry (ucoro.core's
** opening does). */
void lua_ucoro_export(lua_State *L);

#endif
