/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_client.h"
#include "agent/devplugin/dp_grpc.h"
#include "agent/ops.h"
#include "common/queue.h"
#include "common/str.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dp_rpc {
	CURL *easy;
	struct curl_slist *hdrs;
	uint8_t *body;
	uint8_t *rbuf;
	size_t rlen, rcap, rmax;
	bool too_big, has_status;
	int grpc_status;
	char message[256];
	char errbuf[CURL_ERROR_SIZE];
	const ProtobufCMessageDescriptor *desc;
	dp_rpc_done_fn done;
	void *ctx;
	LIST_ENTRY(dp_rpc) link;
};

static struct {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	LIST_HEAD(, dp_rpc) rpcs;
	bool curl_global;
} cl;

static void rpc_free(struct dp_rpc *rpc)
{
	if (rpc->easy) {
		curl_multi_remove_handle(cl.multi, rpc->easy);
		curl_easy_cleanup(rpc->easy);
	}
	curl_slist_free_all(rpc->hdrs);
	free(rpc->body);
	free(rpc->rbuf);
	free(rpc);
}

static int map_curl_error(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		return -EMSGSIZE; /* our write callback refused an oversized reply */
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void decode_reply(struct dp_rpc *rpc, struct dp_rpc_result *res)
{
	uint32_t len;

	if (rpc->rlen < DP_GRPC_PREFIX) {
		res->err = -EBADMSG;
		snprintf(res->message, sizeof(res->message), "status OK without a reply message");
		return;
	}
	len = (uint32_t)rpc->rbuf[1] << 24 | (uint32_t)rpc->rbuf[2] << 16 |
	      (uint32_t)rpc->rbuf[3] << 8 | rpc->rbuf[4];
	if (rpc->rbuf[0] != 0 || rpc->rlen != (size_t)len + DP_GRPC_PREFIX) {
		res->err = -EBADMSG;
		snprintf(res->message, sizeof(res->message),
		        "reply is not one uncompressed message (%zu bytes, flags %u)", rpc->rlen,
		        rpc->rbuf[0]);
		return;
	}
	res->reply = protobuf_c_message_unpack(rpc->desc, NULL, len, rpc->rbuf + DP_GRPC_PREFIX);
	if (!res->reply) {
		res->err = -EBADMSG;
		snprintf(res->message, sizeof(res->message), "cannot parse the reply as %s",
		        rpc->desc->name);
	}
}

static void finish(struct dp_rpc *rpc, CURLcode code)
{
	struct dp_rpc_result res = {0};
	long http = 0;

	if (code != CURLE_OK) {
		res.err = rpc->too_big ? -EMSGSIZE : map_curl_error(code);
		snprintf(res.message, sizeof(res.message), "%s",
		        rpc->too_big     ? "reply over the size limit"
		        : rpc->errbuf[0] ? rpc->errbuf
		                         : curl_easy_strerror(code));
	} else if (!rpc->has_status) {
		curl_easy_getinfo(rpc->easy, CURLINFO_RESPONSE_CODE, &http);
		res.err = -EPROTO;
		snprintf(res.message, sizeof(res.message), "HTTP status %ld without a grpc-status",
		        http);
	} else {
		res.grpc_status = rpc->grpc_status;
		snprintf(res.message, sizeof(res.message), "%s", rpc->message);
		if (rpc->grpc_status == 0)
			decode_reply(rpc, &res);
	}
	LIST_REMOVE(rpc, link);
	rpc->done(&res, rpc->ctx);
	if (res.reply)
		protobuf_c_message_free_unpacked(res.reply, NULL);
	rpc_free(rpc);
}

static void check_done(void)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(cl.multi, &left))) {
		struct dp_rpc *rpc = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rpc);
		if (rpc)
			finish(rpc, msg->data.result);
	}
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	int running, flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
	                     ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	(void)arg;
	curl_multi_socket_action(cl.multi, fd, flags, &running);
	check_done();
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct event *ev = socketp;
	short kind;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ev)
			event_free(ev);
		curl_multi_assign(cl.multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	       ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ev) {
		event_del(ev);
		event_assign(ev, cl.base, s, kind, on_sock_event, NULL);
	} else if ((ev = event_new(cl.base, s, kind, on_sock_event, NULL))) {
		curl_multi_assign(cl.multi, s, ev);
	} else {
		return -1;
	}
	event_add(ev, NULL);
	return 0;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(cl.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval tv = {timeout_ms / 1000, timeout_ms % 1000 * 1000};

	(void)multi;
	(void)userp;
	if (timeout_ms < 0)
		evtimer_del(cl.timer);
	else
		evtimer_add(cl.timer, &tv);
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct dp_rpc *rpc = arg;
	size_t n = size * nmemb;

	if (rpc->rlen + n > rpc->rmax + DP_GRPC_PREFIX) {
		rpc->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (rpc->rlen + n > rpc->rcap) {
		size_t cap = rpc->rcap ? rpc->rcap : 4096;
		uint8_t *p;
		while (cap < rpc->rlen + n)
			cap *= 2;
		if (!(p = realloc(rpc->rbuf, cap)))
			return 0;
		rpc->rbuf = p;
		rpc->rcap = cap;
	}
	memcpy(rpc->rbuf + rpc->rlen, data, n);
	rpc->rlen += n;
	return n;
}

static void pct_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < size; i++) {
		if (in[i] == '%' && i + 2 < len && isxdigit((unsigned char)in[i + 1]) &&
		        isxdigit((unsigned char)in[i + 2])) {
			char hex[3] = {in[i + 1], in[i + 2], 0};
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

/* Response headers and trailers arrive here alike: pick grpc-status and grpc-message. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct dp_rpc *rpc = arg;
	size_t n = size * nmemb, vlen;
	const char *colon = memchr(line, ':', n), *v;

	if (!colon)
		return n;
	v = colon + 1;
	while (v < line + n && (*v == ' ' || *v == '\t'))
		v++;
	vlen = line + n - v;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if ((size_t)(colon - line) == 11 && strncasecmp(line, "grpc-status", 11) == 0) {
		char num[12];
		uint64_t st;
		snprintf(num, sizeof(num), "%.*s", (int)(vlen < 11 ? vlen : 11), v);
		if (str_to_u64(num, 0, 1000, &st) == 0) {
			rpc->grpc_status = (int)st;
			rpc->has_status = true;
		}
	} else if ((size_t)(colon - line) == 12 && strncasecmp(line, "grpc-message", 12) == 0) {
		pct_decode(v, vlen, rpc->message, sizeof(rpc->message));
	}
	return n;
}

int dp_rpc_start(const char *socket_path, const char *path, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *reply_desc, unsigned timeout_ms, size_t max_reply,
        dp_rpc_done_fn done, void *ctx, struct dp_rpc **ret, struct kb_err *err)
{
	struct dp_rpc *rpc;
	char url[256];
	size_t len;

	if (!cl.multi)
		return kb_err_set(err, ENOTCONN, "gRPC client not initialised");
	if (str_printf(url, sizeof(url), "http://localhost%s", path) < 0)
		return kb_err_set(err, ENAMETOOLONG, "method path too long");
	if (!(rpc = calloc(1, sizeof(*rpc))))
		return kb_err_set(err, ENOMEM, "out of memory");
	rpc->desc = reply_desc;
	rpc->done = done;
	rpc->ctx = ctx;
	rpc->rmax = max_reply;
	len = protobuf_c_message_get_packed_size(req);
	if (!(rpc->body = malloc(len + DP_GRPC_PREFIX)))
		goto nomem;
	rpc->body[0] = 0;
	rpc->body[1] = len >> 24;
	rpc->body[2] = len >> 16;
	rpc->body[3] = len >> 8;
	rpc->body[4] = len;
	protobuf_c_message_pack(req, rpc->body + DP_GRPC_PREFIX);
	if (!(rpc->hdrs = curl_slist_append(NULL, "Content-Type: application/grpc")) ||
	        !curl_slist_append(rpc->hdrs, "TE: trailers") ||
	        !curl_slist_append(rpc->hdrs, "Expect:") ||
	        !curl_slist_append(rpc->hdrs, "Accept:"))
		goto nomem;
	if (!(rpc->easy = curl_easy_init()))
		goto nomem;
	curl_easy_setopt(rpc->easy, CURLOPT_URL, url);
	curl_easy_setopt(rpc->easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	/* gRPC is HTTP/2 only; there is no TLS to negotiate it on a local socket. */
	curl_easy_setopt(
	        rpc->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(rpc->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(rpc->easy, CURLOPT_POSTFIELDS, rpc->body);
	curl_easy_setopt(rpc->easy, CURLOPT_POSTFIELDSIZE, (long)(len + DP_GRPC_PREFIX));
	curl_easy_setopt(rpc->easy, CURLOPT_HTTPHEADER, rpc->hdrs);
	curl_easy_setopt(rpc->easy, CURLOPT_USERAGENT, "kbnet-agent/" KBNET_VERSION);
	curl_easy_setopt(rpc->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(rpc->easy, CURLOPT_NOSIGNAL, 1L);
	/* A fresh connection per call: after a kubelet restart nothing stale is reused. */
	curl_easy_setopt(rpc->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(rpc->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(rpc->easy, CURLOPT_WRITEDATA, rpc);
	curl_easy_setopt(rpc->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(rpc->easy, CURLOPT_HEADERDATA, rpc);
	curl_easy_setopt(rpc->easy, CURLOPT_ERRORBUFFER, rpc->errbuf);
	curl_easy_setopt(rpc->easy, CURLOPT_PRIVATE, rpc);
	if (curl_multi_add_handle(cl.multi, rpc->easy) != CURLM_OK) {
		curl_easy_cleanup(rpc->easy);
		rpc->easy = NULL;
		goto nomem;
	}
	LIST_INSERT_HEAD(&cl.rpcs, rpc, link);
	if (ret)
		*ret = rpc;
	return 0;
nomem:
	rpc_free(rpc);
	return kb_err_set(err, ENOMEM, "out of memory");
}

void dp_rpc_cancel(struct dp_rpc *rpc)
{
	if (!rpc)
		return;
	LIST_REMOVE(rpc, link);
	rpc_free(rpc);
}

int dp_client_init(struct event_base *base, struct kb_err *err)
{
	if (cl.multi)
		return 0;
	if (!cl.curl_global) {
		if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
			return kb_err_set(err, ENOMEM, "curl_global_init failed");
		cl.curl_global = true;
	}
	cl.base = base;
	LIST_INIT(&cl.rpcs);
	if (!(cl.timer = evtimer_new(base, on_timeout, NULL)) || !(cl.multi = curl_multi_init())) {
		dp_client_fini();
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	curl_multi_setopt(cl.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cl.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	/* One connection per call: multiplexing a second call onto a connection that the first
	 * one's FORBID_REUSE closes would break it mid-stream. */
	curl_multi_setopt(cl.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	return 0;
}

void dp_client_fini(void)
{
	struct dp_rpc *rpc;

	while ((rpc = LIST_FIRST(&cl.rpcs)))
		dp_rpc_cancel(rpc);
	if (cl.multi)
		curl_multi_cleanup(cl.multi);
	cl.multi = NULL;
	if (cl.timer)
		event_free(cl.timer);
	cl.timer = NULL;
	if (cl.curl_global) {
		curl_global_cleanup();
		cl.curl_global = false;
	}
}
