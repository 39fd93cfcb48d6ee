-- make demo's ucoro.go part (examples/go_demo.lua) gives its expected results.
local helpers = require "helpers"

describe("the ucoro.go demo", function()
  it("runs the producer/consumer and the pipeline parked in LPeg", function()
    local source = assert(io.open("examples/go_demo.lua")):read("a")
    local output, ok = helpers.run_child(source)
    assert.is_true(ok, output)
    assert.matches("true THE QUICK BROWN FOX", output, 1, true)
    assert.matches("true a=fig b=pecan c=kiwi", output, 1, true)
    assert.matches("Every ucoro.go case gave its expected result.", output, 1, true)
  end)
end)
