/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cnibench: CNI ADD and DEL latency of several plugins measured in one run
 * (test/bench/bench_cni.sh).
 *
 *   cnibench --runs N --rounds R --cni-path PATH --case 'NAME|PLUGIN|CONF|NETNS' ...
 *
 * Each run execs ADD then DEL for every case, the case order rotating from run to run, so
 * that machine noise falls on all plugins alike. Plugins are started with posix_spawn and the
 * configuration file as stdin: the timing covers what a runtime pays (exec, the plugin, the
 * plugins it delegates to) and as little harness as possible. Any failed call aborts (a
 * benchmark of failures measures nothing). Prints one JSON object per case and round:
 * {"case", "round", "add_p50_ms", "add_p99_ms", "del_p50_ms", "del_p99_ms"}.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_CASES 8

struct bcase {
	char name[64];
	const char *plugin, *conf, *netns;
	double *add, *del;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One plugin exec; returns its duration in ms, exits on failure. */
static double exec_cni(const struct bcase *c, const char *cmd, const char *cid,
        const char *cni_path, const char *out)
{
	char e_cmd[64], e_cid[128], e_ns[512], e_path[4096], e_args[256], e_conf[4200];
	char *const argv[] = {(char *)c->plugin, NULL};
	/* KBNET_CNI_CONFIG (kbnet-cni's roots) is passed on when set. */
	char *envp[] = {e_cmd, e_cid, e_ns, "CNI_IFNAME=net1", e_path, e_args,
	        "PATH=/usr/sbin:/usr/bin:/sbin:/bin", getenv("KBNET_CNI_CONFIG") ? e_conf : NULL,
	        NULL};
	posix_spawn_file_actions_t fa;
	double t0, t1;
	pid_t pid;
	int st, r;

	snprintf(e_conf, sizeof(e_conf), "KBNET_CNI_CONFIG=%s",
	        getenv("KBNET_CNI_CONFIG") ? getenv("KBNET_CNI_CONFIG") : "");
	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(e_cid, sizeof(e_cid), "CNI_CONTAINERID=%s", cid);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=%s", c->netns);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", cni_path);
	snprintf(e_args, sizeof(e_args),
	        "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=%s", cid);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, c->conf, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	t0 = now_ms();
	r = posix_spawn(&pid, c->plugin, &fa, NULL, argv, envp);
	if (r == 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	t1 = now_ms();
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char buf[2048] = "";
		FILE *f = fopen(out, "r");
		if (f) {
			buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
			fclose(f);
		}
		fprintf(stderr, "cnibench: %s %s %s failed (%s): %s\n", c->name, cmd, cid,
		        r ? strerror(r) : "exit status", buf);
		exit(1);
	}
	return t1 - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples. */
static double pct(double *v, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * n + 0.999999);

	qsort(v, n, sizeof(*v), cmp);
	return v[k ? k - 1 : 0];
}

int main(int argc, char **argv)
{
	struct bcase cases[MAX_CASES];
	size_t n = 0, runs = 200, rounds = 3;
	const char *cni_path = "/usr/lib/cni";
	char out[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--cni-path") && i + 1 < argc) {
			cni_path = argv[++i];
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc && n < MAX_CASES) {
			char *spec = strdup(argv[++i]), *f[4];
			for (int k = 0; k < 4; k++)
				f[k] = strsep(&spec, "|");
			if (!f[3]) {
				fprintf(stderr, "cnibench: --case NAME|PLUGIN|CONF|NETNS\n");
				return 2;
			}
			snprintf(cases[n].name, sizeof(cases[n].name), "%s", f[0]);
			cases[n].plugin = f[1];
			cases[n].conf = f[2];
			cases[n].netns = f[3];
			cases[n].add = calloc(runs, sizeof(double));
			cases[n].del = calloc(runs, sizeof(double));
			n++;
		} else {
			fprintf(stderr, "usage: cnibench --runs N --rounds R --cni-path P "
			                "--case 'NAME|PLUGIN|CONF|NETNS'...\n");
			return 2;
		}
	}
	if (!n || !runs || !rounds)
		return 2;
	snprintf(out, sizeof(out), "/tmp/cnibench.%d.out", (int)getpid());
	for (size_t r = 0; r < rounds; r++) {
		for (size_t i = 0; i < runs; i++) {
			for (size_t k = 0; k < n; k++) {
				struct bcase *c = &cases[(i + k) % n];
				char cid[96];
				snprintf(cid, sizeof(cid), "bench-%zu-%zu", r, i);
				c->add[i] = exec_cni(c, "ADD", cid, cni_path, out);
				c->del[i] = exec_cni(c, "DEL", cid, cni_path, out);
			}
		}
		for (size_t k = 0; k < n; k++) {
			struct bcase *c = &cases[k];
			printf("{\"case\": \"%s\", \"round\": %zu, \"runs\": %zu, \"add_p50_ms\": "
			       "%.2f, "
			       "\"add_p99_ms\": %.2f, \"del_p50_ms\": %.2f, \"del_p99_ms\": "
			       "%.2f}\n",
			        c->name, r, runs, pct(c->add, runs, 50), pct(c->add, runs, 99),
			        pct(c->del, runs, 50), pct(c->del, runs, 99));
			fflush(stdout);
		}
	}
	unlink(out);
	return 0;
}
