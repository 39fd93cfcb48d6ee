-- ucoro.yield across each C-call boundary of the catalogue
-- (spec/boundaries.lua), then each kind of boundary in detail: standard
-- library functions that call back into Lua, metamethods reached from C,
-- LPeg, lua-expat and a plain lua_call in C.  Each time, values flow both
-- ways: what resume passes in comes back from ucoro.yield, and what yield
-- passes out comes back from resume.  For each entry of the catalogue,
-- stock coroutine.yield gives what the catalogue says (mostly "attempt to
-- yield across a C-call boundary").
-- (Boundaries nested in each other: spec/11-composition_spec.lua; many
-- coroutines parked in them: spec/12-many_parked_spec.lua.)
local ucoro = require "ucoro"
local helpers = require "helpers"
local catalogue = require "boundaries"
local testmod = require "ucoro_testmod"
local lpeg = require "lpeg"
local lxp = require "lxp"
local stock = coroutine

local drive = helpers.drive

describe("the catalogue of C-call boundaries", function()
  it("has every entry: the modules it needs are there", function()
    assert.same({}, catalogue.missing)
  end)

  for _, b in ipairs(catalogue.list) do
    local says = {}
    for i, v in ipairs(b.stock) do says[i] = type(v) == "string" and ("%q"):format(v) or tostring(v) end
    says = b.stock == catalogue.REFUSED and "is refused" or "gives " .. table.concat(says, ", ")
    it(("%s: stock coroutine.yield there %s"):format(b.name, says), function()
      local co = stock.create(function() return b.enter(stock.yield) end)
      assert.same(b.stock, { stock.resume(co) })
    end)

    it(b.name .. ": ucoro.yield passes values both ways", function()
      local yields, results = drive(function(first)
        return first .. b.enter(function() return ucoro.yield("in", b.name) end)
      end, function(_, name) return "back from " .. name end, "got ")
      assert.same({ { "in", b.name } }, yields)
      assert.same({ "got back from " .. b.name, n = 1 }, results)
    end)
  end
end)

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
end)
