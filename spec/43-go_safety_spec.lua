-- ucoro.go under attack: objects a parked task relies on changed or
-- dropped behind its back, wake-ups from paths the scheduler does not
-- own, finalizers and lua_close with the scheduler busy.  Scenarios that
-- crashed run in a child interpreter.
local go = require "ucoro.go"
local ucoro = require "ucoro"
local helpers = require "helpers"

local child_says = helpers.child_says

local function run(f, ...)
  local r = table.pack(go.run(f, ...))
  assert(r[1], r[2])
  return table.unpack(r, 1, r.n)
end

-- Changes an op's field i (2: its target, 3: a send's value): a table
-- op's field, a userdata op's uservalue i - 1 (only the debug library can).
local SET = [[
  local function set(op, i, v)
    if type(op) == "table" then op[i] = v
    else assert(debug.setuservalue(op, v, i - 1)) end
  end
]]

describe("go.select's operations", function()
  -- whoever holds an op may change it (a table's fields, a userdata's
  -- uservalues through the debug library) while the select that got it
  -- is parked; the select uses what it was given
  for _, what in ipairs({ "a table", "another channel", "nil" }) do
    it("are read once: a recv op whose channel is replaced by " .. what ..
       " while parked still receives from its channel", function()
      child_says("true\t1\tv\ttrue\n", SET .. ([[
        local go = require "ucoro.go"
        print(go.run(function()
          local ch, other = go.chan(), go.chan()
          local op = ch:recv_op()
          go.spawn(function()
            set(op, 2, %s)
            collectgarbage()
            ch:send("v")
          end)
          return go.select(op)
        end))
      ]]):format(what == "a table" and "{}" or
                 what == "nil" and "nil" or "other"))
    end)
  end

  it("are read once: a send op whose channel and value are replaced while parked"
     .. " sends its value to its channel", function()
    child_says("true\t1\tv\n", SET .. [[
      local go = require "ucoro.go"
      print(go.run(function()
        local ch = go.chan()
        local op = ch:send_op("v")
        local t = go.spawn(function() return go.select(op) end)
        go.yield()
        set(op, 2, {})
        set(op, 3, "changed")
        collectgarbage()
        local v = ch:recv()
        assert(t:join())
        return 1, v
      end))
    ]])
  end)

  it("are read once: a join op whose task is replaced while parked joins its task", function()
    child_says("true\t1\ttrue\tr\n", SET .. [[
      local go = require "ucoro.go"
      print(go.run(function()
        local t = go.spawn(function() go.sleep(0.01) return "r" end)
        local op = t:join_op()
        go.spawn(function() set(op, 2, setmetatable({}, {})) end)
        return go.select(op)
      end))
    ]])
  end)

  it("refuse an op whose target was changed before the select: another channel, a foreign userdata, a table", function()
    run(function()
      local ch, other = go.chan(1), go.chan(1)
      other:send(1)
      for _, v in ipairs({ other, io.stdout, {}, false }) do
        local op = ch:recv_op()
        assert(debug.setuservalue(op, v, 1))
        local ok, err = pcall(go.select, op)
        assert.is_false(ok)
        assert.matches("select operation expected", err)
      end
      local t = go.spawn(function() end)
      local op = t:join_op()
      assert(debug.setuservalue(op, ch, 1))
      assert.is_false(pcall(go.select, op))
      t:join()
    end)
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

describe("lua_close", function()
  -- luv's loop finalizer (after ucoro.go's) closes every handle left in
  -- the loop as one of luv's own: none of ucoro.go's may be left there
  it("with go.attach still attached and tasks parked does not crash", function()
    child_says("closing\n", [[
      local go = require "ucoro.go"
      local uv = require "luv"
      go.attach()
      go.spawn(function() go.chan():recv() end)
      go.spawn(function() go.sleep(100) end)
      uv.run("nowait")
      print("closing")
    ]])
  end)

  it("with tasks parked in ucoro_go.h's wait_fd and work closes their polls and frees their requests", function()
    child_says("closing\n", [[
      local go = require "ucoro.go"
      local uv = require "luv"
      local capi = require "ucoro_go_testmod"
      go.attach()
      local r = uv.pipe().read  -- never written: the wait lasts
      go.spawn(function() capi.wait_fd(r, 1, 100) end)
      go.spawn(function() capi.work(200) end)
      uv.run("nowait")
      print("closing")
    ]])
  end)

  it("refuses go.run, go.attach and go.spawn from a finalizer that runs after the scheduler's", function()
    -- (made before ucoro.go was loaded, its finalizer runs after the
    -- scheduler's and luv's: the loop is closed; go.run crashed in libuv)
    child_says("false\tgo.run: the Lua state is closing\n" ..
               "false\tgo.attach: the Lua state is closing\n" ..
               "false\tgo.spawn: the scheduler is not running (use go.run)\n", [[
      KEEP = setmetatable({}, { __gc = function()
        local go = require "ucoro.go"
        print(pcall(go.run, function() go.sleep(0.01) end))
        print(pcall(go.attach))
        print(pcall(go.spawn, function() end))
      end })
      local go = require "ucoro.go"
      go.attach()
      assert(go.run == go.run)
    ]])
  end)

  it("with tasks parked in I/O (files, DNS, TCP, UDP, signals) frees what they wait for", function()
    child_says("closing\n", [[
      local go = require "ucoro.go"
      local uv = require "luv"
      go.attach()
      go.spawn(function()
        local srv = go.tcp.listen("127.0.0.1", 0, function(conn) conn:read("l") end)
        local c = go.tcp.connect("127.0.0.1", srv:port())
        go.spawn(function() c:read("l") end)
        local u = go.udp.bind("127.0.0.1", 0)
        go.spawn(function() u:recv() end)
        for _ = 1, 4 do
          go.spawn(function() go.fs.readfile("/proc/self/status") end)
          go.spawn(function() go.dns.getaddrinfo("localhost") end)
        end
        go.spawn(function() go.signal.wait("sigusr1") end)
        go.sleep(100)
      end)
      for _ = 1, 20 do uv.run("nowait") end
      print("closing")
    ]])
  end)
end)

describe("a parked task's coroutine closed by another task (ucoro.close)", function()
  -- its frames are dropped, not unwound: what it was queued on may be
  -- collected while it is still queued there (a use after free under
  -- ASan before); the task itself ends when next woken
  it("in a select over channels only it held: the channels are collected safely", function()
    child_says("closed\ttrue\nfalse\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      go.run(function()
        local th
        local a = go.spawn(function()
          th = coroutine.running()
          local x <close> = setmetatable({}, { __close = function() io.write("closed\t") end })
          return go.select(go.chan():recv_op(), go.chan():recv_op(),
                           go.chan():send_op(1), go.chan(1):recv_op())
        end)
        go.yield()
        print(ucoro.close(th))
        for _ = 1, 3 do collectgarbage() end
        a:cancel()
        print(a:join())
      end)
    ]])
  end)

  it("in a recv, and in a select on a scope's done op: both collected safely", function()
    child_says("false\tcannot resume dead coroutine\tfalse\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      go.run(function()
        local ths = {}
        local a = go.spawn(function()
          ths[1] = coroutine.running()
          go.chan():recv()
        end)
        local b = go.spawn(function()
          ths[2] = coroutine.running()
          local op
          go.scope(function(s) op = s:done_op() end)
          go.select(op)
        end)
        go.yield()
        ucoro.close(ths[1])
        ucoro.close(ths[2])
        for _ = 1, 3 do collectgarbage() end
        a:cancel()
        b:cancel()
        local r = { a:join() }
        print(r[1], r[2], b:join())
      end)
    ]])
  end)
