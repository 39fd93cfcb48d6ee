--- The differential check of one generated program:
--   ucoro (real C boundaries)  must equal  the model (Lua boundaries,
--                                          stock coroutines), always;
--   bridge (stock coroutines   must equal  the model, always;
--   running ucoro.call)
--   ucoro (real C boundaries)  must equal  stock (real C boundaries),
--                                          when the program never yields
--                                          where stock Lua cannot.
local gen = require "fuzz.gen"
local exec = require "fuzz.exec"

local check = {}

-- The first line where two traces differ, or nil.
local function first_difference(a, b)
  for i = 1, math.max(#a, #b) do
    if a[i] ~= b[i] then return i end
  end
  return nil
end

--- Checks a program's source.  opts as exec.run's.  Returns a result:
-- { source, crossed (stock compared if not), stopped, divergence = nil or
--   { subject = "ucoro"|"bridge", against = "model"|"stock", line,
--   traces = { ucoro = ..., model = ..., bridge = ..., stock = ... } } }.
function check.source(source, opts)
  local result = { source = source }
  local traces = {}
  local model_facts, ucoro_facts
  traces.ucoro, ucoro_facts = exec.run(source, "ucoro", opts)
  traces.model, model_facts = exec.run(source, "model", opts)
  result.crossed = model_facts.crossed
  result.stopped = ucoro_facts.stopped or model_facts.stopped
  local line = first_difference(traces.ucoro, traces.model)
  if line then
    result.divergence = { subject = "ucoro", against = "model", line = line, traces = traces }
    return result
  end
  traces.bridge = exec.run(source, "bridge", opts)
  line = first_difference(traces.bridge, traces.model)
  if line then
    result.divergence = { subject = "bridge", against = "model", line = line, traces = traces }
    return result
  end
  if not result.crossed then
    traces.stock = exec.run(source, "stock", opts)
    line = first_difference(traces.ucoro, traces.stock)
    if line then
      result.divergence = { subject = "ucoro", against = "stock", line = line, traces = traces }
    end
  end
  return result
end

--- Checks program index of seed: check.source's result, with seed,
-- index and cross (the generator's facts) added.
function check.program(seed, index, opts)
  local source, facts = gen.program(seed, index)
  local result = check.source(source, opts)
  result.seed, result.index, result.cross = seed, index, facts.cross
  return result
end

--- Lines describing a divergence: where the traces part, with context.
function check.describe(result, context)
  context = context or 4
  local d = result.divergence
  local out = {}
  local function add(s) out[#out + 1] = s end
  add(("%s: %s differs from %s at trace line %d")
      :format(result.index and ("program %d of seed %d"):format(result.index, result.seed)
              or "program", d.subject, d.against, d.line))
  local first = math.max(1, d.line - context)
  for _, name in ipairs({ d.subject, d.against }) do
    add("  " .. name .. ":")
    local t = d.traces[name]
    for i = first, math.min(#t, d.line + context) do
      add(("  %s %4d  %s"):format(i == d.line and ">" or " ", i, t[i]))
    end
    if d.line > #t then add(("  > %4d  (trace ended)"):format(d.line)) end
  end
  return out
end

return check
