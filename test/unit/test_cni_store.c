/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: kbnet-cni's files and agent calls: the Multus device-info file (devinfo.c), the
 * result cache (rescache.c), and agentcall.c (error-code mapping, attach arguments, an agent
 * that is absent, never answers, or answers with an error). The answering "agent" here is a
 * forked child speaking the framing of node-agent/api; the real agent is exercised by
 * test/integration/cni_*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcall.h"
#include "api/frame.h"
#include "common/fs.h"
#include "devinfo.h"
#include "rescache.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kbstore-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fs_rm_rf(dir);
	return 0;
}

static void test_devinfo(void **state)
{
	char ddir[96], path[160], tmp[200], other[128], *text;
	struct kb_err err = {0};
	json_t *info = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "vhost-user", "version",
	        "1.1.0", "vhost-user", "mode", "server", "path", "/run/kbnet/pods/u/net1.sock");
	const char *name = "net-a-c1-net1-device.json", *why;
	bool removed;
	struct stat st;
	mode_t old;
	size_t len;

	(void)state;
	snprintf(ddir, sizeof(ddir), "%s/devinfo/cni", dir);
	snprintf(path, sizeof(path), "%s/%s", ddir, name);
	old = umask(077); /* the file is 0644 whatever the runtime's umask */
	if (devinfo_write(ddir, name, "c1/net1", info, &err) < 0)
		fail_msg("%s", err.msg);
	umask(old);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fs_read_file(path, 4096, &text, &len), 0);
	json_t *back = json_loads(text, 0, NULL);
	assert_true(json_equal(back, info));
	json_decref(back);
	free(text);
	/* No temp file left behind. */
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp.%d", ddir, name, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);

	/* A symlink planted at the temp name is not written through. */
	snprintf(other, sizeof(other), "%s/victim", dir);
	assert_int_equal(symlink(other, tmp), 0);
	json_object_set_new(info, "version", json_string("1.0.0"));
	if (devinfo_write(ddir, name, "c1/net1", info, &err) < 0) /* same attachment: replaced */
		fail_msg("%s", err.msg);
	assert_int_equal(access(other, F_OK), -1);
	assert_int_equal(fs_read_file(path, 4096, &text, &len), 0);
	assert_non_null(strstr(text, "\"1.0.0\""));
	free(text);

	/* Another attachment's file is neither replaced nor removed. */
	assert_int_equal(devinfo_write(ddir, name, "c2/net1", info, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not the device-info file of c2/net1"));
	assert_true(devinfo_remove(ddir, name, "c2/net1", &removed, &err) < 0);
	assert_false(removed);
	assert_int_equal(access(path, F_OK), 0);

	assert_int_equal(devinfo_remove(ddir, name, "c1/net1", &removed, &err), 0);
	assert_true(removed);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(devinfo_remove(ddir, name, "c1/net1", &removed, &err), 0); /* missing */
	assert_false(removed);

	/* A file kbnet did not write (no mark): never replaced, never removed. */
	assert_int_equal(fs_write_atomic(path, "{}", 2, 0644), 0);
	assert_int_equal(devinfo_write(ddir, name, "c1/net1", info, &err), -EEXIST);
	assert_true(devinfo_remove(ddir, name, "c1/net1", &removed, &err) < 0);
	assert_int_equal(fs_read_file(path, 4096, &text, &len), 0);
	assert_string_equal(text, "{}");
	free(text);
	unlink(path);

	/* A symlink at the name: not followed by write or remove, its target untouched. */
	assert_int_equal(fs_write_atomic(other, "keep", 4, 0600), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(devinfo_write(ddir, name, "c1/net1", info, &err), -EEXIST);
	assert_true(devinfo_remove(ddir, name, "c1/net1", &removed, &err) < 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fs_read_file(other, 4096, &text, &len), 0);
	assert_string_equal(text, "keep");
	free(text);
	unlink(path);

	/* A hard link of somebody's file is not ours either (one link only). */
	assert_int_equal(devinfo_write(ddir, name, "c1/net1", info, &err), 0);
	snprintf(tmp, sizeof(tmp), "%s/hl", dir);
	assert_int_equal(link(path, tmp), 0);
	assert_true(devinfo_remove(ddir, name, "c1/net1", &removed, &err) < 0);
	unlink(tmp);
	assert_int_equal(devinfo_remove(ddir, name, "c1/net1", &removed, &err), 0);
	assert_true(removed);

	/* Names are one plain component. */
	assert_false(devinfo_name_valid("../x.json", &why));
	assert_false(devinfo_name_valid("a/b", &why));
	assert_false(devinfo_name_valid(".hidden", &why));
	assert_false(devinfo_name_valid("", &why));
	assert_true(devinfo_name_valid("net-a-0123abc-net1.json", &why));
	assert_true(devinfo_write(ddir, "../escape.json", "c1/net1", info, &err) < 0);
	snprintf(tmp, sizeof(tmp), "%s/devinfo/escape.json", dir);
	assert_int_equal(access(tmp, F_OK), -1);

	/* Errors name the file. */
	snprintf(other, sizeof(other), "%s/afile", dir);
	assert_int_equal(fs_write_atomic(other, "x", 1, 0644), 0);
	snprintf(ddir, sizeof(ddir), "%s/afile/sub", dir);
	assert_true(devinfo_write(ddir, "x.json", "c1/net1", info, &err) < 0);
	assert_non_null(strstr(err.msg, "afile"));
	json_t *notobj = json_string("x");
	assert_true(devinfo_write(ddir, "x.json", "c1/net1", notobj, &err) < 0);
	json_decref(notobj);
	json_decref(info);
}

static struct cni_result *result(const char *json)
{
	struct cni_result *r = NULL;
	struct cni_err ce = {0};
	json_t *o = json_loads(json, 0, NULL);

	if (cni_result_parse(o, CNI_V_NONE, &r, &ce) < 0)
		fail_msg("%s", ce.e.msg);
	json_decref(o);
	return r;
}

struct seen {
	int n;
	char names[8][64];
};

static int collect(const char *cid, const char *ifname, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->names[s->n++], 64, "%s/%s", cid, ifname);
	return 0;
}

static void test_rescache(void **state)
{
	struct cni_result *r = result(
	        "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"net1\",\"mtu\":1500,"
	        "\"sandbox\":\"/n\",\"socketPath\":\"/s\"}],\"ips\":[{\"address\":\"10.0.0.2/24\","
	        "\"interface\":0}]}");
	struct cni_result *ipres =
	        result("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\"}],"
	               "\"routes\":[{\"dst\":\"10.9.0.0/16\"}]}");
	json_t *ipam = json_pack("{s:s, s:s}", "type", "host-local", "subnet", "10.0.0.0/24");
	json_t *other = json_pack("{s:s, s:s}", "type", "host-local", "subnet", "10.1.0.0/24");
	struct cni_result *back = NULL;
	struct kb_err err = {0};
	char cache[96], path[200];
	struct seen seen = {0};

	(void)state;
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	assert_int_equal(
	        rescache_load(cache, "net-a", "c1", "net1", ipam, &back, NULL, &err), -ENOENT);
	if (rescache_store(cache, "net-a", "c1", "net1", ipam, r, ipres, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(rescache_store(cache, "net-a", "c2", "net1.5", NULL, r, ipres, &err), 0);
	assert_int_equal(rescache_store(cache, "net-b", "c3", "net1", ipam, r, ipres, &err), 0);

	assert_int_equal(rescache_load(cache, "net-a", "c1", "net1", ipam, &back, NULL, &err), 0);
	json_t *a = cni_result_to_json(r, CNI_V_1_1_0), *b = cni_result_to_json(back, CNI_V_1_1_0);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	cni_result_free(back);
	struct cni_result *back_ipres = NULL;
	assert_int_equal(
	        rescache_load(cache, "net-a", "c1", "net1", ipam, &back, &back_ipres, &err), 0);
	assert_int_equal(back_ipres->n_ips, 1);
	assert_int_equal(back_ipres->ips[0].interface, -1); /* IPAM's own: no interface index */
	assert_int_equal(back_ipres->n_routes, 1);
	assert_int_equal(back_ipres->n_ifaces, 0);
	cni_result_free(back);
	cni_result_free(back_ipres);
	/* Another ipam section: not a match (a changed network must not reuse old addresses). */
	assert_int_equal(
	        rescache_load(cache, "net-a", "c1", "net1", other, &back, NULL, &err), -ENOENT);
	assert_int_equal(
	        rescache_load(cache, "net-a", "c1", "net1", NULL, &back, NULL, &err), -ENOENT);
	assert_int_equal(rescache_load(cache, "net-a", "c2", "net1.5", NULL, &back, NULL, &err), 0);
	cni_result_free(back);

	/* Names that would escape the directory are refused. */
	assert_int_equal(
	        rescache_store(cache, "../x", "c1", "net1", ipam, r, ipres, &err), -EINVAL);
	assert_int_equal(
	        rescache_store(cache, "net-a", "../c1", "net1", ipam, r, ipres, &err), -EINVAL);
	assert_int_equal(rescache_remove(cache, "net-a", "c1", "a/b", &err), -EINVAL);

	/* A damaged entry counts as none; stray files are not entries. */
	snprintf(path, sizeof(path), "%s/net-a/c9:net1.json", cache);
	assert_int_equal(fs_write_atomic(path, "{garbage", 8, 0600), 0);
	assert_int_equal(
	        rescache_load(cache, "net-a", "c9", "net1", ipam, &back, NULL, &err), -ENOENT);
	snprintf(path, sizeof(path), "%s/net-a/c8:net1.json.tmp.99", cache);
	assert_int_equal(fs_write_atomic(path, "x", 1, 0600), 0);
	snprintf(path, sizeof(path), "%s/net-a/-bad:net1.json", cache);
	assert_int_equal(fs_write_atomic(path, "x", 1, 0600), 0);

	assert_int_equal(rescache_foreach (cache, "net-a", collect, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	bool c1 = false, c2 = false, c9 = false;
	for (int i = 0; i < seen.n; i++) {
		c1 |= !strcmp(seen.names[i], "c1/net1");
		c2 |= !strcmp(seen.names[i], "c2/net1.5");
		c9 |= !strcmp(seen.names[i], "c9/net1");
	}
	assert_true(c1 && c2 && c9);
	seen.n = 0;
	assert_int_equal(rescache_foreach (cache, "nonet", collect, &seen, &err), 0);
	assert_int_equal(seen.n, 0);

	assert_int_equal(rescache_remove(cache, "net-a", "c1", "net1", &err), 0);
	assert_int_equal(rescache_remove(cache, "net-a", "c1", "net1", &err), 0);
	assert_int_equal(
	        rescache_load(cache, "net-a", "c1", "net1", ipam, &back, NULL, &err), -ENOENT);
	cni_result_free(r);
	cni_result_free(ipres);
	json_decref(ipam);
	json_decref(other);
}

static void test_codes(void **state)
{
	(void)state;
	assert_int_equal(agentcall_code(-ENOENT, false), CNI_ERR_TRY_AGAIN);
	assert_int_equal(agentcall_code(ECONNREFUSED, false), CNI_ERR_TRY_AGAIN);
	assert_int_equal(agentcall_code(ETIMEDOUT, false), CNI_ERR_TRY_AGAIN);
	assert_int_equal(agentcall_code(EINVAL, true), CNI_ERR_INVALID_CONFIG);
	assert_int_equal(agentcall_code(-ENODEV, true), CNI_ERR_INVALID_CONFIG);
	assert_int_equal(agentcall_code(ENOSPC, true), KB_CNI_ERR_POOL_EXHAUSTED);
	assert_int_equal(agentcall_code(EBUSY, true), KB_CNI_ERR_DEVICE_BUSY);
	assert_int_equal(agentcall_code(EEXIST, true), KB_CNI_ERR_ATTACHMENT_EXISTS);
	assert_int_equal(agentcall_code(EIO, true), CNI_ERR_INTERNAL);
	assert_int_equal(agentcall_code(EPERM, true), CNI_ERR_INTERNAL);
}

static struct netconf *conf(const char *sock, int timeout_ms, const char *extra)
{
	char json[1024];
	struct cni_err ce = {0};
	struct netconf *nc;

	snprintf(json, sizeof(json),
	        "{\"cniVersion\":\"1.0.0\",\"name\":\"net-a\",\"type\":\"kbnet\",\"agentSocket\":"
	        "\"%s\","
	        "\"agentTimeoutMs\":%d%s}",
	        sock, timeout_ms, extra);
	if (netconf_parse(json, strlen(json), CNI_CMD_ADD, &nc, &ce) < 0)
		fail_msg("%s", ce.e.msg);
	return nc;
}

static void test_attach_args(void **state)
{
	struct netconf *nc = conf("/tmp/x.sock", 1000,
	        ",\"deviceType\":\"sriov-vf\",\"resourceName\":\"intel.com/sriov\","
	        "\"deviceID\":\"0000:3b:02.1\",\"mac\":\"02:00:00:00:00:05\",\"mtu\":9000,\"vlan\":"
	        "7,"
	        "\"spoofchk\":\"off\",\"max_tx_rate\":100");
	struct cni_env env = {.cmd = CNI_CMD_ADD};
	json_t *args, *want;

	(void)state;
	strcpy(env.container_id, "c1");
	strcpy(env.ifname, "net1");
	strcpy(env.netns, "/run/netns/p");
	strcpy(env.args.pod_namespace, "default");
	strcpy(env.args.pod_name, "web-0");
	strcpy(env.args.pod_uid, "u-1");
	strcpy(env.args.pod_infra_id, "c1");
	args = agentcall_attach_args(nc, &env);
	want = json_loads("{\"containerID\":\"c1\",\"ifname\":\"net1\",\"network\":\"net-a\","
	                  "\"deviceType\":\"sriov-vf\",\"netns\":\"/run/netns/p\","
	                  "\"pool\":\"intel.com/sriov\",\"deviceID\":\"0000:3b:02.1\","
	                  "\"mac\":\"02:00:00:00:00:05\",\"mtu\":9000,\"vlan\":7,"
	                  "\"pod\":{\"namespace\":\"default\",\"name\":\"web-0\",\"uid\":\"u-1\","
	                  "\"infraContainerID\":\"c1\"},"
	                  "\"config\":{\"spoofchk\":\"off\",\"max_tx_rate\":100}}",
	        0, NULL);
	if (!json_equal(args, want))
		fail_msg("attach args: %s", json_dumps(args, JSON_COMPACT));
	json_decref(args);
	json_decref(want);
	netconf_free(nc);

	/* Minimal: no optional keys at all. */
	nc = conf("/tmp/x.sock", 1000, "");
	memset(&env.args, 0, sizeof(env.args));
	env.netns[0] = '\0';
	args = agentcall_attach_args(nc, &env);
	assert_int_equal(json_object_size(args), 4);
	json_decref(args);
	netconf_free(nc);
}

/* A listening socket whose owner answers each request with `reply` (NULL: never answers). */
static pid_t fake_agent(const char *path, const char *reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	strcpy(sa.sun_path, path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			int c = accept(fd, NULL, NULL);
			char *in = NULL;
			size_t len;
			if (c < 0)
				_exit(0);
			if (frame_recv(c, 1 << 20, &in, &len, -1) == 0 && reply) {
				json_t *req = json_loadb(in, len, 0, NULL);
				char buf[512];
				int n = snprintf(buf, sizeof(buf), reply,
				        (int)json_integer_value(json_object_get(req, "id")));
				frame_send(c, buf, n, -1);
				json_decref(req);
			}
			free(in);
			if (!reply)
				pause();
			close(c);
		}
	}
	close(fd);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_calls(void **state)
{
	char sock[128];
	struct cni_err ce = {0};
	struct netconf *nc;
	json_t *res = NULL;
	int64_t t0;
	pid_t pid;

	(void)state;
	/* Nobody there: 11, try again later. */
	snprintf(sock, sizeof(sock), "%s/none.sock", dir);
	nc = conf(sock, 1000, "");
	assert_true(agentcall(nc, "status", NULL, NULL, &ce) < 0);
	assert_int_equal(ce.code, CNI_ERR_TRY_AGAIN);
	assert_non_null(strstr(ce.e.msg, "is not available"));
	netconf_free(nc);

	/* Accepts but never answers: 11 within the budget, not a hang. */
	snprintf(sock, sizeof(sock), "%s/mute.sock", dir);
	pid = fake_agent(sock, NULL);
	nc = conf(sock, 300, "");
	t0 = frame_now_ms();
	assert_int_equal(agentcall(nc, "attach", NULL, NULL, &ce), -ETIMEDOUT);
	assert_int_equal(ce.code, CNI_ERR_TRY_AGAIN);
	assert_true(frame_now_ms() - t0 >= 250 && frame_now_ms() - t0 < 2000);
	netconf_free(nc);
	stop(pid);

	/* Agent errors map to their codes, the agent's message kept. */
	snprintf(sock, sizeof(sock), "%s/busy.sock", dir);
	pid = fake_agent(sock,
	        "{\"version\":1,\"id\":%d,\"ok\":false,\"error\":{\"code\":\"EBUSY\","
	        "\"message\":\"device vu-3 is held by container c0/net1\"}}");
	nc = conf(sock, 1000, "");
	assert_int_equal(agentcall(nc, "attach", NULL, NULL, &ce), -EBUSY);
	assert_int_equal(ce.code, KB_CNI_ERR_DEVICE_BUSY);
	assert_non_null(strstr(ce.e.msg, "device vu-3 is held by container c0/net1"));
	assert_non_null(strstr(ce.details, "EBUSY"));
	netconf_free(nc);
	stop(pid);

	snprintf(sock, sizeof(sock), "%s/ok.sock", dir);
	pid = fake_agent(
	        sock, "{\"version\":1,\"id\":%d,\"ok\":true,\"result\":{\"healthy\":true}}");
	nc = conf(sock, 1000, "");
	assert_int_equal(agentcall(nc, "status", NULL, &res, &ce), 0);
	assert_true(json_is_true(json_object_get(res, "healthy")));
	json_decref(res);
	netconf_free(nc);
	stop(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_devinfo),
	        cmocka_unit_test(test_rescache),
	        cmocka_unit_test(test_codes),
	        cmocka_unit_test(test_attach_args),
	        cmocka_unit_test(test_calls),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
