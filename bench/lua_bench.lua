--[[
lua_bench.lua: ucoro against stock Lua coroutines, from Lua, in one run.

  lua5.4 bench/lua_bench.lua            timed: medians of alternating runs,
                                        ratios to stock, RSS per coroutine
  lua5.4 bench/lua_bench.lua count W N  untimed: N iterations of workload W,
                                        for callgrind (bench/lua-callgrind)
  lua5.4 bench/lua_bench.lua list       the workload names, one a line

Run from the top directory with the module on the paths, e.g.
  LUA_CPATH="build/asm/?.so" LUA_PATH="lua/?.lua;lua/?/init.lua" \
    lua5.4 bench/lua_bench.lua

Every workload comes in a stock and a ucoro flavour doing the same work:
  wrap    a wrap'ed function called with one value, yields one back
  call    the same stock wrap round trip; ucoro's body runs under
          ucoro.call, so each yield is relayed by lua_yieldk
  sort    a yield inside a table.sort comparator (ucoro); stock cannot, so
          its comparator counts and the yields follow the sort: the same
          sorts, the same comparisons, one yield per comparison on both sides
  create  create, then resume once; the body returns
  resume  resume with one value, yield one back
One op is one round trip (create: one coroutine).  Time is os.clock (CPU
time of this process, so load on the other core counts less); the heap is
collected before each timed run, untimed, so one workload's garbage is not
charged to the next.  The ratio is the median of the per-run ratios
ucoro/stock (both ran in every run, side by side).

The timed runs come first, on a young process.  Then RSS: 10,000 stock
coroutines parked at Lua level, then 10,000 ucoro ones parked inside a sort
comparator, statm's resident size read before and after each batch.  Last,
create is timed again, now that 10,000 native stacks have come and gone.
]]

local ucoro = require "ucoro"
local stock = coroutine

local RUNS = 9

-- The input of every sort: a fixed permutation of 1..SORT_N.  Below 100
-- elements Lua's sort picks its pivots without randomness, so every sort
-- does the same comparisons.
local SORT_N = 50
local SORT_INPUT = {}
do
  local x = 12345
  for i = 1, SORT_N do SORT_INPUT[i] = i end
  for i = SORT_N, 2, -1 do  -- Fisher-Yates with a fixed LCG
    x = (x * 1103515245 + 12345) % 2147483648
    local j = x % i + 1
    SORT_INPUT[i], SORT_INPUT[j] = SORT_INPUT[j], SORT_INPUT[i]
  end
end

-- Each workload maker takes a coroutine library and gives run(n), which
-- performs n ops.  Library functions are captured in locals, as hot code
-- would.

local function wrap_run(lib)
  local wrap, yield = lib.wrap, lib.yield
  return function(n)
    local f = wrap(function(x)
      while true do x = yield(x) end
    end)
    for i = 1, n do f(i) end
  end
end

local function resume_run(lib)
  local create, resume, yield = lib.create, lib.resume, lib.yield
  return function(n)
    local co = create(function(x)
      while true do x = yield(x) end
    end)
    for i = 1, n do resume(co, i) end
  end
end

