/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded string helpers. */
#ifndef KB_STR_H
#define KB_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy src into dst[size]; -ENAMETOOLONG (dst holds "") when it does not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* snprintf that reports truncation: -ENAMETOOLONG when the result did not fit. */
int str_printf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool str_has_prefix(const char *s, const char *prefix);
/* Parse an unsigned decimal in [min, max]; the whole string must be a number. */
int str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

#endif
