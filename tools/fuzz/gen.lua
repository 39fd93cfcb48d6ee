--- Generates random Lua programs that exercise coroutines: create, resume,
-- yield, wrap, close, status, running, isyieldable, errors (strings with
-- and without a position, tables, numbers, nil, runtime errors), nested
-- coroutines, pcall/xpcall, to-be-closed variables, collectgarbage,
-- metamethods called from Lua, and callbacks run from C (table.sort
-- comparators and __lt, string.gsub with a function or an __index table,
-- table.concat, table.unpack and ipairs over __index, table.insert's
-- __len and __newindex, tostring and string.format over __tostring, load
-- readers, LPeg match-time and function captures).
--
-- gen.program(seed, index) returns the source of program number index for
-- that seed (the same every time) and facts about it.  The program prints
-- its trace through T (see exec.lua).  Half the programs ("cross") yield
-- inside callbacks run from C: only ucoro (or the Lua models) can run
-- them; the others any stock Lua can.
local gen = {}

-- splitmix64: a generator of our own, so that a program depends on
-- nothing but (seed, index).
local function new_random(seed, index)
  local state = seed * 0x100000001B3 ~ index * 0x9E3779B97F4A7C15
  return function(n)
    state = state + 0x9E3779B97F4A7C15
    local z = state
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return z % n + 1
  end
end

local MAX_DEPTH = 4   -- nested blocks (callbacks, pcall, loops)
local MAX_LOOPS = 2   -- nested loops
-- How many times a statement may run, at most, per run of the body (or
-- main) that holds it: a callback runs once per call from C, a loop's
-- block once per turn.  Bounds the size of a program's trace.
local MAX_RUNS = 100

local Gen = {}
Gen.__index = Gen

