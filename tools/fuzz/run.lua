--- The differential fuzzer's command line (make fuzz runs it).
--
--   lua5.4 tools/fuzz/run.lua [--seed S] [--count N] [--first I]
--                             [--setup CODE] [--quiet]
--       checks programs I .. I+N-1 of seed S (default: 1 .. 100000 of a
--       seed taken from the clock, printed first); exits 1 on any
--       divergence or crash
--   lua5.4 tools/fuzz/run.lua --seed S --only I [--print | --reduce]
--       replays program I: its source, and where the traces part (or,
--       with --print, the source alone; with --reduce, the smallest
--       program found that still diverges the same way)
--
-- --setup CODE (or the environment variable UCORO_FUZZ_SETUP): Lua code
-- run before each program's ucoro run, given the ucoro module as `...`;
-- e.g. --setup 'local ucoro = ... ucoro.stacksize(64 * 1024)'.
--
-- The programs run many to a process: a worker process checks them one
-- after the other, each in an environment of its own, and tells this
-- process which one it starts.  If the worker dies (a crash, a sanitizer
-- report), this process runs that program alone in a child to confirm,
-- and starts a new worker after it.  Needs LUA_PATH and LUA_CPATH to find
-- ucoro (make fuzz sets them).
-- tools/?.lua finds the fuzzer's modules, spec/?.lua the catalogue of
-- boundaries (spec/boundaries.lua).
local script = arg[0]
local top = script:gsub("[^/]*/[^/]*/[^/]*$", "")
package.path = top .. "tools/?.lua;" .. top .. "spec/?.lua;" .. package.path

local function usage(message)
  io.stderr:write("run.lua: ", message, "\n")
  os.exit(2)
end

-- The interpreter running this script, to start workers with.
local interpreter
do
  local i = -1
  while arg[i - 1] do i = i - 1 end
  interpreter = arg[i]
end

local options = { count = 100000, first = 1 }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    local function value()
      i = i + 1
      return arg[i] or usage(a .. " needs a value")
    end
    local function integer()
      local v = value()
      return math.tointeger(tonumber(v)) or usage(a .. " needs an integer, got " .. v)
    end
    if a == "--seed" then options.seed = integer()
    elseif a == "--count" then options.count = integer()
    elseif a == "--first" then options.first = integer()
    elseif a == "--only" then options.only = integer()
    elseif a == "--setup" then options.setup = value()
    elseif a == "--print" then options.print = true
    elseif a == "--reduce" then options.reduce = true
    elseif a == "--worker" then options.worker = true
    elseif a == "--quiet" then options.quiet = true
    else usage("unknown option " .. a) end
    i = i + 1
  end
end
options.setup = options.setup or os.getenv("UCORO_FUZZ_SETUP")
if options.setup == "" then options.setup = nil end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function replay_command(seed, index)
  local setup = options.setup and shell_quote(options.setup)
  return ("make fuzz SEED=%d ONLY=%d%s   (or: %s %s --seed %d --only %d%s)")
    :format(seed, index, setup and " SETUP=" .. setup or "", interpreter, script,
            seed, index, setup and " --setup " .. setup or "")
end

-- Options for exec.run: the setup hook, compiled once.
local function exec_options()
  if not options.setup then return {} end
  local setup, err = load(options.setup, "=setup")
  if not setup then usage("--setup: " .. err) end
  return { setup = setup }
end

---------------------------------------------------------------- one program

if options.only then
  if not options.seed then usage("--only needs --seed") end
  local gen = require "fuzz.gen"
  local source, facts = gen.program(options.seed, options.only)
  if options.print then
    io.write(source)
    os.exit(0, true)
  end
  if options.reduce then
    local reduced, checks = require("fuzz.reduce").source(source, exec_options())
    if not reduced then
      print(("-- program %d of seed %d does not diverge: nothing to reduce")
        :format(options.only, options.seed))
      os.exit(0, true)
    end
    io.write(reduced)
    io.stderr:write(("-- reduced from %d to %d lines in %d checks\n")
      :format(select(2, source:gsub("\n", "")), select(2, reduced:gsub("\n", "")), checks))
    os.exit(0, true)
  end
  local n = 0
  for line in source:gmatch("([^\n]*)\n") do
    n = n + 1
    print(("%4d  %s"):format(n, line))
  end
  local check = require "fuzz.check"
  local r = check.program(options.seed, options.only, exec_options())
  print(("-- program %d of seed %d: %s, %s"):format(options.only, options.seed,
    facts.cross and "cross (yields in callbacks)" or "plain",
    r.crossed and "yields across C (checked against the model only)"
              or "checked against the model and stock"))
  if r.divergence then
    print(table.concat(check.describe(r, 1000), "\n"))
    os.exit(1, true)
  end
  print("-- no divergence; ucoro's trace:")
  local exec = require "fuzz.exec"
  print(table.concat(exec.run(source, "ucoro", exec_options()), "\n"))
  os.exit(0, true)
