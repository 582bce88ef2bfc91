/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: Prometheus text writer (prom.c), request accounting (reqstat.c), the metrics
 * configuration section and the /metrics renderer (metrics.c), the HTTP request parser
 * (httpd.c; its limits and deadline are exercised by test/integration/metrics_http.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/metrics/httpd.h"
#include "agent/metrics/metrics.h"
#include "agent/metrics/prom.h"
#include "agent/metrics/reqstat.h"

static char *drain(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

#define NOLABELS ((const struct telemetry_label[]){{NULL, NULL}})

static void test_gauges_and_escaping(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct prom_writer *w = prom_writer_new(b, "kb_");
	struct telemetry_sink *s = prom_writer_sink(w);
	char *out;

	(void)state;
	s->emit(s, TELEMETRY_GAUGE, "pool_capacity", "Devices in\nthe pool \\ all.",
	        (const struct telemetry_label[]){
	                {"pool", "vu"}, {"type", "virtio-user"}, {NULL, NULL}},
	        8);
	s->emit(s, TELEMETRY_GAUGE, "pool_capacity", "ignored the second time",
	        (const struct telemetry_label[]){{"pool", "a\"b\\c\nd"}, {NULL, NULL}}, 0.5);
	s->emit(s, TELEMETRY_COUNTER, "x_total", NULL, NOLABELS, NAN);
	s->emit(s, TELEMETRY_COUNTER, "y_total", "", NOLABELS, INFINITY);
	s->emit(s, TELEMETRY_GAUGE, "z", "big", NOLABELS, -12345678901.0);
	out = drain(b);
	assert_string_equal(out, "# HELP kb_pool_capacity Devices in\\nthe pool \\\\ all.\n"
	                         "# TYPE kb_pool_capacity gauge\n"
	                         "kb_pool_capacity{pool=\"vu\",type=\"virtio-user\"} 8\n"
	                         "kb_pool_capacity{pool=\"a\\\"b\\\\c\\nd\"} 0.5\n"
	                         "# TYPE kb_x_total counter\n"
	                         "kb_x_total NaN\n"
	                         "# TYPE kb_y_total counter\n"
	                         "kb_y_total +Inf\n"
	                         "# HELP kb_z big\n"
	                         "# TYPE kb_z gauge\n"
	                         "kb_z -12345678901\n");
	assert_int_equal(prom_writer_dropped(w), 0);
	free(out);
	prom_writer_free(w);
	evbuffer_free(b);
}

static void test_refused_samples(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct prom_writer *w = prom_writer_new(b, "kb_");
	struct telemetry_sink *s = prom_writer_sink(w);
	char *out;

	(void)state;
	s->emit(s, TELEMETRY_GAUGE, "a", "A", NOLABELS, 1);
	s->emit(s, TELEMETRY_GAUGE, "b", "B", NOLABELS, 2);
	s->emit(s, TELEMETRY_GAUGE, "a", "A", NOLABELS, 3);   /* split family */
	s->emit(s, TELEMETRY_GAUGE, "9bad", "", NOLABELS, 4); /* bad metric name */
	s->emit(s, TELEMETRY_GAUGE, "c", "",
	        (const struct telemetry_label[]){{"bad-label", "x"}, {NULL, NULL}}, 5);
	s->emit(s, TELEMETRY_GAUGE, "c", "",
	        (const struct telemetry_label[]){{"__name__", "x"}, {NULL, NULL}}, 6);
	s->emit(s, TELEMETRY_GAUGE, "c", "",
	        (const struct telemetry_label[]){{"le", "1"}, {NULL, NULL}}, 7);
	out = drain(b);
	assert_string_equal(out, "# HELP kb_a A\n# TYPE kb_a gauge\nkb_a 1\n"
	                         "# HELP kb_b B\n# TYPE kb_b gauge\nkb_b 2\n");
	assert_int_equal(prom_writer_dropped(w), 5);
	free(out);
	prom_writer_free(w);
	evbuffer_free(b);

	assert_true(prom_valid_metric_name("kbnet:rate_5m"));
	assert_false(prom_valid_metric_name(""));
	assert_false(prom_valid_metric_name("a-b"));
	assert_true(prom_valid_label_name("_x1"));
	assert_false(prom_valid_label_name("x:y"));
}

static void test_histogram(void **state)
{
	static const double bounds[] = {0.001, 0.5, 2};
	static const unsigned long long cum[] = {1, 3, 3};
	struct evbuffer *b = evbuffer_new();
	struct prom_writer *w = prom_writer_new(b, "kb_");
	struct telemetry_sink *s = prom_writer_sink(w);
	char *out;

	(void)state;
	s->emit_histogram(s, "lat_seconds", "Latency.",
	        (const struct telemetry_label[]){{"command", "ADD"}, {NULL, NULL}}, bounds, cum, 3,
	        4, 3.25);
	s->emit_histogram(s, "lat_seconds", "Latency.", NOLABELS, bounds, cum, 3, 3, 0.125);
	out = drain(b);
	assert_string_equal(out, "# HELP kb_lat_seconds Latency.\n"
	                         "# TYPE kb_lat_seconds histogram\n"
	                         "kb_lat_seconds_bucket{command=\"ADD\",le=\"0.001\"} 1\n"
	                         "kb_lat_seconds_bucket{command=\"ADD\",le=\"0.5\"} 3\n"
	                         "kb_lat_seconds_bucket{command=\"ADD\",le=\"2\"} 3\n"
	                         "kb_lat_seconds_bucket{command=\"ADD\",le=\"+Inf\"} 4\n"
	                         "kb_lat_seconds_sum{command=\"ADD\"} 3.25\n"
	                         "kb_lat_seconds_count{command=\"ADD\"} 4\n"
	                         "kb_lat_seconds_bucket{le=\"0.001\"} 1\n"
	                         "kb_lat_seconds_bucket{le=\"0.5\"} 3\n"
	                         "kb_lat_seconds_bucket{le=\"2\"} 3\n"
	                         "kb_lat_seconds_bucket{le=\"+Inf\"} 3\n"
	                         "kb_lat_seconds_sum 0.125\n"
	                         "kb_lat_seconds_count 3\n");
	free(out);
	prom_writer_free(w);
	evbuffer_free(b);
}

static void assert_has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
		p++;
	}
	fail_msg("line '%s' not in:\n%s", line, text);
}

