-- Userdata given one of our metatables (debug.setmetatable; the
-- metatables are reached through getmetatable, the registry, upvalues).
-- Our types were known by their metatable: the forged userdata's memory
-- (a 16-byte file handle) was read and written as our struct, also by
-- its __gc and __close.  Now they are known by size and a check word:
-- every method refuses a forged one ("X expected"), its __gc and __close
-- do nothing.  Each case runs in a child, so a crash fails one case.
local helpers = require "helpers"

local child_says = helpers.child_says

-- In the child: forge(mt) makes a file handle with metatable mt;
-- methods(mt) lists the methods of mt.__index that took a forged
-- userdata ("refused" when none did; an iterator returned is called); finalizers(mt) calls its __close
-- and __gc on forged ones, and lets the collector finalize another.
local PRELUDE = [[
  local function forge(mt)
    local u = io.tmpfile()
    debug.setmetatable(u, mt)
    return u
  end
  local function methods(mt)
    local took = {}
    for name, f in pairs(type(mt.__index) == "table" and mt.__index or {}) do
      local ok, err = pcall(function()
        local r = f(forge(mt))
        if type(r) == "function" then r() end  -- (lines: an iterator)
      end)
      err = tostring(err)  -- (a method call's: "bad self")
      if ok or not (err:find("#1 .*expected") or err:find("bad self .*expected")) then
        took[#took + 1] = name
      end
    end
    table.sort(took)
    return #took == 0 and "refused" or table.concat(took, ",")
  end
  local function finalizers(mt)
    if mt.__close then mt.__close(forge(mt), nil) end
    if mt.__gc then mt.__gc(forge(mt)) end
    local u = forge(mt)
    u = nil
    for _ = 1, 3 do collectgarbage() end
    return "harmless"
  end
]]

describe("a userdata given a ucoro.go metatable", function()
  for _, name in ipairs({ "stream", "file", "udp", "process", "signal" }) do
    it("of a " .. name .. " is refused by its methods and finalized harmlessly", function()
      child_says("refused\tharmless\ndone\n", PRELUDE .. ([[
        local go = require "ucoro.go"
        local mt = assert(debug.getregistry()["ucoro.go.%s"])
        go.run(function() print(methods(mt), finalizers(mt)) end)
        print("done")
      ]]):format(name))
    end)
  end

  it("of a scope is refused by its methods and select, finalized harmlessly", function()
    child_says("refused\tfalse\tharmless\ndone\n", PRELUDE .. [[
      local go = require "ucoro.go"
      go.run(function()
        local mt
        go.scope(function(s) mt = getmetatable(s) end)
        local ok, err = pcall(go.select, { 5, forge(mt) })  -- (a done op made by hand)
        print(methods(mt), ok or not tostring(err):find("expected", 1, true),
              finalizers(mt))
      end)
      print("done")
    ]])
  end)

  it("of the scheduler (upvalue 1 of go's functions) is finalized harmlessly", function()
    child_says("harmless\ndone\n", PRELUDE .. [[
      local go = require "ucoro.go"
      local _, sched = debug.getupvalue(go.run, 1)
      local mt = assert(getmetatable(sched))
      go.run(function() print(finalizers(mt)) end)
      print("done")
    ]])
  end)

  it("of a C API wait's guard is finalized harmlessly", function()
    child_says("ok\tharmless\ndone\n", PRELUDE .. [[
      local go = require "ucoro.go"
      local capi = require "ucoro_go_testmod"
      go.run(function()
        local code = capi.work(0)  -- (makes the guards' metatable)
        print(code, finalizers(assert(debug.getregistry()["ucoro.go.wait_guard"])))
      end)
      print("done")
    ]])
  end)
end)

describe("a userdata given a ucoro.core metatable", function()
  it("of ucoro.call's guard is refused by the bridge, closed harmlessly", function()
    child_says("false\tharmless\ndone\n", PRELUDE .. [[
      local ucoro = require "ucoro"
      ucoro.call(function() end)  -- (makes the guards' metatable)
      local mt = assert(debug.getregistry()["ucoro.call"])
      local bridge
      for i = 1, math.huge do
        local name, v = debug.getupvalue(ucoro.call, i)
        if name == nil then break end
        if name == "bridge" then bridge = v end
      end
      local ok, err = pcall(assert(bridge), forge(mt), print, "took")
      print(ok or not tostring(err):find("#1 .*expected"), finalizers(mt))
      print("done")
    ]])
  end)

  it("of a thread's native half is finalized harmlessly", function()
    child_says("harmless\ndone\n", PRELUDE .. [[
      local ucoro = require "ucoro"
      print(finalizers(assert(debug.getregistry()["ucoro.native"])))
      print("done")
    ]])
  end)

  -- the registry holds the config (a userdata) and the handles table
  -- (whose __gc drops every run it holds) under light userdata keys
  local FIND = [[
    local ucoro = require "ucoro"
    local config_mt, handles_mt
    for k, v in pairs(debug.getregistry()) do
      local mt = getmetatable(v)
      if type(k) == "userdata" and mt and mt.__gc then
        if type(v) == "userdata" then config_mt = mt else handles_mt = mt end
      end
    end
  ]]

  it("of the config is finalized harmlessly", function()
    child_says("harmless\ndone\n", PRELUDE .. FIND .. [[
      print(finalizers(assert(config_mt)))
      print("done")
    ]])
  end)

  it("in a table given the handles table's metatable is not dropped as a run", function()
    child_says("harmless\ndone\n", PRELUDE .. FIND .. [[
      local native_mt = assert(debug.getregistry()["ucoro.native"])
      local function forged_handles()
        return setmetatable({ io.tmpfile(), forge(native_mt), x = forge(native_mt) },
                            assert(handles_mt))
      end
      handles_mt.__gc(forged_handles())
      local t = forged_handles()
      t = nil
      for _ = 1, 3 do collectgarbage() end
      print("harmless")
      print("done")
    ]])
  end)
end)
