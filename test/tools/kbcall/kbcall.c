/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbcall: send one request to the agent and print the reply's result as JSON.
 *   kbcall SOCKET OP ['{"args": ...}']
 * Exit 0 with the result on stdout; exit 1 with {"code": "EBUSY", "message": ...} on stdout
 * when the agent refuses; exit 2 on a usage or transport error (message on stderr).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/client.h"

int main(int argc, char **argv)
{
	json_t *args = NULL, *res = NULL;
	struct kb_err err = {0};
	struct apicl *c;
	json_error_t je;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: kbcall SOCKET OP [ARGS-JSON]\n");
		return 2;
	}
	if (argc == 4 && !(args = json_loads(argv[3], 0, &je))) {
		fprintf(stderr, "kbcall: bad JSON: %s\n", je.text);
		return 2;
	}
	if (apicl_connect(argv[1], 30000, &c, &err) < 0) {
		fprintf(stderr, "kbcall: %s\n", err.msg);
		json_decref(args);
		return 2;
	}
	r = apicl_call(c, argv[2], args, &res, &err);
	if (r < 0 && !apicl_remote_error(c)) {
		fprintf(stderr, "kbcall: %s\n", err.msg);
		r = 2;
	} else if (r < 0) {
		json_t *e = json_pack("{s:s, s:s}", "code", kb_errno_name(-r), "message", err.msg);
		json_dumpf(e, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(e);
		r = 1;
	} else {
		json_dumpf(res ? res : json_null(), stdout, JSON_COMPACT | JSON_ENCODE_ANY);
		putchar('\n');
		r = 0;
	}
	json_decref(res);
	json_decref(args);
	apicl_close(c);
	return r;
}
