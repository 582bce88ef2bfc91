/* SPDX-License-Identifier: Apache-2.0 */
#include "result.h"
#include "common/str.h"
#include "common/validate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const version_names[] = {
        [CNI_V_0_3_0] = "0.3.0",
        [CNI_V_0_3_1] = "0.3.1",
        [CNI_V_0_4_0] = "0.4.0",
        [CNI_V_1_0_0] = "1.0.0",
        [CNI_V_1_1_0] = "1.1.0",
};

enum cni_version cni_version_parse(const char *s)
{
	if (!s)
		return CNI_V_NONE;
	for (int v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++)
		if (strcmp(s, version_names[v]) == 0)
			return v;
	return CNI_V_NONE;
}

const char *cni_version_str(enum cni_version v)
{
	return v > CNI_V_NONE && v <= CNI_V_LATEST ? version_names[v] : NULL;
}

json_t *cni_version_info(void)
{
	json_t *list = json_array();

	for (int v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++)
		json_array_append_new(list, json_string(version_names[v]));
	return json_pack(
	        "{s:s, s:o}", "cniVersion", version_names[CNI_V_LATEST], "supportedVersions", list);
}

/* ---- errors ---- */

int cni_err_set(struct cni_err *ce, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (errnum < 0)
		errnum = -errnum;
	if (!errnum)
		errnum = EINVAL;
	if (ce) {
		ce->code = code;
		ce->e.errnum = errnum;
		va_start(ap, fmt);
		vsnprintf(ce->e.msg, sizeof(ce->e.msg), fmt, ap);
		va_end(ap);
		ce->details[0] = '\0';
	}
	return -errnum;
}

void cni_err_details(struct cni_err *ce, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ce->details, sizeof(ce->details), fmt, ap);
	va_end(ap);
}

int cni_err_prefix(struct cni_err *ce, const char *fmt, ...)
{
	char prefix[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	return kb_err_prefix(&ce->e, "%s", prefix);
}

json_t *cni_err_to_json(const struct cni_err *ce, enum cni_version v)
{
	const char *ver = cni_version_str(v ? v : CNI_V_LATEST);

	return json_pack("{s:s, s:i, s:s, s:s}", "cniVersion", ver, "code",
	        ce->code ? ce->code : CNI_ERR_INTERNAL, "msg",
	        ce->e.msg[0] ? ce->e.msg : "unknown error", "details", ce->details);
}

/* ---- addresses ---- */

int cni_parse_ip(const char *s, int *family, void *addr)
{
	unsigned char buf[16];

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, addr ? addr : buf) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr ? addr : buf) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int cni_parse_cidr(const char *s, int *family, void *addr, unsigned *prefixlen)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash;
	uint64_t plen;

	if (!s || !(slash = strchr(s, '/')) || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, slash - s);
	ip[slash - s] = '\0';
	if (cni_parse_ip(ip, family, addr) < 0)
		return -EINVAL;
	if (str_to_u64(slash + 1, 0, *family == AF_INET ? 32 : 128, &plen) < 0)
		return -EINVAL;
	if (prefixlen)
		*prefixlen = plen;
	return 0;
}

/* ---- result objects ---- */

struct cni_result *cni_result_new(void)
{
	return calloc(1, sizeof(struct cni_result));
}

static void iface_clear(struct cni_iface *i)
{
	free(i->name);
	free(i->mac);
	free(i->sandbox);
	free(i->socket_path);
	free(i->pci_id);
}

void cni_result_free(struct cni_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_ifaces; i++)
		iface_clear(&r->ifaces[i]);
	free(r->ifaces);
	free(r->ips);
	free(r->routes);
	json_decref(r->dns);
	free(r);
}

static int dup_opt(const char *s, char **ret)
{
	*ret = NULL;
	if (s && !(*ret = strdup(s)))
		return -ENOMEM;
	return 0;
}