end

---------------------------------------------------------------- worker

if options.worker then
  local check = require "fuzz.check"
  local opts = exec_options()
  io.stdout:setvbuf("line")  -- a crash must not lose the last "start"
  for index = options.first, options.first + options.count - 1 do
    print("start " .. index)
    local r = check.program(options.seed, index, opts)
    if r.crossed then print("crossed") end
    if r.stopped then print("stopped") end
    if r.divergence then
      print("divergence " .. index)
      for _, line in ipairs(check.describe(r)) do print("| " .. line) end
    end
  end
  print("done")
  os.exit(0, true)
end

---------------------------------------------------------------- main

options.seed = options.seed or os.time()
local last = options.first + options.count - 1
local started = os.time()
print(("fuzz: seed %d, programs %d..%d%s"):format(options.seed, options.first, last,
  options.setup and ", setup: " .. options.setup or ""))
io.stdout:flush()

local run, crossed, stopped, divergences, crashes = 0, 0, 0, 0, 0
local failures = {}

local function worker_command(first, count, only)
  local parts = { interpreter, shell_quote(script), "--seed", options.seed }
  if only then
    parts[#parts + 1] = "--only " .. only
  else
    parts[#parts + 1] = ("--worker --first %d --count %d"):format(first, count)
  end
  if options.setup then parts[#parts + 1] = "--setup " .. shell_quote(options.setup) end
  return table.concat(parts, " ")
end

local next_index = options.first
while next_index <= last do
  local pipe = assert(io.popen(worker_command(next_index, last - next_index + 1)))
  local current, finished
  for line in pipe:lines() do
    local index = tonumber(line:match("^start (%d+)$"))
    if index then
      if current then run = run + 1 end
      current = index
    elseif line:match("^divergence ") then
      divergences = divergences + 1
      failures[#failures + 1] = current
    elseif line:match("^| ") then
      print(line:sub(3))
    elseif line == "crossed" then
      crossed = crossed + 1
    elseif line == "stopped" then
      stopped = stopped + 1
    elseif line == "done" then
      run = run + 1
      finished = true
    else
      print(line)
    end
    if not options.quiet and index and (index - options.first) % 10000 == 0 and index > options.first then
      print(("fuzz: %d programs run, %d divergences, %d s"):format(run, divergences, os.time() - started))
      io.stdout:flush()
    end
  end
  local ok, how, code = pipe:close()
  if finished and not ok then
    -- all ran, then the worker failed: a sanitizer's leak report at exit
    crashes = crashes + 1
    print(("fuzz: the worker failed (%s %s) after its last program"):format(how, code))
    break
  elseif finished then
    break
  end
  -- the worker died during program `current`: confirm alone
  crashes = crashes + 1
  current = current or next_index
  failures[#failures + 1] = current
  print(("fuzz: the worker died (%s %s) in program %d"):format(how, code, current))
  local child = io.popen(worker_command(nil, nil, current) .. " >/dev/null 2>&1")
  child:read("a")
  local alone_ok, alone_how, alone_code = child:close()
  if alone_ok then
    print(("fuzz: program %d alone passes: the crash needs the programs before it (%d..%d)")
      :format(current, next_index, current))
  else
    print(("fuzz: program %d alone fails too (%s %s)"):format(current, alone_how, alone_code))
  end
  run = run + 1
  next_index = current + 1
end

-- ucoro and bridge runs are checked against the model; ucoro runs also
-- against stock where the program never yields across C.
print(("fuzz: seed %d: %d programs run (%d also against stock Lua, %d with yields across C;"
       .. " %d stopped at the trace limit), %d divergences, %d crashes, %d s")
  :format(options.seed, run, run - crossed, crossed, stopped, divergences, crashes,
          os.time() - started))
for _, index in ipairs(failures) do
  print("fuzz: replay: " .. replay_command(options.seed, index))
end
os.exit(divergences + crashes == 0 and 0 or 1, true)
