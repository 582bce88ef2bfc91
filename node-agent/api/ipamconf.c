/* SPDX-License-Identifier: Apache-2.0 */
#include "api/ipamconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned ipamconf_family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static ipamconf_u128 host_mask(int family, unsigned plen)
{
	unsigned bits = ipamconf_family_bits(family) - plen;

	if (bits >= 128)
		return ~(ipamconf_u128)0;
	return ((ipamconf_u128)1 << bits) - 1;
}

int ipamconf_addr_parse(const char *s, struct ipamconf_addr *ret, int *ret_plen)
{
	char buf[IPAMCONF_ADDR_STR];
	unsigned char b[16];
	const char *slash;
	struct ipamconf_addr a = {0};
	int plen = -1;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/'))) {
		char *end;
		long n;
		if (!ret_plen || !slash[1] || slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		n = strtol(slash + 1, &end, 10);
		if (*end || n < 0 || n > 128 || (slash[1] == '0' && slash[2]))
			return -EINVAL;
		plen = (int)n;
		buf[slash - buf] = '\0';
	}
	if (inet_pton(AF_INET, buf, b) == 1) {
		a.family = AF_INET;
		for (int i = 0; i < 4; i++)
			a.v = a.v << 8 | b[i];
	} else if (inet_pton(AF_INET6, buf, b) == 1) {
		a.family = AF_INET6;
		for (int i = 0; i < 16; i++)
			a.v = a.v << 8 | b[i];
	} else {
		return -EINVAL;
	}
	if (plen > (int)ipamconf_family_bits(a.family))
		return -EINVAL;
	*ret = a;
	if (ret_plen)
		*ret_plen = plen;
	return 0;
}

void ipamconf_addr_format(const struct ipamconf_addr *a, char *buf)
{
	unsigned char b[16];
	int n = a->family == AF_INET ? 4 : 16;
	ipamconf_u128 v = a->v;

	for (int i = n - 1; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)v;
	if (!inet_ntop(a->family, b, buf, IPAMCONF_ADDR_STR))
		strcpy(buf, "?");
}

bool ipamconf_range_has(const struct ipamconf_range *r, const struct ipamconf_addr *a)
{
	return a->family == r->family && a->v >= r->start && a->v <= r->end;
}

void ipamconf_range_format(const struct ipamconf_range *r, char *buf)
{
	char s[IPAMCONF_ADDR_STR], e[IPAMCONF_ADDR_STR];

	ipamconf_addr_format(&(struct ipamconf_addr){r->family, r->start}, s);
	ipamconf_addr_format(&(struct ipamconf_addr){r->family, r->end}, e);
	snprintf(buf, 2 * IPAMCONF_ADDR_STR, "%s-%s", s, e);
}

bool ipamconf_is_agent(json_t *ipam)
{
	const char *t = json_string_value(json_object_get(ipam, "type"));

	return json_is_object(ipam) && t && strcmp(t, IPAMCONF_TYPE) == 0;
}

/* An optional address-valued string key: -ENOENT when absent. */
static int opt_addr(json_t *o, const char *key, const char *where, struct ipamconf_addr *ret,
        struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return -ENOENT;
	if (!json_is_string(v) || ipamconf_addr_parse(json_string_value(v), ret, NULL) < 0)
		return kb_err_set(err, EINVAL, "ipam.%s%s must be an IP address", where, key);
	return 0;
}

static int parse_cidr(json_t *v, const char *what, struct ipamconf_addr *ret, unsigned *ret_plen,
        bool need_plen, struct kb_err *err)
{
	int plen;

	if (!json_is_string(v) || ipamconf_addr_parse(json_string_value(v), ret, &plen) < 0 ||
	        (need_plen && plen < 0))
		return kb_err_set(err, EINVAL, "%s must be %s", what,
		        need_plen ? "a CIDR (address/prefix)" : "an address or a CIDR");
	*ret_plen = plen < 0 ? ipamconf_family_bits(ret->family) : (unsigned)plen;
	return 0;
}

