/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: API framing (api/frame.c) over socketpairs, and the blocking client
 * (api/client.c) against a scripted peer thread: lengths at and over the limits, short reads,
 * deadlines, reply validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/client.h"
#include "api/frame.h"
#include "common/fs.h"

static int sp[2];

static int setup_pair(void **state)
{
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	return 0;
}

static int teardown_pair(void **state)
{
	(void)state;
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return 0;
}

static void raw(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void raw_len(int fd, uint32_t len)
{
	uint8_t hdr[4];

	frame_put_len(hdr, len);
	raw(fd, hdr, 4);
}

/* ---- length header ---- */

static void test_len_encoding(void **state)
{
	const uint32_t v[] = {0, 1, 255, 256, 0x01020304, API_MAX_REQUEST, 0xffffffffu};
	uint8_t hdr[4];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		frame_put_len(hdr, v[i]);
		assert_int_equal(frame_get_len(hdr), v[i]);
	}
	/* Big-endian on the wire. */
	frame_put_len(hdr, 0x01020304);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[3], 4);
	hdr[0] = 0x80;
	hdr[1] = hdr[2] = hdr[3] = 0;
	assert_int_equal(frame_get_len(hdr), 0x80000000u); /* no sign extension */
}

/* ---- send / recv ---- */

static void test_round_trip(void **state)
{
	char *got = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(frame_send(sp[0], "{\"a\":1}", 7, -1), 0);
	assert_int_equal(frame_recv(sp[1], 64, &got, &len, -1), 0);
	assert_int_equal(len, 7);
	assert_string_equal(got, "{\"a\":1}"); /* NUL-terminated */
	free(got);
	/* Exactly at the limit is fine. */
	assert_int_equal(frame_send(sp[0], "0123456789", 10, -1), 0);
	assert_int_equal(frame_recv(sp[1], 10, &got, &len, -1), 0);
	free(got);
}

static void test_send_empty_refused(void **state)
{
	char c;

	(void)state;
	assert_int_equal(frame_send(sp[0], "", 0, -1), -EMSGSIZE);
	/* Nothing went out. */
	assert_int_equal(recv(sp[1], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_recv_zero_length(void **state)
{
	char *got = (char *)0x1;

	(void)state;
	raw_len(sp[0], 0);
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, -1), -EMSGSIZE);
	assert_ptr_equal(got, (char *)0x1); /* untouched on failure */
}

static void test_recv_over_max(void **state)
{
	char *got = NULL;

	(void)state;
	raw_len(sp[0], 11);
	raw(sp[0], "0123456789x", 11);
	assert_int_equal(frame_recv(sp[1], 10, &got, NULL, -1), -EMSGSIZE);
	assert_null(got);
	/* A hostile length is refused before anything is allocated for it. */
	raw_len(sp[0], 0xffffffffu);
	assert_int_equal(frame_recv(sp[1], API_MAX_REPLY, &got, NULL, -1), -EMSGSIZE);
}

static void test_recv_peer_closed(void **state)
{
	char *got = NULL;

	(void)state;
	/* Before anything. */
	close(sp[0]);
	sp[0] = -1;
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, -1), -ECONNRESET);
}

static void test_recv_short_header(void **state)
{
	char *got = NULL;

	(void)state;
	raw(sp[0], "\0\0", 2);
	close(sp[0]);
	sp[0] = -1;
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, -1), -ECONNRESET);
	assert_null(got);
}

static void test_recv_short_body(void **state)
{
	char *got = NULL;

	(void)state;
	raw_len(sp[0], 10);
	raw(sp[0], "01234", 5);
	close(sp[0]);
	sp[0] = -1;
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, -1), -ECONNRESET);
	assert_null(got);
}

static void test_recv_deadline(void **state)
{
	char *got = NULL;
	int64_t t0;

	(void)state;
	/* Nothing arrives. */
	t0 = frame_now_ms();
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, t0 + 100), -ETIMEDOUT);
	assert_true(frame_now_ms() - t0 >= 100);
	/* Half a frame arrives, never the rest. */
	raw_len(sp[0], 10);
	raw(sp[0], "0123", 4);
	t0 = frame_now_ms();
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, t0 + 100), -ETIMEDOUT);
	assert_null(got);
	/* A deadline already past still reads what is there. */
	teardown_pair(NULL);
	setup_pair(NULL);
	assert_int_equal(frame_send(sp[0], "{}", 2, -1), 0);
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, frame_now_ms() - 1000), 0);
	free(got);
}

