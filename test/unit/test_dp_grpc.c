/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: the gRPC server (dp_grpc.c) in the agent's event loop, driven over a real Unix
 * socket by an nghttp2 client session in this process (and by raw bytes where the point is a
 * broken frame). Every malformed request must end in a gRPC status or a GOAWAY, and the server
 * must keep serving; under ASan the same run proves nothing leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent/devplugin/dp_grpc.h"
#include "agent/loop.h"
#include "common/fs.h"
#include "deviceplugin_v1beta1.pb-c.h"

/* ---- the server under test ---- */

static struct dp_grpc_call *stream_calls[256];
static unsigned n_stream_calls, n_closed;

static void h_echo(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	const V1beta1__AllocateRequest *r = (const void *)req;
	V1beta1__DevicePluginOptions o = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;

	(void)ctx;
	o.pre_start_required = r->n_container_requests == 1;
	dp_grpc_reply(call, &o.base);
}

static void h_silent(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	(void)call;
	(void)req;
	(void)ctx; /* a buggy handler: the server must still end the call */
}

static void stream_closed(struct dp_grpc_call *call, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < n_stream_calls; i++)
		if (stream_calls[i] == call)
			stream_calls[i] = NULL;
	n_closed++;
}

static void list_msg(unsigned n_devs, ProtobufCMessage **ret);

static void h_stream(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	ProtobufCMessage *m;

	(void)req;
	(void)ctx;
	stream_calls[n_stream_calls++] = call;
	dp_grpc_on_close(call, stream_closed, NULL);
	list_msg(1, &m);
	assert_int_equal(dp_grpc_send(call, m, true), 0);
	v1beta1__list_and_watch_response__free_unpacked((void *)m, NULL);
}

static const struct dp_grpc_method methods[] = {
        {"/t.Svc/Echo", &v1beta1__allocate_request__descriptor, false, h_echo},
        {"/t.Svc/Silent", &v1beta1__empty__descriptor, false, h_silent},
        {"/t.Svc/Stream", &v1beta1__empty__descriptor, true, h_stream},
};

/* A ListAndWatchResponse with n devices "d0".."d<n-1>" (heap, freed by the caller). */
static void list_msg(unsigned n, ProtobufCMessage **ret)
{
	V1beta1__ListAndWatchResponse *r = calloc(1, sizeof(*r));

	v1beta1__list_and_watch_response__init(r);
	r->n_devices = n;
	r->devices = calloc(n ? n : 1, sizeof(*r->devices));
	for (unsigned i = 0; i < n; i++) {
		r->devices[i] = calloc(1, sizeof(**r->devices));
		v1beta1__device__init(r->devices[i]);
		r->devices[i]->id = calloc(1, 16);
		snprintf(r->devices[i]->id, 16, "d%u", i);
		r->devices[i]->health = strdup("Healthy");
	}
	*ret = &r->base;
}

static char dir[64], sock_path[108];
static struct dp_grpc_server *srv;
static struct dp_grpc_limits limits = {
        .max_conns = 4, .max_streams = 128, .max_msg = 1024, .idle_ms = 60000, .request_ms = 600};

static int setup(void **state)
{
	struct kb_err err = {0};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kbgr.XXXXXX");
	if (!mkdtemp(dir) || loop_init(&err) < 0)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/p.sock", dir);
	n_stream_calls = n_closed = 0;
	memset(stream_calls, 0, sizeof(stream_calls));
	return dp_grpc_server_new(loop_base(), sock_path, methods, 3, NULL, &limits, &srv, &err);
}

static int teardown(void **state)
{
	(void)state;
	dp_grpc_server_free(srv);
	srv = NULL;
	loop_fini();
	return fs_rm_rf(dir);
}

/* ---- an HTTP/2 client ---- */

struct cstream {
	int32_t id;
	int http_status, grpc_status; /* -1: not seen */
	char grpc_message[256];
	uint8_t data[65536];
	size_t len;
	bool closed;
	uint32_t close_code;
	const uint8_t *body; /* request bytes not yet sent */
	size_t body_len;
};

struct client {
	int fd;
	nghttp2_session *h2;
	struct cstream s[160];
	unsigned n;
	bool eof;
	int goaway; /* error code, -1 none */
};

static struct cstream *cstream_of(struct client *c, int32_t id)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->s[i].id == id)
			return &c->s[i];
	return NULL;
}

