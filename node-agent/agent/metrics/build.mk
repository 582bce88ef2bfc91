# metrics: Prometheus /metrics, /healthz and /readyz on libevent's evhttp (in libevent, already
# an agent package); prom.c needs libm for isnan/floor.
AGENT_EXTRA_LIBS += -lm
