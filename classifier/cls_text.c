/*
 * cls_text.c - untrusted text as printable UTF-8 of bounded length, for
 * the history rows (cls_text.h). Mail headers carry whatever a sender
 * wrote: control characters that would move a terminal's cursor, bytes
 * of unknown charsets, bidirectional overrides that reorder what a page
 * shows. Everything is decided byte by byte, in one pass, with the
 * UTF-8 rules of RFC 3629, section 4 (no overlong forms, no surrogates,
 * nothing past U+10FFFF).
 *
 * Limits: the output is bounded by max_chars and by the caller's
 * buffer, whichever is smaller; the input of cls_text_header() by
 * CLS_TEXT_SCAN_MAX, so a megabyte-long Subject costs no more than a
 * short one.
 *
 * Ownership: nothing is kept. Thread-safe (no state).
 */
#include "cls_text.h"

#include <stdint.h>
#include <string.h>

#include "cls_mime.h"
#include "es_buf.h"
#include "es_err.h"

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* utf8_seq - the length of the well-formed sequence at s (n bytes
 * left) and its code point in *cp, or 0 when there is none. */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5.. */
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need;
}

/* shown_as_question - a code point that must not reach a display. */
static bool
shown_as_question(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* is_space - the white space that folds into one space. */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

size_t
cls_text_printable(const char *in, size_t len, size_t max_chars, char *out,
    size_t outlen, bool *cut)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, chars = 0;
	bool space = false;

	if (cut != NULL)
		*cut = false;
	if (outlen == 0)
		return 0;
	while (i < len) {
		const char *put;
		size_t n, plen;
		uint32_t cp;

		if (is_space(s[i])) {
			space = true;
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i, &cp);
		if (n == 0) {
			put = replacement;
			plen = 3;
			n = 1;
		} else if (shown_as_question(cp)) {
			put = "?";
			plen = 1;
		} else {
			put = in + i;
			plen = n;
		}
		/* a pending space (never at the start) and the character */
		if (chars + (space && o > 0) + 1 > max_chars ||
		    o + (space && o > 0) + plen + 1 > outlen) {
			if (cut != NULL)
				*cut = true;
			break;
		}
		if (space && o > 0) {
			out[o++] = ' ';
			chars++;
		}
		space = false;
		memcpy(out + o, put, plen);
		o += plen;
		chars++;
		i += n;
	}
	out[o] = '\0';
	return o;
}

int
cls_text_header(const char *value, size_t len, size_t max_chars, char *out,
    size_t outlen)
{
	struct es_buf b;
	unsigned defects = 0;
	int rc;

	if (len > CLS_TEXT_SCAN_MAX)
		len = CLS_TEXT_SCAN_MAX;
	/* decoding never makes text longer than its encoded form */
	es_buf_init(&b, len);
	rc = cls_mime_decode_words(value, len, &b, &defects);
	if (rc == ES_ENOMEM) {
		es_buf_release(&b);
		cls_text_printable(value, len, max_chars, out, outlen, NULL);
		return ES_ENOMEM;
	}
	/* ES_ELIMIT only stops the decoding: what came out is shown */
	cls_text_printable(b.data != NULL ? b.data : "", b.len, max_chars,
	    out, outlen, NULL);
	es_buf_release(&b);
	return 0;
}
