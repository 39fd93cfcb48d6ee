--[==[
stress.lua: random create/park/resume/close/drop/collect operations on
ucoro coroutines, each checked against what it must give, then a check
that memory came back.

  lua5.4 tools/stress.lua [COUNT [SEED]]     (make stress COUNT=... SEED=...)

Run from the top directory with the module on the paths (make stress does).
COUNT operations (default 1,000,000) are drawn from a PRNG seeded with SEED
(default 1) over SLOTS slots; each slot holds a coroutine or nothing.  A
coroutine is made by ucoro.create, ucoro.wrap, or stock coroutine.create
around ucoro.call; with or without a stack size or a mode (lean, own), and
with or without a to-be-closed variable.  Its body parks K times (0-4),
each time inside a boundary drawn from BOUNDARIES (a sort comparator, a
gsub callback, pcall, metamethods, a load reader, an LPeg match-time
capture...), then returns the sum of what its resumes passed, or raises
"boom <id>" inside one more boundary.
Operations: resume a slot's coroutine (checking the values, the error, the
status), close it, drop it (left to the collector), collectgarbage step or
full collection, a switch between generational and incremental modes, both
tuned aggressive, or a new ucoro.ownlimit (a small one makes "auto"
coroutines lean).  A __close counter must match the model after each
operation.

Memory: after a warm-up (a tenth of COUNT, at least 10,000 or COUNT) all
is closed and collected, and the stack pool and lean mode's shared stacks
filled (flush_pool, fill_shared_stacks).  Then the baseline is read:
collectgarbage("count"), resident pages (statm), mappings, and one-page
PROT_NONE mappings (one per native stack: live, pooled, or shared by lean
coroutines) in /proc/self/maps.  After the run, the same cleanup; then
  guard pages    at most the baseline + 1 (no native stack leaked; the 1:
                 lean mode's scratch stack, made once when first needed)
  mappings       at most the baseline + 16
  Lua heap       at most the baseline + 64 KiB
  resident       at most the baseline + 2 MiB; under Valgrind
                 (UCORO_TEST_TOOL) or qemu-user (RUNNER) + 48 MiB; under ASan (libasan in
                 LD_PRELOAD) + its quarantine + 16 MiB, judged only when
                 ASAN_OPTIONS caps the quarantine (quarantine_size_mb)
Prints figures; ends with "stress: ok", or raises an error (exit status 1).
]==]

-- the catalogue of C boundaries, spec/boundaries.lua: found from this
-- file's path, or from the top directory when run as a copy (spec/60)
local top = (arg and arg[0] or ""):match("^(.-)tools/stress%.lua$") or ""
package.path = top .. "spec/?.lua;" .. package.path
local ucoro = require "ucoro"
local catalogue = require "boundaries"
local stock = coroutine

