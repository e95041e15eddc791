/*
 * cls_dspam_msg.h - a message as DSPAM 3.10 reads it for tokenizing.
 *
 * DSPAM's tokenizers do not read header fields and text parts: they
 * read two strings DSPAM makes of the message, the header text (every
 * MIME part's header fields, one "Name: value" line each, folded values
 * keeping their line breaks) and the body text (the decoded text parts
 * concatenated, HTML parts stripped of markup by DSPAM's own rules). A
 * tokenizer that must give DSPAM's token ids has to read the same two
 * strings, quirks included; cls_msg_parse() is edgespam's own, more
 * careful reading and is not used for them. Pure code: no I/O, no
 * globals.
 */
#ifndef CLS_DSPAM_MSG_H
#define CLS_DSPAM_MSG_H

#include <stddef.h>

#include "es_buf.h"

/*
 * cls_dspam_texts - append to head and body the header text and body
 * text DSPAM 3.10 tokenizes for the len bytes of msg (as fed to dspam,
 * mbox "From " line included). Neither ever holds a NUL byte; each is
 * " " when DSPAM's would be empty. Both need room for about 4 * len +
 * 64 bytes. Returns 0, ES_ENOMEM, or ES_ELIMIT when a buffer's maximum
 * was reached (the texts are then incomplete).
 */
int cls_dspam_texts(
    const char *msg, size_t len, struct es_buf *head, struct es_buf *body);

#endif
