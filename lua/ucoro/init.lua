--- ucoro: Lua 5.4 coroutines on native C stacks, so that a coroutine can
-- yield across any C call.  Every function is ucoro.core's own; pure-Lua
-- helpers go here.
local ucoro = require "ucoro.core"
-- Lua names a function in an argument error by finding it in
-- package.loaded: keep one name for each, 'ucoro.resume'.
package.loaded["ucoro.core"] = nil

-- ucoro.install() then the installers other modules registered with
-- ucoro.on_install (ucoro.go's makes luvit coro-*'s plain yield/resume
-- park tasks): one call sets up the coroutine library, and the core knows
-- nothing of those modules.
local install, installers, installed = ucoro.install, {}, nil

function ucoro.install()
  install()
  local lib = package.loaded.coroutine
  for _, f in ipairs(installers) do f(lib) end
  installed = lib.yield  -- what a later on_install compares against
  return ucoro
end

--- ucoro.on_install(f): f(coroutine library) runs at each ucoro.install(),
-- and at once when the library is installed now.
function ucoro.on_install(f)
  installers[#installers + 1] = f
  local lib = package.loaded.coroutine
  if lib and installed ~= nil and lib.yield == installed then
    f(lib)
    installed = lib.yield
  end
end

return ucoro
