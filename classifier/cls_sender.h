/*
 * cls_sender.h - per-user sender allow and block lists: the patterns,
 * the candidates an address can match, and the decision.
 *
 * A pattern is one of
 *   user@example.com   exactly that address
 *   @example.com       any address at exactly that domain
 *   *.example.com      any address at that domain or a subdomain of it
 * Addresses and patterns are compared without case: the domain is
 * lowercased (DNS names are case-insensitive) and so is the local part,
 * as nearly every mail system treats local parts (RFC 5321 allows a
 * server to tell cases apart; an allow list that missed Bob@ for bob@
 * would surprise every user). 8-bit bytes are kept as they are.
 *
 * The store is asked about the bounded list of patterns that could
 * match an address (cls_sender_candidates), so one batched read decides
 * a message whatever the size of the lists. A "*." pattern may name at
 * most CLS_SENDER_MAX_LABELS labels, so every storable pattern is among
 * the candidates of the addresses it covers.
 *
 * Pure code: no I/O, no allocation. Thread-safe.
 */
#ifndef CLS_SENDER_H
#define CLS_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "cls_msg.h"

#define CLS_SENDER_MAX 255      /* a pattern (edgespam_sender_list.pattern) */
#define CLS_SENDER_MAX_LABELS 10 /* labels of a "*." pattern's domain */
/* per address: exact, @domain, and "*." + each suffix of the domain */
#define CLS_SENDER_PER_ADDR (2 + CLS_SENDER_MAX_LABELS)
/* a message: the envelope sender and the From: address */
#define CLS_SENDER_SOURCES 2
#define CLS_SENDER_CANDIDATES (CLS_SENDER_SOURCES * CLS_SENDER_PER_ADDR)

enum cls_sender_list {
	CLS_SENDER_NONE = 0,
	CLS_SENDER_ALLOW = 1,
	CLS_SENDER_BLOCK = 2
};

/* Where an address came from. */
enum cls_sender_source {
	CLS_SENDER_ENVELOPE = 0, /* MAIL FROM */
	CLS_SENDER_FROM = 1      /* the From: header field */
};

/* The candidates of one message, most specific first for each source. */
struct cls_sender_cands {
	size_t n;
	char pat[CLS_SENDER_CANDIDATES][CLS_SENDER_MAX + 1];
	enum cls_sender_source src[CLS_SENDER_CANDIDATES];
};

/* The decision for a message. */
struct cls_sender_decision {
	enum cls_sender_list list;   /* NONE: score the message */
	const char *pattern;         /* the deciding pattern (in cands) */
	enum cls_sender_source src;  /* whose address it matched */
};

/* cls_sender_list_name - "allow", "block" (NULL for NONE). */
const char *cls_sender_list_name(enum cls_sender_list l);
/* cls_sender_list_parse - "allow" or "block"; ES_EINVAL otherwise. */
int cls_sender_list_parse(const char *s, enum cls_sender_list *l);
/* cls_sender_source_name - "envelope sender" or "From:". */
const char *cls_sender_source_name(enum cls_sender_source s);

/*
 * cls_sender_pattern - check and normalise the pattern in (surrounding
 * blanks and one pair of angle brackets are dropped) into out (outlen
 * bytes, at least CLS_SENDER_MAX + 1). Returns 0, or ES_EINVAL with a
 * message naming the pattern in err (errlen bytes): empty, too long,
 * a wildcard other than a leading "*.", a bad domain, a local part
 * without a domain, "*@domain" (write "@domain"), and the like.
 */
int cls_sender_pattern(const char *in, char *out, size_t outlen, char *err,
    size_t errlen);

/*
 * cls_sender_address - the address in an envelope sender or a From:
 * field value (len bytes; "Name <a@b>", "a@b (Name)", "<a@b>", a bare
 * a@b, Outlook's "[mailto:a@b]"), lowercased into out (outlen bytes).
 * Only the first address of a list is taken. Returns 0; ES_ENOTFOUND
 * when there is none (the null sender "<>", an empty or address-less
 * value); ES_EINVAL when what is there is not a usable address.
 */
int cls_sender_address(const char *in, size_t len, char *out, size_t outlen);

/* cls_sender_cands_init - an empty candidate list. */
void cls_sender_cands_init(struct cls_sender_cands *c);
/*
 * cls_sender_candidates - append the patterns that match addr (as
 * cls_sender_address returns it), most specific first: the address,
 * "@domain", then "*." with the domain and each of its parents, up to
 * the last CLS_SENDER_MAX_LABELS labels. Returns 0 or ES_EINVAL for an
 * address without '@' (nothing is appended). Never more than
 * CLS_SENDER_PER_ADDR per call; ES_ELIMIT when c is full.
 */
int cls_sender_candidates(struct cls_sender_cands *c, const char *addr,
    enum cls_sender_source src);

/*
 * cls_sender_decide - the decision, given found[i], the list on which
 * the store has c->pat[i] (CLS_SENDER_NONE when on neither). For each
 * source the most specific listed candidate decides that address; then
 * a block of either address wins over an allow of the other (a forged
 * allowed address must not let a blocked one through), and an allow of
 * either is an allow. No candidate listed: CLS_SENDER_NONE.
 */
void cls_sender_decide(const struct cls_sender_cands *c,
    const enum cls_sender_list *found, struct cls_sender_decision *d);

/*
 * cls_sender_forwarded - the original sender of a message a user
 * forwarded to have that sender listed: the From: of an attached
 * message (message/rfc822); else, when the message was redirected or
 * bounced (it has Resent-From:), its own From:; else the first "From:"
 * line with an address in the body text (an inline forward quoting the
 * original header block, '>' quoting allowed). The address goes into
 * out (outlen bytes), *how (may be NULL) says which way it was found.
 * Returns 0, or ES_ENOTFOUND when none of these gives an address.
 */
int cls_sender_forwarded(const struct cls_msg *m, char *out, size_t outlen,
    const char **how);

#endif
