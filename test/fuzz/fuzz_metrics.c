/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics/health HTTP endpoint (agent/metrics/metrics.c on its own small server, httpd.c):
 * /metrics, /livez, /healthz, /readyz and everything else. Input: the bytes of one client
 * connection, then end of file. The agent runs its modules with only metrics enabled (127.0.0.1,
 * any port). Each input is one end of a socketpair handed to the running server as an accepted
 * connection (metrics_serve: what the listener does with each accept); a TCP connection per
 * input spent four fifths of the time in the kernel's connect/accept/close. One request over
 * TCP at start checks the listener itself. The server must answer with an HTTP/1.1 status line
 * (or nothing) and close the connection by itself after the client's end of file.
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
#include "agent/metrics/metrics.h"
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

/* One exchange: send data, end of file, turn the loop until the server closes. Returns
 * whether it closed; *reply gets the first bytes of the answer. */
static bool exchange(int fd, const uint8_t *data, size_t size, char *reply, size_t reply_size)
{
	size_t off = 0, got = 0;
	bool eof = false, closed = false;

	for (int rounds = 0; rounds < 20000 && !closed; rounds++) {
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
			size_t k = got < reply_size ? reply_size - got : 0;
			memcpy(reply + got, sink, (size_t)n < k ? (size_t)n : k);
			got += (size_t)n < k ? (size_t)n : k;
		}
		closed = n == 0 || (n < 0 && errno != EAGAIN);
	}
	return closed;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char livez[] = "GET /livez HTTP/1.1\r\n\r\n";
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct kb_err err = {0};
	struct cfg *cfg;
	const char *bound;
	char reply[16] = "";
	json_t *st;
	int fd;

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
	/* The listener: a real TCP connection gets its answer. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	        (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) ||
	        !exchange(
	                fd, (const uint8_t *)livez, sizeof(livez) - 1, reply, sizeof(reply) - 1) ||
	        strncmp(reply, "HTTP/1.1 200 ", 13) != 0) {
		fprintf(stderr, "no answer over TCP on %s: '%s'\n", bound, reply);
		abort();
	}
	close(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reply[10] = "";
	int p[2];

	if (size > 64 * 1024)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) < 0 ||
	        metrics_serve(p[0]) < 0)
		abort();
	if (!exchange(p[1], data, size, reply, sizeof(reply) - 1)) {
		fprintf(stderr, "connection still open after the client's end of file\n");
		abort();
	}
	if (reply[0] && strncmp(reply, "HTTP/1.1 ", 9) != 0) {
		fprintf(stderr, "answer without a status line: '%s'\n", reply);
		abort();
	}
	close(p[1]);
	return 0;
}
