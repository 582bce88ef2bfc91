/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the allocator (agent/alloc.c) with the inventory (agent/inventory.c), the
 * virtio-user device type (agent/vport.c) and real persisted state in a temp directory:
 * idempotency, every refusal of the API contract, exhaustion, a randomised attach/detach run
 * against a model with invariant checks, restore after restart, rediscovery and reload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>

#include "api/apimsg.h"
#include "agent/alloc.h"
#include "agent/devplugin/dp_reconcile.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/server.h"
#include "agent/state.h"
#include "agent/vport.h"
#include "common/fs.h"
#include "common/str.h"

/* REQ() below fills defaults that each test then overrides by field. */
#pragma GCC diagnostic ignored "-Woverride-init"
/* Paths here are short temp paths in PATH_MAX buffers; truncation cannot happen. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/*
 * A fake device type. It stands in for hardware device types (SR-IOV VFs, vDPA devices) whose
 * devices appear, vanish and fail under the kernel's control; none exist on a test machine, so
 * the test decides which devices are present and whether discovery or attach fail.
 */
static struct {
	bool absent[64];
	bool fail_discover;
	int fail_attach; /* errno to fail attach with, 0: succeed */
	unsigned attaches, detaches, restores;
} fake;

struct fake_cfg {
	unsigned count;
};

static const char *const fake_keys[] = {"count", NULL};

static void *fake_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct fake_cfg *c = calloc(1, sizeof(*c));
	uint64_t v = 4;
	int r = cfg_get_uint(node, "count", 1, 64, &v, err);

	if (r < 0 && r != -ENOENT) {
		free(c);
		return NULL;
	}
	c->count = v;
	return c;
}

static int fake_discover(struct pool *p, struct kb_err *err)
{
	const struct fake_cfg *c = p->cfg.type_cfg;
	char id[VAL_DEVICE_ID_MAX + 1];

	if (fake.fail_discover)
		return kb_err_set(err, EIO, "fake discovery failed");
	for (unsigned i = 0; i < c->count; i++) {
		if (fake.absent[i])
			continue;
		if (str_printf(id, sizeof(id), "%s-f%u", p->name, i) < 0 ||
		        !inv_sync_device(p, id, (int)(i % 2), NULL))
			return kb_err_set(err, ENOMEM, "sync %s", id);
	}
	return 0;
}

static int fake_attach(struct alloc *a, const struct attach_req *req, struct kb_err *err)
{
	(void)a;
	(void)req;
	fake.attaches++;
	if (fake.fail_attach)
		return kb_err_set(err, fake.fail_attach, "fake attach failed");
	return 0;
}

static int fake_detach(struct alloc *a, struct kb_err *err)
{
	(void)a;
	(void)err;
	fake.detaches++;
	return 0;
}

static int fake_restore(struct alloc *a, struct kb_err *err)
{
	(void)a;
	(void)err;
	fake.restores++;
	return 0;
}

static struct devtype_ops fake_ops = {
        .name = "fake-dev",
        .pool_keys = fake_keys,
        .pool_cfg_parse = fake_cfg_parse,
        .pool_cfg_free = free,
        .discover = fake_discover,
        .attach = fake_attach,
        .detach = fake_detach,
        .restore = fake_restore,
};
DEVTYPE_REGISTER(fake_ops)

/* An observer that can veto attachments, as the fast path does when a port cannot be added. */
static struct {
	int veto;
	unsigned attached, detached, restored, failed;
	int last_failed_errno;
} obs;

static int obs_attached(struct alloc *a, struct kb_err *err)
{
	(void)a;
	obs.attached++;
	if (obs.veto)
		return kb_err_set(err, obs.veto, "vetoed by the test observer");
	return 0;
}

static void obs_detached(struct alloc *a)
{
	(void)a;
	obs.detached++;
}

static void obs_restored(struct alloc *a)
{
	(void)a;
	obs.restored++;
}

static void obs_attach_failed(const struct attach_req *req, const struct kb_err *err)
{
	(void)req;
	obs.failed++;
	obs.last_failed_errno = err->errnum;
}

static struct alloc_observer observer = {
        .attached = obs_attached,
        .detached = obs_detached,
        .restored = obs_restored,
        .attach_failed = obs_attach_failed,
};

/* ---- fixture: one agent core (inventory + allocator + state) in a temp directory ---- */

static struct {
	char dir[64];
	char run[PATH_MAX];
	char state_dir[PATH_MAX];
	char pools[4096];
	struct cfg *cfg;
	struct state *st;
	struct kb_err load_err; /* what alloc_init reported */
} F;

#define POOL_VU8 "  - name: vu\n    type: virtio-user\n    count: 8\n"

static struct cfg *make_cfg(const char *run, const char *pools)
{
	char yaml[8192];
	struct kb_err err = {0};
	struct cfg *cfg = NULL;

	snprintf(yaml, sizeof(yaml),
	        "apiSocket: %s/a.sock\nstateDir: %s\nrunDir: %s\nresourcePrefix: kbnet.io\n"
	        "pools:\n%s",
	        F.dir, F.state_dir, run, pools);
	if (cfg_load_string(yaml, "test.yaml", &cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	return cfg;
}

static void core_start(const char *pools)
{
	struct kb_err err = {0};

	if (pools)
		str_copy(F.pools, sizeof(F.pools), pools);
	F.cfg = make_cfg(F.run, F.pools);
	if (inv_init(F.cfg, &err) < 0)
		fail_msg("inv_init: %s", err.msg);
	if (state_open(F.state_dir, &F.st, &err) < 0)
		fail_msg("state_open: %s", err.msg);
	kb_err_clear(&F.load_err);
	if (alloc_init(F.st, &F.load_err) < 0)
		fail_msg("alloc_init: %s", F.load_err.msg);
}

static void core_stop(void)
{
	struct kb_err err = {0};

	if (!F.cfg)
		return;
	if (state_pending(F.st) && state_commit(F.st, &err) < 0)
		fail_msg("commit: %s", err.msg);
	alloc_fini();
	inv_fini();
	state_close(F.st);
	cfg_free(F.cfg);
	F.st = NULL;
	F.cfg = NULL;
}

/* Agent restart: everything leaves memory, state is reloaded (pools may change meanwhile). */
static void core_restart(const char *pools)
{
	core_stop();
	core_start(pools);
}

/* kill -9: nothing is committed, nothing undone; then a start. */
static void core_crash_restart(void)
{
	alloc_fini();
	inv_fini();
	state_close(F.st); /* the uncommitted buffer is lost with it */
	cfg_free(F.cfg);
	F.st = NULL;
	F.cfg = NULL;
	core_start(NULL);
}

/* SIGHUP: new configuration applied to the running inventory. */
static void core_reload(const char *pools)
{
	struct kb_err err = {0};
	struct cfg *cfg;

	str_copy(F.pools, sizeof(F.pools), pools);
	cfg = make_cfg(F.run, F.pools);
	if (inv_reload(cfg, &err) < 0)
		fail_msg("inv_reload: %s", err.msg);
	cfg_free(F.cfg);
	F.cfg = cfg;
}

static void commit(void)
{
	struct kb_err err = {0};

	if (state_commit(F.st, &err) < 0)
		fail_msg("commit: %s", err.msg);
}

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	memset(&obs, 0, sizeof(obs));
	strcpy(F.dir, "/tmp/kballoc.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.run, sizeof(F.run), "%s/run", F.dir);
	snprintf(F.state_dir, sizeof(F.state_dir), "%s/state", F.dir);
	core_start(POOL_VU8);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	core_stop();
	fs_rm_rf(F.dir);
	return 0;
}

/* ---- invariants ---- */

/* The inventory's bookkeeping agrees with itself and with the allocations: every held device
 * points at an allocation that points back, no device is held twice, counters match the lists. */
static void check_invariants(void)
{
	size_t with_dev = 0, n = 0, held_total = 0;
	struct alloc *a;

	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
		size_t held = 0, nfree = 0, reserved = 0;
		struct device *d;

		for (size_t i = 0; i < p->n_devs; i++) {
			d = p->devs[i];
			reserved += d->reserved_at_ms != 0;
			assert_ptr_equal(d->pool, p);
			assert_ptr_equal(inv_device_find(d->id), d);
			if (d->holder) {
				held++;
				assert_ptr_equal(d->holder->dev, d);
				assert_ptr_equal(
				        alloc_find(d->holder->container_id, d->holder->ifname),
				        d->holder);
				assert_false(d->on_free_list);
			} else {
				assert_int_equal(d->on_free_list, d->healthy && !d->gone &&
				                                          !p->removed &&
				                                          !d->reserved_at_ms);
			}
		}
		TAILQ_FOREACH (d, &p->free_list, free_link) {
			nfree++;
			assert_null(d->holder);
			assert_true(d->on_free_list);
			assert_true(d->healthy);
			assert_ptr_equal(d->pool, p);
		}
		assert_int_equal(held, p->n_allocated);
		assert_int_equal(nfree, p->n_free);
		assert_int_equal(reserved, p->n_reserved);
		held_total += held;
	}
	for (a = alloc_first(); a; a = alloc_next(a)) {
		n++;
		assert_ptr_equal(alloc_find(a->container_id, a->ifname), a);
		if (a->dev) {
			with_dev++;
			assert_ptr_equal(a->dev->holder, a);
			assert_string_equal(a->dev->id, a->device_id);
		}
	}
	assert_int_equal(n, alloc_count());
	/* dev->holder is a single pointer, so held_total == with_dev means no sharing. */
	assert_int_equal(held_total, with_dev);
}

/* ---- attach helpers ---- */

#define REQ(...)              \
	((struct attach_req){ \
	        .network = "net-a", .devtype = "virtio-user", .mtu = 0, .vlan = -1, __VA_ARGS__})

static struct alloc *attach_ok(struct attach_req req, bool want_existing)
{
	struct kb_err err = {0};
	struct alloc *a = NULL;
	bool existing = !want_existing;

