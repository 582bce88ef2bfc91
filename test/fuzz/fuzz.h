/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the libFuzzer targets (test/fuzz/README.md). */
#ifndef KB_FUZZ_H
#define KB_FUZZ_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input as a malloc'd NUL-terminated string (embedded NULs stay: parsers see a prefix). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split off the next '\n'-terminated line of *data (without the '\n'); the whole rest when
 * there is no newline. Returns a malloc'd NUL-terminated copy. */
static inline char *fuzz_next_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t n = nl ? (size_t)(nl - *data) : *size;
	char *s = fuzz_strndup(*data, n);

	*data += nl ? n + 1 : n;
	*size -= nl ? n + 1 : n;
	return s;
}

/* Split at the first occurrence of `sep` (not included in either part): returns the length of
 * the first part, rest and rest_size the second (size 0 when sep is absent). */
static inline size_t fuzz_split(
        const uint8_t *data, size_t size, const char *sep, const uint8_t **rest, size_t *rest_size)
{
	const uint8_t *p = memmem(data, size, sep, strlen(sep));

	if (!p) {
		*rest = data + size;
		*rest_size = 0;
		return size;
	}
	*rest = p + strlen(sep);
	*rest_size = size - (size_t)(*rest - data);
	return (size_t)(p - data);
}

#endif
