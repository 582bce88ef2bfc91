/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the agent IPAM section parser (api/ipamconf.c): host-local's forms (ranges, the
 * legacy subnet), defaults (rangeStart/End, gateway), IPv6, nodeRanges, static requests, dns,
 * and every refusal: malformed values, overlaps, mixed families, counts over the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/ipamconf.h"

static struct ipamconf *parse_ok(const char *text, const char *ips, const char *node)
{
	json_t *o = json_loads(text, 0, NULL),
	       *i = ips ? json_loads(ips, JSON_DECODE_ANY, NULL) : NULL;
	struct ipamconf *c = NULL;
	struct kb_err err = {0};
	int r;

	assert_non_null(o);
	r = ipamconf_parse(o, i, node, &c, &err);
	if (r < 0)
		fail_msg("%s: %s", text, err.msg);
	json_decref(o);
	json_decref(i);
	return c;
}

static void parse_err(
        const char *text, const char *ips, const char *node, int errnum, const char *why)
{
	json_t *o = json_loads(text, 0, NULL),
	       *i = ips ? json_loads(ips, JSON_DECODE_ANY, NULL) : NULL;
	struct ipamconf *c = NULL;
	struct kb_err err = {0};

	assert_non_null(o);
	if (ipamconf_parse(o, i, node, &c, &err) != -errnum)
		fail_msg("not refused with %d: %s", errnum, text);
	assert_null(c);
	if (why && !strstr(err.msg, why))
		fail_msg("%s: message '%s' lacks '%s'", text, err.msg, why);
	json_decref(o);
	json_decref(i);
}

static void parse_bad(const char *text, const char *ips, const char *node, const char *why)
{
	parse_err(text, ips, node, EINVAL, why);
}

static void fmt(int family, ipamconf_u128 v, char *buf)
{
	ipamconf_addr_format(&(struct ipamconf_addr){family, v}, buf);
}

static void test_legacy_subnet_defaults(void **state)
{
	struct ipamconf *c = parse_ok(
	        "{\"type\":\"kbnet\",\"subnet\":\"10.1.2.77/24\",\"dataDir\":\"/x\"}", NULL, NULL);
	char b[IPAMCONF_ADDR_STR];

	(void)state;
	assert_int_equal(c->n_sets, 1);
	assert_int_equal(c->sets[0].n, 1);
	assert_int_equal(c->sets[0].r[0].plen, 24);
	fmt(AF_INET, c->sets[0].r[0].net, b);
	assert_string_equal(b, "10.1.2.0"); /* host bits cleared */
	fmt(AF_INET, c->sets[0].r[0].start, b);
	assert_string_equal(b, "10.1.2.1");
	fmt(AF_INET, c->sets[0].r[0].end, b);
	assert_string_equal(b, "10.1.2.254"); /* no broadcast */
	fmt(AF_INET, c->sets[0].r[0].gw, b);
	assert_string_equal(b, "10.1.2.1");
	ipamconf_free(c);
}

static void test_ranges_v6_dual(void **state)
{
	struct ipamconf *c = parse_ok(
	        "{\"type\":\"kbnet\",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":"
	        "\"10.0.0.10\",\"rangeEnd\":\"10.0.0.20\",\"gateway\":\"10.0.0.254\"},{\"subnet\":"
	        "\"10.0.1.0/24\"}],[{\"subnet\":\"fd00::/64\"}]],\"routes\":[{\"dst\":\"0.0.0.0/"
	        "0\"},{\"dst\":\"fd00:1::5/64\",\"gw\":\"fd00::1\"}],\"exclude\":[\"10.0.0.12\","
	        "\"10.0.1.0/28\"],\"dns\":{\"nameservers\":[\"10.0.0.53\"],\"domain\":\"x\"}}",
	        NULL, NULL);
	char b[2 * IPAMCONF_ADDR_STR];

	(void)state;
	assert_int_equal(c->n_sets, 2);
	assert_int_equal(c->sets[0].n, 2);
	ipamconf_range_format(&c->sets[0].r[0], b);
	assert_string_equal(b, "10.0.0.10-10.0.0.20");
	fmt(AF_INET, c->sets[0].r[0].gw, b);
	assert_string_equal(b, "10.0.0.254");
	ipamconf_range_format(&c->sets[1].r[0], b);
	assert_string_equal(b, "fd00::1-fd00::ffff:ffff:ffff:ffff"); /* v6: the last address too */
	assert_int_equal(c->n_routes, 2);
	fmt(AF_INET6, c->routes[1].dst, b);
	assert_string_equal(b, "fd00:1::"); /* dst canonicalised */
	assert_true(c->routes[1].has_gw);
	assert_int_equal(c->n_exclude, 2);
	assert_true(c->exclude[0].first == c->exclude[0].last);
	assert_true(c->exclude[1].last - c->exclude[1].first == 15);
	assert_non_null(c->dns);
	ipamconf_free(c);
}