static int c_on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name, size_t nl,
        const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	struct cstream *s = cstream_of(user, f->hd.stream_id);

	(void)h2;
	(void)flags;
	if (!s)
		return 0;
	if (nl == 7 && !memcmp(name, ":status", 7))
		s->http_status = atoi((const char *)value);
	else if (nl == 11 && !memcmp(name, "grpc-status", 11))
		s->grpc_status = atoi((const char *)value);
	else if (nl == 12 && !memcmp(name, "grpc-message", 12))
		snprintf(s->grpc_message, sizeof(s->grpc_message), "%.*s", (int)vl, value);
	return 0;
}

static int c_on_data(
        nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
	struct cstream *s = cstream_of(user, id);

	(void)h2;
	(void)flags;
	if (s && s->len + len <= sizeof(s->data)) {
		memcpy(s->data + s->len, data, len);
		s->len += len;
	}
	return 0;
}

static int c_on_close(nghttp2_session *h2, int32_t id, uint32_t code, void *user)
{
	struct cstream *s = cstream_of(user, id);

	(void)h2;
	if (s) {
		s->closed = true;
		s->close_code = code;
	}
	return 0;
}

static int c_on_frame(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
	struct client *c = user;

	(void)h2;
	if (f->hd.type == NGHTTP2_GOAWAY)
		c->goaway = f->goaway.error_code;
	return 0;
}

static int sock_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	strcpy(sa.sun_path, sock_path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static struct client *client_new(void)
{
	struct client *c = calloc(1, sizeof(*c));
	nghttp2_session_callbacks *cbs;

	c->fd = sock_connect();
	c->goaway = -1;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_header_callback(cbs, c_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_on_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_on_frame);
	nghttp2_session_client_new(&c->h2, cbs, c);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, NULL, 0);
	return c;
}

static void client_free(struct client *c)
{
	if (c->h2)
		nghttp2_session_del(c->h2);
	close(c->fd);
	free(c);
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EAGAIN) {
			event_base_loop(loop_base(), EVLOOP_NONBLOCK);
			continue;
		}
		if (n < 0)
			return; /* the server hung up: what it said is in the socket */
		p += n;
		len -= n;
	}
}

/* Run server and client until cond(c) holds or the time is up; returns cond's value. */
static bool pump(struct client *c, bool (*cond)(struct client *c, void *arg), void *arg)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint8_t buf[16384];
		ssize_t n;
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		if (c->h2) {
			const uint8_t *out;
			while ((n = nghttp2_session_mem_send(c->h2, &out)) > 0)
				send_all(c->fd, out, n);
		}
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		while ((n = read(c->fd, buf, sizeof(buf))) > 0)
			if (c->h2)
				nghttp2_session_mem_recv(c->h2, buf, n);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			c->eof = true;
		if (cond(c, arg))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 3000)
			return false;
		poll(&(struct pollfd){.fd = c->fd, .events = POLLIN}, 1, 2);
	}
}

static bool stream_done(struct client *c, void *arg)
{
	struct cstream *s = cstream_of(c, (int32_t)(intptr_t)arg);

	return s && s->closed;
}

static bool got_eof(struct client *c, void *arg)
{
	(void)arg;
	return c->eof;
}

