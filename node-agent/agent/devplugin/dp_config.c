/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_config.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SECTION "devicePlugin"

static const char *const keys[] = {"enabled", "pluginDir", "kubeletSocket", "podResourcesSocket",
        "deviceInfoDir", "registerTimeoutMs", "checkIntervalMs", "reconcileIntervalMs",
        "gracePeriodMs", "maxConnections", "maxStreams", "maxMessageBytes", "idleTimeoutMs",
        "requestTimeoutMs", "cdi", "cdiSpecDir", NULL};

static void *parse(const struct cfg_node *n, struct kb_err *err)
{
	struct dp_config *c = calloc(1, sizeof(*c));
	char kubelet[PATH_MAX] = "";
	int r;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->enabled = true;
	str_copy(c->plugin_dir, sizeof(c->plugin_dir), DP_DEFAULT_PLUGIN_DIR);
	str_copy(c->podres_socket, sizeof(c->podres_socket), DP_DEFAULT_PODRES_SOCKET);
	str_copy(c->devinfo_dir, sizeof(c->devinfo_dir), DP_DEFAULT_DEVINFO_DIR);
	str_copy(c->cdi_spec_dir, sizeof(c->cdi_spec_dir), DP_DEFAULT_CDI_DIR);
	c->register_timeout_ms = 5000;
	c->check_interval_ms = 5000;
	c->reconcile_interval_ms = 30000;
	c->grace_period_ms = 60000;
	c->max_conns = 32;
	c->max_streams = 128;
	c->max_msg = 4 * 1024 * 1024;
	c->idle_timeout_ms = 300000;
	c->request_timeout_ms = 10000;
	if (n) {
		if ((r = cfg_map_check(n, SECTION, keys, err)) < 0)
			goto fail;
		if ((r = cfg_opt_bool(n, "enabled", &c->enabled, err)) < 0 ||
		        (r = cfg_opt_bool(n, "cdi", &c->cdi, err)) < 0 ||
		        (r = cfg_opt_path(n, "cdiSpecDir", c->cdi_spec_dir, sizeof(c->cdi_spec_dir),
		                 false, err)) < 0 ||
		        (r = cfg_opt_path(n, "pluginDir", c->plugin_dir, sizeof(c->plugin_dir),
		                 false, err)) < 0 ||
		        (r = cfg_opt_path(
		                 n, "kubeletSocket", kubelet, sizeof(kubelet), false, err)) < 0 ||
		        (r = cfg_opt_path(n, "podResourcesSocket", c->podres_socket,
		                 sizeof(c->podres_socket), false, err)) < 0 ||
		        (r = cfg_opt_path(n, "deviceInfoDir", c->devinfo_dir,
		                 sizeof(c->devinfo_dir), false, err)) < 0)
			goto fail;
		if ((r = cfg_opt_uint(n, "registerTimeoutMs", 100, 600000, &c->register_timeout_ms,
		             err)) < 0 ||
		        (r = cfg_opt_uint(n, "checkIntervalMs", 100, 3600000, &c->check_interval_ms,
		                 err)) < 0 ||
		        (r = cfg_opt_uint(n, "reconcileIntervalMs", 0, 86400000,
		                 &c->reconcile_interval_ms, err)) < 0 ||
		        (r = cfg_opt_uint(
		                 n, "gracePeriodMs", 0, 86400000, &c->grace_period_ms, err)) < 0 ||
		        (r = cfg_opt_uint(n, "maxConnections", 1, 4096, &c->max_conns, err)) < 0 ||
		        (r = cfg_opt_uint(n, "maxStreams", 1, 4096, &c->max_streams, err)) < 0 ||
		        (r = cfg_opt_uint(n, "maxMessageBytes", 1024, 64 * 1024 * 1024, &c->max_msg,
		                 err)) < 0 ||
		        (r = cfg_opt_uint(
		                 n, "idleTimeoutMs", 0, 86400000, &c->idle_timeout_ms, err)) < 0 ||
		        (r = cfg_opt_uint(n, "requestTimeoutMs", 100, 3600000,
		                 &c->request_timeout_ms, err)) < 0)
			goto fail;
	}
	if (kubelet[0])
		r = str_copy(c->kubelet_socket, sizeof(c->kubelet_socket), kubelet);
	else
		r = str_printf(c->kubelet_socket, sizeof(c->kubelet_socket), "%s/%s", c->plugin_dir,
		        DP_DEFAULT_KUBELET_SOCK);
	if (r < 0) {
		kb_err_set(err, ENAMETOOLONG, "%s: kubeletSocket: path too long", SECTION);
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

static struct cfg_section dp_section = {
        .key = SECTION,
        .parse = parse,
        .free = free,
};
CFG_SECTION_REGISTER(dp_section)

const struct dp_config *dp_config_get(const struct cfg *cfg)
{
	return cfg_section_data(cfg, SECTION);
}

bool dp_config_equal(const struct dp_config *a, const struct dp_config *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}
