-- Code in luvit coro-*'s style (a plain coroutine.yield, resumed from a
-- luv callback) inside ucoro.go tasks after ucoro.install() alone: small
-- copies written here of coro-fs's stat, coro-net's connect and
-- coro-channel's reader, not luvit's files.
local helpers = require "helpers"
local uv = require "luv"

-- coro-fs.stat, coro-net.connect, coro-channel.wrapRead: their shape
local function coro_stat(path)
  local thread = coroutine.running()
  uv.fs_stat(path, function(err, st) assert(coroutine.resume(thread, err, st)) end)
  local err, st = coroutine.yield()
  return st, err
end

local function coro_sleep(ms)
  local thread = coroutine.running()
  local timer = uv.new_timer()
  timer:start(ms, 0, function()
    timer:close()
    assert(coroutine.resume(thread))
  end)
  return coroutine.yield()
end

local function coro_connect(host, port)
  local thread = coroutine.running()
  local socket = uv.new_tcp()
  socket:connect(host, port, function(err) assert(coroutine.resume(thread, err)) end)
  local err = coroutine.yield()
  if err then socket:close() return nil, err end
  return socket
end

local function wrap_read(socket)  -- a read() that parks until a chunk
  local queue, waiting = {}, nil
  socket:read_start(function(err, chunk)
    if waiting then
      local t = waiting
      waiting = nil
      assert(coroutine.resume(t, err, chunk))
    else
      queue[#queue + 1] = { err, chunk }
    end
  end)
  return function()
    if #queue > 0 then return table.unpack(table.remove(queue, 1)) end
    waiting = coroutine.running()
    return coroutine.yield()
  end
end

describe("luvit coro-* style code in tasks after ucoro.install()", function()
  local go
  helpers.keep_coroutine_library(before_each, after_each)
  before_each(function()
    go = require "ucoro.go"  -- loaded first: install reaches it
    require("ucoro").install()
  end)

  it("coro-fs's stat and a timer sleep park only their task; the resume is queued, not run in the callback", function()
    local ok, r = go.run(function()
      local got = {}
      local after_yield, seen_in_callback = false, nil
      go.spawn(function()
        local thread = coroutine.running()
        local timer = uv.new_timer()
        timer:start(5, 0, function()
          timer:close()
          assert(coroutine.resume(thread))
          seen_in_callback = after_yield  -- false: the task did not run here
        end)
        coroutine.yield()
        after_yield = true
        assert(go.self() ~= nil)  -- running as a task, from the scheduler
        got.slept = true
      end)
      local st = assert(coro_stat("/"))
      got.stat = st.type
      go.sleep(0.05)
      return { got.stat, got.slept, after_yield, seen_in_callback }
    end)
    assert.is_true(ok, r)
    assert.same({ "directory", true, true, false }, r)
  end)

  it("inside a table.sort comparator (a C boundary)", function()
    local ok, t = go.run(function()
      local t = { 4, 2, 3, 1 }
      table.sort(t, function(a, b) coro_sleep(1) return a < b end)
      return t
    end)
    assert.is_true(ok, t)
    assert.same({ 1, 2, 3, 4 }, t)
  end)

  it("coro-net's connect and coro-channel's reader against a go.tcp server", function()
    local ok, got = go.run(function()
      local srv = assert(go.tcp.listen("127.0.0.1", 0, function(c) c:write("hello luvit\n") end))
      local socket = assert(coro_connect("127.0.0.1", srv:port()))
      local read = wrap_read(socket)
      local err, chunk = read()
      socket:close()
      srv:close()
      return chunk or err
    end)
    assert.is_true(ok, got)
    assert.equal("hello luvit\n", got)
  end)

  it("a completion before the yield (synchronous) is not lost", function()
    local ok, v = go.run(function()
      local me = coroutine.running()
      assert(coroutine.resume(me, "early"))  -- before it yields
      return coroutine.yield()
    end)
    assert.is_true(ok, v)
    assert.equal("early", v)
  end)

  it("a generator the task creates keeps the stock yield", function()
    local ok, t = go.run(function()
      local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
      return { gen(), gen(), gen() }
    end)
    assert.is_true(ok, t)
    assert.same({ 1, 2, 3 }, t)
  end)

  it("a task parked this way is cancelled like any other", function()
    local ok, r = go.run(function()
      local t = go.spawn(function() return coroutine.yield() end)  -- nobody resumes
      go.sleep(0.01)
      t:cancel("stop")
      local tok, err = t:join()
      return { tok, go.is_cancelled(err) }
    end)
    assert.is_true(ok, r)
    assert.same({ false, true }, r)
  end)
end)

describe("ucoro.install() and ucoro.go in either order", function()
  helpers.keep_coroutine_library(before_each, after_each)

  -- a fresh ucoro and ucoro.go (other specs loaded them already)
  local function fresh()
    for _, name in ipairs { "ucoro", "ucoro.go", "ucoro.go.io", "ucoro.go.luvit" } do
      package.loaded[name] = nil
    end
  end
  after_each(function()
    fresh()
    require "ucoro.go"
  end)

  local function coro_stat_in_task(go)
    return go.run(function()
      local st, err = coro_stat("/")
      return st and st.type or err
    end)
  end

  it("install first, then require 'ucoro.go'", function()
    fresh()
    require("ucoro").install()
    local go = require "ucoro.go"
    assert.same({ true, "directory" }, { coro_stat_in_task(go) })
  end)

  it("require 'ucoro.go' first, then install", function()
    fresh()
    local go = require "ucoro.go"
    require("ucoro").install()
    assert.same({ true, "directory" }, { coro_stat_in_task(go) })
  end)

  it("without install, a plain yield in a task stays go.yield", function()
    fresh()
    local go = require "ucoro.go"
    assert.same({ true, 3 }, { go.run(function()
      local n = 0
      go.spawn(function() n = n + 1 end)
      coroutine.yield()
      go.spawn(function() n = n + 2 end)
      go.yield()
      return n
    end) })
  end)
end)
