--- ucoro: Lua 5.4 coroutines on native C stacks, so that a coroutine can
-- yield across any C call.  The functions are ucoro.core's own C
-- functions (so argument errors name them as stock ones do); this facade
-- adds install().
local core = require "ucoro.core"

local M = {}
for name, value in pairs(core) do M[name] = value end

-- The fields that make up Lua's coroutine library.
local library = {
  "create", "resume", "running", "status", "wrap", "yield", "isyieldable",
  "close",
}

--- Makes ucoro the process-wide coroutine library, in place: the fields of
-- the global coroutine table (the table package.loaded.coroutine holds)
-- become ucoro's, so code that looks them up later uses ucoro.
function M.install()
  local coroutine_table = package.loaded.coroutine or _G.coroutine
  for _, name in ipairs(library) do coroutine_table[name] = core[name] end
  package.loaded.coroutine = coroutine_table
  _G.coroutine = coroutine_table
  return M
end

return M
