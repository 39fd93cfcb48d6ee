-- Bad input: every function, given each wrong kind of argument, answers
-- with a clear error or result (as stock coroutine does), never a crash.
local ucoro = require "ucoro"
local helpers = require "helpers"
local stock = coroutine

local dead = ucoro.create(function() end)
ucoro.resume(dead)
local erred = ucoro.create(function() error("x") end)
ucoro.resume(erred)
local wrong = { 1, "s", {}, true, print, io.stdout }

-- Runs f(...) protected; the error message without the function's name.
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] then r[2] = helpers.unnamed(r[2]) end
  return r
end

describe("bad input", function()
  for _, name in ipairs({ "resume", "status", "close" }) do
    it(name .. " rejects what is not a thread, as stock", function()
      for _, v in ipairs(wrong) do
        assert.same(try(stock[name], v), try(ucoro[name], v))
      end
      assert.same(try(stock[name]), try(ucoro[name]))
      assert.same(try(stock[name], nil), try(ucoro[name], nil))
    end)
  end

  for _, name in ipairs({ "create", "wrap" }) do
    it(name .. " rejects what is not a function, as stock", function()
      for _, v in ipairs({ 1, "s", {}, true, nil }) do
        assert.same(try(stock[name], v), try(ucoro[name], v))
      end
    end)

    it(name .. " rejects stack sizes that are not positive integers", function()
      for _, size in ipairs({ 0, -1, -2 ^ 62, 1.5, "big", {}, true, 0 / 0 }) do
        local r = try(ucoro[name], print, size)
        assert.is_false(r[1])
        assert.matches("^bad argument #2 to '%?' %(", r[2])
      end
    end)
  end

  it("reports a stack size too large to map when the coroutine starts", function()
    local co = ucoro.create(function() return "never" end, 2 ^ 60)
    assert.same({ false, "not enough memory" }, { ucoro.resume(co) })
    local w = ucoro.wrap(function() return "never" end, 2 ^ 60)
    assert.same({ false, "not enough memory" }, { pcall(w) })
    assert.same({ true, "fine" }, { ucoro.resume(ucoro.create(function() return "fine" end)) })
  end)

  it("stacksize rejects what is not a positive integer, keeping the old one", function()
    local old = ucoro.stacksize()
    for _, size in ipairs({ 0, -1, 1.5, "big", {}, true }) do
      assert.is_false(pcall(ucoro.stacksize, size))
      assert.equal(old, ucoro.stacksize())
    end
  end)

  it("handles dead, erred, running and normal coroutines as stock", function()
    local function scenario(lib, d, e)
      local rows = {}
      local function row(...) rows[#rows + 1] = try(...) end
      row(lib.resume, d)
      row(lib.resume, e)
      row(lib.status, d)
      row(lib.status, e)
      row(lib.close, d)
      row(lib.isyieldable, d)
      local outer
      outer = lib.create(function()
        row(lib.resume, outer)
        row(lib.close, outer)
        row(lib.status, outer)
        lib.resume(lib.create(function()
          row(lib.resume, outer)
          row(lib.close, outer)
          row(lib.status, outer)
        end))
      end)
      lib.resume(outer)
      return rows
    end
    local sd = stock.create(function() end)
    stock.resume(sd)
    local se = stock.create(function() error("x") end)
    stock.resume(se)
    assert.same(scenario(stock, sd, se), scenario(ucoro, dead, erred))
  end)

  it("isyieldable and stackused reject what is not a thread", function()
    for _, v in ipairs(wrong) do
      assert.same(try(stock.isyieldable, v), try(ucoro.isyieldable, v))
      assert.is_false(pcall(ucoro.stackused, v))
    end
    assert.is_nil(ucoro.stackused(dead))
    assert.is_nil(ucoro.stackused())  -- the main thread has no native stack
  end)

  it("call rejects a value it cannot call, as a plain call would", function()
    for _, v in ipairs({ 1, "s", {}, true }) do
      local ok, e = pcall(ucoro.call, v)
      assert.is_false(ok)
      assert.matches("attempt to call a %w+ value", e)
    end
    assert.is_false(pcall(ucoro.call))
  end)
end)
