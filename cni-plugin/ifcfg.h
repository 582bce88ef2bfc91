/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP configuration of a kernel interface inside a pod's network namespace, for device types
 * whose allocation moved a netdev into it ("netdev": true): the IPAM addresses and routes of
 * a result, applied over rtnetlink (libmnl). The netlink socket is created inside the
 * namespace (setns there and straight back), so nothing else runs in the pod's namespace.
 * Applying is idempotent (replace semantics).
 */
#ifndef KB_CNI_IFCFG_H
#define KB_CNI_IFCFG_H

#include "common/err.h"
#include "result.h"

/*
 * Add r's ips whose interface is `iface` (or that name no interface) to `ifname` in the
 * namespace at `netns`, set it up, then add r's routes through it. A route without "gw" uses
 * the gateway of an address of its family, as the reference plugins do.
 */
int ifcfg_apply(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err);
/* Check that `ifname` exists, is up and holds those addresses (-EIO naming what is wrong). */
int ifcfg_check(const char *netns, const char *ifname, const struct cni_result *r, int iface,
        struct kb_err *err);

#endif