end)

describe("values handed between tasks (a parked sender's frame, a parked receiver's thread)", function()
  -- an unbuffered hand-off keeps a parked sender's value in its frame and
  -- pushes a value for a parked receiver onto the receiver's thread: what
  -- holds them is that thread, which a closed coroutine no longer is
  it("a sender whose coroutine was closed while parked: its value is not received, the task ends", function()
    child_says("nil\tfalse\tempty\nfalse\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      go.run(function()
        local ch, th = go.chan()
        local a = go.spawn(function()
          th = coroutine.running()
          ch:send({ "lost" })
        end)
        go.yield()
        ucoro.close(th)
        for _ = 1, 3 do collectgarbage() end
        print(ch:try_recv())
        print(a:join())
      end)
    ]])
  end)

  it("a receiver in a generator (go.coroutine) whose task's coroutine was closed:"
     .. " a send finds no receiver", function()
    child_says("false\nfalse\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      go.run(function()
        local ch, th = go.chan()
        local a = go.spawn(function()
          th = coroutine.running()
          local gen = go.coroutine.wrap(function() return ch:recv() end)
          return gen()
        end)
        go.yield()
        ucoro.close(th)
        th = nil
        for _ = 1, 3 do collectgarbage() end
        local s = {} for i = 1, 1e4 do s[i] = coroutine.create(print) end
        print(ch:try_send("lost"))
        print(a:join())
      end)
    ]])
  end)

  it("a receiver in a generator (go.coroutine) whose only reference, in its task's frame,"
     .. " is replaced (debug.setlocal): the generator's thread lives while it waits", function()
    -- (the channel's waiter names the generator's thread: it must not be
    -- freed under it; valgrind showed lua_gettop reading a freed thread)
    child_says("true\tfalse\n", [[
      local go = require "ucoro.go"
      go.run(function()
        local ch, th = go.chan()
        local a = go.spawn(function()
          th = coroutine.running()
          return go.coroutine.resume(go.coroutine.create(function()
            return ch:recv()
          end))
        end)
        go.yield()
        local dropped = 0
        for level = 0, 20 do
          if not debug.getinfo(th, level, "l") then break end
          for i = 1, 50 do
            local name, v = debug.getlocal(th, level, i)
            if not name then break end
            if type(v) == "thread" then
              debug.setlocal(th, level, i, nil)
              dropped = dropped + 1
            end
          end
        end
        assert(dropped == 1, dropped)
        for _ = 1, 3 do collectgarbage() end
        local s = {} for i = 1, 1e4 do s[i] = coroutine.create(print) end
        local sent = ch:try_send("v")
        print(sent, (a:join()))
      end)
    ]])
  end)

  it("a value handed to a parked receiver lives until it is received, through full collections", function()
    local got = {}
    run(function()
      local ch = go.chan()
      local collected = false
      local r = go.spawn(function()
        local v, ok = ch:recv()
        got = { type(v), v and v[1], ok, collected }
        local w = select(2, go.select(ch:recv_op()))
        got[5] = w and w[1]
        got[6] = collected
      end)
      go.yield()
      ch:send(setmetatable({ "first" }, { __gc = function() collected = true end }))
      for _ = 1, 3 do collectgarbage() end  -- r woken, not run yet
      go.yield()
      ch:send(setmetatable({ "second" }, { __gc = function() collected = true end }))
      for _ = 1, 3 do collectgarbage() end
      r:join()
    end)
    assert.same({ "table", "first", true, false, "second", false }, got)
  end)

  it("a parked sender's value lives in its frame until it is received", function()
    local got
    run(function()
      local ch = go.chan()
      local collected = false
      go.spawn(function()
        ch:send(setmetatable({ "kept" }, { __gc = function() collected = true end }))
      end)
      go.yield()
      for _ = 1, 3 do collectgarbage() end
      local v = ch:recv()
      got = { v[1], collected }
    end)
    assert.same({ "kept", false }, got)
  end)
