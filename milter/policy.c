/*
 * policy.c - per-recipient decisions of the milter (see policy.h).
 */
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "es_err.h"

/* alias_of - whether addr, or addr without its extension, is a retrain
 * alias; its owner's user name into out. */
static bool
alias_of(const struct pol_rcpt_rules *rules, const struct cls_rcpt *r,
    const char *addr, struct pol_rcpt *out)
{
	char cut[CLS_RCPT_MAX + 1], owner[CLS_RCPT_MAX + 1];
	struct cls_rcpt tmp = *r;
	const char *cand[2];
	size_t i;

	/* the local part's length in addr (a fold may have changed it) */
	strlcpy(tmp.addr, addr, sizeof(tmp.addr));
	tmp.local_len = strcspn(addr, "@");
	cand[0] = addr;
	cand[1] = cls_rcpt_cut(&tmp, rules->delimiter, cut, sizeof(cut)) == 0
	    ? cut
	    : addr;
	for (i = 0; i < 2; i++) {
		if (!cls_policy_alias_owner(rules->aliases, rules->naliases, cand[i],
			owner, sizeof(owner)))
			continue;
		out->kind = POL_RCPT_ALIAS;
		if (cls_user_normalize(owner, strlen(owner), NULL, out->user,
			sizeof(out->user)) != 0) {
			out->kind = POL_RCPT_REFUSE;
			out->why = "a retrain alias whose owner is no user name";
		}
		return true;
	}
	return false;
}

void
pol_rcpt_decide(const struct pol_rcpt_rules *rules, const char *raw,
    size_t rawlen, const char *mta, struct pol_rcpt *out)
{
	struct cls_rcpt r, m;
	char folded[CLS_RCPT_MAX + 1], cut[CLS_RCPT_MAX + 1];
	bool have_m;

	memset(out, 0, sizeof(*out));
	out->kind = POL_RCPT_REFUSE;
	if (cls_rcpt_canon(raw, rawlen, &r, &out->why) != 0)
		return;
	out->undone = r.undone;
	strlcpy(out->addr, r.addr, sizeof(out->addr));
	have_m = mta != NULL && *mta != '\0' &&
	    cls_rcpt_canon(mta, strlen(mta), &m, NULL) == 0 && m.has_domain;
	if (!r.has_domain) {
		if (strcmp(r.addr, "postmaster") == 0) {
			out->kind = POL_RCPT_POSTMASTER;
			return;
		}
		/* the MTA qualified it ("bob" is bob@$myorigin) */
		if (!have_m || m.local_len != r.local_len ||
		    memcmp(m.addr, r.addr, r.local_len) != 0) {
			out->why = "no domain";
			return;
		}
		r = m;
		strlcpy(out->addr, r.addr, sizeof(out->addr));
	}
	/* every form the MTA could deliver to an alias pipe */
	if (alias_of(rules, &r, r.addr, out) ||
	    (cls_rcpt_fold(&r, folded, sizeof(folded)) &&
		alias_of(rules, &r, folded, out)) ||
	    (have_m && alias_of(rules, &m, m.addr, out)) ||
	    (have_m && cls_rcpt_fold(&m, folded, sizeof(folded)) &&
		alias_of(rules, &m, folded, out)))
		return;
	if (cls_rcpt_cut(&r, rules->delimiter, cut, sizeof(cut)) != 0 ||
	    cls_user_normalize(cut, strlen(cut), NULL, out->user,
		sizeof(out->user)) != 0) {
		out->why = "a user name longer than the store keeps";
		return;
	}
	out->kind = POL_RCPT_USER;
}

static bool
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

bool
pol_net_match(const struct conf_net *nets, size_t n, const struct sockaddr *sa)
{
	unsigned char a4[4], a6[16];
	bool have4 = false, have6 = false;
	size_t i;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(a4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		have4 = true;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		memcpy(a6, in6, 16);
		have6 = true;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a4, a6 + 12, 4);
			have4 = true;
		}
	}
	for (i = 0; i < n; i++) {
		if (nets[i].family == AF_INET && have4 &&
		    prefix_eq(nets[i].addr, a4, nets[i].bits))
			return true;
		if (nets[i].family == AF_INET6 && have6 &&
		    prefix_eq(nets[i].addr, a6, nets[i].bits))
			return true;
	}
	return false;
}

bool
pol_auth_owns(const char *authen, const char *owner)
{
	const char *at = strchr(owner, '@');

	if (authen == NULL || *authen == '\0')
		return false;
	if (strcasecmp(authen, owner) == 0)
		return true;
	/* a bare login name owns the local part */
	return strchr(authen, '@') == NULL && at != NULL &&
	    strlen(authen) == (size_t)(at - owner) &&
	    strncasecmp(authen, owner, (size_t)(at - owner)) == 0;
}

bool
pol_greylist(unsigned long long streak, long long last_spam,
    unsigned threshold, unsigned window_s, long long now)
{
	if (threshold == 0 || streak < threshold || last_spam <= 0)
		return false;
	/* a clock that went back a little counts as "just now"; a time
	 * further ahead than the window (a cluster host's clock, a bad
	 * row) would greylist the source until then, with no verdict able
	 * to end it: not greylisted */
	return now - last_spam < (long long)window_s &&
	    last_spam - now < (long long)window_s;
}
