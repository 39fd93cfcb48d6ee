-- ucoro.go installed: make install and luarocks make put ucoro.go and its
-- C part where require finds them.  Child commands run without this
-- process's LD_PRELOAD (a sanitizer run does not reach the compilers).
local helpers = require "helpers"

-- The Lua under test, as make variables (see spec/31-packaging_spec.lua).
local lua_makeflags = os.getenv("UCORO_LUA_MAKEFLAGS") or ""

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

-- A copy of the tracked files, so that builds leave the work tree alone.
local function copy_of_tree(dir)
  local out, ok = sh("mkdir -p " .. dir
    .. " && git ls-files -z -co --exclude-standard | xargs -0 tar -cf - | tar -xf - -C " .. dir)
  assert(ok, out)
end

describe("ucoro.go installed", function()
  it("by luarocks make (its C sources listed in the rockspec)", function()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() sh("rm -rf " .. dir) end)
    copy_of_tree(dir)
    local out, ok = sh(("cd %s && luarocks make --lua-version=5.4 --tree=%s/tree rockspec/ucoro-scm-1.rockspec")
      :format(dir, dir))
    assert.is_true(ok, out)
    local share = dir .. "/tree/share/lua/5.4"
    out, ok = sh(("LUA_CPATH='%s/tree/lib/lua/5.4/?.so;;' LUA_PATH='%s/?.lua;%s/?/init.lua' lua5.4 -e '%s'")
      :format(dir, share, share, probe))
    assert.is_true(ok, out)
    assert.equal("true\tok\n", out)
  end)

  it("by make install", function()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() sh("rm -rf " .. dir) end)
    local out, ok = sh(("make install BUILD=%s/build DESTDIR=%s/dest SANITIZE= VALGRIND= "
                        .. "LUA_CMOD=/cmod LUA_LMOD=/lmod %s >/dev/null"):format(dir, dir, lua_makeflags))
    assert.is_true(ok, out)
    -- the installed files first, then the paths of the Lua under test (luv)
    out, ok = sh(("LUA_CPATH='%s/dest/cmod/?.so;%s' LUA_PATH='%s/dest/lmod/?.lua;%s/dest/lmod/?/init.lua;%s' %s -e '%s'")
      :format(dir, package.cpath, dir, dir, package.path, helpers.lua, probe))
    assert.is_true(ok, out)
    assert.equal("true\tok\n", out)
  end)
end)
