/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the API server (agent/server.c).
 *
 * 1. srv_dispatch: every request-level error of the protocol, access control by uid, and the
 *    argument checks of the core operations.
 * 2. The server on a real Unix socket, driven by pumping the event loop from the test thread:
 *    replies held until their change is durable (group commit), commit failures, pipelining,
 *    half-closed clients, idle and incomplete-frame timeouts, client limits, bad frames.
 *    Persistence is a scripted stand-in so commits can be made to fail on demand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/loop.h"
#include "agent/server.h"
#include "api/api.h"
#include "api/frame.h"
#include "common/fs.h"

/* ---- scripted persistence and test operations ---- */

static struct {
	bool pending;
	uint64_t seq;
	unsigned commits;
	int fail; /* errno for the next commits, 0: succeed */
} fp;

static bool fp_pending(void *ctx)
{
	(void)ctx;
	return fp.pending;
}

static uint64_t fp_seq(void *ctx)
{
	(void)ctx;
	return fp.seq;
}

static int fp_commit(void *ctx, struct kb_err *err)
{
	(void)ctx;
	fp.commits++;
	if (fp.fail)
		return kb_err_set(err, fp.fail, "test disk refuses writes");
	fp.pending = false;
	return 0;
}

/* Changes state (like an attach that allocates). */
static int op_change(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)call;
	(void)args;
	fp.seq++;
	fp.pending = true;
	*ret = json_pack("{s:I}", "seq", (json_int_t)fp.seq);
	return 0;
}

/* A changing operation that finds nothing to change (an attach answering "existing", a
 * detach of something already released). */
static int op_noop(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)call;
	(void)args;
	*ret = json_pack("{s:b}", "existing", 1);
	return 0;
}

static int op_read(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)call;
	(void)args;
	*ret = json_pack("{s:I}", "seq", (json_int_t)fp.seq);
	return 0;
}

static int op_fail(struct srv_call *call, json_t *args, json_t **ret)
{
	(void)args;
	(void)ret;
	return kb_err_set(&call->err, EBUSY, "device t-1 is held by container x/net1");
}

/* A reply of args.size bytes of payload: for the output limits. */
static int op_big(struct srv_call *call, json_t *args, json_t **ret)
{
	size_t n = json_integer_value(json_object_get(args, "size"));
	char *data = malloc(n + 1);

	(void)call;
	if (!data)
		return -ENOMEM;
	memset(data, 'x', n);
	data[n] = '\0';
	*ret = json_pack("{s:s}", "data", data);
	free(data);
	return 0;
}

static struct srv_handler h_big = {.op = "test.big", .fn = op_big};
SRV_HANDLER_REGISTER(h_big)
static struct srv_handler h_change = {.op = "test.change", .needs_root = true, .fn = op_change};
static struct srv_handler h_noop = {.op = "test.noop", .needs_root = true, .fn = op_noop};
static struct srv_handler h_read = {.op = "test.read", .fn = op_read};
static struct srv_handler h_fail = {.op = "test.fail", .needs_root = true, .fn = op_fail};
SRV_HANDLER_REGISTER(h_change)
SRV_HANDLER_REGISTER(h_noop)
SRV_HANDLER_REGISTER(h_read)
SRV_HANDLER_REGISTER(h_fail)

static struct {
	char op[64];
	int errnum;
	unsigned calls;
} seen;

static void on_request_done(const char *op, int errnum, uint64_t usec)
{
	(void)usec;
	snprintf(seen.op, sizeof(seen.op), "%s", op);
	seen.errnum = errnum;
	seen.calls++;
}

static struct srv_observer observer = {.request_done = on_request_done};

/* ---- 1. dispatch ---- */

static json_t *dispatch(const char *js, uid_t uid, bool *changed)
{
	json_t *req = json_loads(js, JSON_DECODE_ANY, NULL), *reply;
	bool ch;

	if (!req)
		fail_msg("test request is not JSON: %s", js);
	reply = srv_dispatch(req, uid, 42, changed ? changed : &ch);
	json_decref(req);
	assert_non_null(reply);
	assert_int_equal(json_integer_value(json_object_get(reply, "version")), API_VERSION);
	return reply;
}

