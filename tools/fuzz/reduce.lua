--- Minimises a program that diverges: removes statements (a line, with
-- the lines indented under it and its closing "end...") for as long as
-- the program still loads and still diverges the same way.  Generated programs are indented by nesting,
-- which is all this relies on.
local check = require "fuzz.check"

local reduce = {}

local function indent(line) return #line:match("^ *") end

-- The last line of the statement that starts at line i.
local function statement_end(lines, i)
  local d = indent(lines[i])
  local j = i
  while lines[j + 1] and indent(lines[j + 1]) > d do j = j + 1 end
  -- its closing line ("end", "end))"...), also after an emptied body
  if lines[j + 1] and indent(lines[j + 1]) == d and lines[j + 1]:match("^ *end") then
    j = j + 1
  end
  return j
end

-- The same divergence: the same configurations part at a line of the
-- same statement (its tag) in the reference trace.
local function kind(result)
  local d = result.divergence
  if not d then return nil end
  local line = d.traces[d.against][d.line] or "(trace ended)"
  return ("%s/%s/%s"):format(d.subject, d.against, line:match("^%S+"))
end

--- Returns the smallest source found that diverges as source does (a
-- string), and the number of checks it took; nil if source does not
-- diverge.  opts as check.source's.
function reduce.source(source, opts)
  local wanted = kind(check.source(source, opts))
  if not wanted then return nil end
  local lines = {}
  for line in source:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  local checks = 0
  local progress = true
  while progress do
    progress = false
    local i = #lines
    while i >= 1 do
      local j = statement_end(lines, i)
      local candidate = {}
      for k = 1, #lines do
        if k < i or k > j then candidate[#candidate + 1] = lines[k] end
      end
      local text = table.concat(candidate, "\n") .. "\n"
      if load(text, "=fuzz") then
        checks = checks + 1
        local ok, result = pcall(check.source, text, opts)
        if ok and kind(result) == wanted then
          lines, progress = candidate, true
        end
      end
      i = math.min(i - 1, #lines)
    end
  end
  return table.concat(lines, "\n") .. "\n", checks
end

return reduce
