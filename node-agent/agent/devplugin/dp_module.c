/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_module.h"
#include "agent/devplugin/dp_client.h"
#include "agent/devplugin/dp_reconcile.h"
#include "agent/devplugin/dp_register.h"
#include "agent/inventory.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/telemetry.h"
#include "api/apimsg_dp.h"
#include "api/apimsg_status.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>

static struct {
	bool active;
	struct dp_config cfg;
	LIST_HEAD(, dp_plugin) plugins;
	unsigned n_plugins;
} dm = {.plugins = LIST_HEAD_INITIALIZER(dm.plugins)};

const struct dp_config *dp_cfg(void)
{
	return &dm.cfg;
}

struct dp_plugin *dp_plugin_first(void)
{
	return LIST_FIRST(&dm.plugins);
}

struct dp_plugin *dp_plugin_next(struct dp_plugin *pl)
{
	return LIST_NEXT(pl, link);
}

struct dp_plugin *dp_plugin_of(const struct pool *p)
{
	struct dp_plugin *pl;

	LIST_FOREACH (pl, &dm.plugins, link)
		if (pl->pool == p)
			return pl;
	return NULL;
}

/* remove_files: the pool or its plugin is gone for good, not just the agent stopping (pods
 * keep their device-info files across agent restarts: Multus reads them again when a sandbox
 * is re-created). */
static void plugin_drop(struct dp_plugin *pl, bool remove_files)
{
	struct dp_devinfo_rec *rec;
	struct dp_cdi_rec *crec;

	LOG_INFO("device plugin %s: stopping (%s)", pl->pool->name, pl->resource);
	LIST_REMOVE(pl, link);
	dm.n_plugins--;
	if (remove_files) {
		HMAP_FOR_EACH_SAFE (rec, node, &pl->devinfo)
			dp_plugin_devinfo_drop(pl, rec);
		HMAP_FOR_EACH_SAFE (crec, node, &pl->cdi)
			dp_plugin_cdi_drop(pl, crec);
		/* Kubelet no longer manages this pool's devices: nothing is reserved for it. */
		for (size_t i = 0; i < pl->pool->n_devs; i++)
			inv_device_reserve(pl->pool->devs[i], 0);
	}
	dp_plugin_free(pl);
}

/* Make the pool's plugin match the pool: started, stopped, or told its devices changed. */
static void sync_pool(struct pool *p)
{
	struct dp_plugin *pl = dp_plugin_of(p);
	bool want = dm.active && !p->removed && p->cfg.device_plugin;
	struct kb_err err = {0};

	/* A new resource name is a different extended resource to kubelet. */
	if (pl && (!want || strcmp(pl->resource, p->resource_name))) {
		plugin_drop(pl, true);
		pl = NULL;
	}
	if (pl) {
		dp_plugin_changed(pl);
		return;
	}
	if (!want)
		return;
	if (dp_plugin_new(p, &dm.cfg, &pl, &err) < 0) {
		LOG_ERR("device plugin %s: %s", p->name, err.msg);
		return;
	}
	LIST_INSERT_HEAD(&dm.plugins, pl, link);
	dm.n_plugins++;
	LOG_INFO("device plugin %s: serving %s on %s", p->name, pl->resource, pl->sock_path);
	dp_register_plugin(pl);
}

static void on_pool_added(struct pool *p)
{
	if (dm.active)
		sync_pool(p);
}

static void on_pool_changed(struct pool *p)
{
	if (dm.active)
		sync_pool(p);
}

static void on_pool_removed(struct pool *p)
{
	struct dp_plugin *pl = dp_plugin_of(p);

	if (pl)
		plugin_drop(pl, true);
}

static void on_pool_to_json(const struct pool *p, json_t *obj)
{
	const struct dp_plugin *pl = dp_plugin_of(p);

	if (pl) {
		dp_plugin_pool_to_json(pl, obj);
		return;
	}
	if (p->cfg.device_plugin)
		apimsg_dp_pool_set_status(
		        obj, &(struct apimsg_dp_status){
		                     .error = dm.active ? "not serving (see the agent log)"
		                                        : "the devicePlugin module is disabled"});
}

static struct inv_observer dp_observer = {
        .pool_added = on_pool_added,
        .pool_changed = on_pool_changed,
        .pool_removed = on_pool_removed,
        .pool_to_json = on_pool_to_json,
};

static void __attribute__((constructor)) dp_observer_register(void)
{
	inv_observer_register(&dp_observer);
}

static void stop(void)
{
	struct dp_plugin *pl;

	while ((pl = LIST_FIRST(&dm.plugins)))
		plugin_drop(pl, false);
	dp_reconcile_fini();
	dp_register_fini();
	dp_client_fini();
	dm.active = false;
}

