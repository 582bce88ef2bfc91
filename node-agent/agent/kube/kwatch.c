/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/kube/kwatch.h"
#include "api/apimsg_status.h"
#include "common/backoff.h"
#include "common/hmap.h"
#include "common/log.h"
#include "common/str.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A node runs at most a few hundred pods; a page of them is a few MiB. */
#define LIST_BODY_MAX  (64u * 1024 * 1024)
#define WATCH_LINE_MAX (16u * 1024 * 1024)
#define ERR_BODY_MAX   (64u * 1024)
/* A watch that the server ends sooner than this, with nothing in it, is retried with backoff
 * rather than at once, so a misbehaving server cannot make us spin. */
#define WATCH_MIN_LIFE_S 1

/* ---- the pod set ---- */

struct kpod {
	struct hmap_node by_uid, by_name;
	char *uid, *ns, *name;
};

struct kwatch_pods {
	struct hmap by_uid, by_name;
};

static uint32_t name_hash(const char *ns, const char *name)
{
	return hash_str(name, hash_str(ns, 0x9e3779b9));
}

struct kwatch_pods *kwatch_pods_new(void)
{
	struct kwatch_pods *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	hmap_init(&p->by_uid);
	hmap_init(&p->by_name);
	return p;
}

static void kpod_free(struct kpod *k)
{
	free(k->uid);
	free(k->ns);
	free(k->name);
	free(k);
}

static void kpod_remove(struct kwatch_pods *p, struct kpod *k)
{
	hmap_remove(&p->by_uid, &k->by_uid);
	hmap_remove(&p->by_name, &k->by_name);
	kpod_free(k);
}

void kwatch_pods_free(struct kwatch_pods *p)
{
	struct kpod *k;

	if (!p)
		return;
	HMAP_FOR_EACH_SAFE (k, by_uid, &p->by_uid)
		kpod_remove(p, k);
	hmap_destroy(&p->by_uid);
	hmap_destroy(&p->by_name);
	free(p);
}

static struct kpod *find_uid(const struct kwatch_pods *p, const char *uid)
{
	struct kpod *k;

	HMAP_FOR_EACH_WITH_HASH (k, by_uid, hash_str(uid, 0), &p->by_uid)
		if (strcmp(k->uid, uid) == 0)
			return k;
	return NULL;
}

static struct kpod *find_name(const struct kwatch_pods *p, const char *ns, const char *name)
{
	struct kpod *k;

