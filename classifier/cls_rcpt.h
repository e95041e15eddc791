/*
 * cls_rcpt.h - a recipient address (RCPT TO) in the form the MTA
 * delivers it to, so that every spelling of one mailbox meets the same
 * decision: retrain alias, filtered user, or not filtered.
 *
 * The rules are Postfix's with its defaults (resolve_dequoted_address,
 * allow_percent_hack, swap_bangpath; RFC 5321 4.1.2 for source routes),
 * taken as if every domain in the way were the MTA's own, since the
 * milter cannot know which are: quotes and backslash escapes are
 * removed ("bob"@x, bo\b@x, "bob@x"@y), a source route is dropped
 * (@relay:bob@x), a local part that still holds '@', '%' or '!' loses
 * its domain and is resolved again (bob%x@y is bob@x; x!bob is bob@x),
 * ASCII is lowercased and a trailing dot of the domain goes. What this
 * cannot put in that form (an unclosed quote, a control character or
 * space, an empty local part or domain, too many routing steps, a result
 * too long) is refused, never passed on as somebody else's address.
 *
 * Pure code: no I/O, no allocation, no globals.
 */
#ifndef CLS_RCPT_H
#define CLS_RCPT_H

#include <stdbool.h>
#include <stddef.h>

/* The longest raw address taken: more than any SMTP command line an MTA
 * accepts (Postfix's line_length_limit is 2048); longer is refused. */
#define CLS_RCPT_RAW_MAX 4096
/* The longest canonical address: whatever the raw one may hold, since an
 * extension of any length is cut only later (the user name has its own
 * limit, CLS_USER_MAX, and that applies after the cut). */
#define CLS_RCPT_MAX CLS_RCPT_RAW_MAX

/* What the canonical form undid: for the log. */
#define CLS_RCPT_QUOTED 0x01u  /* quotes or backslash escapes */
#define CLS_RCPT_ROUTE 0x02u   /* a source route */
#define CLS_RCPT_PERCENT 0x04u /* the percent hack */
#define CLS_RCPT_BANG 0x08u    /* a bang path */
#define CLS_RCPT_INNER 0x10u   /* an '@' inside the local part */
#define CLS_RCPT_8BIT 0x20u    /* 8-bit bytes in the local part */

struct cls_rcpt {
	char addr[CLS_RCPT_MAX + 1]; /* "local@domain", or "local" */
	size_t local_len;            /* the local part's length in addr */
	bool has_domain;
	unsigned undone;             /* CLS_RCPT_* */
};

/*
 * cls_rcpt_canon - the canonical form of the raw address in (len bytes,
 * with or without angle brackets). Returns 0, or ES_EINVAL with *why set
 * to a static one-line reason.
 */
int cls_rcpt_canon(const char *in, size_t len, struct cls_rcpt *r,
    const char **why);

/*
 * cls_rcpt_cut - the user's address: r's local part up to the first
 * character of delims (the recipient delimiter set; NULL or "" for
 * none; a delimiter first in the local part is kept, as Postfix does),
 * then "@domain". Writes into out (outlen bytes). Returns 0, or
 * ES_EINVAL when it does not fit.
 */
int cls_rcpt_cut(const struct cls_rcpt *r, const char *delims, char *out,
    size_t outlen);

/*
 * cls_rcpt_fold - r's address with the 8-bit characters of the local
 * part that Unicode case folding (as an MTA with SMTPUTF8 applies to
 * lookups) turns into ASCII replaced by that ASCII: U+017F long s, U+212A
 * Kelvin sign, U+00DF and U+1E9E sharp s, the Latin ligatures U+FB00 to
 * U+FB06. Returns true when anything changed (out holds the folded
 * form), false otherwise or when it does not fit.
 */
bool cls_rcpt_fold(const struct cls_rcpt *r, char *out, size_t outlen);

#endif
