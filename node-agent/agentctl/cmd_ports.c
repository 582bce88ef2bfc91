/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl ports | stats [--watch]: the fast path's ports, counters and worker cycles. */
#include "agentctl/ctl.h"
#include "api/apimsg_fp.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The objects of `arr` decoded with `dec` into an array of `size`-byte structs (heap, free());
 * an error names the object. */
static int items_decode(json_t *arr, size_t size, int (*dec)(json_t *, void *, struct kb_err *),
        void **ret, size_t *ret_n)
{
	struct kb_err err = {0};
	char *v;
	json_t *o;
	size_t i;

	*ret = NULL;
	*ret_n = 0;
	if (!(v = calloc(json_array_size(arr) + 1, size))) {
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_ERROR;
	}
	json_array_foreach (arr, i, o) {
		if (dec(o, v + i * size, &err) < 0) {
			fprintf(stderr, "agentctl: the agent's reply: %s\n", err.msg);
			free(v);
			return CTL_EXIT_ERROR;
		}
	}
	*ret = v;
	*ret_n = json_array_size(arr);
	return CTL_EXIT_OK;
}

static int port_dec(json_t *o, void *ret, struct kb_err *err)
{
	return apimsg_fp_port_decode(o, ret, err);
}

static int worker_dec(json_t *o, void *ret, struct kb_err *err)
{
	return apimsg_fp_worker_decode(o, ret, err);
}

static int ports_decode(json_t *arr, struct apimsg_fp_port **ret, size_t *ret_n)
{
	void *v;
	int r = items_decode(arr, sizeof(**ret), port_dec, &v, ret_n);

	*ret = v;
	return r;
}

static int workers_decode(json_t *arr, struct apimsg_fp_worker **ret, size_t *ret_n)
{
	void *v;
	int r = items_decode(arr, sizeof(**ret), worker_dec, &v, ret_n);

	*ret = v;
	return r;
}

/* "spoof:3 oversize:1", or "0" */
static void drops_cell(const struct apimsg_fp_port *port, const struct apimsg_fp_port *prev,
        double scale, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < APIMSG_FP_DROP_COUNT; i++) {
		uint64_t v = port->stats.drops[i] - (prev ? prev->stats.drops[i] : 0);
		if (v && off < size)
			off += snprintf(buf + off, size - off, "%s%s:%.0f", off ? " " : "",
			        apimsg_fp_drop_name(i), v * scale);
	}
	if (!off)
		snprintf(buf, size, "0");
}

/* Offloads: "off", the uplink's mode, or "on" with what the switch did ("gso:2 seg:1/45"). */
static void offloads_cell(const struct apimsg_fp_port *p, char *buf, size_t size)
{
	const struct apimsg_fp_counters *s = &p->stats;
	int n;

	if (p->kind == APIMSG_FP_PORT_UPLINK)
		n = snprintf(buf, size, "%s", p->uplink_offloads ? p->uplink_offloads : "off");
	else
		n = snprintf(buf, size, "%s", p->offloads ? "on" : "off");
	if (n < 0 || (size_t)n >= size)
		return;
	if (s->rx_gso_packets || s->tx_gso_sw || s->tx_csum_sw)
		snprintf(buf + n, size - n, " gso:%llu seg:%llu/%llu csum:%llu",
		        (unsigned long long)s->rx_gso_packets, (unsigned long long)s->tx_gso_sw,
		        (unsigned long long)s->tx_gso_segments, (unsigned long long)s->tx_csum_sw);
}

