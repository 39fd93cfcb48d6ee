-- Memory safety and lifetimes: values moved onto other threads,
-- objects kept by C, coroutines brought back by finalizers, stacks the GC
-- must see.  Scenarios that crashed run in a child interpreter.
local ucoro = require "ucoro"
local helpers = require "helpers"

local tool = os.getenv("UCORO_TEST_TOOL") ~= nil

local child_says = helpers.child_says

describe("ucoro.call with many values", function()
  it("moves 100000 arguments to f, from the main thread", function()
    child_says("100000\n", [[
      local ucoro = require "ucoro"
      print(select(2, assert(pcall(ucoro.call, select, "#", table.unpack({}, 1, 100000)))))
    ]])
  end)

  it("moves many arguments from a stock coroutine, and many yields and results back", function()
    child_says("100000\t100000\t100000\n", [[
      local ucoro = require "ucoro"
      local co = coroutine.wrap(function(...)
        local n = ucoro.call(select, "#", ...)
        local back = ucoro.call(function(...)
          return select("#", ucoro.yield(...))
        end, ...)
        local all = select("#", ucoro.call(table.unpack, {}, 1, 100000))
        return n, back, all
      end)
      local yielded = select("#", co(table.unpack({}, 1, 100000)))
      assert(yielded == 100000, yielded)
      print(co(table.unpack({}, 1, 100000)))
    ]])
  end)
end)

describe("ucoro.wrap", function()
  -- the wrapped thread resumed directly while it has no frames: the
  -- handles table may get another run for it
  local function wrap_then_resume_directly(mode)
    child_says("true\tyes\ttrue\n", ([[
      local ucoro = require "ucoro"
      ucoro.mode(%q)
      local th
      local w = ucoro.wrap(function()
        th = ucoro.running()
        coroutine.yield()          -- stock: no frames left on the native stack
        ucoro.yield("parked")      -- parks under ucoro.resume below
        return "yes"
      end)
      w()
      assert(ucoro.resume(th) == true)           -- runs it up to the park
      for _ = 1, 3 do collectgarbage() end
      for _ = 1, 1000 do local _ = {} end        -- reuse freed memory
      local ok, v = pcall(w)
      print(ok, v, ucoro.status(th) == "dead")
    ]]):format(mode))
  end

  it("keeps its run alive when the thread is resumed directly (lean)", function()
    wrap_then_resume_directly("lean")
  end)

  it("keeps its run alive when the thread is resumed directly (own)", function()
    wrap_then_resume_directly("own")
  end)

  it("keeps its run alive in the issue's scenario, through debug.getupvalue", function()
    child_says("ok\n", [[
      local ucoro = require "ucoro"
      ucoro.mode("lean")
      local w = ucoro.wrap(function() ucoro.yield() ucoro.yield() end)
      local th
      for i = 1, 8 do
        local name, v = debug.getupvalue(w, i)
        if name == nil then break end
        if type(v) == "thread" then th = v end
      end
      ucoro.wrap(function() ucoro.resume(th) end)()
      collectgarbage()
      w()
      print("ok")
    ]])
  end)
end)

describe("ucoro.call's guard", function()
  it("stays while its caller is suspended, whatever debug.setlocal does to the local holding it", function()
    child_says("true\tout\n", [[
      local ucoro = require "ucoro"
      local co = coroutine.create(function()
        return ucoro.call(function() ucoro.yield("in") return "out" end)
      end)
      assert(select(2, coroutine.resume(co)) == "in")
      local swapped = false
      for level = 0, 20 do
        if not debug.getinfo(co, level, "f") then break end
        for i = 1, 20 do
          local name = debug.getlocal(co, level, i)
          if name == nil then break end
          if name == "g" then
            -- the guard goes; a stand-in that closes quietly takes its place
            debug.setlocal(co, level, i, setmetatable({}, { __close = function() end }))
            swapped = true
          end
        end
      end
      assert(swapped, "no local g found")
      for _ = 1, 3 do collectgarbage() end
      for _ = 1, 1000 do local _ = newproxy and newproxy() or {} end
      print(coroutine.resume(co))
    ]])
  end)
end)