static ssize_t body_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
        nghttp2_data_source *src, void *user)
{
	struct cstream *s = src->ptr;
	size_t n = s->body_len < len ? s->body_len : len;

	(void)h2;
	(void)id;
	(void)user;
	memcpy(buf, s->body, n);
	s->body += n;
	s->body_len -= n;
	if (!s->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return n;
}

#define HDR(n, v)                                                                          \
	{                                                                                  \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

/* One request; body NULL: END_STREAM on HEADERS. Returns the stream. */
static struct cstream *request_ex(struct client *c, const char *method, const char *path,
        const char *ctype, const char *encoding, const uint8_t *body, size_t len)
{
	nghttp2_nv nva[] = {
	        HDR(":method", method),
	        HDR(":scheme", "http"),
	        HDR(":path", path),
	        /* grpc-go puts the socket path here, which nghttp2's HTTP checks reject. */
	        HDR(":authority", sock_path),
	        HDR("content-type", ctype),
	        HDR("te", "trailers"),
	        HDR("grpc-encoding", encoding ? encoding : "identity"),
	};
	struct cstream *s = &c->s[c->n++];
	nghttp2_data_provider prov = {.source.ptr = s, .read_callback = body_read};
	int32_t id;

	memset(s, 0, sizeof(*s));
	s->body = body;
	s->body_len = len;
	id = nghttp2_submit_request(c->h2, NULL, nva, encoding ? 7 : 6, body ? &prov : NULL, NULL);
	assert_true(id > 0);
	s->id = id;
	s->http_status = s->grpc_status = -1;
	return s;
}

static struct cstream *request(struct client *c, const char *path, const uint8_t *body, size_t len)
{
	return request_ex(c, "POST", path, "application/grpc", NULL, body, len);
}

/* The 5-byte gRPC prefix + a packed message. */
static size_t frame_msg(const ProtobufCMessage *m, uint8_t *buf)
{
	size_t len = protobuf_c_message_pack(m, buf + 5);

	buf[0] = 0;
	buf[1] = len >> 24;
	buf[2] = len >> 16;
	buf[3] = len >> 8;
	buf[4] = len;
	return len + 5;
}

static struct cstream *call(struct client *c, struct cstream *s)
{
	assert_true(pump(c, stream_done, (void *)(intptr_t)s->id));
	return s;
}

/* ---- tests ---- */

static void test_unary_ok(void **state)
{
	V1beta1__ContainerAllocateRequest cr = V1BETA1__CONTAINER_ALLOCATE_REQUEST__INIT;
	V1beta1__ContainerAllocateRequest *crv[] = {&cr};
	V1beta1__AllocateRequest r = V1BETA1__ALLOCATE_REQUEST__INIT;
	V1beta1__DevicePluginOptions *o;
	struct client *c = client_new();
	struct cstream *s;
	uint8_t buf[256];
	size_t len;

	(void)state;
	r.n_container_requests = 1;
	r.container_requests = crv;
	len = frame_msg(&r.base, buf);
	s = call(c, request(c, "/t.Svc/Echo", buf, len));
	assert_int_equal(s->http_status, 200);
	assert_int_equal(s->grpc_status, 0);
	assert_true(s->len >= 5);
	assert_int_equal(s->data[0], 0);
	o = v1beta1__device_plugin_options__unpack(NULL, s->len - 5, s->data + 5);
	assert_non_null(o);
	assert_true(o->pre_start_required);
	v1beta1__device_plugin_options__free_unpacked(o, NULL);
	/* The empty message (5 bytes of prefix) is a valid request too. */
	s = call(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5));
	assert_int_equal(s->grpc_status, 0);
	client_free(c);
}

static void expect_status(
        struct client *c, struct cstream *s, int http, int grpc, const char *msg_part)
{
	call(c, s);
	assert_int_equal(s->http_status, http);
	assert_int_equal(s->grpc_status, grpc);
	if (msg_part && !strstr(s->grpc_message, msg_part))
		fail_msg("grpc-message '%s' lacks '%s'", s->grpc_message, msg_part);
}

static void test_bad_requests(void **state)
{
	struct client *c = client_new();
	uint8_t big[2048] = {0, 0, 0, 0x07, 0xd0};
	uint8_t two[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

	(void)state;
	expect_status(c, request(c, "/t.Svc/Nope", (const uint8_t *)"\0\0\0\0\0", 5), 200,
	        GRPC_STATUS_UNIMPLEMENTED, "unknown method /t.Svc/Nope");
	/* Field 1, length 100, 2 bytes present. */
	expect_status(c,
	        request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\4\x0a\x64\x0a\x02", 9), 200,
	        GRPC_STATUS_INTERNAL, "cannot parse");
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\1\0\0\0\0", 5), 200,
	        GRPC_STATUS_INTERNAL, "compressed");
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\7\0\0\0\0", 5), 200,
	        GRPC_STATUS_INTERNAL, "prefix");
	expect_status(c,
	        request_ex(c, "POST", "/t.Svc/Echo", "application/grpc", "gzip",
	                (const uint8_t *)"\0\0\0\0\0", 5),
	        200, GRPC_STATUS_UNIMPLEMENTED, "compressed");
	/* 2000 bytes announced, over the 1024-byte limit: refused before it is buffered. */
	expect_status(c, request(c, "/t.Svc/Echo", big, sizeof(big)), 200,
	        GRPC_STATUS_RESOURCE_EXHAUSTED, "limit");
	expect_status(c, request(c, "/t.Svc/Echo", two, sizeof(two)), 200, GRPC_STATUS_INTERNAL,
	        "more than one");
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\x64\x0a", 6), 200,
	        GRPC_STATUS_INTERNAL, "truncated");
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0", 2), 200,
	        GRPC_STATUS_INTERNAL, "truncated");
	expect_status(c, request(c, "/t.Svc/Echo", NULL, 0), 200, GRPC_STATUS_INTERNAL,
	        "no request message");
	expect_status(c, request_ex(c, "GET", "/t.Svc/Echo", "application/grpc", NULL, NULL, 0),
	        405, GRPC_STATUS_UNIMPLEMENTED, "POST");
	expect_status(c,
	        request_ex(c, "POST", "/t.Svc/Echo", "text/plain", NULL,
	                (const uint8_t *)"\0\0\0\0\0", 5),
	        415, GRPC_STATUS_INVALID_ARGUMENT, "content-type");
	expect_status(c,
	        request_ex(c, "POST", "no-slash", "application/grpc", NULL,
	                (const uint8_t *)"\0\0\0\0\0", 5),
	        400, GRPC_STATUS_INTERNAL, ":path");
	expect_status(c, request(c, "/t.Svc/Silent", (const uint8_t *)"\0\0\0\0\0", 5), 200,
	        GRPC_STATUS_INTERNAL, "gave no reply");
	/* And the same connection still serves. */
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200, 0, NULL);
	client_free(c);
}

