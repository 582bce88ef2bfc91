/* SPDX-License-Identifier: Apache-2.0 */
#include "plugincfg.h"
#include "api/api.h"
#include "common/cleanup.h"
#include "common/str.h"
#include "common/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netconf.h"

void pcfg_defaults(struct pcfg *c)
{
	memset(c, 0, sizeof(*c));
	str_copy(c->sockets[0], sizeof(c->sockets[0]), API_DEFAULT_SOCKET);
	c->n_sockets = 1;
	str_copy(c->cache_dir, sizeof(c->cache_dir), NETCONF_DEFAULT_CACHE_DIR);
	str_copy(c->devinfo_dir, sizeof(c->devinfo_dir), PCFG_DEFAULT_DEVINFO_DIR);
	str_copy(c->log_dir, sizeof(c->log_dir), PCFG_DEFAULT_LOG_DIR);
}

bool pcfg_under(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (!val_abs_path(path, NULL) || strncmp(root, path, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/');
}

bool pcfg_socket_allowed(const struct pcfg *c, const char *sock)
{
	for (int i = 0; i < c->n_sockets; i++)
		if (strcmp(c->sockets[i], sock) == 0)
			return true;
	return false;
}

#define PCFG_ERR(ce, ...) cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EINVAL, __VA_ARGS__)

static int dir_key(
        json_t *o, const char *key, char *dst, size_t size, const char *file, struct cni_err *ce)
{
	json_t *v = json_object_get(o, key);
	const char *why;

	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= size ||
	        !val_abs_path(json_string_value(v), &why) || !strcmp(json_string_value(v), "/"))
		return PCFG_ERR(ce,
		        "%s: %s must be an absolute directory path (not /) of at most %zu "
		        "bytes",
		        file, key, size - 1);
	str_copy(dst, size, json_string_value(v));
	return 0;
}

static int parse(json_t *o, struct pcfg *c, const char *file, struct cni_err *ce)
{
	json_t *socks = json_object_get(o, "agentSockets"), *s;
	const char *key;
	json_t *v;
	size_t i;
	int r;

	json_object_foreach (o, key, v) {
		if (strcmp(key, "agentSockets") && strcmp(key, "cacheDir") &&
		        strcmp(key, "deviceInfoDir") && strcmp(key, "logDir"))
			return PCFG_ERR(ce, "%s: unknown key '%s'", file, key);
	}
	if (socks) {
		if (!json_is_array(socks) || json_array_size(socks) < 1 ||
		        json_array_size(socks) > PCFG_MAX_SOCKETS)
			return PCFG_ERR(ce, "%s: agentSockets must be an array of 1 to %d paths",
			        file, PCFG_MAX_SOCKETS);
		c->n_sockets = 0;
		json_array_foreach (socks, i, s) {
			const char *p = json_string_value(s);
			if (!p || !val_abs_path(p, NULL) || strlen(p) > NETCONF_SOCKET_MAX)
				return PCFG_ERR(ce,
				        "%s: agentSockets[%zu] must be an absolute path of at most "
				        "%d "
				        "bytes",
				        file, i, NETCONF_SOCKET_MAX);
			str_copy(c->sockets[c->n_sockets++], sizeof(c->sockets[0]), p);
		}
	}
	if ((r = dir_key(o, "cacheDir", c->cache_dir, sizeof(c->cache_dir), file, ce)) < 0 ||
	        (r = dir_key(o, "deviceInfoDir", c->devinfo_dir, sizeof(c->devinfo_dir), file,
	                 ce)) < 0 ||
	        (r = dir_key(o, "logDir", c->log_dir, sizeof(c->log_dir), file, ce)) < 0)
		return r;
	return 0;
}

int pcfg_load(const char *path, struct pcfg *c, struct cni_err *ce)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	json_error_t jerr;
	struct stat st;
	json_t *o;
	ssize_t n;
	int r;

	pcfg_defaults(c);
	if (!path || !*path)
		path = getenv(PCFG_ENV);
	if (!path || !*path)
		path = PCFG_DEFAULT_PATH;
	if (!val_abs_path(path, NULL) || strlen(path) > PCFG_PATH_MAX)
		return PCFG_ERR(ce, "%s must name an absolute path", PCFG_ENV);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, errno, "plugin configuration %s: %s",
		        path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, errno, "plugin configuration %s: %s",
		        path, strerror(errno));
	/* It decides where root writes: only root (or the plugin's own user) may write it. */
	if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
	        (st.st_mode & 022))
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EPERM,
		        "plugin configuration %s must be a regular file owned by root and "
		        "writable only by its owner",
		        path);
	if (st.st_size > PCFG_MAX_FILE)
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EFBIG,
		        "plugin configuration %s is larger than %d bytes", path, PCFG_MAX_FILE);
	if (!(text = malloc(PCFG_MAX_FILE + 1)))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	size_t len = 0;
	while ((n = read(fd, text + len, PCFG_MAX_FILE + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, errno,
			        "plugin configuration %s: %s", path, strerror(errno));
		len += n;
		if (len > PCFG_MAX_FILE)
			return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EFBIG,
			        "plugin configuration %s is larger than %d bytes", path,
			        PCFG_MAX_FILE);
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, EBADMSG,
		        "plugin configuration %s is not a JSON object (line %d: %s)", path,
		        jerr.line, o ? "not an object" : jerr.text);
	}
	r = parse(o, c, path, ce);
	json_decref(o);
	if (r == 0)
		str_copy(c->path, sizeof(c->path), path);
	return r;
}
