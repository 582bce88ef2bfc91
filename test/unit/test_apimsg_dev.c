/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the state record and the device types' objects (api/apimsg_dev.c): each
 * round-trips, keeps the field names earlier agents wrote (pinned literally), and refuses
 * malformed input with the field named.
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

#include "api/apimsg_dev.h"
#include "apimsg_test.h"

static bool known(const char *name)
{
	return !strcmp(name, "virtio-user") || !strcmp(name, "kernel");
}

static int record_decode(json_t *o, struct apimsg_record *ret, struct kb_err *err)
{
	return apimsg_record_decode(o, known, ret, err);
}

#define REC_CORE                                                                              \
	"\"containerID\":\"c1\",\"ifname\":\"net1\",\"network\":\"n\",\"pool\":\"vu\","       \
	"\"deviceType\":\"virtio-user\",\"deviceID\":\"vu-0\",\"mac\":\"02:00:00:00:00:01\"," \
	"\"created\":\"2026-11-21T21:49:11Z\""

static void test_record(void **state)
{
	struct apimsg_record in = {.container_id = "c1",
	                             .ifname = "net1",
	                             .network = "n",
	                             .pool = "vu",
	                             .device_type = "virtio-user",
	                             .device_id = "vu-0",
	                             .netns = "/var/run/netns/x",
	                             .mac = {{2, 0, 0, 0, 0, 1}},
	                             .created = 1795297751, /* 2026-11-21T21:49:11Z */
	                             .mtu = 9000,
	                             .vlan = 12,
	                             .pod = {.ns = "default", .name = "web-0", .uid = "u1"},
	                             .ipam = json_pack("{s:[]}", "ips")},
	                     out;
	struct kb_err err = {0};
	json_t *j;

	(void)state;
	j = apimsg_record_encode(&in);
	assert_json(j, "{\"record\":2," REC_CORE ",\"netns\":\"/var/run/netns/x\",\"mtu\":9000,"
	               "\"vlan\":12,\"pod\":{\"namespace\":\"default\",\"name\":\"web-0\","
	               "\"uid\":\"u1\"},\"ipam\":{\"ips\":[]}}");
	assert_int_equal(record_decode(j, &out, &err), 0);
	assert_int_equal(out.format, 2);
	assert_string_equal(out.container_id, "c1");
	assert_string_equal(out.ifname, "net1");
	assert_string_equal(out.network, "n");
	assert_string_equal(out.pool, "vu");
	assert_string_equal(out.device_type, "virtio-user");
	assert_string_equal(out.device_id, "vu-0");
	assert_string_equal(out.netns, "/var/run/netns/x");
	assert_memory_equal(&out.mac, &in.mac, sizeof(in.mac));
	assert_int_equal(out.created, in.created);
	assert_int_equal(out.mtu, 9000);
	assert_int_equal(out.vlan, 12);
	assert_string_equal(out.pod.uid, "u1");
	assert_non_null(out.ipam);
	json_decref(j);

	/* Format 1 (0.1.0): no "record", no mtu/vlan/netns. */
	j = load("{" REC_CORE "}");
	assert_int_equal(record_decode(j, &out, &err), 0);
	assert_int_equal(out.format, 1);
	assert_int_equal(out.mtu, 0);
	assert_int_equal(out.vlan, -1);
	assert_null(out.netns);
	assert_null(out.ipam);
	json_decref(j);

	REJECT(record_decode, struct apimsg_record, "{\"record\":3," REC_CORE "}", EPROTONOSUPPORT,
	        "record format newer");
	REJECT(record_decode, struct apimsg_record, "{\"record\":\"2\"," REC_CORE "}",
	        EPROTONOSUPPORT, "record format unknown");
	REJECT(record_decode, struct apimsg_record, "{\"record\":3,\"deviceType\":\"warp\"}",
	        EPROTONOSUPPORT, "record format newer");
	REJECT(record_decode, struct apimsg_record, "{\"deviceType\":\"warp\"}", EINVAL,
	        "unknown deviceType 'warp'");
	REJECT(record_decode, struct apimsg_record, "{\"deviceType\":\"kernel\"}", EINVAL,
	        "'containerID' missing");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"ifname\":\"a/b\"}", EINVAL,
	        "'ifname'");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"netns\":\"rel\"}", EINVAL,
	        "'netns'");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"mac\":\"zz\"}", EINVAL,
	        "bad mac");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"mtu\":99999}", EINVAL,
	        "'mtu' must be an integer in [68, 65535]");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"vlan\":4095}", EINVAL,
	        "'vlan'");
	REJECT(record_decode, struct apimsg_record,
	        "{" REC_CORE ",\"pod\":{\"namespace\":\"../x\"}}", EINVAL, "pod: 'namespace'");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"created\":\"x2\"}", EINVAL,
	        "'created'");
	REJECT(record_decode, struct apimsg_record, "{" REC_CORE ",\"ipam\":[]}", EINVAL, "'ipam'");
}

