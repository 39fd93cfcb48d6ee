-- The debug library sees a coroutine's frames, also beneath C frames.
local ucoro = require "ucoro"

local function comparator(a, b)
  ucoro.yield("in comparator")
  return a < b
end

describe("debug functions on a parked coroutine", function()
  it("traceback shows the frames beneath the C boundary", function()
    local co = ucoro.create(function()
      local function body() table.sort({ 2, 1 }, comparator) end
      body()
    end)
    ucoro.resume(co)
    local tb = debug.traceback(co)
    -- 5.4 names C functions by where they are loaded ("function
    -- 'table.sort'"), 5.5 by how they were called ("field 'sort'")
    assert.matches("%[C%]: in %a+ '[%w.]-yield'", tb)
    assert.matches("05%-debug_spec%.lua:5: in function", tb)  -- comparator
    assert.matches("%[C%]: in %a+ '[%w.]-sort'", tb)
    assert.matches("in local 'body'", tb)
  end)

  it("getinfo walks the levels of the parked thread", function()
    local co = ucoro.create(function() table.sort({ 2, 1 }, comparator) end)
    ucoro.resume(co)
    assert.equal("C", debug.getinfo(co, 0, "S").what)          -- yield
    assert.equal(comparator, debug.getinfo(co, 1, "f").func)
    assert.equal(table.sort, debug.getinfo(co, 2, "f").func)
    local locals = {}
    for i = 1, 2 do locals[i] = debug.getlocal(co, 1, i) end
    assert.same({ "a", "b" }, locals)
  end)

  it("sethook on the thread sees lines run after a resume", function()
    local lines = {}
    local co = ucoro.create(function()
      table.sort({ 2, 1 }, comparator)
      local x = 1
      x = x + 1
      return x
    end)
    ucoro.resume(co)
    debug.sethook(co, function(_, line) lines[#lines + 1] = line end, "l")
    local ok, v = ucoro.resume(co)
    while v == "in comparator" do ok, v = ucoro.resume(co) end
    assert.is_true(ok)
    assert.equal(2, v)
    assert.is_true(#lines >= 3)
  end)
end)
