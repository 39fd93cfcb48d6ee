-- A second sorter, sorting at the same time as the first.
print(("%3d ms  sorter2: sorting"):format(now))
local sorted = host.sort_slowly({ "c", "a", "b" })
print(("%3d ms  sorter2: %s"):format(now, table.concat(sorted, " ")))
