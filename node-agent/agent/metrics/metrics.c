/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/metrics/metrics.h"
#include "agent/loop.h"
#include "agent/metrics/httpd.h"
#include "agent/metrics/prom.h"
#include "agent/module.h"
#include "agent/ops.h"
#include "agent/telemetry.h"
#include "common/log.h"
#include "common/str.h"
#include "api/apimsg_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scrapes and probes send no body and few headers: anything larger is not ours. */
#define HTTP_MAX_HEADERS 8192

static struct {
	struct httpd *http;
	struct metrics_cfg cfg; /* what is bound now */
	uint64_t scrapes, dropped;
} m;

/* ---- configuration ---- */

static void *cfg_parse(const struct cfg_node *node, struct kb_err *err)
{
	static const char *const keys[] = {
	        "enabled", "address", "port", "maxConnections", "requestTimeoutMs", NULL};
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
	c->max_connections = METRICS_DEFAULT_MAX_CONNECTIONS;
	c->request_timeout_ms = METRICS_DEFAULT_REQUEST_TIMEOUT_MS;
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
	if (cfg_opt_uint(node, "port", 0, 65535, &port, err) < 0 ||
	        cfg_opt_uint(node, "maxConnections", 1, 4096, &c->max_connections, err) < 0 ||
	        cfg_opt_uint(node, "requestTimeoutMs", 100, 600000, &c->request_timeout_ms, err) <
	                0)
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

static int on_metrics(
        const struct httpd_req *req, struct evbuffer *body, const char **type, void *arg)
{
	unsigned dropped;

	(void)req;
	(void)arg;
	if ((dropped = metrics_render(body)))
		LOG_DEBUG("metrics: %u samples dropped (invalid names or split families)", dropped);
	*type = PROM_CONTENT_TYPE;
	return 200;
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

/*
 * Any local process may ask: answer health only, never the status object (paths, the API
 * server's URL, configuration); that stays on the root-owned API socket. Liveness names the
 * modules that report themselves unhealthy; readiness says why not ready.
 */
static int on_health(
        const struct httpd_req *req, struct evbuffer *body, const char **type, void *arg)
{
	bool readiness = arg != NULL;
	json_t *st, *r = NULL, *bad;
	const char *why = "", *key;
	char *js;
	json_t *v;
	bool ok;

	(void)req;
	*type = "application/json";
	if (!(st = ops_status()))
		return 500;
	ok = readiness ? is_ready(st, &why) : json_is_true(json_object_get(st, "healthy"));
	if (readiness) {
		r = json_pack("{s:b, s:s}", "ready", ok, "reason", ok ? "" : why);
	} else if ((bad = json_array())) {
		json_object_foreach (st, key, v)
			if (json_is_object(v) && json_is_false(json_object_get(v, "healthy")))
				json_array_append_new(bad, json_string(key));
		r = json_pack("{s:b, s:o}", "healthy", ok, "unhealthy", bad);
	}
	json_decref(st);
	if (!r || !(js = json_dumps(r, JSON_COMPACT))) {
		json_decref(r);
		return 500;
	}
	evbuffer_add_printf(body, "%s\n", js);
	free(js);
	json_decref(r);
	return ok ? 200 : 503;
}

/* Liveness: this handler runs on the agent's loop, so answering it proves the loop turns.
 * It deliberately looks at no module: a failed uplink or fast path must not make kubelet
 * restart the agent (and take every device pool of the node down with it). */
static int on_live(const struct httpd_req *req, struct evbuffer *body, const char **type, void *arg)
{
	(void)req;
	(void)arg;
	*type = "application/json";
	evbuffer_add_printf(body, "{\"alive\":true}\n");
	return 200;
}

/* ---- listener ---- */

static const struct httpd_route routes[] = {
        {"/metrics", on_metrics, NULL},
        {"/livez", on_live, NULL},
        {"/healthz", on_health, NULL},
        {"/readyz", on_health, (void *)1},
        {NULL, NULL, NULL},
};

static void stop_listener(void)
{
	httpd_free(m.http);
	m.http = NULL;
}

static int start_listener(const struct metrics_cfg *c, struct kb_err *err)
{
	const struct httpd_limits lim = {
	        .max_conns = c->max_connections,
	        .timeout_ms = c->request_timeout_ms,
	        .max_header = HTTP_MAX_HEADERS,
	};
	struct httpd *http;
	int r;

	if ((r = httpd_new(loop_base(), c->address, c->port, routes, &lim, &http, err)) < 0)
		return r;
	stop_listener();
	m.http = http;
	m.cfg = *c;
	LOG_INFO("metrics: serving /metrics, /livez, /healthz, /readyz on http://%s (at most %u "
	         "connections, %u ms per request)",
	        httpd_address(http), c->max_connections, c->request_timeout_ms);
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
	        (c->port == m.cfg.port || c->port == 0) &&
	        c->max_connections == m.cfg.max_connections &&
	        c->request_timeout_ms == m.cfg.request_timeout_ms)
		return 0;
	return start_listener(c, err);
}

static void metrics_fini(void)
{
	stop_listener();
}

int metrics_serve(int fd)
{
	if (!m.http) {
		close(fd);
		return -ENOTCONN;
	}
	return httpd_serve(m.http, fd);
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
	struct httpd_stats st = {0};

	if (m.http)
		httpd_get_stats(m.http, &st);
	return apimsg_metrics_status_encode(&(struct apimsg_metrics_status){
	        .enabled = m.http != NULL,
	        .address = m.http ? httpd_address(m.http) : "",
	        .scrapes = (int64_t)m.scrapes,
	        .connections = (int64_t)st.open,
	        .connections_total = (int64_t)st.conns,
	        .refused = (int64_t)st.refused,
	        .timeouts = (int64_t)st.timeouts,
	        .bad_requests = (int64_t)st.bad_requests,
	});
}

static struct status_hook metrics_status = {.key = APIMSG_STATUS_METRICS, .fn = status};
STATUS_HOOK_REGISTER(metrics_status)
