--- ucoro.go: Go's concurrency model for Lua on native stacks and luv's
-- loop.  The scheduler, channels, select, timers and scopes are C
-- (ucoro.go.core); this adds what is plain Lua on top of them.
local core = require "ucoro.go.core"
local ucoro = require "ucoro"

local go = {}
for k, v in pairs(core) do
  if k ~= "chan_methods" and k ~= "resume_through" then go[k] = v end
end

local chan = core.chan_methods

--- for v in ch:values() do ... end: receives until the channel is closed.
function chan.values(ch)
  return function()
    local v, ok = ch:recv()
    if ok then return v end
    return nil
  end
end

--- err is a go.Cancelled error (a task or scope was cancelled).
function go.is_cancelled(err)
  return getmetatable(err) == core.Cancelled
end

-- go.coroutine: ucoro's coroutine library, except that a blocking go call
-- inside a coroutine it resumes parks the whole task (the park passes
-- through to the scheduler) instead of yielding to the resumer.
local resume = core.resume_through
local co = {}
for k, v in pairs(ucoro) do co[k] = v end
co.resume = resume
function co.wrap(f, stack)
  local c = ucoro.create(f, stack)
  return function(...)
    local function pass(ok, ...)
      if ok then return ... end
      local err = ...
      if ucoro.status(c) == "dead" then ucoro.close(c) end
      error(err, 0)
    end
    return pass(resume(c, ...))
  end
end
go.coroutine = co

--- A counter to wait on (Go's sync.WaitGroup).
function go.waitgroup()
  local n, done = 0, go.chan()
  local wg = {}
  function wg:add(k)
    n = n + (k or 1)
    if n < 0 then error("waitgroup: negative counter", 2) end
    if n == 0 then
      local old = done
      done = go.chan()
      old:close()
    end
  end
  function wg:done() self:add(-1) end
  function wg:wait(timeout)
    if n == 0 then return true end
    local _, _, why = done:recv(timeout)
    return why ~= "timeout"
  end
  return wg
end

--- A counting semaphore of n permits: acquire([timeout]), release().
function go.semaphore(n)
  local slots = go.chan(n)
  local s = {}
  function s:acquire(timeout)
    return (slots:send(true, timeout))
  end
  function s:release()
    local _, ok = slots:try_recv()
    if not ok then error("semaphore: release without acquire", 2) end
  end
  return s
end

--- A mutex (a semaphore of one): lock(), unlock().
function go.mutex()
  local s = go.semaphore(1)
  return { lock = function() return s:acquire() end,
           unlock = function() s:release() end }
end

--- A condition variable: wait() parks until signal() or broadcast()
-- (no spurious wake-ups).
function go.cond()
  local waiters = {}
  local c = {}
  function c:wait(timeout)
    local ch = go.chan(1)
    waiters[#waiters + 1] = ch
    local _, ok = ch:recv(timeout)
    if not ok then
      for i, w in ipairs(waiters) do
        if w == ch then table.remove(waiters, i) break end
      end
    end
    return ok
  end
  function c:signal()
    local ch = table.remove(waiters, 1)
    if ch then ch:send(true) end
  end
  function c:broadcast()
    local ws = waiters
    waiters = {}
    for _, ch in ipairs(ws) do ch:send(true) end
  end
  return c
end

--- A ticker: t.c receives the time every s seconds until t:stop().
function go.ticker(s)
  local t = { c = go.chan(1) }
  local task = go.spawn({ daemon = true, name = "ticker" }, function()
    local next = go.now() + s
    while true do
      go.sleep(next - go.now())
      t.c:try_send(go.now())
      next = next + s
    end
  end)
  function t:stop() task:cancel("stopped") end
  return t
end

--- go.timer(s, f): runs f after s seconds in a task of its own, unless
-- stopped first; returns the timer (stop() says whether it stopped it).
function go.timer(s, f)
  local fired = false
  local task = go.spawn({ name = "timer" }, function()
    go.sleep(s)
    fired = true
    return f()
  end)
  return { stop = function()
    if fired or task:status() == "done" then return false end
    task:cancel("stopped")
    return true
  end, task = task }
end

go._VERSION = "ucoro.go 0.1.0"
return go
