-- Stands in for luasystem's `system` module where it cannot be built
-- (Lua 5.5: Debian's registry has no luasystem source tarball): the three
-- functions busted calls (busted/core.lua: gettime, monotime, sleep),
-- over luv, which is built from Debian's source package. Seconds, as
-- luasystem gives them.
local uv = require "luv"
return {
  gettime = function()
    local s, us = uv.gettimeofday()
    return s + us / 1e6
  end,
  monotime = function() return uv.hrtime() / 1e9 end,
  sleep = function(seconds) uv.sleep(math.floor(seconds * 1000 + 0.5)) end,
}
