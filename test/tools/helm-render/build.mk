# helm-render: renders charts/kbnet as `helm template` does (Go text/template + sprig), built
# offline in GOPATH mode from Debian's golang-github-masterminds-sprig-dev,
# golang-k8s-sigs-yaml-dev (Helm's own YAML encoder, for toYaml and values) and
# golang-gopkg-yaml.v3-dev (multi-document parsing) (sprig is imported without its /v3 suffix: GOPATH mode finds the
# package by directory; sprig's own /v3 imports resolve because it lives in a GOPATH).
HELM_RENDER_GOPATH := $(abspath $(BUILD)/gopath)
HELM_RENDER_PKG := $(HELM_RENDER_GOPATH)/src/kbnet.io/helm-render
$(BUILD)/tools/helm-render: test/tools/helm-render/main.go
	$(msg) GO $@
	@mkdir -p $(dir $@) $(HELM_RENDER_PKG)
	$(Q)cp $< $(HELM_RENDER_PKG)/main.go
	$(Q)cd $(HELM_RENDER_PKG) && GO111MODULE=off GOFLAGS= \
		GOPATH=$(HELM_RENDER_GOPATH):/usr/share/gocode \
		GOCACHE=$(abspath $(BUILD)/gocache) go build -o $(abspath $@) .
TOOLS += $(BUILD)/tools/helm-render
