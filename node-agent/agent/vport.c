/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/vport.h"
#include "agent/alloc.h"
#include "agent/inventory.h"
#include "agent/podsock.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dev.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mac.h"
#include "common/str.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VPORT_MAX_COUNT 65536

/* socket path -> the allocation that owns it */
static struct hmap sockets = HMAP_INITIALIZER(&sockets);
/* Last claim handed out; restore raises it past every persisted claim. */
static uint64_t last_claim;
static struct devtype_ops vport_ops;
static const char *run_dir(void);

static struct vport_alloc *socket_owner(const char *path)
{
	struct vport_alloc *v;

	HMAP_FOR_EACH_WITH_HASH (v, by_path, hash_str(path, 0), &sockets)
		if (strcmp(v->socket_path, path) == 0)
			return v;
	return NULL;
}

static void socket_claim(struct vport_alloc *v)
{
	struct vport_alloc *old = socket_owner(v->socket_path);

	if (old == v)
		return;
	if (old) {
		hmap_remove(&sockets, &old->by_path);
		old->owns_socket = false;
		old->shared = v->shared = true;
	}
	hmap_insert(&sockets, &v->by_path, hash_str(v->socket_path, 0));
	v->owns_socket = true;
}

/* Returns true when another attachment took the path over. */
static bool socket_unclaim(struct vport_alloc *v)
{
	struct vport_alloc *next = NULL;

	if (!v->owns_socket)
		return false;
	hmap_remove(&sockets, &v->by_path);
	v->owns_socket = false;
	if (!v->shared)
		return false;
	/* The path goes back to the newest other attachment still using it: an attach that
	 * failed after taking the path over, or a new sandbox gone before the old one, must
	 * not leave the path without an owner to clean it up. */
	for (struct alloc *oa = alloc_first(); oa; oa = alloc_next(oa)) {
		struct vport_alloc *o = oa->priv;
		if (oa->ops != &vport_ops || o == v || strcmp(o->socket_path, v->socket_path))
			continue;
		if (!next || o->claim > next->claim)
			next = o;
	}
	if (next)
		socket_claim(next);
	return next != NULL;
}

const char *vport_mode_name(enum vport_mode m)
{
	return m == VPORT_AGENT_SERVER ? "server" : "client";
}

const char *vport_pod_mode_name(enum vport_mode m)
{
	return m == VPORT_AGENT_SERVER ? "client" : "server";
}

const struct vport_pool_cfg *vport_pool_cfg(const struct pool *p)
{
	return p->cfg.type_cfg;
}

const struct vport_alloc *vport_alloc_data(const struct alloc *a)
{
	return a->priv;
}

const char *vport_socket_dir(const struct vport_alloc *v, char *buf, size_t size)
{
	size_t n = v->dir_len < size ? v->dir_len : size - 1;

	memcpy(buf, v->socket_path, n);
	buf[n] = '\0';
	return buf;
}

static const char *const pool_keys[] = {
        "count", "mode", "queues", "mtu", "numaNode", "offloads", NULL};

