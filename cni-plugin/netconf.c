/* SPDX-License-Identifier: Apache-2.0 */
#include "netconf.h"
#include "api/api.h"
#include "api/ipamconf.h"
#include "devinfo.h"
#include "plugincfg.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const cmd_names[] = {
        [CNI_CMD_ADD] = "ADD",
        [CNI_CMD_DEL] = "DEL",
        [CNI_CMD_CHECK] = "CHECK",
        [CNI_CMD_VERSION] = "VERSION",
        [CNI_CMD_GC] = "GC",
        [CNI_CMD_STATUS] = "STATUS",
};

enum cni_cmd netconf_cmd_parse(const char *s)
{
	if (!s)
		return CNI_CMD_NONE;
	for (int c = CNI_CMD_ADD; c <= CNI_CMD_STATUS; c++)
		if (strcmp(s, cmd_names[c]) == 0)
			return c;
	return CNI_CMD_NONE;
}

const char *netconf_cmd_str(enum cni_cmd c)
{
	return c > CNI_CMD_NONE && c <= CNI_CMD_STATUS ? cmd_names[c] : "?";
}

/* ---- CNI_ARGS ---- */

static int args_value(const char *key, const char *val, size_t len, char *dst, size_t size,
        bool (*valid)(const char *, const char **), struct cni_err *ce)
{
	const char *why = "too long";

	dst[0] = '\0';
	if (len == 0) /* an empty value is as good as absent */
		return 0;
	if (len < size) {
		memcpy(dst, val, len);
		dst[len] = '\0';
		if (valid(dst, &why))
			return 0;
		dst[0] = '\0';
	}
	return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL, "CNI_ARGS: %s: %s", key, why);
}

int netconf_args_parse(const char *s, struct cni_args *ret, struct cni_err *ce)
{
	struct cni_args a = {0};
	char unknown[128] = "";
	const char *p = s;

	if (!s)
		s = p = "";
	if (strlen(s) > NETCONF_MAX_ARGS)
		return cni_err_set(ce, CNI_ERR_INVALID_ENV, E2BIG,
		        "CNI_ARGS is longer than %d bytes", NETCONF_MAX_ARGS);
	while (*p) {
		const char *end = strchrnul(p, ';'), *eq = memchr(p, '=', end - p);
		size_t klen, vlen;
		int r = 0;

		if (end == p) { /* empty pair, e.g. a trailing ';' */
			p++;
			continue;
		}
		if (!eq || memchr(eq + 1, '=', end - eq - 1) || eq == p)
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
			        "CNI_ARGS: invalid pair '%.*s' (want KEY=VALUE)", (int)(end - p),
			        p);
		klen = eq - p;
		vlen = end - eq - 1;
#define KEY_IS(k) (klen == strlen(k) && memcmp(p, k, klen) == 0)
		if (KEY_IS("IgnoreUnknown")) {
			if ((vlen == 1 && eq[1] == '1') ||
			        (vlen == 4 && !strncasecmp(eq + 1, "true", 4)))
				a.ignore_unknown = true;
			else if ((vlen == 1 && eq[1] == '0') ||
			         (vlen == 5 && !strncasecmp(eq + 1, "false", 5)))
				a.ignore_unknown = false;
			else
				return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
				        "CNI_ARGS: IgnoreUnknown must be true, false, 1 or 0, not "
				        "'%.*s'",
				        (int)vlen, eq + 1);
		} else if (KEY_IS("K8S_POD_NAMESPACE")) {
			r = args_value("K8S_POD_NAMESPACE", eq + 1, vlen, a.pod_namespace,
			        sizeof(a.pod_namespace), val_k8s_namespace, ce);
		} else if (KEY_IS("K8S_POD_NAME")) {
			r = args_value("K8S_POD_NAME", eq + 1, vlen, a.pod_name, sizeof(a.pod_name),
			        val_k8s_name, ce);
		} else if (KEY_IS("K8S_POD_UID")) {
			r = args_value("K8S_POD_UID", eq + 1, vlen, a.pod_uid, sizeof(a.pod_uid),
			        val_pod_uid, ce);
		} else if (KEY_IS("K8S_POD_INFRA_CONTAINER_ID")) {
			r = args_value("K8S_POD_INFRA_CONTAINER_ID", eq + 1, vlen, a.pod_infra_id,
			        sizeof(a.pod_infra_id), val_container_id, ce);
		} else if (!unknown[0]) {
			snprintf(unknown, sizeof(unknown), "%.*s", (int)klen, p);
		}
