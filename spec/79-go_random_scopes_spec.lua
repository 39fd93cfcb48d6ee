-- ucoro.go under random trees of tasks: nested scopes and timeouts,
-- errors, joins, sleeps and cancellations.  Whatever happens, go.run
-- returns, every __close runs, and every error raised is seen somewhere
-- (a join, a scope's error or its errors() list).
local go = require "ucoro.go"

local function scenario(seed)
  math.randomseed(seed)
  go.seed(seed)
  local opened, closed, next_id = 0, 0, 0
  local raised, seen = {}, {}
  local function see(e)
    if type(e) == "string" then seen[e:match("E%d+") or e] = true end
  end
  local body
  local function in_scope(depth)
    local scope
    local ok, e = pcall(go.scope, function(s)
      scope = s
      local kids = {}
      for i = 1, math.random(3) do kids[i] = go.spawn(body, depth + 1) end
      if math.random(2) == 1 then
        local okj, ej = kids[1]:join()
        if not okj then see(ej) end
      end
      go.sleep(math.random() * 0.002)
    end)
    if not ok then see(e) end
    for _, x in ipairs(scope:errors()) do see(x) end
  end
  body = function(depth)
    opened = opened + 1
    local _ <close> = setmetatable({}, { __close = function() closed = closed + 1 end })
    local r = math.random(11)
    if depth < 3 and r <= 3 then
      in_scope(depth)
    elseif depth < 3 and r == 4 then
      go.timeout(math.random() * 0.003, in_scope, depth)
    elseif r == 5 then
      next_id = next_id + 1
      local id = "E" .. next_id
      go.sleep(math.random() * 0.001)  -- (a cancel here raises instead)
      raised[id] = true
      error(id, 0)
    elseif r == 6 then
      local t = go.spawn(body, depth + 1)
      go.yield()
      if math.random(2) == 1 then t:cancel("chaos") end
      local okj, ej = t:join()
      if not okj then see(ej) end
    elseif r == 9 then  -- shielded from outer cancellation for a while
      go.shield(function() go.sleep(math.random() * 0.002) end)
    elseif r == 10 then  -- a generator that parks inside, under a sort
      local gen = go.coroutine.wrap(function()
        for i = 1, 3 do
          table.sort({ 3, 1, 2 }, function(a, b) go.sleep(0.0002) return a < b end)
          coroutine.yield(i)
        end
      end)
      gen() gen()
    elseif r == 11 then  -- select over a join, a done op and a timer
      local t = go.spawn(body, depth + 1)
      local k, okj, ej = go.select(t:join_op(), go.after(math.random() * 0.002))
      if k == 1 and not okj then see(ej) end
      if k ~= 1 then
        local okj2, ej2 = t:join()
        if not okj2 then see(ej2) end
      end
    else
      go.sleep(math.random() * 0.002)
    end
  end
  local ok, err = go.run(function() in_scope(0) end)
  return ok, err, opened, closed, raised, seen
end

describe("random trees of tasks, scopes and errors", function()
  local rounds = os.getenv("UCORO_TEST_QUICK") and 5 or 25
  for seed = 1, rounds do
    it("lose no error and no __close, seed " .. seed, function()
      local ok, err, opened, closed, raised, seen = scenario(seed)
      assert.is_true(ok, err)
      assert.equal(opened, closed)
      for id in pairs(raised) do assert.is_true(seen[id] == true, "lost " .. id) end
    end)
  end
end)
