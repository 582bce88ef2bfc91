/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/alloc.h"
#include "common/crashpoint.h"
#include "agent/inventory.h"
#include "agent/lease.h"
#include "agent/state.h"
#include "api/apimsg.h"
#include "api/apimsg_dev.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/str.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct hmap allocs = HMAP_INITIALIZER(&allocs);
static STAILQ_HEAD(, alloc_observer) observers = STAILQ_HEAD_INITIALIZER(observers);
static struct state *state;

void alloc_observer_register(struct alloc_observer *obs)
{
	STAILQ_INSERT_TAIL(&observers, obs, next);
}

static uint32_t key_hash(const char *cid, const char *ifname)
{
	return hash_str(ifname, hash_str(cid, 0));
}

/* State key "<containerID>/<ifname>": neither part may contain '/'. */
static void state_key(const struct alloc *a, char buf[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2])
{
	snprintf(buf, VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2, "%s/%s", a->container_id,
	        a->ifname);
}

struct alloc *alloc_find(const char *cid, const char *ifname)
{
	struct alloc *a;

	HMAP_FOR_EACH_WITH_HASH (a, by_key, key_hash(cid, ifname), &allocs)
		if (strcmp(a->container_id, cid) == 0 && strcmp(a->ifname, ifname) == 0)
			return a;
	return NULL;
}

size_t alloc_count(void)
{
	return hmap_count(&allocs);
}

struct alloc *alloc_first(void)
{
	struct hmap_node *n = hmap_first(&allocs);
	return n ? container_of(n, struct alloc, by_key) : NULL;
}

struct alloc *alloc_next(struct alloc *a)
{
	struct hmap_node *n = hmap_next(&allocs, &a->by_key);
	return n ? container_of(n, struct alloc, by_key) : NULL;
}

/* The strings of a new allocation, validated by the caller. */
struct alloc_strs {
	const char *container_id, *ifname, *network, *pool, *device_id, *netns;
	struct alloc_pod pod;
};

static void alloc_free(struct alloc *a)
{
	/* The addresses die with the allocation, whatever path frees it. */
	lease_free(a->lease);
	free(a);
}

/* Copy s (if non-NULL) to *p and advance it. */
static const char *pack(char **p, const char *s)
{
	size_t n;
	char *d = *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*p += n;
	return d;
}

static struct alloc *alloc_new(const struct devtype_ops *ops, const struct alloc_strs *s)
{
	const char *const all[] = {s->container_id, s->ifname, s->network, s->pool, s->device_id,
	        s->netns, s->pod.ns, s->pod.name, s->pod.uid, s->pod.infra_id};
	size_t priv = (ops->alloc_priv_size + 15) & ~(size_t)15, len = 0;
	size_t head = (sizeof(struct alloc) + 15) & ~(size_t)15;
	struct alloc *a;
	char *p;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		len += all[i] ? strlen(all[i]) + 1 : 0;
	if (!(a = calloc(1, head + priv + len)))
		return NULL;
	a->ops = ops;
	a->vlan = -1;
	a->priv = priv ? (char *)a + head : NULL;
	p = (char *)a + head + priv;
	a->container_id = pack(&p, s->container_id);
	a->ifname = pack(&p, s->ifname);
	a->network = pack(&p, s->network);
	a->pool = pack(&p, s->pool);
	a->device_id = pack(&p, s->device_id);
	a->netns = pack(&p, s->netns);
	a->pod.ns = pack(&p, s->pod.ns);
	a->pod.name = pack(&p, s->pod.name);
	a->pod.uid = pack(&p, s->pod.uid);
	a->pod.infra_id = pack(&p, s->pod.infra_id);
	return a;
}

void alloc_orphan(struct alloc *a)
{
	a->dev = NULL;
}

/* ---- JSON ---- */