#undef KEY_IS
		if (r < 0)
			return r;
		p = *end ? end + 1 : end;
	}
	/* Like libcni, IgnoreUnknown counts wherever it appears in the list. */
	if (unknown[0] && !a.ignore_unknown)
		return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
		        "CNI_ARGS: unknown key '%s' (set IgnoreUnknown=true to allow it)", unknown);
	*ret = a;
	return 0;
}

/* ---- environment ---- */

static int env_get(const char *name, size_t max, const char **ret, struct cni_err *ce)
{
	const char *v = getenv(name);

	*ret = v;
	if (v && strlen(v) > max)
		return cni_err_set(
		        ce, CNI_ERR_INVALID_ENV, E2BIG, "%s is longer than %zu bytes", name, max);
	return 0;
}

int netconf_env_load(struct cni_env *env, struct cni_err *ce)
{
	const char *cmd, *cid, *ifname, *netns, *path, *args, *why;
	bool attachment;
	struct stat st;
	int r;

	memset(env, 0, sizeof(*env));
	if ((r = env_get("CNI_COMMAND", 16, &cmd, ce)) < 0)
		return r;
	if (!cmd || !*cmd)
		return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL, "CNI_COMMAND is not set");
	if (!(env->cmd = netconf_cmd_parse(cmd)))
		return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
		        "CNI_COMMAND '%s' is not one of ADD, DEL, CHECK, GC, STATUS, VERSION", cmd);
	if (env->cmd == CNI_CMD_VERSION)
		return 0;
	attachment =
	        env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_DEL || env->cmd == CNI_CMD_CHECK;

	if ((r = env_get("CNI_CONTAINERID", VAL_CONTAINER_ID_MAX, &cid, ce)) < 0 ||
	        (r = env_get("CNI_IFNAME", VAL_IFNAME_MAX, &ifname, ce)) < 0 ||
	        (r = env_get("CNI_NETNS", VAL_PATH_MAX, &netns, ce)) < 0 ||
	        (r = env_get("CNI_PATH", NETCONF_MAX_CNI_PATH, &path, ce)) < 0 ||
	        (r = env_get("CNI_ARGS", NETCONF_MAX_ARGS, &args, ce)) < 0)
		return r;
	if (attachment) {
		if (!cid || !*cid)
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
			        "CNI_CONTAINERID is required for %s", cmd);
		if (!val_container_id(cid, &why))
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
			        "CNI_CONTAINERID '%s': %s", cid, why);
		if (!ifname || !*ifname)
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
			        "CNI_IFNAME is required for %s", cmd);
		if (!val_ifname(ifname, &why))
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL, "CNI_IFNAME '%s': %s",
			        ifname, why);
		str_copy(env->container_id, sizeof(env->container_id), cid);
		str_copy(env->ifname, sizeof(env->ifname), ifname);
	}
	if (env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_CHECK) {
		if (!netns || !*netns)
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
			        "CNI_NETNS is required for %s", cmd);
		if (!val_abs_path(netns, &why))
			return cni_err_set(
			        ce, CNI_ERR_INVALID_ENV, EINVAL, "CNI_NETNS '%s': %s", netns, why);
		if (env->cmd == CNI_CMD_ADD && stat(netns, &st) < 0)
			return cni_err_set(ce, CNI_ERR_INVALID_ENV, errno, "CNI_NETNS '%s': %s",
			        netns, strerror(errno));
		str_copy(env->netns, sizeof(env->netns), netns);
	} else if (env->cmd == CNI_CMD_DEL && netns && val_abs_path(netns, NULL)) {
		/* DEL must work without a usable namespace: an unusable one is just not passed on.
		 */
		str_copy(env->netns, sizeof(env->netns), netns);
	}
	if (path && *path && !(env->cni_path = strdup(path)))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	/* Runtimes send CNI_ARGS for the attachment commands; elsewhere it is ignored. */
	if (attachment && (r = netconf_args_parse(args, &env->args, ce)) < 0)
		return r;
	return 0;
}

