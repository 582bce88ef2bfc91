/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: agent IPAM leases (agent/lease.c): addresses in order after the cursor, gateway
 * and exclusions skipped (a huge IPv6 exclusion in one step), exhaustion (EADDRNOTAVAIL) with
 * nothing left held, static requests (held: EADDRINUSE; gateway, excluded, two in a set:
 * EINVAL), per-network pools, dual stack, JSON round trip and the validation of state records,
 * a duplicate address in restored state refused; a randomised run against a model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/lease.h"

static struct ipamconf *conf(const char *text, const char *ips)
{
	json_t *o = json_loads(text, 0, NULL), *i = ips ? json_loads(ips, 0, NULL) : NULL;
	struct ipamconf *c = NULL;
	struct kb_err err = {0};

	assert_non_null(o);
	if (ipamconf_parse(o, i, NULL, &c, &err) < 0)
		fail_msg("%s: %s", text, err.msg);
	json_decref(o);
	json_decref(i);
	return c;
}

/* The lease's addresses, comma-separated. */
static void addrs(const struct lease *l, char *buf, size_t size)
{
	json_t *o = lease_to_json(l), *ip;
	size_t i, off = 0;

	buf[0] = '\0';
	json_array_foreach (json_object_get(o, "ips"), i, ip)
		off += snprintf(buf + off, size - off, "%s%s", i ? "," : "",
		        json_string_value(json_object_get(ip, "address")));
	json_decref(o);
}

static struct lease *take(const struct ipamconf *c, const char *net, const char *want)
{
	struct lease *l = NULL;
	struct kb_err err = {0};
	char buf[512];

	if (lease_new(c, net, &l, &err) < 0)
		fail_msg("lease_new: %s", err.msg);
	addrs(l, buf, sizeof(buf));
	if (want)
		assert_string_equal(buf, want);
	return l;
}

static void test_order_gateway_exhaustion(void **state)
{
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/29\",\"gateway\":"
	                          "\"10.0.0.3\",\"exclude\":[\"10.0.0.5\"]}",
	        NULL);
	struct lease *a, *b, *d, *e, *x = NULL;
	struct kb_err err = {0};

	(void)state;
	a = take(c, "n", "10.0.0.1/29");
	b = take(c, "n", "10.0.0.2/29");
	d = take(c, "n", "10.0.0.4/29"); /* gateway .3 skipped */
	e = take(c, "n", "10.0.0.6/29"); /* excluded .5 skipped; .7 is the broadcast */
	assert_int_equal(lease_held_count(), 4);
	assert_int_equal(lease_new(c, "n", &x, &err), -EADDRNOTAVAIL);
	assert_null(x);
	assert_non_null(strstr(err.msg, "10.0.0.1-10.0.0.6"));
	assert_int_equal(lease_held_count(), 4);
	/* Another network has its own pool. */
	x = take(c, "other", "10.0.0.1/29");
	lease_free(x);
	/* A released address is reused after the ones never handed out: here the only one. */
	lease_free(b);
	b = take(c, "n", "10.0.0.2/29");
	lease_free(a);
	lease_free(b);
	lease_free(d);
	lease_free(e);
	assert_int_equal(lease_held_count(), 0);
	ipamconf_free(c);
}

static void test_cursor(void **state)
{
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\"}", NULL);
	struct lease *a, *b, *d;

	(void)state;
	a = take(c, "n", "10.0.0.2/24");
	b = take(c, "n", "10.0.0.3/24");
	lease_free(a);
	/* .2 is free again, but the next search starts after the last handed out. */
	d = take(c, "n", "10.0.0.4/24");
	lease_free(b);
	lease_free(d);
	ipamconf_free(c);
}

static void test_v6_exclusion_jump(void **state)
{
	/* 2^64 addresses, the first 2^48 excluded: must not walk them one by one. */
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"subnet\":\"fd00::/64\",\"exclude\":"
	                          "[\"fd00::/80\",\"fd00::1:0:0:0/127\"]}",
	        NULL);
	struct lease *a;

	(void)state;
	a = take(c, "n", "fd00::1:0:0:2/64");
	lease_free(a);
	ipamconf_free(c);
}

