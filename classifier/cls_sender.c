/*
 * cls_sender.c - sender allow and block lists (see cls_sender.h).
 *
 * What it does: checks and normalises list patterns, finds the address
 * in an envelope sender or a From: field, lists the patterns that could
 * match an address, decides a message from what the store found, and
 * finds the original sender of a forwarded message.
 *
 * What it does not: it reads no store and trusts no address. Every
 * address in a message is forgeable; an allow list entry trusts it, a
 * block list entry can only be evaded by changing it. That is why a
 * block of either address wins (cls_sender_decide).
 *
 * Limits: an address or pattern is at most CLS_SENDER_MAX bytes, a
 * domain 253 and a label 63 (RFC 1035); a "*." pattern names at most
 * CLS_SENDER_MAX_LABELS labels, and an address's "*." candidates are
 * its domain's last CLS_SENDER_MAX_LABELS suffixes, so a sender cannot
 * escape "*.example.com" by adding subdomains. The scanners are linear
 * in their input and never read past the given length.
 */
#include "cls_sender.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "es_err.h"

#define DOMAIN_MAX 253
#define LABEL_MAX 63
#define LOCAL_MAX 64

const char *
cls_sender_list_name(enum cls_sender_list l)
{
	switch (l) {
	case CLS_SENDER_ALLOW: return "allow";
	case CLS_SENDER_BLOCK: return "block";
	default: return NULL;
	}
}

int
cls_sender_list_parse(const char *s, enum cls_sender_list *l)
{
	if (strcmp(s, "allow") == 0)
		*l = CLS_SENDER_ALLOW;
	else if (strcmp(s, "block") == 0)
		*l = CLS_SENDER_BLOCK;
	else
		return ES_EINVAL;
	return 0;
}

const char *
cls_sender_source_name(enum cls_sender_source s)
{
	return s == CLS_SENDER_ENVELOPE ? "envelope sender" : "From:";
}

/* lower - ASCII lowercase of ch; 8-bit bytes unchanged. */
static char
lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* domain_ok - d (len bytes, lowercase) is a usable DNS name; the number
 * of its labels goes to *labels. No IP literals, no empty labels. */
static bool
domain_ok(const char *d, size_t len, size_t *labels)
{
	size_t i, lab = 0;

	*labels = 0;
	if (len == 0 || len > DOMAIN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)d[i];

		if (ch == '.') {
			if (lab == 0)
				return false;
			(*labels)++;
			lab = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			ch == '-' || ch == '_' || ch >= 0x80))
			return false;
		if (++lab > LABEL_MAX)
			return false;
	}
	if (lab == 0)
		return false;
	(*labels)++;
	return true;
}

/* local_ok - the local part l (len bytes) has no blank, control,
 * bracket, '@' or wildcard byte. */
static bool
local_ok(const char *l, size_t len)
{
	size_t i;

	if (len == 0 || len > LOCAL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)l[i];

		if (ch <= 0x20 || ch == 0x7f || strchr("<>@*?,;()[]\\\"", ch))
			return false;
	}
	return true;
}

/* shown - a printable copy of s (len bytes) for a message, cut. */
static const char *
shown(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < buflen; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (i < len && o + 3 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* copy_lower - lowercase len bytes of s into out; false if too long. */
static bool
copy_lower(const char *prefix, const char *s, size_t len, char *out,
    size_t outlen)
{
	size_t p = strlen(prefix), i;

	if (p + len >= outlen || p + len > CLS_SENDER_MAX)
		return false;
	memcpy(out, prefix, p);
	for (i = 0; i < len; i++)
		out[p + i] = lower(s[i]);
	out[p + len] = '\0';
	return true;
}

/* addr_split - check a lowercased address a (len bytes): local@domain,
 * split at its last '@'. */
static bool
addr_check(const char *a, size_t len)
{
	const char *at;
	size_t labels;

	for (at = a + len; at > a && at[-1] != '@'; at--)
		;
	if (at == a)
		return false;
	at--;
	return local_ok(a, (size_t)(at - a)) &&
	    domain_ok(at + 1, len - (size_t)(at - a) - 1, &labels);
}

/* pattern_error - ES_EINVAL with "pattern "X": why". */
static int
pattern_error(const char *in, size_t len, const char *why, char *err,
    size_t errlen)
{
	char buf[80];

	snprintf(err, errlen, "pattern \"%s\": %s",
	    shown(in, len, buf, sizeof(buf)), why);
	return ES_EINVAL;
}

int
cls_sender_pattern(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *s = in;
	size_t len = strlen(in), labels;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '<' && s[len - 1] == '>') {
		s++;
		len -= 2;
	}
	if (len == 0)
		return pattern_error(in, strlen(in), "empty", err, errlen);
	if (len > CLS_SENDER_MAX)
		return pattern_error(s, len, "longer than 255 bytes", err,
		    errlen);
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		if (!copy_lower("*.", s + 2, len - 2, out, outlen) ||
		    !domain_ok(out + 2, len - 2, &labels))
			return pattern_error(s, len, "not a domain after "
			    "\"*.\"", err, errlen);
		if (labels > CLS_SENDER_MAX_LABELS)
			return pattern_error(s, len, "more than 10 labels "
			    "after \"*.\"", err, errlen);
		return 0;
	}
	if (s[0] == '*' && len >= 2 && s[1] == '@')
		return pattern_error(s, len, "write \"@domain\" for every "
		    "address at a domain", err, errlen);
	if (memchr(s, '*', len) != NULL || memchr(s, '?', len) != NULL)
		return pattern_error(s, len, "the only wildcard is a leading "
		    "\"*.\" (as in *.example.com)", err, errlen);
	if (s[0] == '@') {
		if (!copy_lower("@", s + 1, len - 1, out, outlen) ||
		    !domain_ok(out + 1, len - 1, &labels))
			return pattern_error(s, len, "not a domain after "
			    "\"@\"", err, errlen);
		return 0;
	}
	if (memchr(s, '@', len) == NULL)
		return pattern_error(s, len, "neither an address "
		    "(user@example.com) nor a domain (@example.com, "
		    "*.example.com)", err, errlen);
	if (!copy_lower("", s, len, out, outlen) || !addr_check(out, len))
		return pattern_error(s, len, "not a usable address", err,
		    errlen);
	return 0;
}

