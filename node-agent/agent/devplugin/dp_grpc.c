/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_grpc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/str.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Stop producing frames while this much waits for the socket: a peer that does not read
 * cannot make us buffer more. */
#define OUT_HIGH (256 * 1024)
/* Request header bytes per stream (names + values); more is a reset stream. */
#define MAX_HEADER_BYTES 16384
/* Queued response bytes per stream before dp_grpc_send refuses (-ENOBUFS). */
#define MAX_STREAM_QUEUE (16 * 1024 * 1024)
#define MAX_PATH_LEN     128

struct conn;

struct dp_grpc_call {
	struct conn *conn;
	int32_t id;
	const struct dp_grpc_method *method;
	char path[MAX_PATH_LEN + 1];
	size_t hdr_bytes;
	const char *bad_header; /* static: why the request headers are unacceptable */
	bool has_method, is_post, has_path, has_ct, ct_grpc, identity, dup_pseudo;
	bool dispatched;   /* request complete and handled */
	uint64_t begun_ms; /* its HEADERS began (the request deadline counts from here) */
	struct evbuffer *in;
	/* response */
	bool responded; /* response HEADERS submitted */
	bool ended;     /* final status decided */
	bool deferred;  /* data source waits for nghttp2_session_resume_data */
	enum dp_grpc_status status;
	char *message;
	struct evbuffer *out;
	uint8_t *latest; /* supersedable message not yet moved to out */
	size_t latest_len;
	void (*close_fn)(struct dp_grpc_call *call, void *arg);
	void *close_arg;
	LIST_ENTRY(dp_grpc_call) link;
};

struct conn {
	struct dp_grpc_server *srv;
	struct bufferevent *bev;
	nghttp2_session *h2;
	struct event *flush_ev, *idle_ev, *req_ev;
	pid_t pid;
	uid_t uid;
	unsigned n_streams;
	size_t buffered; /* request bytes held by this connection's streams */
	bool closing;
	LIST_HEAD(, dp_grpc_call) calls;
	LIST_ENTRY(conn) link;
};

struct dp_grpc_server {
	struct event_base *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	struct event *lev;
	dev_t dev;
	ino_t ino;
	const struct dp_grpc_method *methods;
	size_t n_methods;
	void *ctx;
	struct dp_grpc_limits lim;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	LIST_HEAD(, conn) conns;
	struct dp_grpc_stats st;
};

static void conn_flush(struct conn *c);
static void conn_free(struct conn *c);

static void conn_schedule(struct conn *c)
{
	/* Never call nghttp2_session_mem_send from inside nghttp2 callbacks: flush next turn. */
	event_active(c->flush_ev, EV_TIMEOUT, 0);
}

