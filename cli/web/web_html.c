/*
 * web_html.c - escaping for edgespam-web's pages (see web_html.h).
 *
 * web_html_text() is the only way text reaches a page. It escapes the
 * five characters that end an element's text or a quoted attribute
 * value (& < > " '), so a Subject such as `"><img src=x onerror=...>`
 * stays text wherever it is written, and it repairs what is not
 * well-formed UTF-8 (RFC 3629, section 3: no overlong forms, no
 * surrogates, nothing above U+10FFFF), since a browser guessing at a
 * broken encoding is one more way for markup to appear. Control
 * characters become U+FFFD too: a history row is one line of text.
 * Thread-safe (no state).
 */
#include "web_html.h"

#include <string.h>

#include "es_err.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* utf8_len - the length of the well-formed UTF-8 sequence at s (n
 * bytes left), or 0 when there is none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0; /* a continuation byte, 0xc0, 0xc1, 0xf5.. */
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

int
web_html_text(struct es_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, n;
	const char *rep;
	int rc;

	while (i < len) {
		rep = NULL;
		n = 1;
		switch (p[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f)
				rep = REPLACEMENT;
			else if ((n = utf8_len(p + i, len - i)) == 0) {
				rep = REPLACEMENT;
				n = 1;
			}
		}
		if (rep == NULL) {
			i += n;
			run += n;
			continue;
		}
		if (run > 0 && (rc = es_buf_append(b, p + i - run, run)) != 0)
			return rc;
		run = 0;
		if ((rc = es_buf_puts(b, rep)) != 0)
			return rc;
		i += n;
	}
	if (run > 0)
		return es_buf_append(b, p + len - run, run);
	/* an empty text still makes sure the buffer holds a string */
	return b->data == NULL ? es_buf_append(b, "", 0) : 0;
}

int
web_html_str(struct es_buf *b, const char *s)
{
	return web_html_text(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

int
web_url_part(struct es_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	char esc[3] = {'%', 0, 0};
	int rc;

	for (; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			rc = es_buf_putc(b, *p);
		} else {
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 15];
			rc = es_buf_append(b, esc, 3);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}
