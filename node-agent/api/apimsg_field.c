/* SPDX-License-Identifier: Apache-2.0 */
#include "api/apimsg_field.h"

#include <errno.h>
#include <string.h>

/* A string field. Absent or null: NULL (an error when required). `valid` may be NULL. */
int apimsg_field_str(json_t *o, const char *key, bool required, size_t max, apimsg_valid_fn valid,
        int code, const char **ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);
	const char *why;

	*ret = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return kb_err_set(err, code, "'%s' is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return kb_err_set(err, code, "'%s' must be a string", key);
	if (json_string_length(v) > max)
		return kb_err_set(err, code, "'%s' is longer than %zu bytes", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return kb_err_set(err, code, "'%s' contains a NUL byte", key);
	if (valid && !valid(json_string_value(v), &why))
		return kb_err_set(err, code, "'%s': %s", key, why);
	*ret = json_string_value(v);
	return 0;
}

/* An integer field in [min, max]; absent or null leaves *ret alone. */
int apimsg_field_int(json_t *o, const char *key, bool required, json_int_t min, json_int_t max,
        int code, int64_t *ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (required)
			return kb_err_set(err, code, "'%s' is required", key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return kb_err_set(err, code, "'%s' must be an integer in [%lld, %lld]", key,
		        (long long)min, (long long)max);
	*ret = json_integer_value(v);
	return 0;
}

int apimsg_field_int32(json_t *o, const char *key, json_int_t min, json_int_t max, int code,
        int *ret, struct kb_err *err)
{
	int64_t v = *ret;
	int r = apimsg_field_int(o, key, false, min, max, code, &v, err);

	*ret = (int)v;
	return r;
}

int apimsg_field_bool(json_t *o, const char *key, int code, bool *ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	*ret = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return kb_err_set(err, code, "'%s' must be a boolean", key);
	*ret = json_is_true(v);
	return 0;
}

/* An optional object field; *ret NULL when absent. */
int apimsg_field_obj(json_t *o, const char *key, int code, json_t **ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return kb_err_set(err, code, "'%s' must be an object", key);
	*ret = v;
	return 0;
}

void apimsg_set_str(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, json_string(s));
}

int apimsg_field_u64(
        json_t *o, const char *key, bool required, int code, uint64_t *ret, struct kb_err *err)
{
	int64_t v = 0;
	int r = apimsg_field_int(o, key, required, 0, INT64_MAX, code, &v, err);

	if (r == 0 && json_object_get(o, key) && !json_is_null(json_object_get(o, key)))
		*ret = (uint64_t)v;
	return r;
}

int apimsg_field_num(json_t *o, const char *key, int code, double *ret, struct kb_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return kb_err_set(err, code, "'%s' must be a number", key);
	*ret = json_number_value(v);
	return 0;
}
