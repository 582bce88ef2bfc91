/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/inventory.h"
#include "agent/alloc.h"
#include "api/apimsg.h"
#include "common/cleanup.h"
#include "common/str.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static STAILQ_HEAD(, devtype_ops) devtypes = STAILQ_HEAD_INITIALIZER(devtypes);
static STAILQ_HEAD(, inv_observer) observers = STAILQ_HEAD_INITIALIZER(observers);
static TAILQ_HEAD(, pool) pools = TAILQ_HEAD_INITIALIZER(pools);
static struct hmap devices = HMAP_INITIALIZER(&devices);
static size_t n_pools;
static const struct cfg *cur_cfg;
static char resource_prefix[VAL_K8S_NAME_MAX + 1] = "kbnet.io";

void devtype_register(struct devtype_ops *ops)
{
	STAILQ_INSERT_TAIL(&devtypes, ops, next);
}

const struct devtype_ops *devtype_find(const char *name)
{
	struct devtype_ops *ops;

	STAILQ_FOREACH (ops, &devtypes, next)
		if (strcmp(ops->name, name) == 0)
			return ops;
	return NULL;
}

void inv_observer_register(struct inv_observer *obs)
{
	STAILQ_INSERT_TAIL(&observers, obs, next);
}

#define NOTIFY(cb, ...)                               \
	do {                                          \
		struct inv_observer *o_;              \
		STAILQ_FOREACH (o_, &observers, next) \
			if (o_->cb)                   \
				o_->cb(__VA_ARGS__);  \
	} while (0)

/* ---- "pools" configuration section ---- */

static void pools_cfg_free(void *data)
{
	struct pools_cfg *pc = data;

	if (!pc)
		return;
	for (size_t i = 0; i < pc->n; i++)
		if (pc->v[i].ops && pc->v[i].ops->pool_cfg_free)
			pc->v[i].ops->pool_cfg_free(pc->v[i].type_cfg);
	free(pc->v);
	free(pc);
}

static int parse_pool(const struct cfg_node *node, struct pool_cfg *pc, struct kb_err *err)
{
	static const char *const common[] = {
	        "name", "type", "devicePlugin", "topology", "resourcePrefix"};
	const char *allowed[64];
	char type[32];
	const char *why;
	size_t n = 0;
	int r;

	if (!cfg_node_is_map(node))
		return cfg_node_error(node, "pools[]", err, "each pool must be a mapping");
	r = cfg_get_str(node, "name", pc->name, sizeof(pc->name), err);
	if (r == -ENOENT)
		return cfg_node_error(node, "name", err, "every pool needs a name");
	if (r < 0)
		return r;
	if (!val_name(pc->name, &why)) {
		struct cfg_node k;
		cfg_map_get(node, "name", &k);
		return cfg_node_error(&k, "name", err, "%s", why);
	}
	r = cfg_get_str(node, "type", type, sizeof(type), err);
	if (r == -ENOENT)
		return cfg_node_error(node, "type", err, "pool %s needs a type", pc->name);
	if (r < 0)
		return r;
	if (!(pc->ops = devtype_find(type))) {
		struct cfg_node k;
		cfg_map_get(node, "type", &k);
		return cfg_node_error(&k, "type", err, "unknown device type '%s'", type);
	}
	for (size_t i = 0; i < ARRAY_SIZE(common); i++)
		allowed[n++] = common[i];
	for (size_t i = 0; pc->ops->pool_keys && pc->ops->pool_keys[i] && n < 63; i++)
		allowed[n++] = pc->ops->pool_keys[i];
	allowed[n] = NULL;
	if ((r = cfg_map_check(node, "pool", allowed, err)) < 0)
		return r;
	pc->device_plugin = true;
	pc->topology = true;
	if ((r = cfg_opt_bool(node, "devicePlugin", &pc->device_plugin, err)) < 0 ||
	        (r = cfg_opt_bool(node, "topology", &pc->topology, err)) < 0 ||
	        (r = cfg_opt_str(node, "resourcePrefix", pc->resource_prefix,
	                 sizeof(pc->resource_prefix), err)) < 0)
		return r;
	if (pc->resource_prefix[0] && !val_k8s_name(pc->resource_prefix, &why)) {
		struct cfg_node k;
		cfg_map_get(node, "resourcePrefix", &k);
		return cfg_node_error(&k, "resourcePrefix", err, "%s", why);
	}
	if (pc->ops->pool_cfg_parse && !(pc->type_cfg = pc->ops->pool_cfg_parse(node, err)))
		return -(err->errnum ? err->errnum : EINVAL);
	return 0;
}

