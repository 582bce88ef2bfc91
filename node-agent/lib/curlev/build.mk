# lib/curlev: libcurl's multi interface on the agent's libevent loop, for the Kubernetes client
# (agent/kube) and the kubelet gRPC client (agent/devplugin). Agent only: it goes into the
# agent's archive, and the CNI links neither libcurl nor libevent.
AGENT_LIB_SRC += $(wildcard node-agent/lib/curlev/*.c)
AGENT_PKGS += libcurl libevent
