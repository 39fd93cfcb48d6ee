-- ucoro.go's pipes (Unix domain sockets, file descriptors), child
-- processes with their standard streams, and signals: success, failure,
-- timeout, cancellation mid-call, close while waiting.
local go = require "ucoro.go"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

-- a clean environment for children: no sanitizer runtime preloaded
local ENV = { "PATH=" .. os.getenv("PATH") }

describe("go.pipe", function()
  it("listens on a path, connects, echoes; a missing path fails with luv's message", function()
    local path = os.tmpname()
    os.remove(path)
    local r = run(function()
      local srv = assert(go.pipe.listen(path, function(c)
        for line in c:lines() do c:write(line .. "!\n") end
      end))
      local c = assert(go.pipe.connect(path))
      c:write("hi\n")
      local got = c:read("l", 5)
      local peer = c:peername()
      c:close()
      srv:close()
      local _, err = go.pipe.connect(path .. ".missing")
      return { got, peer, err, select(2, c:nodelay(true)) }
    end)
    os.remove(path)
    assert.same({ "hi!", path, "ENOENT: no such file or directory", "closed" }, r)
  end)

  it("opens file descriptors as streams (both ends of an OS pipe)", function()
    local uv = require "luv"
    local r = run(function()
      local fds = assert(uv.pipe({ nonblock = true }, { nonblock = true }))
      local rd = assert(go.pipe.open(fds.read))
      local wr = assert(go.pipe.open(fds.write))
      assert(wr:write("through the fd\n"))
      local line = rd:read("l", 5)
      wr:close()
      local _, eof = rd:read("l", 5)
      rd:close()
      return { line, eof, select(2, go.pipe.open(-1)) }
    end)
    assert.same({ "through the fd", "eof", "EBADF: bad file descriptor" }, r)
  end)
end)

describe("pipe streams: the calls' other outcomes", function()
  -- a connected pair over a Unix domain socket
  local function pipe_pair(f)
    local path = os.tmpname()
    os.remove(path)
    local r = run(function()
      local sock = assert(go.pipe.bind(path))
      local c = assert(go.pipe.connect(path))
      local s = assert(sock:accept(5))
      local res = f(c, s)
      c:close() s:close() sock:close()
      return res
    end)
    os.remove(path)
    return r
  end

  it("read: partial pieces, timeout, cancellation mid-call, close while waiting", function()
    local r = pipe_pair(function(c, s)
      local res = {}
      c:write("par")
      go.spawn(function() go.sleep(0.01) c:write("tial\n") end)
      res.line = s:read("l", 5)
      res.timeout = { s:read("l", 0.02) }
      local t = go.spawn(function() return s:read("l") end)
      go.sleep(0.01)
      t:cancel("stop")
      local ok, err = t:join()
      res.cancelled = { ok, go.is_cancelled(err) }
      c:write("kept\n")  -- the cancelled read took nothing
      res.kept = s:read("l", 5)
      local waiter = go.spawn(function() return table.pack(s:read("l")) end)
      go.sleep(0.01)
      s:close()
      local _, w = waiter:join(1)
      res.closed = { w[1], w[2] }
      res.reset = select(2, c:reset())
      return res
    end)
    assert.same({ line = "partial", timeout = { nil, "timeout" }, cancelled = { false, true },
                  kept = "kept", closed = { nil, "closed" }, reset = "not a TCP stream" }, r)
  end)

  it("write: backpressure parks and times out; the peer gone is EPIPE, not a signal", function()
    local r = pipe_pair(function(c, s)
      local chunk, err = ("p"):rep(256 * 1024), nil
      for _ = 1, 64 do
        local ok, e = c:write(chunk, 0.05)
        if not ok then err = e break end
      end
      s:close()
      go.sleep(0.01)
      local gone
      for _ = 1, 50 do
        gone = select(2, c:write(chunk, 1))
        if gone and gone ~= "timeout" then break end
        go.sleep(0.001)
      end
      return { err, gone }
    end)
    assert.equal("timeout", r[1])
    assert.truthy(r[2] == "EPIPE: broken pipe" or r[2] == "ECONNRESET: connection reset by peer", r[2])
  end)

  it("a child's stdin: a child that does not read makes write park; its end makes it fail", function()
    local r = run(function()
      local p = assert(go.process.spawn("sleep", { args = { "10" }, env = ENV, stdout = "null" }))
      local chunk, err = ("c"):rep(256 * 1024), nil
      for _ = 1, 64 do
        local ok, e = p.stdin:write(chunk, 0.05)
        if not ok then err = e break end
      end
      -- a writer parked on it when the child ends
      local w = go.spawn(function() return table.pack(p.stdin:write(chunk, 5)) end)
      go.sleep(0.01)
      p:kill()
      p:wait(5)
      local _, res = w:join(5)
      return { err, res[1], res[2] }
    end)
    assert.equal("timeout", r[1])
    assert.is_nil(r[2])
    assert.truthy(r[3] == "EPIPE: broken pipe" or r[3] == "ECONNRESET: connection reset by peer", r[3])
  end)
end)

