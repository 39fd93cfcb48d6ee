-- The bad-input table: every function of the module, given each kind of
-- bad input, one row each.  Where stock coroutine has the function, the
-- answer must be stock's (same results, same message); elsewhere the exact
-- message is asserted.  A coroutine of another Lua state cannot reach a
-- Lua function (only C can hold one): spec/c/lua/bad_input_test.c has those.
local ucoro = require "ucoro"
local helpers = require "helpers"
local stock = coroutine

local main = stock.running()  -- busted runs the specs on the main thread

-- Runs f(...) protected: { ok, results..., n = ... }, the error message
-- without the function's name (ucoro.resume and resume name it apart).
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if not r[1] and type(r[2]) == "string" then r[2] = helpers.unnamed(r[2]) end
  return r
end

local function erring() error("x") end
local error_object = {}  -- one table, so that both libraries raise the same
local function erring_with_table() error(error_object) end

-- A body that suspends once: ucoro parks it inside a table.sort
-- comparator; stock can only suspend it in Lua code (what a parked
-- coroutine must look like from outside).
local function suspends(lib)
  return function()
    if lib == ucoro then
      local first = true
      table.sort({ 2, 1 }, function(a, b)
        if first then first = false lib.yield("suspended") end
        return a < b
      end)
    else
      lib.yield("suspended")
    end
    return "done"
  end
end

-- Values of the wrong type.  (A table, not a list, so that nil fits.)
local wrong_types = {
  { "a number", 1 }, { "a float", 1.5 }, { "a string", "s" }, { "a table", {} },
  { "true", true }, { "false", false }, { "a userdata", io.stdout }, { "nil", nil },
}

-- Every kind of thread argument a thread-taking function can get.  run(lib,
-- probe) makes the situation with lib (stock or ucoro), calls probe with the
-- argument(s) there, and returns what probe returned, then what the
-- coroutine's status and a resume say afterwards.
local thread_inputs = {}
for _, t in ipairs(wrong_types) do
  thread_inputs[#thread_inputs + 1] = {
    t[1], function(_, probe) return { probe(t[2]) } end, wrong = true }
end
local function after(lib, co, r, ...)
  return { r, lib.status(co), try(lib.resume, co), ... }
