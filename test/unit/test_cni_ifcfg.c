/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: pod-side IP configuration (cni-plugin/ifcfg.c). A veth end moved into a network
 * namespace created here stands in for a VF the agent moved into a pod; the addresses and
 * routes ifcfg sets are read back with `ip -n`. Needs root (skipped otherwise).
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
#include <unistd.h>

#include "ifcfg.h"
#include "result.h"

static char ns[32], nspath[64], host_if[16];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* `ip -n ns -j ...` parsed. */
static json_t *ipj(const char *args)
{
	char cmd[256], *buf = NULL;
	size_t cap = 0;
	FILE *p;
	json_t *o;

	snprintf(cmd, sizeof(cmd), "ip -n %s -j %s", ns, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	ssize_t n = getdelim(&buf, &cap, '\0', p);
	pclose(p);
	o = n > 0 ? json_loadb(buf, n, 0, NULL) : NULL;
	free(buf);
	if (!o)
		fail_msg("no JSON from: %s", cmd);
	return o;
}

static bool has_addr(const char *local, int plen)
{
	json_t *links = ipj("addr show dev net1"), *l, *a;
	size_t i, j;
	bool found = false;

	json_array_foreach (links, i, l) {
		json_array_foreach (json_object_get(l, "addr_info"), j, a) {
			if (!strcmp(json_string_value(json_object_get(a, "local")), local) &&
			        json_integer_value(json_object_get(a, "prefixlen")) == plen)
				found = true;
		}
	}
	json_decref(links);
	return found;
}

/* The route to dst (in `ip route` notation) in table `table`: its "gateway" or "". */
static bool has_route(
        const char *family, const char *table, const char *dst, const char *gw, int metric)
{
	char args[64];
	json_t *routes, *r;
	size_t i;
	bool found = false;

	snprintf(args, sizeof(args), "%s route show table %s", family, table);
	routes = ipj(args);
	json_array_foreach (routes, i, r) {
		const char *d = json_string_value(json_object_get(r, "dst"));
		const char *g = json_string_value(json_object_get(r, "gateway"));
		const char *dev = json_string_value(json_object_get(r, "dev"));
		if (!d || strcmp(d, dst) || !dev || strcmp(dev, "net1"))
			continue;
		if ((gw && (!g || strcmp(g, gw))) || (!gw && g))
			continue;
		if (metric >= 0 && json_integer_value(json_object_get(r, "metric")) != metric)
			continue;
		found = true;
	}
	json_decref(routes);
	return found;
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(ns, sizeof(ns), "kbifcfg%d", (int)getpid());
	snprintf(nspath, sizeof(nspath), "/run/netns/%s", ns);
	snprintf(host_if, sizeof(host_if), "kbif%d", (int)getpid() % 100000);
	if (sh("ip netns add %s && ip link add %s type veth peer name kbifp%d && "
	       "ip link set kbifp%d netns %s name net1",
	            ns, host_if, (int)getpid() % 100000, (int)getpid() % 100000, ns))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	sh("ip link del %s 2>/dev/null", host_if);
	sh("ip netns del %s 2>/dev/null", ns);
	return 0;
}

static struct cni_result *result(const char *json)
{
	struct cni_result *r = NULL;
	struct cni_err ce = {0};
	json_t *o = json_loads(json, 0, NULL);

	if (!o || cni_result_parse(o, CNI_V_NONE, &r, &ce) < 0)
		fail_msg("bad test result: %s", ce.e.msg);
	json_decref(o);
	return r;
}

/* What an ADD with host-local/static gives: the result's interface 1 is ours. */
static const char *res_json =
        "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\"},{\"name\":\"net1\"}],"
        "\"ips\":[{\"address\":\"10.88.0.5/24\",\"gateway\":\"10.88.0.1\",\"interface\":1},"
        "{\"address\":\"2001:db8::5/64\",\"gateway\":\"2001:db8::1\",\"interface\":1},"
        "{\"address\":\"192.168.200.9/24\",\"interface\":0}],"
        "\"routes\":[{\"dst\":\"10.99.0.0/16\"},"
        "{\"dst\":\"10.98.7.1/16\",\"gw\":\"10.88.0.254\",\"priority\":50,\"mtu\":1400},"
        "{\"dst\":\"172.30.0.0/16\",\"table\":300},"
        "{\"dst\":\"2001:db8:1::/48\"}]}";

static void test_apply_and_check(void **state)
{
	struct cni_result *r;
	struct kb_err err = {0};

	(void)state;
	if (geteuid() != 0)
		skip();
	r = result(res_json);
	if (ifcfg_apply(nspath, "net1", r, 1, &err) < 0)
		fail_msg("apply: %s", err.msg);
	assert_true(has_addr("10.88.0.5", 24));
	assert_true(has_addr("2001:db8::5", 64));
	/* interface 0's address is not ours to set. */
	assert_false(has_addr("192.168.200.9", 24));
	/* No gw: the gateway of the same family; host bits of dst are masked. */
	assert_true(has_route("-4", "main", "10.99.0.0/16", "10.88.0.1", -1));
	assert_true(has_route("-4", "main", "10.98.0.0/16", "10.88.0.254", 50));
	assert_true(has_route("-4", "300", "172.30.0.0/16", "10.88.0.1", -1));
	assert_true(has_route("-6", "main", "2001:db8:1::/48", "2001:db8::1", -1));
	json_t *mtu = ipj("-4 route show 10.98.0.0/16");
	assert_int_equal(
	        json_integer_value(json_object_get(
	                json_array_get(json_object_get(json_array_get(mtu, 0), "metrics"), 0),
	                "mtu")),
	        1400);
	json_decref(mtu);
	/* Nothing leaked into our own namespace. */
	assert_int_not_equal(sh("ip -4 addr show | grep -q 10.88.0.5"), 0);

	/* Idempotent, and CHECK agrees. */
	if (ifcfg_apply(nspath, "net1", r, 1, &err) < 0)
		fail_msg("second apply: %s", err.msg);
	if (ifcfg_check(nspath, "net1", r, 1, &err) < 0)
		fail_msg("check: %s", err.msg);

	/* CHECK notices a missing address and a down link. */
	assert_int_equal(sh("ip -n %s addr del 2001:db8::5/64 dev net1", ns), 0);
	assert_int_equal(ifcfg_check(nspath, "net1", r, 1, &err), -EIO);
	assert_non_null(strstr(err.msg, "address 2001:db8::5/64 is missing on net1"));
	assert_int_equal(ifcfg_apply(nspath, "net1", r, 1, &err), 0);
	assert_int_equal(sh("ip -n %s link set net1 down", ns), 0);
	assert_int_equal(ifcfg_check(nspath, "net1", r, 1, &err), -EIO);
	assert_non_null(strstr(err.msg, "is down"));
	cni_result_free(r);
}

static void test_errors(void **state)
{
	struct cni_result *r;
	struct kb_err err = {0};

	(void)state;
	if (geteuid() != 0)
		skip();
	r = result(res_json);
	assert_int_equal(ifcfg_apply(nspath, "net9", r, 1, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "interface net9"));
	assert_int_equal(ifcfg_check(nspath, "net9", r, 1, &err), -EIO);
	assert_non_null(strstr(err.msg, "net9 is missing"));
	assert_true(ifcfg_apply("/nonexistent/netns", "net1", r, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "network namespace /nonexistent/netns"));
	/* A file that is not a network namespace. */
	assert_true(ifcfg_apply("/proc/self/status", "net1", r, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "is not a network namespace"));
	cni_result_free(r);

	/* The kernel's refusal comes back with the route named. */
	r = result("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.77.0.5/24\"}],"
	           "\"routes\":[{\"dst\":\"10.1.0.0/16\",\"gw\":\"192.0.2.1\"}]}");
	assert_true(ifcfg_apply(nspath, "net1", r, 0, &err) < 0);
	assert_non_null(strstr(err.msg, "adding route 10.1.0.0/16 via 192.0.2.1 on net1"));
	cni_result_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_apply_and_check),
	        cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
