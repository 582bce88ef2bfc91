/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics and health endpoint: an HTTP listener (httpd.h, on the agent's loop) serving
 * /metrics (Prometheus text, from every telemetry source), /healthz (health only: 503 and the
 * names of the modules that report themselves unhealthy) and /readyz (200 once the agent
 * serves its API).
 *
 * Configuration ("metrics" section): off unless enabled; binds 127.0.0.1 by default.
 *   metrics:
 *     enabled: false
 *     address: 127.0.0.1   # numeric IPv4 or IPv6 address
 *     port: 9402           # 0: any free port (the bound one is in `status`)
 *     maxConnections: 16   # more at once are answered 503 and closed
 *     requestTimeoutMs: 10000  # a whole exchange (request in, reply out), not per byte
 */
#ifndef KB_METRICS_H
#define KB_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"

struct evbuffer;

#define METRICS_DEFAULT_PORT               9402
#define METRICS_DEFAULT_MAX_CONNECTIONS    16
#define METRICS_DEFAULT_REQUEST_TIMEOUT_MS 10000

struct metrics_cfg {
	bool enabled;
	char address[64];
	uint16_t port;
	unsigned max_connections;
	unsigned request_timeout_ms;
};

/* The parsed "metrics" section of a loaded configuration. */
const struct metrics_cfg *metrics_cfg(const struct cfg *cfg);
/* Everything /metrics serves, appended to out. Returns the samples dropped. */
unsigned metrics_render(struct evbuffer *out);
/* Serve a connected, non-blocking stream socket as a connection to the running listener
 * (httpd_serve; for the fuzz target). Takes fd; -ENOTCONN when metrics are off. */
int metrics_serve(int fd);

#endif