end
local more_thread_inputs = {
  { "a function", function(_, probe) return { probe(print) } end, wrong = true },
  { "no value", function(_, probe) return { probe() } end },
  { "a dead coroutine", function(lib, probe)
    local co = lib.create(function() end)
    lib.resume(co)
    return after(lib, co, probe(co))
  end },
  { "a coroutine that erred with a string", function(lib, probe)
    local co = lib.create(erring)
    lib.resume(co)
    return after(lib, co, probe(co))
  end },
  { "a coroutine that erred with a table", function(lib, probe)
    local co = lib.create(erring_with_table)
    lib.resume(co)
    return after(lib, co, probe(co))
  end },
  { "the running coroutine", function(lib, probe)
    local co, r, s
    co = lib.create(function() r, s = probe(co), lib.status(co) end)
    lib.resume(co)
    return after(lib, co, r, s)
  end },
  { "a normal coroutine", function(lib, probe)
    local co, r, s
    co = lib.create(function()
      lib.resume(lib.create(function() r, s = probe(co), lib.status(co) end))
    end)
    lib.resume(co)
    return after(lib, co, r, s)
  end },
  { "the main thread, running", function(lib, probe)
    return after(lib, main, probe(main))
  end },
  { "the main thread, normal", function(lib, probe)
    local r, s
    lib.resume(lib.create(function() r, s = probe(main), lib.status(main) end))
    return { r, s }
  end },
  { "a coroutine suspended under a C boundary", function(lib, probe)
    local co = lib.create(suspends(lib))
    lib.resume(co)
    return after(lib, co, probe(co))
  end },
  { "a coroutine closed while suspended under a C boundary", function(lib, probe)
    local co = lib.create(suspends(lib))
    lib.resume(co)
    lib.close(co)
    return after(lib, co, probe(co))
  end },
  { "a stock coroutine suspended inside ucoro.call", function(lib, probe)
    -- stock: the same coroutine, suspended in Lua code
    local co = stock.create(function()
      if lib == ucoro then
        ucoro.call(table.sort, { 2, 1 }, function(a, b) ucoro.yield("suspended") return a < b end)
      else
        stock.yield("suspended")
      end
      return "done"
    end)
    stock.resume(co)
    return after(lib, co, probe(co))
  end },
}
for _, t in ipairs(more_thread_inputs) do thread_inputs[#thread_inputs + 1] = t end

-- Compares what stock and ucoro answer in the same situation.
local function same_as_stock(input, name)
  local function answer(lib)
    return input[2](lib, function(...) return try(lib[name], ...) end)
  end
  assert.same(answer(stock), answer(ucoro))
end

-- Asserts that setter(value) raises the argument error message, and that
-- setter() answers afterwards what it answered before.
local function refuses_keeping(setter, value, message)
  local old = setter()
  assert.same({ false, "bad argument #1 to '?' (" .. message .. ")", n = 2 }, try(setter, value))
  assert.equal(old, setter())
end

-- The thread inputs that have a native stack when asked (stackused and
-- mode answer for it).  A normal coroutine is asked from outside, where
-- its stack is not found (README).
local has_stack = {
  ["the running coroutine"] = true,
  ["a coroutine suspended under a C boundary"] = true,
}

-- Functions that take a function.
local function_inputs = {
  { "a number", 1 }, { "a string", "s" }, { "a table", {} },
  { "a callable table", setmetatable({}, { __call = function() end }) },
  { "true", true }, { "a coroutine", stock.create(print) },
  { "a userdata", io.stdout }, { "nil", nil },
}

describe("bad input:", function()
  describe("thread arguments (resume, status, close, isyieldable):", function()
    for _, name in ipairs({ "resume", "status", "close", "isyieldable" }) do
      for _, input in ipairs(thread_inputs) do
        it(("%s given %s answers as stock"):format(name, input[1]), function()
          same_as_stock(input, name)
        end)
      end
    end
  end)

  -- Too many values for a Lua stack (a million slots): with stock's
  -- messages, the coroutine left as it was.
  describe("too many values for a Lua stack:", function()
    local many = {}
    for i = 1, 600000 do many[i] = i end
    local function holds_many_then_suspends(lib)
      return lib.create(function(...)
        suspends(lib)()
        return select("#", ...)
      end)
    end
    it("resume given too many arguments answers as stock", function()
      local function answer(lib)
        local co = holds_many_then_suspends(lib)
        local first = { lib.resume(co, table.unpack(many, 1, 500000)) }
        -- (no try: its copies of the arguments would not fit either)
        local second = { pcall(lib.resume, co, table.unpack(many, 1, 500000)) }
        return { first, second, lib.status(co), try(lib.resume, co) }
      end
      local expected = answer(stock)
      assert.same({ true, false, "too many arguments to resume" }, expected[2])
      assert.same(expected, answer(ucoro))
    end)
    it("resume with too many results answers as stock", function()
      local function answer(lib)
        local co = lib.create(function()
          suspends(lib)()
          return table.unpack(many)
        end)
        lib.resume(co)
        local function holding(...) return try(lib.resume, co), select("#", ...) end
        return { holding(table.unpack(many, 1, 450000)), lib.status(co) }
      end
      local expected = answer(stock)
      assert.same({ true, false, "too many results to resume", n = 3 }, expected[1])
      assert.same(expected, answer(ucoro))
    end)
    it("wrap's function given too many arguments answers as stock", function()
      local function answer(lib)
        local w = lib.wrap(function(...) suspends(lib)() return select("#", ...) end)
        w(table.unpack(many, 1, 500000))
        local second = { pcall(w, table.unpack(many, 1, 500000)) }
        return { second, try(w) }
      end
      local expected = answer(stock)
      assert.same({ false, "too many arguments to resume" }, expected[1])
      assert.same(expected, answer(ucoro))
    end)
  end)

  -- stackused has no stock counterpart: the exact answers.  A wrong type
  -- gets the argument error of stock's isyieldable (the same check); a
  -- thread without a native stack now, nil.
  describe("stackused:", function()
    for _, input in ipairs(thread_inputs) do
      local says = input.wrong and "a stock argument error"
        or has_stack[input[1]] and "its bytes used" or "nil"
      it(("stackused given %s answers %s"):format(input[1], says), function()
        local function answer(lib, name)
          return input[2](lib, function(...) return try(lib[name], ...) end)[1]
        end
        local r = answer(ucoro, "stackused")
        if input.wrong then
          assert.same(answer(stock, "isyieldable"), r)
        elseif has_stack[input[1]] then
          assert.same({ true, r[2], n = 2 }, r)
          assert.equal("integer", math.type(r[2]))
          assert.is_true(r[2] > 0)
        else
          assert.same({ true, nil, n = 2 }, r)
        end
      end)
    end
  end)

  -- mode: with a thread, the mode of its native stack now, or nil when it
  -- has none; with nil or no value, the default mode; with
  -- anything else not a mode name, an argument error.  The default stays.
  describe("mode:", function()
    for _, input in ipairs(thread_inputs) do
      local reads = input[1] == "nil" or input[1] == "no value"
      local says = reads and "the default mode" or input.wrong and "an argument error"
        or has_stack[input[1]] and "its mode" or "nil"
      it(("mode given %s answers %s"):format(input[1], says), function()
        local default = ucoro.mode()
        local r = input[2](ucoro, function(...) return try(ucoro.mode, ...) end)[1]
        assert.equal(default, ucoro.mode())
        if reads then
          assert.same({ true, default, n = 2 }, r)
        elseif input.wrong then
          assert.is_false(r[1])
          assert.matches("^bad argument #1 to '%?' %(", r[2])
        elseif has_stack[input[1]] then
          assert.is_true(r[1])
          assert.is_truthy(r[2] == "own" or r[2] == "lean")
        else
          assert.same({ true, nil, n = 2 }, r)
        end
      end)
    end
  end)

  -- ownlimit: a count; anything else an argument error, the limit kept.
  describe("ownlimit:", function()
    for _, t in ipairs({ { "-1", -1, "limit must not be negative" },
                         { "1.5", 1.5, "number has no integer representation" },
                         { "NaN", 0 / 0, "number has no integer representation" },
                         { "a string", "s", "number expected, got string" },
                         { "a table", {}, "number expected, got table" },
                         { "true", true, "number expected, got boolean" } }) do
      it("ownlimit given " .. t[1] .. " raises an argument error, keeping the limit", function()
        refuses_keeping(ucoro.ownlimit, t[2], t[3])
      end)
    end
  end)

  describe("create and wrap given what is not a function:", function()
    for _, name in ipairs({ "create", "wrap" }) do
      for _, t in ipairs(function_inputs) do
        it(("%s given %s answers as stock"):format(name, t[1]), function()
          assert.same(try(stock[name], t[2]), try(ucoro[name], t[2]))
        end)
      end
      it(name .. " given no value answers as stock", function()
        assert.same(try(stock[name]), try(ucoro[name]))
      end)
    end
  end)

  -- ucoro.call calls what a plain call would, with a plain call's error.
  describe("call:", function()
    for _, t in ipairs(function_inputs) do
      it("call given " .. t[1] .. " fails as a plain call would", function()
        local plain = try(t[2])  -- pcall(v): "attempt to call a ... value"
        assert.same(plain, try(ucoro.call, t[2]))
        assert.equal(t[1] == "a callable table", plain[1])
      end)
    end
    it("call given no value raises an argument error, as stock pcall", function()
      assert.same({ false, "bad argument #1 to '?' (value expected)", n = 2 }, try(ucoro.call))
      assert.same({ false, "bad argument #1 to '?' (value expected)", n = 2 }, try(pcall))
    end)
  end)

  -- Stack sizes (create's and wrap's second argument, stacksize's first).
  describe("stack sizes:", function()
    local bad_sizes = {
      { "0", 0, "stack size must be positive" },
      { "-1", -1, "stack size must be positive" },
      { "math.mininteger", math.mininteger, "stack size must be positive" },
      { "-2^62, a float with an integer value", -2 ^ 62, "stack size must be positive" },
      { "1.5", 1.5, "number has no integer representation" },
      { "NaN", 0 / 0, "number has no integer representation" },
      { "math.huge", math.huge, "number has no integer representation" },
      { "-math.huge", -math.huge, "number has no integer representation" },
      { "2^63, a float past the integers", 2 ^ 63, "number has no integer representation" },
      -- (create and wrap take a string as a mode name: "own", "lean", "auto")
      { "a string", "big", "number expected, got string", "invalid option 'big'" },
      { "a table", {}, "number expected, got table" },
      { "true", true, "number expected, got boolean" },
      { "false", false, "number expected, got boolean" },
      { "a function", print, "number expected, got function" },
    }
    -- Positive integers too large to map: the error comes when a stack is
    -- needed (the first resume), as "not enough memory".
    local unmappable_sizes = {
      { "2^60", 2 ^ 60 }, { "2^62", 2 ^ 62 }, { "math.maxinteger", math.maxinteger },
    }
    -- Odd but good: taken as Lua takes integers, raised to the minimum.
    local odd_sizes = {
      { "1 (raised to the minimum)", 1 }, { "a numeric string", "65536" },
      { "a float with an integer value", 65536.0 },
    }
    local function returns_done() return "done" end

    for _, name in ipairs({ "create", "wrap" }) do
      for _, t in ipairs(bad_sizes) do
        it(("%s given a stack size of %s raises an argument error"):format(name, t[1]), function()
          assert.same({ false, "bad argument #2 to '?' (" .. (t[4] or t[3]) .. ")", n = 2 },
                      try(ucoro[name], returns_done, t[2]))
        end)
      end
      for _, t in ipairs(odd_sizes) do
        it(("%s given a stack size of %s runs the coroutine"):format(name, t[1]), function()
          if name == "create" then
            local co = ucoro.create(function() return ucoro.yield("in") end, t[2])
            assert.same({ true, "in" }, { ucoro.resume(co) })
            assert.same({ true, "out" }, { ucoro.resume(co, "out") })
          else
            assert.equal("done", ucoro.wrap(returns_done, t[2])())
          end
        end)
      end
    end
    for _, t in ipairs(unmappable_sizes) do
      it("create given a stack size of " .. t[1] .. " fails to resume, not enough memory", function()
        local co = ucoro.create(returns_done, t[2])
        assert.same({ false, "not enough memory" }, { ucoro.resume(co) })
        assert.equal("suspended", ucoro.status(co))  -- it never started
        assert.same({ false, "not enough memory" }, { ucoro.resume(co) })
        assert.same({ true }, { ucoro.close(co) })
        assert.equal("dead", ucoro.status(co))
      end)
      it("wrap given a stack size of " .. t[1] .. " fails when called, not enough memory", function()
        local w = ucoro.wrap(returns_done, t[2])
        assert.same({ false, "not enough memory" }, { pcall(w) })
        assert.same({ false, "not enough memory" }, { pcall(w) })
      end)
    end

    for _, t in ipairs(bad_sizes) do
      it("stacksize given " .. t[1] .. " raises an argument error, keeping the default", function()
        refuses_keeping(ucoro.stacksize, t[2], t[3])
      end)
    end
    for _, t in ipairs(odd_sizes) do
      it("stacksize given " .. t[1] .. " takes it", function()
        local old = ucoro.stacksize(t[2])
        finally(function() ucoro.stacksize(old) end)
        assert.equal("done", ucoro.wrap(returns_done)())
        assert.same({ true, "done" }, { ucoro.resume(ucoro.create(returns_done)) })
      end)
    end
    for _, t in ipairs(unmappable_sizes) do
      it("stacksize given " .. t[1] .. " takes it: resumes fail, not enough memory", function()
        local old = ucoro.stacksize(t[2])
        finally(function() ucoro.stacksize(old) end)
        assert.same({ false, "not enough memory" }, { ucoro.resume(ucoro.create(returns_done)) })
        assert.same({ false, "not enough memory" }, { pcall(ucoro.wrap(returns_done)) })
        assert.same({ false, "not enough memory" }, { pcall(ucoro.call, returns_done) })
        ucoro.stacksize(old)  -- and all is well again
        assert.same({ true, "done" }, { ucoro.resume(ucoro.create(returns_done)) })
        assert.equal("done", ucoro.call(returns_done))
      end)
    end
    it("stacksize given nil reads it, as given no value", function()
      assert.equal(ucoro.stacksize(), ucoro.stacksize(nil))
    end)
  end)

  describe("where a yield is refused:", function()
    -- Where a yield is refused.  run(lib, probe) calls probe there and
    -- returns its answer; ucoro-only places name the stock place that must
    -- answer the same (like), or the exact answers (yield, isyieldable).
    local function in_sort(probe)
      local r
      table.sort({ 2, 1 }, function(a, b) r = r or probe() return a < b end)
      return r
    end
    local function in_gc(probe)
      local r
      setmetatable({}, { __gc = function() r = probe() end })
      collectgarbage()
      return r
    end
    local function in_close(lib, probe, under_c)
      local r
      local co = lib.create(function()
        local _guard <close> = setmetatable({}, { __close = function() r = probe() end })
        if under_c then
          table.sort({ 2, 1 }, function(a, b) lib.yield() return a < b end)
        else
          lib.yield()
        end
      end)
      lib.resume(co)
      lib.close(co)
      return r
    end
    local places = {
      { "on the main thread", function(_, probe) return probe() end },
      { "in a sort comparator on the main thread", function(_, probe) return in_sort(probe) end },
      { "in a sort comparator of a stock coroutine", function(_, probe)
        local r
        stock.resume(stock.create(function() r = in_sort(probe) end))
        return r
      end },
      { "in a __gc finalizer on the main thread", function(_, probe) return in_gc(probe) end },
      { "in a __gc finalizer in a stock coroutine", function(_, probe)
        local r
        stock.resume(stock.create(function() r = in_gc(probe) end))
        return r
      end },
      { "in a __close handler that close runs", function(lib, probe)
        return in_close(lib, probe, false)
      end },
      { "in a __close handler that close runs, suspended under a C boundary", function(lib, probe)
        return in_close(lib, probe, lib == ucoro)
      end },
      { "in ucoro.call on the main thread", function(lib, probe)
        if lib == stock then return probe() end
        return ucoro.call(probe)
      end, like = "on the main thread" },
      { "in ucoro.call in a sort comparator of a stock coroutine", function(lib, probe)
        local r
        stock.resume(stock.create(function()
          r = in_sort(function() return lib == ucoro and ucoro.call(probe) or probe() end)
        end))
        return r
      end },
      { "in a __gc finalizer in its own coroutine", function(lib, probe)
        local r
        lib.resume(lib.create(function() r = in_gc(probe) end))
        return r
      end, yield = "attempt to yield inside a __gc finalizer", isyieldable = false },
      { "in ucoro.call in a __gc finalizer in its own coroutine", function(lib, probe)
        local r
        lib.resume(lib.create(function()
          r = in_gc(function() return lib == ucoro and ucoro.call(probe) or probe() end)
        end))
        return r
      end, yield = "attempt to yield inside a __gc finalizer", isyieldable = false },
    }
    for _, place in ipairs(places) do
      for _, name in ipairs({ "yield", "isyieldable" }) do
        local exact = place[name]
        it(("%s %s answers %s"):format(name, place[1], exact ~= nil and "exactly" or "as stock"), function()
          local function answer(lib) return place[2](lib, function() return try(lib[name], 1) end) end
          if name == "isyieldable" then  -- without its argument
            answer = function(lib) return place[2](lib, function() return try(lib.isyieldable) end) end
          end
          local got = answer(ucoro)
          if exact == nil then
            assert.same(answer(stock), got)
          elseif name == "yield" then
            assert.same({ false, exact, n = 2 }, got)
          else
            assert.same({ true, exact, n = 2 }, got)
          end
        end)
      end
    end
  end)

  -- running takes no argument: extra ones are ignored, as stock.
  describe("running:", function()
    it("running given arguments on the main thread answers as stock", function()
      local function answer(lib)
        local co, ismain = lib.running(1, nil, "x")
        return { co == main, ismain }
      end
      assert.same(answer(stock), answer(ucoro))
    end)
    it("running given arguments in a coroutine answers as stock", function()
      local function answer(lib)
        local r, co
        co = lib.create(function()
          local running, ismain = lib.running(1, nil, "x")
          r = { running == co, ismain }
        end)
        lib.resume(co)
        return r
      end
      assert.same(answer(stock), answer(ucoro))
    end)
    it("running in ucoro.call on the main thread answers the main thread", function()
      local co, ismain = ucoro.call(ucoro.running)
      assert.equal(main, co)
      assert.is_true(ismain)
    end)
  end)

  describe("wrap's function where it cannot resume:", function()
    -- The function wrap returns, used where it cannot resume.  Each call
    -- comes from the same line, so both libraries add the same position.
    local function call(w, ...) return w(...) end
    local wrapped = {
      { "after its coroutine ended", function(lib)
        local w = lib.wrap(function() end)
        w()
        return { try(call, w), try(call, w) }
      end },
      { "after its body erred with a string", function(lib)
        local w = lib.wrap(erring)
        return { try(call, w), try(call, w) }
      end },
      { "after its body erred with a table", function(lib)
        local w = lib.wrap(erring_with_table)
        return { try(call, w), try(call, w) }
      end },
      { "from its own body", function(lib)
        local w, r
        w = lib.wrap(function() r = try(call, w) end)
        w()
        return { r, try(call, w) }
      end },
      { "from a coroutine its body resumed", function(lib)
        local w, r
        w = lib.wrap(function()
          lib.resume(lib.create(function() r = try(call, w) end))
          return "outer"
        end)
        return { r, try(call, w) }
      end },
    }
    for _, case in ipairs(wrapped) do
      it("wrap's function called " .. case[1] .. " answers as stock", function()
        assert.same(case[2](stock), case[2](ucoro))
      end)
    end
  end)

  -- install works on whatever it finds as the coroutine library.
  describe("install:", function()
    local function with_library(set_up, check)
      local loaded, global = package.loaded.coroutine, rawget(_G, "coroutine")
      local saved = helpers.save_coroutine_library()
      finally(function()
        package.loaded.coroutine = loaded
        rawset(_G, "coroutine", global)
        helpers.restore_coroutine_library(saved)
      end)
      set_up()
      check(try(ucoro.install))
    end
    local function parks_through(lib)  -- lib.wrap's coroutine parks under C
      local w = lib.wrap(function()
        table.sort({ 2, 1 }, function(a, b) lib.yield("parked") return a < b end)
        return "done"
      end)
      return { w(), w() }
    end
    it("install given arguments ignores them", function()
      with_library(function() end, function()
        local r = table.pack(pcall(ucoro.install, 1, nil, "x"))
        assert.same({ true, ucoro, n = 2 }, r)
        assert.same({ "parked", "done" }, parks_through(coroutine))
      end)
    end)
    it("install twice is as install once", function()
      with_library(function() ucoro.install() end, function(r)
        assert.same({ true, ucoro, n = 2 }, r)
        assert.same({ "parked", "done" }, parks_through(coroutine))
      end)
    end)
    it("install when package.loaded.coroutine is not a table fills the global one", function()
      local global = coroutine
      with_library(function() package.loaded.coroutine = 42 end, function(r)
        assert.same({ true, ucoro, n = 2 }, r)
        assert.equal(global, package.loaded.coroutine)
        assert.equal(global, coroutine)
        assert.same({ "parked", "done" }, parks_through(global))
      end)
    end)
    it("install when no coroutine table is left makes one", function()
      local global = coroutine
      with_library(function()
        package.loaded.coroutine = nil
        rawset(_G, "coroutine", nil)
      end, function(r)
        assert.same({ true, ucoro, n = 2 }, r)
        assert.equal("table", type(rawget(_G, "coroutine")))
        assert.not_equal(global, rawget(_G, "coroutine"))
        assert.equal(rawget(_G, "coroutine"), package.loaded.coroutine)
        assert.same({ "parked", "done" }, parks_through(rawget(_G, "coroutine")))
      end)
    end)
    it("install into a read-only coroutine table raises the table's own error", function()
      local read_only = setmetatable({}, {
        __index = coroutine,
        __newindex = function() error("read-only", 0) end,
      })
      with_library(function()
        package.loaded.coroutine = read_only
        rawset(_G, "coroutine", read_only)
      end, function(r)
        assert.same({ false, "read-only", n = 2 }, r)
        assert.equal(stock.resume, read_only.resume)  -- nothing changed
      end)
    end)
  end)
end)
