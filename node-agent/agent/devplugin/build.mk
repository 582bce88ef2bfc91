# kubelet device plugins: gRPC server on nghttp2, gRPC client on libcurl, messages from
# node-agent/proto (generated under $(BUILD)/gen/proto).
AGENT_PKGS += libnghttp2 libcurl
DP_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard node-agent/agent/devplugin/*.c))
# (node-agent/proto/build.mk is read after this file: name the headers here.)
DP_PROTO_H := $(patsubst node-agent/proto/%.proto,$(BUILD)/gen/proto/%.pb-c.h,\
	$(wildcard node-agent/proto/*.proto))
$(DP_OBJ): EXTRA_CFLAGS += -I$(BUILD)/gen/proto
$(DP_OBJ): | $(DP_PROTO_H)
# The module's unit tests include the generated headers too.
$(BUILD)/test/unit/test_dp_%: CFLAGS += -I$(BUILD)/gen/proto
$(BUILD)/test/unit/test_dp_%: | $(DP_PROTO_H)
# test_alloc checks the reservation owner check (dp_reconcile.h).
$(BUILD)/test/unit/test_alloc: CFLAGS += -I$(BUILD)/gen/proto
$(BUILD)/test/unit/test_alloc: | $(DP_PROTO_H)
