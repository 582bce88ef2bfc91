/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apibench: load generator for the agent API (test/bench/bench_agent.sh).
 *
 *   apibench fill SOCKET N PREFIX [CONNS]
 *       attach N allocations <PREFIX><i>/net1 (pipelined, 64 requests in flight per
 *       connection); prints {"allocations": N, "seconds": s}
 *   apibench pairs SOCKET CONNS SECONDS
 *       CONNS connections, each doing attach then detach of its own fresh key, one request
 *       at a time (as kbnet-cni does), for SECONDS; prints pairs/s and pair latency p50/p99
 *   apibench fsync DIR N
 *       N sequential 300-byte appends each followed by fdatasync in DIR: the rate of one
 *       durable change at a time on that file system (what a store without group commit
 *       could do at best); prints {"syncs_per_s": x}
 * Every agent error aborts the run (exit 1): a benchmark of failures measures nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/client.h"
#include "api/frame.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "apibench: %s: %s\n", what, msg);
	exit(1);
}

static json_t *attach_args(const char *cid)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "containerID", cid, "ifname", "net1",
	        "network", "bench", "deviceType", API_DEVTYPE_VIRTIO_USER, "pod", "namespace",
	        "bench", "name", cid);
}

/* ---- fill: pipelined attaches ---- */

struct fill_job {
	const char *sock, *prefix;
	size_t from, to;
};

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect", strerror(errno));
	return fd;
}

static void *fill_thread(void *arg)
{
	struct fill_job *j = arg;
	int fd = raw_connect(j->sock);
	size_t next = j->from, done = j->from;

	while (done < j->to) {
		/* Keep up to 64 requests in flight. */
		while (next < j->to && next - done < 64) {
			char cid[128];
			json_t *req;
			char *js;
			snprintf(cid, sizeof(cid), "%s%zu", j->prefix, next);
			req = json_pack("{s:i, s:I, s:s, s:o}", "version", API_VERSION, "id",
			        (json_int_t)next, "op", API_OP_ATTACH, "args", attach_args(cid));
			js = json_dumps(req, JSON_COMPACT);
			if (frame_send(fd, js, strlen(js), -1) < 0)
				die("send", strerror(errno));
			free(js);
			json_decref(req);
			next++;
		}
		{
			char *in = NULL;
			size_t len;
			json_t *rep;
			int r = frame_recv(fd, API_MAX_REPLY, &in, &len, -1);
			if (r < 0)
				die("recv", strerror(-r));
			rep = json_loadb(in, len, 0, NULL);
			if (!json_is_true(json_object_get(rep, "ok")))
				die("attach", in);
			json_decref(rep);
			free(in);
			done++;
		}
	}
	close(fd);
	return NULL;
}

