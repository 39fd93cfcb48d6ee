-- Limits: recursion, nesting and overflow end in errors or a reported
-- crash, never in silent corruption.  Each runs in a child interpreter.
local helpers = require "helpers"

describe("limits", function()
  it("ends recursion through C boundaries with Lua's C stack overflow", function()
    local output, ok = helpers.run_child([[
      local ucoro = require "ucoro"
      local rec
      local steps = {
        gsub = function(n) return (string.gsub("x", "x", function() return rec(n + 1) end)) end,
        format = function(n) return string.format("%s", setmetatable({},
          { __tostring = function() rec(n + 1) return "" end })) end,
        concat = function(n) return table.concat(setmetatable({},
          { __index = function() rec(n + 1) return "" end, __len = function() return 1 end })) end,
        sort = function(n) table.sort({ 2, 1 }, function(a, b) rec(n + 1) return a < b end) end,
        pcall = function(n) local ok, e = pcall(rec, n + 1) if not ok then error(e, 0) end end,
        load = function(n)
          local done = false
          local f, e = load(function()
            if done then return nil end
            done = true
            rec(n + 1)
            return ""
          end)
          if not f then error(e, 0) end
        end,
      }
      for _, name in ipairs({ "gsub", "format", "concat", "sort", "pcall", "load" }) do
        rec = function(n) return steps[name](n) end
        local ok, e = ucoro.resume(ucoro.create(function() return rec(0) end))
        print(name, ok, (tostring(e):gsub("^.*: ", "")))
      end
    ]])
    assert.is_true(ok, output)
    for _, name in ipairs({ "gsub", "format", "concat", "sort", "pcall", "load" }) do
      assert.matches(name .. "\tfalse\tC stack overflow", output, 1, true)
    end
  end)

  it("ends coroutines nested without end with an error", function()
    local output, ok = helpers.run_child([[
      local ucoro = require "ucoro"
      local depth = 0
      local function nest()
        depth = depth + 1
        return ucoro.wrap(function()
          return table.concat({ ("x"):gsub("x", function() return nest() end) })
        end)()
      end
      local ok, e = pcall(nest)
      print(ok, depth > 50, (tostring(e):gsub("^.*: ", "")))
    ]])
    assert.is_true(ok, output)
    assert.matches("false\ttrue\tC stack overflow", output, 1, true)
  end)

  it("stops an overflow past the guard page with SIGSEGV", function()
    local output, ok, how, code = helpers.run_child([[
      local ucoro = require "ucoro"
      local function rec() return (string.gsub("x", "x", rec)) end
      print("starting")
      io.stdout:flush()
      ucoro.resume(ucoro.create(rec, 16 * 1024))
      print("survived")
    ]])
    assert.is_nil(ok)
    assert.matches("starting", output)
    assert.not_matches("survived", output)
    if helpers.asan then  -- AddressSanitizer reports the overflow itself
      assert.matches("AddressSanitizer: stack%-overflow", output)
      assert.same({ "exit", 1 }, { how, code })
    else
      assert.same({ "signal", 11 }, { how, code })
    end
  end)
end)
