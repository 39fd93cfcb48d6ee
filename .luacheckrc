-- luacheck (Debian's lua-check): `luacheck .`
std = "lua54"
-- luacheck 1.1 counts a to-be-closed variable as unused: those are named
-- with a leading underscore
ignore = { "211/_.*" }
exclude_files = { "build/", "ucoro/" }
files["spec/"] = { std = "+busted" }
-- puts back the coroutine library's fields after specs that install ucoro
files["spec/helpers.lua"] = { globals = { "coroutine" } }
-- the example host's scripts get `host` and `now` from the host
files["examples/host/"] = { read_globals = { "host", "now" } }
