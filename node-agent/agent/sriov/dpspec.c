/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/dpspec.h"
#include "common/str.h"

#include <errno.h>
#include <limits.h>

const char *dpspec_dev_root(void)
{
	return cfg_core(inv_config())->dev_root;
}

int dpspec_pcidevice_env(
        const struct device *d, struct devtype_alloc_spec *spec, struct kb_err *err)
{
	char env[256];
	int r;

	/* The spec joins the values of one container's devices with commas. */
	if (!spec->env_name || spec->env_name(spec, "PCIDEVICE", env, sizeof(env)) < 0)
		return kb_err_set(
		        err, EINVAL, "no PCIDEVICE variable name for pool %s", d->pool->name);
	if ((r = spec->env(spec, env, d->id)) < 0)
		return kb_err_set(err, -r, "setting %s", env);
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
