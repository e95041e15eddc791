/*
 * policy.h - the milter's per-recipient decisions, kept free of
 * libmilter so they are unit-tested on their own: whether a user is
 * filtered, which recipients are retrain aliases and whom they belong
 * to, and whether a client address is in a trusted network.
 */
#ifndef MILTER_POLICY_H
#define MILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cls_rcpt.h"
#include "cls_user.h"

enum pol_domain {
	POL_OFF,     /* nobody in the domain is filtered */
	POL_OPT_IN,  /* only users with optIn = on */
	POL_OPT_OUT, /* everybody but users with optOut = on */
	POL_ON       /* everybody */
};

/* pol_domain_parse - "off", "opt-in", "opt-out", "on". */
int pol_domain_parse(const char *s, enum pol_domain *p);
const char *pol_domain_name(enum pol_domain p);

/*
 * pol_filtered - whether a user is filtered: "off" and "on" are the
 * site's switch for the whole domain; under "opt-in" a user is filtered
 * when optIn is on, under "opt-out" unless optOut is on. opt_in and
 * opt_out are the user's preference values (NULL when unset; "on",
 * "yes", "true" and "1" count as on).
 */
bool pol_filtered(enum pol_domain p, const char *opt_in, const char *opt_out);

/*
 * pol_alias_owner - whether the normalised address addr is a retrain
 * alias: it matches one of the n glob patterns (fnmatch, on the whole
 * address). The owner's address is written to owner: the local part
 * with the pattern's literal part removed ("bob-spam@example.org" under
 * "*-spam@*" is owned by "bob@example.org"). Returns false for no match.
 */
bool pol_alias_owner(const char *const *patterns, size_t n, const char *addr,
    char *owner, size_t ownerlen);

/* The rules a recipient is decided by (from the configuration). */
struct pol_rcpt_rules {
	const char *const *aliases; /* retrain_aliases patterns */
	size_t naliases;
	const char *delimiter;      /* recipient_delimiter */
};

enum pol_rcpt_kind {
	POL_RCPT_USER,       /* a user, filtered or not by the store */
	POL_RCPT_ALIAS,      /* a retrain alias of user */
	POL_RCPT_POSTMASTER, /* <postmaster> without a domain (RFC 5321
	                        4.5.1): never filtered */
	POL_RCPT_REFUSE      /* no delivery form: refuse it */
};

struct pol_rcpt {
	enum pol_rcpt_kind kind;
	char user[CLS_USER_MAX + 1]; /* USER: the user; ALIAS: its owner */
	char addr[CLS_RCPT_MAX + 1]; /* the delivery form, extension kept */
	const char *why;             /* REFUSE: the reason (static) */
	unsigned undone;             /* CLS_RCPT_*: what the form undid */
};

/*
 * pol_rcpt_decide - decide a recipient once, on its delivery form
 * (cls_rcpt.h): the raw RCPT address raw (rawlen bytes) and, when the
 * MTA passed it, its own resolved form mta ({rcpt_addr}; NULL when
 * none). A retrain alias is any form of it the MTA could deliver to the
 * alias: the address with and without its extension, with 8-bit look-
 * alikes folded, in raw's form or in mta's. An address without a
 * domain takes mta's domain when mta names the same local part;
 * "postmaster" without one is POSTMASTER; anything else without one,
 * and anything cls_rcpt_canon() refuses or whose user name is longer
 * than CLS_USER_MAX, is REFUSE with why set. Length limits apply to the
 * resulting names, never to the raw text.
 */
void pol_rcpt_decide(const struct pol_rcpt_rules *rules, const char *raw,
    size_t rawlen, const char *mta, struct pol_rcpt *out);

/* A trusted network: address family, address bytes, prefix length. */
struct pol_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;
};

/*
 * pol_net_parse - "192.0.2.0/24", "::1", "2001:db8::/32" (no prefix:
 * the single address). Returns 0 or ES_EINVAL.
 */
int pol_net_parse(const char *s, struct pol_net *net);
/* pol_net_match - whether sa (AF_INET or AF_INET6, IPv4-mapped IPv6
 * addresses count as IPv4) is in one of the n networks. */
bool pol_net_match(const struct pol_net *nets, size_t n,
    const struct sockaddr *sa);

/*
 * pol_auth_owns - whether the SASL login authen ("bob" or
 * "bob@example.org", case-insensitive) is the owner address owner.
 */
bool pol_auth_owns(const char *authen, const char *owner);

/*
 * pol_greylist - whether a source with streak Spam verdicts in a row, the
 * last at last_spam (seconds since the epoch), is greylisted at now:
 * threshold > 0, streak >= threshold and now - last_spam < window_s
 * (and last_spam no further than window_s ahead of now).
 */
bool pol_greylist(unsigned long long streak, long long last_spam,
    unsigned threshold, unsigned window_s, long long now);

#endif
