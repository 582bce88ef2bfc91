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

static void global_options(FILE *f)
{
	fprintf(f, "\nOptions (before or after the command):\n"
	           "  -s, --socket PATH   agent socket (default $KBNET_AGENT_SOCKET "
	           "or " API_DEFAULT_SOCKET ")\n"
	           "  -o, --output FMT    table (default) or json\n"
	           "  -t, --timeout MS    give up after MS milliseconds (default 5000)\n"
	           "  -h, --help          this help (after a command: the command's)\n"
	           "\nExit status: 0 ok, 1 the agent reported an error, 2 usage, 3 agent "
	           "unreachable.\n");
}

static void usage(FILE *f)
{
	struct ctl_cmd *cmd;

	fprintf(f,
	        "Usage: agentctl [--socket PATH] [-o table|json] [--timeout MS] COMMAND [ARGS]\n\n"
	        "Commands:\n");
	STAILQ_FOREACH (cmd, &cmds, next) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", cmd->name, cmd->args);
		fprintf(f, "  %-32s %s\n", head, cmd->help);
	}
	global_options(f);
}

static void cmd_usage(FILE *f, const struct ctl_cmd *cmd)
{
	fprintf(f, "Usage: agentctl %s%s%s [OPTIONS]\n\n%s\n", cmd->name, cmd->args[0] ? " " : "",
	        cmd->args, cmd->help);
	global_options(f);
}

/* One global option at argv[*i] (-o json, -ojson, --output json, --output=json, ...): applied
 * and consumed. 1 when it was one, 0 when not, <0 (an exit code, negated) on a bad value. */
static int global_opt(struct ctl *ctl, int argc, char **argv, int *i)
{
	static const struct {
		char s;
		const char *l;
	} g[] = {{'s', "socket"}, {'o', "output"}, {'t', "timeout"}};
	const char *a = argv[*i], *val = NULL;
	uint64_t v;
	char which = 0;

	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]) && !which; k++) {
		size_t ll = strlen(g[k].l);
		if (a[0] == '-' && a[1] == g[k].s) {
			which = g[k].s;
			val = a[2] ? a + 2 : NULL;
		} else if (!strncmp(a, "--", 2) && !strncmp(a + 2, g[k].l, ll) &&
		           (a[2 + ll] == '\0' || a[2 + ll] == '=')) {
			which = g[k].s;
			val = a[2 + ll] == '=' ? a + 3 + ll : NULL;
		}
	}
	if (!which)
		return 0;
	if (!val) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "agentctl: %s needs a value\n", a);
			return -CTL_EXIT_USAGE;
		}
		val = argv[++*i];
	}
	switch (which) {
	case 's':
		ctl->socket = val;
		break;
	case 'o':
		if (strcmp(val, "json") && strcmp(val, "table")) {
			fprintf(stderr, "agentctl: -o takes table or json\n");
			return -CTL_EXIT_USAGE;
		}
		ctl->json = !strcmp(val, "json");
		break;
	case 't':
		if (str_to_u64(val, 1, 600000, &v) < 0) {
			fprintf(stderr, "agentctl: --timeout takes 1..600000 ms\n");
			return -CTL_EXIT_USAGE;
		}
		ctl->timeout_ms = v;
		break;
	}
	return 1;
}

/* kubectl users type options after the command (`agentctl allocations -o json`): the global
 * ones are taken out of the command's arguments wherever they are (up to "--"); -h/--help
 * prints the command's help (1). The command's own options stay for it. 0: go on; <0: the
 * usage exit code, negated. */
static int split_global(struct ctl *ctl, const struct ctl_cmd *cmd, int *argc, char **argv)
{
	int n = 1, r;
	bool rest = false;

	for (int i = 1; i < *argc; i++) {
		if (rest) {
			argv[n++] = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			rest = true;
			argv[n++] = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cmd_usage(stdout, cmd);
			return 1;
		}
		if ((r = global_opt(ctl, *argc, argv, &i)) < 0)
			return r;
		if (r == 0)
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
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
	STAILQ_FOREACH (cmd, &cmds, next)
		if (strcmp(cmd->name, argv[optind]) == 0)
			break;
	if (!cmd) {
		fprintf(stderr, "agentctl: unknown command '%s'\n\n", argv[optind]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	optind++; /* reset getopt for the subcommand: it parses from its argv[1] */
	{
		int sub_argc = argc - optind + 1, r;
		char **sub_argv = argv + optind - 1;
		if ((r = split_global(&ctl, cmd, &sub_argc, sub_argv)) != 0)
			return r > 0 ? CTL_EXIT_OK : -r;
		optind = 0;
		return cmd->fn(&ctl, sub_argc, sub_argv);
	}
}

int ctl_list(
        struct ctl *ctl, const struct apimsg_list_args *in, json_t **ret_res, json_t **ret_items)
{
	json_t *args = apimsg_list_args_encode(in);
	struct kb_err err = {0};
	int r;

	r = ctl_call(ctl, API_OP_LIST, args, ret_res);
	json_decref(args);
	if (r != CTL_EXIT_OK)
		return r;
	if (apimsg_list_result_decode(*ret_res, in->what, ret_items, &err) < 0) {
		fprintf(stderr, "agentctl: %s\n", err.msg);
		json_decref(*ret_res);
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}
