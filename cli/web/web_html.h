/*
 * web_html.h - HTML output of edgespam-web: the one escaping function
 * every piece of text goes through, and small page-building helpers.
 *
 * Everything a message brought (Subject, From, addresses, queue ids) and
 * everything a request brought (search words, patterns) is hostile: it
 * reaches a page only through web_html_text(), which makes it inert in
 * element content and in double- or single-quoted attribute values.
 * No logging, no I/O: output goes into an es_buf whose maximum bounds a
 * page (the caller's ES_ELIMIT then becomes an error page).
 */
#ifndef WEB_HTML_H
#define WEB_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "es_buf.h"

/*
 * web_html_text - append len bytes of s to b, escaped for HTML element
 * content and quoted attribute values: & < > " ' become character
 * references; control characters (C0, DEL) and bytes that are not part
 * of well-formed UTF-8 (overlong forms, surrogates, beyond U+10FFFF,
 * cut sequences) become U+FFFD, so the page stays valid UTF-8 whatever
 * the mail held. Returns 0, or es_buf's error (ES_ELIMIT, ES_ENOMEM).
 */
int web_html_text(struct es_buf *b, const char *s, size_t len);
/* web_html_str - web_html_text of a NUL-terminated string (NULL: ""). */
int web_html_str(struct es_buf *b, const char *s);

/*
 * web_url_part - append s percent-encoded for a query value or a path
 * segment: everything but A-Z a-z 0-9 - . _ ~ becomes %XX. The result
 * still needs web_html_text() inside an attribute only for '&' between
 * parameters, which the caller writes as "&amp;".
 */
int web_url_part(struct es_buf *b, const char *s);

#endif