size_t dp_grpc_pct_encode(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!size)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = *p >= 0x20 && *p <= 0x7e && *p != '%';
		if (o + (plain ? 1 : 3) >= size)
			break;
		if (plain) {
			out[o++] = *p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* ---- calls ---- */

static struct dp_grpc_call *call_new(struct conn *c, int32_t id)
{
	struct dp_grpc_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	if (!(call->in = evbuffer_new()) || !(call->out = evbuffer_new())) {
		if (call->in)
			evbuffer_free(call->in);
		free(call);
		return NULL;
	}
	call->conn = c;
	call->id = id;
	call->identity = true;
	call->begun_ms = clock_mono_ms();
	LIST_INSERT_HEAD(&c->calls, call, link);
	c->n_streams++;
	c->srv->st.streams_open++;
	return call;
}

static void call_drop_input(struct dp_grpc_call *call)
{
	size_t n = evbuffer_get_length(call->in);

	call->conn->buffered -= n;
	evbuffer_drain(call->in, n);
}

static void call_free(struct dp_grpc_call *call)
{
	struct conn *c = call->conn;

	if (call->close_fn)
		call->close_fn(call, call->close_arg);
	call_drop_input(call);
	LIST_REMOVE(call, link);
	c->n_streams--;
	c->srv->st.streams_open--;
	evbuffer_free(call->in);
	evbuffer_free(call->out);
	free(call->latest);
	free(call->message);
	free(call);
}

void dp_grpc_on_close(
        struct dp_grpc_call *call, void (*fn)(struct dp_grpc_call *, void *), void *arg)
{
	call->close_fn = fn;
	call->close_arg = arg;
}

void dp_grpc_peer(const struct dp_grpc_call *call, pid_t *pid, uid_t *uid)
{
	*pid = call->conn->pid;
	*uid = call->conn->uid;
}

#define NV(n, v)                                                                               \
	{                                                                                      \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE \
	}

static ssize_t data_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length,
        uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct dp_grpc_call *call = src->ptr;
	char code[12], msg[512];
	size_t n;

	(void)user;
	if (!evbuffer_get_length(call->out) && call->latest) {
		evbuffer_add(call->out, call->latest, call->latest_len);
		free(call->latest);
		call->latest = NULL;
	}
	n = evbuffer_remove(call->out, buf, length);
	if (evbuffer_get_length(call->out) || call->latest)
		return n;
	if (!call->ended) {
		if (n)
			return n;
		call->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	/* Everything is out: end with the status in trailers. */
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	snprintf(code, sizeof(code), "%d", call->status);
	dp_grpc_pct_encode(call->message ? call->message : "", msg, sizeof(msg));
	nghttp2_nv trailers[] = {NV("grpc-status", code), NV("grpc-message", msg)};
	if (nghttp2_submit_trailer(h2, id, trailers, call->message ? 2 : 1) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return n;
}

static int submit_headers(struct dp_grpc_call *call)
{
	nghttp2_nv nva[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_data_provider prov = {.source.ptr = call, .read_callback = data_read};

	if (call->responded)
		return 0;
	if (nghttp2_submit_response(call->conn->h2, call->id, nva, 2, &prov) != 0)
		return -ENOMEM;
	call->responded = true;
	return 0;
}

static void call_kick(struct dp_grpc_call *call)
{
	if (call->deferred) {
		call->deferred = false;
		nghttp2_session_resume_data(call->conn->h2, call->id);
	}
	conn_schedule(call->conn);
}

/* Pack with the 5-byte prefix into a malloc'd buffer. */
static int frame_message(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf;

	if (len > UINT32_MAX - DP_GRPC_PREFIX || !(buf = malloc(len + DP_GRPC_PREFIX)))
		return -ENOMEM;
	buf[0] = 0;
	buf[1] = len >> 24;
	buf[2] = len >> 16;
	buf[3] = len >> 8;
	buf[4] = len;
	protobuf_c_message_pack(msg, buf + DP_GRPC_PREFIX);
	*ret = buf;
	*ret_len = len + DP_GRPC_PREFIX;
	return 0;
}

/* Status with an explicit HTTP status, as a trailers-only response when nothing went out. */
static void call_end(struct dp_grpc_call *call, const char *http_status, enum dp_grpc_status st,
        const char *message)
{
	struct conn *c = call->conn;

	if (call->ended)
		return;
	call->ended = true;
	call->status = st;
	if (st != GRPC_STATUS_OK)
		c->srv->st.calls_failed++;
	free(call->message);
	call->message = message && *message ? strdup(message) : NULL;
	if (!call->responded) {
		char code[12], msg[512];
		snprintf(code, sizeof(code), "%d", st);
		dp_grpc_pct_encode(message ? message : "", msg, sizeof(msg));
		nghttp2_nv nva[] = {NV(":status", http_status),
		        NV("content-type", "application/grpc"), NV("grpc-status", code),
		        NV("grpc-message", msg), NV("grpc-accept-encoding", "identity")};
		call->responded = true;
		/* grpc-accept-encoding only matters when the client asked for compression. */
		if (nghttp2_submit_response(c->h2, call->id, nva,
		            call->identity ? (message ? 4 : 3) : 5, NULL) != 0)
			nghttp2_submit_rst_stream(
			        c->h2, NGHTTP2_FLAG_NONE, call->id, NGHTTP2_INTERNAL_ERROR);
		conn_schedule(c);
		return;
	}
	call_kick(call);
}

int dp_grpc_reply(struct dp_grpc_call *call, const ProtobufCMessage *msg)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (call->ended)
		return -EALREADY;
	if ((r = frame_message(msg, &buf, &len)) < 0) {
		call_end(call, "200", GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return r;
	}
	r = evbuffer_add(call->out, buf, len);
	free(buf);
	if (r < 0 || submit_headers(call) < 0) {
		call_end(call, "200", GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return -ENOMEM;
	}
	call_end(call, "200", GRPC_STATUS_OK, NULL);
	return 0;
}

static void call_failv(struct dp_grpc_call *call, const char *http_status, enum dp_grpc_status st,
        const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	call_end(call, http_status, st, msg);
}

void dp_grpc_fail(struct dp_grpc_call *call, enum dp_grpc_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	call_failv(call, "200", st, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5))) fail_http(struct dp_grpc_call *call,
        const char *http_status, enum dp_grpc_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	call_failv(call, http_status, st, fmt, ap);
	va_end(ap);
}

/* Queue one framed message (ownership of buf passes here). */
static int queue_framed(struct dp_grpc_call *call, uint8_t *buf, size_t len, bool supersede)
{
	int r;

	if (call->ended) {
		free(buf);
		return -EALREADY;
	}
	if (supersede) {
		free(call->latest);
		call->latest = buf;
		call->latest_len = len;
	} else {
		size_t queued =
		        evbuffer_get_length(call->out) + (call->latest ? call->latest_len : 0);
		if (queued + len > MAX_STREAM_QUEUE) {
			free(buf);
			return -ENOBUFS;
		}
		if (call->latest) {
			evbuffer_add(call->out, call->latest, call->latest_len);
			free(call->latest);
			call->latest = NULL;
		}
		r = evbuffer_add(call->out, buf, len);
		free(buf);
		if (r < 0)
			return -ENOMEM;
	}
	if (submit_headers(call) < 0)
		return -ENOMEM;
	call_kick(call);
	return 0;
}

int dp_grpc_send(struct dp_grpc_call *call, const ProtobufCMessage *msg, bool supersede)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (call->ended)
		return -EALREADY;
	if ((r = frame_message(msg, &buf, &len)) < 0)
		return r;
	return queue_framed(call, buf, len, supersede);
}

int dp_grpc_send_packed(struct dp_grpc_call *call, const uint8_t *msg, size_t len, bool supersede)
{
	uint8_t *buf;

	if (call->ended)
		return -EALREADY;
	if (len > UINT32_MAX - DP_GRPC_PREFIX || !(buf = malloc(len + DP_GRPC_PREFIX)))
		return -ENOMEM;
	buf[0] = 0;
	buf[1] = len >> 24;
	buf[2] = len >> 16;
	buf[3] = len >> 8;
	buf[4] = len;
	memcpy(buf + DP_GRPC_PREFIX, msg, len);
	return queue_framed(call, buf, len + DP_GRPC_PREFIX, supersede);
}

void dp_grpc_finish(struct dp_grpc_call *call)
{
	if (submit_headers(call) < 0) {
		call_end(call, "200", GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	call_end(call, "200", GRPC_STATUS_OK, NULL);
}

/* ---- request handling ---- */

static const struct dp_grpc_method *method_find(const struct dp_grpc_server *s, const char *path)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i].path, path) == 0)
			return &s->methods[i];
	return NULL;
}

