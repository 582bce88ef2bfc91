/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/fastpath/fp_config.h"
#include "common/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"enabled", "workers", "memory", "memoryMB", "mbufs", "mbufCache",
        "burst", "idlePolls", "idleSleepMaxUs", "maxPorts", "statsIntervalMs", "watchdogMs",
        "filePrefix", "eal", "uplink", "mbufSize", "networks", "copyMode", "idleWait", NULL};
static const char *const network_keys[] = {"name", "trunk", "vlanQoS", NULL};
static const char *const uplink_keys[] = {"devargs", "mtu", "rxDesc", "txDesc", NULL};

const char *fp_memory_name(enum fp_memory m)
{
	return m == FP_MEM_HUGEPAGES ? "hugepages" : m == FP_MEM_NO_HUGE ? "no-huge" : "auto";
}

static void fp_cfg_free(void *data)
{
	struct fp_cfg *c = data;

	if (c)
		cfg_strv_free(c->eal);
	free(c);
}

/* Unsigned key with bounds; absent keeps the default. */
static int get_u(const struct cfg_node *n, const char *key, uint64_t min, uint64_t max,
        unsigned *ret, struct kb_err *err)
{
	uint64_t v;
	int r = cfg_get_uint(n, key, min, max, &v, err);

	if (r == 0)
		*ret = v;
	return r == -ENOENT ? 0 : r;
}

/* A key with two values: *ret = (value == yes); absent keeps the default. */
static int get_either(const struct cfg_node *n, const char *key, const char *yes, const char *no,
        bool *ret, struct kb_err *err)
{
	struct cfg_node k;
	char v[16];
	int r = cfg_get_str(n, key, v, sizeof(v), err);

	if (r == -ENOENT)
		return 0;
	if (r == 0 && (!strcmp(v, yes) || !strcmp(v, no))) {
		*ret = !strcmp(v, yes);
		return 0;
	}
	if (r < 0)
		return r;
	cfg_map_get(n, key, &k);
	return cfg_node_error(&k, key, err, "must be %s or %s", yes, no);
}

static int parse_workers(const struct cfg_node *n, struct fp_cfg *c, struct kb_err *err)
{
	struct cfg_node seq;
	size_t len;

	if (cfg_map_get(n, "workers", &seq) < 0)
		return 0;
	if (!cfg_node_is_seq(&seq))
		return cfg_node_error(&seq, "workers", err, "must be a list of CPU ids");
	len = cfg_seq_len(&seq);
	if (len < 1 || len > FP_MAX_WORKERS)
		return cfg_node_error(
		        &seq, "workers", err, "must list 1 to %d CPU ids", FP_MAX_WORKERS);
	for (size_t i = 0; i < len; i++) {
		struct cfg_node it;
		const char *s;
		uint64_t v;
		cfg_seq_at(&seq, i, &it);
		if (!(s = cfg_node_scalar(&it)) || str_to_u64(s, 0, 1023, &v) < 0)
			return cfg_node_error(&it, "workers", err, "CPU ids are integers 0..1023");
		for (size_t j = 0; j < i; j++)
			if (c->workers[j] == (int)v)
				return cfg_node_error(
				        &it, "workers", err, "CPU %d listed twice", (int)v);
		c->workers[i] = v;
	}
	c->n_workers = len;
	return 0;
}

