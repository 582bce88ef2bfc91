/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/sriovcfg.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct sriovcfg defaults = {
        .pf_netlink = "kernel",
        .rescan_interval_ms = 30000,
        .watch = true,
        .debounce_ms = 200,
};

static void *section_parse(const struct cfg_node *node, struct kb_err *err)
{
	static const char *const keys[] = {
	        "pfNetlink", "rescanIntervalMs", "watch", "watchDebounceMs", NULL};
	struct sriovcfg *c = malloc(sizeof(*c));
	const char *why;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	*c = defaults;
	if (!node)
		return c;
	if (cfg_map_check(node, "sriov", keys, err) < 0)
		goto fail;
	if (cfg_opt_str(node, "pfNetlink", c->pf_netlink, sizeof(c->pf_netlink), err) < 0)
		goto fail;
	if (strcmp(c->pf_netlink, "kernel") &&
	        !(str_has_prefix(c->pf_netlink, "unix:") && val_abs_path(c->pf_netlink + 5, &why) &&
	                strlen(c->pf_netlink + 5) < 108)) {
		struct cfg_node k;
		cfg_map_get(node, "pfNetlink", &k);
		cfg_node_error(&k, "pfNetlink", err,
		        "must be kernel or unix:<absolute socket path of at most 107 bytes>");
		goto fail;
	}
	if (cfg_opt_uint(node, "rescanIntervalMs", 0, 86400000, &c->rescan_interval_ms, err) < 0)
		goto fail;
	if (c->rescan_interval_ms && c->rescan_interval_ms < 100) {
		struct cfg_node k;
		cfg_map_get(node, "rescanIntervalMs", &k);
		cfg_node_error(&k, "rescanIntervalMs", err, "must be 0 (off) or at least 100");
		goto fail;
	}
	if (cfg_opt_bool(node, "watch", &c->watch, err) < 0 ||
	        cfg_opt_uint(node, "watchDebounceMs", 10, 60000, &c->debounce_ms, err) < 0)
		goto fail;
	return c;
fail:
	free(c);
	return NULL;
}

static struct cfg_section sriov_section = {
        .key = "sriov",
        .parse = section_parse,
        .free = free,
};
CFG_SECTION_REGISTER(sriov_section)

const struct sriovcfg *sriovcfg_get(const struct cfg *cfg)
{
	const struct sriovcfg *c = cfg ? cfg_section_data(cfg, "sriov") : NULL;

	return c ? c : &defaults;
}