static STAILQ_HEAD(, inv_pool_import) imports = STAILQ_HEAD_INITIALIZER(imports);

void inv_pool_import_register(struct inv_pool_import *imp)
{
	STAILQ_INSERT_TAIL(&imports, imp, next);
}

#define POOLS_MAX 256

/* Parse one pool into pc->v[pc->n] (growing v) and check its name is unique. */
static int add_pool(
        struct pools_cfg *pc, size_t *cap, const struct cfg_node *it, struct kb_err *err)
{
	if (pc->n >= POOLS_MAX)
		return cfg_node_error(it, "pools", err, "at most %d pools", POOLS_MAX);
	if (pc->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct pool_cfg *v = realloc(pc->v, nc * sizeof(*v));
		if (!v)
			return kb_err_set(err, ENOMEM, "out of memory");
		memset(v + *cap, 0, (nc - *cap) * sizeof(*v));
		pc->v = v;
		*cap = nc;
	}
	pc->n++; /* counted before parsing: pools_cfg_free frees what a failed parse left */
	if (parse_pool(it, &pc->v[pc->n - 1], err) < 0)
		return -EINVAL;
	for (size_t j = 0; j + 1 < pc->n; j++)
		if (strcmp(pc->v[j].name, pc->v[pc->n - 1].name) == 0)
			return cfg_node_error(
			        it, "name", err, "duplicate pool name '%s'", pc->v[pc->n - 1].name);
	return 0;
}

/* An import entry ({<key>: value}, the key registered): its pools, each parsed as if written
 * here. 1 when it was one, 0 when not an import entry. */
static int add_imported(
        struct pools_cfg *pc, size_t *cap, const struct cfg_node *it, struct kb_err *err)
{
	struct inv_pool_import *imp;
	struct cfg_node val, list, el;
	struct cfg *doc = NULL;
	int r = 0;

	if (!cfg_node_is_map(it))
		return 0;
	STAILQ_FOREACH (imp, &imports, next) {
		if (cfg_map_get(it, imp->key, &val) < 0)
			continue;
		{
			const char *const only[] = {imp->key, NULL};
			if ((r = cfg_map_check(it, "pool import", only, err)) < 0)
				return r;
		}
		if ((r = imp->load(&val, &doc, &list, err)) < 0)
			return r;
		for (size_t i = 0; i < cfg_seq_len(&list) && r >= 0; i++) {
			cfg_seq_at(&list, i, &el);
			r = add_pool(pc, cap, &el, err);
		}
		cfg_free(doc);
		return r < 0 ? r : 1;
	}
	return 0;
}

static void *pools_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct pools_cfg *pc = calloc(1, sizeof(*pc));
	size_t n, cap = 0;

	if (!pc) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (!node)
		return pc;
	if (!cfg_node_is_seq(node)) {
		cfg_node_error(node, "pools", err, "must be a list");
		goto fail;
	}
	n = cfg_seq_len(node);
	for (size_t i = 0; i < n; i++) {
		struct cfg_node it;
		int r;
		cfg_seq_at(node, i, &it);
		if ((r = add_imported(pc, &cap, &it, err)) < 0 ||
		        (r == 0 && add_pool(pc, &cap, &it, err) < 0))
			goto fail;
	}
	return pc;
fail:
	pools_cfg_free(pc);
	return NULL;
}

static struct cfg_section pools_section = {
        .key = "pools",
        .parse = pools_cfg_parse,
        .free = pools_cfg_free,
};
CFG_SECTION_REGISTER(pools_section)

/* ---- devices ---- */

static uint32_t id_hash(const char *id)
{
	return hash_str(id, 0);
}

struct device *inv_device_find(const char *id)
{
	struct device *d;

	HMAP_FOR_EACH_WITH_HASH (d, by_id, id_hash(id), &devices)
		if (strcmp(d->id, id) == 0)
			return d;
	return NULL;
}

static void free_list_update(struct device *d)
{
	struct pool *p = d->pool;
	bool want = !d->holder && d->healthy && !d->gone && !p->removed && !d->reserved_at_ms;

	if (want && !d->on_free_list) {
		TAILQ_INSERT_TAIL(&p->free_list, d, free_link);
		d->on_free_list = true;
		p->n_free++;
	} else if (!want && d->on_free_list) {
		TAILQ_REMOVE(&p->free_list, d, free_link);
		d->on_free_list = false;
		p->n_free--;
	}
}