/* Request headers are complete: refuse what is not a gRPC call we serve. */
static void check_headers(struct dp_grpc_call *call)
{
	struct dp_grpc_server *s = call->conn->srv;

	if (call->bad_header || call->dup_pseudo || !call->has_method || !call->has_path) {
		fail_http(call, "400", GRPC_STATUS_INTERNAL, "malformed request headers: %s",
		        call->bad_header   ? call->bad_header
		        : call->dup_pseudo ? "duplicate pseudo-header"
		                           : "missing :method or :path");
		return;
	}
	if (!call->is_post) {
		fail_http(call, "405", GRPC_STATUS_UNIMPLEMENTED,
		        "gRPC calls use POST, not this method");
		return;
	}
	if (!call->ct_grpc) {
		fail_http(call, "415", GRPC_STATUS_INVALID_ARGUMENT,
		        "content-type must be application/grpc");
		return;
	}
	if (!call->identity) {
		dp_grpc_fail(call, GRPC_STATUS_UNIMPLEMENTED,
		        "compressed requests are not supported (grpc-accept-encoding: identity)");
		return;
	}
	if (!(call->method = method_find(s, call->path)))
		dp_grpc_fail(call, GRPC_STATUS_UNIMPLEMENTED, "unknown method %s", call->path);
}

