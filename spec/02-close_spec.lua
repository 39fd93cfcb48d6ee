-- close: pending to-be-closed variables, under C frames too, as stock.
local ucoro = require "ucoro"
local helpers = require "helpers"
local stock = coroutine

local function closer(log, name, fail)
  return setmetatable({}, { __close = function(_, err)
    log[#log + 1] = name .. ":" .. tostring(err)
    if fail then error(name .. " failed", 0) end
  end })
end

describe("ucoro.close", function()
  it("runs pending __close handlers under C frames, innermost first", function()
    local log = {}
    local co = ucoro.create(function()
      local _outer <close> = closer(log, "outer")
      table.sort({ 3, 1, 2 }, function(a, b)
        local _inner <close> = closer(log, "inner")
        string.gsub("x", "x", function()
          local _deepest <close> = closer(log, "deepest")
          ucoro.yield("parked")
        end)
        return a < b
      end)
      log[#log + 1] = "not reached"
    end)
    assert.same({ true, "parked" }, { ucoro.resume(co) })
    assert.equal("suspended", ucoro.status(co))
    assert.same({ true }, { ucoro.close(co) })
    assert.same({ "deepest:nil", "inner:nil", "outer:nil" }, log)
    assert.equal("dead", ucoro.status(co))
    assert.is_nil(ucoro.stackused(co))
    assert.same({ false, "cannot resume dead coroutine" }, { ucoro.resume(co) })
    assert.same({ true }, { ucoro.close(co) })
  end)

  it("follows stock rules when a __close handler fails", function()
    local function scenario(lib, park)
      local log = {}
      local co = lib.create(function()
        local _a <close> = closer(log, "a")
        local _b <close> = closer(log, "b", true)
        local _c <close> = closer(log, "c")
        park(lib)
      end)
      lib.resume(co)
      local result = { lib.close(co) }
      return log, result, lib.status(co)
    end
    local at_lua = function(lib) lib.yield() end
    local in_c = function(lib) table.sort({ 2, 1 }, function(x, y) lib.yield() return x < y end) end
    local slog, sresult, sstatus = scenario(stock, at_lua)
    local ulog, uresult, ustatus = scenario(ucoro, in_c)
    assert.same(slog, ulog)
    assert.same(sresult, uresult)
    assert.equal(sstatus, ustatus)
    assert.same({ false, "b failed" }, uresult)
    assert.same({ "c:nil", "b:nil", "a:b failed" }, ulog)
  end)

  it("returns false and the error of a coroutine that died by error", function()
    local err = {}
    local co = ucoro.create(function()
      table.sort({ 2, 1 }, function() error(err) end)
    end)
    local ok, e = ucoro.resume(co)
    assert.is_false(ok)
    assert.equal(err, e)
    local closed, e2 = ucoro.close(co)
    assert.is_false(closed)
    assert.equal(err, e2)
  end)

  it("closes the variables of a wrapped coroutine that errs, as stock", function()
    local function scenario(lib)
      local log = {}
      local w = lib.wrap(function()
        local _v <close> = closer(log, "v")
        error("oops", 0)
      end)
      local ok, e = pcall(w)
      return log, ok, e
    end
    assert.same({ scenario(stock) }, { scenario(ucoro) })
  end)

  it("closes a coroutine parked through a wrap", function()
    local log = {}
    local co
    local w = ucoro.wrap(function()
      co = ucoro.running()
      local _v <close> = closer(log, "v")
      string.gsub("ab", ".", ucoro.yield)
    end)
    assert.equal("a", w())
    assert.same({ true }, { ucoro.close(co) })
    assert.same({ "v:nil" }, log)
    local ok, e = pcall(w)
    assert.is_false(ok)
    assert.matches("cannot resume dead coroutine", e)
  end)

  it("refuses to close running and normal coroutines with stock messages", function()
    local function closing(lib)
      local seen = {}
      local outer
      outer = lib.create(function()
        lib.wrap(function()
          table.sort({ 2, 1 }, function(a, b)
            seen[1] = helpers.unnamed(select(2, pcall(lib.close, outer)))
            return a < b
          end)
        end)()
        -- Lua 5.5 closes the running coroutine (itself): nothing more runs
        seen[2] = helpers.unnamed(select(2, pcall(lib.close, outer)))
      end)
      seen.resumed = { lib.resume(outer) }
      seen.status = lib.status(outer)
      return seen
    end
    local seen = closing(ucoro)
    assert.same(closing(coroutine), seen)
    if _VERSION == "Lua 5.4" then
      assert.same({ "cannot close a normal coroutine", "cannot close a running coroutine",
                    resumed = { true }, status = "dead" }, seen)
    else
      assert.same({ "cannot close a normal coroutine", resumed = { true }, status = "dead" }, seen)
    end
  end)
end)
