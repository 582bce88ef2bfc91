/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pods of this node, kept current from the API server: list (fieldSelector
 * spec.nodeName=<node>, paginated), then watch from the list's resourceVersion with bookmarks;
 * a watch that ends is resumed from the last resourceVersion seen, a 410 Gone (expired
 * resourceVersion) relists, and errors (401, 403, 5xx, timeouts) are retried with backoff.
 *
 * `kwatch_synced()` is true only while the set is known to be current: after a complete list
 * and while the watch that followed is open. Callers that act on absence (garbage collection)
 * must wait for it; a stale set would miss pods created while the watch was down.
 */
#ifndef KB_KWATCH_H
#define KB_KWATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/kube/kcfg.h"
#include "common/err.h"
#include "lib/curlev/curlev.h"

struct event_base;
struct kwatch;

struct kwatch_opts {
	struct event_base *base;
	const char *node;
	unsigned request_timeout_s; /* list pages */
	unsigned watch_timeout_s;   /* asked of the server; the client allows 30 s more */
	unsigned backoff_max_ms;
	unsigned page_size;
	/* Called when the set becomes current or stops being current. */
	void (*sync_changed)(void *ctx, bool synced);
	void *ctx;
};

int kwatch_start(struct curlev *http, struct kcfg *cfg, const struct kwatch_opts *opts,
        struct kwatch **ret, struct kb_err *err);
void kwatch_stop(struct kwatch *w);

bool kwatch_synced(const struct kwatch *w);
/* The current pod set (the last complete list plus the watch events since). */
const struct kwatch_pods *kwatch_pods(const struct kwatch *w);
size_t kwatch_pod_count(const struct kwatch *w);
json_t *kwatch_status(const struct kwatch *w);

/* ---- exposed for unit tests ---- */

/* A pod set alone: apply watch events and list items to it. */
struct kwatch_pods;
struct kwatch_pods *kwatch_pods_new(void);
void kwatch_pods_free(struct kwatch_pods *p);
/* Add or update from a Pod object; -EINVAL when it lacks metadata.uid/name/namespace. */
int kwatch_pods_put(struct kwatch_pods *p, json_t *pod);
void kwatch_pods_del(struct kwatch_pods *p, json_t *pod);
bool kwatch_pods_has_uid(const struct kwatch_pods *p, const char *uid);
const char *kwatch_pods_uid_of(const struct kwatch_pods *p, const char *ns, const char *name);
size_t kwatch_pods_count(const struct kwatch_pods *p);

/* Split a watch stream into lines: feed bytes, get complete lines through `line`. Lines
 * longer than max are an error (-EMSGSIZE). */
struct kwatch_lines {
	char *buf;
	size_t len, cap, max;
};
typedef int (*kwatch_line_fn)(void *ctx, char *line, size_t len);
int kwatch_lines_feed(
        struct kwatch_lines *l, const char *data, size_t n, kwatch_line_fn fn, void *ctx);
void kwatch_lines_reset(struct kwatch_lines *l);
/* A watch stream's bytes, handed over in `chunk`-byte pieces (0: at once), through the live
 * watch's line splitting and event handling into `pods` (tests, fuzzing). 0 or the first
 * error (-EBADMSG malformed event, -EPROTO an ERROR event, -EMSGSIZE a line too long). */
int kwatch_feed_watch(struct kwatch_pods *pods, const char *data, size_t n, size_t chunk);

#endif
