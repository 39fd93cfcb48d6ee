-- Waits in a string.gsub callback, under ucoro.call (a stock coroutine).
local ucoro = require "ucoro"
local words = ucoro.call(function()
  return (("one two three"):gsub("%a+", function(w)
    host.sleep(4)
    print(("%3d ms  reader: %s"):format(now, w))
    return w:upper()
  end))
end)
print(("%3d ms  reader: %s"):format(now, words))
