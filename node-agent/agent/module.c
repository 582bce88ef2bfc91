/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/module.h"

#include <errno.h>

static STAILQ_HEAD(, agent_module) modules = STAILQ_HEAD_INITIALIZER(modules);

void module_register(struct agent_module *m)
{
	struct agent_module *it, *prev = NULL;

	/* Keep the list sorted by order. */
	STAILQ_FOREACH (it, &modules, next) {
		if (it->order > m->order)
			break;
		prev = it;
	}
	if (prev)
		STAILQ_INSERT_AFTER(&modules, prev, m, next);
	else
		STAILQ_INSERT_HEAD(&modules, m, next);
}

int modules_init(const struct cfg *cfg, struct kb_err *err)
{
	struct agent_module *m;
	int r;

	STAILQ_FOREACH (m, &modules, next) {
		if (m->init && (r = m->init(cfg, err)) < 0) {
			kb_err_prefix(err, "%s", m->name);
			modules_fini();
			return r;
		}
		m->initialised = 1;
	}
	return 0;
}

int modules_reload(const struct cfg *cfg, struct kb_err *err)
{
	struct agent_module *m;
	int r, ret = 0;

	STAILQ_FOREACH (m, &modules, next) {
		if (m->initialised && m->reload && (r = m->reload(cfg, err)) < 0) {
			kb_err_prefix(err, "%s", m->name);
			ret = r;
		}
	}
	return ret;
}

void modules_fini(void)
{
	struct agent_module *done[64], *m;
	unsigned n = 0;

	STAILQ_FOREACH (m, &modules, next)
		if (m->initialised && n < 64)
			done[n++] = m;
	while (n--) {
		if (done[n]->fini)
			done[n]->fini();
		done[n]->initialised = 0;
	}
}
