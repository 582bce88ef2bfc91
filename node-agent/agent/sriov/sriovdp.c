/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/sriovdp.h"
#include "agent/config.h"
#include "agent/inventory.h"
#include "common/fs.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESOURCES 256
#define MAX_ITEMS     16

/* Selector keys kbnet implements with the device plugin's meaning: lists of strings, passed
 * to the pool as they are (agent/sriov/select.h). */
static const char *const pass_keys[] = {"vendors", "devices", "drivers", "pciAddresses", "pfNames",
        "rootDevices", "linkTypes", NULL};

/* Keys of the device plugin kbnet does not implement, and why. */
static const struct {
	const char *key, *why;
} unsupported[] = {
        {"ddpProfiles", "DDP profile selection is not supported by kbnet"},
        {"acpiIndexes", "ACPI index selection is not supported by kbnet"},
        {"auxTypes", "auxiliary (sub-function) devices are not supported by kbnet"},
        {"additionalInfo", "extra device-info entries are not supported by kbnet"},
};

static bool in(const char *const *v, const char *s)
{
	for (; *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static const char *unsupported_why(const char *key)
{
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (!strcmp(unsupported[i].key, key))
			return unsupported[i].why;
	return NULL;
}

/* What one resource's selectors say beyond the pass-through lists. */
struct item_flags {
	bool seen, need_vhost_net;
	const char *vdpa_type; /* NULL: not a vDPA resource */
};

/* One selector object (the object form, or one item of the list form) into out. */
static int translate_item(const char *name, const char *at, json_t *item, json_t *out,
        struct item_flags *f, struct kb_err *err)
{
	struct item_flags mine = {.seen = true};
	const char *key, *why;
	json_t *v, *s;
	size_t i;

	if (!json_is_object(item))
		return kb_err_set(err, EINVAL, "%s: %s: must be an object", name, at);
	json_object_foreach (item, key, v) {
		if (in(pass_keys, key)) {
			if (!json_is_array(v) || json_array_size(v) == 0)
				return kb_err_set(err, EINVAL,
				        "%s: %s.%s: must be a non-empty list of strings", name, at,
				        key);
			json_array_foreach (v, i, s)
				if (!json_is_string(s))
					return kb_err_set(err, EINVAL,
					        "%s: %s.%s[%zu]: must be a string", name, at, key,
					        i);
			if (json_object_set(out, key, v) < 0)
				return kb_err_set(err, ENOMEM, "out of memory");
		} else if (!strcmp(key, "isRdma")) {
			if (!json_is_boolean(v))
				return kb_err_set(
				        err, EINVAL, "%s: %s.isRdma: must be a boolean", name, at);
			if (json_is_true(v))
				return kb_err_set(err, ENOTSUP,
				        "%s: %s.isRdma: RDMA devices are not supported by kbnet",
				        name, at);
		} else if (!strcmp(key, "needVhostNet")) {
			if (!json_is_boolean(v))
				return kb_err_set(err, EINVAL,
				        "%s: %s.needVhostNet: must be a boolean", name, at);
			mine.need_vhost_net = json_is_true(v);
		} else if (!strcmp(key, "vdpaType")) {
			const char *t = json_string_value(v);
			if (!t || (strcmp(t, "vhost") && strcmp(t, "virtio")))
				return kb_err_set(err, ENOTSUP,
				        "%s: %s.vdpaType: kbnet supports \"vhost\" and \"virtio\"",
				        name, at);
			mine.vdpa_type = t;
		} else if ((why = unsupported_why(key))) {
			return kb_err_set(err, ENOTSUP, "%s: %s.%s: %s", name, at, key, why);
		} else {
			return kb_err_set(
			        err, EINVAL, "%s: %s.%s: unknown selector", name, at, key);
		}
	}
	if (f->seen && (!f->vdpa_type != !mine.vdpa_type ||
	                       (f->vdpa_type && strcmp(f->vdpa_type, mine.vdpa_type)) ||
	                       f->need_vhost_net != mine.need_vhost_net))
		return kb_err_set(err, ENOTSUP,
		        "%s: %s: vdpaType and needVhostNet must be the same in every selector of a "
		        "resource (kbnet pools are of one device type)",
		        name, at);
	*f = mine;
	return 0;
}

static int translate_resource(const char *name, size_t idx, json_t *res, const char *prefix,
        json_t *pools, struct kb_err *err)
{
	static const char *const keys[] = {"resourceName", "resourcePrefix", "deviceType",
	        "selectors", "excludeTopology", NULL};
	struct item_flags f = {0};
	const char *key, *rn, *rp, *dt, *why;
	char at[96];
	json_t *v, *sel, *pool, *items = NULL;
	size_t i;
	int r;

	if (!json_is_object(res))
		return kb_err_set(
		        err, EINVAL, "%s: resourceList[%zu]: must be an object", name, idx);
	json_object_foreach (res, key, v) {
		if (in(keys, key))
			continue;
		if ((why = unsupported_why(key)))
			return kb_err_set(
			        err, ENOTSUP, "%s: resourceList[%zu].%s: %s", name, idx, key, why);
		return kb_err_set(
		        err, EINVAL, "%s: resourceList[%zu].%s: unknown key", name, idx, key);
	}
	if (!(rn = json_string_value(json_object_get(res, "resourceName"))))
		return kb_err_set(err, EINVAL,
		        "%s: resourceList[%zu].resourceName: missing (a string)", name, idx);
	for (const char *p = rn; *p; p++)
		if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		            (*p >= 'A' && *p <= 'Z')))
			return kb_err_set(err, EINVAL,
			        "%s: resourceList[%zu].resourceName: '%s': letters, digits and _ "
			        "only",
			        name, idx, rn);
	if (!val_name(rn, &why))
		return kb_err_set(
		        err, EINVAL, "%s: resourceList[%zu].resourceName: %s", name, idx, why);
	v = json_object_get(res, "resourcePrefix");
	if (v && !json_is_string(v))
		return kb_err_set(err, EINVAL,
		        "%s: resourceList[%zu].resourcePrefix: must be a string", name, idx);
	rp = v ? json_string_value(v) : prefix;
	if (!val_k8s_name(rp, &why))
		return kb_err_set(
		        err, EINVAL, "%s: resourceList[%zu].resourcePrefix: %s", name, idx, why);
	v = json_object_get(res, "deviceType");
	dt = v ? json_string_value(v) : "netDevice";
	if (!dt)
		return kb_err_set(err, EINVAL, "%s: resourceList[%zu].deviceType: must be a string",
		        name, idx);
	if (!strcmp(dt, "accelerator"))
		return kb_err_set(err, ENOTSUP,
		        "%s: resourceList[%zu].deviceType: accelerator devices are not supported "
		        "by "
		        "kbnet (network VFs and vDPA devices only)",
		        name, idx);
	if (!strcmp(dt, "auxNetDevice"))
		return kb_err_set(err, ENOTSUP,
		        "%s: resourceList[%zu].deviceType: auxiliary (sub-function) devices are "
		        "not "
		        "supported by kbnet",
		        name, idx);
	if (strcmp(dt, "netDevice"))
		return kb_err_set(err, EINVAL,
		        "%s: resourceList[%zu].deviceType: unknown type '%s'", name, idx, dt);
	v = json_object_get(res, "excludeTopology");
	if (v && !json_is_boolean(v))
		return kb_err_set(err, EINVAL,
		        "%s: resourceList[%zu].excludeTopology: must be a boolean", name, idx);

	if (!(pool = json_pack("{s:s, s:s, s:b}", "name", rn, "resourcePrefix", rp, "topology",
	              !json_is_true(v))))
		return kb_err_set(err, ENOMEM, "out of memory");
	sel = json_object_get(res, "selectors");
	if (json_is_array(sel)) {
		/* The list form: each item a selector set, a device matching any belongs. */
		if (json_array_size(sel) == 0 || json_array_size(sel) > MAX_ITEMS) {
			r = kb_err_set(err, EINVAL,
			        "%s: resourceList[%zu].selectors: 1 to %d selector objects", name,
			        idx, MAX_ITEMS);
			goto fail;
		}
		if (!(items = json_array())) {
			r = kb_err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		json_array_foreach (sel, i, v) {
			json_t *it = json_object();
			snprintf(at, sizeof(at), "resourceList[%zu].selectors[%zu]", idx, i);
			if (!it || json_array_append_new(items, it) < 0) {
				r = kb_err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
			if ((r = translate_item(name, at, v, it, &f, err)) < 0)
				goto fail;
			if (f.vdpa_type)
				json_object_set_new(it, "vdpaType", json_string(f.vdpa_type));
		}
		json_object_set(pool, "selectors", items);
	} else if (sel && !json_is_null(sel)) {
		snprintf(at, sizeof(at), "resourceList[%zu].selectors", idx);
		if ((r = translate_item(name, at, sel, pool, &f, err)) < 0)
			goto fail;
		if (f.vdpa_type)
			json_object_set_new(pool, "vdpaType", json_string(f.vdpa_type));
	}
	json_object_set_new(pool, "type", json_string(f.vdpa_type ? "vdpa" : "sriov-vf"));
	if (f.need_vhost_net) {
		if (f.vdpa_type) {
			r = kb_err_set(err, ENOTSUP,
			        "%s: resourceList[%zu].selectors.needVhostNet: not with vdpaType "
			        "(kbnet "
			        "mounts /dev/vhost-net for VF resources)",
			        name, idx);
			goto fail;
		}
		json_object_set_new(pool, "needVhostNet", json_true());
	}
	json_decref(items);
	return json_array_append_new(pools, pool) < 0 ? kb_err_set(err, ENOMEM, "out of memory")
	                                              : 0;
fail:
	json_decref(items);
	json_decref(pool);
	return r;
}

int sriovdp_translate(const char *text, size_t len, const char *name, const char *prefix,
        char **ret_json, struct kb_err *err)
{
	json_t *root, *list, *pools = NULL, *res;
	json_error_t je;
	const char *key;
	json_t *v;
	size_t i;
	int r = 0;

	if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
		return kb_err_set(err, EINVAL, "%s:%d:%d: %s", name, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		r = kb_err_set(err, EINVAL, "%s: must be a JSON object with resourceList", name);
		goto out;
	}
	json_object_foreach (root, key, v) {
		if (strcmp(key, "resourceList")) {
			r = kb_err_set(
			        err, EINVAL, "%s: %s: unknown key (only resourceList)", name, key);
			goto out;
		}
	}
	list = json_object_get(root, "resourceList");
	if (!json_is_array(list) || json_array_size(list) > MAX_RESOURCES) {
		r = kb_err_set(err, EINVAL,
		        "%s: resourceList: must be a list of at most %d resources", name,
		        MAX_RESOURCES);
		goto out;
	}
	if (!(pools = json_array())) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach (list, i, res)
		if ((r = translate_resource(name, i, res, prefix, pools, err)) < 0)
			goto out;
	if (!(*ret_json = json_dumps(pools, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
		r = kb_err_set(err, ENOMEM, "out of memory");
out:
	json_decref(pools);
	json_decref(root);
	return r;
}

/* ---- the `pools:` import entry ---- */

static int import_load(const struct cfg_node *value, struct cfg **ret_doc,
        struct cfg_node *ret_list, struct kb_err *err)
{
	static const char *const keys[] = {"file", "resourcePrefix", NULL};
	char path[PATH_MAX], prefix[VAL_K8S_NAME_MAX + 1] = SRIOVDP_DEFAULT_PREFIX,
	                                               name[PATH_MAX + 32];
	char *text = NULL, *json = NULL;
	size_t len;
	int r;

	if (cfg_node_is_scalar(value)) {
		if (str_copy(path, sizeof(path), cfg_node_scalar(value)) < 0)
			return cfg_node_error(
			        value, "sriovDevicePluginConfig", err, "path too long");
	} else {
		if ((r = cfg_map_check(value, "sriovDevicePluginConfig", keys, err)) < 0 ||
		        (r = cfg_opt_str(value, "resourcePrefix", prefix, sizeof(prefix), err)) < 0)
			return r;
		r = cfg_get_str(value, "file", path, sizeof(path), err);
		if (r == -ENOENT)
			return cfg_node_error(value, "sriovDevicePluginConfig", err, "needs file");
		if (r < 0)
			return r;
	}
	if (path[0] != '/')
		return cfg_node_error(value, "sriovDevicePluginConfig", err,
		        "'%s': must be an absolute path", path);
	r = fs_read_file(path, SRIOVDP_MAX_FILE, &text, &len);
	if (r < 0)
		return cfg_node_error(value, "sriovDevicePluginConfig", err, "%s: %s", path,
		        r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
	if ((r = sriovdp_translate(text, len, path, prefix, &json, err)) < 0)
		goto out;
	snprintf(name, sizeof(name), "%s (as kbnet pools)", path);
	r = cfg_doc_load(json, strlen(json), name, ret_doc, ret_list, err);
out:
	free(text);
	free(json);
	return r;
}

static struct inv_pool_import sriovdp_import = {
        .key = "sriovDevicePluginConfig",
        .load = import_load,
};
INV_POOL_IMPORT_REGISTER(sriovdp_import)