end)

describe("a userdata given a channel's metatable (debug.setmetatable)", function()
  -- a channel was known by its metatable: another userdata given it was
  -- taken for one, its memory read and written as a channel's (a file's
  -- 16 bytes as a channel's 72), also by the collector's __gc
  it("is refused by every channel method and collected without harm", function()
    child_says("false\tfalse\tfalse\tfalse\tfalse\ndone\n", [[
      local go = require "ucoro.go"
      local mt = getmetatable(go.chan())
      local m = mt.__index
      local function refused(f, ...)
        local ok, err = pcall(f, ...)
        return ok or not tostring(err):find("expected", 1, true)
      end
      go.run(function()
        local u = io.tmpfile()
        debug.setmetatable(u, mt)
        print(refused(m.send, u, 1, 0.001), refused(m.recv, u, 0.001),
              refused(m.close, u), refused(function() return #u end),
              refused(go.select, { 1, u }))
        u = nil
        for _ = 1, 3 do collectgarbage() end
      end)
      print("done")
    ]])
  end)
end)

describe("a userdata given a task's metatable (debug.setmetatable)", function()
  -- a task was known by its metatable: another userdata given it was
  -- taken for one, its memory read and written as a task's
  it("is refused by join, cancel, status, join_op and select", function()
    child_says("false\tfalse\tfalse\tfalse\tfalse\ndone\n", [[
      local go = require "ucoro.go"
      go.run(function()
        local mt = getmetatable(go.spawn(function() end))
        local m = mt.__index
        local function refused(f, ...)
          local ok, err = pcall(f, ...)
          return ok or not tostring(err):find("expected", 1, true)
        end
        local u = io.tmpfile()
        debug.setmetatable(u, mt)
        print(refused(m.join, u), refused(m.cancel, u), refused(m.status, u),
              refused(m.join_op, u), refused(go.select, { 4, u }))  -- (a join op made by hand)
        u = nil
        for _ = 1, 3 do collectgarbage() end
      end)
      print("done")
    ]])
  end)
end)

describe("a task parked in ucoro_go.h closed by another task", function()
  it("in work: the close waits for the pool thread, which never writes into collected memory", function()
    child_says("false\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      local capi = require "ucoro_go_testmod"
      go.run(function()
        local th
        local a = go.spawn(function()
          th = coroutine.running()
          capi.work(100)  -- its job is a userdata on the task's stack
        end)
        go.yield()
        ucoro.close(th)
        for _ = 1, 3 do collectgarbage() end
        go.sleep(0.15)
        a:cancel()
        print(a:join())
      end)
    ]])
  end)

  it("in wait_fd: its poll is closed, no wake-up reaches the task once it has ended", function()
    child_says("false\tcannot resume dead coroutine\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      local uv = require "luv"
      local capi = require "ucoro_go_testmod"
      go.run(function()
        local fds = uv.pipe()
        local r, w = fds.read, fds.write
        local th
        local a = go.spawn(function()
          th = coroutine.running()
          capi.wait_fd(r, 1, 10)
        end)
        go.yield()
        ucoro.close(th)
        a:cancel()
        print(a:join())
        a = nil
        for _ = 1, 3 do collectgarbage() end
        local p = uv.new_pipe()
        p:open(w)
        p:write("x")
        go.sleep(0.05)
        p:close()
      end)
    ]])
  end)