	HMAP_FOR_EACH_WITH_HASH (k, by_name, name_hash(ns, name), &p->by_name)
		if (strcmp(k->ns, ns) == 0 && strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int pod_meta(json_t *pod, const char **uid, const char **ns, const char **name)
{
	json_t *md = json_object_get(pod, "metadata");

	*uid = json_string_value(json_object_get(md, "uid"));
	*ns = json_string_value(json_object_get(md, "namespace"));
	*name = json_string_value(json_object_get(md, "name"));
	if (!*uid || !*ns || !*name || !**uid || !**ns || !**name)
		return -EINVAL;
	return 0;
}

int kwatch_pods_put(struct kwatch_pods *p, json_t *pod)
{
	const char *uid, *ns, *name;
	struct kpod *k, *old;

	if (pod_meta(pod, &uid, &ns, &name) < 0)
		return -EINVAL;
	if ((k = find_uid(p, uid)))
		return 0; /* a pod's namespace and name never change */
	/* Names are unique in a namespace: a new UID under a known name means the old pod is
	 * gone even if its DELETED event was never seen. */
	if ((old = find_name(p, ns, name)))
		kpod_remove(p, old);
	if (!(k = calloc(1, sizeof(*k))) || !(k->uid = strdup(uid)) || !(k->ns = strdup(ns)) ||
	        !(k->name = strdup(name))) {
		if (k)
			kpod_free(k);
		return -ENOMEM;
	}
	hmap_insert(&p->by_uid, &k->by_uid, hash_str(uid, 0));
	hmap_insert(&p->by_name, &k->by_name, name_hash(ns, name));
	return 0;
}

void kwatch_pods_del(struct kwatch_pods *p, json_t *pod)
{
	const char *uid, *ns, *name;
	struct kpod *k;

	if (pod_meta(pod, &uid, &ns, &name) < 0)
		return;
	if ((k = find_uid(p, uid)))
		kpod_remove(p, k);
}

bool kwatch_pods_has_uid(const struct kwatch_pods *p, const char *uid)
{
	return find_uid(p, uid) != NULL;
}

const char *kwatch_pods_uid_of(const struct kwatch_pods *p, const char *ns, const char *name)
{
	struct kpod *k = find_name(p, ns, name);

	return k ? k->uid : NULL;
}

size_t kwatch_pods_count(const struct kwatch_pods *p)
{
	return hmap_count(&p->by_uid);
}

/* ---- line splitting ---- */

void kwatch_lines_reset(struct kwatch_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

int kwatch_lines_feed(
        struct kwatch_lines *l, const char *data, size_t n, kwatch_line_fn fn, void *ctx)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int r;

		if (l->len + take > l->max)
			return -EMSGSIZE;
		if (l->len + take + 1 > l->cap) {
			size_t cap = l->cap ? l->cap : 4096;
			char *b;
			while (cap < l->len + take + 1)
				cap *= 2;
			if (!(b = realloc(l->buf, cap)))
				return -ENOMEM;
			l->buf = b;
			l->cap = cap;
		}
		memcpy(l->buf + l->len, data, take);
		l->len += take;
		data += take;
		n -= take;
		if (!nl)
			break;
		data++; /* the newline */
		n--;
		l->buf[l->len] = '\0';
		if (l->len && (r = fn(ctx, l->buf, l->len)) < 0) {
			l->len = 0;
			return r;
		}
		l->len = 0;
	}
	return 0;
}

/* ---- the informer ---- */

enum kw_state { KW_LISTING, KW_WATCHING, KW_WAITING };
static const char *const state_names[] = {"listing", "watching", "waiting"};

struct kwatch {
	struct curlev *http;
	struct kcfg *cfg;
	struct kwatch_opts opts;
	char node[254];
	struct kwatch_pods *pods, *listing;
	char rv[128];
	char *cont; /* continue token of a paginated list */
	enum kw_state state;
	struct curlev_req *req;
	struct event *retry_ev;
	bool retry_relist;
	struct backoff backoff;
	bool synced;
	/* the request in flight */
	char *body;
	size_t body_len;
	struct kwatch_lines lines;
	long status;
	bool want_relist; /* a 410 inside the watch stream */
	bool stream_error;
	time_t watch_started;
	unsigned conn_events;
	/* counters */
	uint64_t lists, pages, watches, events, bookmarks, relists_gone, errors;
	long last_status;
	char last_error[768];
};

static void start_list(struct kwatch *w);
static void start_watch(struct kwatch *w);

static void set_synced(struct kwatch *w, bool synced)
{
	if (w->synced == synced)
		return;
	w->synced = synced;
	if (w->opts.sync_changed)
		w->opts.sync_changed(w->opts.ctx, synced);
}

static void reset_request(struct kwatch *w)
{
	free(w->body);
	w->body = NULL;
	w->body_len = 0;
	kwatch_lines_reset(&w->lines);
	w->status = 0;
	w->want_relist = false;
	w->stream_error = false;
	w->req = NULL;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct kwatch *w = arg;

	(void)fd;
	(void)what;
	if (w->retry_relist || !w->rv[0])
		start_list(w);
	else
		start_watch(w);
}

static void schedule(struct kwatch *w, bool relist, uint32_t ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	w->state = KW_WAITING;
	w->retry_relist = relist;
	evtimer_add(w->retry_ev, &tv);
}

/* Something failed: say why, stop trusting the set, retry later. */
static void fail(struct kwatch *w, bool relist, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void fail(struct kwatch *w, bool relist, const char *fmt, ...)
{
	uint32_t ms = backoff_next(&w->backoff);
	char msg[sizeof(w->last_error)];
	va_list ap;

	/* Through a copy: callers may pass last_error itself as an argument. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(w->last_error, msg, sizeof(msg));
	w->errors++;
	/* First failures are common (API server restart); say it loudly only when it lasts. */
	if (w->backoff.failures <= 1 || w->backoff.failures % 10 == 0)
		LOG_WARN("kubernetes: %s; retrying in %u ms", w->last_error, ms);
	else
		LOG_DEBUG("kubernetes: %s; retrying in %u ms", w->last_error, ms);
	set_synced(w, false);
	schedule(w, relist, ms);
}

static int append_body(struct kwatch *w, const char *buf, size_t n, size_t max)
{
	char *b;

	if (w->body_len + n > max)
		return -EMSGSIZE;
	if (!(b = realloc(w->body, w->body_len + n + 1)))
		return -ENOMEM;
	memcpy(b + w->body_len, buf, n);
	w->body = b;
	w->body_len += n;
	w->body[w->body_len] = '\0';
	return 0;
}

/* The message of a Status object in an error body, for logs. */
static void status_message(const char *body, char *buf, size_t size)
{
	json_t *st = body ? json_loads(body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(st, "message"));
	const char *reason = json_string_value(json_object_get(st, "reason"));

	snprintf(buf, size, "%s%s%s", reason ? reason : "", reason && msg ? ": " : "",
	        msg ? msg : "");
	json_decref(st);
}

/* Handle an HTTP-level failure of a list or watch. */
static void http_failure(struct kwatch *w, const char *what, CURLcode code, long status,
        const char *msg, bool relist)
{
	char smsg[200];
	struct kb_err err = {0};

	w->last_status = status;
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && status >= 300)) {
		fail(w, relist, "%s: %s", what, msg);
		return;
	}
	status_message(w->body, smsg, sizeof(smsg));
	/* 401: the token may have been rotated under us: read it again before retrying. */
	if (status == 401 && kcfg_refresh_token(w->cfg, true, &err) < 0)
		LOG_WARN("kubernetes: %s", err.msg);
	fail(w, relist, "%s: HTTP %ld%s%s", what, status, smsg[0] ? ": " : "", smsg);
}

