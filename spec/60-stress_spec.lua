-- Stress: tools/stress.lua (random create/park/resume/close/drop/collect
-- operations, each checked, then memory checked) in a child interpreter,
-- at a short count; `make stress` runs the full million.
local helpers = require "helpers"

local COUNT = tonumber(os.getenv("UCORO_STRESS_COUNT")) or 10000

describe("stress", function()
  it("runs random operations with the results, __close calls and memory expected", function()
    local source = assert(io.open("tools/stress.lua")):read("a")
    -- its arguments: the count, and the seed
    local output, ok = helpers.run_child(("arg = { %d, 2 } "):format(COUNT) .. source)
    assert.is_true(ok, output)
    assert.matches("\nstress: ok\n", output, 1, true)
    assert.matches(("stress: %d ops"):format(COUNT), output, 1, true)
  end)
end)
