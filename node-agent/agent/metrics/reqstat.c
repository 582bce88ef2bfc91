/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/metrics/reqstat.h"
#include "agent/server.h"
#include "agent/telemetry.h"
#include "common/cleanup.h"
#include "common/err.h"

#include <string.h>

/* Operations are registered handler names: a few dozen at most. Past that, one bucket. */
#define REQSTAT_MAX_OPS   32
#define REQSTAT_MAX_ERRNO 160

/* Seconds. CNI ADD of a VF does netlink work in the tens of milliseconds; keep resolution
 * down to 100us for the socket round trip of virtio-user. */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUNDS ARRAY_SIZE(bounds)

struct opstat {
	const char *op;                                    /* NULL: free slot */
	const char *command;                               /* CNI command or NULL */
	unsigned long long results[REQSTAT_MAX_ERRNO + 1]; /* by errno; last slot: others */
	unsigned long long buckets[N_BOUNDS];              /* not cumulative */
	unsigned long long count;
	double sum;
};

static struct opstat ops[REQSTAT_MAX_OPS + 1]; /* last: "other" */

static const struct {
	const char *op, *command;
} cni_ops[] = {
        {"attach", "ADD"},
        {"detach", "DEL"},
        {"check", "CHECK"},
        {"gc", "GC"},
        {"status", "STATUS"},
};

static struct opstat *opstat_get(const char *op)
{
	size_t i;

	for (i = 0; i < REQSTAT_MAX_OPS && ops[i].op; i++)
		if (strcmp(ops[i].op, op) == 0)
			return &ops[i];
	if (i == REQSTAT_MAX_OPS) {
		ops[i].op = "other";
		return &ops[i];
	}
	ops[i].op = op;
	for (size_t j = 0; j < ARRAY_SIZE(cni_ops); j++)
		if (strcmp(cni_ops[j].op, op) == 0)
			ops[i].command = cni_ops[j].command;
	return &ops[i];
}

void reqstat_record(const char *op, int errnum, uint64_t usec)
{
	struct opstat *s = opstat_get(op);
	double sec = usec / 1e6;

	if (errnum < 0 || errnum > REQSTAT_MAX_ERRNO)
		errnum = REQSTAT_MAX_ERRNO;
	s->results[errnum]++;
	s->count++;
	s->sum += sec;
	for (size_t i = 0; i < N_BOUNDS; i++) {
		if (sec <= bounds[i]) {
			s->buckets[i]++;
			break;
		}
	}
}

void reqstat_reset(void)
{
	memset(ops, 0, sizeof(ops));
}

static const char *result_name(int e)
{
	if (e == 0)
		return "ok";
	if (e == REQSTAT_MAX_ERRNO)
		return "other";
	return kb_errno_name(e);
}

static void collect(struct telemetry_sink *sink)
{
	unsigned long long cum[N_BOUNDS];

	for (size_t i = 0; i <= REQSTAT_MAX_OPS; i++) {
		if (!ops[i].op || !ops[i].command)
			continue;
		for (int e = 0; e <= REQSTAT_MAX_ERRNO; e++) {
			if (!ops[i].results[e])
				continue;
			sink->emit(sink, TELEMETRY_COUNTER, "cni_requests_total",
			        "CNI requests served by the agent, by CNI command and result.",
			        (const struct telemetry_label[]){{"command", ops[i].command},
			                {"result", result_name(e)}, {NULL, NULL}},
			        ops[i].results[e]);
		}
	}
	for (size_t i = 0; i <= REQSTAT_MAX_OPS; i++) {
		unsigned long long acc = 0;
		if (!ops[i].op || !ops[i].command)
			continue;
		for (size_t b = 0; b < N_BOUNDS; b++)
			cum[b] = acc += ops[i].buckets[b];
		sink->emit_histogram(sink, "cni_request_duration_seconds",
		        "Time the agent took to serve a CNI request, by CNI command.",
		        (const struct telemetry_label[]){{"command", ops[i].command}, {NULL, NULL}},
		        bounds, cum, N_BOUNDS, ops[i].count, ops[i].sum);
	}
	for (size_t i = 0; i <= REQSTAT_MAX_OPS; i++) {
		if (!ops[i].op)
			continue;
		for (int e = 0; e <= REQSTAT_MAX_ERRNO; e++) {
			if (!ops[i].results[e])
				continue;
			sink->emit(sink, TELEMETRY_COUNTER, "api_requests_total",
			        "Agent API requests (CNI, agentctl, probes), by operation and "
			        "result.",
			        (const struct telemetry_label[]){{"op", ops[i].op},
			                {"result", result_name(e)}, {NULL, NULL}},
			        ops[i].results[e]);
		}
	}
}

static struct telemetry_source reqstat_source = {.name = "requests", .collect = collect};
TELEMETRY_SOURCE_REGISTER(reqstat_source)

static void request_done(const char *op, int errnum, uint64_t usec)
{
	reqstat_record(op, errnum, usec);
}

/* Counting is a few additions: do it from the start, whether or not /metrics is served. */
static struct srv_observer reqstat_observer = {.request_done = request_done};
static void __attribute__((constructor)) reqstat_register(void)
{
	srv_observer_register(&reqstat_observer);
}
