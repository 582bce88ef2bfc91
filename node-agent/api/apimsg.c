/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg.h"
#include "api/api.h"
#include "api/apimsg_field.h"
#include "common/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Longest device type name and "what" value: bounded like every other string. */
#define DEVTYPE_MAX  32
#define POOL_REF_MAX (VAL_K8S_NAME_MAX + VAL_NAME_MAX + 1) /* <prefix>/<pool> */
#define POD_REF_MAX  (VAL_K8S_NAMESPACE_MAX + VAL_K8S_NAME_MAX + 1)
#define SHORT_MAX    256 /* timestamps, versions, health words, messages' codes */

/* ---- envelope ---- */

static const char *const op_names[] = {
        [APIMSG_OP_ATTACH] = API_OP_ATTACH,
        [APIMSG_OP_DETACH] = API_OP_DETACH,
        [APIMSG_OP_CHECK] = API_OP_CHECK,
        [APIMSG_OP_GC] = API_OP_GC,
        [APIMSG_OP_STATUS] = API_OP_STATUS,
        [APIMSG_OP_LIST] = API_OP_LIST,
};

int apimsg_op_from_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op_names[i], name) == 0)
			return (int)i;
	return -ENOSYS;
}

const char *apimsg_op_name(enum apimsg_op op)
{
	return (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : NULL;
}

int apimsg_request_decode(json_t *req, struct apimsg_request *ret, struct kb_err *err)
{
	json_t *v;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(req))
		return kb_err_set(err, EBADMSG, "request is not a JSON object");
	v = json_object_get(req, "id");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
		return kb_err_set(err, EBADMSG, "'id' must be an unsigned integer");
	ret->id = v ? (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(req, "version");
	if (!json_is_integer(v) || json_integer_value(v) != API_VERSION)
		return kb_err_set(err, EPROTONOSUPPORT, "unsupported API version (this agent: %d)",
		        API_VERSION);
	v = json_object_get(req, "op");
	if (!json_is_string(v))
		return kb_err_set(err, EBADMSG, "'op' must be a string");
	ret->op = json_string_value(v);
	v = json_object_get(req, "args");
	if (v && !json_is_object(v))
		return kb_err_set(err, EBADMSG, "'args' must be an object");
	ret->args = v;
	return 0;
}

json_t *apimsg_request_encode(uint64_t id, const char *op, json_t *args)
{
	json_t *o = json_pack(
	        "{s:i, s:I, s:s}", "version", API_VERSION, "id", (json_int_t)id, "op", op);

	if (o && args)
		json_object_set(o, "args", args);
	return o;
}

int apimsg_reply_decode(json_t *reply, struct apimsg_reply *ret, struct kb_err *err)
{
	json_t *ok = json_object_get(reply, "ok"), *id = json_object_get(reply, "id");

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(reply) || !json_is_boolean(ok) || !json_is_integer(id) ||
	        json_integer_value(id) < 0)
		return kb_err_set(err, EPROTO, "malformed reply from agent");
	ret->id = json_integer_value(id);
	ret->ok = json_is_true(ok);
	if (ret->ok) {
		json_t *res = json_object_get(reply, "result");
		if (res && !json_is_object(res))
			return kb_err_set(err, EPROTO, "malformed reply from agent: 'result'");
		ret->result = res;
		return 0;
	} else {
		json_t *e = json_object_get(reply, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		int errnum = code ? kb_errno_from_name(code) : 0;
		ret->errnum = errnum ? errnum : EIO;
		ret->message = msg ? msg : "agent error";
	}
	return 0;
}

json_t *apimsg_reply_ok(uint64_t id, json_t *result)
{
	return json_pack("{s:i, s:I, s:b, s:o}", "version", API_VERSION, "id", (json_int_t)id, "ok",
	        1, "result", result ? result : json_object());
}

json_t *apimsg_reply_error(uint64_t id, int errnum, const char *message)
{
	return json_pack("{s:i, s:I, s:b, s:{s:s, s:s}}", "version", API_VERSION, "id",
	        (json_int_t)id, "ok", 0, "error", "code", kb_errno_name(errnum), "message",
	        message ? message : "");
}

uint64_t apimsg_reply_id(json_t *reply)
{
	json_int_t id = json_integer_value(json_object_get(reply, "id"));

	return id > 0 ? (uint64_t)id : 0;
}

bool apimsg_reply_is_error(json_t *reply)
{
	return json_is_false(json_object_get(reply, "ok"));
}

/* ---- shared objects ---- */

json_t *apimsg_pod_encode(const struct apimsg_pod *p)
{
	json_t *o;

	if (!p->ns && !p->name && !p->uid && !p->infra_id)
		return NULL;
	if (!(o = json_object()))
		return NULL;
	apimsg_set_str(o, "namespace", p->ns);
	apimsg_set_str(o, "name", p->name);
	apimsg_set_str(o, "uid", p->uid);
	apimsg_set_str(o, "infraContainerID", p->infra_id);
	return o;
}

int apimsg_pod_decode(json_t *o, int code, struct apimsg_pod *ret, struct kb_err *err)
{
	json_t *p;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = apimsg_field_obj(o, "pod", code, &p, err)) < 0 || !p)
		return r;
	/* The UID names a directory: checked like every name that becomes a path. */
	if ((r = apimsg_field_str(p, "namespace", false, VAL_K8S_NAMESPACE_MAX, val_k8s_namespace,
	             code, &ret->ns, err)) < 0 ||
	        (r = apimsg_field_str(p, "name", false, VAL_K8S_NAME_MAX, val_k8s_name, code,
	                 &ret->name, err)) < 0 ||
	        (r = apimsg_field_str(p, "uid", false, VAL_POD_UID_MAX, val_pod_uid, code,
	                 &ret->uid, err)) < 0 ||
	        (r = apimsg_field_str(p, "infraContainerID", false, VAL_CONTAINER_ID_MAX,
	                 val_container_id, code, &ret->infra_id, err)) < 0)
		return kb_err_prefix(err, "pod");
	return 0;
}

