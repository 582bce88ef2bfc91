# libcni-client: runs a conflist through libcni like a runtime (add, check with the cached
# prevResult, del). Go, built offline in GOPATH mode against Debian's golang-github-appc-cni-dev.
LIBCNI_CLIENT := $(BUILD)/tools/libcni-client
TOOLS += $(LIBCNI_CLIENT)

$(LIBCNI_CLIENT): $(wildcard test/tools/libcni-client/*.go)
	$(msg) GO $@
	@mkdir -p $(dir $@)
	$(Q)cd test/tools/libcni-client && GO111MODULE=off GOFLAGS=-buildvcs=false GOPROXY=off \
		CGO_ENABLED=0 GOPATH=$(CURDIR)/$(BUILD)/tools/gopath:/usr/share/gocode \
		GOCACHE=$(CURDIR)/$(BUILD)/tools/gocache go build -o $(CURDIR)/$@ .
