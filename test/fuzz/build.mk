# libFuzzer targets (test/fuzz/fuzz_<name>.c), built only with FUZZ=1 (clang, ASan+UBSan, under
# build-fuzz/): `make fuzz` and test/run.sh's `fuzz` kind. Each target links the whole agent,
# CNI, netlink and common libraries, so constructors (config sections, API handlers, device types) run.
FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz.h $(BUILD)/lib/libkbagent.a \
		$(BUILD)/lib/libkbcni.a $(BUILD)/lib/libkbnetlink.a $(BUILD)/lib/libkbcommon.a \
		| $(DP_PROTO_H)
	$(msg) FUZZ $@
	@mkdir -p $(dir $@) $(BUILD)/obj/test/fuzz
	$(Q)$(CC) $(CFLAGS) $(AGENT_CFLAGS) -I$(BUILD)/gen/proto -MF $(BUILD)/obj/test/fuzz/$*.d \
		$(LDFLAGS) -fsanitize=fuzzer -o $@ $< \
		-Wl,--whole-archive $(BUILD)/lib/libkbagent.a -Wl,--no-whole-archive \
		$(BUILD)/lib/libkbcni.a $(BUILD)/lib/libkbnetlink.a $(BUILD)/lib/libkbcommon.a \
		$(AGENT_LIBS) $(CNI_LIBS)