/* One range object (a range of a set, or the legacy top-level keys). */
static int parse_range(json_t *o, const char *where, struct ipamconf_range *r, struct kb_err *err)
{
	struct ipamconf_addr sub, a;
	ipamconf_u128 last;
	unsigned plen;
	char what[96];
	int rc;

	if (!json_is_object(o))
		return kb_err_set(err, EINVAL, "ipam.%s must be an object", where);
	snprintf(what, sizeof(what), "ipam.%ssubnet", where);
	if ((rc = parse_cidr(json_object_get(o, "subnet"), what, &sub, &plen, true, err)) < 0)
		return rc;
	/* host-local's limit: a usable range needs a network and at least two addresses. */
	if (plen + 2 > ipamconf_family_bits(sub.family))
		return kb_err_set(err, EINVAL, "%s /%u is too small to allocate from", what, plen);
	r->family = sub.family;
	r->plen = plen;
	r->net = sub.v & ~host_mask(sub.family, plen);
	last = r->net | host_mask(sub.family, plen);
	/* As host-local: the first address after the network; IPv4's broadcast is never used. */
	r->start = r->net + 1;
	r->end = sub.family == AF_INET ? last - 1 : last;
	r->gw = r->net + 1;
	if ((rc = opt_addr(o, "rangeStart", where, &a, err)) == 0) {
		if (a.family != r->family || a.v < r->start || a.v > r->end)
			return kb_err_set(
			        err, EINVAL, "ipam.%srangeStart is not in the subnet", where);
		r->start = a.v;
	} else if (rc != -ENOENT) {
		return rc;
	}
	if ((rc = opt_addr(o, "rangeEnd", where, &a, err)) == 0) {
		if (a.family != r->family || a.v < r->start || a.v > r->end)
			return kb_err_set(err, EINVAL,
			        "ipam.%srangeEnd is not in the subnet or before rangeStart", where);
		r->end = a.v;
	} else if (rc != -ENOENT) {
		return rc;
	}
	if ((rc = opt_addr(o, "gateway", where, &a, err)) == 0) {
		if (a.family != r->family || (a.v & ~host_mask(a.family, plen)) != r->net)
			return kb_err_set(
			        err, EINVAL, "ipam.%sgateway is not in the subnet", where);
		r->gw = a.v;
	} else if (rc != -ENOENT) {
		return rc;
	}
	return 0;
}

static bool overlap(const struct ipamconf_range *a, const struct ipamconf_range *b)
{
	return a->family == b->family && a->start <= b->end && b->start <= a->end;
}

/* No range may overlap another, in its set or in another (an address belongs to one set). */
static int check_overlaps(const struct ipamconf *c, struct kb_err *err)
{
	for (size_t i = 0; i < c->n_sets; i++)
		for (size_t j = 0; j < c->sets[i].n; j++)
			for (size_t k = i; k < c->n_sets; k++)
				for (size_t l = k == i ? j + 1 : 0; l < c->sets[k].n; l++)
					if (overlap(&c->sets[i].r[j], &c->sets[k].r[l]))
						return kb_err_set(err, EINVAL,
						        "ipam.ranges: range %zu of set %zu "
						        "overlaps "
						        "range %zu of set %zu",
						        l, k, j, i);
	return 0;
}

