/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/metrics/metrics.h"
#include "agent/loop.h"
#include "agent/metrics/prom.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/telemetry.h"
#include "common/log.h"
#include "common/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Scrapes and probes send no body and few headers: anything larger is not ours. */
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY    1024
#define HTTP_TIMEOUT_S   10

static struct {
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct metrics_cfg cfg; /* what is bound now */
	char bound_addr[80];    /* "127.0.0.1:9402" / "[::1]:9402" */
	uint64_t scrapes, dropped;
} m;

/* ---- configuration ---- */

static void *cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	static const char *const keys[] = {"enabled", "address", "port", NULL};
	struct metrics_cfg *c = calloc(1, sizeof(*c));
	unsigned char addr[sizeof(struct in6_addr)];
	struct cfg_node n;
	unsigned port = METRICS_DEFAULT_PORT;

	if (!c) {
		kb_err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	str_copy(c->address, sizeof(c->address), "127.0.0.1");
	c->port = METRICS_DEFAULT_PORT;
	if (!node)
		return c;
	if (cfg_map_check(node, "metrics", keys, err) < 0)
		goto fail;
	if (cfg_opt_bool(node, "enabled", &c->enabled, err) < 0 ||
	        cfg_opt_str(node, "address", c->address, sizeof(c->address), err) < 0)
		goto fail;
	/* Numeric only: a host name would need a blocking lookup on the agent's loop. */
	if (inet_pton(AF_INET, c->address, addr) != 1 &&
	        inet_pton(AF_INET6, c->address, addr) != 1) {
		cfg_map_get(node, "address", &n);
		cfg_node_error(&n, "address", err, "'%s' is not a numeric IPv4 or IPv6 address",
		        c->address);
		goto fail;
	}
	if (cfg_opt_uint(node, "port", 0, 65535, &port, err) < 0)
		goto fail;
	c->port = port;
	return c;
fail:
	free(c);
	return NULL;
}

static struct cfg_section metrics_section = {.key = "metrics", .parse = cfg_parse, .free = free};
CFG_SECTION_REGISTER(metrics_section)

const struct metrics_cfg *metrics_cfg(const struct cfg *cfg)
{
	return cfg_section_data(cfg, "metrics");
}

/* ---- handlers ---- */

unsigned metrics_render(struct evbuffer *out)
{
	struct prom_writer *w = prom_writer_new(out, "kbnet_");
	unsigned dropped;

	if (!w)
		return 1;
	telemetry_collect(prom_writer_sink(w));
	/* The exporter's own numbers, last so that they include this scrape. */
	m.scrapes++;
	prom_writer_sink(w)->emit(prom_writer_sink(w), TELEMETRY_COUNTER, "metrics_scrapes_total",
	        "Scrapes of /metrics served.", (const struct telemetry_label[]){{NULL, NULL}},
	        m.scrapes);
	prom_writer_sink(w)->emit(prom_writer_sink(w), TELEMETRY_COUNTER,
	        "metrics_dropped_samples_total",
	        "Samples sources emitted that the text format cannot carry (a bug in a source).",
	        (const struct telemetry_label[]){{NULL, NULL}}, m.dropped + prom_writer_dropped(w));
	dropped = prom_writer_dropped(w);
	m.dropped += dropped;
	prom_writer_free(w);
	return dropped;
}

static bool method_ok(struct evhttp_request *req)
{
	enum evhttp_cmd_type t = evhttp_request_get_command(req);

	if (t == EVHTTP_REQ_GET || t == EVHTTP_REQ_HEAD)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
	evhttp_send_error(req, 405, "Method Not Allowed");
	return false;
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type,
        struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body;
	unsigned dropped;

	(void)arg;
	if (!method_ok(req))
		return;
	if (!(body = evbuffer_new())) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	if ((dropped = metrics_render(body)))
		LOG_DEBUG("metrics: %u samples dropped (invalid names or split families)", dropped);
	reply(req, 200, "OK", PROM_CONTENT_TYPE, body);
	evbuffer_free(body);
}

/* The agent is ready when it is healthy, serves its API socket, and no module says "ready":
 * false (e.g. still restoring). Liveness (/livez) looks at nothing but the loop, so a slow start
 * never gets the container killed. */