	if (alloc_attach(&req, &a, &existing, &err) < 0)
		fail_msg("attach %s/%s: %s", req.container_id, req.ifname, err.msg);
	assert_int_equal(existing, want_existing);
	assert_non_null(a);
	check_invariants();
	return a;
}

static void attach_err(struct attach_req req, int want, const char *msg)
{
	struct kb_err err = {0};
	struct alloc *a = NULL;
	size_t before = alloc_count();
	bool existing = false;
	int r = alloc_attach(&req, &a, &existing, &err);

	if (r != want)
		fail_msg("attach %s/%s: got %d (%s), want %d", req.container_id, req.ifname, r,
		        err.msg, want);
	if (msg && !strstr(err.msg, msg))
		fail_msg("error '%s' does not contain '%s'", err.msg, msg);
	assert_int_equal(err.errnum, -want);
	/* A failure leaves nothing allocated. */
	assert_int_equal(alloc_count(), before);
	check_invariants();
}

static int detach(const char *cid, const char *ifname)
{
	struct kb_err err = {0};
	int r = alloc_detach(cid, ifname, NULL, &err);

	check_invariants();
	return r;
}

static struct device *dev(const char *id)
{
	struct device *d = inv_device_find(id);

	if (!d)
		fail_msg("no device %s", id);
	return d;
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	close(fd);
}

/* A Unix socket file, as a pod's vhost-user server leaves it. */
static void make_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/* ---- idempotency and conflicts ---- */

static void test_attach_idempotent(void **state)
{
	struct alloc *a, *b;

	(void)state;
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1"), false);
	b = attach_ok(REQ(.container_id = "c1", .ifname = "net1"), true);
	assert_ptr_equal(a, b);
	assert_int_equal(dev(a->device_id)->pool->n_allocated, 1);
	/* Same request naming the device it already holds. */
	b = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = a->device_id), true);
	assert_ptr_equal(a, b);
	/* Another interface of the same container is another attachment. */
	b = attach_ok(REQ(.container_id = "c1", .ifname = "net2"), false);
	assert_ptr_not_equal(a, b);
	assert_string_not_equal(a->device_id, b->device_id);
	assert_int_equal(alloc_count(), 2);
	/* The repeated attach is not a new state record. */
	assert_int_equal(state_seq(F.st), 2);
}

static void test_attach_eexist(void **state)
{
	struct alloc *a;

	(void)state;
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1"), false);
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .network = "net-b"), -EEXIST,
	        "already holds");
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev"), -EEXIST,
	        a->device_id);
	attach_err(REQ(.container_id = "c1", .ifname = "net1",
	                   .device_id = strcmp(a->device_id, "vu-7") ? "vu-7" : "vu-6"),
	        -EEXIST, "detach it first");
	/* Untouched by the refusals. */
	assert_ptr_equal(alloc_find("c1", "net1"), a);
	assert_string_equal(a->network, "net-a");
}

/* Names, paths and ranges are the API decoder's to check (test_apimsg); what is left here is
 * what only the allocator knows. */
static void test_bad_arguments(void **state)
{
	(void)state;
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .devtype = "warp"), -EINVAL,
	        "unknown deviceType");
	assert_int_equal(state_seq(F.st), 0);
}

/* ---- deviceID ---- */

static void test_device_id(void **state)
{
	struct alloc *a;

	(void)state;
	core_restart(POOL_VU8 "  - name: hw\n    type: fake-dev\n    count: 4\n");
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-5",
	                      .pod = {.ns = "default", .name = "web-0"}),
	        false);
	assert_string_equal(a->device_id, "vu-5");
	assert_string_equal(a->pool, "vu");
	/* deviceID plus its own pool, by name and by resource name. */
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-3",
	                      .pool = "kbnet.io/vu"),
	        false);
	assert_string_equal(a->device_id, "vu-3");

	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-99"), -ENODEV,
	        "unknown device 'vu-99'");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "hw-f1"), -EINVAL,
	        "is a fake-dev device, not virtio-user");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "hw-f1",
	                   .devtype = "fake-dev", .pool = "vu"),
	        -EINVAL, "pool 'vu' holds virtio-user devices, not fake-dev");
	core_reload(POOL_VU8 "  - name: vu2\n    type: virtio-user\n    count: 2\n"
	                     "  - name: hw\n    type: fake-dev\n    count: 4\n");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu2-1", .pool = "vu"),
	        -EINVAL, "belongs to pool 'vu2', not 'vu'");
	/* Held by another attachment: the message names the holder and its pod. */
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-5"), -EBUSY,
	        "device vu-5 is held by container c1/net1 (pod default/web-0)");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-3"), -EBUSY,
	        "held by container c2/net1");
	/* Unhealthy. */
	inv_device_set_health(dev("vu-6"), false, "link down");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-6"), -ENODEV,
	        "vu-6 is unhealthy: link down");
	/* The holder check comes first: a held unhealthy device is reported as held. */
	inv_device_set_health(dev("vu-5"), false, "link down");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-5"), -EBUSY,
	        "held by");
	assert_int_equal(obs.failed, 8);
	assert_int_equal(obs.last_failed_errno, EBUSY);
}

static void test_exhaustion(void **state)
{
	char cid[32];

	(void)state;
	core_restart("  - name: vu\n    type: virtio-user\n    count: 3\n");
	for (int i = 0; i < 3; i++) {
		snprintf(cid, sizeof(cid), "c%d", i);
		attach_ok(REQ(.container_id = cid, .ifname = "net1"), false);
	}
	attach_err(REQ(.container_id = "c9", .ifname = "net1"), -ENOSPC,
	        "pool vu has no free device (3 of 3 allocated, 3 healthy)");
	/* A released device is allocatable again; an unhealthy free one is not. */
	assert_int_equal(detach("c1", "net1"), 1);
	inv_device_set_health(dev("vu-1"), false, "test");
	attach_err(REQ(.container_id = "c9", .ifname = "net1"), -ENOSPC, "2 healthy");
	inv_device_set_health(dev("vu-1"), true, NULL);
	assert_string_equal(
	        attach_ok(REQ(.container_id = "c9", .ifname = "net1"), false)->device_id, "vu-1");
}

/* Devices kubelet assigned to a pod (device-plugin Allocate) are reserved: only the attachment
 * that names them gets them. */