int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
        const char *sandbox, unsigned mtu, const char *socket_path, const char *pci_id)
{
	struct cni_iface *v, *i;

	if (r->n_ifaces >= CNI_RESULT_MAX_IFACES)
		return -E2BIG;
	if (!(v = realloc(r->ifaces, (r->n_ifaces + 1) * sizeof(*v))))
		return -ENOMEM;
	r->ifaces = v;
	i = &v[r->n_ifaces];
	memset(i, 0, sizeof(*i));
	if (dup_opt(name, &i->name) < 0 || dup_opt(mac, &i->mac) < 0 ||
	        dup_opt(sandbox, &i->sandbox) < 0 || dup_opt(socket_path, &i->socket_path) < 0 ||
	        dup_opt(pci_id, &i->pci_id) < 0) {
		iface_clear(i);
		return -ENOMEM;
	}
	i->mtu = mtu;
	return r->n_ifaces++;
}

static int append_ips(struct cni_result *dst, const struct cni_ip *ips, size_t n, int iface)
{
	struct cni_ip *v;

	if (!n)
		return 0;
	if (dst->n_ips + n > CNI_RESULT_MAX_IPS)
		return -E2BIG;
	if (!(v = realloc(dst->ips, (dst->n_ips + n) * sizeof(*v))))
		return -ENOMEM;
	dst->ips = v;
	for (size_t k = 0; k < n; k++) {
		v[dst->n_ips + k] = ips[k];
		if (iface != -2)
			v[dst->n_ips + k].interface = iface;
	}
	dst->n_ips += n;
	return 0;
}

static int append_routes(struct cni_result *dst, const struct cni_route *routes, size_t n)
{
	struct cni_route *v;

	if (!n)
		return 0;
	if (dst->n_routes + n > CNI_RESULT_MAX_ROUTES)
		return -E2BIG;
	if (!(v = realloc(dst->routes, (dst->n_routes + n) * sizeof(*v))))
		return -ENOMEM;
	dst->routes = v;
	memcpy(v + dst->n_routes, routes, n * sizeof(*v));
	dst->n_routes += n;
	return 0;
}

/* DNS lists are merged by appending values not already present. */
static int merge_dns(struct cni_result *dst, json_t *src)
{
	const char *key;
	json_t *val;

	if (!src)
		return 0;
	if (!dst->dns && !(dst->dns = json_object()))
		return -ENOMEM;
	json_object_foreach (src, key, val) {
		json_t *have = json_object_get(dst->dns, key);
		size_t i;
		json_t *item;

		if (json_is_string(val)) {
			if (!have)
				json_object_set(dst->dns, key, val);
			continue;
		}
		if (!have) {
			json_object_set_new(dst->dns, key, json_deep_copy(val));
			continue;
		}
		json_array_foreach (val, i, item) {
			bool dup = false;
			size_t j;
			json_t *h;
			json_array_foreach (have, j, h)
				dup = dup || json_equal(h, item);
			if (!dup)
				json_array_append(have, item);
		}
	}
	return 0;
}

int cni_result_merge_ipam(struct cni_result *dst, const struct cni_result *src, int iface)
{
	int r;

	if ((r = append_ips(dst, src->ips, src->n_ips, iface)) < 0 ||
	        (r = append_routes(dst, src->routes, src->n_routes)) < 0 ||
	        (r = merge_dns(dst, src->dns)) < 0)
		return r;
	return 0;
}

struct cni_result *cni_result_dup(const struct cni_result *r)
{
	struct cni_result *d = cni_result_new();

	if (!d)
		return NULL;
	for (size_t i = 0; i < r->n_ifaces; i++) {
		const struct cni_iface *f = &r->ifaces[i];
		if (cni_result_add_iface(
		            d, f->name, f->mac, f->sandbox, f->mtu, f->socket_path, f->pci_id) < 0)
			goto fail;
	}
	if (append_ips(d, r->ips, r->n_ips, -2) < 0 ||
	        append_routes(d, r->routes, r->n_routes) < 0 ||
	        (r->dns && !(d->dns = json_deep_copy(r->dns))))
		goto fail;
	return d;
fail:
	cni_result_free(d);
	return NULL;
}

