/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration with kubelet, and staying registered: kubelet forgets plugins when it restarts
 * (it empties the plugin directory, our sockets included, and serves a new kubelet.sock). An
 * inotify watch on the directory notices both at once; a periodic check catches what inotify
 * cannot (the directory itself re-created, a missed event). Our sockets are re-created and
 * Register is called again without the agent restarting; the devices stay advertised on the
 * ListAndWatch streams the whole time, never as an empty list.
 */
#ifndef KB_DP_REGISTER_H
#define KB_DP_REGISTER_H

#include <stdbool.h>

#include "agent/devplugin/dp_config.h"
#include "common/err.h"

/* Register retries: 0.5 s doubling to 30 s, with jitter (common/backoff). */
#define DP_REG_BACKOFF_MIN_MS 500
#define DP_REG_BACKOFF_MAX_MS 30000

struct dp_plugin;

int dp_register_init(const struct dp_config *cfg, struct kb_err *err);
void dp_register_fini(void);
/* Register now (cancelling a call in flight or a pending retry). */
void dp_register_plugin(struct dp_plugin *pl);
/* The last ListAndWatch stream closed while registered. */
void dp_register_stream_lost(struct dp_plugin *pl);
/* The plugin goes away: cancel its call and timers. */
void dp_register_forget(struct dp_plugin *pl);
/* Whether kubelet's registration socket exists now. */
bool dp_register_kubelet_present(void);

#endif
