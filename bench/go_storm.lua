-- A cancellation storm (issue 12): TASKS tasks parked inside C calls
-- (half in table.sort comparators, half in LPeg match-time captures, each
-- under a to-be-closed variable) cancelled at once by their scope.  Says
-- how long the storm took, whether every __close ran, whether anything of
-- a cancelled task ran afterwards (its code past the park, a wake-up of
-- its timer), and memory before, while parked and after, for ROUNDS
-- storms in one process (no growth from one to the next: no leak).
--   tools/in-tree lua5.4 bench/go_storm.lua [TASKS [ROUNDS [MODE]]]
-- MODE: a ucoro mode ("auto", "lean"...).  Exits 1 when a check fails.
local go = require "ucoro.go"
local lpeg = require "lpeg"
local uv = require "luv"

local tasks = tonumber(arg[1] or "10000")
local rounds = tonumber(arg[2] or "3")
local mode = arg[3] or "auto"
require("ucoro").mode(mode)

local function rss()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

local function heap()
  collectgarbage() collectgarbage()
  return collectgarbage("count")
end

local function handles()
  local n = 0
  uv.walk(function() n = n + 1 end)
  return n
end

local failed = false
local function check(ok, what)
  if not ok then
    failed = true
    print("FAILED: " .. what)
  end
end

local function storm()
  local closed, parked, after = 0, 0, 0
  local r = { handles0 = handles() }  -- (outside go.run: uv.walk aborts on
  assert(go.run(function()              -- a handle luv did not make)
    r.heap0, r.rss0 = heap(), rss()
    local _, timed_out = go.scope({ timeout = 3600 }, function(scope)
      for i = 1, tasks do
        go.spawn(function()
          local function wait()
            local _ <close> = setmetatable({}, { __close = function() closed = closed + 1 end })
            parked = parked + 1
            go.sleep(0.2)  -- a timer-heap entry, due after the storm
            after = after + 1
          end
          if i % 2 == 0 then
            table.sort({ 2, 1 }, function(a, b) wait() return a < b end)
          else
            lpeg.match(lpeg.Cmt(lpeg.P "x", function(_, pos) wait() return pos end), "x")
          end
          after = after + 1
        end)
      end
      while parked < tasks do go.yield() end
      r.heap1, r.rss1 = heap(), rss()
      r.t0 = uv.hrtime()
      scope:cancel("storm")  -- the body too: the scope ends once every
      go.yield()             -- task has unwound
    end)
    r.ms = (uv.hrtime() - r.t0) / 1e6
    r.scope = timed_out
    r.closed_at_end = closed
    go.sleep(0.3)  -- past every cancelled sleep's deadline
    r.live = #go.tasks()
    r.heap2, r.rss2 = heap(), rss()
  end))
  r.handles2 = handles()
  r.closed, r.parked, r.after = closed, parked, after
  return r
end

print(("%d tasks parked in sort/LPeg, cancelled at once (mode %s), %d rounds")
  :format(tasks, mode, rounds))
for round = 1, rounds do
  local t0 = uv.hrtime()
  local r = storm()
  local total = (uv.hrtime() - t0) / 1e6
  print(("round %d: parked %d, __close ran %d, code after the park %d, live tasks after %d, "
    .. "luv handles %d -> %d"):format(round, r.parked, r.closed, r.after, r.live,
    r.handles0, r.handles2))
  print(("  the storm (cancel to the scope's end) %.1f ms, %.2f us a task; round %.0f ms")
    :format(r.ms, r.ms * 1e3 / tasks, total))
  print(("  Lua heap %.0f KB -> %.0f KB parked -> %.0f KB after; RSS %d KB -> %d KB -> %d KB")
    :format(r.heap0, r.heap1, r.heap2, r.rss0, r.rss1, r.rss2))
  check(r.parked == tasks, "every task parked")
  check(r.closed == tasks and r.closed_at_end == tasks, "every __close ran by the scope's end")
  check(r.after == 0, "no code of a cancelled task ran after its park")
  check(r.live == 1, "no task left but main")
  check(r.handles2 <= r.handles0, "no luv handle left")
  -- the baseline: after the first storm (tables keep the capacity they
  -- grew to); no growth from one storm to the next
  if round > 1 then
    check(r.heap2 <= r.heap0 + 64, "the Lua heap back to its baseline (64 KB slack)")
    check(r.rss2 <= r.rss0 + 2048, "RSS back to its baseline (2 MB slack)")
  end
end
print(failed and "some check FAILED" or "every check passed")
os.exit(failed and 1 or 0)
