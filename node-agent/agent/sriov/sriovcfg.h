/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "sriov" configuration section, shared by the sriov-vf and vdpa device types:
 *   sriov:
 *     pfNetlink: kernel         # where VF settings go: "kernel" (rtnetlink), or
 *                               # "unix:<path>" = a PF stand-in speaking the same netlink
 *                               # messages on a SOCK_SEQPACKET socket (tests)
 *     rescanIntervalMs: 30000   # periodic rediscovery; 0 disables
 *     watch: true               # rediscover on uevents and inotify events under sysfsRoot
 *     watchDebounceMs: 200      # one rediscovery per burst of events
 */
#ifndef KB_SRIOVCFG_H
#define KB_SRIOVCFG_H

#include <limits.h>
#include <stdbool.h>

#include "agent/config.h"

struct sriovcfg {
	char pf_netlink[PATH_MAX + 8];
	unsigned rescan_interval_ms;
	bool watch;
	unsigned debounce_ms;
};

/* The section of cfg, or the defaults when cfg is NULL. Never NULL. */
const struct sriovcfg *sriovcfg_get(const struct cfg *cfg);

#endif
