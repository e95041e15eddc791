/*
 * cls_rcpt.c - recipient addresses in their delivery form (see
 * cls_rcpt.h).
 *
 * Why it matters: the milter decides per address whether a recipient
 * is a retrain alias (open only to its owner) or a filtered user, and
 * the MTA then delivers every spelling of an address to the same
 * mailbox or alias pipe. A decision made on a spelling the MTA reads
 * differently let strangers train a user's statistics through
 * bob-spam+<long extension>@ and let spam reach opted-in users without
 * a verdict (issue 13). So the address is first put in the one form
 * the MTA resolves it to, and anything that cannot be is an error.
 *
 * Steps: angle brackets off; quotes and backslash escapes removed (the
 * result is read as plain text again, as Postfix's
 * resolve_dequoted_address does, so a quoted '@' counts); a source
 * route off; then while the local part holds '@', '%' or '!', its
 * domain is dropped and the rest resolved again: the rightmost '%'
 * becomes '@' (allow_percent_hack), else "site!user" becomes
 * "user@site" (swap_bangpath). At most CLS_RCPT_HOPS such steps: more
 * is refused (a routing loop has no mailbox). Characters that address
 * parsers read as structure (RFC 5322 specials, spaces, controls) are
 * refused in the result, so no parser can find a different mailbox in
 * it. A domain literal ("[192.0.2.1]") is kept as it is.
 */
#include "cls_rcpt.h"

#include <stdio.h>
#include <string.h>

#include "es_err.h"

#define CLS_RCPT_HOPS 8

/* refuse - set the reason and return ES_EINVAL. */
static int
refuse(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return ES_EINVAL;
}

/* special - a byte that parsers read as address structure. */
static bool
special(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || strchr("()<>,;:\\\"[]", c) != NULL;
}

/*
 * dequote - in (len bytes) without quotes and backslash escapes into
 * out (room for len + 1). Sets *quoted when anything was removed.
 */
static int
dequote(const char *in, size_t len, char *out, bool *quoted,
    const char **why)
{
	bool inq = false;
	size_t i, o = 0;

	*quoted = false;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\0')
			return refuse(why, "a NUL byte in the address");
		if (c == '"') {
			inq = !inq;
			*quoted = true;
			continue;
		}
		if (c == '\\') {
			if (++i == len)
				return refuse(why, "a backslash at the end");
			if (in[i] == '\0')
				return refuse(why, "a NUL byte in the address");
			*quoted = true;
			c = in[i];
		}
		out[o++] = c;
	}
	if (inq)
		return refuse(why, "an unclosed quote");
	out[o] = '\0';
	return 0;
}

/* resolve - the routing steps on s (NUL-terminated, modified in place:
 * it only ever gets shorter, or keeps its length for a bang swap). */
static int
resolve(char *s, unsigned *undone, const char **why)
{
	char tmp[CLS_RCPT_RAW_MAX + 1];
	size_t hops;

	for (hops = 0; hops <= CLS_RCPT_HOPS; hops++) {
		char *at = strrchr(s, '@'), *p;

		if (at != NULL) {
			if (at == s)
				return refuse(why, "an empty local part");
			if (at[1] == '\0')
				return refuse(why, "an empty domain");
			if (memchr(s, '@', (size_t)(at - s)) != NULL)
				*undone |= CLS_RCPT_INNER;
			else if (memchr(s, '%', (size_t)(at - s)) == NULL &&
			    memchr(s, '!', (size_t)(at - s)) == NULL)
				return 0; /* local@domain */
			*at = '\0';   /* the domain is taken as ours */
			continue;
		}
		if ((p = strrchr(s, '%')) != NULL) {
			*p = '@';
			*undone |= CLS_RCPT_PERCENT;
			continue;
		}
		if ((p = strchr(s, '!')) != NULL) {
			size_t site = (size_t)(p - s), user = strlen(p + 1);

			if (site == 0 || user == 0)
				return refuse(why, "an empty part of a bang path");
			memcpy(tmp, p + 1, user);
			tmp[user] = '@';
			memcpy(tmp + user + 1, s, site);
			memcpy(s, tmp, site + user + 1);
			*undone |= CLS_RCPT_BANG;
			continue;
		}
		return 0; /* no domain */
	}
	return refuse(why, "too many routing steps (percent hack, bang path)");
}

