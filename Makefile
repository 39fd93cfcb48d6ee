# ucoro: native C stacks for Lua 5.4 coroutines.
#
#   make            build the core library, the Lua module and the tests
#   make test       build and run every test (C and busted); last line is
#                   "N passed, N failed, N skipped"
#   make demo       build and run the tour in examples/
#   make bench      run the benchmarks in bench/
#   make stress     random create/park/resume/close/collect operations,
#                   checked, then memory checked (COUNT (1000000), SEED
#                   (1); under SANITIZE=address or VALGRIND=1 too)
#   make install    install the module, the facade, headers, the static
#                   library for hosts and ucoro.pc (PREFIX, DESTDIR)
#   make lint       luacheck, cppcheck
#   make fuzz       the differential fuzzer (tools/fuzz/): SEED (default:
#                   from the clock), COUNT (100000), FIRST (1), ONLY=N
#                   (replay program N; REDUCE=1: minimise it), SETUP (Lua
#                   run before each program's ucoro run); SANITIZE=address
#                   runs it on the ASan build
#
# Variables (override on the command line):
LUA_PC    ?= lua5.4
LUA       ?= lua5.4
# BACKEND: "asm" (x86-64's own switch where supported) or "ucontext";
# src/backend.h makes the choice, this only names the build
BACKEND   ?= $(if $(filter x86_64,$(shell uname -m)),asm,ucontext)
# SANITIZE: empty, "address" (ASan+UBSan) or "thread" (TSan)
SANITIZE  ?=
# VALGRIND=1: run the tests under valgrind memcheck
VALGRIND  ?=
BUILD     ?= build/$(BACKEND)$(if $(SANITIZE),-$(SANITIZE))
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

LUA_CFLAGS := $(shell pkg-config --cflags $(LUA_PC) 2>/dev/null)

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
       -Wpointer-arith -Wundef -Wwrite-strings $(if $(WERROR),-Werror)

SAN_address = -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
SAN_thread  = -fsanitize=thread
SANFLAGS    = $(SAN_$(SANITIZE))

BACKEND_ucontext = -DUCORO_BACKEND_UCONTEXT
ALL_CFLAGS = $(CFLAGS) $(WARN) $(SANFLAGS) -fPIC -std=c11 \
             $(BACKEND_$(BACKEND)) -Isrc

CORE_SRC = src/ucoro.c src/stack.c src/lean.c src/context.c src/switch_x86_64.S
CORE_OBJ = $(patsubst src/%,$(BUILD)/core/%.o,$(CORE_SRC))
BINDING_SRC = src/lucoro.c src/lucoro_run.c src/lucoro_bridge.c
BINDING_OBJ = $(patsubst src/%,$(BUILD)/binding/%.o,$(BINDING_SRC))

CORE_LIB  = $(BUILD)/libucoro.a
HOST      = $(BUILD)/host
LUA_MODULE = $(BUILD)/ucoro/core.so
TEST_MODULE = $(BUILD)/ucoro_testmod.so
CORE_TEST = $(BUILD)/core_test
LEAN_TEST = $(BUILD)/lean_test
LUA_TEST  = $(BUILD)/lua_test
BAD_INPUT_TEST = $(BUILD)/bad_input_test
THREADS_TEST = $(BUILD)/threads_test
ALLOC_TEST = $(BUILD)/alloc_test
CORE_BENCH = $(BUILD)/core_bench

.PHONY: all test bench clean deps install lint demo stress fuzz
all: $(CORE_LIB) $(CORE_TEST) $(LEAN_TEST) $(LUA_TEST) $(BAD_INPUT_TEST) \
     $(THREADS_TEST) $(ALLOC_TEST) $(LUA_MODULE) $(TEST_MODULE) $(HOST)

# Hidden symbols: the module exports only what lua_ucoro.h marks, and
# calls between its files skip the PLT.
LIB_CFLAGS = $(ALL_CFLAGS) -fvisibility=hidden

