/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: building Allocate responses (dp_alloc.c) - env aggregation across the devices of
 * one container, mount/device de-duplication and conflicts, env and device-info naming as
 * sriov-network-device-plugin and Multus compute them - and virtio-user's dp_allocate on a real
 * inventory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/devplugin/dp_alloc.h"
#include "agent/inventory.h"
#include "agent/vport.h"
#include "common/fs.h"

static void test_env_name(void **state)
{
	char buf[128];

	(void)state;
	/* The rule of sriov-network-device-plugin's PCIDEVICE_<prefix>_<resource>. */
	assert_int_equal(dp_env_name("PCIDEVICE", "intel.com/sriov_dpdk", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "PCIDEVICE_INTEL_COM_SRIOV_DPDK");
	assert_int_equal(dp_env_name("VHOST_USER_SOCKET", "kbnet.io/vu.a-b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "VHOST_USER_SOCKET_KBNET_IO_VU_A-B");
	assert_int_equal(dp_env_name("X", "kbnet.io/vu", buf, 8), -ENAMETOOLONG);
}

static void test_env_aggregates(void **state)
{
	struct dp_alloc_ctr c;
	struct devtype_alloc_spec *s = &c.spec;
	V1beta1__ContainerAllocateResponse *pb;
	char name[64];

	(void)state;
	dp_alloc_ctr_init(&c, "kbnet.io/vf");
	assert_int_equal(s->env_name(s, "PCIDEVICE", name, sizeof(name)), 0);
	assert_string_equal(name, "PCIDEVICE_KBNET_IO_VF");
	/* One variable per container lists every device, in request order. */
	assert_int_equal(s->env(s, name, "0000:3b:02.1"), 0);
	assert_int_equal(s->env(s, "OTHER", "x"), 0);
	assert_int_equal(s->env(s, name, "0000:3b:02.2"), 0);
	assert_string_equal(dp_alloc_ctr_env(&c, name), "0000:3b:02.1,0000:3b:02.2");
	assert_string_equal(dp_alloc_ctr_env(&c, "OTHER"), "x");
	assert_null(dp_alloc_ctr_env(&c, "NOPE"));
	assert_int_equal(s->env(s, "A=B", "x"), -EINVAL);
	assert_int_equal(s->annotation(s, "k", "1"), 0);
	assert_int_equal(s->annotation(s, "k", "2"), 0);
	assert_int_equal(dp_alloc_ctr_response(&c, &pb), 0);
	assert_int_equal(pb->n_envs, 2);
	assert_int_equal(pb->n_annotations, 1);
	assert_string_equal(pb->annotations[0]->value, "1,2");
	dp_alloc_ctr_fini(&c);
}

static void test_devices_and_mounts(void **state)
{
	struct dp_alloc_ctr c;
	struct devtype_alloc_spec *s = &c.spec;
	V1beta1__ContainerAllocateResponse *pb;
	uint8_t buf[4096];
	V1beta1__ContainerAllocateResponse *back;

	(void)state;
	dp_alloc_ctr_init(&c, "kbnet.io/vf");
	/* Two VFs: /dev/vfio/vfio once, one node per group. */
	assert_int_equal(s->device(s, "/dev/vfio/vfio", "/dev/vfio/vfio", "rw"), 0);
	assert_int_equal(s->device(s, "/dev/vfio/61", "/dev/vfio/61", "rw"), 0);
	assert_int_equal(s->device(s, "/dev/vfio/vfio", "/dev/vfio/vfio", "rw"), 0);
	assert_int_equal(s->device(s, "/dev/vfio/62", "/dev/vfio/62", "rw"), 0);
	/* The same container path from two host nodes is a conflict, not a silent pick. */
	assert_int_equal(s->device(s, "/dev/vfio/61", "/dev/vfio/99", "rw"), -EEXIST);
	assert_non_null(strstr(c.why, "/dev/vfio/61"));
	assert_int_equal(s->device(s, "/dev/x", "/dev/x", "rwx"), -EINVAL);
	assert_int_equal(s->device(s, "dev/x", "/dev/x", "rw"), -EINVAL);
	assert_int_equal(s->mount(s, "/run/a", "/host/a", true), 0);
	assert_int_equal(s->mount(s, "/run/a", "/host/a", false), 0);
	assert_int_equal(s->mount(s, "/run/a", "/host/b", false), -EEXIST);
	assert_int_equal(dp_alloc_ctr_response(&c, &pb), 0);
	assert_int_equal(pb->n_devices, 3);
	assert_int_equal(pb->n_mounts, 1);
	assert_false(pb->mounts[0]->read_only); /* the wider access of the two */
	/* It packs and reads back as the same message. */
	size_t len = v1beta1__container_allocate_response__get_packed_size(pb);
	assert_true(len < sizeof(buf));
	v1beta1__container_allocate_response__pack(pb, buf);
	back = v1beta1__container_allocate_response__unpack(NULL, len, buf);
	assert_non_null(back);
	assert_int_equal(back->n_devices, 3);
	assert_string_equal(back->devices[1]->host_path, "/dev/vfio/61");
	assert_string_equal(back->devices[1]->permissions, "rw");
	v1beta1__container_allocate_response__free_unpacked(back, NULL);
	dp_alloc_ctr_fini(&c);
}

static void test_limits(void **state)
{
	struct dp_alloc_ctr c;
	struct devtype_alloc_spec *s = &c.spec;
	char *big = malloc(60000), name[32];
	int r = 0;

	(void)state;
	memset(big, 'x', 59999);
	big[59999] = '\0';
	dp_alloc_ctr_init(&c, "kbnet.io/vf");
	for (int i = 0; i < 10 && r == 0; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		r = s->env(s, name, big);
	}
	assert_int_equal(r, -E2BIG);
	dp_alloc_ctr_fini(&c);
	dp_alloc_ctr_init(&c, "kbnet.io/vf");
	r = 0;
	for (int i = 0; i < 300 && r == 0; i++) {
		snprintf(name, sizeof(name), "/d/%d", i);
		r = s->device(s, name, name, "r");
	}
	assert_int_equal(r, -E2BIG);
	dp_alloc_ctr_fini(&c);
	free(big);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kbut.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return fs_rm_rf(tmpdir);
}

static void test_devinfo(void **state)
{
	char path[PATH_MAX], want[PATH_MAX];
	struct kb_err err = {0};
	json_t *info = json_pack("{s:s, s:s, s:{s:s}}", "type", "pci", "version", "1.1.0", "pci",
	        "pci-address", "0000:3b:02.1");
	json_t *back;
	struct stat st;

	(void)state;
	/* Multus: '/' in the resource and in the device ID become '-'; ':' stays. */
	assert_int_equal(
	        dp_devinfo_path("/d", "intel.com/sriov", "0000:3b:02.1", path, sizeof(path)), 0);
	assert_string_equal(path, "/d/intel.com-sriov-0000:3b:02.1-device.json");
	snprintf(want, sizeof(want), "%s/dp", tmpdir);
	assert_int_equal(dp_devinfo_write(want, "kbnet.io/vf", "0000:3b:02.1", info, &err), 0);
	snprintf(path, sizeof(path), "%s/dp/kbnet.io-vf-0000:3b:02.1-device.json", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	back = json_load_file(path, 0, NULL);
	assert_true(json_equal(back, info));
	json_decref(back);
	/* Rewriting replaces the read-only file. */
	assert_int_equal(dp_devinfo_write(want, "kbnet.io/vf", "0000:3b:02.1", info, &err), 0);
	assert_int_equal(dp_devinfo_remove(want, "kbnet.io/vf", "0000:3b:02.1"), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(dp_devinfo_remove(want, "kbnet.io/vf", "0000:3b:02.1"), 0);
	json_decref(info);
}

/* CDI spec names, and back from a name to the pool's IDs (adopting specs after a restart). */
static void test_cdi_names(void **state)
{
	const char *pool[] = {"vu-1", "vu-1_2", "vu-2", "0000:3b:02.1", "a/b"};
	char *two[] = {"vu-1", "vu-2"}, *odd[] = {"a/b"}, *pci[] = {"0000:3b:02.1"};
	const char *ids[4];
	char file[256];
	size_t n = 9;

	(void)state;
	assert_int_equal(dp_cdi_file_name("kbnet.io/vu", two, 2, file, sizeof(file)), 0);
	assert_string_equal(file, "kbnet-kbnet.io_vu-vu-1_vu-2.json");
	assert_int_equal(dp_cdi_file_ids("kbnet.io/vu", file, pool, 5, ids, 4, &n), 0);
	/* "vu-1_2" would also match a prefix: only a full decomposition counts. */
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "vu-1");
	assert_string_equal(ids[1], "vu-2");
	assert_ptr_equal(ids[0], pool[0]);
	assert_int_equal(dp_cdi_file_name("kbnet.io/vu", odd, 1, file, sizeof(file)), 0);
	assert_string_equal(file, "kbnet-kbnet.io_vu-a_b.json");
	assert_int_equal(dp_cdi_file_ids("kbnet.io/vu", file, pool, 5, ids, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "a/b");
	assert_int_equal(dp_cdi_file_name("kbnet.io/vf", pci, 1, file, sizeof(file)), 0);
	assert_int_equal(dp_cdi_file_ids("kbnet.io/vf", file, pool, 5, ids, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "0000:3b:02.1");
	/* Not ours: another resource, an unknown device, a foreign file, a trailing '_'. */
	const char *foreign[] = {"kbnet-kbnet.io_vu-vu-1.json", "kbnet-kbnet.io_vu-vu-9.json",
	        "nvidia.com-gpu.json", "kbnet-kbnet.io_vu-vu-1_.json", "kbnet-kbnet.io_vu-.json",
	        "kbnet-kbnet.io_vu-vu-1.yaml", "kbnet-kbnet.io_vux-vu-1.json"};
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		n = 9;
		assert_int_equal(dp_cdi_file_ids(i ? "kbnet.io/vu" : "kbnet.io/vf", foreign[i],
		                         pool, 5, ids, 4, &n),
		        0);
		assert_int_equal(n, 0);
	}
	/* More IDs than the caller has room for. */
	assert_int_equal(dp_cdi_file_ids("kbnet.io/vu", "kbnet-kbnet.io_vu-vu-1_vu-2.json", pool, 5,
	                         ids, 1, &n),
	        -E2BIG);
	/* Removal stays inside the directory. */
	assert_int_equal(dp_cdi_remove("/nonexistent", "../etc/passwd"), -EINVAL);
	/* Already gone is fine. */
	assert_int_equal(dp_cdi_remove("/nonexistent", "kbnet-x.json"), 0);
}

/* virtio-user's dp_allocate through the inventory, as the device plugin calls it. */
static void test_vport_dp_allocate(void **state)
{
	char yaml[512], dir[PATH_MAX], sock[PATH_MAX], name[64];
	struct kb_err err = {0};
	struct dp_alloc_ctr c;
	struct cfg *cfg = NULL;
	struct device *d0, *d1;
	struct stat st;
	struct mac m;
	char mac[MAC_STR_LEN], want[2 * PATH_MAX];

	(void)state;
	snprintf(yaml, sizeof(yaml),
	        "runDir: %s/run\nstateDir: %s/state\npools:\n"
	        "  - {name: vu, type: virtio-user, count: 3, mode: client, numaNode: 1}\n",
	        tmpdir, tmpdir);
	assert_int_equal(cfg_load_string(yaml, "t.yaml", &cfg, &err), 0);
	assert_int_equal(inv_init(cfg, &err), 0);
	d0 = inv_device_find("vu-0");
	d1 = inv_device_find("vu-2");
	assert_non_null(d0);
	assert_non_null(d1);
	assert_int_equal(d0->numa, 1);
	assert_non_null(d0->pool->ops->dp_allocate);
	dp_alloc_ctr_init(&c, d0->pool->resource_name);
	assert_int_equal(d0->pool->ops->dp_allocate(d0, &c.spec, &err), 0);
	assert_int_equal(d1->pool->ops->dp_allocate(d1, &c.spec, &err), 0);
	/* The device directory exists now (the runtime bind-mounts it) ... */
	assert_int_equal(vport_device_dir(d0, dir, sizeof(dir)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* ... at the same path in the container. */
	assert_int_equal(c.n_mounts, 2);
	assert_string_equal(c.mounts[0].container_path, dir);
	assert_string_equal(c.mounts[0].host_path, dir);
	assert_int_equal(vport_device_socket(d0, sock, sizeof(sock)), 0);
	snprintf(want, sizeof(want), "%s,%s/run/devices/vu-2/vhost-user.sock", sock, tmpdir);
	assert_string_equal(dp_alloc_ctr_env(&c, "VHOST_USER_SOCKET_KBNET_IO_VU"), want);
	vport_default_mac("vu-0", &m);
	mac_format(&m, mac);
	assert_non_null(strstr(dp_alloc_ctr_env(&c, "VHOST_USER_MAC_KBNET_IO_VU"), mac));
	/* mode: client = the agent connects, so the pod's virtio-user is the server. */
	assert_string_equal(dp_alloc_ctr_env(&c, "VHOST_USER_MODE_KBNET_IO_VU"), "server,server");
	assert_int_equal(c.spec.env_name(&c.spec, "X", name, sizeof(name)), 0);
	assert_string_equal(name, "X_KBNET_IO_VU");
	dp_alloc_ctr_fini(&c);
	/* The device-info a device-plugin allocation gets. */
	json_t *info = d0->pool->ops->device_info(d0, NULL);
	assert_string_equal(json_string_value(json_object_get(info, "type")), "vhost-user");
	assert_string_equal(json_string_value(json_object_get(info, "version")), "1.1.0");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(info, "vhost-user"), "path")),
	        sock);
	json_decref(info);
	inv_fini();
	cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_env_name),
	        cmocka_unit_test(test_env_aggregates),
	        cmocka_unit_test(test_devices_and_mounts),
	        cmocka_unit_test(test_limits),
	        cmocka_unit_test(test_cdi_names),
	        cmocka_unit_test_setup_teardown(test_devinfo, setup_tmp, teardown_tmp),
	        cmocka_unit_test_setup_teardown(test_vport_dp_allocate, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