int cni_result_find_iface(const struct cni_result *r, const char *name, const char *sandbox)
{
	for (size_t i = 0; i < r->n_ifaces; i++) {
		const struct cni_iface *f = &r->ifaces[i];
		if (strcmp(f->name, name) != 0)
			continue;
		if (sandbox && (!f->sandbox || strcmp(f->sandbox, sandbox) != 0))
			continue;
		return i;
	}
	return -1;
}

/* ---- parsing ---- */

/* An optional string member of at most `max` bytes with no embedded NUL. */
static int get_str(json_t *obj, const char *key, size_t max, bool required, const char **ret,
        struct cni_err *ce)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!v) {
		if (required)
			return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "'%s' is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "'%s' must be a string", key);
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'%s' is longer than %zu bytes or holds a NUL", key, max);
	*ret = json_string_value(v);
	return 0;
}

/* An optional unsigned integer in [0, max]; *ret stays -1 when absent. */
static int get_uint(json_t *obj, const char *key, int64_t max, int64_t *ret, struct cni_err *ce)
{
	json_t *v = json_object_get(obj, key);

	*ret = -1;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'%s' must be an integer in [0, %lld]", key, (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

static json_t *get_array(json_t *obj, const char *key, size_t max, struct cni_err *ce, int *r)
{
	json_t *v = json_object_get(obj, key);

	*r = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_array(v))
		*r = cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "'%s' must be an array", key);
	else if (json_array_size(v) > max)
		*r = cni_err_set(
		        ce, CNI_ERR_DECODE, E2BIG, "'%s' has more than %zu entries", key, max);
	return *r ? NULL : v;
}

static int parse_iface(json_t *o, struct cni_result *res, struct cni_err *ce)
{
	const char *name, *mac, *sandbox, *sock, *pci, *why;
	int64_t mtu;
	int r;

	if (!json_is_object(o))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "must be an object");
	if ((r = get_str(o, "name", VAL_IFNAME_MAX, true, &name, ce)) < 0 ||
	        (r = get_str(o, "mac", 64, false, &mac, ce)) < 0 ||
	        (r = get_str(o, "sandbox", VAL_PATH_MAX, false, &sandbox, ce)) < 0 ||
	        (r = get_str(o, "socketPath", VAL_PATH_MAX, false, &sock, ce)) < 0 ||
	        (r = get_str(o, "pciID", VAL_DEVICE_ID_MAX, false, &pci, ce)) < 0 ||
	        (r = get_uint(o, "mtu", 65535, &mtu, ce)) < 0)
		return r;
	if (!val_ifname(name, &why))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "'name' (%s): %s", name, why);
	if ((r = cni_result_add_iface(res, name, mac, sandbox, mtu < 0 ? 0 : mtu, sock, pci)) < 0)
		return cni_err_set(ce, CNI_ERR_INTERNAL, r, "out of memory");
	return 0;
}

static int parse_ip(json_t *o, size_t n_ifaces, struct cni_ip *ip, struct cni_err *ce)
{
	const char *addr, *gw, *ver;
	int64_t idx;
	int fam, r;

	if (!json_is_object(o))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "must be an object");
	if ((r = get_str(o, "address", 63, true, &addr, ce)) < 0 ||
	        (r = get_str(o, "gateway", 47, false, &gw, ce)) < 0 ||
	        (r = get_str(o, "version", 1, false, &ver, ce)) < 0 ||
	        (r = get_uint(o, "interface", CNI_RESULT_MAX_IFACES, &idx, ce)) < 0)
		return r;
	if (cni_parse_cidr(addr, &ip->family, NULL, NULL) < 0)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'address' (%s) is not an IP address in CIDR notation", addr);
	if (gw && (cni_parse_ip(gw, &fam, NULL) < 0 || fam != ip->family))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'gateway' (%s) is not an address of the same family as %s", gw, addr);
	if (ver && strcmp(ver, ip->family == AF_INET ? "4" : "6") != 0)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'version' (%s) does not match address %s", ver, addr);
	if (idx >= 0 && (size_t)idx >= n_ifaces)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'interface' (%lld) is not an index into interfaces", (long long)idx);
	str_copy(ip->address, sizeof(ip->address), addr);
	str_copy(ip->gateway, sizeof(ip->gateway), gw ? gw : "");
	ip->interface = idx;
	return 0;
}

