/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg_dev.h"
#include "api/apimsg_field.h"
#include "common/validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define C         EINVAL /* read back from disk as much as from the wire */
#define SHORT_MAX 256
#define TIME_FMT  "%Y-%m-%dT%H:%M:%SZ"

/* ---- state record ---- */

json_t *apimsg_record_encode(const struct apimsg_record *r)
{
	char mac[MAC_STR_LEN], created[32];
	struct tm tm;
	json_t *o, *pod;
	int e = 0;

	mac_format(&r->mac, mac);
	gmtime_r(&r->created, &tm);
	strftime(created, sizeof(created), TIME_FMT, &tm);
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "record",
	        APIMSG_RECORD_FORMAT, "containerID", r->container_id, "ifname", r->ifname,
	        "network", r->network, "pool", r->pool, "deviceType", r->device_type, "deviceID",
	        r->device_id, "mac", mac, "created", created);
	if (!o) {
		json_decref(r->ipam);
		return NULL;
	}
	apimsg_set_str(o, "netns", r->netns);
	if (r->mtu)
		e |= json_object_set_new(o, "mtu", json_integer(r->mtu));
	if (r->vlan >= 0)
		e |= json_object_set_new(o, "vlan", json_integer(r->vlan));
	if ((pod = apimsg_pod_encode(&r->pod)))
		e |= json_object_set_new(o, "pod", pod);
	if (r->ipam)
		e |= json_object_set_new(o, "ipam", r->ipam);
	if (e) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A validated string field of a record; -ENOENT when absent and optional. */
static int record_str(json_t *obj, const char *key, size_t max, apimsg_valid_fn valid,
        bool required, const char **ret, struct kb_err *err)
{
	const char *s = json_string_value(json_object_get(obj, key)), *why = "too long";

	*ret = NULL;
	if (!s) {
		if (!required)
			return -ENOENT;
		return kb_err_set(err, C, "'%s' missing", key);
	}
	if ((valid && !valid(s, &why)) || strlen(s) > max)
		return kb_err_set(err, C, "'%s' (%.64s): %s", key, s, why);
	*ret = s;
	return 0;
}

int apimsg_record_decode(json_t *o, bool (*known_type)(const char *name), struct apimsg_record *ret,
        struct kb_err *err)
{
	json_t *fmt = json_object_get(o, "record");
	const char *mac, *created, *end;
	struct tm tm = {0};
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->vlan = -1;
	if (!json_is_object(o))
		return kb_err_set(err, C, "the record is not an object");
	/* A newer agent's record is not damage: refuse it rather than guess (nothing dropped). */
	if (fmt && (!json_is_integer(fmt) || json_integer_value(fmt) < 2 ||
	                   json_integer_value(fmt) > APIMSG_RECORD_FORMAT))
		return kb_err_set(err, EPROTONOSUPPORT,
		        "record format %s, this kbnet-agent reads formats 1 and %d only",
		        json_is_integer(fmt) ? "newer" : "unknown", APIMSG_RECORD_FORMAT);
	ret->format = fmt ? APIMSG_RECORD_FORMAT : 1;
	ret->device_type = json_string_value(json_object_get(o, "deviceType"));
	if (!ret->device_type || !known_type(ret->device_type))
		return kb_err_set(err, C, "unknown deviceType '%s'",
		        ret->device_type ? ret->device_type : "");
	if ((r = record_str(o, "containerID", VAL_CONTAINER_ID_MAX, val_container_id, true,
	             &ret->container_id, err)) < 0 ||
	        (r = record_str(o, "ifname", VAL_IFNAME_MAX, val_ifname, true, &ret->ifname, err)) <
	                0 ||
	        (r = record_str(o, "network", VAL_NETWORK_MAX, val_network, true, &ret->network,
	                 err)) < 0 ||
	        (r = record_str(o, "pool", VAL_NAME_MAX, val_name, true, &ret->pool, err)) < 0 ||
	        (r = record_str(o, "deviceID", VAL_DEVICE_ID_MAX, val_device_id, true,
	                 &ret->device_id, err)) < 0)
		return r;
	if ((r = record_str(o, "netns", VAL_PATH_MAX, val_abs_path, false, &ret->netns, err)) < 0 &&
	        r != -ENOENT)
		return r;
	/* Nothing read from disk is trusted more than an API request: the same rules. */
	mac = json_string_value(json_object_get(o, "mac"));
	if (!mac || mac_parse(mac, &ret->mac) < 0)
		return kb_err_set(err, C, "bad mac");
	/* The same rules as for an attach request's pod (the UID names a directory). */
	if ((r = apimsg_pod_decode(o, C, &ret->pod, err)) < 0 ||
	        (r = apimsg_field_int32(o, "mtu", 68, 65535, C, &ret->mtu, err)) < 0 ||
	        (r = apimsg_field_int32(o, "vlan", 0, 4094, C, &ret->vlan, err)) < 0 ||
	        (r = apimsg_field_obj(o, "ipam", C, &ret->ipam, err)) < 0)
		return r;
	created = json_string_value(json_object_get(o, "created"));
	if (!created || !(end = strptime(created, TIME_FMT, &tm)) || *end)
		return kb_err_set(err, C, "'created' must be a time YYYY-MM-DDTHH:MM:SSZ");
	ret->created = timegm(&tm);
	return 0;
}

