-- Installing: make install into a DESTDIR (then a host built against the
-- installed files with pkg-config), luarocks make into a tree, and one
-- version everywhere.  Child commands run without this process's
-- LD_PRELOAD, so a sanitizer run does not reach the compilers.
local ucoro = require "ucoro"
local helpers = require "helpers"

-- The Lua under test, as make variables (the Makefile's test target sets
-- them: LUA_PC=lua5.4 by default, LUA_RELEASE=5.5 ...).
local lua_makeflags = os.getenv("UCORO_LUA_MAKEFLAGS") or ""
local release = lua_makeflags:match("LUA_RELEASE=(%S+)")

local function sh(command)
  local pipe = assert(io.popen("env -u LD_PRELOAD sh -c '" .. command:gsub("'", "'\\''") .. "' 2>&1"))
  local output = pipe:read("a")
  return output, pipe:close()
end

local function tempdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(sh("mkdir -p " .. dir))
  return dir
end

-- A copy of the tracked files, so that builds leave the work tree alone.
local function copy_of_tree(dir)
  local out, ok = sh("git ls-files -z -co --exclude-standard | xargs -0 tar -cf - | tar -xf - -C " .. dir)
  assert(ok, out)
  return dir
end

describe("installation", function()
  it("make install puts everything a host needs under DESTDIR", function()
    local dir = tempdir()
    finally(function() sh("rm -rf " .. dir) end)
    local out, ok = sh(("make install BUILD=%s/build DESTDIR=%s/dest SANITIZE= VALGRIND= "
                        .. "LUA_CMOD=/cmod LUA_LMOD=/lmod %s >/dev/null")
      :format(dir, dir, lua_makeflags))
    assert.is_true(ok, out)
    -- as if the DESTDIR were the root: the .pc files' prefix moved there
    out, ok = sh(("mkdir %s/pc && for pc in ucoro ucoro-lua; do "
                  .. "sed 's|^prefix=|prefix=%s/dest|' %s/$pc.pc > %s/pc/$pc.pc; done")
      :format(dir, dir, dir .. "/dest/usr/local/lib/pkgconfig", dir))
    assert.is_true(ok, out)
    -- a host embedding Lua: ucoro-lua (the binding, and the core it requires)
    -- (a cross build: its compiler, and the emulator that runs it)
    out, ok = sh(("%s examples/host/host.c -o %s/host "
                  .. "$(PKG_CONFIG_PATH=%s/pc pkg-config --cflags --libs ucoro-lua) -lm")
      :format(os.getenv("CC") or "cc", dir, dir))
    assert.is_true(ok, out)
    out, ok = sh(("%s %s/host examples/host/ticker.lua examples/host/reader.lua")
      :format(os.getenv("RUNNER") or "", dir))
    assert.is_true(ok, out)
    assert.matches(" 12 ms  reader: ONE TWO THREE\n", out, 1, true)
    assert.matches("all 2 scripts done at 15 ms\n", out, 1, true)
    -- a C program without Lua: ucoro alone, no Lua anywhere in its flags
    local flags = sh(("PKG_CONFIG_PATH=%s/pc pkg-config --cflags --libs ucoro"):format(dir))
    assert.is_nil(flags:match("%-l%S*lua"), flags)
    assert.is_nil(flags:match("%-I%S*lua5"), flags)
    out, ok = sh(("%s bench/core_bench.c -o %s/core_bench %s && %s %s/core_bench count roundtrip 1000")
      :format(os.getenv("CC") or "cc", dir, flags:gsub("%s+$", ""), os.getenv("RUNNER") or "", dir))
    assert.is_true(ok, out)
    out, ok = sh(("LUA_CPATH='%s/dest/cmod/?.so' LUA_PATH='%s/dest/lmod/?/init.lua' %s -e '%s'")
      :format(dir, dir, helpers.lua, [[
        local u = require "ucoro"
        local w = u.wrap(function() table.sort({ 2, 1 }, function(a, b) u.yield(a) return a < b end) end)
        print("installed", u._VERSION, type(w()))]]))
    assert.is_true(ok, out)
    assert.matches("installed\tucoro %d+%.%d+%.%d+\tnumber", out)
  end)

  it("luarocks make builds and installs it offline", function()
    local dir = tempdir()
    finally(function() sh("rm -rf " .. dir) end)
    copy_of_tree(dir)
    -- a release's own folder (luarocks --lua-dir), else Debian's lua5.4.
    -- Debian's luarocks 3.8 cannot configure 5.5 (it looks for the text
    -- "LUA_VERSION_NUM 505" in lua.h): there it builds for lua5.4.
    local lua_dir = release and not release:match("^5%.5") and helpers.lua:match("^(.*)/bin/lua$")
    local target = lua_dir and ("--lua-dir=" .. lua_dir) or "--lua-version=5.4"
    local lua = lua_dir and helpers.lua or "lua5.4"
    local out, ok = sh(("cd %s && luarocks make %s --tree=%s/tree rockspec/ucoro-scm-1.rockspec")
      :format(dir, target, dir))
    assert.is_true(ok, out)
    out, ok = sh(("LUA_CPATH='%s/tree/lib/lua/5.4/?.so' LUA_PATH='%s/tree/share/lua/5.4/?/init.lua' %s -e '%s'")
      :format(dir, dir, lua, [[
        local u = require "ucoro"
        local co = u.create(function() return (string.gsub("ab", ".", u.yield)) end)
        print(select(2, u.resume(co)), select(2, u.resume(co, "X")), select(2, u.resume(co, "Y")), u.backend)]]))
    assert.is_true(ok, out)
    assert.matches("^a\tb\tXY\t", out)
  end)

  it("make dist writes a tarball that luarocks builds offline with the frozen rockspec", function()
    local dir = tempdir()
    finally(function() sh("rm -rf " .. dir) end)
    local out, ok = sh(("make -s dist BUILD=%s >/dev/null && cd %s && "
                        .. "luarocks build --lua-version=5.4 --tree=%s/tree ucoro-*-1.rockspec"):format(dir, dir, dir))
    assert.is_true(ok, out)
    out, ok = sh(("LUA_CPATH='%s/tree/lib/lua/5.4/?.so' LUA_PATH='%s/tree/share/lua/5.4/?/init.lua' lua5.4 -e '%s'")
      :format(dir, dir, [[print((require "ucoro")._VERSION)]]))
    assert.is_true(ok, out)
    assert.matches("^ucoro %d", out)
  end)

  it("has one version: the header's, the module's and the rockspec's", function()
    local header = assert(io.open("src/core/ucoro.h")):read("a")
    local version = header:match('#define UCORO_VERSION "([^"]+)"')
    assert.equal("ucoro " .. version, ucoro._VERSION)
    local rockspec = assert(io.open(("rockspec/ucoro-%s-1.rockspec"):format(version))):read("a")
    assert.matches(('version = "%s-1"'):format(version), rockspec, 1, true)
    local pc = sh("make -s BUILD=build/version-check build/version-check/ucoro.pc >/dev/null"
                  .. " && cat build/version-check/ucoro.pc")
    assert.matches("Version: " .. version .. "\n", pc, 1, true)
  end)
end)
