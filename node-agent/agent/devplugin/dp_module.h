/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device-plugin module: one plugin per pool with devicePlugin: true, kept in step with
 * the inventory (pools added, removed, reconfigured) and the "devicePlugin" configuration.
 * Internal interface for the module's own files.
 */
#ifndef KB_DP_MODULE_H
#define KB_DP_MODULE_H

#include "agent/devplugin/dp_config.h"
#include "agent/devplugin/dp_plugin.h"

/* The running configuration (a copy; valid while the module is active). */
const struct dp_config *dp_cfg(void);
struct dp_plugin *dp_plugin_first(void);
struct dp_plugin *dp_plugin_next(struct dp_plugin *pl);
struct dp_plugin *dp_plugin_of(const struct pool *p);

#endif