local COUNT = math.tointeger(tonumber(arg and arg[1] or os.getenv("COUNT") or 1000000))
local SEED = math.tointeger(tonumber(arg and arg[2] or os.getenv("SEED") or 1))
assert(COUNT and COUNT >= 0 and SEED, "usage: stress.lua [COUNT [SEED]] (integers)")
local SLOTS = 100
local WARMUP = math.max(math.min(10000, COUNT), COUNT // 10)

local asan = (os.getenv("LD_PRELOAD") or ""):find("libasan") ~= nil
local tool = asan or os.getenv("UCORO_TEST_TOOL") ~= nil
-- The second argument of create and wrap: none, a stack size, or a mode.
-- AddressSanitizer's frames are several times larger (its default stack
-- is 8 times ucoro's usual one).
local SIZES = { false, 32 * 1024, 64 * 1024, 256 * 1024, "lean", "own" }
if asan then
  for i = 2, 4 do SIZES[i] = SIZES[i] * 8 end
end

-- How much resident memory may grow, in KiB: under a tool, also what it
-- keeps of freed memory on purpose.  AddressSanitizer's quarantine is
-- judged only when ASAN_OPTIONS caps it (make stress does); Valgrind keeps
-- 20 MB of freed blocks (--freelist-vol), and its translations grow.
local RSS_SLACK = 2048
if asan then
  local mb = (os.getenv("ASAN_OPTIONS") or ""):match("quarantine_size_mb=(%d+)")
  RSS_SLACK = mb and (tonumber(mb) + 16) * 1024
elseif tool or (os.getenv("RUNNER") or "") ~= "" then
  RSS_SLACK = 48 * 1024  -- qemu-user (RUNNER) counts its translations too
end

local random = math.random
math.randomseed(SEED)

local function pick(list) return list[random(#list)] end

-- Each boundary calls f once from inside a C function (or from Lua, for
-- "lua", "index", "call" and "nested"), and lets f's error through.  The
-- C ones come from the catalogue (spec/boundaries.lua), under the short
-- names the draws have always used (renaming one would change the draws
-- of a seed: they go by sorted name).
local yield = ucoro.yield
local BOUNDARIES = {
  lua = function(f) f() end,
  index = function(f)  -- __index reached from Lua: no C boundary
    local _ = setmetatable({}, { __index = function() f() return 1 end }).x
  end,
  call = function(f) ucoro.call(f) end,  -- on a native stack already: a plain call
  nested = function(f)  -- parks while a coroutine of its own is parked
    local inner = ucoro.wrap(function()
      table.sort({ 1, 2 }, function(a, b) yield("inner") return a < b end)
      return "inner done"
    end)
    assert(inner() == "inner")
    f()
    assert(inner() == "inner done")
  end,
}
local FROM_CATALOGUE = {
  sort = "sort", lt = "sort __lt", gsub = "gsub", pcall = "pcall",
  tostring = "format", load = "load", lpeg = "lpeg.Cmt", testmod = "testmod.call",
}
for short, name in pairs(FROM_CATALOGUE) do
  local b = catalogue.named[name]
  if b then  -- (testmod is missing where it was not built)
    BOUNDARIES[short] = function(f) b.enter(function() f() return "" end) end
  end
end
local boundary_names = {}
for name in pairs(BOUNDARIES) do boundary_names[#boundary_names + 1] = name end
table.sort(boundary_names)  -- the same draws for the same seed

local closes, expected_closes = 0, 0
local closer_mt = { __close = function() closes = closes + 1 end }

-- The body of job: parks job.k times, then returns the sum of what its
-- resumes passed, or raises.
local function body_of(job)
  return function(first)
    local _closer <close> = job.tbc and setmetatable({}, closer_mt) or nil
    local sum = first
    for i = 1, job.k do
      BOUNDARIES[job.plan[i]](function() sum = sum + yield(job.id, i) end)
    end
    if job.fails then
      BOUNDARIES[job.plan[job.k + 1]](function() error("boom " .. job.id, 0) end)
    end
    return sum
  end
end

local tally = { create = 0, wrap = 0, call = 0, resumes = 0, parks = 0,
                finished = 0, erred = 0, closed = 0, dropped = 0, steps = 0,
                collects = 0, modes = 0, limits = 0 }
local next_id = 0

local function new_job()
  next_id = next_id + 1
  local job = { id = next_id, k = random(0, 4), tbc = random(2) == 1,
                fails = random(7) == 1, state = "fresh", sum = 0, yields = 0,
                kind = pick({ "create", "create", "wrap", "call" }), plan = {} }
  for i = 1, job.k + 1 do job.plan[i] = pick(boundary_names) end
  local size = pick(SIZES) or nil
  local body = body_of(job)
  if job.kind == "create" then
    job.co = ucoro.create(body, size)
  elseif job.kind == "wrap" then
    job.w = ucoro.wrap(body, size)
  else  -- a stock coroutine, as any scheduler's, running body under ucoro.call
    job.co = stock.create(function(first) return ucoro.call(body, first) end)
  end
  tally[job.kind] = tally[job.kind] + 1
  return job
end

local op = 0
local function fail(job, what, got)
  local shown = {}
  for i = 1, got.n do shown[i] = tostring(got[i]) end
  error(("seed %d, op %d, job %d (%s, k=%d, plan %s, tbc %s, fails %s, %s): %s; got %s")
    :format(SEED, op, job.id, job.kind, job.k, table.concat(job.plan, ","),
            job.tbc, job.fails, job.state, what, table.concat(shown, ", ")), 0)
end

local function expect(job, got, ...)
  local want = table.pack(...)
  local same = got.n == want.n
  for i = 1, want.n do same = same and got[i] == want[i] end
  if not same then
    local shown = {}
    for i = 1, want.n do shown[i] = tostring(want[i]) end
    fail(job, "expected " .. table.concat(shown, ", "), got)
  end
end

local function status_of(job)
  if job.kind == "create" then return ucoro.status(job.co) end
  if job.kind == "call" then return stock.status(job.co) end
end

local function resume(job)
  local v = random(1000)
  local got
  if job.kind == "create" then
    got = table.pack(ucoro.resume(job.co, v))
  elseif job.kind == "wrap" then
    got = table.pack(pcall(job.w, v))
  else
    got = table.pack(stock.resume(job.co, v))
  end
  tally.resumes = tally.resumes + 1
  if job.state ~= "fresh" and job.state ~= "suspended" then
    return expect(job, got, false, "cannot resume dead coroutine")
  end
  job.sum = job.sum + v
  if job.yields < job.k then
    job.yields = job.yields + 1
    job.state = "suspended"
    tally.parks = tally.parks + 1
    expect(job, got, true, job.id, job.yields)
  elseif job.fails then
    job.state = "erred"
    tally.erred = tally.erred + 1
    -- wrap closes an erred coroutine; an erred ucoro.create one keeps its
    -- variables until close, and so does a stock one whose body erred
    -- under ucoro.call (as it would without ucoro.call)
    if job.tbc and job.kind == "wrap" then expected_closes = expected_closes + 1 end
    expect(job, got, false, "boom " .. job.id)
  else
    job.state = "done"
    tally.finished = tally.finished + 1
    if job.tbc then expected_closes = expected_closes + 1 end
    expect(job, got, true, job.sum)
  end
end

local function close(job)
  local got = table.pack((job.kind == "create" and ucoro.close or stock.close)(job.co))
  local state = job.state
  job.state = "closed"
  tally.closed = tally.closed + 1
  if state == "suspended" then
    if job.tbc then expected_closes = expected_closes + 1 end
    expect(job, got, true)
  elseif state == "erred" then
    if job.tbc and job.kind ~= "wrap" then expected_closes = expected_closes + 1 end
    expect(job, got, false, "boom " .. job.id)
  else
    expect(job, got, true)
  end
end

local slots = {}

local function check(job)
  local status = status_of(job)
  if status ~= nil then
    local live = job.state == "fresh" or job.state == "suspended"
    if status ~= (live and "suspended" or "dead") then
      fail(job, "status " .. status, table.pack())
    end
  end
  if closes ~= expected_closes then
    fail(job, ("%d __close calls, expected %d"):format(closes, expected_closes), table.pack())
  end
end

local OWN_LIMIT = ucoro.ownlimit()
local GC_MODES = {
  function() collectgarbage("generational", random(1, 20), random(50, 100)) end,
  function() collectgarbage("incremental", random(0, 50), random(100, 400), random(0, 10)) end,
}

-- One random operation.
local function step()
  local r = random(100)
  if r <= 20 then
    tally.steps = tally.steps + 1
    collectgarbage("step", random(0, 8))
    return
  elseif r == 21 then
    local what = random(20)
    if what == 1 then
      tally.collects = tally.collects + 1
      collectgarbage()
    elseif what <= 4 then  -- past a small limit, "auto" coroutines are lean
      tally.limits = tally.limits + 1
      ucoro.ownlimit(random(2) == 1 and random(0, 30) or OWN_LIMIT)
    else
      tally.modes = tally.modes + 1
      pick(GC_MODES)()
    end
    return
  end
  local i = random(SLOTS)
  local job = slots[i]
  if job == nil or r <= 25 or
     (job.state ~= "fresh" and job.state ~= "suspended" and random(4) > 1) then
    job = new_job()  -- the old one, if any, is dropped
    slots[i] = job
  elseif r <= 80 then
    resume(job)
  elseif r <= 90 and job.kind ~= "wrap" then
    close(job)
  else
    slots[i] = nil
    tally.dropped = tally.dropped + 1
    return
  end
  check(job)
end

-- Closes (or drops, for wrap) every slot's coroutine, then collects.
local function clear_slots()
  for i = 1, SLOTS do
    local job = slots[i]
    if job ~= nil and job.kind ~= "wrap" then
      close(job)
      check(job)
    end
    slots[i] = nil
  end
  collectgarbage()
  collectgarbage()
end

-- Fills the stack pool: more parked default-size coroutines than the pool
-- holds (64 a thread) take all of that size out of it, and give back
-- until it is full.  Then the pool holds the same number of stacks
-- whatever it held before, so the count of mapped stacks can be compared.
local function flush_pool()
  local parked = {}
  for i = 1, 128 do
    parked[i] = ucoro.create(function()
      table.sort({ 1, 2 }, function(a, b) yield() return a < b end)
    end)
    assert(ucoro.resume(parked[i]))
  end
  for i = 1, 128 do assert(ucoro.resume(parked[i])) end
end

-- Lean coroutines share stacks, kept per size once made (up to 4 a size,
-- more only while all of a size run at once): park 8 lean coroutines of
-- each size at the same time, so that every shared stack the run can need
-- is there before the baseline.
local function fill_shared_stacks()
  local mode = ucoro.mode("lean")
  for _, size in ipairs(SIZES) do
    if type(size) ~= "string" then
      local parked = {}
      for i = 1, 8 do
        parked[i] = ucoro.create(function()
          table.sort({ 1, 2 }, function(a, b) yield() return a < b end)
        end, size or nil)
        assert(ucoro.resume(parked[i]))
      end
      for i = 1, 8 do assert(ucoro.resume(parked[i])) end
    end
  end
  ucoro.mode(mode)
end

local function resident_kib()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4
end

local function count_mappings()
  local all, guards = 0, 0
  for line in io.lines("/proc/self/maps") do
    all = all + 1
    local lo, hi = line:match("^(%x+)%-(%x+) %-%-%-p ")
    if lo and tonumber(hi, 16) - tonumber(lo, 16) == 65536 then guards = guards + 1 end
  end
  return all, guards
end

local function measure()
  ucoro.ownlimit(OWN_LIMIT)
  clear_slots()
  flush_pool()
  collectgarbage()
  local m = { kib = collectgarbage("count"), rss = resident_kib() }
  m.maps, m.guards = count_mappings()
  return m
end

local function show(label, m)
  print(("%-9s Lua heap %8.1f KiB  resident %7d KiB  mappings %5d  guard pages %4d")
    :format(label, m.kib, m.rss, m.maps, m.guards))
end

print(("stress: %d ops, seed %d, %d slots, boundaries %s"):format(
  COUNT, SEED, SLOTS, table.concat(boundary_names, " ")))
collectgarbage("incremental", 10, 400, 0)
local clock = os.clock()
for _ = 1, WARMUP do op = op + 1; step() end
fill_shared_stacks()
local before = measure()
show("baseline", before)
local peak = before.rss
local start = os.clock()
for n = 1, COUNT do
  op = op + 1
  step()
  if n % (COUNT // 10 + 1) == 0 then
    local rss = resident_kib()
    if rss > peak then peak = rss end
  end
end
local elapsed = os.clock() - start
local after = measure()
show("after", after)
print(("%d ops in %.1f s CPU (%.0f ops/s), %.1f s with warm-up; resident peak %d KiB")
  :format(COUNT, elapsed, COUNT / math.max(elapsed, 1e-9), os.clock() - clock, peak))
local names = {}
for k in pairs(tally) do names[#names + 1] = k end
table.sort(names)
for i, k in ipairs(names) do names[i] = k .. " " .. tally[k] end
print("tally: " .. table.concat(names, ", ") .. ", __close " .. closes)

local function bound(what, got, limit)
  if got > limit then
    error(("seed %d: %s %s after the run, more than %s"):format(SEED, what, got, limit), 0)
  end
end
-- (+1: lean mode's scratch stack, made the first time a lean coroutine's
-- frames must go back onto the stack running, and kept)
bound("guard pages", after.guards, before.guards + 1)
bound("mappings", after.maps, before.maps + 16)
bound("Lua heap KiB", after.kib, before.kib + 64)
if RSS_SLACK then bound("resident KiB", after.rss, before.rss + RSS_SLACK) end
print("stress: ok")
