/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl: who holds what, from the node agent. */
#include "agentctl/ctl.h"
#include "api/api.h"
#include "api/client.h"
#include "common/str.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static STAILQ_HEAD(, ctl_cmd) cmds = STAILQ_HEAD_INITIALIZER(cmds);

void ctl_cmd_register(struct ctl_cmd *cmd)
{
	STAILQ_INSERT_TAIL(&cmds, cmd, next);
}

int ctl_call(struct ctl *ctl, const char *op, json_t *args, json_t **ret)
{
	struct kb_err err = {0};
	struct apicl *c;
	int r;

	if ((r = apicl_connect(ctl->socket, ctl->timeout_ms, &c, &err)) < 0) {
		fprintf(stderr, "agentctl: kbnet-agent is not reachable at %s: %s\n", ctl->socket,
		        strerror(-r));
		return CTL_EXIT_UNREACHABLE;
	}
	r = apicl_call(c, op, args, ret, &err);
	if (r < 0) {
		bool remote = apicl_remote_error(c);
		fprintf(stderr, "agentctl: %s: %s%s\n", op,
		        remote ? "" : "talking to the agent: ", err.msg);
		apicl_close(c);
		return remote ? CTL_EXIT_ERROR : CTL_EXIT_UNREACHABLE;
	}
	apicl_close(c);
	return CTL_EXIT_OK;
}

void ctl_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void fmt_age(const char *ts, char *buf, size_t size)
{
	struct tm tm = {0};
	long s;

	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	s = (long)(time(NULL) - timegm(&tm));
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (s < 7200)
		snprintf(buf, size, "%ldm%lds", s / 60, s % 60);
	else if (s < 172800)
		snprintf(buf, size, "%ldh%ldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, size, "%ldd", s / 86400);
}

static void usage(FILE *f)
{
	struct ctl_cmd *cmd;

	fprintf(f,
	        "Usage: agentctl [--socket PATH] [-o table|json] [--timeout MS] COMMAND [ARGS]\n\n"
	        "Commands:\n");
	STAILQ_FOREACH(cmd, &cmds, next)
	{
		char head[64];
		snprintf(head, sizeof(head), "%s %s", cmd->name, cmd->args);
		fprintf(f, "  %-32s %s\n", head, cmd->help);
	}
	fprintf(f, "\nOptions:\n"
	           "  -s, --socket PATH   agent socket (default $KBNET_AGENT_SOCKET "
	           "or " API_DEFAULT_SOCKET ")\n"
	           "  -o, --output FMT    table (default) or json\n"
	           "  -t, --timeout MS    give up after MS milliseconds (default 5000)\n"
	           "\nExit status: 0 ok, 1 the agent reported an error, 2 usage, 3 agent "
	           "unreachable.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"output", required_argument, NULL, 'o'},
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct ctl ctl = {.socket = API_DEFAULT_SOCKET, .timeout_ms = 5000};
	const char *env = getenv("KBNET_AGENT_SOCKET");
	struct ctl_cmd *cmd;
	uint64_t v;
	int c;

	if (env && *env)
		ctl.socket = env;
	/* Options stop at the command: its own flags follow it. */
	while ((c = getopt_long(argc, argv, "+s:o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				ctl.json = true;
			} else if (strcmp(optarg, "table") != 0) {
				fprintf(stderr, "agentctl: -o takes table or json\n");
				return CTL_EXIT_USAGE;
			}
			break;
		case 't':
			if (str_to_u64(optarg, 1, 600000, &v) < 0) {
				fprintf(stderr, "agentctl: --timeout takes 1..600000 ms\n");
				return CTL_EXIT_USAGE;
			}
			ctl.timeout_ms = v;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	STAILQ_FOREACH(cmd, &cmds, next)
	if (strcmp(cmd->name, argv[optind]) == 0)
		break;
	if (!cmd) {
		fprintf(stderr, "agentctl: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	optind++; /* reset getopt for the subcommand: it parses from its argv[1] */
	{
		int sub_argc = argc - optind + 1;
		char **sub_argv = argv + optind - 1;
		optind = 0;
		return cmd->fn(&ctl, sub_argc, sub_argv);
	}
}
