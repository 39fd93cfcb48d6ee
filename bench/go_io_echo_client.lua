--- The client of bench/go_io_echo (a separate process, raw luv): `conns`
-- connections, each sending `msgs` messages of `size` bytes one at a
-- time, each echoed whole before the next; prints its wall seconds.
--   lua5.4 bench/go_io_echo_client.lua port conns msgs size
local uv = require "luv"
local port, conns, msgs, size = tonumber(arg[1]), tonumber(arg[2]),
  tonumber(arg[3]), tonumber(arg[4])
local msg = ("m"):rep(size)
local t0 = uv.hrtime()
for _ = 1, conns do
  local c = uv.new_tcp()
  local sent, got = 0, 0
  c:connect("127.0.0.1", port, function(err)
    assert(not err, err)
    c:write(msg)
    sent = 1
    c:read_start(function(e, d)
      assert(not e, e)
      assert(d, "server closed early")
      got = got + #d
      if got == size then
        got = 0
        if sent == msgs then c:close() return end
        sent = sent + 1
        c:write(msg)
      end
    end)
  end)
end
uv.run()
io.write(("wall %.6f\n"):format((uv.hrtime() - t0) / 1e9))