static void device_free(struct device *d)
{
	if (d->pool->ops->device_priv_free && d->priv)
		d->pool->ops->device_priv_free(d->priv);
	free(d);
}

/* Unlink a device from its pool and the index (it must not be held). */
/* Take a device out of the free list and the index, and free it; the caller removes it from
 * p->devs (one device: device_drop; many: a single compaction pass, never O(n^2)). */
static void device_unlink(struct device *d)
{
	struct pool *p = d->pool;

	if (d->on_free_list) {
		TAILQ_REMOVE(&p->free_list, d, free_link);
		p->n_free--;
	}
	if (d->reserved_at_ms)
		p->n_reserved--;
	hmap_remove(&devices, &d->by_id);
	device_free(d);
}

/* Unlink one device from its pool and the index (it must not be held). */
static void device_drop(struct device *d)
{
	struct pool *p = d->pool;

	for (size_t i = p->n_devs; i-- > 0;) {
		if (p->devs[i] == d) {
			memmove(&p->devs[i], &p->devs[i + 1],
			        (p->n_devs - i - 1) * sizeof(*p->devs));
			p->n_devs--;
			break;
		}
	}
	device_unlink(d);
}

void inv_sync_begin(struct pool *p)
{
	p->sync_changed = false;
	for (size_t i = 0; i < p->n_devs; i++)
		p->devs[i]->seen = false;
}

struct device *inv_sync_device(struct pool *p, const char *id, int numa, void *priv)
{
	struct device *d = inv_device_find(id);

	if (d && d->pool != p) {
		/* The same device matched by two pools: first pool wins. */
		if (p->ops->device_priv_free && priv)
			p->ops->device_priv_free(priv);
		return NULL;
	}
	if (d) {
		d->seen = true;
		if (d->numa != numa)
			p->sync_changed = true;
		d->numa = numa;
		if (priv) {
			if (p->ops->device_priv_free && d->priv)
				p->ops->device_priv_free(d->priv);
			d->priv = priv;
		}
		if (d->gone) {
			d->gone = false;
			d->healthy = true;
			d->why = NULL;
			p->sync_changed = true;
		}
		free_list_update(d);
		return d;
	}
	if (p->n_devs == p->cap_devs) {
		size_t ncap = p->cap_devs ? p->cap_devs * 2 : 16;
		struct device **nd = realloc(p->devs, ncap * sizeof(*nd));
		if (!nd)
			goto nomem;
		p->devs = nd;
		p->cap_devs = ncap;
	}
	if (!(d = calloc(1, sizeof(*d))))
		goto nomem;
	if (str_copy(d->id, sizeof(d->id), id) < 0) {
		free(d);
		goto nomem;
	}
	d->pool = p;
	d->numa = numa;
	d->healthy = true;
	d->priv = priv;
	d->seen = true;
	p->sync_changed = true;
	p->devs[p->n_devs++] = d;
	hmap_insert(&devices, &d->by_id, id_hash(id));
	free_list_update(d);
	return d;
nomem:
	if (p->ops->device_priv_free && priv)
		p->ops->device_priv_free(priv);
	return NULL;
}

void inv_sync_end(struct pool *p)
{
	size_t kept = 0;

	/* One compaction pass: a rescan that loses many devices stays linear. */
	for (size_t i = 0; i < p->n_devs; i++) {
		struct device *d = p->devs[i];
		if (!d->seen && !d->holder) {
			device_unlink(d);
			p->sync_changed = true;
			continue;
		}
		if (!d->seen && !d->gone) {
			p->sync_changed = true;
			d->gone = true;
			d->healthy = false;
			d->why = "device disappeared";
			free_list_update(d);
		}
		p->devs[kept++] = d;
	}
	p->n_devs = kept;
	/* Periodic rescans usually find nothing new: do not wake ListAndWatch streams for that. */
	if (p->sync_changed)
		NOTIFY(pool_changed, p);
}

void inv_device_reserve(struct device *d, uint64_t at_ms)
{
	if (!d->reserved_at_ms != !at_ms)
		d->pool->n_reserved += at_ms ? 1 : -1;
	d->reserved_at_ms = at_ms;
	free_list_update(d);
}

