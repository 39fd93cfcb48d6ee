-- ucoro.go's I/O given numbers beyond what libuv's and the system's C
-- types hold: a cast would keep the low bits, another value (a file
-- descriptor 2^32 is 0, standard input), so each argument is checked.
-- Writes of more than 4 GiB in one call: libuv's buffers hold an
-- unsigned int length, so each call cuts its data into buffers that
-- fit, and a datagram too large for one fails, never goes out truncated.
-- Those cases need a 4 GiB string (and as much again where the data is
-- copied): they run on 64-bit native builds, without a sanitizer or
-- Valgrind.
local go = require "ucoro.go"
local helpers = require "helpers"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

local size = 2 ^ 32 + 3
local why_not = (string.packsize("T") < 8 and "size_t has 32 bits")
  or (helpers.asan and "under AddressSanitizer")
  or ((os.getenv("VALGRIND") or "") ~= "" and "under Valgrind")
  or ((os.getenv("RUNNER") or "") ~= "" and "under an emulator")

describe("writes of more than 4 GiB", function()
  local big
  setup(function()
    if why_not then return end
    local gib = string.rep("x", 2 ^ 30)  -- string.rep stops below 2 GiB
    big = gib .. gib .. gib .. gib .. "xyz"
  end)
  teardown(function() big = nil collectgarbage() end)

  it("file:write writes every byte", function()
    if why_not then return pending(why_not) end
    local r = run(function()
      local f = assert(go.fs.open("/dev/null", "w"))
      local n, err = f:write(big)
      f:close()
      return { n, err }
    end)
    assert.same({ size }, r)
  end)

  it("stream:write queues every byte", function()
    if why_not then return pending(why_not) end
    -- the peer reads nothing: what the kernel does not take stays in
    -- libuv's write queue, and the write times out with it queued
    local r = run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function() go.sleep(60) end))
      local c = assert(go.tcp.connect("127.0.0.1", srv:port()))
      local ok, err = c:write(big, 0.05)
      local _, queued = c:buffered()
      c:close()
      srv:close()
      return { ok, err, queued > size - 2 ^ 26, queued <= size }
    end)
    assert.same({ nil, "timeout", true, true }, r)
  end)

  it("a datagram too large fails with EMSGSIZE and nothing is sent", function()
    if why_not then return pending(why_not) end
    local r = run(function()
      local a = assert(go.udp.bind("127.0.0.1", 0))
      local b = assert(go.udp.bind("127.0.0.1", 0))
      local _, pb = b:sockname()
      local ok, err = a:send(big, "127.0.0.1", pb)
      local data, why = b:recv(0.2)
      a:close() b:close()
      return { ok, err and err:match("^EMSGSIZE") ~= nil, data, why }
    end)
    assert.same({ nil, true, nil, "timeout" }, r)
  end)
end)

describe("integer arguments out of their C type's range raise", function()
  local ENV = { "PATH=" .. os.getenv("PATH") }
  local function raises(pattern, f)
    local ok, err = pcall(f)
    assert.is_false(ok)
    assert.matches(pattern, tostring(err))
  end

  it("file descriptors, signals, modes, backlogs, queues, high-water marks", function()
    run(function()
      raises("fd out of range", function() go.pipe.open(2 ^ 32) end)
      raises("fd out of range", function() go.pipe.open(-2 ^ 32) end)
      raises("fd out of range", function() go.tty.open(2 ^ 32 + 1) end)
      local dir = os.tmpname()
      raises("mode out of range", function() go.fs.open(dir, "w", 2 ^ 32 + 420) end)
      raises("mode out of range", function() go.fs.mkdir(dir .. ".d", -1) end)
      os.remove(dir)
      raises("backlog out of range", function() go.tcp.bind("127.0.0.1", 0, { backlog = 2 ^ 32 + 5 }) end)
      raises("backlog out of range", function() go.pipe.bind(dir .. ".sock", { backlog = -1 }) end)
      raises("queue out of range", function() go.udp.bind("127.0.0.1", 0, { queue = 2 ^ 32 + 4 }) end)
      raises("read_hwm out of range", function() go.tcp.bind("127.0.0.1", 0, { read_hwm = -1 }) end)
      raises("write_hwm out of range", function() go.tcp.bind("127.0.0.1", 0, { write_hwm = -1 }) end)
      raises("max_line out of range", function() go.tcp.bind("127.0.0.1", 0, { max_line = -1 }) end)
      local p = assert(go.process.spawn("sleep", { args = { "10" }, env = ENV, stdout = "null" }))
      raises("signal out of range", function() p:kill(2 ^ 32 + 9) end)
      assert.is_true(p:kill("sigterm"))
      p:wait()
    end)
  end)
end)
