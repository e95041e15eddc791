/*
 * cls_policy.h - whether a user is filtered, and why not: the one
 * decision that the milter makes for each recipient and that
 * "edgespam user U show" reports, from the same stored values (the
 * domain's policy, the user's optIn and optOut) and the configured
 * default_policy, in the same words; and whether an address is a
 * retrain alias (never filtered) and whose.
 *
 * The rule: the user's preference (optIn, optOut) over the domain's
 * policy over default_policy. "off" and "on" are the site's switch for
 * the whole domain; under "opt-in" a user is filtered when optIn is on
 * (and optOut is not), under "opt-out" unless optOut is on. optIn and
 * optOut are the user's own values: uid 0's defaults are not used for
 * them, and a user the store does not know has neither.
 *
 * Pure code: no I/O, no globals; thread-safe.
 */
#ifndef CLS_POLICY_H
#define CLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The buffer sizes both callers read the stored values into (store
 * values are cut to fit, so a longer value reads the same in both):
 * optIn and optOut, a domain's policy text, and the domain as named in
 * a reason (es_log_sanitize()d to fit).
 */
#define CLS_POLICY_PREF_SIZE 16
#define CLS_POLICY_TEXT_SIZE 64
#define CLS_POLICY_DOMAIN_SIZE 64

enum cls_policy {
	CLS_POLICY_OFF,     /* nobody in the domain is filtered */
	CLS_POLICY_OPT_IN,  /* only users with optIn on */
	CLS_POLICY_OPT_OUT, /* everybody but users with optOut on */
	CLS_POLICY_ON       /* everybody */
};

/* cls_policy_parse - "off", "opt-in", "opt-out", "on"; else ES_EINVAL. */
int cls_policy_parse(const char *s, enum cls_policy *p);
/* cls_policy_name - the name cls_policy_parse() takes ("?" if none). */
const char *cls_policy_name(enum cls_policy p);

/*
 * cls_policy_of_domain - the policy a domain whose stored policy is
 * text (NULL: the domain has none) runs under, into *p: text's, or def.
 * Returns 0 (text's), ES_ENOTFOUND (no text: def) or ES_EINVAL (text is
 * no policy: def; the caller says so).
 */
int cls_policy_of_domain(enum cls_policy def, const char *text,
    enum cls_policy *p);

/* cls_policy_on - whether a preference value counts as on ("on", "yes",
 * "true", any case, or "1"); NULL is off. */
bool cls_policy_on(const char *v);

/*
 * cls_policy_filtered - whether a user under policy p with the
 * preference values opt_in and opt_out (NULL or "" when unset) is
 * filtered.
 */
bool cls_policy_filtered(enum cls_policy p, const char *opt_in,
    const char *opt_out);

/*
 * cls_policy_why_not - why a user under p (domain: the domain whose own
 * policy p is, or NULL when p is default_policy) with opt_in and
 * opt_out (NULL or "" when unset) is not filtered, into why (whylen
 * bytes, always terminated): "domain example.org is off",
 * "default_policy opt-in, user preference optIn not set",
 * "domain example.org is opt-out, user preference optOut on".
 * The milter logs it ("recipient X: not filtered (why)") and the CLI
 * prints it ("filtered: no (why)").
 */
void cls_policy_why_not(enum cls_policy p, const char *domain,
    const char *opt_in, const char *opt_out, char *why, size_t whylen);

/*
 * cls_policy_alias_owner - whether the normalised address addr is a
 * retrain alias: it matches one of the n glob patterns (retrain_aliases;
 * fnmatch, on the whole address). The owner's address is written to
 * owner: the local part with the pattern's literal part removed
 * ("bob-spam@example.org" under "*-spam@*" is owned by
 * "bob@example.org"). Returns false for no match, and when the owner
 * does not fit ownerlen (never a cut name).
 */
bool cls_policy_alias_owner(const char *const *patterns, size_t n,
    const char *addr, char *owner, size_t ownerlen);

#endif
