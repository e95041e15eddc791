/*
 * es_text.c - small text conversions that edgespam and edgespam-web
 * share, so the command line and the web pages read a number, show a
 * time and accept a domain name the same way.
 *
 * No I/O, no state; thread-safe (gmtime_r).
 */
#include "es_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool
es_text_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

const char *
es_text_minute(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

bool
es_text_domain(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);

	if (n == 0 || n >= outlen || n > 255)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char ch = in[i];

		if (ch != '\0' && !((ch >= 'a' && ch <= 'z') ||
			(ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			ch == '-' || ch == '.' || ch == '_'))
			return false;
		out[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
	}
	return true;
}
