--- ucoro.go's I/O on libuv: go.tcp (and go.fs when built).  The calls
-- are C (ucoro.go.core); this adds the server loop and iterators.
local M = {}

function M.extend(go, core)
  local stream = core.stream_methods
  go.stream_methods, go.tcp_connect, go.tcp_bind = nil, nil, nil

  --- for line in s:lines() do ... end: lines without their end, until the
  -- end of the stream; raises on an error.
  function stream.lines(s, timeout)
    return function()
      local line, err = s:read("l", timeout)
      if line == nil and err ~= "eof" then error(err, 2) end
      return line
    end
  end

  local tcp = {}
  go.tcp = tcp

  --- go.tcp.connect(host, port [, {timeout=, read_hwm=, write_hwm=}]):
  -- a stream; nil, err ("ECONNREFUSED: connection refused", "timeout").
  tcp.connect = core.tcp_connect

  --- go.tcp.bind(host, port [, {backlog=, read_hwm=, write_hwm=}]): a
  -- listening socket; sock:accept([timeout]) -> stream.
  tcp.bind = core.tcp_bind

  local Server = {}
  Server.__index = Server

  -- A connection's task: the handler's error is kept in the server (a
  -- connection never stops the others); a cancellation goes on up.
  local function serve(server, handler, conn)
    local ok, err = pcall(handler, conn)
    conn:close()
    if not ok then
      if go.is_cancelled(err) then error(err, 0) end
      server.nerrors = server.nerrors + 1
      server.errors[(server.nerrors - 1) % 16 + 1] = err
    end
  end

  --- go.tcp.listen(host, port, handler [, opts]): serves each connection
  -- with handler(stream) in a task of the server's scope (the stream is
  -- closed when the handler returns).  server:close() stops accepting and
  -- cancels the connections' tasks; server:port().  nil, err if the
  -- address cannot be bound.
  function tcp.listen(host, port, handler, opts)
    local sock, err = core.tcp_bind(host, port, opts)
    if not sock then return nil, err end
    local server = setmetatable({ sock = sock, errors = {}, nerrors = 0 },
                                Server)
    server.task = go.spawn({ name = "tcp server" }, function()
      go.scope(function(scope)
        server.scope = scope
        if server.closed then return end
        while true do
          local conn = sock:accept()
          if not conn then break end
          go.spawn({ name = "tcp connection" }, serve, server, handler, conn)
        end
      end)
    end)
    return server
  end

  function Server:port()
    local _, port = self.sock:sockname()
    return port
  end

  function Server:close()
    self.closed = true
    self.sock:close()
    if self.scope then self.scope:cancel("server closed") end
  end

  -- go.fs: files on libuv's thread pool; each call parks its task only.
  local fs = {}
  go.fs = fs
  for _, name in ipairs { "open", "stat", "readdir", "mkdir", "rmdir",
                          "unlink", "rename" } do
    fs[name] = core["fs_" .. name]
    go["fs_" .. name] = nil
  end

  --- go.fs.readfile(path): the whole file; nil, err.
  function fs.readfile(path)
    local f <close>, err = fs.open(path, "r")
    if not f then return nil, err end
    local parts = {}
    while true do
      local data, e = f:read(65536)
      if not data then
        f:close()
        if e == "eof" then return table.concat(parts) end
        return nil, e
      end
      parts[#parts + 1] = data
    end
  end

  --- go.fs.writefile(path, data): true; nil, err (created or truncated).
  function fs.writefile(path, data)
    local f <close>, err = fs.open(path, "w")
    if not f then return nil, err end
    local ok, e = f:write(data)
    f:close()
    if not ok then return nil, e end
    return true
  end
end

return M
