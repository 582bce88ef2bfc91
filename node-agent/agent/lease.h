/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent IPAM: the addresses of one allocation ("ipam": {"type": "kbnet"}). A lease belongs to
 * exactly one allocation and is persisted inside its state record, so device and addresses are
 * committed in one journal record and released together (DEL, GC, pod-watch GC, reconcile):
 * no address is ever held without its device or the reverse. Pools are per node and per
 * network name, as host-local's (an address is unique among the leases of one network).
 *
 * Held addresses are indexed by (network, address); per range a usage count and a cursor
 * (the last address handed out: the next search starts after it, so a released address is
 * not reused at once, as host-local does) live while the range has a holder.
 */
#ifndef KB_LEASE_H
#define KB_LEASE_H

#include <jansson.h>

#include "api/ipamconf.h"
#include "common/err.h"

struct lease;

/*
 * Pick one address per range set of `c` for `network` (a static request in a set is that
 * set's address) and hold them. Errors: EADDRNOTAVAIL when a set has no free address,
 * EADDRINUSE when a requested address is held by another attachment, EINVAL for a request the
 * configuration forbids (gateway, excluded, two in one set).
 */
int lease_new(
        const struct ipamconf *c, const char *network, struct lease **ret, struct kb_err *err);
/* A lease read back from the state: validated like a request, not held yet. */
int lease_from_json(json_t *o, const char *network, struct lease **ret, struct kb_err *err);
/* Hold a restored lease's addresses: EADDRINUSE when another lease holds one. */
int lease_hold(struct lease *l, struct kb_err *err);
/* {"ips": [{"address": "a/plen", "gateway"?, "range": "start-end"}], "routes"?, "dns"?} */
json_t *lease_to_json(const struct lease *l);
/* Releases the addresses when held. */
void lease_free(struct lease *l);

/* This node's name for ipam.nodeRanges: $NODE_NAME (the chart sets it from the downward
 * API, as for the kubernetes module), else the host name (kubelet's default node name). */
const char *lease_node_name(void);

/* Addresses held by all leases (tests). */
size_t lease_held_count(void);

#endif
