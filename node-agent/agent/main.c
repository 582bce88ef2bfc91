/* SPDX-License-Identifier: Apache-2.0 */
/* kbnet-agent: the node agent. */
#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/server.h"
#include "agent/state.h"
#include "common/log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static struct {
	const char *config_path;
	bool config_explicit;
	const char *log_level;
	struct cfg *cfg;
} agent = {.config_path = CFG_DEFAULT_PATH};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: kbnet-agent [options]\n"
	        "  -c, --config PATH        configuration file (default " CFG_DEFAULT_PATH ";\n"
	        "                           the embedded default is used when it does not exist)\n"
	        "  -l, --log-level LEVEL    error, warn, info or debug (overrides logLevel)\n"
	        "      --log-format FMT     text (default) or json (one object per line; also\n"
	        "                           $KBNET_LOG_FORMAT)\n"
	        "      --check-config       load and validate the configuration, then exit\n"
	        "      --print-default-config  print the embedded default configuration\n"
	        "  -V, --version            print the version\n"
	        "  -h, --help               this help\n");
}

static int load_config(struct cfg **ret, struct kb_err *err)
{
	int r = cfg_load_file(agent.config_path, ret, err);

	if (r == -ENOENT && !agent.config_explicit) {
		kb_err_clear(err);
		return cfg_load_string(cfg_default_yaml, "<embedded>", ret, err);
	}
	return r;
}

static void apply_log_level(const struct cfg *cfg)
{
	enum log_level lvl = cfg_core(cfg)->log_level;

	if (agent.log_level)
		log_level_parse(agent.log_level, &lvl);
	log_set_level(lvl);
}

static void on_stop(int sig, void *arg)
{
	(void)arg;
	LOG_INFO("received signal %d, shutting down", sig);
	loop_stop();
}

static void on_reload(int sig, void *arg)
{
	const struct cfg_core *old, *new;
	struct kb_err err = {0};
	struct cfg *cfg;

	(void)sig;
	(void)arg;
	if (load_config(&cfg, &err) < 0) {
		LOG_ERR("reload: %s (keeping the running configuration)", err.msg);
		return;
	}
	old = cfg_core(agent.cfg);
	new = cfg_core(cfg);
	if (strcmp(old->api_socket, new->api_socket) || strcmp(old->state_dir, new->state_dir) ||
	        strcmp(old->run_dir, new->run_dir))
		LOG_WARN("reload: apiSocket, stateDir and runDir changes need a restart");
	if (inv_reload(cfg, &err) < 0)
		LOG_ERR("reload: pools: %s", err.msg);
	if (modules_reload(cfg, &err) < 0)
		LOG_ERR("reload: %s", err.msg);
	ops_init(cfg, NULL);
	cfg_free(agent.cfg);
	agent.cfg = cfg;
	apply_log_level(cfg);
	LOG_INFO("reloaded configuration from %s: %zu pools, %zu devices", cfg_source(cfg),
	        inv_pool_count(), inv_device_count());
}

/* Every vhost-user port costs descriptors (its socket, kick and call eventfds per queue) and
 * so does every API client: the usual soft limit of 1024 (systemd's default) is reached on a
 * busy node. The event loop is epoll, with no FD_SETSIZE ceiling: use the hard limit. */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		LOG_WARN("cannot raise the open files limit to %llu: %s",
		        (unsigned long long)rl.rlim_max, strerror(errno));
}

static bool persist_pending(void *ctx)
{
	return state_pending(ctx);
}

static uint64_t persist_seq(void *ctx)
{
	return state_seq(ctx);
}

static int persist_commit(void *ctx, struct kb_err *err)
{
	return state_commit(ctx, err);
}