void netconf_env_free(struct cni_env *env)
{
	free(env->cni_path);
	env->cni_path = NULL;
}

/* ---- stdin ---- */

int netconf_read(int fd, size_t max, char **ret, size_t *ret_len, struct cni_err *ce)
{
	int r = fs_read_fd(fd, max, ret, ret_len);

	if (r == -ENOMEM)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	if (r == -EFBIG)
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EFBIG,
		        "the network configuration is larger than %zu bytes", max);
	if (r < 0)
		return cni_err_set(ce, CNI_ERR_IO, -r,
		        "reading the network configuration from stdin: %s", strerror(-r));
	return 0;
}

enum cni_version netconf_peek_version(const char *buf, size_t len)
{
	json_t *root = json_loadb(buf, len, 0, NULL);
	enum cni_version v =
	        cni_version_parse(json_string_value(json_object_get(root, "cniVersion")));

	json_decref(root);
	return v;
}

/* ---- network configuration ---- */

#define CFG_ERR(ce, ...) cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EINVAL, __VA_ARGS__)

/* Optional string (JSON null counts as absent) of at most max bytes, no embedded NUL. */
static int cfg_str(json_t *obj, const char *ctx, const char *key, size_t max, const char **ret,
        struct cni_err *ce)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return CFG_ERR(ce, "%s%s must be a string", ctx, key);
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
		return CFG_ERR(ce, "%s%s is longer than %zu bytes or holds a NUL", ctx, key, max);
	*ret = json_string_value(v);
	return 0;
}

static int cfg_checked(json_t *obj, const char *ctx, const char *key, size_t max,
        bool (*valid)(const char *, const char **), const char **ret, struct cni_err *ce)
{
	const char *why;
	int r;

	if ((r = cfg_str(obj, ctx, key, max, ret, ce)) < 0 || !*ret)
		return r;
	if (!valid(*ret, &why))
		return CFG_ERR(ce, "%s%s '%s': %s", ctx, key, *ret, why);
	return 0;
}

static int cfg_int(json_t *obj, const char *ctx, const char *key, json_int_t min, json_int_t max,
        json_int_t *ret, bool *present, struct cni_err *ce)
{
	json_t *v = json_object_get(obj, key);

	*present = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return CFG_ERR(ce, "%s%s must be an integer in [%lld, %lld]", ctx, key,
		        (long long)min, (long long)max);
	*ret = json_integer_value(v);
	*present = true;
	return 0;
}

static json_t *cfg_obj(json_t *obj, const char *ctx, const char *key, struct cni_err *ce, int *r)
{
	json_t *v = json_object_get(obj, key);

	*r = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		*r = CFG_ERR(ce, "%s%s must be an object", ctx, key);
		return NULL;
	}
	return v;
}

static int cfg_mac(
        json_t *obj, const char *ctx, const char *key, const char **ret, struct cni_err *ce)
{
	struct mac m;
	int r;

	if ((r = cfg_str(obj, ctx, key, 64, ret, ce)) < 0 || !*ret)
		return r;
	if (mac_parse(*ret, &m) < 0 || mac_is_zero(&m) || mac_is_multicast(&m))
		return CFG_ERR(ce, "%s%s '%s' must be a unicast MAC address aa:bb:cc:dd:ee:ff", ctx,
		        key, *ret);
	return 0;
}

static bool val_socket_path(const char *s, const char **why)
{
	if (!val_abs_path(s, why))
		return false;
	if (strlen(s) > NETCONF_SOCKET_MAX) {
		*why = "longer than the 107-byte Unix socket path limit";
		return false;
	}
	return true;
}

