/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/telemetry.h"
#include "agent/alloc.h"
#include "agent/inventory.h"

static STAILQ_HEAD(, telemetry_source) sources = STAILQ_HEAD_INITIALIZER(sources);

void telemetry_source_register(struct telemetry_source *src)
{
	STAILQ_INSERT_TAIL(&sources, src, next);
}

void telemetry_collect(struct telemetry_sink *sink)
{
	struct telemetry_source *src;

	STAILQ_FOREACH (src, &sources, next)
		src->collect(sink);
}

/* The inventory's own numbers: capacity, health and allocations per pool. */
static void collect_pools(struct telemetry_sink *sink)
{
	static const struct {
		const char *name, *help;
	} m[] = {
	        {"pool_capacity", "Devices in the pool."},
	        {"pool_healthy_devices", "Healthy devices in the pool."},
	        {"pool_unhealthy_devices", "Unhealthy devices in the pool."},
	        {"pool_allocated_devices", "Devices held by an attachment."},
	        {"pool_free_devices", "Healthy devices free to allocate."},
	};

	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
			const struct telemetry_label labels[] = {
			        {"pool", p->name}, {"type", p->ops->name}, {NULL, NULL}};
			size_t healthy = pool_healthy_count(p);
			double v[] = {
			        p->n_devs, healthy, p->n_devs - healthy, p->n_allocated, p->n_free};
			sink->emit(sink, TELEMETRY_GAUGE, m[i].name, m[i].help, labels, v[i]);
		}
	}
	sink->emit(sink, TELEMETRY_GAUGE, "allocations", "Live allocations.",
	        (const struct telemetry_label[]){{NULL, NULL}}, alloc_count());
}

static struct telemetry_source pools_source = {.name = "pools", .collect = collect_pools};
TELEMETRY_SOURCE_REGISTER(pools_source)
