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

-- Each park is asked whether a __gc finalizer runs (lua_gc says -1 then):
-- a park there would leave the collector stopped in the middle of a step.
-- Every way into a finalizer that then yields, directly or under C
-- calls, is refused, also right after an allowed park at the same place.
describe("a yield inside a __gc finalizer", function()
  local REFUSED = "attempt to yield inside a __gc finalizer"

  -- Makes an object whose finalizer runs body and keeps its results.
  local function finalized(results, body)
    setmetatable({}, { __gc = function()
      results[#results + 1] = { body() }
    end })
  end

  local function yield_in_pcall() return pcall(ucoro.yield, "from gc") end

  local ways = {
    { "directly", yield_in_pcall },
    { "under pcall and a Lua call", function()
      return pcall(function() return (function() return ucoro.yield(1) end)() end)
    end },
    { "in a sort comparator", function()
      return pcall(table.sort, { 3, 1, 2 }, function(a, b) ucoro.yield() return a < b end)
    end },
    { "in a gsub callback", function()
      return pcall(string.gsub, "ab", ".", function(c) return ucoro.yield(c) end)
    end },
    { "inside ucoro.call", function()
      return pcall(ucoro.call, function() return ucoro.yield(1) end)
    end },
  }

  for _, way in ipairs(ways) do
    it(("is refused %s, the finalizer run from a sort comparator that parked before"):format(way[1]), function()
      local results, trips = {}, 0
      local w = ucoro.wrap(function()
        table.sort({ 2, 1 }, function(a, b)
          ucoro.yield("parked")       -- allowed: the same comparator
          finalized(results, way[2])
          collectgarbage()            -- the finalizer runs here, in it
          return a < b
        end)
        return "sorted"
      end)
      local got = w()
      while got == "parked" do trips = trips + 1; got = w() end
      assert.equal("sorted", got)
      assert.is_true(trips >= 1)
      assert.is_true(#results >= trips)
      for _, r in ipairs(results) do
        assert.is_false(r[1])
        assert.truthy(tostring(r[2]):find(REFUSED, 1, true), tostring(r[2]))
      end
      local again = ucoro.wrap(function() ucoro.yield(1) return 2 end)
      assert.same({ 1, 2 }, { again(), again() })
    end)

    it(("is refused %s, the finalizer run by a collection step in Lua code"):format(way[1]), function()
      local results = {}
      local co = ucoro.create(function()
        for _ = 1, 3 do
          finalized(results, way[2])
          ucoro.yield()               -- allowed: at Lua level
          collectgarbage("step", 0)
          collectgarbage()
        end
        return "done"
      end)
      local status, got
      repeat status, got = ucoro.resume(co) until ucoro.status(co) == "dead"
      assert.same({ true, "done" }, { status, got })
      assert.equal(3, #results)
      for _, r in ipairs(results) do
        assert.is_false(r[1])
        assert.truthy(tostring(r[2]):find(REFUSED, 1, true), tostring(r[2]))
      end
    end)
  end
end)
