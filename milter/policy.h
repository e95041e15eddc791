/*
 * policy.h - the milter's per-recipient decisions, kept free of
 * libmilter so they are unit-tested on their own: what a recipient is
 * (a user, a retrain alias of a user, postmaster, or refused) on its
 * delivery form, and whether a client address is in a trusted network.
 * Whether a user is filtered, and a retrain alias's owner, are decided
 * by cls_policy.h, which "edgespam user U show" uses too; the networks
 * are parsed by conf_check.h, which checks the configuration for every
 * program.
 */
#ifndef MILTER_POLICY_H
#define MILTER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cls_policy.h"
#include "cls_rcpt.h"
#include "cls_user.h"
#include "conf_check.h"

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

/* pol_net_match - whether sa (AF_INET or AF_INET6, IPv4-mapped IPv6
 * addresses count as IPv4) is in one of the n networks (trusted_networks
 * as conf_net_parse() reads them). */
bool pol_net_match(const struct conf_net *nets, size_t n,
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