describe("a coroutine brought back by a finalizer", function()
  it("stays resumable after a Lua-level yield, as stock", function()
    for _, lib in ipairs({ "coroutine", "ucoro" }) do
      child_says("suspended\ttrue\t2\n", ([[
        local co = %q == "ucoro" and require "ucoro" or coroutine
        local saved
        do
          local holder = setmetatable({}, { __gc = function(o) saved = o.co end })
          holder.co = co.create(function() co.yield(1) return 2 end)
          co.resume(holder.co)
        end
        collectgarbage() collectgarbage()
        print(co.status(saved), co.resume(saved))
      ]]):format(lib))
    end
  end)

  it("stays resumable and closable when parked under C frames", function()
    child_says("suspended\ttrue\t1,2,3\ttrue\tsuspended\ttrue\tclosed\n", [[
      local ucoro = require "ucoro"
      local saved, saved2 = nil, nil
      local closed
      local function make()
        return ucoro.create(function(t)
          local _ <close> = setmetatable({}, { __close = function() closed = "closed" end })
          table.sort(t, function(a, b) ucoro.yield() return a < b end)
          return table.concat(t, ",")
        end)
      end
      do
        local holder = setmetatable({}, { __gc = function(o) saved = o.co end })
        holder.co = make()
        assert(ucoro.resume(holder.co, { 3, 1, 2 }))
        local holder2 = setmetatable({}, { __gc = function(o) saved2 = o.co end })
        holder2.co = make()
        assert(ucoro.resume(holder2.co, { 3, 1, 2 }))
      end
      collectgarbage() collectgarbage() collectgarbage()
      local st = ucoro.status(saved)
      local ok, r = ucoro.resume(saved)
      while ok and ucoro.status(saved) == "suspended" do ok, r = ucoro.resume(saved) end
      io.write(st, "\t", tostring(ok), "\t", tostring(r), "\t")
      collectgarbage() collectgarbage()
      print(ucoro.status(saved2) == "suspended", ucoro.status(saved2), ucoro.close(saved2), closed)
    ]])
  end)

  it("resumes when it is a stock coroutine suspended inside ucoro.call", function()
    child_says("suspended\ttrue\tout\n", [[
      local ucoro = require "ucoro"
      local saved
      do
        local holder = setmetatable({}, { __gc = function(o) saved = o.co end })
        holder.co = coroutine.create(function()
          return ucoro.call(function()
            table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end)
            return "out"
          end)
        end)
        assert(coroutine.resume(holder.co))
      end
      collectgarbage() collectgarbage() collectgarbage()
      local status = coroutine.status(saved)
      local ok, r = coroutine.resume(saved)
      while ok and coroutine.status(saved) == "suspended" do ok, r = coroutine.resume(saved) end
      print(status, ok, r)
    ]])
  end)

  it("leaks no native stack when its run is finalized while it runs", function()
    -- each round: the coroutine is unreachable while parked, brought back
    -- by a __gc, resumed, and inside it the pending finalizers run; then
    -- it is dropped for good
    child_says("ok\n", [[
      local ucoro = require "ucoro"
      local helpers = require "helpers"
      ucoro.mode("own")
      local function round()
        local saved
        do
          local co = ucoro.create(function()
            table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end)
            collectgarbage()   -- the pending finalizers run while it runs
            table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end)
          end)
          assert(ucoro.resume(co))   -- parked: its run has a finalizer now
          -- finalized newest first: the holder, then these, then the run
          for _ = 1, 12 do setmetatable({}, { __gc = function() end }) end
          setmetatable({ co = co }, { __gc = function(o) saved = o.co end })
        end
        while saved == nil do collectgarbage("step", 0) end
        assert(ucoro.resume(saved))  -- parks again, then is dropped
      end
      collectgarbage() collectgarbage()
      local before = helpers.count_guard_pages()
      for _ = 1, 100 do round() end
      for _ = 1, 4 do collectgarbage() end
      local after = helpers.count_guard_pages()
      assert(after < before + 70, ("%d stacks leaked"):format(after - before))
      print("ok")
    ]])
  end)
end)

describe("a stock yield inside ucoro.call(f) in a ucoro coroutine", function()
  it("works as in f() called directly", function()
    local stock_yield = coroutine.yield
    local co = ucoro.create(function(x)
      local got = ucoro.call(function(y) return stock_yield(y + 1) end, x)
      return "back", got
    end)
    assert.same({ true, 2 }, { ucoro.resume(co, 1) })
    assert.same({ true, "back", "z" }, { ucoro.resume(co, "z") })
    assert.equal("dead", ucoro.status(co))
  end)
end)

