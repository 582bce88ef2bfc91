/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent API from a socket peer: length-prefixed frames (node-agent/api/frame.c, read the
 * way the agent reads them) and each frame's request through the server's dispatch and the
 * operations' argument decoding (agent/server.c, ops.c). Input: the bytes a client sends.
 * Each request is dispatched as an unprivileged peer and as root; the agent has its embedded
 * default configuration but no inventory, so a well-formed attach stops at the pool lookup and
 * nothing outside the process is touched.
 */
#include "fuzz.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/ops.h"
#include "agent/server.h"
#include "api/api.h"
#include "api/frame.h"
#include "common/log.h"

#define FUZZ_MAX_INPUT (64 * 1024)
#define MAX_FRAME      (16 * 1024) /* smaller than the agent's: the too-long path is reached */

static struct cfg *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kb_err err = {0};

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	if (cfg_load_string(cfg_default_yaml, "<embedded>", &cfg, &err) < 0) {
		fprintf(stderr, "default config: %s\n", err.msg);
		abort();
	}
	ops_init(cfg, NULL);
	return 0;
}

static void dispatch(const char *body, size_t len)
{
	static const uid_t uids[] = {1000, 0};
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);

	if (!req)
		return;
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		bool changed;
		json_t *reply = srv_dispatch(req, uids[i], 1, &changed);
		char *js = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
		if (!js)
			abort(); /* every request gets a reply */
		free(js);
		json_decref(reply);
	}
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int p[2];

	if (size > FUZZ_MAX_INPUT || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return 0;
	/* The whole input fits in the socket buffers: one write, then end of file. */
	if (write(p[1], data, size) != (ssize_t)size) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	close(p[1]);
	for (;;) {
		char *body = NULL;
		size_t len = 0;
		int r = frame_recv(p[0], MAX_FRAME, &body, &len, frame_now_ms() + 1000);
		if (r < 0) {
			if (r != -ECONNRESET && r != -EMSGSIZE) {
				fprintf(stderr, "frame_recv: %s\n", strerror(-r));
				abort();
			}
			break;
		}
		if (!body || body[len] != '\0')
			abort();
		dispatch(body, len);
		free(body);
	}
	close(p[0]);
	return 0;
}