end)

describe("finalizers running inside tasks", function()
  it("that block get a clear error, and leave their task's park and the ready queue intact", function()
    -- go.sleep(0) in a finalizer queued the task for its yield, then the
    -- yield failed (no yield in __gc) and the task stayed queued: queued
    -- twice, it was resumed after it ended (an error out of go.run)
    child_says("true\t0\tyield refused\n", ([[
      local go = require "ucoro.go"
      collectgarbage("incremental", 1, 100, 0)  -- a step at each allocation
      local refused, other, bad = 0, {}, 0
      local ok, err = go.run(function()
        for i = 1, %d do
          local ch = go.chan()
          local t = go.spawn(function()
            for _ = 1, 20 do
              setmetatable({}, { __gc = function()
                if not go.self() then return end
                local _, e = pcall(go.sleep, 0)
                if tostring(e):find("yield inside a __gc finalizer", 1, true) then
                  refused = refused + 1
                elseif not tostring(e):find("not run by go.coroutine", 1, true) then
                  other[#other + 1] = tostring(e)
                end
              end })
            end
            return ch:recv()
          end)
          go.yield()
          ch:send(i)
          local r = table.pack(t:join(1))
          if not (r[1] == true and r[2] == i and r[3] == true) then bad = bad + 1 end
        end
      end)
      assert(#other == 0, other[1])
      print(ok or err, bad, refused > 0 and "yield refused" or "no finalizer ran in a task")
    ]]):format(os.getenv("UCORO_TEST_QUICK") and 200 or 1000))
  end)

  it("that send to a task whose park is still being made, from another thread, wake it", function()
    -- a task's first park ends in the scheduler's code, which may
    -- allocate while that task is still the one running: a finalizer's
    -- send there went into the buffer and left the receiver parked (a
    -- deadlock; its frame, intact, takes the value as any parked one's)
    -- (whether a finalizer runs in that window is the collector's choice:
    -- Debian's 5.4.4 runs some there, newer releases may run none, and
    -- then the case has not arisen)
    local out, ok = helpers.run_child([[
      local go = require "ucoro.go"
      collectgarbage("incremental", 1, 100, 0)  -- a step at each allocation
      local during, bad = 0, 0
      local ok, err = go.run(function()
        for i = 1, 300 do
          local ch, r, sent = go.chan(1), nil, false
          for _ = 1, 20 do
            setmetatable({}, { __gc = function()
              if r and go.self() == r and r:waiting() == "recv" and #ch == 0 then
                sent = ch:try_send(i)
              end
            end })
          end
          r = go.spawn(function() return ch:recv() end)
          go.yield()  -- r runs, and parks
          if sent then
            during = during + 1
            if #ch ~= 0 or r:waiting() then bad = bad + 1 end  -- not woken
          end
          if r:waiting() then ch:send(i) end
          if select(2, r:join()) ~= i then bad = bad + 1 end
          r = nil
        end
      end)
      print(ok or err, during, bad)
    ]])
    assert.is_true(ok, out)
    local result, during, bad = out:match("^(.-)\t(%d+)\t(%d+)\n$")
    assert.same({ "true", "0" }, { result, bad }, out)
    if during == "0" then
      return pending("no finalizer ran while a first park was being made (this Lua's collector)")
    end
  end)

  it("that wake, cancel or spawn do so", function()
    local got = {}
    run(function()
      local ch = go.chan()
      local t = go.spawn(function() return ch:recv() end)
      go.yield()
      setmetatable({}, { __gc = function()
        ch:close()
        go.spawn(function() got[#got + 1] = "spawned" end)
      end })
      collectgarbage()
      local why = select(4, t:join())
      got[#got + 1] = why
    end)
    table.sort(got)
    assert.same({ "closed", "spawned" }, got)
  end)
end)

describe("a __close that raises while its task ends", function()
  -- the task's frames are closed by the scheduler once it has failed or
  -- been cancelled; the handler's error was dropped, the task reported
  -- as failing (or cancelled) with the first error
  it("replaces the task's error, as coroutine.close's does, also on cancellation", function()
    local got = {}
    run(function()
      local a = go.spawn(function()
        local _ <close> = setmetatable({}, { __close = function() error("from __close", 0) end })
        error("first", 0)
      end)
      local b = go.spawn(function()
        local _ <close> = setmetatable({}, { __close = function(_, e)
          error("closing after " .. tostring(e), 0)
        end })
        go.sleep(10)
      end)
      got.a = table.pack(a:join())
      go.yield()
      b:cancel("stop")
      got.b = table.pack(b:join())
      got.status = { a:status(), b:status() }
    end)
    assert.same({ false, "from __close", n = 2 }, got.a)
    assert.same({ false, "closing after cancelled: stop", n = 2 }, got.b)
    assert.same({ "failed", "failed" }, got.status)
  end)
end)

describe("uv.run called inside a task (luv does not refuse a nested run)", function()
  it("under go.attach runs no other task inside it: the task keeps its identity", function()
    local uv = require "luv"
    local log = {}
    go.attach()
    go.spawn(function()
      local me = go.self()
      go.spawn(function() log[#log + 1] = "other ran" end)
      uv.run("nowait")
      log[#log + 1] = "after nested run"
      log[#log + 1] = go.self() == me and "still itself" or "lost itself"
      go.sleep(0)
      log[#log + 1] = "slept"
    end)
    uv.run()
    local errors = go.detach()
    assert.same({}, errors)
    assert.same({ "after nested run", "still itself", "other ran", "slept" }, log)
  end)
end)

describe("go.cond", function()
  it("loses no signal to a waiter whose timeout fired just before it", function()
    local r = table.pack(run(function()
      local c = go.cond()
      local w1 = go.spawn(function() return c:wait(0.01) end)
      local w2 = go.spawn(function() return c:wait(0.5) end)
      go.spawn(function()  -- keeps the loop away until both timers are due
        local t0 = go.now()
        while go.now() - t0 < 0.03 do end
      end)
      go.sleep(0.005)  -- due before w1's timeout: runs first once both are
      c:signal()       -- to w1, first in line: its timeout fired, not yet run
      return select(2, w1:join()), select(2, w2:join())
    end))
    -- exactly one waiter got the one signal (w1: it was first in line)
    assert.same({ true, true, false, n = 3 }, r)
  end)
end)

describe("go.timer", function()
  it("stopped after its time passed but before its task ran: stop() says true and f never runs", function()
    local r = table.pack(run(function()
      local ran = false
      local tm = go.timer(0.01, function() ran = true end)
      go.spawn(function()  -- keeps the loop away until both timers are due
        local t0 = go.now()
        while go.now() - t0 < 0.03 do end
      end)
      go.sleep(0.005)  -- runs before the timer's task once both are due
      local stopped = tm.stop()
      go.sleep(0.02)
      return stopped, ran, tm.stop()
    end))
    assert.same({ true, true, false, false, n = 4 }, r)
  end)
end)

describe("the deadlock report", function()
  -- (it was built by concatenating onto the report so far: quadratic,
  -- 0.66 s for 4,000 tasks, minutes for 100,000; now one buffer)
  it("lists each of many parked tasks once", function()
    local n = os.getenv("UCORO_TEST_QUICK") and 2000 or 20000
    local ok, err = go.run(function()
      local ch = go.chan()
      for _ = 1, n do go.spawn(function() ch:recv() end) end
      ch:recv()
    end)
    assert.is_false(ok)
    local count, ids = 0, {}
    for id in err:gmatch("\n\ntask (%d+) %[recv%]") do
      if not ids[id] then count = count + 1 end
      ids[id] = true
    end
    assert.equal(n + 1, count)
  end)
end)

describe("cancellation through deeply nested scopes", function()
  -- (it recursed once per nesting level: 3,000 levels overflowed the
  -- small C stack of the task that called cancel, a segfault; 20,000
  -- overflow the default one)
  it("reaches a task 3,000 scopes down from a cancel called on a small task stack", function()
    local D, depth = 3000, 0
    local r = table.pack(run(function()
      local function level(k)
        depth = k
        if k == D then go.sleep(100) return end
        go.scope(function()
          go.spawn(level, k + 1)
          go.sleep(100)
        end)
      end
      local top = go.spawn(level, 1)
      while depth < D do go.sleep(0.001) end
      local canceller = go.spawn({ stack = 32 * 1024 }, function()
        top:cancel("stop")
      end)
      assert(canceller:join())
      return top:join()
    end))
    assert.is_false(r[2])
    assert.is_true(go.is_cancelled(r[3]))
    assert.equal("stop", r[3].reason)
  end)
end)

describe("ucoro_go.h's prepare given up (no park)", function()
  it("leaves no token a late wake-up could end a later park with", function()
    local capi = require "ucoro_go_testmod"
    local r = table.pack(run(function()
      local ch = go.chan()
      local token
      local a = go.spawn(function()
        token = capi.prepare()  -- prepared, then given up: no park
        return ch:recv()
      end)
      go.yield()
      capi.wake(token)  -- the given-up park's wake-up, late
      go.yield()
      ch:send("real")
      return a:join()
    end))
    assert.same({ true, true, "real", true, n = 4 }, r)
  end)
end)

describe("uservalues replaced by the debug library (debug.setuservalue)", function()
  -- C keeps a channel's values, a scope's errors and a task's thread in
  -- uservalues: a replaced one is never read as what it was (a channel
  -- or scope read a number as a table and crashed; a task's thread was
  -- collected while the scheduler still resumed it)
  for _, v in ipairs({ "nil", "42", "{}" }) do
    it("a channel's values (" .. v .. "): sends and receives go on", function()
      child_says("true\t1\ttrue\tnil\ttrue\n", ([[
        local go = require "ucoro.go"
        print(go.run(function()
          local ch = go.chan(2)
          debug.setuservalue(ch, %s, 1)
          collectgarbage()
          go.spawn(function() ch:send(1) end)
          local r, ok = ch:recv()
          ch:send(1)
          debug.setuservalue(ch, %s, 1)
          return r, ok, ch:try_recv()  -- (its value went with the old table)
        end))
      ]]):format(v, v))
    end)

    it("a scope's errors (" .. v .. "): a child's error still reaches it", function()
      child_says("false\tboom\n", ([[
        local go = require "ucoro.go"
        print(go.run(function()
          return go.scope(function(sc)
            debug.setuservalue(sc, %s, 1)
            collectgarbage()
            go.spawn(function() go.sleep(0.001) error("boom", 0) end)
          end)
        end))
      ]]):format(v))
    end)

    it("a task's thread (" .. v .. "), parked and ended: the task runs, join says what it can", function()
      child_says("true\tran\tfalse\n", ([[
        local go = require "ucoro.go"
        local function churn()
          for _ = 1, 3 do collectgarbage() end
          local s = {} for i = 1, 1e4 do s[i] = coroutine.create(print) end
        end
        print(go.run(function()
          local ran
          local t = go.spawn(function(...) go.yield() ran = "ran" return ... end, 1, 2)
          debug.setuservalue(t, %s, 1)
          churn()
          local ok = pcall(t.join, t)
          local u = go.spawn(function() return 1, 2 end)
          go.yield() go.yield()
          debug.setuservalue(u, %s, 1)
          churn()
          return ran, (pcall(u.join, u))
        end))
      ]]):format(v, v))
    end)
  end
end)

describe("luv's uv.walk while ucoro.go's handles are on the loop", function()
  -- luv takes every handle's data for its own (an assert, or a crash on
  -- ours): the walk sees luv's handles only, in a task and after go.run
  it("lists luv's handles only, which it may close, with go's timers, streams and UDP open", function()
    child_says("2\ttcp\ttimer\n0\n", [[
      local uv = require "luv"
      local go = require "ucoro.go"
      local function walk()
        local names = {}
        uv.walk(function(h)
          names[#names + 1] = tostring(h):match("^uv_(%a+)")
          if not h:is_closing() then h:close() end
        end)
        table.sort(names)
        return #names, table.unpack(names)
      end
      local t, s = uv.new_timer(), uv.new_tcp()
      print(select(2, go.run(function()
        local server = go.tcp.listen("127.0.0.1", 0, function() end)
        local udp = go.udp.bind("127.0.0.1", 0)
        local sleeper = go.spawn(function() go.sleep(10) end)
        local ch = go.chan()
        local receiver = go.spawn(function() ch:recv(5) end)
        go.yield()
        local r = table.pack(walk())
        server:close() udp:close()
        sleeper:cancel() receiver:cancel()
        return table.unpack(r, 1, r.n)
      end)))
      uv.run()
      print((walk()))
    ]])
  end)
end)

describe("a channel or scope brought back by another finalizer (resurrected)", function()
  -- its own finalizer, which takes off the waiters of tasks whose
  -- coroutine was closed while parked, has run already and does not run
  -- again: a waiter queued on it afterwards outlived its memory (a write
  -- into freed memory when that task ended: Valgrind, ASan; a deadlock
  -- when a new channel had taken the memory)
  local RESURRECT = [[
    local go = require "ucoro.go"
    local ucoro = require "ucoro"
    -- o(): a new object, finalized and brought back by a table's finalizer
    local function resurrected(o)
      local back
      setmetatable({ o() }, { __gc = function(h) back = h[1] end })
      for _ = 1, 3 do collectgarbage() end
      return assert(back, "not brought back")
    end
    -- wait(x) in a task whose coroutine is closed while parked; then x is
    -- dropped, collected, and the task cancelled and joined
    local function park_closed_drop(x, wait)
      local th
      local a = go.spawn(function() th = coroutine.running() wait(x) end)
      go.yield()
      ucoro.close(th)
      x = nil
      for _ = 1, 3 do collectgarbage() end
      return a
    end
  ]]

  it("in a recv, then collected: its memory, taken by a new channel, is not written", function()
    child_says("true\ttrue\tx\tfalse\n", RESURRECT .. [[
      print(go.run(function()
        local a = park_closed_drop(resurrected(go.chan), function(ch) ch:recv() end)
        local ch2 = go.chan()  -- (the freed block, first in line)
        local r = go.spawn(function() return ch2:recv() end)
        go.yield()
        a:cancel()
        local joined = a:join()
        return ch2:send("x", 0.5), select(2, r:join(0.5)), joined
      end))
    ]])
  end)

  it("in a select's send, then collected", function()
    child_says("true\tfalse\tcannot resume dead coroutine\n", RESURRECT .. [[
      print(go.run(function()
        local a = park_closed_drop(resurrected(go.chan),
                                   function(ch) go.select(ch:send_op(1)) end)
        a:cancel()
        return a:join()
      end))
    ]])
  end)

  it("a scope, in a select on its done op, then collected", function()
    child_says("true\tfalse\tcannot resume dead coroutine\n", RESURRECT .. [[
      print(go.run(function()
        local s = resurrected(function()
          local sc
          go.scope(function(x) sc = x end)
          return sc
        end)
        local a = park_closed_drop(s, function(x) go.select(x:done_op()) end)
        a:cancel()
        return a:join()
      end))
    ]])
  end)
end)

describe("a task whose results fill its runner's stack", function()
  -- its end needed stack room after its results (a stack overflow
  -- raised there): the task never ended ("running" for good, a deadlock
  -- at the end of go.run), and a join that ran it inline (on the
  -- joiner's stack) left the joiner no longer known as a task ("not
  -- inside a task"); run by the drain, go.run itself raised
  for _, how in ipairs({ "run inline by its join", "run by the drain" }) do
    it(how .. ": ends, and its joiner goes on as a task", function()
      child_says("true\t0\tended\n", ([[
        local go = require "ucoro.go"
        local big = {}
        for i = 1, 1000000 do big[i] = true end
        local inline = %s
        print(go.run(function()
          local bad, ended = 0, 0
          -- (just below the stack's limit: somewhere there, the results
          -- fit on the runner's stack, and little more does)
          for n = 999999, 999940, -1 do
            local t = go.spawn(function()  -- (ends well when its results fit)
              if not inline then go.yield() end  -- (its join parks)
              if pcall(table.unpack, big, 1, n) then return table.unpack(big, 1, n) end
            end)
            pcall(t.join, t)
            local status = t:status()
            if status == "done" then ended = ended + 1 end
            if not (status == "done" or status == "failed") or
               not pcall(go.yield) then
              bad = bad + 1
            end
          end
          return bad, ended > 0 and "ended" or "none ended"
        end))
      ]]):format(how == "run inline by its join" and "true" or "false"))
    end)
  end
end)

describe("go.scope in a finalizer running in a task", function()
  -- its wait for its children cannot park there: the error it raises
  -- left the task not cancellable for good (and inside that scope)
  it("raises, and leaves its task cancellable", function()
    child_says("true\ttrue\tfalse\tcancelled\n", [[
      local go = require "ucoro.go"
      print(go.run(function()
        local refused
        local t = go.spawn(function()
          setmetatable({}, { __gc = function()
            refused = not pcall(go.scope, function() go.spawn(function() end) end)
          end })
          collectgarbage()
          go.sleep(5)
        end)
        go.yield()
        t:cancel()
        return refused, t:join(0.5)
      end))
    ]])
  end)
end)

describe("go.coroutine's resume", function()
  -- the task names the generator it runs while the resume lasts; a
  -- resume that raised (a C stack overflow at its call) left it named:
  -- that coroutine, resumed later by anyone, parked the task through it
  -- (the sentinel of a park returned to the task's code, which then ran
  -- as a parked task)
  it("that raises leaves the generator no longer its task's", function()
    child_says("true\tfalse\tnot run by go.coroutine\ttrue\n", [[
      local go = require "ucoro.go"
      local ucoro = require "ucoro"
      print(go.run(function()
        -- at some depth of C calls, the resume's own call overflows
        for n = 150, 250 do
          local g = coroutine.create(function() go.sleep(0.001) end)
          local function deep(k)
            if k == 0 then return go.coroutine.resume(g) end
            return pcall(deep, k - 1)
          end
          pcall(deep, n)
          if coroutine.status(g) == "suspended" then  -- (it never ran)
            local ok, err = ucoro.resume(g)
            return ok, tostring(err):match("not run by go.coroutine"),
                   (pcall(go.yield))
          end
        end
      end))
    ]])
  end)
end)

describe("a failed task joined inline at the limit of C calls", function()
  -- its end closes its coroutine (pending __close) through a call, which
  -- raised there (a C stack overflow): the task never ended ("running"
  -- for good, a deadlock at the end of go.run)
  it("ends, the close's failure its error", function()
    child_says("true\t0\n", [[
      local go = require "ucoro.go"
      print(go.run(function()
        local bad, tasks = 0, {}
        -- (somewhere there, the join's call fits and the close's does not)
        for n = 150, 250 do
          local t = go.spawn(function() error("boom", 0) end)
          tasks[#tasks + 1] = t
          local function deep(k)
            if k == 0 then return t:join() end
            return pcall(deep, k - 1)
          end
          pcall(deep, n)
          if t:status() == "running" then bad = bad + 1 end
          -- the join itself no longer fits: t runs once joined below
          if t:status() == "ready" then break end
        end
        for _, t in ipairs(tasks) do t:join() end
        return bad
      end))
    ]])
  end)
end)
