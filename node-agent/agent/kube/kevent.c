/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/kube/kevent.h"
#include "api/apimsg_status.h"
#include "common/backoff.h"
#include "common/hmap.h"
#include "common/log.h"
#include "common/queue.h"
#include "common/str.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The API server caps messages; kubectl shows the start. */
#define MESSAGE_MAX 1024
#define DEDUP_MAX   256

struct kev {
	char ns[64], name[254], uid[65];
	char *body; /* JSON, built when queued */
	unsigned attempts;
	TAILQ_ENTRY(kev) link;
};

struct dedup {
	struct hmap_node node;
	uint32_t hash;
	time_t at;
	TAILQ_ENTRY(dedup) link;
};

struct kevent {
	struct curlev *http;
	struct kcfg *cfg;
	struct kevent_opts opts;
	char node[254];
	TAILQ_HEAD(, kev) queue;
	unsigned queued;
	struct curlev_req *req;
	struct event *retry_ev;
	bool waiting;
	struct backoff backoff;
	long status;
	uint64_t seq;
	struct hmap recent; /* hash of (ns, name, reason, message) -> time */
	TAILQ_HEAD(, dedup) recent_order;
	unsigned n_recent;
	uint64_t posted, dropped, failed_attempts, deduped;
	char last_error[768];
};

static void send_next(struct kevent *k);

json_t *kevent_object(const char *node, const struct kevent_pod *pod, const char *reason,
        const char *message, time_t now, uint64_t seq)
{
	char ts[32], name[254], msg[MESSAGE_MAX + 1];
	struct tm tm;
	json_t *o, *inv;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Like the kubelet's: "<pod>.<unique hex>", cut to fit a 253-byte name. */
	snprintf(name, sizeof(name), "%.*s.%016llx", 236, pod->name,
	        (unsigned long long)((uint64_t)now * 1000000ULL + seq % 1000000ULL));
	snprintf(msg, sizeof(msg), "%s", message);
	inv = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Pod", "namespace",
	        pod->ns, "name", pod->name);
	if (inv && pod->uid && *pod->uid)
		json_object_set_new(inv, "uid", json_string(pod->uid));
	o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, "
	              "s:s, s:i, s:s}",
	        "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", pod->ns,
	        "involvedObject", inv, "reason", reason, "message", msg, "type", "Warning",
	        "source", "component", "kbnet-agent", "host", node, "reportingComponent",
	        "kbnet-agent", "reportingInstance", node, "firstTimestamp", ts, "lastTimestamp", ts,
	        "count", 1, "action", "Attach");
	return o;
}

static uint32_t dedup_hash(const struct kevent_pod *pod, const char *reason, const char *message)
{
	return hash_str(message, hash_str(reason, hash_str(pod->name, hash_str(pod->ns, 0))));
}

/* True when the same event went out within the window; records it otherwise. Collisions of
 * the 32-bit hash only ever suppress a duplicate-looking event, never post twice. */
static bool seen_recently(struct kevent *k, uint32_t h, time_t now)
{
	struct dedup *d, *old;

	while ((old = TAILQ_FIRST(&k->recent_order)) &&
	        (now - old->at >= (time_t)k->opts.dedup_s || k->n_recent >= DEDUP_MAX)) {
		TAILQ_REMOVE(&k->recent_order, old, link);
		hmap_remove(&k->recent, &old->node);
		free(old);
		k->n_recent--;
	}
	HMAP_FOR_EACH_WITH_HASH (d, node, h, &k->recent)
		if (d->hash == h)
			return true;
	if ((d = calloc(1, sizeof(*d)))) {
		d->hash = h;
		d->at = now;
		hmap_insert(&k->recent, &d->node, h);
		TAILQ_INSERT_TAIL(&k->recent_order, d, link);
		k->n_recent++;
	}
	return false;
}

static void kev_free(struct kev *e)
{
	free(e->body);
	free(e);
}

int kevent_post(
        struct kevent *k, const struct kevent_pod *pod, const char *reason, const char *message)
{
	time_t now = time(NULL);
	struct kev *e;
	json_t *o;

	if (!pod->ns || !pod->name)
		return -EINVAL;
	if (k->opts.dedup_s && seen_recently(k, dedup_hash(pod, reason, message), now)) {
		k->deduped++;
		return -EALREADY;
	}
	if (k->queued >= KEVENT_QUEUE_MAX) {
		k->dropped++;
		return -ENOSPC;
	}
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	if (str_copy(e->ns, sizeof(e->ns), pod->ns) < 0 ||
	        str_copy(e->name, sizeof(e->name), pod->name) < 0 ||
	        (pod->uid && str_copy(e->uid, sizeof(e->uid), pod->uid) < 0)) {
		kev_free(e);
		return -EINVAL;
	}
	o = kevent_object(k->node, pod, reason, message, now, ++k->seq);
	e->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!e->body) {
		kev_free(e);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&k->queue, e, link);
	k->queued++;
	if (!k->req && !k->waiting)
		send_next(k);
	return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct kevent *k = arg;

	(void)fd;
	(void)what;
	k->waiting = false;
	send_next(k);
}

static void drop_head(struct kevent *k)
{
	struct kev *e = TAILQ_FIRST(&k->queue);

	TAILQ_REMOVE(&k->queue, e, link);
	k->queued--;
	kev_free(e);
}