static void test_reserved_devices(void **state)
{
	struct kb_err err = {0};
	json_t *o;

	(void)state;
	core_restart("  - name: vu\n    type: virtio-user\n    count: 3\n");
	inv_device_reserve(dev("vu-0"), 1000);
	inv_device_reserve(dev("vu-1"), 1000);
	check_invariants();
	assert_int_equal(inv_pool_find("vu")->n_free, 1);
	assert_int_equal(inv_pool_find("vu")->n_reserved, 2);
	/* Free picks skip them... */
	assert_string_equal(
	        attach_ok(REQ(.container_id = "c0", .ifname = "net1"), false)->device_id, "vu-2");
	attach_err(REQ(.container_id = "c9", .ifname = "net1"), -ENOSPC,
	        "1 of 3 allocated, 3 healthy, 2 reserved by kubelet");
	/* ...naming the ID is not enough: until PodResources says which pod kubelet chose, the
	 * attach waits (EAGAIN); then another pod is refused... */
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-1",
	                   .pod = {.ns = "default", .name = "web-0"}),
	        -EAGAIN, "reserved by kubelet");
	dp_reconcile_owner_set("vu-1", "default", "web-0");
	attach_err(REQ(.container_id = "c8", .ifname = "net1", .device_id = "vu-1",
	                   .pod = {.ns = "other", .name = "web-0"}),
	        -EBUSY, "reserved by kubelet for another pod");
	attach_err(REQ(.container_id = "c8", .ifname = "net1", .device_id = "vu-1"), -EBUSY,
	        "reserved by kubelet for another pod");
	/* ...and the pod kubelet chose gets its device by ID. */
	assert_string_equal(
	        attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-1",
	                          .pod = {.ns = "default", .name = "web-0"}),
	                false)
	                ->device_id,
	        "vu-1");
	check_invariants();
	/* Released while still reserved: back to reserved, not to the free list. */
	assert_int_equal(detach("c1", "net1"), 1);
	assert_int_equal(inv_pool_find("vu")->n_free, 0);
	o = inv_device_to_json(dev("vu-1"));
	assert_true(json_is_true(json_object_get(o, "reserved")));
	json_decref(o);
	/* Kubelet let go of it: free for anyone. */
	inv_device_reserve(dev("vu-1"), 0);
	inv_device_reserve(dev("vu-1"), 0);
	assert_int_equal(inv_pool_find("vu")->n_reserved, 1);
	assert_string_equal(
	        attach_ok(REQ(.container_id = "c9", .ifname = "net1"), false)->device_id, "vu-1");
	/* An unhealthy reserved device is refused even by ID. */
	inv_device_set_health(dev("vu-0"), false, "test");
	attach_err(REQ(.container_id = "c5", .ifname = "net1", .device_id = "vu-0"), -ENODEV,
	        "unhealthy");
	(void)err;
	check_invariants();
}

static void test_free_list_is_fifo(void **state)
{
	struct alloc *a;

	(void)state;
	/* A released device goes to the back: the last to be reused, which gives a late DEL
	 * from the previous holder the longest time to find nothing. */
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1"), false);
	assert_string_equal(a->device_id, "vu-0");
	assert_int_equal(detach("c1", "net1"), 1);
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1"), false);
	assert_string_equal(a->device_id, "vu-1");
}

static void test_several_pools_need_a_pool(void **state)
{
	struct alloc *a;

	(void)state;
	core_restart(POOL_VU8 "  - name: vu2\n    type: virtio-user\n    count: 2\n"
	                      "  - name: hw\n    type: fake-dev\n    count: 2\n");
	attach_err(REQ(.container_id = "c1", .ifname = "net1"), -EINVAL,
	        "2 pools hold virtio-user devices: set resourceName");
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .pool = "vu2"), false);
	assert_string_equal(a->pool, "vu2");
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1", .pool = "kbnet.io/vu"), false);
	assert_string_equal(a->pool, "vu");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .pool = "example.com/vu"), -ENODEV,
	        "not served by this agent");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .pool = "nope"), -ENODEV,
	        "unknown pool 'nope'");
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .pool = "hw"), -EINVAL,
	        "pool 'hw' holds fake-dev devices");
	/* The only pool of its type needs no name. */
	a = attach_ok(REQ(.container_id = "c3", .ifname = "net1", .devtype = "fake-dev"), false);
	assert_string_equal(a->pool, "hw");
	core_restart("  - name: hw\n    type: fake-dev\n    count: 2\n");
	attach_err(REQ(.container_id = "c4", .ifname = "net1"), -ENODEV,
	        "no pool of type virtio-user");
}

/* ---- failures in the middle of an attach leave nothing behind ---- */

static void test_attach_failure_rolls_back(void **state)
{
	(void)state;
	core_restart("  - name: hw\n    type: fake-dev\n    count: 1\n");
	fake.fail_attach = EIO;
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev"), -EIO,
	        "fake attach failed");
	fake.fail_attach = 0;
	obs.veto = EPERM;
	attach_err(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev"), -EPERM,
	        "vetoed");
	/* The provider's attach was undone. */
	assert_int_equal(fake.detaches, 1);
	obs.veto = 0;
	assert_int_equal(dev("hw-f0")->pool->n_free, 1);
	assert_int_equal(state_seq(F.st), 0);
	attach_ok(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev"), false);
}

/* ---- detach ---- */

static void test_detach_idempotent_and_scoped(void **state)
{
	json_t *rel = NULL;
	struct kb_err err = {0};
	struct alloc *a;

	(void)state;
	core_restart("  - name: vu\n    type: virtio-user\n    count: 1\n"
	             "  - name: vu2\n    type: virtio-user\n    count: 2\n");
	attach_ok(REQ(.container_id = "old", .ifname = "net1", .pool = "vu"), false);
	attach_ok(REQ(.container_id = "old", .ifname = "net2", .pool = "vu2"), false);
	assert_int_equal(alloc_detach("old", "net1", &rel, &err), 1);
	assert_string_equal(json_string_value(json_object_get(rel, "deviceID")), "vu-0");
	json_decref(rel);
	/* Only that key: the other interface of the container stays. */
	assert_non_null(alloc_find("old", "net2"));
	assert_int_equal(detach("old", "net1"), 0);
	assert_int_equal(detach("never", "net1"), 0);
	/* The device goes to a new pod; a late DEL from the old container must not free it. */
	a = attach_ok(REQ(.container_id = "new", .ifname = "net1", .pool = "vu"), false);
	assert_string_equal(a->device_id, "vu-0");
	assert_int_equal(detach("old", "net1"), 0);
	assert_ptr_equal(dev("vu-0")->holder, a);
	/* Detach records are durable too. */
	assert_int_equal(detach("old", "net2"), 1);
	core_restart(NULL);
	assert_null(alloc_find("old", "net2"));
	assert_non_null(alloc_find("new", "net1"));
	assert_int_equal(alloc_count(), 1);
}

/* ---- randomised run against a model ---- */

#define R_KEYS 24
#define R_DEVS 8

