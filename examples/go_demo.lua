-- make demo, ucoro.go's part: goroutines and channels on native stacks.
local go = require "ucoro.go"
local lpeg = require "lpeg"

local failures = 0
local function check(label, got, want)
  print(("  %-28s %s"):format(label, got))
  if got ~= want then
    print(("  %-28s %s"):format("expected", want))
    failures = failures + 1
  end
end

print("\n== ucoro.go: producer and consumer over a channel (PiL's example, as Go does it)")
local ok, out = go.run(function()
  local ch = go.chan()
  go.spawn(function()                       -- the producer
    for word in ("the quick brown fox"):gmatch("%a+") do ch:send(word) end
    ch:close()
  end)
  local words = {}
  for word in ch:values() do words[#words + 1] = word:upper() end   -- the consumer
  return table.concat(words, " ")
end)
check("consumer got:", tostring(ok) .. " " .. out, "true THE QUICK BROWN FOX")

print("\n== ucoro.go: a pipeline whose middle stage parks inside an LPeg match")
-- Stage 2 parses "name=key" lines with an LPeg grammar; a match-time
-- capture asks a dictionary task for each key's value over a channel, so
-- the task parks inside lpeg.match (a C function), which stock Lua cannot.
ok, out = go.run(function()
  local lines, parsed, asks = go.chan(), go.chan(), go.chan()
  go.spawn({ daemon = true }, function()     -- the dictionary service
    local dict = { fruit = "fig", nut = "pecan", berry = "kiwi" }
    for ask in asks:values() do ask.reply:send(dict[ask.key] or "?") end
  end)
  go.spawn(function()                        -- stage 1: the source
    for _, l in ipairs({ "a=fruit", "b=nut", "c=berry" }) do lines:send(l) end
    lines:close()
  end)
  go.spawn(function()                        -- stage 2: parse, look up
    local lookup = lpeg.Cmt(lpeg.C(lpeg.R("az") ^ 1), function(_, pos, key)
      local reply = go.chan()
      asks:send({ key = key, reply = reply })
      return pos, (reply:recv())             -- parked inside lpeg.match
    end)
    local line = lpeg.C(lpeg.R("az")) * "=" * lookup
    for l in lines:values() do parsed:send(table.concat({ line:match(l) }, "=")) end
    parsed:close()
  end)
  local sink = {}                            -- stage 3: the sink
  for p in parsed:values() do sink[#sink + 1] = p end
  return table.concat(sink, " ")
end)
check("pipeline output:", tostring(ok) .. " " .. tostring(out), "true a=fig b=pecan c=kiwi")

print(failures == 0 and "\nEvery ucoro.go case gave its expected result." or
      ("\n%d ucoro.go case(s) went wrong."):format(failures))
os.exit(failures == 0 and 0 or 1)
