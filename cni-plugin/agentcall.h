/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbnet-cni's calls to the node agent (node-agent/api/README.md) with the CNI error code each
 * failure maps to: transport failures (agent down, timeout) are 11 "try again later"; agent
 * replies EINVAL/ENODEV are 7, ENOSPC 100, EBUSY 101, EEXIST 102, EAGAIN 11, EADDRNOTAVAIL 104
 * (agent IPAM range exhausted), EADDRINUSE 105 (requested address held), anything else 999.
 * Each call opens its own connection bounded by the netconf's agentTimeoutMs.
 */
#ifndef KB_CNI_AGENTCALL_H
#define KB_CNI_AGENTCALL_H

#include <jansson.h>
#include <stdbool.h>

#include "netconf.h"
#include "result.h"

/* CNI code for an agent call failure (errnum positive or negative). */
int agentcall_code(int errnum, bool remote);

/* One call: *ret (if non-NULL) gets the reply's result. `args` is not stolen. */
int agentcall(
        const struct netconf *nc, const char *op, json_t *args, json_t **ret, struct cni_err *ce);

/* attach args for this ADD: attachment, network, device type, pool, deviceID, MAC, ... */
json_t *agentcall_attach_args(const struct netconf *nc, const struct cni_env *env);

/* Agent IPAM: the allocation's addresses as an IPAM result (*ret NULL when it has none).
 * Errors: 999 for a malformed object. */
struct apimsg_alloc;
int agentcall_alloc_ipam(
        const struct apimsg_alloc *alloc, struct cni_result **ret, struct cni_err *ce);

#endif
