/* SPDX-License-Identifier: Apache-2.0 */
/* CDI specs for Allocate (dp_alloc.h: dp_cdi_apply). */
#include "agent/devplugin/dp_alloc.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CDI_VERSION  "0.5.0"
#define CDI_NAME_MAX 128

/* CDI device names: letters, digits, '_', '-', '.', ':'; anything else becomes '_'. */
static void cdi_clean(const char *s, char *out, size_t size, size_t *n)
{
	for (; *s && *n + 1 < size; s++) {
		char ch = *s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
		          ch == ':';
		out[(*n)++] = ok ? ch : '_';
	}
	out[*n] = '\0';
}

/* The container's devices as one CDI device: its ID, or the IDs joined with '_' (sorted by
 * kubelet's request order, which is stable for one Allocate). */
static int cdi_device_name(char **ids, size_t n_ids, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n_ids; i++) {
		if (i && n + 1 < size)
			out[n++] = '_';
		cdi_clean(ids[i], out, size, &n);
	}
	return n == 0 || n + 1 >= size ? -ENAMETOOLONG : 0;
}

/* kbnet-<kind>-<device name>.json */
static int file_of(const char *resource_name, const char *name, char *buf, size_t size)
{
	char kind_file[256];
	size_t kn = 0;

	cdi_clean(resource_name, kind_file, sizeof(kind_file), &kn);
	return str_printf(buf, size, "kbnet-%s-%s.json", kind_file, name) < 0 ? -ENAMETOOLONG : 0;
}

int dp_cdi_file_name(const char *resource_name, char **ids, size_t n_ids, char *buf, size_t size)
{
	char name[CDI_NAME_MAX + 1];

	if (cdi_device_name(ids, n_ids, name, sizeof(name)) < 0)
		return -ENAMETOOLONG;
	return file_of(resource_name, name, buf, size);
}

int dp_cdi_file_ids(const char *resource_name, const char *file, const char *const *pool_ids,
        size_t n_pool, const char **ids, size_t max_ids, size_t *n_ids)
{
	char kind_file[256], c[CDI_NAME_MAX + 1];
	/* from[k], by[k]: how position k (a segment start, or len + 1 for the end) was reached */
	int from[CDI_NAME_MAX + 2], by[CDI_NAME_MAX + 2];
	size_t kn = 0, flen = strlen(file), plen, len, n = 0;
	const char *name;

	*n_ids = 0;
	cdi_clean(resource_name, kind_file, sizeof(kind_file), &kn);
	plen = strlen("kbnet-") + kn + 1;
	if (flen <= plen + strlen(".json") || strncmp(file, "kbnet-", 6) ||
	        strncmp(file + 6, kind_file, kn) || file[6 + kn] != '-' ||
	        strcmp(file + flen - 5, ".json"))
		return 0;
	name = file + plen;
	len = flen - plen - 5;
	if (len > CDI_NAME_MAX)
		return 0;
	for (size_t k = 0; k <= len + 1; k++)
		from[k] = -1;
	from[0] = 0;
	/* Segments are pool IDs as cdi_device_name cleans them, joined with '_'. */
	for (size_t pos = 0; pos < len; pos++) {
		if (from[pos] < 0)
			continue;
		for (size_t j = 0; j < n_pool; j++) {
			size_t cn = 0, next;
			cdi_clean(pool_ids[j], c, sizeof(c), &cn);
			if (!cn || pos + cn > len || memcmp(name + pos, c, cn))
				continue;
			if (pos + cn == len)
				next = len + 1;
			else if (name[pos + cn] == '_')
				next = pos + cn + 1;
			else
				continue;
			if (from[next] < 0) {
				from[next] = (int)pos;
				by[next] = (int)j;
			}
		}
	}
	if (from[len + 1] < 0)
		return 0;
	for (size_t k = len + 1; k; k = (size_t)from[k])
		n++;
	if (n > max_ids)
		return -E2BIG;
	*n_ids = n;
	for (size_t k = len + 1; k; k = (size_t)from[k])
		ids[--n] = pool_ids[by[k]];
	return 0;
}

int dp_cdi_remove(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (strchr(file, '/') || str_printf(path, sizeof(path), "%s/%s", dir, file) < 0)
		return -EINVAL;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int dp_cdi_apply(struct dp_alloc_ctr *c, const char *dir, char **ids, size_t n_ids, char *base,
        size_t base_size, struct kb_err *err)
{
	char name[CDI_NAME_MAX + 1], file[PATH_MAX];
	json_t *spec = NULL, *nodes, *mounts;
	char *text = NULL;
	int r;

	if (cdi_device_name(ids, n_ids, name, sizeof(name)) < 0 ||
	        file_of(c->resource_name, name, base, base_size) < 0)
		return kb_err_set(
		        err, ENAMETOOLONG, "CDI device name for %zu devices too long", n_ids);
	if (str_printf(file, sizeof(file), "%s/%s", dir, base) < 0)
		return kb_err_set(err, ENAMETOOLONG, "CDI spec path too long");
	if (!(nodes = json_array()) || !(mounts = json_array())) {
		json_decref(nodes);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < c->n_devices; i++)
		json_array_append_new(
		        nodes, json_pack("{s:s, s:s, s:s}", "path", c->devices[i].container_path,
		                       "hostPath", c->devices[i].host_path, "permissions",
		                       c->devices[i].permissions));
	for (size_t i = 0; i < c->n_mounts; i++)
		json_array_append_new(
		        mounts, json_pack("{s:s, s:s, s:[s,s]}", "hostPath", c->mounts[i].host_path,
		                        "containerPath", c->mounts[i].container_path, "options",
		                        "rbind", c->mounts[i].read_only ? "ro" : "rw"));
	spec = json_pack("{s:s, s:s, s:[{s:s, s:{s:o, s:o}}]}", "cdiVersion", CDI_VERSION, "kind",
	        c->resource_name, "devices", "name", name, "containerEdits", "deviceNodes", nodes,
	        "mounts", mounts);
	if (!spec || !(text = json_dumps(spec, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = fs_mkdir_p(dir, 0755)) < 0) {
		r = kb_err_set(err, -r, "creating %s: %s", dir, strerror(-r));
		goto out;
	}
	/* kbnet's one atomic-write policy (common/fs.h). */
	if ((r = fs_write_atomic(file, text, strlen(text), 0644)) < 0) {
		r = kb_err_set(err, -r, "writing %s: %s", file, strerror(-r));
		goto out;
	}
	if (asprintf(&c->cdi_name, "%s=%s", c->resource_name, name) < 0) {
		c->cdi_name = NULL;
		r = kb_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* The runtime applies them from the spec; the response keeps env and annotations. */
	dp_alloc_ctr_drop_edits(c);
	r = 0;
out:
	free(text);
	json_decref(spec);
	return r;
}
