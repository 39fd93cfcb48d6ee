# ucoro: native C stacks for Lua 5.4 coroutines.
#
#   make            build the libraries and the Lua module
#   make test       build and run every test (C and busted); last line is
#                   "N passed, N failed, N skipped"
#   make demo       build and run the tour in examples/
#   make bench      run the benchmarks in bench/
#   make stress     random create/park/resume/close/collect operations,
#                   checked, then memory checked (COUNT (1000000), SEED
#                   (1); under SANITIZE=address or VALGRIND=1 too)
#   make install    install the module, the facade, headers, the static
#                   libraries and their .pc files (PREFIX, DESTDIR)
#   make lint       luacheck, cppcheck
#   make dist       the release tarball and its rockspec, in $(BUILD)/
#   make fuzz       the differential fuzzer (tools/fuzz/README.md)
#
# Variables (override on the command line):
# The Lua to build and test against, one of:
#   LUA_PC=NAME       a pkg-config name (default lua5.4: Debian's 5.4.4);
#   LUA_INCDIR=DIR    an include folder (as luarocks passes it), with
#                     LUA=INTERPRETER, and LUA_LIBDIR=DIR (liblua.a or
#                     liblua.so there) for the C tests and the host;
#   LUA_RELEASE=V     a Lua release built from Debian's source packages
#                     (tools/lua-release: 5.4.7, 5.4.9, 5.5.1; 5.4 and 5.5
#                     name the newest), with the modules the tests need
#                     (tools/lua-modules).
# A build for another Lua than the default goes to its own BUILD folder.
LUA_PC    ?= lua5.4
LUA_RELEASE ?=
LUA_INCDIR ?=
LUA_LIBDIR ?=
ifneq ($(LUA_RELEASE),)
LUA_DIR   := $(shell tools/lua-release $(LUA_RELEASE) >&2 && tools/lua-release $(LUA_RELEASE))
ifeq ($(LUA_DIR),)
$(error tools/lua-release $(LUA_RELEASE) failed)
endif
LUA_INCDIR := $(LUA_DIR)/include
LUA_LIBDIR := $(LUA_DIR)/lib
LUA       := $(LUA_DIR)/bin/lua
endif
LUA       ?= lua5.4
# CROSS: build for another target with Debian's cross compilers, and run
# the tests there: "aarch64" (under qemu-user, with the arm64 interpreter
# and Lua modules in build/sysroot-aarch64: tools/cross-sysroot), "musl"
# (musl-gcc: the C core's tests, and the module in a musl-built Lua),
# "i686" (natively, the i386 interpreter in build/sysroot-i686), "armhf"
# (the libraries and the module only: make build-check)
CROSS     ?=
CROSS_CC_aarch64 = aarch64-linux-gnu-gcc
CROSS_CC_i686    = i686-linux-gnu-gcc
CROSS_CC_armhf   = arm-linux-gnueabihf-gcc
CROSS_CC_musl    = musl-gcc
ifneq ($(CROSS),)
ifeq ($(CROSS_CC_$(CROSS)),)
$(error CROSS=$(CROSS): one of aarch64, musl, i686, armhf)
endif
CC        := $(CROSS_CC_$(CROSS))
ifneq ($(CROSS),musl)
AR        := $(patsubst %-gcc,%-ar,$(CC))
# the target's .pc files (multiarch), for liblua5.4-dev:arm64's flags
export PKG_CONFIG_LIBDIR := /usr/lib/$(shell $(CC) -print-multiarch)/pkgconfig:/usr/share/pkgconfig
endif
endif
# RUNNER: a command that runs the target's programs (tools/run-tests);
# for CROSS=aarch64 qemu-user, without binfmt_misc, and the arm64
# interpreter and busted's arm64 modules from the private sysroot
RUNNER    ?=
SYSROOT_aarch64 = build/sysroot-aarch64
SYSROOT_i686    = build/sysroot-i686
DEBARCH_aarch64 = arm64
DEBARCH_i686    = i386
ifeq ($(CROSS),aarch64)
RUNNER    := qemu-aarch64
endif
# i686 runs natively on x86-64: the same, without an emulator
ifneq ($(filter aarch64 i686,$(CROSS)),)
LUA       := $(CURDIR)/$(SYSROOT_$(CROSS))/usr/bin/lua5.4
export LUA_CPATH := $(CURDIR)/$(SYSROOT_$(CROSS))/usr/lib/$(shell $(CC) -print-multiarch)/lua/5.4/?.so;;
endif
# The target: the compiler's (x86_64-linux-gnu, aarch64-linux-gnu...).
TARGET    := $(shell $(or $(CC),cc) -dumpmachine 2>/dev/null)
TARGET_ARCH := $(firstword $(subst -, ,$(TARGET)))
# BACKEND: "asm" (the architecture's own switch: x86-64, aarch64), "sjlj"
# (makecontext once, then _setjmp/_longjmp: glibc), or "ucontext"
# (swapcontext); src/core/arch/backend.h makes the choice (sjlj where
# there is no asm), this names the build
BACKEND   ?= $(if $(filter x86_64 aarch64,$(TARGET_ARCH)),asm,sjlj)
# SANITIZE: empty, "address" (ASan+UBSan) or "thread" (TSan)
SANITIZE  ?=
# VALGRIND=1: run the tests under valgrind memcheck
VALGRIND  ?=
BUILD     ?= build/$(if $(CROSS),$(CROSS)-)$(BACKEND)$(if $(SANITIZE),-$(SANITIZE))$(if $(LUA_INCDIR),-lua$(LUA_VERSION))
CC        ?= cc
CFLAGS    ?= -O2 -g
# WERROR=1 turns warnings into errors (CI does)
WERROR    ?=
# make stress, make fuzz: how many, and the seed of the draw (defaults:
# each target's own)
COUNT     ?=
SEED      ?=
PREFIX    ?= /usr/local
DESTDIR   ?=
LUA_CMOD  ?= $(shell pkg-config --variable=INSTALL_CMOD $(LUA_PC) 2>/dev/null)
LUA_LMOD  ?= $(shell pkg-config --variable=INSTALL_LMOD $(LUA_PC) 2>/dev/null)
INCLUDEDIR ?= $(PREFIX)/include/ucoro
LIBDIR    ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

