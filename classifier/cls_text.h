/*
 * cls_text.h - hostile text made fit to store and show: the From:,
 * Subject and envelope sender of a history row (store.h), which a web
 * page and a terminal later display.
 *
 * Pure functions: bytes in, bytes out, no allocation but the decoding
 * buffer of cls_text_header(), which it frees.
 */
#ifndef CLS_TEXT_H
#define CLS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* What a header value is decoded from at most (bytes of its start). */
#define CLS_TEXT_SCAN_MAX 8192

/*
 * cls_text_printable - in (len bytes, untrusted, NUL allowed) as
 * printable UTF-8 in out (outlen bytes, always terminated when outlen >
 * 0), at most max_chars characters, cut on a character boundary:
 *  - white space (space, tab, CR, LF, VT, FF) runs become one space,
 *    and none is kept at either end (folded header lines read as one);
 *  - other C0 controls, NUL, DEL, the C1 controls (U+0080..U+009F) and
 *    the bidirectional overrides and isolates (U+202A..U+202E,
 *    U+2066..U+2069, which could make text display in another order
 *    than stored) become '?';
 *  - each byte that does not start a well-formed UTF-8 sequence (a
 *    stray continuation byte, an overlong form, a surrogate, a code
 *    point past U+10FFFF, a sequence cut short) becomes U+FFFD.
 * So out holds at most 4 * max_chars bytes plus the NUL; a smaller
 * outlen cuts earlier, still on a character boundary. Returns the bytes
 * written (without the NUL); *cut (may be NULL) tells whether
 * characters were dropped to fit.
 */
size_t cls_text_printable(const char *in, size_t len, size_t max_chars,
    char *out, size_t outlen, bool *cut);

/*
 * cls_text_header - a header field's value for display: its first
 * CLS_TEXT_SCAN_MAX bytes with RFC 2047 encoded words decoded
 * (cls_mime_decode_words: bytes, no charset conversion, so a word in
 * a charset other than UTF-8 shows U+FFFD for its non-ASCII bytes),
 * then cls_text_printable(). Returns 0, or ES_ENOMEM with out holding
 * the value printable but not decoded.
 */
int cls_text_header(const char *value, size_t len, size_t max_chars,
    char *out, size_t outlen);

#endif