static void retry_later(struct kevent *k)
{
	uint32_t ms = backoff_next(&k->backoff);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct kev *e = TAILQ_FIRST(&k->queue);

	k->failed_attempts++;
	if (++e->attempts >= KEVENT_ATTEMPTS) {
		LOG_WARN("kubernetes: giving up on an event for pod %s/%s: %s", e->ns, e->name,
		        k->last_error);
		k->dropped++;
		drop_head(k);
	}
	k->waiting = true;
	evtimer_add(k->retry_ev, &tv);
}

static void on_headers(void *ctx, long status)
{
	((struct kevent *)ctx)->status = status;
}

static bool on_data(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return true; /* the created object or a Status: only the code matters */
}

static void on_done(void *ctx, CURLcode code, long status, const char *msg)
{
	struct kevent *k = ctx;
	struct kev *e = TAILQ_FIRST(&k->queue);
	struct kb_err err = {0};

	k->req = NULL;
	if (code != CURLE_OK) {
		snprintf(k->last_error, sizeof(k->last_error), "POST event: %s", msg);
		retry_later(k);
		return;
	}
	if (status == 201 || status == 200 || status == 409) { /* 409: already there */
		k->posted++;
		backoff_reset(&k->backoff);
		LOG_DEBUG("kubernetes: posted an event on pod %s/%s", e->ns, e->name);
		drop_head(k);
		send_next(k);
		return;
	}
	snprintf(k->last_error, sizeof(k->last_error), "POST event on %s/%s: HTTP %ld", e->ns,
	        e->name, status);
	if (status == 401)
		kcfg_refresh_token(k->cfg, true, &err);
	if (status == 401 || status == 403 || status == 429 || status >= 500) {
		retry_later(k);
		return;
	}
	/* 400/404/422: the event or its namespace is not acceptable; retrying will not help. */
	LOG_WARN("kubernetes: %s", k->last_error);
	k->dropped++;
	drop_head(k);
	send_next(k);
}

static const struct curlev_req_ops post_ops = {
        .headers = on_headers,
        .data = on_data,
        .done = on_done,
};

static void send_next(struct kevent *k)
{
	struct kev *e = TAILQ_FIRST(&k->queue);
	struct curl_slist *headers = NULL, *h;
	struct kb_err err = {0};
	char url[1024];
	CURL *c;

	if (!e || k->req)
		return;
	k->status = 0;
	snprintf(url, sizeof(url), "%s/api/v1/namespaces/%s/events", kcfg_server(k->cfg), e->ns);
	if (!(c = curl_easy_init()))
		goto fail;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)k->opts.request_timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
	        (long)(k->opts.request_timeout_s < 10 ? k->opts.request_timeout_s : 10));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kbnet-agent");
	if (kcfg_apply(k->cfg, c, &headers, &err) < 0 ||
	        !(h = curl_slist_append(headers, "Content-Type: application/json"))) {
		snprintf(k->last_error, sizeof(k->last_error), "%s", err.msg);
		curl_slist_free_all(headers);
		curl_easy_cleanup(c);
		goto fail;
	}
	headers = h;
	if (curlev_start(k->http, c, headers, &post_ops, k, &k->req, &err) < 0) {
		snprintf(k->last_error, sizeof(k->last_error), "%s", err.msg);
		goto fail;
	}
	return;
fail:
	retry_later(k);
}

int kevent_new(struct curlev *http, struct kcfg *cfg, const struct kevent_opts *opts,
        struct kevent **ret, struct kb_err *err)
{
	struct kevent *k = calloc(1, sizeof(*k));

	if (!k)
		return kb_err_set(err, ENOMEM, "out of memory");
	if (str_copy(k->node, sizeof(k->node), opts->node) < 0) {
		free(k);
		return kb_err_set(err, EINVAL, "node name too long");
	}
	k->http = http;
	k->cfg = cfg;
	k->opts = *opts;
	k->opts.node = k->node;
	TAILQ_INIT(&k->queue);
	TAILQ_INIT(&k->recent_order);
	hmap_init(&k->recent);
	backoff_init(&k->backoff, 250, opts->backoff_max_ms);
	if (!(k->retry_ev = evtimer_new(opts->base, on_retry, k))) {
		free(k);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	*ret = k;
	return 0;
}

void kevent_free(struct kevent *k)
{
	struct dedup *d;

	if (!k)
		return;
	if (k->req)
		curlev_cancel(k->req);
	while (TAILQ_FIRST(&k->queue))
		drop_head(k);
	while ((d = TAILQ_FIRST(&k->recent_order))) {
		TAILQ_REMOVE(&k->recent_order, d, link);
		hmap_remove(&k->recent, &d->node);
		free(d);
	}
	hmap_destroy(&k->recent);
	event_free(k->retry_ev);
	free(k);
}

json_t *kevent_status(const struct kevent *k)
{
	return apimsg_kube_events_status_encode(&(struct apimsg_kube_events_status){
	        .posted = (int64_t)k->posted,
	        .queued = (int64_t)k->queued,
	        .dropped = (int64_t)k->dropped,
	        .deduplicated = (int64_t)k->deduped,
	        .failed_attempts = (int64_t)k->failed_attempts,
	        .last_error = k->last_error,
	});
}
