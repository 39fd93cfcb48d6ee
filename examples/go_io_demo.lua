-- make demo, ucoro.go's I/O: the example HTTP server and a client, tasks
-- of one process on loopback.  The server's request parser is an LPeg
-- grammar whose match-time captures read the socket (the task parks
-- inside lpeg.match); the client writes its request a few bytes at a time
-- so those reads really wait.
local go = require "ucoro.go"
-- beside this file, else from the top directory (the specs run a copy)
local here = arg and arg[0] and arg[0]:match("^(.*)/[^/]*$") or "."
local server_file = here .. "/http_server.lua"
local probe = io.open(server_file)
if probe then probe:close() else server_file = "examples/http_server.lua" end
local http = dofile(server_file)

local failures = 0
local function check(label, got, want)
  print(("  %-28s %s"):format(label, got))
  if got ~= want then
    print(("  %-28s %s"):format("expected", want))
    failures = failures + 1
  end
end

print("\n== ucoro.go I/O: an HTTP server parsing with LPeg from the socket, a client task")
local root = os.tmpname()
os.remove(root)
local ok, status, body = go.run(function()
  assert(go.fs.mkdir(root))
  assert(go.fs.writefile(root .. "/hello.txt", "hello from go.fs\n"))
  local srv = assert(http.listen(root))
  local c = assert(go.tcp.connect("127.0.0.1", srv:port(), { timeout = 5 }))
  local request = "GET /hello.txt HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n"
  for i = 1, #request, 7 do           -- a few bytes at a time
    c:write(request:sub(i, i + 6))
    go.sleep(0.001)
  end
  local response = c:read("a", 5)
  c:close()
  srv:close()
  assert(go.fs.unlink(root .. "/hello.txt"))
  assert(go.fs.rmdir(root))
  return response:match("^HTTP/1.1 (%d+)"), response:match("\r\n\r\n(.*)$")
end)
check("status:", tostring(ok) .. " " .. tostring(status), "true 200")
check("body:", (body or ""):gsub("\n$", ""), "hello from go.fs")

if failures == 0 then
  print("\nEvery ucoro.go I/O case gave its expected result.")
else
  print(("\n%d ucoro.go I/O case(s) differ from what was expected."):format(failures))
  os.exit(1)
end