describe("go.process", function()
  it("spawns with args, env and cwd; reads its stdout and stderr; wait gives the code", function()
    local r = run(function()
      local p = assert(go.process.spawn("sh", {
        args = { "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3' },
        env = { "GREETING=hello", "PATH=" .. os.getenv("PATH") }, cwd = "/tmp" }))
      local out = p.stdout:read("a", 5)
      local err = p.stderr:read("a", 5)
      local code, sig = p:wait(5)
      return { out, err, code, sig, type(p.pid) }
    end)
    assert.same({ "hello from /tmp\n", "oops\n", 3, 0, "number" }, r)
  end)

  it("writes to its stdin, shuts it down, reads what it made of it", function()
    local out = run(function()
      local p = assert(go.process.spawn("tr", { args = { "a-z", "A-Z" }, env = ENV }))
      for i = 1, 100 do assert(p.stdin:write("line " .. i .. "\n")) end
      p.stdin:shutdown()
      local n = 0
      for line in p.stdout:lines() do
        n = n + 1
        assert.equal("LINE " .. n, line)
      end
      p:wait(5)
      return n
    end)
    assert.equal(100, out)
  end)

  it("wait times out; kill ends it with the signal", function()
    local r = run(function()
      local p = assert(go.process.spawn("sleep", { args = { "10" }, env = ENV,
                                                  stdin = "null", stdout = "null", stderr = "null" }))
      local _, why = p:wait(0.02)
      assert(p:kill("sigterm"))
      local code, sig = p:wait(5)
      return { why, code, sig, select(2, p:kill()) }
    end)
    assert.same({ "timeout", 0, 15, "ESRCH: no such process" }, r)
  end)

  it("cancelling a task mid-wait deregisters it; another task waits then", function()
    local r = run(function()
      local p = assert(go.process.spawn("sleep", { args = { "0.05" }, env = ENV, stdout = "null" }))
      local t = go.spawn(function() return p:wait() end)
      go.sleep(0.01)
      assert.equal("process", t:waiting())
      t:cancel("stop")
      local ok, err = t:join()
      return { ok, go.is_cancelled(err), (p:wait(5)) }
    end)
    assert.same({ false, true, 0 }, r)
  end)

  it("a process dropped while its child runs: its handle is closed, the state ends cleanly", function()
    local helpers = require "helpers"
    local output, ok = helpers.run_child([[
      local go = require "ucoro.go"
      local t0 = os.time()
      assert(go.run(function()
        local p = go.process.spawn("sleep", { args = { "3" }, env = { "PATH=/usr/bin:/bin" },
                                              stdin = "null", stdout = "null", stderr = "null" })
        assert(p)
        p = nil  -- luacheck: ignore 311
        collectgarbage() collectgarbage()
        go.sleep(0.01)
      end))
      print("ended", os.time() - t0 < 3)
    ]])
    assert.is_true(ok, output)
    assert.matches("ended\ttrue", output, 1, true)
  end)

  it("a missing program fails with luv's message", function()
    local err = run(function()
      return select(2, go.process.spawn("/nonexistent/program", { env = ENV }))
    end)
    assert.equal("ENOENT: no such file or directory", err)
  end)

  it("a child's output read from inside a sort comparator", function()
    local t = run(function()
      local p = assert(go.process.spawn("seq", { args = { "1", "100" }, env = ENV }))
      local t = { 5, 2, 8, 1, 9 }
      table.sort(t, function(a, b) assert(p.stdout:read("l", 5)) return a < b end)
      p.stdout:read("a", 5)
      p:wait(5)
      return t
    end)
    assert.same({ 1, 2, 5, 8, 9 }, t)
  end)
end)

describe("go.signal", function()
  it("notify sends each delivery to a channel; stop ends it", function()
    local r = run(function()
      local ch = go.chan(4)
      go.signal.notify(ch, "sigusr1", "sigusr2")
      local me = go.process.spawn("sh", { args = { "-c", "kill -USR1 $PPID; sleep 0.05; kill -USR2 $PPID" },
                                         env = ENV, stdout = "null" })
      local a = ch:recv(5)
      local b = ch:recv(5)
      me:wait(5)
      go.signal.stop(ch)
      return { a, b }
    end)
    assert.same({ "sigusr1", "sigusr2" }, r)
  end)

  it("wait with a timeout; cancelled mid-wait", function()
    local r = run(function()
      local _, why = go.signal.wait("sigusr1", 0.02)
      local t = go.spawn(function() return go.signal.wait("sigusr2") end)
      go.sleep(0.01)
      assert.equal("signal", t:waiting())
      t:cancel("stop")
      local ok, err = t:join()
      return { why, ok, go.is_cancelled(err) }
    end)
    assert.same({ "timeout", false, true }, r)
  end)
end)
