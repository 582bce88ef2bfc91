/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: CNI versions, results in every version both ways, error JSON (cni-plugin/result.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "result.h"

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);

	if (!o)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	return o;
}

static struct cni_result *parse_ok(const char *s, enum cni_version dflt)
{
	struct cni_err ce = {0};
	struct cni_result *r = NULL;
	json_t *o = load(s);

	if (cni_result_parse(o, dflt, &r, &ce) < 0)
		fail_msg("unexpected error: %s", ce.e.msg);
	json_decref(o);
	return r;
}

static void parse_err(const char *s, int code, const char *want)
{
	struct cni_err ce = {0};
	struct cni_result *r = NULL;
	json_t *o = load(s);
	int rc = cni_result_parse(o, CNI_V_1_0_0, &r, &ce);

	json_decref(o);
	if (rc >= 0)
		fail_msg("accepted: %s", s);
	assert_null(r);
	assert_int_equal(ce.code, code);
	if (!strstr(ce.e.msg, want))
		fail_msg("error '%s' does not contain '%s' (input %s)", ce.e.msg, want, s);
}

/* Print r in version v and compare with the expected JSON (key order ignored). */
static void expect_json(const struct cni_result *r, enum cni_version v, const char *want)
{
	json_t *got = cni_result_to_json(r, v), *exp = load(want);

	if (!json_equal(got, exp)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(exp, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("version %s:\n got  %s\n want %s", cni_version_str(v), g, w);
	}
	json_decref(got);
	json_decref(exp);
}

static void test_versions(void **state)
{
	static const char *ok[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
	static const char *bad[] = {"0.1.0", "0.2.0", "1.2.0", "2.0.0", "1.1", "", "1.1.0 ", "x"};
	json_t *info;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		enum cni_version v = cni_version_parse(ok[i]);
		assert_int_not_equal(v, CNI_V_NONE);
		assert_string_equal(cni_version_str(v), ok[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cni_version_parse(bad[i]), CNI_V_NONE);
	assert_int_equal(cni_version_parse(NULL), CNI_V_NONE);
	assert_null(cni_version_str(CNI_V_NONE));
	assert_true(CNI_V_0_3_0 < CNI_V_0_4_0 && CNI_V_0_4_0 < CNI_V_1_0_0 &&
	            CNI_V_1_0_0 < CNI_V_1_1_0);

	info = cni_version_info();
	json_t *want = load("{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
	                    "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	assert_true(json_equal(info, want));
	json_decref(want);
	json_decref(info);
}

static void test_error_json(void **state)
{
	struct cni_err ce = {0};
	json_t *o, *want;
	int r;

	(void)state;
	r = cni_err_set(&ce, CNI_ERR_INVALID_CONFIG, EINVAL, "mtu must be %s", "an integer");
	assert_int_equal(r, -EINVAL);
	cni_err_details(&ce, "key %s", "mtu");
	o = cni_err_to_json(&ce, CNI_V_0_4_0);
	want = load("{\"cniVersion\":\"0.4.0\",\"code\":7,\"msg\":\"mtu must be an integer\","
	            "\"details\":\"key mtu\"}");
	assert_true(json_equal(o, want));
	json_decref(o);
	json_decref(want);

	/* Unknown version: the latest; prefixing keeps the code; setting again clears details. */
	cni_err_prefix(&ce, "netconf");
	assert_string_equal(ce.e.msg, "netconf: mtu must be an integer");
	o = cni_err_to_json(&ce, CNI_V_NONE);
	assert_string_equal(json_string_value(json_object_get(o, "cniVersion")), "1.1.0");
	assert_int_equal(json_integer_value(json_object_get(o, "code")), 7);
	json_decref(o);
	cni_err_set(&ce, KB_CNI_ERR_POOL_EXHAUSTED, ENOSPC, "pool vu exhausted");
	assert_string_equal(ce.details, "");

	/* An error that was never set still makes a valid error object (code 999). */
	struct cni_err empty = {0};
	o = cni_err_to_json(&empty, CNI_V_1_0_0);
	assert_int_equal(json_integer_value(json_object_get(o, "code")), 999);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "unknown error");
	assert_string_equal(json_string_value(json_object_get(o, "details")), "");
	json_decref(o);
	/* errnum 0 still yields a negative return. */
	assert_true(cni_err_set(NULL, 1, 0, "x") < 0);
}

static const char *res_040 =
        "{\"cniVersion\":\"0.4.0\","
        "\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/run/netns/"
        "a\"},"
        "{\"name\":\"veth1\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"\"}],"
        "\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.5/"
        "24\",\"gateway\":\"10.1.0.1\",\"interface\":0},"
        "{\"version\":\"6\",\"address\":\"2001:db8::5/64\",\"interface\":0}],"
        "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"2001:db8:1::/48\",\"gw\":\"2001:db8::1\"}],"
        "\"dns\":{\"nameservers\":[\"10.1.0.53\"],\"domain\":\"example.org\",\"search\":[\"a."
        "example.org\"],"
        "\"options\":[\"ndots:2\"]}}";

static void test_040_to_every_version(void **state)
{
	struct cni_result *r = parse_ok(res_040, CNI_V_NONE);
	static const char *body_nover =
	        "\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/"
	        "run/netns/a\"},"
	        "{\"name\":\"veth1\",\"mac\":\"02:00:00:00:00:02\",\"sandbox\":\"\"}],"
	        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\",\"interface\":0},"
	        "{\"address\":\"2001:db8::5/64\",\"interface\":0}],"
	        "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"2001:db8:1::/"
	        "48\",\"gw\":\"2001:db8::1\"}],"
	        "\"dns\":{\"nameservers\":[\"10.1.0.53\"],\"domain\":\"example.org\",\"search\":["
	        "\"a.example.org\"],"
	        "\"options\":[\"ndots:2\"]}}";
	char want[2048];

	(void)state;
	assert_int_equal(r->n_ifaces, 2);
	assert_int_equal(r->n_ips, 2);
	assert_int_equal(r->ips[0].family, AF_INET);
	assert_int_equal(r->ips[1].family, AF_INET6);
	assert_int_equal(r->ips[1].gateway[0], '\0');
	assert_int_equal(r->n_routes, 2);
	assert_int_equal(r->routes[0].mtu, -1);

	/* Same format for 0.3.0, 0.3.1 and 0.4.0 (ips tagged with their version). */
	for (enum cni_version v = CNI_V_0_3_0; v <= CNI_V_0_4_0; v++) {
		snprintf(want, sizeof(want), "%s", res_040);
		memcpy(strstr(want, "0.4.0"), cni_version_str(v), 5);
		expect_json(r, v, want);
	}
	/* 1.0.0 and 1.1.0 drop the ip version. */
	snprintf(want, sizeof(want), "{\"cniVersion\":\"1.0.0\",%s", body_nover);
	expect_json(r, CNI_V_1_0_0, want);
	snprintf(want, sizeof(want), "{\"cniVersion\":\"1.1.0\",%s", body_nover);
	expect_json(r, CNI_V_1_1_0, want);
	cni_result_free(r);
}

static const char *res_110 =
        "{\"cniVersion\":\"1.1.0\","
        "\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":9000,"
        "\"sandbox\":\"/run/netns/a\",\"socketPath\":\"/run/kbnet/pods/u/net1.sock\"},"
        "{\"name\":\"net2\",\"sandbox\":\"/run/netns/a\",\"pciID\":\"0000:3b:02.1\"}],"
        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\",\"interface\":1}],"
        "\"routes\":[{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\",\"mtu\":1400,\"advmss\":1360,"
        "\"priority\":100,\"table\":200,\"scope\":0}]}";

static void test_110_down_and_back(void **state)
{
	struct cni_result *r = parse_ok(res_110, CNI_V_NONE), *back;
	json_t *o;

	(void)state;
	assert_int_equal(r->ifaces[0].mtu, 9000);
	assert_string_equal(r->ifaces[0].socket_path, "/run/kbnet/pods/u/net1.sock");
	assert_string_equal(r->ifaces[1].pci_id, "0000:3b:02.1");
	assert_int_equal(r->routes[0].table, 200);
	assert_int_equal(r->routes[0].scope, 0);
	expect_json(r, CNI_V_1_1_0, res_110);
	/* Older versions have no interface mtu/socketPath/pciID nor route attributes. */
	expect_json(r, CNI_V_1_0_0,
	        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:"
	        "00:00:01\","
	        "\"sandbox\":\"/run/netns/a\"},{\"name\":\"net2\",\"sandbox\":\"/run/netns/a\"}],"
	        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\",\"interface\":1}],"
	        "\"routes\":[{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"}]}");
	expect_json(r, CNI_V_0_3_1,
	        "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:"
	        "00:00:01\","
	        "\"sandbox\":\"/run/netns/a\"},{\"name\":\"net2\",\"sandbox\":\"/run/netns/a\"}],"
	        "\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.5/"
	        "24\",\"gateway\":\"10.1.0.1\",\"interface\":1}],"
	        "\"routes\":[{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"}]}");

	/* 0.3.1 output parses back (ip version checked against the address) and up again. */
	o = cni_result_to_json(r, CNI_V_0_3_1);
	struct cni_err ce = {0};
	assert_int_equal(cni_result_parse(o, CNI_V_NONE, &back, &ce), 0);
	json_decref(o);
	expect_json(back, CNI_V_1_0_0,
	        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\",\"mac\":\"02:00:00:"
	        "00:00:01\","
	        "\"sandbox\":\"/run/netns/a\"},{\"name\":\"net2\",\"sandbox\":\"/run/netns/a\"}],"
	        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\",\"interface\":1}],"
	        "\"routes\":[{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.1.0.254\"}]}");
	cni_result_free(back);

	/* dup is a deep, equal copy. */
	back = cni_result_dup(r);
	cni_result_free(r);
	expect_json(back, CNI_V_1_1_0, res_110);
	cni_result_free(back);
}

