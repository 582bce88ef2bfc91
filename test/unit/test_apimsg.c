/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the API message codec (api/apimsg.c). Every message round-trips (encode, decode,
 * same values); every malformed one is refused with the field named (missing field, wrong
 * type, over-long string, out-of-range number, unknown op, bad names); replies of an agent
 * from before the endpoint and the status probe (rolling upgrade) still decode.
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

#include "api/api.h"
#include "api/apimsg.h"
#include "apimsg_test.h"

static const char *longstr(size_t n)
{
	static char buf[8192];

	assert_true(n < sizeof(buf));
	memset(buf, 'a', n);
	buf[n] = '\0';
	return buf;
}

/* ---- envelope ---- */

static void test_envelope(void **state)
{
	struct apimsg_request rq;
	struct apimsg_reply rp;
	struct kb_err err = {0};
	json_t *args = load("{\"x\":1}"), *j;

	(void)state;
	j = through_wire(apimsg_request_encode(7, API_OP_ATTACH, args));
	assert_int_equal(apimsg_request_decode(j, &rq, &err), 0);
	assert_int_equal(rq.id, 7);
	assert_string_equal(rq.op, "attach");
	assert_true(json_equal(rq.args, args));
	json_decref(j);
	j = through_wire(apimsg_request_encode(0, API_OP_STATUS, NULL));
	assert_int_equal(apimsg_request_decode(j, &rq, &err), 0);
	assert_null(rq.args);
	json_decref(j);
	json_decref(args);

	REJECT(apimsg_request_decode, struct apimsg_request, "[1]", EBADMSG, "not a JSON object");
	REJECT(apimsg_request_decode, struct apimsg_request,
	        "{\"version\":1,\"id\":-1,\"op\":\"x\"}", EBADMSG, "'id'");
	REJECT(apimsg_request_decode, struct apimsg_request,
	        "{\"version\":1,\"id\":\"1\",\"op\":\"x\"}", EBADMSG, "'id'");
	REJECT(apimsg_request_decode, struct apimsg_request, "{\"version\":2,\"op\":\"x\"}",
	        EPROTONOSUPPORT, "version");
	REJECT(apimsg_request_decode, struct apimsg_request, "{\"op\":\"x\"}", EPROTONOSUPPORT,
	        "version");
	REJECT(apimsg_request_decode, struct apimsg_request, "{\"version\":1}", EBADMSG, "'op'");
	REJECT(apimsg_request_decode, struct apimsg_request, "{\"version\":1,\"op\":3}", EBADMSG,
	        "'op'");
	REJECT(apimsg_request_decode, struct apimsg_request,
	        "{\"version\":1,\"op\":\"x\",\"args\":[]}", EBADMSG, "'args'");
	/* The id is known before the version is checked: the error reply echoes it. */
	j = load("{\"version\":9,\"id\":5,\"op\":\"x\"}");
	assert_int_equal(apimsg_request_decode(j, &rq, &err), -EPROTONOSUPPORT);
	assert_int_equal(rq.id, 5);
	json_decref(j);

	/* Operations: the core ones by name, anything else unknown. */
	for (int op = APIMSG_OP_ATTACH; op <= APIMSG_OP_LIST; op++)
		assert_int_equal(apimsg_op_from_name(apimsg_op_name(op)), op);
	assert_int_equal(apimsg_op_from_name("warp"), -ENOSYS);
	assert_int_equal(apimsg_op_from_name(""), -ENOSYS);
	assert_int_equal(apimsg_op_from_name(NULL), -ENOSYS);
	assert_null(apimsg_op_name(99));

	/* Replies. */
	j = through_wire(apimsg_reply_ok(9, json_pack("{s:i}", "n", 3)));
	assert_int_equal(apimsg_reply_id(j), 9);
	assert_false(apimsg_reply_is_error(j));
	assert_int_equal(apimsg_reply_decode(j, &rp, &err), 0);
	assert_true(rp.ok);
	assert_int_equal(rp.id, 9);
	assert_int_equal(json_integer_value(json_object_get(rp.result, "n")), 3);
	json_decref(j);
	j = through_wire(apimsg_reply_ok(1, NULL));
	assert_int_equal(apimsg_reply_decode(j, &rp, &err), 0);
	assert_true(json_is_object(rp.result));
	json_decref(j);
	j = through_wire(apimsg_reply_error(4, EBUSY, "held"));
	assert_true(apimsg_reply_is_error(j));
	assert_int_equal(apimsg_reply_decode(j, &rp, &err), 0);
	assert_false(rp.ok);
	assert_int_equal(rp.errnum, EBUSY);
	assert_string_equal(rp.message, "held");
	json_decref(j);
	/* An unknown code is an I/O error, not a success. */
	j = load("{\"version\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"EWHAT\"}}");
	assert_int_equal(apimsg_reply_decode(j, &rp, &err), 0);
	assert_int_equal(rp.errnum, EIO);
	json_decref(j);
	REJECT(apimsg_reply_decode, struct apimsg_reply, "{\"id\":1}", EPROTO, "malformed");
	REJECT(apimsg_reply_decode, struct apimsg_reply, "{\"ok\":true}", EPROTO, "malformed");
	REJECT(apimsg_reply_decode, struct apimsg_reply, "{\"ok\":1,\"id\":1}", EPROTO,
	        "malformed");
	REJECT(apimsg_reply_decode, struct apimsg_reply, "{\"ok\":true,\"id\":1,\"result\":[]}",
	        EPROTO, "'result'");
	REJECT(apimsg_reply_decode, struct apimsg_reply, "7", EPROTO, "malformed");
}

