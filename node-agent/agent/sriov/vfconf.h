/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VF settings as the CNI plugin passes them (the attach `config` object, with sriov-cni's key
 * names: vlanQoS, vlanProto, spoofchk, trust, link_state, min_tx_rate, max_tx_rate; `vlan` and
 * `mac` are top-level attach arguments), validated into a struct vf_state, and the JSON form
 * of a struct vf_state used in allocations, the persisted state and `agentctl devices`.
 */
#ifndef KB_VFCONF_H
#define KB_VFCONF_H

#include <jansson.h>

#include "agent/sriov/vfnl.h"
#include "common/err.h"
#include "common/mac.h"

/* Upper bound for rates (Mbit/s): 10 Tbit/s is far beyond any NIC. */
#define VFCONF_RATE_MAX 10000000u

/*
 * Build the wanted settings from the request. mac may be NULL, vlan -1 when not requested,
 * config NULL. Semantics follow sriov-cni: vlanQoS and vlanProto need vlan; a non-zero QoS or
 * 802.1ad needs a non-zero vlan; min_tx_rate must not exceed a non-zero max_tx_rate. A rate
 * half that is not given keeps the VF's current value (filled in later by the caller).
 * *ret_rate_given gets bit 0 for min, bit 1 for max.
 */
int vfconf_parse(json_t *config, const struct mac *mac, int vlan, struct vf_state *ret,
        unsigned *ret_rate_given, struct kb_err *err);

/* {"mac", "vlan", "vlanQoS", "vlanProto", "spoofchk", "trust", "link_state", "min_tx_rate",
 * "max_tx_rate"}: only the members in st->mask. */
json_t *vfconf_to_json(const struct vf_state *st);
/* Strict inverse of vfconf_to_json (persisted state). */
int vfconf_from_json(json_t *obj, struct vf_state *ret, struct kb_err *err);

const char *vfconf_link_state_name(uint32_t s); /* "auto", "enable", "disable", "?" */
const char *vfconf_proto_name(uint16_t proto);  /* "802.1q", "802.1ad" */

#endif
