/*
 * cls_sig.h - signatures: what a classification stored so that a
 * correction can undo it exactly.
 *
 * A signature has an id (32 lowercase hex digits: 128 random bits the
 * caller supplies) and data: the message's token ids with per-token
 * flags, the verdict, the class the classification learned, and the
 * hybrid method's weight step, and the SMTP client's address when the
 * milter knew it. The data format is edgespam's own ("ESG1" and a
 * 28-byte header, 9 bytes per token; "ESG2" adds the client address
 * after the header); DSPAM 3.10's format (16 bytes per
 * token: 8-byte little-endian id, 1-byte count, 7 bytes padding) is read
 * too, so mail that DSPAM classified before a site switched can still be
 * corrected. Pure code; allocation only through es_alloc.
 */
#ifndef CLS_SIG_H
#define CLS_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cls_learn.h"
#include "cls_msg.h"
#include "cls_score.h"
#include "cls_source.h"

#define CLS_SIG_ID_LEN 32
#define CLS_SIG_ID_MIN 8 /* DSPAM's ids are shorter than ours */

/* Per-token flags kept in a signature. */
#define CLS_SIGF_HEADER 0x1u  /* = CLS_TF_HEADER */
#define CLS_SIGF_SENDER 0x2u  /* = CLS_TF_SENDER */
#define CLS_SIGF_CHANGED 0x8u /* the classification changed its counts */

struct cls_sig_token {
	uint64_t id;
	uint8_t flags;
};

struct cls_sig {
	enum cls_result verdict;
	enum cls_class learned; /* NONE: the classification learned nothing */
	double step;            /* hybrid weight step applied to every token */
	double prob;            /* the verdict's spam probability */
	bool legacy;            /* read from DSPAM's format: verdict and
	                           learned class are unknown */
	size_t ntokens;
	struct cls_sig_token *tokens; /* owned; free with cls_sig_clear */
	char client[CLS_SOURCE_LEN];  /* the SMTP client's address ("" when
	                                 unknown): written as ESG2 */
};

/*
 * cls_sig_id_format - the text id of 16 random bytes: 32 lowercase hex
 * digits and a NUL into out (33 bytes).
 */
void cls_sig_id_format(const unsigned char rnd[16], char out[CLS_SIG_ID_LEN + 1]);

/*
 * cls_sig_id_valid - the strict check every id from mail passes before
 * any lookup: CLS_SIG_ID_MIN to CLS_SIG_ID_LEN characters, all lowercase
 * hex digits (DSPAM's ids are hex too).
 */
bool cls_sig_id_valid(const char *id, size_t len);

/*
 * cls_sig_encode - serialise sig into *data (caller frees with es_free)
 * of *len bytes: ESG1, or ESG2 when sig->client is set. Returns 0,
 * ES_ELIMIT (too many tokens), ES_EINVAL (a client address that is not
 * printable text) or ES_ENOMEM.
 */
int cls_sig_encode(const struct cls_sig *sig, void **data, size_t *len);

/*
 * cls_sig_decode - parse signature data of either format into sig (the
 * caller releases it with cls_sig_clear). Returns 0, ES_EPARSE for data
 * that is neither format, or ES_ENOMEM.
 */
int cls_sig_decode(const void *data, size_t len, struct cls_sig *sig);

/* cls_sig_clear - free sig's tokens; the struct may be reused. */
void cls_sig_clear(struct cls_sig *sig);

/*
 * cls_sig_find - the signature id of a forwarded or bounced message:
 * the X-DSPAM-Signature field of the message's own header, else a
 * "!DSPAM:id!" tag in its body text, else X-DSPAM-Signature in the header
 * of an attached message/rfc822 part. Only ids that pass
 * cls_sig_id_valid() are taken. Returns 0 and fills id (NUL-terminated),
 * or ES_ENOTFOUND.
 */
int cls_sig_find(const struct cls_msg *msg, char id[CLS_SIG_ID_LEN + 1]);

#endif
