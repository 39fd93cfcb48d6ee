-- ucoro.go: tasks, the run loop, timers, cancellation, scopes.
local go = require "ucoro.go"
local uv = require "luv"

-- go.run that must succeed: an assertion failing inside a task fails the
-- spec (go.run would only return it)
local function run(f, ...)
  local r = table.pack(go.run(f, ...))
  assert(r[1], r[2])
  return table.unpack(r, 1, r.n)
end

describe("go.run", function()
  it("returns true and the main task's results", function()
    assert.same({ true, "x", 2 }, { run(function(a) return a, 2 end, "x") })
    -- every argument and result, nils too
    assert.same({ true, nil, "b", nil, n = 4 },
      table.pack(go.run(function(...) return ... end, nil, "b", nil)))
  end)

  it("returns false and the error of the main task", function()
    local ok, err = go.run(function() error({ code = 7 }) end)
    assert.is_false(ok)
    assert.same({ code = 7 }, err)
  end)

  it("waits for every task spawned, not only main", function()
    local done = false
    assert.is_true(run(function()
      go.spawn(function() go.sleep(0.01) done = true end)
    end))
    assert.is_true(done)
  end)

  it("returns the error of a task nobody joined, and cancels its siblings", function()
    local sibling
    local ok, err = go.run(function()
      sibling = go.spawn(function() go.sleep(10) end)
      go.spawn(function() error("child failed", 0) end)
      go.sleep(10)
    end)
    assert.is_false(ok)
    assert.equal("child failed", err)
    assert.equal("cancelled", sibling:status())
  end)

  it("refuses to run inside a task", function()
    local ok, err = run(function() return pcall(go.run, function() end) end)
    assert.is_true(ok)
    assert.is_false(err)
  end)

  it("refuses to run inside a luv callback (the loop is running)", function()
    local msg
    local t = uv.new_timer()
    t:start(0, 0, function()
      local ok, e = pcall(go.run, function() end)
      msg = not ok and e
      t:close()
    end)
    uv.run()
    assert.matches("luv loop is running", msg)
  end)

  it("reports a deadlock with each parked task's traceback", function()
    local ok, err = go.run(function()
      local ch = go.chan()
      go.spawn({ name = "stuck" }, function() ch:recv() end)
      ch:recv()
    end)
    assert.is_false(ok)
    assert.matches("^all tasks are asleep %- deadlock!", err)
    assert.matches("%[recv%], spawned at spec/70%-go_tasks_spec.lua:%d+:", err)
    assert.matches("stack traceback", err)
  end)

  it("lists every parked task in a deadlock report, and no daemon", function()
    local daemon_line
    local ok, err = go.run(function()
      local ch = go.chan()
      daemon_line = debug.getinfo(1, "l").currentline + 1
      go.spawn({ daemon = true }, function() go.chan():recv() end)
      go.spawn(function() go.select(go.chan():send_op(1), nil) end)
      go.spawn(function() go.cond():wait() end)
      ch:recv(nil)
    end)
    assert.is_false(ok)
    local n = select(2, err:gsub("stack traceback", ""))
    assert.equal(3, n, err)  -- main, the select, the cond: not the daemon
    assert.matches("%[select%]", err)
    assert.matches("%[recv%]", err)
    assert.is_nil(err:find("spec/70-go_tasks_spec.lua:" .. daemon_line .. ":", 1, true))
  end)

  it("Go's select {}: a select of nil cases only parks for ever (a deadlock)", function()
    local ok, err = go.run(function() go.select(nil, nil) end)
    assert.is_false(ok)
    assert.matches("^all tasks are asleep %- deadlock!", err)
  end)

  it("a daemon parked for ever is no deadlock", function()
    assert.same({ true, "main" }, { go.run(function()
      go.spawn({ daemon = true }, function() go.chan():recv() end)
      go.yield()
      return "main"
    end) })
  end)

  it("a task whose waker is a raw luv handle is not deadlocked", function()
    assert.same({ true, "from luv", true }, { go.run(function()
      local ch = go.chan()
      local timer = uv.new_timer()
      timer:start(5, 0, function()
        timer:close()
        go.spawn(function() ch:send("from luv") end)
      end)
      return ch:recv()
    end) })
  end)

  it("mixes raw luv handles and tasks on one loop", function()
    local fired = false
    assert.is_true(run(function()
      local t = uv.new_timer()
      t:start(10, 0, function() fired = true t:close() end)
      go.sleep(0.03)
    end))
    assert.is_true(fired)
  end)

  it("lets a luv callback spawn a task (which runs later, not inside it)", function()
    local order = {}
    assert.is_true(run(function()
      local t = uv.new_timer()
      local ch = go.chan(1)
      t:start(1, 0, function()
        go.spawn(function() order[#order + 1] = "task" ch:send(1) end)
        order[#order + 1] = "callback"
        t:close()
      end)
      ch:recv()
    end))
    assert.same({ "callback", "task" }, order)
  end)
end)

describe("blocking calls outside a task", function()
  it("raise a clear error, not a hang", function()
    assert.has_error(function() go.sleep(0.01) end,
      "go.sleep: not inside a task (blocking calls need go.run)")
    local ch = go.chan()
    assert.has_error(function() ch:recv() end,
      "recv: not inside a task (blocking calls need go.run)")
  end)

  it("every blocking call raises so; the non-blocking ones work", function()
    local ch, full = go.chan(), go.chan(1)
    local blocking = {
      send = function() ch:send(1) end,
      select = function() go.select(ch:recv_op()) end,
      yield = go.yield,
      scope = function() go.scope(function() end) end,
      timeout = function() go.timeout(1, function() end) end,
      shield = function() go.shield(function() end) end,
      waitgroup = function() local w = go.waitgroup() w:add(1) w:wait() end,
      mutex = function() local m = go.mutex() m:lock() m:lock() end,
      cond = function() go.cond():wait() end,
      ["buffered send, full"] = function() full:send(1) full:send(2) end,
    }
    for name, f in pairs(blocking) do
      local ok, err = pcall(f)
      assert.is_false(ok, name)
      assert.matches("not inside a task %(blocking calls need go%.run%)", err, 1, false, name)
    end
    local other = go.chan(1)
    assert.is_true(other:try_send(1))
    assert.same({ 1, true }, { other:try_recv() })
    assert.is_nil(go.self())
  end)

  it("raise inside a raw luv callback during go.run", function()
    local msg
    assert.is_true(run(function()
      local t = uv.new_timer()
      t:start(1, 0, function()
        local ok, e = pcall(go.sleep, 0.01)
        msg = not ok and e
        t:close()
      end)
      go.sleep(0.02)
    end))
    assert.matches("not inside a task", msg)
  end)
end)

describe("tasks", function()
  it("spawn queues the task: it runs after the spawner parks", function()
    local order = {}
    run(function()
      local t = go.spawn(function() order[#order + 1] = "child" end)
      order[#order + 1] = "parent"
      t:join()
    end)
    assert.same({ "parent", "child" }, order)
  end)

  it("join runs a task that has not run yet in the order the drain would: behind the tasks ready before it", function()
    local order = {}
    run(function()
      local a = go.spawn(function() order[#order + 1] = "a" end)
      local b = go.spawn(function() order[#order + 1] = "b" end)
      b:join()  -- b is not next: a runs first, as if the joiner parked
      order[#order + 1] = "joined b"
      a:join()
      local c = go.spawn(function() order[#order + 1] = "c" end)
      c:join()  -- next in the queue: it runs now, in this order either way
      order[#order + 1] = "joined c"
    end)
    assert.same({ "a", "b", "joined b", "c", "joined c" }, order)
  end)

  it("a loop joining tasks that never park still lets the loop run timers", function()
    local _, fired = run(function()
      local fired = false
      go.spawn(function() go.sleep(0.001) fired = true end)
      local t0, empty = go.now(), function() end
      while not fired and go.now() - t0 < 2 do go.spawn(empty):join() end
      return fired
    end)
    assert.is_true(fired)
  end)

  it("join returns true and the results, or false and the error", function()
    assert.same({ true, true, 1, nil, 3, n = 5 }, table.pack(run(function()
      return go.spawn(function() return 1, nil, 3 end):join()
    end)))
    local _, ok, err = run(function()
      local t = go.spawn(function() error("bad", 0) end)
      return t:join()
    end)
    assert.is_false(ok)
    assert.equal("bad", err)
  end)

  -- (join pushes up to LUA_MINSTACK - 1 results into the slots Lua gives
  -- it, asks for room past them, and runs a task never run on its own
  -- stack: each count on either side of that, each way join finds the
  -- task, joined from a fresh task, whose stack is still small)
  it("join returns every result and passes every argument, however many", function()
    run(function()
      for _, n in ipairs({ 0, 1, 16, 17, 18, 19, 20, 21, 22, 200 }) do
        local v = {}
        for i = 1, n do v[i] = i end
        local function body(...)
          assert.equal(n, select("#", ...))
          return ...
        end
        local function joins(t)
          return go.spawn(function()
            local r = table.pack(t:join())
            assert.equal(n + 1, r.n)
            assert.is_true(r[1])
            for i = 1, n do assert.equal(i, r[i + 1]) end
          end)
        end
        -- run by the join itself (never run, next in the ready queue)
        local t
        local j = go.spawn(function()
          local r = table.pack(t:join())
          assert.equal(n + 1, r.n)
          for i = 1, n do assert.equal(i, r[i + 1]) end
        end)
        t = go.spawn(body, table.unpack(v))
        assert.same({ true }, { j:join() })
        -- ended before its join; parked when joined
        t = go.spawn(body, table.unpack(v))
        j = joins(t)
        assert.same({ true }, { j:join() })
        t = go.spawn(function(...) go.yield() return body(...) end, table.unpack(v))
        j = joins(t)
        assert.same({ true }, { j:join() })
        -- in a frame whose top is already high
        t = go.spawn(body, table.unpack(v))
        assert.same({ 1, 2, 3, true, table.unpack(v) }, { 1, 2, 3, t:join() })
      end
    end)
  end)

  it("a joined failure is not also the scope's", function()
    assert.same({ true, false, "bad" }, { run(function()
      local t = go.spawn(function() go.sleep(0.001) error("bad", 0) end)
      return t:join()
    end) })
  end)

  it("join with a timeout returns nil, 'timeout'", function()
    assert.same({ true, nil, "timeout" }, { run(function()
      local t = go.spawn(function() go.sleep(0.2) end)
      local a, b = t:join(0.01)
      t:cancel()
      return a, b
    end) })
  end)

  it("a task cannot join itself", function()
    local ok, err = go.run(function() return go.self():join() end)
    assert.is_false(ok)
    assert.matches("cannot join itself", err)
  end)

  it("status, self, id, name", function()
    run(function()
      local me = go.self()
      assert.equal("running", me:status())
      local t = go.spawn({ name = "worker" }, function() go.sleep(0.01) end)
      assert.equal("ready", t:status())
      assert.equal("worker", t:name())
      assert.matches("^spec/70%-go_tasks_spec.lua:%d+$", t:spawned_at())
      assert.is_true(t:id() > me:id())
      go.yield()
      assert.equal("parked", t:status())
      assert.equal("sleep", t:waiting())
      t:join()
      assert.equal("done", t:status())
      assert.matches("^task %d+ worker %(done%)$", tostring(t))
    end)
    assert.is_nil(go.self())
  end)

  it("yield lets the other ready tasks run", function()
    local order = {}
    run(function()
      go.spawn(function() for i = 1, 3 do order[#order + 1] = "b" .. i go.yield() end end)
      for i = 1, 3 do order[#order + 1] = "a" .. i go.yield() end
    end)
    assert.same({ "a1", "b1", "a2", "b2", "a3", "b3" }, order)
  end)

  it("a plain coroutine.yield in a task acts as go.yield", function()
    assert.same({ true, 3 }, { run(function()
      local n = 0
      go.spawn(function() n = n + 1 end)
      coroutine.yield()
      go.spawn(function() n = n + 2 end)
      go.yield()
      return n
    end) })
  end)

  it("spawn takes options: stack (a mode), daemon", function()
    local ucoro = require "ucoro"
    run(function()
      local t = go.spawn({ stack = "lean" }, function()
        go.sleep(0.001)
        return ucoro.mode(coroutine.running())
      end)
      assert.same({ true, "lean" }, { t:join() })
    end)
  end)

  it("daemons do not keep go.run running, and are cancelled at its end", function()
    local closed = false
    assert.is_true(run(function()
      go.spawn({ daemon = true }, function()
        local _ <close> = setmetatable({}, { __close = function() closed = true end })
        go.sleep(100)
      end)
      go.sleep(0.001)
    end))
    assert.is_true(closed)
  end)

  it("spawn checks what it is given", function()
    run(function()
      assert.has_error(function() go.spawn(42) end)
      assert.has_error(function() go.spawn({ stack = "bogus" }, function() end) end)
      local many = {}
      for i = 1, 200 do many[i] = i end
      local t = go.spawn(function(...) return select("#", ...) end, table.unpack(many))
      assert.same({ true, 200 }, { t:join() })
    end)
    assert.has_error(function() go.spawn(function() end) end,
      "go.spawn: the scheduler is not running (use go.run)")
  end)

  it("go.tasks: each task's id, name, status, what it waits on, traceback and spawn site", function()
    run(function()
      local t = go.spawn({ name = "sleeper" }, function() go.sleep(10) end)
      go.yield()
      local me, it
      for _, x in ipairs(go.tasks()) do
        if x == t then it = x elseif x == go.self() then me = x end
      end
      assert.equal(t, it)
      assert.equal(go.self(), me)
      assert.equal("number", type(it:id()))
      assert.equal("sleeper", it:name())
      assert.equal("parked", it:status())
      assert.equal("sleep", it:waiting())
      assert.matches("sleep'\n[^\n]*spec/70%-go_tasks_spec%.lua:%d+:", it:traceback())
      assert.matches("^spec/70%-go_tasks_spec%.lua:%d+$", it:spawned_at())
      assert.equal("running", me:status())
      assert.is_nil(me:waiting())
      t:cancel()
      t:join()
      for _, x in ipairs(go.tasks()) do assert.are_not.equal(t, x) end  -- only live ones
    end)
  end)

  it("holds an ended task's results no longer than the next task's end, nor after go.run", function()
    -- (the scheduler keeps the anchors of the task that ended last until
    -- a spawn takes them or the next end clears them)
    local weak = setmetatable({}, { __mode = "k" })
    local function result(tag) local v = {} weak[v] = tag return v end
    local function held(tag)
      collectgarbage() collectgarbage()
      for _, t in pairs(weak) do if t == tag then return true end end
      return false
    end
    run(function()
      -- (each in a function of its own: its locals are gone on return)
      local function join_two()  -- a ends, then b, no spawn between
        local a, b = go.spawn(result, "a"), go.spawn(result, "b")
        a:join() b:join()
      end
      join_two()
      assert.is_false(held("a"))
      local function join_one(tag) go.spawn(result, tag):join() end
      join_one("joined")
      go.spawn(function() end)  -- takes its slots
      assert.is_false(held("joined"))
      go.spawn(result, "not joined")
      go.yield()
      go.spawn(function() error("ends too", 0) end):join()
      assert.is_false(held("not joined"))
    end)
    assert.is_true(go.run(result, "main"))  -- (its result dropped here)
    assert.is_false(held("main"))
  end)

  it("go.tasks lists the live tasks", function()
    run(function()
      local t = go.spawn(function() go.sleep(0.01) end)
      local found = false
      for _, x in ipairs(go.tasks()) do if x == t then found = true end end
      assert.is_true(found)
      t:join()
    end)
  end)
end)

describe("go.sleep and go.now", function()
  it("never wakes early, even after long work outside the loop", function()
    run(function()
      local t0 = os.clock()
      while os.clock() - t0 < 0.05 do end  -- the loop's cached clock falls behind
      for _ = 1, 5 do
        local a = go.now()
        go.sleep(0.01)
        assert.is_true(go.now() - a >= 0.01)
      end
    end)
  end)

  it("tasks that only yield starve neither timers nor raw luv callbacks", function()
    local _, got = run(function()
      local fired, slept, spins = false, false, 0
      local timer = uv.new_timer()
      timer:start(5, 0, function() fired = true timer:close() end)
      go.spawn(function() go.sleep(0.005) slept = true end)
      local spinners = {}
      for i = 1, 2 do
        spinners[i] = go.spawn(function()
          while not (fired and slept) and spins < 1e7 do spins = spins + 1 go.yield() end
        end)
      end
      for i = 1, 2 do spinners[i]:join() end
      return { fired, slept, spins < 1e7 }
    end)
    assert.same({ true, true, true }, got)
  end)

  it("join's timeout is go.TIMEOUT", function()
    run(function()
      local t = go.spawn(function() go.sleep(10) end)
      assert.same({ nil, go.TIMEOUT }, { t:join(0.001) })
      assert.equal("timeout", go.TIMEOUT)
      t:cancel()
    end)
  end)

  it("no timeout fires early: recv, send, join, select's after, waitgroup, cond, go.timeout, a scope's", function()
    run(function()
      local d = 0.01
      local function never_early(name, f)
        local t0 = uv.hrtime()
        f()
        local took = (uv.hrtime() - t0) / 1e9
        assert(took >= d, ("%s: woke after %.6f s of %.3f"):format(name, took, d))
      end
      local ch = go.chan()
      local sleeper = go.spawn(function() go.sleep(10) end)
      local wg = go.waitgroup()
      wg:add(1)
      never_early("recv", function() assert.same({ nil, false, "timeout" }, { ch:recv(d) }) end)
      never_early("send", function() assert.same({ false, "timeout" }, { ch:send(1, d) }) end)
      never_early("join", function() assert.same({ nil, "timeout" }, { sleeper:join(d) }) end)
      never_early("after", function() assert.equal(2, (go.select(ch:recv_op(), go.after(d)))) end)
      never_early("waitgroup", function() assert.is_false(wg:wait(d)) end)
      never_early("cond", function() go.cond():wait(d) end)
      never_early("go.timeout", function()
        assert.same({ nil, "timeout" }, { go.timeout(d, function() go.sleep(10) end) })
      end)
      never_early("scope", function()
        assert.same({ nil, "timeout" }, { go.scope({ timeout = d }, function() go.sleep(10) end) })
      end)
      sleeper:cancel()
    end)
  end)

  it("sleep(0) and negative sleeps only yield", function()
    assert.is_true(run(function() go.sleep(0) go.sleep(-1) end))
  end)

  it("many tasks sleeping wake in deadline order", function()
    local order = {}
    run(function()
      -- deadlines from one start, so that however slowly the tasks get to
      -- their sleep (Valgrind, a loaded machine) the deadlines keep order
      local start = go.now()
      for _, d in ipairs({ 5, 1, 4, 2, 3 }) do
        go.spawn(function()
          go.sleep(start + d / 20 - go.now())
          order[#order + 1] = d
        end)
      end
    end)
    assert.same({ 1, 2, 3, 4, 5 }, order)
  end)
end)

describe("cancellation", function()
  it("raises go.Cancelled with the reason at the park site", function()
    local _, ok, err = run(function()
      local t = go.spawn(function() go.sleep(10) end)
      go.yield()
      t:cancel("enough")
      return t:join()
    end)
    assert.is_false(ok)
    assert.is_true(go.is_cancelled(err))
    assert.equal("enough", err.reason)
    assert.equal("cancelled: enough", tostring(err))
  end)

  it("unwinds C frames beneath: __close in a sort comparator runs", function()
    local closed = false
    run(function()
      local t = go.spawn(function()
        table.sort({ 3, 1, 2 }, function(a, b)
          local _ <close> = setmetatable({}, { __close = function() closed = true end })
          go.sleep(10)
          return a < b
        end)
      end)
      go.yield()
      t:cancel()
      t:join()
      assert.equal("cancelled", t:status())
    end)
    assert.is_true(closed)
  end)

  it("a cancelled task that catches the error is cancelled again at its next park", function()
    local _, ok, err = run(function()
      local t = go.spawn(function()
        pcall(go.sleep, 10)
        go.sleep(10)
      end)
      go.yield()
      t:cancel("stop")
      return t:join()
    end)
    assert.is_false(ok)
    assert.is_true(go.is_cancelled(err))
  end)

  it("a value received before the cancel is not lost", function()
    local _, v = run(function()
      local ch = go.chan()
      local got
      local t = go.spawn(function() got = ch:recv() go.sleep(10) end)
      go.yield()
      ch:send("v")  -- t is now ready with "v"
      t:cancel()
      t:join()
      return got
    end)
    assert.equal("v", v)
  end)

  it("an error a __close raises as an unjoined task unwinds reaches its scope and go.run", function()
    -- (joined: spec/43-go_safety_spec.lua)
    assert.same({ false, "in close" }, { go.run(function()
      go.scope(function(s)
        go.spawn(function()
          local _ <close> = setmetatable({}, { __close = function() error("in close", 0) end })
          go.sleep(10)
        end)
        go.yield()
        s:cancel("c")
      end)
      return "not reached"
    end) })
    assert.same({ false, "in close" }, { go.run(function()
      local _ <close> = setmetatable({}, { __close = function() error("in close", 0) end })
      error("first", 0)
    end) })
  end)

  it("cancelling a done task is a no-op", function()
    assert.same({ true, true, 1 }, { run(function()
      local t = go.spawn(function() return 1 end)
      local r = table.pack(t:join())
      t:cancel()
      return table.unpack(r, 1, r.n)
    end) })
  end)
end)

describe("scopes", function()
  it("go.scope waits for its children and returns f's results", function()
    assert.same({ true, "r", 2 }, { run(function()
      local n = 0
      local r = go.scope(function()
        for _ = 1, 2 do go.spawn(function() go.sleep(0.005) n = n + 1 end) end
        return "r"
      end)
      return r, n
    end) })
  end)

  it("a child's failure cancels its siblings and is raised by the scope", function()
    local _, ok, err, sib = run(function()
      local sibling
      local ok, err = pcall(go.scope, function()
        sibling = go.spawn(function() go.sleep(10) end)
        go.spawn(function() error("first", 0) end)
        go.sleep(10)
      end)
      return ok, err, sibling:status()
    end)
    assert.is_false(ok)
    assert.equal("first", err)
    assert.equal("cancelled", sib)
  end)

  it("keeps every error: scope:errors()", function()
    run(function()
      local s
      pcall(go.scope, function(scope)
        s = scope
        go.spawn(function() error("a", 0) end)
        go.spawn(function() error("b", 0) end)
      end)
      local errs = s:errors()
      table.sort(errs)
      assert.same({ "a", "b" }, errs)
    end)
  end)

  it("an error is not lost when the task joining it is cancelled at the same moment", function()
    -- regression: B fails and cancels the scope's body, parked joining A;
    -- A fails before the body runs again: A's error went to no one
    run(function()
      local scope
      local ok, err = pcall(go.scope, function(s)
        scope = s
        local gate = go.chan()
        go.spawn(function() gate:recv() error("B", 0) end)
        local a = go.spawn(function() gate:recv() error("A", 0) end)
        go.spawn(function() gate:close() end)
        a:join()
      end)
      assert.is_false(ok)
      assert.equal("B", err)
      assert.same({ "B", "A" }, scope:errors())
    end)
  end)

  it("go.timeout cancels f and its children at the deadline", function()
    local _, a, b, st = run(function()
      local child
      local a, b = go.timeout(0.02, function()
        child = go.spawn(function() go.sleep(10) end)
        go.sleep(10)
      end)
      return a, b, child:status()
    end)
    assert.is_nil(a)
    assert.equal("timeout", b)
    assert.equal("cancelled", st)
  end)

  it("go.timeout returns true and the results when f ends in time", function()
    assert.same({ true, true, 1, 2 }, { run(function()
      return go.timeout(1, function() go.sleep(0.001) return 1, 2 end)
    end) })
  end)

  it("go.shield keeps an outer cancellation out", function()
    local finished = false
    run(function()
      local t = go.spawn(function()
        go.shield(function() go.sleep(0.02) finished = true end)
        go.sleep(10)
      end)
      go.yield()
      t:cancel()
      t:join()
    end)
    assert.is_true(finished)
  end)

  it("scope:done_op() is a select case ready once the scope is cancelled", function()
    run(function()
      local scope
      local t = go.spawn(function()
        return go.timeout(0.01, function(s) scope = s go.sleep(1) end)
      end)
      go.yield()
      assert.is_false(scope:cancelled())
      assert.equal(1, (go.select(scope:done_op(), go.after(1))))
      assert.is_true(scope:cancelled())
      assert.same({ true, nil, "timeout" }, { t:join() })
      assert.equal(1, (go.select(scope:done_op(), go.default)))
    end)
  end)

  it("scope:cancel(reason) cancels the body and its children", function()
    local _, r, st = run(function()
      local child
      local r = go.scope(function(s)
        child = go.spawn(function() go.sleep(10) end)
        go.spawn(function() go.sleep(0.002) s:cancel("done early") end)
        go.sleep(10)
        return "not reached"
      end)
      return r, child:status()
    end)
    assert.is_nil(r)
    assert.equal("cancelled", st)
  end)

  it("go.scope({timeout = s}, f, ...): f and its children cancelled at the deadline", function()
    local r = { run(function()
      local child
      local a, b = go.scope({ timeout = 0.01 }, function(_, x)
        assert.equal("arg", x)
        child = go.spawn(function() go.sleep(10) end)
        go.sleep(10)
      end, "arg")
      local c, d = go.scope({ timeout = 5 }, function() return "in time", 2 end)
      return a, b, child:status(), c, d
    end) }
    assert.same({ true, nil, "timeout", "cancelled", "in time", 2 }, r)
  end)

  it("go.scope({supervise = true}, f): a child's failure leaves the others running, then is raised", function()
    local _, ok, err, log, errs = run(function()
      local log, s = {}, nil
      local ok, err = pcall(go.scope, { supervise = true }, function(scope)
        s = scope
        go.spawn(function() error("crash", 0) end)
        go.spawn(function() go.sleep(0.01) log[#log + 1] = "sibling done" end)
        go.sleep(0.005)
        log[#log + 1] = "body goes on"
      end)
      return ok, err, log, s:errors()
    end)
    assert.is_false(ok)
    assert.equal("crash", err)
    assert.same({ "body goes on", "sibling done" }, log)
    assert.same({ "crash" }, errs)
  end)

  it("a supervising scope's body error comes first and cancels its children", function()
    local _, ok, err, st, errs = run(function()
      local s, child
      local ok, err = pcall(go.scope, { supervise = true }, function(scope)
        s = scope
        go.spawn(function() error("child", 0) end)
        child = go.spawn(function() go.sleep(10) end)
        go.sleep(0.005)
        error("body", 0)
      end)
      return ok, err, child:status(), s:errors()
    end)
    assert.is_false(ok)
    assert.equal("body", err)
    assert.equal("cancelled", st)
    assert.same({ "body", "child" }, errs)
  end)

  it("a supervising body that takes the errors from scope:errors() handles them", function()
    assert.same({ true, "ok", 1 }, { run(function()
      local seen = 0
      local r = go.scope({ supervise = true }, function(scope)
        go.spawn(function() error("crash", 0) end)
        go.sleep(0.005)
        local errs = scope:errors()
        seen = #errs
        for i = #errs, 1, -1 do errs[i] = nil end
        return "ok"
      end)
      return r, seen
    end) })
  end)

  it("go.scope checks its options", function()
    run(function()
      assert.has_error(function() go.scope({ timeout = "x" }, function() end) end)
      assert.has_error(function() go.scope({ bogus = 1 }, function() end) end)
    end)
  end)

  it("nested timeouts: the inner one fires, the outer goes on", function()
    assert.same({ true, "outer" }, { run(function()
      local _, r = go.timeout(1, function()
        local a, b = go.timeout(0.01, function() go.sleep(10) end)
        assert.same({ nil, "timeout" }, { a, b })
        return "outer"
      end)
      return r
    end) })
  end)
end)
