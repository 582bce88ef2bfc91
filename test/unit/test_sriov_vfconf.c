/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: VF settings from the attach request, and their persisted JSON (vfconf.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "agent/sriov/vfconf.h"

static int parse(const char *config, const char *mac, int vlan, struct vf_state *st,
        unsigned *rates, struct kb_err *err)
{
	json_t *c = config ? json_loads(config, 0, NULL) : NULL;
	struct mac m;
	int r;

	if (config)
		assert_non_null(c);
	if (mac)
		assert_int_equal(mac_parse(mac, &m), 0);
	r = vfconf_parse(c, mac ? &m : NULL, vlan, st, rates, err);
	json_decref(c);
	return r;
}

static void expect_error(const char *config, const char *mac, int vlan, const char *want)
{
	struct kb_err err = {0};
	struct vf_state st;

	assert_int_equal(parse(config, mac, vlan, &st, NULL, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not contain '%s'", err.msg, want);
}

static void test_full(void **state)
{
	struct kb_err err = {0};
	struct vf_state st;
	unsigned rates;

	(void)state;
	assert_int_equal(parse("{\"vlanQoS\": 5, \"vlanProto\": \"802.1ad\", \"spoofchk\": \"off\","
	                       " \"trust\": \"on\", \"link_state\": \"disable\","
	                       " \"min_tx_rate\": 100, \"max_tx_rate\": 1000}",
	                         "02:00:00:00:00:09", 42, &st, &rates, &err),
	        0);
	assert_int_equal(st.mask, (1u << VF_ATTR_COUNT) - 1);
	assert_int_equal(st.vlan, 42);
	assert_int_equal(st.qos, 5);
	assert_int_equal(st.proto, VF_PROTO_8021AD);
	assert_false(st.spoofchk);
	assert_true(st.trust);
	assert_int_equal(st.link_state, VF_LINK_DISABLE);
	assert_int_equal(st.min_tx_rate, 100);
	assert_int_equal(st.max_tx_rate, 1000);
	assert_int_equal(rates, 3);
	assert_int_equal(st.mac.b[5], 9);
}

static void test_nothing_and_partial(void **state)
{
	struct kb_err err = {0};
	struct vf_state st;
	unsigned rates;

	(void)state;
	assert_int_equal(parse(NULL, NULL, -1, &st, &rates, &err), 0);
	assert_int_equal(st.mask, 0);
	assert_int_equal(parse("{}", NULL, 0, &st, &rates, &err), 0);
	assert_int_equal(st.mask, VF_BIT(VF_ATTR_VLAN)); /* vlan 0 = clear the VLAN */
	assert_int_equal(st.proto, VF_PROTO_8021Q);
	assert_int_equal(parse("{\"max_tx_rate\": 300}", NULL, -1, &st, &rates, &err), 0);
	assert_int_equal(st.mask, VF_BIT(VF_ATTR_RATE));
	assert_int_equal(rates, 2); /* min is left to the VF's current value */
	assert_int_equal(parse("{\"vlanProto\": \"802.1Q\"}", NULL, 10, &st, &rates, &err), 0);
	assert_int_equal(st.proto, VF_PROTO_8021Q);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"vlanQoS\": 3}", NULL, -1, "vlanQoS needs a vlan");
	expect_error("{\"vlanProto\": \"802.1ad\"}", NULL, -1, "vlanProto needs a vlan");
	expect_error("{\"vlanQoS\": 3}", NULL, 0, "non-zero vlanQoS needs a non-zero vlan");
	expect_error("{\"vlanProto\": \"802.1ad\"}", NULL, 0, "802.1ad needs a non-zero vlan");
	expect_error("{\"vlanQoS\": 8}", NULL, 5, "vlanQoS must be an integer in [0, 7]");
	expect_error("{\"vlanQoS\": \"3\"}", NULL, 5, "vlanQoS must be an integer");
	expect_error("{\"vlanProto\": \"qinq\"}", NULL, 5, "vlanProto must be");
	expect_error("{\"spoofchk\": true}", NULL, -1, "spoofchk must be \"on\" or \"off\"");
	expect_error("{\"trust\": \"yes\"}", NULL, -1, "trust must be");
	expect_error("{\"link_state\": \"up\"}", NULL, -1, "link_state must be");
	expect_error("{\"min_tx_rate\": -1}", NULL, -1, "min_tx_rate must be");
	expect_error("{\"max_tx_rate\": 1.5}", NULL, -1, "max_tx_rate must be");
	expect_error("{\"min_tx_rate\": 500, \"max_tx_rate\": 100}", NULL, -1,
	        "min_tx_rate (500) exceeds max_tx_rate (100)");
	expect_error("{\"vlan_qos\": 1}", NULL, -1, "config.vlan_qos: unknown VF setting");
	expect_error(NULL, "03:00:00:00:00:01", -1, "mac must be a unicast address");
	expect_error(NULL, NULL, 4095, "vlan must be in [0, 4094]");
}

static void test_json_roundtrip(void **state)
{
	struct vf_state st = {.mask = (1u << VF_ATTR_COUNT) - 1,
	        .mac = {{2, 3, 4, 5, 6, 7}},
	        .vlan = 9,
	        .qos = 1,
	        .proto = VF_PROTO_8021AD,
	        .spoofchk = true,
	        .link_state = VF_LINK_AUTO,
	        .min_tx_rate = 1,
	        .max_tx_rate = 4000000000u};
	struct kb_err err = {0};
	struct vf_state back;
	json_t *j;

	(void)state;
	j = vfconf_to_json(&st);
	assert_int_equal(vfconf_from_json(j, &back, &err), 0);
	json_decref(j);
	assert_int_equal(back.mask, st.mask);
	assert_memory_equal(&back.mac, &st.mac, sizeof(st.mac));
	assert_int_equal(back.vlan, 9);
	assert_int_equal(back.qos, 1);
	assert_int_equal(back.proto, VF_PROTO_8021AD);
	assert_true(back.spoofchk);
	assert_false(back.trust);
	assert_int_equal(back.max_tx_rate, 4000000000u);
	/* Only what the mask says. */
	st.mask = VF_BIT(VF_ATTR_TRUST);
	j = vfconf_to_json(&st);
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	/* Damaged persisted state is refused, not half-read. */
	j = json_loads("{\"vlan\": 5, \"vlanQoS\": 0, \"vlanProto\": \"x\"}", 0, NULL);
	assert_int_equal(vfconf_from_json(j, &back, &err), -EINVAL);
	json_decref(j);
	j = json_loads("{\"mac\": \"zz\"}", 0, NULL);
	assert_int_equal(vfconf_from_json(j, &back, &err), -EINVAL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_nothing_and_partial),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_json_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
