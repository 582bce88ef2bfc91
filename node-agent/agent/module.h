/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Optional agent modules (fast path, device plugins, metrics, Kubernetes client) register
 * themselves; main() initialises them in `order` after the core (inventory, allocations,
 * API server) and finalises them in reverse.
 */
#ifndef KB_MODULE_H
#define KB_MODULE_H

#include "common/queue.h"

#include "agent/config.h"
#include "common/err.h"

struct agent_module {
	const char *name;
	int order; /* lower first */
	int (*init)(const struct cfg *cfg, struct kb_err *err);
	/* New configuration (SIGHUP); NULL: nothing to do. */
	int (*reload)(const struct cfg *cfg, struct kb_err *err);
	void (*fini)(void);
	/* Set by modules_init. */
	int initialised;
	STAILQ_ENTRY(agent_module) next;
};

void module_register(struct agent_module *m);
#define MODULE_REGISTER(m)                                                 \
	static void __attribute__((constructor)) module_register_##m(void) \
	{                                                                  \
		module_register(&(m));                                     \
	}

int modules_init(const struct cfg *cfg, struct kb_err *err);
int modules_reload(const struct cfg *cfg, struct kb_err *err);
void modules_fini(void);

#endif