static CURL *new_easy(
        struct kwatch *w, const char *url, long timeout_s, struct curl_slist **headers)
{
	struct kb_err err = {0};
	CURL *e = curl_easy_init();

	*headers = NULL;
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kbnet-agent");
	if (kcfg_apply(w->cfg, e, headers, &err) < 0) {
		snprintf(w->last_error, sizeof(w->last_error), "%s", err.msg);
		curl_slist_free_all(*headers);
		curl_easy_cleanup(e);
		*headers = NULL;
		return NULL;
	}
	return e;
}

static int base_url(struct kwatch *w, char *buf, size_t size)
{
	char sel[300];
	char *esc;
	int r;

	snprintf(sel, sizeof(sel), "spec.nodeName=%s", w->node);
	if (!(esc = curl_easy_escape(NULL, sel, 0)))
		return -ENOMEM;
	r = str_printf(buf, size, "%s/api/v1/pods?fieldSelector=%s", kcfg_server(w->cfg), esc);
	curl_free(esc);
	return r;
}

/* ---- list ---- */

static bool list_data(void *ctx, const char *buf, size_t len)
{
	struct kwatch *w = ctx;

	return append_body(w, buf, len, w->status == 200 ? LIST_BODY_MAX : ERR_BODY_MAX) == 0;
}

static void list_headers(void *ctx, long status)
{
	((struct kwatch *)ctx)->status = status;
}

