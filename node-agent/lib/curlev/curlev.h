/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP requests on an event loop: libcurl's multi interface driven by libevent (curl tells
 * which sockets to watch and when to wake; libevent tells curl what is ready), so a slow or
 * dead server never blocks the loop that serves CNI requests. The agent's Kubernetes client
 * and its kubelet gRPC client both run on it. Agent only: the CNI links neither library.
 */
#ifndef KB_CURLEV_H
#define KB_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct curlev;
struct curlev_req;

struct curlev_req_ops {
	/* Each response header line as curl gives it (CRLF included): status lines, headers
	 * and HTTP/2 trailers alike. Optional. */
	void (*header)(void *ctx, const char *line, size_t len);
	/* Response headers are complete; `status` is the HTTP status (not for 1xx interim
	 * answers). Optional. */
	void (*headers)(void *ctx, long status);
	/* Body bytes as they arrive; return false to abort the transfer (done then reports
	 * CURLE_WRITE_ERROR). Optional: without it the body is dropped. */
	bool (*data)(void *ctx, const char *buf, size_t len);
	/* The transfer ended: curl's result, the HTTP status (0 if none), curl's message. The
	 * request is freed after this returns: do not cancel it from here. */
	void (*done)(void *ctx, CURLcode code, long status, const char *msg);
};

int curlev_new(struct event_base *base, struct curlev **ret, struct kb_err *err);
/* Aborts every request without calling them back. Safe from a done callback. */
void curlev_free(struct curlev *h);
/* HTTP/2 multiplexing (on by default): off gives each request a connection of its own, for
 * callers that close the connection after each request (CURLOPT_FORBID_REUSE). */
void curlev_set_multiplex(struct curlev *h, bool on);

/* Start a request prepared by the caller: `easy` (URL, method, body, TLS, timeouts...) and
 * `headers` become the request's (freed with it, also on failure). curlev sets the easy's
 * write, header, error-buffer and private options, and CURLOPT_NOSIGNAL. */
int curlev_start(struct curlev *h, CURL *easy, struct curl_slist *headers,
        const struct curlev_req_ops *ops, void *ctx, struct curlev_req **ret, struct kb_err *err);
/* Abort a request that has not finished; its callbacks are not called. NULL is a no-op.
 * Not from a header/headers/data callback (curl is running then): return false from data. */
void curlev_cancel(struct curlev_req *r);
unsigned curlev_active(const struct curlev *h);

#endif