ifneq ($(LUA_INCDIR),)
LUA_CFLAGS := -I$(LUA_INCDIR)
LUA_LIBS  := $(if $(LUA_LIBDIR),-L$(LUA_LIBDIR)) -llua -lm -ldl
# "5.5.1": names the build folder
HASH := \#
LUA_VERSION := $(shell printf '$(HASH)include <lua.h>\nLUA_RELEASE\n' | \
  $(CC) -E -P $(LUA_CFLAGS) - 2>/dev/null | tail -n 1 | sed 's/[" ]//g; s/^Lua//')
else
LUA_CFLAGS := $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)
LUA_LIBS := $(shell pkg-config --libs $(LUA_PC) 2>/dev/null)
endif

# CROSS=musl: Lua, cmocka and LPeg built with musl-gcc (tools/musl-sysroot);
# TLS in the default model (compiler.h), in the compiler's default dialect:
# musl resolves a dlopen'd module's TLS dynamically either way, and
# TLSDESC (-mtls-dialect=gnu2) measured 10 instructions more per wrap
# round trip than __tls_get_addr on x86-64 (bench/README.md)
SYSROOT_musl = build/sysroot-musl
# Where the C tests find cmocka (the system's, but with musl)
CMOCKA_FLAGS =
ifeq ($(CROSS),musl)
CMOCKA_FLAGS := -I$(CURDIR)/$(SYSROOT_musl)/include -L$(CURDIR)/$(SYSROOT_musl)/lib
LUA        := $(CURDIR)/$(SYSROOT_musl)/bin/lua
LUA_CFLAGS := -I$(CURDIR)/$(SYSROOT_musl)/include
LUA_LIBS   := $(CURDIR)/$(SYSROOT_musl)/lib/liblua.a -L$(CURDIR)/$(SYSROOT_musl)/lib
export LUA_CPATH := $(CURDIR)/$(SYSROOT_musl)/lib/lua/5.4/?.so;;
# busted's own C modules exist for glibc only: the module runs the stress
LUA_SUITE  := stress
# nor is there a libuv for musl here: no ucoro.go
GO_MODULE_OFF := 1
ifneq ($(BACKEND),asm)
$(error musl has no getcontext/makecontext/swapcontext: BACKEND=$(BACKEND) does not build there; use BACKEND=asm)
endif
endif

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
       -Wpointer-arith -Wundef -Wwrite-strings $(if $(WERROR),-Werror)