/* The reply is an error with `code` and a message containing `msg`; returns its id. */
static json_int_t expect_error(const char *js, uid_t uid, const char *code, const char *msg)
{
	json_t *reply = dispatch(js, uid, NULL), *e = json_object_get(reply, "error");
	const char *got = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));
	json_int_t id = json_integer_value(json_object_get(reply, "id"));

	if (!json_is_false(json_object_get(reply, "ok")) || !got || strcmp(got, code))
		fail_msg("%s: want %s, got %s", js, code, json_dumps(reply, JSON_COMPACT));
	if (msg && (!m || !strstr(m, msg)))
		fail_msg("%s: message '%s' does not contain '%s'", js, m ? m : "", msg);
	assert_null(json_object_get(reply, "result"));
	json_decref(reply);
	return id;
}

static void expect_ok(const char *js, uid_t uid)
{
	json_t *reply = dispatch(js, uid, NULL);

	if (!json_is_true(json_object_get(reply, "ok")))
		fail_msg("%s: %s", js, json_dumps(reply, JSON_COMPACT));
	assert_true(json_is_object(json_object_get(reply, "result")));
	json_decref(reply);
}

static void test_dispatch_envelope(void **state)
{
	char js[256];

	(void)state;
	expect_error("[1,2]", 0, "EBADMSG", "not a JSON object");
	expect_error("\"status\"", 0, "EBADMSG", "not a JSON object");
	expect_error("null", 0, "EBADMSG", NULL);
	expect_error("{\"version\":1,\"id\":-1,\"op\":\"status\"}", 0, "EBADMSG", "'id'");
	expect_error("{\"version\":1,\"id\":\"7\",\"op\":\"status\"}", 0, "EBADMSG", "'id'");
	expect_error("{\"version\":1,\"id\":1.5,\"op\":\"status\"}", 0, "EBADMSG", "'id'");
	/* The id is echoed from here on. */
	assert_int_equal(
	        expect_error("{\"id\":7,\"op\":\"status\"}", 0, "EPROTONOSUPPORT", "version"), 7);
	assert_int_equal(expect_error("{\"version\":2,\"id\":8,\"op\":\"status\"}", 0,
	                         "EPROTONOSUPPORT", NULL),
	        8);
	expect_error("{\"version\":\"1\",\"op\":\"status\"}", 0, "EPROTONOSUPPORT", NULL);
	expect_error("{\"version\":1.0,\"op\":\"status\"}", 0, "EPROTONOSUPPORT", NULL);
	assert_int_equal(expect_error("{\"version\":1,\"id\":9}", 0, "EBADMSG", "'op'"), 9);
	expect_error("{\"version\":1,\"op\":5}", 0, "EBADMSG", "'op'");
	expect_error("{\"version\":1,\"op\":null}", 0, "EBADMSG", "'op'");
	expect_error("{\"version\":1,\"op\":\"status\",\"args\":[]}", 0, "EBADMSG", "'args'");
	expect_error("{\"version\":1,\"op\":\"status\",\"args\":\"x\"}", 0, "EBADMSG", "'args'");
	expect_error("{\"version\":1,\"op\":\"frobnicate\"}", 0, "ENOSYS",
	        "unknown operation 'frobnicate'");
	expect_error("{\"version\":1,\"op\":\"\"}", 0, "ENOSYS", NULL);
	/* A long unknown op name is cut in the message, not overflowing it. */
	snprintf(js, sizeof(js), "{\"version\":1,\"op\":\"%0200d\"}", 0);
	expect_error(js, 0, "ENOSYS", "unknown operation");
	/* Absent id is 0; args may be absent. */
	{
		json_t *r = dispatch("{\"version\":1,\"op\":\"status\"}", 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), 0);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		r = dispatch("{\"version\":1,\"id\":4294967296,\"op\":\"test.read\"}", 0, NULL);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), 4294967296LL);
		json_decref(r);
	}
}

