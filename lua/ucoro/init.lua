--- ucoro: Lua 5.4 coroutines on native C stacks, so that a coroutine can
-- yield across any C call.  Every function is ucoro.core's own; pure-Lua
-- helpers go here.
local ucoro = require "ucoro.core"
-- Lua names a function in an argument error by finding it in
-- package.loaded: keep one name for each, 'ucoro.resume'.
package.loaded["ucoro.core"] = nil
return ucoro