SAN_address = -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
SAN_thread  = -fsanitize=thread
SANFLAGS    = $(SAN_$(SANITIZE))

BACKEND_ucontext = -DUCORO_BACKEND_UCONTEXT
BACKEND_sjlj     = -DUCORO_BACKEND_SJLJ
# Each .S is built only for its own architecture (and only for asm).
ARCH_S_x86_64  = src/core/arch/x86_64_sysv_elf.S
ARCH_S_aarch64 = src/core/arch/aarch64_aapcs_elf.S
ARCH_SRC  = $(if $(filter asm,$(BACKEND)),$(ARCH_S_$(TARGET_ARCH)))
# aarch64: BTI landing pads and PAC return addresses in every function,
# and the GNU property note that says so (where the loader finds it on
# every object, it guards the pages: an indirect branch to anything but a
# landing pad traps)
BRANCH_PROTECTION_aarch64 = -mbranch-protection=standard -mno-outline-atomics
# ...and the module links no C runtime start files nor libgcc's outline
# atomics (Debian's carry no property note, which would drop the
# module's): glibc then guards its pages, also under qemu, so every spec
# run checks the landing pads
MODULE_LDFLAGS_aarch64 = -nostartfiles
BTI_CHECK_aarch64 = $(if $(filter %-gcc,$(CC)),$(patsubst %-gcc,%-readelf,$(CC)),readelf) -n $(LUA_MODULE) | \
  grep -q 'AArch64 feature: BTI' || { echo "$(LUA_MODULE): no BTI note"; exit 1; }
ALL_CFLAGS = $(CFLAGS) $(WARN) $(SANFLAGS) -fPIC -std=c11 $(BACKEND_$(BACKEND)) \
             $(BRANCH_PROTECTION_$(TARGET_ARCH)) $(TLS_DIALECT)

# Hidden symbols: the module exports only what lua_ucoro.h marks, and
# calls between its files skip the PLT.
LIB_CFLAGS = $(ALL_CFLAGS) -fvisibility=hidden

# The layers: the core (no Lua: only its own include path), the Lua
# binding on top of it.
CORE_INC    = -Isrc/core
BINDING_INC = -Isrc/core -Isrc/lua $(LUA_CFLAGS)
CORE_SRC = src/core/ucoro.c src/core/stack.c src/core/lean.c \
           src/core/arch/context.c $(ARCH_SRC)
BINDING_SRC = src/lua/module.c src/lua/native.c src/lua/bridge.c \
              src/lua/check_word.c src/lua/host.c src/lua/export.c
CORE_OBJ = $(patsubst src/%,$(BUILD)/obj/%.o,$(CORE_SRC))
BINDING_OBJ = $(patsubst src/%,$(BUILD)/obj/%.o,$(BINDING_SRC))

