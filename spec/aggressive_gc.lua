-- Loaded before the specs by `make test GC=aggressive`: a collection step
-- at (nearly) every allocation, so that objects die at the worst moments.
collectgarbage("incremental", 0, 1000, 0)
