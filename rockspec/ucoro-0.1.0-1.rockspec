rockspec_format = "3.0"
package = "ucoro"
version = "0.1.0-1"
-- The release tarball `make dist` writes (build/ucoro-0.1.0.tar.gz, with
-- this file beside it): `luarocks build ucoro-0.1.0-1.rockspec` there.
source = {
  url = "ucoro-0.1.0.tar.gz",
  dir = "ucoro-0.1.0",
}
description = {
  summary = "Lua 5.4 coroutines on native C stacks: yield across any C call",
  detailed = [[
ucoro gives Lua 5.4 coroutines native C stacks, so a coroutine can yield
from anywhere: inside a table.sort comparator, a string.gsub callback, a
load reader, a require'd chunk, a metamethod called from C, or a callback
of a C library such as LPeg or lua-expat.  A drop-in replacement for the
coroutine library, ucoro.call for coroutines it did not create, and a C API
for hosts.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- ucoro.go runs on libuv, on the loop luv uses: it needs luv at run time
-- (not listed: Debian's lua-luv is no rock) and libuv1-dev to build
external_dependencies = {
  LIBUV = { header = "uv.h", library = "uv" },
}
build = {
  type = "builtin",
  modules = {
    ["ucoro"] = "lua/ucoro/init.lua",
    ["ucoro.core"] = {
      -- src/core/arch/backend.h picks the switch: the architecture's own,
      -- ucontext elsewhere
      sources = {
        "src/lua/module.c", "src/lua/native.c", "src/lua/bridge.c",
        "src/lua/host.c", "src/lua/export.c", "src/lua/check_word.c",
        "src/core/ucoro.c", "src/core/stack.c", "src/core/lean.c",
        "src/core/arch/context.c", "src/core/arch/x86_64_sysv_elf.S",
        "src/core/arch/aarch64_aapcs_elf.S",
      },
      incdirs = { "src/core", "src/lua" },
    },
    ["ucoro.go"] = "lua/ucoro/go.lua",
    ["ucoro.go.io"] = "lua/ucoro/go/io.lua",
    ["ucoro.go.luvit"] = "lua/ucoro/go/luvit.lua",
    ["ucoro.go.core"] = {
      sources = {
        "src/go/sched.c", "src/go/timer.c", "src/go/chan.c",
        "src/go/scope.c", "src/go/capi.c", "src/go/module.c",
        "src/go/io_wait.c", "src/go/io_stream.c", "src/go/io_fs.c",
        "src/go/io_dns.c", "src/go/io_udp.c", "src/go/io_process.c",
        "src/go/io_module.c", "src/go/luv_walk.c",
      },
      defines = { "_GNU_SOURCE" },
      incdirs = { "src/go", "src/lua", "$(LIBUV_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)" },
      libraries = { "uv" },
    },
  },
  copy_directories = {},
}