/* Check the message prefix as soon as it arrives, before buffering a huge body. */
static void check_prefix(struct dp_grpc_call *call)
{
	size_t have = evbuffer_get_length(call->in), max = call->conn->srv->lim.max_msg;
	uint8_t p[DP_GRPC_PREFIX];
	uint32_t len;

	if (have < DP_GRPC_PREFIX)
		return;
	evbuffer_copyout(call->in, p, sizeof(p));
	len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (p[0] > 1) {
		dp_grpc_fail(call, GRPC_STATUS_INTERNAL, "bad message prefix (flags %#x)", p[0]);
	} else if (p[0] == 1) {
		dp_grpc_fail(
		        call, GRPC_STATUS_INTERNAL, "compressed message without a grpc-encoding");
	} else if (len > max) {
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
		        "request message of %u bytes is over the %zu-byte limit", len, max);
	} else if (have > (size_t)len + DP_GRPC_PREFIX) {
		dp_grpc_fail(call, GRPC_STATUS_INTERNAL,
		        "more than one request message on a unary or server-streaming call");
	}
	if (call->ended)
		call_drop_input(call);
}

/* The client half-closed: decode the one request message and run the handler. */
static void dispatch(struct dp_grpc_call *call)
{
	struct dp_grpc_server *s = call->conn->srv;
	const struct dp_grpc_method *m = call->method;
	size_t have = evbuffer_get_length(call->in);
	ProtobufCMessage *req;
	uint8_t *data;
	uint32_t len;

	call->dispatched = true;
	if (call->ended)
		return;
	if (have < DP_GRPC_PREFIX) {
		dp_grpc_fail(call, GRPC_STATUS_INTERNAL,
		        have ? "truncated message prefix" : "no request message");
		goto out;
	}
	data = evbuffer_pullup(call->in, -1);
	len = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 | data[4];
	if (have != (size_t)len + DP_GRPC_PREFIX) {
		dp_grpc_fail(call, GRPC_STATUS_INTERNAL,
		        "request message truncated: %zu of %u bytes", have - DP_GRPC_PREFIX, len);
		goto out;
	}
	req = protobuf_c_message_unpack(m->input, NULL, len, data + DP_GRPC_PREFIX);
	if (!req) {
		dp_grpc_fail(call, GRPC_STATUS_INTERNAL, "cannot parse the request as %s",
		        m->input->name);
		goto out;
	}
	call_drop_input(call);
	s->st.calls++;
	m->handler(call, req, s->ctx);
	protobuf_c_message_free_unpacked(req, NULL);
	if (!m->server_stream && !call->ended)
		dp_grpc_fail(
		        call, GRPC_STATUS_INTERNAL, "the handler of %s gave no reply", m->path);
	return;
out:
	call_drop_input(call);
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
	struct conn *c = user;
	struct dp_grpc_call *call;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	/* nghttp2 refuses streams over our SETTINGS once the peer acknowledged them; this also
	 * covers a peer that opens streams before that. */
	if (c->n_streams >= c->srv->lim.max_streams)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (!(call = call_new(c, f->hd.stream_id)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	nghttp2_session_set_stream_user_data(h2, f->hd.stream_id, call);
	return 0;
}

static bool value_is(const uint8_t *v, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(v, s, len) == 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct dp_grpc_call *call = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);

	(void)flags;
	(void)user;
	if (!call || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	call->hdr_bytes += namelen + valuelen;
	if (call->hdr_bytes > MAX_HEADER_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers: nothing we use */
	if (value_is(name, namelen, ":method")) {
		call->dup_pseudo |= call->has_method;
		call->has_method = true;
		call->is_post = value_is(value, valuelen, "POST");
	} else if (value_is(name, namelen, ":path")) {
		call->dup_pseudo |= call->has_path;
		call->has_path = true;
		if (valuelen == 0 || valuelen > MAX_PATH_LEN || value[0] != '/' ||
		        memchr(value, '\0', valuelen))
			call->bad_header = "bad :path";
		else
			memcpy(call->path, value, valuelen);
	} else if (value_is(name, namelen, "content-type")) {
		/* "application/grpc" or "application/grpc+<codec>"; only proto is spoken here. */
		call->dup_pseudo |= call->has_ct;
		call->has_ct = true;
		call->ct_grpc = value_is(value, valuelen, "application/grpc") ||
		                value_is(value, valuelen, "application/grpc+proto");
	} else if (value_is(name, namelen, "grpc-encoding")) {
		call->identity = value_is(value, valuelen, "identity");
	}
	/* :authority (grpc-go sends the socket path), :scheme, te, user-agent, grpc-timeout and
	 * metadata are not needed: every handler answers at once. */
	return 0;
}

static int on_data_chunk(
        nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
	struct dp_grpc_call *call = nghttp2_session_get_stream_user_data(h2, id);
	struct conn *c = user;
	size_t limit = c->srv->lim.max_msg + DP_GRPC_PREFIX;

	(void)flags;
	if (!call || call->ended || call->dispatched)
		return 0; /* a refused call: discard the rest of its body */
	/* The connection as a whole may hold two maximum-size messages at once. */
	if (evbuffer_get_length(call->in) + len > limit || c->buffered + len > 2 * limit) {
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED,
		        "request over the %zu-byte message limit", c->srv->lim.max_msg);
		call_drop_input(call);
		return 0;
	}
	if (evbuffer_add(call->in, data, len) < 0) {
		dp_grpc_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
		return 0;
	}
	c->buffered += len;
	check_prefix(call);
	return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *user)
{
	struct dp_grpc_call *call;

	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	if (!(call = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id)))
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		check_headers(call);
	if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !call->dispatched)
		dispatch(call);
	return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code, void *user)
{
	struct dp_grpc_call *call = nghttp2_session_get_stream_user_data(h2, id);

	(void)code;
	(void)user;
	if (call) {
		nghttp2_session_set_stream_user_data(h2, id, NULL);
		call_free(call);
	}
	return 0;
}