static void test_reqstat(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *out;

	(void)state;
	reqstat_reset();
	reqstat_record("attach", 0, 80);            /* 80us: first bucket */
	reqstat_record("attach", 0, 3000);          /* 3ms: <= 0.005 */
	reqstat_record("attach", ENOSPC, 20000000); /* 20s: only +Inf */
	reqstat_record("detach", 0, 150);
	reqstat_record("list", 0, 10);
	reqstat_record("list", 9999, 10); /* out of range errno: "other" */
	metrics_render(b);
	out = drain(b);
	assert_has_line(out, "# TYPE kbnet_cni_requests_total counter");
	assert_has_line(out, "kbnet_cni_requests_total{command=\"ADD\",result=\"ok\"} 2");
	assert_has_line(out, "kbnet_cni_requests_total{command=\"ADD\",result=\"ENOSPC\"} 1");
	assert_has_line(out, "kbnet_cni_requests_total{command=\"DEL\",result=\"ok\"} 1");
	assert_has_line(out, "# TYPE kbnet_cni_request_duration_seconds histogram");
	assert_has_line(
	        out, "kbnet_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"0.0001\"} 1");
	assert_has_line(
	        out, "kbnet_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"0.0025\"} 1");
	assert_has_line(
	        out, "kbnet_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"0.005\"} 2");
	assert_has_line(
	        out, "kbnet_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"10\"} 2");
	assert_has_line(
	        out, "kbnet_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"+Inf\"} 3");
	assert_has_line(out, "kbnet_cni_request_duration_seconds_count{command=\"ADD\"} 3");
	assert_has_line(out, "kbnet_cni_request_duration_seconds_sum{command=\"ADD\"} 20.00308");
	assert_has_line(out, "kbnet_api_requests_total{op=\"list\",result=\"ok\"} 1");
	assert_has_line(out, "kbnet_api_requests_total{op=\"list\",result=\"other\"} 1");
	assert_has_line(out, "kbnet_api_requests_total{op=\"attach\",result=\"ENOSPC\"} 1");
	assert_null(strstr(out, "command=\"list\""));
	assert_has_line(out, "kbnet_allocations 0");
	assert_has_line(out, "kbnet_metrics_dropped_samples_total 0");
	free(out);

	/* Scrapes count themselves. */
	metrics_render(b);
	out = drain(b);
	assert_has_line(out, "kbnet_metrics_scrapes_total 2");
	free(out);
	reqstat_reset();
	evbuffer_free(b);
}

