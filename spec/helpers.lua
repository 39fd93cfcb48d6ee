--- Shared by the specs.
local helpers = {}

--- The Lua 5.4 interpreter running the specs.
helpers.lua = os.getenv("LUA") or "lua5.4"

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Runs Lua source in a child interpreter with this process's paths.
-- Returns its output (stdout and stderr), and how it ended, as os.execute
-- does: true|nil, "exit"|"signal", code.
function helpers.run_child(source)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(source)
  f:close()
  local command = ("LUA_PATH=%s LUA_CPATH=%s exec %s %s 2>&1"):format(
    shell_quote(package.path), shell_quote(package.cpath),
    helpers.lua, shell_quote(file))
  local pipe = assert(io.popen(command))
  local output = pipe:read("a")
  local ok, how, code = pipe:close()
  os.remove(file)
  -- the note AddressSanitizer prints once for the ucontext backend
  output = output:gsub("==%d+==WARNING: ASan doesn't fully support makecontext/swapcontext[^\n]*\n", "")
  return output, ok, how, code
end

--- Runs source in a child; its output must be `want` and it must exit 0
-- (a crash there fails one case, not the suite).
function helpers.child_says(want, source)
  local luassert = require "luassert"
  local out, ok = helpers.run_child(source)
  luassert.equal(want, out)
  luassert.is_true(ok, out)
end

--- Is this process running under AddressSanitizer (preloaded)?
helpers.asan = (os.getenv("LD_PRELOAD") or ""):find("libasan") ~= nil

--- Error messages name the function as the caller reached it
-- ('resume', 'coroutine.resume', 'ucoro.resume'...); this drops the name.
function helpers.unnamed(message)
  return (tostring(message):gsub("to '[^']*'", "to '?'"))
end

--- The names of the coroutine library's functions.
helpers.library = { "create", "resume", "running", "status", "wrap", "yield",
                    "isyieldable", "close" }

--- A copy of the coroutine table's functions, to put back with restore
-- after a spec installed ucoro.
function helpers.save_coroutine_library()
  local saved = {}
  for _, k in ipairs(helpers.library) do saved[k] = coroutine[k] end
  return saved
end

function helpers.restore_coroutine_library(saved)
  for _, k in ipairs(helpers.library) do coroutine[k] = saved[k] end
end

--- In a describe block, given busted's before_each and after_each (they
-- are the spec file's, not globals): puts the coroutine table's functions
-- back after each test.
function helpers.keep_coroutine_library(before_each, after_each)
  local saved
  before_each(function() saved = helpers.save_coroutine_library() end)
  after_each(function() helpers.restore_coroutine_library(saved) end)
end

--- Guard pages (PROT_NONE mappings) in this process: one per native stack
-- mapped, and none of the memory a sanitizer maps for itself.
function helpers.count_guard_pages()
  local n = 0
  for line in io.lines("/proc/self/maps") do
    if line:match("^%S+ %-%-%-p ") then n = n + 1 end
  end
  return n
end

--- Runs f(...) in a ucoro coroutine.  Each time it yields, answer gets the
-- yielded values and returns what to resume it with; a full collection
-- runs while it is suspended.  Returns the list of what it yielded and its
-- results (packed).
function helpers.drive(f, answer, ...)
  local ucoro = require "ucoro"
  local co = ucoro.create(f)
  local yields = {}
  local r = table.pack(ucoro.resume(co, ...))
  while r[1] and ucoro.status(co) == "suspended" do
    yields[#yields + 1] = { table.unpack(r, 2, r.n) }
    collectgarbage()
    r = table.pack(ucoro.resume(co, answer(table.unpack(r, 2, r.n))))
  end
  assert(r[1], r[2])
  return yields, table.pack(table.unpack(r, 2, r.n))
end

return helpers
