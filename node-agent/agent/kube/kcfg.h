/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How to reach the Kubernetes API server: in-cluster (KUBERNETES_SERVICE_HOST/PORT, the
 * service-account token and CA bundle files) or a kubeconfig file for development (its
 * current or a named context; server, CA, token or token file, client certificate).
 *
 * The bearer token is read from its file again whenever the file changes (the kubelet rotates
 * projected service-account tokens by swapping a symlink) or when the server answered 401.
 */
#ifndef KB_KCFG_H
#define KB_KCFG_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define KCFG_SA_TOKEN "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define KCFG_SA_CA    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
/* Tokens are JWTs of a kilobyte or two; refuse anything absurd. */
#define KCFG_TOKEN_MAX (64 * 1024)

struct kcfg;

/* In-cluster: server from the environment, token and CA from these files. */
int kcfg_in_cluster(
        const char *token_file, const char *ca_file, struct kcfg **ret, struct kb_err *err);
/* Development: a kubeconfig; `context` NULL or "" means current-context. */
int kcfg_from_kubeconfig(
        const char *path, const char *context, struct kcfg **ret, struct kb_err *err);
void kcfg_free(struct kcfg *c);

/* "https://10.96.0.1:443" (no trailing slash). */
const char *kcfg_server(const struct kcfg *c);
/* Where the token comes from, for messages ("file /x/token", "kubeconfig", "none"). */
const char *kcfg_token_source(const struct kcfg *c);

/* Re-read the token file when it changed (or always when `force`). Returns 1 when the token
 * changed, 0 when not, -errno when the file cannot be read (the last good token is kept). */
int kcfg_refresh_token(struct kcfg *c, bool force, struct kb_err *err);

/* Set TLS, authentication and the Accept/User-Agent headers on an easy handle. `*headers` is
 * appended to (free with curl_slist_free_all after the transfer). */
int kcfg_apply(struct kcfg *c, CURL *easy, struct curl_slist **headers, struct kb_err *err);

/* Standard base64 (kubeconfig *-data fields); *ret is NUL-terminated. */
int kcfg_base64_decode(const char *in, char **ret, size_t *ret_len);

#endif