-- A stock coroutine (as any scheduler's) whose body runs under ucoro.call:
-- each yield goes through the bridge and lua_yieldk.
local function call_run()
  local wrap, call, yield = stock.wrap, ucoro.call, ucoro.yield
  return function(n)
    local f = wrap(function(x)
      call(function(y)
        while true do y = yield(y) end
      end, x)
    end)
    for i = 1, n do f(i) end
  end
end

local function empty() end

local function create_run(lib)
  local create, resume = lib.create, lib.resume
  return function(n)
    for _ = 1, n do
      local co = create(empty)
      resume(co)
    end
  end
end

-- ucoro: the yield is inside the comparator, under table.sort's C frame.
local function sort_run_ucoro()
  local wrap, yield, sort = ucoro.wrap, ucoro.yield, table.sort
  return function(n)
    local f = wrap(function()
      local t = {}
      local function less(a, b)
        yield()
        return a < b
      end
      while true do
        for i = 1, SORT_N do t[i] = SORT_INPUT[i] end
        sort(t, less)
      end
    end)
    for _ = 1, n do f() end
  end
end

-- stock: the comparator counts, and as many yields follow the sort.
local function sort_run_stock()
  local wrap, yield, sort = stock.wrap, stock.yield, table.sort
  return function(n)
    local f = wrap(function()
      local t, k = {}, 0
      local function less(a, b)
        k = k + 1
        return a < b
      end
      while true do
        for i = 1, SORT_N do t[i] = SORT_INPUT[i] end
        k = 0
        sort(t, less)
        for _ = 1, k do yield() end
      end
    end)
    for _ = 1, n do f() end
  end
end

-- name, what, n (ops per timed run), target ratio, stock run, ucoro run
local benches = {
  {"wrap", "wrap round trip", 1000000, 0.8, wrap_run(stock), wrap_run(ucoro)},
  {"sort", "yield in a sort comparator, round trip", 1000000, 1.0,
   sort_run_stock(), sort_run_ucoro()},
  {"create", "create + resume to completion", 300000, 1.5,
   create_run(stock), create_run(ucoro)},
  {"resume", "resume/yield round trip", 1000000, nil,
   resume_run(stock), resume_run(ucoro)},
  {"call", "yield inside ucoro.call, in a stock wrap", 1000000, 1.6,
   wrap_run(stock), call_run()},
}

-- The flat list: "wrap-stock", "wrap-ucoro", ...
local workloads, by_name = {}, {}
for _, p in ipairs(benches) do
  for side, run in pairs({stock = p[5], ucoro = p[6]}) do
    local w = {name = p[1] .. "-" .. side, run = run, n = p[3], samples = {}}
    by_name[w.name] = w
  end
  workloads[#workloads + 1] = by_name[p[1] .. "-stock"]
  workloads[#workloads + 1] = by_name[p[1] .. "-ucoro"]
end

if arg[1] == "list" then
  for _, w in ipairs(workloads) do print(w.name) end
  os.exit(0)
end

if arg[1] == "count" then
  local w, n = by_name[arg[2] or ""], math.tointeger(tonumber(arg[3] or ""))
  if w == nil or n == nil then
    io.stderr:write("usage: lua_bench.lua count WORKLOAD N  (WORKLOAD: ",
                    "see lua_bench.lua list)\n")
    os.exit(2)
  end
  w.run(n)
  os.exit(0)
end

if arg[1] ~= nil then
  io.stderr:write("usage: lua_bench.lua [count WORKLOAD N | list]\n")
  os.exit(2)
end

local function median(v)
  local s = {}
  for i, x in ipairs(v) do s[i] = x end
  table.sort(s)
  return s[(#s + 1) // 2]
end

-- --- RSS per parked coroutine --------------------------------------------

local PARKED = 10000

local function page_size()
  local p = io.popen("getconf PAGESIZE 2>/dev/null")
  local size = p and tonumber(p:read("l") or "")
  if p then p:close() end
  return size or 4096
end

local PAGE = page_size()

local function resident_bytes()
  local f = assert(io.open("/proc/self/statm"))
  local line = f:read("l")
  f:close()
  return tonumber(line:match("^%d+%s+(%d+)")) * PAGE
end

local function full_gc()
  collectgarbage("collect")
  collectgarbage("collect")
end

local function park_stock()
  local yield = stock.yield
  yield()
end

local function park_ucoro()
  local yield = ucoro.yield
  table.sort({3, 1, 2}, function(a, b)
    yield()
    return a < b
  end)
end

-- Parks PARKED coroutines of lib running body, keeping them in keep (whose
-- array part is already grown); returns the RSS growth per coroutine.
local function rss_per_parked(lib, body, keep)
  local create, resume = lib.create, lib.resume
  full_gc()
  local before = resident_bytes()
  for i = 1, PARKED do
    local co = create(body)
    assert(resume(co))
    keep[i] = co
  end
  full_gc()
  return (resident_bytes() - before) / PARKED
end

-- Alternating runs of the given workloads: run k goes forward when k is odd
-- and backward when even, so drift and order hit every workload alike.
local function timed_runs(list, div)
  for _, w in ipairs(list) do  -- warm up
    w.samples = {}
    w.run(w.n // div // 10)
  end
  for k = 1, RUNS do
    local first, last, step = 1, #list, 1
    if k % 2 == 0 then first, last, step = last, first, -1 end
    for i = first, last, step do
      local w = list[i]
      local n = w.n // div
      full_gc()
      local t0 = os.clock()
      w.run(n)
      w.samples[k] = (os.clock() - t0) * 1e9 / n
    end
  end
end

local function report(what, s, u, target)
  local ratios = {}
  for k = 1, RUNS do ratios[k] = u.samples[k] / s.samples[k] end
  local ratio = median(ratios)
  local verdict = ""
  if target then
    verdict = string.format("<= %.1f%s", target,
                            ratio <= target and "" or " MISSED")
  end
  print(string.format("%-44s %9.1f %9.1f %7.3f  %s", what, median(s.samples),
                      median(u.samples), ratio, verdict))
end

-- 1. Timed, on a young process: no more than a few native stacks have ever
-- existed at once, so ucoro's stack pool holds only warm stacks.
timed_runs(workloads, 1)

-- 2. RSS.  Stock's parked coroutines stay alive while ucoro's park, so
-- neither reuses memory the other freed.
local rss_stock, rss_ucoro, stack_used
do
  local keep_stock, keep_ucoro = {}, {}
  for i = 1, PARKED do keep_stock[i], keep_ucoro[i] = false, false end
  rss_stock = rss_per_parked(stock, park_stock, keep_stock)
  rss_ucoro = rss_per_parked(ucoro, park_ucoro, keep_ucoro)
  assert(ucoro.status(keep_ucoro[1]) == "suspended")
  stack_used = ucoro.stackused(keep_ucoro[1])
  for i = 1, PARKED do ucoro.close(keep_ucoro[i]) end
end
full_gc()

-- 3. create again, now that 10,000 native stacks have come and gone (the
-- stack pool is full), as in any program that once had many coroutines at
-- the same time.  A third of the ops: it can be slow.
local after = {}
for _, side in ipairs({"stock", "ucoro"}) do
  local w = by_name["create-" .. side]
  after[side] = {run = w.run, n = w.n, samples = {}}
end
timed_runs({after.stock, after.ucoro}, 3)

print(string.format("%s, backend %s, %s; medians of %d alternating runs "
                    .. "(os.clock)", ucoro._VERSION, ucoro.backend,
                    _VERSION, RUNS))
print(string.format("%-44s %9s %9s %7s  %s", "ns per op", "stock", "ucoro",
                    "ratio", "target"))
for _, p in ipairs(benches) do
  report(p[2], by_name[p[1] .. "-stock"], by_name[p[1] .. "-ucoro"], p[4])
end
report("create + resume, after 10,000 were freed", after.stock, after.ucoro,
       1.5)
print(string.format("%-44s %9.0f %9.0f %7.3f  <= 8 KiB%s",
                    string.format("RSS bytes per parked coroutine (%d)",
                                  PARKED),
                    rss_stock, rss_ucoro, rss_ucoro / rss_stock,
                    rss_ucoro <= 8192 and "" or " MISSED"))
print(string.format("  ucoro parked in a sort comparator (%d bytes of native "
                    .. "stack touched), stock in Lua", stack_used or 0))
