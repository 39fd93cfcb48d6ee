-- Ticks every 3 ms, five times.
for i = 1, 5 do
  print(("%3d ms  ticker: tick %d"):format(now, i))
  collectgarbage()  -- a full collection between ticks, while others wait
  host.sleep(3)
end