/* Raw bytes, no client session: what comes back until the server hangs up. */
static size_t raw_exchange(const void *data, size_t len, uint8_t *out, size_t size)
{
	struct client *c = calloc(1, sizeof(*c));
	size_t got = 0;
	struct timespec t0, t;

	c->fd = sock_connect();
	send_all(c->fd, data, len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n;
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		n = read(c->fd, out + got, size - got);
		if (n > 0)
			got += n;
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 3000)
			fail_msg("the server did not hang up");
		poll(&(struct pollfd){.fd = c->fd, .events = POLLIN}, 1, 2);
	}
	close(c->fd);
	free(c);
	return got;
}

/* The GOAWAY error code among raw frames, -1 when there is none. */
static int goaway_in(const uint8_t *b, size_t len)
{
	while (len >= 9) {
		size_t fl = (size_t)b[0] << 16 | b[1] << 8 | b[2];
		if (b[3] == NGHTTP2_GOAWAY && fl >= 8 && len >= 9 + fl)
			return b[9 + 4] << 24 | b[9 + 5] << 16 | b[9 + 6] << 8 | b[9 + 7];
		if (len < 9 + fl)
			break;
		b += 9 + fl;
		len -= 9 + fl;
	}
	return -1;
}

static void test_malformed_frames(void **state)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	uint8_t out[4096], in[256];
	size_t n, off;
	struct client *c;

	(void)state;
	/* Not HTTP/2 at all. */
	n = raw_exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, out, sizeof(out));
	assert_int_equal(goaway_in(out, n), NGHTTP2_PROTOCOL_ERROR);
	/* DATA on stream 0. */
	memcpy(in, preface, 24);
	off = 24;
	memcpy(in + off, "\0\0\0\x04\0\0\0\0\0", 9); /* SETTINGS */
	off += 9;
	memcpy(in + off, "\0\0\2\0\0\0\0\0\0xx", 11);
	off += 11;
	n = raw_exchange(in, off, out, sizeof(out));
	assert_int_equal(goaway_in(out, n), NGHTTP2_PROTOCOL_ERROR);
	/* HEADERS with an HPACK index that does not exist. */
	off = 33;
	memcpy(in + off, "\0\0\1\x01\x05\0\0\0\1\x80", 10);
	off += 10;
	n = raw_exchange(in, off, out, sizeof(out));
	assert_int_equal(goaway_in(out, n), NGHTTP2_COMPRESSION_ERROR);
	/* A PING of 1 byte (must be 8). */
	off = 33;
	memcpy(in + off, "\0\0\1\x06\0\0\0\0\0\0", 10);
	off += 10;
	n = raw_exchange(in, off, out, sizeof(out));
	assert_int_equal(goaway_in(out, n), NGHTTP2_FRAME_SIZE_ERROR);
	/* After all of that, a well-behaved client is served. */
	c = client_new();
	expect_status(c, request(c, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200, 0, NULL);
	client_free(c);
}

static bool n_streams_with_data(struct client *c, void *arg)
{
	unsigned want = (unsigned)(uintptr_t)arg, got = 0;

	for (unsigned i = 0; i < c->n; i++)
		got += c->s[i].len > 0;
	return got >= want;
}

