/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: libcurl's multi interface on libevent (node-agent/lib/curlev). A libevent HTTP
 * server on the loopback, in the same event base, answers; everything runs on one loop, as in
 * the agent. Checks: status, header lines and body reach the callbacks; refusing data aborts;
 * a cancelled request is never called back; curlev_free from a done callback; connection
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/curlev/curlev.h"

static struct event_base *base;
static struct evhttp *srv;
static int port, silent_port, silent_fd = -1;

static void handle(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	const char *uri = evhttp_request_get_uri(req);

	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Kb", "yes");
	if (!strcmp(uri, "/big")) {
		for (int i = 0; i < 1000; i++)
			evbuffer_add_printf(b, "%0100d", i);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (!strcmp(uri, "/missing")) {
		evhttp_send_reply(req, 404, "Not Found", b);
	} else {
		evbuffer_add_printf(b, "hello %s", uri);
		evhttp_send_reply(req, 200, "OK", b);
	}
	evbuffer_free(b);
}

static int setup(void **state)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)state;
	if (!(base = event_base_new()) || !(srv = evhttp_new(base)))
		return -1;
	evhttp_set_gencb(srv, handle, NULL);
	if (!(s = evhttp_bind_socket_with_handle(srv, "127.0.0.1", 0)))
		return -1;
	getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &len);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	/* A listener that never answers: the kernel completes connections, nobody accepts. */
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	len = sizeof(sin);
	if ((silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	        bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	        listen(silent_fd, 8) < 0 ||
	        getsockname(silent_fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	silent_port = ntohs(sin.sin_port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	evhttp_free(srv);
	close(silent_fd);
	event_base_free(base);
	return 0;
}

struct res {
	bool done, refuse;
	CURLcode code;
	long status, headers_status;
	size_t body, lines;
	bool saw_x_kb;
	char first[64];
	struct curlev *free_me; /* freed from done */
};

static void on_header(void *ctx, const char *line, size_t len)
{
	struct res *r = ctx;

	r->lines++;
	if (len >= 5 && !strncasecmp(line, "x-kb:", 5))
		r->saw_x_kb = true;
}

static void on_headers(void *ctx, long status)
{
	((struct res *)ctx)->headers_status = status;
}

static bool on_data(void *ctx, const char *buf, size_t len)
{
	struct res *r = ctx;

	if (r->refuse)
		return false;
	if (!r->body)
		snprintf(r->first, sizeof(r->first), "%.*s", (int)len, buf);
	r->body += len;
	return true;
}

static void on_done(void *ctx, CURLcode code, long status, const char *msg)
{
	struct res *r = ctx;

	(void)msg;
	r->done = true;
	r->code = code;
	r->status = status;
	if (r->free_me)
		curlev_free(r->free_me);
}

static const struct curlev_req_ops ops = {
        .header = on_header, .headers = on_headers, .data = on_data, .done = on_done};

static struct curlev_req *get_at(struct curlev *h, int p, const char *path, struct res *r)
{
	struct curlev_req *req = NULL;
	struct kb_err err = {0};
	char url[128];
	CURL *e = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	if (curlev_start(h, e, curl_slist_append(NULL, "X-Test: 1"), &ops, r, &req, &err) < 0)
		fail_msg("%s", err.msg);
	return req;
}

static struct curlev_req *get(struct curlev *h, const char *path, struct res *r)
{
	return get_at(h, port, path, r);
}

static void run_until(bool *flag)
{
	for (int i = 0; i < 5000 && !*flag; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_true(*flag);
}

static void test_requests(void **state)
{
	struct res a = {0}, b = {0}, c = {0};
	struct kb_err err = {0};
	struct curlev *h;

	(void)state;
	assert_int_equal(curlev_new(base, &h, &err), 0);
	get(h, "/one", &a);
	get(h, "/big", &b);
	get(h, "/missing", &c);
	assert_int_equal(curlev_active(h), 3);
	run_until(&a.done);
	run_until(&b.done);
	run_until(&c.done);
	assert_int_equal(a.code, CURLE_OK);
	assert_int_equal(a.status, 200);
	assert_int_equal(a.headers_status, 200);
	assert_string_equal(a.first, "hello /one");
	assert_true(a.saw_x_kb && a.lines >= 3);
	assert_int_equal(b.body, 100000);
	assert_int_equal(c.status, 404);
	assert_int_equal(curlev_active(h), 0);
	curlev_free(h);
}

static void test_refuse_cancel_free(void **state)
{
	struct res a = {.refuse = true}, b = {0}, c = {0};
	struct kb_err err = {0};
	struct curlev *h, *h2;

	(void)state;
	assert_int_equal(curlev_new(base, &h, &err), 0);
	/* Refused data aborts the transfer. */
	get(h, "/big", &a);
	run_until(&a.done);
	assert_int_equal(a.code, CURLE_WRITE_ERROR);
	/* A cancelled request is never called back; another one goes on. */
	curlev_cancel(get(h, "/one", &b));
	get(h, "/one", &c);
	run_until(&c.done);
	assert_false(b.done);
	curlev_cancel(NULL);
	curlev_free(h);

	/* Freed from a done callback while another request is pending: no callback for that
	 * one, nothing used after free (ASan). */
	assert_int_equal(curlev_new(base, &h2, &err), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.free_me = h2;
	get_at(h2, silent_port, "/never", &b);
	get(h2, "/one", &a);
	run_until(&a.done);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	assert_false(b.done);
	curlev_free(NULL);
}

static void test_refused_connection(void **state)
{
	struct res a = {0};
	struct kb_err err = {0};
	struct curlev *h;
	CURL *e = curl_easy_init();

	(void)state;
	assert_int_equal(curlev_new(base, &h, &err), 0);
	curlev_set_multiplex(h, false);
	/* Port 1 on the loopback: nothing listens there. */
	curl_easy_setopt(e, CURLOPT_URL, "http://127.0.0.1:1/");
	assert_int_equal(curlev_start(h, e, NULL, &ops, &a, NULL, &err), 0);
	run_until(&a.done);
	assert_int_equal(a.code, CURLE_COULDNT_CONNECT);
	assert_int_equal(a.status, 0);
	curlev_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_requests),
	        cmocka_unit_test(test_refuse_cancel_free),
	        cmocka_unit_test(test_refused_connection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