static void test_dual_stack_and_sets(void **state)
{
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"ranges\":[[{\"subnet\":\"10.0.0.0/30\"},"
	                          "{\"subnet\":\"10.0.1.0/30\"}],[{\"subnet\":\"fd00::/126\"}]]}",
	        NULL);
	struct lease *a, *b, *x = NULL;
	struct kb_err err = {0};

	(void)state;
	/* /30: .1 is the gateway, .2 the only address; the set's second range takes over. */
	a = take(c, "n", "10.0.0.2/30,fd00::2/126");
	b = take(c, "n", "10.0.1.2/30,fd00::3/126");
	assert_int_equal(lease_new(c, "n", &x, &err), -EADDRNOTAVAIL);
	assert_int_equal(lease_held_count(), 4); /* the failed lease held nothing */
	lease_free(a);
	lease_free(b);
	ipamconf_free(c);
}

static void test_static(void **state)
{
	const char *text = "{\"type\":\"kbnet\",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{"
	                   "\"subnet\":\"fd00::/64\"}]],\"exclude\":[\"10.0.0.200/29\"]}";
	struct ipamconf *c = conf(text, "[\"10.0.0.50/24\"]"), *c2;
	struct lease *a, *x = NULL;
	struct kb_err err = {0};

	(void)state;
	a = take(c, "n", "10.0.0.50/24,fd00::2/64");
	assert_int_equal(lease_new(c, "n", &x, &err), -EADDRINUSE);
	assert_int_equal(lease_held_count(), 2);
	ipamconf_free(c);
	c2 = conf(text, "[\"10.0.0.1\"]");
	assert_int_equal(lease_new(c2, "n", &x, &err), -EINVAL); /* the gateway */
	ipamconf_free(c2);
	c2 = conf(text, "[\"10.0.0.203\"]");
	assert_int_equal(lease_new(c2, "n", &x, &err), -EINVAL); /* excluded */
	ipamconf_free(c2);
	c2 = conf(text, "[\"10.0.0.7\", \"10.0.0.8\"]");
	assert_int_equal(lease_new(c2, "n", &x, &err), -EINVAL); /* two in one set */
	ipamconf_free(c2);
	assert_int_equal(lease_held_count(), 2);
	lease_free(a);
}

static void test_json_round_trip(void **state)
{
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{"
	                          "\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"}],\"dns\":{"
	                          "\"nameservers\":[\"1.1.1.1\"]}}",
	        NULL);
	struct lease *a = take(c, "n", "10.0.0.2/24"), *b = NULL, *dup = NULL;
	json_t *o = lease_to_json(a), *o2;
	struct kb_err err = {0};

	(void)state;
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(json_object_get(o, "ips"), 0), "range")),
	        "10.0.0.1-10.0.0.254");
	/* Read back: not held until lease_hold, which refuses an address held elsewhere. */
	assert_int_equal(lease_from_json(o, "n", &b, &err), 0);
	o2 = lease_to_json(b);
	assert_true(json_equal(o, o2));
	json_decref(o2);
	assert_int_equal(lease_hold(b, &err), -EADDRINUSE);
	lease_free(a);
	assert_int_equal(lease_hold(b, &err), 0);
	assert_int_equal(lease_held_count(), 1);
	/* The cursor came back with it: a new lease starts after the restored address. */
	dup = take(c, "n", "10.0.0.3/24");
	lease_free(dup);
	lease_free(b);
	assert_int_equal(lease_held_count(), 0);
	json_decref(o);
	ipamconf_free(c);
}