/* resourceName: "<prefix>/<pool>" (the prefix a DNS subdomain) or "<pool>". */
static bool val_resource_name(const char *s, const char **why)
{
	const char *slash = strchr(s, '/');
	char prefix[VAL_K8S_NAME_MAX + 1];

	if (!slash)
		return val_name(s, why);
	if ((size_t)(slash - s) >= sizeof(prefix)) {
		*why = "prefix too long";
		return false;
	}
	memcpy(prefix, s, slash - s);
	prefix[slash - s] = '\0';
	if (!val_k8s_name(prefix, why))
		return false;
	return val_name(slash + 1, why);
}

static bool val_device_type(const char *s, const char **why)
{
	if (strcmp(s, API_DEVTYPE_VIRTIO_USER) == 0 || strcmp(s, API_DEVTYPE_SRIOV_VF) == 0 ||
	        strcmp(s, API_DEVTYPE_VDPA) == 0 || strcmp(s, API_DEVTYPE_KERNEL) == 0)
		return true;
	*why = "must be virtio-user, sriov-vf, vdpa or kernel";
	return false;
}

/* VF settings are the agent's to judge: here only their JSON types are checked. */
static const struct {
	const char *key;
	bool integer;
} dev_keys[] = {
        {"vlanQoS", true},
        {"vlanProto", false},
        {"spoofchk", false},
        {"trust", false},
        {"link_state", false},
        {"min_tx_rate", true},
        {"max_tx_rate", true},
};

static int parse_dev_config(struct netconf *nc, struct cni_err *ce)
{
	for (size_t i = 0; i < ARRAY_SIZE(dev_keys); i++) {
		json_t *v = json_object_get(nc->root, dev_keys[i].key);
		if (!v || json_is_null(v))
			continue;
		if (dev_keys[i].integer ? !json_is_integer(v) || json_integer_value(v) < 0
		                        : !json_is_string(v) || json_string_length(v) > 32)
			return CFG_ERR(ce, "%s must be %s", dev_keys[i].key,
			        dev_keys[i].integer ? "a non-negative integer"
			                            : "a string of at most 32 bytes");
		if (!nc->dev_config && !(nc->dev_config = json_object()))
			return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
		json_object_set(nc->dev_config, dev_keys[i].key, v);
	}
	return 0;
}

static int parse_ipam(struct netconf *nc, struct cni_err *ce)
{
	json_t *ipam;
	int r;

	if (!(ipam = cfg_obj(nc->root, "", "ipam", ce, &r)))
		return r;
	/* "ipam": {} is how Multus users say "no addresses". */
	if (json_object_size(ipam) == 0)
		return 0;
	if ((r = cfg_checked(ipam, "ipam.", "type", VAL_NAME_MAX, val_name, &nc->ipam_type, ce)) <
	        0)
		return r;
	if (!nc->ipam_type)
		return CFG_ERR(ce, "ipam.type is missing (use \"ipam\": {} for no IPAM)");
	nc->ipam = ipam;
	return 0;
}

static int parse_valid_attachments(struct netconf *nc, struct cni_err *ce)
{
	json_t *v = json_object_get(nc->root, "cni.dev/valid-attachments"), *item;
	const char *s, *why;
	size_t i;

	if (!v)
		return CFG_ERR(ce, "cni.dev/valid-attachments is required for GC");
	if (!json_is_array(v) || json_array_size(v) > NETCONF_MAX_VALID)
		return CFG_ERR(ce,
		        "cni.dev/valid-attachments must be an array of at most %d entries",
		        NETCONF_MAX_VALID);
	json_array_foreach (v, i, item) {
		if (!json_is_object(item))
			return CFG_ERR(ce, "cni.dev/valid-attachments[%zu] must be an object", i);
		s = json_string_value(json_object_get(item, "containerID"));
		if (!val_container_id(s, &why))
			return CFG_ERR(
			        ce, "cni.dev/valid-attachments[%zu].containerID: %s", i, why);
		s = json_string_value(json_object_get(item, "ifname"));
		if (!val_ifname(s, &why))
			return CFG_ERR(ce, "cni.dev/valid-attachments[%zu].ifname: %s", i, why);
	}
	nc->valid_attachments = v;
	return 0;
}

