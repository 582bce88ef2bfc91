# kbnet: plain make, out-of-tree objects under $(BUILD). `make V=1` shows commands.
# `make SANITIZE=1 ...` builds an ASan+UBSan variant under build-san/.
# `make fuzz` builds the libFuzzer targets (test/fuzz/) with clang under build-fuzz/ and runs them.

SANITIZE ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
BUILD ?= build-fuzz
CC := clang
else ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif
PREFIX ?= /usr/local
CC ?= gcc
PKG_CONFIG ?= pkg-config

V ?= 0
ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg = @printf '  %-8s %s\n'
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes \
	-Wstrict-prototypes -Wpointer-arith -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -fstack-protector-strong -fPIE -pipe \
	-Inode-agent -Icni-plugin -MMD -MP
LDFLAGS += -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS += $(SANFLAGS) -O1
LDFLAGS += $(SANFLAGS)
endif
ifeq ($(FUZZ),1)
# Coverage for libFuzzer in every object; the targets link the fuzzer's main (test/fuzz/build.mk).
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS += -fsanitize=fuzzer-no-link $(FUZZ_SANFLAGS) -O1
LDFLAGS += $(FUZZ_SANFLAGS)
endif

pc = $(shell $(PKG_CONFIG) --$(1) $(2) 2>/dev/null)
AGENT_PKGS := jansson yaml-0.1 libevent zlib
CNI_PKGS := jansson
CTL_PKGS := jansson
# Extra link flags and helper programs that components add from their build.mk.
AGENT_EXTRA_LIBS :=
CNI_EXTRA_LIBS :=
TOOLS :=

# build.mk files define rules before `all`: keep `all` the default goal.
.DEFAULT_GOAL := all

# Components extend the build here (packages, per-directory flags, test tools) so that adding
# one does not mean editing this file.
-include $(sort $(wildcard node-agent/*/build.mk node-agent/lib/*/build.mk \
	node-agent/agent/*/build.mk cni-plugin/build.mk test/tools/*/build.mk test/fuzz/build.mk))

AGENT_CFLAGS := $(call pc,cflags,$(AGENT_PKGS))
AGENT_LIBS := $(call pc,libs,$(AGENT_PKGS)) $(AGENT_EXTRA_LIBS)
CNI_LIBS := $(call pc,libs,$(CNI_PKGS)) $(CNI_EXTRA_LIBS)
CTL_LIBS := $(call pc,libs,$(CTL_PKGS))
CMOCKA_LIBS := $(call pc,libs,cmocka)

COMMON_SRC := $(wildcard node-agent/common/*.c) $(wildcard node-agent/api/*.c)
# Shared libraries (node-agent/lib/<name>/): netlink for the agent and the CNI; the agent-only
# ones (AGENT_LIB_SRC, set in their build.mk: libcurl, libevent) go into the agent's archive.
NETLINK_SRC := $(wildcard node-agent/lib/netlink/*.c)
AGENT_SRC := $(filter-out node-agent/agent/main.c,$(wildcard node-agent/agent/*.c node-agent/agent/*/*.c)) \
	$(AGENT_LIB_SRC)
AGENT_ASM := node-agent/agent/default_config.S
CTL_SRC := $(wildcard node-agent/agentctl/*.c)
CNI_SRC := $(filter-out cni-plugin/main.c,$(wildcard cni-plugin/*.c))
UNIT_SRC := $(wildcard test/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(patsubst %.S,$(BUILD)/obj/%.o,$(1)))

COMMON_LIB := $(BUILD)/lib/libkbcommon.a
NETLINK_LIB := $(BUILD)/lib/libkbnetlink.a
AGENT_LIB := $(BUILD)/lib/libkbagent.a
CNI_LIB := $(BUILD)/lib/libkbcni.a
BINS := $(BUILD)/bin/kbnet-agent $(BUILD)/bin/agentctl \
	$(if $(wildcard cni-plugin/main.c),$(BUILD)/bin/kbnet-cni)
UNIT_BINS := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRC))

.PHONY: all tests test unit integration demo bench deps install format format-check clean fuzz

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	$(msg) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(AGENT_CFLAGS) $(EXTRA_CFLAGS) -c $< -o $@

$(BUILD)/obj/node-agent/agent/default_config.o: node-agent/agent/default_config.S node-agent/agent/default.yaml
	$(msg) AS $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -DDEFAULT_YAML='"node-agent/agent/default.yaml"' $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
$(NETLINK_LIB): $(call obj,$(NETLINK_SRC))
$(AGENT_LIB): $(call obj,$(AGENT_SRC) $(AGENT_ASM))
$(CNI_LIB): $(call obj,$(CNI_SRC))
$(BUILD)/lib/%.a:
	$(msg) AR $@
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Modules register themselves from constructors: link the whole agent library.
$(BUILD)/bin/kbnet-agent: $(call obj,node-agent/agent/main.c) $(AGENT_LIB) $(NETLINK_LIB) \
		$(COMMON_LIB)
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< -Wl,--whole-archive $(AGENT_LIB) -Wl,--no-whole-archive \
		$(NETLINK_LIB) $(COMMON_LIB) $(AGENT_LIBS)

$(BUILD)/bin/agentctl: $(call obj,$(CTL_SRC)) $(COMMON_LIB)
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(call obj,$(CTL_SRC)) $(COMMON_LIB) $(CTL_LIBS)

$(BUILD)/bin/kbnet-cni: $(call obj,cni-plugin/main.c) $(CNI_LIB) $(NETLINK_LIB) $(COMMON_LIB)
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(CNI_LIB) $(NETLINK_LIB) $(COMMON_LIB) $(CNI_LIBS)

# Unit tests: one cmocka binary per module, linked with everything (wrapping is per test).
$(BUILD)/test/unit/%: test/unit/%.c $(AGENT_LIB) $(CNI_LIB) $(NETLINK_LIB) $(COMMON_LIB)
	$(msg) TEST $@
	@mkdir -p $(dir $@) $(BUILD)/obj/test/unit
	$(Q)$(CC) $(CFLAGS) $(AGENT_CFLAGS) -MF $(BUILD)/obj/test/unit/$*.d -Itest/unit \
		$(shell sed -n 's|^// LDFLAGS: ||p' $<) $(LDFLAGS) -o $@ $< \
		-Wl,--whole-archive $(AGENT_LIB) -Wl,--no-whole-archive $(CNI_LIB) $(NETLINK_LIB) \
		$(COMMON_LIB) $(AGENT_LIBS) $(CNI_LIBS) $(CMOCKA_LIBS)

tests: all $(UNIT_BINS) $(TOOLS)

deps:
	@hack/deps.sh

# The README's test command: installs what is missing, builds, runs every suite.
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) SANITIZE=$(SANITIZE) test/run.sh all

unit: tests
	$(Q)BUILD=$(BUILD) test/run.sh unit

integration: tests
	$(Q)BUILD=$(BUILD) test/run.sh integration

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) hack/demo.sh

bench:
	@hack/deps.sh hack/deps.txt hack/deps-bench.txt
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) test/bench/run.sh

# libFuzzer targets: FUZZ_SECONDS per target (default 60), FUZZ_TARGETS a name pattern; then
# a table of the runs (test/fuzz/README.md).
fuzz: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 BUILD=build-fuzz fuzz-build
	$(Q)BUILD=build-fuzz test/fuzz/run.sh $(FUZZ_TARGETS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '\.pb-c\.')
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files ok"

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