static void list_done(void *ctx, CURLcode code, long status, const char *msg)
{
	struct kwatch *w = ctx;
	json_t *doc, *items, *item, *md;
	const char *rv, *cont;
	size_t i;

	w->req = NULL;
	if (code != CURLE_OK || status != 200) {
		/* An expired continue token: start the list over. */
		bool gone = status == 410 && w->cont;
		if (gone) {
			free(w->cont);
			w->cont = NULL;
			kwatch_pods_free(w->listing);
			w->listing = NULL;
		}
		http_failure(w, "list pods", code, status, msg, true);
		reset_request(w);
		return;
	}
	doc = json_loadb(w->body ? w->body : "", w->body_len, 0, NULL);
	reset_request(w);
	items = json_object_get(doc, "items");
	md = json_object_get(doc, "metadata");
	if (!json_is_object(doc) || !json_is_array(items) || !json_is_object(md)) {
		json_decref(doc);
		fail(w, true, "list pods: the answer is not a PodList");
		return;
	}
	w->pages++;
	json_array_foreach (items, i, item)
		if (kwatch_pods_put(w->listing, item) == -ENOMEM) {
			json_decref(doc);
			fail(w, true, "list pods: out of memory");
			return;
		}
	cont = json_string_value(json_object_get(md, "continue"));
	rv = json_string_value(json_object_get(md, "resourceVersion"));
	free(w->cont);
	w->cont = NULL;
	if (cont && *cont) {
		if (!(w->cont = strdup(cont))) {
			json_decref(doc);
			fail(w, true, "list pods: out of memory");
			return;
		}
		json_decref(doc);
		start_list(w);
		return;
	}
	if (!rv || !*rv || strlen(rv) >= sizeof(w->rv)) {
		json_decref(doc);
		fail(w, true, "list pods: no usable resourceVersion in the answer");
		return;
	}
	strcpy(w->rv, rv);
	json_decref(doc);
	kwatch_pods_free(w->pods);
	w->pods = w->listing;
	w->listing = NULL;
	w->lists++;
	backoff_reset(&w->backoff);
	LOG_INFO("kubernetes: %zu pods on node %s at resourceVersion %s",
	        kwatch_pods_count(w->pods), w->node, w->rv);
	set_synced(w, true);
	start_watch(w);
}

static const struct curlev_req_ops list_ops = {
        .headers = list_headers,
        .data = list_data,
        .done = list_done,
};

static void start_list(struct kwatch *w)
{
	char url[8192];
	struct curl_slist *headers;
	struct kb_err err = {0};
	size_t n;
	CURL *e;

	w->state = KW_LISTING;
	reset_request(w);
	if (!w->cont) {
		kwatch_pods_free(w->listing);
		if (!(w->listing = kwatch_pods_new())) {
			fail(w, true, "list pods: out of memory");
			return;
		}
	}
	if (base_url(w, url, sizeof(url)) < 0) {
		fail(w, true, "list pods: URL too long");
		return;
	}
	n = strlen(url);
	snprintf(url + n, sizeof(url) - n, "&limit=%u", w->opts.page_size);
	if (w->cont) {
		char *esc = curl_easy_escape(NULL, w->cont, 0);
		n = strlen(url);
		if (!esc || str_printf(url + n, sizeof(url) - n, "&continue=%s", esc) < 0) {
			curl_free(esc);
			free(w->cont);
			w->cont = NULL;
			fail(w, true, "list pods: continue token too long");
			return;
		}
		curl_free(esc);
	}
	if (!(e = new_easy(w, url, w->opts.request_timeout_s, &headers))) {
		fail(w, true, "list pods: %s", w->last_error[0] ? w->last_error : "out of memory");
		return;
	}
	/* Lists can be large: let the server compress them. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (curlev_start(w->http, e, headers, &list_ops, w, &w->req, &err) < 0)
		fail(w, true, "list pods: %s", err.msg);
}

/* ---- watch ---- */

static void watch_headers(void *ctx, long status)
{
	struct kwatch *w = ctx;

	w->status = status;
	if (status != 200)
		return;
	/* The watch is open: from here on every change reaches us in order. */
	w->watches++;
	w->watch_started = time(NULL);
	w->conn_events = 0;
	set_synced(w, true);
}

static int watch_line(void *ctx, char *line, size_t len)
{
	struct kwatch *w = ctx;
	json_t *ev = json_loadb(line, len, 0, NULL), *obj;
	const char *type, *rv;
	int r = 0;

	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj)) {
		snprintf(w->last_error, sizeof(w->last_error), "watch: malformed event");
		json_decref(ev);
		return -EBADMSG;
	}
	w->events++;
	w->conn_events++;
	if (strcmp(type, "ERROR") == 0) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));
		snprintf(w->last_error, sizeof(w->last_error), "watch: ERROR %lld: %s",
		        (long long)code, msg ? msg : "");
		w->last_status = (long)code;
		/* 410 Gone: our resourceVersion is too old to resume from. */
		if (code == 410)
			w->want_relist = true;
		else
			w->stream_error = true;
		json_decref(ev);
		return -EPROTO;
	}
	rv = json_string_value(
	        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		r = kwatch_pods_put(w->pods, obj);
		if (r == -EINVAL)
			r = 0; /* not a pod we can track; nothing to do */
	} else if (strcmp(type, "DELETED") == 0) {
		kwatch_pods_del(w->pods, obj);
	} else if (strcmp(type, "BOOKMARK") == 0) {
		w->bookmarks++;
	} else {
		LOG_DEBUG("kubernetes: ignoring watch event of type %s", type);
	}
	if (rv && *rv && strlen(rv) < sizeof(w->rv))
		strcpy(w->rv, rv);
	json_decref(ev);
	return r;
}

