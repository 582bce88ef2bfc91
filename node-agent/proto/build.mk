# Device-plugin and pod-resources messages: protobuf-c code generated at build time from our
# .proto files (protoc-c is a build dependency), so the wire contract has one source and the
# generated code always matches the installed libprotobuf-c.
#
# protoc-c 1.4.1 fails on `service Registration` (its generated C names a member `register`, a
# C keyword): it gets a copy of each .proto without the service blocks. The C side needs no
# service stubs anyway; our gRPC server dispatches on the request path itself.
PROTO_SRC := $(wildcard node-agent/proto/*.proto)
PROTO_GEN := $(BUILD)/gen/proto
PROTO_C := $(patsubst node-agent/proto/%.proto,$(PROTO_GEN)/%.pb-c.c,$(PROTO_SRC))
PROTO_H := $(PROTO_C:.c=.h)
PROTO_OBJ := $(patsubst $(PROTO_GEN)/%.c,$(BUILD)/obj/gen/proto/%.o,$(PROTO_C))
AGENT_PKGS += libprotobuf-c

$(PROTO_GEN)/%.pb-c.c $(PROTO_GEN)/%.pb-c.h: node-agent/proto/%.proto
	$(msg) PROTOC-C $<
	@mkdir -p $(PROTO_GEN)
	$(Q)awk '/^service /{skip=1} !skip{print} skip&&/^}/{skip=0}' $< >$(PROTO_GEN)/$*.proto
	$(Q)cd $(PROTO_GEN) && protoc-c --c_out=. $*.proto

$(BUILD)/obj/gen/proto/%.o: $(PROTO_GEN)/%.c $(PROTO_H)
	$(msg) CC $<
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(call pc,cflags,libprotobuf-c) -I$(PROTO_GEN) -c $< -o $@

$(BUILD)/lib/libkbagent.a: $(PROTO_OBJ)
# Generated sources are kept (make would delete them as intermediates otherwise).
.SECONDARY: $(PROTO_C) $(PROTO_H)
