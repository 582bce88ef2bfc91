/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent API from a socket peer: length-prefixed frames (node-agent/api/frame.c, read the
 * way the agent reads them) and each frame's request through the server's dispatch and the
 * operations' argument decoding (agent/server.c, ops.c). Input: the bytes a client sends.
 * Each request is dispatched as an unprivileged peer and as root; the agent has its embedded
 * default configuration but no inventory, so a well-formed attach stops at the pool lookup and
 * nothing outside the process is touched. Every reply must decode with the client's decoder
 * (api/apimsg.c), and each frame is also fed to the client-side decoders of results (the
 * fast path's and the device plugin's too), as a reply from a hostile or older agent would be.
 */
#include "fuzz.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/ops.h"
#include "agent/server.h"
#include "api/api.h"
#include "api/apimsg.h"
#include "api/apimsg_dp.h"
#include "api/apimsg_fp.h"
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

/* The fast path's replies (agentctl ports, stats, status) and a pool's device-plugin status. */
static void fp_decoders(json_t *j)
{
	static struct apimsg_fp_port port;
	struct apimsg_fp_worker w;
	struct apimsg_fp_stats fs;
	static struct apimsg_fp_status fst;
	struct apimsg_dp_status dp;
	struct kb_err err = {0};
	json_t *items, *it;
	bool present;
	size_t i;

	if (apimsg_fp_ports_result_decode(j, &items, &err) == 0)
		json_array_foreach (items, i, it)
			apimsg_fp_port_decode(it, &port, &err);
	if (apimsg_fp_stats_decode(j, &fs, &err) == 0)
		json_array_foreach (fs.workers, i, it)
			apimsg_fp_worker_decode(it, &w, &err);
	apimsg_fp_status_decode(json_object_get(j, APIMSG_FP_STATUS_KEY), &fst, &err);
	apimsg_dp_pool_status(j, &dp, &present, &err);
}

/* The client's view of what a peer sent: nothing is trusted, nothing may crash. */
static void client_decoders(json_t *j)
{
	struct apimsg_attach_result ar;
	struct apimsg_detach_result dr;
	struct apimsg_status st;
	struct apimsg_alloc a;
	struct apimsg_ipam ipam;
	struct apimsg_pool p;
	struct apimsg_device d;
	struct apimsg_reply rp;
	struct kb_err err = {0};
	json_t *items;

	apimsg_reply_decode(j, &rp, &err);
	if (apimsg_attach_result_decode(j, &ar, &err) == 0)
		apimsg_ipam_decode(ar.alloc.ipam, &ipam, &err);
	apimsg_detach_result_decode(j, &dr, &err);
	apimsg_check_result_decode(j, &a, &err);
	apimsg_status_decode(j, &st, &err);
	for (int w = APIMSG_LIST_POOLS; w <= APIMSG_LIST_ALLOCATIONS; w++) {
		size_t i;
		json_t *it;
		if (apimsg_list_result_decode(j, w, &items, &err) < 0)
			continue;
		json_array_foreach (items, i, it) {
			apimsg_pool_decode(it, &p, &err);
			apimsg_device_decode(it, &d, &err);
			if (apimsg_alloc_decode(it, &a, &err) == 0)
				apimsg_ipam_decode(a.ipam, &ipam, &err);
		}
	}
	if (apimsg_gc_result_decode(j, &items, &err) == 0) {
		size_t i;
		json_t *it;
		json_array_foreach (items, i, it)
			apimsg_alloc_decode(it, &a, &err);
	}
	fp_decoders(j);
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
		struct apimsg_reply rp;
		struct kb_err err = {0};
		if (!js)
			abort(); /* every request gets a reply */
		if (apimsg_reply_decode(reply, &rp, &err) < 0) {
			fprintf(stderr, "the agent's reply does not decode: %s: %s\n", err.msg, js);
			abort();
		}
		free(js);
		json_decref(reply);
	}
	client_decoders(req);
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