static int key_decode(
        json_t *o, int code, const char **cid, const char **ifname, struct kb_err *err)
{
	int r;

	if ((r = apimsg_field_str(o, "containerID", true, VAL_CONTAINER_ID_MAX, val_container_id,
	             code, cid, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "ifname", true, VAL_IFNAME_MAX, val_ifname, code, ifname, err)) < 0)
		return r;
	return 0;
}

static json_t *endpoint_encode(const struct apimsg_endpoint *e)
{
	json_t *o = json_pack("{s:b}", "netdev", e->netdev);

	if (o) {
		apimsg_set_str(o, "pciAddress", e->pci_address);
		apimsg_set_str(o, "socketPath", e->socket_path);
	}
	return o;
}

static int endpoint_decode(json_t *a, struct apimsg_endpoint *ret, struct kb_err *err)
{
	json_t *e;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = apimsg_field_obj(a, "endpoint", EPROTO, &e, err)) < 0)
		return r;
	if (!e) {
		/* An agent before the endpoint: the device-type objects it always sent. */
		json_t *vf = json_object_get(a, "vf"), *vdpa = json_object_get(a, "vdpa");
		json_t *vu = json_object_get(a, "vhostUser");
		ret->netdev = json_is_true(json_object_get(vf, "netdev")) ||
		              json_is_true(json_object_get(vdpa, "netdev"));
		ret->pci_address = json_string_value(json_object_get(vf, "pciAddress"));
		if (!ret->pci_address)
			ret->pci_address = json_string_value(json_object_get(vdpa, "pciAddress"));
		ret->socket_path = json_string_value(json_object_get(vu, "socketPath"));
		return 0;
	}
	if ((r = apimsg_field_bool(e, "netdev", EPROTO, &ret->netdev, err)) < 0 ||
	        (r = apimsg_field_str(
	                 e, "pciAddress", false, 64, NULL, EPROTO, &ret->pci_address, err)) < 0 ||
	        (r = apimsg_field_str(e, "socketPath", false, VAL_PATH_MAX, val_abs_path, EPROTO,
	                 &ret->socket_path, err)) < 0)
		return kb_err_prefix(err, "endpoint");
	return 0;
}

json_t *apimsg_alloc_encode(const struct apimsg_alloc *a)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "containerID",
	        a->container_id, "ifname", a->ifname, "network", a->network, "pool", a->pool,
	        "resourceName", a->resource_name, "deviceType", a->device_type, "deviceID",
	        a->device_id, "mac", a->mac, "created", a->created);
	json_t *pod;

	if (!o)
		return NULL;
	apimsg_set_str(o, "netns", a->netns);
	if (a->mtu)
		json_object_set_new(o, "mtu", json_integer(a->mtu));
	if (a->vlan >= 0)
		json_object_set_new(o, "vlan", json_integer(a->vlan));
	if ((pod = apimsg_pod_encode(&a->pod)))
		json_object_set_new(o, "pod", pod);
	if (a->orphaned)
		json_object_set_new(o, "orphaned", json_true());
	if (a->ipam)
		json_object_set(o, "ipam", a->ipam);
	json_object_set_new(o, "endpoint", endpoint_encode(&a->endpoint));
	if (a->device_info)
		json_object_set(o, "deviceInfo", a->device_info);
	return o;
}

