-- ucoro.go's TCP streams (go.tcp), on loopback: each call's success,
-- failure, timeout, cancellation mid-call, close while waiting, peer
-- reset, partial reads and writes, backpressure both ways, reads from
-- inside C calls, and real clients (curl, socat) against a server task.
local go = require "ucoro.go"
local uv = require "luv"
local lpeg = require "lpeg"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

-- A server on an ephemeral port and a connected client; f(client, server
-- side stream, server) runs in the root task; everything closed after.
local function pair(f, opts)
  return run(function()
    local accepted = go.chan(1)
    local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
      accepted:send(c)
      go.sleep(60)  -- kept open until the server closes
    end, opts))
    local c = assert(go.tcp.connect("127.0.0.1", srv:port(), opts))
    local s = accepted:recv(5)
    assert(s, "no connection accepted")
    local r = table.pack(pcall(f, c, s, srv))
    c:close()
    srv:close()
    assert(r[1], r[2])
    return table.unpack(r, 2, r.n)
  end)
end

-- Runs a command in a separate process through raw luv handles (they mix
-- with tasks on the same loop); returns a channel that receives its
-- standard output once it has exited and its output ended.
local function spawn_client(cmd, args)
  local done, ended = go.chan(1), go.chan(2)
  local out = uv.new_pipe(false)
  local chunks = {}
  local handle
  -- a clean environment: no sanitizer runtime preloaded into the client
  local env = { "PATH=" .. os.getenv("PATH") }
  handle = uv.spawn(cmd, { args = args, env = env, stdio = { nil, out, nil } }, function(code)
    handle:close()
    ended:try_send(code)
  end)
  assert(handle, "cannot run " .. cmd)
  out:read_start(function(err, data)
    assert(not err, err)
    if data then chunks[#chunks + 1] = data else out:close() ended:try_send("eof") end
  end)
  go.spawn(function()
    local code
    for _ = 1, 2 do
      local v = ended:recv(10)
      if v ~= "eof" then code = v end
    end
    done:send({ code = code, out = table.concat(chunks) })
  end)
  return done
end

local function have(cmd)
  return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true
end

describe("go.tcp", function()
  it("connects, writes, reads lines, bytes and all", function()
    local a, b, c, d = pair(function(c, s)
      assert.is_true(c:write("one\r\ntwo\nthree"))
      assert.equal("one", s:read("l"))
      assert.equal("two\n", s:read("L"))
      assert.equal("thr", s:read(3))
      c:shutdown()
      return s:read("a"), s:read("a"), s:read("l"), s:read()
    end)
    assert.same({ "ee", "" }, { a, b })
    assert.is_nil(c)
    assert.equal("eof", d == nil and "eof" or d)
  end)

  it("reads return nil, 'eof' at the end; a partial last line comes first", function()
    local r = pair(function(c, s)
      c:write("no end")
      c:shutdown()
      return { s:read("l"), { s:read("l") }, { s:read(4) }, s:read("a") }
    end)
    assert.equal("no end", r[1])
    assert.same({ nil, "eof" }, r[2])
    assert.same({ nil, "eof" }, r[3])
    assert.equal("", r[4])
  end)

  it("a line longer than max_line fails with nil, 'line too long' (nothing consumed)", function()
    local r = pair(function(c, s)
      go.spawn(function() c:write(("x"):rep(5000)) end)
      local v, err = s:read("l", 5)
      local rest = s:read(5000, 5)
      return { v, err, #rest }
    end, { max_line = 4096 })
    assert.same({ nil, "line too long", 5000 }, r)
  end)

  it("lines() iterates until the end", function()
    local got = pair(function(c, s)
      go.spawn(function()
        for i = 1, 5 do c:write("line " .. i .. "\n") go.yield() end
        c:shutdown()
      end)
      local t = {}
      for line in s:lines() do t[#t + 1] = line end
      return t
    end)
    assert.same({ "line 1", "line 2", "line 3", "line 4", "line 5" }, got)
  end)

  it("read(n) assembles pieces written apart (partial reads)", function()
    local got, some = pair(function(c, s)
      go.spawn(function()
        for i = 1, 4 do c:write(tostring(i):rep(100)) go.sleep(0.002) end
      end)
      local first = s:read()  -- whatever has arrived: at least a byte
      local rest = s:read(400 - #first)
      return first .. rest, #first
    end)
    assert.equal(("1"):rep(100) .. ("2"):rep(100) .. ("3"):rep(100) .. ("4"):rep(100), got)
    assert.is_true(some >= 1 and some <= 400)
  end)

  it("peername and sockname, nodelay and keepalive", function()
    pair(function(c, s, srv)
      local host, port = c:peername()
      assert.equal("127.0.0.1", host)
      assert.equal(srv:port(), port)
      local h2, p2 = s:peername()
      assert.equal("127.0.0.1", h2)
      assert.equal(select(2, c:sockname()), p2)
      assert.is_true(c:nodelay(true))
      assert.is_true(c:keepalive(true, 10))
      -- a delay that does not fit the socket option raises (it was cut
      -- to its low 32 bits: 2^32 + 10 became 10)
      assert.error_matches(function() c:keepalive(true, 2 ^ 32 + 10) end, "delay out of range")
      assert.error_matches(function() c:keepalive(true, -1) end, "delay out of range")
    end)
  end)

  it("a refused connection and bad addresses fail with luv's messages", function()
    local a, b, c = run(function()
      -- a port bound but not listening: nothing accepts there
      local probe = uv.new_tcp()
      probe:bind("127.0.0.1", 0)
      local port = probe:getsockname().port
      local _, err = go.tcp.connect("127.0.0.1", port)
      probe:close()
      local _, err2 = go.tcp.listen("not an address", 0, function() end)
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function() end))
      local _, err3 = go.tcp.listen("127.0.0.1", srv:port(), function() end)
      srv:close()
      return err, err2, err3
    end)
    assert.equal("ECONNREFUSED: connection refused", a)
    assert.equal("EINVAL: invalid argument", b)
    assert.equal("EADDRINUSE: address already in use", c)
  end)

  it("resolves a host name (localhost) through libuv's thread pool", function()
    local ok = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c) c:write("hi") end))
      local c, err = go.tcp.connect("localhost", srv:port(), { timeout = 5 })
      local data = c and c:read(2)
      if c then c:close() end
      srv:close()
      return data or err
    end)
    assert.equal("hi", ok)
  end)

  it("a read times out with nil, 'timeout', nothing consumed", function()
    local r = pair(function(c, s)
      local t0 = go.now()
      local v, err = s:read("l", 0.02)
      local waited = go.now() - t0
      c:write("partial")
      local v2, err2 = s:read("l", 0.02)  -- data but no line: still a timeout
      c:write(" line\n")
      return { v, err, waited, v2, err2, s:read("l", 1) }
    end)
    assert.is_nil(r[1])
    assert.equal("timeout", r[2])
    assert.is_true(r[3] >= 0.02)
    assert.same({ nil, "timeout" }, { r[4], r[5] })
    assert.equal("partial line", r[6])
  end)

  it("connect times out, and is cancelled mid-call, when the peer's accept queue is full", function()
    local r = run(function()
      -- a backlog of 1 that nobody accepts: the kernel drops further SYNs
      local sock = assert(go.tcp.bind("127.0.0.1", 0, { backlog = 1 }))
      local _, port = sock:sockname()
      local held, why = {}, nil
      for _ = 1, 8 do
        local c, err = go.tcp.connect("127.0.0.1", port, { timeout = 0.1 })
        if not c then why = err break end
        held[#held + 1] = c
      end
      local t = go.spawn(function() return go.tcp.connect("127.0.0.1", port) end)
      go.sleep(0.05)
      local waiting = t:waiting()
      t:cancel("stop")
      local ok, err = t:join()
      for _, c in ipairs(held) do c:close() end
      sock:close()
      return { why, waiting, ok, go.is_cancelled(err) }
    end)
    assert.same({ "timeout", "connect", false, true }, r)
  end)

  it("accept times out, then accepts", function()
    local a, b = run(function()
      local sock = assert(go.tcp.bind("127.0.0.1", 0))
      local _, err = sock:accept(0.01)
      local _, port = sock:sockname()
      local c = assert(go.tcp.connect("127.0.0.1", port))
      local s = assert(sock:accept(1))
      c:write("x")
      local x = s:read(1)
      c:close() s:close() sock:close()
      return err, x
    end)
    assert.same({ "timeout", "x" }, { a, b })
  end)

  it("cancelling a task mid-read deregisters it: later data waits for the next reader", function()
    local r = pair(function(c, s)
      local reader = go.spawn(function() return s:read("l") end)
      go.sleep(0.01)
      assert.equal("read", reader:waiting())
      reader:cancel("stop")
      local ok, err = reader:join()
      c:write("after\n")
      go.sleep(0.01)  -- the data arrives with no reader parked
      return { ok, go.is_cancelled(err), err.reason, s:read("l", 1) }
    end)
    assert.same({ false, true, "stop", "after" }, r)
  end)

  it("cancelling a connect (and a go.timeout around reads) cleans up", function()
    local a, b = run(function()
      local sock = assert(go.tcp.bind("127.0.0.1", 0))
      local _, port = sock:sockname()
      local c = assert(go.tcp.connect("127.0.0.1", port))
      local s = assert(sock:accept())
      local ok, why = go.timeout(0.01, function() return s:read("a") end)
      -- a reader again after the cancelled one
      c:write("z")
      local z = s:read(1, 1)
      c:close() s:close() sock:close()
      return (ok == nil and why), z
    end)
    assert.same({ "timeout", "z" }, { a, b })
  end)

  it("a task whose coroutine someone closed while it waited on a read: its wait is gone", function()
    local r = pair(function(c, s)
      local ucoro = require "ucoro"
      local co
      local t = go.spawn(function()
        co = coroutine.running()
        return s:read("l", 10)
      end)
      go.yield()
      assert.is_true(ucoro.close(co))
      t:cancel()  -- wakes it: the scheduler finds it dead and ends it
      local ok = t:join()
      t = nil  -- luacheck: ignore 311 (dropped: the task may be collected)
      collectgarbage() collectgarbage()  -- the task's memory may go now
      local _, why = s:read("l", 0.01)  -- a reader again: not "busy"
      c:write("late data\n")  -- the stream's callback must not reach it
      go.sleep(0.02)
      return { ok, why, s:read("l", 1) }
    end)
    assert.same({ false, "timeout", "late data" }, r)
  end)

  it("closing a stream a task waits on wakes it with nil, 'closed'", function()
    local r = pair(function(_, s)
      local reader = go.spawn(function() return table.pack(s:read("l")) end)
      go.sleep(0.01)
      s:close()
      local _, res = reader:join(1)
      return { res[1], res[2], select(2, s:read()), select(2, s:write("x")) }
    end)
    assert.same({ nil, "closed", "closed", "closed" }, r)
  end)

  it("closing a listening socket wakes its accept with nil, 'closed'", function()
    local r = run(function()
      local sock = assert(go.tcp.bind("127.0.0.1", 0))
      local t = go.spawn(function() return table.pack(sock:accept()) end)
      go.sleep(0.01)
      sock:close()
      local _, res = t:join(1)
      return res
    end)
    assert.same({ nil, "closed" }, { r[1], r[2] })
  end)

  it("a peer reset reaches a parked reader as ECONNRESET", function()
    local r = pair(function(c, s)
      local reader = go.spawn(function() return table.pack(s:read("l")) end)
      go.sleep(0.01)
      assert.is_true(c:reset())
      local _, res = reader:join(1)
      return res
    end)
    assert.same({ nil, "ECONNRESET: connection reset by peer" }, { r[1], r[2] })
  end)

  it("writing to a reset peer fails with luv's message, not a signal", function()
    local err = pair(function(c, s)
      s:reset()
      go.sleep(0.01)
      local e
      for _ = 1, 50 do
        e = select(2, c:write(("x"):rep(65536)))
        if e then break end
        go.sleep(0.001)
      end
      return e
    end)
    assert.is_truthy(err == "EPIPE: broken pipe" or err == "ECONNRESET: connection reset by peer", err)
  end)

  it("stops reading past the read high-water mark, resumes when drained", function()
    local r = pair(function(c, s)
      -- the peer writes 1 MiB; the reader takes nothing for a while
      local writer = go.spawn(function()
        local chunk = ("y"):rep(64 * 1024)
        for _ = 1, 16 do assert(c:write(chunk, 5)) end
        return true
      end)
      go.sleep(0.05)
      local buffered, _, reading = s:buffered()
      local total = 0
      while total < 16 * 64 * 1024 do
        local d = assert(s:read(8192, 5))
        total = total + #d
      end
      return { buffered, reading, total, writer:join(5) }
    end, { read_hwm = 16 * 1024, write_hwm = 32 * 1024 })
    assert.is_true(r[1] >= 16 * 1024 and r[1] < 16 * 1024 + 65536 + 1, tostring(r[1]))
    assert.is_false(r[2])
    assert.equal(16 * 64 * 1024, r[3])
    assert.is_true(r[4])
  end)

  it("a burst's large input buffer is freed once drained; a small one is kept", function()
    local r = pair(function(c, s)
      go.spawn(function() c:write(("b"):rep(600000)) end)
      local d = s:read(600000, 5)
      local _, _, _, cap_after_burst = s:buffered()
      c:write("small")
      local d2 = s:read(5, 5)
      local _, _, _, cap_small = s:buffered()
      return { #d, cap_after_burst, d2, cap_small }
    end)
    assert.same({ 600000, 0, "small", 65536 }, r)
  end)

  it("write parks while libuv's queue is above the mark, times out, resumes when drained", function()
    local r = pair(function(c, s)
      -- nobody reads s: the kernel's buffers fill, then libuv's queue
      local chunk = ("w"):rep(256 * 1024)
      local wrote, err = 0, nil
      for _ = 1, 64 do
        local ok, e = c:write(chunk, 0.05)
        if not ok then err = e break end
        wrote = wrote + #chunk
      end
      local _, queued = c:buffered()
      -- a reader drains it all; the parked writer goes on
      local drained = go.spawn(function()
        local n = 0
        while n < wrote + #chunk * 2 do n = n + #assert(s:read(65536, 5)) end
        return n
      end)
      assert(c:write(chunk, 5))
      local _, n = drained:join(5)
      return { err, queued > 0, n }
    end, { write_hwm = 64 * 1024 })
    assert.equal("timeout", r[1])
    assert.is_true(r[2])
    assert.is_true(r[3] > 0)
  end)

  it("a second reader on one stream is refused (busy), not queued", function()
    local err = pair(function(_, s)
      local t = go.spawn(function() return s:read("l", 1) end)
      go.yield()
      local _, e = s:read("l", 0.01)
      s:close()
      t:join()
      return e
    end)
    assert.equal("busy: another task reads this stream", err)
  end)

  it("reads from inside a table.sort comparator and an LPeg match-time capture", function()
    local sorted, parsed = pair(function(c, s)
      go.spawn(function()
        for i = 1, 200 do c:write(i % 2 == 0 and "<\n" or ">\n") end
        c:write("GET /x HTTP/1.1\r\n")
      end)
      local t = { 9, 4, 7, 1, 8, 2, 6, 3, 5 }
      local n = 0
      table.sort(t, function(a, b)
        n = n + 1
        assert(s:read("l", 5))
        return a < b
      end)
      -- a grammar that reads the socket itself, a token at a time
      local word = lpeg.Cmt(lpeg.P(true), function(_, pos)
        local w = {}
        repeat
          local ch = assert(s:read(1, 5))
          w[#w + 1] = ch
        until ch == " " or ch == "\n"
        return pos, (table.concat(w):gsub("%s+$", ""))
      end)
      -- drop the comparator lines left over, then parse the request line
      for _ = n + 1, 200 do s:read("l", 5) end
      local req = lpeg.match(lpeg.Ct(word * word * word), "")
      return t, req
    end)
    assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, sorted)
    assert.same({ "GET", "/x", "HTTP/1.1" }, parsed)
  end)

  it("a server's connections are tasks of its scope: close cancels them", function()
    local r = run(function()
      local started, cancelled = go.chan(10), go.chan(10)
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(conn)
        started:send(true)
        local ok, err = pcall(conn.read, conn, "l")
        if not ok and go.is_cancelled(err) then cancelled:send(err.reason) end
        error(err, 0)
      end))
      local clients = {}
      for i = 1, 3 do clients[i] = assert(go.tcp.connect("127.0.0.1", srv:port())) end
      for _ = 1, 3 do started:recv(5) end
      srv:close()
      local reasons = {}
      for i = 1, 3 do reasons[i] = cancelled:recv(5) end
      -- the clients see the end of their streams
      local ends = {}
      for i = 1, 3 do ends[i] = select(2, clients[i]:read("l", 5)) clients[i]:close() end
      srv.task:join(5)
      return { reasons, ends, srv.task:status(), srv.nerrors }
    end)
    assert.same({ "server closed", "server closed", "server closed" }, r[1])
    assert.same({ "eof", "eof", "eof" }, r[2])
    assert.equal("done", r[3])
    assert.equal(0, r[4])
  end)

  it("a handler's error is kept by the server; other connections go on", function()
    local r = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(conn)
        local line = conn:read("l")
        if line == "boom" then error("handler failed") end
        conn:write(line .. "!\n")
      end))
      local a = assert(go.tcp.connect("127.0.0.1", srv:port()))
      a:write("boom\n")
      assert.equal("eof", select(2, a:read("l", 5)))
      local b = assert(go.tcp.connect("127.0.0.1", srv:port()))
      b:write("fine\n")
      local got = b:read("l", 5)
      a:close() b:close() srv:close()
      return { got, srv.nerrors, tostring(srv.errors[1]):match("handler failed") }
    end)
    assert.same({ "fine!", 1, "handler failed" }, r)
  end)

  it("ucoro.go and luv loaded again (as busted's insulation does): " ..
     "the loop and open handles survive a collection", function()
    local helpers = require "helpers"
    local output, ok = helpers.run_child([[
      local go = require "ucoro.go"
      for _, m in ipairs { "ucoro.go", "ucoro.go.core", "ucoro.go.io", "luv" } do
        package.loaded[m] = nil
      end
      go = require "ucoro.go"  -- a second ucoro.go.core, a second luv table
      assert(go.run(function()
        local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c) c:write("x") end))
        local c = assert(go.tcp.connect("127.0.0.1", srv:port()))
        collectgarbage() collectgarbage()  -- the first luv table is garbage
        local x = c:read(1, 5)
        c:close() srv:close()
        print("read", x)
      end))
    ]])
    assert.is_true(ok, output)
    assert.matches("read\tx", output, 1, true)
  end)

  it("outside a task: a clear error, no hang", function()
    assert.has_error(function() go.tcp.connect("127.0.0.1", 1) end,
      "tcp.connect: not inside a task (blocking calls need go.run)")
  end)

  it("100 connections at once, each echoing, bounded", function()
    local total = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
        for line in c:lines() do c:write(line .. "\n") end
      end))
      local wg, sum = go.waitgroup(), 0
      for i = 1, 100 do
        wg:add()
        go.spawn(function()
          local c = assert(go.tcp.connect("127.0.0.1", srv:port()))
          for k = 1, 5 do
            c:write(i * k .. "\n")
            local echoed = tonumber(c:read("l", 5))  -- parks: sum read after
            sum = sum + echoed
          end
          c:close()
          wg:done()
        end)
      end
      assert(wg:wait(10))
      srv:close()
      return sum
    end)
    assert.equal(15 * 5050, total)
  end)

  it("curl fetches from a server task (HTTP/1.1 by hand)", function()
    if not have("curl") then error("curl missing: tools/deps test installs it") end
    local r = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
        local request = c:read("l", 5)
        repeat local h = c:read("l", 5) until h == "" or h == nil
        local body = "you asked for " .. request:match("^GET (%S+)")
        c:write("HTTP/1.1 200 OK\r\nContent-Length: " .. #body ..
                "\r\nConnection: close\r\n\r\n" .. body)
      end))
      local done = spawn_client("curl", { "-s", "--max-time", "5",
        ("http://127.0.0.1:%d/hello"):format(srv:port()) })
      local res = done:recv(10)
      srv:close()
      return res
    end)
    assert.equal(0, r.code)
    assert.equal("you asked for /hello", r.out)
  end)

  it("socat talks a line protocol with a server task", function()
    if not have("socat") then error("socat missing: tools/deps test installs it") end
    local r = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
        for line in c:lines() do c:write(#line .. "\n") end
      end))
      local done = spawn_client("sh", { "-c",
        ("printf 'a\\nbcd\\nefghij\\n' | socat -t 2 - TCP:127.0.0.1:%d"):format(srv:port()) })
      local res = done:recv(10)
      srv:close()
      return res
    end)
    assert.equal(0, r.code)
    assert.equal("1\n3\n6\n", r.out)
  end)
end)
