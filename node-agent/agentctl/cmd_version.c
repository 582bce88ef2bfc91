/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl version: this client's release and the running agent's (from `status`). */
#include "agentctl/ctl.h"
#include "api/api.h"
#include "api/apimsg.h"

#include <stdio.h>

static int cmd_version(struct ctl *ctl, int argc, char **argv)
{
	json_t *st = NULL, *out;
	const char *agent;
	int r;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "agentctl: version takes no arguments\n");
		return CTL_EXIT_USAGE;
	}
	/* Like kubectl version: the client's answer even when the agent does not answer. */
	r = ctl_call(ctl, API_OP_STATUS, NULL, &st);
	agent = NULL;
	if (r == CTL_EXIT_OK) {
		struct apimsg_status s;
		struct kb_err err = {0};
		if (apimsg_status_decode(st, &s, &err) == 0)
			agent = s.version;
	}
	if (ctl->json) {
		out = json_pack("{s:s, s:s?}", "client", API_KBNET_RELEASE, "agent", agent);
		ctl_print_json(out);
		json_decref(out);
	} else {
		printf("agentctl %s\n", API_KBNET_RELEASE);
		if (agent)
			printf("kbnet-agent %s\n", agent);
	}
	json_decref(st);
	return r;
}

static struct ctl_cmd version_cmd = {
        .name = "version",
        .args = "",
        .help = "agentctl's release and the running agent's",
        .fn = cmd_version,
};
CTL_CMD_REGISTER(version_cmd)
