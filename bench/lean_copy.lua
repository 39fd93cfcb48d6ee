-- What a lean switch costs as the parked frames grow.
--
--   lua5.4 bench/lean_copy.lua [ROUNDS]
--
-- Eight coroutines, each parked under DEPTH nested table.sort comparators,
-- resumed in turn: eight lean ones share the thread's four shared stacks,
-- so every resume copies one coroutine's frames off and another's on; own
-- ones copy nothing.  Prints, per depth, the bytes a lean coroutine's
-- frames take (ucoro.stackused) and ns per resume+yield in each mode.
local ucoro = require "ucoro"
local rounds = tonumber(arg[1] or 20000)
local N = 8

local function nest(depth)
  if depth == 0 then
    while true do ucoro.yield() end
  end
  table.sort({ 2, 1 }, function(a, b) nest(depth - 1) return a < b end)
end

local function measure(mode, depth)
  local cos = {}
  for i = 1, N do
    cos[i] = ucoro.create(function() nest(depth) end, mode)
    ucoro.resume(cos[i])
  end
  local used = ucoro.stackused(cos[1])
  local t0 = os.clock()
  for _ = 1, rounds do
    for i = 1, N do ucoro.resume(cos[i]) end
  end
  local ns = (os.clock() - t0) / (rounds * N) * 1e9
  for i = 1, N do ucoro.close(cos[i]) end
  return used, ns
end

print("| sort levels parked under | lean frames (B) | lean ns | own ns | lean / own |")
print("|---:|---:|---:|---:|---:|")
for _, depth in ipairs({ 0, 4, 16, 64 }) do
  local used, lean = measure("lean", depth)
  local _, own = measure("own", depth)
  print(("| %d | %d | %.0f | %.0f | %.2f |"):format(depth, used, lean, own, lean / own))
end