static void fmt_created(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct apimsg_pod api_pod(const struct alloc_pod *p)
{
	return (struct apimsg_pod){
	        .ns = p->ns, .name = p->name, .uid = p->uid, .infra_id = p->infra_id};
}

/* The API's view (attach/check/detach replies, list): derived fields included. */
json_t *alloc_to_json(const struct alloc *a)
{
	char mac[MAC_STR_LEN], created[32], rn[256];
	struct apimsg_alloc v = {
	        .container_id = a->container_id,
	        .ifname = a->ifname,
	        .network = a->network,
	        .netns = a->netns,
	        .pool = a->pool,
	        .device_type = a->ops->name,
	        .device_id = a->device_id,
	        .mac = mac,
	        .created = created,
	        .mtu = a->mtu,
	        .vlan = a->vlan,
	        .pod = api_pod(&a->pod),
	        .orphaned = !a->dev,
	};
	json_t *o;

	mac_format(&a->mac, mac);
	fmt_created(a->created, created);
	snprintf(rn, sizeof(rn), "%s/%s", inv_resource_prefix(), a->pool);
	v.resource_name = a->dev ? a->dev->pool->resource_name : rn;
	if (a->lease)
		v.ipam = lease_to_json(a->lease);
	if (a->ops->alloc_view)
		a->ops->alloc_view(a, &v.endpoint);
	/* What kbnet-cni writes to CNIDeviceInfoFile for Multus. */
	if (a->dev && a->ops->device_info)
		v.device_info = a->ops->device_info(a->dev, a);
	o = apimsg_alloc_encode(&v);
	json_decref(v.ipam);
	json_decref(v.device_info);
	if (o && a->ops->alloc_to_json)
		a->ops->alloc_to_json(a, o);
	return o;
}

/*
 * The state record (journal, snapshot, intents; api/apimsg_dev.h): only what a restart needs,
 * nothing derived (device-info, resource name, endpoint are computed again when shown).
 * Format 2; a record of format 1 (0.1.0's allocation object) is read the same way (its derived
 * fields are ignored), so a journal written by an older agent restores.
 */
json_t *alloc_record_json(const struct alloc *a)
{
	json_t *o = apimsg_record_encode(&(struct apimsg_record){
	        .container_id = a->container_id,
	        .ifname = a->ifname,
	        .network = a->network,
	        .pool = a->pool,
	        .device_type = a->ops->name,
	        .device_id = a->device_id,
	        .netns = a->netns,
	        .mac = a->mac,
	        .created = a->created,
	        .mtu = a->mtu,
	        .vlan = a->vlan,
	        .pod = api_pod(&a->pod),
	        .ipam = a->lease ? lease_to_json(a->lease) : NULL,
	});

	if (o && a->ops->alloc_to_json)
		a->ops->alloc_to_json(a, o);
	return o;
}

static bool known_type(const char *name)
{
	return devtype_find(name) != NULL;
}

static int alloc_from_json(json_t *o, struct alloc **ret, struct kb_err *err)
{
	struct apimsg_record rec;
	struct alloc_strs st = {0};
	const struct devtype_ops *ops;
	struct alloc *a;
	int r;

	if ((r = apimsg_record_decode(o, known_type, &rec, err)) < 0)
		return r;
	ops = devtype_find(rec.device_type);
	st = (struct alloc_strs){
	        .container_id = rec.container_id,
	        .ifname = rec.ifname,
	        .network = rec.network,
	        .pool = rec.pool,
	        .device_id = rec.device_id,
	        .netns = rec.netns,
	        .pod = {.ns = rec.pod.ns,
	                .name = rec.pod.name,
	                .uid = rec.pod.uid,
	                .infra_id = rec.pod.infra_id},
	};
	if (!(a = alloc_new(ops, &st)))
		return kb_err_set(err, ENOMEM, "out of memory");
	a->mac = rec.mac;
	a->mtu = rec.mtu;
	a->vlan = rec.vlan;
	a->created = rec.created;
	if (rec.ipam && (r = lease_from_json(rec.ipam, a->network, &a->lease, err)) < 0) {
		alloc_free(a);
		return r;
	}
	if (ops->alloc_from_json && (r = ops->alloc_from_json(a, o, err)) < 0) {
		alloc_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* ---- persistence ---- */

static int persist(const struct alloc *a, bool deleted)
{
	char key[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2];
	json_t *o;
	int r;

	if (!state)
		return 0;
	state_key(a, key);
	if (deleted) {
		r = state_del(state, key);
	} else {
		if (!(o = alloc_record_json(a)))
			return -ENOMEM;
		r = state_put(state, key, o);
		json_decref(o);
	}
	state_set_live(state, hmap_count(&allocs));
	return r;
}

static int dump_all(void *ctx, state_emit_fn emit, void *ectx)
{
	char key[VAL_CONTAINER_ID_MAX + VAL_IFNAME_MAX + 2];
	struct alloc *a;

	(void)ctx;
	HMAP_FOR_EACH (a, by_key, &allocs) {
		json_t *o = alloc_record_json(a);
		int r;
		if (!o)
			return -ENOMEM;
		state_key(a, key);
		r = emit(ectx, key, o);
		json_decref(o);
		if (r < 0)
			return r;
	}
	return 0;
}

static void unlink_alloc(struct alloc *a)
{
	hmap_remove(&allocs, &a->by_key);
}

/* Replay: only the in-memory set changes; devices are bound once loading is complete. */
static int apply_record(void *ctx, const char *key, json_t *value, struct kb_err *err)
{
	char cid[VAL_CONTAINER_ID_MAX + 1], ifname[VAL_IFNAME_MAX + 1];
	const char *slash = strchr(key, '/');
	struct alloc *a = NULL, *old;
	int r;

	(void)ctx;
	if (!slash || (size_t)(slash - key) >= sizeof(cid) || strlen(slash + 1) >= sizeof(ifname))
		return kb_err_set(err, EINVAL, "bad state key '%s'", key);
	memcpy(cid, key, slash - key);
	cid[slash - key] = '\0';
	strcpy(ifname, slash + 1);
	if ((old = alloc_find(cid, ifname))) {
		unlink_alloc(old);
		alloc_free(old);
	}
	if (!value)
		return 0;
	if ((r = alloc_from_json(value, &a, err)) < 0 || !a)
		return kb_err_prefix(err, "state record '%s'", key);
	if (strcmp(a->container_id, cid) != 0 || strcmp(a->ifname, slash + 1) != 0) {
		alloc_free(a);
		return kb_err_set(err, EINVAL, "state record '%s' does not match its key", key);
	}
	/* An address held twice means damaged state: stop rather than hand it out again. */
	if (a->lease && (r = lease_hold(a->lease, err)) < 0) {
		alloc_free(a);
		return kb_err_prefix(err, "state record '%s'", key);
	}
	hmap_insert(&allocs, &a->by_key, key_hash(cid, ifname));
	return 0;
}

/* ---- intents ---- */

static int intent_path(const char *cid, const char *ifname, char *buf, size_t size)
{
	return str_printf(
	        buf, size, "%s/intents/%s:%s.json", cfg_core(inv_config())->run_dir, cid, ifname);
}

int alloc_intent_save(const struct alloc *a, struct kb_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	json_t *o = alloc_record_json(a);
	int r;

	if (!o || !(text = json_dumps(o, JSON_COMPACT))) {
		json_decref(o);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	json_decref(o);
	if (intent_path(a->container_id, a->ifname, path, sizeof(path)) < 0 ||
	        str_printf(dir, sizeof(dir), "%s/intents", cfg_core(inv_config())->run_dir) < 0)
		return kb_err_set(err, ENAMETOOLONG, "runDir too long");
	if ((r = fs_mkdir_p(dir, 0700)) < 0 ||
	        (r = fs_write_atomic(path, text, strlen(text), 0600)) < 0)
		return kb_err_set(err, -r, "recording the intent in %s: %s", path, strerror(-r));
	return 0;
}

void alloc_intent_drop(const struct alloc *a)
{
	char path[PATH_MAX];

	if (intent_path(a->container_id, a->ifname, path, sizeof(path)) >= 0)
		unlink(path);
}

/* Undo the intents of allocations that were not restored; returns how many were undone. */
static unsigned intents_sweep(void)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	unsigned undone = 0;
	DIR *d;

	if (str_printf(dir, sizeof(dir), "%s/intents", cfg_core(inv_config())->run_dir) < 0 ||
	        !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		_cleanup_free_ char *text = NULL;
		struct kb_err err = {0};
		struct alloc *a = NULL;
		size_t len;
		json_t *o;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (fs_read_file(path, STATE_MAX_LINE, &text, &len) < 0)
			continue;
		o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
		/* Validated like a journal record: it names what detach touches. */
		if (o && alloc_from_json(o, &a, &err) == 0 && a) {
			if (!alloc_find(a->container_id, a->ifname)) {
				if (a->ops->detach && a->ops->detach(a, &err) < 0)
					LOG_WARN("undoing the unfinished attach of %s/%s: %s",
					        a->container_id, a->ifname, err.msg);
				else
					LOG_INFO("undid the unfinished attach of %s/%s (%s)",
					        a->container_id, a->ifname, a->device_id);
				undone++;
			}
			alloc_free(a);
		} else {
			LOG_WARN("intent %s: %s: removed", path, o ? err.msg : "not JSON");
		}
		json_decref(o);
		unlink(path);
	}
	closedir(d);
	return undone;
}

int alloc_replay(const char *key, json_t *value, struct kb_err *err)
{
	return apply_record(NULL, key, value, err);
}

static void notify_restored(struct alloc *a)
{
	struct alloc_observer *o;

	STAILQ_FOREACH (o, &observers, next)
		if (o->restored)
			o->restored(a);
}

int alloc_init(struct state *st, struct kb_err *err)
{
	struct state_load_info info;
	struct alloc *a;
	int r;

	state = st;
	if (!st)
		return 0;
	r = state_load(st, apply_record, NULL, &info, err);
	if (r == -EBADMSG) {
		/* Corrupt snapshot: start empty (the caller logs where the files went). */
		alloc_fini();
		state = st;
		kb_err_set(err, EBADMSG,
		        "state snapshot corrupt (%s); moved aside to %s%s%s; starting with no "
		        "allocations",
		        info.why, info.snapshot_aside, info.journal_aside[0] ? " and " : "",
		        info.journal_aside);
		r = 0;
	} else if (r < 0) {
		alloc_fini();
		return r;
	} else if (info.journal_aside[0]) {
		kb_err_set(err, EBADMSG, "state journal damaged (%s); kept a copy at %s", info.why,
		        info.journal_aside);
	} else if (info.torn_tail) {
		kb_err_set(err, EAGAIN, "cut off an incomplete last journal record");
	}
	state_set_live(st, hmap_count(&allocs));
	state_set_dumper(st, dump_all, NULL);
	HMAP_FOR_EACH (a, by_key, &allocs) {
		struct device *d = inv_device_find(a->device_id);
		if (d && !d->holder && d->pool->ops == a->ops &&
		        strcmp(d->pool->name, a->pool) == 0) {
			if (d->on_free_list)
				inv_take(d);
			a->dev = d;
			inv_hold(d, a);
		}
		if (a->ops->restore) {
			struct kb_err rerr = {0};
			a->ops->restore(a, &rerr);
		}
		notify_restored(a);
	}
	/* Devices whose netdev came back are judged again. */
	if (intents_sweep())
		inv_rescan();
	for (struct pool *p = inv_pool_first(); p; p = inv_pool_next(p)) {
		struct pool *q = inv_pool_first();
		while (q != p && q->ops != p->ops)
			q = inv_pool_next(q);
		if (q == p && p->ops->sweep) /* first pool of its type */
			p->ops->sweep();
	}
	return 0;
}

void alloc_fini(void)
{
	struct alloc *a;

	HMAP_FOR_EACH_SAFE (a, by_key, &allocs) {
		unlink_alloc(a);
		if (a->dev)
			inv_release(a->dev);
		if (a->ops->forget)
			a->ops->forget(a);
		alloc_free(a);
	}
	hmap_destroy(&allocs);
	hmap_init(&allocs);
	state = NULL;
}

/* ---- attach / detach ---- */

static bool same_request(const struct alloc *a, const struct attach_req *req)
{
	if (strcmp(a->network, req->network) || strcmp(a->ops->name, req->devtype))
		return false;
	if (req->device_id && strcmp(a->device_id, req->device_id))
		return false;
	if (!a->lease != !req->ipam)
		return false;
	return true;
}

static int describe_holder(const struct alloc *h, char *buf, size_t size)
{
	if (h->pod.ns && h->pod.name)
		return snprintf(buf, size, "container %.12s/%s (pod %s/%s)", h->container_id,
		        h->ifname, h->pod.ns, h->pod.name);
	return snprintf(buf, size, "container %.12s/%s", h->container_id, h->ifname);
}

static int resolve_pool(const struct attach_req *req, const struct devtype_ops *ops,
        struct pool **ret, struct device **ret_dev, struct kb_err *err)
{
	struct pool *p = NULL, *it;
	struct device *d = NULL;

	if (!ops && !(ops = devtype_find(req->devtype)))
		return kb_err_set(err, EINVAL, "unknown deviceType '%s'", req->devtype);

	if (req->pool) {
		const char *name = req->pool, *slash = strrchr(req->pool, '/');
		if (slash) {
			size_t plen = strlen(inv_resource_prefix());
			if ((size_t)(slash - req->pool) != plen ||
			        strncmp(req->pool, inv_resource_prefix(), plen))
				return kb_err_set(err, ENODEV,
				        "resource '%s' is not served by this agent (prefix %s)",
				        req->pool, inv_resource_prefix());
			name = slash + 1;
		}
		if (!(p = inv_pool_find(name)))
			return kb_err_set(err, ENODEV, "unknown pool '%s'", name);
		if (p->ops != ops)
			return kb_err_set(err, EINVAL, "pool '%s' holds %s devices, not %s", name,
			        p->ops->name, ops->name);
	}
	if (req->device_id) {
		if (!(d = inv_device_find(req->device_id)))
			return kb_err_set(err, ENODEV, "unknown device '%s'", req->device_id);
		if (p && d->pool != p)
			return kb_err_set(err, EINVAL, "device '%s' belongs to pool '%s', not '%s'",
			        d->id, d->pool->name, p->name);
		if (d->pool->ops != ops)
			return kb_err_set(err, EINVAL, "device '%s' is a %s device, not %s", d->id,
			        d->pool->ops->name, ops->name);
		if (d->pool->removed)
			return kb_err_set(
			        err, ENODEV, "device '%s' belongs to a removed pool", d->id);
		p = d->pool;
	}
	if (!p) {
		size_t n = 0;
		for (it = inv_pool_first(); it; it = inv_pool_next(it)) {
			if (!it->removed && it->ops == ops) {
				p = it;
				n++;
			}
		}
		if (n == 0)
			return kb_err_set(
			        err, ENODEV, "no pool of type %s is configured", ops->name);
		if (n > 1)
			return kb_err_set(err, EINVAL,
			        "%zu pools hold %s devices: set resourceName to choose one", n,
			        ops->name);
	}
	*ret = p;
	*ret_dev = d;
	return 0;
}

int alloc_resolve(const struct attach_req *req, struct pool **ret_pool, struct device **ret_dev,
        struct kb_err *err)
{
	return resolve_pool(req, NULL, ret_pool, ret_dev, err);
}

static int attach(
        const struct attach_req *req, struct alloc **ret, bool *ret_existing, struct kb_err *err);

/*
 * After a failed commit (disk full, I/O error) no new change is made until what is pending is
 * on disk: a reply must never claim a change the disk does not have (a DEL retried while its
 * release is not durable would succeed, and a restart would bring the device back held by
 * nobody). The pending changes are retried first; the agent recovers by itself once the
 * directory can be written again.
 */
static int state_writable(struct kb_err *err)
{
	struct kb_err cerr = {0};

	if (!state || !state_commit_failed(state))
		return 0;
	if (state_commit(state, &cerr) < 0)
		return kb_err_set(err, EIO,
		        "change refused: the state cannot be saved (%s); retry when the state "
		        "directory is writable again",
		        cerr.msg);
	return 0;
}

int alloc_attach(
        const struct attach_req *req, struct alloc **ret, bool *ret_existing, struct kb_err *err)
{
	struct alloc_observer *o;
	int r = state_writable(err);

	if (r == 0)
		r = attach(req, ret, ret_existing, err);

	if (r < 0)
		STAILQ_FOREACH (o, &observers, next)
			if (o->attach_failed)
				o->attach_failed(req, err);
	return r;
}

/* A device kubelet assigned to a pod is that pod's alone: naming its ID is not enough. */
static int may_take_reserved(
        const struct attach_req *req, const struct device *d, struct kb_err *err)
{
	struct alloc_observer *o;

	STAILQ_FOREACH (o, &observers, next)
		if (o->take_reserved)
			return o->take_reserved(req, d, err);
	return kb_err_set(err, EBUSY, "device %s is reserved by kubelet for another pod", d->id);
}

static int attach(
        const struct attach_req *req, struct alloc **ret, bool *ret_existing, struct kb_err *err)
{
	const struct devtype_ops *ops;
	struct alloc_observer *o, *failed = NULL;
	struct pool *pool = NULL;
	struct device *d = NULL;
	struct alloc *a;
	int r;

	/* The arguments were validated once, by the API decoder (apimsg_attach_args_decode). */
	if ((a = alloc_find(req->container_id, req->ifname))) {
		if (!same_request(a, req))
			return kb_err_set(err, EEXIST,
			        "%s/%s already holds %s (network %s); detach it first",
			        req->container_id, req->ifname, a->device_id, a->network);
		*ret = a;
		*ret_existing = true;
		return 0;
	}
	if (!(ops = devtype_find(req->devtype)))
		return kb_err_set(err, EINVAL, "unknown deviceType '%s'", req->devtype);
	if ((r = resolve_pool(req, ops, &pool, &d, err)) < 0)
		return r;
	if (d) {
		char holder[256];
		if (d->holder) {
			describe_holder(d->holder, holder, sizeof(holder));
			return kb_err_set(err, EBUSY, "device %s is held by %s", d->id, holder);
		}
		if (!d->healthy)
			return kb_err_set(err, ENODEV, "device %s is unhealthy: %s", d->id,
			        d->why ? d->why : "unknown reason");
		if (d->reserved_at_ms && (r = may_take_reserved(req, d, err)) < 0)
			return r;
		if (inv_take(d) < 0)
			return kb_err_set(err, EBUSY, "device %s is not available", d->id);
	} else if (!(d = inv_take_free(pool))) {
		char reserved[96] = "";
		if (pool->n_reserved)
			snprintf(reserved, sizeof(reserved),
			        ", %zu reserved by kubelet for the pods it assigned them to",
			        pool->n_reserved);
		return kb_err_set(err, ENOSPC,
		        "pool %s has no free device (%zu of %zu allocated, %zu healthy%s)",
		        pool->name, pool->n_allocated, pool->n_devs, pool_healthy_count(pool),
		        reserved);
	}

	if (!(a = alloc_new(ops, &(struct alloc_strs){
	                                 .container_id = req->container_id,
	                                 .ifname = req->ifname,
	                                 .network = req->network,
	                                 .pool = pool->name,
	                                 .device_id = d->id,
	                                 .netns = req->netns && *req->netns ? req->netns : NULL,
	                                 .pod = req->pod,
	                         }))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto fail_release;
	}
	if (req->has_mac)
		a->mac = req->mac;
	a->mtu = req->mtu;
	a->vlan = req->vlan;
	a->created = time(NULL);
	a->dev = d;
	/* Addresses before the provider acts: running out changes nothing outside the agent. */
	if (req->ipam && (r = lease_new(req->ipam, a->network, &a->lease, err)) < 0)
		goto fail_free;
	crashpoint_hit("agent-ipam-picked");

	if (ops->attach && (r = ops->attach(a, req, err)) < 0)
		goto fail_free;
	STAILQ_FOREACH (o, &observers, next) {
		if (o->attached && (r = o->attached(a, err)) < 0) {
			failed = o;
			goto fail_observers;
		}
	}
	inv_hold(d, a);
	hmap_insert(&allocs, &a->by_key, key_hash(a->container_id, a->ifname));
	if ((r = persist(a, false)) < 0) {
		kb_err_set(err, -r, "recording the allocation: %s", strerror(-r));
		unlink_alloc(a);
		d->holder = NULL;
		pool->n_allocated--;
		goto fail_observers_all;
	}
	crashpoint_hit("agent-attach-buffered");
	*ret = a;
	*ret_existing = false;
	return 0;

fail_observers_all:
	failed = NULL;
fail_observers:
	STAILQ_FOREACH (o, &observers, next) {
		if (o == failed)
			break;
		if (o->detached)
			o->detached(a);
	}
	if (ops->detach) {
		struct kb_err derr = {0};
		ops->detach(a, &derr);
	}
fail_free:
	alloc_free(a);
fail_release:
	inv_release(d);
	return r;
}

int alloc_detach(const char *cid, const char *ifname, json_t **ret_json, struct kb_err *err)
{
	struct alloc_observer *o;
	struct alloc *a;
	int r;

	if ((r = state_writable(err)) < 0)
		return r;
	if (!(a = alloc_find(cid, ifname)))
		return 0;
	if (a->ops->detach)
		r = a->ops->detach(a, err);
	STAILQ_FOREACH (o, &observers, next)
		if (o->detached)
			o->detached(a);
	if (ret_json)
		*ret_json = alloc_to_json(a); /* before the device may be dropped */
	unlink_alloc(a);
	if (a->dev)
		inv_release(a->dev);
	if (persist(a, true) < 0)
		kb_err_set(err, ENOMEM, "recording the release: out of memory");
	crashpoint_hit("agent-detach-buffered");
	alloc_free(a);
	(void)r; /* provider errors are in err; the release itself happened */
	return 1;
}

int alloc_check(const struct alloc *a, struct kb_err *err)
{
	if (!a->dev)
		return kb_err_set(err, EIO, "device %s no longer exists", a->device_id);
	if (!a->dev->healthy)
		return kb_err_set(err, EIO, "device %s is unhealthy: %s", a->device_id,
		        a->dev->why ? a->dev->why : "unknown reason");
	if (a->ops->check)
		return a->ops->check(a, err);
	return 0;
}