/* ---- attach ---- */

static void test_attach_args(void **state)
{
	struct apimsg_attach_args in =
	                                  {
	                                          .container_id = "5e1c0a",
	                                          .ifname = "net1",
	                                          .network = "dpdk-net",
	                                          .device_type = API_DEVTYPE_SRIOV_VF,
	                                          .pool = "kbnet.io/vf",
	                                          .device_id = "0000:3b:02.1",
	                                          .netns = "/var/run/netns/x",
	                                          .pod = {.ns = "default",
	                                                  .name = "web-0",
	                                                  .uid = "8f0e-11",
	                                                  .infra_id = "5e1c0a"},
	                                          .has_mac = true,
	                                          .mac = {{0x02, 0x5a, 0, 0, 0, 1}},
	                                          .mtu = 9000,
	                                          .vlan = 0,
	                                  },
	                          out;
	struct kb_err err = {0};
	json_t *cfg = load("{\"spoofchk\":\"off\"}"), *ipam = load("{\"type\":\"kbnet\"}"),
	       *ips = load("[\"10.0.0.5\"]"), *j;

	(void)state;
	in.config = cfg;
	in.ipam = ipam;
	in.ips = ips;
	j = through_wire(apimsg_attach_args_encode(&in));
	assert_int_equal(apimsg_attach_args_decode(j, &out, &err), 0);
	assert_string_equal(out.container_id, in.container_id);
	assert_string_equal(out.ifname, in.ifname);
	assert_string_equal(out.network, in.network);
	assert_string_equal(out.device_type, in.device_type);
	assert_string_equal(out.pool, in.pool);
	assert_string_equal(out.device_id, in.device_id);
	assert_string_equal(out.netns, in.netns);
	assert_string_equal(out.pod.ns, "default");
	assert_string_equal(out.pod.name, "web-0");
	assert_string_equal(out.pod.uid, "8f0e-11");
	assert_string_equal(out.pod.infra_id, "5e1c0a");
	assert_true(out.has_mac);
	assert_memory_equal(&out.mac, &in.mac, sizeof(in.mac));
	assert_int_equal(out.mtu, 9000);
	assert_int_equal(out.vlan, 0);
	assert_true(json_equal(out.config, cfg));
	assert_true(json_equal(out.ipam, ipam));
	assert_true(json_equal(out.ips, ips));
	json_decref(j);

	/* Minimal: the optional fields stay absent. */
	in = (struct apimsg_attach_args){.container_id = "c",
	        .ifname = "eth1",
	        .network = "n",
	        .device_type = API_DEVTYPE_VIRTIO_USER,
	        .netns = "",
	        .vlan = -1};
	j = through_wire(apimsg_attach_args_encode(&in));
	assert_int_equal(json_object_size(j), 4);
	assert_int_equal(apimsg_attach_args_decode(j, &out, &err), 0);
	assert_null(out.pool);
	assert_null(out.device_id);
	assert_null(out.netns);
	assert_false(out.has_mac);
	assert_int_equal(out.mtu, 0);
	assert_int_equal(out.vlan, -1);
	assert_null(out.pod.ns);
	assert_null(out.config);
	assert_null(out.ipam);
	json_decref(j);
	/* Empty pool and netns mean none; null is absent. */
	j = load("{\"containerID\":\"c\",\"ifname\":\"n1\",\"network\":\"n\",\"deviceType\":\"x\","
	         "\"pool\":\"\",\"netns\":\"\",\"mac\":null,\"pod\":null}");
	assert_int_equal(apimsg_attach_args_decode(j, &out, &err), 0);
	assert_null(out.pool);
	assert_null(out.netns);
	assert_false(out.has_mac);
	json_decref(j);
	json_decref(cfg);
	json_decref(ipam);
	json_decref(ips);
}

