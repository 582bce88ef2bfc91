/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent API's messages (node-agent/api/README.md is the spec): typed request arguments and
 * results for every core operation, encoded and decoded both ways. The agent, kbnet-cni and
 * agentctl use these; no field name of the protocol is spelled anywhere else.
 *
 * Decoders check everything a peer may get wrong (missing field, wrong type, over-long
 * string, out-of-range number, names that become paths) and return -EINVAL (requests) or
 * -EPROTO (replies, envelope -EBADMSG) with the field named in err. Decoded structs borrow the
 * strings and objects of the json_t they came from: keep it alive while using them.
 */
#ifndef KB_API_APIMSG_H
#define KB_API_APIMSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/mac.h"

/* ---- envelope ---- */

enum apimsg_op {
	APIMSG_OP_ATTACH,
	APIMSG_OP_DETACH,
	APIMSG_OP_CHECK,
	APIMSG_OP_GC,
	APIMSG_OP_STATUS,
	APIMSG_OP_LIST,
};
/* A core operation by name; -ENOSYS for another (modules serve more through the server). */
int apimsg_op_from_name(const char *name);
const char *apimsg_op_name(enum apimsg_op op);

struct apimsg_request {
	uint64_t id;    /* 0 when absent */
	const char *op; /* any name: the server looks it up */
	json_t *args;   /* an object, or NULL when absent */
};
/* -EBADMSG (not an object, bad id/op/args type), -EPROTONOSUPPORT (version); ret->id is set
 * as soon as it is known so the error reply can echo it. */
int apimsg_request_decode(json_t *req, struct apimsg_request *ret, struct kb_err *err);
/* args (may be NULL) is borrowed. */
json_t *apimsg_request_encode(uint64_t id, const char *op, json_t *args);

struct apimsg_reply {
	uint64_t id;
	bool ok;
	json_t *result;      /* ok: the result object (an empty one when absent) */
	int errnum;          /* !ok: positive errno from the symbolic code (EIO when unknown) */
	const char *message; /* !ok */
};
/* -EPROTO when malformed. */
int apimsg_reply_decode(json_t *reply, struct apimsg_reply *ret, struct kb_err *err);
/* result (may be NULL: empty) is stolen. */
json_t *apimsg_reply_ok(uint64_t id, json_t *result);
json_t *apimsg_reply_error(uint64_t id, int errnum, const char *message);
/* The id of an encoded reply (0 when unreadable) and whether it is an error. */
uint64_t apimsg_reply_id(json_t *reply);
bool apimsg_reply_is_error(json_t *reply);

/* ---- shared objects ---- */

struct apimsg_pod {
	const char *ns, *name, *uid, *infra_id; /* NULL when unknown */
};

/* The "pod" object (NULL when every field is unknown). */
json_t *apimsg_pod_encode(const struct apimsg_pod *p);
/* The optional "pod" member of `o`; its names are checked as names that become paths.
 * Errors use `code` (EINVAL for requests and state records, EPROTO for replies). */
int apimsg_pod_decode(json_t *o, int code, struct apimsg_pod *ret, struct kb_err *err);

/*
 * What a pod uses of a device, whatever its type: every device type fills this (the agent's
 * devtype_ops alloc_view hook), so kbnet-cni needs no per-type code.
 */
struct apimsg_endpoint {
	bool netdev;             /* a kernel netdev named ifname is in the pod's netns, set up */
	const char *pci_address; /* NULL when none */
	const char *socket_path; /* vhost-user socket, NULL when none */
};

#define APIMSG_MAX_IPS 32

struct apimsg_ip {
	const char *address; /* "10.0.0.2/24" */
	const char *gateway; /* NULL when none */
	const char *range;   /* the range it came from (agent bookkeeping), NULL when unknown */
};

/* Agent IPAM addresses of an allocation (routes and dns: CNI result objects, passed on). */
struct apimsg_ipam {
	size_t n_ips;
	struct apimsg_ip ips[APIMSG_MAX_IPS];
	json_t *routes, *dns; /* NULL when absent */
};

/* An allocation as attach, detach, check, gc and list show it. */
struct apimsg_alloc {
	const char *container_id, *ifname, *network;
	const char *netns; /* NULL when unknown */
	const char *pool, *resource_name, *device_type, *device_id;
	const char *mac;     /* "aa:bb:cc:dd:ee:ff" */
	const char *created; /* "YYYY-MM-DDTHH:MM:SSZ" */
	int mtu;             /* 0: not set */
	int vlan;            /* -1: none */
	struct apimsg_pod pod;
	bool orphaned; /* the device is gone */
	struct apimsg_endpoint endpoint;
	json_t *device_info; /* Multus device-info object, NULL when none */
	json_t *ipam;        /* the "ipam" object (lease_to_json's), NULL without agent IPAM */
};
/* Core fields and the endpoint; the device type adds its own object to the result. */
json_t *apimsg_alloc_encode(const struct apimsg_alloc *a);
/* Reads the endpoint from an agent of this release, or from the device-type objects an older
 * agent sent (rolling upgrade). */