struct dribble {
	int fd;
	const char *data;
	size_t len, chunk;
	unsigned delay_us;
};

static void *dribble_thread(void *arg)
{
	struct dribble *d = arg;

	for (size_t off = 0; off < d->len; off += d->chunk) {
		size_t n = d->len - off < d->chunk ? d->len - off : d->chunk;
		if (send(d->fd, d->data + off, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
		usleep(d->delay_us);
	}
	return NULL;
}

static void test_recv_in_pieces(void **state)
{
	char buf[4 + 32], *got = NULL;
	struct dribble d = {
	        .fd = sp[0], .data = buf, .len = sizeof(buf), .chunk = 1, .delay_us = 1000};
	pthread_t th;

	(void)state;
	frame_put_len((uint8_t *)buf, 32);
	memset(buf + 4, 'x', 32);
	assert_int_equal(pthread_create(&th, NULL, dribble_thread, &d), 0);
	assert_int_equal(frame_recv(sp[1], 64, &got, NULL, frame_now_ms() + 5000), 0);
	pthread_join(th, NULL);
	assert_int_equal(strlen(got), 32);
	free(got);
}

struct reader {
	int fd;
	size_t max;
	char *got;
	size_t len;
	int r;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;

	rd->r = frame_recv(rd->fd, rd->max, &rd->got, &rd->len, frame_now_ms() + 10000);
	return NULL;
}

static void test_large_frame(void **state)
{
	size_t n = 4 * 1024 * 1024; /* far more than the socket buffer: many partial sends */
	char *big = malloc(n);
	struct reader rd = {.fd = sp[1], .max = n};
	pthread_t th;

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = 'a' + i % 26;
	assert_int_equal(pthread_create(&th, NULL, reader_thread, &rd), 0);
	assert_int_equal(frame_send(sp[0], big, n, frame_now_ms() + 10000), 0);
	pthread_join(th, NULL);
	assert_int_equal(rd.r, 0);
	assert_int_equal(rd.len, n);
	assert_memory_equal(rd.got, big, n);
	free(rd.got);
	free(big);
}

static void test_send_deadline(void **state)
{
	size_t n = 4 * 1024 * 1024;
	char *big = calloc(1, n);
	int64_t t0 = frame_now_ms();

	(void)state;
	/* Nobody reads: the send blocks on a full buffer until the deadline. */
	assert_int_equal(frame_send(sp[0], big, n, t0 + 100), -ETIMEDOUT);
	assert_true(frame_now_ms() - t0 >= 100);
	free(big);
}

static void test_send_peer_gone(void **state)
{
	(void)state;
	close(sp[1]);
	sp[1] = -1;
	/* EPIPE, not SIGPIPE. */
	assert_int_equal(frame_send(sp[0], "{}", 2, -1), -EPIPE);
}

/* ---- client ---- */

static char sock_dir[64], sock_path[128];

/* The scripted peer: accepts one connection, reads one request, then answers with `reply`
 * (raw bytes; NULL: close without answering; "-": never answer). */
struct peer {
	int lfd;
	const char *reply;
	size_t reply_len;
	json_t *req; /* what it received */
	int r;
};

static void *peer_thread(void *arg)
{
	struct peer *p = arg;
	char *in = NULL;
	size_t len;
	int fd = accept(p->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	p->r = frame_recv(fd, API_MAX_REQUEST, &in, &len, frame_now_ms() + 5000);
	if (p->r == 0)
		p->req = json_loadb(in, len, 0, NULL);
	free(in);
	if (p->reply && strcmp(p->reply, "-") == 0) {
		char c;
		/* Hold the connection until the client gives up. */
		while (recv(fd, &c, 1, 0) > 0)
			;
	} else if (p->reply) {
		send(fd, p->reply, p->reply_len ? p->reply_len : strlen(p->reply), MSG_NOSIGNAL);
	}
	close(fd);
	return NULL;
}

static int setup_listener(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct peer *p = calloc(1, sizeof(*p));

	strcpy(sock_dir, "/tmp/kbframe.XXXXXX");
	assert_non_null(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s", sock_dir);
	strcpy(sa.sun_path, sock_path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 8), 0);
	*state = p;
	return 0;
}

static int teardown_listener(void **state)
{
	struct peer *p = *state;

	close(p->lfd);
	json_decref(p->req);
	free(p);
	fs_rm_rf(sock_dir);
	return 0;
}

/* A framed reply body. */
static char framed[8192];
static size_t framed_len;

static const char *frame_of(const char *js)
{
	size_t n = strlen(js);

	frame_put_len((uint8_t *)framed, n);
	memcpy(framed + 4, js, n);
	framed_len = n + 4;
	return framed;
}

/* Run one apicl_call against the peer; returns its result code. */
static int client_call(struct peer *p, const char *reply, size_t reply_len, int timeout_ms,
        json_t *args, json_t **result, struct kb_err *err, bool *remote)
{
	struct apicl *c = NULL;
	pthread_t th;
	int r;

	p->reply = reply;
	p->reply_len = reply_len;
	json_decref(p->req);
	p->req = NULL;
	assert_int_equal(pthread_create(&th, NULL, peer_thread, p), 0);
	assert_int_equal(apicl_connect(sock_path, timeout_ms, &c, err), 0);
	r = apicl_call(c, "status", args, result, err);
	*remote = apicl_remote_error(c);
	apicl_close(c);
	pthread_join(th, NULL);
	return r;
}

/* The peer answers with `js` as one well-formed frame. */
static int client_call_js(struct peer *p, const char *js, int timeout_ms, json_t *args,
        json_t **result, struct kb_err *err, bool *remote)
{
	frame_of(js);
	return client_call(p, framed, framed_len, timeout_ms, args, result, err, remote);
}

static void test_client_request_format(void **state)
{
	struct peer *p = *state;
	struct kb_err err = {0};
	json_t *args = json_pack("{s:s}", "what", "pools"), *res = NULL;
	bool remote;

	(void)state;
	assert_int_equal(client_call_js(p,
	                         "{\"version\":1,\"id\":1,\"ok\":true,"
	                         "\"result\":{\"x\":5}}",
	                         2000, args, &res, &err, &remote),
	        0);
	assert_false(remote);
	assert_int_equal(json_integer_value(json_object_get(res, "x")), 5);
	json_decref(res);
	/* What went on the wire. */
	assert_int_equal(json_integer_value(json_object_get(p->req, "version")), API_VERSION);
	assert_int_equal(json_integer_value(json_object_get(p->req, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(p->req, "op")), "status");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(p->req, "args"), "what")),
	        "pools");
	/* The caller's args are not stolen. */
	assert_int_equal(args->refcount, 1);
	json_decref(args);
	/* No result object in the reply: an empty one. */
	assert_int_equal(client_call_js(p, "{\"version\":1,\"id\":1,\"ok\":true}", 2000, NULL, &res,
	                         &err, &remote),
	        0);
	assert_true(json_is_object(res));
	assert_null(json_object_get(p->req, "args"));
	json_decref(res);
}

static void test_client_error_reply(void **state)
{
	struct peer *p = *state;
	struct kb_err err = {0};
	bool remote;

	assert_int_equal(client_call_js(p,
	                         "{\"version\":1,\"id\":1,\"ok\":false,\"error\":"
	                         "{\"code\":\"EBUSY\",\"message\":\"held by x\"}}",
	                         2000, NULL, NULL, &err, &remote),
	        -EBUSY);
	assert_true(remote);
	assert_string_equal(err.msg, "held by x");
	/* An error code this client does not know is still an error. */
	assert_int_equal(client_call_js(p,
	                         "{\"version\":1,\"id\":1,\"ok\":false,\"error\":"
	                         "{\"code\":\"EWHATEVER\"}}",
	                         2000, NULL, NULL, &err, &remote),
	        -EIO);
	assert_true(remote);
}

static void test_client_bad_replies(void **state)
{
	struct peer *p = *state;
	struct kb_err err = {0};
	bool remote;
	static const char *const bad[] = {
	        "{\"version\":1,\"id\":2,\"ok\":true}", /* another request's reply */
	        "{\"version\":1,\"ok\":true}",          /* no id */
	        "{\"version\":1,\"id\":1}",             /* no ok */
	        "{\"version\":1,\"id\":1,\"ok\":\"yes\"}", "[1,2,3]", "not json at all",
	        "{\"version\":1,\"id\":1,\"ok\":true,\"ok\":false}", /* duplicate keys */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = client_call_js(p, bad[i], 2000, NULL, NULL, &err, &remote);
		if (r != -EPROTO)
			fail_msg("reply '%s': got %d (%s), want -EPROTO", bad[i], r, err.msg);
		assert_false(remote);
	}
}

static void test_client_transport_errors(void **state)
{
	struct peer *p = *state;
	struct kb_err err = {0};
	bool remote;
	int64_t t0;
	char zero[4] = {0};

	/* The agent closes without answering. */
	assert_int_equal(client_call(p, NULL, 0, 2000, NULL, NULL, &err, &remote), -ECONNRESET);
	assert_false(remote);
	assert_non_null(strstr(err.msg, "agent closed the connection"));
	/* A reply frame that announces zero bytes. */
	assert_int_equal(client_call(p, zero, 4, 2000, NULL, NULL, &err, &remote), -EMSGSIZE);
	/* A truncated reply. */
	frame_of("{\"version\":1,\"id\":1,\"ok\":true}");
	assert_int_equal(client_call(p, framed, framed_len - 3, 2000, NULL, NULL, &err, &remote),
	        -ECONNRESET);
	/* The agent never answers: the call's budget ends it. */
	t0 = frame_now_ms();
	assert_int_equal(client_call(p, "-", 0, 300, NULL, NULL, &err, &remote), -ETIMEDOUT);
	assert_true(frame_now_ms() - t0 >= 300);
	assert_true(frame_now_ms() - t0 < 10000); /* ended by the budget, not by the peer */
	assert_false(remote);
}

static void test_client_request_too_big(void **state)
{
	struct peer *p = *state;
	struct kb_err err = {0};
	struct apicl *c = NULL;
	char *big = malloc(API_MAX_REQUEST + 1);
	json_t *args;

	memset(big, 'x', API_MAX_REQUEST);
	big[API_MAX_REQUEST] = '\0';
	args = json_pack("{s:s}", "blob", big);
	free(big);
	assert_int_equal(apicl_connect(sock_path, 1000, &c, &err), 0);
	/* Refused locally; nothing is sent (the peer would see an oversized frame). */
	assert_int_equal(apicl_call(c, "status", args, NULL, &err), -EMSGSIZE);
	assert_false(apicl_remote_error(c));
	apicl_close(c);
	json_decref(args);
	(void)p;
}

static void test_client_connect_errors(void **state)
{
	struct kb_err err = {0};
	struct apicl *c = NULL;
	char path[256];

	(void)state;
	assert_int_equal(apicl_connect("/nonexistent/agent.sock", 1000, &c, &err), -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err.msg, "/nonexistent/agent.sock"));
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(apicl_connect(path, 1000, &c, &err), -ENAMETOOLONG);
	/* A socket file with no listener (an agent that died). */
	{
		char d[] = "/tmp/kbframe.XXXXXX", p[64];
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_non_null(mkdtemp(d));
		snprintf(p, sizeof(p), "%s/s", d);
		strcpy(sa.sun_path, p);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
		assert_int_equal(apicl_connect(p, 1000, &c, &err), -ECONNREFUSED);
		fs_rm_rf(d);
	}
	apicl_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_len_encoding),
	        cmocka_unit_test_setup_teardown(test_round_trip, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_send_empty_refused, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_zero_length, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_over_max, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_peer_closed, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_short_header, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_short_body, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_deadline, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_recv_in_pieces, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_large_frame, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_send_deadline, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(test_send_peer_gone, setup_pair, teardown_pair),
	        cmocka_unit_test_setup_teardown(
	                test_client_request_format, setup_listener, teardown_listener),
	        cmocka_unit_test_setup_teardown(
	                test_client_error_reply, setup_listener, teardown_listener),
	        cmocka_unit_test_setup_teardown(
	                test_client_bad_replies, setup_listener, teardown_listener),
	        cmocka_unit_test_setup_teardown(
	                test_client_transport_errors, setup_listener, teardown_listener),
	        cmocka_unit_test_setup_teardown(
	                test_client_request_too_big, setup_listener, teardown_listener),
	        cmocka_unit_test_setup_teardown(
	                test_client_connect_errors, setup_listener, teardown_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