static void test_requests(void **state)
{
	const char *conf = "{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\"}";
	struct ipamconf *c = parse_ok(conf, "[\"10.0.0.9/24\"]", NULL);

	(void)state;
	assert_int_equal(c->n_requests, 1);
	assert_true(c->requests[0].v == ((ipamconf_u128)0x0a000009));
	ipamconf_free(c);
	parse_bad(conf, "[\"10.0.1.9\"]", NULL, "in no range");
	parse_bad(conf, "[\"10.0.0.9\",\"10.0.0.9\"]", NULL, "twice");
	parse_bad(conf, "[\"nope\"]", NULL, "must be an IP");
	parse_bad(conf, "\"10.0.0.9\"", NULL, "array");
	parse_bad(conf, "[1,2,3,4,5,6,7,8,9]", NULL, "at most");
	parse_bad(conf, "[7]", NULL, "must be an IP");
}

static void test_node_ranges(void **state)
{
	const char *conf = "{\"type\":\"kbnet\",\"nodeRanges\":{\"a\":[[{\"subnet\":\"10.1.0.0/"
	                   "24\"}]],\"b\":[[{\"subnet\":\"10.2.0.0/24\"}]]}}";
	struct ipamconf *c;
	char b[IPAMCONF_ADDR_STR];

	(void)state;
	c = parse_ok(conf, NULL, "b");
	assert_int_equal(c->n_sets, 1);
	fmt(AF_INET, c->sets[0].r[0].net, b);
	assert_string_equal(b, "10.2.0.0");
	ipamconf_free(c);
	/* The plugin (no node) checks every entry and accepts no top-level range. */
	c = parse_ok(conf, "[\"10.9.9.9\"]", NULL);
	assert_int_equal(c->n_sets, 0);
	ipamconf_free(c);
	/* What only the node's view refuses is ENODEV (the plugin could not know). */
	parse_err(conf, NULL, "c", ENODEV, "no entry for node 'c'");
	parse_bad("{\"type\":\"kbnet\",\"nodeRanges\":{\"a\":[[{\"subnet\":\"10.1.0.0/24\"}]],"
	          "\"b\":[[{\"subnet\":\"bad\"}]]}}",
	        NULL, NULL, "nodeRanges.b[0][0].subnet");
	parse_bad("{\"type\":\"kbnet\",\"nodeRanges\":[]}", NULL, NULL, "object");
	parse_err(conf, "[\"10.9.9.9\"]", "a", ENODEV, "in no range"); /* the agent knows them */
}

static void test_malformed(void **state)
{
	static const struct {
		const char *conf, *why;
	} bad[] = {
	        {"{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\"}", "type"},
	        {"{\"subnet\":\"10.0.0.0/24\"}", "type"},
	        {"{\"type\":\"kbnet\"}", "required"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0\"}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/33\"}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/-1\"}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/024\"}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24x\"}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/31\"}", "too small"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"fd00::/127\"}", "too small"},
	        {"{\"type\":\"kbnet\",\"subnet\":7}", "CIDR"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.1\"}",
	                "rangeStart"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.255\"}",
	                "rangeStart"}, /* the broadcast */
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.9\","
	         "\"rangeEnd\":\"10.0.0.8\"}",
	                "rangeEnd"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"fd00::1\"}",
	                "gateway"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"gateway\":[]}", "gateway"},
	        {"{\"type\":\"kbnet\",\"ranges\":{}}", "array of arrays"},
	        {"{\"type\":\"kbnet\",\"ranges\":[[]]}", "non-empty"},
	        {"{\"type\":\"kbnet\",\"ranges\":[{}]}", "non-empty"},
	        {"{\"type\":\"kbnet\",\"ranges\":[[7]]}", "object"},
	        {"{\"type\":\"kbnet\",\"ranges\":[[{\"subnet\":\"10.0.0.0/"
	         "24\"},{\"subnet\":\"fd00::/"
	         "64\"}]]}",
	                "one family"},
	        {"{\"type\":\"kbnet\",\"ranges\":[[{\"subnet\":\"10.0.0.0/"
	         "24\"},{\"subnet\":\"10.0.0."
	         "0/16\"}]]}",
	                "overlaps"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"ranges\":[[{\"subnet\":\"10.0.0."
	         "128/25\"}]]}",
	                "overlaps"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":\"x\"}]}",
	                "routes[0].dst"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/"
	         "24\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}",
	                "routes[0].dst"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":\"fd00::/8\","
	         "\"gw\":\"10.0.0.1\"}]}",
	                "families"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"routes\":[7]}", "object"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"exclude\":[\"x\"]}",
	                "exclude[0]"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"exclude\":\"10.0.0.1\"}",
	                "exclude"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"dns\":[]}", "dns"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"dns\":{\"x\":1}}",
	                "unknown key"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/"
	         "24\",\"dns\":{\"nameservers\":[\"a\"]}}",
	                "IP address"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"dns\":{\"search\":[\"a\\nb\"]}}",
	                "control"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"dns\":{\"search\":[\"\"]}}",
	                "1..253"},
	        {"{\"type\":\"kbnet\",\"subnet\":\"10.0.0.0/24\",\"dns\":{\"domain\":5}}",
	                "domain"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i].conf, NULL, NULL, bad[i].why);
}