static int parse_body(struct netconf *nc, enum cni_cmd cmd, struct cni_err *ce)
{
	json_t *root = nc->root, *rc, *args, *args_cni, *prev, *ips;
	const char *dev_id, *bus_id, *rc_dev_id, *mac, *args_mac, *rc_mac;
	json_int_t n;
	bool have;
	int r;

	if ((r = cfg_checked(root, "", "name", VAL_NETWORK_MAX, val_network, &nc->name, ce)) < 0)
		return r;
	if (!nc->name)
		return CFG_ERR(ce, "name is missing");
	if ((r = cfg_str(root, "", "type", VAL_NAME_MAX, &nc->type, ce)) < 0)
		return r;
	if (!nc->type || !*nc->type)
		return CFG_ERR(ce, "type is missing");
	if ((r = cfg_checked(root, "", "deviceType", 32, val_device_type, &nc->device_type, ce)) <
	        0)
		return r;
	nc->device_type_set = nc->device_type != NULL;
	if (!nc->device_type)
		nc->device_type = API_DEVTYPE_VIRTIO_USER;
	if ((r = cfg_checked(root, "", "resourceName", VAL_K8S_NAME_MAX + VAL_NAME_MAX + 1,
	             val_resource_name, &nc->pool, ce)) < 0 ||
	        (r = cfg_checked(root, "", "deviceID", VAL_DEVICE_ID_MAX, val_device_id, &dev_id,
	                 ce)) < 0 ||
	        (r = cfg_checked(root, "", "pciBusID", VAL_DEVICE_ID_MAX, val_device_id, &bus_id,
	                 ce)) < 0 ||
	        (r = cfg_checked(root, "", "agentSocket", NETCONF_SOCKET_MAX, val_socket_path,
	                 &nc->agent_socket, ce)) < 0 ||
	        (r = cfg_checked(root, "", "cacheDir", VAL_PATH_MAX - 256, val_abs_path,
	                 &nc->cache_dir, ce)) < 0 ||
	        (r = cfg_mac(root, "", "mac", &mac, ce)) < 0)
		return r;
	if (!nc->agent_socket)
		nc->agent_socket = API_DEFAULT_SOCKET;
	if (!nc->cache_dir)
		nc->cache_dir = NETCONF_DEFAULT_CACHE_DIR;
	if ((r = cfg_int(root, "", "agentTimeoutMs", 1, 600000, &n, &have, ce)) < 0)
		return r;
	nc->agent_timeout_ms = have ? n : NETCONF_DEFAULT_TIMEOUT_MS;
	if ((r = cfg_int(root, "", "ipamTimeoutMs", 1, 600000, &n, &have, ce)) < 0)
		return r;
	nc->ipam_timeout_ms = have ? n : NETCONF_DEFAULT_IPAM_TIMEOUT_MS;
	if ((r = cfg_int(root, "", "mtu", 68, 65535, &n, &have, ce)) < 0)
		return r;
	nc->mtu = have ? n : 0;
	if ((r = cfg_int(root, "", "vlan", 0, 4094, &n, &have, ce)) < 0)
		return r;
	nc->vlan = have ? n : -1;
	if ((r = parse_dev_config(nc, ce)) < 0 || (r = parse_ipam(nc, ce)) < 0)
		return r;

	args = cfg_obj(root, "", "args", ce, &r);
	if (r < 0)
		return r;
	args_cni = cfg_obj(args, "args.", "cni", ce, &r);
	if (r < 0 || (r = cfg_mac(args_cni, "args.cni.", "mac", &args_mac, ce)) < 0)
		return r;

	rc = cfg_obj(root, "", "runtimeConfig", ce, &r);
	if (r < 0 || (r = cfg_mac(rc, "runtimeConfig.", "mac", &rc_mac, ce)) < 0 ||
	        (r = cfg_checked(rc, "runtimeConfig.", "deviceID", VAL_DEVICE_ID_MAX, val_device_id,
	                 &rc_dev_id, ce)) < 0 ||
	        (r = cfg_checked(rc, "runtimeConfig.", "CNIDeviceInfoFile", VAL_PATH_MAX,
	                 val_abs_path, &nc->devinfo_file, ce)) < 0)
		return r;
	if ((ips = json_object_get(rc, "ips")) && !json_is_null(ips)) {
		size_t i;
		json_t *ip;
		if (!json_is_array(ips) || json_array_size(ips) > CNI_RESULT_MAX_IPS)
			return CFG_ERR(ce,
			        "runtimeConfig.ips must be an array of at most %d strings",
			        CNI_RESULT_MAX_IPS);
		json_array_foreach (ips, i, ip) {
			if (!json_is_string(ip) || json_string_length(ip) > 63)
				return CFG_ERR(ce,
				        "runtimeConfig.ips[%zu] must be an IP address string", i);
		}
		nc->ipam_ips = ips;
	}
	if (args_cni && (ips = json_object_get(args_cni, "ips")) && !json_is_null(ips) &&
	        !nc->ipam_ips)
		nc->ipam_ips = ips;
	nc->agent_ipam = nc->ipam && ipamconf_is_agent(nc->ipam);
	/* Agent IPAM: refused here with the key named, before the agent is asked (DEL and GC
	 * never are: a refused DEL or GC keeps the addresses held). */
	if (nc->agent_ipam && (cmd == CNI_CMD_ADD || cmd == CNI_CMD_CHECK)) {
		struct ipamconf *ic = NULL;
		struct kb_err e = {0};
		if (ipamconf_parse(nc->ipam, nc->ipam_ips, NULL, &ic, &e) < 0)
			return CFG_ERR(ce, "%s", e.msg);
		ipamconf_free(ic);
	}
	nc->device_id = rc_dev_id ? rc_dev_id : dev_id ? dev_id : bus_id;
	nc->mac = rc_mac ? rc_mac : args_mac ? args_mac : mac;

	if ((prev = json_object_get(root, "prevResult")) && !json_is_null(prev)) {
		struct cni_err pce = {0};
		if (cni_result_parse(prev, nc->version, &nc->prev, &pce) < 0) {
			/* DEL needs no prevResult: a damaged one must not keep resources held. */
			if (cmd != CNI_CMD_DEL) {
				*ce = pce;
				return cni_err_prefix(ce, "prevResult");
			}
			json_object_del(root, "prevResult");
		}
	}
	if (cmd == CNI_CMD_CHECK && !nc->prev)
		return CFG_ERR(ce, "prevResult is required for CHECK");
	if (cmd == CNI_CMD_GC && (r = parse_valid_attachments(nc, ce)) < 0)
		return r;
	return 0;
}

