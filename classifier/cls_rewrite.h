/*
 * cls_rewrite.h - write a message back out with edgespam's header edits:
 * every X-DSPAM-* field removed (with its continuation lines), new
 * fields inserted at the end of the header, and optionally the
 * signature tag appended to a plain-text body. Everything else is
 * copied byte for byte. Used by the CLI's --stdout mode (the milter
 * makes the same edits through libmilter). Pure code.
 */
#ifndef CLS_REWRITE_H
#define CLS_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "es_buf.h"

struct cls_field {
	const char *name;
	const char *value; /* may contain "\n\t" folds */
};

/*
 * cls_rewrite - append to out the message in (len bytes) with all
 * X-DSPAM-* fields dropped and the n fields inserted just before the
 * empty line that ends the header (line ends follow the message's own:
 * CRLF if its first line ends in CRLF). A leading mbox "From " line is
 * kept. When body_tag is not NULL it is appended on a line of its own at
 * the end of a body that is not MIME multipart. A message with no
 * header/body separator gets the fields after its last header line.
 * Returns 0, ES_ELIMIT (out's maximum) or ES_ENOMEM.
 */
int cls_rewrite(const char *in, size_t len, const struct cls_field *fields,
    size_t n, const char *body_tag, struct es_buf *out);

/*
 * cls_rewrite_is_dspam_field - whether a header line (starting with its
 * field name) names an X-DSPAM-* field. Case-insensitive.
 */
bool cls_rewrite_is_dspam_field(const char *line, size_t len);

#endif
