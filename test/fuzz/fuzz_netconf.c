/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet-cni's untrusted input: the network configuration (stdin) and CNI_ARGS.
 * Input: "<CNI_COMMAND>\n<CNI_ARGS>\n<netconf JSON>"; an unknown command means ADD.
 * A parsed configuration goes through the checks the plugin makes next (CNI_PATH cross-check)
 * and its prevResult is printed in every version, as CHECK and the cached result do.
 */
#include "fuzz.h"

#include <errno.h>

#include "agent/server.h"
#include "agentcall.h"
#include "common/err.h"
#include "netconf.h"
#include "result.h"

/* What the plugin sends for an ADD must get past the agent's argument decoding: the agent
 * (no inventory here) may only refuse it for the want of a pool, never as invalid. */
static void check_attach_args(const struct netconf *nc, const struct cni_args *args)
{
	struct cni_env env = {.cmd = CNI_CMD_ADD,
	        .container_id = "4f1c2b3a",
	        .ifname = "net1",
	        .netns = "/var/run/netns/x",
	        .args = *args};
	json_t *req = json_pack("{s:i, s:s, s:o}", "version", 1, "op", "attach", "args",
	        agentcall_attach_args(nc, &env));
	bool changed;
	json_t *reply = req ? srv_dispatch(req, 0, 1, &changed) : NULL;
	const char *code =
	        json_string_value(json_object_get(json_object_get(reply, "error"), "code"));

	if (code && !strcmp(code, kb_errno_name(EINVAL))) {
		char *s = json_dumps(reply, JSON_COMPACT), *r = json_dumps(req, JSON_COMPACT);
		fprintf(stderr, "plugin accepted what the agent refuses:\n%s\n%s\n", r, s);
		abort();
	}
	json_decref(reply);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err ce = {0};
	struct cni_args args = {0};
	bool args_ok = false;
	struct netconf *nc = NULL;
	enum cni_cmd cmd;
	char *line;

	if (size > NETCONF_MAX_STDIN)
		return 0;
	line = fuzz_next_line(&data, &size);
	cmd = netconf_cmd_parse(line);
	free(line);
	if (cmd == CNI_CMD_NONE || cmd == CNI_CMD_VERSION)
		cmd = CNI_CMD_ADD;
	line = fuzz_next_line(&data, &size);
	if (strlen(line) <= NETCONF_MAX_ARGS)
		args_ok = netconf_args_parse(line, &args, &ce) == 0;
	free(line);

	netconf_peek_version((const char *)data, size);
	if (netconf_parse((const char *)data, size, cmd, &nc, &ce) == 0) {
		struct cni_env env = {.cmd = cmd};
		struct cni_err ce2 = {0};
		netconf_check_env(nc, &env, &ce2);
		if (cmd == CNI_CMD_ADD && args_ok)
			check_attach_args(nc, &args);
		if (nc->prev) {
			for (enum cni_version v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++) {
				json_t *j = cni_result_to_json(nc->prev, v);
				char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
				free(s);
				json_decref(j);
			}
		}
		netconf_free(nc);
	} else {
		json_t *j = cni_err_to_json(&ce, netconf_peek_version((const char *)data, size));
		json_decref(j);
	}
	return 0;
}