static void test_dispatch_access(void **state)
{
	static const char *const changing[] = {"attach", "detach", "gc", "test.change"};
	static const char *const reading[] = {"status", "test.read"};
	char js[256];
	bool changed = true;
	json_t *r;

	(void)state;
	for (size_t i = 0; i < sizeof(changing) / sizeof(changing[0]); i++) {
		snprintf(js, sizeof(js), "{\"version\":1,\"op\":\"%s\",\"args\":{}}", changing[i]);
		expect_error(js, 1000, "EPERM", "requires a root peer");
		expect_error(js, 65534, "EPERM", changing[i]);
	}
	/* The refused change did not run. */
	assert_int_equal(fp.seq, 0);
	for (size_t i = 0; i < sizeof(reading) / sizeof(reading[0]); i++) {
		snprintf(js, sizeof(js), "{\"version\":1,\"op\":\"%s\"}", reading[i]);
		expect_ok(js, 65534);
	}
	/* Reads reach their handler: errors are the operation's own, not EPERM. */
	expect_error("{\"version\":1,\"op\":\"check\",\"args\":{\"containerID\":\"c\","
	             "\"ifname\":\"net1\"}}",
	        65534, "ENOENT", "no allocation for c/net1");
	expect_error("{\"version\":1,\"op\":\"list\",\"args\":{\"what\":\"secrets\"}}", 65534,
	        "EINVAL", "'what'");
	expect_error("{\"version\":1,\"op\":\"list\"}", 65534, "EINVAL", "'what' is required");
	/* changed tells the server whether the reply waits for a commit. */
	r = dispatch("{\"version\":1,\"op\":\"test.read\"}", 0, &changed);
	assert_false(changed);
	json_decref(r);
	/* A changing operation's answer reports state, even when it changed nothing itself. */
	r = dispatch("{\"version\":1,\"op\":\"test.noop\"}", 0, &changed);
	assert_true(changed);
	json_decref(r);
	r = dispatch("{\"version\":1,\"op\":\"test.fail\"}", 0, &changed);
	assert_false(changed);
	json_decref(r);
	fp.pending = false;
}

static void test_dispatch_handler_errors_and_observer(void **state)
{
	(void)state;
	seen.calls = 0;
	expect_error("{\"version\":1,\"id\":3,\"op\":\"test.fail\"}", 0, "EBUSY",
	        "held by container x/net1");
	assert_string_equal(seen.op, "test.fail");
	assert_int_equal(seen.errnum, EBUSY);
	expect_ok("{\"version\":1,\"op\":\"test.read\"}", 0);
	assert_int_equal(seen.errnum, 0);
	expect_error("{\"version\":1,\"op\":\"attach\"}", 1000, "EPERM", NULL);
	assert_string_equal(seen.op, "attach");
	assert_int_equal(seen.errnum, EPERM);
	assert_int_equal(seen.calls, 3);
}

/* The core operations check their arguments before touching anything. */
static void test_dispatch_op_arguments(void **state)
{
	static const struct {
		const char *args, *msg;
	} attach[] = {
	        {"{}", "'containerID' is required"},
	        {"{\"containerID\":5,\"ifname\":\"net1\"}", "'containerID' must be a string"},
	        {"{\"containerID\":\"../x\",\"ifname\":\"net1\"}", "'containerID'"},
	        {"{\"containerID\":\"c\"}", "'ifname' is required"},
	        {"{\"containerID\":\"c\",\"ifname\":\"a/b\"}", "'ifname'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\"}", "'network' is required"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\"}",
	                "'deviceType' is required"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"mac\":\"01:00:5e:00:00:01\"}",
	                "'mac'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"mac\":\"00:00:00:00:00:00\"}",
	                "'mac'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"mac\":\"zz\"}",
	                "'mac'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"mtu\":67}",
	                "'mtu' must be an integer in [68, 65535]"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"mtu\":\"1500\"}",
	                "'mtu'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"vlan\":4095}",
	                "'vlan' must be an integer in [0, 4094]"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"pod\":\"web-0\"}",
	                "'pod' must be an object"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"pod\":{\"namespace\":\"Bad_NS\"}}",
	                "pod: 'namespace'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"pod\":{\"uid\":\"../../etc\"}}",
	                "pod: 'uid'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"netns\":\"proc/1/ns/net\"}",
	                "'netns'"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"config\":[]}",
	                "'config' must be an object"},
	        {"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\","
	         "\"deviceType\":\"virtio-user\",\"deviceID\":\"a b\"}",
	                "'deviceID'"},
	};
	char js[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(attach) / sizeof(attach[0]); i++) {
		snprintf(js, sizeof(js), "{\"version\":1,\"op\":\"attach\",\"args\":%s}",
		        attach[i].args);
		expect_error(js, 0, "EINVAL", attach[i].msg);
	}
	expect_error("{\"version\":1,\"op\":\"detach\",\"args\":{\"ifname\":\"net1\"}}", 0,
	        "EINVAL", "'containerID' is required");
	expect_error("{\"version\":1,\"op\":\"gc\",\"args\":{\"network\":\"n\",\"valid\":{}}}", 0,
	        "EINVAL", "'valid' must be an array");
	expect_error("{\"version\":1,\"op\":\"gc\",\"args\":{\"valid\":[]}}", 0, "EINVAL",
	        "'network' is required");
	/* Detach of something unknown is not an error: DEL must succeed. */
	{
		json_t *r = dispatch("{\"version\":1,\"op\":\"detach\",\"args\":{\"containerID\":"
		                     "\"nope\",\"ifname\":\"net1\"}}",
		        0, NULL);
		assert_true(
		        json_is_false(json_object_get(json_object_get(r, "result"), "released")));
		json_decref(r);
	}
}