static void test_random_no_double_hold(void **state)
{
	/* model: key -> device index held, -1 when none */
	int model[R_KEYS], ops = 6000;
	bool unhealthy[R_DEVS] = {0};
	unsigned seed = 12345;
	const char *env = getenv("KB_SEED");

	(void)state;
	if (env)
		seed = strtoul(env, NULL, 0);
	print_message("seed %u (KB_SEED=N to replay)\n", seed);
	srandom(seed);
	for (int i = 0; i < R_KEYS; i++)
		model[i] = -1;
	for (int op = 0; op < ops; op++) {
		int k = random() % R_KEYS, r = random() % 100, held_by[R_DEVS];
		char cid[32], ifname[8], devid[16];
		bool any_free = false;

		snprintf(cid, sizeof(cid), "ctr%d", k / 2);
		snprintf(ifname, sizeof(ifname), "net%d", k % 2);
		for (int d = 0; d < R_DEVS; d++)
			held_by[d] = -1;
		for (int i = 0; i < R_KEYS; i++)
			if (model[i] >= 0)
				held_by[model[i]] = i;
		for (int d = 0; d < R_DEVS; d++)
			any_free = any_free || (held_by[d] < 0 && !unhealthy[d]);

		if (r < 40) { /* attach, any device */
			if (model[k] >= 0) {
				struct alloc *a =
				        attach_ok(REQ(.container_id = cid, .ifname = ifname), true);
				snprintf(devid, sizeof(devid), "vu-%d", model[k]);
				assert_string_equal(a->device_id, devid);
			} else if (any_free) {
				struct alloc *a = attach_ok(
				        REQ(.container_id = cid, .ifname = ifname), false);
				int d = atoi(a->device_id + 3);
				assert_true(held_by[d] < 0);
				assert_false(unhealthy[d]);
				model[k] = d;
			} else {
				attach_err(
				        REQ(.container_id = cid, .ifname = ifname), -ENOSPC, NULL);
			}
		} else if (r < 60) { /* attach a named device */
			int d = random() % R_DEVS;
			snprintf(devid, sizeof(devid), "vu-%d", d);
			if (model[k] >= 0 && model[k] == d)
				attach_ok(REQ(.container_id = cid, .ifname = ifname,
				                  .device_id = devid),
				        true);
			else if (model[k] >= 0)
				attach_err(REQ(.container_id = cid, .ifname = ifname,
				                   .device_id = devid),
				        -EEXIST, NULL);
			else if (held_by[d] >= 0)
				attach_err(REQ(.container_id = cid, .ifname = ifname,
				                   .device_id = devid),
				        -EBUSY, "held by");
			else if (unhealthy[d])
				attach_err(REQ(.container_id = cid, .ifname = ifname,
				                   .device_id = devid),
				        -ENODEV, "unhealthy");
			else {
				attach_ok(REQ(.container_id = cid, .ifname = ifname,
				                  .device_id = devid),
				        false);
				model[k] = d;
			}
		} else if (r < 90) { /* detach */
			assert_int_equal(detach(cid, ifname), model[k] >= 0);
			model[k] = -1;
		} else if (r < 97) { /* health flap */
			int d = random() % R_DEVS;
			snprintf(devid, sizeof(devid), "vu-%d", d);
			unhealthy[d] = !unhealthy[d];
			inv_device_set_health(dev(devid), !unhealthy[d], "flap");
			check_invariants();
		} else if (r < 98) { /* restart: state reloaded, health starts over */
			core_restart(NULL);
			memset(unhealthy, 0, sizeof(unhealthy));
			check_invariants();
		} else {
			commit();
		}
		/* The allocator agrees with the model. */
		assert_int_equal(alloc_count(), (size_t)({
			int n = 0;
			for (int i = 0; i < R_KEYS; i++)
				n += model[i] >= 0;
			n;
		}));
	}
	core_restart(NULL);
	for (int k = 0; k < R_KEYS; k++) {
		char cid[32], ifname[8], devid[16];
		struct alloc *a;
		snprintf(cid, sizeof(cid), "ctr%d", k / 2);
		snprintf(ifname, sizeof(ifname), "net%d", k % 2);
		a = alloc_find(cid, ifname);
		if (model[k] < 0) {
			assert_null(a);
			continue;
		}
		assert_non_null(a);
		snprintf(devid, sizeof(devid), "vu-%d", model[k]);
		assert_string_equal(a->device_id, devid);
	}
}

/* ---- gc ---- */

static json_t *call(const char *js, uid_t uid)
{
	json_t *req = json_loads(js, 0, NULL), *reply;
	bool changed;

	assert_non_null(req);
	reply = srv_dispatch(req, uid, 1, &changed);
	json_decref(req);
	return reply;
}

static void test_gc_per_network(void **state)
{
	json_t *reply, *rel;

	(void)state;
	attach_ok(REQ(.container_id = "a", .ifname = "net1", .network = "n1"), false);
	attach_ok(REQ(.container_id = "b", .ifname = "net1", .network = "n1"), false);
	attach_ok(REQ(.container_id = "b", .ifname = "net2", .network = "n1"), false);
	attach_ok(REQ(.container_id = "c", .ifname = "net1", .network = "n2"), false);
	reply = call("{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n1\",\"valid\":["
	             "{\"containerID\":\"b\",\"ifname\":\"net1\"},"
	             "{\"containerID\":\"c\",\"ifname\":\"net9\"}]}}",
	        0);
	assert_true(json_is_true(json_object_get(reply, "ok")));
	rel = json_object_get(json_object_get(reply, "result"), "released");
	assert_int_equal(json_array_size(rel), 2);
	json_decref(reply);
	check_invariants();
	assert_null(alloc_find("a", "net1"));
	assert_null(alloc_find("b", "net2"));
	assert_non_null(alloc_find("b", "net1"));
	/* Another network's allocations are not the caller's to collect. */
	assert_non_null(alloc_find("c", "net1"));
	/* Empty valid list: everything of that network goes. */
	reply = call("{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n2\",\"valid\":[]}}", 0);
	assert_int_equal(
	        json_array_size(json_object_get(json_object_get(reply, "result"), "released")), 1);
	json_decref(reply);
	assert_null(alloc_find("c", "net1"));
	assert_int_equal(alloc_count(), 1);
	/* Malformed valid lists are refused and release nothing. */
	reply = call(
	        "{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n1\",\"valid\":[{}]}}", 0);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
	        "EINVAL");
	assert_non_null(strstr(
	        json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
	        "valid[0]"));
	json_decref(reply);
	reply = call(
	        "{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n1\",\"valid\":[\"x\"]}}", 0);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
	        "EINVAL");
	json_decref(reply);
	reply = call("{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n1\"}}", 0);
	assert_false(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	assert_non_null(alloc_find("b", "net1"));
	core_restart(NULL);
	assert_int_equal(alloc_count(), 1);
}

/* ---- restart ---- */

static void test_restore_after_restart(void **state)
{
	struct alloc *a;
	char mac[MAC_STR_LEN];
	json_t *j;

	(void)state;
	a = attach_ok(
	        REQ(.container_id = "c1", .ifname = "net1", .netns = "/var/run/netns/x",
	                .mtu = 9000, .vlan = 42, .has_mac = true,
	                .mac = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}},
	                .pod = {.ns = "default", .name = "web-0", .uid = "u-1", .infra_id = "c1"}),
	        false);
	attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-6"), false);
	attach_ok(REQ(.container_id = "c3", .ifname = "net1"), false);
	assert_int_equal(detach("c3", "net1"), 1);
	assert_string_equal(a->device_id, "vu-0");
	core_restart(NULL);
	assert_int_equal(alloc_count(), 2);
	assert_int_equal(obs.restored, 2);
	a = alloc_find("c1", "net1");
	assert_non_null(a);
	/* Everything the attachment said comes back. */
	assert_ptr_equal(a->dev, dev("vu-0"));
	assert_string_equal(a->netns, "/var/run/netns/x");
	assert_int_equal(a->mtu, 9000);
	assert_int_equal(a->vlan, 42);
	mac_format(&a->mac, mac);
	assert_string_equal(mac, "02:11:22:33:44:55");
	assert_string_equal(a->pod.ns, "default");
	assert_string_equal(a->pod.name, "web-0");
	assert_string_equal(a->pod.uid, "u-1");
	assert_string_equal(a->pod.infra_id, "c1");
	j = alloc_to_json(a);
	assert_null(json_object_get(j, "orphaned"));
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "vhostUser"), "socketPath")),
	        vport_alloc_data(a)->socket_path);
	{
		struct apimsg_alloc v;
		struct kb_err e = {0};
		assert_int_equal(apimsg_alloc_decode(j, &v, &e), 0);
		assert_string_equal(v.endpoint.socket_path, vport_alloc_data(a)->socket_path);
		assert_false(v.endpoint.netdev);
		assert_null(v.endpoint.pci_address);
	}
	json_decref(j);
	/* The state record: versioned, only what restore needs. */
	j = alloc_record_json(a);
	assert_int_equal(json_integer_value(json_object_get(j, "record")), 2);
	assert_null(json_object_get(j, "deviceInfo"));
	assert_null(json_object_get(j, "resourceName"));
	assert_null(json_object_get(j, "endpoint"));
	assert_non_null(json_object_get(j, "vhostUser"));
	json_decref(j);
	assert_ptr_equal(alloc_find("c2", "net1")->dev, dev("vu-6"));
	/* Rebound devices are not handed out again. */
	for (int i = 0; i < 6; i++) {
		char cid[16];
		snprintf(cid, sizeof(cid), "n%d", i);
		a = attach_ok(REQ(.container_id = cid, .ifname = "net1"), false);
		assert_string_not_equal(a->device_id, "vu-0");
		assert_string_not_equal(a->device_id, "vu-6");
	}
	attach_err(REQ(.container_id = "n9", .ifname = "net1"), -ENOSPC, NULL);
	/* An idempotent attach still answers "existing" after the restart. */
	attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-6"), true);
	/* Restart without a commit in between loses nothing acknowledged: core_stop commits,
	 * as the agent does on SIGTERM. */
	core_restart(NULL);
	assert_int_equal(alloc_count(), 8);
	check_invariants();
}