static const struct apimsg_netdev_state ns = {.name = "eth5",
        .ifindex = 7,
        .mac = {{2, 0, 0, 0, 0, 9}},
        .mtu = 1500,
        .up = true,
        .pod_ifindex = 3,
        .moved = true};
#define NS_ORIG                                                                                \
	"\"original\":{\"name\":\"eth5\",\"ifindex\":7,\"mac\":\"02:00:00:00:00:09\",\"mtu\":" \
	"1500,"                                                                                \
	"\"up\":true}"

static void check_ns(const struct apimsg_netdev_state *s)
{
	assert_string_equal(s->name, "eth5");
	assert_int_equal(s->ifindex, 7);
	assert_memory_equal(&s->mac, &ns.mac, sizeof(ns.mac));
	assert_int_equal(s->mtu, 1500);
	assert_true(s->up);
	assert_int_equal(s->pod_ifindex, 3);
	assert_true(s->moved);
}

static void test_vhost_user_kernel(void **state)
{
	struct apimsg_vhost_user vu;
	struct apimsg_kernel k;
	struct kb_err err = {0};
	json_t *a = json_object();

	(void)state;
	assert_int_equal(
	        apimsg_vhost_user_set(
	                a, &(struct apimsg_vhost_user){.socket_path = "/run/kbnet/pods/u/n.sock",
	                           .socket_dir = "/run/kbnet/pods/u",
	                           .queues = 2,
	                           .claim = 4}),
	        0);
	assert_int_equal(apimsg_kernel_set(a, &(struct apimsg_kernel){.host_name = "kbk1",
	                                              .queues = 2,
	                                              .offloads = true,
	                                              .io = "uring",
	                                              .attached = true,
	                                              .netdev = ns}),
	        0);
	assert_json(a, "{\"vhostUser\":{\"socketPath\":\"/run/kbnet/pods/u/n.sock\","
	               "\"socketDir\":\"/run/kbnet/pods/u\",\"agentMode\":\"client\","
	               "\"podMode\":\"server\",\"queues\":2,\"claim\":4},"
	               "\"kernel\":{\"netdev\":true,\"hostName\":\"kbk1\",\"queues\":2,"
	               "\"offloads\":true,\"io\":\"uring\",\"attached\":true,\"podIfindex\":3,"
	               "\"moved\":true," NS_ORIG "}}");
	assert_int_equal(apimsg_vhost_user_decode(a, &vu, &err), 0);
	assert_string_equal(vu.socket_path, "/run/kbnet/pods/u/n.sock");
	assert_string_equal(vu.socket_dir, "/run/kbnet/pods/u");
	assert_false(vu.agent_server);
	assert_int_equal(vu.queues, 2);
	assert_int_equal(vu.claim, 4);
	assert_int_equal(apimsg_kernel_decode(a, &k, &err), 0);
	assert_string_equal(k.host_name, "kbk1");
	assert_int_equal(k.queues, 2);
	assert_true(k.offloads);
	assert_string_equal(k.io, "uring");
	assert_true(k.attached);
	check_ns(&k.netdev);
	json_decref(a);

	REJECT(apimsg_vhost_user_decode, struct apimsg_vhost_user,
	        "{\"vhostUser\":{\"agentMode\":\"sideways\",\"queues\":1}}", EINVAL, "agentMode");
	REJECT(apimsg_vhost_user_decode, struct apimsg_vhost_user,
	        "{\"vhostUser\":{\"agentMode\":\"server\",\"queues\":0}}", EINVAL,
	        "queues must be an integer in [1, 16]");
	REJECT(apimsg_vhost_user_decode, struct apimsg_vhost_user,
	        "{\"vhostUser\":{\"agentMode\":\"server\",\"queues\":1,\"claim\":-1}}", EINVAL,
	        "claim");
	REJECT(apimsg_kernel_decode, struct apimsg_kernel, "{\"kernel\":{\"queues\":1}}", EINVAL,
	        "'kernel'");
	REJECT(apimsg_kernel_decode, struct apimsg_kernel,
	        "{\"kernel\":{\"hostName\":\"kbk1\",\"queues\":1}}", EINVAL, "netdev state");
	REJECT(apimsg_kernel_decode, struct apimsg_kernel,
	        "{\"kernel\":{\"hostName\":\"kbk1\",\"queues\":1,\"podIfindex\":3,\"moved\":true,"
	        "\"original\":{\"name\":\"a/b\",\"ifindex\":7,\"mac\":\"02:00:00:00:00:09\","
	        "\"mtu\":1500,\"up\":true}}}",
	        EINVAL, "netdev state");
}

