/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl status */
#include "agentctl/ctl.h"

#include <string.h>

/* Print a module's status object as "  key: value" lines. */
static void print_section(const char *name, json_t *obj)
{
	const char *k;
	json_t *v;

	printf("%s:\n", name);
	json_object_foreach (obj, k, v) {
		char *s;
		if (json_is_object(v) || json_is_array(v))
			s = json_dumps(v, JSON_COMPACT);
		else
			s = json_dumps(v, JSON_ENCODE_ANY);
		if (json_is_string(v))
			printf("  %-18s %s\n", k, json_string_value(v));
		else
			printf("  %-18s %s\n", k, s ? s : "?");
		free(s);
	}
}

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	static const char *const core[] = {"version", "apiVersion", "pid", "startedAt",
	        "uptimeSeconds", "config", "pools", "devices", "allocations", "healthy", NULL};
	json_t *st, *v;
	const char *k;
	int r;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: agentctl status\n");
		return CTL_EXIT_USAGE;
	}
	if ((r = ctl_call(ctl, "status", NULL, &st)) != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(st);
		json_decref(st);
		return CTL_EXIT_OK;
	}
	printf("kbnet-agent %s (pid %lld), up %llds, %s\n", jstr(st, "version"),
	        json_integer_value(json_object_get(st, "pid")),
	        json_integer_value(json_object_get(st, "uptimeSeconds")),
	        json_is_true(json_object_get(st, "healthy")) ? "healthy" : "UNHEALTHY");
	printf("config:      %s\n", jstr(st, "config"));
	printf("pools:       %lld\n", json_integer_value(json_object_get(st, "pools")));
	printf("devices:     %lld\n", json_integer_value(json_object_get(st, "devices")));
	printf("allocations: %lld\n", json_integer_value(json_object_get(st, "allocations")));
	json_object_foreach (st, k, v) {
		bool is_core = false;
		for (size_t i = 0; core[i]; i++)
			is_core = is_core || strcmp(core[i], k) == 0;
		if (!is_core && json_is_object(v))
			print_section(k, v);
	}
	json_decref(st);
	return CTL_EXIT_OK;
}

static struct ctl_cmd status_cmd = {
        .name = "status",
        .args = "",
        .help = "agent health, versions and a summary per module",
        .fn = cmd_status,
};
CTL_CMD_REGISTER(status_cmd)
