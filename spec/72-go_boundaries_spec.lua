-- ucoro.go: blocking calls from any depth of C calls, and inside user
-- generators (nested coroutines).
local go = require "ucoro.go"
local lpeg = require "lpeg"

local function run(f) local r = table.pack(go.run(f)) assert(r[1], r[2]) return table.unpack(r, 2, r.n) end

describe("blocking under C calls", function()
  it("in a table.sort comparator", function()
    local out = run(function()
      local ch = go.chan()
      go.spawn({ daemon = true }, function() while true do ch:send(true) end end)
      local t = { 5, 3, 9, 1, 7 }
      table.sort(t, function(a, b) ch:recv() return a < b end)
      return t
    end)
    assert.same({ 1, 3, 5, 7, 9 }, out)
  end)

  it("in a gsub callback, an __index, a load reader", function()
    local a, b, c = run(function()
      local a = ("abc"):gsub(".", function(x) go.sleep(0.001) return x:upper() end)
      local t = setmetatable({}, { __index = function(_, k) go.yield() return k * 2 end })
      local parts = { "return ", "4", "2" }
      local i = 0
      local f = load(function() i = i + 1 go.sleep(0.001) return parts[i] end)
      return a, t[21], f()
    end)
    assert.same({ "ABC", 42, 42 }, { a, b, c })
  end)

  it("in a require'd chunk and an expat callback", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    finally(function() os.execute("rm -rf " .. dir) end)
    local f = assert(io.open(dir .. "/go_blocking_mod.lua", "w"))
    f:write('local go = require "ucoro.go" go.sleep(0.001) return "loaded after a sleep"')
    f:close()
    local saved = package.path
    package.path = dir .. "/?.lua;" .. package.path
    finally(function() package.path = saved package.loaded.go_blocking_mod = nil end)
    local lxp = require "lxp"
    local a, b = run(function()
      local ch = go.chan()
      go.spawn(function() ch:send("from a task") end)
      local seen
      local parser = lxp.new({ StartElement = function(_, name) seen = name .. " " .. ch:recv() end })
      parser:parse("<root/>")
      parser:close()
      return require "go_blocking_mod", seen
    end)
    assert.equal("loaded after a sleep", a)
    assert.equal("root from a task", b)
  end)

  it("in an LPeg match-time capture", function()
    local n = run(function()
      local ch = go.chan()
      go.spawn(function() ch:send(10) end)
      local p = lpeg.Cmt(lpeg.P"x", function(_, pos) return pos, ch:recv() end)
      return p:match("x")
    end)
    assert.equal(10, n)
  end)

  it("a cancel at a park in an LPeg callback unwinds it; __close runs", function()
    local closed = false
    run(function()
      local t = go.spawn(function()
        local p = lpeg.Cmt(lpeg.P"x", function(_, pos)
          local _ <close> = setmetatable({}, { __close = function() closed = true end })
          go.sleep(10)
          return pos
        end)
        return p:match("x")
      end)
      go.yield()
      t:cancel()
      local ok, err = t:join()
      assert.is_false(ok)
      assert.is_true(go.is_cancelled(err))
    end)
    assert.is_true(closed)
  end)
end)