void inv_device_set_health(struct device *d, bool healthy, const char *why)
{
	if (d->gone)
		healthy = false;
	if (d->healthy == healthy)
		return;
	d->healthy = healthy;
	d->why = healthy ? NULL : why;
	free_list_update(d);
	NOTIFY(pool_changed, d->pool);
}

struct device *inv_take_free(struct pool *p)
{
	struct device *d = TAILQ_FIRST(&p->free_list);

	if (!d)
		return NULL;
	TAILQ_REMOVE(&p->free_list, d, free_link);
	d->on_free_list = false;
	p->n_free--;
	return d;
}

int inv_take(struct device *d)
{
	if (d->holder)
		return -EBUSY;
	if (!d->on_free_list) {
		/* Off the free list only because kubelet reserved it for the pod now asking. */
		if (d->reserved_at_ms && d->healthy && !d->gone && !d->pool->removed)
			return 0;
		return -EBUSY;
	}
	TAILQ_REMOVE(&d->pool->free_list, d, free_link);
	d->on_free_list = false;
	d->pool->n_free--;
	return 0;
}

void inv_hold(struct device *d, struct alloc *a)
{
	d->holder = a;
	d->pool->n_allocated++;
	free_list_update(d);
}

static void pool_free(struct pool *p);
static void pool_discover(struct pool *p);

void inv_release(struct device *d)
{
	struct pool *p = d->pool;

	if (d->holder) {
		d->holder = NULL;
		p->n_allocated--;
	}
	if (d->gone || p->removed) {
		struct pool *np = p->removed ? inv_pool_find(p->name) : NULL;
		device_drop(d);
		if (p->removed && p->n_devs == 0)
			pool_free(p);
		else
			NOTIFY(pool_changed, p); /* one device fewer in the pool */
		/* The pool was configured again while this device was held by its old
		 * incarnation: the new one can have the device now. */
		if (np)
			pool_discover(np);
		return;
	}
	free_list_update(d);
}

size_t pool_healthy_count(const struct pool *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_devs; i++)
		n += p->devs[i]->healthy;
	return n;
}

/* ---- pools ---- */

struct pool *inv_pool_find(const char *name)
{
	struct pool *p;

