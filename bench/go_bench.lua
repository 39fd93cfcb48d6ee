--- ucoro.go's benchmarks against the Lua reference (bench/go_ref.lua).
--   lua5.4 bench/go_bench.lua            times each workload, both ways
--   lua5.4 bench/go_bench.lua count NAME N   runs one N times (callgrind)
-- NAME: pingpong-go, pingpong-ref (unbuffered, 2 tasks; one op = one
-- round trip), sortpong-go (the receiver parked in a sort comparator),
-- yield-go, yield-ref, select2-go, recv-go (select of 2, one ready, and
-- the plain recv it is compared with), spawn-go (spawn + join).
package.path = "bench/?.lua;" .. package.path
local go = require "ucoro.go"
local ref = require "go_ref"

local function pingpong(lib, n)
  return function()
    local a, b = lib.chan(), lib.chan()
    lib.spawn(function() for _ = 1, n do local v = b:recv() a:send(v) end end)
    for i = 1, n do b:send(i) a:recv() end
  end
end

local work = {
  ["pingpong-go"] = function(n) return go, pingpong(go, n) end,
  ["pingpong-ref"] = function(n) return ref, pingpong(ref, n) end,
  ["sortpong-go"] = function(n)
    return go, function()
      local a, b = go.chan(), go.chan()
      local list = {}
      for i = 1, n + 1 do list[i] = (i * 7919) % (n + 1) end
      local count = 0
      go.spawn({ daemon = true }, function()
        table.sort(list, function(x, y) local v = b:recv() a:send(v) return x < y end)
      end)
      while count < n do b:send(count) a:recv() count = count + 1 end
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
  ["recv-go"] = function(n)
    return go, function()
      local a = go.chan(1)
      for _ = 1, n do a:send(1) a:recv() end
    end
  end,
  ["spawn-go"] = function(n)
    return go, function() for _ = 1, n do go.spawn(function() end):join() end end
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
                        "yield-go", "recv-go", "select2-go", "spawn-go" }) do
  results[name] = time(name)
  print(string.format("%-13s %7.3f us per op", name, results[name]))
end
print(string.format("pingpong go/ref %.2fx   yield go/ref %.2fx   select2/recv %.2fx",
  results["pingpong-go"] / results["pingpong-ref"], results["yield-go"] / results["yield-ref"],
  results["select2-go"] / results["recv-go"]))
