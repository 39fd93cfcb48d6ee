-- ucoro.go: channels and select, Go's rules one by one.
local go = require "ucoro.go"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

describe("channels", function()
  it("rendezvous: send parks until a receiver takes the value", function()
    local order = {}
    run(function()
      local ch = go.chan()
      go.spawn(function() ch:send(1) order[#order + 1] = "sent" end)
      go.sleep(0.005)
      order[#order + 1] = "before recv"
      assert.same({ 1, true }, { ch:recv() })
      go.yield()
    end)
    assert.same({ "before recv", "sent" }, order)
  end)

  it("buffered: send does not park until the buffer is full; #ch counts", function()
    run(function()
      local ch = go.chan(2)
      assert.equal(2, ch:cap())
      ch:send("a") ch:send("b")
      assert.equal(2, #ch)
      assert.is_false(ch:try_send("c"))
      assert.same({ "a", true }, { ch:recv() })
      assert.equal(1, #ch)
    end)
  end)

  it("FIFO, also with parked senders behind a full buffer", function()
    local got = run(function()
      local ch = go.chan(1)
      go.spawn(function() for i = 1, 5 do ch:send(i) end ch:close() end)
      go.sleep(0.002)
      local got = {}
      for v in ch:values() do got[#got + 1] = v end
      return got
    end)
    assert.same({ 1, 2, 3, 4, 5 }, got)
  end)

  it("nil is a value: recv tells it from closed", function()
    run(function()
      local ch = go.chan(1)
      ch:send(nil)
      assert.same({ nil, true, n = 2 }, table.pack(ch:recv()))
      ch:close()
      assert.same({ nil, false, "closed", n = 3 }, table.pack(ch:recv()))
    end)
  end)

  it("close is graceful: buffered values are still received", function()
    run(function()
      local ch = go.chan(3)
      ch:send(1) ch:send(2) ch:close()
      assert.is_true(ch:closed())
      assert.same({ 1, true }, { ch:recv() })
      assert.same({ 2, true }, { ch:recv() })
      assert.same({ nil, false, "closed" }, { ch:recv() })
    end)
  end)

  it("close wakes every parked receiver with closed", function()
    local results = run(function()
      local ch = go.chan()
      local ts = {}
      for i = 1, 3 do ts[i] = go.spawn(function() return ch:recv() end) end
      go.yield()
      ch:close()
      local r = {}
      for i = 1, 3 do r[i] = { select(2, ts[i]:join()) } end
      return r
    end)
    for i = 1, 3 do assert.same({ nil, false, "closed" }, results[i]) end
  end)

  it("send on a closed channel raises, also for a sender parked when it closes", function()
    run(function()
      local ch = go.chan()
      local t = go.spawn(function() ch:send(1) end)
      go.yield()
      ch:close()
      local ok, err = t:join()
      assert.is_false(ok)
      assert.matches("send on closed channel", err)
      assert.has_error(function() ch:send(2) end)
      assert.has_error(function() ch:try_send(2) end)
    end)
  end)

  it("a second close raises", function()
    local ch = go.chan()
    ch:close()
    assert.has_error(function() ch:close() end, "close of closed channel")
  end)

  it("recv and send take a timeout", function()
    run(function()
      local ch = go.chan()
      assert.same({ nil, false, "timeout" }, { ch:recv(0.005) })
      assert.same({ false, "timeout" }, { ch:send(1, 0.005) })
      -- the value of a send that timed out is not delivered later
      go.spawn(function() go.sleep(0.002) ch:send(2) end)
      assert.same({ 2, true }, { ch:recv(1) })
    end)
  end)

  it("a cancelled or timed-out sender's value is not kept by the channel", function()
    local weak = setmetatable({}, { __mode = "k" })
    run(function()
      local ch = go.chan()
      local t = go.spawn(function() local v = {} weak[v] = "send" ch:send(v) end)
      local u = go.spawn(function() local v = {} weak[v] = "select" go.select(ch:send_op(v)) end)
      local w = go.spawn(function() local v = {} weak[v] = "timeout" return ch:send(v, 0.001) end)
      assert.same({ true, false, "timeout" }, { w:join() })
      t:cancel() u:cancel()
      t:join() u:join()
      collectgarbage() collectgarbage()
      assert.is_nil(next(weak))
      assert.same({ nil, false, "timeout" }, { ch:recv(0.001) })
    end)
  end)

  it("try_send and try_recv never park", function()
    local ch = go.chan(1)
    assert.same({ nil, false, "empty" }, { ch:try_recv() })
    assert.is_true(ch:try_send(1))
    assert.is_false(ch:try_send(2))
    assert.same({ 1, true }, { ch:try_recv() })
    ch:close()
    assert.same({ nil, false, "closed" }, { ch:try_recv() })
  end)

  it("checks its capacity", function()
    assert.has_error(function() go.chan(-1) end)
    assert.has_error(function() go.chan(1.5) end)
  end)
end)

describe("select", function()
  it("takes the ready case and returns its index and results", function()
    run(function()
      local a, b = go.chan(1), go.chan(1)
      b:send("x")
      assert.same({ 2, "x", true }, { go.select(a:recv_op(), b:recv_op()) })
    end)
  end)

  it("parks until a case is ready; exactly one commits", function()
    run(function()
      local a, b = go.chan(), go.chan()
      go.spawn(function() a:send(1) end)
      go.spawn(function() b:send(2) end)
      local i, v = go.select(a:recv_op(), b:recv_op())
      assert.equal(i, v)
      -- the other sender is still parked: its value was not taken
      local other = i == 1 and b or a
      assert.same({ 3 - i, true }, { other:recv() })
    end)
  end)

  it("send cases: the value goes to exactly one receiver", function()
    run(function()
      local a, b = go.chan(), go.chan()
      local ra = go.spawn(function() return a:recv(0.02) end)
      local rb = go.spawn(function() return b:recv(0.02) end)
      go.yield()
      local i = go.select(a:send_op("A"), b:send_op("B"))
      local _, va = ra:join()
      local _, vb = rb:join()
      if i == 1 then assert.equal("A", va) assert.is_nil(vb)
      else assert.equal("B", vb) assert.is_nil(va) end
    end)
  end)

  it("go.default when nothing is ready", function()
    run(function()
      local a = go.chan()
      assert.same({ 2 }, { go.select(a:recv_op(), go.default) })
    end)
  end)

  it("nil disables a case (Go's nil channel)", function()
    run(function()
      local a = go.chan(1)
      a:send(1)
      assert.same({ 3, 1, true }, { go.select(nil, nil, a:recv_op()) })
      assert.same({ 2 }, { go.select(nil, go.default) })
    end)
  end)

  it("go.after fires the timeout case", function()
    run(function()
      local a = go.chan()
      local t0 = go.now()
      assert.equal(2, (go.select(a:recv_op(), go.after(0.01))))
      assert.is_true(go.now() - t0 >= 0.01)
    end)
  end)

  it("a closed channel's recv case is ready with closed", function()
    run(function()
      local a = go.chan()
      a:close()
      assert.same({ 1, nil, false, "closed" }, { go.select(a:recv_op(), go.after(1)) })
    end)
  end)

  it("a closed channel's recv case is ready: chosen over go.default", function()
    run(function()
      local a = go.chan(1)
      a:send("kept")
      a:close()
      assert.same({ 1, "kept", true }, { go.select(a:recv_op(), go.default) })
      assert.same({ 1, nil, false, "closed" }, { go.select(a:recv_op(), go.default) })
      assert.same({ 1, nil, false, "closed" }, { a:try_recv() ~= nil and 0 or 1, a:try_recv() })
    end)
  end)

  it("a send case on a closed channel raises", function()
    run(function()
      local a = go.chan()
      a:close()
      assert.has_error(function() go.select(a:send_op(1), go.default) end)
    end)
  end)

  it("a send case on a closed channel is one ready case among the others, as Go's", function()
    -- Go: a send on a closed channel "proceeds" by panicking, so a select
    -- with another ready case raises only when it picks that one
    run(function()
      go.seed(3)
      local raised, received = 0, 0
      for _ = 1, 200 do
        local ready, closed = go.chan(1), go.chan()
        ready:send("v")
        closed:close()
        local ok, i, v = pcall(go.select, closed:send_op(1), ready:recv_op())
        if ok then
          assert.same({ 2, "v" }, { i, v })
          received = received + 1
        else
          assert.matches("send on closed channel", i)
          raised = raised + 1
        end
      end
      assert.is_true(raised > 60 and received > 60, raised .. " raised, " .. received .. " received")
    end)
  end)

  it("a join case returns the task's results", function()
    run(function()
      local t = go.spawn(function() go.sleep(0.002) return "done" end)
      assert.same({ 1, true, "done" }, { go.select(t:join_op(), go.after(1)) })
    end)
  end)

  it("chooses uniformly at random among ready cases (seedable)", function()
    run(function()
      go.seed(42)
      local chans, counts = {}, {}
      for i = 1, 4 do chans[i] = go.chan(1) counts[i] = 0 end
      for _ = 1, 4000 do
        for i = 1, 4 do if #chans[i] == 0 then chans[i]:send(i) end end
        local i = go.select(chans[1]:recv_op(), chans[2]:recv_op(),
                            chans[3]:recv_op(), chans[4]:recv_op())
        counts[i] = counts[i] + 1
      end
      for i = 1, 4 do assert.is_true(counts[i] > 850 and counts[i] < 1150, counts[i]) end
      -- the same seed, the same choices
      local function draw()
        go.seed(7)
        local s = {}
        for _ = 1, 20 do
          for i = 1, 4 do if #chans[i] == 0 then chans[i]:send(i) end end
          s[#s + 1] = go.select(chans[1]:recv_op(), chans[2]:recv_op(),
                                chans[3]:recv_op(), chans[4]:recv_op())
        end
        return table.concat(s)
      end
      for i = 1, 4 do chans[i]:try_recv() end
      local first = draw()
      for i = 1, 4 do chans[i]:try_recv() end
      assert.equal(first, draw())
    end)
  end)

  it("a select is a cancellation point", function()
    run(function()
      local t = go.spawn(function() go.select(go.chan():recv_op()) end)
      go.yield()
      t:cancel("x")
      local ok, err = t:join()
      assert.is_false(ok)
      assert.is_true(go.is_cancelled(err))
    end)
  end)

  it("refuses operations made by hand with the wrong target", function()
    run(function()
      local ch = go.chan(1)
      assert.has_error(function() go.select({ 1, io.stdout }) end)
      assert.has_error(function() go.select({ 2, io.stderr, 1 }) end)
      assert.has_error(function() go.select({ 4, ch }) end)     -- a join of a channel
      assert.has_error(function() go.select({ 5, ch }) end)     -- a scope's done of a channel
      assert.has_error(function() go.select({ 1, go.self() }) end)
      assert.has_error(function() go.select({ 99, ch }) end)
      assert.has_error(function() go.select(42) end)
    end)
  end)

  it("a task whose coroutine someone closed while it was parked ends with an error, and its waits are gone", function()
    run(function()
      local ucoro = require "ucoro"
      local ch, other = go.chan(), go.chan()
      local co
      local t = go.spawn(function()
        co = coroutine.running()
        go.select(ch:recv_op(), other:recv_op(), go.after(10))
      end)
      go.yield()
      assert.is_true(ucoro.close(co))
      t:cancel()  -- wakes it: the scheduler finds it dead
      local ok, err = t:join()
      assert.is_false(ok)
      assert.matches("dead coroutine", err)
      assert.is_false(ch:try_send(1))  -- no receiver left behind
      assert.is_false(other:try_send(1))
    end)
  end)

  it("a select with several sends and receives on one unbuffered channel:"
     .. " each case's own value, never paired with itself", function()
    -- (its own cases on the channel are not its partners: it waits for
    -- another task, which takes the value from its frame or hands one
    -- onto its thread)
    local got = run(function()
      local ch = go.chan()
      local t = go.spawn(function()
        local r = { go.select(ch:recv_op(), ch:send_op("mine"), ch:recv_op(), ch:send_op("also")) }
        local r2 = { go.select(ch:send_op("third"), ch:recv_op()) }
        return r, r2
      end)
      go.yield()
      local waiting = t:waiting()
      local v = ch:recv()  -- its first send case
      go.yield()
      local waiting2 = t:waiting()
      ch:send("yours")  -- its receive case
      local _, r, r2 = t:join()
      return { waiting, v, waiting2, r, r2 }
    end)
    assert.same({ "select", "mine", "select", { 2 }, { 2, "yours", true } }, got)
  end)

  it("select over more than 16 cases", function()
    run(function()
      local ops = {}
      local chans = {}
      for i = 1, 20 do chans[i] = go.chan() ops[i] = chans[i]:recv_op() end
      go.spawn(function() chans[17]:send("x") end)
      assert.same({ 17, "x", true }, { go.select(table.unpack(ops)) })
    end)
  end)
end)
