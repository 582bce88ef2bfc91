/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP/1.x server for the metrics and health endpoints, on the agent's loop.
 * libevent 2.1's evhttp has no connection limit and restarts its timeout on every byte, so a
 * local process holding connections (or dribbling a request) could exhaust the agent's
 * descriptors. This server bounds everything a peer controls:
 *   - connections: at most `max_conns` at once; more get a 503 and are closed;
 *   - time: one deadline per connection for the whole exchange (request headers in, reply
 *     out), never restarted by traffic; one request per connection (`Connection: close`);
 *   - bytes: request headers up to `max_header` bytes (431 beyond), no request body.
 * Only GET and HEAD are served (405 otherwise).
 */
#ifndef KB_HTTPD_H
#define KB_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct event_base;
struct evbuffer;
struct httpd;

#define HTTPD_PATH_MAX 256

struct httpd_req {
	bool head;                 /* HEAD: the reply carries headers only */
	char path[HTTPD_PATH_MAX]; /* without the query string */
};

/* Parse the request head in buf[0..len): > 0 the head's length (through the empty line),
 * 0 incomplete, or a negative HTTP status to answer: -400 malformed, -405 a method other
 * than GET/HEAD, -414 a target too long, -505 not HTTP/1.x. */
int httpd_parse(const char *buf, size_t len, struct httpd_req *req);

/* Fill body; return the HTTP status. *content_type must point to a static string. */
typedef int (*httpd_handler_fn)(
        const struct httpd_req *req, struct evbuffer *body, const char **content_type, void *arg);

struct httpd_route {
	const char *path; /* NULL ends the table */
	httpd_handler_fn fn;
	void *arg;
};

struct httpd_limits {
	unsigned max_conns;
	unsigned timeout_ms; /* the whole exchange, from accept to the last byte of the reply */
	size_t max_header;
};

struct httpd_stats {
	uint64_t conns, refused, timeouts, requests, bad_requests, accept_errors;
	unsigned open;
};

/* Listen on a numeric address; port 0 picks a free port. `routes` must outlive the server. */
int httpd_new(struct event_base *base, const char *address, uint16_t port,
        const struct httpd_route *routes, const struct httpd_limits *lim, struct httpd **ret,
        struct kb_err *err);
void httpd_free(struct httpd *h);
/* Serve a connected, non-blocking stream socket as an accepted connection (what the listener
 * does with each one; the fuzz target hands it one end of a socketpair). Takes fd, also on
 * failure: -EBUSY at max_conns (answered 503 and closed), -ENOMEM. */
int httpd_serve(struct httpd *h, int fd);
/* "127.0.0.1:9402" / "[::1]:9402" */
const char *httpd_address(const struct httpd *h);
void httpd_get_stats(const struct httpd *h, struct httpd_stats *st);

#endif