static void test_attach_args_rejected(void **state)
{
	static const struct {
		const char *extra; /* members after the valid base, or a replacement base */
		const char *msg;
	} cases[] = {
	        {"\"containerID\":\"\"", "'containerID'"},
	        {"\"containerID\":\"../etc\"", "'containerID'"},
	        {"\"containerID\":7", "'containerID' must be a string"},
	        {"\"ifname\":\"a/b\"", "'ifname'"},
	        {"\"ifname\":\"0123456789abcdef\"", "'ifname' is longer than 15"},
	        {"\"ifname\":\".\"", "'ifname'"},
	        {"\"network\":\"a b\"", "'network'"},
	        {"\"network\":true", "'network' must be a string"},
	        {"\"deviceType\":[]", "'deviceType' must be a string"},
	        {"\"deviceID\":\"x/y\"", "'deviceID'"},
	        {"\"netns\":\"relative\"", "'netns'"},
	        {"\"netns\":1", "'netns' must be a string"},
	        {"\"pool\":{}", "'pool' must be a string"},
	        {"\"mac\":\"zz\"", "'mac'"},
	        {"\"mac\":\"01:00:5e:00:00:01\"", "unicast"},
	        {"\"mac\":\"00:00:00:00:00:00\"", "unicast"},
	        {"\"mac\":\"02:00:00:00:00:01:02\"", "'mac'"},
	        {"\"mtu\":67", "'mtu' must be an integer in [68, 65535]"},
	        {"\"mtu\":65536", "'mtu'"},
	        {"\"mtu\":\"1500\"", "'mtu'"},
	        {"\"mtu\":1500.5", "'mtu'"},
	        {"\"vlan\":4095", "'vlan' must be an integer in [0, 4094]"},
	        {"\"vlan\":-1", "'vlan'"},
	        {"\"pod\":\"x\"", "'pod' must be an object"},
	        {"\"pod\":{\"uid\":\"../x\"}", "pod: 'uid'"},
	        {"\"pod\":{\"namespace\":\"Not_DNS\"}", "pod: 'namespace'"},
	        {"\"pod\":{\"name\":5}", "pod: 'name' must be a string"},
	        {"\"pod\":{\"infraContainerID\":\"a b\"}", "pod: 'infraContainerID'"},
	        {"\"config\":[]", "'config' must be an object"},
	        {"\"ipam\":\"kbnet\"", "'ipam' must be an object"},
	        {"\"ips\":[\"10.0.0.1\"]", "'ips' needs an 'ipam' section"},
	};
	static const char *const missing[] = {"containerID", "ifname", "network", "deviceType"};
	char text[9000];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* jansson keeps the last of duplicate keys: the case overrides the base. */
		snprintf(text, sizeof(text),
		        "{\"containerID\":\"c1\",\"ifname\":\"net1\",\"network\":\"n\","
		        "\"deviceType\":\"virtio-user\",%s}",
		        cases[i].extra);
		REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
		        cases[i].msg);
	}
	for (size_t i = 0; i < 4; i++) {
		json_t *j = load("{\"containerID\":\"c1\",\"ifname\":\"net1\",\"network\":\"n\","
		                 "\"deviceType\":\"virtio-user\"}");
		struct apimsg_attach_args v;
		struct kb_err e = {0};
		char want[64];
		json_object_del(j, missing[i]);
		snprintf(want, sizeof(want), "'%s' is required", missing[i]);
		assert_int_equal(apimsg_attach_args_decode(j, &v, &e), -EINVAL);
		assert_non_null(strstr(e.msg, want));
		json_decref(j);
	}
	/* Over-long strings, each at its bound + 1. */
	snprintf(text, sizeof(text),
	        "{\"containerID\":\"%s\",\"ifname\":\"n\",\"network\":\"n\",\"deviceType\":\"x\"}",
	        longstr(129));
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
	        "'containerID' is longer than 128");
	snprintf(text, sizeof(text),
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"network\":\"%s\",\"deviceType\":\"x\"}",
	        longstr(129));
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
	        "'network' is longer");
	snprintf(text, sizeof(text),
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"network\":\"n\",\"deviceType\":\"%s\"}",
	        longstr(33));
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
	        "'deviceType' is longer");
	snprintf(text, sizeof(text),
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"network\":\"n\",\"deviceType\":\"x\","
	        "\"netns\":\"/%s\"}",
	        longstr(4095));
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
	        "'netns' is longer");
	snprintf(text, sizeof(text),
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"network\":\"n\",\"deviceType\":\"x\","
	        "\"pool\":\"%s\"}",
	        longstr(318));
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, text, EINVAL,
	        "'pool' is longer");
	REJECT(apimsg_attach_args_decode, struct apimsg_attach_args, "[]", EINVAL, "arguments");
	{
		/* The server refuses NUL in JSON text; a json_t made in-process may hold one. */
		json_t *j = json_pack("{s:o, s:s, s:s, s:s}", "containerID",
		        json_stringn("c\0d", 3), "ifname", "n", "network", "n", "deviceType", "x");
		struct apimsg_attach_args v;
		struct kb_err e = {0};
		assert_int_equal(apimsg_attach_args_decode(j, &v, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "NUL"));
		json_decref(j);
	}
}

/* ---- allocations ---- */

static struct apimsg_alloc sample_alloc(void)
{
	return (struct apimsg_alloc){
	        .container_id = "5e1c",
	        .ifname = "net1",
	        .network = "dpdk-net",
	        .netns = "/var/run/netns/x",
	        .pool = "vu",
	        .resource_name = "kbnet.io/vu",
	        .device_type = API_DEVTYPE_VIRTIO_USER,
	        .device_id = "vu-3",
	        .mac = "02:5a:00:00:00:03",
	        .created = "2026-11-21T21:49:11Z",
	        .mtu = 1500,
	        .vlan = 100,
	        .pod = {.ns = "default", .name = "web-0", .uid = "8f0e", .infra_id = "5e1c"},
	        .endpoint = {.socket_path = "/run/kbnet/pods/8f0e/net1.sock"},
	};
}