static int cmd_fill(int argc, char **argv)
{
	size_t n, conns;
	pthread_t th[64];
	struct fill_job jobs[64];
	double t0;

	if (argc < 5)
		return 2;
	n = strtoul(argv[3], NULL, 10);
	conns = argc > 5 ? strtoul(argv[5], NULL, 10) : 4;
	if (conns < 1 || conns > 64)
		return 2;
	t0 = now_s();
	for (size_t i = 0; i < conns; i++) {
		jobs[i] = (struct fill_job){.sock = argv[2],
		        .prefix = argv[4],
		        .from = n * i / conns,
		        .to = n * (i + 1) / conns};
		pthread_create(&th[i], NULL, fill_thread, &jobs[i]);
	}
	for (size_t i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	printf("{\"allocations\": %zu, \"seconds\": %.3f}\n", n, now_s() - t0);
	return 0;
}

/* ---- pairs: request/reply attach + detach ---- */

struct pair_job {
	const char *sock;
	unsigned id;
	double until;
	size_t n, cap;
	double *lat; /* seconds per pair */
};

static void call(struct apicl *c, const char *op, json_t *args)
{
	struct kb_err err = {0};
	json_t *res = NULL;

	if (apicl_call(c, op, args, &res, &err) < 0)
		die(op, err.msg);
	json_decref(res);
}

static void *pair_thread(void *arg)
{
	struct pair_job *j = arg;
	struct kb_err err = {0};
	struct apicl *c;

	if (apicl_connect(j->sock, -1, &c, &err) < 0)
		die("connect", err.msg);
	for (size_t i = 0;; i++) {
		char cid[64];
		json_t *a, *d;
		double t0 = now_s();

		if (t0 >= j->until)
			break;
		snprintf(cid, sizeof(cid), "pair-%u-%zu", j->id, i);
		a = attach_args(cid);
		d = json_pack("{s:s, s:s}", "containerID", cid, "ifname", "net1");
		call(c, API_OP_ATTACH, a);
		call(c, API_OP_DETACH, d);
		json_decref(a);
		json_decref(d);
		if (j->n == j->cap) {
			j->cap = j->cap ? 2 * j->cap : 4096;
			j->lat = realloc(j->lat, j->cap * sizeof(*j->lat));
		}
		j->lat[j->n++] = now_s() - t0;
	}
	apicl_close(c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_pairs(int argc, char **argv)
{
	struct pair_job jobs[256];
	pthread_t th[256];
	size_t conns, total = 0, k = 0;
	double secs, t0, t1, *all;

	if (argc < 5)
		return 2;
	conns = strtoul(argv[3], NULL, 10);
	secs = strtod(argv[4], NULL);
	if (conns < 1 || conns > 256 || secs <= 0)
		return 2;
	t0 = now_s();
	for (size_t i = 0; i < conns; i++) {
		jobs[i] = (struct pair_job){.sock = argv[2], .id = i, .until = t0 + secs};
		pthread_create(&th[i], NULL, pair_thread, &jobs[i]);
	}
	for (size_t i = 0; i < conns; i++) {
		pthread_join(th[i], NULL);
		total += jobs[i].n;
	}
	t1 = now_s();
	all = malloc((total + 1) * sizeof(*all));
	for (size_t i = 0; i < conns; i++) {
		memcpy(all + k, jobs[i].lat, jobs[i].n * sizeof(*all));
		k += jobs[i].n;
		free(jobs[i].lat);
	}
	qsort(all, total, sizeof(*all), cmp_double);
	printf("{\"connections\": %zu, \"pairs\": %zu, \"seconds\": %.3f, \"pairs_per_s\": %.0f, "
	       "\"p50_us\": %.0f, \"p99_us\": %.0f}\n",
	        conns, total, t1 - t0, total / (t1 - t0), total ? all[total / 2] * 1e6 : 0,
	        total ? all[(size_t)(0.99 * (total - 1))] * 1e6 : 0);
	free(all);
	return 0;
}

/* ---- fsync: the one-at-a-time durability bound ---- */

static int cmd_fsync(int argc, char **argv)
{
	char path[4096], rec[300];
	size_t n;
	double t0, t1;
	int fd;

	if (argc < 4)
		return 2;
	n = strtoul(argv[3], NULL, 10);
	snprintf(path, sizeof(path), "%s/apibench.fsync", argv[2]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path, strerror(errno));
	memset(rec, 'x', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	t0 = now_s();
	for (size_t i = 0; i < n; i++)
		if (write(fd, rec, sizeof(rec)) != sizeof(rec) || fdatasync(fd) < 0)
			die(path, strerror(errno));
	t1 = now_s();
	close(fd);
	unlink(path);
	printf("{\"syncs\": %zu, \"syncs_per_s\": %.0f}\n", n, n / (t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc > 1 && strcmp(argv[1], "fill") == 0)
		r = cmd_fill(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "pairs") == 0)
		r = cmd_pairs(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "fsync") == 0)
		r = cmd_fsync(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: apibench fill SOCKET N PREFIX [CONNS] | pairs SOCKET CONNS "
		                "SECONDS | fsync DIR N\n");
	return r;
}
