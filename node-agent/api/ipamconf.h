/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent-served IPAM section ("ipam": {"type": "kbnet", ...}) of a network configuration,
 * parsed and validated. Shared by kbnet-cni (refuses a bad section with code 7 before the agent
 * is asked) and kbnet-agent (checks again: the section comes from a namespaced NAD, whoever
 * sends it). host-local's keys mean the same here: `ranges` ([[{subnet, rangeStart, rangeEnd,
 * gateway}]]: one address per range set, ranges of a set tried in order), the legacy single
 * `subnet`/`rangeStart`/`rangeEnd`/`gateway`, `routes`; plus `exclude` (addresses or CIDRs never
 * handed out), `dns`, and `nodeRanges` ({"<node name>": ranges}: each node's own ranges). Static
 * requests (runtimeConfig.ips) are parsed with the section. Every count and length is bounded.
 *
 * Addresses are held as 128-bit integers (IPv4 in the low 32 bits) so range arithmetic is
 * plain integer arithmetic for both families.
 */
#ifndef KB_API_IPAMCONF_H
#define KB_API_IPAMCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define IPAMCONF_TYPE         "kbnet"
#define IPAMCONF_MAX_SETS     8  /* range sets = addresses per attachment */
#define IPAMCONF_MAX_RANGES   16 /* ranges per set */
#define IPAMCONF_MAX_ROUTES   64
#define IPAMCONF_MAX_EXCLUDE  64
#define IPAMCONF_MAX_REQUESTS IPAMCONF_MAX_SETS /* static addresses */
#define IPAMCONF_MAX_DNS      16                /* nameservers, search domains, options each */
#define IPAMCONF_MAX_STR      253               /* a domain name; any string value */
#define IPAMCONF_ADDR_STR     64                /* "addr/plen" of either family, with room */
#define IPAMCONF_MAX_NODES    1024              /* nodeRanges entries */
#define IPAMCONF_MAX_NODE     253               /* a node name */

typedef unsigned __int128 ipamconf_u128;

struct ipamconf_addr {
	int family; /* AF_INET, AF_INET6 */
	ipamconf_u128 v;
};

struct ipamconf_range {
	int family;
	ipamconf_u128 net; /* subnet address (host bits cleared) */
	unsigned plen;
	ipamconf_u128 start, end; /* inclusive */
	ipamconf_u128 gw;         /* never handed out */
};

struct ipamconf_set {
	struct ipamconf_range r[IPAMCONF_MAX_RANGES];
	size_t n;
};

struct ipamconf_route {
	int family;
	ipamconf_u128 dst;
	unsigned plen;
	bool has_gw;
	ipamconf_u128 gw;
};

struct ipamconf_cidr {
	int family;
	ipamconf_u128 first, last;
};

struct ipamconf {
	struct ipamconf_set sets[IPAMCONF_MAX_SETS];
	size_t n_sets;
	struct ipamconf_route routes[IPAMCONF_MAX_ROUTES];
	size_t n_routes;
	struct ipamconf_cidr exclude[IPAMCONF_MAX_EXCLUDE];
	size_t n_exclude;
	struct ipamconf_addr requests[IPAMCONF_MAX_REQUESTS];
	size_t n_requests;
	json_t *dns;  /* validated copy, NULL when absent */
	bool by_node; /* the sets are this node's nodeRanges entry */
};

/*
 * Parse the IPAM section `ipam` (its "type" must be "kbnet") and the static requests `ips`
 * (NULL, or an array of addresses with or without "/prefix"). `node`: the agent's node name,
 * whose `nodeRanges` entry replaces ranges/subnet; NULL (the plugin): every entry is checked.
 * Errors: EINVAL naming the key; ENODEV for what only this node's view refuses (no nodeRanges
 * entry and no ranges, a request outside this node's ranges), as the plugin cannot know it.
 */
int ipamconf_parse(
        json_t *ipam, json_t *ips, const char *node, struct ipamconf **ret, struct kb_err *err);
void ipamconf_free(struct ipamconf *c);

/* Whether the section asks for agent IPAM (a JSON object whose "type" is "kbnet"). */
bool ipamconf_is_agent(json_t *ipam);

/* An address of either family; with_plen: "addr/plen" accepted (plen returned, else -1). */
int ipamconf_addr_parse(const char *s, struct ipamconf_addr *ret, int *ret_plen);
/* "10.0.0.1" / "fd00::1"; buf holds IPAMCONF_ADDR_STR. */
void ipamconf_addr_format(const struct ipamconf_addr *a, char *buf);
/* Address bits of a family: 32 or 128. */
unsigned ipamconf_family_bits(int family);
/* Whether a lies in range r of the same family. */
bool ipamconf_range_has(const struct ipamconf_range *r, const struct ipamconf_addr *a);
/* "start-end" of a range (the key of its usage metrics); buf holds 2 * IPAMCONF_ADDR_STR. */
void ipamconf_range_format(const struct ipamconf_range *r, char *buf);
/* The JSON of a validated dns object (also used to check one read back from the state). */
int ipamconf_dns_check(json_t *dns, struct kb_err *err);

#endif
