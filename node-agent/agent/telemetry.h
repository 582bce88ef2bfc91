/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Telemetry sources: modules (fast path, device plugins, allocator) report metrics through
 * sources they register; an exporter (the /metrics endpoint) supplies the sink that formats
 * them. Sources do not know the output format, exporters do not know the modules.
 */
#ifndef KB_TELEMETRY_H
#define KB_TELEMETRY_H

#include "common/queue.h"

enum telemetry_type { TELEMETRY_COUNTER, TELEMETRY_GAUGE };

/* One label pair; arrays of them end with {NULL, NULL}. */
struct telemetry_label {
	const char *name, *value;
};

struct telemetry_sink {
	/* name: metric name without prefix ("pool_capacity"); help: one line. Samples of one
	 * metric must be emitted consecutively. */
	void (*emit)(struct telemetry_sink *sink, enum telemetry_type type, const char *name,
	        const char *help, const struct telemetry_label *labels, double value);
	/* A histogram: cumulative counts for each upper bound, then +Inf = count. */
	void (*emit_histogram)(struct telemetry_sink *sink, const char *name, const char *help,
	        const struct telemetry_label *labels, const double *bounds,
	        const unsigned long long *cumulative, unsigned n_bounds, unsigned long long count,
	        double sum);
	void *ctx;
};

struct telemetry_source {
	const char *name;
	void (*collect)(struct telemetry_sink *sink);
	STAILQ_ENTRY(telemetry_source) next;
};

void telemetry_source_register(struct telemetry_source *src);
#define TELEMETRY_SOURCE_REGISTER(src)                                          \
	static void __attribute__((constructor)) telemetry_register_##src(void) \
	{                                                                       \
		telemetry_source_register(&(src));                              \
	}

/* Run every source into the sink. */
void telemetry_collect(struct telemetry_sink *sink);

#endif