/* An IPAM result (no interfaces, no cniVersion: the caller's default) merged into ours. */
static void test_ipam_merge(void **state)
{
	struct cni_result *ipam = parse_ok(
	        "{\"ips\":[{\"address\":\"10.2.0.7/16\",\"gateway\":\"10.2.0.1\"},"
	        "{\"address\":\"fd00::7/64\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
	        "\"dns\":{\"nameservers\":[\"10.2.0.53\",\"10.2.0.54\"],\"domain\":\"b\"}}",
	        CNI_V_1_0_0);
	struct cni_result *prev = parse_ok(
	        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"}],"
	        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"interface\":0}],"
	        "\"dns\":{\"nameservers\":[\"10.2.0.53\"],\"domain\":\"a\"}}",
	        CNI_V_NONE);
	int idx;

	(void)state;
	idx = cni_result_add_iface(
	        prev, "net1", "02:00:00:00:00:09", "/n", 1500, "/run/x.sock", NULL);
	assert_int_equal(idx, 1);
	assert_int_equal(cni_result_merge_ipam(prev, ipam, idx), 0);
	expect_json(prev, CNI_V_1_1_0,
	        "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/n\"},"
	        "{\"name\":\"net1\",\"mac\":\"02:00:00:00:00:09\",\"mtu\":1500,\"sandbox\":\"/n\","
	        "\"socketPath\":\"/run/x.sock\"}],"
	        "\"ips\":[{\"address\":\"10.1.0.5/24\",\"interface\":0},"
	        "{\"address\":\"10.2.0.7/16\",\"gateway\":\"10.2.0.1\",\"interface\":1},"
	        "{\"address\":\"fd00::7/64\",\"interface\":1}],"
	        "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
	        "\"dns\":{\"nameservers\":[\"10.2.0.53\",\"10.2.0.54\"],\"domain\":\"a\"}}");
	assert_int_equal(cni_result_find_iface(prev, "net1", "/n"), 1);
	assert_int_equal(cni_result_find_iface(prev, "net1", NULL), 1);
	assert_int_equal(cni_result_find_iface(prev, "net1", "/other"), -1);
	assert_int_equal(cni_result_find_iface(prev, "net9", NULL), -1);
	cni_result_free(prev);
	cni_result_free(ipam);
}

