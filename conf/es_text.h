/*
 * es_text.h - small text conversions that edgespam and edgespam-web
 * share: a whole number argument, a time to the minute, a domain name.
 */
#ifndef ES_TEXT_H
#define ES_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* es_text_long - s as a whole number (base 10, nothing after it) in
 * [lo, hi] into *out; false (and *out untouched) otherwise. */
bool es_text_long(const char *s, long lo, long hi, long *out);

/* es_text_minute - t as "YYYY-MM-DD HH:MM" (UTC) in buf, "-" for 0 or
 * less (never) or a time that cannot be shown; returns buf. */
const char *es_text_minute(int64_t t, char *buf, size_t len);

/* es_text_domain - in (letters, digits, '-', '.', '_'; 1 to 255 bytes)
 * lowercased into out; false if it is no such name or does not fit. */
bool es_text_domain(const char *in, char *out, size_t outlen);

#endif
