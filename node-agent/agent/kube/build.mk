# kube: the Kubernetes API client (libcurl's multi interface on the agent's libevent loop).
AGENT_PKGS += libcurl
