/* SPDX-License-Identifier: Apache-2.0 */
/* Blocking client of the agent API, used by kbnet-cni, agentctl and the tests. */
#ifndef KB_API_CLIENT_H
#define KB_API_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"

struct apicl;

/*
 * Connect to the agent socket. Every later call shares one budget of `timeout_ms` counted from
 * here (-1: no limit), so a caller can promise the runtime it never hangs.
 * Errors: -ENOENT/-ECONNREFUSED (agent not running), -ETIMEDOUT, -ENAMETOOLONG, other -errno.
 */
int apicl_connect(const char *path, int timeout_ms, struct apicl **ret, struct kb_err *err);

/*
 * One request/reply. `args` may be NULL and is not stolen. On success *ret_result (if non-NULL)
 * holds a new reference to the reply's "result". On an error reply from the agent, returns the
 * agent's -errno with its message in err and apicl_remote_error() true; transport failures
 * return -errno with apicl_remote_error() false.
 */
int apicl_call(
        struct apicl *c, const char *op, json_t *args, json_t **ret_result, struct kb_err *err);

bool apicl_remote_error(const struct apicl *c);
void apicl_close(struct apicl *c);

#endif
