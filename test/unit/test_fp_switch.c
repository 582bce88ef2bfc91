/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the fast path's forwarding table and decisions (fp_switch), its configuration
 * section (fp_config) and devargs helpers (fp_eal). Pure functions: no EAL is started. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/fastpath/fp_config.h"
#include "agent/fastpath/fp_eal.h"
#include "agent/fastpath/fp_switch.h"

#define MAC(x)                        \
	{                             \
		0x02, 0, 0, 0, 0, (x) \
	}

/* slots: 0 uplink; 1,2,3 pods in "red" (vlan 100); 4 pod in "blue" (untagged); 5 pod in
 * "green" (vlan 200, MTU 9000) */
static const struct fp_port_desc ports[] = {
        {.slot = 3,
                .kind = FP_PORT_VHOST,
                .mac = MAC(3),
                .mtu = 1500,
                .network = "red",
                .vlan = 100,
                .queues = 1},
        {.slot = 0, .kind = FP_PORT_UPLINK, .mtu = 1500, .queues = 1},
        {.slot = 1,
                .kind = FP_PORT_VHOST,
                .mac = MAC(1),
                .mtu = 1500,
                .network = "red",
                .vlan = 100,
                .queues = 2},
        {.slot = 2,
                .kind = FP_PORT_VHOST,
                .mac = MAC(2),
                .mtu = 1000,
                .network = "red",
                .vlan = 100,
                .queues = 1},
        {.slot = 4,
                .kind = FP_PORT_VHOST,
                .mac = MAC(4),
                .mtu = 1500,
                .network = "blue",
                .vlan = FP_VLAN_NONE,
                .queues = 1},
        {.slot = 5,
                .kind = FP_PORT_VHOST,
                .mac = MAC(5),
                .mtu = 9000,
                .network = "green",
                .vlan = 200,
                .queues = 1},
};

static struct fp_table *build(uint16_t workers)
{
	struct fp_table *t = NULL;
	struct kb_err err = {0};

	if (fp_table_build(ports, sizeof(ports) / sizeof(ports[0]), workers, &t, &err) < 0)
		fail_msg("build: %s", err.msg);
	return t;
}

/* An Ethernet frame header: dst, src, optional VLAN tag. */
static void frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, int vlan)
{
	memset(f, 0, 64);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vlan >= 0) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = vlan >> 8;
		f[15] = vlan & 0xff;
		f[16] = 0x08;
	} else {
		f[12] = 0x08;
	}
}

static const uint8_t m1[6] = MAC(1), m2[6] = MAC(2), m3[6] = MAC(3), m4[6] = MAC(4), m5[6] = MAC(5),
                     m9[6] = MAC(9), bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                     mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};

static void test_build_layout(void **state)
{
	struct fp_table *t = build(1);

	(void)state;
	assert_int_equal(t->n_slots, 6);
	assert_int_equal(t->uplink, 0);
	assert_int_equal(t->n_domains, 3);
	/* Domain order follows input order; members follow slot order. */
	uint16_t red = t->slots[1].domain;
	assert_string_equal(t->domains[red].network, "red");
	assert_int_equal(t->domains[red].n_members, 3);
	assert_int_equal(t->domains[red].members[0], 1);
	assert_int_equal(t->domains[red].members[2], 3);
	assert_int_equal(t->vlan_domain[100], red);
	assert_int_equal(t->untagged_domain, t->slots[4].domain);
	assert_int_equal(t->vlan_domain[200], t->slots[5].domain);
	assert_int_equal(t->vlan_domain[300], FP_DOMAIN_NONE);
	/* 1 worker polls 7 queues (slot 1 has two). */
	assert_int_equal(t->rx[0].n, 7);
	assert_int_equal(t->vlan_conflicts, 0);
	fp_table_free(t);
}

static void test_rx_spread(void **state)
{
	struct fp_table *t = build(2);
	unsigned q1 = 0;

	(void)state;
	assert_int_equal(t->rx[0].n + t->rx[1].n, 7);
	assert_true(t->rx[0].n >= 3 && t->rx[1].n >= 3);
	/* The two queues of slot 1 are on different workers. */
	for (uint16_t w = 0; w < 2; w++)
		for (uint16_t i = 0; i < t->rx[w].n; i++)
			if (t->rx[w].q[i].slot == 1)
				q1 |= 1u << w;
	assert_int_equal(q1, 3);
	fp_table_free(t);
}