static void persist_kick(void *ctx)
{
	(void)ctx;
	srv_commit_soon();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"log-level", required_argument, NULL, 'l'},
	        {"log-format", required_argument, NULL, 'F'},
	        {"check-config", no_argument, NULL, 'C'},
	        {"print-default-config", no_argument, NULL, 'P'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	struct kb_err err = {0};
	struct state *st = NULL;
	struct srv_persist persist;
	bool check_only = false;
	enum log_level lvl;
	int c, ret = EXIT_FAILURE;

	log_set_ident("kbnet-agent");
	{
		const char *lf = getenv("KBNET_LOG_FORMAT");
		enum log_format fmt;
		if (lf && *lf && log_format_parse(lf, &fmt) == 0)
			log_set_format(fmt);
	}
	while ((c = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			agent.config_path = optarg;
			agent.config_explicit = true;
			break;
		case 'l':
			if (log_level_parse(optarg, &lvl) < 0) {
				fprintf(stderr, "kbnet-agent: unknown log level '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			agent.log_level = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'F': {
			enum log_format fmt;
			if (log_format_parse(optarg, &fmt) < 0) {
				fprintf(stderr, "kbnet-agent: --log-format takes text or json\n");
				return EXIT_FAILURE;
			}
			log_set_format(fmt);
			break;
		}
		case 'P':
			fputs(cfg_default_yaml, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("kbnet-agent %s\n", KBNET_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return EXIT_FAILURE;
	}

	if (load_config(&agent.cfg, &err) < 0) {
		fprintf(stderr, "kbnet-agent: configuration: %s\n", err.msg);
		return EXIT_FAILURE;
	}
	if (check_only) {
		printf("%s: ok\n", cfg_source(agent.cfg));
		cfg_free(agent.cfg);
		return EXIT_SUCCESS;
	}
	apply_log_level(agent.cfg);
	LOG_INFO("kbnet-agent %s starting, configuration %s", KBNET_VERSION, cfg_source(agent.cfg));

	raise_nofile_limit();
	if (loop_init(&err) < 0) {
		LOG_ERR("%s", err.msg);
		goto out_cfg;
	}
	if (state_open(cfg_core(agent.cfg)->state_dir, &st, &err) < 0) {
		LOG_ERR("%s", err.msg);
		goto out_loop;
	}
	if (inv_init(agent.cfg, &err) < 0) {
		LOG_ERR("inventory: %s", err.msg);
		goto out_state;
	}
	if (alloc_init(st, &err) < 0) {
		LOG_ERR("loading state: %s", err.msg);
		goto out_inv;
	}
	/* Damaged state (snapshot or journal) loses allocations: an error; a torn tail loses
	 * only an unacknowledged change: a warning. The message says what was kept. */
	if (err.errnum == EBADMSG)
		LOG_ERR("%s", err.msg);
	else if (err.errnum)
		LOG_WARN("state: %s", err.msg);
	kb_err_clear(&err);
	LOG_INFO("state %s: %zu allocations restored", cfg_core(agent.cfg)->state_dir,
	        alloc_count());
	ops_init(agent.cfg, st);
	if (modules_init(agent.cfg, &err) < 0) {
		LOG_ERR("%s", err.msg);
		goto out_alloc;
	}
	persist = (struct srv_persist){
	        .pending = persist_pending,
	        .seq = persist_seq,
	        .commit = persist_commit,
	        .ctx = st,
	};
	if (srv_start(cfg_core(agent.cfg), &persist, &err) < 0) {
		LOG_ERR("api: %s", err.msg);
		goto out_modules;
	}
	/* From now on every state change is committed by the server's group commit. */
	state_set_kick(st, persist_kick, NULL);
	if (loop_on_signal(SIGTERM, on_stop, NULL) < 0 ||
	        loop_on_signal(SIGINT, on_stop, NULL) < 0 ||
	        loop_on_signal(SIGHUP, on_reload, NULL) < 0) {
		LOG_ERR("cannot install signal handlers");
		goto out_srv;
	}
	LOG_INFO("ready: %zu pools, %zu devices, api on %s", inv_pool_count(), inv_device_count(),
	        cfg_core(agent.cfg)->api_socket);
	if (loop_run() < 0)
		LOG_ERR("event loop failed");
	else
		ret = EXIT_SUCCESS;

out_srv:
	state_set_kick(st, NULL, NULL);
	srv_stop();
out_modules:
	modules_fini();
out_alloc:
	if (state_pending(st) && state_commit(st, &err) < 0)
		LOG_ERR("%s", err.msg);
	alloc_fini();
out_inv:
	inv_fini();
out_state:
	state_close(st);
out_loop:
	loop_fini();
out_cfg:
	cfg_free(agent.cfg);
	LOG_INFO("stopped");
	return ret;
}