static void test_alloc_roundtrip(void **state)
{
	struct apimsg_alloc in = sample_alloc(), out;
	struct apimsg_ipam ipam;
	struct kb_err err = {0};
	json_t *di = load("{\"type\":\"vhost-user\",\"version\":\"1.1.0\"}");
	json_t *ip = load("{\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\","
	                  "\"range\":\"10.0.0.2-10.0.0.9\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
	                  "\"dns\":{}}");
	json_t *j;

	(void)state;
	in.device_info = di;
	in.ipam = ip;
	j = through_wire(apimsg_alloc_encode(&in));
	assert_int_equal(apimsg_alloc_decode(j, &out, &err), 0);
	assert_string_equal(out.container_id, in.container_id);
	assert_string_equal(out.ifname, in.ifname);
	assert_string_equal(out.network, in.network);
	assert_string_equal(out.netns, in.netns);
	assert_string_equal(out.pool, in.pool);
	assert_string_equal(out.resource_name, in.resource_name);
	assert_string_equal(out.device_type, in.device_type);
	assert_string_equal(out.device_id, in.device_id);
	assert_string_equal(out.mac, in.mac);
	assert_string_equal(out.created, in.created);
	assert_int_equal(out.mtu, 1500);
	assert_int_equal(out.vlan, 100);
	assert_string_equal(out.pod.uid, "8f0e");
	assert_string_equal(out.pod.infra_id, "5e1c");
	assert_false(out.orphaned);
	assert_false(out.endpoint.netdev);
	assert_null(out.endpoint.pci_address);
	assert_string_equal(out.endpoint.socket_path, in.endpoint.socket_path);
	assert_true(json_equal(out.device_info, di));
	assert_int_equal(apimsg_ipam_decode(out.ipam, &ipam, &err), 0);
	assert_int_equal(ipam.n_ips, 1);
	assert_string_equal(ipam.ips[0].address, "10.0.0.2/24");
	assert_string_equal(ipam.ips[0].gateway, "10.0.0.1");
	assert_string_equal(ipam.ips[0].range, "10.0.0.2-10.0.0.9");
	assert_int_equal(json_array_size(ipam.routes), 1);
	assert_non_null(ipam.dns);
	{
		/* The ipam object itself: encode what was decoded, the same object comes back. */
		json_t *again = through_wire(apimsg_ipam_encode(&ipam));
		assert_true(json_equal(again, ip));
		json_decref(again);
	}
	assert_true(apimsg_alloc_is_heading("containerID"));
	assert_false(apimsg_alloc_is_heading("mac"));
	json_decref(j);

	/* A netdev VF, orphaned, no optional fields. */
	in = (struct apimsg_alloc){.container_id = "c",
	        .ifname = "net2",
	        .network = "n",
	        .pool = "vf",
	        .resource_name = "kbnet.io/vf",
	        .device_type = API_DEVTYPE_SRIOV_VF,
	        .device_id = "0000:3b:02.1",
	        .mac = "02:00:00:00:00:01",
	        .created = "2026-11-21T21:49:11Z",
	        .vlan = -1,
	        .orphaned = true,
	        .endpoint = {.netdev = true, .pci_address = "0000:3b:02.1"}};
	j = through_wire(apimsg_alloc_encode(&in));
	assert_int_equal(apimsg_alloc_decode(j, &out, &err), 0);
	assert_null(out.netns);
	assert_int_equal(out.mtu, 0);
	assert_int_equal(out.vlan, -1);
	assert_null(out.pod.ns);
	assert_true(out.orphaned);
	assert_true(out.endpoint.netdev);
	assert_string_equal(out.endpoint.pci_address, "0000:3b:02.1");
	assert_null(out.endpoint.socket_path);
	assert_null(out.device_info);
	assert_null(out.ipam);
	assert_int_equal(apimsg_ipam_decode(NULL, &ipam, &err), 0);
	assert_int_equal(ipam.n_ips, 0);
	json_decref(j);
	json_decref(di);
	json_decref(ip);
}

/* An agent from before the endpoint sent only the device types' own objects. */
static void test_alloc_legacy_endpoint(void **state)
{
	static const char base[] = "\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	                           "\"mac\":\"02:00:00:00:00:01\"";
	struct apimsg_alloc a;
	struct kb_err err = {0};
	char text[512];
	json_t *j;

	(void)state;
	snprintf(text, sizeof(text), "{%s,\"vhostUser\":{\"socketPath\":\"/s\"}}", base);
	j = load(text);
	assert_int_equal(apimsg_alloc_decode(j, &a, &err), 0);
	assert_string_equal(a.endpoint.socket_path, "/s");
	assert_null(a.endpoint.pci_address);
	assert_false(a.endpoint.netdev);
	json_decref(j);
	snprintf(text, sizeof(text),
	        "{%s,\"vf\":{\"pciAddress\":\"0000:3b:02.1\",\"netdev\":true}}", base);
	j = load(text);
	assert_int_equal(apimsg_alloc_decode(j, &a, &err), 0);
	assert_string_equal(a.endpoint.pci_address, "0000:3b:02.1");
	assert_true(a.endpoint.netdev);
	assert_null(a.endpoint.socket_path);
	json_decref(j);
	snprintf(text, sizeof(text),
	        "{%s,\"vdpa\":{\"pciAddress\":\"0000:3b:00.2\",\"netdev\":false}}", base);
	j = load(text);
	assert_int_equal(apimsg_alloc_decode(j, &a, &err), 0);
	assert_string_equal(a.endpoint.pci_address, "0000:3b:00.2");
	assert_false(a.endpoint.netdev);
	json_decref(j);
}

