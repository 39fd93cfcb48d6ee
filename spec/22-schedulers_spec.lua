-- Real schedulers nobody here wrote: cqueues and luv (libuv).
local ucoro = require "ucoro"
local helpers = require "helpers"

describe("under real schedulers", function()
  helpers.keep_coroutine_library(before_each, after_each)
  after_each(function() package.loaded.cqueues = nil end)

  it("interleaves two cqueues tasks sleeping inside LPeg callbacks", function()
    ucoro.install()  -- before cqueues captures coroutine.yield
    package.loaded.cqueues = nil
    local cqueues = require "cqueues"
    local lpeg = require "lpeg"
    local log = {}
    local function tokenizer(name, delay)
      local word = lpeg.Cmt(lpeg.R("az") ^ 1, function(_, pos, w)
        log[#log + 1] = name .. "<" .. w
        cqueues.sleep(delay)
        log[#log + 1] = name .. ">" .. w
        return pos
      end)
      local words = (word * lpeg.P(" ") ^ -1) ^ 0
      return function() ucoro.call(lpeg.match, words, "one two three") end
    end
    local cq = cqueues.new()
    cq:wrap(tokenizer("a", 0.01))
    cq:wrap(tokenizer("b", 0.025))
    assert(cq:loop())
    -- each starts while the other sleeps inside its first callback
    local first_two = { log[1], log[2] }
    table.sort(first_two)
    assert.same({ "a<one", "b<one" }, first_two)
    local function of(task)
      local mine = {}
      for _, event in ipairs(log) do
        if event:sub(1, 1) == task then mine[#mine + 1] = event end
      end
      return mine
    end
    for _, task in ipairs({ "a", "b" }) do
      assert.same({ task .. "<one", task .. ">one", task .. "<two", task .. ">two",
                    task .. "<three", task .. ">three" }, of(task))
    end
  end)

  it("resumes from a libuv timer a coroutine parked in an expat callback", function()
    local uv = require "luv"
    -- luv 1.44 frees its loop with its module table but keeps a pointer to
    -- it: a later require (busted clears package.loaded between files)
    -- would reuse freed memory.  Keep the module for the whole run.
    debug.getregistry()["spec: luv"] = uv
    local lxp = require "lxp"
    local events = {}
    local co = ucoro.create(function()
      local parser = lxp.new({
        StartElement = function(_, name)
          local got = ucoro.yield(name)
          events[#events + 1] = "start " .. name .. " got " .. tostring(got)
        end,
      })
      parser:parse("<a><b/><c/></a>")
      parser:close()
      return "parsed"
    end)
    local _, first = ucoro.resume(co)
    events[#events + 1] = "yielded " .. first
    local timer = uv.new_timer()
    local ticks = 0
    timer:start(1, 1, function()
      ticks = ticks + 1
      local _, v = ucoro.resume(co, "tick" .. ticks)
      events[#events + 1] = "yielded " .. tostring(v)
      if ucoro.status(co) == "dead" then timer:stop() timer:close() end
    end)
    uv.run()
    assert.same({ "yielded a", "start a got tick1", "yielded b", "start b got tick2",
                  "yielded c", "start c got tick3", "yielded parsed" }, events)
  end)
end)
