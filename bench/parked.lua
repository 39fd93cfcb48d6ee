-- Memory and switch cost with many coroutines parked at once.
--
--   lua5.4 bench/parked.lua MODE COUNT [ROUNDS]
--
-- MODE: "stock" (stock coroutines parked at Lua level: stock Lua cannot
-- park them in a comparator), or a ucoro mode, "auto" (the default),
-- "own" or "lean": COUNT coroutines parked inside a table.sort
-- comparator.  Prints one line of "key=value" fields:
--   rss_per_co   bytes of resident memory per parked coroutine
--   switch_ns    nanoseconds per resume+yield, resuming each in turn
--   own, lean    how many got an own stack or a shared one (ucoro modes)
--   guard_pages  64 KiB PROT_NONE mappings (one per mapped stack)
-- Run it with LUA_CPATH/LUA_PATH pointing at a build (see bench/README.md).
local mode, count, rounds = arg[1], tonumber(arg[2]), tonumber(arg[3] or 3)
assert(mode and count, "usage: parked.lua MODE COUNT [ROUNDS]")

local function rss()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4096
end

local function guard_pages()
  local n = 0
  for line in io.lines("/proc/self/maps") do
    local lo, hi = line:match("^(%x+)%-(%x+) %-%-%-p ")
    if lo and tonumber(hi, 16) - tonumber(lo, 16) == 65536 then n = n + 1 end
  end
  return n
end

local lib, yield
if mode == "stock" then
  lib, yield = coroutine, coroutine.yield
else
  lib = require "ucoro"
  yield = lib.yield
  lib.mode(mode)
end

-- Each body parks rounds + 1 times; the first park is the one measured.
local function body()
  local t = { 2, 1 }
  if mode == "stock" then
    for k = 1, rounds + 1 do yield(k) end
    table.sort(t)
  else
    table.sort(t, function(a, b)
      for k = 1, rounds + 1 do yield(k) end
      return a < b
    end)
  end
  return t[1]
end

local cos = {}
collectgarbage("collect")
collectgarbage("collect")
local before = rss()
local create, resume = lib.create, lib.resume
for i = 1, count do
  local co = create(body)
  resume(co)
  cos[i] = co
end
collectgarbage("collect")
collectgarbage("collect")
local after = rss()
local guards = guard_pages()

local own, lean = 0, 0
if mode ~= "stock" then
  for i = 1, count do
    local m = lib.mode(cos[i])
    if m == "own" then own = own + 1 else lean = lean + 1 end
  end
end

local clock = os.clock
local t0 = clock()
for _ = 1, rounds do
  for i = 1, count do resume(cos[i]) end
end
local switch_ns = (clock() - t0) / (rounds * count) * 1e9

for i = 1, count do
  local ok, first = resume(cos[i])
  assert(ok and first == 1 and lib.status(cos[i]) == "dead")
end

print(("mode=%s count=%d rss_per_co=%.0f switch_ns=%.1f own=%d lean=%d guard_pages=%d")
  :format(mode, count, (after - before) / count, switch_ns, own, lean,
          guards))
