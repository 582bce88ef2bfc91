/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the kernel device type (agent/kport.c) with the allocator, the inventory and
 * real persisted state in a temp directory, against the kernel: TAPs in the test's own network
 * namespace (unshared: nothing touches the machine's) moved into pod namespaces made with
 * `ip netns add`. Pool settings and attach arguments refused; a TAP with the right flags in
 * the pod; a restart re-attaching the agent's queues; an intent record undone after a kill -9
 * before the commit; a namespace gone (at attach, while the agent is down); a name clash in
 * the pod; detach leaving nothing behind. Root and /dev/net/tun, else skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "agent/kport.h"
#include "agent/state.h"
#include "common/fs.h"
#include "common/str.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define POOLS                                                                           \
	"  - name: kut\n    type: kernel\n    count: 4\n    queues: 2\n    mtu: 1400\n" \
	"  - name: kus\n    type: kernel\n    count: 2\n    offloads: false\n    io: syscall\n"

static struct {
	char dir[64];
	char run[PATH_MAX];
	char state_dir[PATH_MAX];
	struct cfg *cfg;
	struct state *st;
	char ns[2][32];
	char nspath[2][64];
	bool can;
} F;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* The first line a shell command prints (trailing newline removed). */
static void sh_out(char *buf, size_t size, const char *cmd)
{
	FILE *p = popen(cmd, "r");

	buf[0] = '\0';
	assert_non_null(p);
	if (!fgets(buf, (int)size, p))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pclose(p);
}

static int cfg_try(const char *pools, struct cfg **ret, struct kb_err *err)
{
	char yaml[4096];

	snprintf(yaml, sizeof(yaml),
	        "apiSocket: %s/a.sock\nstateDir: %s\nrunDir: %s\nresourcePrefix: kbnet.io\n"
	        "pools:\n%s",
	        F.dir, F.state_dir, F.run, pools);
	return cfg_load_string(yaml, "test.yaml", ret, err);
}

static void core_start(void)
{
	struct kb_err err = {0};

	if (cfg_try(POOLS, &F.cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	if (inv_init(F.cfg, &err) < 0)
		fail_msg("inv_init: %s", err.msg);
	if (state_open(F.state_dir, &F.st, &err) < 0)
		fail_msg("state_open: %s", err.msg);
	if (alloc_init(F.st, &err) < 0)
		fail_msg("alloc_init: %s", err.msg);
}

static void core_stop(bool commit)
{
	struct kb_err err = {0};

	if (!F.cfg)
		return;
	if (commit && state_pending(F.st) && state_commit(F.st, &err) < 0)
		fail_msg("commit: %s", err.msg);
	alloc_fini();
	inv_fini();
	state_close(F.st);
	cfg_free(F.cfg);
	F.st = NULL;
	F.cfg = NULL;
}

static int setup(void **state)
{
	(void)state;
	if (!F.can)
		return 0;
	strcpy(F.dir, "/tmp/kbkport.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.run, sizeof(F.run), "%s/run", F.dir);
	snprintf(F.state_dir, sizeof(F.state_dir), "%s/state", F.dir);
	for (int i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kbkpu%d-%d", (int)getpid(), i);
		str_copy(F.ns[i], sizeof(F.ns[i]), name);
		snprintf(F.nspath[i], sizeof(F.nspath[i]), "/run/netns/%s", name);
		assert_int_equal(sh("ip netns add %s", F.ns[i]), 0);
	}
	core_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!F.can)
		return 0;
	core_stop(true);
	for (int i = 0; i < 2; i++)
		sh("ip netns del %s 2>/dev/null", F.ns[i]);
	fs_rm_rf(F.dir);
	/* Nothing of ours left in the agent's namespace. */
	char out[256];
	sh_out(out, sizeof(out), "ip -o link show | grep -c ' kbk' || true");
	assert_string_equal(out, "0");
	return 0;
}

static void need_root(void)
{
	if (!F.can) {
		fprintf(stderr,
		        "SKIP: needs root, /dev/net/tun and a network namespace of its own\n");
		skip();
	}
}

#define REQ(...)                                 \
	((struct attach_req){.network = "net-a", \
	        .devtype = "kernel",             \
	        .container_id = "c1",            \
	        .ifname = "net1",                \
	        .netns = F.nspath[0],            \
	        .vlan = -1,                      \
	        __VA_ARGS__})

#pragma GCC diagnostic ignored "-Woverride-init"

static struct alloc *attach_ok(struct attach_req req)
{
	struct kb_err err = {0};
	struct alloc *a = NULL;
	bool existing = true;

	if (alloc_attach(&req, &a, &existing, &err) < 0)
		fail_msg("attach %s/%s: %s", req.container_id, req.ifname, err.msg);
	assert_false(existing);
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
		fail_msg("attach: got %d (%s), want %d", r, err.msg, want);
	if (msg && !strstr(err.msg, msg))
		fail_msg("error '%s' does not contain '%s'", err.msg, msg);
	assert_int_equal(alloc_count(), before);
}

static bool has_link(const char *ns, const char *name)
{
	return sh("ip -n %s link show %s >/dev/null 2>&1", ns, name) == 0;
}

static unsigned intents(void)
{
	char out[64], cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "ls %s/intents 2>/dev/null | wc -l", F.run);
	sh_out(out, sizeof(out), cmd);
	return (unsigned)atoi(out);
}

/* ---- tests ---- */

static void test_pool_settings_refused(void **state)
{
	static const struct {
		const char *pool, *msg;
	} bad[] = {
	        {"  - name: k\n    type: kernel\n    io: epoll\n", "uring (batched) or syscall"},
	        {"  - name: k\n    type: kernel\n    queues: 17\n", "queues"},
	        {"  - name: k\n    type: kernel\n    queues: 0\n", "queues"},
	        {"  - name: k\n    type: kernel\n    mtu: 60\n", "mtu"},
	        {"  - name: k\n    type: kernel\n    offloads: 3\n", "offloads"},
	        {"  - name: k\n    type: kernel\n    vhost: 1\n", "vhost"},
	};

	(void)state;
	need_root();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kb_err err = {0};
		struct cfg *c = NULL;
		int r = cfg_try(bad[i].pool, &c, &err);
		if (r == 0) {
			/* Pool settings may be checked when the inventory takes them. */
			inv_fini();
			r = inv_init(c, &err);
			inv_fini();
			cfg_free(c);
			assert_int_equal(inv_init(F.cfg, &(struct kb_err){0}), 0);
		}
		if (r >= 0 || !strstr(err.msg, bad[i].msg))
			fail_msg("pool %zu: got %d '%s', want an error about '%s'", i, r, err.msg,
			        bad[i].msg);
	}
	/* The defaults and the settings as given. */
	struct alloc *a = attach_ok(REQ(.pool = "kus"));
	const struct kport_alloc *k = kport_alloc_data(a);
	assert_int_equal(k->queues, 1);
	assert_false(k->offloads);
	assert_int_equal(k->io, KPORT_IO_SYSCALL);
	assert_int_equal(a->mtu, 1500);
	a = attach_ok(REQ(.container_id = "c2", .pool = "kut", .netns = F.nspath[1]));
	k = kport_alloc_data(a);
	assert_int_equal(k->queues, 2);
	assert_true(k->offloads);
	assert_int_equal(k->io, KPORT_IO_URING);
	assert_int_equal(a->mtu, 1400);
	assert_string_equal(kport_io_name(KPORT_IO_URING), "uring");
	assert_string_equal(kport_io_name(KPORT_IO_SYSCALL), "syscall");
}

static void test_attach_arguments_refused(void **state)
{
	json_t *conf = json_pack("{s:i}", "queues", 4);

	(void)state;
	need_root();
	attach_err(REQ(.pool = "kut", .netns = NULL), -EINVAL, "netns is required");
	attach_err(REQ(.pool = "kut", .netns = ""), -EINVAL, "netns is required");
	attach_err(REQ(.pool = "kut", .config = conf), -EINVAL, "takes no device settings");
	json_decref(conf);
	assert_int_equal(intents(), 0);
}

static void test_attach_detach(void **state)
{
	char out[512], cmd[256], mac[MAC_STR_LEN];
	struct kb_err err = {0};
	struct alloc *a;

	(void)state;
	need_root();
	a = attach_ok(
	        REQ(.pool = "kut", .has_mac = true, .mac = {{0x02, 0x00, 0x00, 0x00, 0x6b, 0x01}}));
	const struct kport_alloc *k = kport_alloc_data(a);
	/* The agent holds one queue per configured queue; the TAP is in the pod as net1. */
	assert_int_equal(k->n_fds, 2);
	for (unsigned i = 0; i < 2; i++)
		assert_true(fcntl(k->fds[i], F_GETFD) >= 0);
	assert_int_equal(k->fds[2], -1);
	assert_true(str_has_prefix(k->host_name, "kbk"));
	assert_false(if_nametoindex(k->host_name));
	assert_true(has_link(F.ns[0], "net1"));
	snprintf(cmd, sizeof(cmd),
	        "ip -n %s -d -j link show net1 | jq -r '.[0] | .linkinfo.info_data as $d | "
	        "\"\\($d.type) \\($d.pi) \\($d.vnet_hdr) \\($d.multi_queue) \\($d.persist) "
	        "\\(.mtu) \\(.address) \\(.flags | index(\"LOWER_UP\") != null)\"'",
	        F.ns[0]);
	sh_out(out, sizeof(out), cmd);
	assert_string_equal(out, "tap false true true true 1400 02:00:00:00:6b:01 true");
	mac_format(&a->mac, mac);
	assert_string_equal(mac, "02:00:00:00:6b:01");
	assert_int_equal(alloc_check(a, &err), 0);
	/* The intent stays until the release. */
	assert_int_equal(intents(), 1);
	/* The state record says what a restart needs. */
	json_t *j = alloc_record_json(a), *o = json_object_get(j, "kernel");
	assert_string_equal(json_string_value(json_object_get(o, "hostName")), k->host_name);
	assert_int_equal(json_integer_value(json_object_get(o, "queues")), 2);
	assert_true(json_is_true(json_object_get(o, "offloads")));
	assert_string_equal(json_string_value(json_object_get(o, "io")), "uring");
	json_decref(j);

	assert_int_equal(alloc_detach("c1", "net1", NULL, &err), 1);
	/* Not persistent any more, its queues closed: the kernel deleted it. */
	assert_false(has_link(F.ns[0], "net1"));
	assert_int_equal(intents(), 0);
	assert_int_equal(alloc_count(), 0);
}

static void test_restart_reattaches(void **state)
{
	struct kb_err err = {0};
	struct alloc *a;
	char out[64], cmd[256];

	(void)state;
	need_root();
	attach_ok(REQ(.pool = "kut"));
	sh("ip -n %s addr add 10.88.0.1/24 dev net1", F.ns[0]);
	core_stop(true);
	/* The agent is gone: the pod keeps net1 and its address (persistent TAP). */
	assert_true(has_link(F.ns[0], "net1"));
	snprintf(cmd, sizeof(cmd), "ip -n %s -j addr show net1 | jq -r '.[0].addr_info[0].local'",
	        F.ns[0]);
	sh_out(out, sizeof(out), cmd);
	assert_string_equal(out, "10.88.0.1");
	core_start();
	assert_int_equal(alloc_count(), 1);
	a = alloc_find("c1", "net1");
	assert_non_null(a);
	const struct kport_alloc *k = kport_alloc_data(a);
	assert_int_equal(k->n_fds, 2);
	assert_true(fcntl(k->fds[1], F_GETFD) >= 0);
	assert_int_equal(alloc_check(a, &err), 0);
	assert_int_equal(alloc_detach("c1", "net1", NULL, &err), 1);
	assert_false(has_link(F.ns[0], "net1"));
}

/* kill -9 after the move, before the commit: the intent record names the TAP in the pod; the
 * next start has no allocation for it and undoes it. */
static void test_intent_undone_after_crash(void **state)
{
	(void)state;
	need_root();
	attach_ok(REQ(.pool = "kut"));
	assert_int_equal(intents(), 1);
	core_stop(false);
	assert_true(has_link(F.ns[0], "net1"));
	core_start();
	assert_int_equal(alloc_count(), 0);
	assert_int_equal(intents(), 0);
	assert_false(has_link(F.ns[0], "net1"));
	/* Its device is free again. */
	attach_ok(REQ(.pool = "kut", .container_id = "c9", .netns = F.nspath[1]));
	assert_true(has_link(F.ns[1], "net1"));
}

static void test_netns_gone(void **state)
{
	struct kb_err err = {0};
	struct alloc *a;
	char gone[96];

	(void)state;
	need_root();
	/* At attach: refused, nothing left (teardown checks the agent's namespace). */
	snprintf(gone, sizeof(gone), "/run/netns/kbkpu-none-%d", (int)getpid());
	attach_err(REQ(.pool = "kut", .netns = gone), -ENOENT, NULL);
	assert_int_equal(intents(), 0);
	/* While the agent is down: the TAP went with the namespace; the restart cannot attach
	 * to it, CHECK says so, DEL succeeds. */
	attach_ok(REQ(.pool = "kut", .netns = F.nspath[1]));
	core_stop(true);
	assert_int_equal(sh("ip netns del %s", F.ns[1]), 0);
	core_start();
	a = alloc_find("c1", "net1");
	assert_non_null(a);
	assert_int_equal(kport_alloc_data(a)->n_fds, 0);
	assert_true(alloc_check(a, &err) < 0);
	kb_err_clear(&err);
	assert_int_equal(alloc_detach("c1", "net1", NULL, &err), 1);
	assert_int_equal(alloc_count(), 0);
	assert_int_equal(intents(), 0);
}

static void test_name_clash(void **state)
{
	char out[64], cmd[256];

	(void)state;
	need_root();
	/* The pod has a net1 already (a veth end). */
	assert_int_equal(sh("ip -n %s link add net1 type veth peer name kbkpuclash", F.ns[0]), 0);
	attach_err(REQ(.pool = "kut"), -EEXIST, NULL);
	assert_int_equal(intents(), 0);
	snprintf(cmd, sizeof(cmd),
	        "ip -n %s -d -j link show net1 | jq -r '.[0].linkinfo.info_kind'", F.ns[0]);
	sh_out(out, sizeof(out), cmd);
	assert_string_equal(out, "veth");
	/* Under another name it works. */
	attach_ok(REQ(.pool = "kut", .ifname = "net2"));
	assert_true(has_link(F.ns[0], "net2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_pool_settings_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attach_arguments_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_attach_detach, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_restart_reattaches, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_intent_undone_after_crash, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_netns_gone, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_name_clash, setup, teardown),
	};

	/* The agent's namespace is the test's own: TAPs it makes there touch nothing else. */
	F.can = geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 &&
	        system("command -v jq >/dev/null") == 0 && unshare(CLONE_NEWNET) == 0;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
