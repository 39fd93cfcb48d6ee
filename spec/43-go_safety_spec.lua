-- ucoro.go under attack: objects a parked task relies on changed or
-- dropped behind its back, wake-ups from paths the scheduler does not
-- own, finalizers and lua_close with the scheduler busy.  Scenarios that
-- crashed run in a child interpreter.
local go = require "ucoro.go"
local ucoro = require "ucoro"
local helpers = require "helpers"

-- Runs source in a child; its output must be `want` and it must exit 0.
local function child_says(want, source)
  local out, ok = helpers.run_child(source)
  assert.equal(want, out)
  assert.is_true(ok, out)
end

local function run(f, ...)
  local r = table.pack(go.run(f, ...))
  assert(r[1], r[2])
  return table.unpack(r, 1, r.n)
end

describe("go.select's operations", function()
  -- an op is a plain table: whoever holds it may change it while the
  -- select that got it is parked; the select uses what it was given
  for _, what in ipairs({ "a table", "another channel", "nil" }) do
    it("are read once: a recv op whose channel is replaced by " .. what ..
       " while parked still receives from its channel", function()
      child_says("true\t1\tv\ttrue\n", ([[
        local go = require "ucoro.go"
        print(go.run(function()
          local ch, other = go.chan(), go.chan()
          local op = ch:recv_op()
          go.spawn(function()
            op[2] = %s
            collectgarbage()
            ch:send("v")
          end)
          return go.select(op)
        end))
      ]]):format(what == "a table" and "{}" or
                 what == "nil" and "nil" or "other"))
    end)
  end

  it("are read once: a send op whose channel and value are replaced while parked sends its value to its channel", function()
    child_says("true\t1\tv\n", [[
      local go = require "ucoro.go"
      print(go.run(function()
        local ch = go.chan()
        local op = ch:send_op("v")
        local t = go.spawn(function() return go.select(op) end)
        go.yield()
        op[2], op[3] = {}, "changed"
        collectgarbage()
        local v = ch:recv()
        assert(t:join())
        return 1, v
      end))
    ]])
  end)

  it("are read once: a join op whose task is replaced while parked joins its task", function()
    child_says("true\t1\ttrue\tr\n", [[
      local go = require "ucoro.go"
      print(go.run(function()
        local t = go.spawn(function() go.sleep(0.01) return "r" end)
        local op = t:join_op()
        go.spawn(function() op[2] = setmetatable({}, {}) end)
        return go.select(op)
      end))
    ]])
  end)

  it("keep what they wait on alive: a done op's scope dropped by its op while parked", function()
    child_says("true\t2\n", [[
      local go = require "ucoro.go"
      print(go.run(function()
        local op
        go.scope(function(s) op = s:done_op() end)
        go.spawn(function()
          op[2] = nil
          for _ = 1, 3 do collectgarbage() end
        end)
        return go.select(op, go.after(0.02))
      end))
    ]])
  end)
end)

describe("go.select with many cases", function()
  it("parks on 10,000 channels and commits the one that becomes ready", function()
    local got = table.pack(run(function()
      local ops, chans = {}, {}
      for i = 1, 10000 do
        chans[i] = go.chan()
        ops[i] = chans[i]:recv_op()
      end
      go.spawn(function() chans[7777]:send("v") end)
      return go.select(table.unpack(ops))
    end))
    assert.same({ true, 7777, "v", true, n = 4 }, got)
  end)

  it("commits one of 10,000 ready send cases, and leaves no value in the others", function()
    run(function()
      local ops, chans = {}, {}
      for i = 1, 10000 do
        chans[i] = go.chan(1)
        ops[i] = chans[i]:send_op(i)
      end
      local i = go.select(table.unpack(ops))
      for j = 1, 10000 do assert.equal(j == i and 1 or 0, #chans[j]) end
    end)
  end)

  it("with more cases than a stack holds raises a clear error", function()
    local ok, err = pcall(run, function()
      local op = go.chan():recv_op()
      local ops = {}
      for i = 1, 400000 do ops[i] = op end
      return go.select(table.unpack(ops))
    end)
    assert.is_false(ok)
    assert.matches("too many select cases", tostring(err))
  end)
end)

describe("a parked task's coroutine", function()
  it("resumed by another task stays parked: the foreign resume does not end its park", function()
    local got, foreign
    run(function()
      local ch = go.chan()
      local th
      local a = go.spawn(function()
        th = coroutine.running()
        got = table.pack(ch:recv())
      end)
      go.yield()
      foreign = table.pack(ucoro.resume(th, "forged"))
      assert.is_nil(got)
      assert.equal("parked", a:status())
      ch:send("real")
      assert(a:join())
    end)
    assert.same({ "real", true, n = 2 }, got)
    assert.is_true(foreign[1])
  end)

  it("resumed by another task while it is ready (woken, not yet run) runs once, with its wake-up", function()
    local got = {}
    run(function()
      local ch = go.chan(1)
      local th
      local a = go.spawn(function()
        th = coroutine.running()
        got[#got + 1] = ch:recv()
        got[#got + 1] = "after"
      end)
      go.yield()
      ch:send("real")  -- a ready, not yet run
      ucoro.resume(th)
      assert.same({}, got)
      assert(a:join())
    end)
    assert.same({ "real", "after" }, got)
  end)
end)
