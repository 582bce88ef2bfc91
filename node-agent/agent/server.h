/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API server: framed JSON over the agent's Unix socket (node-agent/api/README.md).
 * Modules register their operations with SRV_HANDLER_REGISTER. Replies to requests that
 * changed state are held until the change is durable (group commit at low loop priority).
 */
#ifndef KB_SERVER_H
#define KB_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/queue.h"
#include <sys/types.h>

#include "agent/config.h"
#include "common/err.h"

struct srv_call {
	uid_t uid;
	pid_t pid;
	const char *op;
	struct kb_err err;
};

/* Return 0 with *ret set (may stay NULL: empty result), or -errno with call->err set. */
typedef int (*srv_handler_fn)(struct srv_call *call, json_t *args, json_t **ret);

struct srv_handler {
	const char *op;
	bool needs_root; /* changes something: uid 0 peers only */
	srv_handler_fn fn;
	STAILQ_ENTRY(srv_handler) next;
};

void srv_handler_register(struct srv_handler *h);
#define SRV_HANDLER_REGISTER(h)                                         \
	static void __attribute__((constructor)) srv_register_##h(void) \
	{                                                               \
		srv_handler_register(&(h));                             \
	}

/* Request accounting for metrics: op, 0 or errno, duration. */
struct srv_observer {
	void (*request_done)(const char *op, int errnum, uint64_t usec);
	STAILQ_ENTRY(srv_observer) next;
};
void srv_observer_register(struct srv_observer *obs);

/* Where durable changes go (the state journal). */
struct srv_persist {
	bool (*pending)(void *ctx);
	uint64_t (*seq)(void *ctx);
	int (*commit)(void *ctx, struct kb_err *err);
	void *ctx;
};

int srv_start(const struct cfg_core *core, const struct srv_persist *persist, struct kb_err *err);
void srv_stop(void);
/* Changes made outside a request (reconcile, GC): commit them soon. */
void srv_commit_soon(void);
json_t *srv_status(void);

/* Dispatch one decoded request as the server does (used by tests and in-process callers).
 * *changed is true when the reply must wait until pending state changes are durable: the
 * request changed state, or it is a changing operation whose answer reports state. */
json_t *srv_dispatch(json_t *req, uid_t uid, pid_t pid, bool *changed);

#endif
