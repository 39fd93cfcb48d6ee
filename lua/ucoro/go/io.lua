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

  -- Serves each connection accepted on sock with handler(stream), a task
  -- of the server's scope.
  local function serve_on(sock, handler, name, opts)
    local stack = type(opts) == "table" and opts.stack or nil
    local server = setmetatable({ sock = sock, errors = {}, nerrors = 0 },
                                Server)
    server.task = go.spawn({ name = name }, function()
      go.scope(function(scope)
        server.scope = scope
        if server.closed then return end
        while true do
          local conn = sock:accept()
          if not conn then break end
          go.spawn({ name = "connection", stack = stack }, serve, server,
                   handler, conn)
        end
      end)
    end)
    return server
  end

  --- go.tcp.listen(host, port, handler [, opts]): serves each connection
  -- with handler(stream) in a task of the server's scope (the stream is
  -- closed when the handler returns; opts.stack: the tasks' stack, as
  -- go.spawn's).  server:close() stops accepting and
  -- cancels the connections' tasks; server:port().  nil, err if the
  -- address cannot be bound.
  function tcp.listen(host, port, handler, opts)
    local sock, err = core.tcp_bind(host, port, opts)
    if not sock then return nil, err end
    return serve_on(sock, handler, "tcp server", opts)
  end

  --- go.pipe: streams over Unix domain sockets and file descriptors.
  local pipe = {}
  go.pipe = pipe
  pipe.connect = core.pipe_connect
  pipe.bind = core.pipe_bind
  pipe.open = core.pipe_open
  function pipe.listen(path, handler, opts)
    local sock, err = core.pipe_bind(path, opts)
    if not sock then return nil, err end
    return serve_on(sock, handler, "pipe server", opts)
  end
  go.pipe_connect, go.pipe_bind, go.pipe_open = nil, nil, nil

  --- go.tty.open(fd): a terminal as a stream (s:ttymode("raw"|"normal")).
  go.tty = { open = core.tty_open }
  go.tty_open = nil

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

  go.dns = { getaddrinfo = core.dns_getaddrinfo, getnameinfo = core.dns_getnameinfo }
  go.udp = { bind = core.udp_bind }
  go.dns_getaddrinfo, go.dns_getnameinfo, go.udp_bind = nil, nil, nil

  --- go.process.spawn(file, {args=, env=, cwd=, stdin=, stdout=, stderr=}):
  -- a process (p.stdin, p.stdout, p.stderr streams unless "inherit" or
  -- "null"; p.pid; p:wait([timeout]) -> code, signal; p:kill([sig])).
  local Process = {}
  Process.__index = Process
  function Process:wait(timeout) return self.handle:wait(timeout) end
  function Process:kill(sig) return self.handle:kill(sig) end
  go.process = {}
  function go.process.spawn(file, opts)
    local h, stdin, stdout, stderr = core.process_spawn(file, opts)
    if not h then return nil, stdin end
    return setmetatable({ handle = h, pid = h:pid(), stdin = stdin,
                          stdout = stdout, stderr = stderr }, Process)
  end
  go.process_spawn = nil

  --- go.signal.notify(ch, "sigint", ...): each delivery of those signals
  -- is sent to ch without blocking (dropped if ch is full: Go's
  -- signal.Notify); go.signal.stop(ch) ends it.  go.signal.wait(name
  -- [, timeout]): parks until that signal arrives.
  local watch = core.signal_watch
  go.signal_watch = nil
  local notified = setmetatable({}, { __mode = "k" })
  go.signal = {}
  function go.signal.notify(ch, ...)
    local list = notified[ch] or {}
    notified[ch] = list
    for i = 1, select("#", ...) do
      local name = select(i, ...)
      local w = assert(watch(name))
      list[#list + 1] = w
      go.spawn({ daemon = true, name = "signal " .. name }, function()
        while w:wait() do ch:try_send(name) end
      end)
    end
  end
  function go.signal.stop(ch)
    for _, w in ipairs(notified[ch] or {}) do w:close() end
    notified[ch] = nil
  end
  function go.signal.wait(name, timeout)
    local w = assert(watch(name))
    local n, err = w:wait(timeout)
    w:close()
    if n then return true end
    return nil, err
  end

  -- After ucoro.install() (before or after this), luvit coro-* style code
  -- (a plain yield, resumed from a luv callback) works inside tasks.  A
  -- C host that opened only ucoro.core as "ucoro" has no on_install.
  local marked = false
  local on_install = require("ucoro").on_install or function() end
  on_install(function(lib)
    local luvit = require "ucoro.go.luvit"
    if not marked then
      luvit.mark_tasks(go, require("ucoro").running)
      marked = true
    end
    luvit.install(go, lib)
  end)

  -- f(...) within timeout seconds (all of it, its requests and its
  -- close): its results; or nil, "timeout" (go.timeout cancels it, which
  -- abandons the request it waits on and closes its file).
  local function within(timeout, f, ...)
    if timeout == nil then return f(...) end
    local r = table.pack(go.timeout(timeout, function(_, ...) return f(...) end, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    return nil, "timeout"
  end

  local function readfile(path)
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

  local function writefile(path, data)
    local f <close>, err = fs.open(path, "w")
    if not f then return nil, err end
    local ok, e = f:write(data)
    f:close()
    if not ok then return nil, e end
    return true
  end

  --- go.fs.readfile(path [, timeout]): the whole file; nil, err.
  function fs.readfile(path, timeout) return within(timeout, readfile, path) end

  --- go.fs.writefile(path, data [, timeout]): true; nil, err (created or
  -- truncated).
  function fs.writefile(path, data, timeout)
    return within(timeout, writefile, path, data)
  end
end

return M