static int parse_route(json_t *o, struct cni_route *rt, struct cni_err *ce)
{
	const char *dst, *gw;
	int fam, r;

	if (!json_is_object(o))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "must be an object");
	if ((r = get_str(o, "dst", 63, true, &dst, ce)) < 0 ||
	        (r = get_str(o, "gw", 47, false, &gw, ce)) < 0 ||
	        (r = get_uint(o, "mtu", UINT32_MAX, &rt->mtu, ce)) < 0 ||
	        (r = get_uint(o, "advmss", UINT32_MAX, &rt->advmss, ce)) < 0 ||
	        (r = get_uint(o, "priority", UINT32_MAX, &rt->priority, ce)) < 0 ||
	        (r = get_uint(o, "table", UINT32_MAX, &rt->table, ce)) < 0 ||
	        (r = get_uint(o, "scope", 255, &rt->scope, ce)) < 0)
		return r;
	if (cni_parse_cidr(dst, &rt->family, NULL, NULL) < 0)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'dst' (%s) is not a network in CIDR notation", dst);
	if (gw && (cni_parse_ip(gw, &fam, NULL) < 0 || fam != rt->family))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
		        "'gw' (%s) is not an address of the same family as %s", gw, dst);
	str_copy(rt->dst, sizeof(rt->dst), dst);
	str_copy(rt->gw, sizeof(rt->gw), gw ? gw : "");
	return 0;
}

static int parse_str_list(json_t *dns, const char *key, json_t *out, struct cni_err *ce)
{
	json_t *arr, *item;
	size_t i;
	int r;

	if (!(arr = get_array(dns, key, 64, ce, &r)))
		return r;
	json_array_foreach (arr, i, item) {
		if (!json_is_string(item) || json_string_length(item) > 255)
			return cni_err_set(ce, CNI_ERR_DECODE, EINVAL,
			        "'%s[%zu]' must be a string of at most 255 bytes", key, i);
	}
	json_object_set_new(out, key, json_deep_copy(arr));
	return 0;
}

static int parse_dns(json_t *dns, json_t **ret, struct cni_err *ce)
{
	const char *domain;
	json_t *out;
	int r;

	*ret = NULL;
	if (!dns || json_is_null(dns))
		return 0;
	if (!json_is_object(dns))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "'dns' must be an object");
	if (!(out = json_object()))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	if ((r = parse_str_list(dns, "nameservers", out, ce)) < 0 ||
	        (r = get_str(dns, "domain", 255, false, &domain, ce)) < 0 ||
	        (r = parse_str_list(dns, "search", out, ce)) < 0 ||
	        (r = parse_str_list(dns, "options", out, ce)) < 0) {
		json_decref(out);
		return cni_err_prefix(ce, "dns");
	}
	if (domain)
		json_object_set_new(out, "domain", json_string(domain));
	if (json_object_size(out) == 0) {
		json_decref(out);
		return 0;
	}
	*ret = out;
	return 0;
}

