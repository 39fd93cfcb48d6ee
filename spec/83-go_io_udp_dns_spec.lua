-- ucoro.go's UDP sockets (go.udp) and name resolution (go.dns), on
-- loopback: success, failure, timeout, cancellation mid-call, close while
-- waiting, the bounded receive queue and its drop counter.
local go = require "ucoro.go"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

describe("go.udp", function()
  it("sends and receives datagrams with their sender's address", function()
    local r = run(function()
      local a = assert(go.udp.bind("127.0.0.1", 0))
      local b = assert(go.udp.bind("127.0.0.1", 0))
      local _, pa = a:sockname()
      local _, pb = b:sockname()
      go.spawn(function() assert(a:send("ping", "127.0.0.1", pb)) end)
      local data, host, port = b:recv(5)
      assert(b:send(data:upper(), host, port))
      local back = { a:recv(5) }
      a:close() b:close()
      return { data, host, port == pa, back[1], back[3] == pb }
    end)
    assert.same({ "ping", "127.0.0.1", true, "PING", true }, r)
  end)

  it("recv times out; a close while waiting gives nil, 'closed'", function()
    local r = run(function()
      local s = assert(go.udp.bind("127.0.0.1", 0))
      local t0 = go.now()
      local v, err = s:recv(0.02)
      local waited = go.now() - t0
      local t = go.spawn(function() return table.pack(s:recv()) end)
      go.sleep(0.01)
      s:close()
      local _, res = t:join(1)
      return { v, err, waited >= 0.02, res[1], res[2], select(2, s:send("x", "127.0.0.1", 9)) }
    end)
    assert.same({ nil, "timeout", true, nil, "closed", "closed" }, r)
  end)

  it("cancelling a receiver deregisters it; the queue is bounded and counts drops", function()
    local r = run(function()
      local s = assert(go.udp.bind("127.0.0.1", 0, { queue = 4 }))
      local _, port = s:sockname()
      local t = go.spawn(function() return s:recv() end)
      go.sleep(0.01)
      t:cancel("stop")
      local ok, err = t:join()
      local c = assert(go.udp.bind("127.0.0.1", 0))
      for i = 1, 10 do assert(c:send("d" .. i, "127.0.0.1", port)) end
      go.sleep(0.05)
      local got = {}
      for _ = 1, 4 do got[#got + 1] = s:recv(1) end
      local _, empty = s:recv(0.01)
      local dropped = s:dropped()
      s:close() c:close()
      return { ok, go.is_cancelled(err), got, empty, dropped }
    end)
    assert.same({ false, true, { "d1", "d2", "d3", "d4" }, "timeout", 6 }, r)
  end)

  it("ports out of range raise, in every call that takes one (libuv would truncate them)", function()
    local r = run(function()
      local msgs = {}
      for _, f in ipairs {
        function() return go.udp.bind("127.0.0.1", 65536) end,
        function() return go.tcp.connect("127.0.0.1", -1) end,
        function() return go.tcp.bind("127.0.0.1", 70000) end,
        function() return go.dns.getnameinfo("127.0.0.1", 1 << 40) end,
      } do
        local ok, err = pcall(f)
        msgs[#msgs + 1] = not ok and err:match("port out of range") or tostring(err)
      end
      return msgs
    end)
    assert.same({ "port out of range", "port out of range", "port out of range", "port out of range" }, r)
  end)

  it("bad addresses fail with luv's messages", function()
    local a, b = run(function()
      local _, e1 = go.udp.bind("nowhere", 0)
      local s = assert(go.udp.bind("127.0.0.1", 0))
      local _, e2 = go.udp.bind("127.0.0.1", select(2, s:sockname()))
      s:close()
      return e1, e2
    end)
    assert.equal("EINVAL: invalid argument", a)
    assert.equal("EADDRINUSE: address already in use", b)
  end)

  it("send failures are nil, luv's message: a bad address, a datagram too large; a port out of range raises", function()
    local r = run(function()
      local s = assert(go.udp.bind("127.0.0.1", 0))
      local _, port = s:sockname()
      local res = { select(2, s:send("x", "nowhere", port)),
                    select(2, s:send(("x"):rep(70000), "127.0.0.1", port)),
                    select(2, pcall(s.send, s, "x", "127.0.0.1", port + 65536)):match("port out of range") }
      -- the socket still works after them
      assert(s:send("still", "127.0.0.1", port))
      res[4] = s:recv(5)
      s:close()
      return res
    end)
    assert.same({ "EINVAL: invalid argument", "EMSGSIZE: message too long",
                  "port out of range", "still" }, r)
  end)

  it("outside a task: a clear error", function()
    local s = run(function() return assert(go.udp.bind("127.0.0.1", 0)) end)
    assert.has_error(function() s:recv() end,
      "udp.recv: not inside a task (blocking calls need go.run)")
    s:close()
  end)
end)

describe("go.dns", function()
  it("getaddrinfo resolves localhost; getnameinfo names 127.0.0.1", function()
    local list, host, service = run(function()
      local l = assert(go.dns.getaddrinfo("localhost", { family = "inet", timeout = 5 }))
      local h, s = go.dns.getnameinfo("127.0.0.1", 80, { timeout = 5 })
      return l, h, s
    end)
    assert.equal("127.0.0.1", list[1].addr)
    assert.equal("inet", list[1].family)
    assert.is_string(host)
    assert.truthy(host ~= "")
    assert.is_string(service)
  end)

  it("an unknown name fails with libuv's message; a bad address with EINVAL", function()
    local a, b = run(function()
      local _, e1 = go.dns.getaddrinfo("no-such-host.invalid", { timeout = 5 })
      local _, e2 = go.dns.getnameinfo("not an address")
      return e1, e2
    end)
    assert.truthy(a == "EAI_NONAME: unknown node or service" or a:match("^EAI_"), a)
    assert.equal("EINVAL: invalid argument", b)
  end)

  it("getaddrinfo, getnameinfo and a connect by name time out while libuv's pool is busy; " ..
     "the abandoned requests finish later", function()
    local uv = require "luv"
    local pool = tonumber(os.getenv("UV_THREADPOOL_SIZE")) or 4
    local r = run(function()
      -- every pool thread blocked opening a FIFO nobody writes
      local fifo = os.tmpname()
      os.remove(fifo)
      assert(os.execute("mkfifo '" .. fifo .. "'"))
      local openers = {}
      for i = 1, pool do openers[i] = go.spawn(function() return go.fs.open(fifo, "r") end) end
      go.sleep(0.02)
      local t0 = go.now()
      local a = { go.dns.getaddrinfo("localhost", { timeout = 0.05 }) }
      local b = { go.dns.getnameinfo("127.0.0.1", 80, { timeout = 0.05 }) }
      -- a connect by name resolves on the pool too
      local c = { go.tcp.connect("localhost", 1, { timeout = 0.05 }) }
      local waited = go.now() - t0
      -- a writer that needs no pool thread lets the openers go
      local w = assert(uv.fs_open(fifo, 2049, 0))  -- O_WRONLY | O_NONBLOCK
      for i = 1, pool do assert(select(2, openers[i]:join(5))):close() end
      uv.fs_close(w)
      os.remove(fifo)
      go.sleep(0.05)  -- the pool runs the abandoned requests; they free themselves
      -- and the pool serves new ones
      local again = assert(go.dns.getaddrinfo("localhost", { family = "inet", timeout = 5 }))
      return { a[1], a[2], b[1], b[2], c[1], c[2], waited >= 0.15, again[1].addr }
    end)
    assert.same({ nil, "timeout", nil, "timeout", nil, "timeout", true, "127.0.0.1" }, r)
  end)

  it("cancelling a resolution abandons it; the task ends at once", function()
    local r = run(function()
      local t = go.spawn(function() return go.dns.getaddrinfo("localhost") end)
      go.yield()
      assert.equal("dns", t:waiting())  -- parked in the request
      t:cancel("stop")
      local ok, err = t:join()
      go.sleep(0.02)  -- the pool finishes the abandoned request
      return { ok, go.is_cancelled(err) }
    end)
    assert.same({ false, true }, r)
  end)
end)