/* The scanner of cls_sender_address: quoted strings and comments
 * (RFC 5322, 3.2.4 and 3.2.2) are skipped, so an address-like text in
 * a display name never counts. */
struct scan {
	const char *s;
	size_t len, i;
};

/* skip_quoted - past the quoted string or comment starting at i. */
static void
skip_quoted(struct scan *sc)
{
	char open = sc->s[sc->i];
	unsigned depth = 0;

	for (; sc->i < sc->len; sc->i++) {
		char ch = sc->s[sc->i];

		if (ch == '\\') {
			sc->i++;
			continue;
		}
		if (open == '"') {
			if (ch == '"' && depth++ > 0)
				return;
			continue;
		}
		if (ch == '(')
			depth++;
		else if (ch == ')' && --depth == 0)
			return;
	}
}

/* finish - check and lowercase the address a (len bytes) into out. */
static int
finish(const char *a, size_t len, char *out, size_t outlen)
{
	const char *colon;

	/* an obsolete source route, "<@relay:user@example.com>" */
	if (len > 0 && a[0] == '@' &&
	    (colon = memchr(a, ':', len)) != NULL) {
		len -= (size_t)(colon + 1 - a);
		a = colon + 1;
	}
	if (len >= 7 && strncasecmp(a, "mailto:", 7) == 0) {
		a += 7;
		len -= 7;
	}
	while (len > 0 && a[len - 1] == '.') /* a root dot */
		len--;
	if (len == 0)
		return ES_ENOTFOUND;
	if (!copy_lower("", a, len, out, outlen) || !addr_check(out, len))
		return ES_EINVAL;
	return 0;
}

int
cls_sender_address(const char *in, size_t len, char *out, size_t outlen)
{
	struct scan sc = {in, len, 0};
	size_t start, word = 0;
	bool in_word = false, has_at = false;

	/* an angle address wins: "Name <a@b>" */
	for (sc.i = 0; sc.i < len; sc.i++) {
		char ch = in[sc.i];

		if (ch == '"' || ch == '(') {
			skip_quoted(&sc);
		} else if (ch == ',') {
			break; /* only the first of a list */
		} else if (ch == '<') {
			start = ++sc.i;
			while (sc.i < len && in[sc.i] != '>')
				sc.i++;
			return finish(in + start, sc.i - start, out, outlen);
		}
	}
	/* else the first bare word with an '@': "a@b (Name)" */
	for (sc.i = 0; sc.i <= len; sc.i++) {
		char ch = sc.i < len ? in[sc.i] : ' ';
		bool delim = ch == ' ' || ch == '\t' || ch == '\r' ||
		    ch == '\n' || ch == ',' || ch == ';' || ch == '[' ||
		    ch == ']' || ch == '"' || ch == '(';

		if (!delim) {
			if (!in_word)
				word = sc.i;
			in_word = true;
			has_at |= ch == '@';
			continue;
		}
		if (in_word && has_at)
			return finish(in + word, sc.i - word, out, outlen);
		in_word = has_at = false;
		if (ch == '"' || ch == '(')
			skip_quoted(&sc);
		else if (ch == ',')
			break;
	}
	return ES_ENOTFOUND;
}

void
cls_sender_cands_init(struct cls_sender_cands *c)
{
	c->n = 0;
}

