/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_ident = "kbnet";
static enum log_format log_format = LOG_FMT_TEXT;

static const char *const level_names[] = {
        [LOG_LVL_ERR] = "error",
        [LOG_LVL_WARN] = "warn",
        [LOG_LVL_INFO] = "info",
        [LOG_LVL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

const char *log_level_name(enum log_level level)
{
	return level <= LOG_LVL_DEBUG ? level_names[level] : "?";
}

int log_level_parse(const char *name, enum log_level *ret)
{
	for (unsigned i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_format(enum log_format fmt)
{
	log_format = fmt;
}

int log_format_parse(const char *name, enum log_format *ret)
{
	if (!strcmp(name, "text"))
		*ret = LOG_FMT_TEXT;
	else if (!strcmp(name, "json"))
		*ret = LOG_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* s as the body of a JSON string (quotes, backslashes and control bytes escaped). */
static void json_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += snprintf(out + n, size - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char ts[32], line[1024];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so concurrent writers (DPDK lcores) do not interleave. */
	if (log_format == LOG_FMT_JSON) {
		char esc[sizeof(line) * 2];
		json_escape(line, esc, sizeof(esc));
		fprintf(stderr,
		        "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"logger\":\"%s\",\"msg\":\"%s\"}"
		        "\n",
		        ts, now.tv_nsec / 1000000, log_level_name(level), log_ident, esc);
	} else {
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", ts, now.tv_nsec / 1000000,
		        log_level_name(level), log_ident, line);
	}
	errno = saved;
}
