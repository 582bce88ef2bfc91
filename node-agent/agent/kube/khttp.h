/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP requests on the agent's event loop: libcurl's multi interface driven by libevent
 * (curl tells which sockets to watch and when to wake; libevent tells curl what is ready), so
 * a slow or dead API server never blocks the loop that serves CNI requests. Also the retry
 * pacing (exponential backoff with jitter) every caller shares.
 */
#ifndef KB_KHTTP_H
#define KB_KHTTP_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct khttp;
struct khttp_req;

struct khttp_req_ops {
	/* Response headers are complete; `status` is the HTTP status. Optional. */
	void (*headers)(void *ctx, long status);
	/* Body bytes as they arrive; return false to abort the transfer (done then reports
	 * CURLE_WRITE_ERROR). */
	bool (*data)(void *ctx, const char *buf, size_t len);
	/* The transfer ended: curl's result, the HTTP status (0 if none), curl's message. The
	 * request is freed after this returns. */
	void (*done)(void *ctx, CURLcode code, long status, const char *msg);
};

int khttp_new(struct event_base *base, struct khttp **ret, struct kb_err *err);
/* Aborts every request without calling them back. */
void khttp_free(struct khttp *h);

/* Start a request prepared by the caller: `easy` (URL, method, TLS, timeouts...) and `headers`
 * become the request's (freed with it, also on failure). */
int khttp_start(struct khttp *h, CURL *easy, struct curl_slist *headers,
        const struct khttp_req_ops *ops, void *ctx, struct khttp_req **ret, struct kb_err *err);
/* Abort a request that has not finished; its callbacks are not called. */
void khttp_cancel(struct khttp_req *r);
unsigned khttp_active(const struct khttp *h);

/* Retry pacing: min, 2*min, ... max, each with +-25% jitter; reset after a success. */
struct khttp_backoff {
	uint32_t min_ms, max_ms, cur_ms;
	unsigned failures;
};
void khttp_backoff_init(struct khttp_backoff *b, uint32_t min_ms, uint32_t max_ms);
uint32_t khttp_backoff_next(struct khttp_backoff *b);
void khttp_backoff_reset(struct khttp_backoff *b);

#endif