static void test_vf_vdpa(void **state)
{
	struct apimsg_netdev_state s;
	struct apimsg_vf vf;
	struct apimsg_vdpa vd;
	struct kb_err err = {0};
	json_t *a = json_object();

	(void)state;
	assert_int_equal(apimsg_vf_set(a, &(struct apimsg_vf){.pci_address = "0000:01:00.2",
	                                          .pf_pci_address = "0000:01:00.0",
	                                          .pf_name = "ens1f0",
	                                          .vf_index = 1,
	                                          .driver = "iavf",
	                                          .mode = "netdev",
	                                          .netdev = true,
	                                          .settings = json_pack("{s:b}", "trust", 1),
	                                          .orig_settings = json_pack("{s:b}", "trust", 0),
	                                          .has_netdev_state = true,
	                                          .netdev_state = ns}),
	        0);
	assert_int_equal(apimsg_vdpa_set(a, &(struct apimsg_vdpa){.name = "vdpa0",
	                                            .driver = "mlx5_vdpa",
	                                            .type = "vhost",
	                                            .path = "/dev/vhost-vdpa-0",
	                                            .parent_device = "pci/0000:01:00.2",
	                                            .pci_address = "0000:01:00.2",
	                                            .pf_pci_address = "0000:01:00.0",
	                                            .virtio = ""}),
	        0);
	assert_json(a,
	        "{\"vf\":{\"pciAddress\":\"0000:01:00.2\",\"pfPciAddress\":\"0000:01:00.0\","
	        "\"pfName\":\"ens1f0\",\"vfIndex\":1,\"driver\":\"iavf\",\"mode\":\"netdev\","
	        "\"netdev\":true,\"settings\":{\"trust\":true},\"podIfindex\":3,"
	        "\"moved\":true,\"original\":{\"vf\":{\"trust\":false},\"name\":\"eth5\","
	        "\"ifindex\":7,\"mac\":\"02:00:00:00:00:09\",\"mtu\":1500,\"up\":true}},"
	        "\"vdpa\":{\"name\":\"vdpa0\",\"driver\":\"mlx5_vdpa\",\"type\":\"vhost\","
	        "\"path\":\"/dev/vhost-vdpa-0\",\"parentDevice\":\"pci/0000:01:00.2\","
	        "\"pciAddress\":\"0000:01:00.2\",\"pfPciAddress\":\"0000:01:00.0\","
	        "\"virtio\":\"\",\"netdev\":false}}");
	assert_int_equal(apimsg_vf_decode(a, &vf, &err), 0);
	assert_string_equal(vf.pci_address, "0000:01:00.2");
	assert_string_equal(vf.pf_pci_address, "0000:01:00.0");
	assert_string_equal(vf.pf_name, "ens1f0");
	assert_int_equal(vf.vf_index, 1);
	assert_string_equal(vf.driver, "iavf");
	assert_string_equal(vf.mode, "netdev");
	assert_true(vf.netdev);
	assert_null(vf.vfio_group);
	assert_true(json_is_true(json_object_get(vf.settings, "trust")));
	assert_true(json_is_false(json_object_get(vf.orig_settings, "trust")));
	assert_int_equal(apimsg_netdev_state_decode(vf.vf_obj, &s, &err), 0);
	check_ns(&s);
	assert_int_equal(apimsg_vdpa_decode(a, &vd, &err), 0);
	assert_string_equal(vd.name, "vdpa0");
	assert_string_equal(vd.type, "vhost");
	assert_string_equal(vd.path, "/dev/vhost-vdpa-0");
	assert_string_equal(vd.parent_device, "pci/0000:01:00.2");
	assert_false(vd.netdev);
	json_decref(a);

	REJECT(apimsg_vf_decode, struct apimsg_vf, "{}", EINVAL, "'vf'");
	REJECT(apimsg_vf_decode, struct apimsg_vf,
	        "{\"vf\":{\"pciAddress\":\"x\",\"pfPciAddress\":\"\",\"pfName\":\"p\","
	        "\"driver\":\"d\",\"mode\":\"vfio\",\"vfIndex\":-2,\"original\":{}}}",
	        EINVAL, "'vf'");
	REJECT(apimsg_vdpa_decode, struct apimsg_vdpa, "{\"vdpa\":{\"type\":\"vhost\"}}", EINVAL,
	        "'vdpa'");
}