static void test_alloc_rejected(void **state)
{
	static const struct {
		const char *extra, *msg;
	} cases[] = {
	        {"\"containerID\":\"a b\"", "'containerID'"},
	        {"\"ifname\":null", "'ifname' is required"},
	        {"\"mac\":1", "'mac' must be a string"},
	        {"\"mac\":\"02:00:00:00:00:01:02:03\"", "'mac' is longer"},
	        {"\"mtu\":-5", "'mtu'"},
	        {"\"vlan\":5000", "'vlan'"},
	        {"\"pod\":[]", "'pod'"},
	        {"\"orphaned\":\"yes\"", "'orphaned' must be a boolean"},
	        {"\"endpoint\":true", "'endpoint' must be an object"},
	        {"\"endpoint\":{\"netdev\":1}", "endpoint: 'netdev'"},
	        {"\"endpoint\":{\"socketPath\":\"rel\"}", "endpoint: 'socketPath'"},
	        {"\"deviceInfo\":\"x\"", "'deviceInfo' must be an object"},
	        {"\"ipam\":[]", "'ipam' must be an object"},
	        {"\"network\":{}", "'network' must be a string"},
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		        "{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
		        "\"mac\":\"02:00:00:00:00:01\",%s}",
		        cases[i].extra);
		REJECT(apimsg_alloc_decode, struct apimsg_alloc, text, EPROTO, cases[i].msg);
	}
	REJECT(apimsg_alloc_decode, struct apimsg_alloc, "[]", EPROTO, "not an object");
	REJECT(apimsg_ipam_decode, struct apimsg_ipam, "{}", EPROTO, "'ips'");
	REJECT(apimsg_ipam_decode, struct apimsg_ipam, "{\"ips\":[1]}", EPROTO, "ips[0]");
	REJECT(apimsg_ipam_decode, struct apimsg_ipam, "{\"ips\":[{}]}", EPROTO, "'address'");
	REJECT(apimsg_ipam_decode, struct apimsg_ipam, "{\"ips\":[],\"routes\":{}}", EPROTO,
	        "'ipam.routes'");
	REJECT(apimsg_ipam_decode, struct apimsg_ipam, "{\"ips\":[],\"dns\":[]}", EPROTO,
	        "'ipam.dns'");
	{
		json_t *j = json_pack("{s:[]}", "ips");
		struct apimsg_ipam v;
		struct kb_err e = {0};
		for (int i = 0; i <= APIMSG_MAX_IPS; i++)
			json_array_append_new(json_object_get(j, "ips"),
			        json_pack("{s:s}", "address", "10.0.0.1/8"));
		assert_int_equal(apimsg_ipam_decode(j, &v, &e), -EPROTO);
		assert_non_null(strstr(e.msg, "more than"));
		json_decref(j);
	}
}

/* ---- results of attach, detach, check, gc ---- */

static void test_results(void **state)
{
	struct apimsg_alloc in = sample_alloc(), a;
	struct apimsg_attach_result ar;
	struct apimsg_detach_result dr;
	struct kb_err err = {0};
	json_t *j, *rel;

	(void)state;
	j = through_wire(apimsg_attach_result_encode(apimsg_alloc_encode(&in), true));
	assert_int_equal(apimsg_attach_result_decode(j, &ar, &err), 0);
	assert_true(ar.existing);
	assert_string_equal(ar.alloc.device_id, "vu-3");
	json_decref(j);
	REJECT(apimsg_attach_result_decode, struct apimsg_attach_result, "{\"existing\":false}",
	        EPROTO, "no allocation");
	REJECT(apimsg_attach_result_decode, struct apimsg_attach_result,
	        "{\"existing\":1,\"allocation\":{}}", EPROTO, "'existing'");
	REJECT(apimsg_attach_result_decode, struct apimsg_attach_result,
	        "{\"existing\":false,\"allocation\":{\"ifname\":\"x\"}}", EPROTO, "'containerID'");
	/* A malformed allocation still tells whether the attach created it. */
	j = load("{\"existing\":true,\"allocation\":{}}");
	assert_int_equal(apimsg_attach_result_decode(j, &ar, &err), -EPROTO);
	assert_true(ar.existing);
	json_decref(j);

	j = through_wire(apimsg_detach_result_encode(true, apimsg_alloc_encode(&in), "undo: x"));
	assert_int_equal(apimsg_detach_result_decode(j, &dr, &err), 0);
	assert_true(dr.released);
	assert_true(dr.has_alloc);
	assert_string_equal(dr.alloc.ifname, "net1");
	assert_string_equal(dr.warning, "undo: x");
	json_decref(j);
	j = through_wire(apimsg_detach_result_encode(false, NULL, NULL));
	assert_int_equal(apimsg_detach_result_decode(j, &dr, &err), 0);
	assert_false(dr.released);
	assert_false(dr.has_alloc);
	assert_null(dr.warning);
	json_decref(j);
	REJECT(apimsg_detach_result_decode, struct apimsg_detach_result, "{}", EPROTO,
	        "'released'");
	REJECT(apimsg_detach_result_decode, struct apimsg_detach_result,
	        "{\"released\":true,\"allocation\":7}", EPROTO, "'allocation'");

	j = through_wire(apimsg_check_result_encode(apimsg_alloc_encode(&in)));
	assert_int_equal(apimsg_check_result_decode(j, &a, &err), 0);
	assert_string_equal(a.mac, in.mac);
	json_decref(j);
	REJECT(apimsg_check_result_decode, struct apimsg_alloc, "{}", EPROTO, "no allocation");

	rel = json_array();
	json_array_append_new(rel, apimsg_alloc_encode(&in));
	j = through_wire(apimsg_gc_result_encode(rel));
	assert_int_equal(apimsg_gc_result_decode(j, &rel, &err), 0);
	assert_int_equal(json_array_size(rel), 1);
	assert_int_equal(apimsg_alloc_decode(json_array_get(rel, 0), &a, &err), 0);
	assert_string_equal(a.container_id, "5e1c");
	json_decref(j);
	REJECT(apimsg_gc_result_decode, json_t *, "{\"released\":{}}", EPROTO, "'released'");
}

