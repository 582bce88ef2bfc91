/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Field readers and writers shared by the api codecs (apimsg, apimsg_fp, ...): each checks
 * one member of a JSON object and names it in err. `code` is the errno the caller's kind of
 * message fails with: EINVAL for requests and state records, EPROTO for replies.
 * Not part of the protocol: a helper of node-agent/api/ only.
 */
#ifndef KB_API_APIMSG_FIELD_H
#define KB_API_APIMSG_FIELD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef bool (*apimsg_valid_fn)(const char *, const char **);

/* A string field of at most `max` bytes, no NUL. Absent or null: NULL (an error when
 * required). `valid` may be NULL. */
int apimsg_field_str(json_t *o, const char *key, bool required, size_t max, apimsg_valid_fn valid,
        int code, const char **ret, struct kb_err *err);
/* An integer field in [min, max]; absent or null leaves *ret alone. */
int apimsg_field_int(json_t *o, const char *key, bool required, json_int_t min, json_int_t max,
        int code, int64_t *ret, struct kb_err *err);
/* The same into an int (optional). */
int apimsg_field_int32(json_t *o, const char *key, json_int_t min, json_int_t max, int code,
        int *ret, struct kb_err *err);
/* A counter: an integer in [0, INT64_MAX]; absent or null leaves *ret alone. */
int apimsg_field_u64(
        json_t *o, const char *key, bool required, int code, uint64_t *ret, struct kb_err *err);
/* A number (integer or real); absent or null leaves *ret alone. */
int apimsg_field_num(json_t *o, const char *key, int code, double *ret, struct kb_err *err);
/* A boolean; absent or null: false. */
int apimsg_field_bool(json_t *o, const char *key, int code, bool *ret, struct kb_err *err);
/* An optional object field; *ret NULL when absent. */
int apimsg_field_obj(json_t *o, const char *key, int code, json_t **ret, struct kb_err *err);
/* Set `key` to the string s unless s is NULL. */
void apimsg_set_str(json_t *o, const char *key, const char *s);

#endif
