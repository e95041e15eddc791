/*
 * cls_token.h - token ids, the per-message token set, and the tokenizers.
 *
 * A token is a piece of message text ("viagra", "Subject*free",
 * "click+#+here"); its id is DSPAM's 64-bit CRC of that text, so the ids
 * match an existing DSPAM database for the same text. A token set holds
 * the distinct ids of one message with their occurrence counts and,
 * optionally, their texts (for X-DSPAM-Factors and golden dumps).
 * Pure code: no I/O, no globals. Not thread-safe per set (one owner).
 */
#ifndef CLS_TOKEN_H
#define CLS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cls_msg.h"

/*
 * cls_crc64 - DSPAM's token id of len bytes of text: reflected CRC-64,
 * polynomial constant 0xd800000000000000, initial value 0, no final XOR.
 * DSPAM stops at a NUL byte; so does this function.
 */
uint64_t cls_crc64(const char *text, size_t len);

/* Token flags. */
#define CLS_TF_HEADER 0x1u /* from a header field of the message */
#define CLS_TF_SENDER 0x2u /* the sender token: whitelisting only */
#define CLS_TF_NOISE 0x4u  /* set by BNR: left out of the combination */
/* from a delivery header (Received, Return-Path, To, Cc, Delivered-To,
 * X-Original-To, Envelope-To, X-Envelope-To): who the mail was for and
 * how it came; the shared dictionary's counts of it are not merged */
#define CLS_TF_ROUTE 0x8u

struct cls_token {
	uint64_t id;
	uint32_t count;   /* occurrences in the message */
	uint32_t flags;   /* CLS_TF_*: the union over all occurrences */
	uint32_t len;     /* text length, 0 when texts are not kept */
	const char *text; /* NULL when texts are not kept; owned by the set */
};

struct cls_tset;

/*
 * cls_tset_new - an empty set of at most max_tokens distinct ids; with
 * keep_text each token's first text is kept. Caller frees with
 * cls_tset_free(). NULL on out of memory.
 */
struct cls_tset *cls_tset_new(size_t max_tokens, bool keep_text);
void cls_tset_free(struct cls_tset *set);
/* cls_tset_reset - empty the set, keep its storage. */
void cls_tset_reset(struct cls_tset *set);
/*
 * cls_tset_add - count one occurrence of the token text. Returns 0,
 * ES_ELIMIT (a new id past max_tokens: not added, the set stays usable)
 * or ES_ENOMEM.
 */
int cls_tset_add(struct cls_tset *set, const char *text, size_t len);
/*
 * cls_tset_add_flags - cls_tset_add() that also ORs flags into the
 * token's flags. Every occurrence added without CLS_TF_HEADER is also
 * appended to the set's sequence (see cls_tset_seq), while it has room.
 */
int cls_tset_add_flags(struct cls_tset *set, const char *text, size_t len,
    uint32_t flags);
/* cls_tset_add_id - the same for a known id (text may be NULL); adds
 * count occurrences, no flags, nothing to the sequence. */
int cls_tset_add_id(struct cls_tset *set, uint64_t id, const char *text,
    size_t len, uint32_t count);
/* cls_tset_flag - OR flags into the token id's flags; ES_ENOTFOUND when
 * the set does not have it. */
int cls_tset_flag(struct cls_tset *set, uint64_t id, uint32_t flags);
/*
 * cls_tset_seq - the ids of the body occurrences in message order (for
 * Bayesian noise reduction), at most max_tokens of them; *n gets the
 * count. Valid until the next add, reset or free.
 */
const uint64_t *cls_tset_seq(const struct cls_tset *set, size_t *n);
/* cls_tset_len - the number of distinct tokens. */
size_t cls_tset_len(const struct cls_tset *set);
/*
 * cls_tset_items - the tokens, in insertion order until cls_tset_sort()
 * orders them by ascending id. The array belongs to the set and is valid
 * until the next add, reset or free.
 */
const struct cls_token *cls_tset_items(const struct cls_tset *set);
/* cls_tset_sort - order the items by ascending id. */
void cls_tset_sort(struct cls_tset *set);
/* cls_tset_find - the token with this id, or NULL. */
const struct cls_token *cls_tset_find(const struct cls_tset *set,
    uint64_t id);
/* cls_tset_dropped - add calls refused for max_tokens. */
size_t cls_tset_dropped(const struct cls_tset *set);

enum cls_tokenizer {
	CLS_TOK_WORD,    /* single words */
	CLS_TOK_CHAIN,   /* single words and pairs of neighbours */
	CLS_TOK_OSB,     /* orthogonal sparse bigrams, window 5 */
	CLS_TOK_EDGESPAM /* edgespam's own: words of 3..30 characters of a
	                    stricter alphabet, header words prefixed by the
	                    kind of header, URL pieces, part types */
};

struct cls_tok_opts {
	enum cls_tokenizer kind;
	size_t min_len;    /* shortest word kept (DSPAM: 1) */
	size_t max_len;    /* longest word kept (DSPAM: 49) */
	bool skip_numbers; /* drop words made only of digits (DSPAM: no) */
};

/* cls_tok_keep - whether o's length and number rules keep the word w
 * (len bytes): every tokenizer applies them the same way. */
bool cls_tok_keep(const struct cls_tok_opts *o, const char *w, size_t len);

/* cls_tok_opts_default - DSPAM's settings for the given tokenizer. */
void cls_tok_opts_default(struct cls_tok_opts *o, enum cls_tokenizer kind);
/* cls_tokenizer_name, cls_tokenizer_parse - "word", "chain", "osb",
 * "edgespam". */
const char *cls_tokenizer_name(enum cls_tokenizer kind);
int cls_tokenizer_parse(const char *name, enum cls_tokenizer *kind);

/*
 * cls_tokenize - add the tokens of a parsed message to set. The edgespam
 * tokenizer reads the parsed fields: header fields of the message's own
 * header (not X-DSPAM-*), body text, URL pieces and part descriptions.
 * DSPAM's (word, chain, osb) read msg->raw as DSPAM 3.10 reads a
 * message, for DSPAM's own token ids and counts (cls_dspam_tok.h); a
 * message without raw bytes gives them no tokens. Returns 0 or
 * ES_ENOMEM; tokens refused for the set's bound are counted by
 * cls_tset_dropped().
 */
int cls_tokenize(const struct cls_msg *msg, const struct cls_tok_opts *o,
    struct cls_tset *set);

/*
 * cls_sender_token - the id of the sender token used for automatic
 * whitelisting: "From*", the address of the message's first From:
 * field (as cls_sender_address() gives it, lowercased), "*" and net,
 * the network of the SMTP client that sent it (cls_source_keys()'s
 * net: "192.0.2.0/24", "2001:db8:1:2::/64"); for example
 * "From*service@bank.test*192.0.2.0/24". Keyed on the network, a
 * forged From: sent from elsewhere counts on another token than the
 * real sender's, so it can neither earn the real sender's whitelisting
 * nor use it. DSPAM keyed this token on the From: text alone, which
 * anyone can write. Returns 0 and sets *id; ES_ENOTFOUND when net is
 * NULL or empty (no known client: no token), without a From: field, or
 * when the first one has no usable address.
 */
int cls_sender_token(const struct cls_msg *msg, const char *net,
    uint64_t *id);

#endif
