-- busted --helper: every spec runs with lean coroutines by default
-- (tools/run-tests with MODE=lean).
require("ucoro").mode("lean")
