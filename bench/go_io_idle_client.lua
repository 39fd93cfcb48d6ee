--- The client of bench/go_io_idle: opens n connections and holds them
-- until the server closes them.  lua5.4 bench/go_io_idle_client.lua port n
local uv = require "luv"
local port, n = tonumber(arg[1]), tonumber(arg[2])
local opened = 0
local function open()
  if opened == n then return end
  opened = opened + 1
  local c = uv.new_tcp()
  c:connect("127.0.0.1", port, function(err)
    assert(not err, err)
    c:read_start(function(_, d) if not d then c:close() end end)
    open()  -- one at a time: the backlog never overflows
  end)
end
for _ = 1, 64 do open() end
uv.run()
