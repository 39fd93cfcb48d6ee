-- Modes: own stacks, lean (shared) stacks, and auto; what ucoro.mode and
-- ucoro.ownlimit answer, and lean coroutines doing what own ones do.
local ucoro = require "ucoro"
local helpers = require "helpers"

local function parked_in_sort(mode)
  local co = ucoro.create(function(t)
    table.sort(t, function(a, b) ucoro.yield(a, b) return a < b end)
    return table.concat(t, " ")
  end, mode)
  return co
end

describe("modes", function()
  local saved
  before_each(function() saved = ucoro.mode() end)
  after_each(function() ucoro.mode(saved) end)

  it("are auto by default, and ucoro.mode sets the default, returning the old", function()
    local out, ok = helpers.run_child('print(require("ucoro").mode())')
    assert(ok, out)
    assert.equal("auto\n", out)
    ucoro.mode("auto")
    assert.equal("auto", ucoro.mode("lean"))
    assert.equal("lean", ucoro.mode("own"))
    assert.equal("own", ucoro.mode())
  end)

  it("reject a name that is not a mode", function()
    assert.error_matches(function() ucoro.mode("big") end,
                         "bad argument #1 to '[^']*' %(invalid option 'big'%)")
    assert.error_matches(function() ucoro.create(print, "big") end,
                         "bad argument #2 to '[^']*' %(invalid option 'big'%)")
    assert.error_matches(function() ucoro.wrap(print, "") end,
                         "bad argument #2 to '[^']*' %(invalid option ''%)")
    assert.equal(saved, ucoro.mode())
  end)

  it("tell each coroutine's mode while it has a native stack", function()
    for _, mode in ipairs({ "own", "lean" }) do
      local co = parked_in_sort(mode)
      assert.is_nil(ucoro.mode(co))  -- not started
      ucoro.resume(co, { 3, 1, 2 })
      assert.equal(mode, ucoro.mode(co))
      while ucoro.status(co) ~= "dead" do ucoro.resume(co) end
      assert.is_nil(ucoro.mode(co))
      local inside = ucoro.wrap(function() return ucoro.mode(ucoro.running()) end, mode)
      assert.equal(mode, inside())
    end
  end)

  it("follow the default set with ucoro.mode", function()
    ucoro.mode("lean")
    local co = parked_in_sort()
    ucoro.resume(co, { 2, 1 })
    assert.equal("lean", ucoro.mode(co))
    ucoro.close(co)
  end)

  it("give the same results in every mode, parked round robin", function()
    local results = {}
    for _, mode in ipairs({ "own", "lean", "auto" }) do
      local cos, out = {}, {}
      for i = 1, 50 do
        local t = {}
        for k = 1, 8 do t[k] = (i * 7 + k * 13) % 17 end
        cos[i] = parked_in_sort(mode)
        ucoro.resume(cos[i], t)
      end
      local live = #cos
      while live > 0 do
        live = 0
        for i, co in ipairs(cos) do
          if ucoro.status(co) == "suspended" then
            local _, a = ucoro.resume(co)
            if ucoro.status(co) == "dead" then out[i] = a else live = live + 1 end
          end
        end
      end
      results[mode] = out
    end
    assert.same(results.own, results.lean)
    assert.same(results.own, results.auto)
  end)

  it("let lean coroutines resume one another in any order", function()
    -- six lean coroutines on at most four shared stacks: some resume one
    -- whose frames must go where their own are
    ucoro.mode("lean")
    local peers, log = {}, {}
    for i = 1, 6 do
      peers[i] = ucoro.create(function()
        local mine = { i, i * 10 }
        for round = 1, 12 do
          local target = peers[(i + round) % 6 + 1]
          if target ~= peers[i] and ucoro.status(target) == "suspended" then
            table.sort({ 2, 1 }, function(a, b)
              local ok, v = ucoro.resume(target)
              log[#log + 1] = ok and v or "error"
              return a < b
            end)
          end
          assert(mine[1] == i and mine[2] == i * 10)
          ucoro.yield(i)
        end
        return -i
      end)
    end
    repeat
      local live = 0
      for i = 1, 6 do
        if ucoro.status(peers[i]) == "suspended" then
          assert.is_true((ucoro.resume(peers[i])))
          live = live + 1
        end
      end
    until live == 0
    assert.is_true(#log >= 30)  -- nested resumes, each seen to yield or end
    for _, v in ipairs(log) do assert.is_number(v) end
  end)

  it("close and collect parked lean coroutines, running their __close", function()
    local closed = {}
    local co = ucoro.create(function()
      local _ <close> = setmetatable({}, { __close = function() closed[#closed + 1] = "c" end })
      table.sort({ 2, 1 }, function() ucoro.yield() return false end)
    end, "lean")
    ucoro.resume(co)
    assert.same({ true }, { ucoro.close(co) })
    assert.same({ "c" }, closed)
    for _ = 1, 100 do ucoro.resume(parked_in_sort("lean"), { 2, 1 }) end
    collectgarbage()
    collectgarbage()
  end)

  it("past ucoro.ownlimit(), auto coroutines are lean", function()
    local out, ok = helpers.run_child([[
      local ucoro = require "ucoro"
      assert(ucoro.ownlimit() >= 1000)
      ucoro.ownlimit(0)
      local co = ucoro.create(function() ucoro.yield() end)
      ucoro.resume(co)
      print(ucoro.mode(co))
      print(pcall(ucoro.ownlimit, -1))
      print(pcall(ucoro.ownlimit, "x"))
    ]])
    assert(ok, out)
    assert.equal("lean\nfalse\tbad argument #1 to '?' (limit must not be negative)\n"
                 .. "false\tbad argument #1 to '?' (number expected, got string)\n",
                 helpers.unnamed(out))
  end)
end)
