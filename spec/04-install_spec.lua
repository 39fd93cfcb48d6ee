-- install(): ucoro becomes the process-wide coroutine library.
local ucoro = require "ucoro"
local helpers = require "helpers"

describe("ucoro.install", function()
  helpers.keep_coroutine_library(before_each, after_each)

  it("replaces the coroutine table's functions in place", function()
    local table_before, functions_before = coroutine, helpers.save_coroutine_library()
    ucoro.install()
    assert.equal(table_before, coroutine)
    assert.equal(coroutine, package.loaded.coroutine)
    for _, k in ipairs(helpers.library) do
      assert.is_function(coroutine[k])
      assert.not_equal(functions_before[k], coroutine[k])
    end
    local w = coroutine.wrap(function()
      return ("abc"):gsub("%w", function(c) return coroutine.yield(c) end)
    end)
    assert.equal("a", w())
    assert.equal("b", w("1"))
    assert.equal("c", w("2"))
    assert.same({ "123", 3 }, { w("3") })
  end)

  it("names its functions in argument errors as stock does", function()
    local stock_message = select(2, pcall(coroutine.resume, 0))
    ucoro.install()
    for _ = 1, 10 do  -- no longer a matter of table order
      assert.equal(stock_message, select(2, pcall(coroutine.resume, 0)))
    end
    assert.equal("bad argument #1 to 'ucoro.resume' (thread expected, got number)",
                 select(2, pcall(ucoro.resume, 0)))
  end)

  it("leaves earlier-captured stock functions with clear errors", function()
    local stock_resume, stock_status, stock_close, stock_wrap =
      coroutine.resume, coroutine.status, coroutine.close, coroutine.wrap
    ucoro.install()
    local co = coroutine.create(function()
      table.sort({ 2, 1 }, function(a, b) coroutine.yield("parked") return a < b end)
    end)
    assert.same({ true, "parked" }, { coroutine.resume(co) })
    assert.same({ false, "cannot resume non-suspended coroutine" }, { stock_resume(co) })
    assert.equal("normal", stock_status(co))
    local ok, e = pcall(stock_close, co)
    assert.is_false(ok)
    assert.equal("cannot close a normal coroutine", helpers.unnamed(e))
    local stock_w = stock_wrap(function()
      table.sort({ 2, 1 }, function(a, b) coroutine.yield() return a < b end)
    end)
    -- a stock wrap cannot run ucoro's yield under C: a clear error
    ok, e = pcall(stock_w)
    assert.is_false(ok)
    assert.matches("attempt to yield across a C%-call boundary", e)
    assert.same({ true }, { coroutine.resume(co) })
    assert.equal("dead", coroutine.status(co))
  end)
end)