/* The type fields of a device listing: names pinned. */
static void test_device_fields(void **state)
{
	json_t *d = json_object();

	(void)state;
	assert_int_equal(apimsg_device_set_mac(d, &(struct mac){{2, 0, 0, 0, 0, 1}}), 0);
	assert_json(d, "{\"mac\":\"02:00:00:00:00:01\"}");
	json_decref(d);

	d = json_object();
	assert_int_equal(
	        apimsg_vf_device_set(d, &(struct apimsg_vf_device){.pci_address = "0000:01:00.2",
	                                        .pf_name = "ens1f0",
	                                        .pf_pci_address = "0000:01:00.0",
	                                        .vf_index = 1,
	                                        .vendor = "8086",
	                                        .device = "154c",
	                                        .driver = "iavf",
	                                        .mode = "netdev",
	                                        .netdev = "eth5",
	                                        .iommu_group = -1,
	                                        .settings = json_object(),
	                                        .pod_ifname = "net1"}),
	        0);
	assert_json(d, "{\"pciAddress\":\"0000:01:00.2\",\"pfName\":\"ens1f0\","
	               "\"pfPciAddress\":\"0000:01:00.0\",\"vfIndex\":1,\"vendor\":\"8086\","
	               "\"device\":\"154c\",\"driver\":\"iavf\",\"mode\":\"netdev\","
	               "\"netdev\":\"eth5\",\"settings\":{},\"podIfname\":\"net1\"}");
	json_decref(d);

	d = json_object();
	assert_int_equal(
	        apimsg_vdpa_device_set(d, &(struct apimsg_vdpa_device){.driver = "mlx5_vdpa",
	                                          .vdpa_type = "vhost",
	                                          .parent_device = "vdpa0",
	                                          .pci_address = "0000:01:00.2",
	                                          .chardev = "vhost-vdpa-0"}),
	        0);
	assert_json(d, "{\"driver\":\"mlx5_vdpa\",\"vdpaType\":\"vhost\","
	               "\"parentDevice\":\"vdpa0\",\"pciAddress\":\"0000:01:00.2\","
	               "\"chardev\":\"vhost-vdpa-0\"}");
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_record),
	        cmocka_unit_test(test_vhost_user_kernel),
	        cmocka_unit_test(test_vf_vdpa),
	        cmocka_unit_test(test_device_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