/* The last complete message of a stream's data. */
static V1beta1__ListAndWatchResponse *last_msg(const struct cstream *s)
{
	size_t off = 0, last = 0, last_len = 0;

	while (off + 5 <= s->len) {
		size_t len = (size_t)s->data[off + 1] << 24 | s->data[off + 2] << 16 |
		             s->data[off + 3] << 8 | s->data[off + 4];
		if (off + 5 + len > s->len)
			break;
		last = off + 5;
		last_len = len;
		off += 5 + len;
	}
	assert_int_equal(off, s->len);
	return v1beta1__list_and_watch_response__unpack(NULL, last_len, s->data + last);
}

static bool stream_has_devices(struct client *c, void *arg)
{
	V1beta1__ListAndWatchResponse *m;
	bool ok;

	if (!c->s[0].len)
		return false;
	m = last_msg(&c->s[0]);
	ok = m && m->n_devices == (size_t)(uintptr_t)arg;
	if (m)
		v1beta1__list_and_watch_response__free_unpacked(m, NULL);
	return ok;
}

static void test_server_stream(void **state)
{
	struct client *c = client_new();
	ProtobufCMessage *m;
	struct cstream *s;

	(void)state;
	s = request(c, "/t.Svc/Stream", (const uint8_t *)"\0\0\0\0\0", 5);
	assert_true(pump(c, n_streams_with_data, (void *)1));
	assert_int_equal(n_stream_calls, 1);
	assert_int_equal(s->http_status, 200);
	assert_int_equal(s->grpc_status, -1); /* still open */
	/* Three updates in a row: the client ends up with the newest. */
	for (unsigned i = 2; i <= 4; i++) {
		list_msg(i, &m);
		assert_int_equal(dp_grpc_send(stream_calls[0], m, true), 0);
		v1beta1__list_and_watch_response__free_unpacked((void *)m, NULL);
	}
	assert_true(pump(c, stream_has_devices, (void *)4));
	dp_grpc_finish(stream_calls[0]);
	call(c, s);
	assert_int_equal(s->grpc_status, 0);
	assert_int_equal(n_closed, 1);
	client_free(c);
}

static bool n_closed_is(struct client *c, void *arg)
{
	(void)c;
	return n_closed == (unsigned)(uintptr_t)arg;
}

static void test_cancel_and_many_streams(void **state)
{
	struct client *c = client_new();

	(void)state;
	/* 100 concurrent ListAndWatch-like streams on one connection. */
	for (unsigned i = 0; i < 100; i++)
		request(c, "/t.Svc/Stream", (const uint8_t *)"\0\0\0\0\0", 5);
	assert_true(pump(c, n_streams_with_data, (void *)100));
	assert_int_equal(n_stream_calls, 100);
	/* The client cancels one: the server learns of it. */
	nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, c->s[0].id, NGHTTP2_CANCEL);
	assert_true(pump(c, n_closed_is, (void *)1));
	assert_null(stream_calls[0]);
	/* The client goes away with 99 open: every one is closed on the server. */
	close(c->fd);
	c->fd = -1;
	nghttp2_session_del(c->h2);
	c->h2 = NULL;
	for (int i = 0; i < 200 && n_closed < 100; i++) {
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(n_closed, 100);
	free(c);
}

static void test_server_free_closes_streams(void **state)
{
	struct client *c = client_new();

	(void)state;
	for (unsigned i = 0; i < 10; i++)
		request(c, "/t.Svc/Stream", (const uint8_t *)"\0\0\0\0\0", 5);
	assert_true(pump(c, n_streams_with_data, (void *)10));
	dp_grpc_server_free(srv);
	srv = NULL;
	assert_int_equal(n_closed, 10);
	assert_int_equal(access(sock_path, F_OK), -1); /* our socket is gone */
	assert_true(pump(c, got_eof, NULL));
	client_free(c);
}

