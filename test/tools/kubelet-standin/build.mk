# kubelet-standin: Go, built offline in GOPATH mode against Debian's grpc-go (the library
# kubelet uses) with messages generated from our .proto files by protoc-gen-go (Debian's
# protoc-gen-go-1-3, matching golang-github-golang-protobuf-1-3-dev that grpc-go builds on).
STANDIN := $(BUILD)/tools/kubelet-standin
STANDIN_GOPATH := $(CURDIR)/$(BUILD)/tools/gopath
STANDIN_API := $(STANDIN_GOPATH)/src/kbnet/api
STANDIN_PB := $(STANDIN_API)/deviceplugin/v1beta1/deviceplugin_v1beta1.pb.go \
	$(STANDIN_API)/podresources/v1/podresources_v1.pb.go
TOOLS += $(STANDIN)

$(STANDIN_API)/deviceplugin/v1beta1/%.pb.go: node-agent/proto/%.proto
	$(msg) PROTOC $@
	@mkdir -p $(dir $@)
	$(Q)protoc -Inode-agent/proto --go_out=plugins=grpc,paths=source_relative:$(dir $@) $<

$(STANDIN_API)/podresources/v1/%.pb.go: node-agent/proto/%.proto
	$(msg) PROTOC $@
	@mkdir -p $(dir $@)
	$(Q)protoc -Inode-agent/proto --go_out=plugins=grpc,paths=source_relative:$(dir $@) $<

$(STANDIN): $(wildcard test/tools/kubelet-standin/*.go) $(STANDIN_PB)
	$(msg) GO $@
	@mkdir -p $(dir $@)
	$(Q)cd test/tools/kubelet-standin && GO111MODULE=off GOFLAGS=-buildvcs=false \
		GOPATH=$(STANDIN_GOPATH):/usr/share/gocode GOCACHE=$(CURDIR)/$(BUILD)/tools/gocache \
		go build -o $(CURDIR)/$@ .
