/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/lease.h"
#include "api/apimsg.h"
#include "api/apimsg_status.h"
#include "agent/ops.h"
#include "agent/telemetry.h"
#include "common/hmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Usage and cursor of one range of one network, alive while it has holders. */
struct lease_range {
	struct hmap_node node;
	int family;
	ipamconf_u128 start, end, gw;
	ipamconf_u128 cursor; /* last address handed out */
	size_t used;
	char network[]; /* key with family, start, end */
};

struct lease_ip {
	struct hmap_node node; /* in `held` while the lease is held */
	struct ipamconf_addr a;
	unsigned plen;
	bool has_gw;
	ipamconf_u128 gw;
	ipamconf_u128 start, end; /* the range it came from */
	struct lease_range *range;
};

/* One heap block: the struct, its addresses and the network name (nodes hold many leases). */
struct lease {
	const char *network; /* our copy, after ips[] */
	bool held;
	size_t n;
	json_t *routes; /* CNI result routes, NULL when none */
	json_t *dns;
	struct lease_ip ips[];
};

static struct hmap held = HMAP_INITIALIZER(&held);
static struct hmap ranges = HMAP_INITIALIZER(&ranges);

static uint32_t addr_hash(const char *network, int family, ipamconf_u128 v)
{
	return hash_bytes(&v, sizeof(v), hash_str(network, (uint32_t)family));
}

static uint32_t range_hash(const char *network, int family, ipamconf_u128 s, ipamconf_u128 e)
{
	return hash_bytes(&e, sizeof(e), addr_hash(network, family, s));
}

static struct lease_ip *held_find(const char *network, int family, ipamconf_u128 v)
{
	struct lease_ip *ip;

	HMAP_FOR_EACH_WITH_HASH (ip, node, addr_hash(network, family, v), &held) {
		if (ip->a.family == family && ip->a.v == v && !strcmp(ip->range->network, network))
			return ip;
	}
	return NULL;
}

static struct lease_range *range_find(
        const char *network, int family, ipamconf_u128 s, ipamconf_u128 e)
{
	struct lease_range *r;

	HMAP_FOR_EACH_WITH_HASH (r, node, range_hash(network, family, s, e), &ranges)
		if (r->family == family && r->start == s && r->end == e &&
		        !strcmp(r->network, network))
			return r;
	return NULL;
}

static int range_ref(const char *network, struct lease_ip *ip)
{
	struct lease_range *r = range_find(network, ip->a.family, ip->start, ip->end);

	if (!r) {
		if (!(r = calloc(1, sizeof(*r) + strlen(network) + 1)))
			return -ENOMEM;
		strcpy(r->network, network);
		r->family = ip->a.family;
		r->start = ip->start;
		r->end = ip->end;
		r->gw = ip->has_gw ? ip->gw : 0;
		hmap_insert(&ranges, &r->node, range_hash(network, r->family, r->start, r->end));
	}
	r->used++;
	r->cursor = ip->a.v;
	ip->range = r;
	return 0;
}

static void range_unref(struct lease_range *r)
{
	if (--r->used == 0) {
		hmap_remove(&ranges, &r->node);
		free(r);
	}
}

static void unhold(struct lease *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hmap_remove(&held, &l->ips[i].node);
		range_unref(l->ips[i].range);
		l->ips[i].range = NULL;
	}
}

static int hold_one(struct lease *l, size_t i, struct kb_err *err)
{
	struct lease_ip *ip = &l->ips[i];
	char a[IPAMCONF_ADDR_STR];

	if (held_find(l->network, ip->a.family, ip->a.v)) {
		ipamconf_addr_format(&ip->a, a);
		return kb_err_set(err, EADDRINUSE,
		        "network %s: address %s is held by another attachment", l->network, a);
	}
	if (range_ref(l->network, ip) < 0)
		return kb_err_set(err, ENOMEM, "out of memory");
	hmap_insert(&held, &ip->node, addr_hash(l->network, ip->a.family, ip->a.v));
	return 0;
}

int lease_hold(struct lease *l, struct kb_err *err)
{
	int r;

	if (l->held)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		if ((r = hold_one(l, i, err)) < 0) {
			unhold(l, i);
			return r;
		}
	}
	l->held = true;
	return 0;
}

/* Room for `slots` addresses. */
static struct lease *lease_alloc(const char *network, size_t slots)
{
	struct lease *l = calloc(1, sizeof(*l) + slots * sizeof(l->ips[0]) + strlen(network) + 1);

	if (!l)
		return NULL;
	l->network = strcpy((char *)&l->ips[slots], network);
	return l;
}

