-- ucoro.call: yields across C inside coroutines that ucoro did not create.
local ucoro = require "ucoro"
local helpers = require "helpers"

local function sort_yielding(t)
  table.sort(t, function(a, b)
    local verdict = ucoro.yield(a, b)
    if verdict == nil then return a < b end
    return verdict
  end)
  return t
end

describe("ucoro.call", function()
  it("lets a stock coroutine yield from under C, values both ways", function()
    local w = coroutine.wrap(function(x)
      local sorted = ucoro.call(sort_yielding, { 3, 1, 2 })
      return "sorted", table.concat(sorted, ","), x
    end)
    local comparisons = 0
    local a, b = w("arg")
    while a ~= "sorted" do
      assert.is_number(a)
      assert.is_number(b)
      comparisons = comparisons + 1
      a, b = w(a > b)  -- the resumer decides: descending order
    end
    assert.is_true(comparisons >= 2)
    assert.equal("3,2,1", b)
  end)

  it("relays the yielded values exactly, and nothing else", function()
    local co = coroutine.create(function()
      return ucoro.call(function(p, q)
        local r = { string.gsub("x", "x", function()
          return ucoro.yield(p, nil, q)
        end) }
        return table.unpack(r)
      end, "p", "q")
    end)
    assert.same({ true, "p", nil, "q", n = 4 }, table.pack(coroutine.resume(co)))
    assert.same({ true, "X", 1, n = 3 }, table.pack(coroutine.resume(co, "X")))
    assert.equal("dead", coroutine.status(co))
  end)

  it("propagates errors from f unchanged", function()
    local err = {}
    local ok, e = pcall(ucoro.call, function() table.sort({ 2, 1 }, function() error(err) end) end)
    assert.is_false(ok)
    assert.equal(err, e)
    local co = coroutine.create(function()
      ucoro.call(function()
        string.gsub("x", "x", function() ucoro.yield() error("late", 0) end)
      end)
    end)
    assert.is_true(coroutine.resume(co))
    assert.same({ false, "late" }, { coroutine.resume(co) })
  end)

  it("returns f's results when f does not yield", function()
    assert.same({ 1, nil, 3, n = 3 }, table.pack(ucoro.call(function(...) return ... end, 1, nil, 3)))
    assert.same({ n = 0 }, table.pack(ucoro.call(function() end)))
  end)

  it("refuses a yield from the main thread at the yield itself", function()
    local inner = { ucoro.call(function() return pcall(ucoro.yield, 1) end) }
    assert.same({ false, "attempt to yield from outside a coroutine" }, inner)
    local ok, e = pcall(ucoro.call, ucoro.yield, 1)
    assert.is_false(ok)
    assert.equal("attempt to yield from outside a coroutine", e)
    assert.equal(42, ucoro.call(function() return 42 end))  -- still usable
  end)

  it("refuses a yield when the caller itself cannot yield", function()
    local seen
    local co = coroutine.wrap(function()
      table.sort({ 2, 1 }, function(a, b)  -- stock coroutine, inside sort
        seen = { ucoro.call(function() return pcall(ucoro.yield) end) }
        return a < b
      end)
      return "finished"
    end)
    assert.equal("finished", co())
    assert.same({ false, "attempt to yield across a C-call boundary" }, seen)
  end)

  it("simply calls f inside a ucoro coroutine", function()
    local co
    co = ucoro.create(function()
      return ucoro.call(function()
        assert.equal(co, coroutine.running())
        return ucoro.yield("direct")
      end)
    end)
    assert.same({ true, "direct" }, { ucoro.resume(co) })
    assert.same({ true, "back" }, { ucoro.resume(co, "back") })
  end)

  it("reports the caller as the running coroutine inside f", function()
    local co
    co = coroutine.create(function()
      return ucoro.call(function()
        local running, ismain = ucoro.running()
        return running == co, ismain, ucoro.status(co), ucoro.isyieldable()
      end)
    end)
    assert.same({ true, true, false, "running", true }, { coroutine.resume(co) })
  end)

  it("closes f's pending variables when the caller is closed", function()
    local log = {}
    local function closer(name)
      return setmetatable({}, { __close = function(_, e) log[#log + 1] = name .. ":" .. tostring(e) end })
    end
    local co = coroutine.create(function()
      local _outer <close> = closer("outer")
      ucoro.call(function()
        local _inner <close> = closer("inner")
        table.sort({ 2, 1 }, function(a, b)
          local _deepest <close> = closer("deepest")
          ucoro.yield("parked")
          return a < b
        end)
      end)
    end)
    assert.same({ true, "parked" }, { coroutine.resume(co) })
    assert.same({ true }, { coroutine.close(co) })
    assert.same({ "deepest:nil", "inner:nil", "outer:nil" }, log)
  end)

  it("closes f's variables when f errs, as unwinding would", function()
    local log = {}
    local ok, e = pcall(ucoro.call, function()
      local _v <close> = setmetatable({}, { __close = function(_, err) log[1] = err end })
      error("boom", 0)
    end)
    assert.same({ false, "boom" }, { ok, e })
    assert.same({ "boom" }, log)
  end)

  it("gives back the stacks of callers collected while suspended", function()
    collectgarbage()
    local before = helpers.count_guard_pages()
    for _ = 1, 2000 do
      local co = coroutine.create(function()
        ucoro.call(function() string.gsub("x", "x", ucoro.yield) end)
      end)
      assert(coroutine.resume(co))
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(helpers.count_guard_pages() < before + 300)
  end)
end)