/* ---- detach, check, gc, list, status arguments ---- */

static void test_small_args(void **state)
{
	struct apimsg_detach_args d;
	struct apimsg_check_args c;
	struct apimsg_gc_args g;
	struct apimsg_list_args l;
	struct apimsg_status_args s;
	struct apimsg_attachment v[2] = {{"c1", "net1"}, {"c2", "net2"}};
	struct kb_err err = {0};
	json_t *j;

	(void)state;
	j = through_wire(apimsg_detach_args_encode(&(struct apimsg_detach_args){
	        .container_id = "c1", .ifname = "net1", .netns = "/n"}));
	assert_int_equal(apimsg_detach_args_decode(j, &d, &err), 0);
	assert_string_equal(d.container_id, "c1");
	assert_string_equal(d.ifname, "net1");
	assert_string_equal(d.netns, "/n");
	json_decref(j);
	/* DEL without a netns: none sent. */
	j = through_wire(apimsg_detach_args_encode(
	        &(struct apimsg_detach_args){.container_id = "c1", .ifname = "net1", .netns = ""}));
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	REJECT(apimsg_detach_args_decode, struct apimsg_detach_args, "{\"ifname\":\"n\"}", EINVAL,
	        "'containerID' is required");
	REJECT(apimsg_detach_args_decode, struct apimsg_detach_args,
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"netns\":[]}", EINVAL, "'netns'");

	j = through_wire(apimsg_check_args_encode(&(struct apimsg_check_args){
	        .container_id = "c1", .ifname = "net1", .mac = "02:00:00:00:00:01"}));
	assert_int_equal(apimsg_check_args_decode(j, &c, &err), 0);
	assert_string_equal(c.mac, "02:00:00:00:00:01");
	json_decref(j);
	REJECT(apimsg_check_args_decode, struct apimsg_check_args,
	        "{\"containerID\":\"c\",\"ifname\":\"n\",\"mac\":\"012345678901234567890\"}",
	        EINVAL, "'mac' is longer");
	REJECT(apimsg_check_args_decode, struct apimsg_check_args,
	        "{\"containerID\":\"c\",\"ifname\":\"\"}", EINVAL, "'ifname'");

	j = through_wire(apimsg_gc_args_encode(
	        &(struct apimsg_gc_args){.network = "net-a", .n_valid = 2, .valid = v}));
	assert_int_equal(apimsg_gc_args_decode(j, &g, &err), 0);
	assert_string_equal(g.network, "net-a");
	assert_int_equal(g.n_valid, 2);
	assert_string_equal(g.valid[1].container_id, "c2");
	assert_string_equal(g.valid[1].ifname, "net2");
	apimsg_gc_args_free(&g);
	json_decref(j);
	j = through_wire(apimsg_gc_args_encode(&(struct apimsg_gc_args){.network = "n"}));
	assert_int_equal(apimsg_gc_args_decode(j, &g, &err), 0);
	assert_int_equal(g.n_valid, 0);
	apimsg_gc_args_free(&g);
	json_decref(j);
	REJECT(apimsg_gc_args_decode, struct apimsg_gc_args, "{\"network\":\"n\"}", EINVAL,
	        "'valid' must be an array");
	REJECT(apimsg_gc_args_decode, struct apimsg_gc_args, "{\"valid\":[]}", EINVAL,
	        "'network' is required");
	REJECT(apimsg_gc_args_decode, struct apimsg_gc_args, "{\"network\":\"n\",\"valid\":[1]}",
	        EINVAL, "valid[0]: 'valid' items must be objects");
	REJECT(apimsg_gc_args_decode, struct apimsg_gc_args,
	        "{\"network\":\"n\",\"valid\":[{\"containerID\":\"c\",\"ifname\":\"a/b\"}]}",
	        EINVAL, "valid[0]: 'ifname'");
	{
		json_t *big = json_pack("{s:s, s:[]}", "network", "n", "valid");
		struct kb_err e = {0};
		for (int i = 0; i <= APIMSG_GC_MAX_VALID; i++)
			json_array_append_new(json_object_get(big, "valid"), json_object());
		assert_int_equal(apimsg_gc_args_decode(big, &g, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "more than"));
		json_decref(big);
	}

	for (int w = APIMSG_LIST_POOLS; w <= APIMSG_LIST_ALLOCATIONS; w++) {
		j = through_wire(apimsg_list_args_encode(&(struct apimsg_list_args){.what = w,
		        .pool = "vu",
		        .container_id = w == APIMSG_LIST_ALLOCATIONS ? "5e" : NULL,
		        .pod = w == APIMSG_LIST_ALLOCATIONS ? "default/web-0" : NULL}));
		assert_int_equal(apimsg_list_args_decode(j, &l, &err), 0);
		assert_int_equal(l.what, w);
		assert_string_equal(l.pool, "vu");
		if (w == APIMSG_LIST_ALLOCATIONS) {
			assert_string_equal(l.container_id, "5e");
			assert_string_equal(l.pod, "default/web-0");
		}
		json_decref(j);
	}
	REJECT(apimsg_list_args_decode, struct apimsg_list_args, "{}", EINVAL, "'what'");
	REJECT(apimsg_list_args_decode, struct apimsg_list_args, "{\"what\":\"ports\"}", EINVAL,
	        "'what' must be pools, devices or allocations");
	REJECT(apimsg_list_args_decode, struct apimsg_list_args,
	        "{\"what\":\"pools\",\"pool\":true}", EINVAL, "'pool' must be a string");

	assert_null(apimsg_status_args_encode(&(struct apimsg_status_args){0}));
	assert_int_equal(apimsg_status_args_decode(NULL, &s, &err), 0);
	assert_null(s.device_type);
	j = through_wire(apimsg_status_args_encode(
	        &(struct apimsg_status_args){.device_type = "virtio-user", .pool = "vu"}));
	assert_int_equal(apimsg_status_args_decode(j, &s, &err), 0);
	assert_string_equal(s.device_type, "virtio-user");
	assert_string_equal(s.pool, "vu");
	json_decref(j);
	REJECT(apimsg_status_args_decode, struct apimsg_status_args, "{\"pool\":\"vu\"}", EINVAL,
	        "'pool' needs 'deviceType'");
	REJECT(apimsg_status_args_decode, struct apimsg_status_args, "{\"deviceType\":3}", EINVAL,
	        "'deviceType'");
}