/* networks: [{name, trunk: [VLAN ids], vlanQoS: 0..7}] */
static int parse_networks(const struct cfg_node *n, struct fp_cfg *c, struct kb_err *err)
{
	struct cfg_node seq;
	size_t len;
	int r;

	if (cfg_map_get(n, "networks", &seq) < 0)
		return 0;
	if (!cfg_node_is_seq(&seq))
		return cfg_node_error(
		        &seq, "networks", err, "must be a list of {name, trunk, vlanQoS}");
	len = cfg_seq_len(&seq);
	if (len > FP_MAX_NETWORKS)
		return cfg_node_error(
		        &seq, "networks", err, "at most %d networks", FP_MAX_NETWORKS);
	for (size_t i = 0; i < len; i++) {
		struct fp_net_cfg *nc = &c->networks[i];
		struct cfg_node it, tr;
		cfg_seq_at(&seq, i, &it);
		if ((r = cfg_map_check(&it, "networks[]", network_keys, err)) < 0)
			return r;
		if ((r = cfg_get_str(&it, "name", nc->name, sizeof(nc->name), err)) < 0) {
			if (r == -ENOENT)
				return cfg_node_error(&it, "networks[]", err, "'name' is required");
			return r;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->networks[j].name, nc->name))
				return cfg_node_error(&it, "networks[]", err,
				        "network %s listed twice", nc->name);
		if ((r = get_u(&it, "vlanQoS", 0, 7, &nc->pcp, err)) < 0)
			return r;
		if (cfg_map_get(&it, "trunk", &tr) == 0) {
			if (!cfg_node_is_seq(&tr))
				return cfg_node_error(
				        &tr, "trunk", err, "must be a list of VLAN ids (1..4094)");
			nc->has_trunk = true;
			for (size_t k = 0; k < cfg_seq_len(&tr); k++) {
				struct cfg_node v;
				const char *str;
				uint64_t vid;
				cfg_seq_at(&tr, k, &v);
				if (!(str = cfg_node_scalar(&v)) ||
				        str_to_u64(str, 0, 4094, &vid) < 0 || vid == 0)
					return cfg_node_error(
					        &v, "trunk", err, "VLAN ids are integers 1..4094");
				nc->trunk[vid >> 3] |= 1u << (vid & 7);
			}
		}
	}
	c->n_networks = len;
	return 0;
}

const struct fp_net_cfg *fp_cfg_network(const struct fp_cfg *c, const char *network)
{
	for (size_t i = 0; c && i < c->n_networks; i++)
		if (!strcmp(c->networks[i].name, network))
			return &c->networks[i];
	return NULL;
}