# The goroutine layer, its own module on libuv (the loop luv uses).
GO_SRC = src/go/sched.c src/go/timer.c src/go/chan.c src/go/scope.c \
         src/go/capi.c src/go/module.c \
         src/go/io_wait.c src/go/io_stream.c src/go/io_fs.c \
         src/go/io_dns.c src/go/io_udp.c src/go/io_process.c \
         src/go/io_module.c src/go/luv_walk.c
GO_OBJ = $(patsubst src/%,$(BUILD)/obj/%.o,$(GO_SRC))
UV_CFLAGS := $(shell pkg-config --cflags libuv 2>/dev/null)
UV_LIBS := $(or $(shell pkg-config --libs libuv 2>/dev/null),-luv)

CORE_LIB    = $(BUILD)/libucoro.a
BINDING_LIB = $(BUILD)/libucoro-lua.a
LUA_MODULE  = $(BUILD)/ucoro/core.so
GO_MODULE   = $(if $(GO_MODULE_OFF),,$(BUILD)/ucoro/go/core.so)
PC_FILES    = $(BUILD)/ucoro.pc $(BUILD)/ucoro-lua.pc
HOST        = $(BUILD)/host
TEST_MODULE = $(BUILD)/ucoro_testmod.so $(BUILD)/ucoro_go_testmod.so \
              $(BUILD)/line_host
