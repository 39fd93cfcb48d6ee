-- ucoro.go's C API (ucoro_go.h), through spec/c/go_testmod.c: C code on a
-- task's stack parks in straight-line C and gets codes back.
local go = require "ucoro.go"
local uv = require "luv"
local capi = require "ucoro_go_testmod"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

describe("ucoro_go.h", function()
  it("sleep parks for at least the time given", function()
    run(function()
      local t0 = go.now()
      assert.equal("ok", capi.sleep(0.01))
      assert.is_true(go.now() - t0 >= 0.01)
    end)
  end)

  it("sleep inside a sort comparator", function()
    local t = run(function()
      local t = { 3, 1, 2 }
      table.sort(t, function(a, b) assert.equal("ok", capi.sleep(0.001)) return a < b end)
      return t
    end)
    assert.same({ 1, 2, 3 }, t)
  end)

  it("outside a task: notask, no hang", function()
    assert.equal("notask", capi.sleep(0.01))
    assert.equal("notask", capi.cancelled())
    assert.is_nil(capi.prepare())
  end)

  it("park returns ok when woken from a luv callback (queued, not resumed there)", function()
    run(function()
      local token = capi.prepare()
      local timer = uv.new_timer()
      local order = {}
      timer:start(2, 0, function()
        capi.wake(token)
        order[#order + 1] = "callback returned"
        timer:close()
      end)
      local c = capi.park(1)
      order[#order + 1] = "woken"
      assert.equal("ok", c)
      assert.same({ "callback returned", "woken" }, order)
    end)
  end)

  it("a wake-up before the park (synchronous completion) is not lost", function()
    run(function()
      local token = capi.prepare()
      capi.wake(token)
      assert.equal("ok", capi.park(1))
    end)
  end)

  it("stale and double wake-ups are no-ops", function()
    run(function()
      local old = capi.prepare()
      assert.equal("timeout", capi.park(0.001))
      capi.prepare()
      capi.wake(old)  -- the park it was for has ended
      assert.equal("timeout", capi.park(0.005))
      local token = capi.prepare()
      local timer = uv.new_timer()
      timer:start(1, 0, function() capi.wake(token) capi.wake(token) timer:close() end)
      assert.equal("ok", capi.park(1))
      local t2 = capi.prepare()
      assert.equal("timeout", capi.park(0.005))  -- the second wake did nothing
      assert.is_true(t2 ~= token)
    end)
  end)

  it("a cancelled task gets cancelled, not an error, and can clean up", function()
    run(function()
      local got
      local t = go.spawn(function()
        got = capi.sleep(10)
        assert.equal("cancelled", capi.cancelled())
        return "cleaned up"
      end)
      go.yield()
      t:cancel()
      assert.same({ true, "cleaned up" }, { t:join() })
      assert.equal("cancelled", got)
    end)
  end)

  it("wait_fd parks until a pipe is readable, or times out", function()
    run(function()
      local fds = assert(uv.pipe())
      local r, w = fds.read, fds.write
      assert.equal("timeout", capi.wait_fd(r, 1, 0.005))
      go.spawn(function() go.sleep(0.002) uv.fs_write(w, "x") end)
      assert.equal("ok", capi.wait_fd(r, 1, 1))
      assert.equal("x", uv.fs_read(r, 1))
      assert.equal("ok", capi.wait_fd(w, 2, 1))
      uv.fs_close(r) uv.fs_close(w)
      assert.equal("uverror", capi.wait_fd(r, 1, 0.001))
    end)
  end)

  it("work runs on the thread pool while other tasks run", function()
    run(function()
      local ticks = 0
      local ticker = go.spawn(function() for _ = 1, 5 do go.sleep(0.001) ticks = ticks + 1 end end)
      assert.same({ "ok", 60 }, { capi.work(30) })
      assert.is_true(ticks >= 3)
      ticker:join()
    end)
  end)

  it("work waits for the job even when cancelled meanwhile", function()
    run(function()
      local t = go.spawn(function() return capi.work(20) end)
      go.yield()
      t:cancel()
      assert.same({ true, "cancelled", 40 }, { t:join() })
    end)
  end)
end)

describe("wake-ups from libuv callbacks while the loop polls", function()
  it("a timer due when uv_run starts does not leave its task queued behind a blocking poll", function()
    -- regression: libuv runs due timers before it polls; a task they wake
    -- must stop the poll from blocking (here it would wait for the watchdog)
    local _, got = go.run(function()
      local fds = assert(uv.pipe())
      local r, w = fds.read, fds.write
      go.spawn(function() go.sleep(0.001) uv.fs_write(w, "s") end)
      go.yield()  -- the sleeper parks on its timer
      local watchdog = uv.new_timer()
      watchdog:start(2000, 0, function() uv.fs_write(w, "w") end)
      local t0 = os.clock()
      while os.clock() - t0 < 0.02 do end  -- past the sleeper's deadline
      assert.equal("ok", capi.wait_fd(r, 1, -1))
      local data = uv.fs_read(r, 1)
      watchdog:close()
      uv.fs_close(r) uv.fs_close(w)
      return data
    end)
    assert.equal("s", got)
  end)
end)
