/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's single control-plane event loop (libevent). Everything but the DPDK workers runs
 * here, so the control plane needs no locks. Three priorities: LOOP_PRIO_IO for API traffic,
 * LOOP_PRIO_DEFAULT for everything else, LOOP_PRIO_LATE for work that should batch what the
 * other events produced (the state commit).
 */
#ifndef KB_LOOP_H
#define KB_LOOP_H

#include <event2/event.h>

#include "common/err.h"

enum { LOOP_PRIO_IO = 0, LOOP_PRIO_DEFAULT = 1, LOOP_PRIO_LATE = 2, LOOP_NPRIO = 3 };

int loop_init(struct kb_err *err);
void loop_fini(void);
struct event_base *loop_base(void);
/* Run until loop_stop(). */
int loop_run(void);
void loop_stop(void);

/* Signal handlers run as ordinary loop events. */
typedef void (*loop_signal_fn)(int sig, void *arg);
int loop_on_signal(int sig, loop_signal_fn fn, void *arg);

#endif
