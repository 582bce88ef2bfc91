/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/select.h"
#include "agent/sriov/pci.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEL_MAX_ITEMS  256
#define SEL_MAX_RANGES 64

const char *const sel_keys_vf[] = {"vendors", "devices", "drivers", "pfNames", "rootDevices",
        "pciAddresses", "linkTypes", "selectors", "needVhostNet", NULL};
const char *const sel_keys_vdpa[] = {"vendors", "devices", "drivers", "pfNames", "rootDevices",
        "pciAddresses", "linkTypes", "vdpaType", "selectors", NULL};
/* Keys of one item of `selectors:` */
static const char *const item_keys_vf[] = {"vendors", "devices", "drivers", "pfNames",
        "rootDevices", "pciAddresses", "linkTypes", NULL};
static const char *const item_keys_vdpa[] = {"vendors", "devices", "drivers", "pfNames",
        "rootDevices", "pciAddresses", "linkTypes", "vdpaType", NULL};
#define SEL_MAX_ALT 16

struct sel_range {
	unsigned lo, hi;
};

/* A pfNames / rootDevices item: a name (or regex) and optional VF index ranges. */
struct sel_pf {
	char *name;
	bool has_re;
	regex_t re;
	struct sel_range ranges[SEL_MAX_RANGES];
	size_t n_ranges; /* 0: every VF */
};

struct sel {
	char **vendors, **devices, **drivers, **pci_addrs, **link_types; /* NULL: any */
	struct sel_pf *pf_names, *root_devs;
	size_t n_pf_names, n_root_devs;
	char vdpa_type[8]; /* "" any */
	struct sel **alt;  /* `selectors:` list: a device matching any item matches */
	size_t n_alt;
	bool need_vhost_net;
};

static void pf_items_free(struct sel_pf *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		if (v[i].has_re)
			regfree(&v[i].re);
	}
	free(v);
}

void sel_free(struct sel *s)
{
	if (!s)
		return;
	cfg_strv_free(s->vendors);
	cfg_strv_free(s->devices);
	cfg_strv_free(s->drivers);
	cfg_strv_free(s->pci_addrs);
	cfg_strv_free(s->link_types);
	pf_items_free(s->pf_names, s->n_pf_names);
	pf_items_free(s->root_devs, s->n_root_devs);
	for (size_t i = 0; i < s->n_alt; i++)
		sel_free(s->alt[i]);
	free(s->alt);
	free(s);
}

bool sel_need_vhost_net(const struct sel *s)
{
	return s->need_vhost_net;
}

static bool sel_has_flat(const struct sel *s)
{
	return s->vendors || s->devices || s->drivers || s->pci_addrs || s->link_types ||
	       s->n_pf_names || s->n_root_devs || s->vdpa_type[0];
}

/* `selectors: [{...}, ...]` (sriov-network-device-plugin's list form): each item a selector
 * set of its own. */
static int parse_alternatives(
        const struct cfg_node *pool, bool vdpa, struct sel *s, struct kb_err *err)
{
	struct cfg_node list, it;
	size_t n;
	int r;

	if (cfg_map_get(pool, "selectors", &list) < 0)
		return 0;
	if (!cfg_node_is_seq(&list) || (n = cfg_seq_len(&list)) == 0 || n > SEL_MAX_ALT)
		return cfg_node_error(&list, "selectors", err,
		        "must be a list of 1 to %d selector mappings", SEL_MAX_ALT);
	if (!(s->alt = calloc(n, sizeof(*s->alt))))
		return kb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		cfg_seq_at(&list, i, &it);
		if ((r = cfg_map_check(
		             &it, "selectors[]", vdpa ? item_keys_vdpa : item_keys_vf, err)) < 0 ||
		        (r = sel_parse(&it, vdpa, &s->alt[i], err)) < 0)
			return r;
		s->n_alt++;
	}
	return 0;
}

static int key_error(const struct cfg_node *pool, const char *key, struct kb_err *err,
        const char *fmt, const char *item, const char *why)
{
	struct cfg_node k;

	cfg_map_get(pool, key, &k);
	return cfg_node_error(&k, key, err, fmt, item, why);
}