static void *fp_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct fp_cfg *c = calloc(1, sizeof(*c));
	struct cfg_node up;
	char mem[16];
	int r;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->memory = FP_MEM_AUTO;
	c->memory_mb = 256;
	c->mbufs = 16383;
	c->mbuf_cache = 256;
	c->burst = 32;
	c->mbuf_size = 2048 + 128; /* RTE_MBUF_DEFAULT_BUF_SIZE */
	c->idle_polls = 128;
	c->idle_sleep_max_us = 1000;
	c->idle_events = true;
	c->max_ports = 256;
	c->stats_interval_ms = 500;
	c->watchdog_ms = 5000;
	c->uplink.mtu = 1500;
	c->uplink.rx_desc = 1024;
	c->uplink.tx_desc = 1024;
	if (!node)
		return c;
	c->present = true;
	c->enabled = true;
	/* `fastpath:` with nothing after it: all defaults. */
	if (cfg_node_is_scalar(node) && !*cfg_node_scalar(node))
		return c;
	if ((r = cfg_map_check(node, FP_CFG_SECTION, keys, err)) < 0)
		goto fail;
	if (((r = cfg_get_bool(node, "enabled", &c->enabled, err)) < 0 && r != -ENOENT) ||
	        (r = parse_workers(node, c, err)) < 0 ||
	        (r = get_u(node, "memoryMB", 32, 65536, &c->memory_mb, err)) < 0 ||
	        (r = get_u(node, "mbufs", 1023, 4194303, &c->mbufs, err)) < 0 ||
	        (r = get_u(node, "mbufCache", 0, 512, &c->mbuf_cache, err)) < 0 ||
	        (r = get_u(node, "burst", 1, FP_MAX_BURST, &c->burst, err)) < 0 ||
	        (r = get_u(node, "mbufSize", 1024 + 128, 65535, &c->mbuf_size, err)) < 0 ||
	        (r = parse_networks(node, c, err)) < 0 ||
	        (r = get_u(node, "idlePolls", 0, 100000000, &c->idle_polls, err)) < 0 ||
	        (r = get_u(node, "idleSleepMaxUs", 1, 1000000, &c->idle_sleep_max_us, err)) < 0 ||
	        (r = get_u(node, "maxPorts", 1, FP_MAX_PORTS - 1, &c->max_ports, err)) < 0 ||
	        (r = get_u(node, "statsIntervalMs", 50, 60000, &c->stats_interval_ms, err)) < 0 ||
	        (r = get_u(node, "watchdogMs", 500, 600000, &c->watchdog_ms, err)) < 0)
		goto fail;
	if ((r = cfg_get_str(node, "memory", mem, sizeof(mem), err)) == 0) {
		if (!strcmp(mem, "auto")) {
			c->memory = FP_MEM_AUTO;
		} else if (!strcmp(mem, "hugepages")) {
			c->memory = FP_MEM_HUGEPAGES;
		} else if (!strcmp(mem, "no-huge")) {
			c->memory = FP_MEM_NO_HUGE;
		} else {
			struct cfg_node k;
			cfg_map_get(node, "memory", &k);
			cfg_node_error(&k, "memory", err, "must be auto, hugepages or no-huge");
			goto fail;
		}
	} else if (r != -ENOENT) {
		goto fail;
	}
	if ((r = get_either(node, "copyMode", "one", "two", &c->one_copy, err)) < 0 ||
	        (r = get_either(node, "idleWait", "events", "sleep", &c->idle_events, err)) < 0)
		goto fail;
	if ((r = cfg_get_str(node, "filePrefix", c->file_prefix, sizeof(c->file_prefix), err)) <
	                0 &&
	        r != -ENOENT)
		goto fail;
	for (const char *p = c->file_prefix; *p; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		        !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_') {
			struct cfg_node k;
			cfg_map_get(node, "filePrefix", &k);
			cfg_node_error(&k, "filePrefix", err, "only letters, digits, - and _");
			goto fail;
		}
	}
	if ((r = cfg_get_strv(node, "eal", 255, &c->eal, &c->n_eal, err)) < 0 && r != -ENOENT)
		goto fail;
	if (c->n_eal > FP_MAX_EAL_ARGS) {
		struct cfg_node k;
		cfg_map_get(node, "eal", &k);
		cfg_node_error(&k, "eal", err, "at most %d arguments", FP_MAX_EAL_ARGS);
		goto fail;
	}
	if (cfg_map_get(node, "uplink", &up) == 0 &&
	        !(cfg_node_is_scalar(&up) && !*cfg_node_scalar(&up))) {
		if ((r = cfg_map_check(&up, "uplink", uplink_keys, err)) < 0 ||
		        (r = cfg_get_str(&up, "devargs", c->uplink.devargs,
		                 sizeof(c->uplink.devargs), err)) < 0 ||
		        (r = get_u(&up, "mtu", 68, 9600, &c->uplink.mtu, err)) < 0 ||
		        (r = get_u(&up, "rxDesc", 64, 16384, &c->uplink.rx_desc, err)) < 0 ||
		        (r = get_u(&up, "txDesc", 64, 16384, &c->uplink.tx_desc, err)) < 0) {
			if (r == -ENOENT)
				cfg_node_error(&up, "uplink", err, "'devargs' is required");
			goto fail;
		}
	}
	return c;
fail:
	if (!err->errnum)
		kb_err_set(err, EINVAL, "fastpath: invalid");
	fp_cfg_free(c);
	return NULL;
}

static struct cfg_section fp_section = {
        .key = FP_CFG_SECTION,
        .parse = fp_cfg_parse,
        .free = fp_cfg_free,
};
CFG_SECTION_REGISTER(fp_section)

const struct fp_cfg *fp_cfg_get(const struct cfg *cfg)
{
	return cfg_section_data(cfg, FP_CFG_SECTION);
}

bool fp_cfg_needs_restart(const struct fp_cfg *a, const struct fp_cfg *b)
{
	if (a->enabled != b->enabled || a->n_workers != b->n_workers ||
	        memcmp(a->workers, b->workers, sizeof(a->workers)) || a->memory != b->memory ||
	        a->memory_mb != b->memory_mb || a->mbufs != b->mbufs ||
	        a->mbuf_cache != b->mbuf_cache || a->max_ports != b->max_ports ||
	        a->mbuf_size != b->mbuf_size || a->n_networks != b->n_networks ||
	        a->one_copy != b->one_copy ||
	        memcmp(a->networks, b->networks, sizeof(a->networks)) ||
	        strcmp(a->file_prefix, b->file_prefix) ||
	        memcmp(&a->uplink, &b->uplink, sizeof(a->uplink)) || a->n_eal != b->n_eal)
		return true;
	for (size_t i = 0; i < a->n_eal; i++)
		if (strcmp(a->eal[i], b->eal[i]))
			return true;
	return false;
}
