/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics and health endpoint: an HTTP listener (libevent evhttp on the agent's loop)
 * serving /metrics (Prometheus text, from every telemetry source), /healthz (the status object;
 * 503 when a module reports itself unhealthy) and /readyz (200 once the agent serves its API).
 *
 * Configuration ("metrics" section): off unless enabled; binds 127.0.0.1 by default.
 *   metrics:
 *     enabled: false
 *     address: 127.0.0.1   # numeric IPv4 or IPv6 address
 *     port: 9402           # 0: any free port (the bound one is in `status`)
 */
#ifndef KB_METRICS_H
#define KB_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"

struct evbuffer;

#define METRICS_DEFAULT_PORT 9402

struct metrics_cfg {
	bool enabled;
	char address[64];
	uint16_t port;
};

/* The parsed "metrics" section of a loaded configuration. */
const struct metrics_cfg *metrics_cfg(const struct cfg *cfg);
/* Everything /metrics serves, appended to out. Returns the samples dropped. */
unsigned metrics_render(struct evbuffer *out);

#endif
