/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device inventory: pools of typed devices. Each device type (virtio-user, sriov-vf, vdpa) is a
 * provider (struct devtype_ops) that parses its pool settings, discovers devices and prepares
 * or undoes an attachment. The inventory keeps, per pool, a FIFO of free healthy devices, so a
 * just-released device is the last to be handed out again.
 *
 * Devices are never freed while an allocation holds them: a device that disappears on
 * rediscovery turns unhealthy ("gone") and is dropped once released.
 */
#ifndef KB_INVENTORY_H
#define KB_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include "common/queue.h"

#include "agent/config.h"
#include "common/err.h"
#include "common/hmap.h"
#include "common/validate.h"

struct alloc;
struct apimsg_endpoint;
struct attach_req;
struct pool;

/*
 * What a container needs to use a device, filled by a device type for the kubelet device
 * plugin's Allocate (the device-plugin module supplies the callbacks). One spec collects every
 * device of one container request: env() with a name already set appends ",value" (so
 * PCIDEVICE_<PREFIX>_<POOL> lists all the container's devices), an identical device() or
 * mount() is kept once, a conflicting one is an error.
 */
struct devtype_alloc_spec {
	/* "<kind>_<PREFIX>_<POOL>" for the device's pool, named the way
	 * sriov-network-device-plugin names PCIDEVICE_*: upper case, '.' and '/' as '_'. */
	int (*env_name)(struct devtype_alloc_spec *s, const char *kind, char *buf, size_t size);
	int (*env)(struct devtype_alloc_spec *s, const char *name, const char *value);
	int (*mount)(struct devtype_alloc_spec *s, const char *container_path,
	        const char *host_path, bool read_only);
	int (*device)(struct devtype_alloc_spec *s, const char *container_path,
	        const char *host_path, const char *permissions);
	int (*annotation)(struct devtype_alloc_spec *s, const char *key, const char *value);
	void *ctx;
};

struct device {
	char id[VAL_DEVICE_ID_MAX + 1];
	struct pool *pool;
	int numa; /* -1: unknown */
	bool healthy;
	bool gone;              /* vanished on rediscovery, kept while held */
	const char *why;        /* static reason when unhealthy */
	struct alloc *holder;   /* NULL when free */
	void *priv;             /* provider data */
	struct hmap_node by_id; /* inventory-wide index */
	TAILQ_ENTRY(device) free_link;
	bool on_free_list;
	bool seen; /* rediscovery mark */
	/* Kubelet assigned the device to a pod (device-plugin Allocate, PodResources) at this
	 * time; 0: not reserved. A reserved device is never handed out to an attachment that
	 * names no deviceID, only to the one that names it (the pod kubelet chose). */
	uint64_t reserved_at_ms;
};

struct devtype_ops {
	const char *name; /* "virtio-user", "sriov-vf", "vdpa" */
	/* Pool keys this type accepts beyond the common ones; NULL-terminated. */
	const char *const *pool_keys;
	void *(*pool_cfg_parse)(const struct cfg_node *pool, struct kb_err *err);
	void (*pool_cfg_free)(void *cfg);
	/* Report devices with inv_sync_device(); called at start, reload and rescan. */
	int (*discover)(struct pool *p, struct kb_err *err);
	/* Prepare the device for the attachment (a->dev set, a->priv zeroed, priv_size bytes). */
	int (*attach)(struct alloc *a, const struct attach_req *req, struct kb_err *err);
	/* Undo attach; must tolerate a gone netns/device. Errors are reported, not fatal. */
	int (*detach)(struct alloc *a, struct kb_err *err);
	int (*check)(const struct alloc *a, struct kb_err *err);
	/* After a restart: re-establish what attach set up (a->dev may be NULL if gone). */
	int (*restore)(struct alloc *a, struct kb_err *err);
	/* After every allocation was restored: remove what an attach cut short by a crash left
	 * behind and no allocation uses. Optional; called once per type with a pool. */
	void (*sweep)(void);
	/* The allocation leaves memory without a detach (agent shutdown): drop references. */
	void (*forget)(struct alloc *a);
	/* The type's own object in an allocation (API reply and state record alike); read back
	 * by alloc_from_json at restart. */
	void (*alloc_to_json)(const struct alloc *a, json_t *obj);
	int (*alloc_from_json)(struct alloc *a, json_t *obj, struct kb_err *err);
	/* The generic view clients use (netdev in the pod, PCI address, socket path): every
	 * type fills it, so kbnet-cni needs no per-type code. Strings point into a->priv. */
	void (*alloc_view)(const struct alloc *a, struct apimsg_endpoint *ret);
	void (*device_to_json)(const struct device *d, json_t *obj);
	/* Multus device-info (spec 1.1.0) for a device, for the attachment `a` when non-NULL
	 * (CNIDeviceInfoFile) or for a device-plugin allocation (a == NULL). */
	json_t *(*device_info)(const struct device *d, const struct alloc *a);
	/* Device-plugin Allocate for one device; NULL: nothing beyond the device ID. */
	int (*dp_allocate)(
	        const struct device *d, struct devtype_alloc_spec *spec, struct kb_err *err);
	void (*device_priv_free)(void *priv);
	size_t alloc_priv_size;
	STAILQ_ENTRY(devtype_ops) next;
};