/* ---- status, pools, devices ---- */

static void test_status(void **state)
{
	struct apimsg_status in = {.version = "0.1.0",
	                             .api_version = 1,
	                             .pid = 42,
	                             .started_at = "2026-11-21T21:49:11Z",
	                             .uptime_seconds = 7,
	                             .config = "/etc/kbnet/agent.yaml",
	                             .pools = 2,
	                             .devices = 70,
	                             .allocations = 3,
	                             .healthy = true},
	                     out;
	struct kb_err err = {0};
	json_t *j = apimsg_status_encode(&in), *back;

	(void)state;
	json_object_set_new(j, "fastpath", json_pack("{s:b}", "healthy", 0));
	assert_true(apimsg_section_unhealthy(json_object_get(j, "fastpath")));
	assert_int_equal(apimsg_status_set_probe(j,
	                         &(struct apimsg_attach_probe){
	                                 .pool = "vu", .resource_name = "kbnet.io/vu", .free = 5}),
	        0);
	back = through_wire(j);
	assert_int_equal(apimsg_status_decode(back, &out, &err), 0);
	assert_string_equal(out.version, "0.1.0");
	assert_int_equal(out.api_version, 1);
	assert_int_equal(out.pid, 42);
	assert_string_equal(out.started_at, in.started_at);
	assert_int_equal(out.uptime_seconds, 7);
	assert_string_equal(out.config, in.config);
	assert_int_equal(out.pools, 2);
	assert_int_equal(out.devices, 70);
	assert_int_equal(out.allocations, 3);
	assert_true(out.healthy);
	assert_true(out.probe.answered);
	assert_int_equal(out.probe.errnum, 0);
	assert_string_equal(out.probe.pool, "vu");
	assert_string_equal(out.probe.resource_name, "kbnet.io/vu");
	assert_int_equal(out.probe.free, 5);
	assert_true(apimsg_status_is_core("uptimeSeconds"));
	assert_false(apimsg_status_is_core("fastpath"));
	json_decref(back);

	j = apimsg_status_encode(&in);
	assert_int_equal(apimsg_status_set_probe(j, &(struct apimsg_attach_probe){.errnum = EINVAL,
	                                                    .message = "2 pools hold"}),
	        0);
	back = through_wire(j);
	assert_int_equal(apimsg_status_decode(back, &out, &err), 0);
	assert_true(out.probe.answered);
	assert_int_equal(out.probe.errnum, EINVAL);
	assert_string_equal(out.probe.message, "2 pools hold");
	json_decref(back);
	/* An older agent: no probe in its answer. */
	back = through_wire(apimsg_status_encode(&in));
	assert_int_equal(apimsg_status_decode(back, &out, &err), 0);
	assert_false(out.probe.answered);
	json_decref(back);

	/* The state and api sections: encode steals them, decode borrows them. */
	in.state = json_pack("{s:i}", "allocations", 3);
	in.api = json_pack("{s:i}", "clients", 1);
	back = through_wire(apimsg_status_encode(&in));
	assert_int_equal(apimsg_status_decode(back, &out, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(out.state, "allocations")), 3);
	assert_int_equal(json_integer_value(json_object_get(out.api, "clients")), 1);
	assert_false(apimsg_status_is_core("state"));
	json_decref(back);
	in.state = in.api = NULL;

	REJECT(apimsg_status_decode, struct apimsg_status, "{}", EPROTO, "'version'");
	REJECT(apimsg_status_decode, struct apimsg_status, "{\"version\":\"x\",\"state\":1}",
	        EPROTO, "'state'");
	REJECT(apimsg_status_decode, struct apimsg_status, "{\"version\":\"x\",\"pid\":\"1\"}",
	        EPROTO, "'pid'");
	REJECT(apimsg_status_decode, struct apimsg_status, "{\"version\":\"x\",\"healthy\":1}",
	        EPROTO, "'healthy'");
	REJECT(apimsg_status_decode, struct apimsg_status, "{\"version\":\"x\",\"attach\":[]}",
	        EPROTO, "'attach'");
	REJECT(apimsg_status_decode, struct apimsg_status,
	        "{\"version\":\"x\",\"attach\":{\"pool\":\"vu\"}}", EPROTO, "'free'");
	REJECT(apimsg_status_decode, struct apimsg_status,
	        "{\"version\":\"x\",\"attach\":{\"pool\":\"vu\",\"free\":-1}}", EPROTO, "'free'");
	REJECT(apimsg_status_decode, struct apimsg_status,
	        "{\"version\":\"x\",\"attach\":{\"error\":{}}}", EPROTO, "'code'");
}

