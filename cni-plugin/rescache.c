/* SPDX-License-Identifier: Apache-2.0 */
#include "rescache.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"
#include "common/validate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ':' is allowed in neither container IDs nor interface names: the name splits one way only. */
static int entry_path(const char *dir, const char *network, const char *cid, const char *ifname,
        char *buf, size_t size, struct kb_err *err)
{
	if (!val_network(network, NULL) || !val_container_id(cid, NULL) ||
	        !val_ifname(ifname, NULL))
		return kb_err_set(err, EINVAL, "invalid cache entry name");
	if (str_printf(buf, size, "%s/%s/%s:%s.json", dir, network, cid, ifname) < 0)
		return kb_err_set(err, ENAMETOOLONG, "cache path too long under %s", dir);
	return 0;
}

int rescache_store(const char *dir, const char *network, const char *cid, const char *ifname,
        json_t *ipam, const struct cni_result *r, const struct cni_result *ipres,
        struct kb_err *err)
{
	char path[PATH_MAX], sub[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	json_t *o;
	int rc;

	if ((rc = entry_path(dir, network, cid, ifname, path, sizeof(path), err)) < 0)
		return rc;
	snprintf(sub, sizeof(sub), "%s/%s", dir, network);
	if ((rc = fs_mkdir_p(sub, 0700)) < 0)
		return kb_err_set(err, rc, "creating %s: %s", sub, strerror(-rc));
	o = json_pack("{s:s, s:s, s:s, s:O?, s:o, s:o}", "network", network, "containerID", cid,
	        "ifname", ifname, "ipam", ipam, "result", cni_result_to_json(r, CNI_V_LATEST),
	        "ipamResult", cni_result_to_json(ipres, CNI_V_LATEST));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return kb_err_set(err, ENOMEM, "out of memory");
	if ((rc = fs_write_atomic(path, text, strlen(text), 0600)) < 0)
		return kb_err_set(err, -rc, "writing %s: %s", path, strerror(-rc));
	return 0;
}

int rescache_load(const char *dir, const char *network, const char *cid, const char *ifname,
        json_t *ipam, struct cni_result **ret, struct cni_result **ret_ipres, struct kb_err *err)
{
	struct cni_result *res = NULL, *ipres = NULL;
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	struct cni_err ce = {0};
	size_t len;
	json_t *o;
	int r;

	if ((r = entry_path(dir, network, cid, ifname, path, sizeof(path), err)) < 0)
		return r;
	if ((r = fs_read_file(path, RESCACHE_MAX_FILE, &text, &len)) < 0)
		return kb_err_set(err, ENOENT, "no cached result: %s", strerror(-r));
	o = json_loadb(text, len, 0, NULL);
	if (!json_is_object(o) ||
	        !json_equal(json_object_get(o, "ipam") ? json_object_get(o, "ipam") : json_null(),
	                ipam ? ipam : json_null()) ||
	        cni_result_parse(json_object_get(o, "result"), CNI_V_NONE, &res, &ce) < 0 ||
	        cni_result_parse(json_object_get(o, "ipamResult"), CNI_V_NONE, &ipres, &ce) < 0) {
		cni_result_free(res);
		json_decref(o);
		return kb_err_set(err, ENOENT, "cached result does not match");
	}
	json_decref(o);
	*ret = res;
	if (ret_ipres)
		*ret_ipres = ipres;
	else
		cni_result_free(ipres);
	return 0;
}

int rescache_remove(const char *dir, const char *network, const char *cid, const char *ifname,
        struct kb_err *err)
{
	char path[PATH_MAX];
	int r;

	if ((r = entry_path(dir, network, cid, ifname, path, sizeof(path), err)) < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return kb_err_set(err, errno, "removing %s: %s", path, strerror(errno));
	return 0;
}

int rescache_foreach (
        const char *dir, const char *network, rescache_fn fn, void *arg, struct kb_err * err)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!val_network(network, NULL))
		return kb_err_set(err, EINVAL, "invalid network name");
	if (str_printf(sub, sizeof(sub), "%s/%s", dir, network) < 0)
		return kb_err_set(err, ENAMETOOLONG, "cache path too long");
	if (!(d = opendir(sub)))
		return errno == ENOENT ? 0 : kb_err_set(err, errno, "%s: %s", sub, strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		char name[NAME_MAX + 1], *colon, *dot;
		if (str_copy(name, sizeof(name), de->d_name) < 0 || !(colon = strchr(name, ':')))
			continue;
		dot = strrchr(colon, '.');
		if (!dot || strcmp(dot, ".json") != 0)
			continue;
		*colon = *dot = '\0';
		if (!val_container_id(name, NULL) || !val_ifname(colon + 1, NULL))
			continue;
		r = fn(name, colon + 1, arg);
	}
	closedir(d);
	return r;
}
