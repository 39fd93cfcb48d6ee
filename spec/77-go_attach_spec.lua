-- ucoro.go attached to a loop someone else runs (uv.run).
local go = require "ucoro.go"
local uv = require "luv"

describe("go.attach", function()
  it("runs tasks while uv.run runs the loop, mixed with raw luv callbacks", function()
    go.attach()
    local order = {}
    local ch = go.chan()
    go.spawn(function()
      order[#order + 1] = "task start"
      local v = ch:recv()
      go.sleep(0.002)
      order[#order + 1] = "task got " .. v
    end)
    local t = uv.new_timer()
    t:start(5, 0, function()
      order[#order + 1] = "callback"
      go.spawn(function() ch:send("x") end)
      t:close()
    end)
    uv.run()
    -- the timer may fire before the first drain (the loop's clock is
    -- cached): only the task's end is ordered
    assert.equal("task got x", order[3])
    table.sort(order)
    assert.same({ "callback", "task got x", "task start" }, order)
    assert.same({}, go.detach())
  end)

  it("holds no ended task's results once detached", function()
    local weak = setmetatable({}, { __mode = "k" })
    go.attach()
    go.spawn(function() local v = {} weak[v] = true return v end)
    uv.run()
    assert.same({}, go.detach())
    collectgarbage() collectgarbage()
    assert.is_nil(next(weak))
  end)

  it("keeps the error of a task nobody joined: detach returns it", function()
    go.attach()
    go.spawn(function() go.sleep(0.001) error("not lost", 0) end)
    uv.run()
    assert.same({ "not lost" }, go.detach())
  end)

  it("refuses go.run while attached, and detach while tasks live", function()
    go.attach()
    assert.has_error(function() go.run(function() end) end)
    local t = go.spawn(function() go.sleep(0.001) end)
    assert.has_error(function() go.detach() end, "go.detach: 1 task(s) not ended")
    uv.run()
    assert.equal("done", t:status())
    go.detach()
    assert.has_error(function() go.detach() end, "go.detach: not attached")
  end)

  it("a blocking call in a raw luv callback raises a clear error", function()
    go.attach()
    local msg
    local t = uv.new_timer()
    t:start(1, 0, function()
      msg = select(2, pcall(go.sleep, 0.001))
      t:close()
    end)
    uv.run()
    go.detach()
    assert.matches("not inside a task", msg)
  end)
end)
