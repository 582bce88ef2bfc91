/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/devplugin/dp_alloc.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 256 /* of each kind per container */

static struct dp_alloc_ctr *ctr_of(struct devtype_alloc_spec *s)
{
	return s->ctx;
}

static int __attribute__((format(printf, 3, 4)))
refuse(struct dp_alloc_ctr *c, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return -errnum;
}

static int account(struct dp_alloc_ctr *c, size_t n, size_t count)
{
	if (count >= MAX_ENTRIES)
		return refuse(c, E2BIG, "more than %d entries of one kind", MAX_ENTRIES);
	if (c->bytes + n > DP_ALLOC_MAX_BYTES)
		return refuse(c, E2BIG, "response over %d bytes", DP_ALLOC_MAX_BYTES);
	c->bytes += n;
	return 0;
}

static bool valid_text(const char *s)
{
	return s && *s && strlen(s) < 4096;
}

/* Same name: comma-join, so one variable lists every device of the container. */
static int kv_add(
        struct dp_alloc_ctr *c, struct dp_kv **v, size_t *n, const char *key, const char *value)
{
	struct dp_kv *kv;
	char *nv;
	int r;

	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i].key, key))
			continue;
		if ((r = account(c, strlen(value) + 1, 0)) < 0)
			return r;
		if (asprintf(&nv, "%s,%s", (*v)[i].value, value) < 0)
			return refuse(c, ENOMEM, "out of memory");
		free((*v)[i].value);
		(*v)[i].value = nv;
		return 0;
	}
	if ((r = account(c, strlen(key) + strlen(value), *n)) < 0)
		return r;
	if (!(kv = realloc(*v, (*n + 1) * sizeof(*kv))))
		return refuse(c, ENOMEM, "out of memory");
	*v = kv;
	kv[*n].key = strdup(key);
	kv[*n].value = strdup(value);
	if (!kv[*n].key || !kv[*n].value) {
		free(kv[*n].key);
		free(kv[*n].value);
		return refuse(c, ENOMEM, "out of memory");
	}
	(*n)++;
	return 0;
}

static int spec_env_name(struct devtype_alloc_spec *s, const char *kind, char *buf, size_t size)
{
	return dp_env_name(kind, ctr_of(s)->resource_name, buf, size);
}

/* <NAME>_INFO variables hold one JSON object keyed by device ID (sriov-network-device-plugin's
 * PCIDEVICE_<RES>_INFO): the devices of one container merge into one object. */
static int info_merge(struct dp_alloc_ctr *c, const char *name, const char *value, bool *done)
{
	json_t *old = NULL, *add = NULL;
	size_t nl = strlen(name);
	char *merged = NULL;
	int r = 0;

	*done = false;
	if (nl < 5 || strcmp(name + nl - 5, "_INFO"))
		return 0;
	for (size_t i = 0; i < c->n_envs; i++) {
		if (strcmp(c->envs[i].key, name))
			continue;
		old = json_loads(c->envs[i].value, 0, NULL);
		add = json_loads(value, 0, NULL);
		if (!json_is_object(old) || !json_is_object(add) ||
		        json_object_update(old, add) < 0) {
			r = refuse(c, EINVAL, "%s: values must be JSON objects", name);
			goto out;
		}
		if (!(merged = json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS))) {
			r = refuse(c, ENOMEM, "out of memory");
			goto out;
		}
		if ((r = account(c, strlen(value), 0)) < 0)
			goto out;
		free(c->envs[i].value);
		c->envs[i].value = merged;
		merged = NULL;
		*done = true;
		break;
	}
out:
	free(merged);
	json_decref(old);
	json_decref(add);
	return r;
}

static int spec_env(struct devtype_alloc_spec *s, const char *name, const char *value)
{
	struct dp_alloc_ctr *c = ctr_of(s);
	bool done;
	int r;

	/* The runtime passes NAME=value through: '=' in a name would split it elsewhere. */
	if (!valid_text(name) || strchr(name, '=') || !value || strlen(value) >= 65536)
		return refuse(c, EINVAL, "bad environment variable '%s'", name ? name : "");
	if ((r = info_merge(c, name, value, &done)) < 0 || done)
		return r;
	return kv_add(c, &c->envs, &c->n_envs, name, value);
}

static int spec_annotation(struct devtype_alloc_spec *s, const char *key, const char *value)
{
	struct dp_alloc_ctr *c = ctr_of(s);

	if (!valid_text(key) || !value || strlen(value) >= 65536)
		return refuse(c, EINVAL, "bad annotation '%s'", key ? key : "");
	return kv_add(c, &c->annotations, &c->n_annotations, key, value);
}

