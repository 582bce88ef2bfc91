/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the Kubernetes client's pieces that need no server: kubeconfig and in-cluster
 * settings (kcfg.c), token rotation, base64, the pod set and watch-stream splitting
 * (kwatch.c), Event objects (kevent.c), backoff (common/backoff.c), the kubernetes config section
 * and pod matching (kube.c). The client against a server: test/integration/kube_*.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/alloc.h"
#include "agent/config.h"
#include "agent/kube/kcfg.h"
#include "agent/kube/kevent.h"
#include "agent/kube/kube.h"
#include "agent/kube/kwatch.h"
#include "common/backoff.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kbunit.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void write_file(const char *name, const char *text)
{
	char path[256], tmp[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_non_null(f = fopen(tmp, "w"));
	fputs(text, f);
	fclose(f);
	/* Like the kubelet: a new file renamed over the old one. */
	assert_int_equal(rename(tmp, path), 0);
}

static void test_base64(void **state)
{
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(kcfg_base64_decode("aGVsbG8gd29ybGQ=", &out, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(out, "hello world");
	free(out);
	assert_int_equal(kcfg_base64_decode("YQ==\nYg", &out, &len), -EINVAL); /* data after pad */
	assert_int_equal(kcfg_base64_decode("YW Jj\n", &out, &len), 0);        /* whitespace */
	assert_string_equal(out, "abc");
	free(out);
	assert_int_equal(kcfg_base64_decode("a$==", &out, &len), -EINVAL);
	assert_int_equal(kcfg_base64_decode("", &out, &len), 0);
	assert_int_equal(len, 0);
	free(out);
}

static void test_in_cluster(void **state)
{
	struct kb_err err = {0};
	struct kcfg *c;

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(kcfg_in_cluster("/t", "/c", &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kcfg_in_cluster("/t", "/c", &c, &err), 0);
	assert_string_equal(kcfg_server(c), "https://10.96.0.1:443");
	assert_string_equal(kcfg_token_source(c), "file /t");
	kcfg_free(c);
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	assert_int_equal(kcfg_in_cluster("/t", "/c", &c, &err), 0);
	assert_string_equal(kcfg_server(c), "https://[fd00:10:96::1]:443");
	kcfg_free(c);
	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	assert_int_equal(kcfg_in_cluster("/t", "/c", &c, &err), -EINVAL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_token_rotation(void **state)
{
	char path[128];
	struct kb_err err = {0};
	struct kcfg *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/token", dir);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(kcfg_in_cluster(path, "/nonexistent", &c, &err), 0);
	assert_int_equal(kcfg_refresh_token(c, false, &err), -ENOENT);
	write_file("token", "first\n");
	assert_int_equal(kcfg_refresh_token(c, false, &err), 1);
	assert_int_equal(kcfg_refresh_token(c, false, &err), 0); /* unchanged file: not re-read */
	write_file("token", "second");
	assert_int_equal(kcfg_refresh_token(c, false, &err), 1);
	assert_int_equal(kcfg_refresh_token(c, true, &err), 0); /* forced, same content */
	write_file("token", "\n");
	assert_int_equal(kcfg_refresh_token(c, false, &err), -EINVAL);
	write_file("token", "a\nb\n");
	assert_int_equal(kcfg_refresh_token(c, false, &err), -EINVAL);
	kcfg_free(c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_kubeconfig(void **state)
{
	char path[128];
	struct kb_err err = {0};
	struct kcfg *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/config", dir);
	write_file("config", "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
	                     "clusters:\n"
	                     "- name: c1\n  cluster: {server: 'https://one:6443/'}\n"
	                     "- name: c2\n  cluster:\n    server: http://two:8080\n"
	                     "    certificate-authority: pki/ca.crt\n"
	                     "contexts:\n"
	                     "- name: a\n  context: {cluster: c1, user: u1}\n"
	                     "- name: b\n  context: {cluster: c2, user: u2}\n"
	                     "- name: x\n  context: {cluster: c1, user: u3}\n"
	                     "- name: y\n  context: {cluster: nope, user: u1}\n"
	                     "- name: z\n  context: {cluster: c1, user: u4}\n"
	                     "users:\n"
	                     "- name: u1\n  user: {token: abc}\n"
	                     "- name: u2\n  user: {tokenFile: tok}\n"
	                     "- name: u3\n  user:\n    exec: {command: aws}\n"
	                     "- name: u4\n  user: {client-certificate-data: aGk=}\n");
	assert_int_equal(kcfg_from_kubeconfig(path, NULL, &c, &err), 0);
	assert_string_equal(kcfg_server(c), "http://two:8080");
	{
		char want[160];
		snprintf(want, sizeof(want), "file %s/tok", dir);
		assert_string_equal(kcfg_token_source(c), want); /* relative to the kubeconfig */
	}
	kcfg_free(c);
	assert_int_equal(kcfg_from_kubeconfig(path, "a", &c, &err), 0);
	assert_string_equal(kcfg_server(c), "https://one:6443"); /* trailing slash dropped */
	assert_string_equal(kcfg_token_source(c), "kubeconfig");
	kcfg_free(c);
	assert_int_equal(kcfg_from_kubeconfig(path, "x", &c, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "exec"));
	assert_int_equal(kcfg_from_kubeconfig(path, "y", &c, &err), -ENOENT);
	assert_int_equal(kcfg_from_kubeconfig(path, "z", &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "needs its key"));
	assert_int_equal(kcfg_from_kubeconfig(path, "missing", &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "context 'missing' not found"));
	write_file("config", "clusters: [\n");
	assert_int_equal(kcfg_from_kubeconfig(path, NULL, &c, &err), -EINVAL);
	write_file("config", "kind: Config\n");
	assert_int_equal(kcfg_from_kubeconfig(path, NULL, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "current-context"));
}

static json_t *pod(const char *ns, const char *name, const char *uid)
{
	return json_pack(
	        "{s:{s:s, s:s, s:s}}", "metadata", "namespace", ns, "name", name, "uid", uid);
}

static void test_pods(void **state)
{
	struct kwatch_pods *p = kwatch_pods_new();
	json_t *a = pod("ns", "a", "u-a"), *a2 = pod("ns", "a", "u-a2"),
	       *b = pod("ns2", "a", "u-b");
	json_t *bad = json_pack("{s:{s:s}}", "metadata", "name", "x");

	(void)state;
	assert_int_equal(kwatch_pods_put(p, a), 0);
	assert_int_equal(kwatch_pods_put(p, a), 0); /* MODIFIED: no duplicate */
	assert_int_equal(kwatch_pods_put(p, b), 0);
	assert_int_equal(kwatch_pods_put(p, bad), -EINVAL);
	assert_int_equal(kwatch_pods_count(p), 2);
	assert_true(kwatch_pods_has_uid(p, "u-a"));
	assert_string_equal(kwatch_pods_uid_of(p, "ns", "a"), "u-a");
	assert_string_equal(kwatch_pods_uid_of(p, "ns2", "a"), "u-b");
	/* Recreated under the same name: the old UID is gone even without its DELETED. */
	assert_int_equal(kwatch_pods_put(p, a2), 0);
	assert_false(kwatch_pods_has_uid(p, "u-a"));
	assert_string_equal(kwatch_pods_uid_of(p, "ns", "a"), "u-a2");
	assert_int_equal(kwatch_pods_count(p), 2);
	kwatch_pods_del(p, a); /* stale DELETED of the old UID: no effect on the new pod */
	assert_true(kwatch_pods_has_uid(p, "u-a2"));
	kwatch_pods_del(p, a2);
	assert_null(kwatch_pods_uid_of(p, "ns", "a"));
	assert_int_equal(kwatch_pods_count(p), 1);
	json_decref(a);
	json_decref(a2);
	json_decref(b);
	json_decref(bad);
	kwatch_pods_free(p);
}

struct collected {
	char lines[8][64];
	int n;
};

static int collect_line(void *ctx, char *line, size_t len)
{
	struct collected *c = ctx;

	assert_int_equal(strlen(line), len);
	if (strcmp(line, "stop") == 0)
		return -EPROTO;
	snprintf(c->lines[c->n++], 64, "%s", line);
	return 0;
}

static int feed(struct kwatch_lines *l, const char *s, struct collected *c)
{
	return kwatch_lines_feed(l, s, strlen(s), collect_line, c);
}

static void test_lines(void **state)
{
	struct kwatch_lines l = {.max = 10};
	struct collected c = {0};

	(void)state;
	assert_int_equal(feed(&l, "{\"a\"", &c), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(feed(&l, ":1}\n{}\n\n{\"b", &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.lines[0], "{\"a\":1}");
	assert_string_equal(c.lines[1], "{}");
	assert_int_equal(feed(&l, "\":2}\n", &c), 0);
	assert_string_equal(c.lines[2], "{\"b\":2}");
	assert_int_equal(feed(&l, "stop\nx\n", &c), -EPROTO);
	kwatch_lines_reset(&l);
	l.max = 10;
	assert_int_equal(feed(&l, "0123456789abc", &c), -EMSGSIZE);
	kwatch_lines_reset(&l);
}

static void test_event_object(void **state)
{
	struct kevent_pod p = {"default", "web-0", "8f0e1c2d"};
	char longname[300];
	json_t *o;

	(void)state;
	o = kevent_object("node-a", &p, "FailedAttach", "no device", 1795000000, 7);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "Event");
	assert_string_equal(json_string_value(json_object_get(o, "apiVersion")), "v1");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace")),
	        "default");
	assert_true(
	        strncmp(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
	                "web-0.", 6) == 0);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(o, "involvedObject"), "uid")),
	        "8f0e1c2d");
	assert_string_equal(json_string_value(json_object_get(o, "type")), "Warning");
	assert_string_equal(
	        json_string_value(json_object_get(o, "firstTimestamp")), "2026-11-18T11:06:40Z");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(o, "source"), "host")), "node-a");
	json_decref(o);

	/* A 253-byte pod name still gives a name of at most 253 bytes. */
	memset(longname, 'a', 253);
	longname[253] = '\0';
	p.name = longname;
	p.uid = NULL;
	o = kevent_object("n", &p, "R", "m", 0, 1);
	assert_true(strlen(json_string_value(
	                    json_object_get(json_object_get(o, "metadata"), "name"))) <= 253);
	assert_null(json_object_get(json_object_get(o, "involvedObject"), "uid"));
	json_decref(o);
}

static void test_backoff(void **state)
{
	struct backoff b;
	uint32_t prev = 0;

	(void)state;
	backoff_init(&b, 100, 1000);
	for (int i = 0; i < 20; i++) {
		uint32_t ms = backoff_next(&b);
		uint32_t nominal = i < 4 ? 100u << i : 1000;
		assert_true(ms >= nominal - nominal / 4 && ms <= nominal + nominal / 4);
		prev = ms;
	}
	assert_true(prev <= 1250);
	assert_int_equal(b.failures, 20);
	backoff_reset(&b);
	assert_true(backoff_next(&b) <= 125);
}

static void test_config(void **state)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	const struct kube_cfg *k;

	(void)state;
	assert_int_equal(cfg_load_string("", "t.yaml", &cfg, &err), 0);
	k = kube_cfg(cfg);
	assert_false(k->enabled);
	assert_string_equal(k->token_file, KCFG_SA_TOKEN);
	assert_string_equal(k->ca_file, KCFG_SA_CA);
	assert_int_equal(k->gc_grace_s, 60);
	assert_int_equal(k->list_page_size, 500);
	assert_true(k->events);
	cfg_free(cfg);
	assert_int_equal(
	        cfg_load_string("kubernetes:\n  enabled: true\n  nodeName: node-1\n"
	                        "  kubeconfig: /root/.kube/config\n  gcGracePeriodSeconds: 0\n"
	                        "  events: false\n",
	                "t.yaml", &cfg, &err),
	        0);
	k = kube_cfg(cfg);
	assert_true(k->enabled);
	assert_string_equal(k->node_name, "node-1");
	assert_string_equal(k->kubeconfig, "/root/.kube/config");
	assert_int_equal(k->gc_grace_s, 0);
	assert_false(k->events);
	cfg_free(cfg);
	assert_true(cfg_load_string("kubernetes:\n  nodeName: Node_1\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "nodeName"));
	assert_true(
	        cfg_load_string("kubernetes:\n  kubeconfig: rel/path\n", "t.yaml", &cfg, &err) < 0);
	assert_true(
	        cfg_load_string("kubernetes:\n  gcIntervalSeconds: 0\n", "t.yaml", &cfg, &err) < 0);
	assert_true(cfg_load_string("kubernetes:\n  apiServer: x\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "apiServer: unknown key in kubernetes"));
}

static void test_pod_present(void **state)
{
	struct kwatch_pods *p = kwatch_pods_new();
	json_t *x = pod("ns", "x", "uid-x");
	struct alloc a = {0};

	(void)state;
	kwatch_pods_put(p, x);
	assert_int_equal(kube_pod_present(p, &a), -ENOENT); /* no pod: never collected */
	a.pod.ns = "ns";
	assert_int_equal(kube_pod_present(p, &a), -ENOENT); /* namespace alone says nothing */
	a.pod.name = "x";
	assert_int_equal(kube_pod_present(p, &a), 1); /* by namespace/name */
	a.pod.name = "y";
	assert_int_equal(kube_pod_present(p, &a), 0);
	a.pod.uid = "uid-x";
	assert_int_equal(kube_pod_present(p, &a), 1); /* the UID decides, not the name */
	a.pod.name = "x";
	a.pod.uid = "uid-old";
	assert_int_equal(kube_pod_present(p, &a), 0); /* same name, other UID: a new pod */
	a.pod.ns = a.pod.name = NULL;
	assert_int_equal(kube_pod_present(p, &a), 0); /* UID alone */
	json_decref(x);
	kwatch_pods_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_base64),
	        cmocka_unit_test(test_in_cluster),
	        cmocka_unit_test(test_token_rotation),
	        cmocka_unit_test(test_kubeconfig),
	        cmocka_unit_test(test_pods),
	        cmocka_unit_test(test_lines),
	        cmocka_unit_test(test_event_object),
	        cmocka_unit_test(test_backoff),
	        cmocka_unit_test(test_config),
	        cmocka_unit_test(test_pod_present),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
