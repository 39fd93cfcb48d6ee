-- Sorts with qsort; every comparison waits 1 ms inside qsort's callback.
print(("%3d ms  sorter: sorting"):format(now))
local sorted = host.sort_slowly({ "pear", "fig", "apple", "plum" })
print(("%3d ms  sorter: %s"):format(now, table.concat(sorted, " ")))
