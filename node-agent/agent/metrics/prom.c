/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/metrics/prom.h"
#include "common/hmap.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_NAME_MAX 200

struct family {
	struct hmap_node node;
	char name[];
};

struct prom_writer {
	struct telemetry_sink sink; /* first: the sink pointer is the writer */
	struct evbuffer *out;
	char prefix[32];
	char current[PROM_NAME_MAX + 1]; /* family being written, "" before the first */
	struct hmap done;                /* families already closed */
	unsigned dropped;
};

bool prom_valid_metric_name(const char *s)
{
	if (!*s || strlen(s) > PROM_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha =
		        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool prom_valid_label_name(const char *s)
{
	if (!*s || strlen(s) > PROM_NAME_MAX || strncmp(s, "__", 2) == 0)
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void put_escaped(struct evbuffer *out, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;
		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (!rep)
			continue;
		evbuffer_add(out, run, s - run);
		evbuffer_add(out, rep, 2);
		run = s + 1;
	}
	evbuffer_add(out, run, s - run);
}

static void put_value(struct evbuffer *out, double v)
{
	if (isnan(v))
		evbuffer_add(out, "NaN", 3);
	else if (isinf(v))
		evbuffer_add_printf(out, "%sInf", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0) /* exact integers as such */
		evbuffer_add_printf(out, "%.0f", v);
	else {
		/* The shortest form that reads back as the same double. */
		char buf[32];
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		evbuffer_add(out, buf, strlen(buf));
	}
}

static bool labels_valid(const struct telemetry_label *labels)
{
	for (const struct telemetry_label *l = labels; l && l->name; l++)
		if (!prom_valid_label_name(l->name) || !l->value || strcmp(l->name, "le") == 0)
			return false;
	return true;
}

/* "{a="x",b="y"}" plus an optional trailing le label; nothing when there are no labels. */
static void put_labels(struct evbuffer *out, const struct telemetry_label *labels, const char *le)
{
	bool any = false;

	for (const struct telemetry_label *l = labels; l && l->name; l++) {
		evbuffer_add_printf(out, "%s%s=\"", any ? "," : "{", l->name);
		put_escaped(out, l->value, true);
		evbuffer_add(out, "\"", 1);
		any = true;
	}
	if (le) {
		evbuffer_add_printf(out, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		evbuffer_add(out, "}", 1);
}

static struct family *family_find(struct prom_writer *w, const char *name)
{
	struct family *f;

	HMAP_FOR_EACH_WITH_HASH (f, node, hash_str(name, 0), &w->done)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/*
 * Start (or continue) the family `name`. The format wants one group per family, so a family
 * that comes back after another one was written is refused rather than split.
 */
static bool family_begin(
        struct prom_writer *w, const char *name, const char *type, const char *help)
{
	char full[sizeof(w->prefix) + PROM_NAME_MAX + 1];
	struct family *f;
	size_t len;

	snprintf(full, sizeof(full), "%s%s", w->prefix, name);
	if (!prom_valid_metric_name(name) || !prom_valid_metric_name(full))
		return false;
	if (strcmp(w->current, full) == 0)
		return true;
	if (family_find(w, full))
		return false;
	if (w->current[0]) {
		len = strlen(w->current);
		if (!(f = malloc(sizeof(*f) + len + 1)))
			return false;
		memcpy(f->name, w->current, len + 1);
		hmap_insert(&w->done, &f->node, hash_str(f->name, 0));
	}
	memcpy(w->current, full, strlen(full) + 1); /* validated: at most PROM_NAME_MAX */
	if (help && *help) {
		evbuffer_add_printf(w->out, "# HELP %s ", full);
		put_escaped(w->out, help, false);
		evbuffer_add(w->out, "\n", 1);
	}
	evbuffer_add_printf(w->out, "# TYPE %s %s\n", full, type);
	return true;
}

static void emit(struct telemetry_sink *sink, enum telemetry_type type, const char *name,
        const char *help, const struct telemetry_label *labels, double value)
{
	struct prom_writer *w = (struct prom_writer *)sink;

	if (!labels_valid(labels) ||
	        !family_begin(w, name, type == TELEMETRY_COUNTER ? "counter" : "gauge", help)) {
		w->dropped++;
		return;
	}
	evbuffer_add(w->out, w->current, strlen(w->current));
	put_labels(w->out, labels, NULL);
	evbuffer_add(w->out, " ", 1);
	put_value(w->out, value);
	evbuffer_add(w->out, "\n", 1);
}

static void emit_histogram(struct telemetry_sink *sink, const char *name, const char *help,
        const struct telemetry_label *labels, const double *bounds,
        const unsigned long long *cumulative, unsigned n_bounds, unsigned long long count,
        double sum)
{
	struct prom_writer *w = (struct prom_writer *)sink;
	char le[64];

	if (!labels_valid(labels) || !family_begin(w, name, "histogram", help)) {
		w->dropped++;
		return;
	}
	for (unsigned i = 0; i < n_bounds; i++) {
		snprintf(le, sizeof(le), "%g", bounds[i]);
		evbuffer_add_printf(w->out, "%s_bucket", w->current);
		put_labels(w->out, labels, le);
		evbuffer_add_printf(w->out, " %llu\n", cumulative[i]);
	}
	evbuffer_add_printf(w->out, "%s_bucket", w->current);
	put_labels(w->out, labels, "+Inf");
	evbuffer_add_printf(w->out, " %llu\n%s_sum", count, w->current);
	put_labels(w->out, labels, NULL);
	evbuffer_add(w->out, " ", 1);
	put_value(w->out, sum);
	evbuffer_add_printf(w->out, "\n%s_count", w->current);
	put_labels(w->out, labels, NULL);
	evbuffer_add_printf(w->out, " %llu\n", count);
}

struct prom_writer *prom_writer_new(struct evbuffer *out, const char *prefix)
{
	struct prom_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if (strlen(prefix) >= sizeof(w->prefix)) {
		free(w);
		return NULL;
	}
	strcpy(w->prefix, prefix);
	w->out = out;
	hmap_init(&w->done);
	w->sink.emit = emit;
	w->sink.emit_histogram = emit_histogram;
	w->sink.ctx = w;
	return w;
}

struct telemetry_sink *prom_writer_sink(struct prom_writer *w)
{
	return &w->sink;
}

unsigned prom_writer_dropped(const struct prom_writer *w)
{
	return w->dropped;
}

void prom_writer_free(struct prom_writer *w)
{
	struct family *f;

	if (!w)
		return;
	HMAP_FOR_EACH_SAFE (f, node, &w->done) {
		hmap_remove(&w->done, &f->node);
		free(f);
	}
	hmap_destroy(&w->done);
	free(w);
}
