-- Scale: many coroutines parked inside a table.sort comparator at once,
-- each count in a child interpreter running bench/parked.lua (which
-- resumes every one of them and checks that each sorted its table).
-- Under sanitizers and Valgrind (UCORO_TEST_TOOL) the counts are smaller
-- and memory per coroutine is not judged: the tools' own memory is
-- counted in it.
local helpers = require "helpers"
local ucoro = require "ucoro"

local tool = os.getenv("UCORO_TEST_TOOL") ~= nil

-- The ucontext backend keeps a ucontext_t on each suspended coroutine's
-- stack (936 bytes on x86-64, 4,560 on aarch64): allowed for on top.
local context_bytes = 0
if ucoro.backend == "ucontext" then
  context_bytes = require("ucoro_testmod").ucontext_size()
end

-- Runs bench/parked.lua MODE COUNT in a child; returns its fields.
local function parked(mode, count)
  local script = assert(io.open("bench/parked.lua")):read("a")
  local out, ok = helpers.run_child(
    ("arg = { [0] = 'parked.lua', %q, '%d', '1' }\n"):format(mode, count)
    .. script)
  assert(ok, out)
  local fields = {}
  for k, v in out:gmatch("(%w[%w_]*)=(%S+)") do
    fields[k] = tonumber(v) or v
  end
  assert.equal(count, fields.count, out)
  return fields
end

describe("at scale", function()
  local auto_count = tool and 3000 or 100000
  it(("parks %d coroutines by default, each within 8 KiB, guarded as far as "
      .. "the mapping budget goes"):format(auto_count), function()
    local n = auto_count
    local r = parked("auto", n)
    assert.equal(n, r.own + r.lean)
    -- own stacks up to the limit (a quarter of vm.max_map_count), each
    -- with its guard page; past it, lean ones on a few guarded stacks
    local limit = ucoro.ownlimit()
    assert.is_true(r.own <= limit)
    assert.is_true(r.guard_pages >= r.own)
    assert.is_true(r.guard_pages <= r.own + 64 + 8)  -- pool, shared stacks
    if n > limit then
      assert.is_true(r.own >= limit - 64)
      assert.is_true(r.lean >= n - limit)
    end
    if not tool then assert.is_true(r.rss_per_co <= 8192 + context_bytes, r.rss_per_co) end
  end)

  local lean_count, lean_bound = 1000000, 4096
  if ucoro.backend == "ucontext" then lean_count, lean_bound = 100000, 4096 + context_bytes end
  if tool then lean_count = 20000 end

  it(("parks %d lean coroutines, each within %d bytes"):format(lean_count, lean_bound), function()
    local r = parked("lean", lean_count)
    assert.same({ 0, lean_count }, { r.own, r.lean })
    assert.is_true(r.guard_pages <= 64 + 8)
    if not tool then assert.is_true(r.rss_per_co <= lean_bound, r.rss_per_co) end
  end)

  it("gives own stacks again once the limit is raised", function()
    local out, ok = helpers.run_child([[
      local ucoro = require "ucoro"
      local old = ucoro.ownlimit(0)
      local co = ucoro.create(function() ucoro.yield() end)
      ucoro.resume(co)
      local before = ucoro.mode(co)
      ucoro.ownlimit(old)
      local co2 = ucoro.create(function() ucoro.yield() end)
      ucoro.resume(co2)
      print(before, ucoro.mode(co2), ucoro.ownlimit() == old)
    ]])
    assert(ok, out)
    assert.equal("lean\town\ttrue\n", out)
  end)
end)
