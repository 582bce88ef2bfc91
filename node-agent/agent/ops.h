/* SPDX-License-Identifier: Apache-2.0 */
/* Core API operations: attach, detach, check, gc, status, list. */
#ifndef KB_OPS_H
#define KB_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include "common/queue.h"

#include "agent/config.h"
#include "api/api.h"
#include "agent/state.h"

#define KBNET_VERSION API_KBNET_RELEASE

/* Modules add an object to `status` under `key`; a "healthy": false in it makes the agent
 * report itself unhealthy. */
struct status_hook {
	const char *key;
	json_t *(*fn)(void);
	STAILQ_ENTRY(status_hook) next;
};
void ops_status_hook_register(struct status_hook *h);
#define STATUS_HOOK_REGISTER(h)                                            \
	static void __attribute__((constructor)) status_register_##h(void) \
	{                                                                  \
		ops_status_hook_register(&(h));                            \
	}

void ops_init(const struct cfg *cfg, struct state *st);
/* The full status object (also served by /healthz in the metrics module). */
json_t *ops_status(void);

#endif
