-- ucoro.go installed: make install and luarocks make put ucoro.go and its
-- C part where require finds them.  Child commands run without this
-- process's LD_PRELOAD (a sanitizer run does not reach the compilers).
local function sh(command)
  local pipe = assert(io.popen("env -u LD_PRELOAD sh -c '" .. command:gsub("'", "'\\''") .. "' 2>&1"))
  local output = pipe:read("a")
  return output, pipe:close()
end

local probe = [[
  local go = require "ucoro.go"
  print(go.run(function()
    local ch = go.chan()
    go.spawn(function() go.sleep(0.001) ch:send("ok") end)
    return (ch:recv())
  end))]]

describe("ucoro.go installed", function()
  it("by make install", function()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() sh("rm -rf " .. dir) end)
    local out, ok = sh(("make install BUILD=%s/build DESTDIR=%s/dest SANITIZE= VALGRIND= >/dev/null")
      :format(dir, dir))
    assert.is_true(ok, out)
    local cmod = sh("pkg-config --variable=INSTALL_CMOD lua5.4"):gsub("%s+$", "")
    local lmod = sh("pkg-config --variable=INSTALL_LMOD lua5.4"):gsub("%s+$", "")
    -- (the interpreter the specs run on: another architecture's under its emulator)
    out, ok = sh(("LUA_CPATH='%s/dest%s/?.so;;' LUA_PATH='%s/dest%s/?.lua;%s/dest%s/?/init.lua' %s -e '%s'")
      :format(dir, cmod, dir, lmod, dir, lmod, os.getenv("LUA") or "lua5.4", probe))
    assert.is_true(ok, out)
    assert.equal("true\tok\n", out)
  end)
end)
