/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device plugins' gRPC server (agent/devplugin/dp_grpc.c: an nghttp2 server session, the
 * gRPC header, prefix and message checks, protobuf-c decoding of the request) fed the bytes
 * of one client connection. Input: what the client sends (HTTP/2 preface, frames), then end
 * of file. The server is the real one on a Unix socket in a temporary directory, with the
 * device plugin API's methods; the handlers answer like the plugin does (unary replies, a
 * ListAndWatch stream that stays open). After the client's end of file the connection must
 * close by itself: one that stays open would hold one of kubelet's slots forever.
 */
#include "fuzz.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/devplugin/dp_grpc.h"
#include "common/log.h"
#include "deviceplugin_v1beta1.pb-c.h"

#define FUZZ_MAX_INPUT (128 * 1024)

static struct event_base *base;
static struct dp_grpc_server *srv;
static char dir[64], path[128];

static void h_options(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	V1beta1__DevicePluginOptions o = V1BETA1__DEVICE_PLUGIN_OPTIONS__INIT;

	(void)req;
	(void)ctx;
	o.get_preferred_allocation_available = true;
	dp_grpc_reply(call, &o.base);
}

static void h_list(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	V1beta1__ListAndWatchResponse r = V1BETA1__LIST_AND_WATCH_RESPONSE__INIT;
	V1beta1__Device d[2] = {V1BETA1__DEVICE__INIT, V1BETA1__DEVICE__INIT},
	                *dp[2] = {&d[0], &d[1]};

	(void)req;
	(void)ctx;
	d[0].id = "vu-0";
	d[0].health = "Healthy";
	d[1].id = "vu-1";
	d[1].health = "Unhealthy";
	r.n_devices = 2;
	r.devices = dp;
	dp_grpc_send(call, &r.base, true);
	dp_grpc_send(call, &r.base, true);
}

static void h_preferred(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	const V1beta1__PreferredAllocationRequest *q = (const void *)req;
	V1beta1__PreferredAllocationResponse r = V1BETA1__PREFERRED_ALLOCATION_RESPONSE__INIT;
	V1beta1__ContainerPreferredAllocationResponse *cr[8], c[8];

	(void)ctx;
	for (size_t i = 0; i < q->n_container_requests && i < 8; i++) {
		const V1beta1__ContainerPreferredAllocationRequest *cq = q->container_requests[i];
		v1beta1__container_preferred_allocation_response__init(&c[i]);
		c[i].n_deviceids = cq->allocation_size >= 0 && (size_t)cq->allocation_size <
		                                                       cq->n_available_deviceids
		                           ? (size_t)cq->allocation_size
		                           : cq->n_available_deviceids;
		c[i].deviceids = cq->available_deviceids;
		cr[i] = &c[i];
		r.n_container_responses++;
	}
	r.container_responses = cr;
	dp_grpc_reply(call, &r.base);
}

static void h_allocate(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	const V1beta1__AllocateRequest *q = (const void *)req;
	V1beta1__AllocateResponse r = V1BETA1__ALLOCATE_RESPONSE__INIT;
	V1beta1__ContainerAllocateResponse *cr[8], c[8];
	size_t ids = 0;

	(void)ctx;
	for (size_t i = 0; i < q->n_container_requests; i++)
		for (size_t j = 0; j < q->container_requests[i]->n_devices_ids; j++)
			ids += strlen(q->container_requests[i]->devices_ids[j]);
	if (q->n_container_requests > 8) {
		dp_grpc_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%zu containers (%zu id bytes)",
		        q->n_container_requests, ids);
		return;
	}
	for (size_t i = 0; i < q->n_container_requests; i++) {
		v1beta1__container_allocate_response__init(&c[i]);
		cr[i] = &c[i];
	}
	r.n_container_responses = q->n_container_requests;
	r.container_responses = cr;
	dp_grpc_reply(call, &r.base);
}

static void h_prestart(struct dp_grpc_call *call, const ProtobufCMessage *req, void *ctx)
{
	V1beta1__PreStartContainerResponse r = V1BETA1__PRE_START_CONTAINER_RESPONSE__INIT;

	(void)req;
	(void)ctx;
	dp_grpc_reply(call, &r.base);
}

static const struct dp_grpc_method methods[] = {
        {"/v1beta1.DevicePlugin/GetDevicePluginOptions", &v1beta1__empty__descriptor, false,
                h_options},
        {"/v1beta1.DevicePlugin/ListAndWatch", &v1beta1__empty__descriptor, true, h_list},
        {"/v1beta1.DevicePlugin/GetPreferredAllocation",
                &v1beta1__preferred_allocation_request__descriptor, false, h_preferred},
        {"/v1beta1.DevicePlugin/Allocate", &v1beta1__allocate_request__descriptor, false,
                h_allocate},
        {"/v1beta1.DevicePlugin/PreStartContainer",
                &v1beta1__pre_start_container_request__descriptor, false, h_prestart},
};

static void remove_dir(void)
{
	dp_grpc_server_free(srv);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dp_grpc_limits lim = {.max_conns = 4, .max_streams = 16, .max_msg = 16384};
	struct kb_err err = {0};

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	snprintf(dir, sizeof(dir), "/tmp/kbnet-fuzz-grpc.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/dp.sock", dir);
	if (!(base = event_base_new()) ||
	        dp_grpc_server_new(base, path, methods, sizeof(methods) / sizeof(methods[0]), NULL,
	                &lim, &srv, &err) < 0) {
		fprintf(stderr, "grpc server: %s\n", err.msg);
		abort();
	}
	atexit(remove_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct dp_grpc_stats st0, st;
	size_t off = 0;
	bool eof = false;
	int fd, rounds;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	dp_grpc_server_stats(srv, &st0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	for (rounds = 0; rounds < 10000; rounds++) {
		uint8_t sink[65536];
		ssize_t n;

		if (off < size) {
			n = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += n;
		}
		if (off == size && !eof) {
			shutdown(fd, SHUT_WR);
			eof = true;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		while ((n = recv(fd, sink, sizeof(sink), 0)) > 0) {
		}
		dp_grpc_server_stats(srv, &st);
		if (eof && st.conns_accepted > st0.conns_accepted && st.conns_open == 0 && n == 0)
			break;
		if (n < 0 && errno != EAGAIN)
			break; /* reset by the server: closed */
	}
	close(fd);
	dp_grpc_server_stats(srv, &st);
	if (rounds == 10000 || st.conns_open) {
		/* Give it a last chance to see the close, then call it a finding. */
		for (int i = 0; i < 100 && st.conns_open; i++) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			dp_grpc_server_stats(srv, &st);
		}
		if (st.conns_open) {
			fprintf(stderr, "connection still open after the client's end of file\n");
			abort();
		}
	}
	return 0;
}
