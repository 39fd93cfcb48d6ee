-- The example host (examples/host): C functions that yield in straight-line
-- C, one inside libc's qsort_r callback, under a C lua_resume scheduler.
local build = os.getenv("BUILD") or "build/asm"

local function run_host(...)
  local command = build .. "/host"
  for _, script in ipairs({ ... }) do command = command .. " examples/host/" .. script end
  local pipe = assert(io.popen(command .. " 2>&1"))
  local output = pipe:read("a")
  return output, pipe:close()
end

describe("the example host", function()
  it("runs its scripts concurrently on a virtual clock", function()
    local output, ok = run_host("ticker.lua", "sorter.lua", "sorter2.lua", "reader.lua")
    assert.is_true(ok, output)
    assert.equal(table.concat({
      "  0 ms  ticker: tick 1",
      "  0 ms  sorter: sorting",
      "  0 ms  sorter2: sorting",
      "  3 ms  ticker: tick 2",
      "  3 ms  sorter2: a b c",
      "  4 ms  reader: one",
      "  5 ms  sorter: apple fig pear plum",
      "  6 ms  ticker: tick 3",
      "  8 ms  reader: two",
      "  9 ms  ticker: tick 4",
      " 12 ms  ticker: tick 5",
      " 12 ms  reader: three",
      " 12 ms  reader: ONE TWO THREE",
      "all 4 scripts done at 15 ms",
      "" }, "\n"), output)
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