int apimsg_alloc_decode(json_t *o, struct apimsg_alloc *ret, struct kb_err *err);
/* The "ipam" object of an allocation (routes, dns borrowed). */
json_t *apimsg_ipam_encode(const struct apimsg_ipam *ipam);
/* The allocation's agent IPAM addresses (n_ips 0 when it has none). -EPROTO when malformed. */
int apimsg_ipam_decode(json_t *ipam, struct apimsg_ipam *ret, struct kb_err *err);
/* Fields shown on their own by a generic printer (agentctl show skips them in its list). */
bool apimsg_alloc_is_heading(const char *key);

/* Who holds a device (device listing). */
struct apimsg_holder {
	const char *container_id, *ifname, *network;
	struct apimsg_pod pod;
};
json_t *apimsg_holder_encode(const struct apimsg_holder *h);

struct apimsg_pool {
	const char *name, *type, *resource_name;
	int64_t capacity, healthy, allocated, free, reserved;
	bool device_plugin, removed;
	json_t *obj; /* the whole object: module fields (device-plugin status, ...) */
};
json_t *apimsg_pool_encode(const struct apimsg_pool *p);
int apimsg_pool_decode(json_t *o, struct apimsg_pool *ret, struct kb_err *err);

struct apimsg_device {
	const char *id, *pool, *type;
	bool healthy;
	const char *reason; /* why unhealthy, NULL when not said */
	int numa;           /* -1: unknown */
	bool reserved;      /* kubelet assigned it to a pod */
	bool held;
	struct apimsg_holder holder; /* when held */
	json_t *obj;                 /* the whole object: type fields */
};
json_t *apimsg_device_encode(const struct apimsg_device *d);
int apimsg_device_decode(json_t *o, struct apimsg_device *ret, struct kb_err *err);
/* Core device fields (a device details column shows the others). */
bool apimsg_device_is_core(const char *key);

/* ---- attach ---- */

struct apimsg_attach_args {
	const char *container_id, *ifname, *network, *device_type;
	const char *pool;      /* optional: name or <prefix>/<name> (never "") */
	const char *device_id; /* optional */
	const char *netns;     /* optional (never "") */
	struct apimsg_pod pod;
	bool has_mac;
	struct mac mac; /* unicast */
	int mtu;        /* 0: not requested; else 68..65535 */
	int vlan;       /* -1: not requested; else 0..4094 */
	json_t *config; /* optional object: device-type settings */
	json_t *ipam;   /* optional object: the netconf's ipam section (api/ipamconf.h parses) */
	json_t *ips;    /* optional (only with ipam): static address requests */
};
/* The only place attach arguments are validated: the agent trusts what this accepts. */
int apimsg_attach_args_decode(json_t *args, struct apimsg_attach_args *ret, struct kb_err *err);
json_t *apimsg_attach_args_encode(const struct apimsg_attach_args *a);

struct apimsg_attach_result {
	json_t *allocation; /* encoded: allocation object (stolen by encode) */
	bool existing;
	struct apimsg_alloc alloc; /* decoded */
};
json_t *apimsg_attach_result_encode(json_t *allocation, bool existing);
int apimsg_attach_result_decode(json_t *res, struct apimsg_attach_result *ret, struct kb_err *err);

/* ---- detach, check ---- */

struct apimsg_detach_args {
	const char *container_id, *ifname;
	const char *netns; /* optional, may be "" (DEL without netns) */
};
int apimsg_detach_args_decode(json_t *args, struct apimsg_detach_args *ret, struct kb_err *err);
json_t *apimsg_detach_args_encode(const struct apimsg_detach_args *a);

struct apimsg_detach_result {
	bool released;
	bool has_alloc;
	struct apimsg_alloc alloc; /* when has_alloc */
	const char *warning;       /* undo problem (not fatal), NULL when none */
};
/* allocation (stolen, may be NULL) */
json_t *apimsg_detach_result_encode(bool released, json_t *allocation, const char *warning);
int apimsg_detach_result_decode(json_t *res, struct apimsg_detach_result *ret, struct kb_err *err);

