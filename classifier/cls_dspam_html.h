/*
 * cls_dspam_html.h - the text DSPAM 3.10 keeps of an HTML part.
 *
 * DSPAM's tokenizers read an HTML part through DSPAM's own markup
 * stripper, whose output differs from any sane HTML-to-text conversion
 * (cls_mime_html() is edgespam's): a compatible tokenizer has to read
 * the same text. Pure code: no I/O, no globals.
 */
#ifndef CLS_DSPAM_HTML_H
#define CLS_DSPAM_HTML_H

#include <stddef.h>

#include "es_buf.h"

/*
 * cls_dspam_html - append to out the text DSPAM 3.10 makes of the n
 * bytes of HTML at in (a NUL byte ends the input, as DSPAM reads a C
 * string). The result is never longer than n + 64 bytes. Returns 0,
 * ES_ENOMEM, or ES_ELIMIT when out's maximum is reached (what fitted
 * is kept).
 */
int cls_dspam_html(const char *in, size_t n, struct es_buf *out);

#endif
