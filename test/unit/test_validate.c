/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: validators of externally supplied names (common/validate.c) and the small input
 * parsers next to them (MAC addresses, bounded integers, bounded strings). Accept and reject
 * tables; every rejection must also say why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/mac.h"
#include "common/str.h"
#include "common/validate.h"

typedef bool (*validator)(const char *, const char **);

struct vcase {
	const char *s;
	bool ok;
};

static char *repeat(char c, size_t n)
{
	static char buf[8192];

	assert_true(n < sizeof(buf));
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void run(const char *name, validator v, const struct vcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		bool got = v(c[i].s, &why);
		if (got != c[i].ok)
			fail_msg("%s(\"%s\"): got %s, want %s", name, c[i].s ? c[i].s : "(null)",
			        got ? "valid" : "invalid", c[i].ok ? "valid" : "invalid");
		if (!got && (!why || !*why))
			fail_msg("%s(\"%s\"): rejected without a reason", name, c[i].s);
		/* why is optional. */
		assert_int_equal(v(c[i].s, NULL), c[i].ok);
	}
}

#define RUN(v, cases) run(#v, v, cases, sizeof(cases) / sizeof(cases[0]))

static void test_container_id(void **state)
{
	char max[VAL_CONTAINER_ID_MAX + 2];
	const struct vcase c[] = {
	        {"5e1c0f2a9b", true},
	        {"a", true},
	        {"A_b.c-d", true},
	        {"0", true},
	        {NULL, false},
	        {"", false},
	        {"-abc", false},
	        {"_abc", false},
	        {".abc", false},
	        {"..", false},
	        {"a/b", false},
	        {"a b", false},
	        {"a\nb", false},
	        {"a:b", false},
	        {"caf\xc3\xa9", false},
	};

	(void)state;
	RUN(val_container_id, c);
	memset(max, 'a', VAL_CONTAINER_ID_MAX);
	max[VAL_CONTAINER_ID_MAX] = '\0';
	assert_true(val_container_id(max, NULL));
	max[VAL_CONTAINER_ID_MAX] = 'a';
	max[VAL_CONTAINER_ID_MAX + 1] = '\0';
	assert_false(val_container_id(max, NULL));
}

static void test_ifname(void **state)
{
	const struct vcase c[] = {
	        {"net1", true},
	        {"eth0", true},
	        {"a", true},
	        {"123456789012345", true}, /* 15: IFNAMSIZ - 1 */
	        {"vlan.100", true},
	        {"-x", true}, /* the kernel allows it */
	        {"1234567890123456", false},
	        {NULL, false},
	        {"", false},
	        {".", false},
	        {"..", false},
	        {"a/b", false},
	        {"a:b", false},
	        {"a b", false},
	        {"a\tb", false},
	        {"a\x7f", false},
	        {"n\xc3\xa9t", false},
	};

	(void)state;
	RUN(val_ifname, c);
}

static void test_pod_uid(void **state)
{
	const struct vcase c[] = {
	        {"8f0e2d6c-1b7a-4c3e-9d2f-0a1b2c3d4e5f", true},
	        {"0123456789abcdef0123456789abcdef", true}, /* static pods: a hash */
	        {NULL, false},
	        {"", false},
	        {"../x", false},
	        {"a_b", false},
	        {"a.b", false},
	        {"-a", false},
	};

	(void)state;
	RUN(val_pod_uid, c);
	assert_true(val_pod_uid(repeat('a', VAL_POD_UID_MAX), NULL));
	assert_false(val_pod_uid(repeat('a', VAL_POD_UID_MAX + 1), NULL));
}

static void test_name_network_device(void **state)
{
	const struct vcase names[] = {
	        {"virtio_user", true},
	        {"vu", true},
	        {"a.b-c_d", true},
	        {"", false},
	        {"a/b", false},
	        {"a:b", false},
	        {"_a", false},
	        {NULL, false},
	};
	const struct vcase networks[] = {
	        {"dpdk-net", true},
	        {"net_1.x", true},
	        {"a b", false},
	        {"", false},
	        {"net/1", false},
	        {"-net", false},
	};
	const struct vcase devices[] = {
	        {"0000:3b:02.1", true},
	        {"vdpa0", true},
	        {"virtio_user-63", true},
	        {"0000:3b:02.1/x", false},
	        {"", false},
	        {":x", false},
	        {"a b", false},
	        {"..", false},
	};

	(void)state;
	RUN(val_name, names);
	RUN(val_network, networks);
	RUN(val_device_id, devices);
	assert_true(val_name(repeat('a', VAL_NAME_MAX), NULL));
	assert_false(val_name(repeat('a', VAL_NAME_MAX + 1), NULL));
	assert_true(val_network(repeat('a', VAL_NETWORK_MAX), NULL));
	assert_false(val_network(repeat('a', VAL_NETWORK_MAX + 1), NULL));
	assert_true(val_device_id(repeat('a', VAL_DEVICE_ID_MAX), NULL));
	assert_false(val_device_id(repeat('a', VAL_DEVICE_ID_MAX + 1), NULL));
}