static void test_conn_limit_and_relisten(void **state)
{
	struct client *cs[4], *extra;
	struct dp_grpc_stats st;
	struct kb_err err = {0};

	(void)state;
	for (int i = 0; i < 4; i++) {
		cs[i] = client_new();
		expect_status(cs[i],
		        request(cs[i], "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200, 0,
		        NULL);
	}
	/* The fifth is turned away. */
	extra = client_new();
	assert_true(pump(extra, got_eof, NULL));
	client_free(extra);
	dp_grpc_server_stats(srv, &st);
	assert_int_equal(st.conns_refused, 1);
	assert_int_equal(st.conns_open, 4);
	for (int i = 0; i < 4; i++)
		client_free(cs[i]);
	for (int i = 0; i < 100 && st.conns_open; i++) {
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		usleep(1000);
		dp_grpc_server_stats(srv, &st);
	}
	assert_int_equal(st.conns_open, 0);
	/* kubelet removed our socket: noticed, and listening again works. */
	assert_true(dp_grpc_server_socket_ok(srv));
	unlink(sock_path);
	assert_false(dp_grpc_server_socket_ok(srv));
	assert_int_equal(dp_grpc_server_relisten(srv, &err), 0);
	assert_true(dp_grpc_server_socket_ok(srv));
	extra = client_new();
	expect_status(extra, request(extra, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200,
	        0, NULL);
	client_free(extra);
}

static bool never(struct client *c, void *arg)
{
	(void)c;
	(void)arg;
	return false;
}

static void test_request_deadline(void **state)
{
	nghttp2_nv nva[] = {
	        HDR(":method", "POST"),
	        HDR(":scheme", "http"),
	        HDR(":path", "/t.Svc/Echo"),
	        HDR(":authority", sock_path),
	        HDR("content-type", "application/grpc"),
	        HDR("te", "trailers"),
	};
	struct client *lw = client_new(), *c = client_new();
	struct dp_grpc_stats st;
	struct cstream *s;

	(void)state;
	/* A ListAndWatch-like stream, its request complete: long-lived by design. */
	s = request(lw, "/t.Svc/Stream", (const uint8_t *)"\0\0\0\0\0", 5);
	assert_true(pump(lw, n_streams_with_data, (void *)1));
	/* A request begun (HEADERS without END_STREAM) and never finished: the connection holds
	 * a slot (and the idle timeout does not apply with a stream open). Closed at requestMs
	 * (600 ms); pump gives up after 3 s. */
	assert_true(nghttp2_submit_headers(c->h2, NGHTTP2_FLAG_NONE, -1, NULL, nva, 6, NULL) > 0);
	if (!pump(c, got_eof, NULL))
		fail_msg("a connection with an unfinished request is still open after 3 s");
	dp_grpc_server_stats(srv, &st);
	assert_int_equal(st.request_timeouts, 1);
	/* The server stream outlived the deadline, twice over. */
	pump(lw, never, NULL);
	assert_false(lw->eof);
	assert_false(s->closed);
	assert_int_equal(n_closed, 0);
	client_free(c);
	client_free(lw);
}

/* Connect as another user (SO_PEERCRED reports the effective uid at connect). */
static struct client *client_new_as(uid_t uid)
{
	struct client *c;

	assert_int_equal(seteuid(uid), 0);
	c = client_new();
	assert_int_equal(seteuid(0), 0);
	return c;
}

static void test_last_slot_for_root(void **state)
{
	struct client *cs[3], *extra, *root;
	struct dp_grpc_stats st;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(sock_path, 0666), 0);
	/* maxConnections 4: three non-root connections idle... */
	for (int i = 0; i < 3; i++) {
		cs[i] = client_new_as(65534);
		expect_status(cs[i],
		        request(cs[i], "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200, 0,
		        NULL);
	}
	/* ...a fourth non-root one is refused: the last slot is kubelet's. */
	extra = client_new_as(65534);
	if (!pump(extra, got_eof, NULL))
		fail_msg("a fourth non-root connection took kubelet's slot");
	client_free(extra);
	dp_grpc_server_stats(srv, &st);
	assert_int_equal(st.conns_refused_nonroot, 1);
	/* kubelet (root) still gets in. */
	root = client_new();
	expect_status(
	        root, request(root, "/t.Svc/Echo", (const uint8_t *)"\0\0\0\0\0", 5), 200, 0, NULL);
	client_free(root);
	for (int i = 0; i < 3; i++)
		client_free(cs[i]);
}

static void test_pct_encode(void **state)
{
	char out[64];

	(void)state;
	dp_grpc_pct_encode("a b%c\n\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "a b%25c%0A%C3%A9");
	dp_grpc_pct_encode("%%%%", out, 7);
	assert_string_equal(out, "%25%25");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_unary_ok, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_server_stream, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel_and_many_streams, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_server_free_closes_streams, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_conn_limit_and_relisten, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_request_deadline, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_last_slot_for_root, setup, teardown),
	        cmocka_unit_test(test_pct_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
