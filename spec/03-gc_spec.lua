-- Garbage collection: unreachable parked coroutines give their stacks back.
local ucoro = require "ucoro"
local helpers = require "helpers"

local function park_in_sort()
  local co = ucoro.create(function()
    table.sort({ 3, 2, 1 }, function(a, b) ucoro.yield() return a < b end)
  end)
  assert(ucoro.resume(co))
  return co
end

describe("garbage collection", function()
  it("collects unreachable parked coroutines and reuses their stacks", function()
    collectgarbage()
    local before_kb = collectgarbage("count")
    local before_maps = helpers.count_guard_pages()
    local n = os.getenv("UCORO_TEST_QUICK") and 10000 or 100000
    for i = 1, n do
      park_in_sort()
      if i % 1000 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(collectgarbage("count") < before_kb + 1024)
    -- the pool caps what it keeps: some mappings, not one per coroutine
    assert.is_true(helpers.count_guard_pages() < before_maps + 300)
  end)

  it("keeps a parked coroutine alive while its thread is reachable", function()
    local kept = {}
    for i = 1, 50 do
      kept[i] = ucoro.create(function(x)
        local got = { ("ab"):gsub(".", function(c) return ucoro.yield(c .. x) end) }
        return got[1]
      end)
      assert.same({ true, "a" .. i }, { ucoro.resume(kept[i], i) })
    end
    collectgarbage()
    collectgarbage()
    for i = 1, 50 do
      assert.same({ true, "b" .. i }, { ucoro.resume(kept[i], "A") })
      assert.same({ true, "AB" }, { ucoro.resume(kept[i], "B") })
    end
  end)

  it("refuses a yield inside a __gc finalizer, and goes on", function()
    local result
    local co = ucoro.create(function()
      setmetatable({}, { __gc = function()
        result = { pcall(ucoro.yield, "from gc") }
      end })
      collectgarbage()
      return "after gc"
    end)
    assert.same({ true, "after gc" }, { ucoro.resume(co) })
    assert.same({ false, "attempt to yield inside a __gc finalizer" }, result)
    local w = ucoro.wrap(function() ucoro.yield(1) return 2 end)
    assert.same({ 1, 2 }, { w(), w() })
  end)
end)