int apimsg_alloc_decode(json_t *o, struct apimsg_alloc *ret, struct kb_err *err)
{
	const int c = EPROTO;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->vlan = -1;
	if (!json_is_object(o))
		return kb_err_set(err, c, "allocation is not an object");
	if ((r = key_decode(o, c, &ret->container_id, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "network", true, VAL_NETWORK_MAX, NULL, c, &ret->network, err)) < 0 ||
	        (r = apimsg_field_str(o, "netns", false, VAL_PATH_MAX, NULL, c, &ret->netns, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "pool", false, VAL_NAME_MAX, NULL, c, &ret->pool, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "resourceName", false, POOL_REF_MAX, NULL, c,
	                 &ret->resource_name, err)) < 0 ||
	        (r = apimsg_field_str(o, "deviceType", false, DEVTYPE_MAX, NULL, c,
	                 &ret->device_type, err)) < 0 ||
	        (r = apimsg_field_str(o, "deviceID", false, VAL_DEVICE_ID_MAX, NULL, c,
	                 &ret->device_id, err)) < 0 ||
	        (r = apimsg_field_str(o, "mac", true, MAC_STR_LEN, NULL, c, &ret->mac, err)) < 0 ||
	        (r = apimsg_field_str(
	                 o, "created", false, SHORT_MAX, NULL, c, &ret->created, err)) < 0 ||
	        (r = apimsg_field_int32(o, "mtu", 0, 65535, c, &ret->mtu, err)) < 0 ||
	        (r = apimsg_field_int32(o, "vlan", 0, 4094, c, &ret->vlan, err)) < 0 ||
	        (r = apimsg_pod_decode(o, c, &ret->pod, err)) < 0 ||
	        (r = apimsg_field_bool(o, "orphaned", c, &ret->orphaned, err)) < 0 ||
	        (r = endpoint_decode(o, &ret->endpoint, err)) < 0 ||
	        (r = apimsg_field_obj(o, "deviceInfo", c, &ret->device_info, err)) < 0 ||
	        (r = apimsg_field_obj(o, "ipam", c, &ret->ipam, err)) < 0)
		return kb_err_prefix(err, "allocation");
	return 0;
}

json_t *apimsg_ipam_encode(const struct apimsg_ipam *ipam)
{
	json_t *o = json_pack("{s:[]}", "ips"), *ips = json_object_get(o, "ips");

	for (size_t i = 0; o && i < ipam->n_ips && i < APIMSG_MAX_IPS; i++) {
		json_t *e = json_pack("{s:s}", "address", ipam->ips[i].address);
		if (!e || json_array_append_new(ips, e) < 0) {
			json_decref(o);
			return NULL;
		}
		apimsg_set_str(e, "range", ipam->ips[i].range);
		apimsg_set_str(e, "gateway", ipam->ips[i].gateway);
	}
	if (o && ipam->routes)
		json_object_set(o, "routes", ipam->routes);
	if (o && ipam->dns)
		json_object_set(o, "dns", ipam->dns);
	return o;
}

int apimsg_ipam_decode(json_t *ipam, struct apimsg_ipam *ret, struct kb_err *err)
{
	json_t *ips, *ip;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!ipam)
		return 0;
	ips = json_object_get(ipam, "ips");
	if (!json_is_object(ipam) || !json_is_array(ips))
		return kb_err_set(err, EPROTO, "'ipam' must be an object with an 'ips' array");
	if (json_array_size(ips) > APIMSG_MAX_IPS)
		return kb_err_set(err, EPROTO, "'ipam': more than %d addresses", APIMSG_MAX_IPS);
	json_array_foreach (ips, i, ip) {
		struct apimsg_ip *x = &ret->ips[i];
		if (!json_is_object(ip))
			return kb_err_set(err, EPROTO, "'ipam.ips[%zu]' must be an object", i);
		if ((r = apimsg_field_str(
		             ip, "address", true, 64, NULL, EPROTO, &x->address, err)) < 0 ||
		        (r = apimsg_field_str(
		                 ip, "gateway", false, 64, NULL, EPROTO, &x->gateway, err)) < 0 ||
		        (r = apimsg_field_str(
		                 ip, "range", false, SHORT_MAX, NULL, EPROTO, &x->range, err)) < 0)
			return kb_err_prefix(err, "ipam.ips[%zu]", i);
	}
	ret->n_ips = json_array_size(ips);
	ret->routes = json_object_get(ipam, "routes");
	ret->dns = json_object_get(ipam, "dns");
	if (ret->routes && !json_is_array(ret->routes))
		return kb_err_set(err, EPROTO, "'ipam.routes' must be an array");
	if (ret->dns && !json_is_object(ret->dns))
		return kb_err_set(err, EPROTO, "'ipam.dns' must be an object");
	return 0;
}

bool apimsg_alloc_is_heading(const char *key)
{
	return !strcmp(key, "containerID") || !strcmp(key, "ifname") || !strcmp(key, "network");
}

