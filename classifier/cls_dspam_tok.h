/*
 * cls_dspam_tok.h - DSPAM 3.10's tokenizers (word, chain, osb) over the
 * bytes of a message, giving the token texts, and so the ids, that
 * DSPAM itself gives. cls_tokenize() calls this for those tokenizers;
 * the token set and ids are cls_token.h's. Pure code: no I/O, no
 * globals.
 */
#ifndef CLS_DSPAM_TOK_H
#define CLS_DSPAM_TOK_H

#include <stddef.h>

#include "cls_token.h"

/*
 * cls_dspam_tokenize - add to set the tokens DSPAM 3.10's tokenizer
 * o->kind (CLS_TOK_WORD, CLS_TOK_CHAIN or CLS_TOK_OSB) makes of the len
 * bytes of msg, as DSPAM reads them (cls_dspam_msg.h), with its
 * ProcessorURLContext on. Header tokens carry CLS_TF_HEADER (and
 * CLS_TF_ROUTE for delivery headers); body and URL tokens go to the
 * set's sequence. Returns 0 or ES_ENOMEM; tokens refused for the set's
 * bound are counted by cls_tset_dropped().
 */
int cls_dspam_tokenize(const char *msg, size_t len,
    const struct cls_tok_opts *o, struct cls_tset *set);

#endif