static bool is_ready(json_t *st, const char **why)
{
	const char *sock = json_string_value(json_object_get(json_object_get(st, "api"), "socket"));
	const char *key;
	struct stat sb;
	json_t *v;

	if (!json_is_true(json_object_get(st, "healthy"))) {
		*why = "unhealthy";
		return false;
	}
	/* The socket file is what kbnet-cni needs; a cleaned-up /run would leave CNI stranded. */
	if (!sock || !*sock || stat(sock, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		*why = "API socket missing";
		return false;
	}
	json_object_foreach (st, key, v) {
		if (json_is_object(v) && json_is_false(json_object_get(v, "ready"))) {
			*why = key;
			return false;
		}
	}
	return true;
}

static void on_health(struct evhttp_request *req, void *arg)
{
	bool readiness = arg != NULL;
	json_t *st;
	struct evbuffer *body;
	const char *why = "";
	char *js;
	bool ok;

	if (!method_ok(req))
		return;
	if (!(st = ops_status()) || !(body = evbuffer_new())) {
		json_decref(st);
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	ok = readiness ? is_ready(st, &why) : json_is_true(json_object_get(st, "healthy"));
	if (readiness) {
		json_t *r = json_pack("{s:b, s:s}", "ready", ok, "reason", ok ? "" : why);
		json_decref(st);
		st = r;
	}
	if (st && (js = json_dumps(st, JSON_COMPACT))) {
		evbuffer_add_printf(body, "%s\n", js);
		free(js);
	}
	reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "application/json", body);
	evbuffer_free(body);
	json_decref(st);
}

/* Liveness: this callback runs on the agent's loop, so answering it proves the loop turns.
 * It deliberately looks at no module: a failed uplink or fast path must not make kubelet
 * restart the agent (and take every device pool of the node down with it). */
static void on_live(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body;

	(void)arg;
	if (!method_ok(req))
		return;
	if (!(body = evbuffer_new())) {
		evhttp_send_error(req, 500, "Internal Server Error");
		return;
	}
	evbuffer_add_printf(body, "{\"alive\":true}\n");
	reply(req, 200, "OK", "application/json", body);
	evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "Not Found");
}

/* ---- listener ---- */

static void format_bound(struct evhttp_bound_socket *b, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int fd = evhttp_bound_socket_get_fd(b);

	buf[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

static void stop_listener(void)
{
	if (m.http)
		evhttp_free(m.http);
	m.http = NULL;
	m.bound = NULL;
	m.bound_addr[0] = '\0';
}

static int start_listener(const struct metrics_cfg *c, struct kb_err *err)
{
	struct evhttp *http;
	struct evhttp_bound_socket *b;

	if (!(http = evhttp_new(loop_base())))
		return kb_err_set(err, ENOMEM, "out of memory");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_timeout(http, HTTP_TIMEOUT_S);
	evhttp_set_cb(http, "/metrics", on_metrics, NULL);
	evhttp_set_cb(http, "/livez", on_live, NULL);
	evhttp_set_cb(http, "/healthz", on_health, NULL);
	evhttp_set_cb(http, "/readyz", on_health, (void *)1);
	evhttp_set_gencb(http, on_other, NULL);
	if (!(b = evhttp_bind_socket_with_handle(http, c->address, c->port))) {
		int e = errno ? errno : EADDRINUSE;
		evhttp_free(http);
		return kb_err_set(err, e, "cannot listen on %s port %u: %s", c->address, c->port,
		        strerror(e));
	}
	stop_listener();
	m.http = http;
	m.bound = b;
	m.cfg = *c;
	format_bound(b, m.bound_addr, sizeof(m.bound_addr));
	LOG_INFO("metrics: serving /metrics, /livez, /healthz, /readyz on http://%s", m.bound_addr);
	return 0;
}

static int metrics_init(const struct cfg *cfg, struct kb_err *err)
{
	const struct metrics_cfg *c = metrics_cfg(cfg);

	if (!c->enabled)
		return 0;
	return start_listener(c, err);
}

/* Rebind only when the address changes; a failed rebind keeps the old listener. */
static int metrics_reload(const struct cfg *cfg, struct kb_err *err)
{
	const struct metrics_cfg *c = metrics_cfg(cfg);

	if (!c->enabled) {
		if (m.http)
			LOG_INFO("metrics: listener stopped");
		stop_listener();
		return 0;
	}
	if (m.http && strcmp(c->address, m.cfg.address) == 0 &&
	        (c->port == m.cfg.port || c->port == 0))
		return 0;
	return start_listener(c, err);
}

static void metrics_fini(void)
{
	stop_listener();
}

static struct agent_module metrics_module = {
        .name = "metrics",
        .order = 90, /* after the modules whose numbers it serves */
        .init = metrics_init,
        .reload = metrics_reload,
        .fini = metrics_fini,
};
MODULE_REGISTER(metrics_module)

static json_t *status(void)
{
	return json_pack("{s:b, s:s, s:I}", "enabled", m.http != NULL, "address", m.bound_addr,
	        "scrapes", (json_int_t)m.scrapes);
}

static struct status_hook metrics_status = {.key = "metrics", .fn = status};
STATUS_HOOK_REGISTER(metrics_status)
