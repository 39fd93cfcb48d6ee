-- ucoro.go under random operations: producers and consumers over a few
-- channels with every way to send and receive (plain, timed, select, try),
-- and a chaos task cancelling some of them (consumers enough remain).  Whatever happens, a value is
-- received at most once, only if its send succeeded, and every value whose
-- send succeeded is received (by a consumer or by the final drain).
local go = require "ucoro.go"

local function scenario(seed, producers, consumers, per_producer)
  math.randomseed(seed)
  go.seed(seed)
  local sent, received, dup = {}, {}, {}
  local ok, err = go.run(function()
    local chans = { go.chan(0), go.chan(1), go.chan(3), go.chan(0) }
    local function any() return chans[math.random(#chans)] end
    local ptasks, ctasks = {}, {}
    local wg = go.waitgroup()
    for p = 1, producers do
      wg:add()
      ptasks[p] = go.spawn(function()
        local _ <close> = setmetatable({}, { __close = function() wg:done() end })
        for i = 1, per_producer do
          local v = p * 100000 + i
          local how = math.random(4)
          if how == 1 then
            any():send(v) sent[v] = true
          elseif how == 2 then
            if any():send(v, math.random() * 0.002) then sent[v] = true end
          elseif how == 3 then
            local a, b = any(), any()
            local k = go.select(a:send_op(v), b:send_op(v), go.after(math.random() * 0.002))
            if k ~= 3 then sent[v] = true end
          else
            if any():try_send(v) then sent[v] = true end
            go.yield()
          end
        end
      end)
    end
    local function record(v)
      if received[v] then dup[#dup + 1] = v end
      received[v] = true
    end
    for c = 1, consumers do
      ctasks[c] = go.spawn(function()
        while true do
          local how = math.random(4)
          local v, okr, why
          if how == 1 then  -- consumers never wait on one channel for good:
            v, okr, why = any():recv(0.005)  -- a producer's plain send waits
          elseif how == 2 then
            v, okr, why = any():recv(math.random() * 0.002)
          elseif how == 3 then
            local k
            k, v, okr, why = go.select(any():recv_op(), any():recv_op(), go.after(0.001))
            if k == 3 then okr, why = false, "timeout" end
          else
            v, okr, why = any():try_recv()
          end
          if okr then record(v) elseif why == "closed" then return end
          if how == 4 then go.yield() end
        end
      end)
    end
    go.spawn(function()  -- chaos: cancel two producers and one consumer
      for i = 1, 3 do
        go.sleep(math.random() * 0.003)
        local t = i == 3 and ctasks[math.random(#ctasks)] or ptasks[math.random(#ptasks)]
        t:cancel("chaos")
      end
    end)
    wg:wait()
    for _, ch in ipairs(chans) do ch:close() end
    for _, t in ipairs(ctasks) do t:join() end
    for _, ch in ipairs(chans) do  -- what cancelled consumers left
      for v in ch:values() do record(v) end
    end
  end)
  return ok, err, sent, received, dup
end

describe("random channel operations", function()
  local rounds = os.getenv("UCORO_TEST_QUICK") and 3 or 12
  for seed = 1, rounds do
    it("keep every value once, seed " .. seed, function()
      local ok, err, sent, received, dup = scenario(seed, 4, 3, 40)
      assert.is_true(ok, err)
      assert.same({}, dup)
      for v in pairs(received) do assert.is_true(sent[v] == true, "received unsent " .. v) end
      for v in pairs(sent) do assert.is_true(received[v] == true, "lost " .. v) end
    end)
  end
end)
