--- luvit coro-* code inside ucoro.go tasks, installed by ucoro.install().
-- coro-fs, coro-net and coro-channel park a coroutine with a plain
-- coroutine.yield() and resume it from a luv callback.  Inside a task,
-- that yield would reach the scheduler (as go.yield) and the callback
-- would run the task inside libuv.  Once installed, a plain yield of a
-- task's own coroutine parks the task (from any C depth) until
-- coroutine.resume(that coroutine, ...) comes, and that resume only queues
-- the wake-up (it returns true at once; the task runs from the scheduler).
-- Coroutines a task creates itself keep the stock behaviour.
--
-- ucoro.go registers this with ucoro.on_install when it is loaded, so
-- ucoro.install() sets it up whichever of the two comes first; code that
-- captures coroutine.yield when loaded must be loaded after both.
local M = {}

local tasks = setmetatable({}, { __mode = "k" })  -- a task's own coroutine
local boxes = setmetatable({}, { __mode = "k" })  -- its pending resume

-- Marks each task's coroutine as it starts (go.spawn and go.run, once).
function M.mark_tasks(go, running)
  local function mark(f)
    return function(...)
      tasks[running()] = true
      return f(...)
    end
  end
  local spawn0, run0 = go.spawn, go.run
  function go.spawn(a, ...)
    if type(a) == "table" then
      local f = ...
      return spawn0(a, mark(f), select(2, ...))
    end
    return spawn0(mark(a), ...)
  end
  function go.run(f, ...) return run0(mark(f), ...) end
end

--- Wraps the yield and resume of the coroutine library C (just installed).
function M.install(go, C)
  local yield0, resume0, running0 = C.yield, C.resume, C.running

  local function box_of(co)
    local box = boxes[co]
    if not box then
      box = go.chan(1)
      boxes[co] = box
    end
    return box
  end

  function C.yield(...)  -- luacheck: ignore 122
    local co = running0()
    if tasks[co] then
      local v = box_of(co):recv()
      return table.unpack(v, 1, v.n)
    end
    return yield0(...)
  end

  function C.resume(co, ...)  -- luacheck: ignore 122
    if tasks[co] then
      if box_of(co):try_send(table.pack(...)) then return true end
      return false, "cannot resume non-suspended coroutine"
    end
    return resume0(co, ...)
  end
end

return M
