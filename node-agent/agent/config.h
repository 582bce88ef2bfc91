/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agent configuration: YAML (libyaml) into typed settings. Core keys are parsed here; modules
 * register their own top-level sections (pools, fastpath, devicePlugin, ...) whose parsers run
 * while loading, so every error - unknown key, bad value - is found at load time and names the
 * key, line and column. A loaded struct cfg is immutable; reload builds a new one.
 */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "common/queue.h"

#include "common/err.h"
#include "common/log.h"

#define CFG_DEFAULT_PATH "/etc/kbnet/agent.yaml"
#define CFG_MAX_FILE     (1024 * 1024)
/* libyaml's scanner costs O(nesting) per token: without a bound a 400 KB file of "[[[[..."
 * takes minutes (and a SIGHUP reload stalls the API meanwhile). Checked in a streaming pass
 * that stops at the first violation, before the document is built. */
#define CFG_MAX_DEPTH 32     /* nested mappings/sequences */
#define CFG_MAX_NODES 200000 /* scalars, mappings, sequences and aliases */

struct cfg_core {
	char api_socket[108]; /* sun_path */
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char resource_prefix[64];
	char sysfs_root[PATH_MAX]; /* "/sys": device discovery reads here */
	char dev_root[PATH_MAX];   /* "/dev": device nodes handed to pods */
	enum log_level log_level;
	unsigned api_max_clients;
	unsigned api_idle_timeout_ms;
	unsigned api_root_reserved; /* of api_max_clients, slots only uid 0 peers may take */
	unsigned api_max_output;    /* bytes of replies queued for all clients together */
};

struct cfg;

/* A YAML node inside a loaded document, handed to section parsers. */
struct cfg_node {
	const struct cfg *cfg;
	void *node; /* yaml_node_t * */
};

struct cfg_section {
	const char *key;
	/* node is NULL when the section is absent (apply defaults). Return a malloc'd struct, or
	 * NULL with err set. */
	void *(*parse)(const struct cfg_node *node, struct kb_err *err);
	void (*free)(void *data);
	STAILQ_ENTRY(cfg_section) next;
};

/* Called from constructors: a module's section becomes a valid top-level key. */
void cfg_section_register(struct cfg_section *sec);
#define CFG_SECTION_REGISTER(sec)                                         \
	static void __attribute__((constructor)) cfg_register_##sec(void) \
	{                                                                 \
		cfg_section_register(&(sec));                             \
	}

/* Embedded default configuration (node-agent/agent/default.yaml). */
extern const char cfg_default_yaml[];

int cfg_load_file(const char *path, struct cfg **ret, struct kb_err *err);
/* `name` is used in error messages ("<embedded>"). */
int cfg_load_string(const char *text, const char *name, struct cfg **ret, struct kb_err *err);
void cfg_free(struct cfg *cfg);

const struct cfg_core *cfg_core(const struct cfg *cfg);
const char *cfg_source(const struct cfg *cfg); /* file path or "<embedded>" */
/* Parsed data of a registered section (never NULL after a successful load). */
void *cfg_section_data(const struct cfg *cfg, const char *key);

/* Node helpers for section parsers. All errors read "<file>:<line>:<col>: <key>: <why>". */
bool cfg_node_is_map(const struct cfg_node *n);
bool cfg_node_is_seq(const struct cfg_node *n);
bool cfg_node_is_scalar(const struct cfg_node *n);
/* NULL unless a scalar. */
const char *cfg_node_scalar(const struct cfg_node *n);
unsigned cfg_node_line(const struct cfg_node *n);
int cfg_node_error(const struct cfg_node *n, const char *key, struct kb_err *err, const char *fmt,
        ...) __attribute__((format(printf, 4, 5)));

/* Every key of map must be in allowed (NULL-terminated); a map is required. */
int cfg_map_check(const struct cfg_node *map, const char *what, const char *const *allowed,
        struct kb_err *err);
/* 0 and *ret when key present, -ENOENT when absent. */
int cfg_map_get(const struct cfg_node *map, const char *key, struct cfg_node *ret);

/* Typed getters: -ENOENT when absent (output untouched), -EINVAL with err on a bad value. */
int cfg_get_str(
        const struct cfg_node *map, const char *key, char *buf, size_t size, struct kb_err *err);
int cfg_get_uint(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
        uint64_t *ret, struct kb_err *err);
int cfg_get_int(const struct cfg_node *map, const char *key, int64_t min, int64_t max, int64_t *ret,
        struct kb_err *err);
int cfg_get_bool(const struct cfg_node *map, const char *key, bool *ret, struct kb_err *err);
/* A sequence of scalars, each at most max_len bytes; *ret is a NULL-terminated malloc'd
 * array of malloc'd strings (free with cfg_strv_free). */
int cfg_get_strv(const struct cfg_node *map, const char *key, size_t max_len, char ***ret,
        size_t *ret_n, struct kb_err *err);
void cfg_strv_free(char **v);

/* Optional keys: absent leaves *ret (the default) untouched and returns 0; a bad value returns
 * -EINVAL with err naming key, line and column. */
int cfg_opt_uint(const struct cfg_node *map, const char *key, uint64_t min, uint64_t max,
        unsigned *ret, struct kb_err *err);
int cfg_opt_bool(const struct cfg_node *map, const char *key, bool *ret, struct kb_err *err);
int cfg_opt_str(
        const struct cfg_node *map, const char *key, char *buf, size_t size, struct kb_err *err);
/* An absolute path without ".."; allow_empty also accepts "" (a feature switched off). */
int cfg_opt_path(const struct cfg_node *map, const char *key, char *buf, size_t size,
        bool allow_empty, struct kb_err *err);

/* A standalone document (YAML or JSON text) walked with the node helpers above, e.g. a file
 * a section imports: no core keys, no sections. `name` prefixes error messages. Free with
 * cfg_free. */
int cfg_doc_load(const char *text, size_t len, const char *name, struct cfg **ret,
        struct cfg_node *ret_root, struct kb_err *err);

size_t cfg_seq_len(const struct cfg_node *seq);
void cfg_seq_at(const struct cfg_node *seq, size_t i, struct cfg_node *ret);

#endif