/* ---- netdev state ---- */

int apimsg_netdev_state_set(json_t *typeobj, const struct apimsg_netdev_state *s)
{
	json_t *orig = json_object_get(typeobj, "original");
	char mac[MAC_STR_LEN];
	int e = 0;

	if (!json_is_object(orig)) {
		if (!(orig = json_object()) || json_object_set_new(typeobj, "original", orig) < 0)
			return -ENOMEM;
	}
	mac_format(&s->mac, mac);
	e |= json_object_set_new(orig, "name", json_string(s->name));
	e |= json_object_set_new(orig, "ifindex", json_integer(s->ifindex));
	e |= json_object_set_new(orig, "mac", json_string(mac));
	e |= json_object_set_new(orig, "mtu", json_integer(s->mtu));
	e |= json_object_set_new(orig, "up", json_boolean(s->up));
	e |= json_object_set_new(typeobj, "podIfindex", json_integer(s->pod_ifindex));
	e |= json_object_set_new(typeobj, "moved", json_boolean(s->moved));
	return e ? -ENOMEM : 0;
}

int apimsg_netdev_state_decode(json_t *typeobj, struct apimsg_netdev_state *ret, struct kb_err *err)
{
	json_t *orig = json_object_get(typeobj, "original");
	const char *name = json_string_value(json_object_get(orig, "name"));
	const char *mac = json_string_value(json_object_get(orig, "mac"));
	json_t *ifx = json_object_get(orig, "ifindex"), *mtu = json_object_get(orig, "mtu");
	json_t *up = json_object_get(orig, "up"), *pod = json_object_get(typeobj, "podIfindex");
	json_t *moved = json_object_get(typeobj, "moved");
	const char *why;

	memset(ret, 0, sizeof(*ret));
	if (!name || !val_ifname(name, &why) || !mac || mac_parse(mac, &ret->mac) < 0 ||
	        !json_is_integer(ifx) || !json_is_integer(mtu) || !json_is_boolean(up) ||
	        !json_is_integer(pod) || !json_is_boolean(moved) || json_integer_value(ifx) < 0 ||
	        json_integer_value(ifx) > INT32_MAX || json_integer_value(pod) < 0 ||
	        json_integer_value(pod) > INT32_MAX || json_integer_value(mtu) < 0 ||
	        json_integer_value(mtu) > 65535)
		return kb_err_set(err, C, "bad saved netdev state");
	ret->name = name;
	ret->ifindex = json_integer_value(ifx);
	ret->mtu = (int)json_integer_value(mtu);
	ret->up = json_is_true(up);
	ret->pod_ifindex = json_integer_value(pod);
	ret->moved = json_is_true(moved);
	return 0;
}

/* ---- vhostUser ---- */

int apimsg_vhost_user_set(json_t *alloc, const struct apimsg_vhost_user *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "socketPath", v->socket_path,
	        "socketDir", v->socket_dir, "agentMode", v->agent_server ? "server" : "client",
	        "podMode", v->agent_server ? "client" : "server", "queues", v->queues, "claim",
	        (json_int_t)v->claim);

	return o && json_object_set_new(alloc, "vhostUser", o) == 0 ? 0 : -ENOMEM;
}

