-- Recursion through ucoro's own C functions, on a native stack, ends in
-- Lua's "C stack overflow" error, on every Lua release, never in a crash.
-- Each case runs in a child interpreter, with own and with lean stacks.
local helpers = require "helpers"

local modes = { own = 'require("ucoro").mode("own")\n',
                lean = 'require("ucoro").mode("lean")\n' }

-- Does wrap raise the error of the close, when a __close raises one, over
-- the coroutine's own?  (Stock Lua from 5.4.3 on; before, the latter.)
local function wrap_raises_close_error()
  local w = coroutine.wrap(function()
    local _x <close> = setmetatable({}, { __close = function() error("close", 0) end })
    error("body", 0)
  end)
  return select(2, pcall(w)) == "close"
end

-- Runs source in a child; it prints one line "<ok>\t<message>\t<count>".
local function run(setup, source)
  local output, ok, how, code = helpers.run_child(setup .. source)
  assert.is_true(ok, ("%s (%s %s)"):format(output, how, code))
  local st, message, count = output:match("^(%a+)\t([^\t]*)\t(%d+)\n$")
  assert.is_truthy(st, output)
  return st, message, tonumber(count)
end

describe("recursion through ucoro's functions", function()
  for mode, setup in pairs(modes) do
    -- Lua 5.4.6+'s testes/cstack.lua, "chain of coroutine.close", inside a
    -- ucoro coroutine: each coroutine's __close closes the previous one.
    -- (Lua 5.4.0 to 5.4.4 do not count these closes; 5.4.6 does.)
    it("through close from __close ends in C stack overflow (" .. mode .. ")", function()
      local st, message, count = run(setup, [[
        local ucoro = require "ucoro"
        local count = 0
        local function chain(n)
          local coro = false
          for _ = 1, n do
            local previous = coro
            coro = ucoro.create(function()
              local cc <close> = setmetatable({}, { __close = function()
                count = count + 1
                if previous then assert(ucoro.close(previous)) end
              end })
              ucoro.yield()
            end)
            assert(ucoro.resume(coro))
          end
          return ucoro.close(coro)
        end
        local _, st, message = ucoro.resume(ucoro.create(function() return chain(3000) end))
        print(st, (tostring(message):gsub("^.*: ", "")), count)
      ]])
      assert.same({ "false", "C stack overflow" }, { st, message })
      assert.is_true(count > 100 and count < 3000, tostring(count))
    end)

    -- wrap closes a coroutine that died by error, running its __close,
    -- which calls the next wrap whose coroutine errs too...
    it("through wrap from __close ends in C stack overflow (" .. mode .. ")", function()
      local st, message = run(setup, [[
        local ucoro = require "ucoro"
        local count = 0
        local w = false
        for _ = 1, 3000 do
          local previous = w
          w = ucoro.wrap(function()
            local cc <close> = setmetatable({}, { __close = function()
              count = count + 1
              if previous then previous() end
            end })
            error("down")
          end)
        end
        local _, ok, message = ucoro.resume(ucoro.create(function() return pcall(w) end))
        print(ok, (tostring(message):gsub("^.*: ", "")), count)
      ]])
      -- (before 5.4.3 wrap raises the coroutine's own error: "down")
      assert.same({ "false", wrap_raises_close_error() and "C stack overflow" or "down" },
                  { st, message })
    end)

    -- ucoro.call from stock coroutines nested in each other: each call
    -- runs f on a helper's native stack, which resumes the next
    it("through ucoro.call nesting ends in C stack overflow (" .. mode .. ")", function()
      local st, message = run(setup, [[
        local ucoro = require "ucoro"
        local depth = 0
        local function nest()
          depth = depth + 1
          return coroutine.wrap(function()
            return ucoro.call(function() return (string.gsub("x", "x", nest)) end)
          end)()
        end
        local ok, message = pcall(nest)
        print(ok, (tostring(message):gsub("^.*: ", "")), depth)
      ]])
      assert.same({ "false", "C stack overflow" }, { st, message })
    end)
  end
end)
