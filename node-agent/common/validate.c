/* SPDX-License-Identifier: Apache-2.0 */
#include "common/validate.h"

#include <ctype.h>
#include <string.h>

static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

/* Generic check: first char alnum, the rest alnum or one of `extra`, length 1..max. */
static bool check_charset(const char *s, size_t max, const char *extra, const char **why)
{
	size_t n;

	if (!s || !*s)
		return fail(why, "must not be empty");
	n = strlen(s);
	if (n > max)
		return fail(why, "too long");
	if (!isalnum((unsigned char)s[0]))
		return fail(why, "must start with a letter or digit");
	for (size_t i = 1; i < n; i++) {
		unsigned char c = s[i];
		if (!isalnum(c) && !strchr(extra, c))
			return fail(why, "contains a character that is not allowed");
	}
	return true;
}

bool val_container_id(const char *s, const char **why)
{
	return check_charset(s, VAL_CONTAINER_ID_MAX, "_.-", why);
}

bool val_ifname(const char *s, const char **why)
{
	size_t n;

	if (!s || !*s)
		return fail(why, "must not be empty");
	n = strlen(s);
	if (n > VAL_IFNAME_MAX)
		return fail(why, "longer than 15 characters");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return fail(why, "must not be '.' or '..'");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c == '/' || c == ':' || isspace(c) || !isprint(c))
			return fail(
			        why, "must not contain '/', ':', whitespace or control characters");
	}
	return true;
}

bool val_pod_uid(const char *s, const char **why)
{
	return check_charset(s, VAL_POD_UID_MAX, "-", why);
}

bool val_name(const char *s, const char **why)
{
	return check_charset(s, VAL_NAME_MAX, "_.-", why);
}

bool val_network(const char *s, const char **why)
{
	return check_charset(s, VAL_NETWORK_MAX, "_.-", why);
}

bool val_device_id(const char *s, const char **why)
{
	return check_charset(s, VAL_DEVICE_ID_MAX, ":_.-", why);
}

static bool check_dns(const char *s, size_t max, bool dots, const char **why)
{
	size_t n;

	if (!s || !*s)
		return fail(why, "must not be empty");
	n = strlen(s);
	if (n > max)
		return fail(why, "too long");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (!(islower(c) || isdigit(c) || c == '-' || (dots && c == '.')))
			return fail(why, "must be lower-case letters, digits, '-' or '.'");
	}
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return fail(why, "must start and end with a letter or digit");
	/* DNS-1123: each dot-separated label starts and ends alphanumeric (no "a..b", "a.-b"). */
	for (size_t i = 1; i < n; i++)
		if (s[i] == '.' &&
		        (!isalnum((unsigned char)s[i - 1]) || !isalnum((unsigned char)s[i + 1])))
			return fail(why, "each '.'-separated part must start and end with a letter "
			                 "or digit");
	return true;
}

bool val_k8s_namespace(const char *s, const char **why)
{
	return check_dns(s, VAL_K8S_NAMESPACE_MAX, false, why);
}

bool val_k8s_name(const char *s, const char **why)
{
	return check_dns(s, VAL_K8S_NAME_MAX, true, why);
}

bool val_abs_path(const char *s, const char **why)
{
	size_t n;

	if (!s || s[0] != '/')
		return fail(why, "must be an absolute path");
	n = strlen(s);
	if (n > VAL_PATH_MAX)
		return fail(why, "too long");
	for (size_t i = 0; i < n; i++) {
		if (iscntrl((unsigned char)s[i]))
			return fail(why, "contains control characters");
		if (s[i] == '.' && s[i + 1] == '.' && (i == 0 || s[i - 1] == '/') &&
		        (s[i + 2] == '/' || s[i + 2] == '\0'))
			return fail(why, "must not contain '..'");
	}
	return true;
}