void lease_free(struct lease *l)
{
	if (!l)
		return;
	if (l->held)
		unhold(l, l->n);
	json_decref(l->routes);
	json_decref(l->dns);
	free(l);
}

const char *lease_node_name(void)
{
	static char host[IPAMCONF_MAX_NODE + 1];
	const char *env = getenv("NODE_NAME");

	if (env && *env)
		return env;
	if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
		return NULL;
	return host;
}

size_t lease_held_count(void)
{
	return hmap_count(&held);
}

/* ---- picking ---- */

static bool excluded(const struct ipamconf *c, int family, ipamconf_u128 v, ipamconf_u128 *last)
{
	for (size_t i = 0; i < c->n_exclude; i++) {
		if (c->exclude[i].family == family && v >= c->exclude[i].first &&
		        v <= c->exclude[i].last) {
			*last = c->exclude[i].last;
			return true;
		}
	}
	return false;
}

/*
 * The first free address of r after the range's cursor, wrapping once. Every step skips at
 * least one address and each held address or excluded block is skipped in one step, so a
 * search costs O(held + excluded), whatever the size of an IPv6 range.
 */
static bool pick_in_range(const struct ipamconf *c, const char *network,
        const struct ipamconf_range *r, ipamconf_u128 *ret)
{
	struct lease_range *lr = range_find(network, r->family, r->start, r->end);
	ipamconf_u128 size = r->end - r->start + 1, seen = 0, v, last;

	v = lr && lr->cursor >= r->start && lr->cursor < r->end ? lr->cursor + 1 : r->start;
	while (seen < size) {
		ipamconf_u128 skip = 1;
		if (excluded(c, r->family, v, &last))
			skip = (last >= r->end ? r->end : last) - v + 1;
		else if (v != r->gw && !held_find(network, r->family, v)) {
			*ret = v;
			return true;
		}
		seen += skip;
		if (r->end - v < skip)
			v = r->start; /* wrap: what lies before the cursor */
		else
			v += skip;
	}
	return false;
}

static void set_ip(struct lease_ip *ip, const struct ipamconf_range *r, ipamconf_u128 v)
{
	ip->a.family = r->family;
	ip->a.v = v;
	ip->plen = r->plen;
	ip->has_gw = true;
	ip->gw = r->gw;
	ip->start = r->start;
	ip->end = r->end;
}

static void set_describe(const struct ipamconf_set *s, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && off < size; i++) {
		char rs[2 * IPAMCONF_ADDR_STR];
		ipamconf_range_format(&s->r[i], rs);
		off += snprintf(buf + off, size - off, "%s%s", i ? ", " : "", rs);
	}
}

static int pick_set(const struct ipamconf *c, const char *network, const struct ipamconf_set *s,
        struct lease_ip *ip, struct kb_err *err)
{
	const struct ipamconf_addr *req = NULL;
	char a[IPAMCONF_ADDR_STR], desc[512];
	ipamconf_u128 v, last;

	for (size_t i = 0; i < c->n_requests; i++) {
		for (size_t k = 0; k < s->n; k++) {
			if (!ipamconf_range_has(&s->r[k], &c->requests[i]))
				continue;
			ipamconf_addr_format(&c->requests[i], a);
			if (req)
				return kb_err_set(err, EINVAL,
				        "runtimeConfig.ips: two addresses requested in one range "
				        "set "
				        "(%s)",
				        a);
			req = &c->requests[i];
			if (req->v == s->r[k].gw)
				return kb_err_set(
				        err, EINVAL, "runtimeConfig.ips: %s is the gateway", a);
			if (excluded(c, req->family, req->v, &last))
				return kb_err_set(
				        err, EINVAL, "runtimeConfig.ips: %s is excluded", a);
			set_ip(ip, &s->r[k], req->v);
		}
	}
	if (req)
		return 0;
	for (size_t k = 0; k < s->n; k++) {
		if (pick_in_range(c, network, &s->r[k], &v)) {
			set_ip(ip, &s->r[k], v);
			return 0;
		}
	}
	set_describe(s, desc, sizeof(desc));
	return kb_err_set(err, EADDRNOTAVAIL, "network %s: no free address in %s", network, desc);
}