/* Every count is bounded: one over each limit is refused. */
static void test_bounds(void **state)
{
	json_t *o = json_pack("{s:s}", "type", "kbnet"), *ranges = json_array(), *set,
	       *routes = json_array(), *ex = json_array(), *dns = json_array(),
	       *nodes = json_object();
	struct ipamconf *c = NULL;
	struct kb_err err = {0};
	char buf[64];

	(void)state;
	for (int i = 0; i <= IPAMCONF_MAX_SETS; i++) {
		snprintf(buf, sizeof(buf), "10.%d.0.0/24", i);
		json_array_append_new(ranges, json_pack("[{s:s}]", "subnet", buf));
	}
	json_object_set_new(o, "ranges", ranges);
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at most"));
	json_array_remove(ranges, 0);
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), 0);
	ipamconf_free(c);

	set = json_array();
	for (int i = 0; i <= IPAMCONF_MAX_RANGES; i++) {
		snprintf(buf, sizeof(buf), "10.100.%d.0/24", i);
		json_array_append_new(set, json_pack("{s:s}", "subnet", buf));
	}
	json_object_set_new(o, "ranges", json_pack("[o]", set));
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	json_object_set_new(o, "ranges", json_pack("[[{s:s}]]", "subnet", "10.0.0.0/24"));

	for (int i = 0; i <= IPAMCONF_MAX_ROUTES; i++)
		json_array_append_new(routes, json_pack("{s:s}", "dst", "10.9.0.0/16"));
	json_object_set_new(o, "routes", routes);
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	json_object_del(o, "routes");

	for (int i = 0; i <= IPAMCONF_MAX_EXCLUDE; i++)
		json_array_append_new(ex, json_string("10.0.0.5"));
	json_object_set_new(o, "exclude", ex);
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	json_object_del(o, "exclude");

	for (int i = 0; i <= IPAMCONF_MAX_DNS; i++)
		json_array_append_new(dns, json_string("a.b"));
	json_object_set_new(o, "dns", json_pack("{s:o}", "search", dns));
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	json_object_del(o, "dns");

	for (int i = 0; i <= IPAMCONF_MAX_NODES; i++) {
		snprintf(buf, sizeof(buf), "node-%d", i);
		json_object_set_new(nodes, buf, json_pack("[[{s:s}]]", "subnet", "10.5.0.0/24"));
	}
	json_object_set_new(o, "nodeRanges", nodes);
	assert_int_equal(ipamconf_parse(o, NULL, NULL, &c, &err), -EINVAL);
	json_decref(o);
}

static void test_addr(void **state)
{
	struct ipamconf_addr a;
	char b[IPAMCONF_ADDR_STR];
	int plen;

	(void)state;
	assert_int_equal(ipamconf_addr_parse("::ffff:1.2.3.4", &a, NULL), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(ipamconf_addr_parse("1.2.3.4/8", &a, NULL), -EINVAL); /* no plen wanted */
	assert_int_equal(ipamconf_addr_parse("1.2.3.4/8", &a, &plen), 0);
	assert_int_equal(plen, 8);
	assert_int_equal(ipamconf_addr_parse("1.2.3.4/", &a, &plen), -EINVAL);
	assert_int_equal(ipamconf_addr_parse("fd00::1/129", &a, &plen), -EINVAL);
	assert_int_equal(ipamconf_addr_parse("", &a, &plen), -EINVAL);
	assert_int_equal(ipamconf_addr_parse(NULL, &a, &plen), -EINVAL);
	assert_int_equal(
	        ipamconf_addr_parse(
	                "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee", &a,
	                &plen),
	        -EINVAL);
	assert_int_equal(ipamconf_addr_parse("fd00::ff", &a, NULL), 0);
	ipamconf_addr_format(&a, b);
	assert_string_equal(b, "fd00::ff");
	{
		json_t *o = json_pack("{s:s}", "type", "kbnet");
		assert_true(ipamconf_is_agent(o));
		json_object_set_new(o, "type", json_string("static"));
		assert_false(ipamconf_is_agent(o));
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_legacy_subnet_defaults),
	        cmocka_unit_test(test_ranges_v6_dual),
	        cmocka_unit_test(test_requests),
	        cmocka_unit_test(test_node_ranges),
	        cmocka_unit_test(test_malformed),
	        cmocka_unit_test(test_bounds),
	        cmocka_unit_test(test_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
