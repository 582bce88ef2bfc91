/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/kube/kcfg.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/str.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define KCFG_MAX_FILE (4 * 1024 * 1024)

struct kcfg_blob {
	char *data; /* decoded, NUL-terminated */
	size_t len;
};

struct kcfg {
	char server[512];
	/* CA: a file, or PEM from certificate-authority-data; neither: the system store. */
	char ca_file[PATH_MAX];
	struct kcfg_blob ca;
	bool insecure;
	/* Client certificate (kubeconfig): files or data. */
	char cert_file[PATH_MAX], key_file[PATH_MAX];
	struct kcfg_blob cert, key;
	/* Token: fixed (kubeconfig `token`) or from a file that may rotate. */
	char token_file[PATH_MAX];
	char *token;
	char token_src[PATH_MAX + 8];
	struct stat token_st; /* what the current token was read from */
	bool token_loaded;
};

const char *kcfg_server(const struct kcfg *c)
{
	return c->server;
}

const char *kcfg_token_source(const struct kcfg *c)
{
	return c->token_src;
}

void kcfg_free(struct kcfg *c)
{
	if (!c)
		return;
	free(c->ca.data);
	free(c->cert.data);
	if (c->key.data) /* private key material: do not leave it in freed memory */
		explicit_bzero(c->key.data, c->key.len);
	free(c->key.data);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c);
}

int kcfg_base64_decode(const char *in, char **ret, size_t *ret_len)
{
	size_t n = strlen(in), o = 0;
	unsigned acc = 0, bits = 0, pad = 0;
	char *out = malloc(n / 4 * 3 + 4);

	if (!out)
		return -ENOMEM;
	for (const char *p = in; *p; p++) {
		int v;
		char ch = *p;
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad) /* data after padding */
			goto bad;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || bits >= 6)
		goto bad;
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* ---- token ---- */

int kcfg_refresh_token(struct kcfg *c, bool force, struct kb_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len;
	char *tok;
	int r;

	if (!c->token_file[0])
		return 0;
	if (stat(c->token_file, &st) < 0)
		return kb_err_set(err, errno, "token file %s: %s", c->token_file, strerror(errno));
	/* The kubelet replaces the file (new inode) when it rotates the token. */
	if (!force && c->token_loaded && st.st_ino == c->token_st.st_ino &&
	        st.st_dev == c->token_st.st_dev && st.st_size == c->token_st.st_size &&
	        st.st_mtim.tv_sec == c->token_st.st_mtim.tv_sec &&
	        st.st_mtim.tv_nsec == c->token_st.st_mtim.tv_nsec)
		return 0;
	r = fs_read_file(c->token_file, KCFG_TOKEN_MAX, &text, &len);
	if (r < 0)
		return kb_err_set(err, -r, "token file %s: %s", c->token_file, strerror(-r));
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len || strlen(text) != len || strpbrk(text, "\r\n"))
		return kb_err_set(
		        err, EINVAL, "token file %s: empty or not one line", c->token_file);
	c->token_st = st;
	c->token_loaded = true;
	if (c->token && strcmp(c->token, text) == 0)
		return 0;
	if (!(tok = strdup(text)))
		return kb_err_set(err, ENOMEM, "out of memory");
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->token = tok;
	explicit_bzero(text, len);
	return 1;
}

/* ---- in-cluster ---- */