static void u64(char *buf, size_t size, uint64_t v)
{
	snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* The AGENT column: the agent's vhost-user role, "tap" for a kernel pod, the uplink's device. */
static const char *agent_cell(const struct apimsg_fp_port *p)
{
	switch (p->kind) {
	case APIMSG_FP_PORT_VHOST_USER:
		return p->agent_mode;
	case APIMSG_FP_PORT_TAP:
		return "tap";
	case APIMSG_FP_PORT_UPLINK:
		return p->device;
	default:
		return apimsg_fp_port_kind_name(p->kind);
	}
}

static int ports_table(json_t *arr)
{
	static const char *const hdr[] = {"PORT", "NETWORK", "VLAN", "MAC", "AGENT", "LINK", "Q",
	        "RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES", "DROPS", "OFFLOADS", NULL};
	struct apimsg_fp_port *ports;
	struct table *t;
	size_t n;
	int r;

	if ((r = ports_decode(arr, &ports, &n)) != CTL_EXIT_OK)
		return r;
	t = table_new(hdr);
	for (size_t i = 0; i < n; i++) {
		const struct apimsg_fp_port *p = &ports[i];
		char vlan[16] = "-", q[32], rxp[24], rxb[24], txp[24], txb[24], drops[160], ol[192];
		if (p->vlan >= 0)
			snprintf(vlan, sizeof(vlan), "%d", p->vlan);
		if (p->has_active_queues)
			snprintf(q, sizeof(q), "%d/%d", p->active_queues, p->queues);
		else
			snprintf(q, sizeof(q), "%d", p->queues);
		u64(rxp, sizeof(rxp), p->stats.rx_packets);
		u64(rxb, sizeof(rxb), p->stats.rx_bytes);
		u64(txp, sizeof(txp), p->stats.tx_packets);
		u64(txb, sizeof(txb), p->stats.tx_bytes);
		drops_cell(p, NULL, 1, drops, sizeof(drops));
		offloads_cell(p, ol, sizeof(ol));
		const char *row[] = {p->name, p->network, vlan, p->mac, agent_cell(p),
		        p->connected ? "up" : "down", q, rxp, rxb, txp, txb, drops, ol};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	free(ports);
	return CTL_EXIT_OK;
}

static int cmd_ports(struct ctl *ctl, int argc, char **argv)
{
	struct kb_err err = {0};
	json_t *res, *ports;
	int r;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: agentctl ports\n");
		return CTL_EXIT_USAGE;
	}
	if ((r = ctl_call(ctl, APIMSG_FP_OP_PORTS, NULL, &res)) != CTL_EXIT_OK)
		return r;
	if (apimsg_fp_ports_result_decode(res, &ports, &err) < 0) {
		fprintf(stderr, "agentctl: the agent's reply: %s\n", err.msg);
		r = CTL_EXIT_ERROR;
	} else if (ctl->json) {
		ctl_print_json(ports);
	} else {
		r = ports_table(ports);
	}
	json_decref(res);
	return r;
}

static struct ctl_cmd ports_cmd = {
        .name = "ports",
        .args = "",
        .help = "fast-path ports with their counters",
        .fn = cmd_ports,
};
CTL_CMD_REGISTER(ports_cmd)

/* Worker cycles: totals, or over the interval since `prev`. */
static int workers_table(const struct apimsg_fp_stats *st, const struct apimsg_fp_stats *prev)
{
	static const char *const hdr[] = {"WORKER", "LCORE", "CPU", "PACKETS", "BUSY%",
	        "CYCLES/PKT", "LOOP-CYC/PKT", "SLEEPS", "WAKES", NULL};
	struct apimsg_fp_worker *ws, *pws = NULL;
	size_t n, pn = 0;
	struct table *t;
	int r;

	if ((r = workers_decode(st->workers, &ws, &n)) != CTL_EXIT_OK)
		return r;
	if (prev && (r = workers_decode(prev->workers, &pws, &pn)) != CTL_EXIT_OK) {
		free(ws);
		return r;
	}
	t = table_new(hdr);
	for (size_t i = 0; i < n; i++) {
		const struct apimsg_fp_worker *w = &ws[i], *p = i < pn ? &pws[i] : NULL;
		uint64_t busy = w->busy_cycles - (p ? p->busy_cycles : 0);
		uint64_t work = w->work_cycles - (p ? p->work_cycles : 0);
		uint64_t idle = w->idle_cycles - (p ? p->idle_cycles : 0);
		uint64_t pkts = w->packets - (p ? p->packets : 0);
		uint64_t sleeps = w->sleeps - (p ? p->sleeps : 0);
		uint64_t wakes = w->wakes - (p ? p->wakes : 0);
		char id[16], lc[16], cpu[16], pk[24], bp[16], cpp[24], lcpp[24], sl[24], wk[24];
		snprintf(id, sizeof(id), "%d", w->id);
		snprintf(lc, sizeof(lc), "%d", w->lcore);
		snprintf(cpu, sizeof(cpu), "%d", w->cpu);
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
		u64(wk, sizeof(wk), wakes); /* sleeps a port's traffic ended (idleWait: events) */
		const char *row[] = {id, lc, cpu, pk, bp, cpp, lcpp, sl, wk};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	free(pws);
	free(ws);
	return CTL_EXIT_OK;
}

static const struct apimsg_fp_port *find_port(
        const struct apimsg_fp_port *ports, size_t n, const struct apimsg_fp_port *p)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].slot == p->slot && !strcmp(ports[i].name, p->name))
			return &ports[i];
	return NULL;
}

