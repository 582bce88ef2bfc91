/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition format (version 0.0.4) as a telemetry sink. Sources emit samples
 * in any order they like within one metric family; the writer prints HELP and TYPE once per
 * family, escapes label values and drops what the format cannot carry (invalid names, a family
 * that reappears after another one), counting the drops so an exporter can report them.
 */
#ifndef KB_PROM_H
#define KB_PROM_H

#include <stdbool.h>

#include "agent/telemetry.h"

struct evbuffer;
struct prom_writer;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Write into `out` (not owned); every metric name gets `prefix` ("kbnet_"). */
struct prom_writer *prom_writer_new(struct evbuffer *out, const char *prefix);
struct telemetry_sink *prom_writer_sink(struct prom_writer *w);
/* Samples dropped so far (bad names, split families, allocation failures). */
unsigned prom_writer_dropped(const struct prom_writer *w);
void prom_writer_free(struct prom_writer *w);

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool prom_valid_metric_name(const char *s);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved) */
bool prom_valid_label_name(const char *s);

#endif
