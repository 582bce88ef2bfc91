/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging for the daemons (never called from library modules). */
#ifndef KB_LOG_H
#define KB_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Returns -EINVAL for an unknown name. */
int log_level_parse(const char *name, enum log_level *ret);
const char *log_level_name(enum log_level level);
void log_set_ident(const char *ident);

/* Text ("<time> <level> <ident>: <message>") or JSON, one object per line: {"ts", "level",
 * "logger", "msg"} (for log pipelines that parse lines). */
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };
void log_set_format(enum log_format fmt);
/* "text" or "json"; -EINVAL otherwise. */
int log_format_parse(const char *name, enum log_format *ret);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_ERR(...)  log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...)                                       \
	do {                                                 \
		if (log_get_level() >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