/* Per-port rates over the interval. */
static int rates_table(
        const struct apimsg_fp_stats *st, const struct apimsg_fp_stats *prev, double secs)
{
	static const char *const hdr[] = {"PORT", "NETWORK", "LINK", "RX-PPS", "RX-MBPS", "TX-PPS",
	        "TX-MBPS", "DROPS/S", NULL};
	struct apimsg_fp_port *ports, *pports;
	size_t n, pn;
	struct table *t;
	int r;

	if ((r = ports_decode(st->ports, &ports, &n)) != CTL_EXIT_OK)
		return r;
	if ((r = ports_decode(prev->ports, &pports, &pn)) != CTL_EXIT_OK) {
		free(ports);
		return r;
	}
	t = table_new(hdr);
	for (size_t i = 0; i < n; i++) {
		const struct apimsg_fp_port *p = &ports[i], *o = find_port(pports, pn, p);
		char rp[24], rb[24], tp[24], tb[24], drops[160];
#define D(k) ((double)(p->stats.k - (o ? o->stats.k : 0)) / secs)
		snprintf(rp, sizeof(rp), "%.0f", D(rx_packets));
		snprintf(rb, sizeof(rb), "%.1f", D(rx_bytes) * 8 / 1e6);
		snprintf(tp, sizeof(tp), "%.0f", D(tx_packets));
		snprintf(tb, sizeof(tb), "%.1f", D(tx_bytes) * 8 / 1e6);
#undef D
		drops_cell(p, o, 1 / secs, drops, sizeof(drops));
		const char *row[] = {
		        p->name, p->network, p->connected ? "up" : "down", rp, rb, tp, tb, drops};
		table_row(t, row);
	}
	table_print(t, stdout);
	table_free(t);
	free(pports);
	free(ports);
	return CTL_EXIT_OK;
}

/* One stats call, decoded: *ret_res holds what `st` borrows. */
static int stats_call(struct ctl *ctl, json_t **ret_res, struct apimsg_fp_stats *st)
{
	struct kb_err err = {0};
	int r;

	if ((r = ctl_call(ctl, APIMSG_FP_OP_STATS, NULL, ret_res)) != CTL_EXIT_OK)
		return r;
	if (apimsg_fp_stats_decode(*ret_res, st, &err) < 0) {
		fprintf(stderr, "agentctl: the agent's reply: %s\n", err.msg);
		json_decref(*ret_res);
		*ret_res = NULL;
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
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
	struct apimsg_fp_stats cur;
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
	if ((r = stats_call(ctl, &st, &cur)) != CTL_EXIT_OK)
		return r;
	if (!watch) {
		if (ctl->json) {
			ctl_print_json(st);
		} else if ((r = workers_table(&cur, NULL)) == CTL_EXIT_OK) {
			putchar('\n');
			r = ports_table(cur.ports);
		}
		json_decref(st);
		return r;
	}
	/* --watch: rates over each interval, from the agent's own clock. */
	for (long i = 0; count == 0 || i < count; i++) {
		struct timespec ts = {
		        (time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
		struct apimsg_fp_stats prev_st = cur;
		double secs;
		prev = st;
		nanosleep(&ts, NULL);
		if ((r = stats_call(ctl, &st, &cur)) != CTL_EXIT_OK) {
			json_decref(prev);
			return r;
		}
		secs = ((double)cur.monotonic_ns - (double)prev_st.monotonic_ns) / 1e9;
		if (secs <= 0)
			secs = interval;
		if (ctl->json) {
			/* agentctl's own output (not the agent's protocol): both replies whole. */
			json_t *o = json_pack("{s:f, s:O, s:O}", "seconds", secs, "previous", prev,
			        "current", st);
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else {
			if (isatty(STDOUT_FILENO))
				fputs("\033[H\033[2J", stdout);
			printf("every %.1fs (measured %.3fs)\n", interval, secs);
			if ((r = workers_table(&cur, &prev_st)) == CTL_EXIT_OK) {
				putchar('\n');
				r = rates_table(&cur, &prev_st, secs);
			}
			putchar('\n');
		}
		fflush(stdout);
		json_decref(prev);
		if (r != CTL_EXIT_OK) {
			json_decref(st);
			return r;
		}
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
