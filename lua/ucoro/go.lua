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
-- As stock wrap: an erred coroutine is closed (an error of its __close
-- replaces its own), and a string message gets the caller's position.
function co.wrap(f, stack)
  local c = ucoro.create(f, stack)
  local function pass(ok, ...)
    if ok then return ... end
    local err = ...
    if ucoro.status(c) == "dead" then
      local closed, cerr = ucoro.close(c)
      if not closed then err = cerr end
    end
    if type(err) == "string" then error(err, 2) end
    error(err, 0)
  end
  return function(...)
    return pass(resume(c, ...))  -- a tail call: level 2 is our caller
  end
end
go.coroutine = co

--- A counter to wait on (Go's sync.WaitGroup).
local WaitGroup = {}
WaitGroup.__index = WaitGroup

function go.waitgroup()
  return setmetatable({ n = 0, done_ch = go.chan() }, WaitGroup)
end

function WaitGroup:add(k)
  self.n = self.n + (k or 1)
  if self.n < 0 then error("waitgroup: negative counter", 2) end
  if self.n == 0 then
    local old = self.done_ch
    self.done_ch = go.chan()
    old:close()
  end
end

function WaitGroup:done() self:add(-1) end

--- Parks until the counter is zero; false when the timeout passed first.
function WaitGroup:wait(timeout)
  if self.n == 0 then return true end
  local _, _, why = self.done_ch:recv(timeout)
  return why ~= "timeout"
end

--- A counting semaphore of n permits: acquire([timeout]), release().
local Semaphore = {}
Semaphore.__index = Semaphore

function go.semaphore(n)
  return setmetatable({ slots = go.chan(n) }, Semaphore)
end

function Semaphore:acquire(timeout)
  return (self.slots:send(true, timeout))
end

function Semaphore:release()
  local _, ok = self.slots:try_recv()
  if not ok then error("semaphore: release without acquire", 2) end
end

--- A mutex (a semaphore of one): lock(), unlock().
function go.mutex()
  local s = go.semaphore(1)
  return { lock = function() return s:acquire() end,
           unlock = function() s:release() end }
end

--- A condition variable: wait() parks until signal() or broadcast()
-- (no spurious wake-ups).
local Cond = {}
Cond.__index = Cond

function go.cond()
  return setmetatable({ waiters = {} }, Cond)
end

-- Takes ch out of c's line: false when it was not in it any more (a
-- signal or a broadcast took it).
local function leave(c, ch)
  for i, w in ipairs(c.waiters) do
    if w == ch then
      table.remove(c.waiters, i)
      return true
    end
  end
  return false
end

function Cond:wait(timeout)
  local ch = go.chan(1)
  local waiters = self.waiters
  waiters[#waiters + 1] = ch
  local returned
  -- cancelled: out of line; a signal that took it already goes on to
  -- the next waiter (not lost on a wait that ends)
  local _ <close> = setmetatable({}, { __close = function()
    if returned or leave(self, ch) then return end
    if ch:try_recv() == "signal" then self:signal() end
  end })
  local _, ok = ch:recv(timeout)
  returned = true
  -- timed out as a signal or a broadcast took it: it is this waiter's
  if not ok and not leave(self, ch) then ok = true end
  return ok
end

function Cond:signal()
  local ch = table.remove(self.waiters, 1)
  if ch then ch:send("signal") end
end

function Cond:broadcast()
  local ws = self.waiters
  self.waiters = {}
  for _, ch in ipairs(ws) do ch:send("broadcast") end
end

--- A ticker: t.c receives the time every s seconds until t:stop().
local Ticker = {}
Ticker.__index = Ticker

function go.ticker(s)
  local t = setmetatable({ c = go.chan(1) }, Ticker)
  t.task = go.spawn({ daemon = true, name = "ticker" }, function()
    local next = go.now() + s
    while true do
      go.sleep(next - go.now())
      t.c:try_send(go.now())
      next = next + s
    end
  end)
  return t
end

function Ticker:stop() self.task:cancel("stopped") end

--- go.timer(s, f): runs f after s seconds in a task of its own, unless
-- stopped first; returns the timer (stop() says whether it stopped it).
function go.timer(s, f)
  local fired, stopped = false, false
  local task = go.spawn({ name = "timer" }, function()
    go.sleep(s)
    -- (woken by its time, it may run only after a stop(): a cancellation
    -- is seen at the next park, and there is none before f)
    if stopped then return end
    fired = true
    return f()
  end)
  return { stop = function()
    if fired or stopped or task:status() == "done" then return false end
    stopped = true
    task:cancel("stopped")
    return true
  end, task = task }
end

require("ucoro.go.io").extend(go, core)

go._VERSION = "ucoro.go 0.1.0"
return go
