--- The server of bench/go_io_idle: holds `n` idle connections (each in a
-- read that waits), then prints the resident memory they added per
-- connection, and closes them all.
--   lua5.4 bench/go_io_idle_server.lua go|go_lean|luv n   (prints "port N" first)
local mode, n = arg[1], tonumber(arg[2])
local uv = require "luv"

local function rss_kb()
  local f = assert(io.open("/proc/self/statm"))
  local pages = f:read("n") and f:read("n")
  f:close()
  return pages * 4
end

local base
local function report()
  collectgarbage() collectgarbage()
  io.write(("per_conn_bytes %.0f\n"):format((rss_kb() - base) * 1024 / n))
  io.flush()
end

if mode == "go" or mode == "go_lean" then
  local go = require "ucoro.go"
  assert(go.run(function()
    local started, srv = 0, nil
    srv = assert(go.tcp.listen("127.0.0.1", 0, function(c)
      started = started + 1
      if started == n then
        go.spawn(function() go.sleep(0.3) report() srv:close() end)
      end
      c:read()  -- idle until the end
    end, { backlog = 1024, stack = mode == "go_lean" and "lean" or nil }))
    collectgarbage() collectgarbage()
    base = rss_kb()
    io.write("port ", srv:port(), "\n")
    io.flush()
  end))
else
  local server, conns = uv.new_tcp(), {}
  server:bind("127.0.0.1", 0)
  server:listen(1024, function()
    local c = uv.new_tcp()
    server:accept(c)
    conns[#conns + 1] = c
    c:read_start(function() end)
    if #conns == n then
      local t = uv.new_timer()
      t:start(300, 0, function()
        report()
        t:close()
        for _, k in ipairs(conns) do k:close() end
        server:close()
      end)
    end
  end)
  collectgarbage() collectgarbage()
  base = rss_kb()
  io.write("port ", server:getsockname().port, "\n")
  io.flush()
  uv.run()
end
