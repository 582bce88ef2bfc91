/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPAM delegation (CNI SPEC section 4): exec the plugin named by ipam.type, found in CNI_PATH,
 * with our environment (CNI_COMMAND and, for GC, the attachment replaced) and the whole network
 * configuration on stdin; its stderr is ours.
 *
 * Version negotiation: when the plugin refuses the configuration's cniVersion with code 1, it
 * is asked VERSION and the call is retried with the highest version both sides speak (the
 * configuration's cniVersion and prevResult rewritten); its result is converted back by the
 * caller printing in the configuration's version.
 *
 * The caller must ignore SIGPIPE (a plugin may exit without reading its stdin).
 */
#ifndef KB_CNI_IPAM_H
#define KB_CNI_IPAM_H

#include <limits.h>
#include <stdbool.h>

#include "netconf.h"
#include "result.h"

#define IPAM_MAX_OUTPUT (1024 * 1024)

struct ipam_ctx {
	const struct netconf *nc;
	const struct cni_env *env;
	char plugin[PATH_MAX];
	enum cni_version version; /* what the plugin is called with (negotiated) */
	bool probed;              /* VERSION asked */
	bool supported[CNI_V_LATEST + 1];
};

/* Find the plugin in CNI_PATH. Errors: 7 when it is not there. */
int ipam_init(struct ipam_ctx *ctx, const struct netconf *nc, const struct cni_env *env,
        struct cni_err *ce);
int ipam_add(struct ipam_ctx *ctx, struct cni_result **ret, struct cni_err *ce);
int ipam_check(struct ipam_ctx *ctx, struct cni_err *ce);
/* DEL for the environment's attachment, or for (cid, ifname) when given (GC). */
int ipam_del(struct ipam_ctx *ctx, const char *cid, const char *ifname, struct cni_err *ce);
/* GC and STATUS are only delegated to plugins that speak 1.1.0; *ran says whether it was. */
int ipam_gc(struct ipam_ctx *ctx, bool *ran, struct cni_err *ce);
int ipam_status(struct ipam_ctx *ctx, bool *ran, struct cni_err *ce);
/* Ask the plugin VERSION (once) and whether it supports v. */
int ipam_supports(struct ipam_ctx *ctx, enum cni_version v, bool *ret, struct cni_err *ce);

#endif