static void test_fdb(void **state)
{
	struct fp_table *t = build(1);

	(void)state;
	assert_int_equal(fp_fdb_lookup(t, t->slots[1].domain, fp_mac_key(m2)), 2);
	assert_int_equal(fp_fdb_lookup(t, t->slots[1].domain, fp_mac_key(m3)), 3);
	/* Per domain: pod 4's MAC is not reachable from red. */
	assert_int_equal(fp_fdb_lookup(t, t->slots[1].domain, fp_mac_key(m4)), FP_SLOT_NONE);
	assert_int_equal(fp_fdb_lookup(t, t->slots[4].domain, fp_mac_key(m4)), 4);
	fp_table_free(t);
}

static void test_from_pod(void **state)
{
	struct fp_table *t = build(1);
	uint8_t f[64];
	uint16_t out = FP_SLOT_NONE;

	(void)state;
	frame(f, m2, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_UNICAST);
	assert_int_equal(out, 2);
	/* unknown unicast goes to the uplink */
	frame(f, m9, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_UPLINK);
	/* a pod in another network is unknown here: uplink too */
	frame(f, m4, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_UPLINK);
	/* broadcast and multicast flood */
	frame(f, bcast, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_FLOOD);
	frame(f, mcast, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_FLOOD);
	/* spoofed source: another pod's MAC, or a multicast source */
	frame(f, m2, m3, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_DROP_SPOOF);
	frame(f, m2, bcast, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_DROP_SPOOF);
	/* to itself */
	frame(f, m1, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_DROP_UNKNOWN);
	/* runt */
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 13, &out), FP_DROP_RUNT);
	fp_table_free(t);
}

static void test_mtu(void **state)
{
	struct fp_table *t = build(1);
	uint8_t f[64];
	uint16_t out;

	(void)state;
	frame(f, m2, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 1514, &out), FP_FWD_UNICAST);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 1515, &out), FP_DROP_OVERSIZE);
	/* a priority tag the pod adds itself does not count against its MTU */
	frame(f, m2, m1, 0);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 1518, &out), FP_FWD_UNICAST);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 1519, &out), FP_DROP_OVERSIZE);
	/* a VLAN of its own is not allowed at all (red trunks nothing) */
	frame(f, m2, m1, 5);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 64, &out), FP_DROP_VLAN);
	/* slot 2 has MTU 1000: a 1514-byte frame does not fit it */
	assert_true(fp_fits(t, 2, 1014));
	assert_false(fp_fits(t, 2, 1015));
	/* jumbo pod */
	frame(f, bcast, m5, -1);
	assert_int_equal(fp_switch_from_pod(t, 5, &t->slots[5], f, 9014, &out), FP_FWD_FLOOD);
	assert_int_equal(fp_switch_from_pod(t, 5, &t->slots[5], f, 9015, &out), FP_DROP_OVERSIZE);
	fp_table_free(t);
}

static void test_from_uplink(void **state)
{
	struct fp_table *t = build(1);
	uint16_t out = FP_SLOT_NONE, dom = FP_DOMAIN_NONE;
	bool tagged;
	uint8_t f[64];

	(void)state;
	/* (VLAN 100, pod 2's MAC) -> pod 2 */
	frame(f, m2, m9, 100);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_FWD_UNICAST);
	assert_true(tagged);
	assert_int_equal(out, 2);
	assert_int_equal(dom, t->slots[2].domain);
	/* the same MAC on another VLAN is unknown */
	frame(f, m2, m9, 200);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_DROP_UNKNOWN);
	/* untagged -> blue */
	frame(f, m4, m9, -1);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_FWD_UNICAST);
	assert_false(tagged);
	assert_int_equal(out, 4);
	/* untagged to a red pod's MAC: not in blue */
	frame(f, m1, m9, -1);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_DROP_UNKNOWN);
	/* unknown VLAN */
	frame(f, m1, m9, 300);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_DROP_UNKNOWN);
	/* broadcast on VLAN 100 floods red */
	frame(f, bcast, m9, 100);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &tagged, &out), FP_FWD_FLOOD);
	assert_int_equal(dom, t->slots[1].domain);
	/* oversize: 1514 untagged / 1518 tagged are the limits at MTU 1500 */
	frame(f, m2, m9, 100);
	assert_int_equal(fp_switch_from_uplink(t, f, 1518, &dom, &tagged, &out), FP_FWD_UNICAST);
	assert_int_equal(fp_switch_from_uplink(t, f, 1519, &dom, &tagged, &out), FP_DROP_OVERSIZE);
	fp_table_free(t);
}