int apimsg_vhost_user_decode(json_t *alloc, struct apimsg_vhost_user *ret, struct kb_err *err)
{
	json_t *vu = json_object_get(alloc, "vhostUser");
	const char *mode = json_string_value(json_object_get(vu, "agentMode"));
	json_t *queues = json_object_get(vu, "queues"), *claim = json_object_get(vu, "claim");

	memset(ret, 0, sizeof(*ret));
	ret->socket_path = json_string_value(json_object_get(vu, "socketPath"));
	ret->socket_dir = json_string_value(json_object_get(vu, "socketDir"));
	if (!mode || (strcmp(mode, "server") && strcmp(mode, "client")))
		return kb_err_set(err, C, "vhostUser agentMode must be client or server");
	if (!json_is_integer(queues) || json_integer_value(queues) < 1 ||
	        json_integer_value(queues) > APIMSG_VHOST_USER_MAX_QUEUES)
		return kb_err_set(err, C, "vhostUser queues must be an integer in [1, %d]",
		        APIMSG_VHOST_USER_MAX_QUEUES);
	if (claim && (!json_is_integer(claim) || json_integer_value(claim) < 0))
		return kb_err_set(err, C, "vhostUser claim must be a non-negative integer");
	ret->agent_server = strcmp(mode, "server") == 0;
	ret->queues = (int)json_integer_value(queues);
	ret->claim = json_integer_value(claim);
	return 0;
}

/* ---- kernel ---- */

int apimsg_kernel_set(json_t *alloc, const struct apimsg_kernel *k)
{
	json_t *o = json_pack("{s:b, s:s, s:i, s:b, s:s, s:b}", "netdev", true, "hostName",
	        k->host_name, "queues", k->queues, "offloads", k->offloads, "io", k->io, "attached",
	        k->attached);

	if (!o)
		return -ENOMEM;
	if (apimsg_netdev_state_set(o, &k->netdev) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_object_set_new(alloc, "kernel", o) < 0 ? -ENOMEM : 0;
}

int apimsg_kernel_decode(json_t *alloc, struct apimsg_kernel *ret, struct kb_err *err)
{
	json_t *o = json_object_get(alloc, "kernel"), *q = json_object_get(o, "queues");

	memset(ret, 0, sizeof(*ret));
	ret->host_name = json_string_value(json_object_get(o, "hostName"));
	if (!json_is_object(o) || !ret->host_name || !json_is_integer(q) ||
	        json_integer_value(q) < 1 || json_integer_value(q) > INT32_MAX)
		return kb_err_set(err, C, "bad 'kernel' object");
	ret->queues = (int)json_integer_value(q);
	ret->offloads = json_is_true(json_object_get(o, "offloads"));
	ret->io = json_string_value(json_object_get(o, "io"));
	ret->attached = json_is_true(json_object_get(o, "attached"));
	return apimsg_netdev_state_decode(o, &ret->netdev, err);
}

/* ---- vf ---- */

int apimsg_vf_set(json_t *alloc, const struct apimsg_vf *v)
{
	json_t *vf = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:b}", "pciAddress", v->pci_address,
	        "pfPciAddress", v->pf_pci_address, "pfName", v->pf_name, "vfIndex", v->vf_index,
	        "driver", v->driver, "mode", v->mode, "netdev", v->netdev);
	json_t *orig = json_object();
	int e = 0;

	if (!vf || !orig) {
		json_decref(vf);
		json_decref(orig);
		json_decref(v->settings);
		json_decref(v->orig_settings);
		return -ENOMEM;
	}
	apimsg_set_str(vf, "vfioGroup", v->vfio_group);
	e |= json_object_set_new(vf, "settings", v->settings);
	e |= json_object_set_new(orig, "vf", v->orig_settings);
	e |= json_object_set_new(vf, "original", orig);
	if (v->has_netdev_state)
		e |= apimsg_netdev_state_set(vf, &v->netdev_state);
	e |= json_object_set_new(alloc, "vf", vf);
	return e ? -ENOMEM : 0;
}

int apimsg_vf_decode(json_t *alloc, struct apimsg_vf *ret, struct kb_err *err)
{
	json_t *vf = json_object_get(alloc, "vf"), *orig = json_object_get(vf, "original");
	json_t *idx = json_object_get(vf, "vfIndex");

	memset(ret, 0, sizeof(*ret));
	ret->vf_obj = vf;
	ret->pci_address = json_string_value(json_object_get(vf, "pciAddress"));
	ret->pf_pci_address = json_string_value(json_object_get(vf, "pfPciAddress"));
	ret->pf_name = json_string_value(json_object_get(vf, "pfName"));
	ret->driver = json_string_value(json_object_get(vf, "driver"));
	ret->mode = json_string_value(json_object_get(vf, "mode"));
	ret->vfio_group = json_string_value(json_object_get(vf, "vfioGroup"));
	if (!ret->pci_address || !ret->pf_pci_address || !ret->pf_name || !ret->driver ||
	        !ret->mode || !json_is_integer(idx) || json_integer_value(idx) < -1 ||
	        json_integer_value(idx) > INT32_MAX || !json_is_object(orig))
		return kb_err_set(err, C, "bad 'vf' object");
	ret->vf_index = (int)json_integer_value(idx);
	ret->netdev = json_is_true(json_object_get(vf, "netdev"));
	ret->settings = json_object_get(vf, "settings");
	ret->orig_settings = json_object_get(orig, "vf");
	return 0;
}

