/*
 * es_log.c - the one logging module of edgespam's programs.
 *
 * What it does: es_log_open() chooses the destination once: syslog(3)
 * (openlog with LOG_PID | LOG_NDELAY, so the socket is open before the
 * milter chroots or drops privileges) or standard error. Each message
 * below or at the configured level is formatted into one line and sent
 * whole: to syslog with one syslog() call, to stderr as
 * "ident[pid]: level: message\n" with one write(2), so lines of
 * concurrent threads never interleave. Before es_log_open() (and after
 * es_log_close()) messages go to stderr as "edgespam[pid]: ...".
 *
 * What it does not do: it does not sanitise arguments. Text that comes
 * from mail must pass through es_log_sanitize() first. As a second line
 * of defence every control byte of the formatted line (CR and LF
 * included) is written as '?', so no call can produce two log lines.
 *
 * Limits: a formatted message is cut at ES_LOG_LINE_MAX bytes and the
 * cut is marked with "..." (one hostile call cannot flood the log).
 *
 * Thread-safe: a mutex guards the destination; the level is atomic.
 * es_log_open() and es_log_close() may be called at any time, but a
 * program normally calls them once, from its main thread.
 */
#include "es_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* The longest message body; a longer one is cut (log flooding). */
#define ES_LOG_LINE_MAX 2048
#define ES_LOG_IDENT_MAX 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_ident[ES_LOG_IDENT_MAX] = "edgespam";
static bool log_syslog; /* false: stderr */
static atomic_int log_level = LOG_INFO;

static const char *
level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
		return "emerg";
	case LOG_ALERT:
		return "alert";
	case LOG_CRIT:
		return "crit";
	case LOG_ERR:
		return "err";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
es_log_open(const char *ident, bool to_stderr, int facility, int level)
{
	pthread_mutex_lock(&log_lock);
	if (log_syslog)
		closelog();
	/* openlog() keeps the pointer: give it our own copy */
	strlcpy(log_ident, ident != NULL && *ident != '\0' ? ident : "edgespam",
	    sizeof(log_ident));
	log_syslog = !to_stderr;
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
	atomic_store(&log_level, level);
	pthread_mutex_unlock(&log_lock);
}

void
es_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_syslog)
		closelog();
	log_syslog = false;
	strlcpy(log_ident, "edgespam", sizeof(log_ident));
	pthread_mutex_unlock(&log_lock);
}

void
es_log_set_level(int level)
{
	atomic_store(&log_level, level);
}

/* write_all - write len bytes of p to fd, retrying short writes. */
static void
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w <= 0)
			return; /* nowhere left to report a logging failure */
		p += w;
		len -= (size_t)w;
	}
}

/* es_log_v - format one message and send it, if level passes. */
static void es_log_v(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
es_log_v(int level, const char *fmt, va_list ap)
{
	char msg[ES_LOG_LINE_MAX + 1];
	char line[ES_LOG_IDENT_MAX + 64 + sizeof(msg)];
	int n;
	size_t i;

	if (level > atomic_load(&log_level))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		strlcpy(msg, "(unformattable log message)", sizeof(msg));
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';

	pthread_mutex_lock(&log_lock);
	if (log_syslog) {
		syslog(level, "%s", msg);
	} else {
		n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s\n", log_ident,
		    (long)getpid(), level_name(level), msg);
		if (n > 0) {
			/* cannot be cut (line has room for all parts), but
			 * keep the newline if it ever is */
			if ((size_t)n >= sizeof(line)) {
				n = (int)sizeof(line) - 1;
				line[n - 1] = '\n';
			}
			write_all(STDERR_FILENO, line, (size_t)n);
		}
	}
	pthread_mutex_unlock(&log_lock);
}

#define ES_LOG_FN(fname, lvl)                                                 \
	void fname(const char *fmt, ...)                                      \
	{                                                                     \
		va_list ap;                                                   \
                                                                              \
		va_start(ap, fmt);                                            \
		es_log_v(lvl, fmt, ap);                                       \
		va_end(ap);                                                   \
	}

ES_LOG_FN(es_log_err, LOG_ERR)
ES_LOG_FN(es_log_warning, LOG_WARNING)
ES_LOG_FN(es_log_notice, LOG_NOTICE)
ES_LOG_FN(es_log_info, LOG_INFO)
ES_LOG_FN(es_log_debug, LOG_DEBUG)

char *
es_log_sanitize(const char *in, size_t len, char *out, size_t outlen)
{
	size_t room, i, n;

	if (outlen == 0)
		return out;
	if (in == NULL)
		len = 0;
	room = outlen - 1;
	/* cut: keep room - 3 bytes of text, then the marker */
	n = len <= room ? len : (room >= 3 ? room - 3 : 0);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	if (len > room)
		for (; i < room; i++)
			out[i] = '.';
	out[i] = '\0';
	return out;
}
