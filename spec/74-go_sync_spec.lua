-- ucoro.go: the sync helpers written in Lua over channels.
local go = require "ucoro.go"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

describe("go sync helpers", function()
  it("waitgroup: wait parks until the counter is back to zero", function()
    local n = run(function()
      local wg, n = go.waitgroup(), 0
      for _ = 1, 5 do
        wg:add()
        go.spawn(function() go.sleep(0.001) n = n + 1 wg:done() end)
      end
      assert.is_true(wg:wait())
      return n
    end)
    assert.equal(5, n)
  end)

  it("waitgroup: wait with a timeout, and a negative counter raises", function()
    run(function()
      local wg = go.waitgroup()
      wg:add()
      assert.is_false(wg:wait(0.005))
      wg:done()
      assert.is_true(wg:wait())
      assert.has_error(function() wg:done() end)
    end)
  end)

  it("mutex: one holder at a time, across parks", function()
    local max = run(function()
      local m, inside, max = go.mutex(), 0, 0
      go.scope(function()
        for _ = 1, 4 do
          go.spawn(function()
            m.lock()
            inside = inside + 1
            max = math.max(max, inside)
            go.sleep(0.001)
            inside = inside - 1
            m.unlock()
          end)
        end
      end)
      return max
    end)
    assert.equal(1, max)
  end)

  it("semaphore: at most n holders; release without acquire raises", function()
    local max = run(function()
      local s, inside, max = go.semaphore(2), 0, 0
      go.scope(function()
        for _ = 1, 6 do
          go.spawn(function()
            s:acquire()
            inside = inside + 1
            max = math.max(max, inside)
            go.sleep(0.001)
            inside = inside - 1
            s:release()
          end)
        end
      end)
      assert.has_error(function() s:release() end)
      return max
    end)
    assert.equal(2, max)
  end)

  it("cond: signal wakes one waiter, broadcast all; a timed-out wait leaves", function()
    run(function()
      local c, woken = go.cond(), 0
      for _ = 1, 3 do go.spawn(function() c:wait() woken = woken + 1 end) end
      go.yield()
      c:signal()
      go.sleep(0.001)
      assert.equal(1, woken)
      c:broadcast()
      go.sleep(0.001)
      assert.equal(3, woken)
      assert.is_false(c:wait(0.002))
      c:signal()  -- nobody waits: no-op
    end)
  end)

  it("cond: a waiter cancelled while it waits leaves, so a later signal wakes the next", function()
    run(function()
      local c = go.cond()
      local a = go.spawn(function() c:wait() end)
      go.yield()
      a:cancel()
      assert.is_false((a:join()))
      local got
      local b = go.spawn(function() got = c:wait(0.05) end)
      go.yield()
      c:signal()
      b:join()
      assert.is_true(got)
    end)
  end)

  it("ticker: ticks every s seconds until stopped", function()
    local ticks = run(function()
      local t = go.ticker(0.005)
      local ticks, start = {}, go.now()
      for k = 1, 3 do  -- a fixed cadence: tick k never before start + k*s
        local at = t.c:recv()
        ticks[#ticks + 1] = at - start >= k * 0.005
      end
      t:stop()
      return ticks
    end)
    assert.same({ true, true, true }, ticks)
  end)

  it("timer: runs f after s seconds unless stopped", function()
    local fired = run(function()
      local fired = {}
      go.timer(0.002, function() fired[#fired + 1] = "a" end)
      local b = go.timer(0.002, function() fired[#fired + 1] = "b" end)
      assert.is_true(b.stop())
      go.sleep(0.01)
      return fired
    end)
    assert.same({ "a" }, fired)
  end)
end)

describe("README's example", function()
  it("sums what a producer sends", function()
    assert.same({ true, 6 }, { go.run(function()
      local ch = go.chan()
      go.spawn(function()
        for i = 1, 3 do ch:send(i) end
        ch:close()
      end)
      local sum = 0
      for v in ch:values() do sum = sum + v end
      return sum
    end) })
  end)
end)