static void test_k8s_names(void **state)
{
	/* DNS-1123 label (namespaces) and subdomain (object names, resource prefixes). */
	const struct vcase ns[] = {
	        {"default", true},
	        {"kube-system", true},
	        {"a", true},
	        {"0abc", true},
	        {"", false},
	        {NULL, false},
	        {"Default", false},
	        {"a.b", false},
	        {"-a", false},
	        {"a-", false},
	        {"a_b", false},
	        {"a/b", false},
	};
	const struct vcase names[] = {
	        {"web-0", true},
	        {"kbnet.io", true},
	        {"a.b.c", true},
	        {"0.0", true},
	        {"a-b.c-d", true},
	        {"", false},
	        {NULL, false},
	        {"Web", false},
	        {"a_b", false},
	        {".a", false},
	        {"a.", false},
	        {"-a", false},
	        {"a-", false},
	        /* every dot-separated label starts and ends alphanumeric, none is empty */
	        {"a..b", false},
	        {"a.-b", false},
	        {"a-.b", false},
	        {"kbnet..io", false},
	};

	(void)state;
	RUN(val_k8s_namespace, ns);
	RUN(val_k8s_name, names);
	assert_true(val_k8s_namespace(repeat('a', VAL_K8S_NAMESPACE_MAX), NULL));
	assert_false(val_k8s_namespace(repeat('a', VAL_K8S_NAMESPACE_MAX + 1), NULL));
	assert_true(val_k8s_name(repeat('a', VAL_K8S_NAME_MAX), NULL));
	assert_false(val_k8s_name(repeat('a', VAL_K8S_NAME_MAX + 1), NULL));
}

static void test_abs_path(void **state)
{
	const struct vcase c[] = {
	        {"/", true},
	        {"/var/run/netns/cni-1234", true},
	        {"/a/.b", true},
	        {"/a/..b", true},
	        {"/a/b..", true},
	        {"/a/./b", true},
	        {"/a//b", true},
	        {NULL, false},
	        {"", false},
	        {"relative", false},
	        {"./x", false},
	        {"/..", false},
	        {"/../etc", false},
	        {"/a/../b", false},
	        {"/a/..", false},
	        {"/a\nb", false},
	        {"/a\x01", false},
	};

	(void)state;
	RUN(val_abs_path, c);
	{
		char *p = repeat('a', VAL_PATH_MAX);
		p[0] = '/';
		assert_true(val_abs_path(p, NULL));
		p = repeat('a', VAL_PATH_MAX + 1);
		p[0] = '/';
		assert_false(val_abs_path(p, NULL));
	}
}

static void test_mac(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} c[] = {
	        {"02:5a:00:11:22:33", true},
	        {"AA:BB:CC:DD:EE:FF", true},
	        {"00:00:00:00:00:00", true},
	        {"02:5a:00:11:22", false},
	        {"02:5a:00:11:22:33:44", false},
	        {"02-5a-00-11-22-33", false},
	        {"025a.0011.2233", false},
	        {"02:5a:00:11:22:3g", false},
	        {"2:5a:00:11:22:33", false},
	        {"02:5a:00:11:22:33 ", false},
	        {" 02:5a:00:11:22:3", false},
	        {"", false},
	        {NULL, false},
	        {"0x:5a:00:11:22:33", false},
	        {"+2:5a:00:11:22:33", false},
	};
	struct mac m, m2;
	char s[MAC_STR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int r = mac_parse(c[i].s, &m);
		if ((r == 0) != c[i].ok)
			fail_msg("mac_parse(\"%s\") = %d", c[i].s ? c[i].s : "(null)", r);
	}
	assert_int_equal(mac_parse("AA:bb:0C:dd:EE:0f", &m), 0);
	mac_format(&m, s);
	assert_string_equal(s, "aa:bb:0c:dd:ee:0f");
	assert_false(mac_is_multicast(&m));
	assert_int_equal(mac_parse("01:00:5e:00:00:01", &m), 0);
	assert_true(mac_is_multicast(&m));
	memset(&m, 0, sizeof(m));
	assert_true(mac_is_zero(&m));
	/* Derived MACs: stable, locally administered unicast, distinct for distinct names. */
	mac_from_name("node/vu-1", &m);
	mac_from_name("node/vu-1", &m2);
	assert_memory_equal(&m, &m2, sizeof(m));
	assert_int_equal(m.b[0], 0x02);
	mac_from_name("node/vu-2", &m2);
	assert_memory_not_equal(&m, &m2, sizeof(m));
}

static void test_str(void **state)
{
	char buf[4];
	uint64_t v = 77;

	(void)state;
	assert_int_equal(str_copy(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(str_copy(buf, sizeof(buf), "abcd"), -ENAMETOOLONG);
	assert_string_equal(buf, ""); /* never a truncated name */
	assert_int_equal(str_printf(buf, sizeof(buf), "%d", 123), 3);
	assert_int_equal(str_printf(buf, sizeof(buf), "%d", 1234), -ENAMETOOLONG);
	assert_string_equal(buf, "");
	assert_true(str_has_prefix("kbnet.io/vu", "kbnet.io/"));
	assert_false(str_has_prefix("kbnet", "kbnet.io"));

	assert_int_equal(str_to_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	v = 77;
	assert_int_equal(str_to_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(str_to_u64("0", 1, 100, &v), -ERANGE);
	assert_int_equal(str_to_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64("+1", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64("1 ", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64(NULL, 0, 100, &v), -EINVAL);
	assert_int_equal(str_to_u64("18446744073709551616", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(v, 77); /* untouched on failure */
	assert_int_equal(str_to_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_container_id),
	        cmocka_unit_test(test_ifname),
	        cmocka_unit_test(test_pod_uid),
	        cmocka_unit_test(test_name_network_device),
	        cmocka_unit_test(test_k8s_names),
	        cmocka_unit_test(test_abs_path),
	        cmocka_unit_test(test_mac),
	        cmocka_unit_test(test_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
