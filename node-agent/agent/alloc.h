/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocations: which attachment (containerID, ifname) holds which device. Attach is
 * idempotent on that key, detach only ever touches the key's own allocation, and no device is
 * held twice. Every change is recorded in the state journal before the API replies.
 */
#ifndef KB_ALLOC_H
#define KB_ALLOC_H

#include <jansson.h>
#include <stdbool.h>
#include "common/queue.h"
#include <time.h>

#include "common/err.h"
#include "common/hmap.h"
#include "common/mac.h"
#include "common/validate.h"

struct device;
struct devtype_ops;
struct ipamconf;
struct lease;
struct state;

struct alloc_pod {
	const char *ns, *name, *uid, *infra_id; /* NULL when unknown */
};

/*
 * One allocation is one heap block: this struct, the provider's priv and every string, packed
 * at their exact lengths (nodes hold tens of thousands of these). The strings are immutable.
 */
struct alloc {
	const char *container_id;
	const char *ifname;
	const char *network;
	const char *pool;
	const char *device_id;
	const char *netns; /* may be NULL */
	struct alloc_pod pod;
	struct mac mac;
	int mtu;  /* 0: not set */
	int vlan; /* -1: none */
	time_t created;
	const struct devtype_ops *ops;
	struct device *dev;  /* NULL when the device is gone (orphaned allocation) */
	struct lease *lease; /* agent IPAM addresses, NULL without; freed with the allocation */
	struct hmap_node by_key;
	void *priv; /* ops->alloc_priv_size bytes of provider data */
};

struct attach_req {
	const char *container_id, *ifname, *network, *devtype;
	const char *pool;      /* optional: name or <prefix>/<name> */
	const char *device_id; /* optional */
	const char *netns;     /* optional */
	struct alloc_pod pod;  /* borrowed strings */
	bool has_mac;
	struct mac mac;
	int mtu;                     /* 0: not requested */
	int vlan;                    /* -1: not requested */
	json_t *config;              /* optional device-type settings (borrowed) */
	const struct ipamconf *ipam; /* agent IPAM, NULL without (borrowed) */
};

/* Observers (fast path, metrics, events): attached may veto with an error. */
struct alloc_observer {
	int (*attached)(struct alloc *a, struct kb_err *err);
	void (*detached)(struct alloc *a);
	void (*restored)(struct alloc *a);
	/* An attach was refused or failed (e.g. to post a Kubernetes Event on the pod). */
	void (*attach_failed)(const struct attach_req *req, const struct kb_err *err);
	/* `req` names a device kubelet reserved for a pod (d->reserved_at_ms): 0 lets it take
	 * the device, -errno with err set refuses. Without an observer that decides, a reserved
	 * device is refused. */
	int (*take_reserved)(
	        const struct attach_req *req, const struct device *d, struct kb_err *err);
	STAILQ_ENTRY(alloc_observer) next;
};
void alloc_observer_register(struct alloc_observer *obs);

/* Load allocations from state (after the inventory exists). Reports problems in `info`. */
int alloc_init(struct state *st, struct kb_err *err);
void alloc_fini(void);
/* One state record (value NULL: a deletion) applied to the in-memory set as loading does,
 * without binding devices or restoring anything (tests, fuzzing). */
int alloc_replay(const char *key, json_t *value, struct kb_err *err);

/* `req` comes from apimsg_attach_args_decode (the one place attach arguments are validated)
 * or is as valid as what it accepts. */
int alloc_attach(
        const struct attach_req *req, struct alloc **ret, bool *ret_existing, struct kb_err *err);
/* The pool (and device, when req->device_id) an attach of req would use, by the same rule
 * and with the same errors (ENODEV, EINVAL) as alloc_attach: STATUS asks this. */
struct pool;
int alloc_resolve(const struct attach_req *req, struct pool **ret_pool, struct device **ret_dev,
        struct kb_err *err);
/* Returns 1 and the released allocation's JSON in *ret_json (if non-NULL), 0 when there was
 * nothing to release. Provider errors while undoing are reported in err but not fatal. */
int alloc_detach(
        const char *container_id, const char *ifname, json_t **ret_json, struct kb_err *err);
struct alloc *alloc_find(const char *container_id, const char *ifname);
int alloc_check(const struct alloc *a, struct kb_err *err);

size_t alloc_count(void);

/*
 * Intent records for changes outside the agent that happen before the allocation is
 * committed (a netdev moved into a pod): the provider saves the allocation as it would be
 * persisted, under <runDir>/intents/, before the change, and drops it when the allocation is
 * released. At start, an intent whose allocation was not restored (the agent was killed
 * before the commit) is undone with the provider's detach, then removed: nothing is left in
 * a pod for an allocation nobody knows.
 */
int alloc_intent_save(const struct alloc *a, struct kb_err *err);
void alloc_intent_drop(const struct alloc *a);
struct alloc *alloc_first(void);
struct alloc *alloc_next(struct alloc *a);

/* The allocation as the API shows it (replies, list): with derived fields (resourceName,
 * endpoint, deviceInfo, orphaned). */
json_t *alloc_to_json(const struct alloc *a);
/* The state record (journal, snapshot, intent): only what restore needs, versioned. */
json_t *alloc_record_json(const struct alloc *a);
/* Device removed under it (shutdown or pool gone): keep the record, drop the pointer. */
void alloc_orphan(struct alloc *a);

#endif
