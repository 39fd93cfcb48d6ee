-- The example HTTP/1.1 server (examples/http_server.lua): its LPeg
-- grammar reads the socket from inside match-time captures, files come
-- from go.fs; driven by curl, a separate process, on loopback.
local go = require "ucoro.go"
local uv = require "luv"

local http = dofile("examples/http_server.lua")

-- Runs curl with args; its exit code and standard output (raw luv
-- handles on the same loop; a clean environment: no sanitizer preloaded).
local function curl(args)
  local done = go.chan(2)  -- the exit, then the end of its output
  local out = uv.new_pipe(false)
  local chunks = {}
  local handle
  table.insert(args, 1, "--max-time")
  table.insert(args, 2, "5")
  table.insert(args, 3, "-s")
  handle = uv.spawn("curl", { args = args, env = { "PATH=" .. os.getenv("PATH") },
                              stdio = { nil, out, nil } }, function(code)
    handle:close()
    done:try_send(code)
  end)
  assert(handle, "curl missing: tools/deps test installs it")
  out:read_start(function(err, data)
    assert(not err, err)
    if data then chunks[#chunks + 1] = data else out:close() done:try_send("eof") end
  end)
  local code
  for _ = 1, 2 do
    local v = done:recv(10)
    if v ~= "eof" then code = v end
  end
  return code, table.concat(chunks)
end

local function serving(f)
  local root = os.tmpname()
  os.remove(root)
  local r = table.pack(go.run(function()
    assert(go.fs.mkdir(root))
    assert(go.fs.writefile(root .. "/index.html", "<h1>home</h1>\n"))
    assert(go.fs.writefile(root .. "/a.txt", ("line\n"):rep(1000)))
    local srv = assert(http.listen(root))
    local res = table.pack(pcall(f, ("http://127.0.0.1:%d"):format(srv:port()), srv))
    srv:close()
    assert(res[1], res[2])
    return table.unpack(res, 2, res.n)
  end))
  os.execute("rm -rf '" .. root .. "'")
  assert(r[1], r[2])
  return table.unpack(r, 2, r.n)
end

describe("the example HTTP server", function()
  it("serves a file to curl, and the index", function()
    local a, b, c, d = serving(function(base)
      local code, body = curl({ base .. "/a.txt" })
      local code2, index = curl({ base .. "/" })
      return code, body, code2, index
    end)
    assert.equal(0, a)
    assert.equal(("line\n"):rep(1000), b)
    assert.equal(0, c)
    assert.equal("<h1>home</h1>\n", d)
  end)

  it("answers 404, 403 and 405 with their status", function()
    local r = serving(function(base)
      local statuses = {}
      for _, a in ipairs {
        { "-o", "/dev/null", "-w", "%{http_code}", base .. "/missing" },
        { "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", base .. "/../etc/passwd" },
        { "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", base .. "/a.txt" },
      } do
        local _, out = curl(a)
        statuses[#statuses + 1] = out
      end
      return statuses
    end)
    assert.same({ "404", "403", "405" }, r)
  end)

  it("keeps a connection alive across requests (curl reuses it)", function()
    local code, out = serving(function(base)
      return curl({ "-w", "[%{num_connects}]", base .. "/index.html", base .. "/index.html" })
    end)
    assert.equal(0, code)
    -- the second transfer made no new connection
    assert.equal("<h1>home</h1>\n[1]<h1>home</h1>\n[0]", out)
  end)

  it("parses a request written a byte at a time (the grammar parks in its captures)", function()
    local got = serving(function(base)
      local port = tonumber(base:match(":(%d+)$"))
      local c = assert(go.tcp.connect("127.0.0.1", port))
      local req = "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      for i = 1, #req do assert(c:write(req:sub(i, i))) go.sleep(0) end
      local resp = c:read("a", 5)
      c:close()
      return resp
    end)
    assert.truthy(got:match("^HTTP/1.1 200 OK\r\n"))
    assert.truthy(got:match("\r\n\r\n<h1>home</h1>\n$"))
  end)

  it("a malformed request gets 400 and the connection ends", function()
    local got = serving(function(base)
      local port = tonumber(base:match(":(%d+)$"))
      local c = assert(go.tcp.connect("127.0.0.1", port))
      c:write("NOT A REQUEST\r\n\r\n")
      local resp = c:read("a", 5)
      c:close()
      return resp
    end)
    assert.truthy(got:match("^HTTP/1.1 400 Bad Request\r\n"))
  end)

  it("make demo's I/O case (examples/go_io_demo.lua) gives its expected results", function()
    local helpers = require "helpers"
    local source = assert(io.open("examples/go_io_demo.lua")):read("a")
    local output, ok = helpers.run_child(source)
    assert.is_true(ok, output)
    assert.matches("status:                      true 200", output, 1, true)
    assert.matches("Every ucoro.go I/O case gave its expected result.", output, 1, true)
  end)

  it("20 curl clients at once", function()
    local ok = serving(function(base)
      local wg, good = go.waitgroup(), 0
      for _ = 1, 20 do
        wg:add()
        go.spawn(function()
          local code, body = curl({ base .. "/a.txt" })
          if code == 0 and body == ("line\n"):rep(1000) then good = good + 1 end
          wg:done()
        end)
      end
      assert(wg:wait(20))
      return good
    end)
    assert.equal(20, ok)
  end)
end)
