/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device-plugin module's messages (node-agent/agent/devplugin/README.md): the
 * `devicePluginStatus` member it adds to each pool object of `list pools`, typed and encoded
 * and decoded both ways. The devplugin module and agentctl use these.
 *
 * As in apimsg.h: decoders return -EPROTO with the field named in err and borrow the strings
 * of the json_t they came from.
 */
#ifndef KB_API_APIMSG_DP_H
#define KB_API_APIMSG_DP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define APIMSG_DP_STATUS_KEY "devicePlugin" /* the module's section of status */

/* A pool's device-plugin registration. Without a plugin serving it (module off, or it
 * failed) only `registered` (false) and `error` are sent: `serving` false. */
struct apimsg_dp_status {
	bool registered;
	const char *error; /* NULL when none (serving: sent as null) */
	bool serving;      /* the fields below are known */
	const char *endpoint, *resource_name;
	bool listening;
	int list_and_watch_streams;
	int64_t registrations, registration_failures;
	const char *last_registered; /* RFC 3339, NULL: never (sent as null, as ever) */
	struct {
		int64_t allocate, allocate_failed, preferred, updates, grpc_errors;
	} calls;
	struct {
		int64_t open, non_root, refused, refused_non_root, request_timeouts;
	} connections;
};
json_t *apimsg_dp_status_encode(const struct apimsg_dp_status *s);
int apimsg_dp_status_decode(json_t *o, struct apimsg_dp_status *ret, struct kb_err *err);

/* Set a pool object's devicePluginStatus. */
int apimsg_dp_pool_set_status(json_t *pool, const struct apimsg_dp_status *s);
/* The devicePluginStatus of a pool object: 0 and *present false when it has none. */
int apimsg_dp_pool_status(
        json_t *pool, struct apimsg_dp_status *ret, bool *present, struct kb_err *err);

#endif