static int spec_mount(struct devtype_alloc_spec *s, const char *cpath, const char *hpath, bool ro)
{
	struct dp_alloc_ctr *c = ctr_of(s);
	struct dp_mount *m;
	int r;

	if (!valid_text(cpath) || !valid_text(hpath) || cpath[0] != '/' || hpath[0] != '/')
		return refuse(c, EINVAL, "mount paths must be absolute");
	for (size_t i = 0; i < c->n_mounts; i++) {
		m = &c->mounts[i];
		if (strcmp(m->container_path, cpath))
			continue;
		if (strcmp(m->host_path, hpath) == 0) {
			m->read_only = m->read_only && ro; /* the wider access wins */
			return 0;
		}
		return refuse(c, EEXIST, "%s would be mounted from both %s and %s", cpath,
		        m->host_path, hpath);
	}
	if ((r = account(c, strlen(cpath) + strlen(hpath), c->n_mounts)) < 0)
		return r;
	if (!(m = realloc(c->mounts, (c->n_mounts + 1) * sizeof(*m))))
		return refuse(c, ENOMEM, "out of memory");
	c->mounts = m;
	m += c->n_mounts;
	m->container_path = strdup(cpath);
	m->host_path = strdup(hpath);
	m->read_only = ro;
	if (!m->container_path || !m->host_path) {
		free(m->container_path);
		free(m->host_path);
		return refuse(c, ENOMEM, "out of memory");
	}
	c->n_mounts++;
	return 0;
}

static int spec_device(
        struct devtype_alloc_spec *s, const char *cpath, const char *hpath, const char *perms)
{
	struct dp_alloc_ctr *c = ctr_of(s);
	struct dp_devspec *d;
	int r;

	if (!valid_text(cpath) || !valid_text(hpath) || cpath[0] != '/' || hpath[0] != '/')
		return refuse(c, EINVAL, "device paths must be absolute");
	if (!perms || !*perms || strspn(perms, "rwm") != strlen(perms) || strlen(perms) > 3)
		return refuse(c, EINVAL, "device permissions must be made of r, w and m");
	for (size_t i = 0; i < c->n_devices; i++) {
		d = &c->devices[i];
		if (strcmp(d->container_path, cpath))
			continue;
		/* /dev/vfio/vfio comes once per VF: one node is enough. */
		if (strcmp(d->host_path, hpath) == 0)
			return 0;
		return refuse(c, EEXIST, "%s would be both %s and %s", cpath, d->host_path, hpath);
	}
	if ((r = account(c, strlen(cpath) + strlen(hpath), c->n_devices)) < 0)
		return r;
	if (!(d = realloc(c->devices, (c->n_devices + 1) * sizeof(*d))))
		return refuse(c, ENOMEM, "out of memory");
	c->devices = d;
	d += c->n_devices;
	d->container_path = strdup(cpath);
	d->host_path = strdup(hpath);
	d->permissions = strdup(perms);
	if (!d->container_path || !d->host_path || !d->permissions) {
		free(d->container_path);
		free(d->host_path);
		free(d->permissions);
		return refuse(c, ENOMEM, "out of memory");
	}
	c->n_devices++;
	return 0;
}

void dp_alloc_ctr_init(struct dp_alloc_ctr *c, const char *resource_name)
{
	memset(c, 0, sizeof(*c));
	c->resource_name = resource_name;
	c->spec.env_name = spec_env_name;
	c->spec.env = spec_env;
	c->spec.mount = spec_mount;
	c->spec.device = spec_device;
	c->spec.annotation = spec_annotation;
	c->spec.ctx = c;
}

void dp_alloc_ctr_drop_edits(struct dp_alloc_ctr *c)
{
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].container_path);
		free(c->mounts[i].host_path);
	}
	for (size_t i = 0; i < c->n_devices; i++) {
		free(c->devices[i].container_path);
		free(c->devices[i].host_path);
		free(c->devices[i].permissions);
	}
	c->n_mounts = c->n_devices = 0;
}

void dp_alloc_ctr_fini(struct dp_alloc_ctr *c)
{
	for (size_t i = 0; i < c->n_envs; i++) {
		free(c->envs[i].key);
		free(c->envs[i].value);
	}
	for (size_t i = 0; i < c->n_annotations; i++) {
		free(c->annotations[i].key);
		free(c->annotations[i].value);
	}
	dp_alloc_ctr_drop_edits(c);
	free(c->envs);
	free(c->annotations);
	free(c->mounts);
	free(c->devices);
	free(c->pb_envs);
	free(c->pb_envs_v);
	free(c->pb_ann);
	free(c->pb_ann_v);
	free(c->pb_mounts);
	free(c->pb_mounts_v);
	free(c->pb_devs);
	free(c->pb_devs_v);
	free(c->cdi_name);
	memset(c, 0, sizeof(*c));
}

const char *dp_alloc_ctr_env(const struct dp_alloc_ctr *c, const char *name)
{
	for (size_t i = 0; i < c->n_envs; i++)
		if (strcmp(c->envs[i].key, name) == 0)
			return c->envs[i].value;
	return NULL;
}

