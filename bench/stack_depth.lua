-- How much native stack recursion through each standard-library C
-- boundary uses inside a ucoro coroutine before Lua stops it with
-- "C stack overflow".  Sizes the default stack (src/stack.c).
--   LUA_CPATH="build/asm/?.so" LUA_PATH="lua/?.lua;lua/?/init.lua" \
--     lua5.4 bench/stack_depth.lua
local ucoro = require "ucoro"

local rec
local boundaries = {
  { "string.gsub", function(n)
      return (string.gsub("x", "x", function() return rec(n + 1) end)) end },
  { "string.format+__tostring", function(n)
      return string.format("%s", setmetatable({}, {
        __tostring = function() rec(n + 1) return "" end })) end },
  { "table.concat+__index", function(n)
      return table.concat(setmetatable({}, {
        __index = function() rec(n + 1) return "" end,
        __len = function() return 1 end })) end },
  { "load(reader)", function(n)
      local done = false
      local f, e = load(function()
        if done then return nil end
        done = true
        rec(n + 1)
        return ""
      end)
      if not f then error(e, 0) end end },
  { "table.sort", function(n)
      table.sort({ 2, 1 }, function(a, b) rec(n + 1) return a < b end) end },
  { "pcall", function(n)
      local ok, e = pcall(rec, n + 1)
      if not ok then error(e, 0) end end },
}

print(("default stack %d KiB, backend %s"):format(ucoro.stacksize() // 1024,
                                                  ucoro.backend))
local kept = {}  -- luacheck: ignore (holding them is the point)
print(("%-26s %6s %10s  %s"):format("boundary", "levels", "stack KiB", "ended with"))
for _, b in ipairs(boundaries) do
  local deepest, most = 0, 0
  local step = b[2]
  rec = function(n)
    deepest = n
    most = math.max(most, ucoro.stackused())
    return step(n)
  end
  -- each coroutine stays parked, so that the next one gets a fresh stack
  -- (a stack reused from the pool keeps the pages it had touched)
  local co = ucoro.create(function()
    local _, e = pcall(rec, 0)
    ucoro.yield(e)
  end)
  local _, err = ucoro.resume(co)
  kept[#kept + 1] = co
  print(("%-26s %6d %10d  %s"):format(b[1], deepest, most // 1024,
                                      tostring(err):gsub("^.*: ", "")))
end