static int on_invalid_frame(nghttp2_session *h2, const nghttp2_frame *f, int code, void *user)
{
	struct conn *c = user;

	(void)h2;
	c->srv->st.protocol_errors++;
	LOG_DEBUG("grpc %s: invalid frame type %u on stream %d from pid %d: %s", c->srv->path,
	        f->hd.type, f->hd.stream_id, (int)c->pid, nghttp2_strerror(code));
	return 0;
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	struct dp_grpc_call *call;

	while ((call = LIST_FIRST(&c->calls))) {
		nghttp2_session_set_stream_user_data(c->h2, call->id, NULL);
		call_free(call);
	}
	nghttp2_session_del(c->h2);
	bufferevent_free(c->bev);
	event_free(c->flush_ev);
	event_free(c->idle_ev);
	event_free(c->req_ev);
	LIST_REMOVE(c, link);
	c->srv->st.conns_open--;
	if (c->uid != 0)
		c->srv->st.conns_nonroot--;
	free(c);
}

/* The oldest request not complete yet sets when the connection must be closed. */
static void conn_arm_request_deadline(struct conn *c)
{
	struct dp_grpc_call *call;
	uint64_t oldest = UINT64_MAX, now, left;
	struct timeval tv;

	if (!c->srv->lim.request_ms)
		return;
	LIST_FOREACH (call, &c->calls, link)
		if (!call->dispatched && call->begun_ms < oldest)
			oldest = call->begun_ms;
	if (oldest == UINT64_MAX) {
		evtimer_del(c->req_ev);
		return;
	}
	now = clock_mono_ms();
	left = now - oldest >= c->srv->lim.request_ms ? 0 : c->srv->lim.request_ms - (now - oldest);
	tv.tv_sec = left / 1000;
	tv.tv_usec = left % 1000 * 1000;
	evtimer_add(c->req_ev, &tv);
}

static void conn_flush(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (evbuffer_get_length(out) < OUT_HIGH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(c->h2, &data);
		if (n < 0) {
			LOG_DEBUG("grpc %s: %s", c->srv->path, nghttp2_strerror((int)n));
			conn_free(c);
			return;
		}
		if (n == 0)
			break;
		if (evbuffer_add(out, data, n) < 0) {
			conn_free(c);
			return;
		}
	}
	if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
		c->closing = true;
	if (c->closing && evbuffer_get_length(out) == 0) {
		conn_free(c);
		return;
	}
	if (c->n_streams == 0 && !c->closing && c->srv->lim.idle_ms) {
		struct timeval tv = {c->srv->lim.idle_ms / 1000, c->srv->lim.idle_ms % 1000 * 1000};
		if (!evtimer_pending(c->idle_ev, NULL))
			evtimer_add(c->idle_ev, &tv);
	} else {
		evtimer_del(c->idle_ev);
	}
	conn_arm_request_deadline(c);
}