/* add - one candidate: prefix and text. */
static int
add(struct cls_sender_cands *c, const char *prefix, const char *text,
    enum cls_sender_source src)
{
	if (c->n >= CLS_SENDER_CANDIDATES)
		return ES_ELIMIT;
	if ((size_t)snprintf(c->pat[c->n], sizeof(c->pat[0]), "%s%s", prefix,
		text) >= sizeof(c->pat[0]))
		return ES_EINVAL;
	c->src[c->n++] = src;
	return 0;
}

int
cls_sender_candidates(struct cls_sender_cands *c, const char *addr,
    enum cls_sender_source src)
{
	const char *dom = strrchr(addr, '@'), *p;
	size_t dots = 0, skip, n0 = c->n;
	int rc;

	if (dom == NULL || dom == addr || dom[1] == '\0')
		return ES_EINVAL;
	if (c->n + CLS_SENDER_PER_ADDR > CLS_SENDER_CANDIDATES)
		return ES_ELIMIT;
	dom++;
	for (p = dom; *p != '\0'; p++)
		dots += *p == '.';
	/* keep the last CLS_SENDER_MAX_LABELS labels' suffixes */
	skip = dots + 1 > CLS_SENDER_MAX_LABELS
	    ? dots + 1 - CLS_SENDER_MAX_LABELS
	    : 0;
	if ((rc = add(c, "", addr, src)) != 0 ||
	    (rc = add(c, "@", dom, src)) != 0)
		goto fail;
	for (p = dom;; p++) {
		if (skip == 0 && (p == dom || p[-1] == '.') &&
		    (rc = add(c, "*.", p, src)) != 0)
			goto fail;
		if (*p == '\0')
			break;
		if (*p == '.' && skip > 0)
			skip--;
	}
	return 0;
fail:
	c->n = n0;
	return rc;
}

void
cls_sender_decide(const struct cls_sender_cands *c,
    const enum cls_sender_list *found, struct cls_sender_decision *d)
{
	size_t best[CLS_SENDER_SOURCES], i;
	bool have[CLS_SENDER_SOURCES] = {false};
	int s;

	memset(d, 0, sizeof(*d));
	d->list = CLS_SENDER_NONE;
	for (i = 0; i < c->n; i++) { /* most specific first per source */
		s = (int)c->src[i];
		if (found[i] != CLS_SENDER_NONE && !have[s]) {
			have[s] = true;
			best[s] = i;
		}
	}
	for (s = 0; s < CLS_SENDER_SOURCES; s++) {
		if (!have[s])
			continue;
		i = best[s];
		if (d->list == CLS_SENDER_BLOCK)
			break;
		if (found[i] == CLS_SENDER_BLOCK || d->list == CLS_SENDER_NONE) {
			d->list = found[i];
			d->pattern = c->pat[i];
			d->src = c->src[i];
		}
	}
}

/* body_from - the first "From:" line with an address in t. */
static int
body_from(const struct cls_text *t, char *out, size_t outlen)
{
	const char *p = t->data, *end = t->data + t->len, *nl;

	for (; p < end; p = nl + 1) {
		const char *l = p;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		while (l < nl && (*l == '>' || *l == ' ' || *l == '\t' ||
				     *l == '*'))
			l++;
		if (nl - l > 5 && strncasecmp(l, "From:", 5) == 0) {
			l += 5;
			if (l < nl && *l == '*') /* "*From:*" (bold) */
				l++;
			if (cls_sender_address(l, (size_t)(nl - l), out,
				outlen) == 0)
				return 0;
		}
		if (nl == end)
			break;
	}
	return ES_ENOTFOUND;
}

/* header_from - the address of header h. */
static int
header_from(const struct cls_header *h, char *out, size_t outlen)
{
	return cls_sender_address(h->value, h->value_len, out, outlen);
}

int
cls_sender_forwarded(const struct cls_msg *m, char *out, size_t outlen,
    const char **how)
{
	const struct cls_header *h;
	const char *dummy;
	size_t i;

	if (how == NULL)
		how = &dummy;
	for (i = 0; i < m->nhdrs; i++) {
		h = &m->hdrs[i];
		if (h->embedded && h->name_len == 4 &&
		    strncasecmp(h->name, "From", 4) == 0 &&
		    header_from(h, out, outlen) == 0) {
			*how = "the attached message's From:";
			return 0;
		}
	}
	if (cls_msg_header(m, "Resent-From") != NULL &&
	    (h = cls_msg_header(m, "From")) != NULL &&
	    header_from(h, out, outlen) == 0) {
		*how = "From: of a redirected message (Resent-From:)";
		return 0;
	}
	for (i = 0; i < m->ntexts; i++)
		if (body_from(&m->texts[i], out, outlen) == 0) {
			*how = "a From: line of the forwarded text";
			return 0;
		}
	return ES_ENOTFOUND;
}