describe("native stacks and the garbage collector", function()
  it("collects and retries when no stack can be mapped", function()
    if tool then
      pending("under a sanitizer or Valgrind the address-space limit does not apply")
      return
    end
    -- own stacks that are dropped parked, under a 2 GiB address-space
    -- limit (6,000 stacks of 512 KiB would need 3 GiB), with a live
    -- heap large enough that the collector would not run in time
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local ucoro = require "ucoro"
      ucoro.mode("own")
      local heap = {}
      for i = 1, 300000 do heap[i] = { i } end
      for i = 1, 6000 do
        local co = ucoro.create(function() ucoro.yield() end)
        local ok, err = ucoro.resume(co)
        if not ok then print("failed at " .. i .. ": " .. err) os.exit(1) end
      end
      print("ok", #heap)
    ]])
    f:close()
    local pipe = assert(io.popen(("LUA_PATH='%s' LUA_CPATH='%s' prlimit --as=%d %s %s 2>&1")
      :format(package.path, package.cpath, 2 * 2^30, helpers.lua, script)))
    local out = pipe:read("a")
    local ok = pipe:close()
    os.remove(script)
    assert.equal("ok\t300000\n", out)
    assert.is_true(ok, out)
  end)
end)

describe("introspection of a coroutine without a native stack", function()
  it("answers nil from stackused and mode, as README says", function()
    local co = ucoro.create(function() end)
    assert.same({ n = 1 }, table.pack(ucoro.stackused(co)))
    assert.same({ n = 1 }, table.pack(ucoro.mode(co)))
  end)

  it("answers the stack size really used", function()
    local old = ucoro.stacksize(1)
    local used = ucoro.stacksize()
    ucoro.stacksize(old)
    assert.equal(16384, used)
  end)
end)

describe("ucoro.call without a function", function()
  it("raises an argument error, as stock pcall", function()
    local ok, e = pcall(ucoro.call)
    assert.is_false(ok)
    assert.equal("bad argument #1 to '?' (value expected)", helpers.unnamed(e))
  end)
end)

describe("README, as the specs show it", function()
  it("runs the cqueues example under ucoro.call as written", function()
    local source, inside = {}, false
    for line in io.lines("README.md") do
      if line == 'local ucoro = require "ucoro"' then inside = true end
      if inside then source[#source + 1] = line end
      if inside and line == "assert(cq:loop())" then break end
    end
    assert.is_true(#source > 3, "no cqueues example in README.md")
    child_says("6\n", table.concat(source, "\n"))
  end)

  it("shows stock functions a coroutine suspended by ucoro.yield, even at Lua level, as normal", function()
    local stock_status, stock_resume = coroutine.status, coroutine.resume
    local at_lua_level = ucoro.create(function() ucoro.yield() end)
    assert.is_true(ucoro.resume(at_lua_level))
    assert.equal("normal", stock_status(at_lua_level))
    assert.same({ false, "cannot resume non-suspended coroutine" }, { stock_resume(at_lua_level) })
    assert.equal("suspended", ucoro.status(at_lua_level))
    local stock_yielded = ucoro.create(function() coroutine.yield() end)
    assert.is_true(ucoro.resume(stock_yielded))
    assert.equal("suspended", stock_status(stock_yielded))
  end)

  it("runs no to-be-closed variable of a parked coroutine collected, one of a closed one", function()
    local closed = {}
    local function parked(name)
      local co = ucoro.create(function()
        local _ <close> = setmetatable({}, { __close = function() closed[name] = true end })
        table.sort({ 2, 1 }, function(a, b) ucoro.yield() return a < b end)
      end)
      assert.is_true(ucoro.resume(co))
      return co
    end
    parked("collected")
    assert.is_true(ucoro.close(parked("closed")))
    collectgarbage()
    collectgarbage()
    assert.same({ closed = true }, closed)
  end)

  it("gives the message handler of ucoro.call's caller no frame of f", function()
    local function inner_function_of_f() error("deep") end
    local ok, trace = xpcall(ucoro.call, debug.traceback, function() inner_function_of_f() end)
    assert.is_false(ok)
    assert.matches("deep", trace)
    assert.is_nil(trace:find("inner_function_of_f", 1, true))
    -- handled inside f, the frames are there
    local _, inside = ucoro.call(xpcall, function() inner_function_of_f() end, debug.traceback)
    assert.truthy(inside:find("inner_function_of_f", 1, true))
  end)
end)
