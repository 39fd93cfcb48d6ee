-- The example C server (examples/c_server/line_server.c): a line protocol
-- in straight-line C, each read and write parking its task through
-- ucoro_go.h's wait_fd inside the C function; driven by go.tcp clients
-- and by socat.
local go = require "ucoro.go"
local uv = require "luv"
local ls = require "line_server"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

-- the server: an accept loop task, a task per client running ls.serve
local function start()
  local fd, port = assert(ls.listen(0))
  local results = {}
  local acceptor = go.spawn(function()
    while true do
      local c = ls.accept(fd)
      if not c then break end
      go.spawn(function()
        local res = { ls.serve(c) }  -- parks: the index is taken after
        results[#results + 1] = res
      end)
    end
    ls.close(fd)
  end)
  return port, acceptor, results
end

describe("the example C line server", function()
  it("answers many clients at once, each served by straight-line C", function()
    local r = run(function()
      local port, acceptor, results = start()
      local answers = {}
      go.scope(function()
        for i = 1, 20 do
          go.spawn(function()
            local c = assert(go.tcp.connect("127.0.0.1", port))
            -- written in pieces: the C reads really wait in between
            c:write("upper client " .. i .. "\nsu")
            go.sleep(0.005)
            c:write("m " .. i .. " 1000\nquit\n")
            answers[i] = { c:read("l", 5), c:read("l", 5), c:read("l", 5) }
            c:close()
          end)
        end
      end)
      acceptor:cancel("done")
      acceptor:join()
      go.sleep(0.01)
      return { answers, results }
    end)
    for i = 1, 20 do
      assert.same({ "CLIENT " .. i, tostring(1000 + i), "bye" }, r[1][i])
    end
    assert.equal(20, #r[2])
    for _, res in ipairs(r[2]) do assert.same({ 3 }, res) end
  end)

  it("accept with a timeout, cancelled accept: codes, not a raise from C", function()
    local r = run(function()
      local fd = assert(ls.listen(0))
      local a = { ls.accept(fd, 0.01) }
      local t = go.spawn(function() return ls.accept(fd) end)
      go.sleep(0.01)
      t:cancel("stop")
      local ok, x, why = t:join()
      ls.close(fd)
      return { a[1], a[2], ok, x, why }
    end)
    assert.same({ nil, "timeout", true, nil, "cancelled" }, r)
  end)

  it("socat speaks to it", function()
    local out = run(function()
      local port, acceptor = start()
      local done, chunks = go.chan(2), {}
      local pipe = uv.new_pipe(false)
      local h
      h = uv.spawn("sh", { args = { "-c",
          ("printf 'upper socat\\nsum 2 3\\nwhat\\nquit\\n' | socat -t 2 - TCP:127.0.0.1:%d"):format(port) },
        env = { "PATH=" .. os.getenv("PATH") }, stdio = { nil, pipe, nil } },
        function(code) h:close() done:try_send(code) end)
      pipe:read_start(function(_, d)
        if d then chunks[#chunks + 1] = d else pipe:close() done:try_send("eof") end
      end)
      done:recv(10) done:recv(10)
      acceptor:cancel("done")
      acceptor:join()
      return table.concat(chunks)
    end)
    assert.equal("SOCAT\n5\nerror\nbye\n", out)
  end)
end)
