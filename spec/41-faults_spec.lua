-- Fault injection: no address space left for a new native stack.  A child
-- interpreter lowers its own address-space limit (RLIMIT_AS, with
-- util-linux's prlimit) to a little above what it uses: new 64 MiB stacks
-- cannot be mapped, while Lua still has room to allocate.
-- (Lua's allocator failing: spec/c/lua/alloc_test.c.)
local helpers = require "helpers"

-- Defines limit_address_space(extra_kib): the soft limit becomes the
-- current size plus extra_kib, or unlimited for nil.
local LIMIT = [[
local function address_space_kib()
  for line in io.lines("/proc/self/status") do
    local kib = line:match("^VmSize:%s*(%d+) kB")
    if kib then return tonumber(kib) end
  end
end
local pid = io.open("/proc/self/stat"):read("n")
local function limit_address_space(extra_kib)
  local soft = extra_kib and (address_space_kib() + extra_kib) * 1024
  assert(os.execute(("prlimit --pid %d --as=%s:"):format(pid, soft or "unlimited")))
end
local ucoro = require "ucoro"
ucoro.stacksize(64 * 1024 * 1024)
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(table.concat(t, " "))
end
]]

-- Runs source after LIMIT in a child; returns its output lines.
local function run(source)
  local output, ok = helpers.run_child(LIMIT .. source)
  assert.is_true(ok, output)
  local lines = {}
  for line in output:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

describe("no address space for a native stack", function()
  it("create, wrap and call answer 'not enough memory'; the rest goes on", function()
    local lines = run([[
      local function in_sort(tag)
        return function()
          table.sort({ 2, 1 }, function(a, b) ucoro.yield(tag) return a < b end)
          return tag .. " finished"
        end
      end
      local parked = ucoro.create(in_sort("parked"))
      assert(ucoro.resume(parked))
      limit_address_space(16 * 1024)
      local refused = ucoro.create(in_sort("refused"))
      show("create", ucoro.resume(refused))
      show("status", ucoro.status(refused))
      show("wrap", pcall(ucoro.wrap(in_sort("wrap"))))
      show("call", coroutine.wrap(function()
        return pcall(ucoro.call, in_sort("call"))
      end)())
      local stock = coroutine.wrap(function() coroutine.yield("stock 1") return "stock 2" end)
      show("stock", stock(), stock())
      show("parked", ucoro.resume(parked))
      -- its stack went back to the pool: one more coroutine can have it
      local reused = ucoro.create(in_sort("reused"))
      show("reused", ucoro.resume(reused))
      show("second", ucoro.resume(ucoro.create(in_sort("second"))))
      show("reused", ucoro.resume(reused))
      limit_address_space(nil)
      show("refused", ucoro.resume(refused))
      show("refused", ucoro.resume(refused))
      show("call", coroutine.wrap(function()
        return ucoro.call(in_sort("call"))
      end)())
    ]])
    assert.same({
      "create false not enough memory",
      "status suspended",
      "wrap false not enough memory",
      "call false not enough memory",
      "stock stock 1 stock 2",
      "parked true parked finished",
      "reused true reused",
      "second false not enough memory",
      "reused true reused finished",
      "refused true refused",
      "refused true refused finished",
      "call call",
    }, lines)
  end)

  it("keeps many parked coroutines and frees them all once refused", function()
    local lines = run([[
      collectgarbage("generational")
      local parked = {}
      for i = 1, 20 do
        parked[i] = ucoro.wrap(function()
          return (("ab"):gsub(".", function(c) return ucoro.yield(c .. i) end))
        end)
        assert(parked[i]() == "a" .. i)
      end
      limit_address_space(16 * 1024)
      local refusals = 0
      for _ = 1, 1000 do
        local ok, e = ucoro.resume(ucoro.create(function() end))
        if not ok and e == "not enough memory" then refusals = refusals + 1 end
      end
      show("refusals", refusals)
      local finished = 0
      for i = 1, 20 do
        assert(parked[i]("A") == "b" .. i)
        if parked[i]("B") == "AB" then finished = finished + 1 end
      end
      show("finished", finished)
      parked = nil
      collectgarbage()
      limit_address_space(nil)
      show("after", ucoro.resume(ucoro.create(function() return "ran" end)))
    ]])
    -- the first refused coroutine's would-be stack is never mapped: every
    -- create fails until the parked ones finish
    assert.same({ "refusals 1000", "finished 20", "after true ran" }, lines)
  end)
end)