static int start(const struct cfg *cfg, struct kb_err *err)
{
	int r;

	dm.cfg = *dp_config_get(cfg);
	if (!dm.cfg.enabled) {
		LOG_INFO("device plugins: disabled (devicePlugin.enabled: false)");
		/* Kubelet assigns nothing of ours now: nothing is reserved (else attaches naming
		 * such a device would wait for an owner no List will name). */
		for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p))
			for (size_t i = 0; i < p->n_devs; i++)
				inv_device_reserve(p->devs[i], 0);
		return 0;
	}
	if ((r = dp_client_init(loop_base(), err)) < 0 ||
	        (r = dp_register_init(&dm.cfg, err)) < 0 ||
	        (r = dp_reconcile_init(&dm.cfg, err)) < 0) {
		stop();
		return r;
	}
	dm.active = true;
	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p))
		sync_pool(p);
	return 0;
}

static int dp_init(const struct cfg *cfg, struct kb_err *err)
{
	return start(cfg, err);
}

static int dp_reload(const struct cfg *cfg, struct kb_err *err)
{
	const struct dp_config *c = dp_config_get(cfg);

	if (dp_config_equal(c, &dm.cfg)) {
		/* Pools were synced by the inventory's observers; resource names may have
		 * changed with resourcePrefix. */
		for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p))
			if (dm.active)
				sync_pool(p);
		return 0;
	}
	LOG_INFO("device plugins: configuration changed, restarting them");
	stop();
	return start(cfg, err);
}

static void dp_fini(void)
{
	stop();
}

static struct agent_module dp_module = {
        .name = "devicePlugin",
        .order = 50, /* after the fast path, whose state decides virtio-user health */
        .init = dp_init,
        .reload = dp_reload,
        .fini = dp_fini,
};
MODULE_REGISTER(dp_module)

static json_t *status(void)
{
	unsigned registered = 0, listening = 0, streams = 0;
	struct dp_plugin *pl;

	if (!dm.active)
		return apimsg_devplugin_status_encode(&(struct apimsg_devplugin_status){0});
	LIST_FOREACH (pl, &dm.plugins, link) {
		registered += pl->registered;
		listening += dp_plugin_socket_ok(pl);
		streams += dp_plugin_streams(pl);
	}
	return apimsg_devplugin_status_encode(&(struct apimsg_devplugin_status){
	        .enabled = true,
	        .plugin_dir = dm.cfg.plugin_dir,
	        .kubelet_socket = dm.cfg.kubelet_socket,
	        .kubelet_present = dp_register_kubelet_present(),
	        .device_info_dir = dm.cfg.devinfo_dir,
	        .plugins = (int)dm.n_plugins,
	        .registered = (int)registered,
	        .listening = (int)listening,
	        .list_and_watch_streams = (int)streams,
	        .pod_resources = dp_reconcile_status(),
	});
}

static struct status_hook dp_status = {.key = APIMSG_DP_STATUS_KEY, .fn = status};
STATUS_HOOK_REGISTER(dp_status)

static void collect(struct telemetry_sink *sink)
{
	static const struct {
		enum telemetry_type type;
		const char *name, *help;
	} m[] = {
	        {TELEMETRY_GAUGE, "device_plugin_registered",
	                "1 when kubelet accepted the pool's device plugin."},
	        {TELEMETRY_COUNTER, "device_plugin_registrations_total",
	                "Successful registrations with kubelet."},
	        {TELEMETRY_COUNTER, "device_plugin_registration_failures_total",
	                "Failed registration attempts."},
	        {TELEMETRY_GAUGE, "device_plugin_streams", "Open ListAndWatch streams."},
	        {TELEMETRY_COUNTER, "device_plugin_updates_total",
	                "Device lists pushed on ListAndWatch after a change."},
	        {TELEMETRY_COUNTER, "device_plugin_allocate_total", "Allocate calls."},
	        {TELEMETRY_COUNTER, "device_plugin_allocate_failures_total",
	                "Allocate calls answered with an error."},
	        {TELEMETRY_COUNTER, "device_plugin_preferred_allocation_total",
	                "GetPreferredAllocation calls."},
	};

	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct dp_plugin *pl;
		LIST_FOREACH (pl, &dm.plugins, link) {
			const struct telemetry_label labels[] = {
			        {"pool", pl->pool->name}, {"resource", pl->resource}, {NULL, NULL}};
			double v[] = {pl->registered, pl->registrations, pl->reg_failures,
			        pl->n_watches, pl->updates_sent, pl->allocate_calls,
			        pl->allocate_failures, pl->preferred_calls};
			sink->emit(sink, m[i].type, m[i].name, m[i].help, labels, v[i]);
		}
	}
}

static struct telemetry_source dp_telemetry = {.name = "devicePlugin", .collect = collect};
TELEMETRY_SOURCE_REGISTER(dp_telemetry)
