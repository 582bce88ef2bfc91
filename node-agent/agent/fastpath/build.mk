# The fast path links DPDK (Debian libdpdk-dev). Its headers are included as system headers so
# that the project's -Werror set does not apply to them; only these objects see DPDK's flags.
FP_DPDK_CFLAGS := $(patsubst -I%,-isystem %,$(shell $(PKG_CONFIG) --cflags libdpdk 2>/dev/null))
$(BUILD)/obj/node-agent/agent/fastpath/%.o: EXTRA_CFLAGS += $(FP_DPDK_CFLAGS)
AGENT_EXTRA_LIBS += $(shell $(PKG_CONFIG) --libs libdpdk 2>/dev/null)
# TAP ports (fp_tap.c) batch their reads and writes with io_uring (Debian liburing-dev).
AGENT_EXTRA_LIBS += -luring
# Test hooks (fp_worker.h: KBNET_FP_TEST_STALL_MS) are compiled into development and test builds;
# packaged builds use `make FP_TEST_HOOKS=0`, where the environment variable does nothing.
FP_TEST_HOOKS ?= 1
ifeq ($(FP_TEST_HOOKS),1)
$(BUILD)/obj/node-agent/agent/fastpath/%.o: EXTRA_CFLAGS += -DKB_FP_TEST_HOOKS
endif
