--- 10,000 stats of one file from 4 tasks: ucoro.go's go.fs.stat against
-- luvit coro-fs's shape on stock coroutines (uv.fs_stat with a callback
-- that resumes the caller).  Prints process CPU per stat for each (the
-- thread pool's work included in both).
--   tools/in-tree lua5.4 bench/go_io_stat.lua [total [tasks [luvit]]]
-- With "luvit": after ucoro.install(), the coro-fs shape inside ucoro.go
-- tasks (a plain yield parks the task) against go.fs.stat.
local uv = require "luv"
local go = require "ucoro.go"
local total, tasks = tonumber(arg[1] or 10000), tonumber(arg[2] or 4)
local file = arg[0]

local function coro_stat(path)  -- coro-fs's stat, as luvit writes it
  local thread = coroutine.running()
  uv.fs_stat(path, function(err, st) assert(coroutine.resume(thread, err, st)) end)
  local err, st = coroutine.yield()
  return st, err
end

local function measure(f)
  collectgarbage()
  local c0 = os.clock()
  f()
  return os.clock() - c0
end

local per = total // tasks
local function coro_run()
  local done = 0
  for _ = 1, tasks do
    coroutine.wrap(function()
      for _ = 1, per do assert(coro_stat(file)) end
      done = done + 1
    end)()
  end
  uv.run()
  assert(done == tasks)
end

local function go_run()
  assert(go.run(function()
    for _ = 1, tasks do
      go.spawn(function() for _ = 1, per do assert(go.fs.stat(file)) end end)
    end
  end))
end

local function luvit_run()  -- the coro-fs shape itself, in tasks
  assert(go.run(function()
    for _ = 1, tasks do
      go.spawn(function() for _ = 1, per do assert(coro_stat(file)) end end)
    end
  end))
end

if arg[3] == "luvit" then
  require("ucoro").install()
  coro_run = luvit_run
end

-- alternating runs, medians: drift hits both alike
local cs, gs = {}, {}
for i = 1, 7 do
  cs[i] = measure(coro_run)
  gs[i] = measure(go_run)
end
table.sort(cs) table.sort(gs)
local c, g = cs[4], gs[4]
print(("%d stats, %d tasks, median of 7: coro-fs shape%s %.2f us/stat, " ..
       "go.fs %.2f us/stat (process CPU); go / coro %.2f"):format(
       total, tasks, arg[3] == "luvit" and " in tasks" or "", c * 1e6 / total,
       g * 1e6 / total, g / c))