static void test_restore_orphans(void **state)
{
	struct kb_err err = {0};
	struct alloc *a;
	json_t *j;

	(void)state;
	attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-7"), false);
	attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-1"), false);
	/* The device vu-7 is gone when the agent comes back (pool shrunk). */
	core_restart("  - name: vu\n    type: virtio-user\n    count: 4\n");
	check_invariants();
	a = alloc_find("c1", "net1");
	assert_non_null(a);
	assert_null(a->dev);
	j = alloc_to_json(a);
	assert_true(json_is_true(json_object_get(j, "orphaned")));
	assert_string_equal(json_string_value(json_object_get(j, "resourceName")), "kbnet.io/vu");
	json_decref(j);
	assert_int_equal(alloc_check(a, &err), -EIO);
	assert_non_null(strstr(err.msg, "vu-7 no longer exists"));
	assert_non_null(alloc_find("c2", "net1")->dev);
	/* An orphan can still be detached (DEL must succeed). */
	assert_int_equal(detach("c1", "net1"), 1);
	/* Whole pool gone across a restart. */
	core_restart("  - name: other\n    type: virtio-user\n    count: 2\n");
	a = alloc_find("c2", "net1");
	assert_non_null(a);
	assert_null(a->dev);
	assert_int_equal(detach("c2", "net1"), 1);
	assert_int_equal(alloc_count(), 0);
}

static void test_corrupt_state_starts_empty(void **state)
{
	char snap[PATH_MAX];
	struct kb_err err = {0};
	int fd;

	(void)state;
	attach_ok(REQ(.container_id = "c1", .ifname = "net1"), false);
	commit();
	assert_int_equal(state_compact(F.st, &err), 0);
	core_stop();
	snprintf(snap, sizeof(snap), "%s/%s", F.state_dir, STATE_SNAPSHOT);
	fd = open(snap, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 40), 1);
	close(fd);
	core_start(NULL);
	assert_int_equal(F.load_err.errnum, EBADMSG);
	assert_non_null(strstr(F.load_err.msg, "moved aside to"));
	assert_int_equal(alloc_count(), 0);
	check_invariants();
	/* And it works from there. */
	attach_ok(REQ(.container_id = "c2", .ifname = "net1"), false);
	core_restart(NULL);
	assert_int_equal(F.load_err.errnum, 0);
	assert_int_equal(alloc_count(), 1);
}

static void test_bad_state_record_refuses_start(void **state)
{
	char journal[PATH_MAX], line[512];
	const char *js = "{\"seq\":1,\"key\":\"c1/net1\",\"value\":{\"deviceType\":\"warp\"}}";
	struct kb_err err = {0};
	int fd;

	(void)state;
	core_stop();
	snprintf(journal, sizeof(journal), "%s/%s", F.state_dir, STATE_JOURNAL);
	snprintf(line, sizeof(line), "%08lx %s\n", crc32(0, (const unsigned char *)js, strlen(js)),
	        js);
	fd = open(journal, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
	/* A well-formed record the allocator cannot take is a hard error, not silent loss. */
	F.cfg = make_cfg(F.run, F.pools);
	assert_int_equal(inv_init(F.cfg, &err), 0);
	assert_int_equal(state_open(F.state_dir, &F.st, &err), 0);
	assert_int_equal(alloc_init(F.st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown deviceType 'warp'"));
	assert_non_null(strstr(err.msg, "c1/net1"));
	alloc_fini();
	inv_fini();
	state_close(F.st);
	cfg_free(F.cfg);
	F.cfg = NULL;
	unlink(journal);
	core_start(NULL);
}

/* Rewrite every journal line with `from` replaced by `to`, checksums recomputed: state that
 * is well-formed but wrong, as a bug elsewhere could have written it. */
static void rewrite_journal(const char *from, const char *to)
{
	char path[PATH_MAX], *data = NULL, *out, *line, *save = NULL;
	size_t len, off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", F.state_dir, STATE_JOURNAL);
	assert_int_equal(fs_read_file(path, 1 << 20, &data, &len), 0);
	out = calloc(1, 2 * len + 4096);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char js[8192], *hit;
		snprintf(js, sizeof(js), "%s", line + 9);
		while ((hit = strstr(js, from))) {
			char rest[8192];
			snprintf(rest, sizeof(rest), "%s", hit + strlen(from));
			snprintf(hit, sizeof(js) - (hit - js), "%s%s", to, rest);
		}
		off += sprintf(out + off, "%08lx %s\n",
		        crc32(0, (const unsigned char *)js, strlen(js)), js);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, out, off), (ssize_t)off);
	close(fd);
	free(out);
	free(data);
}

static void copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len;

	assert_int_equal(fs_read_file(from, 1 << 20, &data, &len), 0);
	assert_int_equal(fs_write_atomic(to, data, len, 0600), 0);
	free(data);
}

/* Start the core expecting alloc_init to refuse the state with `want` in the message. */
static void core_start_refused(int errnum, const char *want)
{
	struct kb_err err = {0};

	F.cfg = make_cfg(F.run, F.pools);
	assert_int_equal(inv_init(F.cfg, &err), 0);
	assert_int_equal(state_open(F.state_dir, &F.st, &err), 0);
	assert_int_equal(alloc_init(F.st, &err), -errnum);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not say '%s'", err.msg, want);
	alloc_fini();
	inv_fini();
	state_close(F.st);
	cfg_free(F.cfg);
	F.cfg = NULL;
}

/*
 * A tampered journal names a socket outside runDir: restore must not create its directory
 * and detach must not unlink there. A path of another shape is refused (the agent does not
 * start); one of the right shape under another runDir (runDir changed) keeps the allocation
 * without its socket.
 */
static void test_vport_restore_confined_to_run_dir(void **state)
{
	char from[PATH_MAX], to[PATH_MAX], victim[PATH_MAX], planted[PATH_MAX];
	char journal[PATH_MAX], saved[PATH_MAX];
	struct kb_err err = {0};

	(void)state;
	attach_ok(REQ(.container_id = "c1", .ifname = "net1", .pod = {.uid = "u1"}), false);
	commit();
	core_stop();
	snprintf(journal, sizeof(journal), "%s/%s", F.state_dir, STATE_JOURNAL);
	snprintf(saved, sizeof(saved), "%s/journal.saved", F.dir);
	copy_file(journal, saved);

	/* Another shape: <dir>/victim/net1.sock. */
	snprintf(from, sizeof(from), "%s/pods/u1", F.run);
	snprintf(victim, sizeof(victim), "%s/victim", F.dir);
	rewrite_journal(from, victim);
	core_start_refused(EINVAL, "is not one attach makes");
	assert_false(exists(victim));
	/* The refused files are left as they are for the operator. */
	assert_true(exists(journal));

	/* The right shape under another directory: kept, but nothing made or removed there. */
	copy_file(saved, journal);
	snprintf(to, sizeof(to), "%s/elsewhere", F.dir);
	rewrite_journal(F.run, to);
	snprintf(victim, sizeof(victim), "%s/elsewhere/pods/u1", F.dir);
	core_start(NULL);
	assert_int_equal(alloc_count(), 1);
	assert_false(exists(victim));
	/* Kept without its socket, it is persisted so (found by the state fuzz target: the
	 * compacted snapshot named socket path "" and the next start refused it). */
	assert_int_equal(state_compact(F.st, &err), 0);
	core_stop();
	core_start(NULL);
	assert_int_equal(alloc_count(), 1);
	assert_false(exists(victim));
	assert_int_equal(fs_mkdir_p(victim, 0700), 0);
	snprintf(planted, sizeof(planted), "%s/net1.sock", victim);
	assert_int_equal(fs_write_atomic(planted, "x", 1, 0600), 0);
	assert_int_equal(detach("c1", "net1"), 1);
	assert_true(exists(planted));
	assert_int_equal(alloc_count(), 0);
	unlink(saved);
}

