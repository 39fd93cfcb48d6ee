-- ucoro.go's terminals (go.tty, on a pseudo-terminal socat makes) and
-- IPv6 on loopback (::1): success, failure, timeout, cancellation
-- mid-call, close while waiting, the end.
local go = require "ucoro.go"
local uv = require "luv"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

-- socat holds a pty's master and relays it to its stdin/stdout (our
-- pipes); we open the slave, a real terminal, in this process.
local function with_pty(f)
  local path = os.tmpname()
  os.remove(path)
  local p = assert(go.process.spawn("socat", {
    args = { "PTY,link=" .. path .. ",raw,echo=0", "STDIO" },
    env = { "PATH=" .. os.getenv("PATH") } }))
  local fd
  for _ = 1, 200 do  -- until socat made the link (bounded: 2 s)
    fd = uv.fs_open(path, "r+", 0)
    if fd then break end
    go.sleep(0.01)
  end
  assert(fd, "socat made no pty")
  local ok, err = pcall(f, fd, p)
  p:kill()
  p:wait(5)
  os.remove(path)
  assert(ok, err)
end

describe("go.tty", function()
  it("reads and writes a terminal; a read times out, is cancelled, is woken by close", function()
    local r = run(function()
      local out = {}
      with_pty(function(fd, socat)
        local tty = assert(go.tty.open(fd))
        assert.truthy(tostring(tty):match("^go tty stream"))
        assert(tty:ttymode("raw"))
        assert(socat.stdin:write("typed at the terminal\n"))
        out.line = tty:read("l", 5)
        assert(tty:write("shown on the terminal\n"))
        out.shown = socat.stdout:read("l", 5)
        out.timeout = { tty:read("l", 0.02) }
        local t = go.spawn(function() return tty:read("l") end)
        go.sleep(0.01)
        t:cancel("stop")
        local ok, err = t:join()
        out.cancelled = { ok, go.is_cancelled(err) }
        -- the cancelled reader left nothing behind: the next read gets it
        assert(socat.stdin:write("after\n"))
        out.after = tty:read("l", 5)
        local waiter = go.spawn(function() return table.pack(tty:read("l")) end)
        go.sleep(0.01)
        tty:close()
        local _, res = waiter:join(1)
        out.closed = { res[1], res[2] }
      end)
      return out
    end)
    assert.equal("typed at the terminal", r.line)
    assert.equal("shown on the terminal", r.shown)
    assert.same({ nil, "timeout" }, r.timeout)
    assert.same({ false, true }, r.cancelled)
    assert.equal("after", r.after)
    assert.same({ nil, "closed" }, r.closed)
  end)

  it("a file that is no terminal is refused with luv's message; names and options are refused", function()
    local r = run(function()
      local fd = assert(uv.fs_open("/dev/null", "r", 0))
      local s, err = go.tty.open(fd)
      uv.fs_close(fd)
      local res = { s, err }
      with_pty(function(tfd)
        local tty = assert(go.tty.open(tfd))
        res[3] = select(2, tty:peername())
        res[4] = select(2, tty:nodelay(true))
        res[5] = select(2, tty:ttymode("normal"))
        tty:close()
        res[6] = select(2, tty:ttymode("raw"))
      end)
      return res
    end)
    assert.same({ nil, "EINVAL: invalid argument", "not a socket", "not a TCP stream", nil, "closed" }, r)
  end)

  it("the end of the terminal (its master closed) is nil, 'eof'", function()
    local r = run(function()
      local res
      with_pty(function(fd, socat)
        local tty = assert(go.tty.open(fd))
        socat.stdin:write("last\n")
        local line = tty:read("l", 5)
        socat:kill()
        socat:wait(5)
        res = { line, select(2, tty:read("l", 5)) }
        tty:close()
      end)
      return res
    end)
    assert.same({ "last", "eof" }, r)
  end)
end)

-- ::1 is on this machine's loopback (checked in /proc/net/if_inet6 when
-- these specs were written); a machine without it fails here, loudly.
describe("IPv6 on loopback (::1)", function()
  it("TCP: listen, connect, echo, peername; a refused connection", function()
    local r = run(function()
      local srv = assert(go.tcp.listen("::1", 0, function(c)
        for line in c:lines() do c:write(line .. "!\n") end
      end))
      local c = assert(go.tcp.connect("::1", srv:port(), { timeout = 5 }))
      c:write("six\n")
      local got = c:read("l", 5)
      local host = c:peername()
      c:close()
      srv:close()
      local _, err = go.tcp.connect("::1", 1, { timeout = 5 })
      return { got, host, err }
    end)
    assert.same({ "six!", "::1", "ECONNREFUSED: connection refused" }, r)
  end)

  it("UDP: datagrams between ::1 sockets; sending to an IPv4 address fails", function()
    local r = run(function()
      local a = assert(go.udp.bind("::1", 0))
      local b = assert(go.udp.bind("::1", 0))
      local _, pb = b:sockname()
      assert(a:send("ping6", "::1", pb))
      local data, host = b:recv(5)
      local _, err = a:send("x", "127.0.0.1", pb)
      a:close() b:close()
      return { data, host, err }
    end)
    assert.equal("ping6", r[1])
    assert.equal("::1", r[2])
    assert.is_string(r[3])  -- the kernel's refusal, as luv names it
    assert.truthy(r[3]:match("^E[A-Z]+: "), r[3])
  end)

  it("DNS: getaddrinfo of ::1 as inet6; getnameinfo of ::1", function()
    local r = run(function()
      local l = assert(go.dns.getaddrinfo("::1", { family = "inet6", timeout = 5 }))
      local h = go.dns.getnameinfo("::1", 80, { timeout = 5 })
      return { l[1].addr, l[1].family, type(h) }
    end)
    assert.same({ "::1", "inet6", "string" }, r)
  end)
end)
