/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A gRPC server (HTTP/2 cleartext, nghttp2) on a Unix socket, inside the agent's event loop.
 * Only what the kubelet device-plugin API needs: unary calls and server streams of protobuf-c
 * messages, no compression. Every malformed request ends in a gRPC status on its stream (or a
 * GOAWAY when the HTTP/2 framing itself is broken); nothing a peer sends can crash the agent or
 * make it buffer without bound.
 *
 * kubelet dials with grpc-go, which sends `:authority` set to the socket path; nghttp2's HTTP
 * messaging checks reject that, so they are off and this module checks `:method`, `:path` and
 * `content-type` itself.
 */
#ifndef KB_DP_GRPC_H
#define KB_DP_GRPC_H

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum dp_grpc_status {
	GRPC_STATUS_OK = 0,
	GRPC_STATUS_CANCELLED = 1,
	GRPC_STATUS_UNKNOWN = 2,
	GRPC_STATUS_INVALID_ARGUMENT = 3,
	GRPC_STATUS_NOT_FOUND = 5,
	GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
	GRPC_STATUS_FAILED_PRECONDITION = 9,
	GRPC_STATUS_UNIMPLEMENTED = 12,
	GRPC_STATUS_INTERNAL = 13,
	GRPC_STATUS_UNAVAILABLE = 14,
};

/* The 5-byte gRPC message prefix: compressed flag, then a big-endian length. */
#define DP_GRPC_PREFIX 5

struct dp_grpc_server;
struct dp_grpc_call;

struct dp_grpc_method {
	const char *path; /* "/v1beta1.DevicePlugin/Allocate" */
	const ProtobufCMessageDescriptor *input;
	bool server_stream;
	/*
	 * The decoded request (freed after the handler returns). A unary handler must end the call
	 * before returning, with dp_grpc_reply() or dp_grpc_fail(). A streaming handler may keep
	 * the call until dp_grpc_finish()/dp_grpc_fail() or until its close callback runs.
	 */
	void (*handler)(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx);
};

struct dp_grpc_limits {
	unsigned max_conns;   /* open connections on one socket */
	unsigned max_streams; /* concurrent streams per connection (SETTINGS) */
	size_t max_msg;       /* bytes of one request message */
	unsigned idle_ms;     /* close connections without streams after this long */
	/* A request (HEADERS to the client's END_STREAM) must be complete within this, else the
	 * connection is closed; a server stream (ListAndWatch) once its request is in is not
	 * limited. 0: no limit. */
	unsigned request_ms;
};

/* Counters for status and metrics. */
struct dp_grpc_stats {
	uint64_t conns_accepted, conns_refused, calls, calls_failed, protocol_errors;
	uint64_t conns_refused_nonroot, request_timeouts;
	unsigned conns_open, streams_open;
	unsigned conns_nonroot; /* open connections whose peer is not uid 0 */
};

/*
 * Listen on `path` (an existing file there is replaced). `methods` and `ctx` must outlive the
 * server; `ctx` is passed to every handler.
 */
int dp_grpc_server_new(struct event_base *base, const char *path,
        const struct dp_grpc_method *methods, size_t n_methods, void *ctx,
        const struct dp_grpc_limits *lim, struct dp_grpc_server **ret, struct kb_err *err);
/* Close every connection (open calls see their close callback), remove the socket if it is
 * still ours. */
void dp_grpc_server_free(struct dp_grpc_server *s);
/* Listen again on a fresh socket at the same path (someone removed ours); open connections
 * and streams are kept. */
int dp_grpc_server_relisten(struct dp_grpc_server *s, struct kb_err *err);
/* Whether the socket file at the path is still the one we listen on. */
bool dp_grpc_server_socket_ok(const struct dp_grpc_server *s);
const char *dp_grpc_server_path(const struct dp_grpc_server *s);
void dp_grpc_server_stats(const struct dp_grpc_server *s, struct dp_grpc_stats *ret);

/* End a unary call with its one response message and status OK. */
int dp_grpc_reply(struct dp_grpc_call *call, const ProtobufCMessage *msg);
/* End any call with a non-OK status; `fmt` becomes grpc-message. */
void dp_grpc_fail(struct dp_grpc_call *call, enum dp_grpc_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Server streams: queue one message. With `supersede`, a message queued earlier that has not
 * started to go out is replaced instead of kept (ListAndWatch sends whole lists, so a slow
 * reader only ever needs the newest one); memory per stream stays bounded either way.
 * -ENOBUFS when the peer is not reading and too much is queued.
 */
int dp_grpc_send(struct dp_grpc_call *call, const ProtobufCMessage *msg, bool supersede);
/* The same with a message packed once for many streams. */
int dp_grpc_send_packed(struct dp_grpc_call *call, const uint8_t *msg, size_t len, bool supersede);
/* End a server stream with status OK once queued messages are out. */
void dp_grpc_finish(struct dp_grpc_call *call);
/* Called once when the stream goes away (peer reset, connection closed, server freed, or the
 * call ended and was flushed). The call pointer is invalid afterwards. */
void dp_grpc_on_close(
        struct dp_grpc_call *call, void (*fn)(struct dp_grpc_call *call, void *arg), void *arg);
/* Credentials of the peer process (SO_PEERCRED). */
void dp_grpc_peer(const struct dp_grpc_call *call, pid_t *pid, uid_t *uid);

/* Percent-encode a grpc-message value (exposed for tests). */
size_t dp_grpc_pct_encode(const char *in, char *out, size_t size);

#endif
