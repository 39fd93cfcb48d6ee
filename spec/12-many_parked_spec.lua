-- Many ucoro coroutines (and stock ones under ucoro.resume) parked in the
-- C-call boundaries of the catalogue (spec/boundaries.lua) at once.
local ucoro = require "ucoro"
local stock = coroutine

-- Each calls inner() once from inside one C-call boundary and returns
-- what inner returned (a string).
local layers = require("boundaries").list

describe("many ucoro coroutines parked in C at once", function()
  -- A small deterministic generator for the shuffles.
  local seed = 20240607
  local function random(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  local function shuffle(list)
    for i = #list, 2, -1 do
      local j = random(i)
      list[i], list[j] = list[j], list[i]
    end
  end

  it("gives each of 200 (half of them stock-created), resumed in shuffled order, the values meant for it", function()
    local count = 200
    local function answer(id, question) return question .. "@" .. id end
    -- Coroutine id asks (id % 4 + 1) questions inside one kind of boundary.
    local function body(id, ask_one)
      local layer = layers[(id - 1) % #layers + 1]
      return layer.name .. ":" .. layer.enter(function()
        local parts = {}
        for q = 1, id % 4 + 1 do parts[q] = ask_one("q" .. q) end
        return table.concat(parts, "+")
      end)
    end
    local expected, cos = {}, {}
    for id = 1, count do
      expected[id] = body(id, function(question) return answer(id, question) end)
      local create = id % 2 == 0 and stock.create or ucoro.create
      cos[id] = create(function()
        return body(id, function(question)
          local to, a = ucoro.yield(id, question)
          if to ~= id then error(("%d got the answer for %s"):format(id, tostring(to))) end
          return a
        end)
      end)
    end
    local pending, live = {}, {}
    for id = 1, count do
      local ok, who, question = ucoro.resume(cos[id])
      assert(ok and who == id, who)
      pending[id], live[id] = question, id
    end
    local parked = 0
    for id = 1, count do
      if ucoro.status(cos[id]) == "suspended" then parked = parked + 1 end
    end
    assert.equal(count, parked)
    local results, rounds = {}, 0
    while #live > 0 do
      rounds = rounds + 1
      shuffle(live)
      collectgarbage()
      local still = {}
      for _, id in ipairs(live) do
        local ok, who, question = ucoro.resume(cos[id], id, answer(id, pending[id]))
        assert(ok, who)
        if ucoro.status(cos[id]) == "dead" then
          results[id] = who
        else
          assert(who == id, who)
          pending[id], still[#still + 1] = question, id
        end
      end
      live = still
    end
    assert.equal(4, rounds)
    assert.same(expected, results)
  end)
end)