/* "0x8086" / "8086" -> "8086" */
static int normalize_ids(const struct cfg_node *pool, const char *key, char **v, struct kb_err *err)
{
	for (; v && *v; v++) {
		char *s = *v;
		size_t off = (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) ? 2 : 0;
		size_t len = strlen(s + off);
		if (len == 0 || len > 4)
			return key_error(pool, key, err, "'%s': %s", s, "must be a 4-digit hex ID");
		for (size_t i = 0; i < len; i++) {
			if (!isxdigit((unsigned char)s[off + i]))
				return key_error(
				        pool, key, err, "'%s': %s", s, "must be a 4-digit hex ID");
			s[i] = tolower((unsigned char)s[off + i]);
		}
		s[len] = '\0';
	}
	return 0;
}

/* "0-3,7" */
static int parse_ranges(const char *s, struct sel_pf *it)
{
	const char *p = s;

	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		unsigned long lo, hi;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		lo = strtoul(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			hi = strtoul(p, &end, 10);
			p = end;
		}
		if (lo > hi || hi >= PCI_MAX_VFS || it->n_ranges == SEL_MAX_RANGES)
			return -EINVAL;
		it->ranges[it->n_ranges++] = (struct sel_range){lo, hi};
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
		else
			break;
		if (!*p)
			return -EINVAL; /* trailing comma */
	}
	return 0;
}

/*
 * glibc compiles x+ as xx* and x{n,m} as m copies of x: stacked or nested, a 128-byte pattern
 * takes gigabytes and seconds to compile (at load and at every reload). Names need none of
 * that: refuse {n,m}, a quantifier on a quantifier, and + on a group.
 */
static bool regex_too_costly(const char *s)
{
	enum { OTHER, QUANT, GROUP_END } prev = OTHER;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			prev = OTHER;
		} else if (*s == '[') { /* a bracket expression: literal characters */
			const char *p = s + 1 + (s[1] == '^');
			p += *p == ']';
			while (*p && *p != ']')
				p++;
			if (!*p)
				return false; /* regcomp says what is wrong */
			s = p;
			prev = OTHER;
		} else if (*s == '{') {
			return true;
		} else if (*s == '*' || *s == '+' || *s == '?') {
			if (prev == QUANT || (*s == '+' && prev == GROUP_END))
				return true;
			prev = QUANT;
		} else {
			prev = *s == ')' ? GROUP_END : OTHER;
		}
	}
	return false;
}

static int parse_pf_items(const struct cfg_node *pool, const char *key, bool pci,
        struct sel_pf **ret, size_t *ret_n, struct kb_err *err)
{
	char **v = NULL;
	struct sel_pf *items;
	size_t n;
	int r;