	TAILQ_FOREACH (p, &pools, next)
		if (!p->removed && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct pool *inv_pool_first(void)
{
	return TAILQ_FIRST(&pools);
}

struct pool *inv_pool_next(struct pool *p)
{
	return TAILQ_NEXT(p, next);
}

size_t inv_pool_count(void)
{
	return n_pools;
}

size_t inv_device_count(void)
{
	return hmap_count(&devices);
}

const char *inv_resource_prefix(void)
{
	return resource_prefix;
}

const struct cfg *inv_config(void)
{
	return cur_cfg;
}

static void pool_free(struct pool *p)
{
	NOTIFY(pool_removed, p);
	for (size_t i = 0; i < p->n_devs; i++) {
		struct device *d = p->devs[i];
		if (d->holder)
			alloc_orphan(d->holder); /* only at shutdown: holders keep their record */
		d->holder = NULL;
		device_unlink(d);
	}
	p->n_devs = 0;
	TAILQ_REMOVE(&pools, p, next);
	n_pools--;
	free(p->devs);
	free(p);
}

static void pool_discover(struct pool *p)
{
	struct kb_err err = {0};

	inv_sync_begin(p);
	if (p->ops->discover && p->ops->discover(p, &err) < 0) {
		/* Keep what we had: a failed scan must not turn every device gone. */
		for (size_t i = 0; i < p->n_devs; i++)
			p->devs[i]->seen = true;
	}
	inv_sync_end(p);
}

static struct pool *pool_new(const struct pool_cfg *pc, struct kb_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	str_copy(p->name, sizeof(p->name), pc->name);
	str_printf(p->resource_name, sizeof(p->resource_name), "%s/%s",
	        pc->resource_prefix[0] ? pc->resource_prefix : resource_prefix, pc->name);
	p->ops = pc->ops;
	p->cfg = *pc;
	TAILQ_INIT(&p->free_list);
	TAILQ_INSERT_TAIL(&pools, p, next);
	n_pools++;
	return p;
}

int inv_init(const struct cfg *cfg, struct kb_err *err)
{
	const struct pools_cfg *pc = cfg_section_data(cfg, "pools");

	cur_cfg = cfg;
	str_copy(resource_prefix, sizeof(resource_prefix), cfg_core(cfg)->resource_prefix);
	for (size_t i = 0; i < pc->n; i++) {
		struct pool *p = pool_new(&pc->v[i], err);
		if (!p) {
			inv_fini();
			return -ENOMEM;
		}
		NOTIFY(pool_added, p);
		pool_discover(p);
	}
	return 0;
}

int inv_reload(const struct cfg *cfg, struct kb_err *err)
{
	const struct pools_cfg *pc = cfg_section_data(cfg, "pools");
	struct pool *p, *tmp;

	cur_cfg = cfg;
	/* A pool whose type changed is a different pool: drop and re-add. */
	TAILQ_FOREACH_SAFE (p, &pools, next, tmp) {
		const struct pool_cfg *keep = NULL;
		for (size_t i = 0; i < pc->n && !keep; i++)
			if (strcmp(pc->v[i].name, p->name) == 0 && pc->v[i].ops == p->ops)
				keep = &pc->v[i];
		if (keep && !p->removed) {
			p->cfg = *keep;
			continue;
		}
		if (p->removed)
			continue;
		p->removed = true;
		p->cfg.type_cfg = NULL; /* owned by the old configuration, about to be freed */
		for (size_t i = 0; i < p->n_devs;) {
			struct device *d = p->devs[i];
			if (!d->holder) {
				device_drop(d);
				continue;
			}
			d->healthy = false;
			d->why = "pool removed from configuration";
			free_list_update(d);
			i++;
		}
		if (p->n_devs == 0)
			pool_free(p);
		else
			NOTIFY(pool_changed, p);
	}
	str_copy(resource_prefix, sizeof(resource_prefix), cfg_core(cfg)->resource_prefix);
	for (size_t i = 0; i < pc->n; i++) {
		if (inv_pool_find(pc->v[i].name))
			continue;
		if (!(p = pool_new(&pc->v[i], err)))
			return -ENOMEM;
		NOTIFY(pool_added, p);
	}
	TAILQ_FOREACH (p, &pools, next) {
		str_printf(p->resource_name, sizeof(p->resource_name), "%s/%s",
		        p->cfg.resource_prefix[0] ? p->cfg.resource_prefix : resource_prefix,
		        p->name);
		if (!p->removed)
			pool_discover(p);
	}
	return 0;
}

void inv_rescan(void)
{
	struct pool *p;

	TAILQ_FOREACH (p, &pools, next)
		if (!p->removed)
			pool_discover(p);
}

void inv_fini(void)
{
	while (!TAILQ_EMPTY(&pools))
		pool_free(TAILQ_FIRST(&pools));
	hmap_destroy(&devices);
	hmap_init(&devices);
	cur_cfg = NULL;
}

/* ---- JSON views ---- */

json_t *inv_pool_to_json(const struct pool *p)
{
	struct inv_observer *o;
	json_t *obj = apimsg_pool_encode(&(struct apimsg_pool){
	        .name = p->name,
	        .type = p->ops->name,
	        .resource_name = p->resource_name,
	        .capacity = p->n_devs,
	        .healthy = pool_healthy_count(p),
	        .allocated = p->n_allocated,
	        .free = p->n_free,
	        .reserved = p->n_reserved,
	        .device_plugin = p->cfg.device_plugin,
	        .removed = p->removed,
	});

	STAILQ_FOREACH (o, &observers, next)
		if (o->pool_to_json)
			o->pool_to_json(p, obj);
	return obj;
}

json_t *inv_device_to_json(const struct device *d)
{
	const struct alloc *h = d->holder;
	json_t *obj = apimsg_device_encode(&(struct apimsg_device){
	        .id = d->id,
	        .pool = d->pool->name,
	        .type = d->pool->ops->name,
	        .healthy = d->healthy,
	        .reason = d->why,
	        .numa = d->numa,
	        .reserved = d->reserved_at_ms != 0, /* kubelet assigned it to a pod */
	        .held = h != NULL,
	        .holder = h ? (struct apimsg_holder){.container_id = h->container_id,
	                              .ifname = h->ifname,
	                              .network = h->network,
	                              .pod = {.ns = h->pod.ns,
	                                      .name = h->pod.name,
	                                      .uid = h->pod.uid}}
	                    : (struct apimsg_holder){0},
	});

	if (!obj)
		return NULL;
	if (d->pool->ops->device_to_json)
		d->pool->ops->device_to_json(d, obj);
	return obj;
}