int kcfg_in_cluster(
        const char *token_file, const char *ca_file, struct kcfg **ret, struct kb_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kcfg *c;
	uint64_t p;

	if (!host || !*host || !port || !*port)
		return kb_err_set(err, ENOENT,
		        "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set "
		        "(set kubernetes.kubeconfig for development)");
	if (str_to_u64(port, 1, 65535, &p) < 0)
		return kb_err_set(err, EINVAL, "KUBERNETES_SERVICE_PORT '%s' is not a port", port);
	if (strpbrk(host, "/@?# ") || strlen(host) > 255)
		return kb_err_set(err, EINVAL, "KUBERNETES_SERVICE_HOST '%s' is not a host", host);
	if (!(c = calloc(1, sizeof(*c))))
		return kb_err_set(err, ENOMEM, "out of memory");
	/* An IPv6 service address needs brackets in a URL. */
	snprintf(c->server, sizeof(c->server),
	        strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	if (str_copy(c->token_file, sizeof(c->token_file), token_file) < 0 ||
	        str_copy(c->ca_file, sizeof(c->ca_file), ca_file) < 0) {
		kcfg_free(c);
		return kb_err_set(err, ENAMETOOLONG, "token or CA path too long");
	}
	snprintf(c->token_src, sizeof(c->token_src), "file %s", token_file);
	*ret = c;
	return 0;
}

/* ---- kubeconfig ---- */

struct kdoc {
	yaml_document_t doc;
	const char *path;
	char dir[PATH_MAX];
};

static yaml_node_t *node_at(struct kdoc *d, int idx)
{
	return yaml_document_get_node(&d->doc, idx);
}

static yaml_node_t *map_get(struct kdoc *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	        p++) {
		yaml_node_t *k = node_at(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		        strcmp((char *)k->data.scalar.value, key) == 0)
			return node_at(d, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *map_str(struct kdoc *d, yaml_node_t *map, const char *key)
{
	return scalar(map_get(d, map, key));
}

/* The entry named `name` in a top-level list ("clusters", "users", "contexts"); returns its
 * inner object (`cluster`, `user`, `context`). */
static yaml_node_t *named(struct kdoc *d, const char *list, const char *inner, const char *name)
{
	yaml_node_t *seq = map_get(d, yaml_document_get_root_node(&d->doc), list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	        i++) {
		yaml_node_t *e = node_at(d, *i);
		const char *n = map_str(d, e, "name");
		if (n && strcmp(n, name) == 0)
			return map_get(d, e, inner);
	}
	return NULL;
}

/* kubeconfig paths are relative to the file that names them. */
static int resolve_path(struct kdoc *d, const char *p, char *buf, size_t size)
{
	if (p[0] == '/')
		return str_copy(buf, size, p);
	return str_printf(buf, size, "%s/%s", d->dir, p);
}

static int get_data(
        struct kdoc *d, yaml_node_t *obj, const char *key, struct kcfg_blob *b, struct kb_err *err)
{
	const char *s = map_str(d, obj, key);

	if (!s)
		return 0;
	if (kcfg_base64_decode(s, &b->data, &b->len) < 0)
		return kb_err_set(err, EINVAL, "%s: %s is not valid base64", d->path, key);
	return 0;
}

static int get_file(struct kdoc *d, yaml_node_t *obj, const char *key, char *buf, size_t size,
        struct kb_err *err)
{
	const char *s = map_str(d, obj, key);

	if (!s || !*s)
		return 0;
	if (resolve_path(d, s, buf, size) < 0)
		return kb_err_set(err, ENAMETOOLONG, "%s: %s: path too long", d->path, key);
	return 0;
}

static int parse_kubeconfig(struct kdoc *d, const char *context, struct kcfg *c, struct kb_err *err)
{
	yaml_node_t *root = yaml_document_get_root_node(&d->doc), *ctx, *cluster, *user;
	const char *cname, *clname, *uname, *server, *s;

	if (!root || root->type != YAML_MAPPING_NODE)
		return kb_err_set(err, EINVAL, "%s: not a kubeconfig (no mapping)", d->path);
	cname = context && *context ? context : map_str(d, root, "current-context");
	if (!cname || !*cname)
		return kb_err_set(
		        err, EINVAL, "%s: no current-context and no context given", d->path);
	if (!(ctx = named(d, "contexts", "context", cname)))
		return kb_err_set(err, ENOENT, "%s: context '%s' not found", d->path, cname);
	clname = map_str(d, ctx, "cluster");
	uname = map_str(d, ctx, "user");
	if (!clname || !(cluster = named(d, "clusters", "cluster", clname)))
		return kb_err_set(
		        err, ENOENT, "%s: cluster of context '%s' not found", d->path, cname);
	server = map_str(d, cluster, "server");
	if (!server || (!str_has_prefix(server, "https://") && !str_has_prefix(server, "http://")))
		return kb_err_set(err, EINVAL, "%s: cluster '%s': server must be an http(s) URL",
		        d->path, clname);
	if (str_copy(c->server, sizeof(c->server), server) < 0)
		return kb_err_set(err, ENAMETOOLONG, "%s: server URL too long", d->path);
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	s = map_str(d, cluster, "insecure-skip-tls-verify");
	c->insecure = s && strcmp(s, "true") == 0;
	if (get_data(d, cluster, "certificate-authority-data", &c->ca, err) < 0 ||
	        get_file(d, cluster, "certificate-authority", c->ca_file, sizeof(c->ca_file), err) <
	                0)
		return -EINVAL;

	snprintf(c->token_src, sizeof(c->token_src), "none");
	if (!uname)
		return 0;
	if (!(user = named(d, "users", "user", uname)))
		return kb_err_set(err, ENOENT, "%s: user '%s' not found", d->path, uname);
	/* What we cannot do must fail loudly, not fall back to anonymous requests. */
	if (map_get(d, user, "exec") || map_get(d, user, "auth-provider") ||
	        map_get(d, user, "username"))
		return kb_err_set(err, ENOTSUP,
		        "%s: user '%s': exec, auth-provider and basic auth are not supported "
		        "(use a token, tokenFile or a client certificate)",
		        d->path, uname);
	if ((s = map_str(d, user, "token")) && *s) {
		if (!(c->token = strdup(s)))
			return kb_err_set(err, ENOMEM, "out of memory");
		snprintf(c->token_src, sizeof(c->token_src), "kubeconfig");
	} else if (get_file(d, user, "tokenFile", c->token_file, sizeof(c->token_file), err) < 0) {
		return -EINVAL;
	} else if (c->token_file[0]) {
		snprintf(c->token_src, sizeof(c->token_src), "file %s", c->token_file);
	}
	if (get_data(d, user, "client-certificate-data", &c->cert, err) < 0 ||
	        get_data(d, user, "client-key-data", &c->key, err) < 0 ||
	        get_file(d, user, "client-certificate", c->cert_file, sizeof(c->cert_file), err) <
	                0 ||
	        get_file(d, user, "client-key", c->key_file, sizeof(c->key_file), err) < 0)
		return -EINVAL;
	if ((c->cert.data || c->cert_file[0]) != (c->key.data || c->key_file[0]))
		return kb_err_set(err, EINVAL, "%s: user '%s': a client certificate needs its key",
		        d->path, uname);
	return 0;
}

int kcfg_from_kubeconfig(
        const char *path, const char *context, struct kcfg **ret, struct kb_err *err)
{
	_cleanup_free_ char *text = NULL, *dircopy = NULL;
	struct kdoc d = {.path = path};
	yaml_parser_t parser;
	struct kcfg *c;
	size_t len;
	int r;

	r = fs_read_file(path, KCFG_MAX_FILE, &text, &len);
	if (r < 0)
		return kb_err_set(err, -r, "kubeconfig %s: %s", path, strerror(-r));
	if (!(dircopy = strdup(path)))
		return kb_err_set(err, ENOMEM, "out of memory");
	str_copy(d.dir, sizeof(d.dir), dirname(dircopy));
	if (!yaml_parser_initialize(&parser))
		return kb_err_set(err, ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d.doc)) {
		r = kb_err_set(err, EINVAL, "kubeconfig %s:%zu: %s", path,
		        parser.problem_mark.line + 1,
		        parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		return r;
	}
	yaml_parser_delete(&parser);
	if (!(c = calloc(1, sizeof(*c)))) {
		yaml_document_delete(&d.doc);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	r = parse_kubeconfig(&d, context, c, err);
	yaml_document_delete(&d.doc);
	explicit_bzero(text, len);
	if (r < 0) {
		kcfg_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* ---- requests ---- */

int kcfg_apply(struct kcfg *c, CURL *easy, struct curl_slist **headers, struct kb_err *err)
{
	struct curl_slist *h = *headers;
	char auth[KCFG_TOKEN_MAX + 32];
	struct kb_err terr = {0};

	/* A token file that cannot be read now keeps the last token; the server decides. */
	if (kcfg_refresh_token(c, false, &terr) < 0 && !c->token)
		return kb_err_set(err, terr.errnum, "%s", terr.msg);
	if (c->ca.data) {
		struct curl_blob b = {
		        .data = c->ca.data, .len = c->ca.len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->ca_file[0]) {
		curl_easy_setopt(easy, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->cert.data) {
		struct curl_blob cb = {
		        .data = c->cert.data, .len = c->cert.len, .flags = CURL_BLOB_COPY};
		struct curl_blob kb = {
		        .data = c->key.data, .len = c->key.len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->cert_file[0]) {
		curl_easy_setopt(easy, CURLOPT_SSLCERT, c->cert_file);
		curl_easy_setopt(easy, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
		if (!h)
			goto nomem;
		*headers = h;
	}
	if (!(h = curl_slist_append(h, "Accept: application/json")))
		goto nomem;
	*headers = h;
	return 0;
nomem:
	return kb_err_set(err, ENOMEM, "out of memory");
}
