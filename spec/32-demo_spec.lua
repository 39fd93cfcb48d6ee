-- make demo's tour (examples/demo.lua): every case fails with stock
-- coroutines and gives its expected result with ucoro.
local helpers = require "helpers"

describe("the demo", function()
  it("shows each case failing with stock coroutines and working with ucoro", function()
    local source = assert(io.open("examples/demo.lua")):read("a")
    local output, ok = helpers.run_child(source)
    assert.is_true(ok, output)
    local _, stock_failures = output:gsub("stock coroutine: attempt to yield across a C%-call boundary", "")
    assert.equal(4, stock_failures)
    assert.matches("ucoro:           fig kiwi banana cherry (6 questions)", output, 1, true)
    assert.matches("ucoro:           1:THE 2:QUICK 3:BROWN 4:FOX", output, 1, true)
    assert.matches("all 3 scripts done at 15 ms", output, 1, true)
    assert.matches("Every ucoro case gave its expected result.", output, 1, true)
  end)

  it("notices when a case goes wrong (here: stock coroutines in ucoro's place)", function()
    local source = assert(io.open("examples/demo.lua")):read("a")
    local stock_only, n = source:gsub('local ucoro = require "ucoro"', "local ucoro = coroutine")
    assert.equal(1, n)
    local output, ok = helpers.run_child(stock_only)
    assert.is_nil(ok)
    assert.matches("4 case(s) went wrong.", output, 1, true)
  end)
end)