/* Journal records are validated as strictly as attach requests: each bad field stops the
 * start with a message naming it, and the files stay for the operator. */
static void test_state_records_validated(void **state)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	        {"\"mtu\":1500", "\"mtu\":99999", "'mtu' must be an integer in [68, 65535]"},
	        {"\"mtu\":1500", "\"mtu\":\"1500\"", "'mtu'"},
	        {"\"namespace\":\"default\"", "\"namespace\":\"../x\"", "pod: 'namespace'"},
	        {"\"name\":\"web-0\"", "\"name\":7", "'name' must be a string"},
	        {"\"uid\":\"u1\"", "\"uid\":\"../../etc\"", "pod: 'uid'"},
	        {"\"created\":\"2", "\"created\":\"x2", "'created'"},
	        {"\"queues\":1", "\"queues\":0", "queues must be an integer in [1, 16]"},
	        {"\"agentMode\":\"client\"", "\"agentMode\":\"sideways\"", "agentMode"},
	        {"\"claim\":", "\"claim\" :-", "claim"},
	};
	char journal[PATH_MAX], saved[PATH_MAX];

	(void)state;
	attach_ok(REQ(.container_id = "c1", .ifname = "net1",
	                  .pod = {.ns = "default", .name = "web-0", .uid = "u1"}),
	        false);
	commit();
	core_stop();
	snprintf(journal, sizeof(journal), "%s/%s", F.state_dir, STATE_JOURNAL);
	snprintf(saved, sizeof(saved), "%s/journal.saved", F.dir);
	copy_file(journal, saved);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy_file(saved, journal);
		rewrite_journal(cases[i].from, cases[i].to);
		core_start_refused(EINVAL, cases[i].want);
	}
	/* A record of a newer format is not guessed at: the start stops, nothing dropped. */
	copy_file(saved, journal);
	rewrite_journal("\"record\":2", "\"record\":3");
	core_start_refused(EPROTONOSUPPORT, "record format newer");
	copy_file(saved, journal);
	rewrite_journal("\"record\":2", "\"record\":\"2\"");
	core_start_refused(EPROTONOSUPPORT, "record format unknown");
	/* Format 1 (no "record": what 0.1.0 wrote) restores. */
	copy_file(saved, journal);
	rewrite_journal("\"record\":2,", "");
	core_start(NULL);
	assert_int_equal(alloc_count(), 1);
	core_stop();
	copy_file(saved, journal);
	core_start(NULL);
	assert_int_equal(alloc_count(), 1);
	unlink(saved);
}

static void test_restore_never_binds_a_device_twice(void **state)
{
	struct alloc *a, *b;

	(void)state;
	attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-3"), false);
	attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-4"), false);
	core_stop();
	rewrite_journal("vu-4", "vu-3"); /* both records now claim vu-3 */
	core_start(NULL);
	check_invariants();
	a = alloc_find("c1", "net1");
	b = alloc_find("c2", "net1");
	assert_non_null(a);
	assert_non_null(b);
	/* One holds it, the other is an orphan; vu-4 is free again. */
	assert_true((a->dev != NULL) != (b->dev != NULL));
	assert_null(dev("vu-4")->holder);
	assert_true(dev("vu-4")->on_free_list);
}

/* ---- rediscovery and reload ---- */

static void test_device_gone_while_held(void **state)
{
	struct kb_err err = {0};
	struct alloc *a;
	struct device *d;

	(void)state;
	core_restart("  - name: hw\n    type: fake-dev\n    count: 4\n");
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev",
	                      .device_id = "hw-f2"),
	        false);
	fake.absent[2] = true;
	fake.absent[3] = true;
	inv_rescan();
	check_invariants();
	/* The free one is dropped; the held one stays, unhealthy, until released. */
	assert_null(inv_device_find("hw-f3"));
	d = dev("hw-f2");
	assert_true(d->gone);
	assert_false(d->healthy);
	assert_ptr_equal(d->holder, a);
	assert_int_equal(alloc_check(a, &err), -EIO);
	assert_non_null(strstr(err.msg, "device disappeared"));
	attach_err(REQ(.container_id = "c2", .ifname = "net1", .devtype = "fake-dev",
	                   .device_id = "hw-f3"),
	        -ENODEV, "unknown device");
	/* It cannot be made healthy while gone. */
	inv_device_set_health(d, true, NULL);
	assert_false(d->healthy);
	assert_int_equal(detach("c1", "net1"), 1);
	assert_null(inv_device_find("hw-f2"));
	/* Back on the next scan, healthy and free. */
	fake.absent[2] = false;
	inv_rescan();
	check_invariants();
	assert_true(dev("hw-f2")->healthy);
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1", .devtype = "fake-dev",
	                      .device_id = "hw-f2"),
	        false);
	/* Gone and back while held: healthy again, still held by the same attachment. */
	fake.absent[2] = true;
	inv_rescan();
	fake.absent[2] = false;
	inv_rescan();
	assert_true(dev("hw-f2")->healthy);
	assert_ptr_equal(dev("hw-f2")->holder, a);
	check_invariants();
}

/* Pool-change notifications (what wakes ListAndWatch streams) only for real changes. */
static unsigned pool_changes;
static void count_pool_changed(struct pool *p)
{
	(void)p;
	pool_changes++;
}
static struct inv_observer change_counter = {.pool_changed = count_pool_changed};

static void test_rescan_notifies_only_changes(void **state)
{
	static bool registered;

	(void)state;
	if (!registered) {
		inv_observer_register(&change_counter);
		registered = true;
	}
	core_restart("  - name: hw\n    type: fake-dev\n    count: 4\n");
	pool_changes = 0;
	inv_rescan();
	inv_rescan();
	assert_int_equal(pool_changes, 0); /* nothing appeared, vanished or moved */
	fake.absent[1] = true;
	inv_rescan();
	assert_int_equal(pool_changes, 1); /* a device vanished */
	inv_rescan();
	assert_int_equal(pool_changes, 1);
	fake.absent[1] = false;
	inv_rescan();
	assert_int_equal(pool_changes, 2); /* and came back */
	/* Health changes notify on their own, once per change. */
	inv_device_set_health(dev("hw-f0"), false, "link down");
	inv_device_set_health(dev("hw-f0"), false, "link down");
	assert_int_equal(pool_changes, 3);
	inv_device_set_health(dev("hw-f0"), true, NULL);
	assert_int_equal(pool_changes, 4);
	check_invariants();
}

static void test_failed_discovery_keeps_devices(void **state)
{
	(void)state;
	core_restart("  - name: hw\n    type: fake-dev\n    count: 4\n");
	attach_ok(REQ(.container_id = "c1", .ifname = "net1", .devtype = "fake-dev"), false);
	fake.fail_discover = true;
	inv_rescan();
	fake.fail_discover = false;
	check_invariants();
	assert_int_equal(inv_device_count(), 4);
	assert_true(dev("hw-f0")->healthy);
	assert_true(dev("hw-f1")->healthy);
}