/* ---- 2. the server on a socket ---- */

static struct {
	char dir[64];
	char sock[128];
	struct cfg *cfg;
	const char *api; /* the api section, when not the default one */
} S;

static int setup_server(void **state)
{
	struct srv_persist persist = {
	        .pending = fp_pending, .seq = fp_seq, .commit = fp_commit, .ctx = NULL};
	struct kb_err err = {0};
	char yaml[512];

	(void)state;
	memset(&fp, 0, sizeof(fp));
	strcpy(S.dir, "/tmp/kbsrv.XXXXXX");
	assert_non_null(mkdtemp(S.dir));
	snprintf(S.sock, sizeof(S.sock), "%s/agent.sock", S.dir);
	snprintf(yaml, sizeof(yaml),
	        "apiSocket: %s\nstateDir: %s/state\nrunDir: %s/run\n"
	        "api:\n%s",
	        S.sock, S.dir, S.dir, S.api ? S.api : "  maxClients: 3\n  idleTimeoutMs: 400\n");
	S.api = NULL;
	if (cfg_load_string(yaml, "t.yaml", &S.cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(loop_init(&err), 0);
	if (srv_start(cfg_core(S.cfg), &persist, &err) < 0)
		fail_msg("srv_start: %s", err.msg);
	return 0;
}

static int setup_server_root_slots(void **state)
{
	S.api = "  maxClients: 3\n  idleTimeoutMs: 5000\n  rootReservedClients: 1\n";
	return setup_server(state);
}

static int setup_server_output_cap(void **state)
{
	S.api = "  maxClients: 4\n  idleTimeoutMs: 5000\n  maxOutputBytes: 262144\n";
	return setup_server(state);
}

static int setup_server_slow_reader(void **state)
{
	S.api = "  maxClients: 4\n  idleTimeoutMs: 600\n";
	return setup_server(state);
}

static int teardown_server(void **state)
{
	(void)state;
	srv_stop();
	loop_fini();
	cfg_free(S.cfg);
	fs_rm_rf(S.dir);
	return 0;
}

/* Run the agent's loop for `ms` milliseconds. */
static void pump(int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(loop_base(), &tv);
	event_base_dispatch(loop_base());
}

static int64_t now_ms(void)
{
	return frame_now_ms();
}

static char rbuf[1 << 16];
static size_t rhave;
static int rhave_fd = -1;

static int conn(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	strcpy(sa.sun_path, S.sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	rhave_fd = -1; /* a new connection may reuse a closed one's number */
	pump(5);       /* accepted */
	return fd;
}

static void send_raw(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void send_req(int fd, const char *js)
{
	uint8_t hdr[4];

	frame_put_len(hdr, strlen(js));
	send_raw(fd, hdr, 4);
	send_raw(fd, js, strlen(js));
}

/* Read one reply, pumping the loop meanwhile. NULL when the connection was closed (then
 * *closed is true) or nothing came within timeout_ms. */
static json_t *recv_reply(int fd, int timeout_ms, bool *closed)
{
	char *buf = rbuf;
	size_t have = rhave;
	int have_fd = rhave_fd;
	json_t *ret = NULL;
	int64_t end = now_ms() + timeout_ms;

	if (have_fd != fd) {
		have = 0;
		have_fd = fd;
	}
	if (closed)
		*closed = false;
	for (;;) {
		ssize_t n;
		if (have >= 4) {
			uint32_t len = frame_get_len((uint8_t *)buf);
			if (have >= 4 + len) {
				ret = json_loadb(buf + 4, len, 0, NULL);
				memmove(buf, buf + 4 + len, have - 4 - len);
				have -= 4 + len;
				assert_non_null(ret);
				break;
			}
		}
		n = recv(fd, buf + have, sizeof(rbuf) - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			if (closed)
				*closed = true;
			have_fd = -1;
			break;
		}
		if (n > 0) {
			have += n;
			continue;
		}
		if (now_ms() >= end)
			break;
		pump(5);
	}
	rhave = have;
	rhave_fd = have_fd;
	return ret;
}

/* True when the server closed the connection within timeout_ms (after any replies). */
static bool closed_within(int fd, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	bool closed;

	while (now_ms() < end) {
		json_t *r = recv_reply(fd, 10, &closed);
		json_decref(r);
		if (closed)
			return true;
	}
	return false;
}

static const char *err_code(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static void test_server_basic_and_pipelined(void **state)
{
	json_t *r;
	int fd = conn();

	(void)state;
	send_req(fd, "{\"version\":1,\"id\":1,\"op\":\"test.read\"}");
	r = recv_reply(fd, 1000, NULL);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	/* Several requests in one write, a change among reads: replies in request order, the
	 * reads after the change held with it. */
	{
		char batch[1024];
		size_t off = 0;
		const char *reqs[] = {
		        "{\"version\":1,\"id\":10,\"op\":\"test.read\"}",
		        "{\"version\":1,\"id\":11,\"op\":\"test.change\"}",
		        "{\"version\":1,\"id\":12,\"op\":\"test.read\"}",
		        "{\"version\":1,\"id\":13,\"op\":\"nope\"}",
		        "{\"version\":1,\"id\":14,\"op\":\"test.change\"}",
		};
		for (size_t i = 0; i < 5; i++) {
			frame_put_len((uint8_t *)batch + off, strlen(reqs[i]));
			memcpy(batch + off + 4, reqs[i], strlen(reqs[i]));
			off += 4 + strlen(reqs[i]);
		}
		send_raw(fd, batch, off);
		for (int id = 10; id <= 14; id++) {
			r = recv_reply(fd, 1000, NULL);
			assert_non_null(r);
			assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
			json_decref(r);
		}
		/* Both changes of the batch shared one commit. */
		assert_int_equal(fp.commits, 1);
	}
	close(fd);
}

static void test_server_reply_waits_for_commit(void **state)
{
	json_t *r;
	int a = conn(), b = conn();

	(void)state;
	/* The disk refuses: the change's reply is an error, the change stays pending. */
	fp.fail = EIO;
	send_req(a, "{\"version\":1,\"id\":1,\"op\":\"test.change\"}");
	r = recv_reply(a, 1000, NULL);
	assert_non_null(r);
	assert_string_equal(err_code(r), "EIO");
	assert_non_null(
	        strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
	                "test disk refuses writes"));
	json_decref(r);
	assert_true(fp.pending);

	/* Another client's changing operation that changed nothing itself (an attach answering
	 * "existing" for what the failed request allocated) must not report success for state
	 * that is not durable. */
	send_req(b, "{\"version\":1,\"id\":2,\"op\":\"test.noop\"}");
	r = recv_reply(b, 1000, NULL);
	assert_non_null(r);
	if (!err_code(r) || strcmp(err_code(r), "EIO"))
		fail_msg("noop while the state is not durable answered %s",
		        json_dumps(r, JSON_COMPACT));
	json_decref(r);
	/* Reads are answered (they are how operators see the problem). */
	send_req(b, "{\"version\":1,\"id\":3,\"op\":\"status\"}");
	r = recv_reply(b, 1000, NULL);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_true(json_integer_value(
	                    json_object_get(json_object_get(json_object_get(r, "result"), "api"),
	                            "commitFailures")) >= 2);
	json_decref(r);

	/* The disk recovers: the next commit writes what was kept, replies are ok again. */
	fp.fail = 0;
	send_req(b, "{\"version\":1,\"id\":4,\"op\":\"test.noop\"}");
	r = recv_reply(b, 1000, NULL);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	assert_false(fp.pending);
	/* Nothing pending: a no-op is answered without a commit. */
	{
		unsigned c0 = fp.commits;
		send_req(b, "{\"version\":1,\"id\":5,\"op\":\"test.noop\"}");
		r = recv_reply(b, 1000, NULL);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		assert_int_equal(fp.commits, c0);
	}
	close(a);
	close(b);
}

static void test_server_half_closed_client(void **state)
{
	json_t *r;
	int fd = conn();

	(void)state;
	/* `printf req | socat - UNIX:...`: the request, then end-of-file; the replies (a held
	 * one included) must still come. */
	send_req(fd, "{\"version\":1,\"id\":1,\"op\":\"test.read\"}");
	send_req(fd, "{\"version\":1,\"id\":2,\"op\":\"test.change\"}");
	shutdown(fd, SHUT_WR);
	r = recv_reply(fd, 1000, NULL);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = recv_reply(fd, 1000, NULL);
	if (!r)
		fail_msg("no reply to the held request of a half-closed client");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* Then the server closes. */
	assert_true(closed_within(fd, 1000));
	close(fd);
}

static void test_server_idle_timeout(void **state)
{
	int64_t t0;
	int fd;

	(void)state;
	fd = conn();
	t0 = now_ms();
	assert_true(closed_within(fd, 10000));
	/* idleTimeoutMs is 400. */
	assert_true(now_ms() - t0 >= 350);
	close(fd);
}

static void test_server_incomplete_frame_timeout(void **state)
{
	const char *js = "{\"version\":1,\"id\":1,\"op\":\"test.read\"}";
	uint8_t hdr[4];
	int64_t t0;
	bool closed = false;
	int fd = conn();

	(void)state;
	/* A frame dribbled a byte every 100 ms never completes within the 400 ms limit, though
	 * the connection is never idle for 400 ms: it must be closed all the same. */
	frame_put_len(hdr, 1000);
	send_raw(fd, hdr, 4);
	t0 = now_ms();
	/* About 4 s of dribbling (a byte per 100 ms), ten times the limit: closed before the end,
	 * whatever the machine's load; a server that waits for the frame never closes. */
	for (size_t i = 0; i < strlen(js); i++) {
		json_t *r;
		if (send(fd, js + i, 1, MSG_NOSIGNAL) != 1) {
			closed = true;
			break;
		}
		r = recv_reply(fd, 100, &closed);
		json_decref(r);
		if (closed)
			break;
	}
	if (!closed)
		fail_msg("connection with a frame incomplete for %lld ms still open",
		        (long long)(now_ms() - t0));
	close(fd);
	/* The server still serves others. */
	fd = conn();
	send_req(fd, js);
	json_decref(recv_reply(fd, 1000, NULL));
	close(fd);
}

static void test_server_bad_frames(void **state)
{
	uint8_t hdr[4];
	json_t *r;
	int fd;

	(void)state;
	/* Not JSON: an error reply, the connection stays usable. */
	fd = conn();
	frame_put_len(hdr, 5);
	send_raw(fd, hdr, 4);
	send_raw(fd, "hello", 5);
	r = recv_reply(fd, 1000, NULL);
	assert_string_equal(err_code(r), "EBADMSG");
	json_decref(r);
	send_req(fd, "{\"version\":1,\"id\":2,\"op\":\"test.read\"}");
	r = recv_reply(fd, 1000, NULL);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* JSON with a NUL inside the frame. */
	frame_put_len(hdr, 4);
	send_raw(fd, hdr, 4);
	send_raw(fd, "{}\0x", 4);
	r = recv_reply(fd, 1000, NULL);
	assert_string_equal(err_code(r), "EBADMSG");
	json_decref(r);
	close(fd);

	/* Zero length: EMSGSIZE, then closed. */
	fd = conn();
	frame_put_len(hdr, 0);
	send_raw(fd, hdr, 4);
	r = recv_reply(fd, 1000, NULL);
	assert_string_equal(err_code(r), "EMSGSIZE");
	json_decref(r);
	assert_true(closed_within(fd, 1000));
	close(fd);

	/* Over 1 MiB announced: refused at once, before any body arrives. */
	fd = conn();
	frame_put_len(hdr, API_MAX_REQUEST + 1);
	send_raw(fd, hdr, 4);
	r = recv_reply(fd, 1000, NULL);
	assert_string_equal(err_code(r), "EMSGSIZE");
	json_decref(r);
	assert_true(closed_within(fd, 1000));
	close(fd);

	/* Exactly 1 MiB is accepted (a JSON object padded with spaces). */
	{
		char *big = malloc(API_MAX_REQUEST);
		const char *js = "{\"version\":1,\"id\":5,\"op\":\"test.read\"}";
		size_t off = 0;
		fd = conn();
		memset(big, ' ', API_MAX_REQUEST);
		memcpy(big, js, strlen(js));
		frame_put_len(hdr, API_MAX_REQUEST);
		send_raw(fd, hdr, 4);
		while (off < API_MAX_REQUEST) {
			ssize_t n = send(fd, big + off, API_MAX_REQUEST - off, MSG_NOSIGNAL);
			if (n > 0)
				off += n;
			pump(2);
		}
		r = recv_reply(fd, 2000, NULL);
		assert_non_null(r);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
		json_decref(r);
		free(big);
		close(fd);
	}
}

static void test_server_client_limit(void **state)
{
	int fds[3], extra;
	json_t *r;
	bool closed;

	(void)state;
	for (int i = 0; i < 3; i++)
		fds[i] = conn();
	/* The fourth (newest) is refused with EBUSY and closed; the others keep working. */
	extra = conn();
	r = recv_reply(extra, 1000, &closed);
	assert_non_null(r);
	assert_string_equal(err_code(r), "EBUSY");
	json_decref(r);
	assert_true(closed_within(extra, 1000));
	close(extra);
	for (int i = 0; i < 3; i++) {
		send_req(fds[i], "{\"version\":1,\"id\":1,\"op\":\"test.read\"}");
		r = recv_reply(fds[i], 1000, NULL);
		assert_non_null(r);
		json_decref(r);
	}
	/* A slot freed is a slot available. */
	close(fds[0]);
	pump(20);
	fds[0] = conn();
	send_req(fds[0], "{\"version\":1,\"id\":1,\"op\":\"test.read\"}");
	r = recv_reply(fds[0], 1000, &closed);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

/* Connect as another user: SO_PEERCRED reports the effective uid at connect(). */
static int conn_as(uid_t uid)
{
	int fd;

	assert_int_equal(seteuid(uid), 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		strcpy(sa.sun_path, S.sock);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int e = errno;
			assert_int_equal(seteuid(0), 0);
			fail_msg("connect as uid %u: %s", (unsigned)uid, strerror(e));
		}
	}
	assert_int_equal(seteuid(0), 0);
	rhave_fd = -1;
	pump(5);
	return fd;
}

static void test_server_root_slots(void **state)
{
	int user[2], extra, root;
	json_t *r;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* The socket is 0660 root:root in a 0700 directory: let uid 65534 (group 0 kept) in. */
	assert_int_equal(chmod(S.dir, 0755), 0);
	/* maxClients 3, rootReservedClients 1: two non-root clients, then only root. */
	for (int i = 0; i < 2; i++)
		user[i] = conn_as(65534);
	extra = conn_as(65534);
	r = recv_reply(extra, 1000, NULL);
	if (!r)
		fail_msg("a third non-root client was accepted: the last slot is root's");
	assert_string_equal(err_code(r), "EBUSY");
	assert_non_null(
	        strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
	                "non-root"));
	json_decref(r);
	assert_true(closed_within(extra, 1000));
	close(extra);
	/* kbnet-cni (root) still gets in, and is served. */
	root = conn();
	send_req(root, "{\"version\":1,\"id\":1,\"op\":\"test.change\"}");
	r = recv_reply(root, 1000, NULL);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* The non-root ones work too (reads). */
	send_req(user[0], "{\"version\":1,\"id\":2,\"op\":\"test.read\"}");
	r = recv_reply(user[0], 1000, NULL);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = srv_status();
	assert_int_equal(json_integer_value(json_object_get(r, "nonRootClients")), 2);
	assert_int_equal(json_integer_value(json_object_get(r, "refusedNonRoot")), 1);
	json_decref(r);
	/* A non-root slot freed is a slot for a non-root client again. */
	close(user[1]);
	pump(20);
	user[1] = conn_as(65534);
	send_req(user[1], "{\"version\":1,\"id\":3,\"op\":\"test.read\"}");
	r = recv_reply(user[1], 1000, NULL);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	close(root);
	close(user[0]);
	close(user[1]);
}

static void test_server_output_cap(void **state)
{
	enum { N = 40, SIZE = 32 * 1024 };
	char js[128];
	json_t *r, *st;
	int a, b;

	(void)state;
	/* Client A asks for 40 x 32 KiB and reads nothing: past the kernel's socket buffer, the
	 * replies wait in the agent, up to maxOutputBytes (256 KiB), then A is paused. */
	a = conn();
	for (int i = 0; i < N; i++) {
		snprintf(js, sizeof(js),
		        "{\"version\":1,\"id\":%d,\"op\":\"test.big\","
		        "\"args\":{\"size\":%d}}",
		        i, SIZE);
		send_req(a, js);
	}
	pump(100);
	st = srv_status();
	if (json_integer_value(json_object_get(st, "outputBytes")) > 262144 + SIZE + 64)
		fail_msg("%lld bytes queued for a client that does not read (cap 262144)",
		        (long long)json_integer_value(json_object_get(st, "outputBytes")));
	if (json_integer_value(json_object_get(st, "outputPaused")) < 1)
		fail_msg("A not paused: %s", json_dumps(st, 0));
	json_decref(st);
	/* B asks for a large reply: refused with a clear error instead of more memory. */
	b = conn();
	send_req(b, "{\"version\":1,\"id\":100,\"op\":\"test.big\",\"args\":{\"size\":200000}}");
	r = recv_reply(b, 1000, NULL);
	if (!r)
		fail_msg("no reply to B");
	if (!err_code(r) || strcmp(err_code(r), "ENOBUFS"))
		fail_msg("a 200 KB reply past the output cap was not refused: %s",
		        json_dumps(srv_status(), 0));
	assert_non_null(
	        strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
	                "maxOutputBytes"));
	json_decref(r);
	/* Small replies to a client that reads still go out (kbnet-cni's). */
	send_req(b, "{\"version\":1,\"id\":101,\"op\":\"test.change\"}");
	r = recv_reply(b, 1000, NULL);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* A reads at last: every reply comes, in order, none lost to the pause. */
	for (int i = 0; i < N; i++) {
		r = recv_reply(a, 2000, NULL);
		if (!r)
			fail_msg("reply %d to A missing", i);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
	st = srv_status();
	assert_true(json_integer_value(json_object_get(st, "outputPeakBytes")) <=
	            262144 + 2 * SIZE + 64);
	json_decref(st);
	close(a);
	close(b);
}

/* Send one request; true when the server has closed the connection. */
static bool send_all_or_closed(int fd, const char *js)
{
	uint8_t hdr[4];

	frame_put_len(hdr, strlen(js));
	return send(fd, hdr, 4, MSG_NOSIGNAL) != 4 ||
	       send(fd, js, strlen(js), MSG_NOSIGNAL) != (ssize_t)strlen(js);
}

static void test_server_slow_reader(void **state)
{
	static char buf[65536];
	size_t got = 0;
	int64_t t0;
	int fd = conn();

	(void)state;
	/* An 8 MB reply read 64 KiB per 20 ms takes 2.6 s or more, and a request every 100 ms
	 * keeps the connection from looking idle; libevent's write timeout restarts on every
	 * write, so such a reader kept its slot and its replies as long as it liked. Replies must
	 * be out within idleTimeoutMs (600 ms) as a whole: the connection is closed before the
	 * first has all been read. */
	send_req(fd, "{\"version\":1,\"id\":1,\"op\":\"test.big\",\"args\":{\"size\":8000000}}");
	t0 = now_ms();
	for (int i = 0; now_ms() - t0 < 20000; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		if (n > 0)
			got += n;
		if (i % 5 == 4 && got < 8000000 &&
		        send_all_or_closed(fd, "{\"version\":1,\"op\":\"test.read\"}"))
			break;
		pump(20);
	}
	if (got >= 8000000)
		fail_msg(
		        "a slow reader got its whole reply (%zu bytes in %lld ms, deadline 600 ms)",
		        got, (long long)(now_ms() - t0));
	close(fd);
}

static void test_server_second_instance_refused(void **state)
{
	struct srv_persist persist = {
	        .pending = fp_pending, .seq = fp_seq, .commit = fp_commit, .ctx = NULL};
	struct kb_err err = {0};
	struct cfg_core core = *cfg_core(S.cfg);

	(void)state;
	/* The path is served: a second server must not steal it. */
	srv_stop();
	assert_int_equal(srv_start(&core, &persist, &err), 0);
	{
		/* Re-start on the same path from "another process": simulate with a listener. */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		char other[100];
		int l = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(other, sizeof(other), "%s/other.sock", S.dir);
		strcpy(sa.sun_path, other);
		assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(l, 1), 0);
		srv_stop();
		snprintf(core.api_socket, sizeof(core.api_socket), "%s", other);
		assert_int_equal(srv_start(&core, &persist, &err), -EADDRINUSE);
		assert_non_null(strstr(err.msg, "served by another process"));
		close(l);
		/* A stale socket file (nobody listening) is replaced. */
		assert_int_equal(srv_start(&core, &persist, &err), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dispatch_envelope),
	        cmocka_unit_test(test_dispatch_access),
	        cmocka_unit_test(test_dispatch_handler_errors_and_observer),
	        cmocka_unit_test(test_dispatch_op_arguments),
	        cmocka_unit_test_setup_teardown(
	                test_server_basic_and_pipelined, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_reply_waits_for_commit, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_half_closed_client, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_idle_timeout, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_incomplete_frame_timeout, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_bad_frames, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_client_limit, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_second_instance_refused, setup_server, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_root_slots, setup_server_root_slots, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_output_cap, setup_server_output_cap, teardown_server),
	        cmocka_unit_test_setup_teardown(
	                test_server_slow_reader, setup_server_slow_reader, teardown_server),
	};

	srv_observer_register(&observer);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
