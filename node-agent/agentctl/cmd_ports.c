/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl ports | stats [--watch]: the fast path's ports, counters and worker cycles. */
#include "agentctl/ctl.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const drop_keys[] = {"spoof", "oversize", "unknown", "txFull", "down", "noMbuf",
        "runt", "vlan", "offload", NULL};

static uint64_t jint(json_t *o, const char *k)
{
	return (uint64_t)json_integer_value(json_object_get(o, k));
}

static uint64_t stat(json_t *port, const char *k)
{
	return jint(json_object_get(port, "stats"), k);
}

static uint64_t drop(json_t *port, const char *k)
{
	return jint(json_object_get(json_object_get(port, "stats"), "drops"), k);
}

/* "spoof:3 oversize:1", or "0" */
static void drops_cell(json_t *port, json_t *prev, double scale, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; drop_keys[i]; i++) {
		uint64_t v = drop(port, drop_keys[i]) - (prev ? drop(prev, drop_keys[i]) : 0);
		if (v && off < size)
			off += snprintf(buf + off, size - off, "%s%s:%.0f", off ? " " : "",
			        drop_keys[i], v * scale);
	}
	if (!off)
		snprintf(buf, size, "0");
}

/* Offloads: "off", the uplink's mode, or "on" with what the switch did ("gso:2 seg:1/45"). */
static void offloads_cell(json_t *port, char *buf, size_t size)
{
	json_t *o = json_object_get(json_object_get(port, "stats"), "offloads");
	json_t *on = json_object_get(port, "offloads");
	uint64_t gso = jint(o, "rxGsoPackets"), sw = jint(o, "txGsoSoftware"),
	         segs = jint(o, "txGsoSegments"), csum = jint(o, "txCsumSoftware");
	int n;

	if (json_is_string(on))
		n = snprintf(buf, size, "%s", json_string_value(on));
	else
		n = snprintf(buf, size, "%s", json_is_true(on) ? "on" : "off");
	if (n < 0 || (size_t)n >= size)
		return;
	if (gso || sw || csum)
		snprintf(buf + n, size - n, " gso:%llu seg:%llu/%llu csum:%llu",
		        (unsigned long long)gso, (unsigned long long)sw, (unsigned long long)segs,
		        (unsigned long long)csum);
}

static void u64(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%llu", (unsigned long long)v);
}

static void ports_table(json_t *ports)
{
	static const char *const hdr[] = {"PORT", "NETWORK", "VLAN", "MAC", "AGENT", "LINK", "Q",
	        "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES", "DROPS", "OFFLOADS", NULL};
	struct table *t = table_new(hdr);
	json_t *p;
	size_t i;

	json_array_foreach (ports, i, p) {
		char vlan[8] = "-", q[16], rxp[24], rxb[24], txp[24], txb[24], drops[160], ol[192];
		json_t *v = json_object_get(p, "vlan");
		if (json_is_integer(v))
			snprintf(vlan, sizeof(vlan), "%lld", json_integer_value(v));
		if (json_object_get(p, "activeQueues"))
			snprintf(q, sizeof(q), "%llu/%llu",
			        (unsigned long long)jint(p, "activeQueues"),
			        (unsigned long long)jint(p, "queues"));
		else
			u64(q, sizeof(q), jint(p, "queues"));
		u64(rxp, sizeof(rxp), stat(p, "rxPackets"));
		u64(rxb, sizeof(rxb), stat(p, "rxBytes"));
		u64(txp, sizeof(txp), stat(p, "txPackets"));
		u64(txb, sizeof(txb), stat(p, "txBytes"));
		drops_cell(p, NULL, 1, drops, sizeof(drops));
		offloads_cell(p, ol, sizeof(ol));
		const char *row[] = {jstr(p, "name"), jstr(p, "network"), vlan, jstr(p, "mac"),
		        jstr(p, "agentMode")           ? jstr(p, "agentMode")
		        : json_object_get(p, "netdev") ? "tap" /* a kernel pod's TAP */
		                                       : jstr(p, "device"),
		        json_is_true(json_object_get(p, "connected")) ? "up" : "down", q, rxp, rxb,
		        txp, txb, drops, ol};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
}

static int cmd_ports(struct ctl *ctl, int argc, char **argv)
{
	json_t *res;
	int r;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: agentctl ports\n");
		return CTL_EXIT_USAGE;
	}
	if ((r = ctl_call(ctl, "ports", NULL, &res)) != CTL_EXIT_OK)
		return r;
	if (ctl->json)
		ctl_print_json(json_object_get(res, "ports"));
	else
		ports_table(json_object_get(res, "ports"));
	json_decref(res);
	return CTL_EXIT_OK;
}