static void conn_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct conn *c = arg;
	size_t len;

	while (!c->closing && (len = evbuffer_get_contiguous_space(in)) > 0) {
		ssize_t n = nghttp2_session_mem_recv(c->h2, evbuffer_pullup(in, len), len);
		if (n < 0) {
			/* Not an HTTP/2 client (bad preface) or a flood: say so and hang up. */
			c->srv->st.protocol_errors++;
			LOG_DEBUG("grpc %s: closing connection from pid %d: %s", c->srv->path,
			        (int)c->pid, nghttp2_strerror((int)n));
			nghttp2_session_terminate_session(c->h2, NGHTTP2_PROTOCOL_ERROR);
			c->closing = true;
			evbuffer_drain(in, evbuffer_get_length(in));
			break;
		}
		evbuffer_drain(in, n);
	}
	if (c->closing)
		evbuffer_drain(in, evbuffer_get_length(in));
	conn_flush(c);
}

static void conn_on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_flush(arg);
}

static void conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		conn_free(c);
	} else if (what & BEV_EVENT_EOF) {
		/* The peer stopped sending; answer what it asked, then hang up. */
		c->closing = true;
		conn_flush(c);
	}
}

static void conn_on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

static void conn_on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->n_streams)
		return;
	LOG_DEBUG("grpc %s: closing idle connection from pid %d", c->srv->path, (int)c->pid);
	nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
	conn_flush(c);
}

static void conn_on_request_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct dp_grpc_call *call;
	uint64_t now = clock_mono_ms();

	(void)fd;
	(void)what;
	LIST_FOREACH (call, &c->calls, link) {
		if (!call->dispatched && now - call->begun_ms >= c->srv->lim.request_ms)
			break;
	}
	if (!call) {
		conn_arm_request_deadline(c);
		return;
	}
	/* A request begun and never finished holds a connection slot (and kubelet's, once all
	 * are taken): the peer is not a working gRPC client. Hang up, streams and all. */
	c->srv->st.request_timeouts++;
	LOG_WARN("grpc %s: closing the connection from pid %d: a request incomplete after %u ms",
	        c->srv->path, (int)c->pid, c->srv->lim.request_ms);
	conn_free(c);
}

static int conn_new(struct dp_grpc_server *s, int fd, const struct ucred *cred)
{
	nghttp2_settings_entry settings[] = {
	        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->lim.max_streams},
	        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES},
	};
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->srv = s;
	LIST_INIT(&c->calls);
	c->pid = cred->pid;
	c->uid = cred->uid;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return -ENOMEM;
	}
	c->flush_ev = event_new(s->base, -1, 0, conn_on_flush, c);
	c->idle_ev = evtimer_new(s->base, conn_on_idle, c);
	c->req_ev = evtimer_new(s->base, conn_on_request_deadline, c);
	if (!c->flush_ev || !c->idle_ev || !c->req_ev ||
	        nghttp2_session_server_new2(&c->h2, s->cbs, c, s->opt))
		goto fail;
	if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, settings, 2) != 0)
		goto fail;
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	LIST_INSERT_HEAD(&s->conns, c, link);
	s->st.conns_open++;
	s->st.conns_accepted++;
	if (c->uid != 0)
		s->st.conns_nonroot++;
	conn_flush(c);
	return 0;
