-- Limits: recursion, nesting and overflow end in errors or a reported
-- crash, never in silent corruption.  Each runs in a child interpreter.
local helpers = require "helpers"

-- Own stacks, and lean ones: shared stacks, guarded alike.
local modes = { own = 'require("ucoro").mode("own")\n',
                lean = 'require("ucoro").mode("lean")\n' }

describe("limits", function()
  for mode, setup in pairs(modes) do
    it("ends recursion through C boundaries with Lua's C stack overflow (" .. mode .. ")", function()
      -- bench/stack_depth.lua recurses through each standard-library boundary
      -- at the default stack size, and prints how each recursion ended
      local source = setup .. assert(io.open("bench/stack_depth.lua")):read("a")
      local output, ok = helpers.run_child(source)
      assert.is_true(ok, output)
      -- (those of the catalogue that have a stack figure)
      local measured = 0
      for _, b in ipairs(require("boundaries").list) do
        if b.stack then
          measured = measured + 1
          local line = output:match("\n" .. b.name:gsub("%p", "%%%0") .. " [^\n]*")
          assert.is_truthy(line, output)
          assert.matches("C stack overflow$", line)
        end
      end
      assert.is_true(measured >= 6)
    end)
  end

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

  for mode, setup in pairs(modes) do
    it("stops an overflow past the guard page with SIGSEGV (" .. mode .. ")", function()
      local output, ok, how, code = helpers.run_child(setup .. [[
        local ucoro = require "ucoro"
        local function rec() return (string.gsub("x", "x", rec)) end
        -- a lean coroutine parked on the same size of shared stack
        local parked = ucoro.create(function() ucoro.yield() end, 16 * 1024)
        ucoro.resume(parked)
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
  end
end)
