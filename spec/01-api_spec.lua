-- The coroutine API: results, statuses and messages as stock Lua 5.4's.
local ucoro = require "ucoro"
local helpers = require "helpers"
local stock = coroutine

-- Runs the same scenario with stock coroutines and with ucoro, and returns
-- both traces; the scenario gets the library and a function to record.
local function both(scenario)
  local traces = {}
  for i, lib in ipairs({ stock, ucoro }) do
    local trace = {}
    local function record(...)
      local row = table.pack(...)
      for k = 1, row.n do
        local v = row[k]
        if type(v) == "string" then row[k] = helpers.unnamed(v)
        elseif type(v) == "thread" or type(v) == "function" then row[k] = type(v)
        end
      end
      trace[#trace + 1] = row
    end
    scenario(lib, record)
    traces[i] = trace
  end
  return traces[1], traces[2]
end

describe("ucoro's API", function()
  it("returns a real thread, running its body on that thread", function()
    local co
    co = ucoro.create(function()
      assert.equal(co, ucoro.running())
      assert.equal(co, stock.running())
      local _, ismain = ucoro.running()
      assert.is_false(ismain)
      return "done"
    end)
    assert.equal("thread", type(co))
    assert.same({ true, "done" }, { ucoro.resume(co) })
  end)

  it("passes values both ways as stock does", function()
    local a, b = both(function(lib, record)
      local co = lib.create(function(...)
        record("start", ...)
        local x, y = lib.yield(1, nil, 3)
        record("got", x, y)
        local z = lib.yield()
        record("got", z)
        return "end", nil, z
      end)
      record(lib.resume(co, "a", nil, "c"))
      record(lib.resume(co, "x", "y"))
      record(lib.resume(co))
      record(lib.resume(co, "late"))
      record(lib.status(co))
    end)
    assert.same(a, b)
  end)

  it("reports the four statuses as stock does", function()
    local a, b = both(function(lib, record)
      local outer, inner
      inner = lib.create(function()
        record("inner sees", lib.status(inner), lib.status(outer))
        lib.yield()
      end)
      outer = lib.create(function()
        record("outer sees", lib.status(outer), lib.status(inner))
        lib.resume(inner)
        record("outer sees", lib.status(inner))
        lib.yield()
      end)
      record("main sees", lib.status(outer))
      lib.resume(outer)
      record("main sees", lib.status(outer), lib.status(inner))
      lib.resume(outer)
      record("main sees", lib.status(outer))
    end)
    assert.same(a, b)
  end)

  it("reports errors as stock does, passing error objects unchanged", function()
    local a, b = both(function(lib, record)
      local err = {}
      record(lib.resume(lib.create(function() error("plain") end)))
      record(lib.resume(lib.create(function() error("nolevel", 0) end)))
      local co = lib.create(function() error(err) end)
      local ok, e = lib.resume(co)
      record(ok, e == err, lib.status(co))
      record(lib.resume(co))
      record(lib.resume(lib.create(function() error() end)))
      record(lib.resume(lib.create(function() error(42) end)))
      record(pcall(lib.wrap(function() error("wrapped") end)))
      record(pcall(lib.wrap(function() error(err) end)))
      local w = lib.wrap(function() end)
      w()
      record(pcall(w))
    end)
    assert.same(a, b)
  end)

  it("adds the caller's position to errors re-raised by wrap", function()
    local w = ucoro.wrap(function() error("inside") end)
    local ok, e = pcall(function() w() end)
    assert.is_false(ok)
    assert.matches("^.-01%-api_spec%.lua:%d+: .-01%-api_spec%.lua:%d+: inside$", e)
  end)

  it("refuses to resume what is not suspended, as stock does", function()
    local a, b = both(function(lib, record)
      local self
      self = lib.create(function()
        record(lib.resume(self))
        record(pcall(lib.close, self))
        local child = lib.create(function()
          record(lib.resume(self))
          record(pcall(lib.close, self))
        end)
        lib.resume(child)
      end)
      lib.resume(self)
      record(lib.resume(lib.running()))
    end)
    assert.same(a, b)
  end)

  it("checks its arguments with stock messages", function()
    local a, b = both(function(lib, record)
      record(pcall(lib.resume, 1))
      record(pcall(lib.resume))
      record(pcall(lib.status, {}))
      record(pcall(lib.close, "x"))
      record(pcall(lib.create, 1))
      record(pcall(lib.wrap))
      record(pcall(lib.isyieldable, 1))
    end)
    assert.same(a, b)
  end)

  it("refuses a yield from outside any coroutine, as stock does", function()
    local ok, e = pcall(ucoro.yield, 1)
    assert.is_false(ok)
    assert.equal("attempt to yield from outside a coroutine", e)
    assert.is_false(ucoro.isyieldable())
    local main, ismain = ucoro.running()
    assert.equal("thread", type(main))
    assert.is_true(ismain)
  end)

  it("is yieldable anywhere inside its coroutines, even under C", function()
    local seen = {}
    local co = ucoro.wrap(function()
      seen[#seen + 1] = ucoro.isyieldable()
      table.sort({ 2, 1 }, function(x, y)
        seen[#seen + 1] = ucoro.isyieldable()
        seen[#seen + 1] = stock.isyieldable()  -- stock cannot know
        return x < y
      end)
    end)
    co()
    assert.same({ true, true, false }, seen)
  end)

  it("accepts a stock coroutine.yield where stock allows one", function()
    local co = ucoro.create(function(x)
      local y = stock.yield(x + 1)
      table.sort({ 2, 1 }, function(p, q) ucoro.yield("sorting") return p < q end)
      return y * 2
    end)
    assert.same({ true, 2 }, { ucoro.resume(co, 1) })
    assert.equal("suspended", ucoro.status(co))
    assert.same({ true, "sorting" }, { ucoro.resume(co, 10) })
    assert.same({ true, 20 }, { ucoro.resume(co) })
    assert.equal("dead", ucoro.status(co))
  end)

  it("drives stock coroutines too, with the same powers", function()
    local co = stock.create(function()
      table.sort({ 2, 1 }, function(p, q) ucoro.yield("inside sort") return p < q end)
      return "sorted"
    end)
    assert.same({ true, "inside sort" }, { ucoro.resume(co) })
    assert.same({ true, "sorted" }, { ucoro.resume(co) })
  end)

  it("leaves a stock coroutine resumed inside it stock", function()
    local inner_result
    local co = ucoro.wrap(function()
      local inner = stock.create(function()
        table.sort({ 2, 1 }, function(p, q) stock.yield() return p < q end)
      end)
      inner_result = { stock.resume(inner) }
      return "outer done"
    end)
    assert.equal("outer done", co())
    assert.same({ false, "attempt to yield across a C-call boundary" }, inner_result)
  end)

  it("names its backend, version and default stack size", function()
    assert.is_string(ucoro.backend)
    assert.matches("^ucoro %d+%.%d+%.%d+$", ucoro._VERSION)
    assert.is_true(ucoro.stacksize() >= 256 * 1024)
  end)

  it("sets the default stack size, and takes one per coroutine", function()
    local old = ucoro.stacksize(128 * 1024)
    assert.equal(128 * 1024, ucoro.stacksize(old))
    assert.equal(old, ucoro.stacksize())
    local used
    local co = ucoro.create(function()
      used = ucoro.stackused()
      return "small"
    end, 64 * 1024)
    assert.same({ true, "small" }, { ucoro.resume(co) })
    assert.is_true(used > 0 and used < 64 * 1024)
    assert.has_error(function() ucoro.create(print, 0) end)
    assert.has_error(function() ucoro.stacksize(-1) end)
    assert.has_error(function() ucoro.wrap(print, "big") end)
  end)
end)
