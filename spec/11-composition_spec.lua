-- ucoro.yield in C-call boundaries composed: boundaries nested in each
-- other (a tower of every entry of the catalogue, spec/boundaries.lua),
-- and coroutines nested in each other, each parked in a boundary.
local ucoro = require "ucoro"
local helpers = require "helpers"
local testmod = require "ucoro_testmod"
local lxp = require "lxp"

local drive = helpers.drive
-- Each calls inner() once from inside one C-call boundary and returns
-- what inner returned (a string).
local layers = require("boundaries").list

-- ucoro.yield behind a Lua frame, to pass as a comparator or callback.
local function ask(...)
  return ucoro.yield(...)
end

describe("ucoro.yield in boundaries nested in each other", function()
  -- Sorts the letters of each word of each text node, through compare.
  local function sort_words(xml, compare)
    local texts = {}
    local parser = lxp.new({
      CharacterData = function(_, text)
        texts[#texts + 1] = text:gsub("%a+", function(word)
          local letters = {}
          for c in word:gmatch(".") do letters[#letters + 1] = c end
          table.sort(letters, compare)
          return table.concat(letters)
        end)
      end,
    })
    assert(parser:parse(xml))
    assert(parser:parse())
    parser:close()
    return table.concat(texts)
  end

  it("yields from a sort comparator in a gsub callback in an lxp callback", function()
    local xml = "<p>cab dog</p>"
    local expected = {}
    local plain = sort_words(xml, function(x, y)
      expected[#expected + 1] = { x, y }
      return x > y
    end)
    assert.equal("cba ogd", plain)
    local yields, results = drive(function()
      return sort_words(xml, ask)
    end, function(x, y) return x > y end)
    assert.same(expected, yields)
    assert.same({ plain, n = 1 }, results)
  end)

  it("passes values up through a tower of every boundary, yielding at each level", function()
    local function level(k)
      if k > #layers then
        return function() return ucoro.yield("bottom", ucoro.running(), ucoro.isyieldable()) end
      end
      local name, wrap, inner = layers[k].name, layers[k].enter, level(k + 1)
      return function() return ucoro.yield(name, wrap(inner)) end
    end
    local co = ucoro.create(level(1))
    assert.same({ true, "bottom", co, true }, { ucoro.resume(co) })
    -- Every C function of the tower is still on the parked thread's stack.
    local on_stack = {}
    for depth = 0, math.huge do
      local info = debug.getinfo(co, depth, "Sf")
      if not info then break end
      if info.what == "C" then on_stack[info.func] = true end
    end
    for _, layer in ipairs(layers) do
      for i, f in ipairs(layer.c) do
        assert(on_stack[f], ("%s: C function #%d is not on the stack"):format(layer.name, i))
      end
    end
    local value = "x"
    for k = #layers, 1, -1 do
      collectgarbage()
      assert.same({ true, layers[k].name, value }, { ucoro.resume(co, value) })
      value = layers[k].name .. "(" .. value .. ")"
    end
    assert.matches("^sort%(sort __lt%(gsub%(", value)
    assert.same({ true, value }, { ucoro.resume(co, value) })
    assert.equal("dead", ucoro.status(co))
  end)

  it("unwinds an error raised after a resume through every boundary to the pcall around them", function()
    local err = setmetatable({}, { __tostring = function() return "the error" end })
    local inner = function()
      if ucoro.yield("bottom") == "fail" then error(err) end
      return "fine"
    end
    local names = {}
    for _, layer in ipairs(layers) do
      local name, wrap, below = layer.name, layer.enter, inner
      if name ~= "pcall" and name ~= "xpcall handler" then  -- those catch errors
        names[#names + 1] = name
        inner = function() return wrap(below) end
      end
    end
    local top = inner
    local co = ucoro.create(function()
      local ok, e = pcall(top)
      local after = ucoro.yield("caught", ok, e == err)
      return after, top()
    end)
    assert.is_true(#names >= 15)
    assert.same({ true, "bottom" }, { ucoro.resume(co) })
    assert.same({ true, "caught", false, true }, { ucoro.resume(co, "fail") })
    assert.same({ true, "bottom" }, { ucoro.resume(co, "after") })
    assert.same({ true, "after", "fine" }, { ucoro.resume(co, "ok") })
  end)
end)

describe("ucoro coroutines nested, each parked in C", function()
  it("parks A in sort and B in gsub, resuming B from A and from the main thread", function()
    local events = {}
    local function event(...) events[#events + 1] = table.concat({ ... }, " ") end
    local A, B
    B = ucoro.create(function(s)
      event("B starts with", s)
      return (s:gsub("%a", function(c)
        local r = ucoro.yield("B", c)
        event("B got", r, "for", c)
        return r
      end))
    end)
    A = ucoro.create(function()
      local t = { "y", "x" }
      table.sort(t, function(p, q)
        local _, who, c = ucoro.resume(B, "ab")
        event("A's comparator got", who, c)
        event("A sees itself", ucoro.status(A), "and B", ucoro.status(B))
        local go = ucoro.yield("A", "parked in sort")
        event("A got", go)
        local ok, result = ucoro.resume(B, "2")
        event("A's comparator got", tostring(ok), result)
        return p < q
      end)
      return table.concat(t)
    end)
    assert.same({ true, "A", "parked in sort" }, { ucoro.resume(A) })
    assert.equal("suspended", ucoro.status(A))
    assert.equal("suspended", ucoro.status(B))
    collectgarbage()
    assert.same({ true, "B", "b" }, { ucoro.resume(B, "1") })
    assert.same({ true, "xy" }, { ucoro.resume(A, "go") })
    assert.equal("dead", ucoro.status(A))
    assert.equal("dead", ucoro.status(B))
    assert.same({
      "B starts with ab",
      "A's comparator got B a",
      "A sees itself running and B suspended",
      "B got 1 for a",
      "A got go",
      "B got 2 for b",
      "A's comparator got true 12",
    }, events)
  end)

  it("finishes from the main thread coroutines another one started and left parked in C", function()
    local B1 = ucoro.create(function()
      return (("ab"):gsub("%a", function(c) return ucoro.yield(c) end))
    end)
    local B2 = ucoro.create(function()
      table.sort({ 1, 2 }, function()
        error("boom " .. ucoro.yield("in sort"), 0)
      end)
    end)
    local A = ucoro.create(function()
      local first = { ucoro.resume(B1) }
      local second = { ucoro.resume(B2) }
      local last = ucoro.yield(first, second)
      return "A got " .. last
    end)
    assert.same({ true, { true, "a" }, { true, "in sort" } }, { ucoro.resume(A) })
    assert.same({ true, "b" }, { ucoro.resume(B1, "x") })
    assert.same({ true, "xy" }, { ucoro.resume(B1, "y") })
    assert.same({ false, "boom z" }, { ucoro.resume(B2, "z") })
    assert.equal("dead", ucoro.status(B2))
    assert.same({ true, "A got end" }, { ucoro.resume(A, "end") })
  end)

  it("resumes from a gsub callback on the main thread a generator parked in C", function()
    local gen = ucoro.wrap(function(first)
      local got = { first }
      testmod.each({ "1", "2", "3" }, function(n) got[#got + 1] = ucoro.yield(n) end)
      return table.concat(got)
    end)
    assert.equal("1-2-3", (("a-b-c"):gsub("%a", gen)))
    assert.equal("abcd", gen("d"))
  end)

  it("passes values down and back up a chain of coroutines, each parked in another boundary", function()
    local cos = {}
    for k, layer in ipairs(layers) do
      local name, wrap = layer.name, layer.enter
      cos[k] = ucoro.create(function(down)
        return wrap(function()
          local below, up = cos[k + 1], down
          if below then
            local ok, v = ucoro.resume(below, down .. ">" .. name)
            assert(ok, v)
            up = v
          end
          local back = ucoro.yield(up .. "<" .. name)
          if below then
            local ok, v = ucoro.resume(below, back)
            assert(ok, v)
            back = v
          end
          return back .. "<" .. name
        end)
      end)
    end
    local down, up = "go", ""
    for k = 1, #layers - 1 do down = down .. ">" .. layers[k].name end
    for k = #layers, 1, -1 do up = up .. "<" .. layers[k].name end
    assert.same({ true, down .. up }, { ucoro.resume(cos[1], "go") })
    for k = 1, #layers do assert.equal("suspended", ucoro.status(cos[k])) end
    collectgarbage()
    assert.same({ true, "back" .. up }, { ucoro.resume(cos[1], "back") })
    for k = 1, #layers do assert.equal("dead", ucoro.status(cos[k])) end
  end)
end)