	r = cfg_get_strv(pool, key, 128, &v, &n, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (n == 0 || n > SEL_MAX_ITEMS) {
		cfg_strv_free(v);
		return key_error(pool, key, err, "%s%s", "", "needs 1 to 256 items");
	}
	if (!(items = calloc(n, sizeof(*items)))) {
		cfg_strv_free(v);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct sel_pf *it = &items[i];
		char *hash = strchr(v[i], '#');
		if (hash) {
			*hash = '\0';
			if (parse_ranges(hash + 1, it) < 0) {
				*hash = '#';
				r = key_error(pool, key, err, "'%s': %s", v[i],
				        "VF indexes must look like name#0-3,7");
				goto fail;
			}
		}
		if (!*v[i]) {
			r = key_error(pool, key, err, "'%s': %s", v[i], "empty name");
			goto fail;
		}
		if (pci) {
			if (!pci_addr_valid(v[i])) {
				r = key_error(pool, key, err, "'%s': %s", v[i],
				        "must be a PCI address dddd:bb:dd.f");
				goto fail;
			}
		} else if (regex_too_costly(v[i])) {
			r = key_error(pool, key, err, "'%s': %s", v[i],
			        "regular expression too costly to compile ({n,m}, a quantifier on "
			        "a "
			        "quantifier or + on a group)");
			goto fail;
		} else if (regcomp(&it->re, v[i], REG_EXTENDED | REG_NOSUB) == 0) {
			it->has_re = true;
		} else {
			r = key_error(pool, key, err, "'%s': %s", v[i],
			        "neither a plain name nor a valid regular expression");
			goto fail;
		}
		if (!(it->name = strdup(v[i]))) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
	}
	cfg_strv_free(v);
	*ret = items;
	*ret_n = n;
	return 0;
fail:
	cfg_strv_free(v);
	pf_items_free(items, n);
	return r;
}

static int get_list(const struct cfg_node *pool, const char *key, char ***ret, struct kb_err *err)
{
	size_t n;
	int r = cfg_get_strv(pool, key, 64, ret, &n, err);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (n == 0) {
		cfg_strv_free(*ret);
		*ret = NULL;
		return key_error(pool, key, err, "%s%s", "",
		        "an empty list would match nothing; remove the key to match all");
	}
	return 0;
}

int sel_parse(const struct cfg_node *pool, bool vdpa, struct sel **ret, struct kb_err *err)
{
	struct sel *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return kb_err_set(err, ENOMEM, "out of memory");
	if ((r = get_list(pool, "vendors", &s->vendors, err)) < 0 ||
	        (r = normalize_ids(pool, "vendors", s->vendors, err)) < 0 ||
	        (r = get_list(pool, "devices", &s->devices, err)) < 0 ||
	        (r = normalize_ids(pool, "devices", s->devices, err)) < 0 ||
	        (r = get_list(pool, "drivers", &s->drivers, err)) < 0 ||
	        (r = get_list(pool, "pciAddresses", &s->pci_addrs, err)) < 0 ||
	        (r = get_list(pool, "linkTypes", &s->link_types, err)) < 0 ||
	        (r = parse_pf_items(pool, "pfNames", false, &s->pf_names, &s->n_pf_names, err)) <
	                0 ||
	        (r = parse_pf_items(
	                 pool, "rootDevices", true, &s->root_devs, &s->n_root_devs, err)) < 0)
		goto fail;
	for (char **a = s->pci_addrs; a && *a; a++) {
		if (!pci_addr_valid(*a)) {
			r = key_error(pool, "pciAddresses", err, "'%s': %s", *a,
			        "must be a PCI address dddd:bb:dd.f");
			goto fail;
		}
	}
	if ((r = parse_alternatives(pool, vdpa, s, err)) < 0 ||
	        (r = cfg_opt_bool(pool, "needVhostNet", &s->need_vhost_net, err)) < 0)
		goto fail;
	if (vdpa) {
		r = cfg_get_str(pool, "vdpaType", s->vdpa_type, sizeof(s->vdpa_type), err);
		if (r < 0 && r != -ENOENT)
			goto fail;
		if (r == 0 && strcmp(s->vdpa_type, "vhost") && strcmp(s->vdpa_type, "virtio")) {
			r = key_error(pool, "vdpaType", err, "'%s': %s", s->vdpa_type,
			        "must be vhost or virtio");
			goto fail;
		}
	}
	if (s->n_alt && sel_has_flat(s)) {
		r = key_error(pool, "selectors", err, "%s%s",
		        "selector keys go either in the pool or in `selectors:` items", "");
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	sel_free(s);
	return r < 0 ? r : -EINVAL;
}

static bool in_list(char **v, const char *s, bool icase)
{
	if (!v)
		return true;
	if (!s)
		return false;
	for (; *v; v++)
		if (icase ? !strcasecmp(*v, s) : !strcmp(*v, s))
			return true;
	return false;
}

static bool in_ranges(const struct sel_pf *it, int idx)
{
	if (it->n_ranges == 0)
		return true;
	if (idx < 0)
		return false;
	for (size_t i = 0; i < it->n_ranges; i++)
		if ((unsigned)idx >= it->ranges[i].lo && (unsigned)idx <= it->ranges[i].hi)
			return true;
	return false;
}

/* As the Go plugin: the first item whose name matches decides (ranges included). */
static bool match_pf(const struct sel_pf *v, size_t n, const char *name, int idx)
{
	if (!v)
		return true;
	if (!name || !*name)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool hit = !strcasecmp(v[i].name, name) ||
		           (v[i].has_re && regexec(&v[i].re, name, 0, NULL, 0) == 0);
		if (hit)
			return in_ranges(&v[i], idx);
	}
	return false;
}

bool sel_match(const struct sel *s, const struct sel_dev *d)
{
	for (size_t i = 0; i < s->n_alt; i++)
		if (sel_match(s->alt[i], d))
			return true;
	if (s->n_alt)
		return false;
	return in_list(s->vendors, d->vendor, true) && in_list(s->devices, d->device, true) &&
	       in_list(s->drivers, d->driver, false) && in_list(s->pci_addrs, d->pci_addr, true) &&
	       in_list(s->link_types, d->link_type, true) &&
	       match_pf(s->pf_names, s->n_pf_names, d->pf_name, d->vf_index) &&
	       match_pf(s->root_devs, s->n_root_devs, d->pf_addr, d->vf_index) &&
	       (!s->vdpa_type[0] || (d->vdpa_type && !strcmp(s->vdpa_type, d->vdpa_type)));
}
