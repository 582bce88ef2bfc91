/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last ADD result of each attachment, kept under <cacheDir>/<network>/<cid>:<ifname>.json.
 * It makes a repeated ADD return the same result although IPAM plugins such as host-local
 * refuse a second allocation for the same attachment, and lets GC find IPAM leases of
 * attachments the agent no longer knows. It is a cache: written without fsync, and losing it
 * only costs that idempotency.
 */
#ifndef KB_CNI_RESCACHE_H
#define KB_CNI_RESCACHE_H

#include <jansson.h>

#include "common/err.h"
#include "result.h"

#define RESCACHE_MAX_FILE (1024 * 1024)

/*
 * Store r (in 1.1.0 form) with the ipam section and the IPAM plugin's own result (`ipres`, the
 * part of r that is ours to configure: r also carries prevResult's interfaces and routes).
 */
int rescache_store(const char *dir, const char *network, const char *cid, const char *ifname,
        json_t *ipam, const struct cni_result *r, const struct cni_result *ipres,
        struct kb_err *err);
/*
 * Both results if they were made with the same ipam section; -ENOENT when there is none or it
 * does not match (a damaged entry counts as none).
 */
int rescache_load(const char *dir, const char *network, const char *cid, const char *ifname,
        json_t *ipam, struct cni_result **ret, struct cni_result **ret_ipres, struct kb_err *err);
/* Remove the entry; missing is fine. */
int rescache_remove(const char *dir, const char *network, const char *cid, const char *ifname,
        struct kb_err *err);

/* Call fn for each entry of the network (names validated); stops at fn's first error. */
typedef int (*rescache_fn)(const char *cid, const char *ifname, void *arg);
int rescache_foreach (
        const char *dir, const char *network, rescache_fn fn, void *arg, struct kb_err * err);

#endif