int kwatch_feed_watch(struct kwatch_pods *pods, const char *data, size_t n, size_t chunk)
{
	struct kwatch w = {.pods = pods, .lines = {.max = WATCH_LINE_MAX}};
	int r = 0;

	for (size_t off = 0; off < n && r == 0; off += chunk ? chunk : n)
		r = kwatch_lines_feed(&w.lines, data + off,
		        chunk && chunk < n - off ? chunk : n - off, watch_line, &w);
	kwatch_lines_reset(&w.lines);
	return r;
}

static bool watch_data(void *ctx, const char *buf, size_t len)
{
	struct kwatch *w = ctx;
	int r;

	if (w->status != 200)
		return append_body(w, buf, len, ERR_BODY_MAX) == 0;
	r = kwatch_lines_feed(&w->lines, buf, len, watch_line, w);
	if (r == -EMSGSIZE)
		snprintf(w->last_error, sizeof(w->last_error), "watch: event over %u bytes",
		        WATCH_LINE_MAX);
	if (r < 0)
		w->stream_error = w->stream_error || !w->want_relist;
	return r == 0;
}

static void watch_done(void *ctx, CURLcode code, long status, const char *msg)
{
	struct kwatch *w = ctx;
	time_t lived = time(NULL) - w->watch_started;
	bool relist = w->want_relist, stream_error = w->stream_error;
	char why[sizeof(w->last_error)];

	w->req = NULL;
	if (relist) {
		/* Expected now and then (etcd compaction): relist at once, no backoff. */
		reset_request(w);
		w->relists_gone++;
		LOG_INFO("kubernetes: resourceVersion %s expired (410 Gone), listing again", w->rv);
		w->rv[0] = '\0';
		set_synced(w, false);
		start_list(w);
		return;
	}
	if (stream_error) {
		snprintf(why, sizeof(why), "%s", w->last_error);
		reset_request(w);
		fail(w, false, "%s", why);
		return;
	}
	if (status == 410) {
		reset_request(w);
		w->relists_gone++;
		w->rv[0] = '\0';
		set_synced(w, false);
		start_list(w);
		return;
	}
	if (code != CURLE_OK || status != 200) {
		http_failure(w, "watch pods", code, status, msg, false);
		reset_request(w);
		return;
	}
	/* The server ended the watch (its timeoutSeconds): resume from where we are. */
	reset_request(w);
	if (lived < WATCH_MIN_LIFE_S && w->conn_events == 0) {
		fail(w, false, "watch pods: the server closed the watch at once");
		return;
	}
	backoff_reset(&w->backoff);
	start_watch(w);
}

