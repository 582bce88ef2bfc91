/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl status */
#include "agentctl/ctl.h"
#include "api/api.h"
#include "api/apimsg.h"

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
	struct apimsg_status st;
	struct kb_err err = {0};
	json_t *res, *v;
	const char *k;
	int r;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: agentctl status\n");
		return CTL_EXIT_USAGE;
	}
	if ((r = ctl_call(ctl, API_OP_STATUS, NULL, &res)) != CTL_EXIT_OK)
		return r;
	if (ctl->json) {
		ctl_print_json(res);
		json_decref(res);
		return CTL_EXIT_OK;
	}
	if (apimsg_status_decode(res, &st, &err) < 0) {
		fprintf(stderr, "agentctl: %s\n", err.msg);
		json_decref(res);
		return CTL_EXIT_ERROR;
	}
	printf("kbnet-agent %s (pid %lld), up %llds, %s\n", st.version, (long long)st.pid,
	        (long long)st.uptime_seconds, st.healthy ? "healthy" : "UNHEALTHY");
	printf("config:      %s\n", st.config ? st.config : "");
	printf("pools:       %lld\n", (long long)st.pools);
	printf("devices:     %lld\n", (long long)st.devices);
	printf("allocations: %lld\n", (long long)st.allocations);
	/* Then one section per module (and the state and api sections). */
	json_object_foreach (res, k, v) {
		if (!apimsg_status_is_core(k) && json_is_object(v))
			print_section(k, v);
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static struct ctl_cmd status_cmd = {
        .name = "status",
        .args = "",
        .help = "agent health, versions and a summary per module",
        .fn = cmd_status,
};
CTL_CMD_REGISTER(status_cmd)
