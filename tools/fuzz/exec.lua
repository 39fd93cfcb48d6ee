--- Runs one generated program under one configuration and returns its
-- trace, the list of lines it printed through T.
--
-- Configurations:
--   "ucoro"  ucoro's coroutine functions, the real C boundaries
--   "stock"  stock coroutine functions, the real C boundaries
--   "model"  stock coroutine functions, the boundaries modelled in Lua;
--            also says whether the program yielded (or asked isyieldable)
--            where stock Lua, with the real boundaries, could not
--   "bridge" stock coroutines (create, resume, wrap) whose bodies run in
--            ucoro.call, with ucoro's yield, status, close, running and
--            isyieldable: the way a stock scheduler uses ucoro
--
-- A program is a chunk run in an environment of its own, holding only
-- what it uses: CO (the coroutine library), B (the boundaries), T (trace),
-- CL (a to-be-closed value that traces its closing), NAMES (names of
-- threads, for the trace) and a few base functions.
local boundaries = require "boundaries"  -- spec/boundaries.lua

local exec = {}

-- Stock functions, taken before anything could install ucoro.
local stock = {}
for k, v in pairs(coroutine) do stock[k] = v end
exec.stock = stock

--- A program that prints more than this many lines is stopped.
exec.LIMIT = 5000
local STOP = setmetatable({ tag = "trace limit" }, { __name = "fuzz.stop" })

--- Loads ucoro afresh (its Lua table and luaopen; the C library stays
-- loaded, as does the state the binding keeps in the registry).
function exec.fresh_ucoro()
  package.loaded.ucoro = nil
  package.loaded["ucoro.core"] = nil
  return require "ucoro"
end

-- The coroutine library of the model run: stock, with yield and
-- isyieldable noting when stock Lua with the real boundaries would differ.
local function model_library(note)
  local lib = {}
  for k, v in pairs(stock) do lib[k] = v end
  function lib.yield(...)
    if boundaries.crossed() then note() end
    local r = table.pack(stock.yield(...))
    return table.unpack(r, 1, r.n)
  end
  function lib.isyieldable(...)
    if boundaries.crossed() then note() end
    local r = stock.isyieldable(...)
    return r
  end
  return lib
end

--- Runs source (a generated program) under config.  opts.ucoro: the ucoro
-- module to use (default: loaded afresh); opts.setup: a function called
-- with it before the program.  Returns the trace (a list of lines) and a
-- table of facts: crossed (model run only), stopped (hit LIMIT).
function exec.run(source, config, opts)
  opts = opts or {}
  local trace, facts = {}, { crossed = false, stopped = false }
  local names = setmetatable({}, { __mode = "k" })
  names[stock.running()] = "main"

  local function show(v, depth)
    local t = type(v)
    if t == "string" then return ("%q"):format(v)
    elseif t == "number" or t == "boolean" or t == "nil" then return tostring(v)
    elseif t == "thread" then return "thread:" .. (names[v] or "?")
    elseif t == "table" then
      local tag = rawget(v, "tag")
      if tag ~= nil then return "<" .. tostring(tag) .. ">" end
      if depth > 1 then return "{...}" end
      local parts = {}
      for i = 1, rawlen(v) do parts[i] = show(rawget(v, i), depth + 1) end
      return "{" .. table.concat(parts, ",") .. "}"
    end
    return t
  end

  local function T(tag, ...)
    if #trace >= exec.LIMIT then
      facts.stopped = true
      error(STOP, 0)
    end
    local parts = { tag, select("#", ...) .. ":" }
    for i = 1, select("#", ...) do parts[#parts + 1] = show((select(i, ...)), 1) end
    trace[#trace + 1] = table.concat(parts, " ")
  end

  local lib, B

  -- A to-be-closed value: traces its closing, then runs fn, yields (only
  -- if it closes with no error) and raises err, as asked.
  local function CL(name, err, fn, yields)
    return setmetatable({}, { __close = function(_, e)
      T("close", name, e)
      if fn then fn() end
      if yields and e == nil then T("closed", name, lib.yield("closing " .. name)) end
      if err ~= nil then error(err, 0) end
    end })
  end

  if config == "ucoro" then
    lib = opts.ucoro or exec.fresh_ucoro()
    if opts.setup then opts.setup(lib) end
    B = boundaries.real
  elseif config == "bridge" then
    local ucoro = opts.ucoro or exec.fresh_ucoro()
    if opts.setup then opts.setup(ucoro) end
    lib = {
      create = function(f)
        return stock.create(function(...) return ucoro.call(f, ...) end)
      end,
      wrap = function(f)
        return stock.wrap(function(...) return ucoro.call(f, ...) end)
      end,
      resume = stock.resume, yield = ucoro.yield, status = ucoro.status,
      close = ucoro.close, running = ucoro.running,
      isyieldable = ucoro.isyieldable,
    }
    B = boundaries.real
  elseif config == "stock" then
    lib, B = stock, boundaries.real
  elseif config == "model" then
    lib = model_library(function() facts.crossed = true end)
    B = boundaries.model
  else
    error("unknown configuration " .. tostring(config))
  end

  local env = {
    CO = lib, B = B, T = T, CL = CL, NAMES = names,
    pcall = pcall, xpcall = xpcall, error = error, select = select,
    setmetatable = setmetatable, rawget = rawget, rawset = rawset,
    collectgarbage = collectgarbage,
  }
  if config == "model" then
    env.pcall, env.xpcall = boundaries.model_pcall, boundaries.model_xpcall
  end
  local chunk = assert(load(source, "=fuzz", "t", env))
  local ok, err = pcall(chunk)
  trace[#trace + 1] = ok and "end" or "error " .. show(err, 1)
  -- Coroutines the program left suspended (some parked under C calls) are
  -- collected now: stock Lua runs none of their __close handlers then, so
  -- a trace line after "end" is a divergence.
  collectgarbage()
  return trace, facts
end

return exec
