--- The reference for ucoro.go's benchmarks: a run queue and Go channels
-- written in Lua on stock coroutines (the subset the benchmarks use:
-- run, spawn, chan, send, recv, yield), as a Lua-only scheduler would be.
local ref = {}
local ready, head, tail = {}, 1, 0
local current

local function push(co, v)
  tail = tail + 1
  ready[tail] = { co, v }
end

function ref.spawn(f, ...)
  local args = table.pack(...)
  push(coroutine.create(function() return f(table.unpack(args, 1, args.n)) end))
end

function ref.yield()
  push(current)
  coroutine.yield()
end

local Chan = {}
Chan.__index = Chan

function ref.chan() return setmetatable({ recvq = {}, sendq = {} }, Chan) end

function Chan:send(v)
  local r = table.remove(self.recvq, 1)
  if r then push(r, v) return true end
  self.sendq[#self.sendq + 1] = { current, v }
  coroutine.yield()
  return true
end

function Chan:recv()
  local s = table.remove(self.sendq, 1)
  if s then push(s[1]) return s[2], true end
  self.recvq[#self.recvq + 1] = current
  return coroutine.yield(), true
end

function ref.run(main, ...)
  ref.spawn(main, ...)
  while head <= tail do
    local e = ready[head]
    ready[head] = nil
    head = head + 1
    current = e[1]
    local ok, err = coroutine.resume(current, e[2])
    if not ok then return false, err end
  end
  return true
end

return ref