static const struct curlev_req_ops watch_ops = {
        .headers = watch_headers,
        .data = watch_data,
        .done = watch_done,
};

static void start_watch(struct kwatch *w)
{
	char url[8192], *esc;
	struct curl_slist *headers;
	struct kb_err err = {0};
	size_t n;
	CURL *e;

	w->state = KW_WATCHING;
	reset_request(w);
	w->lines.max = WATCH_LINE_MAX;
	if (base_url(w, url, sizeof(url)) < 0 || !(esc = curl_easy_escape(NULL, w->rv, 0))) {
		fail(w, true, "watch pods: URL too long");
		return;
	}
	n = strlen(url);
	snprintf(url + n, sizeof(url) - n,
	        "&watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u", esc,
	        w->opts.watch_timeout_s);
	curl_free(esc);
	if (!(e = new_easy(w, url, w->opts.watch_timeout_s + 30, &headers))) {
		fail(w, false, "watch pods: %s",
		        w->last_error[0] ? w->last_error : "out of memory");
		return;
	}
	w->watch_started = time(NULL);
	if (curlev_start(w->http, e, headers, &watch_ops, w, &w->req, &err) < 0)
		fail(w, false, "watch pods: %s", err.msg);
}

/* ---- public ---- */

int kwatch_start(struct curlev *http, struct kcfg *cfg, const struct kwatch_opts *opts,
        struct kwatch **ret, struct kb_err *err)
{
	struct kwatch *w = calloc(1, sizeof(*w));

	if (!w)
		return kb_err_set(err, ENOMEM, "out of memory");
	if (str_copy(w->node, sizeof(w->node), opts->node) < 0) {
		free(w);
		return kb_err_set(err, EINVAL, "node name too long");
	}
	w->http = http;
	w->cfg = cfg;
	w->opts = *opts;
	w->opts.node = w->node;
	if (!w->opts.page_size)
		w->opts.page_size = 500;
	w->lines.max = WATCH_LINE_MAX;
	backoff_init(&w->backoff, 250, opts->backoff_max_ms);
	if (!(w->pods = kwatch_pods_new()) ||
	        !(w->retry_ev = evtimer_new(opts->base, on_retry, w))) {
		kwatch_pods_free(w->pods);
		free(w);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	start_list(w);
	*ret = w;
	return 0;
}

void kwatch_stop(struct kwatch *w)
{
	if (!w)
		return;
	if (w->req)
		curlev_cancel(w->req);
	w->req = NULL;
	reset_request(w);
	event_free(w->retry_ev);
	kwatch_pods_free(w->pods);
	kwatch_pods_free(w->listing);
	free(w->cont);
	free(w);
}

bool kwatch_synced(const struct kwatch *w)
{
	return w->synced;
}

const struct kwatch_pods *kwatch_pods(const struct kwatch *w)
{
	return w->pods;
}

size_t kwatch_pod_count(const struct kwatch *w)
{
	return kwatch_pods_count(w->pods);
}

json_t *kwatch_status(const struct kwatch *w)
{
	return apimsg_kube_watch_status_encode(&(struct apimsg_kube_watch_status){
	        .synced = w->synced,
	        .state = state_names[w->state],
	        .pods = (int64_t)kwatch_pods_count(w->pods),
	        .resource_version = w->rv,
	        .lists = (int64_t)w->lists,
	        .list_pages = (int64_t)w->pages,
	        .watches = (int64_t)w->watches,
	        .watch_events = (int64_t)w->events,
	        .bookmarks = (int64_t)w->bookmarks,
	        .relists_gone = (int64_t)w->relists_gone,
	        .errors = (int64_t)w->errors,
	        .last_status = (int64_t)w->last_status,
	        .last_error = w->last_error,
	});
}