static struct ctl_cmd ports_cmd = {
        .name = "ports",
        .args = "",
        .help = "fast-path ports with their counters",
        .fn = cmd_ports,
};
CTL_CMD_REGISTER(ports_cmd)

/* Worker cycles: totals, or over the interval since `prev`. */
static void workers_table(json_t *st, json_t *prev)
{
	static const char *const hdr[] = {"WORKER", "LCORE", "CPU", "PACKETS", "BUSY%",
	        "CYCLES/PKT", "LOOP-CYC/PKT", "SLEEPS", NULL};
	json_t *w, *pw = prev ? json_object_get(prev, "workers") : NULL;
	struct table *t = table_new(hdr);
	size_t i;

	json_array_foreach (json_object_get(st, "workers"), i, w) {
		json_t *p = pw ? json_array_get(pw, i) : NULL;
		uint64_t busy = jint(w, "busyCycles") - (p ? jint(p, "busyCycles") : 0);
		uint64_t work = jint(w, "workCycles") - (p ? jint(p, "workCycles") : 0);
		uint64_t idle = jint(w, "idleCycles") - (p ? jint(p, "idleCycles") : 0);
		uint64_t pkts = jint(w, "packets") - (p ? jint(p, "packets") : 0);
		uint64_t sleeps = jint(w, "sleeps") - (p ? jint(p, "sleeps") : 0);
		char id[8], lc[8], cpu[8], pk[24], bp[16], cpp[24], lcpp[24], sl[24];
		u64(id, sizeof(id), jint(w, "id"));
		u64(lc, sizeof(lc), jint(w, "lcore"));
		u64(cpu, sizeof(cpu), jint(w, "cpu"));
		u64(pk, sizeof(pk), pkts);
		snprintf(bp, sizeof(bp), "%.1f", busy + idle ? 100.0 * busy / (busy + idle) : 0.0);
		/* work: polls that returned packets; loop: whole loops that did (with empty polls)
		 */
		if (pkts) {
			snprintf(cpp, sizeof(cpp), "%.1f", (double)work / pkts);
			snprintf(lcpp, sizeof(lcpp), "%.1f", (double)busy / pkts);
		} else {
			snprintf(cpp, sizeof(cpp), "-");
			snprintf(lcpp, sizeof(lcpp), "-");
		}
		u64(sl, sizeof(sl), sleeps);
		const char *row[] = {id, lc, cpu, pk, bp, cpp, lcpp, sl};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
}

static json_t *find_port(json_t *ports, json_t *p)
{
	json_t *q;
	size_t i;

	json_array_foreach (ports, i, q)
		if (jint(q, "slot") == jint(p, "slot") && jstr(q, "name") && jstr(p, "name") &&
		        !strcmp(jstr(q, "name"), jstr(p, "name")))
			return q;
	return NULL;
}

/* Per-port rates over the interval. */
static void rates_table(json_t *st, json_t *prev, double secs)
{
	static const char *const hdr[] = {"PORT", "NETWORK", "LINK", "RX-PPS", "RX-MBPS", "TX-PPS",
	        "TX-MBPS", "DROPS/S", NULL};
	struct table *t = table_new(hdr);
	json_t *p;
	size_t i;

	json_array_foreach (json_object_get(st, "ports"), i, p) {
		json_t *o = find_port(json_object_get(prev, "ports"), p);
		char rp[24], rb[24], tp[24], tb[24], drops[160];
#define D(k) ((double)(stat(p, k) - (o ? stat(o, k) : 0)) / secs)
		snprintf(rp, sizeof(rp), "%.0f", D("rxPackets"));
		snprintf(rb, sizeof(rb), "%.1f", D("rxBytes") * 8 / 1e6);
		snprintf(tp, sizeof(tp), "%.0f", D("txPackets"));
		snprintf(tb, sizeof(tb), "%.1f", D("txBytes") * 8 / 1e6);
#undef D
		drops_cell(p, o, 1 / secs, drops, sizeof(drops));
		const char *row[] = {jstr(p, "name"), jstr(p, "network"),
		        json_is_true(json_object_get(p, "connected")) ? "up" : "down", rp, rb, tp,
		        tb, drops};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
}

static int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"watch", no_argument, NULL, 'w'},
	        {"interval", required_argument, NULL, 'i'}, {"count", required_argument, NULL, 'n'},
	        {0}};
	const char *usage = "usage: agentctl stats [--watch] [--interval SEC] [--count N]\n";
	double interval = 1.0;
	long count = 0; /* 0: forever */
	bool watch = false;
	json_t *prev = NULL, *st;
	int c, r;

	while ((c = getopt_long(argc, argv, "wi:n:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'w':
			watch = true;
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || interval < 0.1 || interval > 3600) {
				fprintf(stderr, "agentctl: --interval takes 0.1..3600 seconds\n");
				return CTL_EXIT_USAGE;
			}
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1) {
				fprintf(stderr, "agentctl: --count takes a positive number\n");
				return CTL_EXIT_USAGE;
			}
			break;
		default:
			fputs(usage, stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return CTL_EXIT_USAGE;
	}
	if ((r = ctl_call(ctl, "stats", NULL, &st)) != CTL_EXIT_OK)
		return r;
	if (!watch) {
		if (ctl->json) {
			ctl_print_json(st);
		} else {
			workers_table(st, NULL);
			putchar('\n');
			ports_table(json_object_get(st, "ports"));
		}
		json_decref(st);
		return CTL_EXIT_OK;
	}
	/* --watch: rates over each interval, from the agent's own clock. */
	for (long i = 0; count == 0 || i < count; i++) {
		struct timespec ts = {
		        (time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
		double secs;
		prev = st;
		nanosleep(&ts, NULL);
		if ((r = ctl_call(ctl, "stats", NULL, &st)) != CTL_EXIT_OK) {
			json_decref(prev);
			return r;
		}
		secs = (jint(st, "monotonicNs") - jint(prev, "monotonicNs")) / 1e9;
		if (secs <= 0)
			secs = interval;
		if (ctl->json) {
			json_t *o = json_pack("{s:f, s:O, s:O}", "seconds", secs, "previous", prev,
			        "current", st);
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else {
			if (isatty(STDOUT_FILENO))
				fputs("\033[H\033[2J", stdout);
			printf("every %.1fs (measured %.3fs)\n", interval, secs);
			workers_table(st, prev);
			putchar('\n');
			rates_table(st, prev, secs);
			putchar('\n');
		}
		fflush(stdout);
		json_decref(prev);
	}
	json_decref(st);
	return CTL_EXIT_OK;
}

static struct ctl_cmd stats_cmd = {
        .name = "stats",
        .args = "[--watch] [-i SEC] [-n N]",
        .help = "fast-path worker cycles and port counters (--watch: rates)",
        .fn = cmd_stats,
};
CTL_CMD_REGISTER(stats_cmd)