static void test_pool_device(void **state)
{
	struct apimsg_pool p = {.name = "vu",
	                           .type = "virtio-user",
	                           .resource_name = "kbnet.io/vu",
	                           .capacity = 64,
	                           .healthy = 63,
	                           .allocated = 2,
	                           .free = 61,
	                           .reserved = 1,
	                           .device_plugin = true},
	                   po;
	struct apimsg_device d = {.id = "vu-1",
	                             .pool = "vu",
	                             .type = "virtio-user",
	                             .healthy = false,
	                             .reason = "gone",
	                             .numa = 1,
	                             .reserved = true,
	                             .held = true,
	                             .holder = {.container_id = "c1",
	                                     .ifname = "net1",
	                                     .network = "n",
	                                     .pod = {.ns = "default",
	                                             .name = "web-0",
	                                             .infra_id = "c1"}}},
	                     dout;
	struct kb_err err = {0};
	json_t *j;

	(void)state;
	j = through_wire(apimsg_pool_encode(&p));
	assert_int_equal(apimsg_pool_decode(j, &po, &err), 0);
	assert_string_equal(po.name, "vu");
	assert_string_equal(po.type, "virtio-user");
	assert_string_equal(po.resource_name, "kbnet.io/vu");
	assert_int_equal(po.capacity, 64);
	assert_int_equal(po.healthy, 63);
	assert_int_equal(po.allocated, 2);
	assert_int_equal(po.free, 61);
	assert_int_equal(po.reserved, 1);
	assert_true(po.device_plugin);
	assert_false(po.removed);
	assert_ptr_equal(po.obj, j);
	json_decref(j);
	REJECT(apimsg_pool_decode, struct apimsg_pool, "{\"type\":\"x\"}", EPROTO, "'name'");
	REJECT(apimsg_pool_decode, struct apimsg_pool,
	        "{\"name\":\"x\",\"type\":\"x\",\"free\":-1}", EPROTO, "'free'");
	REJECT(apimsg_pool_decode, struct apimsg_pool, "3", EPROTO, "not an object");

	j = through_wire(apimsg_device_encode(&d));
	assert_int_equal(apimsg_device_decode(j, &dout, &err), 0);
	assert_string_equal(dout.id, "vu-1");
	assert_string_equal(dout.pool, "vu");
	assert_false(dout.healthy);
	assert_string_equal(dout.reason, "gone");
	assert_int_equal(dout.numa, 1);
	assert_true(dout.reserved);
	assert_true(dout.held);
	assert_string_equal(dout.holder.container_id, "c1");
	assert_string_equal(dout.holder.pod.name, "web-0");
	assert_null(dout.holder.pod.infra_id); /* a holder names the pod, not its sandbox */
	json_decref(j);
	d = (struct apimsg_device){
	        .id = "vu-2", .pool = "vu", .type = "t", .healthy = true, .numa = -1};
	j = through_wire(apimsg_device_encode(&d));
	assert_int_equal(apimsg_device_decode(j, &dout, &err), 0);
	assert_true(dout.healthy);
	assert_false(dout.held);
	assert_int_equal(dout.numa, -1);
	assert_true(apimsg_device_is_core("holder"));
	assert_false(apimsg_device_is_core("pciAddress"));
	json_decref(j);
	REJECT(apimsg_device_decode, struct apimsg_device,
	        "{\"id\":\"a\",\"pool\":\"p\",\"health\":\"Healthy\",\"holder\":1}", EPROTO,
	        "'holder'");
	REJECT(apimsg_device_decode, struct apimsg_device,
	        "{\"id\":\"a\",\"pool\":\"p\",\"health\":\"Healthy\",\"numa\":-2}", EPROTO,
	        "'numa'");
	REJECT(apimsg_device_decode, struct apimsg_device, "{\"id\":\"a\",\"pool\":\"p\"}", EPROTO,
	        "'health'");
	REJECT(apimsg_device_decode, struct apimsg_device,
	        "{\"id\":\"a\",\"pool\":\"p\",\"health\":\"Healthy\",\"holder\":{\"ifname\":\"x\"}"
	        "}",
	        EPROTO, "holder: 'containerID'");

	/* List results: the array under the name of what was listed. */
	for (int w = APIMSG_LIST_POOLS; w <= APIMSG_LIST_ALLOCATIONS; w++) {
		json_t *items;
		j = through_wire(apimsg_list_result_encode(w, json_pack("[i]", 1)));
		assert_int_equal(apimsg_list_result_decode(j, w, &items, &err), 0);
		assert_int_equal(json_array_size(items), 1);
		assert_int_equal(apimsg_list_result_decode(j, (w + 1) % 3, &items, &err), -EPROTO);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_envelope),
	        cmocka_unit_test(test_attach_args),
	        cmocka_unit_test(test_attach_args_rejected),
	        cmocka_unit_test(test_alloc_roundtrip),
	        cmocka_unit_test(test_alloc_legacy_endpoint),
	        cmocka_unit_test(test_alloc_rejected),
	        cmocka_unit_test(test_results),
	        cmocka_unit_test(test_small_args),
	        cmocka_unit_test(test_status),
	        cmocka_unit_test(test_pool_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