json_t *apimsg_holder_encode(const struct apimsg_holder *h)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "containerID", h->container_id, "ifname",
	        h->ifname, "network", h->network);
	struct apimsg_pod pod = h->pod;
	json_t *p;

	pod.infra_id = NULL; /* a holder names the pod, not its sandbox */
	if (o && (p = apimsg_pod_encode(&pod)))
		json_object_set_new(o, "pod", p);
	return o;
}

static int holder_decode(json_t *h, struct apimsg_holder *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = key_decode(h, EPROTO, &ret->container_id, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(h, "network", false, VAL_NETWORK_MAX, NULL, EPROTO,
	                 &ret->network, err)) < 0 ||
	        (r = apimsg_pod_decode(h, EPROTO, &ret->pod, err)) < 0)
		return kb_err_prefix(err, "holder");
	return 0;
}

json_t *apimsg_pool_encode(const struct apimsg_pool *p)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:b}", "name", p->name,
	        "type", p->type, "resourceName", p->resource_name, "capacity",
	        (json_int_t)p->capacity, "healthy", (json_int_t)p->healthy, "allocated",
	        (json_int_t)p->allocated, "free", (json_int_t)p->free, "reserved",
	        (json_int_t)p->reserved, "devicePlugin", p->device_plugin, "removed", p->removed);
}

int apimsg_pool_decode(json_t *o, struct apimsg_pool *ret, struct kb_err *err)
{
	const int c = EPROTO;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return kb_err_set(err, c, "pool is not an object");
	ret->obj = o;
	if ((r = apimsg_field_str(o, "name", true, VAL_NAME_MAX, NULL, c, &ret->name, err)) < 0 ||
	        (r = apimsg_field_str(o, "type", true, DEVTYPE_MAX, NULL, c, &ret->type, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "resourceName", false, POOL_REF_MAX, NULL, c,
	                 &ret->resource_name, err)) < 0 ||
	        (r = apimsg_field_int(o, "capacity", false, 0, INT64_MAX, c, &ret->capacity, err)) <
	                0 ||
	        (r = apimsg_field_int(o, "healthy", false, 0, INT64_MAX, c, &ret->healthy, err)) <
	                0 ||
	        (r = apimsg_field_int(
	                 o, "allocated", false, 0, INT64_MAX, c, &ret->allocated, err)) < 0 ||
	        (r = apimsg_field_int(o, "free", false, 0, INT64_MAX, c, &ret->free, err)) < 0 ||
	        (r = apimsg_field_int(o, "reserved", false, 0, INT64_MAX, c, &ret->reserved, err)) <
	                0 ||
	        (r = apimsg_field_bool(o, "devicePlugin", c, &ret->device_plugin, err)) < 0 ||
	        (r = apimsg_field_bool(o, "removed", c, &ret->removed, err)) < 0)
		return kb_err_prefix(err, "pool");
	return 0;
}

/* "reason" is shown with the health. */
static const char *const device_core[] = {
        "id", "pool", "type", "health", "reason", "numa", "holder", NULL};

bool apimsg_device_is_core(const char *key)
{
	for (size_t i = 0; device_core[i]; i++)
		if (!strcmp(device_core[i], key))
			return true;
	return false;
}

json_t *apimsg_device_encode(const struct apimsg_device *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", d->id, "pool", d->pool, "type",
	        d->type, "health", d->healthy ? "Healthy" : "Unhealthy", "numa", d->numa);

	if (!o)
		return NULL;
	if (!d->healthy && d->reason)
		json_object_set_new(o, "reason", json_string(d->reason));
	json_object_set_new(o, "holder", d->held ? apimsg_holder_encode(&d->holder) : json_null());
	if (d->reserved)
		json_object_set_new(o, "reserved", json_true());
	return o;
}

int apimsg_device_decode(json_t *o, struct apimsg_device *ret, struct kb_err *err)
{
	const int c = EPROTO;
	const char *health;
	json_t *h;
	int64_t numa = -1;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return kb_err_set(err, c, "device is not an object");
	ret->obj = o;
	if ((r = apimsg_field_str(o, "id", true, VAL_DEVICE_ID_MAX, NULL, c, &ret->id, err)) < 0 ||
	        (r = apimsg_field_str(o, "pool", true, VAL_NAME_MAX, NULL, c, &ret->pool, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "type", false, DEVTYPE_MAX, NULL, c, &ret->type, err)) <
	                0 ||
	        (r = apimsg_field_str(o, "health", true, SHORT_MAX, NULL, c, &health, err)) < 0 ||
	        (r = apimsg_field_str(o, "reason", false, SHORT_MAX, NULL, c, &ret->reason, err)) <
	                0 ||
	        (r = apimsg_field_int(o, "numa", false, -1, 65535, c, &numa, err)) < 0 ||
	        (r = apimsg_field_bool(o, "reserved", c, &ret->reserved, err)) < 0)
		return kb_err_prefix(err, "device");
	ret->healthy = !strcmp(health, "Healthy");
	ret->numa = (int)numa;
	h = json_object_get(o, "holder");
	if (h && !json_is_null(h)) {
		if (!json_is_object(h))
			return kb_err_set(err, c, "device: 'holder' must be an object or null");
		if ((r = holder_decode(h, &ret->holder, err)) < 0)
			return kb_err_prefix(err, "device");
		ret->held = true;
	}
	return 0;
}

