-- The example host (examples/host): C functions that yield in straight-line
-- C, one inside libc's qsort_r callback, under a C lua_resume scheduler.
local build = os.getenv("BUILD") or "build/asm"

local function run_host(...)
  -- (RUNNER: the emulator that runs another architecture's build)
  local command = (os.getenv("RUNNER") or "") .. " " .. build .. "/host"
  for _, script in ipairs({ ... }) do command = command .. " examples/host/" .. script end
  local pipe = assert(io.popen(command .. " 2>&1"))
  local output = pipe:read("a")
  return output, pipe:close()
end

describe("the example host", function()
  it("runs its scripts concurrently on a virtual clock", function()
    local output, ok = run_host("ticker.lua", "sorter.lua", "sorter2.lua", "reader.lua")
    assert.is_true(ok, output)
    local lines = {}
    for line in output:gmatch("[^\n]+") do lines[#lines + 1] = line end
    local function at(pattern)
      for i, line in ipairs(lines) do if line:find(pattern, 1, true) then return i, line end end
      error("no line with " .. pattern .. " in:\n" .. output)
    end
    -- the ticker and the reader keep their clocks...
    for i, ms in ipairs({ 0, 3, 6, 9, 12 }) do
      assert.is_truthy(at(("%3d ms  ticker: tick %d"):format(ms, i)))
    end
    for _, line in ipairs({ "  4 ms  reader: one", "  8 ms  reader: two",
                            " 12 ms  reader: three", " 12 ms  reader: ONE TWO THREE" }) do
      assert.is_truthy(at(line))
    end
    -- ...while the sorters wait inside qsort_r (how many comparisons it
    -- makes is the C library's business), and all of them interleave
    local done1, line1 = at("sorter: apple fig pear plum")
    local done2, line2 = at("sorter2: a b c")
    assert.is_true(tonumber(line1:match("%d+")) >= 3)
    assert.is_true(tonumber(line2:match("%d+")) >= 2)
    assert.is_true(done1 > at("  3 ms  ticker: tick 2"))
    assert.is_true(done2 > at("  3 ms  ticker: tick 2") - 1)
    assert.equal("all 4 scripts done at 15 ms", lines[#lines])
  end)

  it("reports a script's error and goes on with the others", function()
    local f = assert(io.open("examples/host/failing.lua.tmp", "w"))
    f:write("host.sleep(1)\nerror('broken script', 0)\n")
    f:close()
    local output, ok = run_host("ticker.lua", "failing.lua.tmp")
    os.remove("examples/host/failing.lua.tmp")
    assert.is_nil(ok)
    assert.matches("examples/host/failing.lua.tmp: broken script", output, 1, true)
    assert.matches(" 12 ms  ticker: tick 5", output, 1, true)
  end)
end)
