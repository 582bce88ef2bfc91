/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg_dp.h"
#include "api/apimsg_field.h"
#include "common/validate.h"

#include <errno.h>
#include <string.h>

#define TEXT_MAX 4096
#define KEY      "devicePluginStatus"

static const int C = EPROTO; /* replies */

json_t *apimsg_dp_status_encode(const struct apimsg_dp_status *s)
{
	if (!s->serving)
		return json_pack("{s:b, s:s?}", "registered", s->registered, "error", s->error);
	return json_pack("{s:b, s:s, s:s, s:b, s:i, s:I, s:I, s:s?, s:s?, s:{s:I, s:I, s:I, s:I, "
	                 "s:I}, s:{s:I, s:I, s:I, s:I, s:I}}",
	        "registered", s->registered, "endpoint", s->endpoint, "resourceName",
	        s->resource_name, "listening", s->listening, "listAndWatchStreams",
	        s->list_and_watch_streams, "registrations", (json_int_t)s->registrations,
	        "registrationFailures", (json_int_t)s->registration_failures, "lastRegistered",
	        s->last_registered, "error", s->error, "calls", "allocate",
	        (json_int_t)s->calls.allocate, "allocateFailed",
	        (json_int_t)s->calls.allocate_failed, "preferred", (json_int_t)s->calls.preferred,
	        "updates", (json_int_t)s->calls.updates, "grpcErrors",
	        (json_int_t)s->calls.grpc_errors, "connections", "open",
	        (json_int_t)s->connections.open, "nonRoot", (json_int_t)s->connections.non_root,
	        "refused", (json_int_t)s->connections.refused, "refusedNonRoot",
	        (json_int_t)s->connections.refused_non_root, "requestTimeouts",
	        (json_int_t)s->connections.request_timeouts);
}

static int counter(json_t *o, const char *key, int64_t *ret, struct kb_err *err)
{
	return apimsg_field_int(o, key, false, 0, INT64_MAX, C, ret, err);
}

int apimsg_dp_status_decode(json_t *o, struct apimsg_dp_status *ret, struct kb_err *err)
{
	json_t *calls, *conns;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return kb_err_set(err, C, "'%s' is not an object", KEY);
	if ((r = apimsg_field_bool(o, "registered", C, &ret->registered, err)) < 0 ||
	        (r = apimsg_field_str(o, "error", false, TEXT_MAX, NULL, C, &ret->error, err)) <
	                0 ||
	        (r = apimsg_field_str(
	                 o, "endpoint", false, VAL_PATH_MAX, NULL, C, &ret->endpoint, err)) < 0 ||
	        (r = apimsg_field_str(o, "resourceName", false, TEXT_MAX, NULL, C,
	                 &ret->resource_name, err)) < 0 ||
	        (r = apimsg_field_bool(o, "listening", C, &ret->listening, err)) < 0 ||
	        (r = apimsg_field_int32(o, "listAndWatchStreams", 0, INT32_MAX, C,
	                 &ret->list_and_watch_streams, err)) < 0 ||
	        (r = counter(o, "registrations", &ret->registrations, err)) < 0 ||
	        (r = counter(o, "registrationFailures", &ret->registration_failures, err)) < 0 ||
	        (r = apimsg_field_str(o, "lastRegistered", false, 64, NULL, C,
	                 &ret->last_registered, err)) < 0 ||
	        (r = apimsg_field_obj(o, "calls", C, &calls, err)) < 0 ||
	        (r = apimsg_field_obj(o, "connections", C, &conns, err)) < 0)
		return kb_err_prefix(err, KEY);
	ret->serving = ret->endpoint != NULL;
	if (calls && ((r = counter(calls, "allocate", &ret->calls.allocate, err)) < 0 ||
	                     (r = counter(calls, "allocateFailed", &ret->calls.allocate_failed,
	                              err)) < 0 ||
	                     (r = counter(calls, "preferred", &ret->calls.preferred, err)) < 0 ||
	                     (r = counter(calls, "updates", &ret->calls.updates, err)) < 0 ||
	                     (r = counter(calls, "grpcErrors", &ret->calls.grpc_errors, err)) < 0))
		return kb_err_prefix(err, KEY ".calls");
	if (conns && ((r = counter(conns, "open", &ret->connections.open, err)) < 0 ||
	                     (r = counter(conns, "nonRoot", &ret->connections.non_root, err)) < 0 ||
	                     (r = counter(conns, "refused", &ret->connections.refused, err)) < 0 ||
	                     (r = counter(conns, "refusedNonRoot",
	                              &ret->connections.refused_non_root, err)) < 0 ||
	                     (r = counter(conns, "requestTimeouts",
	                              &ret->connections.request_timeouts, err)) < 0))
		return kb_err_prefix(err, KEY ".connections");
	return 0;
}

int apimsg_dp_pool_set_status(json_t *pool, const struct apimsg_dp_status *s)
{
	json_t *o = apimsg_dp_status_encode(s);

	if (!o)
		return -ENOMEM;
	return json_object_set_new(pool, KEY, o) < 0 ? -ENOMEM : 0;
}

int apimsg_dp_pool_status(
        json_t *pool, struct apimsg_dp_status *ret, bool *present, struct kb_err *err)
{
	json_t *o = json_object_get(pool, KEY);

	memset(ret, 0, sizeof(*ret));
	*present = o && !json_is_null(o);
	if (!*present)
		return 0;
	return apimsg_dp_status_decode(o, ret, err);
}
