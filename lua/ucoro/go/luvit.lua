--- Code written for luvit's coro-* inside ucoro.go tasks.
-- coro-fs, coro-net and coro-channel park a coroutine with a plain
-- coroutine.yield() and resume it from a luv callback.  Inside a task,
-- that yield would reach the scheduler (as go.yield) and the callback
-- would run the task inside libuv.  After go.install_luvit(), a plain
-- yield of a task's own coroutine parks the task (from any C depth) until
-- coroutine.resume(that coroutine, ...) comes, and that resume only queues
-- the wake-up (it returns true at once; the task runs from the scheduler).
-- Coroutines a task creates itself keep the stock behaviour.
local M = {}

function M.install(go)
  local C = coroutine  -- the library table ucoro.install() filled
  local yield0, resume0, running0 = C.yield, C.resume, C.running
  local tasks = setmetatable({}, { __mode = "k" })  -- a task's coroutine
  local boxes = setmetatable({}, { __mode = "k" })  -- its pending resume

  local function box_of(co)
    local box = boxes[co]
    if not box then
      box = go.chan(1)
      boxes[co] = box
    end
    return box
  end

  local function mark(f)
    return function(...)
      tasks[running0()] = true
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

  return function()  -- uninstall
    C.yield, C.resume = yield0, resume0  -- luacheck: ignore 122
    go.spawn, go.run = spawn0, run0
  end
end

return M
