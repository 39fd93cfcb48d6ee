--- A small HTTP/1.1 file server on ucoro.go.  Its request parser is an
-- LPeg grammar that reads the socket itself, from inside match-time
-- captures: each capture parks its task on the socket (from inside
-- lpeg.match, a C function) until the next line has arrived.  Files are
-- served with go.fs.
--
--   lua5.4 examples/http_server.lua [root [port]]     (port 0: any free)
--   curl http://127.0.0.1:PORT/file
--
-- As a module: require-able with dofile; returns { listen = listen }.
local go = require "ucoro.go"
local lpeg = require "lpeg"
local P, R, S, C, Cg, Ct, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cmt

local TIMEOUT = 10  -- seconds a client may take for each line
local LINES = ("."):rep(100)  -- at most 98 headers

-- Patterns for one line at a time.
local token = (R("AZ", "az", "09") + S("!#$%&'*+-.^_`|~")) ^ 1
local request_line = C(token) * " " * C((1 - P" ") ^ 1) * " " * C("HTTP/1." * R"09") * -1
local header_line = C(token) * ":" * S" \t" ^ 0 * C(P(1) ^ 0) * -1

-- Reads one request with a grammar over the connection: every capture
-- reads the line it needs from conn (one line of look-ahead) and stands
-- for one character of a dummy subject, whose length bounds the number
-- of lines a request may have.  Returns { method=, path=, version=, headers = {} }, or nil
-- (end of stream, malformed, or too slow).
local function read_request(conn)
  local ahead
  local function peek()
    if ahead == nil then ahead = conn:read("l", TIMEOUT) end
    return ahead
  end
  local function take() local l = ahead ahead = nil return l end
  local reqline = Cmt(P(1), function(_, pos)
    local l = peek()
    local method, path, version
    if l then method, path, version = request_line:match(l) end
    if not method then return false end
    take()
    return pos, method, path, version
  end)
  local header = Cmt(P(1), function(_, pos)
    local l = peek()
    if l == nil or l == "" then return false end
    local name, value = header_line:match(l)
    if not name then return false end
    take()
    return pos, name:lower(), value
  end)
  local blank = Cmt(P(1), function(_, pos)
    if peek() ~= "" then return false end
    take()
    return pos
  end)
  local grammar = Ct(Cg(Ct(reqline), "line") * Cg(Ct(Ct(header) ^ 0), "headers") * blank)
  local r = grammar:match(LINES)
  if not r then return nil, ahead end
  local req = { method = r.line[1], path = r.line[2], version = r.line[3], headers = {} }
  for _, h in ipairs(r.headers) do req.headers[h[1]] = h[2] end
  return req
end

local function respond(conn, status, reason, headers, body)
  local out = { ("HTTP/1.1 %d %s\r\n"):format(status, reason) }
  headers["content-length"] = headers["content-length"] or #body
  for k, v in pairs(headers) do out[#out + 1] = k .. ": " .. v .. "\r\n" end
  out[#out + 1] = "\r\n"
  out[#out + 1] = body
  return conn:write(table.concat(out), TIMEOUT)
end

local types = { html = "text/html", txt = "text/plain", lua = "text/plain",
                json = "application/json", css = "text/css" }

-- Serves requests on conn until the client is done with it.
local function handle(root, conn)
  while true do
    local req, unparsed = read_request(conn)
    if not req then
      if unparsed then  -- a line came, but not a request
        respond(conn, 400, "Bad Request", { connection = "close" }, "bad request\n")
      end
      return
    end
    local method, path, version = req.method, req.path, req.version
    local keep = version == "HTTP/1.1" and (req.headers.connection or ""):lower() ~= "close"
    local hdrs = { connection = keep and "keep-alive" or "close" }
    path = path:gsub("%?.*", ""):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    if method ~= "GET" and method ~= "HEAD" then
      respond(conn, 405, "Method Not Allowed", hdrs, "")
    elseif path:find("..", 1, true) or path:sub(1, 1) ~= "/" then
      respond(conn, 403, "Forbidden", hdrs, "forbidden\n")
    else
      local file = root .. (path == "/" and "/index.html" or path)
      local st = go.fs.stat(file)
      local data = st and st.type == "file" and go.fs.readfile(file)
      if data then
        hdrs["content-type"] = types[file:match("%.(%w+)$") or ""] or "application/octet-stream"
        hdrs["content-length"] = #data
        respond(conn, 200, "OK", hdrs, method == "HEAD" and "" or data)
      else
        respond(conn, 404, "Not Found", hdrs, "not found\n")
      end
    end
    if not keep then return end
  end
end

--- Starts the server in the current task's scope; returns it
-- (server:port(), server:close()).
local function listen(root, host, port)
  return go.tcp.listen(host or "127.0.0.1", port or 0, function(conn)
    handle(root, conn)
  end)
end

if not package.loaded["busted"] and arg and arg[0] and arg[0]:match("http_server%.lua$") then
  local root, port = arg[1] or ".", tonumber(arg[2] or "8080")
  print(go.run(function()
    local srv = assert(listen(root, "127.0.0.1", port))
    print(("serving %s on http://127.0.0.1:%d/"):format(root, srv:port()))
  end))
end

return { listen = listen, read_request = read_request }