/* ---- attach ---- */

int apimsg_attach_args_decode(json_t *args, struct apimsg_attach_args *ret, struct kb_err *err)
{
	const int c = EINVAL;
	const char *mac;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->vlan = -1;
	if (!json_is_object(args))
		return kb_err_set(err, c, "attach needs arguments");
	if ((r = key_decode(args, c, &ret->container_id, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(args, "network", true, VAL_NETWORK_MAX, val_network, c,
	                 &ret->network, err)) < 0 ||
	        (r = apimsg_field_str(args, "deviceType", true, DEVTYPE_MAX, NULL, c,
	                 &ret->device_type, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "pool", false, POOL_REF_MAX, NULL, c, &ret->pool, err)) < 0 ||
	        (r = apimsg_field_str(args, "deviceID", false, VAL_DEVICE_ID_MAX, val_device_id, c,
	                 &ret->device_id, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "netns", false, VAL_PATH_MAX, NULL, c, &ret->netns, err)) < 0 ||
	        (r = apimsg_field_str(args, "mac", false, MAC_STR_LEN, NULL, c, &mac, err)) < 0 ||
	        (r = apimsg_field_int32(args, "mtu", 68, 65535, c, &ret->mtu, err)) < 0 ||
	        (r = apimsg_field_int32(args, "vlan", 0, 4094, c, &ret->vlan, err)) < 0 ||
	        (r = apimsg_pod_decode(args, c, &ret->pod, err)) < 0 ||
	        (r = apimsg_field_obj(args, "config", c, &ret->config, err)) < 0 ||
	        (r = apimsg_field_obj(args, "ipam", c, &ret->ipam, err)) < 0)
		return r;
	if (ret->pool && !*ret->pool)
		ret->pool = NULL;
	if (ret->netns && !*ret->netns)
		ret->netns = NULL;
	if (ret->netns) {
		const char *why;
		if (!val_abs_path(ret->netns, &why))
			return kb_err_set(err, c, "'netns': %s", why);
	}
	if (mac) {
		if (mac_parse(mac, &ret->mac) < 0 || mac_is_multicast(&ret->mac) ||
		        mac_is_zero(&ret->mac))
			return kb_err_set(err, c,
			        "'mac' (%s) must be a unicast address aa:bb:cc:dd:ee:ff", mac);
		ret->has_mac = true;
	}
	ret->ips = json_object_get(args, "ips");
	if (ret->ips && json_is_null(ret->ips))
		ret->ips = NULL;
	if (ret->ips && !ret->ipam)
		return kb_err_set(err, c, "'ips' needs an 'ipam' section");
	return 0;
}

json_t *apimsg_attach_args_encode(const struct apimsg_attach_args *a)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "containerID", a->container_id, "ifname",
	        a->ifname, "network", a->network, "deviceType", a->device_type);
	json_t *pod;

	if (!o)
		return NULL;
	apimsg_set_str(o, "netns", a->netns && *a->netns ? a->netns : NULL);
	apimsg_set_str(o, "pool", a->pool);
	apimsg_set_str(o, "deviceID", a->device_id);
	if (a->has_mac) {
		char mac[MAC_STR_LEN];
		mac_format(&a->mac, mac);
		json_object_set_new(o, "mac", json_string(mac));
	}
	if (a->mtu)
		json_object_set_new(o, "mtu", json_integer(a->mtu));
	if (a->vlan >= 0)
		json_object_set_new(o, "vlan", json_integer(a->vlan));
	if ((pod = apimsg_pod_encode(&a->pod)))
		json_object_set_new(o, "pod", pod);
	if (a->config)
		json_object_set(o, "config", a->config);
	if (a->ipam) {
		json_object_set(o, "ipam", a->ipam);
		if (a->ips)
			json_object_set(o, "ips", a->ips);
	}
	return o;
}

json_t *apimsg_attach_result_encode(json_t *allocation, bool existing)
{
	return json_pack("{s:o, s:b}", "allocation", allocation, "existing", existing);
}

