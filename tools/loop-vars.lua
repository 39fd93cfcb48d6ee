-- Adapts a Lua file to Lua 5.5, where a for loop's control variables are
-- read-only: while the file does not compile because a loop assigns to
-- one, that loop takes the value under another name and declares the
-- variable as a local of its body, on the same line (line numbers kept).
--   lua5.5 tools/loop-vars.lua FILE      (tools/lua-modules runs it)
local path = assert(arg[1], "usage: loop-vars.lua FILE")
local lines = {}
for l in io.lines(path) do lines[#lines + 1] = l end
local changed = false
for _ = 1, 100 do
  local ok, err = load(table.concat(lines, "\n"), "=" .. path)
  if ok then break end
  local at, var = err:match(":(%d+): attempt to assign to const variable '([%w_]+)'")
  if not at then io.stderr:write(err, "\n"); os.exit(1) end
  local fixed = false
  for i = tonumber(at), 1, -1 do
    local l = lines[i]
    local head, names, rest = l:match("^(%s*for%s+)([%w_%s,]-)(%s+in%s.*)$")
    if not head then head, names, rest = l:match("^(%s*for%s+)([%w_]+)(%s*=.*)$") end
    if names and (","  .. names:gsub("%s", "") .. ","):find("," .. var .. ",", 1, true) then
      local renamed = names:gsub("%f[%w_]" .. var .. "%f[^%w_]", var .. "_loop")
      local before, after = rest:match("^(.*%f[%w_]do%f[^%w_])(.*)$")
      if not before then break end
      lines[i] = head .. renamed .. before .. " local " .. var .. " = " .. var .. "_loop;" .. after
      fixed, changed = true, true
      break
    end
  end
  if not fixed then
    io.stderr:write(path, ":", at, ": no loop header to adapt for '", var, "'\n")
    os.exit(1)
  end
end
assert(load(table.concat(lines, "\n"), "=" .. path))
if changed then
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end
