/* SPDX-License-Identifier: Apache-2.0 */
#include "agentctl/ctl.h"

#include <stdlib.h>
#include <string.h>

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows+1 rows (headers first) of ncols */
	size_t *width;
};

struct table *table_new(const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	while (headers[t->ncols])
		t->ncols++;
	if (!(t->width = calloc(t->ncols, sizeof(*t->width)))) {
		free(t);
		return NULL;
	}
	table_row(t, headers);
	return t;
}

void table_row(struct table *t, const char *const *cells)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, ncap * t->ncols * sizeof(*nc));
		if (!nc)
			return;
		t->cells = nc;
		t->cap = ncap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = strdup(cells[i] && *cells[i] ? cells[i] : "-");
		t->cells[t->nrows * t->ncols + i] = s;
		if (s && strlen(s) > t->width[i])
			t->width[i] = strlen(s);
	}
	t->nrows++;
}

void table_print(struct table *t, FILE *f)
{
	if (!t)
		return;
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			if (i + 1 == t->ncols)
				fprintf(f, "%s\n", s ? s : "");
			else
				fprintf(f, "%-*s  ", (int)t->width[i], s ? s : "");
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