int apimsg_attach_result_decode(json_t *res, struct apimsg_attach_result *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	/* "existing" first: a caller undoes what it created when the rest is malformed. */
	if ((r = apimsg_field_bool(res, "existing", EPROTO, &ret->existing, err)) < 0)
		return r;
	ret->allocation = json_object_get(res, "allocation");
	if (!json_is_object(ret->allocation))
		return kb_err_set(err, EPROTO, "the agent's attach reply has no allocation");
	if ((r = apimsg_alloc_decode(ret->allocation, &ret->alloc, err)) < 0)
		return kb_err_prefix(err, "the agent's attach reply");
	return 0;
}

/* ---- detach, check ---- */

int apimsg_detach_args_decode(json_t *args, struct apimsg_detach_args *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = key_decode(args, EINVAL, &ret->container_id, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "netns", false, VAL_PATH_MAX, NULL, EINVAL, &ret->netns, err)) < 0)
		return r;
	return 0;
}

json_t *apimsg_detach_args_encode(const struct apimsg_detach_args *a)
{
	json_t *o = json_pack("{s:s, s:s}", "containerID", a->container_id, "ifname", a->ifname);

	if (o)
		apimsg_set_str(o, "netns", a->netns && *a->netns ? a->netns : NULL);
	return o;
}

json_t *apimsg_detach_result_encode(bool released, json_t *allocation, const char *warning)
{
	json_t *o = json_pack("{s:b}", "released", released);

	if (!o) {
		json_decref(allocation);
		return NULL;
	}
	if (allocation)
		json_object_set_new(o, "allocation", allocation);
	apimsg_set_str(o, "warning", warning);
	return o;
}

int apimsg_detach_result_decode(json_t *res, struct apimsg_detach_result *ret, struct kb_err *err)
{
	json_t *a;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_boolean(json_object_get(res, "released")))
		return kb_err_set(err, EPROTO, "the agent's detach reply has no 'released'");
	ret->released = json_is_true(json_object_get(res, "released"));
	if ((r = apimsg_field_str(res, "warning", false, 4096, NULL, EPROTO, &ret->warning, err)) <
	                0 ||
	        (r = apimsg_field_obj(res, "allocation", EPROTO, &a, err)) < 0)
		return r;
	if (a) {
		if ((r = apimsg_alloc_decode(a, &ret->alloc, err)) < 0)
			return r;
		ret->has_alloc = true;
	}
	return 0;
}

int apimsg_check_args_decode(json_t *args, struct apimsg_check_args *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = key_decode(args, EINVAL, &ret->container_id, &ret->ifname, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "mac", false, MAC_STR_LEN, NULL, EINVAL, &ret->mac, err)) < 0)
		return r;
	return 0;
}

json_t *apimsg_check_args_encode(const struct apimsg_check_args *a)
{
	json_t *o = json_pack("{s:s, s:s}", "containerID", a->container_id, "ifname", a->ifname);

	if (o)
		apimsg_set_str(o, "mac", a->mac);
	return o;
}

json_t *apimsg_check_result_encode(json_t *allocation)
{
	return json_pack("{s:o}", "allocation", allocation);
}

int apimsg_check_result_decode(json_t *res, struct apimsg_alloc *ret, struct kb_err *err)
{
	json_t *a = json_object_get(res, "allocation");

	if (!json_is_object(a)) {
		memset(ret, 0, sizeof(*ret));
		return kb_err_set(err, EPROTO, "the agent's check reply has no allocation");
	}
	return apimsg_alloc_decode(a, ret, err);
}

/* ---- gc ---- */