static json_t *routes_json(const struct ipamconf *c)
{
	json_t *arr = json_array();
	char d[IPAMCONF_ADDR_STR], g[IPAMCONF_ADDR_STR], dst[IPAMCONF_ADDR_STR + 8];

	for (size_t i = 0; arr && i < c->n_routes; i++) {
		const struct ipamconf_route *r = &c->routes[i];
		json_t *o;
		ipamconf_addr_format(&(struct ipamconf_addr){r->family, r->dst}, d);
		snprintf(dst, sizeof(dst), "%s/%u", d, r->plen);
		o = json_pack("{s:s}", "dst", dst);
		if (o && r->has_gw) {
			ipamconf_addr_format(&(struct ipamconf_addr){r->family, r->gw}, g);
			json_object_set_new(o, "gw", json_string(g));
		}
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int lease_new(const struct ipamconf *c, const char *network, struct lease **ret, struct kb_err *err)
{
	struct lease *l;
	int r;

	/* Only the plugin's view (no node) may lack ranges: never a lease without an address. */
	if (!c->n_sets)
		return kb_err_set(err, EINVAL, "ipam: no range for this node");
	if (!(l = lease_alloc(network, c->n_sets)))
		return kb_err_set(err, ENOMEM, "out of memory");
	/* Each address is held as soon as it is picked (no set can pick it again). */
	l->held = true;
	for (size_t i = 0; i < c->n_sets; i++) {
		if ((r = pick_set(c, network, &c->sets[i], &l->ips[i], err)) < 0 ||
		        (r = hold_one(l, i, err)) < 0)
			goto fail;
		l->n++;
	}
	if (c->n_routes && !(l->routes = routes_json(c))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	if (c->dns && !(l->dns = json_deep_copy(c->dns))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	*ret = l;
	return 0;
fail:
	lease_free(l);
	return r;
}

/* ---- JSON ---- */

json_t *lease_to_json(const struct lease *l)
{
	char a[IPAMCONF_MAX_SETS][IPAMCONF_ADDR_STR + 8], gw[IPAMCONF_MAX_SETS][IPAMCONF_ADDR_STR];
	char rng[IPAMCONF_MAX_SETS][2 * IPAMCONF_ADDR_STR];
	struct apimsg_ipam o = {.n_ips = l->n, .routes = l->routes, .dns = l->dns};

	if (l->n > IPAMCONF_MAX_SETS)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		const struct lease_ip *ip = &l->ips[i];
		char addr[IPAMCONF_ADDR_STR];
		ipamconf_addr_format(&ip->a, addr);
		snprintf(a[i], sizeof(a[i]), "%s/%u", addr, ip->plen);
		ipamconf_range_format(
		        &(struct ipamconf_range){
		                .family = ip->a.family, .start = ip->start, .end = ip->end},
		        rng[i]);
		o.ips[i].address = a[i];
		o.ips[i].range = rng[i];
		if (ip->has_gw) {
			ipamconf_addr_format(&(struct ipamconf_addr){ip->a.family, ip->gw}, gw[i]);
			o.ips[i].gateway = gw[i];
		}
	}
	return apimsg_ipam_encode(&o);
}

static int ip_from_json(
        const struct apimsg_ip *e, size_t i, struct lease_ip *ip, struct kb_err *err)
{
	const char *addr = e->address, *rng = e->range;
	struct ipamconf_addr s, en, g;
	char buf[2 * IPAMCONF_ADDR_STR];
	const char *dash;
	int plen;

	if (!addr || ipamconf_addr_parse(addr, &ip->a, &plen) < 0 || plen < 0)
		return kb_err_set(err, EINVAL, "ipam.ips[%zu].address must be a CIDR", i);
	ip->plen = (unsigned)plen;
	if (!rng || strlen(rng) >= sizeof(buf) || !(dash = strchr(rng, '-')))
		return kb_err_set(err, EINVAL, "ipam.ips[%zu].range must be start-end", i);
	memcpy(buf, rng, dash - rng);
	buf[dash - rng] = '\0';
	if (ipamconf_addr_parse(buf, &s, NULL) < 0 ||
	        ipamconf_addr_parse(dash + 1, &en, NULL) < 0 || s.family != ip->a.family ||
	        en.family != ip->a.family || s.v > ip->a.v || ip->a.v > en.v)
		return kb_err_set(
		        err, EINVAL, "ipam.ips[%zu].range must be start-end around the address", i);
	ip->start = s.v;
	ip->end = en.v;
	if (e->gateway) {
		if (ipamconf_addr_parse(e->gateway, &g, NULL) < 0 || g.family != ip->a.family)
			return kb_err_set(
			        err, EINVAL, "ipam.ips[%zu].gateway must be an address", i);
		ip->has_gw = true;
		ip->gw = g.v;
	}
	return 0;
}

static int routes_check(json_t *routes, struct kb_err *err)
{
	json_t *rt;
	size_t i;

	if (!json_is_array(routes) || json_array_size(routes) > IPAMCONF_MAX_ROUTES)
		return kb_err_set(err, EINVAL, "ipam.routes must be an array of at most %d routes",
		        IPAMCONF_MAX_ROUTES);
	json_array_foreach (routes, i, rt) {
		struct ipamconf_addr a;
		json_t *gw = json_object_get(rt, "gw");
		int plen;
		if (ipamconf_addr_parse(json_string_value(json_object_get(rt, "dst")), &a, &plen) <
		                0 ||
		        plen < 0 || json_object_size(rt) > (gw ? 2u : 1u) ||
		        (gw && ipamconf_addr_parse(json_string_value(gw), &a, NULL) < 0))
			return kb_err_set(err, EINVAL, "ipam.routes[%zu] must be {dst, gw?}", i);
	}
	return 0;
}

int lease_from_json(json_t *o, const char *network, struct lease **ret, struct kb_err *err)
{
	struct apimsg_ipam d;
	struct kb_err derr = {0};
	json_t *routes, *dns;
	struct lease *l;
	size_t i;
	int r;

	/* The shape (types, lengths) is the codec's; what the values mean is checked here. */
	if (apimsg_ipam_decode(o, &d, &derr) < 0)
		return kb_err_set(err, EINVAL, "%s", derr.msg);
	if (d.n_ips == 0 || d.n_ips > IPAMCONF_MAX_SETS)
		return kb_err_set(err, EINVAL, "ipam must hold 1..%d addresses", IPAMCONF_MAX_SETS);
	routes = d.routes;
	dns = d.dns;
	if ((routes && (r = routes_check(routes, err)) < 0) ||
	        (dns && (r = ipamconf_dns_check(dns, err)) < 0))
		return r;
	if (!(l = lease_alloc(network, d.n_ips)))
		return kb_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < d.n_ips; i++) {
		if ((r = ip_from_json(&d.ips[i], i, &l->ips[i], err)) < 0)
			goto fail;
		for (size_t j = 0; j < i; j++)
			if (l->ips[j].a.family == l->ips[i].a.family &&
			        l->ips[j].a.v == l->ips[i].a.v) {
				r = kb_err_set(err, EINVAL, "ipam.ips[%zu] is listed twice", i);
				goto fail;
			}
		l->n++;
	}
	l->routes = json_incref(routes);
	l->dns = json_incref(dns);
	*ret = l;
	return 0;
fail:
	lease_free(l);
	return r;
}

/* ---- metrics and status ---- */

static double range_size(const struct lease_range *r)
{
	double n = (double)(r->end - r->start) + 1;

	return r->gw >= r->start && r->gw <= r->end ? n - 1 : n;
}

/* One family at a time: Prometheus wants a family's samples together. */
static void emit_ranges(
        struct telemetry_sink *sink, const char *name, const char *help, bool allocated)
{
	struct lease_range *r;
	char rng[2 * IPAMCONF_ADDR_STR];

	HMAP_FOR_EACH (r, node, &ranges) {
		struct telemetry_label labels[] = {
		        {"network", r->network}, {"range", rng}, {NULL, NULL}};
		ipamconf_range_format(
		        &(struct ipamconf_range){
		                .family = r->family, .start = r->start, .end = r->end},
		        rng);
		sink->emit(sink, TELEMETRY_GAUGE, name, help, labels,
		        allocated ? (double)r->used : range_size(r));
	}
}

static void collect(struct telemetry_sink *sink)
{
	emit_ranges(sink, "ipam_range_size",
	        "Addresses of an agent IPAM range (the gateway excepted).", false);
	emit_ranges(sink, "ipam_range_allocated",
	        "Addresses of an agent IPAM range held by attachments.", true);
}

static struct telemetry_source lease_source = {.name = "ipam", .collect = collect};
TELEMETRY_SOURCE_REGISTER(lease_source)

static json_t *status_json(void)
{
	json_t *arr = json_array();
	struct lease_range *r;
	char rng[2 * IPAMCONF_ADDR_STR];

	HMAP_FOR_EACH (r, node, &ranges) {
		ipamconf_range_format(
		        &(struct ipamconf_range){
		                .family = r->family, .start = r->start, .end = r->end},
		        rng);
		json_array_append_new(
		        arr, apimsg_ipam_range_status_encode(&(struct apimsg_ipam_range_status){
		                     .network = r->network,
		                     .range = rng,
		                     .size = range_size(r),
		                     .allocated = (int64_t)r->used,
		             }));
	}
	return apimsg_ipam_status_encode((int64_t)hmap_count(&held), arr);
}

static struct status_hook lease_status = {.key = APIMSG_STATUS_IPAM, .fn = status_json};
STATUS_HOOK_REGISTER(lease_status)
