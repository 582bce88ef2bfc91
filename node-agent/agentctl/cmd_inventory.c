/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl pools | devices */
#include "agentctl/ctl.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dp.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int parse_pool_opt(int argc, char **argv, const char *name, const char **pool)
{
	static const struct option opts[] = {{"pool", required_argument, NULL, 'p'}, {0}};
	int c;

	*pool = NULL;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (c != 'p') {
			fprintf(stderr, "usage: agentctl %s [--pool NAME]\n", name);
			return CTL_EXIT_USAGE;
		}
		*pool = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "usage: agentctl %s [--pool NAME]\n", name);
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

/* list pools or devices. */
static int list(struct ctl *ctl, enum apimsg_list_what what, const char *pool, json_t **ret_res,
        json_t **ret_items)
{
	return ctl_list(
	        ctl, &(struct apimsg_list_args){.what = what, .pool = pool}, ret_res, ret_items);
}

static void num(char *buf, size_t size, int64_t v)
{
	snprintf(buf, size, "%lld", (long long)v);
}

/* The device-plugin column: the module's registration status when it adds one. */
static void dp_cell(const struct apimsg_pool *p, char *buf, size_t size)
{
	struct apimsg_dp_status dp;
	struct kb_err err = {0};
	bool present;

	if (apimsg_dp_pool_status(p->obj, &dp, &present, &err) < 0)
		snprintf(buf, size, "?");
	else if (present)
		snprintf(buf, size, "%s", dp.registered ? "registered" : "not registered");
	else
		snprintf(buf, size, "%s", p->device_plugin ? "enabled" : "off");
}

static int cmd_pools(struct ctl *ctl, int argc, char **argv)
{
	static const char *const hdr[] = {"POOL", "TYPE", "RESOURCE", "CAPACITY", "HEALTHY",
	        "ALLOCATED", "FREE", "DEVICE-PLUGIN", NULL};
	json_t *res, *items, *o;
	const char *pool;
	struct table *t;
	size_t i;
	int r;

	if ((r = parse_pool_opt(argc, argv, "pools", &pool)) != CTL_EXIT_OK)
		return r;
	if ((r = list(ctl, APIMSG_LIST_POOLS, pool, &res, &items)) != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(items);
		json_decref(res);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (items, i, o) {
		char cap[24], healthy[24], alloc[24], free_[24], dp[64];
		struct apimsg_pool p;
		struct kb_err err = {0};
		if (apimsg_pool_decode(o, &p, &err) < 0) {
			fprintf(stderr, "agentctl: skipping a pool: %s\n", err.msg);
			continue;
		}
		num(cap, sizeof(cap), p.capacity);
		num(healthy, sizeof(healthy), p.healthy);
		num(alloc, sizeof(alloc), p.allocated);
		num(free_, sizeof(free_), p.free);
		dp_cell(&p, dp, sizeof(dp));
		table_row(t, (const char *const[]){p.name, p.type, p.resource_name, cap, healthy,
		                     alloc, free_, dp});
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(res);
	return CTL_EXIT_OK;
}

static void holder_cell(const struct apimsg_device *d, char *buf, size_t size)
{
	const struct apimsg_holder *h = &d->holder;

	if (!d->held)
		snprintf(buf, size, "-");
	else if (h->pod.ns && h->pod.name)
		snprintf(buf, size, "%s/%s %s", h->pod.ns, h->pod.name, h->ifname);
	else
		snprintf(buf, size, "%.12s %s", h->container_id, h->ifname);
}

static int cmd_devices(struct ctl *ctl, int argc, char **argv)
{
	static const char *const hdr[] = {
	        "DEVICE", "POOL", "TYPE", "HEALTH", "NUMA", "HOLDER", "DETAILS", NULL};
	json_t *res, *items, *o;
	const char *pool;
	struct table *t;
	size_t i;
	int r;

	if ((r = parse_pool_opt(argc, argv, "devices", &pool)) != CTL_EXIT_OK)
		return r;
	if ((r = list(ctl, APIMSG_LIST_DEVICES, pool, &res, &items)) != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(items);
		json_decref(res);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (items, i, o) {
		char numa[16], holder[256], details[512] = "", health[96];
		struct apimsg_device d;
		struct kb_err err = {0};
		const char *k;
		json_t *v;
		size_t off = 0;

		if (apimsg_device_decode(o, &d, &err) < 0) {
			fprintf(stderr, "agentctl: skipping a device: %s\n", err.msg);
			continue;
		}
		if (d.numa < 0)
			snprintf(numa, sizeof(numa), "-");
		else
			snprintf(numa, sizeof(numa), "%d", d.numa);
		holder_cell(&d, holder, sizeof(holder));
		snprintf(health, sizeof(health), "%s%s%s%s", d.healthy ? "Healthy" : "Unhealthy",
		        d.reason ? " (" : "", d.reason ? d.reason : "", d.reason ? ")" : "");
		/* Type-specific fields (MAC, PF, VF settings...) as key=value. */
		json_object_foreach (o, k, v) {
			char *s;
			if (apimsg_device_is_core(k) || off >= sizeof(details) - 1)
				continue;
			s = json_is_string(v) ? strdup(json_string_value(v))
			                      : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			off += snprintf(details + off, sizeof(details) - off, "%s%s=%s",
			        off ? " " : "", k, s ? s : "?");
			free(s);
		}
		table_row(t,
		        (const char *const[]){d.id, d.pool, d.type, health, numa, holder, details});
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(res);
	return CTL_EXIT_OK;
}

static struct ctl_cmd pools_cmd = {
        .name = "pools",
        .args = "[--pool NAME]",
        .help = "pools: capacity, health, allocations, device-plugin registration",
        .fn = cmd_pools,
};
CTL_CMD_REGISTER(pools_cmd)

static struct ctl_cmd devices_cmd = {
        .name = "devices",
        .args = "[--pool NAME]",
        .help = "every device with its health and holder",
        .fn = cmd_devices,
};
CTL_CMD_REGISTER(devices_cmd)