int apimsg_attachments_decode(
        json_t *arr, struct apimsg_attachment **ret, size_t *ret_n, struct kb_err *err)
{
	struct apimsg_attachment *v = NULL;
	json_t *item;
	size_t i, n;
	int r;

	if (!json_is_array(arr))
		return kb_err_set(err, EINVAL, "'valid' must be an array");
	n = json_array_size(arr);
	if (n > APIMSG_GC_MAX_VALID)
		return kb_err_set(
		        err, EINVAL, "'valid' lists more than %d attachments", APIMSG_GC_MAX_VALID);
	if (n && !(v = calloc(n, sizeof(*v))))
		return kb_err_set(err, ENOMEM, "out of memory");
	json_array_foreach (arr, i, item) {
		if (!json_is_object(item))
			r = kb_err_set(err, EINVAL, "'valid' items must be objects");
		else
			r = key_decode(item, EINVAL, &v[i].container_id, &v[i].ifname, err);
		if (r < 0) {
			free(v);
			return kb_err_prefix(err, "valid[%zu]", i);
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int apimsg_gc_args_decode(json_t *args, struct apimsg_gc_args *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = apimsg_field_str(args, "network", true, VAL_NETWORK_MAX, val_network, EINVAL,
	             &ret->network, err)) < 0)
		return r;
	return apimsg_attachments_decode(
	        json_object_get(args, "valid"), &ret->valid, &ret->n_valid, err);
}

json_t *apimsg_gc_args_encode(const struct apimsg_gc_args *a)
{
	json_t *o = json_pack("{s:s, s:[]}", "network", a->network, "valid");
	json_t *valid = json_object_get(o, "valid");

	for (size_t i = 0; o && i < a->n_valid; i++)
		json_array_append_new(
		        valid, json_pack("{s:s, s:s}", "containerID", a->valid[i].container_id,
		                       "ifname", a->valid[i].ifname));
	return o;
}

void apimsg_gc_args_free(struct apimsg_gc_args *a)
{
	free(a->valid);
	a->valid = NULL;
	a->n_valid = 0;
}

json_t *apimsg_gc_result_encode(json_t *released)
{
	return json_pack("{s:o}", "released", released);
}

int apimsg_gc_result_decode(json_t *res, json_t **ret_released, struct kb_err *err)
{
	json_t *arr = json_object_get(res, "released");

	*ret_released = NULL;
	if (!json_is_array(arr))
		return kb_err_set(err, EPROTO, "the agent's gc reply has no 'released' array");
	*ret_released = arr;
	return 0;
}

/* ---- status ---- */

int apimsg_status_args_decode(json_t *args, struct apimsg_status_args *ret, struct kb_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!args)
		return 0;
	if ((r = apimsg_field_str(args, "deviceType", false, DEVTYPE_MAX, NULL, EINVAL,
	             &ret->device_type, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "pool", false, POOL_REF_MAX, NULL, EINVAL, &ret->pool, err)) < 0)
		return r;
	if (ret->pool && !*ret->pool)
		ret->pool = NULL;
	if (ret->pool && !ret->device_type)
		return kb_err_set(err, EINVAL, "'pool' needs 'deviceType'");
	return 0;
}

json_t *apimsg_status_args_encode(const struct apimsg_status_args *a)
{
	json_t *o;

	if (!a->device_type)
		return NULL;
	o = json_pack("{s:s}", "deviceType", a->device_type);
	if (o)
		apimsg_set_str(o, "pool", a->pool);
	return o;
}

/* "state" and "api" are sections (agentctl status prints them as the modules'). */
static const char *const status_core[] = {"version", "apiVersion", "pid", "startedAt",
        "uptimeSeconds", "config", "pools", "devices", "allocations", "healthy", "attach", NULL};

bool apimsg_section_unhealthy(json_t *section)
{
	return json_is_false(json_object_get(section, "healthy"));
}

bool apimsg_status_is_core(const char *key)
{
	for (size_t i = 0; status_core[i]; i++)
		if (!strcmp(status_core[i], key))
			return true;
	return false;
}

json_t *apimsg_status_encode(const struct apimsg_status *s)
{
	json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:b}", "version",
	        s->version, "apiVersion", s->api_version, "pid", (json_int_t)s->pid, "startedAt",
	        s->started_at, "uptimeSeconds", (json_int_t)s->uptime_seconds, "config",
	        s->config ? s->config : "", "pools", (json_int_t)s->pools, "devices",
	        (json_int_t)s->devices, "allocations", (json_int_t)s->allocations, "healthy",
	        s->healthy);

	if (!o || (s->state && json_object_set(o, "state", s->state) < 0) ||
	        (s->api && json_object_set(o, "api", s->api) < 0)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(s->state);
	json_decref(s->api);
	return o;
}

int apimsg_status_set_probe(json_t *status, const struct apimsg_attach_probe *p)
{
	json_t *o;

	if (p->errnum)
		o = json_pack("{s:{s:s, s:s}}", "error", "code", kb_errno_name(p->errnum),
		        "message", p->message ? p->message : "");
	else
		o = json_pack("{s:s, s:s, s:I}", "pool", p->pool, "resourceName", p->resource_name,
		        "free", (json_int_t)p->free);
	if (!o)
		return -ENOMEM;
	return json_object_set_new(status, "attach", o) < 0 ? -ENOMEM : 0;
}

static int probe_decode(json_t *o, struct apimsg_attach_probe *ret, struct kb_err *err)
{
	const int c = EPROTO;
	json_t *e;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!o)
		return 0;
	if (!json_is_object(o))
		return kb_err_set(err, c, "'attach' must be an object");
	ret->answered = true;
	if ((r = apimsg_field_obj(o, "error", c, &e, err)) < 0)
		return r;
	if (e) {
		const char *code;
		if ((r = apimsg_field_str(e, "code", true, SHORT_MAX, NULL, c, &code, err)) < 0 ||
		        (r = apimsg_field_str(
		                 e, "message", false, 4096, NULL, c, &ret->message, err)) < 0)
			return kb_err_prefix(err, "attach.error");
		ret->errnum = kb_errno_from_name(code);
		if (!ret->errnum)
			ret->errnum = EIO;
		return 0;
	}
	if ((r = apimsg_field_str(o, "pool", true, VAL_NAME_MAX, NULL, c, &ret->pool, err)) < 0 ||
	        (r = apimsg_field_str(o, "resourceName", false, POOL_REF_MAX, NULL, c,
	                 &ret->resource_name, err)) < 0 ||
	        (r = apimsg_field_int(o, "free", true, 0, INT64_MAX, c, &ret->free, err)) < 0)
		return kb_err_prefix(err, "attach");
	return 0;
}