C_TESTS     = $(patsubst spec/c/%.c,$(BUILD)/test/%,\
              $(wildcard spec/c/core/*_test.c spec/c/lua/*_test.c \
                         $(if $(GO_MODULE),spec/c/go/*_test.c)))
CORE_BENCH  = $(BUILD)/core_bench

# Runs a command from the tree: the build's module first on Lua's paths,
# a sanitizer's runtime preloaded (tools/in-tree).
IN_TREE = BUILD=$(BUILD) SANITIZE=$(SANITIZE) CC=$(CC) tools/in-tree

.PHONY: all test build-check bench qemu-bench clean deps install lint demo stress fuzz dist
all: $(CORE_LIB) $(BINDING_LIB) $(LUA_MODULE) $(GO_MODULE)

$(BUILD)/obj/core/%.o: src/core/% src/core/*.h src/core/arch/*
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(CORE_INC) -c $< -o $@

$(BUILD)/obj/lua/%.o: src/lua/% src/lua/*.h src/core/*.h src/core/arch/*
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(BINDING_INC) -c $< -o $@

# Static libraries for C programs: the core alone (no Lua), and the
# binding for hosts that embed Lua (it needs the core).
$(CORE_LIB): $(CORE_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BINDING_LIB): $(BINDING_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# A Lua C module does not link liblua: the interpreter exports the API.
$(LUA_MODULE): $(CORE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $(MODULE_LDFLAGS_$(TARGET_ARCH)) $^ -o $@

$(BUILD)/obj/go/%.o: src/go/% src/go/*.h src/lua/lua_ucoro_api.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -D_GNU_SOURCE -Isrc/go -Isrc/lua $(LUA_CFLAGS) $(UV_CFLAGS) -c $< -o $@

# ucoro.go's C part uses ucoro only through its Lua functions and the
# binding's C API (lua_ucoro_api.h, found at run time in the registry).
$(GO_MODULE): $(GO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $^ -o $@ $(UV_LIBS)

# The example host embeds Lua and links the binding statically.
$(HOST): examples/host/host.c src/lua/lua_ucoro.h $(BINDING_LIB) $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(BINDING_INC) $< -o $@ $(BINDING_LIB) $(CORE_LIB) \
	  $(LUA_LIBS) -lm

# Built only for the specs: C that calls back into Lua with lua_call.
$(BUILD)/ucoro_testmod.so: spec/c/testmod.c
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -shared $< -o $@

# C functions that block through ucoro_go.h, for the specs.
$(BUILD)/ucoro_go_testmod.so: spec/c/go_testmod.c spec/c/go/pool_job.h src/go/ucoro_go.h
	$(CC) $(ALL_CFLAGS) -Isrc/go -Ispec/c $(LUA_CFLAGS) -shared $< -o $@

# The example C host: embeds Lua and ucoro.go, and serves a line protocol
# with straight-line C reads and writes parked through ucoro_go.h
# (examples/c_server/).  -rdynamic: the modules it loads find Lua's API in
# it when liblua is static.
$(BUILD)/line_host: examples/c_server/line_host.c src/go/ucoro_go.h
	$(CC) $(ALL_CFLAGS) -D_GNU_SOURCE -Isrc/go $(LUA_CFLAGS) -rdynamic $< -o $@ $(LUA_LIBS) -lm

# Every spec/c/LAYER/NAME_test.c is a cmocka program, built as
# $(BUILD)/test/LAYER/NAME_test (tools/run-tests runs it).  The core's
# tests see only the core's headers and link no Lua: the core needs none.
$(BUILD)/test/core/%_test: spec/c/core/%_test.c spec/c/*.h spec/c/core/*.h \
                           $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CORE_INC) -Ispec/c $(CMOCKA_FLAGS) $< -o $@ \
	  $(CORE_LIB) -lcmocka -lpthread -lm

# The host API's and the binding's tests, with Lua.
$(BUILD)/test/lua/%_test: spec/c/lua/%_test.c spec/c/*.h spec/c/lua/*.h \
                          $(BINDING_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BINDING_INC) -Ispec/c $< -o $@ $(BINDING_LIB) \
	  $(CORE_LIB) $(LUA_LIBS) -lcmocka -lpthread -lm

# ucoro_go.h's tests: a host with the binding that loads ucoro.go (the
# build's module, the tree's facade) and luv as Lua modules, so it
# exports Lua's API to them (-rdynamic: a static liblua), and links libuv
# for handles of its own on luv's loop.
$(BUILD)/test/go/%_test: spec/c/go/%_test.c spec/c/*.h spec/c/lua/*.h spec/c/go/*.h \
                         src/go/ucoro_go.h $(BINDING_LIB) $(CORE_LIB) $(GO_MODULE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(BINDING_INC) -Ispec/c -Ispec/c/lua -Isrc/go $(UV_CFLAGS) \
	  -DTEST_TREE='"$(CURDIR)"' -DTEST_BUILD='"$(abspath $(BUILD))"' \
	  $< -o $@ -rdynamic $(BINDING_LIB) $(CORE_LIB) $(LUA_LIBS) $(UV_LIBS) \
	  -lcmocka -lpthread -lm

$(CORE_BENCH): bench/core_bench.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(CORE_INC) $< -o $@ $(CORE_LIB) -lpthread

deps:
	@tools/deps $(if $(LUA_RELEASE),release,test) $(CROSS)

# Builds the libraries and the module (for CROSS=i686, armhf: what CI
# checks there) and prints the result line CI counts.
build-check:
	@tools/deps demo $(CROSS)
	@if $(MAKE) --no-print-directory all; then echo "1 passed, 0 failed, 0 skipped"; \
	else echo "0 passed, 1 failed, 0 skipped"; exit 1; fi

demo:
	@tools/deps demo
	@$(MAKE) --no-print-directory -s $(LUA_MODULE) $(GO_MODULE) $(HOST)
	@$(LUA_TEST_PATHS) $(IN_TREE) $(LUA) examples/demo.lua
	@$(LUA_TEST_PATHS) $(IN_TREE) $(LUA) examples/go_demo.lua
	@$(LUA_TEST_PATHS) $(IN_TREE) $(LUA) examples/go_io_demo.lua

# The Lua chosen, as make variables, for the specs that run make or
# luarocks themselves (spec/31-install_spec.lua).
LUA_MAKEFLAGS = $(if $(LUA_RELEASE),LUA_RELEASE=$(LUA_RELEASE),$(if $(LUA_INCDIR),LUA_INCDIR=$(LUA_INCDIR) LUA_LIBDIR=$(LUA_LIBDIR) LUA=$(LUA),LUA_PC=$(LUA_PC)))
# A release's modules for the tests (tools/lua-modules) go on Lua's paths.
LUA_TEST_PATHS = $(if $(LUA_RELEASE),eval "$$(tools/lua-modules $(LUA_RELEASE))" && export LUA_PATH LUA_CPATH &&)

test: deps $(SYSROOT_$(CROSS))
	@$(MAKE) --no-print-directory all $(C_TESTS) $(TEST_MODULE) $(HOST)
	@$(BTI_CHECK_$(TARGET_ARCH))
	@$(LUA_TEST_PATHS) BUILD=$(BUILD) SANITIZE=$(SANITIZE) VALGRIND=$(VALGRIND) \
	  LUA=$(LUA) CC=$(CC) UCORO_LUA_MAKEFLAGS='$(LUA_MAKEFLAGS)' \
	  RUNNER="$(RUNNER)" LUA_SUITE=$(LUA_SUITE) tools/run-tests

$(SYSROOT_aarch64) $(SYSROOT_i686):
	tools/cross-sysroot $@ $(DEBARCH_$(CROSS))
$(SYSROOT_musl): tools/musl-sysroot
	tools/musl-sysroot $@

# tools/stress.lua under the build's tool; prints "N passed, N failed" last.
VALGRIND_RUN = valgrind -q --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,possible
stress: deps
	@$(MAKE) --no-print-directory -s $(LUA_MODULE) $(TEST_MODULE)
	@if $(if $(SANITIZE)$(VALGRIND),UCORO_TEST_TOOL=1) \
	  $(if $(filter address,$(SANITIZE)),ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1:quarantine_size_mb=16) \
	  $(IN_TREE) $(if $(VALGRIND),$(VALGRIND_RUN)) $(LUA) tools/stress.lua $(or $(COUNT),1000000) $(or $(SEED),1); \
	then echo "1 passed, 0 failed, 0 skipped"; \
	else echo "0 passed, 1 failed, 0 skipped"; exit 1; fi

# The differential fuzzer; the last line says what ran and what differed.
FIRST ?= 1
ONLY  ?=
REDUCE ?=
SETUP ?=
fuzz: export UCORO_FUZZ_SETUP = $(SETUP)
fuzz:
	@tools/deps demo
	@$(MAKE) --no-print-directory -s $(LUA_MODULE)
	@$(LUA_TEST_PATHS) $(IN_TREE) $(LUA) tools/fuzz/run.lua $(if $(SEED),--seed $(SEED)) \
	  $(if $(ONLY),--only $(ONLY) $(if $(REDUCE),--reduce),--count $(or $(COUNT),100000) --first $(FIRST))

bench: $(CORE_BENCH) $(LUA_MODULE)
	$(CORE_BENCH)
	bench/callgrind-per-op $(CORE_BENCH) roundtrip
	bench/callgrind-per-op $(CORE_BENCH) swapcontext
	bench/callgrind-per-op $(CORE_BENCH) lifecycle
	$(IN_TREE) $(LUA) bench/lua_bench.lua
	BUILD=$(BUILD) LUA=$(LUA) bench/lua-callgrind

# Instructions per operation of another architecture's build, counted
# under qemu-user by a TCG plugin (make qemu-bench CROSS=aarch64).
QEMU_PLUGIN = build/insn-count.so
build/qemu-plugin/qemu-plugin.h:
	tools/qemu-plugin-header build/qemu-plugin
$(QEMU_PLUGIN): tools/insn-count.c build/qemu-plugin/qemu-plugin.h
	gcc -O2 -Wall -Wextra -shared -fPIC -Ibuild/qemu-plugin $< -o $@
qemu-bench: $(CORE_BENCH) $(QEMU_PLUGIN)
	@for w in roundtrip swapcontext lifecycle; do \
	  tools/qemu-per-op $(RUNNER) $(QEMU_PLUGIN) $(CORE_BENCH) $$w; done

# ucoro.pc: the core, no Lua; ucoro-lua.pc: the binding, for hosts, with
# the Lua it was built for (its pkg-config name, or its flags).
COMMA := ,
PC_LUA_REQUIRES = $(if $(LUA_INCDIR),,$(COMMA) $(LUA_PC))
PC_LUA_LIBS     = $(if $(LUA_INCDIR),$(LUA_LIBS))
PC_LUA_CFLAGS   = $(if $(LUA_INCDIR),$(LUA_CFLAGS))
$(BUILD)/%.pc: %.pc.in src/core/ucoro.h Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	    -e 's|@LUA_REQUIRES@|$(PC_LUA_REQUIRES)|' \
	    -e 's|@LUA_LIBS@|$(PC_LUA_LIBS)|' -e 's|@LUA_CFLAGS@|$(PC_LUA_CFLAGS)|' \
	    -e "s|@VERSION@|$$(sed -n 's/^#define UCORO_VERSION "\(.*\)"/\1/p' src/core/ucoro.h)|" \
	    $< > $@

install: $(CORE_LIB) $(BINDING_LIB) $(LUA_MODULE) $(GO_MODULE) $(PC_FILES)
	install -d $(DESTDIR)$(LUA_CMOD)/ucoro/go $(DESTDIR)$(LUA_LMOD)/ucoro \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(LUA_MODULE) $(DESTDIR)$(LUA_CMOD)/ucoro/core.so
	install -m 644 lua/ucoro/init.lua $(DESTDIR)$(LUA_LMOD)/ucoro/init.lua
	install -m 755 $(GO_MODULE) $(DESTDIR)$(LUA_CMOD)/ucoro/go/core.so
	install -m 644 lua/ucoro/go.lua $(DESTDIR)$(LUA_LMOD)/ucoro/go.lua
	install -d $(DESTDIR)$(LUA_LMOD)/ucoro/go
	install -m 644 lua/ucoro/go/io.lua $(DESTDIR)$(LUA_LMOD)/ucoro/go/io.lua
	install -m 644 lua/ucoro/go/luvit.lua $(DESTDIR)$(LUA_LMOD)/ucoro/go/luvit.lua
	install -m 644 src/core/ucoro.h src/lua/lua_ucoro.h src/lua/lua_ucoro_api.h \
	  src/go/ucoro_go.h \
	  $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(CORE_LIB) $(BINDING_LIB) $(DESTDIR)$(LIBDIR)
	install -m 644 $(PC_FILES) $(DESTDIR)$(PKGCONFIGDIR)

# The tarball the frozen rockspec names, with that rockspec beside it
# (luarocks build there installs it, offline).
VERSION = $(shell sed -n 's/^\#define UCORO_VERSION "\(.*\)"/\1/p' src/core/ucoro.h)
dist:
	@mkdir -p $(BUILD)
	git archive --prefix=ucoro-$(VERSION)/ -o $(BUILD)/ucoro-$(VERSION).tar.gz HEAD
	cp rockspec/ucoro-$(VERSION)-1.rockspec $(BUILD)/

# Prints "N passed, N failed" like the test runs, for CI to count.
CPPCHECK = cppcheck --quiet --enable=warning,style,performance,portability \
	--error-exitcode=1 --suppress=missingIncludeSystem \
	--suppress=constParameter --suppress=missingInclude --inline-suppr \
	-Isrc/core -Isrc/lua
lint:
	@p=0; f=0; \
	if luacheck --no-color -q .; then p=$$((p+1)); else f=$$((f+1)); fi; \
	if $(CPPCHECK) $(UV_CFLAGS) src examples/host examples/c_server spec/c bench/core_bench.c; \
	then p=$$((p+1)); else f=$$((f+1)); fi; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

clean:
	rm -rf build
