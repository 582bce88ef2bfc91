/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_client.h"
#include "agent/devplugin/dp_grpc.h"
#include "agent/ops.h"
#include "common/queue.h"
#include "common/str.h"
#include "lib/curlev/curlev.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dp_rpc {
	struct curlev_req *req;
	uint8_t *body;
	uint8_t *rbuf;
	size_t rlen, rcap, rmax;
	bool too_big, has_status;
	int grpc_status;
	char message[256];
	const ProtobufCMessageDescriptor *desc;
	dp_rpc_done_fn done;
	void *ctx;
	LIST_ENTRY(dp_rpc) link;
};

static struct {
	struct curlev *http;
	LIST_HEAD(, dp_rpc) rpcs;
} cl;

static void rpc_free(struct dp_rpc *rpc)
{
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

/* curlev's done: the transfer is over (curlev frees it after this returns). */
static void on_done(void *ctx, CURLcode code, long http, const char *msg)
{
	struct dp_rpc *rpc = ctx;
	struct dp_rpc_result res = {0};

	if (code != CURLE_OK) {
		res.err = rpc->too_big ? -EMSGSIZE : map_curl_error(code);
		snprintf(res.message, sizeof(res.message), "%s",
		        rpc->too_big ? "reply over the size limit" : msg);
	} else if (!rpc->has_status) {
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

static bool on_body(void *ctx, const char *data, size_t n)
{
	struct dp_rpc *rpc = ctx;

	if (rpc->rlen + n > rpc->rmax + DP_GRPC_PREFIX) {
		rpc->too_big = true;
		return false; /* aborts the transfer */
	}
	if (rpc->rlen + n > rpc->rcap) {
		size_t cap = rpc->rcap ? rpc->rcap : 4096;
		uint8_t *p;
		while (cap < rpc->rlen + n)
			cap *= 2;
		if (!(p = realloc(rpc->rbuf, cap)))
			return false;
		rpc->rbuf = p;
		rpc->rcap = cap;
	}
	memcpy(rpc->rbuf + rpc->rlen, data, n);
	rpc->rlen += n;
	return true;
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
static void on_header(void *ctx, const char *line, size_t n)
{
	struct dp_rpc *rpc = ctx;
	const char *colon = memchr(line, ':', n), *v;
	size_t vlen;

	if (!colon)
		return;
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
}

static const struct curlev_req_ops rpc_ops = {
        .header = on_header,
        .data = on_body,
        .done = on_done,
};

int dp_rpc_start(const char *socket_path, const char *path, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *reply_desc, unsigned timeout_ms, size_t max_reply,
        dp_rpc_done_fn done, void *ctx, struct dp_rpc **ret, struct kb_err *err)
{
	struct curl_slist *hdrs = NULL;
	struct dp_rpc *rpc;
	CURL *easy = NULL;
	char url[256];
	size_t len;
	int r;

	if (!cl.http)
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
	if (!(hdrs = curl_slist_append(NULL, "Content-Type: application/grpc")) ||
	        !curl_slist_append(hdrs, "TE: trailers") || !curl_slist_append(hdrs, "Expect:") ||
	        !curl_slist_append(hdrs, "Accept:"))
		goto nomem;
	if (!(easy = curl_easy_init()))
		goto nomem;
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	/* gRPC is HTTP/2 only; there is no TLS to negotiate it on a local socket. */
	curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, rpc->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)(len + DP_GRPC_PREFIX));
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "kbnet-agent/" KBNET_VERSION);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	/* A fresh connection per call: after a kubelet restart nothing stale is reused. */
	curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
	/* curlev owns easy and hdrs from here, also when it fails. */
	if ((r = curlev_start(cl.http, easy, hdrs, &rpc_ops, rpc, &rpc->req, err)) < 0) {
		rpc_free(rpc);
		return r;
	}
	LIST_INSERT_HEAD(&cl.rpcs, rpc, link);
	if (ret)
		*ret = rpc;
	return 0;
nomem:
	curl_easy_cleanup(easy);
	curl_slist_free_all(hdrs);
	rpc_free(rpc);
	return kb_err_set(err, ENOMEM, "out of memory");
}

void dp_rpc_cancel(struct dp_rpc *rpc)
{
	if (!rpc)
		return;
	LIST_REMOVE(rpc, link);
	curlev_cancel(rpc->req);
	rpc_free(rpc);
}

int dp_client_init(struct event_base *base, struct kb_err *err)
{
	int r;

	if (cl.http)
		return 0;
	LIST_INIT(&cl.rpcs);
	if ((r = curlev_new(base, &cl.http, err)) < 0)
		return r;
	/* One connection per call: multiplexing a second call onto a connection that the first
	 * one's FORBID_REUSE closes would break it mid-stream. */
	curlev_set_multiplex(cl.http, false);
	return 0;
}

void dp_client_fini(void)
{
	struct dp_rpc *rpc;

	while ((rpc = LIST_FIRST(&cl.rpcs)))
		dp_rpc_cancel(rpc);
	curlev_free(cl.http);
	cl.http = NULL;
}
