# dpclient.py (python3-grpcio): message classes generated from our .proto with protoc
# --python_out (Debian's protobuf-compiler matches python3-protobuf 3.21).
DPCLIENT_PY := $(patsubst node-agent/proto/%.proto,$(BUILD)/tools/py/%_pb2.py,\
	$(wildcard node-agent/proto/*.proto))
TOOLS += $(DPCLIENT_PY)

$(BUILD)/tools/py/%_pb2.py: node-agent/proto/%.proto
	$(msg) PROTOC $@
	@mkdir -p $(dir $@)
	$(Q)protoc -Inode-agent/proto --python_out=$(BUILD)/tools/py $<