/* An array of range sets ([[{subnet, ...}, ...], ...]) appended to c's sets. */
static int parse_sets(json_t *ranges, const char *key, struct ipamconf *c, struct kb_err *err)
{
	json_t *set, *rng;
	char where[160];
	size_t i, j;
	int r;

	if (!json_is_array(ranges))
		return kb_err_set(err, EINVAL, "ipam.%s must be an array of arrays", key);
	if (json_array_size(ranges) + c->n_sets > IPAMCONF_MAX_SETS)
		return kb_err_set(
		        err, EINVAL, "ipam.%s: at most %d range sets", key, IPAMCONF_MAX_SETS);
	json_array_foreach (ranges, i, set) {
		struct ipamconf_set *s = &c->sets[c->n_sets];
		if (!json_is_array(set) || json_array_size(set) == 0)
			return kb_err_set(
			        err, EINVAL, "ipam.%s[%zu] must be a non-empty array", key, i);
		if (json_array_size(set) > IPAMCONF_MAX_RANGES)
			return kb_err_set(err, EINVAL, "ipam.%s[%zu]: at most %d ranges", key, i,
			        IPAMCONF_MAX_RANGES);
		json_array_foreach (set, j, rng) {
			snprintf(where, sizeof(where), "%s[%zu][%zu].", key, i, j);
			if ((r = parse_range(rng, where, &s->r[j], err)) < 0)
				return r;
			if (s->r[j].family != s->r[0].family)
				return kb_err_set(err, EINVAL,
				        "ipam.%s[%zu]: the ranges of a set must be of one family",
				        key, i);
		}
		s->n = json_array_size(set);
		c->n_sets++;
	}
	return check_overlaps(c, err);
}

/*
 * nodeRanges: {"<node>": [[range, ...], ...]} gives each node its own ranges in one NAD.
 * Every entry is checked (the agent is as strict as the plugin); with a node (the agent), that
 * node's entry replaces ranges/subnet.
 */
static int parse_node_ranges(
        json_t *ipam, const char *node, struct ipamconf *c, bool *used, struct kb_err *err)
{
	json_t *nr = json_object_get(ipam, "nodeRanges"), *v;
	struct ipamconf *scratch;
	const char *name;
	char key[IPAMCONF_MAX_NODE + 16];
	int r = 0;

	*used = false;
	if (!nr || json_is_null(nr))
		return 0;
	if (!json_is_object(nr) || json_object_size(nr) > IPAMCONF_MAX_NODES)
		return kb_err_set(err, EINVAL,
		        "ipam.nodeRanges must be an object of at most %d nodes",
		        IPAMCONF_MAX_NODES);
	if (!(scratch = calloc(1, sizeof(*scratch))))
		return kb_err_set(err, ENOMEM, "out of memory");
	json_object_foreach (nr, name, v) {
		if (!*name || strlen(name) > IPAMCONF_MAX_NODE) {
			r = kb_err_set(err, EINVAL,
			        "ipam.nodeRanges: a node name must be 1..%d bytes",
			        IPAMCONF_MAX_NODE);
			break;
		}
		snprintf(key, sizeof(key), "nodeRanges.%s", name);
		if (node && strcmp(name, node) == 0) {
			if ((r = parse_sets(v, key, c, err)) < 0)
				break;
			*used = true;
		} else {
			scratch->n_sets = 0; /* parse_sets appends */
			if ((r = parse_sets(v, key, scratch, err)) < 0)
				break;
		}
	}
	free(scratch);
	return r;
}

static int parse_ranges(json_t *ipam, const char *node, struct ipamconf *c, struct kb_err *err)
{
	json_t *ranges = json_object_get(ipam, "ranges");
	bool by_node;
	int r;

	if ((r = parse_node_ranges(ipam, node, c, &by_node, err)) < 0)
		return r;
	c->by_node = by_node;
	if (by_node)
		return 0;
	/* host-local: a legacy subnet is a range set of its own, before `ranges`. */
	if (json_object_get(ipam, "subnet") && !json_is_null(json_object_get(ipam, "subnet"))) {
		if ((r = parse_range(ipam, "", &c->sets[0].r[0], err)) < 0)
			return r;
		c->sets[0].n = 1;
		c->n_sets = 1;
	}
	if (ranges && !json_is_null(ranges) && (r = parse_sets(ranges, "ranges", c, err)) < 0)
		return r;
	if (!c->n_sets) {
		/* The plugin does not know the node: an agent without an entry refuses. */
		if (!node && json_object_size(json_object_get(ipam, "nodeRanges")))
			return 0;
		/* ENODEV, as for a device of another node: the section itself may be fine. */
		if (node && json_object_size(json_object_get(ipam, "nodeRanges")))
			return kb_err_set(err, ENODEV,
			        "ipam.nodeRanges has no entry for node '%.64s' and there is no "
			        "ranges/subnet",
			        node);
		return kb_err_set(err, EINVAL, "ipam: `ranges` or `subnet` is required");
	}
	return 0;
}

