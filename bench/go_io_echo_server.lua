--- The echo server of bench/go_io_echo: one of three implementations on
-- luv's loop, serving until `conns` connections have ended; then prints
-- its CPU seconds (os.clock) and the bytes it echoed.
--   lua5.4 bench/go_io_echo_server.lua go|go_timeout|luv|coro conns
-- It prints "port N" first (it listens on an ephemeral loopback port).
local mode, conns = arg[1], tonumber(arg[2])
local uv = require "luv"
local ended, bytes, cpu0 = 0, 0, 0

local function report()
  io.write(("cpu %.6f bytes %d\n"):format(os.clock() - cpu0, bytes))
  io.flush()
end

if mode == "go" or mode == "go_timeout" then
  -- ucoro.go: a task per connection, blocking reads and writes; with a
  -- timeout on every read (a timer-heap entry each) for go_timeout
  local go = require "ucoro.go"
  local timeout = mode == "go_timeout" and 10 or nil
  assert(go.run(function()
    local srv
    srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
      while true do
        local d = c:read(nil, timeout)
        if not d then break end
        bytes = bytes + #d
        c:write(d)
      end
      ended = ended + 1
      if ended == conns then srv:close() end
    end))
    cpu0 = os.clock()  -- serving starts: loading is not counted
    io.write("port ", srv:port(), "\n")
    io.flush()
  end))
elseif mode == "luv" then
  -- raw luv callbacks: the floor
  local server = uv.new_tcp()
  server:bind("127.0.0.1", 0)
  server:listen(128, function()
    local c = uv.new_tcp()
    server:accept(c)
    c:read_start(function(err, d)
      if d then
        bytes = bytes + #d
        c:write(d)
      else
        c:close()
        ended = ended + 1
        if ended == conns then server:close() end
      end
      assert(not err, err)
    end)
  end)
  cpu0 = os.clock()
  io.write("port ", server:getsockname().port, "\n")
  io.flush()
  uv.run()
elseif mode == "coro" then
  -- stock coroutines over luv (luvit coro-net's shape): a coroutine per
  -- connection, resumed inside the read callback
  local server = uv.new_tcp()
  server:bind("127.0.0.1", 0)
  server:listen(128, function()
    local c = uv.new_tcp()
    server:accept(c)
    local co
    local function read()
      c:read_start(function(err, d)
        c:read_stop()
        assert(coroutine.resume(co, err, d))
      end)
      return coroutine.yield()
    end
    co = coroutine.create(function()
      while true do
        local _, d = read()
        if not d then break end
        bytes = bytes + #d
        c:write(d)
      end
      c:close()
      ended = ended + 1
      if ended == conns then server:close() end
    end)
    assert(coroutine.resume(co))
  end)
  cpu0 = os.clock()
  io.write("port ", server:getsockname().port, "\n")
  io.flush()
  uv.run()
else
  error("mode: go, go_timeout, luv or coro")
end
report()
