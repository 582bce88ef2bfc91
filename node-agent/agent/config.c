/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/config.h"
#include "api/api.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"
#include "common/validate.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static STAILQ_HEAD(, cfg_section) sections = STAILQ_HEAD_INITIALIZER(sections);

struct cfg_data {
	struct cfg_section *sec;
	void *data;
};

struct cfg {
	char *source;
	yaml_document_t doc;
	bool doc_loaded;
	struct cfg_core core;
	struct cfg_data *data;
	size_t n_data;
};

void cfg_section_register(struct cfg_section *sec)
{
	STAILQ_INSERT_TAIL(&sections, sec, next);
}

static yaml_node_t *N(const struct cfg_node *n)
{
	return n->node;
}

bool cfg_node_is_map(const struct cfg_node *n)
{
	return n->node && N(n)->type == YAML_MAPPING_NODE;
}

bool cfg_node_is_seq(const struct cfg_node *n)
{
	return n->node && N(n)->type == YAML_SEQUENCE_NODE;
}

bool cfg_node_is_scalar(const struct cfg_node *n)
{
	return n->node && N(n)->type == YAML_SCALAR_NODE;
}

const char *cfg_node_scalar(const struct cfg_node *n)
{
	return cfg_node_is_scalar(n) ? (const char *)N(n)->data.scalar.value : NULL;
}

unsigned cfg_node_line(const struct cfg_node *n)
{
	return n->node ? N(n)->start_mark.line + 1 : 0;
}

int cfg_node_error(
        const struct cfg_node *n, const char *key, struct kb_err *err, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!n->node)
		return kb_err_set(err, EINVAL, "%s: %s: %s", n->cfg->source, key ? key : "-", why);
	return kb_err_set(err, EINVAL, "%s:%zu:%zu: %s: %s", n->cfg->source,
	        N(n)->start_mark.line + 1, N(n)->start_mark.column + 1, key ? key : "-", why);
}

static yaml_node_t *doc_node(const struct cfg *cfg, int idx)
{
	return yaml_document_get_node((yaml_document_t *)&cfg->doc, idx);
}

int cfg_map_check(const struct cfg_node *map, const char *what, const char *const *allowed,
        struct kb_err *err)
{
	yaml_node_pair_t *p;

	if (!cfg_node_is_map(map))
		return cfg_node_error(map, what, err, "must be a mapping");
	for (p = N(map)->data.mapping.pairs.start; p < N(map)->data.mapping.pairs.top; p++) {
		struct cfg_node k = {map->cfg, doc_node(map->cfg, p->key)};
		const char *key = cfg_node_scalar(&k);
		bool ok = false;

		if (!key)
			return cfg_node_error(&k, what, err, "keys must be plain strings");
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok)
			return cfg_node_error(&k, key, err, "unknown key in %s", what);
		/* Duplicate keys are a common copy-paste error: reject them. */
		for (yaml_node_pair_t *q = N(map)->data.mapping.pairs.start; q < p; q++) {
			struct cfg_node k2 = {map->cfg, doc_node(map->cfg, q->key)};
			const char *s = cfg_node_scalar(&k2);
			if (s && strcmp(s, key) == 0)
				return cfg_node_error(&k, key, err, "duplicate key");
		}
	}
	return 0;
}

int cfg_map_get(const struct cfg_node *map, const char *key, struct cfg_node *ret)
{
	yaml_node_pair_t *p;

	if (!cfg_node_is_map(map))
		return -ENOENT;
	for (p = N(map)->data.mapping.pairs.start; p < N(map)->data.mapping.pairs.top; p++) {
		struct cfg_node k = {map->cfg, doc_node(map->cfg, p->key)};
		const char *s = cfg_node_scalar(&k);
		if (s && strcmp(s, key) == 0) {
			ret->cfg = map->cfg;
			ret->node = doc_node(map->cfg, p->value);
			return 0;
		}
	}
	return -ENOENT;
}