static int parse_routes(json_t *ipam, struct ipamconf *c, struct kb_err *err)
{
	json_t *routes = json_object_get(ipam, "routes"), *rt;
	char what[64];
	size_t i;
	int r;

	if (!routes || json_is_null(routes))
		return 0;
	if (!json_is_array(routes) || json_array_size(routes) > IPAMCONF_MAX_ROUTES)
		return kb_err_set(err, EINVAL, "ipam.routes must be an array of at most %d routes",
		        IPAMCONF_MAX_ROUTES);
	json_array_foreach (routes, i, rt) {
		struct ipamconf_route *o = &c->routes[i];
		struct ipamconf_addr a;
		if (!json_is_object(rt))
			return kb_err_set(err, EINVAL, "ipam.routes[%zu] must be an object", i);
		snprintf(what, sizeof(what), "ipam.routes[%zu].dst", i);
		if ((r = parse_cidr(json_object_get(rt, "dst"), what, &a, &o->plen, true, err)) < 0)
			return r;
		o->family = a.family;
		o->dst = a.v & ~host_mask(a.family, o->plen);
		snprintf(what, sizeof(what), "routes[%zu].", i);
		if ((r = opt_addr(rt, "gw", what, &a, err)) == 0) {
			if (a.family != o->family)
				return kb_err_set(err, EINVAL,
				        "ipam.routes[%zu]: gw and dst are of different families",
				        i);
			o->has_gw = true;
			o->gw = a.v;
		} else if (r != -ENOENT) {
			return r;
		}
	}
	c->n_routes = json_array_size(routes);
	return 0;
}

static int parse_exclude(json_t *ipam, struct ipamconf *c, struct kb_err *err)
{
	json_t *ex = json_object_get(ipam, "exclude"), *v;
	char what[64];
	size_t i;
	int r;

	if (!ex || json_is_null(ex))
		return 0;
	if (!json_is_array(ex) || json_array_size(ex) > IPAMCONF_MAX_EXCLUDE)
		return kb_err_set(err, EINVAL,
		        "ipam.exclude must be an array of at most %d addresses or CIDRs",
		        IPAMCONF_MAX_EXCLUDE);
	json_array_foreach (ex, i, v) {
		struct ipamconf_addr a;
		unsigned plen;
		snprintf(what, sizeof(what), "ipam.exclude[%zu]", i);
		if ((r = parse_cidr(v, what, &a, &plen, false, err)) < 0)
			return r;
		c->exclude[i].family = a.family;
		c->exclude[i].first = a.v & ~host_mask(a.family, plen);
		c->exclude[i].last = a.v | host_mask(a.family, plen);
	}
	c->n_exclude = json_array_size(ex);
	return 0;
}

static int str_array(json_t *o, const char *key, bool addrs, struct kb_err *err)
{
	json_t *arr = json_object_get(o, key), *v;
	struct ipamconf_addr a;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > IPAMCONF_MAX_DNS)
		return kb_err_set(err, EINVAL, "ipam.dns.%s must be an array of at most %d strings",
		        key, IPAMCONF_MAX_DNS);
	json_array_foreach (arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || !*s || strlen(s) > IPAMCONF_MAX_STR)
			return kb_err_set(err, EINVAL,
			        "ipam.dns.%s[%zu] must be a string of 1..%d bytes", key, i,
			        IPAMCONF_MAX_STR);
		if (addrs && ipamconf_addr_parse(s, &a, NULL) < 0)
			return kb_err_set(
			        err, EINVAL, "ipam.dns.%s[%zu] must be an IP address", key, i);
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return kb_err_set(err, EINVAL,
				        "ipam.dns.%s[%zu] holds a control character", key, i);
	}
	return 0;
}