int netconf_parse(
        const char *buf, size_t len, enum cni_cmd cmd, struct netconf **ret, struct cni_err *ce)
{
	struct netconf *nc;
	json_error_t jerr;
	const char *vs;
	json_t *ver;
	int r;

	if (!(nc = calloc(1, sizeof(*nc))))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	nc->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!nc->root) {
		r = cni_err_set(
		        ce, CNI_ERR_DECODE, EBADMSG, "the network configuration is not valid JSON");
		cni_err_details(ce, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	if (!json_is_object(nc->root)) {
		r = cni_err_set(ce, CNI_ERR_DECODE, EBADMSG,
		        "the network configuration must be a JSON object");
		goto fail;
	}
	ver = json_object_get(nc->root, "cniVersion");
	if (ver && !json_is_string(ver) && !json_is_null(ver)) {
		r = cni_err_set(ce, CNI_ERR_DECODE, EBADMSG, "cniVersion must be a string");
		goto fail;
	}
	vs = json_string_value(ver);
	if (!(nc->version = cni_version_parse(vs))) {
		r = cni_err_set(ce, CNI_ERR_INCOMPATIBLE, EPROTONOSUPPORT,
		        "incompatible CNI versions: config is %s%s%s, kbnet supports 0.3.0, 0.3.1, "
		        "0.4.0, 1.0.0, 1.1.0",
		        vs ? "\"" : "", vs ? vs : "missing cniVersion", vs ? "\"" : "");
		goto fail;
	}
	if (cmd == CNI_CMD_CHECK && nc->version < CNI_V_0_4_0) {
		r = cni_err_set(ce, CNI_ERR_INCOMPATIBLE, EPROTONOSUPPORT,
		        "config version %s does not allow CHECK (needs 0.4.0 or later)",
		        cni_version_str(nc->version));
		goto fail;
	}
	if ((cmd == CNI_CMD_GC || cmd == CNI_CMD_STATUS) && nc->version < CNI_V_1_1_0) {
		r = cni_err_set(ce, CNI_ERR_INCOMPATIBLE, EPROTONOSUPPORT,
		        "config version %s does not allow %s (needs 1.1.0)",
		        cni_version_str(nc->version), netconf_cmd_str(cmd));
		goto fail;
	}
	if ((r = parse_body(nc, cmd, ce)) < 0)
		goto fail;
	*ret = nc;
	return 0;
fail:
	netconf_free(nc);
	return r;
}

void netconf_free(struct netconf *nc)
{
	if (!nc)
		return;
	cni_result_free(nc->prev);
	json_decref(nc->dev_config);
	json_decref(nc->root);
	free(nc);
}

int netconf_confine(struct netconf *nc, const struct pcfg *cfg, enum cni_cmd cmd,
        const char **dropped, struct cni_err *ce)
{
	const char *src = cfg->path[0] ? cfg->path : "the plugin's defaults";
	bool del = cmd == CNI_CMD_DEL;
	const char *why = NULL;

	*dropped = NULL;
	if (!json_object_get(nc->root, "agentSocket") ||
	        json_is_null(json_object_get(nc->root, "agentSocket")))
		nc->agent_socket = cfg->sockets[0];
	else if (!pcfg_socket_allowed(cfg, nc->agent_socket))
		return CFG_ERR(ce, "agentSocket '%s' is not one of the agent sockets allowed by %s",
		        nc->agent_socket, src);
	if (!json_object_get(nc->root, "cacheDir") ||
	        json_is_null(json_object_get(nc->root, "cacheDir")))
		nc->cache_dir = cfg->cache_dir;
	else if (!pcfg_under(cfg->cache_dir, nc->cache_dir)) {
		if (!del)
			return CFG_ERR(ce, "cacheDir '%s' is not under %s (set by %s)",
			        nc->cache_dir, cfg->cache_dir, src);
		nc->cache_dir = cfg->cache_dir;
	}
	if (nc->devinfo_file) {
		const char *slash = strrchr(nc->devinfo_file, '/');
		size_t dlen = slash - nc->devinfo_file, clen = strlen(cfg->devinfo_dir);

		while (clen > 1 && cfg->devinfo_dir[clen - 1] == '/')
			clen--;
		if (dlen != clen || strncmp(nc->devinfo_file, cfg->devinfo_dir, clen) != 0)
			why = "not directly in the device-info directory";
		else
			devinfo_name_valid(slash + 1, &why);
		if (why) {
			if (!del)
				return CFG_ERR(ce,
				        "runtimeConfig.CNIDeviceInfoFile '%s': %s (only files "
				        "directly "
				        "in %s, set by %s)",
				        nc->devinfo_file, why, cfg->devinfo_dir, src);
			*dropped = nc->devinfo_file;
			nc->devinfo_file = NULL;
		} else {
			nc->devinfo_dir = cfg->devinfo_dir;
			nc->devinfo_name = slash + 1;
		}
	}
	return 0;
}

int netconf_check_env(const struct netconf *nc, const struct cni_env *env, struct cni_err *ce)
{
	/* STATUS takes CNI_PATH as optional: without it, IPAM is just not asked. */
	if (nc->ipam_type && !nc->agent_ipam && env->cmd != CNI_CMD_VERSION &&
	        env->cmd != CNI_CMD_STATUS && !env->cni_path)
		return cni_err_set(ce, CNI_ERR_INVALID_ENV, EINVAL,
		        "CNI_PATH is required to run the IPAM plugin '%s'", nc->ipam_type);
	return 0;
}
