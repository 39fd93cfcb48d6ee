--- Lua models of C functions that call back into Lua, for the fuzzer's
-- model run (tools/fuzz/exec.lua): plain Lua that makes the same callback
-- calls as the C function, with the same arguments, in the same order,
-- and returns the same results.  Under stock coroutines a model's
-- callbacks may yield (only Lua frames lie between them and the resume),
-- which is what ucoro must give with the real C functions.  The catalogue
-- (spec/boundaries.lua) pairs each with its C function.
--
-- The models follow Lua 5.4.4's ltablib.c, lstrlib.c, lbaselib.c and
-- LPeg 1.0's rules for the shapes of call the generator makes.
local models = {}

-- No model below makes a tail call to a callback: each stays on the
-- stack while its callbacks run, which is how crossed() finds it.
local model = {}

-- The model functions that stand for a C function (filled in below).
local stands_for_c = {}

-- The level, counted as error() counts from its caller, of the innermost
-- model function on the stack (1 would be the function calling this).
local function model_level()
  local level = 3
  while true do
    local info = debug.getinfo(level, "f")
    if info == nil then return nil end
    if stands_for_c[info.func] then return level - 1 end
    level = level + 1
  end
end

-- Raises msg as luaL_error in the C function would: with the position of
-- whoever called it (none when that is a C function such as pcall).
local function c_error(msg)
  error(msg, model_level() + 1)
end

-- A message handler is in force while xpcall runs its function (and not
-- inside a pcall, nor in another coroutine); load's parser calls it for an
-- error in the reader.  The model runs give programs these pcall and
-- xpcall, which keep the stack of handlers of each thread.
local handlers = setmetatable({}, { __mode = "k" })