static int get_scalar(const struct cfg_node *map, const char *key, struct cfg_node *n,
        const char **ret, struct kb_err *err)
{
	if (cfg_map_get(map, key, n) < 0)
		return -ENOENT;
	if (!(*ret = cfg_node_scalar(n)))
		return cfg_node_error(n, key, err, "must be a scalar value");
	return 0;
}

int cfg_get_str(
        const struct cfg_node *map, const char *key, char *buf, size_t size, struct kb_err *err)
{
	struct cfg_node n;
	const char *s;
	int r;

	if ((r = get_scalar(map, key, &n, &s, err)) < 0)
		return r;
	if (strlen(s) >= size)
		return cfg_node_error(&n, key, err, "longer than %zu bytes", size - 1);
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int cfg_get_uint(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
        uint64_t *ret, struct kb_err *err)
{
	struct cfg_node n;
	const char *s;
	uint64_t v;
	int r;

	if ((r = get_scalar(map, key, &n, &s, err)) < 0)
		return r;
	if (str_to_u64(s, min, max, &v) < 0)
		return cfg_node_error(&n, key, err,
		        "must be an integer between %" PRIu64 " and %" PRIu64, min, max);
	*ret = v;
	return 0;
}

int cfg_get_int(const struct cfg_node *map, const char *key, int64_t min, int64_t max, int64_t *ret,
        struct kb_err *err)
{
	struct cfg_node n;
	const char *s;
	uint64_t v;
	bool neg;
	int r;

	if ((r = get_scalar(map, key, &n, &s, err)) < 0)
		return r;
	neg = s[0] == '-';
	if (str_to_u64(s + neg, 0, (uint64_t)INT64_MAX, &v) < 0 ||
	        (neg ? -(int64_t)v < min : (int64_t)v > max))
		return cfg_node_error(&n, key, err,
		        "must be an integer between %" PRId64 " and %" PRId64, min, max);
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int cfg_get_bool(const struct cfg_node *map, const char *key, bool *ret, struct kb_err *err)
{
	struct cfg_node n;
	const char *s;
	int r;

	if ((r = get_scalar(map, key, &n, &s, err)) < 0)
		return r;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		*ret = true;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		*ret = false;
	else
		return cfg_node_error(&n, key, err, "must be true or false");
	return 0;
}

void cfg_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int cfg_get_strv(const struct cfg_node *map, const char *key, size_t max_len, char ***ret,
        size_t *ret_n, struct kb_err *err)
{
	struct cfg_node seq;
	char **v;
	size_t n;

	if (cfg_map_get(map, key, &seq) < 0)
		return -ENOENT;
	if (!cfg_node_is_seq(&seq))
		return cfg_node_error(&seq, key, err, "must be a list");
	n = cfg_seq_len(&seq);
	if (!(v = calloc(n + 1, sizeof(*v))))
		return kb_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct cfg_node it;
		const char *s;
		cfg_seq_at(&seq, i, &it);
		if (!(s = cfg_node_scalar(&it)) || strlen(s) > max_len || !*s) {
			cfg_strv_free(v);
			return cfg_node_error(&it, key, err,
			        "items must be non-empty strings of at most %zu bytes", max_len);
		}
		if (!(v[i] = strdup(s))) {
			cfg_strv_free(v);
			return kb_err_set(err, ENOMEM, "out of memory");
		}
	}
	*ret = v;
	if (ret_n)
		*ret_n = n;
	return 0;
}

int cfg_opt_uint(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
        unsigned *ret, struct kb_err *err)
{
	uint64_t v = 0;
	int r = cfg_get_uint(map, key, min, max > UINT_MAX ? UINT_MAX : max, &v, err);

	if (r == 0)
		*ret = v;
	return r == -ENOENT ? 0 : r;
}

int cfg_opt_bool(const struct cfg_node *map, const char *key, bool *ret, struct kb_err *err)
{
	int r = cfg_get_bool(map, key, ret, err);

	return r == -ENOENT ? 0 : r;
}

int cfg_opt_str(
        const struct cfg_node *map, const char *key, char *buf, size_t size, struct kb_err *err)
{
	int r = cfg_get_str(map, key, buf, size, err);

	return r == -ENOENT ? 0 : r;
}

int cfg_opt_path(const struct cfg_node *map, const char *key, char *buf, size_t size,
        bool allow_empty, struct kb_err *err)
{
	struct cfg_node n;
	const char *why;
	int r = cfg_get_str(map, key, buf, size, err);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if ((buf[0] || !allow_empty) && !val_abs_path(buf, &why)) {
		cfg_map_get(map, key, &n);
		return cfg_node_error(&n, key, err, "%s", why);
	}
	return 0;
}

size_t cfg_seq_len(const struct cfg_node *seq)
{
	if (!cfg_node_is_seq(seq))
		return 0;
	return N(seq)->data.sequence.items.top - N(seq)->data.sequence.items.start;
}

void cfg_seq_at(const struct cfg_node *seq, size_t i, struct cfg_node *ret)
{
	ret->cfg = seq->cfg;
	ret->node = doc_node(seq->cfg, N(seq)->data.sequence.items.start[i]);
}

static const char *const core_keys[] = {"apiSocket", "stateDir", "runDir", "resourcePrefix",
        "sysfsRoot", "devRoot", "logLevel", "api", NULL};

static int parse_core(struct cfg *cfg, const struct cfg_node *root, struct kb_err *err)
{
	struct cfg_core *c = &cfg->core;
	char level[16];
	struct cfg_node n, api;
	const char *why;
	int r;

	str_copy(c->api_socket, sizeof(c->api_socket), API_DEFAULT_SOCKET);
	str_copy(c->state_dir, sizeof(c->state_dir), "/var/lib/kbnet");
	str_copy(c->run_dir, sizeof(c->run_dir), "/run/kbnet");
	str_copy(c->resource_prefix, sizeof(c->resource_prefix), "kbnet.io");
	str_copy(c->sysfs_root, sizeof(c->sysfs_root), "/sys");
	str_copy(c->dev_root, sizeof(c->dev_root), "/dev");
	c->log_level = LOG_LVL_INFO;
	c->api_max_clients = 64;
	c->api_idle_timeout_ms = 30000;
	c->api_root_reserved = 8;
	c->api_max_output = 64 * 1024 * 1024;

	if ((r = cfg_opt_path(
	             root, "apiSocket", c->api_socket, sizeof(c->api_socket), false, err)) < 0 ||
	        (r = cfg_opt_path(
	                 root, "stateDir", c->state_dir, sizeof(c->state_dir), false, err)) < 0 ||
	        (r = cfg_opt_path(root, "runDir", c->run_dir, sizeof(c->run_dir), false, err)) <
	                0 ||
	        (r = cfg_opt_path(root, "sysfsRoot", c->sysfs_root, sizeof(c->sysfs_root), false,
	                 err)) < 0 ||
	        (r = cfg_opt_path(root, "devRoot", c->dev_root, sizeof(c->dev_root), false, err)) <
	                0)
		return r;
	if ((r = cfg_opt_str(root, "resourcePrefix", c->resource_prefix, sizeof(c->resource_prefix),
	             err)) < 0)
		return r;
	/* A DNS subdomain: it becomes the first half of an extended resource name. */
	if (!val_k8s_name(c->resource_prefix, &why)) {
		cfg_map_get(root, "resourcePrefix", &n);
		return cfg_node_error(&n, "resourcePrefix", err, "%s", why);
	}
	r = cfg_get_str(root, "logLevel", level, sizeof(level), err);
	if (r == 0 && log_level_parse(level, &c->log_level) < 0) {
		cfg_map_get(root, "logLevel", &n);
		return cfg_node_error(&n, "logLevel", err, "must be error, warn, info or debug");
	}
	if (r < 0 && r != -ENOENT)
		return r;
	if (cfg_map_get(root, "api", &api) == 0) {
		static const char *const keys[] = {"maxClients", "idleTimeoutMs",
		        "rootReservedClients", "maxOutputBytes", NULL};
		if ((r = cfg_map_check(&api, "api", keys, err)) < 0)
			return r;
		if ((r = cfg_opt_uint(&api, "maxClients", 1, 4096, &c->api_max_clients, err)) < 0 ||
		        (r = cfg_opt_uint(&api, "idleTimeoutMs", 100, 3600000,
		                 &c->api_idle_timeout_ms, err)) < 0 ||
		        (r = cfg_opt_uint(&api, "maxOutputBytes", 65536, 1U << 30,
		                 &c->api_max_output, err)) < 0)
			return r;
		/* Default: 8 slots for root (kbnet-cni), fewer when there are few at all. */
		c->api_root_reserved = c->api_max_clients / 4 < 8 ? c->api_max_clients / 4 : 8;
		if ((r = cfg_opt_uint(
		             &api, "rootReservedClients", 0, 4095, &c->api_root_reserved, err)) < 0)
			return r;
		if (c->api_root_reserved >= c->api_max_clients) {
			cfg_map_get(&api, "rootReservedClients", &n);
			return cfg_node_error(&n, "rootReservedClients", err,
			        "must be less than maxClients (%u)", c->api_max_clients);
		}
	}
	return 0;
}

static int check_top_keys(const struct cfg_node *root, struct kb_err *err)
{
	yaml_node_pair_t *p;

	if (!cfg_node_is_map(root))
		return cfg_node_error(root, "(top level)", err, "must be a mapping");
	for (p = N(root)->data.mapping.pairs.start; p < N(root)->data.mapping.pairs.top; p++) {
		struct cfg_node k = {root->cfg, doc_node(root->cfg, p->key)};
		const char *key = cfg_node_scalar(&k);
		struct cfg_section *sec;
		bool ok = false;

		if (!key)
			return cfg_node_error(&k, "(top level)", err, "keys must be plain strings");
		for (size_t i = 0; core_keys[i] && !ok; i++)
			ok = strcmp(core_keys[i], key) == 0;
		STAILQ_FOREACH (sec, &sections, next)
			ok = ok || strcmp(sec->key, key) == 0;
		if (!ok)
			return cfg_node_error(&k, key, err, "unknown key");
		for (yaml_node_pair_t *q = N(root)->data.mapping.pairs.start; q < p; q++) {
			struct cfg_node k2 = {root->cfg, doc_node(root->cfg, q->key)};
			if (cfg_node_scalar(&k2) && strcmp(cfg_node_scalar(&k2), key) == 0)
				return cfg_node_error(&k, key, err, "duplicate key");
		}
	}
	return 0;
}

/*
 * Bound the document before libyaml builds it: the event stream is read once, counting the
 * nesting depth and the nodes, and stops at the first event past a limit, so the scanner
 * never holds more than CFG_MAX_DEPTH flow levels (its per-token cost) and the whole pass
 * is linear in the input.
 */
static int check_limits(struct cfg *cfg, const char *text, size_t len, struct kb_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0;
	size_t nodes = 0;
	int r = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return kb_err_set(err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && r == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			r = kb_err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s",
			        cfg->source, parser.problem_mark.line + 1,
			        parser.problem_mark.column + 1,
			        parser.problem ? parser.problem : "unknown");
			break;
		}
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CFG_MAX_DEPTH)
				r = kb_err_set(err, EINVAL,
				        "%s:%zu:%zu: nested deeper than %d levels", cfg->source,
				        ev.start_mark.line + 1, ev.start_mark.column + 1,
				        CFG_MAX_DEPTH);
			/* fall through */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (r == 0 && ++nodes > CFG_MAX_NODES)
				r = kb_err_set(err, EINVAL, "%s:%zu:%zu: more than %d nodes",
				        cfg->source, ev.start_mark.line + 1,
				        ev.start_mark.column + 1, CFG_MAX_NODES);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return r;
}

