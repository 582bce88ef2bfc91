/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes Events on pods (core/v1 Event, POST /api/v1/namespaces/{ns}/events), so that
 * `kubectl describe pod` tells the user why its secondary network could not be attached.
 * Posting is asynchronous and bounded: a small queue, one request at a time, retries with
 * backoff on 401/403/429/5xx/timeouts, identical events within a window posted once.
 */
#ifndef KB_KEVENT_H
#define KB_KEVENT_H

#include <jansson.h>
#include <stdint.h>

#include "agent/kube/kcfg.h"
#include "common/err.h"
#include "lib/curlev/curlev.h"

struct event_base;
struct kevent;

#define KEVENT_QUEUE_MAX 64
#define KEVENT_ATTEMPTS  5

struct kevent_opts {
	struct event_base *base;
	const char *node;
	unsigned request_timeout_s;
	unsigned backoff_max_ms;
	unsigned dedup_s; /* identical events inside this window are posted once */
};

struct kevent_pod {
	const char *ns, *name, *uid; /* uid may be NULL */
};

int kevent_new(struct curlev *http, struct kcfg *cfg, const struct kevent_opts *opts,
        struct kevent **ret, struct kb_err *err);
void kevent_free(struct kevent *k);
/* Queue a Warning event on the pod. -ENOSPC when the queue is full, -EALREADY when the same
 * event was queued within the dedup window. */
int kevent_post(
        struct kevent *k, const struct kevent_pod *pod, const char *reason, const char *message);
json_t *kevent_status(const struct kevent *k);

/* The Event object for a pod (exposed for unit tests). `now` is the timestamp. */
json_t *kevent_object(const char *node, const struct kevent_pod *pod, const char *reason,
        const char *message, time_t now, uint64_t seq);

#endif