static void test_no_uplink(void **state)
{
	struct fp_port_desc p[] = {
	        {.slot = 1,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(1),
	                .mtu = 1500,
	                .network = "n",
	                .vlan = FP_VLAN_NONE},
	        {.slot = 2,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(2),
	                .mtu = 1500,
	                .network = "n",
	                .vlan = FP_VLAN_NONE},
	};
	struct fp_table *t = NULL;
	struct kb_err err = {0};
	uint8_t f[64];
	uint16_t out;

	(void)state;
	assert_int_equal(fp_table_build(p, 2, 1, &t, &err), 0);
	frame(f, m9, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_DROP_UNKNOWN);
	frame(f, m2, m1, -1);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 60, &out), FP_FWD_UNICAST);
	assert_int_equal(out, 2);
	fp_table_free(t);
}

static void test_build_errors(void **state)
{
	struct fp_port_desc two_uplinks[] = {
	        {.slot = 0, .kind = FP_PORT_UPLINK, .mtu = 1500},
	        {.slot = 1, .kind = FP_PORT_UPLINK, .mtu = 1500},
	};
	struct fp_port_desc same_slot[] = {
	        {.slot = 1, .kind = FP_PORT_VHOST, .mac = MAC(1), .mtu = 1500, .network = "n"},
	        {.slot = 1, .kind = FP_PORT_VHOST, .mac = MAC(2), .mtu = 1500, .network = "n"},
	};
	struct fp_port_desc shared_vlan[] = {
	        {.slot = 1,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(1),
	                .mtu = 1500,
	                .network = "a",
	                .vlan = 7},
	        {.slot = 2,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(2),
	                .mtu = 1500,
	                .network = "b",
	                .vlan = 7},
	};
	struct fp_table *t = NULL;
	struct kb_err err = {0};

	(void)state;
	assert_int_equal(fp_table_build(two_uplinks, 2, 1, &t, &err), -EEXIST);
	assert_int_equal(fp_table_build(same_slot, 2, 1, &t, &err), -EEXIST);
	assert_int_equal(fp_table_build(same_slot, 1, 0, &t, &err), -EINVAL);
	assert_int_equal(fp_table_build(shared_vlan, 2, 1, &t, &err), 0);
	assert_int_equal(t->vlan_conflicts, 1);
	assert_int_equal(t->vlan_domain[7], t->slots[1].domain);
	fp_table_free(t);
	/* An empty table is valid (no ports yet). */
	assert_int_equal(fp_table_build(NULL, 0, 2, &t, &err), 0);
	assert_int_equal(t->rx[0].n + t->rx[1].n, 0);
	fp_table_free(t);
}

/* Many MACs: the open-addressing table finds every one and rejects unknown ones. */
static void test_fdb_many(void **state)
{
	enum { N = 900 };
	struct fp_port_desc *p = calloc(N, sizeof(*p));
	struct fp_table *t = NULL;
	struct kb_err err = {0};

	(void)state;
	for (int i = 0; i < N; i++) {
		p[i] = (struct fp_port_desc){.slot = i + 1,
		        .kind = FP_PORT_VHOST,
		        .mtu = 1500,
		        .network = i % 2 ? "odd" : "even",
		        .vlan = FP_VLAN_NONE + (i % 2) * 11};
		p[i].mac[0] = 0x02;
		p[i].mac[4] = i >> 8;
		p[i].mac[5] = i & 0xff;
	}
	assert_int_equal(fp_table_build(p, N, 1, &t, &err), 0);
	for (int i = 0; i < N; i++) {
		uint16_t dom = t->slots[i + 1].domain;
		assert_int_equal(fp_fdb_lookup(t, dom, fp_mac_key(p[i].mac)), i + 1);
		/* the other domain does not see it */
		assert_int_equal(
		        fp_fdb_lookup(t, t->slots[(i % 2 ? 1 : 2)].domain, fp_mac_key(p[i].mac)),
		        FP_SLOT_NONE);
	}
	fp_table_free(t);
	free(p);
}