int
cls_rcpt_canon(const char *in, size_t len, struct cls_rcpt *r,
    const char **why)
{
	char flat[CLS_RCPT_RAW_MAX + 1], *s = flat, *at;
	bool quoted;
	size_t i, n, lit_open;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	if (len == 0)
		return refuse(why, "an empty address");
	if (len > CLS_RCPT_RAW_MAX)
		return refuse(why, "an address longer than any MTA sends");
	if ((rc = dequote(in, len, flat, &quoted, why)) != 0)
		return rc;
	if (quoted)
		r->undone |= CLS_RCPT_QUOTED;
	/* RFC 5321 4.1.2: "@relay1,@relay2:" before the mailbox */
	if (s[0] == '@' && strchr(s, ':') != NULL) {
		s = strchr(s, ':') + 1;
		r->undone |= CLS_RCPT_ROUTE;
	}
	if ((rc = resolve(s, &r->undone, why)) != 0)
		return rc;
	if (*s == '\0')
		return refuse(why, "an empty local part");
	n = strlen(s);
	if (n > CLS_RCPT_MAX)
		return refuse(why, "an address too long for a mailbox");
	at = strchr(s, '@');
	r->has_domain = at != NULL;
	r->local_len = at != NULL ? (size_t)(at - s) : n;
	if (r->has_domain && n > 0 && s[n - 1] == '.')
		s[--n] = '\0'; /* example.org. is example.org */
	if (r->has_domain && (size_t)(r->local_len + 1) == n)
		return refuse(why, "an empty domain");
	/* a domain literal keeps its brackets, and only there */
	lit_open = r->has_domain && s[r->local_len + 1] == '[' &&
	    s[n - 1] == ']' ? r->local_len + 1 : n;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool in_lit = lit_open < n && i >= lit_open;

		/* "[IPv6:2001:db8::1]" has colons */
		if (special(c) && !(in_lit && (i == lit_open || i == n - 1 ||
					      c == ':')))
			return refuse(why, "a space, control or special "
			                   "character in the address");
		if (c >= 0x80 && i < r->local_len)
			r->undone |= CLS_RCPT_8BIT;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		r->addr[i] = (char)c;
	}
	r->addr[n] = '\0';
	return 0;
}

int
cls_rcpt_cut(const struct cls_rcpt *r, const char *delims, char *out,
    size_t outlen)
{
	size_t i, end = r->local_len;
	int w;

	if (delims != NULL && *delims != '\0')
		for (i = 1; i < r->local_len; i++)
			if (strchr(delims, r->addr[i]) != NULL) {
				end = i;
				break;
			}
	w = snprintf(out, outlen, "%.*s%s", (int)end, r->addr,
	    r->addr + r->local_len);
	return w >= 0 && (size_t)w < outlen ? 0 : ES_EINVAL;
}

/* The case folds of Unicode that end in ASCII (CaseFolding.txt, status
 * C and F), as UTF-8. */
static const struct {
	const char *utf8, *ascii;
} folds[] = {
    {"\xc5\xbf", "s"},       /* U+017F LATIN SMALL LETTER LONG S */
    {"\xe2\x84\xaa", "k"},   /* U+212A KELVIN SIGN */
    {"\xc3\x9f", "ss"},      /* U+00DF LATIN SMALL LETTER SHARP S */
    {"\xe1\xba\x9e", "ss"},  /* U+1E9E LATIN CAPITAL LETTER SHARP S */
    {"\xef\xac\x80", "ff"},  /* U+FB00 .. U+FB06 Latin ligatures */
    {"\xef\xac\x81", "fi"},
    {"\xef\xac\x82", "fl"},
    {"\xef\xac\x83", "ffi"},
    {"\xef\xac\x84", "ffl"},
    {"\xef\xac\x85", "st"},
    {"\xef\xac\x86", "st"},
};

bool
cls_rcpt_fold(const struct cls_rcpt *r, char *out, size_t outlen)
{
	size_t i = 0, o = 0, k, n = strlen(r->addr);
	bool changed = false;

	if (!(r->undone & CLS_RCPT_8BIT))
		return false;
	while (i < n) {
		const char *rep = NULL;
		size_t skip = 1, rl;

		for (k = 0; i < r->local_len && k < sizeof(folds) / sizeof(folds[0]);
		     k++) {
			size_t fl = strlen(folds[k].utf8);

			if (i + fl <= r->local_len &&
			    memcmp(r->addr + i, folds[k].utf8, fl) == 0) {
				rep = folds[k].ascii;
				skip = fl;
				break;
			}
		}
		rl = rep != NULL ? strlen(rep) : 1;
		if (o + rl >= outlen)
			return false;
		memcpy(out + o, rep != NULL ? rep : r->addr + i, rl);
		o += rl;
		i += skip;
		changed |= rep != NULL;
	}
	out[o] = '\0';
	return changed;
}
