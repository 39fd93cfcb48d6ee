--- ucoro.go's benchmarks against the Lua reference (bench/go_ref.lua).
--   lua5.4 bench/go_bench.lua            times each workload, both ways
--   lua5.4 bench/go_bench.lua count NAME N   runs one N times (callgrind)
-- NAME: pingpong-go, pingpong-ref (unbuffered, 2 tasks; one op = one
-- round trip), sortpong-go (the receiver parked in a sort comparator),
-- yield-go, yield-ref, select2-go, recv-go (select of 2, one ready, and
-- the plain recv it is compared with), yield-luv (a stock coroutine
-- resumed from a luv idle handle, one yield per loop iteration), select8-go, spawn-go (spawn +
-- join); `timers [TASKS]`, `memory [TASKS] [MODE] [sort] [sleep]` print
-- their figures.
-- Environment: N (200000), MODE (the tasks' ucoro.mode).
package.path = "bench/?.lua;" .. package.path
-- MODE=lean|own|auto: the stacks of the tasks (ucoro.mode)
if os.getenv("MODE") then require("ucoro").mode(os.getenv("MODE")) end
local go = require "ucoro.go"
local ref = require "go_ref"

local function pingpong(lib, n)
  return function()
    local a, b = lib.chan(), lib.chan()
    lib.spawn(function() for _ = 1, n do local v = b:recv() a:send(v) end end)
    for i = 1, n do b:send(i) a:recv() end
  end
end

-- a stock coroutine task driven by a luv idle handle: each yield goes
-- through the loop and back (run by uv.run, not go.run)
local luvrun = { run = function(f) f() return true end }

local work = {
  ["yield-luv"] = function(n)
    return luvrun, function()
      local uv = require "luv"
      local co = coroutine.create(function() for _ = 1, n do coroutine.yield() end end)
      local idle = uv.new_idle()
      idle:start(function()
        coroutine.resume(co)
        if coroutine.status(co) == "dead" then idle:stop() idle:close() end
      end)
      uv.run()
    end
  end,
  ["pingpong-go"] = function(n) return go, pingpong(go, n) end,
  ["pingpong-ref"] = function(n) return ref, pingpong(ref, n) end,
  -- The receiver sorts a fixed list over and over, one round trip per
  -- comparison.  The list is built once: its size does not grow with n, so
  -- building it is not counted per op (an n-element list cost ~265 Ir per
  -- element, more than the park inside sort itself).
  ["sortpong-go"] = function(n)
    local size = 1000
    local input = {}
    for i = 1, size do input[i] = (i * 7919) % size end
    return go, function()
      local a, b = go.chan(), go.chan()
      go.spawn({ daemon = true }, function()
        local list = {}
        local function less(x, y) local v = b:recv() a:send(v) return x < y end
        while true do
          table.move(input, 1, size, 1, list)
          table.sort(list, less)
        end
      end)
      for i = 1, n do b:send(i) a:recv() end
    end
  end,
  ["yield-go"] = function(n)
    return go, function() go.spawn(function() for _ = 1, n do go.yield() end end) for _ = 1, n do go.yield() end end
  end,
  ["yield-ref"] = function(n)
    return ref, function() ref.spawn(function() for _ = 1, n do ref.yield() end end) for _ = 1, n do ref.yield() end end
  end,
  ["select2-go"] = function(n)
    return go, function()
      local a, b = go.chan(1), go.chan(1)
      local ra, rb = a:recv_op(), b:recv_op()
      for _ = 1, n do a:send(1) go.select(ra, rb) end
    end
  end,
  ["select8-go"] = function(n)
    return go, function()
      local c = {}
      for i = 1, 8 do c[i] = go.chan(1) end
      local ops = {}
      for i = 1, 8 do ops[i] = c[i]:recv_op() end
      for _ = 1, n do c[1]:send(1) go.select(table.unpack(ops)) end
    end
  end,
  ["recv-go"] = function(n)
    return go, function()
      local a = go.chan(1)
      for _ = 1, n do a:send(1) a:recv() end
    end
  end,
  ["spawn-go"] = function(n)
    -- one function for all, as lua_bench.lua's create does
    local function empty() end
    return go, function() for _ = 1, n do go.spawn(empty):join() end end
  end,
}

local function run(name, n)
  local lib, f = work[name](n)
  local ok, err = lib.run(f)
  if not ok and not go.is_cancelled(err) then error(err) end
end

if arg[1] == "count" then
  run(arg[2], tonumber(arg[3]))
  return
end
if arg[1] == "timers" then  -- TASKS tasks x 10 sleep(0.001): early wakes, lateness
  local tasks = tonumber(arg[2] or "10000")
  local late, early = {}, 0
  assert(go.run(function()
    for _ = 1, tasks do
      go.spawn(function()
        for _ = 1, 10 do
          local t0 = go.now()
          go.sleep(0.001)
          local d = go.now() - t0 - 0.001
          if d < 0 then early = early + 1 end
          late[#late + 1] = d
        end
      end)
    end
  end))
  table.sort(late)
  print(("%d tasks x 10 sleep(0.001): %d early; lateness p50 %.2f ms, p99 %.2f ms, max %.2f ms")
    :format(tasks, early, late[#late // 2] * 1e3, late[math.ceil(#late * 0.99)] * 1e3, late[#late] * 1e3))
  return
end
if arg[1] == "memory" then  -- TASKS tasks parked at once: RSS per task
  -- memory [TASKS] [MODE] [sort] [sleep]: MODE auto/own/lean; sort: each
  -- parked inside a table.sort comparator; sleep: in go.sleep (daemons,
  -- ended with go.run), else in a channel's recv
  local tasks = tonumber(arg[2] or "100000")
  local mode = arg[3] or "auto"
  local flags = {}
  for i = 4, #arg do flags[arg[i]] = true end
  local function rss()
    for line in io.lines("/proc/self/status") do
      local kb = line:match("^VmRSS:%s+(%d+)")
      if kb then return tonumber(kb) end
    end
  end
  require("ucoro").mode(mode)
  local before, during
  assert(go.run(function()
    collectgarbage() collectgarbage()
    before = rss()
    local hold = go.chan()
    local body = function() hold:recv() end
    if flags.sort and flags.sleep then
      body = function()
        table.sort({ 2, 1 }, function(a, b) go.sleep(1e6) return a < b end)
      end
    elseif flags.sort then
      body = function()
        table.sort({ 2, 1 }, function(a, b) hold:recv() return a < b end)
      end
    elseif flags.sleep then
      body = function() go.sleep(1e6) end
    end
    local opts = { daemon = flags.sleep }
    for _ = 1, tasks do go.spawn(opts, body) end
    go.yield()
    collectgarbage() collectgarbage()
    during = rss()
    hold:close()
  end))
  print(("%d tasks %s%s (mode %s): %.2f KB RSS each"):format(tasks,
    flags.sleep and "sleeping" or "parked", flags.sort and " in a sort comparator" or "",
    mode, (during - before) / tasks))
  return
end
if arg[1] == "list" then
  for k in pairs(work) do print(k) end
  return
end
local n = tonumber(os.getenv("N") or "200000")
local function time(name)
  local t = os.clock()
  run(name, n)
  return (os.clock() - t) / n * 1e6
end
local results = {}
for _, name in ipairs({ "pingpong-ref", "pingpong-go", "sortpong-go", "yield-ref",
                        "yield-luv", "yield-go", "recv-go", "select2-go", "select8-go", "spawn-go" }) do
  results[name] = time(name)
  print(string.format("%-13s %7.3f us per op", name, results[name]))
end
print(string.format("pingpong go/ref %.2fx   yield go/ref %.2fx   select2/recv %.2fx   select8/recv %.2fx",
  results["pingpong-go"] / results["pingpong-ref"], results["yield-go"] / results["yield-ref"],
  results["select2-go"] / results["recv-go"], results["select8-go"] / results["recv-go"]))
