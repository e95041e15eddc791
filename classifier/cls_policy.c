/*
 * cls_policy.c - who is filtered, and why not; whose retrain alias an
 * address is (see cls_policy.h).
 *
 * The milter's recipient decision and the CLI's "user U show" both call
 * these functions, so the answer and its wording exist once. Nothing
 * here reads the store: the callers fetch the domain's policy and the
 * user's optIn and optOut and pass them in. Pure; thread-safe.
 */
#include "cls_policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_err.h"

static const char *const names[] = {"off", "opt-in", "opt-out", "on"};

int
cls_policy_parse(const char *s, enum cls_policy *p)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*p = (enum cls_policy)i;
			return 0;
		}
	}
	return ES_EINVAL;
}

const char *
cls_policy_name(enum cls_policy p)
{
	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

int
cls_policy_of_domain(enum cls_policy def, const char *text,
    enum cls_policy *p)
{
	*p = def;
	if (text == NULL)
		return ES_ENOTFOUND;
	if (cls_policy_parse(text, p) != 0) {
		*p = def;
		return ES_EINVAL;
	}
	return 0;
}

bool
cls_policy_on(const char *v)
{
	return v != NULL &&
	    (strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 ||
		strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

bool
cls_policy_filtered(enum cls_policy p, const char *opt_in,
    const char *opt_out)
{
	switch (p) {
	case CLS_POLICY_OFF:
		return false;
	case CLS_POLICY_ON:
		return true;
	case CLS_POLICY_OPT_IN:
		return cls_policy_on(opt_in) && !cls_policy_on(opt_out);
	case CLS_POLICY_OPT_OUT:
		return !cls_policy_on(opt_out);
	}
	return false;
}

void
cls_policy_why_not(enum cls_policy p, const char *domain,
    const char *opt_in, const char *opt_out, char *why, size_t whylen)
{
	char src[300];

	if (domain != NULL)
		snprintf(src, sizeof(src), "domain %s is %s", domain,
		    cls_policy_name(p));
	else
		snprintf(src, sizeof(src), "default_policy %s",
		    cls_policy_name(p));
	if (p == CLS_POLICY_OFF)
		snprintf(why, whylen, "%s", src);
	else if (cls_policy_on(opt_out))
		snprintf(why, whylen, "%s, user preference optOut %s", src,
		    opt_out);
	else
		snprintf(why, whylen, "%s, user preference optIn %s", src,
		    opt_in != NULL && opt_in[0] != '\0' ? opt_in : "not set");
}

/*
 * owner_local - the part of local that the single '*' of the local
 * pattern pl matched, or all of local when pl has no single '*'.
 */
static void
owner_local(const char *pl, size_t pllen, const char *local, size_t llen,
    size_t *off, size_t *len)
{
	const char *star = memchr(pl, '*', pllen);
	size_t pre, post;

	*off = 0;
	*len = llen;
	if (star == NULL || memchr(star + 1, '*', pllen - (size_t)(star - pl) - 1))
		return;
	pre = (size_t)(star - pl);
	post = pllen - pre - 1;
	if (pre + post >= llen)
		return;
	*off = pre;
	*len = llen - pre - post;
}

bool
cls_policy_alias_owner(const char *const *patterns, size_t n, const char *addr,
    char *owner, size_t ownerlen)
{
	const char *at = strrchr(addr, '@');
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = patterns[i], *pat;
		size_t off, len;
		int w;

		if (fnmatch(p, addr, 0) != 0)
			continue;
		if (at == NULL)
			return false;
		pat = strchr(p, '@');
		owner_local(p, pat ? (size_t)(pat - p) : strlen(p), addr,
		    (size_t)(at - addr), &off, &len);
		w = snprintf(owner, ownerlen, "%.*s%s", (int)len, addr + off,
		    at);
		return w > 0 && (size_t)w < ownerlen;
	}
	return false;
}