static void *pool_cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	struct vport_pool_cfg *c = calloc(1, sizeof(*c));
	char mode[16];
	int64_t i;
	int r;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->count = 64;
	c->mode = VPORT_AGENT_CLIENT;
	c->queues = 1;
	c->mtu = 1500;
	c->numa = -1;
	c->offloads = true;
	if (cfg_opt_bool(node, "offloads", &c->offloads, err) < 0 ||
	        cfg_opt_uint(node, "count", 1, VPORT_MAX_COUNT, &c->count, err) < 0 ||
	        cfg_opt_uint(node, "queues", 1, 16, &c->queues, err) < 0 ||
	        cfg_opt_uint(node, "mtu", 68, 9600, &c->mtu, err) < 0)
		goto fail;
	if ((r = cfg_get_int(node, "numaNode", -1, 63, &i, err)) == 0)
		c->numa = i;
	else if (r != -ENOENT)
		goto fail;
	if ((r = cfg_get_str(node, "mode", mode, sizeof(mode), err)) == 0) {
		if (strcmp(mode, "client") == 0) {
			c->mode = VPORT_AGENT_CLIENT;
		} else if (strcmp(mode, "server") == 0) {
			c->mode = VPORT_AGENT_SERVER;
		} else {
			struct cfg_node k;
			cfg_map_get(node, "mode", &k);
			cfg_node_error(&k, "mode", err,
			        "must be client (agent connects to the pod) or server");
			goto fail;
		}
	} else if (r != -ENOENT) {
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

static int discover(struct pool *p, struct kb_err *err)
{
	const struct vport_pool_cfg *c = vport_pool_cfg(p);
	char id[VAL_DEVICE_ID_MAX + 1];

	/* The socket directories under runDir are the pods': connects there never follow a
	 * symlink (rte_vhost's included, see podsock.h). */
	if (podsock_set_root(run_dir()) < 0)
		return kb_err_set(err, ENAMETOOLONG, "runDir too long");
	for (unsigned i = 0; i < c->count; i++) {
		if (str_printf(id, sizeof(id), "%s-%u", p->name, i) < 0)
			return kb_err_set(err, ENAMETOOLONG, "device id too long");
		if (inv_sync_device(p, id, c->numa, NULL))
			continue;
		/* Still held by a removed pool of the same name: this pool gets it on release. */
		if (!inv_device_find(id))
			return kb_err_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static const char *run_dir(void)
{
	return cfg_core(inv_config())->run_dir;
}

int vport_device_dir(const struct device *d, char *buf, size_t size)
{
	return str_printf(buf, size, "%s/devices/%s", run_dir(), d->id) < 0 ? -ENAMETOOLONG : 0;
}

int vport_device_socket(const struct device *d, char *buf, size_t size)
{
	return str_printf(buf, size, "%s/devices/%s/%s", run_dir(), d->id, VPORT_SOCK_NAME) < 0
	               ? -ENAMETOOLONG
	               : 0;
}

void vport_default_mac(const char *device_id, struct mac *ret)
{
	char host[256] = "", name[512];

	/* Mixing in the node name keeps MACs distinct across nodes sharing an L2 segment. */
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "%s/%s", host, device_id);
	mac_from_name(name, ret);
}

static int attach(struct alloc *a, const struct attach_req *req, struct kb_err *err)
{
	const struct vport_pool_cfg *c = vport_pool_cfg(a->dev->pool);
	struct vport_alloc *v = a->priv;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int r, n;

	/* Built at full length first so that the error can say how long the path would be. */
	if (req->device_id) {
		if (vport_device_dir(a->dev, dir, sizeof(dir)) < 0)
			return kb_err_set(err, ENAMETOOLONG, "runDir too long");
		n = snprintf(path, sizeof(path), "%s/%s", dir, VPORT_SOCK_NAME);
	} else {
		const char *key = a->pod.uid ? a->pod.uid : a->container_id;
		if (str_printf(dir, sizeof(dir), "%s/pods/%s", run_dir(), key) < 0)
			return kb_err_set(err, ENAMETOOLONG, "runDir too long");
		n = snprintf(path, sizeof(path), "%s/%s.sock", dir, a->ifname);
	}
	if (n < 0 || (size_t)n >= sizeof(v->socket_path))
		return kb_err_set(err, ENAMETOOLONG,
		        "vhost-user socket path %s/... would be %d bytes, over the %zu-byte "
		        "sun_path "
		        "limit: use a shorter runDir",
		        dir, n, sizeof(v->socket_path) - 1);
	/* The directory is a prefix of the socket path: it fits too. */
	str_copy(v->socket_path, sizeof(v->socket_path), path);
	v->dir_len = strlen(dir);
	if ((r = fs_mkdir_p(dir, 0770)) < 0)
		return kb_err_set(err, -r, "creating %s: %s", dir, strerror(-r));
	/* A socket left by an earlier holder would confuse the pod's server bind. */
	if (unlink(v->socket_path) < 0 && errno != ENOENT)
		return kb_err_set(
		        err, errno, "removing stale %s: %s", v->socket_path, strerror(errno));
	v->mode = c->mode;
	v->queues = c->queues;
	v->claim = ++last_claim;
	socket_claim(v);
	if (mac_is_zero(&a->mac))
		vport_default_mac(a->device_id, &a->mac);
	if (!a->mtu)
		a->mtu = c->mtu;
	return 0;
}

static int detach(struct alloc *a, struct kb_err *err)
{
	struct vport_alloc *v = a->priv;
	char dir[sizeof(v->socket_path)];
	bool passed_on;
	int r = 0;

	if (!v->socket_path[0] || !v->owns_socket)
		return 0;
	passed_on = socket_unclaim(v);
	if (unlink(v->socket_path) < 0 && errno != ENOENT)
		r = kb_err_set(err, errno, "removing %s: %s", v->socket_path, strerror(errno));
	/* Another interface of the same pod may still use the directory: only remove it empty,
	 * and keep it for the attachment the path went back to. */
	vport_socket_dir(v, dir, sizeof(dir));
	if (!passed_on && rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY &&
	        errno != EEXIST && r == 0)
		r = kb_err_set(err, errno, "removing %s: %s", dir, strerror(errno));
	return r;
}

static int check(const struct alloc *a, struct kb_err *err)
{
	const struct vport_alloc *v = a->priv;
	char dir[sizeof(v->socket_path)];
	struct stat st;

	vport_socket_dir(v, dir, sizeof(dir));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return kb_err_set(err, EIO, "socket directory %s is missing", dir);
	return 0;
}

static bool old_is_older(struct vport_alloc *old, const struct alloc *a)
{
	struct alloc *oa;

	for (oa = alloc_first(); oa; oa = alloc_next(oa))
		if (oa->priv == old)
			return oa->created <= a->created;
	return true;
}

static int restore(struct alloc *a, struct kb_err *err)
{
	struct vport_alloc *v = a->priv;
	char dir[sizeof(v->socket_path)];
	int r;

	/* Restored in no particular order: the most recent claim of a path owns it (records
	 * without a claim fall back to their creation time). */
	struct vport_alloc *old = v->socket_path[0] ? socket_owner(v->socket_path) : NULL;
	if (v->claim > last_claim)
		last_claim = v->claim;
	if (old)
		old->shared = v->shared = true;
	if (v->socket_path[0] &&
	        (!old || old->claim < v->claim || (old->claim == v->claim && old_is_older(old, a))))
		socket_claim(v);
	/* /run is a tmpfs: after a node reboot the directory may be gone. */
	vport_socket_dir(v, dir, sizeof(dir));
	if (dir[0] && (r = fs_mkdir_p(dir, 0770)) < 0)
		return kb_err_set(err, -r, "recreating %s: %s", dir, strerror(-r));
	return 0;
}

struct used_dir {
	struct hmap_node node;
	char path[108];
};

/*
 * An attach creates <runDir>/pods/<key>/ before its allocation is committed; an agent killed
 * in between restarts without the allocation, and no DEL will ever remove the directory.
 * Remove pod directories no restored allocation uses: their sockets, then the directory if
 * that empties it (anything else in it is not ours and stays). Device directories are left
 * alone: the device plugin may have mounted them into a pod before any attach.
 */
static void sweep(void)
{
	struct hmap used = HMAP_INITIALIZER(&used);
	struct used_dir *u, *all = calloc(alloc_count() + 1, sizeof(*all));
	char pods[PATH_MAX], path[PATH_MAX];
	size_t n = 0;
	struct dirent *de;
	DIR *dir;

	if (!all || str_printf(pods, sizeof(pods), "%s/pods", run_dir()) < 0 ||
	        !(dir = opendir(pods))) {
		free(all);
		return;
	}
	for (struct alloc *a = alloc_first(); a; a = alloc_next(a)) {
		const struct vport_alloc *v = a->priv;
		if (a->ops != &vport_ops || !v->dir_len)
			continue;
		vport_socket_dir(v, all[n].path, sizeof(all[n].path));
		hmap_insert(&used, &all[n].node, hash_str(all[n].path, 0));
		n++;
	}
	while ((de = readdir(dir))) {
		bool in_use = false;
		struct stat sb;
		DIR *sub;

		if (de->d_name[0] == '.' ||
		        str_printf(path, sizeof(path), "%s/%s", pods, de->d_name) < 0 ||
		        lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		HMAP_FOR_EACH_WITH_HASH (u, node, hash_str(path, 0), &used)
			in_use = in_use || strcmp(u->path, path) == 0;
		if (in_use || !(sub = opendir(path)))
			continue;
		for (struct dirent *se; (se = readdir(sub));) {
			char sock[PATH_MAX];
			if (str_printf(sock, sizeof(sock), "%s/%s", path, se->d_name) >= 0 &&
			        lstat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode))
				unlink(sock);
		}
		closedir(sub);
		rmdir(path); /* fails, harmlessly, when something else is in it */
	}
	closedir(dir);
	hmap_destroy(&used);
	free(all);
}

static void forget(struct alloc *a)
{
	socket_unclaim(a->priv);
}

static void vport_alloc_to_json(const struct alloc *a, json_t *obj)
{
	const struct vport_alloc *v = a->priv;
	char dir[sizeof(v->socket_path)];

	apimsg_vhost_user_set(obj, &(struct apimsg_vhost_user){
	                                   .socket_path = v->socket_path,
	                                   .socket_dir = vport_socket_dir(v, dir, sizeof(dir)),
	                                   .agent_server = v->mode == VPORT_AGENT_SERVER,
	                                   .queues = v->queues,
	                                   .claim = (int64_t)v->claim,
	                           });
}

static void vport_alloc_view(const struct alloc *a, struct apimsg_endpoint *ret)
{
	const struct vport_alloc *v = a->priv;

	ret->socket_path = v->socket_path;
}

/*
 * The socket path attach makes for this allocation: <runDir>/devices/<deviceID>/vhost-user.sock
 * or <runDir>/pods/<pod UID or container ID>/<ifname>.sock. A restored path must have one of
 * these shapes (a journal is not trusted to name what restore creates and detach unlinks);
 * returns the length of the runDir it was made under, 0 when it has neither shape.
 */
static size_t path_shape(const struct alloc *a, const char *path, size_t dir_len)
{
	const char *key = a->pod.uid ? a->pod.uid : a->container_id;
	char tail[PATH_MAX];
	size_t n = strlen(path), t;

	if (str_printf(tail, sizeof(tail), "/devices/%s/%s", a->device_id, VPORT_SOCK_NAME) >= 0 &&
	        n > (t = strlen(tail)) && strcmp(path + n - t, tail) == 0 &&
	        dir_len == n - strlen(VPORT_SOCK_NAME) - 1)
		return n - t;
	if (str_printf(tail, sizeof(tail), "/pods/%s/%s.sock", key, a->ifname) >= 0 &&
	        n > (t = strlen(tail)) && strcmp(path + n - t, tail) == 0 &&
	        dir_len == n - strlen(a->ifname) - 6)
		return n - t;
	return 0;
}

static int vport_alloc_from_json(struct alloc *a, json_t *obj, struct kb_err *err)
{
	struct vport_alloc *v = a->priv;
	struct apimsg_vhost_user vu;
	const char *path, *dir;
	const char *rd = run_dir(), *why;
	bool none;
	size_t run_len = 0;
	int r;

	if ((r = apimsg_vhost_user_decode(obj, &vu, err)) < 0)
		return r;
	path = vu.socket_path;
	dir = vu.socket_dir;
	/* An allocation kept without its socket (below) is written back with both empty. */
	none = path && dir && !path[0] && !dir[0];

	/* The directory must be a proper prefix of the path, as attach made it. */
	if (!none && (!path || !dir || strlen(path) >= sizeof(v->socket_path) ||
	                     !val_abs_path(path, &why) || strncmp(path, dir, strlen(dir)) != 0 ||
	                     !(run_len = path_shape(a, path, strlen(dir)))))
		return kb_err_set(err, EINVAL,
		        "vhostUser socket path '%.120s' is not one attach makes for this "
		        "allocation",
		        path ? path : "");
	v->mode = vu.agent_server ? VPORT_AGENT_SERVER : VPORT_AGENT_CLIENT;
	v->queues = vu.queues;
	v->claim = vu.claim;
	if (none)
		return 0;
	/* Made under another runDir (changed since): the allocation stays held, but nothing is
	 * created, connected or unlinked outside the current runDir. */
	if (run_len != strlen(rd) || strncmp(path, rd, run_len) != 0) {
		LOG_WARN("%s/%s: socket %s is outside runDir %s: kept without its socket",
		        a->container_id, a->ifname, path, rd);
		return 0;
	}
	str_copy(v->socket_path, sizeof(v->socket_path), path);
	v->dir_len = strlen(dir);
	return 0;
}

/* Multus device-info: "mode" is the pod's vhost-user role, "path" the socket it uses. */
static json_t *device_info(const struct device *d, const struct alloc *a)
{
	const struct vport_pool_cfg *c = vport_pool_cfg(d->pool);
	const struct vport_alloc *v = a ? a->priv : NULL;
	char path[108];

	if (v)
		return json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "vhost-user", "version",
		        "1.1.0", "vhost-user", "mode", vport_pod_mode_name(v->mode), "path",
		        v->socket_path);
	if (!c || vport_device_socket(d, path, sizeof(path)) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "vhost-user", "version", "1.1.0",
	        "vhost-user", "mode", vport_pod_mode_name(c->mode), "path", path);
}

/*
 * Device-plugin Allocate: the device's own socket directory, created now so the runtime can
 * bind-mount it, at the same path inside the container, so the path in the env, in the
 * device-info file and in the network-status annotation means the same thing on both sides.
 * The env lists, index-aligned across the container's devices of this pool, the socket, the
 * MAC the port gets unless the attachment asks for another, and the pod's vhost-user role.
 */
static int dp_allocate(const struct device *d, struct devtype_alloc_spec *spec, struct kb_err *err)
{
	const struct vport_pool_cfg *c = vport_pool_cfg(d->pool);
	char dir[PATH_MAX], sock[108], name[256], macs[MAC_STR_LEN];
	struct mac mac;
	int r;

	if (vport_device_dir(d, dir, sizeof(dir)) < 0 ||
	        vport_device_socket(d, sock, sizeof(sock)) < 0)
		return kb_err_set(err, ENAMETOOLONG,
		        "the socket path of %s is over the sun_path limit: use a shorter runDir",
		        d->id);
	if ((r = fs_mkdir_p(dir, 0770)) < 0)
		return kb_err_set(err, -r, "creating %s: %s", dir, strerror(-r));
	vport_default_mac(d->id, &mac);
	mac_format(&mac, macs);
	if ((r = spec->mount(spec, dir, dir, false)) < 0 ||
	        (r = spec->env_name(spec, "VHOST_USER_SOCKET", name, sizeof(name))) < 0 ||
	        (r = spec->env(spec, name, sock)) < 0 ||
	        (r = spec->env_name(spec, "VHOST_USER_MAC", name, sizeof(name))) < 0 ||
	        (r = spec->env(spec, name, macs)) < 0 ||
	        (r = spec->env_name(spec, "VHOST_USER_MODE", name, sizeof(name))) < 0 ||
	        (r = spec->env(spec, name, vport_pod_mode_name(c->mode))) < 0)
		return r;
	return 0;
}

void vport_device_to_json(const struct device *d, json_t *obj)
{
	struct mac m;

	if (d->holder)
		m = d->holder->mac;
	else
		vport_default_mac(d->id, &m);
	apimsg_device_set_mac(obj, &m);
}

static struct devtype_ops vport_ops = {
        .name = API_DEVTYPE_VIRTIO_USER,
        .pool_keys = pool_keys,
        .pool_cfg_parse = pool_cfg_parse,
        .pool_cfg_free = free,
        .discover = discover,
        .attach = attach,
        .detach = detach,
        .check = check,
        .restore = restore,
        .sweep = sweep,
        .forget = forget,
        .alloc_to_json = vport_alloc_to_json,
        .alloc_view = vport_alloc_view,
        .alloc_from_json = vport_alloc_from_json,
        .device_to_json = vport_device_to_json,
        .device_info = device_info,
        .dp_allocate = dp_allocate,
        .alloc_priv_size = sizeof(struct vport_alloc),
};
DEVTYPE_REGISTER(vport_ops)
