-- The example C host (examples/c_server/line_host.c): a C program that
-- embeds Lua and ucoro.go and serves a line protocol with straight-line C
-- reads and writes, each parking its task through ucoro_go.h's wait_fd
-- (and its work, for a stat(2) on libuv's thread pool).
-- Driven by socat, and by go.tcp clients where timing matters.
local go = require "ucoro.go"

local build = os.getenv("BUILD") or "build/asm"
local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

-- the environment the host needs: the tree's modules, a sanitizer's options
local function host_env()
  local env = { "PATH=" .. os.getenv("PATH"), "LUA_PATH=" .. package.path, "LUA_CPATH=" .. package.cpath }
  for _, k in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS" } do
    if os.getenv(k) then env[#env + 1] = k .. "=" .. os.getenv(k) end
  end
  return env
end

-- starts the host (under memcheck too when the specs run so, as
-- tools/run-tests runs them); returns the process and its port
local function start_host(clients, idle)
  local file, args = build .. "/line_host", { "0", tostring(clients), tostring(idle or 5) }
  if (os.getenv("VALGRIND") or "") ~= "" then
    table.insert(args, 1, file)
    for i, a in ipairs { "-q", "--error-exitcode=99", "--leak-check=full",
                         "--errors-for-leak-kinds=definite,possible" } do
      table.insert(args, i, a)
    end
    file = "valgrind"
  end
  -- (RUNNER: the emulator that runs another architecture's build)
  local runner = {}
  for word in (os.getenv("RUNNER") or ""):gmatch("%S+") do runner[#runner + 1] = word end
  if #runner > 0 then
    table.insert(args, 1, file)
    for i = #runner, 2, -1 do table.insert(args, 1, runner[i]) end
    file = runner[1]
  end
  local p = assert(go.process.spawn(file, { args = args, env = host_env() }))
  local line = p.stdout:read("l", 30)
  local port = tonumber(line and line:match("^listening on (%d+)$"))
  if not port then
    p:kill()
    error("line_host did not start: " .. tostring(line) .. " " .. tostring(p.stderr:read("a", 1)))
  end
  return p, port
end

-- the host's last words and its exit code
local function finish(p)
  local out = p.stdout:read("a", 20)
  local err = p.stderr:read("a", 5)
  local code = p:wait(10)
  return out, code, err
end

local function socat(port, input)
  local p = assert(go.process.spawn("sh", { args = { "-c",
    ("printf '%s' | socat -t 5 - TCP:127.0.0.1:%d"):format(input, port) }, env = { "PATH=" .. os.getenv("PATH") } }))
  local out = p.stdout:read("a", 20)
  p:wait(10)
  return out
end

describe("the example C host", function()
  it("serves 10 socat clients at once, each with straight-line C (a stat on the thread pool among them)", function()
    local r = run(function()
      local host, port = start_host(10)
      local file = os.tmpname()
      assert(go.fs.writefile(file, "seven b"))
      local answers = {}
      go.scope(function()
        for i = 1, 10 do
          go.spawn(function()
            answers[i] = socat(port, ("upper client %d\\nsum %d 1000\\nwhat\\nstat %s\\nstat %s.missing\\nquit\\n")
                                      :format(i, i, file, file))
          end)
        end
      end)
      os.remove(file)
      return { answers, finish(host) }
    end)
    for i = 1, 10 do
      assert.equal(("CLIENT %d\n%d\nerror\n7\nerror\nbye\n"):format(i, 1000 + i), r[1][i])
    end
    assert.equal("served 60 lines over 10 connections\n", r[2])
    assert.equal(0, r[3])
  end)

  it("a line written in pieces (its reads wait in between), a reset peer, a silent one timed out", function()
    local r = run(function()
      local host, port = start_host(3, 0.3)
      -- pieces: the host's read waits in wait_fd between them
      local c = assert(go.tcp.connect("127.0.0.1", port))
      c:write("up")
      go.sleep(0.02)
      c:write("per pie")
      go.sleep(0.02)
      c:write("ces\nsu")
      go.sleep(0.02)
      c:write("m 2 3\n")
      local a = { c:read("l", 5), c:read("l", 5) }
      c:close()
      -- a peer that resets mid-line: that connection ends, the host goes on
      local rst = assert(go.tcp.connect("127.0.0.1", port))
      rst:write("upper half a li")
      go.sleep(0.02)
      rst:reset()
      -- silent for longer than the host's idle time
      local quiet = assert(go.tcp.connect("127.0.0.1", port))
      local said = quiet:read("l", 5)
      local _, eof = quiet:read("l", 5)
      quiet:close()
      local out, code = finish(host)
      return { a, said, eof, out, code }
    end)
    assert.same({ { "PIECES", "5" }, "timeout", "eof",
                  "served 2 lines over 3 connections\n", 0 }, r)
  end)
end)