/* calloc(n) that never returns NULL for n == 0 */
static void *alloc_n(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

int dp_alloc_ctr_response(struct dp_alloc_ctr *c, V1beta1__ContainerAllocateResponse **ret)
{
	V1beta1__ContainerAllocateResponse *pb = &c->pb;

	v1beta1__container_allocate_response__init(pb);
	if (!(c->pb_envs = alloc_n(c->n_envs, sizeof(*c->pb_envs))) ||
	        !(c->pb_envs_v = alloc_n(c->n_envs, sizeof(*c->pb_envs_v))) ||
	        !(c->pb_ann = alloc_n(c->n_annotations, sizeof(*c->pb_ann))) ||
	        !(c->pb_ann_v = alloc_n(c->n_annotations, sizeof(*c->pb_ann_v))) ||
	        !(c->pb_mounts = alloc_n(c->n_mounts, sizeof(*c->pb_mounts))) ||
	        !(c->pb_mounts_v = alloc_n(c->n_mounts, sizeof(*c->pb_mounts_v))) ||
	        !(c->pb_devs = alloc_n(c->n_devices, sizeof(*c->pb_devs))) ||
	        !(c->pb_devs_v = alloc_n(c->n_devices, sizeof(*c->pb_devs_v))))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_envs; i++) {
		v1beta1__container_allocate_response__envs_entry__init(&c->pb_envs[i]);
		c->pb_envs[i].key = c->envs[i].key;
		c->pb_envs[i].value = c->envs[i].value;
		c->pb_envs_v[i] = &c->pb_envs[i];
	}
	for (size_t i = 0; i < c->n_annotations; i++) {
		v1beta1__container_allocate_response__annotations_entry__init(&c->pb_ann[i]);
		c->pb_ann[i].key = c->annotations[i].key;
		c->pb_ann[i].value = c->annotations[i].value;
		c->pb_ann_v[i] = &c->pb_ann[i];
	}
	for (size_t i = 0; i < c->n_mounts; i++) {
		v1beta1__mount__init(&c->pb_mounts[i]);
		c->pb_mounts[i].container_path = c->mounts[i].container_path;
		c->pb_mounts[i].host_path = c->mounts[i].host_path;
		c->pb_mounts[i].read_only = c->mounts[i].read_only;
		c->pb_mounts_v[i] = &c->pb_mounts[i];
	}
	for (size_t i = 0; i < c->n_devices; i++) {
		v1beta1__device_spec__init(&c->pb_devs[i]);
		c->pb_devs[i].container_path = c->devices[i].container_path;
		c->pb_devs[i].host_path = c->devices[i].host_path;
		c->pb_devs[i].permissions = c->devices[i].permissions;
		c->pb_devs_v[i] = &c->pb_devs[i];
	}
	pb->n_envs = c->n_envs;
	pb->envs = c->pb_envs_v;
	pb->n_annotations = c->n_annotations;
	pb->annotations = c->pb_ann_v;
	pb->n_mounts = c->n_mounts;
	pb->mounts = c->pb_mounts_v;
	pb->n_devices = c->n_devices;
	pb->devices = c->pb_devs_v;
	if (c->cdi_name) {
		v1beta1__cdidevice__init(&c->pb_cdi);
		c->pb_cdi.name = c->cdi_name;
		c->pb_cdi_v[0] = &c->pb_cdi;
		pb->n_cdi_devices = 1;
		pb->cdi_devices = c->pb_cdi_v;
	}
	*ret = pb;
	return 0;
}

int dp_env_name(const char *kind, const char *resource_name, char *buf, size_t size)
{
	if (str_printf(buf, size, "%s_%s", kind, resource_name) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf; *p; p++) {
		if (*p == '.' || *p == '/')
			*p = '_';
		else
			*p = toupper((unsigned char)*p);
	}
	return 0;
}

static void dashify(char *s)
{
	for (; *s; s++)
		if (*s == '/')
			*s = '-';
}

int dp_devinfo_path(
        const char *dir, const char *resource_name, const char *device_id, char *buf, size_t size)
{
	char res[512], id[256];

	if (str_copy(res, sizeof(res), resource_name) < 0 ||
	        str_copy(id, sizeof(id), device_id) < 0)
		return -ENAMETOOLONG;
	dashify(res);
	dashify(id);
	return str_printf(buf, size, "%s/%s-%s-device.json", dir, res, id) < 0 ? -ENAMETOOLONG : 0;
}

int dp_devinfo_write(const char *dir, const char *resource_name, const char *device_id,
        json_t *info, struct kb_err *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	int r;

	if (dp_devinfo_path(dir, resource_name, device_id, path, sizeof(path)) < 0)
		return kb_err_set(err, ENAMETOOLONG, "device-info path too long");
	if (!(text = json_dumps(info, JSON_COMPACT)))
		return kb_err_set(err, ENOMEM, "out of memory");
	if ((r = fs_mkdir_p(dir, 0755)) < 0)
		return kb_err_set(err, -r, "creating %s: %s", dir, strerror(-r));
	/* Read-only for everyone: the pod only reads it. (On /run the fsyncs cost nothing.) */
	if ((r = fs_write_atomic(path, text, strlen(text), 0444)) < 0)
		return kb_err_set(err, -r, "writing %s: %s", path, strerror(-r));
	return 0;
}

int dp_devinfo_remove(const char *dir, const char *resource_name, const char *device_id)
{
	char path[PATH_MAX];

	if (dp_devinfo_path(dir, resource_name, device_id, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