static void test_config(void **state)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	const struct metrics_cfg *m;

	(void)state;
	assert_int_equal(cfg_load_string("", "t.yaml", &cfg, &err), 0);
	m = metrics_cfg(cfg);
	assert_false(m->enabled);
	assert_string_equal(m->address, "127.0.0.1");
	assert_int_equal(m->port, METRICS_DEFAULT_PORT);
	assert_int_equal(m->max_connections, METRICS_DEFAULT_MAX_CONNECTIONS);
	assert_int_equal(m->request_timeout_ms, METRICS_DEFAULT_REQUEST_TIMEOUT_MS);
	cfg_free(cfg);

	assert_int_equal(cfg_load_string("metrics:\n  maxConnections: 3\n  requestTimeoutMs: 500\n",
	                         "t.yaml", &cfg, &err),
	        0);
	m = metrics_cfg(cfg);
	assert_int_equal(m->max_connections, 3);
	assert_int_equal(m->request_timeout_ms, 500);
	cfg_free(cfg);
	assert_true(cfg_load_string("metrics:\n  maxConnections: 0\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "maxConnections"));
	assert_true(cfg_load_string("metrics:\n  requestTimeoutMs: 0\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "requestTimeoutMs"));

	assert_int_equal(cfg_load_string("metrics:\n  enabled: true\n  address: '::1'\n  port: 0\n",
	                         "t.yaml", &cfg, &err),
	        0);
	m = metrics_cfg(cfg);
	assert_true(m->enabled);
	assert_string_equal(m->address, "::1");
	assert_int_equal(m->port, 0);
	cfg_free(cfg);

	assert_true(cfg_load_string("metrics:\n  address: localhost\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "t.yaml:2:12: address: 'localhost' is not a numeric"));
	assert_true(cfg_load_string("metrics:\n  port: 70000\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "port"));
	assert_true(cfg_load_string("metrics:\n  listen: x\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "listen: unknown key in metrics"));
	assert_true(cfg_load_string("metrics: 1\n", "t.yaml", &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "must be a mapping"));
}

static int parse(const char *s, struct httpd_req *req)
{
	return httpd_parse(s, strlen(s), req);
}

static void test_http_parse(void **state)
{
	static const char get[] = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
	struct httpd_req req;

	(void)state;
	assert_int_equal(parse(get, &req), (int)strlen(get));
	assert_string_equal(req.path, "/metrics");
	assert_false(req.head);
	/* Incomplete: every prefix of a request asks for more. */
	for (size_t i = 0; i < strlen(get); i++)
		assert_int_equal(httpd_parse(get, i, &req), 0);
	assert_int_equal(parse("HEAD /healthz HTTP/1.0\n\n", &req), 24);
	assert_true(req.head);
	assert_string_equal(req.path, "/healthz");
	/* What follows the head (a body, a pipelined request) is not part of it. */
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\nGET /x", &req), 18);

	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &req), -405);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &req), -505);
	assert_int_equal(parse("GET /metrics FTP/1.1\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &req), -400);
	assert_int_equal(parse("get /metrics HTTP/1.1\r\n\r\n", &req), -400);
	assert_int_equal(parse("\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &req), -400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA b: c\r\n\r\n", &req), -400);
	assert_int_equal(httpd_parse("GET /\0 HTTP/1.1\r\n\r\n", 19, &req), -400);

	char longp[HTTPD_PATH_MAX + 40];
	snprintf(longp, sizeof(longp), "GET /%0*d HTTP/1.1\r\n\r\n", HTTPD_PATH_MAX, 0);
	assert_int_equal(parse(longp, &req), -414);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_gauges_and_escaping),
	        cmocka_unit_test(test_refused_samples),
	        cmocka_unit_test(test_histogram),
	        cmocka_unit_test(test_reqstat),
	        cmocka_unit_test(test_config),
	        cmocka_unit_test(test_http_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