static void test_config(void **state)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	const struct fp_cfg *c;

	(void)state;
	/* Absent: disabled, nothing else needed. */
	assert_int_equal(cfg_load_string("logLevel: info\n", "t.yaml", &cfg, &err), 0);
	c = fp_cfg_get(cfg);
	assert_false(c->present);
	assert_false(c->enabled);
	cfg_free(cfg);
	/* Empty section: enabled with defaults. */
	assert_int_equal(cfg_load_string("fastpath:\n", "t.yaml", &cfg, &err), 0);
	c = fp_cfg_get(cfg);
	assert_true(c->enabled);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->memory, FP_MEM_AUTO);
	assert_false(c->one_copy); /* copyMode: two by default */
	cfg_free(cfg);
	assert_int_equal(cfg_load_string("fastpath:\n  copyMode: one\n", "t.yaml", &cfg, &err), 0);
	assert_true(fp_cfg_get(cfg)->one_copy);
	cfg_free(cfg);
	assert_true(cfg_load_string("fastpath:\n  copyMode: zero\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "copyMode"));
	/* idleWait: events by default; sleep keeps the blind back-off. */
	assert_int_equal(cfg_load_string("fastpath:\n", "t.yaml", &cfg, &err), 0);
	assert_true(fp_cfg_get(cfg)->idle_events);
	cfg_free(cfg);
	assert_int_equal(
	        cfg_load_string("fastpath:\n  idleWait: sleep\n", "t.yaml", &cfg, &err), 0);
	assert_false(fp_cfg_get(cfg)->idle_events);
	cfg_free(cfg);
	assert_true(cfg_load_string("fastpath:\n  idleWait: spin\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "idleWait"));
	assert_non_null(strstr(err.msg, "events or sleep"));
	assert_int_equal(cfg_load_string("fastpath:\n  workers: [1, 0]\n  memory: no-huge\n"
	                                 "  eal: [\"--log-level=lib.eal:debug\"]\n"
	                                 "  uplink:\n    devargs: net_null0\n    mtu: 9000\n",
	                         "t.yaml", &cfg, &err),
	        0);
	c = fp_cfg_get(cfg);
	assert_int_equal(c->n_workers, 2);
	assert_int_equal(c->workers[1], 0);
	assert_int_equal(c->memory, FP_MEM_NO_HUGE);
	assert_int_equal(c->n_eal, 1);
	assert_string_equal(c->uplink.devargs, "net_null0");
	assert_int_equal(c->uplink.mtu, 9000);
	cfg_free(cfg);
	/* Errors name the key. */
	assert_true(cfg_load_string("fastpath:\n  workers: [1, 1]\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "listed twice"));
	assert_true(cfg_load_string("fastpath:\n  memory: lots\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "memory"));
	assert_true(cfg_load_string("fastpath:\n  burst: 65\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "burst"));
	assert_true(
	        cfg_load_string("fastpath:\n  uplink:\n    mtu: 1500\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "devargs"));
	assert_true(cfg_load_string("fastpath:\n  filePrefix: a/b\n", "t.yaml", &cfg, &err) < 0);
	assert_true(cfg_load_string("fastpath:\n  bogus: 1\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "bogus"));
}

/* A pod's own tags: dropped unless trunked; priority tags pass; S-tags never. Uplink: VID 0
 * is the untagged network's (tag kept), a trunked VLAN keeps its tag, a network's VLAN is
 * popped. */
static void test_vlan(void **state)
{
	static uint8_t trunk[FP_VLAN_BITMAP];
	struct fp_port_desc d[3] = {
	        {.slot = 0, .kind = FP_PORT_UPLINK, .mtu = 1500, .queues = 1},
	        {.slot = 1,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(1),
	                .mtu = 1500,
	                .network = "tr",
	                .vlan = FP_VLAN_NONE,
	                .queues = 1,
	                .pcp = 5,
	                .trunk = trunk},
	        {.slot = 2,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(2),
	                .mtu = 1500,
	                .network = "red",
	                .vlan = 100,
	                .queues = 1},
	};
	struct fp_table *t = NULL;
	struct kb_err err = {0};
	uint16_t out = FP_SLOT_NONE, dom = FP_DOMAIN_NONE;
	bool pop = true;
	uint8_t f[64];

	(void)state;
	trunk[300 >> 3] |= 1u << (300 & 7);
	trunk[100 >> 3] |= 1u << (100 & 7); /* red's own VLAN: stays red's */
	assert_int_equal(fp_table_build(d, 3, 1, &t, &err), 0);
	assert_int_equal(t->domains[t->slots[1].domain].pcp, 5);
	assert_int_equal(t->vlan_conflicts, 1);
	/* from pods */
	frame(f, m9, m1, 300);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 64, &out), FP_FWD_UPLINK);
	frame(f, m9, m1, 301);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 64, &out), FP_DROP_VLAN);
	frame(f, m9, m2, 300); /* red trunks nothing */
	assert_int_equal(fp_switch_from_pod(t, 2, &t->slots[2], f, 64, &out), FP_DROP_VLAN);
	frame(f, m9, m2, 100); /* not even its own VLAN: that would be a double tag */
	assert_int_equal(fp_switch_from_pod(t, 2, &t->slots[2], f, 64, &out), FP_DROP_VLAN);
	frame(f, m9, m2, 0); /* priority tag */
	assert_int_equal(fp_switch_from_pod(t, 2, &t->slots[2], f, 64, &out), FP_FWD_UPLINK);
	frame(f, m9, m1, 300);
	f[12] = 0x88; /* 802.1ad S-tag */
	f[13] = 0xa8;
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 64, &out), FP_DROP_VLAN);
	frame(f, m9, m1, 300);
	assert_int_equal(fp_switch_from_pod(t, 1, &t->slots[1], f, 17, &out), FP_DROP_RUNT);
	/* from the uplink */
	frame(f, m1, m9, 300);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &pop, &out), FP_FWD_UNICAST);
	assert_int_equal(out, 1);
	assert_false(pop);
	frame(f, m1, m9, 0);
	f[14] |= 0xa0; /* PCP 5, VID 0 */
	pop = true;
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &pop, &out), FP_FWD_UNICAST);
	assert_int_equal(out, 1);
	assert_false(pop);
	frame(f, m2, m9, 100);
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &pop, &out), FP_FWD_UNICAST);
	assert_int_equal(out, 2);
	assert_true(pop);
	frame(f, m1, m9, 100); /* VLAN 100 is red's, not the trunk's */
	assert_int_equal(fp_switch_from_uplink(t, f, 64, &dom, &pop, &out), FP_DROP_UNKNOWN);
	fp_table_free(t);
}

/* Queue placement is stable: adding and removing ports never moves another port's queues,
 * and each queue is in exactly one worker's list. */
static void test_assign_queues(void **state)
{
	unsigned load[4] = {0};
	uint8_t a[2], b[1], c[2], d[2];
	struct fp_port_desc ds[2] = {
	        {.slot = 0,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(1),
	                .mtu = 1500,
	                .network = "n",
	                .vlan = FP_VLAN_NONE,
	                .queues = 2,
	                .workers = a},
	        {.slot = 1,
	                .kind = FP_PORT_VHOST,
	                .mac = MAC(2),
	                .mtu = 1500,
	                .network = "n",
	                .vlan = FP_VLAN_NONE,
	                .queues = 2,
	                .workers = c},
	};
	struct fp_table *t = NULL;
	struct kb_err err = {0};

	(void)state;
	fp_assign_queues(load, 2, 2, a);
	assert_int_not_equal(a[0], a[1]); /* one port's queues on distinct workers */
	fp_assign_queues(load, 2, 1, b);
	fp_assign_queues(load, 2, 2, c);
	assert_int_equal(load[0] + load[1], 5);
	assert_true(load[0] >= 2 && load[1] >= 2);
	/* b goes: a and c keep their workers; the next port fills the gap */
	fp_release_queues(load, 2, 1, b);
	assert_int_equal(load[0] + load[1], 4);
	fp_assign_queues(load, 2, 2, d);
	assert_int_not_equal(d[0], d[1]);
	assert_int_equal(load[0], 3);
	assert_int_equal(load[1], 3);
	/* the table puts each queue on its worker, once */
	assert_int_equal(fp_table_build(ds, 2, 2, &t, &err), 0);
	for (uint16_t s = 0; s < 2; s++)
		for (uint16_t q = 0; q < 2; q++) {
			unsigned seen = 0;
			for (uint16_t w = 0; w < 2; w++)
				for (uint16_t i = 0; i < t->rx[w].n; i++)
					if (t->rx[w].q[i].slot == s && t->rx[w].q[i].queue == q) {
						seen++;
						assert_int_equal(w, ds[s].workers[q]);
					}
			assert_int_equal(seen, 1);
		}
	fp_table_free(t);
	/* a placement naming a worker the table does not have is refused */
	a[1] = 7;
	assert_true(fp_table_build(ds, 2, 2, &t, &err) < 0);
	assert_non_null(strstr(err.msg, "no worker 7"));
}

static void test_config_networks(void **state)
{
	struct cfg *cfg = NULL;
	struct kb_err err = {0};
	const struct fp_cfg *c;
	const struct fp_net_cfg *n;

	(void)state;
	assert_int_equal(cfg_load_string("fastpath:\n  mbufSize: 10368\n  networks:\n"
	                                 "    - name: tr\n      trunk: [200, 4094]\n"
	                                 "      vlanQoS: 3\n    - name: red\n",
	                         "t.yaml", &cfg, &err),
	        0);
	c = fp_cfg_get(cfg);
	assert_int_equal(c->mbuf_size, 10368);
	assert_non_null(n = fp_cfg_network(c, "tr"));
	assert_int_equal(n->pcp, 3);
	assert_true(n->has_trunk);
	assert_true(fp_bit(n->trunk, 200) && fp_bit(n->trunk, 4094) && !fp_bit(n->trunk, 201));
	assert_non_null(n = fp_cfg_network(c, "red"));
	assert_false(n->has_trunk);
	assert_null(fp_cfg_network(c, "blue"));
	cfg_free(cfg);
	assert_true(cfg_load_string("fastpath:\n  networks:\n    - name: a\n      trunk: [0]\n",
	                    "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "1..4094"));
	assert_true(cfg_load_string("fastpath:\n  networks:\n    - name: a\n      vlanQoS: 8\n",
	                    "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "vlanQoS"));
	assert_true(cfg_load_string("fastpath:\n  networks:\n    - trunk: [5]\n", "t.yaml", &cfg,
	                    &err) < 0);
	assert_non_null(strstr(err.msg, "name"));
	assert_true(cfg_load_string("fastpath:\n  networks:\n    - name: a\n    - name: a\n",
	                    "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "twice"));
	assert_true(cfg_load_string("fastpath:\n  networks:\n    - name: a\n      trunks: [5]\n",
	                    "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "trunks"));
}

static void test_devargs(void **state)
{
	char name[64];

	(void)state;
	assert_true(fp_devargs_is_pci("0000:03:00.0"));
	assert_true(fp_devargs_is_pci("03:00.1,rxq=2"));
	assert_false(fp_devargs_is_pci("net_af_packet0,iface=eth1"));
	assert_false(fp_devargs_is_pci("net_tap0"));
	assert_int_equal(fp_devargs_name("net_af_packet0,iface=eth1", name, sizeof(name)), 0);
	assert_string_equal(name, "net_af_packet0");
	assert_int_equal(fp_devargs_name(",x", name, sizeof(name)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_build_layout),
	        cmocka_unit_test(test_rx_spread),
	        cmocka_unit_test(test_fdb),
	        cmocka_unit_test(test_from_pod),
	        cmocka_unit_test(test_mtu),
	        cmocka_unit_test(test_from_uplink),
	        cmocka_unit_test(test_no_uplink),
	        cmocka_unit_test(test_build_errors),
	        cmocka_unit_test(test_fdb_many),
	        cmocka_unit_test(test_config),
	        cmocka_unit_test(test_devargs),
	        cmocka_unit_test(test_vlan),
	        cmocka_unit_test(test_assign_queues),
	        cmocka_unit_test(test_config_networks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