int cni_result_parse(
        json_t *obj, enum cni_version dflt, struct cni_result **ret, struct cni_err *ce)
{
	json_t *ver = json_object_get(obj, "cniVersion"), *arr, *item;
	struct cni_result *res;
	size_t i;
	int r;

	if (!json_is_object(obj))
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "result must be a JSON object");
	if (ver && (!json_is_string(ver) || !cni_version_parse(json_string_value(ver))))
		return cni_err_set(ce, CNI_ERR_INCOMPATIBLE, EPROTONOSUPPORT,
		        "result cniVersion %s is not supported",
		        json_is_string(ver) ? json_string_value(ver) : "(not a string)");
	if (!ver && !dflt)
		return cni_err_set(ce, CNI_ERR_DECODE, EINVAL, "result has no cniVersion");
	if (!(res = cni_result_new()))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");

	if (!(arr = get_array(obj, "interfaces", CNI_RESULT_MAX_IFACES, ce, &r)) && r < 0)
		goto fail;
	json_array_foreach (arr, i, item) {
		if ((r = parse_iface(item, res, ce)) < 0) {
			cni_err_prefix(ce, "interfaces[%zu]", i);
			goto fail;
		}
	}
	if (!(arr = get_array(obj, "ips", CNI_RESULT_MAX_IPS, ce, &r)) && r < 0)
		goto fail;
	if (arr && json_array_size(arr) &&
	        !(res->ips = calloc(json_array_size(arr), sizeof(*res->ips)))) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	json_array_foreach (arr, i, item) {
		if ((r = parse_ip(item, res->n_ifaces, &res->ips[i], ce)) < 0) {
			cni_err_prefix(ce, "ips[%zu]", i);
			goto fail;
		}
		res->n_ips++;
	}
	if (!(arr = get_array(obj, "routes", CNI_RESULT_MAX_ROUTES, ce, &r)) && r < 0)
		goto fail;
	if (arr && json_array_size(arr) &&
	        !(res->routes = calloc(json_array_size(arr), sizeof(*res->routes)))) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
		goto fail;
	}
	json_array_foreach (arr, i, item) {
		if ((r = parse_route(item, &res->routes[i], ce)) < 0) {
			cni_err_prefix(ce, "routes[%zu]", i);
			goto fail;
		}
		res->n_routes++;
	}
	if ((r = parse_dns(json_object_get(obj, "dns"), &res->dns, ce)) < 0)
		goto fail;
	*ret = res;
	return 0;
fail:
	cni_result_free(res);
	return r;
}

/* ---- printing ---- */

static void set_str(json_t *o, const char *key, const char *val)
{
	if (val)
		json_object_set_new(o, key, json_string(val));
}

static void set_uint(json_t *o, const char *key, int64_t val)
{
	if (val >= 0)
		json_object_set_new(o, key, json_integer(val));
}

json_t *cni_result_to_json(const struct cni_result *r, enum cni_version v)
{
	json_t *o = json_pack("{s:s}", "cniVersion", cni_version_str(v ? v : CNI_V_LATEST));
	bool v11 = v >= CNI_V_1_1_0 || v == CNI_V_NONE;
	bool ipver = v != CNI_V_NONE && v < CNI_V_1_0_0;

	if (!o)
		return NULL;
	if (r->n_ifaces) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_ifaces; i++) {
			const struct cni_iface *f = &r->ifaces[i];
			json_t *e = json_pack("{s:s}", "name", f->name);
			set_str(e, "mac", f->mac);
			if (v11 && f->mtu)
				json_object_set_new(e, "mtu", json_integer(f->mtu));
			set_str(e, "sandbox", f->sandbox);
			if (v11) {
				set_str(e, "socketPath", f->socket_path);
				set_str(e, "pciID", f->pci_id);
			}
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "interfaces", arr);
	}
	if (r->n_ips) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_ips; i++) {
			const struct cni_ip *ip = &r->ips[i];
			json_t *e = json_object();
			if (ipver)
				set_str(e, "version", ip->family == AF_INET ? "4" : "6");
			set_str(e, "address", ip->address);
			if (ip->gateway[0])
				set_str(e, "gateway", ip->gateway);
			set_uint(e, "interface", ip->interface);
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "ips", arr);
	}
	if (r->n_routes) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_routes; i++) {
			const struct cni_route *rt = &r->routes[i];
			json_t *e = json_pack("{s:s}", "dst", rt->dst);
			if (rt->gw[0])
				set_str(e, "gw", rt->gw);
			if (v11) {
				set_uint(e, "mtu", rt->mtu);
				set_uint(e, "advmss", rt->advmss);
				set_uint(e, "priority", rt->priority);
				set_uint(e, "table", rt->table);
				set_uint(e, "scope", rt->scope);
			}
			json_array_append_new(arr, e);
		}
		json_object_set_new(o, "routes", arr);
	}
	if (r->dns && json_object_size(r->dns))
		json_object_set_new(o, "dns", json_deep_copy(r->dns));
	return o;
}