int apimsg_status_decode(json_t *res, struct apimsg_status *ret, struct kb_err *err)
{
	const int c = EPROTO;
	int64_t api = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(res))
		return kb_err_set(err, c, "status is not an object");
	ret->obj = res;
	if ((r = apimsg_field_str(res, "version", true, SHORT_MAX, NULL, c, &ret->version, err)) <
	                0 ||
	        (r = apimsg_field_int(res, "apiVersion", false, 0, INT32_MAX, c, &api, err)) < 0 ||
	        (r = apimsg_field_int(res, "pid", false, 0, INT64_MAX, c, &ret->pid, err)) < 0 ||
	        (r = apimsg_field_str(
	                 res, "startedAt", false, SHORT_MAX, NULL, c, &ret->started_at, err)) < 0 ||
	        (r = apimsg_field_int(res, "uptimeSeconds", false, 0, INT64_MAX, c,
	                 &ret->uptime_seconds, err)) < 0 ||
	        (r = apimsg_field_str(
	                 res, "config", false, VAL_PATH_MAX, NULL, c, &ret->config, err)) < 0 ||
	        (r = apimsg_field_int(res, "pools", false, 0, INT64_MAX, c, &ret->pools, err)) <
	                0 ||
	        (r = apimsg_field_int(res, "devices", false, 0, INT64_MAX, c, &ret->devices, err)) <
	                0 ||
	        (r = apimsg_field_int(
	                 res, "allocations", false, 0, INT64_MAX, c, &ret->allocations, err)) < 0 ||
	        (r = apimsg_field_bool(res, "healthy", c, &ret->healthy, err)) < 0 ||
	        (r = probe_decode(json_object_get(res, "attach"), &ret->probe, err)) < 0 ||
	        (r = apimsg_field_obj(res, "state", c, &ret->state, err)) < 0 ||
	        (r = apimsg_field_obj(res, "api", c, &ret->api, err)) < 0)
		return kb_err_prefix(err, "status");
	ret->api_version = (int)api;
	return 0;
}

/* ---- list ---- */

static const char *const list_names[] = {
        [APIMSG_LIST_POOLS] = "pools",
        [APIMSG_LIST_DEVICES] = "devices",
        [APIMSG_LIST_ALLOCATIONS] = "allocations",
};

int apimsg_list_args_decode(json_t *args, struct apimsg_list_args *ret, struct kb_err *err)
{
	const char *what;
	size_t i;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((r = apimsg_field_str(args, "what", true, DEVTYPE_MAX, NULL, EINVAL, &what, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "pool", false, VAL_NAME_MAX, NULL, EINVAL, &ret->pool, err)) < 0)
		return r;
	for (i = 0; i < sizeof(list_names) / sizeof(list_names[0]); i++)
		if (!strcmp(list_names[i], what))
			break;
	if (i == sizeof(list_names) / sizeof(list_names[0]))
		return kb_err_set(err, EINVAL, "'what' must be pools, devices or allocations");
	ret->what = i;
	if (ret->what != APIMSG_LIST_ALLOCATIONS)
		return 0;
	if ((r = apimsg_field_str(args, "containerID", false, VAL_CONTAINER_ID_MAX, NULL, EINVAL,
	             &ret->container_id, err)) < 0 ||
	        (r = apimsg_field_str(
	                 args, "pod", false, POD_REF_MAX, NULL, EINVAL, &ret->pod, err)) < 0)
		return r;
	return 0;
}

json_t *apimsg_list_args_encode(const struct apimsg_list_args *a)
{
	json_t *o = json_pack("{s:s}", "what", list_names[a->what]);

	if (o) {
		apimsg_set_str(o, "pool", a->pool);
		apimsg_set_str(o, "containerID", a->container_id);
		apimsg_set_str(o, "pod", a->pod);
	}
	return o;
}

json_t *apimsg_list_result_encode(enum apimsg_list_what what, json_t *items)
{
	return json_pack("{s:o}", list_names[what], items);
}

int apimsg_list_result_decode(
        json_t *res, enum apimsg_list_what what, json_t **ret_items, struct kb_err *err)
{
	json_t *arr = json_object_get(res, list_names[what]);

	*ret_items = NULL;
	if (!json_is_array(arr))
		return kb_err_set(
		        err, EPROTO, "the agent's list reply has no '%s' array", list_names[what]);
	*ret_items = arr;
	return 0;
}
