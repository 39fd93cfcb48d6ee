--- The catalogue of C-call boundaries: the places where C calls back into
-- Lua with a plain lua_call, where stock coroutine.yield fails ("attempt to
-- yield across a C-call boundary") and ucoro.yield must not.  One entry a
-- boundary, used by
--   spec/10-boundaries_spec.lua   each boundary: stock's answer, ucoro's
--   spec/11-composition_spec.lua  boundaries nested in each other
--   spec/12-many_parked_spec.lua  many coroutines parked in them at once
--   tools/stress.lua              parks its random coroutines in them
--   tools/fuzz/                   the fuzzer's B table (real and model)
--   bench/stack_depth.lua         C stack a level of recursion takes
-- A new boundary is one entry here; the specs above then check it.
--
-- require "boundaries": busted's lpath has spec/?.lua; the stress, the
-- fuzzer and the bench add this folder to package.path themselves.
--
-- An entry:
--   name          how the specs name it
--   enter(inner)  calls inner() once from inside the boundary and returns
--                 what inner returned (a string), letting its errors through
--   c             the C functions on the stack while inner runs
--   stock         what the first resume of a stock coroutine running
--                 enter(coroutine.yield) gives: stock's answer there
--   fuzz          where the fuzzer has a model: its name for the C function
--                 (B.<fuzz> in generated programs), the C function the
--                 programs call (real) and its Lua model (model, from
--                 spec/boundary_models.lua)
--   stack         where bench/stack_depth.lua measures it: bytes of C stack
--                 a level of recursion through it takes (Lua 5.4.4, gcc
--                 -O2, asm backend); 195 levels must fit the default stack
local lpeg = require "lpeg"
local models = require "boundary_models"
-- Needed by the specs (which fail without them), not by the fuzzer; the
-- entries that use them are left out when they are missing.
local has_lxp, lxp = pcall(require, "lxp")
local has_testmod, testmod = pcall(require, "ucoro_testmod")

local boundaries = {}

--- Stock's answer at a boundary it refuses to yield across.
boundaries.REFUSED = { false, "attempt to yield across a C-call boundary" }
local REFUSED = boundaries.REFUSED

-- LPeg in the fuzzer's programs: words of a-z separated by spaces.
local word = lpeg.C(lpeg.R "az" ^ 1)
local spaces = lpeg.P " " ^ 0

local fuzz_sort = { name = "sort", real = table.sort, model = models.sort }
local fuzz_gsub = { name = "gsub", real = string.gsub, model = models.gsub }

-- The enter of a boundary that is __len, reached through luaL_len as
-- call(t) takes the length of t.
local function through_len(call)
  return function(inner)
    local v
    call(setmetatable({}, { __len = function()
      v = inner()
      return 0
    end }))
    return v
  end
end

-- A unique name for each module the require entry loads.
local preloaded = 0

local list = {
  { name = "sort", c = { table.sort }, stock = REFUSED, fuzz = fuzz_sort, stack = 481,
    enter = function(inner)
      local v
      table.sort({ 1, 2 }, function(a, b)
        v = v or inner()
        return a < b
      end)
      return v
    end },
  { name = "sort __lt", c = { table.sort }, stock = REFUSED, fuzz = fuzz_sort,
    enter = function(inner)
      local v
      local mt = { __lt = function(a, b)
        v = v or inner()
        return a.n < b.n
      end }
      table.sort({ setmetatable({ n = 1 }, mt), setmetatable({ n = 2 }, mt) })
      return v
    end },
  { name = "gsub", c = { string.gsub }, stock = REFUSED, fuzz = fuzz_gsub, stack = 2120,
    enter = function(inner)
      return (("x"):gsub("x", function() return inner() end))
    end },
  { name = "gsub __index", c = { string.gsub }, stock = REFUSED, fuzz = fuzz_gsub,
    enter = function(inner)
      local repl = setmetatable({}, { __index = function() return inner() end })
      return (("x"):gsub("x", repl))
    end },
  -- the reader's first call, from the parser's first look at the chunk
  { name = "load", c = { load }, stock = REFUSED, stack = 1132,
    fuzz = { name = "load", real = load, model = models.load },
    enter = function(inner)
      local n = 0
      local f, e = load(function()
        n = n + 1
        if n == 1 then return "return " .. ("%q"):format(inner()) end
        return nil
      end)
      if not f then error(e, 0) end
      return f()
    end },
  { name = "require", c = { require }, stock = REFUSED,
    enter = function(inner)
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
  { name = "tostring", c = { tostring }, stock = REFUSED,
    fuzz = { name = "tostring", real = tostring, model = models.tostring },
    enter = function(inner)
      return tostring(setmetatable({}, { __tostring = function() return inner() end }))
    end },
  { name = "format", c = { string.format }, stock = REFUSED, stack = 1658,
    fuzz = { name = "format", real = string.format, model = models.format },
    enter = function(inner)
      return ("%s"):format(setmetatable({}, { __tostring = function() return inner() end }))
    end },
  { name = "table.concat", c = { table.concat }, stock = REFUSED, stack = 1574,
    fuzz = { name = "concat", real = table.concat, model = models.concat },
    enter = function(inner)
      return table.concat(setmetatable({}, {
        __len = function() return 1 end,
        __index = function() return inner() end,
      }))
    end },
  { name = "table.concat __len", c = { table.concat }, stock = REFUSED,
    enter = through_len(table.concat) },
  { name = "table.unpack", c = { table.unpack }, stock = REFUSED,
    fuzz = { name = "unpack", real = table.unpack, model = models.unpack },
    enter = function(inner)
      return (table.unpack(setmetatable({}, { __index = function() return inner() end }), 1, 1))
    end },
  -- (ipairs returns its step function, which the for loop calls)
  { name = "ipairs", c = { (ipairs({})) }, stock = REFUSED,
    fuzz = { name = "ipairs", real = ipairs, model = models.ipairs },
    enter = function(inner)
      local v
      local t = setmetatable({}, { __index = function(_, k)
        if k == 1 then return inner() end
        return nil
      end })
      for _, x in ipairs(t) do v = x end
      return v
    end },
  { name = "table.insert", c = { table.insert }, stock = REFUSED,
    fuzz = { name = "insert", real = table.insert, model = models.insert },
    enter = function(inner)
      local store = {}
      table.insert(setmetatable({}, {
        __len = function() return 0 end,
        __newindex = function(_, k, x) store[k] = x .. inner() end,
      }), "")
      return store[1]
    end },
  { name = "table.insert __len", c = { table.insert }, stock = REFUSED,
    enter = through_len(function(t) table.insert(t, "") end) },
  -- pcall is no boundary for stock Lua 5.4 (it yields through lua_pcallk)
  { name = "pcall", c = { pcall }, stock = { true }, stack = 376,
    enter = function(inner)
      local ok, v = pcall(inner)
      if not ok then error(v, 0) end
      return v
    end },
  -- stock: the failed yield is an error in the handler, which Lua answers so
  { name = "xpcall handler", c = { xpcall, error }, stock = { true, "error in error handling" },
    enter = function(inner)
      local _, v = xpcall(error, function() return inner() end, "raised")
      return v
    end },
  { name = "lpeg.Cmt", c = { lpeg.match }, stock = REFUSED,
    -- the fuzzer's: a match-time capture called on each word; returns
    -- where matching ended
    fuzz = { name = "cmt", model = models.cmt, real = function(s, f)
      return lpeg.match((lpeg.Cmt(word, f) * spaces) ^ 0 * lpeg.Cp(), s)
    end },
    enter = function(inner)
      return lpeg.match(lpeg.Cmt(lpeg.P(0), function(_, i) return i, inner() end), "")
    end },
  { name = "lpeg function capture", c = { lpeg.match }, stock = REFUSED,
    -- the fuzzer's: a function capture called on each word, after the match
    fuzz = { name = "fcap", model = models.fcap, real = function(s, f)
      return lpeg.match((word / f * spaces) ^ 0, s)
    end },
    enter = function(inner)
      return lpeg.match(lpeg.P(0) / function() return inner() end, "")
    end },
}
if has_lxp then
  list[#list + 1] = { name = "lxp", c = { lxp.new({}).parse }, stock = REFUSED,
    enter = function(inner)
      local v
      local parser = lxp.new({ StartElement = function() v = inner() end })
      assert(parser:parse("<a/>"))
      assert(parser:parse())
      parser:close()
      return v
    end }
end
if has_testmod then  -- spec/c/testmod.c: C that calls back with lua_call
  local more = {
    { name = "testmod.call", c = { testmod.call }, stock = REFUSED,
      enter = function(inner)
        return testmod.call(inner)
      end },
    { name = "testmod.each", c = { testmod.each }, stock = REFUSED,
      enter = function(inner)
        return testmod.each({ 1 }, function() return inner() end)[1]
      end },
    -- metamethods that C reaches through lua_compare and lua_concat
    { name = "__eq", c = { testmod.compare }, stock = REFUSED,
      enter = function(inner)
        local v
        local mt = { __eq = function()
          v = inner()
          return true
        end }
        assert(testmod.compare(setmetatable({}, mt), setmetatable({}, mt), "eq"))
        return v
      end },
    { name = "__concat", c = { testmod.concat }, stock = REFUSED,
      enter = function(inner)
        return testmod.concat(setmetatable({}, { __concat = function() return inner() end }), "")
      end },
  }
  for _, b in ipairs(more) do list[#list + 1] = b end
end

--- The entries, in order.
boundaries.list = list

--- The entries by name.
boundaries.named = {}
for _, b in ipairs(list) do boundaries.named[b.name] = b end

--- The modules the specs need that were not found (then some entries
-- are missing).
boundaries.missing = {}
if not has_lxp then boundaries.missing[#boundaries.missing + 1] = "lxp" end
if not has_testmod then boundaries.missing[#boundaries.missing + 1] = "ucoro_testmod" end

--- The fuzzer's B tables, by its names: real (the C functions) and model
-- (their Lua models); and the model run's pcall, xpcall and crossed()
-- (is a model of a C function on the stack?).
boundaries.real, boundaries.model = {}, {}
for _, b in ipairs(list) do
  if b.fuzz then
    boundaries.real[b.fuzz.name] = b.fuzz.real
    boundaries.model[b.fuzz.name] = b.fuzz.model
  end
end
boundaries.model_pcall, boundaries.model_xpcall = models.pcall, models.xpcall
boundaries.crossed = models.crossed

return boundaries
