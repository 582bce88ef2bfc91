/* SPDX-License-Identifier: Apache-2.0 */
#include "ipam.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/*
 * The versions a plugin speaks, remembered under <cacheDir>/ipam/<type>.versions so a 1.1.0
 * configuration does not pay two extra execs (the refusal and VERSION) on every call. The
 * entry names the binary by device, inode, size and mtime: an upgraded plugin is asked again.
 */
static int hint_path(const struct ipam_ctx *ctx, char *buf, size_t size)
{
	return str_printf(buf, size, "%s/ipam/%s.versions", ctx->nc->cache_dir, ctx->nc->ipam_type);
}

static void plugin_id(const struct stat *st, char *buf, size_t size)
{
	snprintf(buf, size, "%llu:%llu:%lld:%lld.%09ld", (unsigned long long)st->st_dev,
	        (unsigned long long)st->st_ino, (long long)st->st_size,
	        (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

static void hint_load(struct ipam_ctx *ctx, const struct stat *st)
{
	char path[PATH_MAX], id[128], line[256], *sp;
	unsigned mask;
	FILE *f;

	if (hint_path(ctx, path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
		return;
	plugin_id(st, id, sizeof(id));
	if (fgets(line, sizeof(line), f) && (sp = strchr(line, ' '))) {
		*sp = '\0';
		if (!strcmp(line, id) && sscanf(sp + 1, "%x", &mask) == 1 && mask) {
			for (int v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++)
				ctx->supported[v] = mask & (1u << v);
			ctx->probed = true;
			/* Start at the highest version both speak, as negotiation would end up. */
			while (ctx->version > CNI_V_NONE && !ctx->supported[ctx->version])
				ctx->version--;
			if (ctx->version == CNI_V_NONE)
				ctx->version = ctx->nc->version;
		}
	}
	fclose(f);
}

static void hint_store(const struct ipam_ctx *ctx)
{
	char path[PATH_MAX], dir[PATH_MAX], id[128], text[192];
	unsigned mask = 0;
	struct stat st;
	int n;

	if (stat(ctx->plugin, &st) < 0 || hint_path(ctx, path, sizeof(path)) < 0 ||
	        str_printf(dir, sizeof(dir), "%s/ipam", ctx->nc->cache_dir) < 0 ||
	        fs_mkdir_p(dir, 0700) < 0)
		return;
	for (int v = CNI_V_0_3_0; v <= CNI_V_LATEST; v++)
		mask |= ctx->supported[v] ? 1u << v : 0;
	if (!mask)
		return;
	plugin_id(&st, id, sizeof(id));
	n = snprintf(text, sizeof(text), "%s %x\n", id, mask);
	/* Only a hint: a failed write costs one VERSION exec next time. */
	if (n > 0 && (size_t)n < sizeof(text))
		fs_write_atomic(path, text, n, 0600);
}

int ipam_init(struct ipam_ctx *ctx, const struct netconf *nc, const struct cni_env *env,
        struct cni_err *ce)
{
	const char *p = env->cni_path;

	memset(ctx, 0, sizeof(*ctx));
	ctx->nc = nc;
	ctx->env = env;
	ctx->version = nc->version;
	/* ipam.type passed val_name: no '/' and no leading '.', so it stays inside each dir. */
	while (p && *p) {
		const char *end = strchrnul(p, ':');
		struct stat st;

		if (end > p &&
		        str_printf(ctx->plugin, sizeof(ctx->plugin), "%.*s/%s", (int)(end - p), p,
		                nc->ipam_type) >= 0 &&
		        stat(ctx->plugin, &st) == 0 && S_ISREG(st.st_mode) &&
		        access(ctx->plugin, X_OK) == 0) {
			hint_load(ctx, &st);
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	ctx->plugin[0] = '\0';
	return cni_err_set(ce, CNI_ERR_INVALID_CONFIG, ENOENT,
	        "IPAM plugin '%s' was not found in CNI_PATH", nc->ipam_type);
}

/* ---- exec ---- */

struct env_override {
	const char *key;
	const char *val; /* NULL: remove */
};

/* environ with the overrides applied; owned[] holds the strings allocated here. */
struct plugin_env {
	char **envp;
	char *owned[8];
	size_t n_owned;
};

static void plugin_env_free(struct plugin_env *pe)
{
	for (size_t i = 0; i < pe->n_owned; i++)
		free(pe->owned[i]);
	free(pe->envp);
}

static int plugin_env_build(struct plugin_env *pe, const struct env_override *ov, size_t n_ov)
{
	size_t n = 0, k = 0;

	memset(pe, 0, sizeof(*pe));
	while (environ[n])
		n++;
	if (n_ov > ARRAY_SIZE(pe->owned) || !(pe->envp = calloc(n + n_ov + 1, sizeof(char *))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;
		for (size_t j = 0; j < n_ov; j++) {
			size_t kl = strlen(ov[j].key);
			replaced = replaced || (strncmp(environ[i], ov[j].key, kl) == 0 &&
			                               environ[i][kl] == '=');
		}
		if (!replaced)
			pe->envp[k++] = environ[i];
	}
	for (size_t j = 0; j < n_ov; j++) {
		char *s;
		if (!ov[j].val)
			continue;
		if (asprintf(&s, "%s=%s", ov[j].key, ov[j].val) < 0) {
			plugin_env_free(pe);
			return -ENOMEM;
		}
		pe->owned[pe->n_owned++] = s;
		pe->envp[k++] = s;
	}
	return 0;
}

/*
 * Run the plugin: write `in` to its stdin while collecting its stdout (both through poll, so
 * a plugin that writes before reading cannot deadlock us). *status is its wait status. A plugin
 * still running after timeout_ms is killed: the runtime must not hang on a stuck IPAM.
 */
static int run(const char *plugin, char **envp, const char *in, size_t inlen, int timeout_ms,
        char **ret_out, size_t *ret_len, int *status, struct cni_err *ce)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)plugin, NULL};
	_cleanup_free_ char *out = NULL;
	size_t len = 0, cap = 0, off = 0;
	pid_t pid;
	int r;

	if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, errno, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to_child[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, from_child[1], STDOUT_FILENO);
	r = posix_spawn(&pid, plugin, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, r, "running %s: %s", plugin, strerror(r));
		goto close_pipes;
	}
	close(to_child[0]);
	close(from_child[1]);
	to_child[0] = from_child[1] = -1;
	for (char **e = envp; *e; e++)
		if (strcmp(*e, "CNI_COMMAND=ADD") == 0)
			crashpoint_hit("cni-add-ipam-running");
	fcntl(to_child[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(to_child[1]);
		to_child[1] = -1;
	}

	r = 0;
	while (from_child[0] >= 0) {
		struct pollfd pfd[2] = {{.fd = from_child[0], .events = POLLIN},
		        {.fd = to_child[1], .events = POLLOUT}};
		ssize_t n;

		int64_t left = deadline - clock_mono_ms();
		int np;

		if (left <= 0) {
			r = cni_err_set(ce, CNI_ERR_TRY_AGAIN, ETIMEDOUT,
			        "%s did not finish within %d ms (ipamTimeoutMs); killed", plugin,
			        timeout_ms);
			break;
		}
		np = poll(pfd, to_child[1] >= 0 ? 2 : 1, (int)left);
		if (np < 0) {
			if (errno == EINTR)
				continue;
			r = cni_err_set(ce, CNI_ERR_INTERNAL, errno, "poll: %s", strerror(errno));
			break;
		}
		if (np == 0)
			continue; /* the deadline check above ends it */
		if (to_child[1] >= 0 && pfd[1].revents) {
			n = write(to_child[1], in + off, inlen - off);
			if (n > 0)
				off += n;
			/* EPIPE: the plugin stopped reading; its exit status will tell. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == inlen) {
				close(to_child[1]);
				to_child[1] = -1;
			}
		}
		if (pfd[0].revents) {
			if (cap - len < 4096) {
				size_t ncap = cap ? cap * 2 : 8192;
				char *nb = realloc(out, ncap + 1);
				if (!nb) {
					r = cni_err_set(
					        ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
					break;
				}
				out = nb;
				cap = ncap;
			}
			n = read(from_child[0], out + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(from_child[0]);
				from_child[0] = -1;
				continue;
			}
			len += n;
			if (len > IPAM_MAX_OUTPUT) {
				r = cni_err_set(ce, CNI_ERR_INTERNAL, EFBIG,
				        "%s wrote more than %d bytes", plugin, IPAM_MAX_OUTPUT);
				break;
			}
		}
	}
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
close_pipes:
	for (int i = 0; i < 2; i++) {
		if (to_child[i] >= 0)
			close(to_child[i]);
		if (from_child[i] >= 0)
			close(from_child[i]);
	}
	if (r < 0)
		return r;
	if (!out && !(out = malloc(1)))
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	out[len] = '\0';
	*ret_out = TAKE_PTR(out);
	*ret_len = len;
	return 0;
}

/* The configuration as the plugin gets it: the negotiated version, prevResult to match. */
static char *plugin_config(struct ipam_ctx *ctx, bool strip_gc, size_t *len)
{
	json_t *conf = json_copy(ctx->nc->root);
	char *s;

	if (!conf)
		return NULL;
	json_object_set_new(conf, "cniVersion", json_string(cni_version_str(ctx->version)));
	if (ctx->nc->prev)
		json_object_set_new(
		        conf, "prevResult", cni_result_to_json(ctx->nc->prev, ctx->version));
	if (strip_gc)
		json_object_del(conf, "cni.dev/valid-attachments");
	s = json_dumps(conf, JSON_COMPACT);
	json_decref(conf);
	if (s)
		*len = strlen(s);
	return s;
}

/*
 * One call. Exit 0: *ret_out (if wanted) holds the parsed stdout. Otherwise the plugin's error
 * becomes ours with its code; *ret_code (if non-NULL) gets that code.
 */
static int call(struct ipam_ctx *ctx, const char *cmd, const char *cid, const char *ifname,
        json_t **ret_out, int *ret_code, struct cni_err *ce)
{
	struct env_override ov[] = {
	        {"CNI_COMMAND", cmd},
	        {"CNI_CONTAINERID", cid},
	        {"CNI_IFNAME", ifname},
	        {"CNI_NETNS", cid ? "" : NULL},
	};
	size_t n_ov = cid ? ARRAY_SIZE(ov) : 1;
	_cleanup_free_ char *in = NULL, *out = NULL;
	size_t inlen = 0, outlen = 0;
	struct plugin_env pe;
	json_t *reply;
	int status = 0, r;

	if (ret_code)
		*ret_code = 0;
	if (strcmp(cmd, "VERSION") == 0) {
		if (asprintf(&in, "{\"cniVersion\":\"%s\"}", cni_version_str(ctx->nc->version)) < 0)
			in = NULL;
		else
			inlen = strlen(in);
	} else {
		in = plugin_config(ctx, strcmp(cmd, "GC") != 0, &inlen);
	}
	if (!in || plugin_env_build(&pe, ov, n_ov) < 0)
		return cni_err_set(ce, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	r = run(ctx->plugin, pe.envp, in, inlen, ctx->nc->ipam_timeout_ms, &out, &outlen, &status,
	        ce);
	plugin_env_free(&pe);
	if (r < 0)
		return r;

	reply = outlen ? json_loadb(out, outlen, 0, NULL) : NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (ret_out) {
			if (!json_is_object(reply)) {
				json_decref(reply);
				return cni_err_set(ce, CNI_ERR_INTERNAL, EBADMSG,
				        "IPAM plugin %s: %s output is not a JSON object",
				        ctx->nc->ipam_type, cmd);
			}
			*ret_out = reply;
		} else {
			json_decref(reply);
		}
		return 0;
	}
	json_t *code = json_object_get(reply, "code");
	const char *msg = json_string_value(json_object_get(reply, "msg"));
	const char *details = json_string_value(json_object_get(reply, "details"));
	if (json_is_integer(code) && json_integer_value(code) > 0 &&
	        json_integer_value(code) < 100000) {
		r = cni_err_set(ce, json_integer_value(code), EIO, "IPAM plugin %s (%s %s): %s",
		        ctx->nc->ipam_type, cmd, cni_version_str(ctx->version),
		        msg ? msg : "no message");
		if (details)
			cni_err_details(ce, "%s", details);
		if (ret_code)
			*ret_code = json_integer_value(code);
	} else if (WIFEXITED(status)) {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, EIO,
		        "IPAM plugin %s (%s) exited with status %d", ctx->nc->ipam_type, cmd,
		        WEXITSTATUS(status));
		cni_err_details(ce, "output: %.400s", out);
	} else {
		r = cni_err_set(ce, CNI_ERR_INTERNAL, EIO,
		        "IPAM plugin %s (%s) killed by signal %d", ctx->nc->ipam_type, cmd,
		        WTERMSIG(status));
	}
	json_decref(reply);
	return r;
}

int ipam_supports(struct ipam_ctx *ctx, enum cni_version v, bool *ret, struct cni_err *ce)
{
	json_t *info = NULL, *list, *item;
	size_t i;
	int r;

	if (!ctx->probed) {
		if ((r = call(ctx, "VERSION", NULL, NULL, &info, NULL, ce)) < 0)
			return r;
		list = json_object_get(info, "supportedVersions");
		json_array_foreach (list, i, item)
			ctx->supported[cni_version_parse(json_string_value(item))] = true;
		ctx->supported[CNI_V_NONE] = false;
		ctx->probed = true;
		json_decref(info);
		hint_store(ctx);
	}
	*ret = ctx->supported[v];
	return 0;
}

/* Run cmd; on "incompatible version" negotiate a lower version once and run it again. */
static int call_negotiated(struct ipam_ctx *ctx, const char *cmd, const char *cid,
        const char *ifname, json_t **ret_out, struct cni_err *ce)
{
	struct cni_err first;
	enum cni_version v;
	int r, code;
	bool ok;

	r = call(ctx, cmd, cid, ifname, ret_out, &code, ce);
	if (r == 0 || code != CNI_ERR_INCOMPATIBLE || ctx->probed)
		return r;
	first = *ce;
	if (ipam_supports(ctx, CNI_V_NONE, &ok, ce) < 0) {
		*ce = first;
		return r;
	}
	for (v = ctx->version - 1; v > CNI_V_NONE && !ctx->supported[v]; v--)
		;
	if (v == CNI_V_NONE) {
		*ce = first;
		return r;
	}
	ctx->version = v;
	return call(ctx, cmd, cid, ifname, ret_out, NULL, ce);
}

int ipam_add(struct ipam_ctx *ctx, struct cni_result **ret, struct cni_err *ce)
{
	json_t *out = NULL;
	int r;

	if ((r = call_negotiated(ctx, "ADD", NULL, NULL, &out, ce)) < 0)
		return r;
	r = cni_result_parse(out, ctx->version, ret, ce);
	json_decref(out);
	if (r < 0) {
		ce->code = CNI_ERR_INTERNAL;
		return cni_err_prefix(
		        ce, "IPAM plugin %s returned an invalid result", ctx->nc->ipam_type);
	}
	return 0;
}

int ipam_check(struct ipam_ctx *ctx, struct cni_err *ce)
{
	int r = call_negotiated(ctx, "CHECK", NULL, NULL, NULL, ce);

	/* A plugin older than 0.4.0 has no CHECK: nothing to delegate then. */
	if (r < 0 && ctx->version < CNI_V_0_4_0)
		return 0;
	return r;
}

int ipam_del(struct ipam_ctx *ctx, const char *cid, const char *ifname, struct cni_err *ce)
{
	return call_negotiated(ctx, "DEL", cid, ifname, NULL, ce);
}

static int call_v11(struct ipam_ctx *ctx, const char *cmd, bool *ran, struct cni_err *ce)
{
	enum cni_version saved = ctx->version;
	bool ok;
	int r;

	*ran = false;
	if ((r = ipam_supports(ctx, CNI_V_1_1_0, &ok, ce)) < 0 || !ok)
		return r;
	ctx->version = CNI_V_1_1_0;
	r = call(ctx, cmd, NULL, NULL, NULL, NULL, ce);
	ctx->version = saved;
	*ran = true;
	return r;
}

int ipam_gc(struct ipam_ctx *ctx, bool *ran, struct cni_err *ce)
{
	return call_v11(ctx, "GC", ran, ce);
}

int ipam_status(struct ipam_ctx *ctx, bool *ran, struct cni_err *ce)
{
	return call_v11(ctx, "STATUS", ran, ce);
}
