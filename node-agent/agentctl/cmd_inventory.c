/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl pools | devices */
#include "agentctl/ctl.h"

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

static json_t *list_args(const char *what, const char *pool)
{
	json_t *args = json_pack("{s:s}", "what", what);

	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	return args;
}

static void num(char *buf, size_t size, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		snprintf(buf, size, "%lld", json_integer_value(v));
	else
		snprintf(buf, size, "-");
}

static int cmd_pools(struct ctl *ctl, int argc, char **argv)
{
	static const char *const hdr[] = {"POOL", "TYPE", "RESOURCE", "CAPACITY", "HEALTHY",
	        "ALLOCATED", "FREE", "DEVICE-PLUGIN", NULL};
	json_t *res, *args, *p;
	const char *pool;
	struct table *t;
	size_t i;
	int r;

	if ((r = parse_pool_opt(argc, argv, "pools", &pool)) != CTL_EXIT_OK)
		return r;
	args = list_args("pools", pool);
	r = ctl_call(ctl, "list", args, &res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(json_object_get(res, "pools"));
		json_decref(res);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (json_object_get(res, "pools"), i, p) {
		char cap[24], healthy[24], alloc[24], free_[24], dp[64];
		json_t *dpo = json_object_get(p, "devicePluginStatus");
		num(cap, sizeof(cap), p, "capacity");
		num(healthy, sizeof(healthy), p, "healthy");
		num(alloc, sizeof(alloc), p, "allocated");
		num(free_, sizeof(free_), p, "free");
		/* The device-plugin module adds its status; without it, say whether it is on. */
		if (json_is_object(dpo))
			snprintf(dp, sizeof(dp), "%s",
			        json_is_true(json_object_get(dpo, "registered"))
			                ? "registered"
			                : "not registered");
		else
			snprintf(dp, sizeof(dp), "%s",
			        json_is_true(json_object_get(p, "devicePlugin")) ? "enabled"
			                                                         : "off");
		table_row(t, (const char *const[]){jstr(p, "name"), jstr(p, "type"),
		                     jstr(p, "resourceName"), cap, healthy, alloc, free_, dp});
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(res);
	return CTL_EXIT_OK;
}

static void holder_cell(json_t *h, char *buf, size_t size)
{
	json_t *pod = json_object_get(h, "pod");
	const char *ns = jstr(pod, "namespace"), *name = jstr(pod, "name");

	if (!json_is_object(h)) {
		snprintf(buf, size, "-");
		return;
	}
	if (ns && name)
		snprintf(buf, size, "%s/%s %s", ns, name, jstr(h, "ifname"));
	else
		snprintf(buf, size, "%.12s %s", jstr(h, "containerID"), jstr(h, "ifname"));
}

static int cmd_devices(struct ctl *ctl, int argc, char **argv)
{
	static const char *const hdr[] = {
	        "DEVICE", "POOL", "TYPE", "HEALTH", "NUMA", "HOLDER", "DETAILS", NULL};
	json_t *res, *args, *d;
	const char *pool;
	struct table *t;
	size_t i;
	int r;

	if ((r = parse_pool_opt(argc, argv, "devices", &pool)) != CTL_EXIT_OK)
		return r;
	args = list_args("devices", pool);
	r = ctl_call(ctl, "list", args, &res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(json_object_get(res, "devices"));
		json_decref(res);
		return CTL_EXIT_OK;
	}
	t = table_new(hdr);
	json_array_foreach (json_object_get(res, "devices"), i, d) {
		static const char *const skip[] = {
		        "id", "pool", "type", "health", "numa", "holder", NULL};
		char numa[16], holder[256], details[512] = "", health[96];
		const char *k;
		json_t *v;
		size_t off = 0;

		num(numa, sizeof(numa), d, "numa");
		if (strcmp(numa, "-1") == 0)
			snprintf(numa, sizeof(numa), "-");
		holder_cell(json_object_get(d, "holder"), holder, sizeof(holder));
		snprintf(health, sizeof(health), "%s%s%s%s", jstr(d, "health"),
		        jstr(d, "reason") ? " (" : "", jstr(d, "reason") ? jstr(d, "reason") : "",
		        jstr(d, "reason") ? ")" : "");
		/* Type-specific fields (MAC, PF, VF settings...) as key=value. */
		json_object_foreach (d, k, v) {
			bool skipped = strcmp(k, "reason") == 0;
			char *s;
			for (size_t j = 0; skip[j]; j++)
				skipped = skipped || strcmp(skip[j], k) == 0;
			if (skipped || off >= sizeof(details) - 1)
				continue;
			s = json_is_string(v) ? strdup(json_string_value(v))
			                      : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			off += snprintf(details + off, sizeof(details) - off, "%s%s=%s",
			        off ? " " : "", k, s ? s : "?");
			free(s);
		}
		table_row(t, (const char *const[]){jstr(d, "id"), jstr(d, "pool"), jstr(d, "type"),
		                     health, numa, holder, details});
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
