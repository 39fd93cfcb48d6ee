-- How much native stack recursion through each standard-library C
-- boundary uses inside a ucoro coroutine before Lua stops it with
-- "C stack overflow".  Sizes the default stack (src/core/stack.c).  Measures
-- the entries of the catalogue (spec/boundaries.lua) that have a stack
-- figure, and shows that figure beside the bytes a level took here.
--   LUA_CPATH="build/asm/?.so" LUA_PATH="lua/?.lua;lua/?/init.lua" \
--     lua5.4 bench/stack_depth.lua
-- the catalogue, spec/boundaries.lua: found from this file's path, or
-- from the top directory when run as a copy (spec/06)
local top = (arg and arg[0] or ""):match("^(.-)bench/stack_depth%.lua$") or ""
package.path = top .. "spec/?.lua;" .. package.path
local ucoro = require "ucoro"
local catalogue = require "boundaries"

print(("default stack %d KiB, backend %s"):format(ucoro.stacksize() // 1024,
                                                  ucoro.backend))
local kept = {}  -- luacheck: ignore (holding them is the point)
print(("%-26s %6s %10s %7s %9s  %s"):format("boundary", "levels", "stack KiB", "B/level",
                                            "catalogue", "ended with"))
for _, b in ipairs(catalogue.list) do
  if b.stack then
    local deepest, most = 0, 0
    local function rec(n)
      deepest = n
      most = math.max(most, ucoro.stackused())
      return b.enter(function() return rec(n + 1) end)
    end
    -- each coroutine stays parked, so that the next one gets a fresh stack
    -- (a stack reused from the pool keeps the pages it had touched)
    local co = ucoro.create(function()
      local _, e = pcall(rec, 0)
      ucoro.yield(e)
    end)
    local _, err = ucoro.resume(co)
    kept[#kept + 1] = co
    print(("%-26s %6d %10d %7d %9d  %s"):format(b.name, deepest, most // 1024,
                                                most // math.max(deepest, 1), b.stack,
                                                tostring(err):gsub("^.*: ", "")))
  end
end
