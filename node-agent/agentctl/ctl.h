/* SPDX-License-Identifier: Apache-2.0 */
/* agentctl: subcommands register themselves; each talks to the agent through api/client. */
#ifndef KB_CTL_H
#define KB_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/queue.h"

#include "api/apimsg.h"

/* Exit codes. */
#define CTL_EXIT_OK          0
#define CTL_EXIT_ERROR       1 /* the agent refused or failed the request */
#define CTL_EXIT_USAGE       2
#define CTL_EXIT_UNREACHABLE 3 /* no agent on the socket */

struct ctl {
	const char *socket;
	int timeout_ms;
	bool json;
};

struct ctl_cmd {
	const char *name;
	const char *args; /* usage after the name, "" if none */
	const char *help;
	int (*fn)(struct ctl *ctl, int argc, char **argv); /* argv[0] is the command */
	STAILQ_ENTRY(ctl_cmd) next;
};

void ctl_cmd_register(struct ctl_cmd *cmd);
#define CTL_CMD_REGISTER(cmd)                                             \
	static void __attribute__((constructor)) ctl_register_##cmd(void) \
	{                                                                 \
		ctl_cmd_register(&(cmd));                                 \
	}

/* One request; prints the error and returns an exit code when it fails. */
int ctl_call(struct ctl *ctl, const char *op, json_t *args, json_t **ret);
/* The list operation: CTL_EXIT_* with the reply in *ret_res and its items array in *ret_items. */
int ctl_list(
        struct ctl *ctl, const struct apimsg_list_args *in, json_t **ret_res, json_t **ret_items);
/* Print a result as indented JSON. */
void ctl_print_json(json_t *v);

/* A text table with aligned columns. */
struct table;
struct table *table_new(const char *const *headers);
/* Add one row of ncols strings (NULL prints "-"). */
void table_row(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

/* Helpers for cells. */
const char *jstr(json_t *obj, const char *key); /* NULL when absent */
/* "3m12s"-style age of an RFC 3339 timestamp. */
void fmt_age(const char *rfc3339, char *buf, size_t size);

#endif
