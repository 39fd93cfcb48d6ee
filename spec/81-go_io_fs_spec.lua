-- ucoro.go's files (go.fs) on libuv's thread pool: each call, its
-- failure with luv's message, cancellation mid-call, calls from inside C
-- calls, and concurrency with other tasks (the loop never blocks).
local go = require "ucoro.go"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  return p
end

describe("go.fs", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("mkdir, writefile, readfile, stat, readdir, rename, unlink, rmdir", function()
    local r = run(function()
      local fs = go.fs
      assert(fs.mkdir(dir))
      assert(fs.writefile(dir .. "/a.txt", "hello\n"))
      assert(fs.mkdir(dir .. "/sub"))
      local text = fs.readfile(dir .. "/a.txt")
      local st = fs.stat(dir .. "/a.txt")
      local list = fs.readdir(dir)
      table.sort(list, function(x, y) return x.name < y.name end)
      assert(fs.rename(dir .. "/a.txt", dir .. "/b.txt"))
      local gone = { fs.stat(dir .. "/a.txt") }
      assert(fs.unlink(dir .. "/b.txt"))
      assert(fs.rmdir(dir .. "/sub"))
      return { text, st.size, st.type, list, gone, fs.readdir(dir) }
    end)
    assert.equal("hello\n", r[1])
    assert.equal(6, r[2])
    assert.equal("file", r[3])
    assert.same({ { name = "a.txt", type = "file" }, { name = "sub", type = "directory" } }, r[4])
    assert.same({ nil, "ENOENT: no such file or directory: " }, { r[5][1], r[5][2]:sub(1, 35) })
    assert.same({}, r[6])
  end)

  it("open, write, read at offsets, fstat, close; read at the end gives nil, 'eof'", function()
    local r = run(function()
      assert(go.fs.mkdir(dir))
      local f = assert(go.fs.open(dir .. "/f", "w+"))
      assert.equal(10, f:write("0123456789"))
      assert.equal(2, f:write("AB", 4))
      local a = f:read(4, 2)
      local st = f:stat()
      local tail = { f:read(10, 10) }
      assert.is_true(f:close())
      local again = { f:read() }
      return { a, st.size, tail, again }
    end)
    assert.same({ "23AB", 10, { nil, "eof" }, { nil, "closed" } }, r)
  end)

  it("failures are nil, luv's message", function()
    local r = run(function()
      return { select(2, go.fs.open("/nonexistent/x")), select(2, go.fs.mkdir("/proc/x")),
               select(2, go.fs.readfile("/nonexistent")), select(2, go.fs.readdir("/nonexistent")) }
    end)
    assert.truthy(r[1]:match("^ENOENT: no such file or directory"))
    assert.truthy(r[2]:match("^E%u+: "))
    assert.truthy(r[3]:match("^ENOENT"))
    assert.truthy(r[4]:match("^ENOENT"))
  end)

  it("a large file round-trips (partial writes and reads assembled)", function()
    local ok = run(function()
      assert(go.fs.mkdir(dir))
      local data = {}
      for i = 1, 20000 do data[i] = ("%08d\n"):format(i) end
      data = table.concat(data)
      assert(go.fs.writefile(dir .. "/big", data))
      return go.fs.readfile(dir .. "/big") == data
    end)
    assert.is_true(ok)
  end)

  it("other tasks run while the pool works; 200 stats from 4 tasks", function()
    local n, ticks = run(function()
      assert(go.fs.mkdir(dir))
      assert(go.fs.writefile(dir .. "/s", "x"))
      local ticks, count, stop = 0, 0, false
      go.spawn(function() while not stop do ticks = ticks + 1 go.yield() end end)
      go.scope(function()
        for _ = 1, 4 do
          go.spawn(function()
            for _ = 1, 50 do
              local st = assert(go.fs.stat(dir .. "/s"))
              if st.size == 1 then count = count + 1 end
            end
          end)
        end
      end)
      stop = true
      return count, ticks
    end)
    assert.equal(200, n)
    assert.is_true(ticks > 0)
  end)

  it("cancelling a task mid-call abandons the request, nothing leaks or fires later", function()
    local r = run(function()
      assert(go.fs.mkdir(dir))
      local tasks = {}
      for i = 1, 20 do
        tasks[i] = go.spawn(function() return go.fs.open(dir .. "/c" .. i, "w") end)
      end
      go.yield()  -- they have started their requests
      for i = 1, 20 do tasks[i]:cancel("stop") end
      local cancelled = 0
      for i = 1, 20 do
        local ok, err = tasks[i]:join()
        if not ok and go.is_cancelled(err) then cancelled = cancelled + 1 end
      end
      go.sleep(0.05)  -- the pool finishes the abandoned ones
      return cancelled
    end)
    assert.equal(20, r)
  end)

  it("a call blocked in the pool times out (opening a FIFO nobody writes); " ..
     "the abandoned open's file is closed once it completes", function()
    local r = run(function()
      assert(go.fs.mkdir(dir))
      local fifo = dir .. "/fifo"
      assert(os.execute("mkfifo '" .. fifo .. "'"))
      local fd_dir = ("/proc/%d/fd"):format(require("luv").os_getpid())
      local fds_before = #assert(go.fs.readdir(fd_dir))
      local t0 = go.now()
      local f, err = go.fs.open(fifo, "r", nil, 0.05)
      local waited = go.now() - t0
      -- a cancelled one, deterministically mid-call
      local t = go.spawn(function() return go.fs.open(fifo, "r") end)
      go.sleep(0.02)
      local waiting = t:waiting()
      t:cancel("stop")
      local ok, cerr = t:join()
      -- a writer lets the two abandoned opens complete: they close their files
      local w = assert(go.fs.open(fifo, "w", nil, 5))
      assert(w:close())
      go.sleep(0.05)
      local fds_after = #assert(go.fs.readdir(fd_dir))
      return { f, err, waited >= 0.05, waiting, ok, go.is_cancelled(cerr), fds_after - fds_before }
    end)
    assert.same({ nil, "timeout", true, "fs.open", false, true, 0 }, r)
  end)

  it("readfile and writefile take a timeout over the whole call (FIFOs nobody opens the other end of)", function()
    local uv = require "luv"
    local r = run(function()
      assert(go.fs.mkdir(dir))
      local rfifo, wfifo = dir .. "/r", dir .. "/w"  -- apart: two opens of one would pair
      assert(os.execute("mkfifo '" .. rfifo .. "' '" .. wfifo .. "'"))
      local t0 = go.now()
      local a = { go.fs.readfile(rfifo, 0.05) }
      local b = { go.fs.writefile(wfifo, "x", 0.05) }
      local waited = go.now() - t0
      -- the other ends, opened without the pool: the abandoned opens finish
      local w = assert(uv.fs_open(rfifo, 2049, 0))  -- O_WRONLY | O_NONBLOCK
      local rd = assert(uv.fs_open(wfifo, 2048, 0))  -- O_RDONLY | O_NONBLOCK
      go.sleep(0.05)
      uv.fs_close(w) uv.fs_close(rd)
      -- and with time enough, both work
      assert(go.fs.writefile(dir .. "/f", "in time", 5))
      return { a[1], a[2], b[1], b[2], waited >= 0.1, go.fs.readfile(dir .. "/f", 5) }
    end)
    assert.same({ nil, "timeout", nil, "timeout", true, "in time" }, r)
  end)

  it("reads a file from inside a table.sort comparator and a gsub callback", function()
    local sorted, replaced = run(function()
      assert(go.fs.mkdir(dir))
      assert(go.fs.writefile(dir .. "/w", "world"))
      local t = { 3, 1, 2 }
      table.sort(t, function(a, b) assert(go.fs.stat(dir .. "/w")) return a < b end)
      local s = ("hello $W"):gsub("%$W", function() return go.fs.readfile(dir .. "/w") end)
      return t, s
    end)
    assert.same({ 1, 2, 3 }, sorted)
    assert.equal("hello world", replaced)
  end)

  it("outside a task: a clear error; a file closes outside a task", function()
    assert.has_error(function() go.fs.stat("/") end,
      "fs.stat: not inside a task (blocking calls need go.run)")
    local f = run(function() return assert(go.fs.open("/dev/null")) end)
    assert.is_true(f:close())
  end)
end)
