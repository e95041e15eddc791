/*
 * cls_mime.h - the decoders behind the message parser: MIME field
 * parameters, transfer encodings (base64, quoted-printable), RFC 2047
 * encoded words, HTML to text, and URL recognition. Pure code, tolerant
 * of broken input: bad bytes set defect flags (enum cls_defect) and are
 * skipped or kept, never fatal.
 */
#ifndef CLS_MIME_H
#define CLS_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "es_buf.h"

enum cls_cte {
	CLS_CTE_IDENTITY, /* 7bit, 8bit, binary, or unknown */
	CLS_CTE_BASE64,
	CLS_CTE_QP
};

/*
 * cls_mime_content_type - from a Content-Type value: the lowercased
 * "type/subtype" into type (left alone when the value has none), the
 * boundary and name parameters. *have is set when a type was found.
 */
void cls_mime_content_type(const char *v, size_t n, char *type,
    size_t typelen, char *boundary, size_t blen, char *name, size_t namelen,
    bool *have);
/* cls_mime_disposition - the filename parameter, if any, into name. */
void cls_mime_disposition(const char *v, size_t n, char *name,
    size_t namelen);
/* cls_mime_b64_value - the value of a base64 digit (RFC 2045 6.8), -1
 * for any other byte. */
int cls_mime_b64_value(unsigned char c);
/* cls_mime_cte - the transfer encoding named by a field value. */
enum cls_cte cls_mime_cte(const char *v, size_t n);

/*
 * cls_mime_decode_body - append the body decoded by cte to out; *defects
 * gets CLS_DEF_BASE64 / CLS_DEF_QP for bad input. Returns 0 or ES_ENOMEM
 * (ES_ELIMIT of out's maximum just stops the decoding).
 */
int cls_mime_decode_body(enum cls_cte cte, const char *in, size_t n,
    struct es_buf *out, unsigned *defects);

/*
 * cls_mime_decode_words - append the value with its RFC 2047 encoded
 * words (=?charset?B|Q?text?=) decoded to out (bytes, no charset
 * conversion); white space between two encoded words is dropped; a
 * broken word is copied as it is and sets CLS_DEF_ENCODED_WORD.
 */
int cls_mime_decode_words(const char *in, size_t n, struct es_buf *out,
    unsigned *defects);

typedef void cls_url_fn(void *arg, const char *url, size_t len);

/*
 * cls_mime_html - append the text of an HTML document to out: tags
 * become spaces, script, style and comments vanish, entities are
 * decoded; href and src attribute values are passed to url_fn.
 */
int cls_mime_html(const char *in, size_t n, struct es_buf *out,
    cls_url_fn *url_fn, void *arg);

/*
 * cls_mime_url_at - the length of the URL that starts at t[i] (http://,
 * https://, ftp:// or www., at the start of a word), or 0.
 */
size_t cls_mime_url_at(const char *t, size_t n, size_t i);

#endif
