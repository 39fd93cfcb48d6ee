-- A short run of the differential fuzzer (tools/fuzz/; make fuzz runs
-- 100,000): generated programs give the same trace under ucoro as under
-- the Lua model of their C boundaries, through ucoro.call as well, and as
-- under stock coroutines when they never yield across C.
package.path = "tools/?.lua;" .. package.path
local check = require "fuzz.check"
local exec = require "fuzz.exec"
local ucoro = require "ucoro"

local SEED = 20240607
local COUNT = os.getenv("UCORO_TEST_QUICK") and 60 or 300

-- Checks programs first..last; returns the divergences' descriptions and
-- how many programs were also compared with stock Lua.
local function fuzz(first, last, opts)
  local failures, against_stock = {}, 0
  for index = first, last do
    local r = check.program(SEED, index, opts)
    if r.divergence then
      failures[#failures + 1] = table.concat(check.describe(r), "\n")
    elseif not r.crossed then
      against_stock = against_stock + 1
    end
  end
  return failures, against_stock
end

describe("differential fuzzing", function()
  it(("finds no divergence in %d programs of seed %d"):format(COUNT, SEED), function()
    local failures, against_stock = fuzz(1, COUNT)
    assert.are.equal(0, #failures, table.concat(failures, "\n"))
    -- both kinds of program ran: some stock Lua can run, some it cannot
    assert.is_true(against_stock > COUNT / 4, "too few programs compared with stock")
    assert.is_true(against_stock < COUNT, "no program yielded across C")
  end)

  it("notices a coroutine library that is wrong in one status", function()
    local broken = setmetatable({
      status = function(co)
        local s = ucoro.status(co)
        return s == "dead" and "suspended" or s
      end,
    }, { __index = ucoro })
    local failures = fuzz(1, 30, { ucoro = broken })
    assert.is_true(#failures > 0)
    assert.matches("ucoro differs from %a+ at trace line", failures[1])
  end)

  it("runs a setup hook before each ucoro run", function()
    local calls = 0
    local trace = exec.run("T('x', CO.status(CO.create(function() end)))", "ucoro",
                           { setup = function(u) calls = calls + 1; assert(u.call) end })
    assert.are.equal(1, calls)
    assert.same({ 'x 1: "suspended"', "end" }, trace)
  end)
end)
