/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet-cni's untrusted input: the network configuration (stdin) and CNI_ARGS.
 * Input: "<CNI_COMMAND>\n<CNI_ARGS>\n<netconf JSON>"; an unknown command means ADD.
 * A parsed configuration goes through the checks the plugin makes next (CNI_PATH cross-check)
 * and its prevResult is printed in every version, as CHECK and the cached result do.
 */
#include "fuzz.h"
#include "netconf.h"
#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err ce = {0};
	struct cni_args args;
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
		netconf_args_parse(line, &args, &ce);
	free(line);

	netconf_peek_version((const char *)data, size);
	if (netconf_parse((const char *)data, size, cmd, &nc, &ce) == 0) {
		struct cni_env env = {.cmd = cmd};
		struct cni_err ce2 = {0};
		netconf_check_env(nc, &env, &ce2);
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