describe("cancellation inside each C boundary of spec/boundaries.lua", function()
  for _, b in ipairs(require("boundaries").list) do
    it(b.name .. ": the park raises go.Cancelled through it; __close runs", function()
      run(function()
        local closed, entered, after = 0, 0, false
        local t = go.spawn(function()
          b.enter(function()
            local _ <close> = setmetatable({}, { __close = function() closed = closed + 1 end })
            entered = entered + 1
            go.sleep(100)
            after = true
            return "not reached"
          end)
          go.sleep(100)  -- where a boundary swallowed it (a load reader, xpcall's handler)
        end)
        go.sleep(0.002)
        assert.equal("parked", t:status())
        t:cancel("stop")
        local ok, err = t:join()
        assert.is_false(ok)
        assert.is_true(go.is_cancelled(err), tostring(err))
        assert.equal("stop", err.reason)
        -- Lua calls a message handler again for its own error: each
        -- entry is unwound once
        assert.equal(b.name == "xpcall handler" and entered or 1, entered)
        assert.equal(entered, closed)
        assert.is_false(after)
        assert.equal("cancelled", t:status())
      end)
    end)
  end
end)

describe("a cancellation storm", function()
  it("cancels 1,000 tasks parked in sort comparators and LPeg captures: every __close runs", function()
    local n = os.getenv("UCORO_TEST_QUICK") and 200 or 1000
    local closed, parked, after = 0, 0, 0
    local _, r = go.run(function()
      local _, r = go.timeout(0.05, function()
        for i = 1, n do
          go.spawn(function()
            local function wait()
              local _ <close> = setmetatable({}, { __close = function() closed = closed + 1 end })
              parked = parked + 1
              go.sleep(100)
              after = after + 1
            end
            if i % 2 == 0 then
              table.sort({ 2, 1 }, function(a, b) wait() return a < b end)
            else
              lpeg.Cmt(lpeg.P"x", function(_, pos) wait() return pos end):match("x")
            end
          end)
        end
        go.sleep(100)
      end)
      return r
    end)
    assert.equal("timeout", r)
    assert.equal(n, parked)
    assert.equal(n, closed)
    assert.equal(0, after)  -- no cancelled task ran past its park
  end)
end)

describe("blocking inside a user generator (a nested coroutine)", function()
  it("with go.coroutine, the park reaches the scheduler, not the consumer", function()
    local got = run(function()
      local ch = go.chan()
      go.spawn(function() for i = 1, 3 do go.sleep(0.001) ch:send(i * 10) end end)
      local gen = go.coroutine.wrap(function()
        for _ = 1, 3 do coroutine.yield((ch:recv())) end
      end)
      return { gen(), gen(), gen() }
    end)
    assert.same({ 10, 20, 30 }, got)
  end)

  it("nested two deep, with go.coroutine.resume", function()
    local got = run(function()
      local co = go.coroutine
      local inner = co.create(function() go.sleep(0.002) coroutine.yield("inner") return "end" end)
      local outer = co.create(function()
        local _, v = co.resume(inner)
        coroutine.yield(v)
        go.sleep(0.001)
        return select(2, co.resume(inner))
      end)
      local r = {}
      r[1] = select(2, co.resume(outer))
      r[2] = select(2, co.resume(outer))
      return r
    end)
    assert.same({ "inner", "end" }, got)
  end)

  it("cancel reaches the park inside the generator; the generator's __close runs, then the task's", function()
    run(function()
      local closed = {}
      local function closer(name)
        return setmetatable({}, { __close = function() closed[#closed + 1] = name end })
      end
      local t = go.spawn(function()
        local _ <close> = closer("task")
        local gen = go.coroutine.wrap(function()
          local _ <close> = closer("generator")
          go.sleep(10)
        end)
        gen()
      end)
      go.yield()
      t:cancel("c")
      local ok, err = t:join()
      assert.is_false(ok)
      assert.is_true(go.is_cancelled(err))
      assert.same({ "generator", "task" }, closed)
    end)
  end)

  it("go.coroutine.wrap raises a generator's error with the caller's position, as stock wrap", function()
    run(function()
      local gen = go.coroutine.wrap(function() error("boom", 0) end)
      local stock = coroutine.wrap(function() error("boom", 0) end)
      local ok, err = pcall(function() gen() end)
      local ok2, err2 = pcall(function() stock() end)
      assert.is_false(ok)
      assert.is_false(ok2)
      assert.equal(err2:gsub(":%d+:", ":N:"), (err:gsub(":%d+:", ":N:")))
      assert.matches("^spec/72%-go_boundaries_spec%.lua:%d+: boom$", err)
      local ok3, err3 = pcall(gen)  -- a dead generator, as stock's
      assert.is_false(ok3)
      assert.matches("cannot resume dead coroutine", err3)
      local cancelled = go.coroutine.wrap(function() error(setmetatable({}, { __index = { tag = 1 } })) end)
      local _, obj = pcall(cancelled)
      assert.equal(1, obj.tag)  -- a non-string error object goes unchanged
    end)
  end)

  it("with a plain coroutine.resume: a clear error, not a hang", function()
    run(function()
      local ucoro = require "ucoro"
      local co = ucoro.create(function() go.sleep(0.001) end)
      local ok, err = ucoro.resume(co)
      assert.is_false(ok)
      assert.matches("blocking call inside a coroutine not run by go.coroutine", err)
    end)
  end)
end)
