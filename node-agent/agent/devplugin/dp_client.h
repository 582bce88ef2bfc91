/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unary gRPC calls to kubelet (Registration.Register, PodResourcesLister.List) with libcurl:
 * HTTP/2 with prior knowledge over a Unix socket, driven by the agent's event loop through the
 * curl multi socket interface, so a slow or hung kubelet never blocks the loop. Each call has
 * a deadline; its outcome, including the grpc-status trailer, comes back in a callback.
 */
#ifndef KB_DP_CLIENT_H
#define KB_DP_CLIENT_H

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "common/err.h"

struct dp_rpc;

struct dp_rpc_result {
	/* 0 when an HTTP/2 response with a grpc-status came back, else -errno (transport). */
	int err;
	int grpc_status;   /* valid when err == 0 */
	char message[256]; /* grpc-message or the transport error */
	/* The decoded reply when grpc_status == 0 (freed after the callback returns). */
	ProtobufCMessage *reply;
};

typedef void (*dp_rpc_done_fn)(const struct dp_rpc_result *res, void *ctx);

int dp_client_init(struct event_base *base, struct kb_err *err);
/* Cancels every call in flight (their callbacks do not run). */
void dp_client_fini(void);

/*
 * Start `path` ("/v1beta1.Registration/Register") on the server at `socket_path`. The reply is
 * decoded with `reply_desc` and may be at most `max_reply` bytes. `done` runs exactly once,
 * from the event loop, unless the call is cancelled first. *ret (optional) is valid until
 * `done` runs or dp_rpc_cancel().
 */
int dp_rpc_start(const char *socket_path, const char *path, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *reply_desc, unsigned timeout_ms, size_t max_reply,
        dp_rpc_done_fn done, void *ctx, struct dp_rpc **ret, struct kb_err *err);
void dp_rpc_cancel(struct dp_rpc *rpc);

#endif