static int parse_yaml(struct cfg *cfg, const char *text, size_t len, struct kb_err *err)
{
	yaml_parser_t parser;
	int r = 0;

	if ((r = check_limits(cfg, text, len, err)) < 0)
		return r;
	if (!yaml_parser_initialize(&parser))
		return kb_err_set(err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &cfg->doc)) {
		r = kb_err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", cfg->source,
		        parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		        parser.problem ? parser.problem : "unknown");
	} else {
		cfg->doc_loaded = true;
	}
	yaml_parser_delete(&parser);
	return r;
}

int cfg_load_string(const char *text, const char *name, struct cfg **ret, struct kb_err *err)
{
	struct cfg *cfg;
	struct cfg_node root;
	struct cfg_section *sec;
	size_t n = 0;
	int r;

	if (!(cfg = calloc(1, sizeof(*cfg))) || !(cfg->source = strdup(name))) {
		free(cfg);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	if ((r = parse_yaml(cfg, text, strlen(text), err)) < 0)
		goto fail;
	root.cfg = cfg;
	root.node = yaml_document_get_root_node(&cfg->doc);
	if (!root.node) {
		/* An empty file is an empty mapping: all defaults. */
		yaml_document_delete(&cfg->doc);
		cfg->doc_loaded = false;
		if ((r = parse_yaml(cfg, "{}", 2, err)) < 0)
			goto fail;
		root.node = yaml_document_get_root_node(&cfg->doc);
	}
	if ((r = check_top_keys(&root, err)) < 0 || (r = parse_core(cfg, &root, err)) < 0)
		goto fail;
	STAILQ_FOREACH (sec, &sections, next)
		n++;
	if (!(cfg->data = calloc(n ? n : 1, sizeof(*cfg->data)))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	STAILQ_FOREACH (sec, &sections, next) {
		struct cfg_node sn = {cfg, NULL};
		void *data;
		cfg_map_get(&root, sec->key, &sn);
		if (!(data = sec->parse(sn.node ? &sn : NULL, err))) {
			r = -(err->errnum ? err->errnum : EINVAL);
			goto fail;
		}
		cfg->data[cfg->n_data].sec = sec;
		cfg->data[cfg->n_data++].data = data;
	}
	*ret = cfg;
	return 0;
fail:
	cfg_free(cfg);
	return r;
}

int cfg_doc_load(const char *text, size_t len, const char *name, struct cfg **ret,
        struct cfg_node *ret_root, struct kb_err *err)
{
	struct cfg *cfg;
	int r;

	if (!(cfg = calloc(1, sizeof(*cfg))) || !(cfg->source = strdup(name))) {
		free(cfg);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	if ((r = parse_yaml(cfg, text, len, err)) < 0) {
		cfg_free(cfg);
		return r;
	}
	ret_root->cfg = cfg;
	if (!(ret_root->node = yaml_document_get_root_node(&cfg->doc))) {
		cfg_free(cfg);
		return kb_err_set(err, EINVAL, "%s: empty document", name);
	}
	*ret = cfg;
	return 0;
}

int cfg_load_file(const char *path, struct cfg **ret, struct kb_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = fs_read_file(path, CFG_MAX_FILE, &text, &len);
	if (r == -EFBIG)
		return kb_err_set(err, EFBIG, "%s: larger than %d bytes", path, CFG_MAX_FILE);
	if (r < 0)
		return kb_err_set(err, -r, "%s: %s", path, strerror(-r));
	if (strlen(text) != len)
		return kb_err_set(err, EINVAL, "%s: contains a NUL byte", path);
	return cfg_load_string(text, path, ret, err);
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_data; i++)
		if (cfg->data[i].sec->free)
			cfg->data[i].sec->free(cfg->data[i].data);
	free(cfg->data);
	if (cfg->doc_loaded)
		yaml_document_delete(&cfg->doc);
	free(cfg->source);
	free(cfg);
}

const struct cfg_core *cfg_core(const struct cfg *cfg)
{
	return &cfg->core;
}

const char *cfg_source(const struct cfg *cfg)
{
	return cfg->source;
}

void *cfg_section_data(const struct cfg *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_data; i++)
		if (strcmp(cfg->data[i].sec->key, key) == 0)
			return cfg->data[i].data;
	return NULL;
}