struct apimsg_check_args {
	const char *container_id, *ifname;
	const char *mac; /* optional: compared with the allocation's */
};
int apimsg_check_args_decode(json_t *args, struct apimsg_check_args *ret, struct kb_err *err);
json_t *apimsg_check_args_encode(const struct apimsg_check_args *a);
json_t *apimsg_check_result_encode(json_t *allocation); /* stolen */
int apimsg_check_result_decode(json_t *res, struct apimsg_alloc *ret, struct kb_err *err);

/* ---- gc ---- */

struct apimsg_attachment {
	const char *container_id, *ifname;
};
#define APIMSG_GC_MAX_VALID 65536

struct apimsg_gc_args {
	const char *network;
	size_t n_valid;
	struct apimsg_attachment *valid; /* heap: apimsg_gc_args_free */
};
int apimsg_gc_args_decode(json_t *args, struct apimsg_gc_args *ret, struct kb_err *err);
json_t *apimsg_gc_args_encode(const struct apimsg_gc_args *a);
void apimsg_gc_args_free(struct apimsg_gc_args *a);
/* CNI's cni.dev/valid-attachments list, already validated by the plugin: the same shape. */
int apimsg_attachments_decode(
        json_t *arr, struct apimsg_attachment **ret, size_t *ret_n, struct kb_err *err);

/* Result: the released allocations, in an array (encode steals it). */
json_t *apimsg_gc_result_encode(json_t *released);
/* The array of released allocation objects (borrowed); decode each with apimsg_alloc_decode. */
int apimsg_gc_result_decode(json_t *res, json_t **ret_released, struct kb_err *err);

/* ---- status ---- */

/*
 * status args (optional): with device_type, the result also says whether an attach of that
 * type (and pool) would find a device, by the agent's own pool rule (the one attach uses).
 */
struct apimsg_status_args {
	const char *device_type; /* NULL: no probe */
	const char *pool;        /* optional, as attach's */
};
int apimsg_status_args_decode(json_t *args, struct apimsg_status_args *ret, struct kb_err *err);
json_t *apimsg_status_args_encode(const struct apimsg_status_args *a); /* NULL when empty */

struct apimsg_attach_probe {
	bool answered;       /* false: an older agent that does not probe */
	int errnum;          /* 0: a pool serves it; else the attach's error (ENODEV, EINVAL) */
	const char *message; /* when errnum */
	const char *pool, *resource_name;
	int64_t free; /* devices an attach could take now */
};

struct apimsg_status {
	const char *version;
	int api_version;
	int64_t pid;
	const char *started_at;
	int64_t uptime_seconds;
	const char *config;
	int64_t pools, devices, allocations;
	bool healthy;
	struct apimsg_attach_probe probe;
	json_t *state; /* the state journal's section (state_status), NULL when none */
	json_t *api;   /* the API server's section (srv_status), NULL when none */
	json_t *obj;   /* decoded: the whole object (module sections) */
};
/* Core fields and the state and api sections (stolen, may be NULL); the caller adds the
 * module sections, each under its module's key. */
json_t *apimsg_status_encode(const struct apimsg_status *s);
int apimsg_status_decode(json_t *res, struct apimsg_status *ret, struct kb_err *err);
/* Set the probe answer (errnum 0: pool, resource_name, free). */
int apimsg_status_set_probe(json_t *status, const struct apimsg_attach_probe *p);
/* A module's status section says "healthy": false (the agent then reports itself unhealthy). */
bool apimsg_section_unhealthy(json_t *section);
/* Core fields of status (a generic printer lists the module sections after them). */
bool apimsg_status_is_core(const char *key);

/* ---- list ---- */

enum apimsg_list_what {
	APIMSG_LIST_POOLS,
	APIMSG_LIST_DEVICES,
	APIMSG_LIST_ALLOCATIONS,
};
struct apimsg_list_args {
	enum apimsg_list_what what;
	const char *pool;         /* filter, optional */
	const char *container_id; /* allocations: exact or unique prefix, optional */
	const char *pod;          /* allocations: namespace/name, name or uid, optional */
};
int apimsg_list_args_decode(json_t *args, struct apimsg_list_args *ret, struct kb_err *err);
json_t *apimsg_list_args_encode(const struct apimsg_list_args *a);
/* The items array (stolen) under the key `what` names. */
json_t *apimsg_list_result_encode(enum apimsg_list_what what, json_t *items);
/* The items array (borrowed): decode each with apimsg_{pool,device,alloc}_decode. */
int apimsg_list_result_decode(
        json_t *res, enum apimsg_list_what what, json_t **ret_items, struct kb_err *err);

#endif
