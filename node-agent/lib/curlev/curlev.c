/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/curlev/curlev.h"
#include "common/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct curlev_req {
	struct curlev *h;
	CURL *easy;
	struct curl_slist *headers;
	const struct curlev_req_ops *ops;
	void *ctx;
	bool headers_done;
	char errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(curlev_req) link;
};

struct curlev {
	CURLM *multi;
	struct event_base *base;
	struct event *timer;
	int running;
	unsigned n_reqs;
	/* Callbacks are running (curlev_free then only marks: the dispatch loop frees). */
	unsigned dispatching;
	bool freed;
	TAILQ_HEAD(, curlev_req) reqs;
};

/* One watched socket: curl asks for IN/OUT, we keep one persistent event. */
struct curlev_sock {
	struct event *ev;
	short what;
};

static void req_free(struct curlev_req *r)
{
	struct curlev *h = r->h;

	curl_multi_remove_handle(h->multi, r->easy);
	TAILQ_REMOVE(&h->reqs, r, link);
	h->n_reqs--;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r);
}

static void destroy(struct curlev *h)
{
	struct curlev_req *r;

	while ((r = TAILQ_FIRST(&h->reqs)))
		req_free(r);
	if (h->multi)
		curl_multi_cleanup(h->multi); /* removes the sockets: sock_cb frees their events */
	if (h->timer)
		event_free(h->timer);
	free(h);
}

static void check_done(struct curlev *h)
{
	CURLMsg *msg;
	int left;

	while (!h->freed && (msg = curl_multi_info_read(h->multi, &left))) {
		struct curlev_req *r = NULL;
		long status = 0;
		CURLcode code;

		if (msg->msg != CURLMSG_DONE)
			continue;
		code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		/* Taken off the list first: the callback may start new requests. */
		curl_multi_remove_handle(h->multi, r->easy);
		TAILQ_REMOVE(&h->reqs, r, link);
		h->n_reqs--;
		if (r->ops->done)
			r->ops->done(r->ctx, code, status,
			        r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
		curl_easy_cleanup(r->easy);
		curl_slist_free_all(r->headers);
		free(r);
	}
}

/* Run curl for fd (or its timers), then the callbacks of what finished. */
static void dispatch(struct curlev *h, curl_socket_t fd, int action)
{
	h->dispatching++;
	curl_multi_socket_action(h->multi, fd, action, &h->running);
	/* The timer stays as curl set it: a request started from a done callback re-arms it. */
	check_done(h);
	if (--h->dispatching == 0 && h->freed)
		destroy(h);
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	int action =
	        (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	dispatch(arg, fd, action);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dispatch(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: what curl wants to wait for on socket s. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlev *h = userp;
	struct curlev_sock *ks = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ks) {
			event_free(ks->ev);
			free(ks);
			curl_multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	kind = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
	       EV_PERSIST;
	if (ks && ks->what == kind)
		return 0;
	if (!ks) {
		if (!(ks = calloc(1, sizeof(*ks))))
			return -1;
		curl_multi_assign(h->multi, s, ks);
	} else {
		event_free(ks->ev);
	}
	ks->what = kind;
	if (!(ks->ev = event_new(h->base, s, kind, on_socket, h)) || event_add(ks->ev, NULL) < 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when curl wants to be woken up for timeouts. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *h = userp;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(h->timer);
	/* 0 means "now": a zero timer runs on the next loop iteration, never recursively. */
	return evtimer_add(h->timer, &tv);
}

int curlev_new(struct event_base *base, struct curlev **ret, struct kb_err *err)
{
	/* Once per process and never undone: curl's global state (TLS) outlives any one user. */
	static bool global_done;
	struct curlev *h;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return kb_err_set(err, EIO, "libcurl initialisation failed");
		global_done = true;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return kb_err_set(err, ENOMEM, "out of memory");
	TAILQ_INIT(&h->reqs);
	h->base = base;
	if (!(h->multi = curl_multi_init()) || !(h->timer = evtimer_new(base, on_timer, h))) {
		destroy(h);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*ret = h;
	return 0;
}

void curlev_free(struct curlev *h)
{
	struct curlev_req *r;

	if (!h)
		return;
	if (h->dispatching) {
		/* Inside one of our callbacks: cancel now, free when the dispatch unwinds. */
		while ((r = TAILQ_FIRST(&h->reqs)))
			req_free(r);
		h->freed = true;
		return;
	}
	destroy(h);
}

void curlev_set_multiplex(struct curlev *h, bool on)
{
	curl_multi_setopt(
	        h->multi, CURLMOPT_PIPELINING, on ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
}

void curlev_cancel(struct curlev_req *r)
{
	if (r)
		req_free(r);
}

unsigned curlev_active(const struct curlev *h)
{
	return h->n_reqs;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct curlev_req *r = userdata;
	size_t n = size * nmemb;

	if (r->ops->data && !r->ops->data(r->ctx, ptr, n))
		return 0; /* abort: CURLE_WRITE_ERROR */
	return n;
}

/* Each line to the caller; at the blank line after the headers, the status once (not for 1xx
 * interim answers). */
static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct curlev_req *r = userdata;
	size_t n = size * nmemb;
	long status = 0;

	if (r->ops->header)
		r->ops->header(r->ctx, ptr, n);
	if (!r->headers_done && (n == 2 && ptr[0] == '\r' && ptr[1] == '\n')) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200) {
			r->headers_done = true;
			if (r->ops->headers)
				r->ops->headers(r->ctx, status);
		}
	}
	return n;
}

int curlev_start(struct curlev *h, CURL *easy, struct curl_slist *headers,
        const struct curlev_req_ops *ops, void *ctx, struct curlev_req **ret, struct kb_err *err)
{
	struct curlev_req *r = calloc(1, sizeof(*r));
	CURLMcode mc;

	if (!r) {
		curl_easy_cleanup(easy);
		curl_slist_free_all(headers);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	r->h = h;
	r->easy = easy;
	r->headers = headers;
	r->ops = ops;
	r->ctx = ctx;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	/* No signals from curl's resolver and timers in a daemon with its own handlers. */
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	TAILQ_INSERT_TAIL(&h->reqs, r, link);
	h->n_reqs++;
	if ((mc = curl_multi_add_handle(h->multi, easy)) != CURLM_OK) {
		TAILQ_REMOVE(&h->reqs, r, link);
		h->n_reqs--;
		curl_easy_cleanup(easy);
		curl_slist_free_all(headers);
		free(r);
		return kb_err_set(err, EIO, "cannot start request: %s", curl_multi_strerror(mc));
	}
	if (ret)
		*ret = r;
	return 0;
}