static void test_state_validation(void **state)
{
	static const char *const bad[] = {
	        "{}",
	        "{\"ips\":[]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2\",\"range\":\"10.0.0.1-10.0.0.9\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.3-10.0.0.9\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-fd00::9\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\","
	        "\"gateway\":\"fd00::1\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\"},"
	        "{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\"}],"
	        "\"routes\":[{\"dst\":\"x\"}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\"}],"
	        "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"evil\":1}]}",
	        "{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":\"10.0.0.1-10.0.0.9\"}],"
	        "\"dns\":{\"nameservers\":[\"no\"]}}",
	};
	struct kb_err err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_loads(bad[i], 0, NULL);
		struct lease *l = NULL;
		assert_non_null(o);
		if (lease_from_json(o, "n", &l, &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_null(l);
		json_decref(o);
	}
	assert_int_equal(lease_held_count(), 0);
}

/* Random takes and releases over a small range against a model: never one address twice. */
static void test_random_model(void **state)
{
	struct ipamconf *c = conf("{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/27\",\"exclude\":"
	                          "[\"10.0.0.8/30\"]}",
	        NULL);
	struct lease *held[32] = {0};
	char seen[32][512], buf[512];
	unsigned n = 0, capacity = 30 - 1 - 4; /* .1-.30, gateway .1, .8-.11 excluded */

	(void)state;
	srand(7);
	for (int step = 0; step < 5000; step++) {
		unsigned i = (unsigned)rand() % 32;
		struct kb_err err = {0};
		if (held[i]) {
			lease_free(held[i]);
			held[i] = NULL;
			n--;
			continue;
		}
		if (lease_new(c, "n", &held[i], &err) < 0) {
			assert_int_equal(err.errnum, EADDRNOTAVAIL);
			assert_int_equal(n, capacity);
			continue;
		}
		n++;
		addrs(held[i], buf, sizeof(buf));
		snprintf(seen[i], sizeof(seen[i]), "%s", buf);
		for (unsigned j = 0; j < 32; j++)
			if (j != i && held[j])
				assert_string_not_equal(seen[j], seen[i]);
		assert_int_equal(lease_held_count(), n);
	}
	for (unsigned i = 0; i < 32; i++)
		lease_free(held[i]);
	assert_int_equal(lease_held_count(), 0);
	ipamconf_free(c);
}

/* State records through the allocator: a record's lease is held when replayed, released when
 * the record is deleted, and a second record holding the same address stops the load. */
static void test_replay(void **state)
{
	const char *rec = "{\"containerID\":\"%s\",\"ifname\":\"net1\",\"network\":\"n\","
	                  "\"pool\":\"vu\",\"deviceType\":\"virtio-user\",\"deviceID\":\"vu-%d\","
	                  "\"mac\":\"02:00:00:00:00:01\",\"created\":\"2026-01-01T00:00:00Z\","
	                  "\"vhostUser\":{\"socketPath\":\"/r/pods/%s/net1.sock\",\"socketDir\":"
	                  "\"/r/pods/%s\",\"agentMode\":\"client\",\"queues\":1},"
	                  "\"ipam\":{\"ips\":[{\"address\":\"10.0.0.2/24\",\"range\":"
	                  "\"10.0.0.1-10.0.0.254\"}]}}";
	char buf[1024];
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	json_t *o;

	(void)state;
	/* The virtio-user records are checked against runDir: an inventory without pools. */
	if (cfg_load_string("apiSocket: /nonexistent/a.sock\nstateDir: /nonexistent/s\n"
	                    "runDir: /r\npools: []\n",
	            "test.yaml", &cfg, &err) < 0 ||
	        inv_init(cfg, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(buf, sizeof(buf), rec, "c1", 1, "c1", "c1");
	o = json_loads(buf, 0, NULL);
	assert_non_null(o);
	if (alloc_replay("c1/net1", o, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(o);
	assert_int_equal(lease_held_count(), 1);
	snprintf(buf, sizeof(buf), rec, "c2", 2, "c2", "c2");
	o = json_loads(buf, 0, NULL);
	assert_int_equal(alloc_replay("c2/net1", o, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "c2/net1"));
	/* Once c1's record is deleted, c2 may hold the address. */
	assert_int_equal(alloc_replay("c1/net1", NULL, &err), 0);
	assert_int_equal(lease_held_count(), 0);
	assert_int_equal(alloc_replay("c2/net1", o, &err), 0);
	assert_int_equal(lease_held_count(), 1);
	json_decref(o);
	alloc_fini();
	assert_int_equal(lease_held_count(), 0);
	inv_fini();
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_gateway_exhaustion),
	        cmocka_unit_test(test_cursor),
	        cmocka_unit_test(test_v6_exclusion_jump),
	        cmocka_unit_test(test_dual_stack_and_sets),
	        cmocka_unit_test(test_static),
	        cmocka_unit_test(test_json_round_trip),
	        cmocka_unit_test(test_state_validation),
	        cmocka_unit_test(test_random_model),
	        cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