static void test_reload_removes_pool(void **state)
{
	struct alloc *a;

	(void)state;
	core_restart(POOL_VU8 "  - name: old\n    type: virtio-user\n    count: 3\n");
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .pool = "old"), false);
	core_reload(POOL_VU8);
	check_invariants();
	/* Held devices of a removed pool stay with their holder. */
	assert_true(a->dev->pool->removed);
	assert_false(a->dev->healthy);
	assert_int_equal(inv_device_count(), 9);
	assert_null(inv_pool_find("old"));
	attach_err(REQ(.container_id = "c2", .ifname = "net1", .pool = "old"), -ENODEV,
	        "unknown pool 'old'");
	attach_err(REQ(.container_id = "c2", .ifname = "net1", .device_id = a->device_id), -ENODEV,
	        "removed pool");
	/* With one virtio-user pool left, no pool name is needed any more. */
	assert_string_equal(
	        attach_ok(REQ(.container_id = "c2", .ifname = "net1"), false)->pool, "vu");
	assert_int_equal(inv_pool_count(), 2);
	assert_int_equal(detach("c1", "net1"), 1);
	/* Last device released: the pool is gone for good. */
	assert_int_equal(inv_pool_count(), 1);
	assert_int_equal(inv_device_count(), 8);
	check_invariants();
}

static void test_reload_readds_pool_with_held_device(void **state)
{
	struct alloc *a;

	(void)state;
	core_restart("  - name: vu\n    type: virtio-user\n    count: 4\n");
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-1"), false);
	core_reload("  - name: other\n    type: virtio-user\n    count: 1\n");
	/* The pool comes back while its old incarnation still holds vu-1: the new pool must get
	 * every other device at once, and vu-1 when it is released. */
	core_reload("  - name: other\n    type: virtio-user\n    count: 1\n"
	            "  - name: vu\n    type: virtio-user\n    count: 4\n");
	check_invariants();
	assert_ptr_equal(dev("vu-1")->holder, a);
	assert_non_null(inv_device_find("vu-0"));
	assert_non_null(inv_device_find("vu-2"));
	assert_non_null(inv_device_find("vu-3"));
	assert_int_equal(inv_pool_find("vu")->n_free, 3);
	assert_int_equal(detach("c1", "net1"), 1);
	check_invariants();
	assert_ptr_equal(dev("vu-1")->pool, inv_pool_find("vu"));
	assert_int_equal(inv_pool_find("vu")->n_free, 4);
}

static void test_reload_shrinks_pool_while_held(void **state)
{
	struct alloc *a;

	(void)state;
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-7"), false);
	core_reload("  - name: vu\n    type: virtio-user\n    count: 4\n");
	check_invariants();
	assert_int_equal(inv_device_count(), 5);
	assert_true(dev("vu-7")->gone);
	assert_ptr_equal(dev("vu-7")->holder, a);
	assert_int_equal(detach("c1", "net1"), 1);
	assert_int_equal(inv_device_count(), 4);
	/* Grows back. */
	core_reload(POOL_VU8);
	assert_int_equal(inv_device_count(), 8);
	assert_int_equal(inv_pool_find("vu")->n_free, 8);
	check_invariants();
}

/* ---- virtio-user specifics ---- */

static void test_vport_socket_paths(void **state)
{
	const struct vport_alloc *v;
	char want[PATH_MAX], buf[108];
	struct alloc *a;
	json_t *j, *di;

	(void)state;
	/* With a pod UID: the pod's own directory, one socket per interface. */
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .pod = {.uid = "uid-1"}), false);
	v = vport_alloc_data(a);
	snprintf(want, sizeof(want), "%s/pods/uid-1/net1.sock", F.run);
	assert_string_equal(v->socket_path, want);
	snprintf(want, sizeof(want), "%s/pods/uid-1", F.run);
	assert_string_equal(vport_socket_dir(v, buf, sizeof(buf)), want);
	assert_true(exists(want));
	assert_int_equal(v->mode, VPORT_AGENT_CLIENT);
	j = alloc_to_json(a);
	di = json_object_get(j, "deviceInfo");
	assert_string_equal(json_string_value(json_object_get(di, "type")), "vhost-user");
	assert_string_equal(json_string_value(json_object_get(di, "version")), "1.1.0");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(di, "vhost-user"), "mode")),
	        "server");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(di, "vhost-user"), "path")),
	        v->socket_path);
	json_decref(j);
	/* A second interface of the pod shares the directory. */
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net2", .pod = {.uid = "uid-1"}), false);
	snprintf(want, sizeof(want), "%s/pods/uid-1/net2.sock", F.run);
	assert_string_equal(vport_alloc_data(a)->socket_path, want);
	/* No pod UID: keyed by the container ID. */
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1"), false);
	snprintf(want, sizeof(want), "%s/pods/c2/net1.sock", F.run);
	assert_string_equal(vport_alloc_data(a)->socket_path, want);
	/* With a deviceID (device plugin): the device's directory. */
	a = attach_ok(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-5",
	                      .pod = {.uid = "uid-3"}),
	        false);
	snprintf(want, sizeof(want), "%s/devices/vu-5/vhost-user.sock", F.run);
	assert_string_equal(vport_alloc_data(a)->socket_path, want);
	snprintf(want, sizeof(want), "%s/devices/vu-5", F.run);
	assert_true(exists(want));

	/* Detach removes the socket, and the directory once empty. */
	touch(vport_alloc_data(alloc_find("c1", "net1"))->socket_path);
	touch(vport_alloc_data(alloc_find("c1", "net2"))->socket_path);
	assert_int_equal(detach("c1", "net1"), 1);
	snprintf(want, sizeof(want), "%s/pods/uid-1/net1.sock", F.run);
	assert_false(exists(want));
	snprintf(want, sizeof(want), "%s/pods/uid-1", F.run);
	assert_true(exists(want));
	assert_int_equal(detach("c1", "net2"), 1);
	assert_false(exists(want));
	/* A stale socket from an earlier holder is removed by the next attach. */
	snprintf(want, sizeof(want), "%s/pods/c9", F.run);
	fs_mkdir_p(want, 0700);
	snprintf(want, sizeof(want), "%s/pods/c9/net1.sock", F.run);
	touch(want);
	attach_ok(REQ(.container_id = "c9", .ifname = "net1"), false);
	assert_false(exists(want));
}

