-- A short tour of ucoro: each case runs the same code twice, with stock
-- coroutines (which stop at the C call) and with ucoro (which yields
-- through it).  Run it with `make demo`.
local ucoro = require "ucoro"
local lpeg = require "lpeg"
local lxp = require "lxp"

local stock = coroutine
local failures = 0

local function heading(title)
  print(("\n== %s"):format(title))
end

-- Runs case(lib) with stock coroutines and with ucoro; prints both.
local function side_by_side(case, expected)
  local ok, err = pcall(case, stock)
  print(("  stock coroutine: %s"):format(ok and "worked?!" or tostring(err):gsub("^.-:%d+: ", "")))
  local worked, result = pcall(case, ucoro)
  if not worked then result = "error: " .. tostring(result) end
  print(("  ucoro:           %s"):format(result))
  if result ~= expected then
    failures = failures + 1
    print(("  EXPECTED:        %s"):format(expected))
  end
end

-- 1. The comparator asks the caller which of two items comes first.
heading("an interactive table.sort: the comparator yields each question")
side_by_side(function(lib)
  local ask = lib.wrap(function(items)
    table.sort(items, function(a, b) return lib.yield(a, b) end)
    return "done", items
  end)
  local a, b = ask({ "banana", "fig", "cherry", "kiwi" })
  local questions = 0
  while a ~= "done" do
    questions = questions + 1
    a, b = ask(#a < #b or (#a == #b and a < b))  -- the "user": shorter first
  end
  return ("%s (%d questions)"):format(table.concat(b, " "), questions)
end, "fig kiwi banana cherry (6 questions)")

-- 2. Expat's callbacks become a stream of events, read one at a time.
heading("a streaming XML reader: lua-expat callbacks yield events")
side_by_side(function(lib)
  local events = lib.wrap(function(chunks)
    local parser = lxp.new({
      StartElement = function(_, name) lib.yield("<" .. name .. ">") end,
      CharacterData = function(_, text) lib.yield(text) end,
      EndElement = function(_, name) lib.yield("</" .. name .. ">") end,
    })
    for _, chunk in ipairs(chunks) do parser:parse(chunk) end
    parser:parse()
    parser:close()
  end)
  local seen = {}
  local event = events({ "<menu><item>tea", "</item><item>co", "ffee</item></menu>" })
  while event do
    seen[#seen + 1] = event
    event = events()
  end
  return table.concat(seen, " ")
end, "<menu> <item> tea </item> <item> co ffee </item> </menu>")

-- 3. An LPeg grammar hands over each token as it matches it.
heading("an LPeg tokenizer: match-time captures yield tokens")
side_by_side(function(lib)
  local function token(kind, patt)
    return lpeg.Cmt(patt, function(_, pos, text)
      lib.yield(kind .. ":" .. text)
      return pos
    end)
  end
  local space = lpeg.S(" \t") ^ 0
  local grammar = (space * (token("num", lpeg.R("09") ^ 1)
                           + token("name", lpeg.R("az") ^ 1)
                           + token("op", lpeg.S("+-*/=")))) ^ 0 * space * -1
  local tokens = lib.wrap(function(text) lpeg.match(grammar, text) end)
  local seen = {}
  local t = tokens("x = 12 * y + 7")
  while t do
    seen[#seen + 1] = t
    t = tokens()
  end
  return table.concat(seen, " ")
end, "name:x op:= num:12 op:* name:y op:+ num:7")

-- 4. Programming in Lua's pipeline: producer -> filter -> consumer, the
-- producer yielding each word from inside string.gsub.
heading("producer-consumer: the producer yields from inside string.gsub")
side_by_side(function(lib)
  local function producer(text)
    return lib.create(function()
      text:gsub("%a+", function(word) lib.yield(word) end)
    end)
  end
  local function receive(prod)
    local ok, value = lib.resume(prod)
    if not ok then error(value, 0) end
    return value
  end
  local function filter(prod)
    return lib.create(function()
      for n = 1, math.huge do
        local word = receive(prod)
        if not word then return end
        lib.yield(("%d:%s"):format(n, word:upper()))
      end
    end)
  end
  local out = {}
  local chain = filter(producer("the quick brown fox"))
  for line in function() return receive(chain) end do out[#out + 1] = line end
  return table.concat(out, " ")
end, "1:THE 2:QUICK 3:BROWN 4:FOX")

-- 5. A C program embedding Lua: its C functions wait by yielding in
-- straight-line C (one inside libc's qsort_r), under its own scheduler.
heading("the embedding host (examples/host): C that yields, several scripts at once")
do
  local build = os.getenv("BUILD") or "build/asm"
  local runner = os.getenv("RUNNER") or ""  -- the emulator of a cross build
  local pipe = io.popen(runner .. " " .. build .. "/host examples/host/ticker.lua examples/host/sorter.lua "
                        .. "examples/host/reader.lua 2>&1")
  local output = pipe:read("a")
  local ok = pipe:close()
  for line in output:gmatch("[^\n]+") do print("  " .. line) end
  if not ok or not output:find("all 3 scripts done", 1, true) then failures = failures + 1 end
end

print(failures == 0 and "\nEvery ucoro case gave its expected result." or
      ("\n%d case(s) went wrong."):format(failures))
os.exit(failures == 0 and 0 or 1)