int ipamconf_dns_check(json_t *dns, struct kb_err *err)
{
	const char *key;
	json_t *v, *dom;
	int r;

	if (!json_is_object(dns))
		return kb_err_set(err, EINVAL, "ipam.dns must be an object");
	json_object_foreach (dns, key, v) {
		if (strcmp(key, "nameservers") && strcmp(key, "domain") && strcmp(key, "search") &&
		        strcmp(key, "options"))
			return kb_err_set(err, EINVAL,
			        "ipam.dns: unknown key '%.32s' (nameservers, domain, search, "
			        "options)",
			        key);
	}
	dom = json_object_get(dns, "domain");
	if (dom && (!json_is_string(dom) || strlen(json_string_value(dom)) > IPAMCONF_MAX_STR))
		return kb_err_set(err, EINVAL,
		        "ipam.dns.domain must be a string of at most %d bytes", IPAMCONF_MAX_STR);
	if ((r = str_array(dns, "nameservers", true, err)) < 0 ||
	        (r = str_array(dns, "search", false, err)) < 0 ||
	        (r = str_array(dns, "options", false, err)) < 0)
		return r;
	return 0;
}

static int parse_requests(json_t *ips, struct ipamconf *c, struct kb_err *err)
{
	json_t *v;
	size_t i;

	if (!ips || json_is_null(ips))
		return 0;
	if (!json_is_array(ips) || json_array_size(ips) > IPAMCONF_MAX_REQUESTS)
		return kb_err_set(err, EINVAL,
		        "runtimeConfig.ips must be an array of at most %d addresses",
		        IPAMCONF_MAX_REQUESTS);
	json_array_foreach (ips, i, v) {
		struct ipamconf_addr *a = &c->requests[i];
		bool found = false;
		int plen;
		if (!json_is_string(v) || ipamconf_addr_parse(json_string_value(v), a, &plen) < 0)
			return kb_err_set(
			        err, EINVAL, "runtimeConfig.ips[%zu] must be an IP address", i);
		for (size_t j = 0; j < i; j++)
			if (c->requests[j].family == a->family && c->requests[j].v == a->v)
				return kb_err_set(err, EINVAL,
				        "runtimeConfig.ips[%zu] is requested twice", i);
		/* Like host-local: every requested address must lie in a range of some set. */
		for (size_t s = 0; s < c->n_sets && !found; s++)
			for (size_t k = 0; k < c->sets[s].n && !found; k++)
				found = ipamconf_range_has(&c->sets[s].r[k], a);
		/* No range known (the plugin, with only nodeRanges): the agent checks. */
		if (!found && c->n_sets)
			return kb_err_set(err, c->by_node ? ENODEV : EINVAL,
			        "runtimeConfig.ips[%zu] (%s) is in no range of the network", i,
			        json_string_value(v));
	}
	c->n_requests = json_array_size(ips);
	return 0;
}

int ipamconf_parse(
        json_t *ipam, json_t *ips, const char *node, struct ipamconf **ret, struct kb_err *err)
{
	struct ipamconf *c;
	json_t *dns;
	int r;

	if (!ipamconf_is_agent(ipam))
		return kb_err_set(err, EINVAL, "ipam.type must be \"%s\"", IPAMCONF_TYPE);
	if (!(c = calloc(1, sizeof(*c))))
		return kb_err_set(err, ENOMEM, "out of memory");
	if ((r = parse_ranges(ipam, node, c, err)) < 0 || (r = parse_routes(ipam, c, err)) < 0 ||
	        (r = parse_exclude(ipam, c, err)) < 0 || (r = parse_requests(ips, c, err)) < 0)
		goto fail;
	dns = json_object_get(ipam, "dns");
	if (dns && !json_is_null(dns)) {
		if ((r = ipamconf_dns_check(dns, err)) < 0)
			goto fail;
		if (!(c->dns = json_deep_copy(dns))) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	}
	*ret = c;
	return 0;
fail:
	ipamconf_free(c);
	return r;
}

void ipamconf_free(struct ipamconf *c)
{
	if (!c)
		return;
	json_decref(c->dns);
	free(c);
}