void devtype_register(struct devtype_ops *ops);
const struct devtype_ops *devtype_find(const char *name);
#define DEVTYPE_REGISTER(ops)                                                 \
	static void __attribute__((constructor)) devtype_register_##ops(void) \
	{                                                                     \
		devtype_register(&(ops));                                     \
	}

/* One pool as configured ("pools" section). */
struct pool_cfg {
	char name[VAL_NAME_MAX + 1];
	char resource_prefix[VAL_K8S_NAME_MAX + 1]; /* "": the agent's resourcePrefix */
	const struct devtype_ops *ops;
	bool device_plugin; /* advertise to kubelet (default true) */
	bool topology;      /* report NUMA topology to kubelet (default true) */
	void *type_cfg;     /* provider's parsed keys */
};

struct pools_cfg {
	struct pool_cfg *v;
	size_t n;
};

/* A `pools:` entry that is a single-key mapping {<key>: ...} stands for the pools another
 * format describes (e.g. a sriov-network-device-plugin config file). load returns a document
 * whose root is a list of kbnet pool mappings, freed with cfg_free after parsing. */
struct inv_pool_import {
	const char *key;
	int (*load)(const struct cfg_node *value, struct cfg **ret_doc, struct cfg_node *ret_list,
	        struct kb_err *err);
	STAILQ_ENTRY(inv_pool_import) next;
};
void inv_pool_import_register(struct inv_pool_import *imp);
#define INV_POOL_IMPORT_REGISTER(imp)                                   \
	static void __attribute__((constructor)) inv_import_##imp(void) \
	{                                                               \
		inv_pool_import_register(&(imp));                       \
	}

struct pool {
	char name[VAL_NAME_MAX + 1];
	char resource_name[VAL_K8S_NAME_MAX + VAL_NAME_MAX + 2]; /* <prefix>/<name> */
	const struct devtype_ops *ops;
	struct pool_cfg cfg; /* type_cfg owned by the current struct cfg */
	struct device **devs;
	size_t n_devs, cap_devs;
	TAILQ_HEAD(, device) free_list;
	size_t n_allocated;
	size_t n_free;     /* devices on free_list */
	size_t n_reserved; /* devices with reserved_at_ms set */
	bool removed;      /* dropped from config, kept while devices are held */
	bool sync_changed; /* a rescan added, lost or moved a device: observers are told */
	TAILQ_ENTRY(pool) next;
};

/* Observers (device plugin, metrics): called after devices change in a pool. */
struct inv_observer {
	void (*pool_changed)(struct pool *p);
	void (*pool_added)(struct pool *p);
	void (*pool_removed)(struct pool *p);                    /* before it is freed */
	void (*pool_to_json)(const struct pool *p, json_t *obj); /* extra fields for list */
	STAILQ_ENTRY(inv_observer) next;
};
void inv_observer_register(struct inv_observer *obs);

/* Build pools from the configuration and discover their devices. */
int inv_init(const struct cfg *cfg, struct kb_err *err);
/* Apply a new configuration: pools added, removed, resettings, then rediscover all. */
int inv_reload(const struct cfg *cfg, struct kb_err *err);
/* Rediscover every pool (devices appearing, disappearing, changing health). */
void inv_rescan(void);
void inv_fini(void);

struct pool *inv_pool_find(const char *name);
/* First pool, next pool (iteration over live and removed pools). */
struct pool *inv_pool_first(void);
struct pool *inv_pool_next(struct pool *p);
size_t inv_pool_count(void);
size_t inv_device_count(void);
struct device *inv_device_find(const char *id);

/* Provider discovery: report one device present now. Returns it (new or existing), or NULL
 * on allocation failure or when another pool already has a device with this ID (then
 * inv_device_find(id) finds it: skip it rather than fail the scan). Devices not reported
 * between inv_sync_begin/end turn gone. */
void inv_sync_begin(struct pool *p);
struct device *inv_sync_device(struct pool *p, const char *id, int numa, void *priv);
void inv_sync_end(struct pool *p);

/* Reserve a device for the pod kubelet assigned it to (at_ms > 0), or end that (0). */
void inv_device_reserve(struct device *d, uint64_t at_ms);

/* Change health (providers, fast path); notifies observers when it changes. */
void inv_device_set_health(struct device *d, bool healthy, const char *why);

/* Allocator interface. */
struct device *inv_take_free(struct pool *p);
int inv_take(struct device *d);                   /* must be free and healthy */
void inv_hold(struct device *d, struct alloc *a); /* mark held (restore) */
void inv_release(struct device *d);               /* back to the free list (or dropped) */

size_t pool_healthy_count(const struct pool *p);
json_t *inv_pool_to_json(const struct pool *p);
json_t *inv_device_to_json(const struct device *d);

/* The resource prefix of the running configuration ("kbnet.io"). */
const char *inv_resource_prefix(void);
/* The configuration the inventory was last built from (providers read core paths here). */
const struct cfg *inv_config(void);

#endif