static void test_empty_result(void **state)
{
	struct cni_result *r = parse_ok("{\"cniVersion\":\"0.3.0\",\"dns\":{}}", CNI_V_NONE);

	(void)state;
	assert_null(r->dns); /* an empty dns object is not printed */
	expect_json(r, CNI_V_1_1_0, "{\"cniVersion\":\"1.1.0\"}");
	cni_result_free(r);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_err("[]", CNI_ERR_DECODE, "must be a JSON object");
	parse_err("{\"cniVersion\":\"0.2.0\"}", CNI_ERR_INCOMPATIBLE, "0.2.0");
	parse_err("{\"cniVersion\":4}", CNI_ERR_INCOMPATIBLE, "not a string");
	parse_err("{\"interfaces\":{}}", CNI_ERR_DECODE, "'interfaces' must be an array");
	parse_err("{\"interfaces\":[1]}", CNI_ERR_DECODE, "interfaces[0]: must be an object");
	parse_err("{\"interfaces\":[{}]}", CNI_ERR_DECODE, "interfaces[0]: 'name' is missing");
	parse_err("{\"interfaces\":[{\"name\":\"a/b\"}]}", CNI_ERR_DECODE, "'name' (a/b)");
	parse_err("{\"interfaces\":[{\"name\":\"averyveryverylongname\"}]}", CNI_ERR_DECODE,
	        "'name'");
	parse_err("{\"interfaces\":[{\"name\":\"e\",\"mtu\":-1}]}", CNI_ERR_DECODE, "'mtu'");
	parse_err("{\"interfaces\":[{\"name\":\"e\",\"mtu\":\"1500\"}]}", CNI_ERR_DECODE, "'mtu'");
	parse_err("{\"interfaces\":[{\"name\":\"e\",\"sandbox\":5}]}", CNI_ERR_DECODE,
	        "'sandbox' must be a string");
	parse_err("{\"ips\":[{}]}", CNI_ERR_DECODE, "ips[0]: 'address' is missing");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/33\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"ips\":[{\"address\":\"x/24\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"ips\":[{\"address\":\"fd00::1/129\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":\"fd00::1\"}]}",
	        CNI_ERR_DECODE, "same family");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":\"10.0.0.300\"}]}",
	        CNI_ERR_DECODE, "'gateway'");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"version\":\"6\"}]}", CNI_ERR_DECODE,
	        "'version' (6)");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":0}]}", CNI_ERR_DECODE,
	        "not an index");
	parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":-1}]}", CNI_ERR_DECODE,
	        "'interface'");
	parse_err("{\"routes\":[{\"gw\":\"10.0.0.1\"}]}", CNI_ERR_DECODE, "'dst' is missing");
	parse_err("{\"routes\":[{\"dst\":\"10.0.0.0\"}]}", CNI_ERR_DECODE, "CIDR");
	parse_err("{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"fd00::1\"}]}", CNI_ERR_DECODE,
	        "same family");
	parse_err(
	        "{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"scope\":256}]}", CNI_ERR_DECODE, "'scope'");
	parse_err("{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"table\":4294967296}]}", CNI_ERR_DECODE,
	        "'table'");
	parse_err("{\"dns\":[]}", CNI_ERR_DECODE, "'dns' must be an object");
	parse_err("{\"dns\":{\"nameservers\":\"1.1.1.1\"}}", CNI_ERR_DECODE,
	        "dns: 'nameservers' must be an array");
	parse_err("{\"dns\":{\"search\":[1]}}", CNI_ERR_DECODE, "dns: 'search[0]'");
	parse_err("{\"dns\":{\"domain\":[]}}", CNI_ERR_DECODE, "dns: 'domain' must be a string");

	/* jansson only loads NULs on request, but built objects can hold them. */
	{
		struct cni_err e2 = {0};
		struct cni_result *r2 = NULL;
		json_t *o2 = json_pack(
		        "{s:[{s:s, s:s#}]}", "interfaces", "name", "e", "mac", "a\0b", (size_t)3);
		assert_true(cni_result_parse(o2, CNI_V_1_0_0, &r2, &e2) < 0);
		assert_non_null(strstr(e2.e.msg, "NUL"));
		json_decref(o2);
	}
	/* No cniVersion and no default. */
	struct cni_err ce = {0};
	struct cni_result *r = NULL;
	json_t *o = load("{}");
	assert_true(cni_result_parse(o, CNI_V_NONE, &r, &ce) < 0);
	assert_int_equal(ce.code, CNI_ERR_DECODE);
	json_decref(o);
}

