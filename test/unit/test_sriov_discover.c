/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: SR-IOV and vDPA discovery from a fixture sysfs tree (pci.c, select.c, the
 * sriov-vf and vdpa device types' discover/health/device-info/device-plugin hooks) and
 * rediscovery after the tree changes. The tree comes from test/fixtures/sriov.sh (fx_default
 * without a namespace: no netdevs exist, so kernel-driver VFs are unhealthy here, which is what
 * a free VF without its netdev in the agent's namespace must be).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/apimsg.h"
#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/sriov/pci.h"
#include "agent/sriov/select.h"
#include "agent/sriov/sriov.h"
#include "common/fs.h"
#include "common/str.h"

static char dir[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048], full[2300];
	const char *root = getenv("ROOT");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "bash -c '. %s/test/fixtures/sriov.sh && %s'",
	        root ? root : ".", cmd);
	if (system(full) != 0)
		fail_msg("fixture command failed: %s", cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kbsriov.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	sh("fx_default %s", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(dir);
	return 0;
}

static struct cfg *load(const char *pools)
{
	char yaml[4096];
	struct kb_err err = {0};
	struct cfg *cfg = NULL;

	snprintf(yaml, sizeof(yaml),
	        "sysfsRoot: %s/sys\ndevRoot: %s/dev\nresourcePrefix: example.com\n"
	        "sriov:\n  rescanIntervalMs: 0\npools:\n%s",
	        dir, dir, pools);
	if (cfg_load_string(yaml, "t.yaml", &cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	return cfg;
}

static void load_err(const char *pools, const char *want)
{
	char yaml[4096];
	struct kb_err err = {0};
	struct cfg *cfg = NULL;

	snprintf(yaml, sizeof(yaml), "pools:\n%s", pools);
	assert_true(cfg_load_string(yaml, "t.yaml", &cfg, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not contain '%s'", err.msg, want);
}

/* "id:H id:U ..." for a pool (H healthy, U unhealthy), in discovery order. */
static void pool_str(const char *name, char *buf, size_t size)
{
	struct pool *p = inv_pool_find(name);
	size_t off = 0;

	buf[0] = '\0';
	assert_non_null(p);
	for (size_t i = 0; i < p->n_devs; i++)
		off += snprintf(buf + off, size - off, "%s%s:%c", i ? " " : "", p->devs[i]->id,
		        p->devs[i]->healthy ? 'H' : 'U');
}

#define ASSERT_POOL(name, want)                     \
	do {                                        \
		char got_[1024];                    \
		pool_str(name, got_, sizeof(got_)); \
		assert_string_equal(got_, want);    \
	} while (0)

static void test_pci(void **state)
{
	char root[PATH_MAX], **pfs = NULL, pfdir[PATH_MAX], net[2][IFNAMSIZ], lt[16];
	struct pci_vf_ref *vfs = NULL;
	struct kb_err err = {0};
	struct pci_fn fn;
	size_t n;

	(void)state;
	snprintf(root, sizeof(root), "%s/sys", dir);
	assert_int_equal(pci_list_pfs(root, &pfs, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(pfs[0], "0000:3b:00.0");
	assert_string_equal(pfs[1], "0000:5e:00.0");
	assert_string_equal(pfs[2], "0000:af:00.0");
	free(pfs[0]), free(pfs[1]), free(pfs[2]), free(pfs);
	assert_int_equal(pci_list_vfs(root, "0000:3b:00.0", &vfs, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(vfs[3].index, 3);
	assert_string_equal(vfs[3].addr, "0000:3b:02.3");
	free(vfs);

	assert_int_equal(pci_read(root, "0000:3b:02.1", &fn, &err), 0);
	assert_string_equal(fn.vendor, "8086");
	assert_string_equal(fn.device, "154c");
	assert_string_equal(fn.driver, "iavf");
	assert_int_equal(fn.numa, 0);
	assert_int_equal(fn.iommu_group, 61);
	assert_string_equal(fn.pf_addr, "0000:3b:00.0");
	assert_int_equal(fn.vf_index, 1);
	assert_int_equal(pci_read(root, "0000:5e:00.3", &fn, &err), 0);
	assert_int_equal(fn.numa, 1);
	assert_string_equal(fn.driver, "mlx5_core");
	assert_int_equal(pci_read(root, "0000:af:00.1", &fn, &err), 0);
	assert_string_equal(fn.driver, "");
	/* A PF is no VF. */
	assert_int_equal(pci_read(root, "0000:3b:00.0", &fn, &err), 0);
	assert_int_equal(fn.vf_index, -1);
	assert_string_equal(fn.pf_addr, "");
	assert_int_equal(pci_read(root, "0000:3b:09.0", &fn, &err), -ENOENT);
	assert_int_equal(pci_read(root, "../../etc", &fn, &err), -EINVAL);

	pci_dir(root, "0000:3b:02.0", pfdir, sizeof(pfdir));
	assert_int_equal(pci_netdevs(pfdir, net, 2), 1);
	assert_string_equal(net[0], "kbvfa0");
	pci_dir(root, "0000:af:00.0", pfdir, sizeof(pfdir));
	assert_int_equal(pci_link_type(pfdir, "kbpfc0", lt, sizeof(lt)), 0);
	assert_string_equal(lt, "infiniband");
	pci_dir(root, "0000:3b:00.0", pfdir, sizeof(pfdir));
	assert_int_equal(pci_link_type(pfdir, "kbpfa0", lt, sizeof(lt)), 0);
	assert_string_equal(lt, "ether");

	assert_true(pci_addr_valid("0000:3b:02.0"));
	assert_false(pci_addr_valid("3b:02.0"));
	assert_false(pci_addr_valid("0000:3b:02.0/"));
	assert_false(pci_addr_valid("0000:3b:0g.0"));
}

static void test_select(void **state)
{
	struct sel_dev d = {.vendor = "8086",
	        .device = "154c",
	        .driver = "iavf",
	        .pci_addr = "0000:3b:02.1",
	        .pf_name = "ens1f0",
	        .pf_addr = "0000:3b:00.0",
	        .link_type = "ether",
	        .vf_index = 1};
	const struct pools_cfg *pc;
	struct cfg *cfg;

	(void)state;
	cfg = load("  - {name: a, type: sriov-vf}\n"
	           "  - {name: b, type: sriov-vf, pfNames: [\"ens1f0#0,2-5\"]}\n"
	           "  - {name: c, type: sriov-vf, pfNames: [\"^ens1f[0-9]$#1\"], vendors: "
	           "[\"0x8086\"]}\n"
	           "  - {name: d, type: sriov-vf, rootDevices: [\"0000:3b:00.0#1-1\"], drivers: "
	           "[iavf],"
	           " linkTypes: [ETHER]}\n"
	           "  - {name: e, type: sriov-vf, pfNames: [ens1], devices: [154C]}\n"
	           "  - {name: f, type: sriov-vf, pciAddresses: [\"0000:3b:02.2\"]}\n"
	           "  - {name: g, type: vdpa, vdpaType: vhost}\n");
	pc = cfg_section_data(cfg, "pools");
	assert_int_equal(pc->n, 7);
	assert_true(sel_match(pc->v[0].type_cfg, &d));  /* no selector: everything */
	assert_false(sel_match(pc->v[1].type_cfg, &d)); /* VF 1 not in 0,2-5 */
	assert_true(sel_match(pc->v[2].type_cfg, &d));
	assert_true(sel_match(pc->v[3].type_cfg, &d));
	assert_true(sel_match(pc->v[4].type_cfg, &d)); /* unanchored regex, like the Go plugin */
	assert_false(sel_match(pc->v[5].type_cfg, &d));
	assert_false(sel_match(pc->v[6].type_cfg, &d)); /* not a vhost vDPA device */
	d.vf_index = 4;
	assert_true(sel_match(pc->v[1].type_cfg, &d));
	assert_false(sel_match(pc->v[2].type_cfg, &d));
	d.pf_name = "ens1f10";
	assert_false(sel_match(pc->v[2].type_cfg, &d)); /* anchored */
	d.pf_name = NULL;
	assert_false(sel_match(pc->v[4].type_cfg, &d)); /* no PF name: no pfNames match */
	d.vdpa_type = "vhost";
	assert_true(sel_match(pc->v[6].type_cfg, &d));
	cfg_free(cfg);
}

static void test_select_errors(void **state)
{
	(void)state;
	load_err("  - {name: a, type: sriov-vf, pfNames: [\"ens1#3-1\"]}\n",
	        "VF indexes must look like name#0-3,7");
	load_err("  - {name: a, type: sriov-vf, pfNames: [\"ens1#1,\"]}\n", "VF indexes");
	load_err("  - {name: a, type: sriov-vf, pfNames: [\"ens[\"]}\n",
	        "neither a plain name nor a valid regular expression");
	load_err("  - {name: a, type: sriov-vf, rootDevices: [\"3b:00.0\"]}\n",
	        "must be a PCI address");
	load_err("  - {name: a, type: sriov-vf, pciAddresses: [\"0000:3b:02\"]}\n",
	        "must be a PCI address");
	load_err("  - {name: a, type: sriov-vf, vendors: [\"intel\"]}\n", "4-digit hex ID");
	load_err("  - {name: a, type: sriov-vf, drivers: []}\n",
	        "an empty list would match nothing");
	load_err("  - {name: a, type: vdpa, vdpaType: vdpa}\n", "must be vhost or virtio");
	load_err("  - {name: a, type: sriov-vf, vdpaType: vhost}\n", "unknown key in pool");
	load_err("  - {name: a, type: sriov-vf, pfname: [x]}\n", "unknown key in pool");
}

static void test_discover(void **state)
{
	struct kb_err err = {0};
	struct cfg *cfg;

	(void)state;
	cfg = load("  - {name: intel, type: sriov-vf, pfNames: [\"kbpfa0#0-1\"]}\n"
	           "  - {name: dpdk, type: sriov-vf, drivers: [vfio-pci]}\n"
	           "  - {name: mlx, type: sriov-vf, vendors: [\"15B3\"], devices: [\"101e\"],"
	           " rootDevices: [\"0000:5e:00.0#1,3\"]}\n"
	           "  - {name: ib, type: sriov-vf, linkTypes: [infiniband]}\n"
	           "  - {name: vhost, type: vdpa, vdpaType: vhost}\n"
	           "  - {name: virtio, type: vdpa, pfNames: [kbpfb0], vdpaType: virtio}\n"
	           "  - {name: rest, type: sriov-vf}\n");
	assert_int_equal(inv_init(cfg, &err), 0);
	/* No netdevs exist here: kernel-driver VFs are not handed out. */
	ASSERT_POOL("intel", "0000:3b:02.0:U 0000:3b:02.1:U");
	ASSERT_POOL("dpdk", "0000:3b:02.2:H 0000:3b:02.3:H");
	ASSERT_POOL("mlx", "0000:5e:00.3:U 0000:5e:00.5:U");
	ASSERT_POOL("ib", "0000:af:00.1:U");
	ASSERT_POOL("vhost", "vdpa0:H");
	ASSERT_POOL("virtio", "vdpa1:U");
	/* A device matched by an earlier pool stays there. */
	ASSERT_POOL("rest", "0000:5e:00.2:U 0000:5e:00.4:U");
	assert_string_equal(inv_device_find("0000:af:00.1")->why, "no driver bound to the VF");
	assert_string_equal(
	        inv_device_find("0000:3b:02.0")->why, "VF netdev is not in the host namespace");
	assert_int_equal(inv_device_find("0000:5e:00.3")->numa, 1);
	inv_fini();
	cfg_free(cfg);
}

struct spec_rec {
	char text[2048];
	size_t off;
};

/* The device plugin's naming (devplugin/dp_alloc.c): "<kind>_<resource>", '.' and '/' as '_'. */
static int rec_env_name(struct devtype_alloc_spec *s, const char *kind, char *buf, size_t size)
{
	(void)s;
	snprintf(buf, size, "%s_%s", kind, "EXAMPLE_COM_POOL");
	return 0;
}

static int rec_env(struct devtype_alloc_spec *s, const char *name, const char *value)
{
	struct spec_rec *r = s->ctx;
	r->off += snprintf(r->text + r->off, sizeof(r->text) - r->off, "env %s=%s\n", name, value);
	return 0;
}

static int rec_device(
        struct devtype_alloc_spec *s, const char *cpath, const char *hpath, const char *perm)
{
	struct spec_rec *r = s->ctx;
	const char *rel = strncmp(hpath, dir, strlen(dir)) ? hpath : hpath + strlen(dir);
	r->off += snprintf(
	        r->text + r->off, sizeof(r->text) - r->off, "dev %s <- %s %s\n", cpath, rel, perm);
	return 0;
}

static void test_device_plugin_and_info(void **state)
{
	struct spec_rec rec = {.off = 0};
	struct devtype_alloc_spec spec = {
	        .env_name = rec_env_name, .env = rec_env, .device = rec_device, .ctx = &rec};
	struct kb_err err = {0};
	struct device *d;
	struct cfg *cfg;
	json_t *di;
	char *s;

	(void)state;
	cfg = load("  - {name: sriov_dpdk, type: sriov-vf, drivers: [vfio-pci]}\n"
	           "  - {name: vhost, type: vdpa, vdpaType: vhost}\n");
	assert_int_equal(inv_init(cfg, &err), 0);
	d = inv_device_find("0000:3b:02.3");
	assert_int_equal(d->pool->ops->dp_allocate(d, &spec, &err), 0);
	d = inv_device_find("vdpa0");
	assert_int_equal(d->pool->ops->dp_allocate(d, &spec, &err), 0);
	/* As sriov-network-device-plugin: PCIDEVICE_<RES> is a PCI address (a vDPA device's
	 * parent's), PCIDEVICE_<RES>_INFO the device-info map with the mounts. */
	assert_string_equal(rec.text,
	        "dev /dev/vfio/vfio <- /dev/vfio/vfio rw\n"
	        "dev /dev/vfio/63 <- /dev/vfio/63 rw\n"
	        "env PCIDEVICE_EXAMPLE_COM_POOL=0000:3b:02.3\n"
	        "env PCIDEVICE_EXAMPLE_COM_POOL_INFO={\"0000:3b:02.3\":{\"generic\":{\"deviceID\":"
	        "\"0000:3b:02.3\"},\"vfio\":{\"dev-mount\":\"/dev/vfio/63\",\"mount\":\"/dev/"
	        "vfio/vfio\"}}}\n"
	        "dev /dev/vhost-vdpa-0 <- /dev/vhost-vdpa-0 rw\n"
	        "env PCIDEVICE_EXAMPLE_COM_POOL=0000:5e:00.4\n"
	        "env PCIDEVICE_EXAMPLE_COM_POOL_INFO={\"0000:5e:00.4\":{\"generic\":{\"deviceID\":"
	        "\"0000:5e:00.4\"},\"vdpa\":{\"mount\":\"/dev/vhost-vdpa-0\"}}}\n");

	di = d->pool->ops->device_info(d, NULL);
	s = json_dumps(di, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s,
	        "{\"type\":\"vdpa\",\"vdpa\":{\"driver\":\"vhost\",\"parent-device\":"
	        "\"vdpa0\",\"path\":\"/dev/vhost-vdpa-0\",\"pci-address\":"
	        "\"0000:5e:00.4\",\"pf-pci-address\":\"0000:5e:00.0\"},"
	        "\"version\":\"1.1.0\"}");
	free(s);
	json_decref(di);
	d = inv_device_find("0000:3b:02.2");
	di = d->pool->ops->device_info(d, NULL);
	s = json_dumps(di, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"pci\":{\"pci-address\":\"0000:3b:02.2\",\"pf-pci-address\":"
	                       "\"0000:3b:00.0\"},\"type\":\"pci\",\"version\":\"1.1.0\"}");
	free(s);
	json_decref(di);
	inv_fini();
	cfg_free(cfg);
}

static void test_rediscovery(void **state)
{
	struct attach_req req = {.container_id = "c1",
	        .ifname = "net1",
	        .network = "n",
	        .devtype = "sriov-vf",
	        .device_id = "0000:3b:02.3",
	        .vlan = -1};
	struct kb_err err = {0};
	struct alloc *a;
	struct device *d;
	struct cfg *cfg;
	bool existing;

	(void)state;
	cfg = load("  - {name: dpdk, type: sriov-vf, drivers: [vfio-pci]}\n"
	           "  - {name: vhost, type: vdpa}\n");
	assert_int_equal(inv_init(cfg, &err), 0);
	assert_int_equal(alloc_init(NULL, &err), 0);
	/* Hold VF3 (vfio: nothing to move, no settings asked: no PF needed). */
	assert_int_equal(alloc_attach(&req, &a, &existing, &err), 0);
	ASSERT_POOL("dpdk", "0000:3b:02.2:H 0000:3b:02.3:H");

	/* Both vfio VFs disappear, a vDPA device too, a device node goes. */
	sh("fx_rm_vf %s 0000:3b:00.0 3 && fx_rm_vf %s 0000:3b:00.0 2 && fx_rm_vdpa %s vdpa1 && "
	   "rm %s/dev/vhost-vdpa-0",
	        dir, dir, dir, dir);
	inv_rescan();
	/* The free one is gone; the held one stays, unhealthy, until released. */
	ASSERT_POOL("dpdk", "0000:3b:02.3:U");
	d = inv_device_find("0000:3b:02.3");
	assert_true(d->gone);
	assert_string_equal(d->why, "device disappeared");
	assert_null(inv_device_find("0000:3b:02.2"));
	ASSERT_POOL("vhost", "vdpa0:U");
	assert_string_equal(
	        inv_device_find("vdpa0")->why, "vhost-vdpa char device missing under devRoot");
	/* Not handed out again. */
	req.container_id = "c2";
	assert_int_equal(alloc_attach(&req, &a, &existing, &err), -EBUSY);
	assert_int_equal(alloc_detach("c1", "net1", NULL, &err), 1);
	assert_null(inv_device_find("0000:3b:02.3"));
	assert_int_equal(inv_pool_find("dpdk")->n_devs, 0);

	/* They come back. */
	sh("fx_vf %s 0000:3b:00.0 2 0000:3b:02.2 8086 154c vfio-pci 0 62 && : > "
	   "%s/dev/vhost-vdpa-0",
	        dir, dir);
	inv_rescan();
	ASSERT_POOL("dpdk", "0000:3b:02.2:H");
	ASSERT_POOL("vhost", "vdpa0:H");
	req.container_id = "c3";
	req.device_id = "0000:3b:02.2";
	assert_int_equal(alloc_attach(&req, &a, &existing, &err), 0);
	assert_string_equal(a->device_id, "0000:3b:02.2");
	/* The allocation's JSON says what the CNI plugin needs. */
	{
		json_t *j = alloc_to_json(a), *vf = json_object_get(j, "vf");
		assert_string_equal(
		        json_string_value(json_object_get(vf, "pciAddress")), "0000:3b:02.2");
		assert_string_equal(json_string_value(json_object_get(vf, "vfioGroup")), "62");
		assert_true(json_is_false(json_object_get(vf, "netdev")));
		assert_string_equal(json_string_value(json_object_get(
		                            json_object_get(j, "deviceInfo"), "type")),
		        "pci");
		/* The generic view (alloc_view): what kbnet-cni reads, whatever the type. */
		{
			struct apimsg_alloc v;
			struct kb_err e = {0};
			assert_int_equal(apimsg_alloc_decode(j, &v, &e), 0);
			assert_string_equal(v.endpoint.pci_address, "0000:3b:02.2");
			assert_false(v.endpoint.netdev);
			assert_null(v.endpoint.socket_path);
		}
		json_decref(j);
	}
	alloc_fini();
	inv_fini();
	cfg_free(cfg);
	/* Put the tree back for other tests. */
	sh("fx_vf %s 0000:3b:00.0 3 0000:3b:02.3 8086 154c vfio-pci 0 63 && "
	   "fx_vdpa %s vdpa1 0000:5e:00.5 virtio_vdpa virtio0:kbvd1",
	        dir, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_pci),
	        cmocka_unit_test(test_select),
	        cmocka_unit_test(test_select_errors),
	        cmocka_unit_test(test_discover),
	        cmocka_unit_test(test_device_plugin_and_info),
	        cmocka_unit_test(test_rediscovery),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