local function with_handler(h, f, ...)
  local co = coroutine.running()
  local stack = handlers[co] or {}
  handlers[co] = stack
  stack[#stack + 1] = h
  local r
  if h then r = table.pack(xpcall(f, h, ...)) else r = table.pack(pcall(f, ...)) end
  stack[#stack] = nil
  return table.unpack(r, 1, r.n)
end

models.pcall = function(f, ...)
  local r = table.pack(with_handler(false, f, ...))
  return table.unpack(r, 1, r.n)
end

models.xpcall = function(f, h, ...)
  local r = table.pack(with_handler(h, f, ...))
  return table.unpack(r, 1, r.n)
end

local function message_handler()
  local stack = handlers[coroutine.running()]
  return stack and stack[#stack] or nil
end

-- table.sort (ltablib.c's auxsort and partition, for arrays of at most
-- 100 elements, where the pivot is never randomised).
local function sort_lt(lt, a, b)
  if lt == nil then return a < b end
  local r = lt(a, b)
  return r and true or false
end

local function partition(t, lt, lo, up, pivot)
  local i, j = lo, up - 1
  while true do
    i = i + 1
    local ai = t[i]
    while sort_lt(lt, ai, pivot) do
      if i == up - 1 then c_error("invalid order function for sorting") end
      i = i + 1
      ai = t[i]
    end
    j = j - 1
    local aj = t[j]
    while sort_lt(lt, pivot, aj) do
      if j < i then c_error("invalid order function for sorting") end
      j = j - 1
      aj = t[j]
    end
    if j < i then
      t[up - 1] = ai
      t[i] = pivot
      return i
    end
    t[i] = aj
    t[j] = ai
  end
end

local function auxsort(t, lt, lo, up)
  while lo < up do
    local alo, aup = t[lo], t[up]
    if sort_lt(lt, aup, alo) then
      t[lo] = aup
      t[up] = alo
    end
    if up - lo == 1 then return end
    local p = (lo + up) // 2
    local ap, alo2 = t[p], t[lo]
    if sort_lt(lt, ap, alo2) then
      t[p] = alo2
      t[lo] = ap
    else
      local aup2 = t[up]
      if sort_lt(lt, aup2, ap) then
        t[p] = aup2
        t[up] = ap
      end
    end
    if up - lo == 2 then return end
    local pivot = t[p]
    t[p] = t[up - 1]
    t[up - 1] = pivot
    p = partition(t, lt, lo, up, pivot)
    if p - lo < up - p then
      auxsort(t, lt, lo, p - 1)
      lo = p + 1
    else
      auxsort(t, lt, p + 1, up)
      up = p - 1
    end
  end
end

function model.sort(t, lt)
  local n = #t
  assert(n <= 100, "the model sorts at most 100 elements")
  if n > 1 then auxsort(t, lt, 1, n) end
end

-- string.gsub with a function or a table (str_gsub and add_value).
function model.gsub(s, p, repl)
  local anchor = p:sub(1, 1) == "^"
  local anchored = anchor and p or "^" .. p
  local out, n, src, lastmatch = {}, 0, 1, nil
  while true do
    local m = table.pack(s:find(anchored, src))
    local e = m[1] and m[2] + 1
    if e and e ~= lastmatch then
      n = n + 1
      local whole = s:sub(src, e - 1)
      local v
      if type(repl) == "function" then
        if m.n > 2 then
          v = repl(table.unpack(m, 3, m.n))
        else
          v = repl(whole)
        end
      else
        if m.n > 2 then v = repl[m[3]] else v = repl[whole] end
      end
      if not v then
        out[#out + 1] = whole
      elseif type(v) == "string" or type(v) == "number" then
        out[#out + 1] = tostring(v)
      else
        c_error(("invalid replacement value (a %s)"):format(type(v)))
      end
      src, lastmatch = e, e
    elseif src <= #s then
      out[#out + 1] = s:sub(src, src)
      src = src + 1
    else
      break
    end
    if anchor then break end
  end
  out[#out + 1] = s:sub(src)
  return table.concat(out), n
end

-- table.concat(t, sep, i, j) on a table whose values come from __index.
function model.concat(t, sep, i, j)
  local out = {}
  for k = i, j do
    local v = t[k]
    if type(v) ~= "string" and type(v) ~= "number" then
      c_error(("invalid value (%s) at index %d in table for 'concat'")
              :format(type(v), k))
    end
    out[#out + 1] = v
  end
  return table.concat(out, sep)
end

-- table.unpack(t, i, j) on a table whose values come from __index.
function model.unpack(t, i, j)
  local out = {}
  for k = i, j do out[#out + 1] = t[k] end
  return table.unpack(out, 1, j - i + 1)
end

-- tostring / string.format("%s", ...) (luaL_tolstring's __tostring call).
local function tolstring(v)
  local mt = getmetatable(v)
  local f = type(mt) == "table" and rawget(mt, "__tostring")
  if not f then return tostring(v) end
  local s = f(v)
  if type(s) ~= "string" and type(s) ~= "number" then
    c_error("'__tostring' must return a string")
  end
  return tostring(s)
end

function model.tostring(v)
  local s = tolstring(v)
  return s
end

function model.format(fmt, ...)
  local args = table.pack(...)
  for k = 1, args.n do args[k] = tolstring(args[k]) end
  return fmt:format(table.unpack(args, 1, args.n))
end

-- ipairs: its step (ipairsaux) indexes the table, __index and all.
local function ipairs_step(t, i)
  i = i + 1
  local v = t[i]
  if v == nil then return nil end
  return i, v
end

function model.ipairs(t)
  return ipairs_step, t, 0
end

-- table.insert(t, v): #t (__len), then t[#t + 1] = v (__newindex).
function model.insert(t, v)
  local n = #t
  t[n + 1] = v
end

-- load(reader, chunkname): calls the reader until it returns nil or "";
-- an error in the reader makes load return nil and the error, after the
-- message handler in force (if any) made it over.  (The real parser stops
-- reading early only on a syntax error, which the generator never makes.)
function model.load(reader, chunkname)
  local parts = {}
  while true do
    local ok, piece
    local h = message_handler()
    if h then ok, piece = xpcall(reader, h) else ok, piece = pcall(reader) end
    if not ok then return nil, piece end
    if piece == nil or piece == "" then break end
    parts[#parts + 1] = piece
  end
  local f, e = load(table.concat(parts), chunkname)
  return f, e
end

-- LPeg, as the catalogue's real cmt: f(subject, position after the word, word)
-- for each word until f returns false; the position where matching ended.
function model.cmt(s, f)
  local pos = 1
  while true do
    local first, last = s:find("^[a-z]+", pos)
    if not first then break end
    local ok = f(s, last + 1, s:sub(first, last))
    if not ok then break end
    pos = select(2, s:find("^ *", last + 1)) + 1
  end
  return pos
end

-- LPeg, as the catalogue's real fcap: f(word) for each word, after the match;
-- f's results (one each) are the captures, or the end position if none.
function model.fcap(s, f)
  local words, pos = {}, 1
  while true do
    local first, last = s:find("^[a-z]+", pos)
    if not first then break end
    words[#words + 1] = s:sub(first, last)
    pos = select(2, s:find("^ *", last + 1)) + 1
  end
  if #words == 0 then return pos end
  local out = {}
  for k = 1, #words do out[k] = f(words[k]) end
  return table.unpack(out, 1, #words)
end

-- While one of them is on a coroutine's stack, a stock yield there would
-- cross a C boundary.
for name, f in pairs(model) do
  models[name] = f
  stands_for_c[f] = true
end
stands_for_c[ipairs_step] = true
stands_for_c[model.ipairs] = nil

--- Is a model of a C function on the running thread's stack (below the
-- caller)?  Then stock Lua, with the real C function, would refuse to
-- yield here, and its isyieldable() would say false.
function models.crossed()
  local level = 2
  while true do
    local info = debug.getinfo(level, "f")
    if info == nil then return false end
    if stands_for_c[info.func] then return true end
    level = level + 1
  end
end

return models