static void test_limits(void **state)
{
	json_t *o = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
	struct cni_result *r = NULL, *big;
	struct cni_err ce = {0};

	(void)state;
	for (int i = 0; i <= CNI_RESULT_MAX_IPS; i++)
		json_array_append_new(
		        json_object_get(o, "ips"), json_pack("{s:s}", "address", "10.0.0.1/32"));
	assert_true(cni_result_parse(o, CNI_V_NONE, &r, &ce) < 0);
	assert_non_null(strstr(ce.e.msg, "more than"));
	json_array_remove(json_object_get(o, "ips"), 0);
	assert_int_equal(cni_result_parse(o, CNI_V_NONE, &big, &ce), 0);
	/* Merging one more address is refused rather than growing without bound. */
	assert_int_equal(cni_result_merge_ipam(big, big, -1), -E2BIG);
	for (int i = 0; i < CNI_RESULT_MAX_IFACES; i++)
		assert_true(cni_result_add_iface(big, "e", NULL, NULL, 0, NULL, NULL) >= 0);
	assert_int_equal(cni_result_add_iface(big, "e", NULL, NULL, 0, NULL, NULL), -E2BIG);
	cni_result_free(big);
	json_decref(o);
}

static void test_cidr(void **state)
{
	unsigned char a[16];
	unsigned plen;
	int fam;

	(void)state;
	assert_int_equal(cni_parse_cidr("10.0.0.0/0", &fam, a, &plen), 0);
	assert_int_equal(fam, AF_INET);
	assert_int_equal(plen, 0);
	assert_int_equal(cni_parse_cidr("::/0", &fam, a, &plen), 0);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(cni_parse_cidr("fe80::1/128", &fam, a, &plen), 0);
	assert_int_equal(plen, 128);
	assert_int_equal(cni_parse_cidr("/24", &fam, a, &plen), -EINVAL);
	assert_int_equal(cni_parse_cidr("10.0.0.1/-1", &fam, a, &plen), -EINVAL);
	assert_int_equal(cni_parse_cidr("10.0.0.1/24x", &fam, a, &plen), -EINVAL);
	assert_int_equal(cni_parse_cidr(NULL, &fam, a, &plen), -EINVAL);
	assert_int_equal(cni_parse_ip("10.0.0.1", &fam, NULL), 0);
	assert_int_equal(cni_parse_ip("10.0.0.1/8", &fam, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_versions),
	        cmocka_unit_test(test_error_json),
	        cmocka_unit_test(test_040_to_every_version),
	        cmocka_unit_test(test_110_down_and_back),
	        cmocka_unit_test(test_ipam_merge),
	        cmocka_unit_test(test_empty_result),
	        cmocka_unit_test(test_parse_errors),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_cidr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
