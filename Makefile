# sealchain: one plain Makefile for the whole tree (STYLE.md 14).
#
#   make                  build everything (libraries, tools, tests)
#   make test             run the whole suite (unit, sim seeds, mutant check)
#   make SANITIZE=address,undefined test
#   make sim SEEDS=N      run N simulated-cluster seeds
#   make sim-mutant       the simulator against a core with a broken quorum
#   make bench-ledger     ledger throughput with durable commits
#   make bench-sync       an empty node syncs a chain of 200,000 uses (BENCH_PREFILL)
#   make bench-disk       the disk's cost per durable page write, random and in order
#   make fuzz             libFuzzer on every decoder (FUZZ_SECONDS each)
#   make fuzz-long        every harness FUZZ_LONG_SECONDS (600), two at a time, nice 19
#   make chaos-long       the crash loop for CHAOS_SECONDS (1800), nice 10
#   make deps             install missing Debian packages (needs root or sudo)
#   make format / format-check

CC      ?= cc
SHELL   := /bin/bash
PKGS    := libsodium lmdb libuv libprotobuf-c inih jansson
DEB_PKGS := build-essential pkg-config libsodium-dev liblmdb-dev libuv1-dev \
            libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libinih-dev \
            libjansson-dev jq clang-format

# A fresh machine: stop at once with one line that names what is missing,
# rather than with "protoc-c: command not found" or hundreds of undefined
# references. The goals that install or need no toolchain skip the check
# (`make test` and `make demo` install first, then re-enter make).
NOCHECK_GOALS := deps test demo format format-check clean
ifeq ($(filter $(NOCHECK_GOALS),$(MAKECMDGOALS)),)
HAVE_PKGCONFIG := $(shell command -v pkg-config 2>/dev/null)
MISSING := $(if $(shell command -v protoc-c 2>/dev/null),,protoc-c) \
           $(if $(HAVE_PKGCONFIG),$(foreach p,$(PKGS) cmocka,\
             $(if $(shell pkg-config --exists $(p) && echo y),,$(p))),pkg-config)
ifneq ($(strip $(MISSING)),)
$(error missing: $(strip $(MISSING)). Run `make deps` first (installs the Debian packages; needs root or sudo))
endif
endif

ifdef SANITIZE
BUILD   ?= build/san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     := -O1 -g
else
BUILD   ?= build
SANFLAGS :=
OPT     := -O2 -g -D_FORTIFY_SOURCE=2
endif

WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Werror
HARDEN  := -fstack-protector-strong -fPIE -D_GNU_SOURCE
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL := $(WARN) $(OPT) $(HARDEN) $(SANFLAGS) -I. -isystem $(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now $(SANFLAGS) $(LDFLAGS)

# --- generated protobuf-c code (never committed) ----------------------------
PROTOS    := $(wildcard proto/*.proto)
PROTO_C   := $(patsubst proto/%.proto,$(BUILD)/gen/proto/%.pb-c.c,$(PROTOS))
PROTO_H   := $(PROTO_C:.c=.h)
PROTO_OBJ := $(PROTO_C:.c=.o)

$(BUILD)/gen/proto/%.pb-c.c $(BUILD)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen $<

# Generated code is not ours to keep warning-clean under -Wpedantic.
$(BUILD)/gen/proto/%.pb-c.o: $(BUILD)/gen/proto/%.pb-c.c
	$(CC) -std=c11 $(OPT) $(HARDEN) $(SANFLAGS) -isystem $(BUILD)/gen $(PKG_CFLAGS) -c $< -o $@

# --- libraries ----------------------------------------------------------------
CONSENSUS_SRC := $(wildcard consensus/*.c)
LEDGER_SRC    := $(wildcard ledger/*.c)
CONSENSUS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CONSENSUS_SRC))
LEDGER_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(LEDGER_SRC))

$(BUILD)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# consensus/ is libc only (STYLE.md 1): it waits for no generated header.
# The simulator, built on the core alone, neither.
$(BUILD)/consensus/%.o: consensus/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(BUILD)/tests/sim/%.o: tests/sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# sealctl's own files (node/sealctl_*.c) stay out of libnode.a: the daemon never links them.
# node/localnet.c is test scaffolding (fixed-seed keys, an in-memory bus): it
# goes to libtestnet.a, which only the tests link, never sealchaind.
TESTNET_SRC   := $(wildcard node/localnet.c)
NODE_SRC      := $(filter-out node/main_%.c node/sealctl_%.c $(TESTNET_SRC),$(wildcard node/*.c))
NODE_OBJ      := $(patsubst %.c,$(BUILD)/%.o,$(NODE_SRC))
$(BUILD)/libnode.a: $(NODE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libtestnet.a: $(patsubst %.c,$(BUILD)/%.o,$(TESTNET_SRC))
	@rm -f $@; ar rcs $@ $^

$(BUILD)/libconsensus.a: $(CONSENSUS_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libledger.a: $(LEDGER_OBJ) $(PROTO_OBJ)
	@rm -f $@; ar rcs $@ $^

# The mutant core: the quorum one smaller. The simulator must catch it.
MUTANT_OBJ := $(patsubst %.c,$(BUILD)/mutant/%.o,$(CONSENSUS_SRC))
$(BUILD)/mutant/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DPBFT_MUTANT_QUORUM=1 -MMD -MP -c $< -o $@
$(BUILD)/libconsensus-mutant.a: $(MUTANT_OBJ)
	@rm -f $@; ar rcs $@ $^

# --- tests ----------------------------------------------------------------------
# tests/unit/test_*.c: one cmocka binary each; tests/unit/util_*.c: shared helpers.
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_UTIL  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/util_*.c))
SIM_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/sim/*.c))
TEST_LIBS  := $(BUILD)/libtestnet.a $(BUILD)/libnode.a $(BUILD)/libledger.a $(BUILD)/libconsensus.a
LIBS       := $(PKG_LIBS) -lcmocka -lm

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_UTIL) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $< $(UNIT_UTIL) $(TEST_LIBS) $(LIBS) -o $@

# tests/integration/test_*.c: real sealchaind processes (cluster.c starts them).
ITEST_SRC  := $(wildcard tests/integration/test_*.c)
ITEST_BIN  := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRC))
ITEST_UTIL := $(BUILD)/tests/integration/cluster.o $(BUILD)/tests/integration/hostile.o \
              $(BUILD)/tests/integration/proxy.o $(BUILD)/tests/integration/byz.o \
              $(BUILD)/tests/sim/craft.o
$(ITEST_BIN): $(BUILD)/tests/%: $(BUILD)/tests/integration/%.o $(ITEST_UTIL) $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $< $(ITEST_UTIL) $(TEST_LIBS) $(LIBS) -o $@

# Every simulated replica runs the production driver (node/driver.c, with its mempool and
# request timer) over the simulator's own chain (tests/sim/chain.c).
SIM_NODE_LIBS := $(BUILD)/libnode.a $(BUILD)/libledger.a
$(BUILD)/sim: $(SIM_OBJ) $(SIM_NODE_LIBS) $(BUILD)/libconsensus.a
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -lm -o $@
$(BUILD)/sim-mutant: $(SIM_OBJ) $(SIM_NODE_LIBS) $(BUILD)/libconsensus-mutant.a
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -lm -o $@

BENCH_LEDGER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/bench/bench_ledger*.c))
# Built by `make all` too, so a change that breaks it fails the build.
$(BUILD)/bench-net: $(BUILD)/tests/bench/bench_net.o $(BUILD)/tests/integration/cluster.o \
                    $(BUILD)/tests/integration/hostile.o $(TEST_LIBS)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -lpthread -lm -o $@
$(BUILD)/bench-ledger: $(BENCH_LEDGER_OBJ) $(BUILD)/libledger.a
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -lm -o $@
$(BUILD)/bench-disk: $(BUILD)/tests/bench/bench_disk.o
	$(CC) $(LDFLAGS_ALL) $^ -o $@

# --- programs ------------------------------------------------------------------
NODE_LIBS := $(BUILD)/libnode.a $(BUILD)/libledger.a $(BUILD)/libconsensus.a
$(BUILD)/sealchaind: $(BUILD)/node/main_sealchaind.o $(NODE_LIBS)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@
PROGRAMS := $(BUILD)/sealchaind

# The operator CLI: main_sealctl.c and the command handlers node/sealctl_*.c.
SEALCTL_OBJ := $(patsubst %.c,$(BUILD)/%.o,node/main_sealctl.c $(wildcard node/sealctl_*.c))
$(BUILD)/sealctl: $(SEALCTL_OBJ) $(NODE_LIBS)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@
PROGRAMS += $(if $(wildcard node/main_sealctl.c),$(BUILD)/sealctl)

# Checks used by the shell-level tests (tests/cli/): tests/cli/*.c, one binary each.
CLI_TOOL_SRC := $(wildcard tests/cli/*.c)
CLI_TOOL_BIN := $(patsubst tests/cli/%.c,$(BUILD)/tests/cli/%,$(CLI_TOOL_SRC))
$(BUILD)/tests/cli/%: $(BUILD)/tests/cli/%.o $(NODE_LIBS)
	$(CC) $(LDFLAGS_ALL) $^ $(PKG_LIBS) -o $@

# --- fuzzing (clang's libFuzzer; `make fuzz FUZZ_SECONDS=N`) ----------------------
# tests/fuzz/fuzz_*.c, each linked with the ledger, consensus and node library
# sources built with coverage, ASan and UBSan. Corpora stay in $(BUILD)/fuzz/corpus-NAME.
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS  := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
                -isystem $(BUILD)/gen $(PKG_CFLAGS)
# The node's pure decoders (config, key files, handshake, frames; no libuv) join them.
FUZZ_NODE_SRC := $(wildcard node/config.c node/keyfile.c node/err.c \
                   node/frame.c node/handshake.c node/log.c node/httpreq.c node/api_query.c)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(PROTO_C) $(PROTO_H) $(CONSENSUS_SRC) $(LEDGER_SRC) $(FUZZ_NODE_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $< $(CONSENSUS_SRC) $(LEDGER_SRC) $(FUZZ_NODE_SRC) $(PROTO_C) $(PKG_LIBS) -o $@

# --- top-level targets ---------------------------------------------------------
ALL := $(BUILD)/libconsensus.a $(BUILD)/libledger.a $(BUILD)/libnode.a $(BUILD)/libtestnet.a $(PROGRAMS) $(UNIT_BIN) \
       $(ITEST_BIN) $(CLI_TOOL_BIN)
ifneq ($(SIM_OBJ),)
ALL += $(BUILD)/sim $(BUILD)/sim-mutant
endif
ifneq ($(BENCH_LEDGER_OBJ),)
ALL += $(BUILD)/bench-ledger
endif
ALL += $(BUILD)/bench-net $(BUILD)/bench-disk

.PHONY: all test check demo sim sim-mutant fuzz fuzz-long chaos-long bench bench-ledger bench-sync bench-profile bench-disk deps format format-check clean
.DEFAULT_GOAL := all
.SECONDARY:
all: $(ALL)

SEEDS ?= 2000
# The whole suite. tests/run prints one closing line "N passed, N failed".
# `make test` installs what is missing first (a fresh Debian 12 needs nothing
# else), then re-enters make so pkg-config sees the new packages.
test: deps
	+$(MAKE) --no-print-directory check
check: all
	BUILD=$(BUILD) SEEDS=$(SEEDS) tests/run

# A narrated local consortium doing real seal work: four sealchaind processes
# driven by sealctl (tests/demo/demo.sh), kept in $(BUILD)/demo afterwards.
demo: deps
	+$(MAKE) --no-print-directory $(BUILD)/sealchaind $(BUILD)/sealctl
	rm -rf $(BUILD)/demo
	BUILD=$(BUILD) tests/demo/demo.sh $(BUILD)/demo

sim: $(BUILD)/sim
	$(BUILD)/sim --seeds $(SEEDS)

# Exits 0 only when the simulator reports a safety violation in the mutant.
sim-mutant: $(BUILD)/sim-mutant
	$(BUILD)/sim-mutant --seeds $(SEEDS) --expect-violation

fuzz:
	@command -v clang >/dev/null || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get install -y -qq clang libclang-rt-14-dev; }
	+$(MAKE) --no-print-directory $(FUZZ_BIN)
	@for b in $(FUZZ_BIN); do \
	  c=$(BUILD)/fuzz/corpus-$$(basename $$b); mkdir -p $$c; \
	  echo "== $$b for $(FUZZ_SECONDS) s"; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 $$c 2>&1 | \
	    grep -E "^(stat::number_of_executed_(runs|units)|stat::peak_rss_mb)|ERROR|SUMMARY|Done"; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || exit 1; \
	done

# The long runs (issue 11): every harness for 10 minutes, two at a time at
# nice 19 (logs and corpora in $(BUILD)/fuzz), and a 30-minute crash loop.
FUZZ_LONG_SECONDS ?= 600
CHAOS_SECONDS ?= 1800
fuzz-long:
	+$(MAKE) --no-print-directory $(FUZZ_BIN)
	tests/fuzz/run.sh $(FUZZ_LONG_SECONDS) 2 $(FUZZ_BIN)
chaos-long: $(BUILD)/tests/test_chaos $(BUILD)/sealchaind $(BUILD)/sealctl
	BUILD=$(BUILD) CHAOS_SECONDS=$(CHAOS_SECONDS) \
	  TEST_FILTER=a_node_killed_every_few_seconds_loses_and_forks_nothing \
	  nice -n 10 $(BUILD)/tests/test_chaos

# Four real nodes under seal-use load; the last line is the figure of record.
bench: $(BUILD)/bench-net $(BUILD)/sealchaind $(BUILD)/sealctl
	BUILD=$(BUILD) $(BUILD)/bench-net
bench-ledger: $(BUILD)/bench-ledger
	$(BUILD)/bench-ledger $(BENCH_ARGS)
# Where the nodes' CPU goes under saturation (perf, installed if missing).
bench-profile: $(BUILD)/bench-net $(BUILD)/sealchaind $(BUILD)/sealctl
	@command -v perf >/dev/null || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get install -y -qq linux-perf; }
	BUILD=$(BUILD) tests/bench/profile.sh
# The hardware's side of a block commit: a durable 4 KiB page write, random and in order.
bench-disk: $(BUILD)/bench-disk
	$(BUILD)/bench-disk
# An empty node syncs a certified chain of BENCH_PREFILL (default 200,000) uses from 3 peers.
bench-sync: $(BUILD)/bench-net $(BUILD)/sealchaind $(BUILD)/sealctl
	BUILD=$(BUILD) BENCH_SYNC=1 $(BUILD)/bench-net

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