function Gen:pick(n) return self.random(n) end
function Gen:chance(percent) return self.random(100) <= percent end
function Gen:choose(list) return list[self.random(#list)] end
function Gen:id()
  self.ids = self.ids + 1
  return self.ids
end

function Gen:emit(indent, text)
  self.lines[#self.lines + 1] = ("  "):rep(indent) .. text
end

-- Literal values passed to resume, yield, return...
function Gen:value()
  local k = self:pick(8)
  if k <= 3 then return tostring(self:pick(20) - 5)
  elseif k <= 5 then return ("%q"):format(self:choose({ "a", "b", "xy", "" }))
  elseif k == 6 then return self:choose({ "true", "false", "nil" })
  elseif k == 7 then return "{tag = \"v" .. self:id() .. "\"}"
  else return "2.5" end
end

function Gen:values(max)
  local vs = {}
  -- now and then more values than a Lua frame's free slots (20)
  if self:chance(3) then max = 30 end
  for i = 1, self:pick((max or 3) + 1) - 1 do vs[i] = self:value() end
  return table.concat(vs, ", ")
end

-- An argument list ", v1, v2" (or "") to follow other arguments.
function Gen:more_values(max)
  local vs = self:values(max)
  return vs == "" and "" or ", " .. vs
end

function Gen:pool_index() return self:pick(self.npool) end

-- A body that the current context may start: main may start any, body k
-- only later ones (so that the program ends).
function Gen:child(ctx)
  if ctx.body >= self.nbodies then return nil end
  return ctx.body + self:pick(self.nbodies - ctx.body)
end

-- The context of a nested block that runs (at most) `runs` times each
-- time its statement runs.
local function deeper(ctx, changes, runs)
  local c = {}
  for k, v in pairs(ctx) do c[k] = v end
  for k, v in pairs(changes or {}) do c[k] = v end
  c.depth = ctx.depth + 1
  c.runs = ctx.runs * (runs or 1)
  return c
end

-- Can a yield be written here?
function Gen:can_yield(ctx)
  return ctx.co and not ctx.noyield and (not ctx.cb or self.cross)
end

---------------------------------------------------------------- errors

function Gen:s_error(_, ind)
  local id = self:id()
  local k = self:pick(7)
  -- a yielding __close tells a normal exit from an error by e == nil
  if k == 5 and self.yielding_close then k = 4 end
  if k == 1 then self:emit(ind, ("error(\"e%d\")"):format(id))
  elseif k == 2 then self:emit(ind, ("error(\"e%d\", 0)"):format(id))
  elseif k == 3 then self:emit(ind, ("error({tag = \"E%d\"})"):format(id))
  elseif k == 4 then self:emit(ind, ("error(%d)"):format(id))
  elseif k == 5 then self:emit(ind, "error()")
  elseif k == 6 then
    self:emit(ind, ("error(setmetatable({tag = \"M%d\"}, {__tostring = function() return \"M\" end}))"):format(id))
  else
    self:emit(ind, ("local z%d = nil; T(\"z\", z%d.f)"):format(id, id))
  end
end

---------------------------------------------------------------- blocks

-- A block of statements.  In a "safe" context no statement raises an
-- error: in a message handler one would make Lua call the handler again,
-- as deep as its C-call limit, which the models do not share; see also
-- s_tbc.
function Gen:block(ctx, ind, max)
  for _ = 1, self:pick(max or 4) do
    if self.budget <= 0 then break end
    self.budget = self.budget - 1
    self:stmt(ctx, ind)
  end
  if not ctx.safe and self:chance(ctx.cb and 6 or 10) then self:s_error(ctx, ind) end
end

-- A callback's statements: a block in a callback context, called at most
-- `calls` times.
function Gen:callback(ctx, ind, calls)
  self:block(deeper(ctx, { cb = true }, calls), ind, 3)
end

---------------------------------------------------------------- statements

function Gen:s_trace(_, ind)
  self:emit(ind, ("T(\"t%d\"%s)"):format(self:id(), self:more_values(2)))
end

function Gen:s_yield(_, ind)
  self:emit(ind, ("T(\"y%d\", CO.yield(%s))"):format(self:id(), self:values()))
end

function Gen:s_resume_pool(_, ind)
  self:emit(ind, ("T(\"r%d\", CO.resume(C[%d]%s))"):format(
    self:id(), self:pool_index(), self:more_values()))
end

function Gen:s_status(ctx, ind)
  local k = self:pick(3)
  if k == 1 then
    self:emit(ind, ("T(\"st%d\", CO.status(C[%d]))"):format(self:id(), self:pool_index()))
  elseif k == 2 then
    self:emit(ind, ("T(\"ru%d\", CO.running())"):format(self:id()))
  elseif (not ctx.cb or self.cross) and not ctx.noyield then
    -- in a callback run from C stock Lua says false, ucoro true (README's
    -- difference 1); the same in a message handler or a __close run by an
    -- error, which the models cannot tell: none asked there
    self:emit(ind, ("T(\"iy%d\", CO.isyieldable())"):format(self:id()))
  end
end

function Gen:s_close_pool(_, ind)
  self:emit(ind, ("T(\"cp%d\", pcall(CO.close, C[%d]))"):format(self:id(), self:pool_index()))
end

function Gen:s_spawn(ctx, ind)
  local j = self:child(ctx)
  local id = self:id()
  self:emit(ind, "do")
  self:emit(ind + 1, ("local co = new(%d)"):format(j))
  self:emit(ind + 1, ("for i = 1, %d do T(\"rs%d\", CO.resume(co, i%s)) end"):format(
    self:pick(4), id, self:more_values(1)))
  self:emit(ind + 1, ("T(\"ss%d\", CO.status(co))"):format(id))
  if self:chance(40) then
    self:emit(ind + 1, ("T(\"cs%d\", CO.close(co))"):format(id))
  end
  self:emit(ind, "end")
end

function Gen:s_wrap(ctx, ind)
  local j = self:child(ctx)
  local id = self:id()
  self:emit(ind, "do")
  self:emit(ind + 1, ("local w = wrapnew(%d)"):format(j))
  if self:chance(50) then  -- called from C (pcall): no position added
    self:emit(ind + 1, ("for i = 1, %d do T(\"w%d\", pcall(w, i%s)) end"):format(
      self:pick(4), id, self:more_values(1)))
  else  -- called from Lua: string errors get its position
    self:emit(ind + 1, ("for i = 1, %d do T(\"w%d\", pcall(function(x) return (w(x)) end, i)) end"):format(
      self:pick(4), id))
  end
  self:emit(ind, "end")
end

function Gen:s_recreate(ctx, ind)
  self:emit(ind, ("C[%d] = new(%d)"):format(self:pool_index(), self:child(ctx)))
end

function Gen:s_yield_outside(_, ind)
  self:emit(ind, ("T(\"yo%d\", pcall(CO.yield, %s))"):format(self:id(), self:value()))
end

-- A to-be-closed variable; its __close traces, and may raise an error,
-- run statements, or yield (only where a yield may be written, and only
-- when it closes with no error: stock Lua refuses a yield in a __close
-- run by an error or by coroutine.close, and so must ucoro there).
--
-- Lua 5.4.4's coroutine.close leaves the thread's message handler set:
-- closing a coroutine suspended inside xpcall, an error in a __close calls
-- whatever value now lies where the handler was, which depends on the
-- stack's layout, which the models change.  So in a program whose
-- coroutines use xpcall, their __close raise nothing (nor yield).
function Gen:s_tbc(ctx, ind)
  local id = self:id()
  local quiet = ctx.safe or (ctx.co and self.xpcall_in_co)
  local fail = "nil"
  if not quiet and self:chance(15) then
    fail = self:choose({ "\"x" .. id .. "\"", "{tag = \"X" .. id .. "\"}", tostring(id) })
  end
  local k = self:pick(10)
  if k <= 2 and self.yielding_close and self:can_yield(ctx) and not quiet then
    self:emit(ind, ("local _c%d <close> = CL(\"c%d\", %s, nil, true)"):format(id, id, fail))
  elseif k <= 4 and ctx.depth < MAX_DEPTH then
    self:emit(ind, ("local _c%d <close> = CL(\"c%d\", %s, function()"):format(id, id, fail))
    self:block(deeper(ctx, { noyield = true, safe = quiet or nil }), ind + 1, 3)
    self:emit(ind, "end)")
  elseif fail ~= "nil" then
    self:emit(ind, ("local _c%d <close> = CL(\"c%d\", %s)"):format(id, id, fail))
  else
    self:emit(ind, ("local _c%d <close> = CL(\"c%d\")"):format(id, id))
  end
end

function Gen:s_gc(_, ind)
  self:emit(ind, self:choose({ "collectgarbage()", "collectgarbage(\"step\")" }))
end

function Gen:s_pcall(ctx, ind)
  local id = self:id()
  self:emit(ind, ("T(\"pc%d\", pcall(function(...)"):format(id))
  self:block(deeper(ctx, { safe = false }), ind + 1)
  self:emit(ind, ("end%s))"):format(self:more_values(2)))
end

function Gen:s_xpcall(ctx, ind)
  local id = self:id()
  self:emit(ind, ("T(\"xp%d\", xpcall(function()"):format(id))
  self:block(deeper(ctx, { safe = false }), ind + 1)
  -- a message handler runs where the error was raised, and may not yield
  self:emit(ind, ("end, function(e) T(\"h%d\", e)"):format(id))
  if ctx.depth < MAX_DEPTH - 1 and self:chance(30) then
    self:block(deeper(ctx, { noyield = true, safe = true }), ind + 1, 2)
  end
  self:emit(ind, ("return \"h%d\" end))"):format(id))
end

function Gen:s_loop(ctx, ind)
  local var, n = "i" .. self:id(), self:pick(3)
  self:emit(ind, ("for %s = 1, %d do"):format(var, n))
  self:block(deeper(ctx, { loops = ctx.loops + 1 }, n), ind + 1)
  self:emit(ind, "end")
end

-- Metamethods called from Lua code: a yield there is fine for stock Lua
-- too.  (Not __concat: Debian's liblua5.4 mishandles a stack that moves
-- in one, README says.)
local LUA_META = {
  { "__index", "function(_, k)", "return k", "T(\"mi%d\", setmetatable({}, mt)[3])" },
  { "__newindex", "function(t, k, v)", "rawset(t, k, v)",
    "local o = setmetatable({}, mt); o[1] = \"n\"; T(\"mn%d\", rawget(o, 1))" },
  { "__add", "function(a, b)", "return 7", "T(\"ma%d\", setmetatable({}, mt) + 1)" },
  { "__lt", "function(a, b)", "return true", "T(\"ml%d\", setmetatable({}, mt) < setmetatable({}, mt))" },
  { "__le", "function(a, b)", "return false", "T(\"mle%d\", 1 <= setmetatable({}, mt))" },
  { "__eq", "function(a, b)", "return 1", "T(\"me%d\", setmetatable({}, mt) == setmetatable({}, mt))" },
  { "__len", "function(a)", "return 3", "T(\"mlen%d\", #setmetatable({}, mt))" },
  { "__call", "function(self, x)", "return x, 2", "T(\"mc%d\", setmetatable({}, mt)(5))" },
  { "__unm", "function(a)", "return -1", "T(\"mu%d\", -setmetatable({}, mt))" },
}

function Gen:s_lua_meta(ctx, ind)
  local id = self:id()
  local m = self:choose(LUA_META)
  self:emit(ind, "do")
  self:emit(ind + 1, ("local mt = {%s = %s"):format(m[1], m[2]))
  self:block(deeper(ctx), ind + 2, 3)
  self:emit(ind + 2, m[3])
  self:emit(ind + 1, "end}")
  self:emit(ind + 1, m[4]:format(id))
  self:emit(ind, "end")
end

---------------------------------------------------------------- boundaries

-- "pcall(f, args" or "f(args": the caller closes the parenthesis.
-- At most so many comparisons sorting n elements (measured, with an
-- inconsistent order too).
local SORT_CALLS = { 0, 1, 3, 8, 12, 19, 22, 28 }

local function call_or_pcall(self, ctx, f, args)
  if ctx.safe or self:chance(70) then return ("pcall(%s, %s"):format(f, args) end
  return ("%s(%s"):format(f, args)
end

function Gen:s_sort(ctx, ind)
  local id = self:id()
  local vs = {}
  for i = 1, self:pick(8) do vs[i] = tostring(self:pick(9)) end
  self:emit(ind, "do")
  self:emit(ind + 1, ("local arr = {%s}"):format(table.concat(vs, ", ")))
  self:emit(ind + 1, ("T(\"so%d\", %s"):format(id, call_or_pcall(self, ctx, "B.sort", "arr, function(x, y)")))
  self:callback(ctx, ind + 2, SORT_CALLS[#vs])
  -- consistent orders, and one that is not (both sorts fail alike)
  self:emit(ind + 2, "return " .. self:choose({ "x < y", "x < y", "x > y", "(x + y) % 3 == 1" }))
  self:emit(ind + 1, "end))")
  self:emit(ind + 1, ("T(\"sa%d\", arr)"):format(id))
  self:emit(ind, "end")
end

function Gen:s_sort_lt(ctx, ind)
  local id = self:id()
  local vs = {}
  for i = 1, self:pick(7) do vs[i] = tostring(self:pick(9)) end
  self:emit(ind, "do")
  self:emit(ind + 1, "local mt = {__lt = function(x, y)")
  self:callback(ctx, ind + 2, SORT_CALLS[#vs])
  self:emit(ind + 2, "return x.v < y.v")
  self:emit(ind + 1, "end}")
  self:emit(ind + 1, ("local arr = objs(mt, {%s})"):format(table.concat(vs, ", ")))
  self:emit(ind + 1, ("T(\"sl%d\", %s))"):format(id, call_or_pcall(self, ctx, "B.sort", "arr")))
  self:emit(ind + 1, ("T(\"sa%d\", arr)"):format(id))
  self:emit(ind, "end")
end

local SUBJECTS = { "", "a", "ab c", "abc1 a", "ba ab 2", "cc a1b", "aaa" }
local PATTERNS = { "%a+", "(%a)(%a?)", "%d", "()a", "b*", "^%a", "[ab]", "(c)", "a?" }

function Gen:s_gsub(ctx, ind)
  local id = self:id()
  local subject = ("%q"):format(self:choose(SUBJECTS))
  local pattern = ("%q"):format(self:choose(PATTERNS))
  if self:chance(60) then
    self:emit(ind, ("T(\"gs%d\", B.gsub(%s, %s, function(...)"):format(id, subject, pattern))
    self:callback(ctx, ind + 1, 8)
    self:emit(ind + 1, "return " .. self:choose({ "nil", "false", "\"r" .. id .. "\"", "(...)", "select(\"#\", ...)" }))
    self:emit(ind, "end))")
  else
    self:emit(ind, ("T(\"gt%d\", B.gsub(%s, %s, setmetatable({}, {__index = function(_, k)")
      :format(id, subject, pattern))
    self:callback(ctx, ind + 1, 8)
    self:emit(ind + 1, "return " .. self:choose({ "nil", "false", "\"r" .. id .. "\"", "k" }))
    self:emit(ind, "end})))")
  end
end

function Gen:s_concat(ctx, ind)
  local id = self:id()
  self:emit(ind, ("T(\"cc%d\", B.concat(setmetatable({}, {__index = function(_, i)"):format(id))
  self:callback(ctx, ind + 1, 4)
  self:emit(ind + 1, "return " .. self:choose({ "\"v\" .. i", "i * 2", "i / 2" }))
  self:emit(ind, ("end}), %q, 1, %d))"):format(self:choose({ "", ",", "--" }), self:pick(5) - 1))
end

function Gen:s_unpack(ctx, ind)
  local id = self:id()
  local n = self:pick(4) - 1
  self:emit(ind, ("T(\"up%d\", B.unpack(setmetatable({}, {__index = function(_, i)"):format(id))
  self:callback(ctx, ind + 1, n)
  self:emit(ind + 1, "return \"u\" .. i")
  self:emit(ind, ("end}), 1, %d))"):format(n))
end

function Gen:s_tostring(ctx, ind)
  local id = self:id()
  if self:chance(50) then
    self:emit(ind, ("T(\"ts%d\", B.tostring(setmetatable({}, {__tostring = function()"):format(id))
    self:callback(ctx, ind + 1, 1)
    self:emit(ind + 1, ("return \"s%d\""):format(id))
    self:emit(ind, "end})))")
  else
    self:emit(ind, ("T(\"fm%d\", B.format(\"%%s|%%s\", setmetatable({}, {__tostring = function()"):format(id))
    self:callback(ctx, ind + 1, 1)
    self:emit(ind + 1, ("return \"a%d\""):format(id))
    if self:chance(50) then
      self:emit(ind, "end}), setmetatable({}, {__tostring = function()")
      self:callback(ctx, ind + 1, 1)
      self:emit(ind + 1, ("return \"b%d\""):format(id))
      self:emit(ind, "end})))")
    else
      self:emit(ind, ("end}), %s))"):format(self:choose({ "1", "\"s\"", "2.5" })))
    end
  end
end

function Gen:s_ipairs(ctx, ind)
  local id = self:id()
  self:emit(ind, "for i, v in B.ipairs(setmetatable({}, {__index = function(_, k)")
  self:callback(ctx, ind + 1, 4)
  self:emit(ind + 1, ("if k <= %d then return \"i\" .. k end"):format(self:pick(4) - 1))
  self:emit(ind, "end})) do")
  self:emit(ind + 1, ("T(\"ip%d\", i, v)"):format(id))
  if self:chance(50) then self:block(deeper(ctx, { loops = ctx.loops + 1 }, 4), ind + 1, 2) end
  self:emit(ind, "end")
end

function Gen:s_insert(ctx, ind)
  local id = self:id()
  local n = self:pick(3) - 1
  self:emit(ind, "do")
  self:emit(ind + 1, "local p = setmetatable({}, {__len = function()")
  self:callback(ctx, ind + 2, 1)
  self:emit(ind + 2, ("return %d"):format(n))
  self:emit(ind + 1, "end, __newindex = function(t, k, v)")
  self:callback(ctx, ind + 2, 1)
  self:emit(ind + 2, "rawset(t, k, v)")
  self:emit(ind + 1, "end})")
  self:emit(ind + 1, call_or_pcall(self, ctx, "B.insert", ("p, \"x%d\""):format(id)) .. ")")
  self:emit(ind + 1, ("T(\"in%d\", rawget(p, %d))"):format(id, n + 1))
  self:emit(ind, "end")
end

-- Chunks split into non-empty pieces: each is valid Lua as a whole, so the
-- parser reads every piece.
local CHUNKS = {
  { "return ", "1 + ", "2, 'x'" },
  { "local a = 3 ", "return a * 2" },
  { "return" },
  { "ret", "urn {tag = ", "'L'}" },
}

-- A load whose reader runs a callback block (ctx: the reader's context).
function Gen:load_statement(ctx, ind)
  local id = self:id()
  local pieces = {}
  for i, p in ipairs(self:choose(CHUNKS)) do pieces[i] = ("%q"):format(p) end
  self:emit(ind, ("local k, parts = 0, {%s}"):format(table.concat(pieces, ", ")))
  self:emit(ind, "local f, e = B.load(function()")
  self:block(ctx, ind + 1, 3)
  self:emit(ind + 1, "k = k + 1")
  self:emit(ind + 1, "return parts[k]")
  self:emit(ind, ("end, \"=chunk%d\")"):format(id))
  self:emit(ind, ("if f then T(\"ld%d\", f()) else T(\"le%d\", e) end"):format(id, id))
end

-- A coroutine closed (or collected) while parked in a load reader leaks
-- the parser's buffers, held in the C frames closing drops (README,
-- Caveats: "Closing abandons C frames"); LeakSanitizer reports them.  So
-- readers yield only in a coroutine of their own that is driven to its
-- end, and nowhere else.
function Gen:s_load(ctx, ind)
  self:emit(ind, "do")
  self:load_statement(deeper(ctx, { cb = true, noyield = true }, 4), ind + 1)
  self:emit(ind, "end")
end

function Gen:s_load_driven(ctx, ind)
  local id = self:id()
  self:emit(ind, "do")
  self:emit(ind + 1, "local co = CO.create(function()")
  self:load_statement(deeper(ctx, { co = true, cb = true, noyield = false, loops = 0 }, 4), ind + 2)
  self:emit(ind + 2, ("return \"loaded%d\""):format(id))
  self:emit(ind + 1, "end)")
  self:emit(ind + 1, ("NAMES[co] = \"L%d\""):format(id))
  self:emit(ind + 1, "local n = 0")
  self:emit(ind + 1, "while CO.status(co) == \"suspended\" and n < 1000 do")
  self:emit(ind + 2, "n = n + 1")
  self:emit(ind + 2, ("T(\"rl%d\", CO.resume(co, n))"):format(id))
  self:emit(ind + 1, "end")
  self:emit(ind, "end")
end

local WORDS = { "", "ab", "ab cd", "x yy zzz", "cc cc", "a b c d" }

function Gen:s_lpeg(ctx, ind)
  local id = self:id()
  local subject = ("%q"):format(self:choose(WORDS))
  if self:chance(50) then
    self:emit(ind, ("T(\"cm%d\", B.cmt(%s, function(s, pos, w)"):format(id, subject))
    self:callback(ctx, ind + 1, 4)
    self:emit(ind + 1, "return " .. self:choose({ "true", "w ~= \"cd\"", "pos < 5" }))
    self:emit(ind, "end))")
  else
    self:emit(ind, ("T(\"fc%d\", B.fcap(%s, function(w)"):format(id, subject))
    self:callback(ctx, ind + 1, 4)
    self:emit(ind + 1, "return \"f\" .. w")
    self:emit(ind, "end))")
  end
end

---------------------------------------------------------------- choice

function Gen:stmt(ctx, ind)
  local kinds = {}
  local total = 0
  local function add(weight, f)
    kinds[#kinds + 1] = { weight, f }
    total = total + weight
  end
  add(3, Gen.s_trace)
  if self:can_yield(ctx) then add(ctx.cb and 12 or 8, Gen.s_yield) end
  add(4, Gen.s_resume_pool)
  add(3, Gen.s_status)
  add(1, Gen.s_close_pool)
  add(2, Gen.s_tbc)
  add(1, Gen.s_gc)
  if ctx.body == 0 and not ctx.co and not ctx.cb then
    add(1, Gen.s_yield_outside)
    add(1, Gen.s_recreate)
  end
  -- a coroutine started here runs its body once per run of this statement
  if self:child(ctx) and ctx.runs == 1 then
    add(3, Gen.s_spawn)
    add(2, Gen.s_wrap)
  end
  if ctx.runs == 1 and ctx.depth < MAX_DEPTH then add(1, Gen.s_load_driven) end
  if ctx.depth < MAX_DEPTH then
    local function fits(runs) return ctx.runs * runs <= MAX_RUNS end
    add(2, Gen.s_pcall)
    if not ctx.co or self.xpcall_in_co then add(1, Gen.s_xpcall) end
    add(2, Gen.s_lua_meta)
    add(2, Gen.s_tostring)
    add(1, Gen.s_insert)
    if ctx.loops < MAX_LOOPS and fits(3) then add(2, Gen.s_loop) end
    if ctx.loops < MAX_LOOPS and fits(4) then add(2, Gen.s_ipairs) end
    if fits(4) then
      add(2, Gen.s_concat)
      add(1, Gen.s_unpack)
      add(1, Gen.s_load)
      add(2, Gen.s_lpeg)
    end
    if fits(8) then add(3, Gen.s_gsub) end
    if fits(SORT_CALLS[#SORT_CALLS]) then
      add(3, Gen.s_sort)
      add(2, Gen.s_sort_lt)
    end
  end
  local r = self:pick(total)
  for _, k in ipairs(kinds) do
    r = r - k[1]
    if r <= 0 then return k[2](self, ctx, ind) end
  end
end

---------------------------------------------------------------- programs

local PRELUDE = [[
local C, F, made = {}, {}, 0
local function new(j)
  made = made + 1
  local co = CO.create(F[j])
  NAMES[co] = "c" .. made
  return co
end
local function wrapnew(j)
  made = made + 1
  local name = "w" .. made
  return CO.wrap(function(...)
    NAMES[CO.running()] = name
    return F[j](...)
  end)
end
local function objs(mt, vs)
  local r = {}
  for i = 1, #vs do r[i] = setmetatable({tag = "o" .. vs[i], v = vs[i]}, mt) end
  return r
end]]

--- The source of program index (an integer >= 1) for seed, and facts:
-- { cross = does it yield inside callbacks run from C? }.
function gen.program(seed, index)
  local self = setmetatable({
    random = new_random(seed, index), lines = {}, ids = 0,
  }, Gen)
  self.cross = self:chance(50)
  self.yielding_close = self:chance(25)
  self.xpcall_in_co = self:chance(50)
  self.nbodies = self:pick(4)
  self.npool = self:pick(3)
  self.budget = 12 + self:pick(40)
  self:emit(0, PRELUDE)
  for k = 1, self.nbodies do
    self:emit(0, ("F[%d] = function(a, b)"):format(k))
    self:emit(1, ("T(\"b%d\", a, b)"):format(k))
    self:block({ body = k, co = true, cb = false, depth = 0, loops = 0, runs = 1 }, 1, 6)
    self:emit(1, ("return %s"):format(self:values()))
    self:emit(0, "end")
  end
  for k = 1, self.npool do
    self:emit(0, ("C[%d] = new(%d)"):format(k, self:pick(self.nbodies)))
  end
  self:block({ body = 0, co = false, cb = false, depth = 0, loops = 0, runs = 1 }, 0, 8)
  self:emit(0, "for r = 1, 3 do")
  self:emit(1, "for k = 1, #C do T(\"fin\", k, CO.status(C[k]), CO.resume(C[k], r)) end")
  self:emit(0, "end")
  return table.concat(self.lines, "\n") .. "\n", { cross = self.cross }
end

return gen