# (context.c includes the backend's context_*.c)
$(BUILD)/core/%.o: src/% src/*.h src/context_*.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/binding/%.o: src/% src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(LUA_CFLAGS) -c $< -o $@

# One static library for C programs and hosts: the core needs no Lua; a
# host that uses the binding links Lua anyway.
$(CORE_LIB): $(CORE_OBJ) $(BINDING_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# A Lua C module does not link liblua: the interpreter exports the API.
$(LUA_MODULE): $(CORE_OBJ) $(BINDING_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -shared $^ -o $@

# The example host embeds Lua and links the binding statically.
LUA_LIBS := $(shell pkg-config --libs $(LUA_PC) 2>/dev/null)
$(HOST): examples/host/host.c src/*.h $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $< -o $@ $(CORE_LIB) $(LUA_LIBS) -lm

# Built only for the specs: C that calls back into Lua with lua_call.
$(TEST_MODULE): spec/c/testmod.c
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -shared $< -o $@

$(CORE_TEST): spec/c/core_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(CORE_LIB) -lcmocka -lpthread

$(LEAN_TEST): spec/c/lean_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(CORE_LIB) -lcmocka -lpthread

$(LUA_TEST): spec/c/lua_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $< -o $@ $(CORE_LIB) $(LUA_LIBS) -lcmocka -lpthread -lm

$(BAD_INPUT_TEST): spec/c/bad_input_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $< -o $@ $(CORE_LIB) $(LUA_LIBS) -lcmocka -lpthread -lm

$(THREADS_TEST): spec/c/threads_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $< -o $@ $(CORE_LIB) $(LUA_LIBS) -lcmocka -lpthread -lm

$(ALLOC_TEST): spec/c/alloc_test.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $< -o $@ $(CORE_LIB) $(LUA_LIBS) -lcmocka -lm

$(CORE_BENCH): bench/core_bench.c $(CORE_LIB)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(CORE_LIB) -lpthread

deps:
	@tools/deps test

demo:
	@tools/deps demo
	@$(MAKE) --no-print-directory -s $(LUA_MODULE) $(HOST)
	@BUILD=$(BUILD) LUA_CPATH="$(BUILD)/?.so;;" \
	  LUA_PATH="lua/?.lua;lua/?/init.lua;;" $(LUA) examples/demo.lua

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) VALGRIND=$(VALGRIND) LUA=$(LUA) \
	  tools/run-tests

# tools/stress.lua under the build's tool; prints "N passed, N failed" last.
STRESS_ENV = LUA_CPATH="$(BUILD)/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
  $(if $(SANITIZE)$(VALGRIND),UCORO_TEST_TOOL=1) \
  $(if $(filter address,$(SANITIZE)),LD_PRELOAD=$$(cc -print-file-name=libasan.so) \
    ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1:quarantine_size_mb=16)
VALGRIND_RUN = valgrind -q --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,possible
stress: deps
	@$(MAKE) --no-print-directory -s $(LUA_MODULE) $(TEST_MODULE)
	@if env $(STRESS_ENV) $(if $(VALGRIND),$(VALGRIND_RUN)) $(LUA) tools/stress.lua $(or $(COUNT),1000000) $(or $(SEED),1); \
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
	@LUA_CPATH="$(BUILD)/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
	  $(if $(filter address,$(SANITIZE)),LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	  ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1) \
	  $(LUA) tools/fuzz/run.lua $(if $(SEED),--seed $(SEED)) \
	  $(if $(ONLY),--only $(ONLY) $(if $(REDUCE),--reduce),--count $(or $(COUNT),100000) --first $(FIRST))

bench: $(CORE_BENCH) $(LUA_MODULE)
	$(CORE_BENCH)
	bench/callgrind-per-op $(CORE_BENCH) roundtrip
	bench/callgrind-per-op $(CORE_BENCH) swapcontext
	bench/callgrind-per-op $(CORE_BENCH) lifecycle
	LUA_CPATH="$(BUILD)/?.so" LUA_PATH="lua/?.lua;lua/?/init.lua" \
	  $(LUA) bench/lua_bench.lua
	BUILD=$(BUILD) LUA=$(LUA) bench/lua-callgrind

$(BUILD)/ucoro.pc: ucoro.pc.in src/ucoro.h Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))|' \
	    -e 's|@LUA_PC@|$(LUA_PC)|' \
	    -e "s|@VERSION@|$$(sed -n 's/^#define UCORO_VERSION "\(.*\)"/\1/p' src/ucoro.h)|" \
	    $< > $@

install: $(CORE_LIB) $(LUA_MODULE) $(BUILD)/ucoro.pc
	install -d $(DESTDIR)$(LUA_CMOD)/ucoro $(DESTDIR)$(LUA_LMOD)/ucoro \
	  $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(LUA_MODULE) $(DESTDIR)$(LUA_CMOD)/ucoro/core.so
	install -m 644 lua/ucoro/init.lua $(DESTDIR)$(LUA_LMOD)/ucoro/init.lua
	install -m 644 src/ucoro.h src/lua_ucoro.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(CORE_LIB) $(DESTDIR)$(LIBDIR)/libucoro.a
	install -m 644 $(BUILD)/ucoro.pc $(DESTDIR)$(PKGCONFIGDIR)/ucoro.pc

# Prints "N passed, N failed" like the test runs, for CI to count.
CPPCHECK = cppcheck --quiet --enable=warning,style,performance,portability \
	--error-exitcode=1 --suppress=missingIncludeSystem \
	--suppress=constParameter --suppress=missingInclude --inline-suppr -Isrc
lint:
	@p=0; f=0; \
	if luacheck --no-color -q .; then p=$$((p+1)); else f=$$((f+1)); fi; \
	if $(CPPCHECK) src examples/host spec/c bench/core_bench.c; \
	then p=$$((p+1)); else f=$$((f+1)); fi; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

clean:
	rm -rf build
