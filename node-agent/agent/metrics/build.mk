# metrics: Prometheus /metrics, /healthz and /readyz on a small bounded HTTP server over
# libevent bufferevents (already an agent package); prom.c needs libm for isnan/floor.
AGENT_EXTRA_LIBS += -lm
