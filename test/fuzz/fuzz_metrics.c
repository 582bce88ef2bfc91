/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics/health HTTP endpoint (agent/metrics/metrics.c on its own small server, httpd.c):
 * /metrics, /livez, /healthz, /readyz and everything else. Input: the bytes of one client
 * connection, then end of file. The agent runs its modules with only metrics enabled (127.0.0.1,
 * any port); the server must answer and close the connection by itself after the client's end of
 * file.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/loop.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "common/log.h"

static const char config[] = "apiSocket: /tmp/kbnet-fuzz-metrics/agent.sock\n"
                             "stateDir: /tmp/kbnet-fuzz-metrics/state\n"
                             "runDir: /tmp/kbnet-fuzz-metrics/run\n"
                             "fastpath: {enabled: false}\n"
                             "devicePlugin: {enabled: false}\n"
                             "kubernetes: {enabled: false}\n"
                             "metrics: {enabled: true, address: 127.0.0.1, port: 0}\n";
static struct sockaddr_in addr = {.sin_family = AF_INET};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kb_err err = {0};
	struct cfg *cfg;
	const char *bound;
	json_t *st;

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	if (loop_init(&err) < 0 || cfg_load_string(config, "<fuzz>", &cfg, &err) < 0 ||
	        (ops_init(cfg, NULL), modules_init(cfg, &err)) < 0) {
		fprintf(stderr, "agent: %s\n", err.msg);
		abort();
	}
	st = ops_status();
	bound = json_string_value(json_object_get(json_object_get(st, "metrics"), "address"));
	if (!bound || !strchr(bound, ':'))
		abort();
	addr.sin_port = htons(atoi(strrchr(bound, ':') + 1));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	json_decref(st);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	bool eof = false, closed = false;
	int fd, rounds;

	if (size > 64 * 1024)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	        (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS))
		abort();
	for (rounds = 0; rounds < 20000 && !closed; rounds++) {
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
		event_base_loop(loop_base(), EVLOOP_NONBLOCK);
		while ((n = recv(fd, sink, sizeof(sink), 0)) > 0) {
		}
		closed = n == 0 || (n < 0 && errno != EAGAIN);
	}
	close(fd);
	if (!closed) {
		fprintf(stderr, "connection still open after the client's end of file\n");
		abort();
	}
	return 0;
}