/* ---- vdpa ---- */

int apimsg_vdpa_set(json_t *alloc, const struct apimsg_vdpa *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", v->name,
	        "driver", v->driver, "type", v->type, "path", v->path, "parentDevice",
	        v->parent_device, "pciAddress", v->pci_address, "pfPciAddress", v->pf_pci_address,
	        "virtio", v->virtio, "netdev", v->netdev);

	if (!o)
		return -ENOMEM;
	if (v->netdev && apimsg_netdev_state_set(o, &v->netdev_state) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_object_set_new(alloc, "vdpa", o) < 0 ? -ENOMEM : 0;
}

int apimsg_vdpa_decode(json_t *alloc, struct apimsg_vdpa *ret, struct kb_err *err)
{
	json_t *o = json_object_get(alloc, "vdpa");

	memset(ret, 0, sizeof(*ret));
	ret->vdpa_obj = o;
	ret->type = json_string_value(json_object_get(o, "type"));
	ret->path = json_string_value(json_object_get(o, "path"));
	ret->name = json_string_value(json_object_get(o, "name"));
	ret->driver = json_string_value(json_object_get(o, "driver"));
	ret->parent_device = json_string_value(json_object_get(o, "parentDevice"));
	ret->pci_address = json_string_value(json_object_get(o, "pciAddress"));
	ret->pf_pci_address = json_string_value(json_object_get(o, "pfPciAddress"));
	ret->virtio = json_string_value(json_object_get(o, "virtio"));
	if (!json_is_object(o) || !ret->type || !ret->path || !ret->name || !ret->driver ||
	        !ret->parent_device || !ret->pci_address || !ret->pf_pci_address || !ret->virtio)
		return kb_err_set(err, C, "bad 'vdpa' object");
	ret->netdev = json_is_true(json_object_get(o, "netdev"));
	return 0;
}

/* ---- type fields of a device ---- */

int apimsg_device_set_mac(json_t *dev, const struct mac *mac)
{
	char s[MAC_STR_LEN];

	mac_format(mac, s);
	return json_object_set_new(dev, "mac", json_string(s)) < 0 ? -ENOMEM : 0;
}

int apimsg_vf_device_set(json_t *dev, const struct apimsg_vf_device *v)
{
	int e = 0;

	e |= json_object_set_new(dev, "pciAddress", json_string(v->pci_address));
	e |= json_object_set_new(dev, "pfName", json_string(v->pf_name));
	e |= json_object_set_new(dev, "pfPciAddress", json_string(v->pf_pci_address));
	e |= json_object_set_new(dev, "vfIndex", json_integer(v->vf_index));
	e |= json_object_set_new(dev, "vendor", json_string(v->vendor));
	e |= json_object_set_new(dev, "device", json_string(v->device));
	e |= json_object_set_new(dev, "driver", json_string(v->driver));
	e |= json_object_set_new(dev, "mode", json_string(v->mode));
	apimsg_set_str(dev, "netdev", v->netdev);
	if (v->iommu_group >= 0)
		e |= json_object_set_new(dev, "iommuGroup", json_integer(v->iommu_group));
	apimsg_set_str(dev, "linkType", v->link_type);
	if (v->settings)
		e |= json_object_set_new(dev, "settings", v->settings);
	apimsg_set_str(dev, "podIfname", v->pod_ifname);
	return e ? -ENOMEM : 0;
}

int apimsg_vdpa_device_set(json_t *dev, const struct apimsg_vdpa_device *v)
{
	int e = 0;

	e |= json_object_set_new(dev, "driver", json_string(v->driver));
	e |= json_object_set_new(dev, "vdpaType", json_string(v->vdpa_type));
	e |= json_object_set_new(dev, "parentDevice", json_string(v->parent_device));
	apimsg_set_str(dev, "pciAddress", v->pci_address);
	apimsg_set_str(dev, "pfPciAddress", v->pf_pci_address);
	apimsg_set_str(dev, "pfName", v->pf_name);
	apimsg_set_str(dev, "chardev", v->chardev);
	apimsg_set_str(dev, "netdev", v->netdev);
	return e ? -ENOMEM : 0;
}
