/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/dpspec.h"
#include "common/str.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

const char *dpspec_dev_root(void)
{
	return cfg_core(inv_config())->dev_root;
}

int dpspec_pcidevice_env(const struct device *d, const char *id, json_t *extra,
        struct devtype_alloc_spec *spec, struct kb_err *err)
{
	char env[256], info_env[262];
	json_t *info = NULL, *o;
	char *js = NULL;
	int r;

	/* The spec joins the values of one container's devices with commas (_INFO: merges). */
	if (!spec->env_name || spec->env_name(spec, "PCIDEVICE", env, sizeof(env)) < 0) {
		r = kb_err_set(
		        err, EINVAL, "no PCIDEVICE variable name for pool %s", d->pool->name);
		goto out;
	}
	if ((r = spec->env(spec, env, id)) < 0) {
		r = kb_err_set(err, -r, "setting %s", env);
		goto out;
	}
	snprintf(info_env, sizeof(info_env), "%s_INFO", env);
	if (!(o = json_pack("{s:{s:s}}", "generic", "deviceID", id)) ||
	        (extra && json_object_update(o, extra) < 0) ||
	        !(info = json_pack("{s:o}", id, o)) ||
	        !(js = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = spec->env(spec, info_env, js)) < 0)
		r = kb_err_set(err, -r, "setting %s", info_env);
out:
	free(js);
	json_decref(info);
	json_decref(extra);
	return r;
}

int dpspec_vhost_net(struct devtype_alloc_spec *spec, json_t *extra, struct kb_err *err)
{
	int r;

	if ((r = dpspec_dev_node(spec, "vhost-net", err)) < 0 ||
	        (r = dpspec_dev_node(spec, "net/tun", err)) < 0)
		return r;
	if (json_object_set_new(extra, "vhost",
	            json_pack("{s:s, s:s}", "net-mount", "/dev/vhost-net", "tun-mount",
	                    "/dev/net/tun")) < 0)
		return kb_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int dpspec_dev_node(struct devtype_alloc_spec *spec, const char *rel, struct kb_err *err)
{
	char host[PATH_MAX], cont[PATH_MAX];
	int r;

	if (str_printf(host, sizeof(host), "%s/%s", dpspec_dev_root(), rel) < 0 ||
	        str_printf(cont, sizeof(cont), "/dev/%s", rel) < 0)
		return kb_err_set(err, ENAMETOOLONG, "device path for %s too long", rel);
	if ((r = spec->device(spec, cont, host, "rw")) < 0)
		return kb_err_set(err, -r, "adding %s", cont);
	return 0;
}