static void test_vport_sun_path_limit(void **state)
{
	char uid[128], run[PATH_MAX];
	struct alloc *a;
	size_t fixed, n;

	(void)state;
	/* <run>/pods/<uid>/<ifname>.sock: pick a UID so the path is 107 bytes, then 108. */
	fixed = strlen(F.run) + strlen("/pods/") + strlen("/") + 15 + strlen(".sock");
	n = 107 - fixed;
	assert_true(n > 0 && n < 64);
	memset(uid, 'u', n);
	uid[n] = '\0';
	a = attach_ok(
	        REQ(.container_id = "c1", .ifname = "abcdefghijklmno", .pod = {.uid = uid}), false);
	assert_int_equal(strlen(vport_alloc_data(a)->socket_path), 107);
	uid[n] = 'u';
	uid[n + 1] = '\0';
	attach_err(REQ(.container_id = "c2", .ifname = "abcdefghijklmno", .pod = {.uid = uid}),
	        -ENAMETOOLONG, "sun_path limit");
	/* Nothing was created for the refused one. */
	snprintf(run, sizeof(run), "%s/pods/%s", F.run, uid);
	assert_false(exists(run));
	assert_int_equal(inv_pool_find("vu")->n_free, 7);

	/* The device-directory layout against a long runDir. */
	core_stop();
	n = 108 - strlen("/devices/vu-1/vhost-user.sock");
	snprintf(run, sizeof(run), "%s/", F.dir);
	while (strlen(run) < n)
		strcat(run, "r");
	run[n] = '\0';
	str_copy(F.run, sizeof(F.run), run);
	core_start(NULL);
	attach_err(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-1"), -ENAMETOOLONG,
	        "sun_path");
	run[n - 1] = '\0';
	core_stop();
	str_copy(F.run, sizeof(F.run), run);
	core_start(NULL);
	a = attach_ok(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-1"), false);
	assert_int_equal(strlen(vport_alloc_data(a)->socket_path), 107);
}

/* A pod's sandbox is recreated: the new sandbox (new container ID, same pod UID and ifname)
 * gets the same socket path. A late DEL of the old sandbox must not remove the new one's
 * socket, also across an agent restart. */
static void takeover_case(const char *old_cid, const char *new_cid)
{
	struct alloc *a_old, *a_new;
	char path[PATH_MAX];

	a_old = attach_ok(
	        REQ(.container_id = old_cid, .ifname = "net1", .pod = {.uid = "pod-u"}), false);
	a_new = attach_ok(
	        REQ(.container_id = new_cid, .ifname = "net1", .pod = {.uid = "pod-u"}), false);
	str_copy(path, sizeof(path), vport_alloc_data(a_new)->socket_path);
	assert_string_equal(vport_alloc_data(a_old)->socket_path, path);
	assert_true(vport_alloc_data(a_new)->owns_socket);
	assert_false(vport_alloc_data(a_old)->owns_socket);
	touch(path); /* the new sandbox's pod listens there */

	core_restart(NULL);
	assert_true(vport_alloc_data(alloc_find(new_cid, "net1"))->owns_socket);
	assert_false(vport_alloc_data(alloc_find(old_cid, "net1"))->owns_socket);
	assert_int_equal(detach(old_cid, "net1"), 1);
	assert_true(exists(path));
	assert_int_equal(detach(new_cid, "net1"), 1);
	assert_false(exists(path));
}

static void test_vport_socket_takeover(void **state)
{
	(void)state;
	/* Both name orders: restore walks allocations in hash order, which must not matter. */
	takeover_case("sandbox-a", "sandbox-b");
	takeover_case("sandbox-b", "sandbox-a");
	takeover_case("old1", "new1");
	takeover_case("new2", "old2");
}

static void test_vport_takeover_failed_attach(void **state)
{
	struct alloc *a_old;
	char path[PATH_MAX];

	(void)state;
	a_old = attach_ok(
	        REQ(.container_id = "old", .ifname = "net1", .pod = {.uid = "pod-u"}), false);
	str_copy(path, sizeof(path), vport_alloc_data(a_old)->socket_path);
	/* The new sandbox's attach fails after the port was prepared: the old one still owns
	 * the path, and cleans it up when it goes. */
	obs.veto = EIO;
	attach_err(REQ(.container_id = "new", .ifname = "net1", .pod = {.uid = "pod-u"}), -EIO,
	        "vetoed");
	obs.veto = 0;
	assert_true(vport_alloc_data(a_old)->owns_socket);
	touch(path);
	assert_int_equal(detach("old", "net1"), 1);
	assert_false(exists(path));
}

static void test_vport_takeover_new_goes_first(void **state)
{
	char path[PATH_MAX], dir[PATH_MAX];

	(void)state;
	attach_ok(REQ(.container_id = "old", .ifname = "net1", .pod = {.uid = "pod-u"}), false);
	str_copy(path, sizeof(path),
	        vport_alloc_data(attach_ok(REQ(.container_id = "new", .ifname = "net1",
	                                           .pod = {.uid = "pod-u"}),
	                                 false))
	                ->socket_path);
	vport_socket_dir(vport_alloc_data(alloc_find("new", "net1")), dir, sizeof(dir));
	touch(path);
	/* The new sandbox is deleted before the old one's DEL arrives: its socket goes, the
	 * pod directory stays for the old attachment, which then owns the path. */
	assert_int_equal(detach("new", "net1"), 1);
	assert_false(exists(path));
	assert_true(exists(dir));
	assert_true(vport_alloc_data(alloc_find("old", "net1"))->owns_socket);
	assert_int_equal(detach("old", "net1"), 1);
	assert_false(exists(dir));
}

/* The agent died between an attach preparing the pod's directory and the commit of the
 * allocation: after the restart no allocation knows the directory, and no DEL will remove
 * it. The restart cleans it (and only it). */
static void test_vport_crash_leftovers_swept(void **state)
{
	char lost[PATH_MAX], kept[PATH_MAX], foreign[PATH_MAX], file[PATH_MAX + 16], dev[PATH_MAX];

	(void)state;
	vport_socket_dir(vport_alloc_data(attach_ok(REQ(.container_id = "kept", .ifname = "net1",
	                                                    .pod = {.uid = "uid-kept"}),
	                         false)),
	        kept, sizeof(kept));
	commit();
	vport_socket_dir(vport_alloc_data(attach_ok(REQ(.container_id = "lost", .ifname = "net1",
	                                                    .pod = {.uid = "uid-lost"}),
	                         false)),
	        lost, sizeof(lost));
	attach_ok(REQ(.container_id = "lostdev", .ifname = "net1", .device_id = "vu-6"), false);
	snprintf(file, sizeof(file), "%s/net1.sock", lost);
	make_socket(file); /* the pod's stale socket */
	/* Something that is not ours in the pods directory is left alone. */
	snprintf(foreign, sizeof(foreign), "%s/pods/not-a-socket-dir", F.run);
	fs_mkdir_p(foreign, 0700);
	snprintf(file, sizeof(file), "%s/keep.txt", foreign);
	touch(file);
	core_crash_restart();
	assert_null(alloc_find("lost", "net1"));
	assert_non_null(alloc_find("kept", "net1"));
	assert_true(exists(kept));
	assert_false(exists(lost));
	assert_true(exists(file));
	/* Device directories may be mounted into pods by the device plugin: never swept. */
	snprintf(dev, sizeof(dev), "%s/devices/vu-6", F.run);
	assert_true(exists(dev));
}

static void test_vport_mac_stable(void **state)
{
	struct mac want, other;
	struct alloc *a;
	json_t *j;
	char s[MAC_STR_LEN];

	(void)state;
	vport_default_mac("vu-3", &want);
	vport_default_mac("vu-4", &other);
	assert_memory_not_equal(&want, &other, sizeof(want));
	/* Locally administered, unicast. */
	assert_int_equal(want.b[0] & 0x03, 0x02);
	a = attach_ok(REQ(.container_id = "c1", .ifname = "net1", .device_id = "vu-3"), false);
	assert_memory_equal(&a->mac, &want, sizeof(want));
	assert_int_equal(detach("c1", "net1"), 1);
	/* Same device, another pod: same MAC. Across a restart too. */
	a = attach_ok(REQ(.container_id = "c2", .ifname = "net1", .device_id = "vu-3"), false);
	assert_memory_equal(&a->mac, &want, sizeof(want));
	core_restart(NULL);
	assert_memory_equal(&alloc_find("c2", "net1")->mac, &want, sizeof(want));
	/* The device view shows the MAC a free device would get. */
	j = inv_device_to_json(dev("vu-4"));
	mac_format(&other, s);
	assert_string_equal(json_string_value(json_object_get(j, "mac")), s);
	assert_true(json_is_null(json_object_get(j, "holder")));
	json_decref(j);
	/* A requested MAC wins. */
	a = attach_ok(REQ(.container_id = "c3", .ifname = "net1", .device_id = "vu-4",
	                      .has_mac = true, .mac = {{0x02, 0, 0, 0, 0, 0x42}}),
	        false);
	mac_format(&a->mac, s);
	assert_string_equal(s, "02:00:00:00:00:42");
	/* MTU defaults to the pool's. */
	assert_int_equal(a->mtu, 1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_attach_idempotent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attach_eexist, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_device_id, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reserved_devices, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_free_list_is_fifo, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_several_pools_need_a_pool, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attach_failure_rolls_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_detach_idempotent_and_scoped, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_random_no_double_hold, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gc_per_network, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_restore_after_restart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_restore_orphans, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_corrupt_state_starts_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_bad_state_record_refuses_start, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_restore_never_binds_a_device_twice, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_device_gone_while_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rescan_notifies_only_changes, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_failed_discovery_keeps_devices, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload_removes_pool, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_reload_readds_pool_with_held_device, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_reload_shrinks_pool_while_held, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_socket_paths, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_sun_path_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_socket_takeover, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_takeover_failed_attach, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_vport_takeover_new_goes_first, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_crash_leftovers_swept, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_vport_mac_stable, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                test_vport_restore_confined_to_run_dir, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_state_records_validated, setup, teardown),
	};

	alloc_observer_register(&observer);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
