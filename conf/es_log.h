/*
 * es_log.h - logging for edgespam's programs: syslog, or stderr when a
 * program runs in the foreground or from a terminal.
 *
 * Text that comes from a message (addresses, subjects, header values)
 * must pass through es_log_sanitize() first: it makes it printable and
 * cuts it, so hostile mail cannot forge log lines or flood the log.
 * Thread-safe once opened.
 */
#ifndef ES_LOG_H
#define ES_LOG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * es_log_open - log as ident to syslog facility (LOG_MAIL, ...), or to
 * stderr when to_stderr; messages above level (LOG_INFO, ...) are
 * dropped.
 */
void es_log_open(const char *ident, bool to_stderr, int facility, int level);
void es_log_close(void);
void es_log_set_level(int level);

void es_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void es_log_warning(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void es_log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void es_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void es_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * es_log_sanitize - copy at most len bytes of untrusted text into out
 * (outlen bytes, always terminated): bytes outside printable ASCII
 * become '?', and a cut is marked with "...". Returns out.
 */
char *es_log_sanitize(const char *in, size_t len, char *out, size_t outlen);

#endif
