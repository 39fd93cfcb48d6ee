-- ucoro.yield across C-call boundaries: standard library functions that
-- call back into Lua, metamethods reached from C, LPeg, lua-expat and a
-- plain lua_call in C, alone, nested in each other, and many at once.
-- Each time, values flow both ways: what resume passes in comes back from
-- ucoro.yield, and what yield passes out comes back from resume.  Where it
-- is natural, each also shows that stock coroutine.yield fails at that spot.
local ucoro = require "ucoro"
local helpers = require "helpers"
local testmod = require "ucoro_testmod"
local lpeg = require "lpeg"
local lxp = require "lxp"
local stock = coroutine

local BOUNDARY = "attempt to yield across a C-call boundary"

-- What the first stock resume of a stock coroutine running f gives.
local function under_stock(f, ...)
  return stock.resume(stock.create(f), ...)
end

-- Asserts that f, run in a stock coroutine, fails because its stock yield
-- crosses a C-call boundary.
local function refused_by_stock(f)
  assert.same({ false, BOUNDARY }, { under_stock(f) })
end

-- Runs f(...) in a ucoro coroutine.  Each time it yields, answer gets the
-- yielded values and returns what to resume it with; a full collection
-- runs while it is suspended.  Returns the list of what it yielded and its
-- results (packed).
local function drive(f, answer, ...)
  local co = ucoro.create(f)
  local yields = {}
  local r = table.pack(ucoro.resume(co, ...))
  while r[1] and ucoro.status(co) == "suspended" do
    yields[#yields + 1] = { table.unpack(r, 2, r.n) }
    collectgarbage()
    r = table.pack(ucoro.resume(co, answer(table.unpack(r, 2, r.n))))
  end
  assert(r[1], r[2])
  return yields, table.pack(table.unpack(r, 2, r.n))
end

-- ucoro.yield behind a Lua frame, to pass as a comparator or callback.
local function ask(...)
  return ucoro.yield(...)
end

-- Each layer calls inner() exactly once from inside one C-call boundary
-- and returns what inner returned (a string).
local preloaded = 0
local layers = {
  { "sort", function(inner)
      local v
      table.sort({ 1, 2 }, function(a, b)
        v = v or inner()
        return a < b
      end)
      return v
    end },
  { "sort __lt", function(inner)
      local v
      local mt = { __lt = function(a, b)
        v = v or inner()
        return a.n < b.n
      end }
      table.sort({ setmetatable({ n = 1 }, mt), setmetatable({ n = 2 }, mt) })
      return v
    end },
  { "gsub", function(inner)
      return (("x"):gsub("x", function() return inner() end))
    end },
  { "gsub __index", function(inner)
      local repl = setmetatable({}, { __index = function() return inner() end })
      return (("x"):gsub("x", repl))
    end },
  { "load", function(inner)
      local n = 0
      local f, e = load(function()
        n = n + 1
        if n == 1 then return "return " end
        if n == 2 then return ("%q"):format(inner()) end
        return nil
      end)
      if not f then error(e, 0) end
      return f()
    end },
  { "require", function(inner)
      preloaded = preloaded + 1
      local name = "ucoro_spec_preloaded_" .. preloaded
      package.preload[name] = function()
        package.preload[name] = nil
        return inner()
      end
      local v = require(name)
      package.loaded[name] = nil
      return v
    end },
  { "tostring", function(inner)
      return tostring(setmetatable({}, { __tostring = function() return inner() end }))
    end },
  { "format", function(inner)
      return ("%s"):format(setmetatable({}, { __tostring = function() return inner() end }))
    end },
  { "table.concat", function(inner)
      return table.concat(setmetatable({}, {
        __len = function() return 1 end,
        __index = function() return inner() end,
      }))
    end },
  { "table.unpack", function(inner)
      return (table.unpack(setmetatable({}, { __index = function() return inner() end }), 1, 1))
    end },
  { "ipairs", function(inner)
      local v
      local t = setmetatable({}, { __index = function(_, k)
        if k == 1 then return inner() end
        return nil
      end })
      for _, x in ipairs(t) do v = x end
      return v
    end },
  { "table.insert", function(inner)
      local store = {}
      table.insert(setmetatable({}, {
        __len = function() return 0 end,
        __newindex = function(_, k, x) store[k] = x .. inner() end,
      }), "")
      return store[1]
    end },
  { "pcall", function(inner)
      local ok, v = pcall(inner)
      if not ok then error(v, 0) end
      return v
    end },
  { "xpcall handler", function(inner)
      local _, v = xpcall(error, function() return inner() end, "raised")
      return v
    end },
  { "lpeg.Cmt", function(inner)
      return lpeg.match(lpeg.Cmt(lpeg.P(0), function(_, i) return i, inner() end), "")
    end },
  { "lpeg function capture", function(inner)
      return lpeg.match(lpeg.P(0) / function() return inner() end, "")
    end },
  { "lxp", function(inner)
      local v
      local parser = lxp.new({ StartElement = function() v = inner() end })
      assert(parser:parse("<a/>"))
      assert(parser:parse())
      parser:close()
      return v
    end },
  { "testmod.call", function(inner)
      return testmod.call(inner)
    end },
  { "testmod.each", function(inner)
      return testmod.each({ 1 }, function() return inner() end)[1]
    end },
  { "__eq", function(inner)
      local v
      local mt = { __eq = function()
        v = inner()
        return true
      end }
      assert(testmod.compare(setmetatable({}, mt), setmetatable({}, mt), "eq"))
      return v
    end },
  { "__concat", function(inner)
      return testmod.concat(setmetatable({}, { __concat = function() return inner() end }), "")
    end },
}

describe("ucoro.yield in table.sort", function()
  -- Sorts t in place by lt; returns the pairs it compared, in order.
  local function comparisons(t, lt)
    local seen = {}
    table.sort(t, function(x, y)
      seen[#seen + 1] = { x, y }
      return lt(x, y)
    end)
    return seen
  end

  it("lets a comparator yield each pair and take the order from the resumer", function()
    local input = { "d", "a", "c", "e", "b" }
    local expected = comparisons({ table.unpack(input) }, function(x, y) return x > y end)
    local yields, results = drive(function()
      local t = { table.unpack(input) }
      table.sort(t, function(x, y) return ucoro.yield(x, y) end)
      return table.concat(t)
    end, function(x, y) return x > y end)
    assert.same(expected, yields)
    assert.same({ "edcba", n = 1 }, results)
  end)

  it("lets __lt yield when sorting without a comparator", function()
    local mt = {}
    mt.__lt = function(a, b) return ucoro.yield(a.name, b.name) end
    local input = { "pear", "fig", "apple", "kiwi", "plum", "date" }
    local sorted = { table.unpack(input) }
    local expected = comparisons(sorted, function(x, y) return #x < #y end)
    local yields, results = drive(function()
      local t = {}
      for i, name in ipairs(input) do t[i] = setmetatable({ name = name }, mt) end
      table.sort(t)
      local names = {}
      for i, item in ipairs(t) do names[i] = item.name end
      return table.concat(names, " ")
    end, function(x, y) return #x < #y end)
    assert.same(expected, yields)
    assert.same({ table.concat(sorted, " "), n = 1 }, results)
    assert.matches("^fig .* apple$", results[1])
  end)

  it("carries thousands of values each way through a comparator", function()
    local many = {}
    for i = 1, 5000 do many[i] = i end
    local co = ucoro.create(function(...)
      local out, back = table.pack(...), nil
      table.sort({ 1, 2 }, function(x, y)
        back = back or table.pack(ucoro.yield(table.unpack(out, 1, out.n)))
        return x < y
      end)
      return back.n, back[1], back[back.n]
    end)
    local r = table.pack(ucoro.resume(co, table.unpack(many)))
    assert.same({ true, 5001, 1, 5000 }, { r[1], r.n, r[2], r[r.n] })
    assert.same({ true, 4000, 1, 4000 }, { ucoro.resume(co, table.unpack(many, 1, 4000)) })
  end)

  it("cannot be done with stock coroutine.yield", function()
    refused_by_stock(function()
      table.sort({ 2, 1 }, function(x, y) return stock.yield(x, y) end)
    end)
    local mt = { __lt = function() return stock.yield() end }
    refused_by_stock(function()
      table.sort({ setmetatable({}, mt), setmetatable({}, mt) })
    end)
  end)
end)

describe("ucoro.yield in string.gsub", function()
  it("lets a replacement function yield each match and take its replacement from the resumer", function()
    local yields, results = drive(function()
      return ("one two three"):gsub("%a+", function(word) return ucoro.yield(word) end)
    end, function(word) return #word end)
    assert.same({ { "one" }, { "two" }, { "three" } }, yields)
    assert.same({ "3 3 5", 3, n = 2 }, results)
  end)

  it("lets the __index of a replacement table yield", function()
    local yields, results = drive(function()
      local repl = setmetatable({}, { __index = function(_, key) return ucoro.yield("key", key) end })
      return ("$a and $b"):gsub("%$(%a)", repl)
    end, function(_, key) return key:upper() end)
    assert.same({ { "key", "a" }, { "key", "b" } }, yields)
    assert.same({ "A and B", 2, n = 2 }, results)
  end)

  it("lets an error raised after a resume leave gsub through the pcall around it", function()
    local yields, results = drive(function()
      local ok, e = pcall(string.gsub, "abc", "%a", function(c)
        local v = ucoro.yield(c)
        if v == "stop" then error("stopped at " .. c, 0) end
        return v
      end)
      return ok, e, ucoro.yield("after")
    end, function(c) return c == "b" and "stop" or "resumed " .. c end)
    assert.same({ { "a" }, { "b" }, { "after" } }, yields)
    assert.same({ false, "stopped at b", "resumed after", n = 3 }, results)
  end)

  it("cannot be done with stock coroutine.yield", function()
    refused_by_stock(function()
      return ("x"):gsub("x", function() return stock.yield() end)
    end)
  end)
end)

describe("ucoro.yield in a load reader", function()
  it("lets the reader yield between chunks, which the resumer supplies", function()
    local pieces = { "local a, b = ...", " return a", " * b", "" }
    local yields, results = drive(function()
      local n = 0
      local f = assert(load(function()
        n = n + 1
        return ucoro.yield("chunk", n)
      end, "=pieces"))
      return f(6, 7)
    end, function(_, n) return pieces[n] end)
    assert.same({ { "chunk", 1 }, { "chunk", 2 }, { "chunk", 3 }, { "chunk", 4 } }, yields)
    assert.same({ 42, n = 1 }, results)
  end)

  it("reports a syntax error in chunks that came across yields, as load does", function()
    local pieces = { "return ", "1 +" }
    local yields, results = drive(function()
      local n = 0
      return load(function()
        n = n + 1
        return ucoro.yield(n)
      end, "=pieces")
    end, function(n) return pieces[n] end)
    assert.same({ { 1 }, { 2 }, { 3 } }, yields)
    assert.is_nil(results[1])
    assert.matches("^pieces:1: unexpected symbol near <eof>$", results[2])
  end)

  it("cannot be done with stock coroutine.yield", function()
    assert.same({ true, nil, BOUNDARY }, {
      under_stock(function() return load(function() return stock.yield() end) end),
    })
  end)
end)

describe("ucoro.yield in a required module's main chunk", function()
  -- Writes a module to a temporary file that package.path finds, for the
  -- rest of the current test; returns the file's name.
  local function write_module(name, source)
    local base = os.tmpname()
    local file = base .. "_" .. name .. ".lua"
    local f = assert(io.open(file, "w"))
    f:write(source)
    f:close()
    local path = package.path
    package.path = base .. "_?.lua;" .. path
    finally(function()
      package.path = path
      package.loaded[name] = nil
      os.remove(file)
      os.remove(base)
    end)
    return file
  end

  it("suspends require until the resumer answers, then caches the module", function()
    local name = "ucoro_spec_yielding_module"
    local file = write_module(name, [[
      local ucoro = require "ucoro"
      local name, file = ...
      local greeting = ucoro.yield("loading", name)
      return { name = name, file = file, greeting = greeting }
    ]])
    local co = ucoro.create(function() return require(name) end)
    assert.same({ true, "loading", name }, { ucoro.resume(co) })
    assert.is_nil(package.loaded[name])
    collectgarbage()
    local ok, module, loader_data = ucoro.resume(co, "hello")
    assert.is_true(ok)
    assert.same({ name = name, file = file, greeting = "hello" }, module)
    assert.equal(file, loader_data)
    assert.equal(module, package.loaded[name])
    local again = ucoro.create(function() return require(name) end)
    local ok2, cached = ucoro.resume(again)
    assert.is_true(ok2)
    assert.equal(module, cached)
    assert.equal("dead", ucoro.status(again))
  end)

  it("cannot be done with stock coroutine.yield", function()
    local name = "ucoro_spec_stock_yielding_module"
    write_module(name, "coroutine.yield() return {}")
    refused_by_stock(function() return require(name) end)
    assert.is_nil(package.loaded[name])
  end)
end)

describe("ucoro.yield in __tostring", function()
  local function shown(label)
    return setmetatable({}, { __tostring = function() return ucoro.yield("show", label) end })
  end

  it("yields when reached through tostring", function()
    local yields, results = drive(function()
      return tostring(shown("it"))
    end, function(_, label) return "<" .. label .. ">" end)
    assert.same({ { "show", "it" } }, yields)
    assert.same({ "<it>", n = 1 }, results)
  end)

  it("yields for each %s of string.format, in order", function()
    local yields, results = drive(function()
      return ("%s + %s = %d"):format(shown("one"), shown("two"), 3)
    end, function(_, label) return label:upper() end)
    assert.same({ { "show", "one" }, { "show", "two" } }, yields)
    assert.same({ "ONE + TWO = 3", n = 1 }, results)
  end)

  it("yields for each argument of print, which prints what the resumer gave, in order", function()
    local output = helpers.run_child([[
      local ucoro = require "ucoro"
      local function shown(label)
        return setmetatable({}, { __tostring = function() return ucoro.yield(label) end })
      end
      local co = ucoro.create(function()
        print(shown("first"), shown("second"))
        return "printed"
      end)
      local _, label = ucoro.resume(co)
      io.write("[asked for ", label, "]")
      _, label = ucoro.resume(co, "one")
      io.write("[asked for ", label, "]")
      local _, result = ucoro.resume(co, "two")
      io.write(result, ", ", ucoro.status(co), "\n")
    ]])
    -- print writes each argument as soon as it has its string.
    assert.equal("[asked for first]one[asked for second]\ttwo\nprinted, dead\n", output)
  end)

  it("cannot be done with stock coroutine.yield", function()
    local obj = setmetatable({}, { __tostring = function() return stock.yield() end })
    refused_by_stock(function() return tostring(obj) end)
    refused_by_stock(function() return ("%s"):format(obj) end)
  end)
end)

describe("ucoro.yield in metamethods that C functions call", function()
  it("yields in __len and __index for table.concat", function()
    local yields, results = drive(function()
      local t = setmetatable({}, {
        __len = function() return ucoro.yield("len") end,
        __index = function(_, k) return ucoro.yield("index", k) end,
      })
      return table.concat(t, ",")
    end, function(what, k)
      if what == "len" then return 3 end
      return ("x"):rep(k)
    end)
    assert.same({ { "len" }, { "index", 1 }, { "index", 2 }, { "index", 3 } }, yields)
    assert.same({ "x,xx,xxx", n = 1 }, results)
  end)

  it("yields in __len and __newindex for table.insert", function()
    local store = {}
    local yields = drive(function()
      local t = setmetatable({}, {
        __len = function() return ucoro.yield("len") end,
        __newindex = function(_, k, v) store[k] = ucoro.yield("newindex", k, v) end,
      })
      table.insert(t, "value")
    end, function(what, _, v)
      if what == "len" then return 4 end
      return "stored " .. v
    end)
    assert.same({ { "len" }, { "newindex", 5, "value" } }, yields)
    assert.same({ [5] = "stored value" }, store)
  end)

  it("yields in __index for table.unpack", function()
    local yields, results = drive(function()
      local t = setmetatable({}, { __index = function(_, k) return ucoro.yield(k) end })
      return table.unpack(t, 1, 3)
    end, function(k) return k * 10 end)
    assert.same({ { 1 }, { 2 }, { 3 } }, yields)
    assert.same({ 10, 20, 30, n = 3 }, results)
  end)

  it("yields in __index for ipairs, which stops at the resumer's nil", function()
    local yields, results = drive(function()
      local t = setmetatable({}, { __index = function(_, k) return ucoro.yield(k) end })
      local seen = {}
      for i, v in ipairs(t) do seen[i] = v end
      return seen
    end, function(k) return ({ "a", "b" })[k] end)
    assert.same({ { 1 }, { 2 }, { 3 } }, yields)
    assert.same({ { "a", "b" }, n = 1 }, results)
  end)

  it("yields in __eq, __lt and __le reached through lua_compare", function()
    local mt = {
      __eq = function(a, b) return ucoro.yield("eq", a.v, b.v) end,
      __lt = function(a, b) return ucoro.yield("lt", a.v, b.v) end,
      __le = function(a, b) return ucoro.yield("le", a.v, b.v) end,
    }
    local yields, results = drive(function()
      local one, two = setmetatable({ v = 1 }, mt), setmetatable({ v = 2 }, mt)
      return testmod.compare(one, two, "eq"), testmod.compare(one, two, "lt"),
        testmod.compare(two, one, "le")
    end, function(op, a, b)
      if op == "eq" then return a == b end
      if op == "lt" then return a < b end
      return a <= b
    end)
    assert.same({ { "eq", 1, 2 }, { "lt", 1, 2 }, { "le", 2, 1 } }, yields)
    assert.same({ false, true, false, n = 3 }, results)
  end)

  it("yields in __concat reached through lua_concat", function()
    local mt = {}
    mt.__concat = function(a, b)
      local function show(x) return type(x) == "table" and x.name or x end
      return ucoro.yield(show(a), show(b))
    end
    local yields, results = drive(function()
      return testmod.concat(setmetatable({ name = "a" }, mt), setmetatable({ name = "b" }, mt), "c")
    end, function(a, b) return a .. "[" .. b .. "]" end)
    -- lua_concat works right to left: b .. "c" first.
    assert.same({ { "b", "c" }, { "a", "b[c]" } }, yields)
    assert.same({ "a[b[c]]", n = 1 }, results)
  end)

  it("cannot be done with stock coroutine.yield", function()
    local function yielding() return stock.yield() end
    local mt = { __index = yielding, __len = yielding, __newindex = yielding,
                 __eq = yielding, __concat = yielding }
    refused_by_stock(function() return table.concat(setmetatable({}, mt)) end)
    refused_by_stock(function() table.insert(setmetatable({}, mt), 1) end)
    refused_by_stock(function() return table.unpack(setmetatable({}, mt), 1, 1) end)
    refused_by_stock(function()
      local next_pair, t, i = ipairs(setmetatable({}, mt))
      return next_pair(t, i)
    end)
    refused_by_stock(function()
      return testmod.compare(setmetatable({}, mt), setmetatable({}, mt))
    end)
    refused_by_stock(function() return testmod.concat(setmetatable({}, mt), "") end)
  end)
end)

describe("ucoro.yield in pcall and xpcall", function()
  it("yields in pcall and xpcall bodies exactly as stock coroutines do", function()
    local function scenario(lib)
      local trace = {}
      local co = lib.create(function()
        local a = { pcall(function(x) return lib.yield("pcall", x) * 2 end, 5) }
        local b = { pcall(function() error(lib.yield("pcall again"), 0) end) }
        local c = { xpcall(function() return lib.yield("xpcall") end, debug.traceback) }
        return a, b, c
      end)
      trace[1] = { lib.resume(co) }
      trace[2] = { lib.resume(co, 21) }
      trace[3] = { lib.resume(co, "oops") }
      trace[4] = { lib.resume(co, "done") }
      return trace
    end
    local expected = {
      { true, "pcall", 5 },
      { true, "pcall again" },
      { true, "xpcall" },
      { true, { true, 42 }, { false, "oops" }, { true, "done" } },
    }
    assert.same(expected, scenario(stock))
    assert.same(expected, scenario(ucoro))
  end)

  it("lets an xpcall message handler yield, the resumer rewriting the message", function()
    local yields, results = drive(function()
      return xpcall(function() error("bad", 0) end, function(m) return ucoro.yield("handling", m) end)
    end, function(_, m) return "handled: " .. m end)
    assert.same({ { "handling", "bad" } }, yields)
    assert.same({ false, "handled: bad", n = 2 }, results)
  end)

  it("keeps the C frames under a handler that yields for an error from inside sort", function()
    local co = ucoro.create(function()
      return xpcall(function()
        table.sort({ 1, 2 }, function() error("in comparator", 0) end)
      end, function(m)
        local extra = ucoro.yield(m)
        return extra .. debug.traceback(m, 1)
      end)
    end)
    assert.same({ true, "in comparator" }, { ucoro.resume(co) })
    -- (5.4: "function 'table.sort'"; 5.5: "field 'sort'")
    assert.matches("%[C%]: in %a+ '[%w.]-sort'", debug.traceback(co))
    collectgarbage()
    local ok, caught, message = ucoro.resume(co, "resumed: ")
    assert.is_true(ok)
    assert.is_false(caught)
    assert.matches("^resumed: in comparator\nstack traceback:\n", message)
    assert.matches("%[C%]: in %a+ '[%w.]-sort'", message)
  end)

  it("cannot be done in an xpcall handler with stock coroutine.yield", function()
    assert.same({ true, false, "error in error handling" }, {
      under_stock(function()
        return xpcall(error, function() return stock.yield() end, "raised")
      end),
    })
  end)
end)

describe("ucoro.yield in LPeg", function()
  it("lets a match-time capture (lpeg.Cmt) yield, the resumer accepting or refusing", function()
    local word = lpeg.Cmt(lpeg.C(lpeg.R("az") ^ 1), function(_, position, w)
      local answer = ucoro.yield("word?", w)
      if answer then return position, answer end
      return false
    end)
    local list = lpeg.Ct(word * ("," * word) ^ 0) * lpeg.Cp()
    local yields, results = drive(function()
      return lpeg.match(list, "alpha,beta,stop,omega")
    end, function(_, w)
      if w == "stop" then return nil end
      return w:upper()
    end)
    assert.same({ { "word?", "alpha" }, { "word?", "beta" }, { "word?", "stop" } }, yields)
    assert.same({ { "ALPHA", "BETA" }, 11, n = 2 }, results)
  end)

  it("lets a function capture (patt / f) yield, taking its value from the resumer", function()
    local number = lpeg.C(lpeg.R("09") ^ 1) / function(digits) return ucoro.yield(digits) end
    local yields, results = drive(function()
      return lpeg.match(lpeg.Ct((number + 1) ^ 0), "7 apples, 12 pears")
    end, function(digits) return tonumber(digits) * 2 end)
    assert.same({ { "7" }, { "12" } }, yields)
    assert.same({ { 14, 24 }, n = 1 }, results)
  end)

  it("cannot be done with stock coroutine.yield", function()
    refused_by_stock(function()
      return lpeg.match(lpeg.Cmt(1, function(_, i) stock.yield() return i end), "a")
    end)
    refused_by_stock(function()
      return lpeg.match(lpeg.C(1) / function(c) stock.yield() return c end, "a")
    end)
  end)
end)

describe("ucoro.yield in lua-expat callbacks", function()
  it("yields from StartElement, CharacterData and EndElement during parse, in document order", function()
    local yields, results = drive(function()
      local answers = {}
      local function record(...) answers[#answers + 1] = ucoro.yield(...) end
      local parser = lxp.new({
        StartElement = function(_, name, attrs) record("start", name, attrs.x) end,
        CharacterData = function(_, text) record("text", text) end,
        EndElement = function(_, name) record("end", name) end,
      })
      assert(parser:parse("<a x='1'>hi<b/>"))
      assert(parser:parse("yo</a>"))
      assert(parser:parse())
      parser:close()
      return answers
    end, function(event, what) return event .. ":" .. what:upper() end)
    assert.same({
      { "start", "a", "1" }, { "text", "hi" }, { "start", "b" }, { "end", "b" },
      { "text", "yo" }, { "end", "a" },
    }, yields)
    assert.same({ {
      "start:A", "text:HI", "start:B", "end:B", "text:YO", "end:A",
    }, n = 1 }, results)
  end)

  it("cannot be done with stock coroutine.yield", function()
    refused_by_stock(function()
      local parser = lxp.new({ StartElement = function() stock.yield() end })
      return parser:parse("<a/>")
    end)
  end)
end)

describe("ucoro.yield in a C function's plain lua_call (ucoro_testmod)", function()
  it("yields through call(f, ...), passing arguments and results across", function()
    local yields, results = drive(function()
      return testmod.call(function(a, b)
        local c, d = ucoro.yield(a + b)
        return c * d, "done"
      end, 2, 3)
    end, function(sum) return sum, sum + 2 end)
    assert.same({ { 5 } }, yields)
    assert.same({ 35, "done", n = 2 }, results)
  end)

  it("yields once per element through each(t, f)", function()
    local yields, results = drive(function()
      return testmod.each({ "a", "b", "c" }, function(v) return ucoro.yield(v) end)
    end, string.upper)
    assert.same({ { "a" }, { "b" }, { "c" } }, yields)
    assert.same({ { "A", "B", "C" }, n = 1 }, results)
  end)

  it("cannot be done with stock coroutine.yield", function()
    refused_by_stock(function() return testmod.call(stock.yield) end)
    refused_by_stock(function() return testmod.each({ 1 }, stock.yield) end)
  end)
end)

describe("ucoro.yield in boundaries nested in each other", function()
  -- Sorts the letters of each word of each text node, through compare.
  local function sort_words(xml, compare)
    local texts = {}
    local parser = lxp.new({
      CharacterData = function(_, text)
        texts[#texts + 1] = text:gsub("%a+", function(word)
          local letters = {}
          for c in word:gmatch(".") do letters[#letters + 1] = c end
          table.sort(letters, compare)
          return table.concat(letters)
        end)
      end,
    })
    assert(parser:parse(xml))
    assert(parser:parse())
    parser:close()
    return table.concat(texts)
  end

  it("yields from a sort comparator in a gsub callback in an lxp callback", function()
    local xml = "<p>cab dog</p>"
    local expected = {}
    local plain = sort_words(xml, function(x, y)
      expected[#expected + 1] = { x, y }
      return x > y
    end)
    assert.equal("cba ogd", plain)
    local yields, results = drive(function()
      return sort_words(xml, ask)
    end, function(x, y) return x > y end)
    assert.same(expected, yields)
    assert.same({ plain, n = 1 }, results)
  end)

  it("passes values up through a tower of every boundary, yielding at each level", function()
    local function level(k)
      if k > #layers then
        return function() return ucoro.yield("bottom", ucoro.running(), ucoro.isyieldable()) end
      end
      local name, wrap, inner = layers[k][1], layers[k][2], level(k + 1)
      return function() return ucoro.yield(name, wrap(inner)) end
    end
    local co = ucoro.create(level(1))
    assert.same({ true, "bottom", co, true }, { ucoro.resume(co) })
    -- Every C function of the tower is still on the parked thread's stack.
    local on_stack = {}
    for depth = 0, math.huge do
      local info = debug.getinfo(co, depth, "Sf")
      if not info then break end
      if info.what == "C" then on_stack[info.func] = true end
    end
    local parser = lxp.new({})
    local c_functions = {
      table.sort, string.gsub, load, require, tostring, string.format, table.concat,
      table.unpack, (ipairs({})), table.insert, pcall, xpcall, error, lpeg.match,
      parser.parse, testmod.call, testmod.each, testmod.compare, testmod.concat,
    }
    assert(parser:parse("<done/>"))
    assert(parser:parse())
    parser:close()
    for i, f in ipairs(c_functions) do
      assert(on_stack[f], "C function #" .. i .. " is not on the stack")
    end
    local value = "x"
    for k = #layers, 1, -1 do
      collectgarbage()
      assert.same({ true, layers[k][1], value }, { ucoro.resume(co, value) })
      value = layers[k][1] .. "(" .. value .. ")"
    end
    assert.matches("^sort%(sort __lt%(gsub%(", value)
    assert.same({ true, value }, { ucoro.resume(co, value) })
    assert.equal("dead", ucoro.status(co))
  end)

  it("unwinds an error raised after a resume through every boundary to the pcall around them", function()
    local err = setmetatable({}, { __tostring = function() return "the error" end })
    local inner = function()
      if ucoro.yield("bottom") == "fail" then error(err) end
      return "fine"
    end
    local names = {}
    for _, layer in ipairs(layers) do
      local name, wrap, below = layer[1], layer[2], inner
      if name ~= "pcall" and name ~= "xpcall handler" then  -- those catch errors
        names[#names + 1] = name
        inner = function() return wrap(below) end
      end
    end
    local top = inner
    local co = ucoro.create(function()
      local ok, e = pcall(top)
      local after = ucoro.yield("caught", ok, e == err)
      return after, top()
    end)
    assert.is_true(#names >= 15)
    assert.same({ true, "bottom" }, { ucoro.resume(co) })
    assert.same({ true, "caught", false, true }, { ucoro.resume(co, "fail") })
    assert.same({ true, "bottom" }, { ucoro.resume(co, "after") })
    assert.same({ true, "after", "fine" }, { ucoro.resume(co, "ok") })
  end)
end)

describe("many ucoro coroutines parked in C at once", function()
  -- A small deterministic generator for the shuffles.
  local seed = 20240607
  local function random(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  local function shuffle(list)
    for i = #list, 2, -1 do
      local j = random(i)
      list[i], list[j] = list[j], list[i]
    end
  end

  it("gives each of 200 (half of them stock-created), resumed in shuffled order, the values meant for it", function()
    local count = 200
    local function answer(id, question) return question .. "@" .. id end
    -- Coroutine id asks (id % 4 + 1) questions inside one kind of boundary.
    local function body(id, ask_one)
      local layer = layers[(id - 1) % #layers + 1]
      return layer[1] .. ":" .. layer[2](function()
        local parts = {}
        for q = 1, id % 4 + 1 do parts[q] = ask_one("q" .. q) end
        return table.concat(parts, "+")
      end)
    end
    local expected, cos = {}, {}
    for id = 1, count do
      expected[id] = body(id, function(question) return answer(id, question) end)
      local create = id % 2 == 0 and stock.create or ucoro.create
      cos[id] = create(function()
        return body(id, function(question)
          local to, a = ucoro.yield(id, question)
          if to ~= id then error(("%d got the answer for %s"):format(id, tostring(to))) end
          return a
        end)
      end)
    end
    local pending, live = {}, {}
    for id = 1, count do
      local ok, who, question = ucoro.resume(cos[id])
      assert(ok and who == id, who)
      pending[id], live[id] = question, id
    end
    local parked = 0
    for id = 1, count do
      if ucoro.status(cos[id]) == "suspended" then parked = parked + 1 end
    end
    assert.equal(count, parked)
    local results, rounds = {}, 0
    while #live > 0 do
      rounds = rounds + 1
      shuffle(live)
      collectgarbage()
      local still = {}
      for _, id in ipairs(live) do
        local ok, who, question = ucoro.resume(cos[id], id, answer(id, pending[id]))
        assert(ok, who)
        if ucoro.status(cos[id]) == "dead" then
          results[id] = who
        else
          assert(who == id, who)
          pending[id], still[#still + 1] = question, id
        end
      end
      live = still
    end
    assert.equal(4, rounds)
    assert.same(expected, results)
  end)
end)

describe("ucoro coroutines nested, each parked in C", function()
  it("parks A in sort and B in gsub, resuming B from A and from the main thread", function()
    local events = {}
    local function event(...) events[#events + 1] = table.concat({ ... }, " ") end
    local A, B
    B = ucoro.create(function(s)
      event("B starts with", s)
      return (s:gsub("%a", function(c)
        local r = ucoro.yield("B", c)
        event("B got", r, "for", c)
        return r
      end))
    end)
    A = ucoro.create(function()
      local t = { "y", "x" }
      table.sort(t, function(p, q)
        local _, who, c = ucoro.resume(B, "ab")
        event("A's comparator got", who, c)
        event("A sees itself", ucoro.status(A), "and B", ucoro.status(B))
        local go = ucoro.yield("A", "parked in sort")
        event("A got", go)
        local ok, result = ucoro.resume(B, "2")
        event("A's comparator got", tostring(ok), result)
        return p < q
      end)
      return table.concat(t)
    end)
    assert.same({ true, "A", "parked in sort" }, { ucoro.resume(A) })
    assert.equal("suspended", ucoro.status(A))
    assert.equal("suspended", ucoro.status(B))
    collectgarbage()
    assert.same({ true, "B", "b" }, { ucoro.resume(B, "1") })
    assert.same({ true, "xy" }, { ucoro.resume(A, "go") })
    assert.equal("dead", ucoro.status(A))
    assert.equal("dead", ucoro.status(B))
    assert.same({
      "B starts with ab",
      "A's comparator got B a",
      "A sees itself running and B suspended",
      "B got 1 for a",
      "A got go",
      "B got 2 for b",
      "A's comparator got true 12",
    }, events)
  end)

  it("finishes from the main thread coroutines another one started and left parked in C", function()
    local B1 = ucoro.create(function()
      return (("ab"):gsub("%a", function(c) return ucoro.yield(c) end))
    end)
    local B2 = ucoro.create(function()
      table.sort({ 1, 2 }, function()
        error("boom " .. ucoro.yield("in sort"), 0)
      end)
    end)
    local A = ucoro.create(function()
      local first = { ucoro.resume(B1) }
      local second = { ucoro.resume(B2) }
      local last = ucoro.yield(first, second)
      return "A got " .. last
    end)
    assert.same({ true, { true, "a" }, { true, "in sort" } }, { ucoro.resume(A) })
    assert.same({ true, "b" }, { ucoro.resume(B1, "x") })
    assert.same({ true, "xy" }, { ucoro.resume(B1, "y") })
    assert.same({ false, "boom z" }, { ucoro.resume(B2, "z") })
    assert.equal("dead", ucoro.status(B2))
    assert.same({ true, "A got end" }, { ucoro.resume(A, "end") })
  end)

  it("resumes from a gsub callback on the main thread a generator parked in C", function()
    local gen = ucoro.wrap(function(first)
      local got = { first }
      testmod.each({ "1", "2", "3" }, function(n) got[#got + 1] = ucoro.yield(n) end)
      return table.concat(got)
    end)
    assert.equal("1-2-3", (("a-b-c"):gsub("%a", gen)))
    assert.equal("abcd", gen("d"))
  end)

  it("passes values down and back up a chain of coroutines, each parked in another boundary", function()
    local cos = {}
    for k, layer in ipairs(layers) do
      local name, wrap = layer[1], layer[2]
      cos[k] = ucoro.create(function(down)
        return wrap(function()
          local below, up = cos[k + 1], down
          if below then
            local ok, v = ucoro.resume(below, down .. ">" .. name)
            assert(ok, v)
            up = v
          end
          local back = ucoro.yield(up .. "<" .. name)
          if below then
            local ok, v = ucoro.resume(below, back)
            assert(ok, v)
            back = v
          end
          return back .. "<" .. name
        end)
      end)
    end
    local down, up = "go", ""
    for k = 1, #layers - 1 do down = down .. ">" .. layers[k][1] end
    for k = #layers, 1, -1 do up = up .. "<" .. layers[k][1] end
    assert.same({ true, down .. up }, { ucoro.resume(cos[1], "go") })
    for k = 1, #layers do assert.equal("suspended", ucoro.status(cos[k])) end
    collectgarbage()
    assert.same({ true, "back" .. up }, { ucoro.resume(cos[1], "back") })
    for k = 1, #layers do assert.equal("dead", ucoro.status(cos[k])) end
  end)
end)