fail:
	if (c->h2)
		nghttp2_session_del(c->h2);
	if (c->flush_ev)
		event_free(c->flush_ev);
	if (c->idle_ev)
		event_free(c->idle_ev);
	if (c->req_ev)
		event_free(c->req_ev);
	bufferevent_free(c->bev);
	free(c);
	return -ENOMEM;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct dp_grpc_server *s = arg;

	(void)what;
	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				LOG_WARN("grpc %s: accept: %s", s->path, strerror(errno));
			return;
		}
		struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
		socklen_t clen = sizeof(cred);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
		if (s->st.conns_open >= s->lim.max_conns) {
			s->st.conns_refused++;
			LOG_WARN("grpc %s: refusing a connection: %u already open", s->path,
			        s->st.conns_open);
			close(fd);
			continue;
		}
		/* The last slot is kubelet's (root): other peers cannot lock it out. */
		if (cred.uid != 0 && s->st.conns_nonroot + 1 >= s->lim.max_conns) {
			s->st.conns_refused++;
			s->st.conns_refused_nonroot++;
			LOG_WARN("grpc %s: refusing a connection from pid %d (uid %u): the last "
			         "slot is "
			         "kept for root (kubelet)",
			        s->path, (int)cred.pid, (unsigned)cred.uid);
			close(fd);
			continue;
		}
		conn_new(s, fd, &cred);
	}
}

/* ---- server ---- */

static void listener_close(struct dp_grpc_server *s)
{
	if (s->lev)
		event_free(s->lev);
	s->lev = NULL;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
}

static int listen_path(struct dp_grpc_server *s, struct kb_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	str_copy(sa.sun_path, sizeof(sa.sun_path), s->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kb_err_set(err, errno, "socket: %s", strerror(errno));
	/* A socket left by an earlier agent (or our own, being replaced) is stale. */
	if (unlink(s->path) < 0 && errno != ENOENT) {
		int e = errno;
		close(fd);
		return kb_err_set(err, e, "removing %s: %s", s->path, strerror(e));
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(s->path, 0600) < 0 ||
	        listen(fd, 128) < 0 || stat(s->path, &st) < 0) {
		int e = errno;
		close(fd);
		return kb_err_set(err, e, "listening on %s: %s", s->path, strerror(e));
	}
	listener_close(s);
	s->lfd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->lev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_accept, s);
	if (!s->lev || event_add(s->lev, NULL) < 0) {
		listener_close(s);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

int dp_grpc_server_new(struct event_base *base, const char *path,
        const struct dp_grpc_method *methods, size_t n_methods, void *ctx,
        const struct dp_grpc_limits *lim, struct dp_grpc_server **ret, struct kb_err *err)
{
	struct dp_grpc_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return kb_err_set(err, ENOMEM, "out of memory");
	s->base = base;
	s->lfd = -1;
	s->methods = methods;
	s->n_methods = n_methods;
	s->ctx = ctx;
	s->lim = *lim;
	LIST_INIT(&s->conns);
	if (str_copy(s->path, sizeof(s->path), path) < 0) {
		free(s);
		return kb_err_set(err, ENAMETOOLONG, "socket path %s is over %zu bytes", path,
		        sizeof(s->path) - 1);
	}
	if (nghttp2_session_callbacks_new(&s->cbs) || nghttp2_option_new(&s->opt)) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(s->cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(s->cbs, on_invalid_frame);
	nghttp2_option_set_no_http_messaging(s->opt, 1);
	if ((r = listen_path(s, err)) < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	if (s->cbs)
		nghttp2_session_callbacks_del(s->cbs);
	if (s->opt)
		nghttp2_option_del(s->opt);
	free(s);
	return r;
}

int dp_grpc_server_relisten(struct dp_grpc_server *s, struct kb_err *err)
{
	return listen_path(s, err);
}

bool dp_grpc_server_socket_ok(const struct dp_grpc_server *s)
{
	struct stat st;

	return s->lfd >= 0 && stat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == s->dev && st.st_ino == s->ino;
}

const char *dp_grpc_server_path(const struct dp_grpc_server *s)
{
	return s->path;
}

void dp_grpc_server_stats(const struct dp_grpc_server *s, struct dp_grpc_stats *ret)
{
	*ret = s->st;
}

void dp_grpc_server_free(struct dp_grpc_server *s)
{
	struct conn *c;

	if (!s)
		return;
	if (dp_grpc_server_socket_ok(s))
		unlink(s->path);
	listener_close(s);
	while ((c = LIST_FIRST(&s->conns)))
		conn_free(c);
	nghttp2_session_callbacks_del(s->cbs);
	nghttp2_option_del(s->opt);
	free(s);
}
