/*
 * cls_dspam_tok.c - DSPAM 3.10's word, chain and OSB tokenizers (see
 * cls_dspam_tok.h), re-implemented from DSPAM's behaviour and checked
 * against token tables DSPAM made (tests/data/dspam-golden).
 *
 * Input: the header text and body text DSPAM makes of the message
 * (cls_dspam_texts). Output: token texts counted in a token set, each
 * text's id its CRC-64.
 *
 * URLs (DSPAM's ProcessorURLContext, on by default): in the body text,
 * for "http://", then "www.", then "href=" (any case), every occurrence
 * runs to the first byte that is a control, space, 8-bit, '>' or a
 * quote after the key's end; it is split on the word tokenizers' body
 * delimiters into "Url*piece" tokens (every piece, any length) and then
 * overwritten with spaces, so it is not read again as body words.
 *
 * Header text: one physical line at a time (a folded field is several
 * lines; no pair spans two lines). The text up to the line's first ':'
 * (after any leading ':') is the heading when it starts with no blank
 * and holds no space; the line's words are then those after that ':'.
 * Any other line is a continuation: it keeps the heading before it and
 * - DSPAM's oddity, copied because the ids depend on it - only its text
 * up to its first ':' is read (DSPAM's split at ':' ends the string
 * there before the line is read again). So a header line without a
 * name, like an mbox "From " line, gives "*word" tokens under the
 * empty heading at the start, and the time "10:52:31" in a folded
 * Received: line gives only "10". A heading is cut to 127 bytes.
 * Headings starting with "X-DSPAM-" (any case: DSPAM compared the case,
 * but forged variants in any case are ignored here too) are not
 * tokenized.
 *
 * Words: runs of bytes between delimiters, kept when min_len <= length
 * <= max_len (DSPAM: 1 and 49; a longer word is skipped as if absent,
 * so neighbours around it pair up), no case folding. Delimiters:
 *   word, chain: body " .,;:\n\t\r@-+*", headers the same without '.';
 *   osb: body " .,;:\"/\\[]}{=+_()<>|&\n\t\r@-*~`?#$%^", headers the
 *        same without '.', '_' and '-'.
 * Token texts:
 *   word:  "word" in the body, "Heading*word" in headers; word and
 *          chain drop every byte after a '!' that is followed by more
 *          ("wow!!!" -> "wow!", "a!b" -> "a!"), DSPAM's end-of-token
 *          rule;
 *   chain: also "prev+word" ("Heading*prev+word") for neighbours in one
 *          header line or anywhere in the body;
 *   osb:   for each word and each of its up to four predecessors in the
 *          header line or the body, "prev" + "+#" per word between +
 *          "+word" (prefixed "Heading*" in headers), e.g. "a+#+#+d"; no
 *          single words, no '!' rule.
 * A text is cut to 255 bytes (DSPAM's buffers). An OSB pair is built as
 * DSPAM builds it, in its 256-byte key: a word that would not fit is
 * left out (only possible with max_len far above DSPAM's 49).
 *
 * Errors: ES_ENOMEM stops tokenizing; the set's bound only drops tokens.
 * Pure code, no globals; thread-safe for distinct sets.
 */
#include "cls_dspam_tok.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cls_dspam_msg.h"
#include "es_buf.h"
#include "es_err.h"

/* DSPAM's token buffer: 255 bytes and the NUL. */
#define TEXT_MAX 255
/* DSPAM's heading buffer: 127 bytes and the NUL. */
#define HEADING_MAX 127
/* OSB: a word pairs with this many predecessors. */
#define OSB_PREV 4

/* Delimiter classes. */
#define D_WORD_BODY 0x1u
#define D_WORD_HEAD 0x2u
#define D_OSB_BODY 0x4u
#define D_OSB_HEAD 0x8u
#define D_WORD (D_WORD_BODY | D_WORD_HEAD)
#define D_OSB (D_OSB_BODY | D_OSB_HEAD)
#define D_ALL (D_WORD | D_OSB)
static const unsigned char delim[256] = {
    [' '] = D_ALL,
    [','] = D_ALL,
    [';'] = D_ALL,
    [':'] = D_ALL,
    ['\n'] = D_ALL,
    ['\t'] = D_ALL,
    ['\r'] = D_ALL,
    ['@'] = D_ALL,
    ['*'] = D_ALL,
    ['.'] = D_WORD_BODY | D_OSB_BODY,
    ['-'] = D_WORD | D_OSB_BODY,
    ['+'] = D_ALL,
    ['_'] = D_OSB_BODY,
    ['"'] = D_OSB,
    ['/'] = D_OSB,
    ['\\'] = D_OSB,
    ['['] = D_OSB,
    [']'] = D_OSB,
    ['}'] = D_OSB,
    ['{'] = D_OSB,
    ['='] = D_OSB,
    ['('] = D_OSB,
    [')'] = D_OSB,
    ['<'] = D_OSB,
    ['>'] = D_OSB,
    ['|'] = D_OSB,
    ['&'] = D_OSB,
    ['~'] = D_OSB,
    ['`'] = D_OSB,
    ['?'] = D_OSB,
    ['#'] = D_OSB,
    ['$'] = D_OSB,
    ['%'] = D_OSB,
    ['^'] = D_OSB,
};

/* One tokenizing run. */
struct dtok {
	const struct cls_tok_opts *o;
	struct cls_tset *set;
	int err; /* ES_ENOMEM once the set failed */
	char heading[HEADING_MAX + 1];
	size_t hlen;
	bool in_header;             /* tokens get "Heading*" and flags */
	bool skip;                  /* an X-DSPAM- heading */
	uint32_t flags;             /* of header tokens */
	const char *prev[OSB_PREV]; /* the section's last words, oldest first */
	size_t prevlen[OSB_PREV];
	size_t nprev;
};

/* A token text being built, cut at TEXT_MAX as snprintf() cuts. */
struct text {
	char b[TEXT_MAX + 1];
	size_t n;
};

static void
put(struct text *t, const char *s, size_t len)
{
	size_t room = TEXT_MAX - t->n;

	if (len > room)
		len = room;
	memcpy(t->b + t->n, s, len);
	t->n += len;
}

/* emit - count the text; header flags in headers. */
static void
emit(struct dtok *d, const struct text *t)
{
	uint32_t fl = d->in_header ? d->flags : 0;

	if (cls_tset_add_flags(d->set, t->b, t->n, fl) == ES_ENOMEM)
		d->err = ES_ENOMEM;
}

/* start - "Heading*" in headers, nothing in the body. */
static void
start(const struct dtok *d, struct text *t)
{
	t->n = 0;
	if (d->in_header) {
		put(t, d->heading, d->hlen);
		put(t, "*", 1);
	}
}

/* eot - the length of a word by DSPAM's end-of-token rule. */
static size_t
eot(const char *w, size_t len)
{
	while (len > 1 && w[len - 2] == '!')
		len--;
	return len;
}

/* remember - w becomes the newest word of the section's window. */
static void
remember(struct dtok *d, const char *w, size_t len)
{
	if (d->nprev == OSB_PREV) {
		memmove(
		    d->prev, d->prev + 1, (OSB_PREV - 1) * sizeof(d->prev[0]));
		memmove(d->prevlen, d->prevlen + 1,
		    (OSB_PREV - 1) * sizeof(d->prevlen[0]));
		d->nprev--;
	}
	d->prev[d->nprev] = w;
	d->prevlen[d->nprev] = len;
	d->nprev++;
}

/*
 * osb_pair - "a" + "+#" x (gap - 1) + "+b" as DSPAM's 256-byte key
 * makes it: five positions joined by '+', a word only where it fits,
 * '#' elsewhere, trailing "+#" removed.
 */
static void
osb_pair(struct dtok *d, const char *a, size_t al, size_t gap, const char *b,
    size_t bl)
{
	char key[TEXT_MAX + 1];
	size_t kl = 0, i;
	struct text t;

	if (al < TEXT_MAX) {
		memcpy(key, a, al);
		kl = al;
	}
	for (i = 1; i <= OSB_PREV; i++) {
		if (kl < TEXT_MAX)
			key[kl++] = '+';
		if (i == gap && kl + bl < TEXT_MAX) {
			memcpy(key + kl, b, bl);
			kl += bl;
		} else if (i != gap && kl < TEXT_MAX) {
			key[kl++] = '#';
		}
	}
	while (kl > 2 && key[kl - 2] == '+' && key[kl - 1] == '#')
		kl -= 2;
	start(d, &t);
	put(&t, key, kl);
	emit(d, &t);
}

/* word - one word of the current section. */
static void
word(struct dtok *d, const char *w, size_t len)
{
	struct text t;
	size_t g, pl;

	if (!cls_tok_keep(d->o, w, len) || d->skip)
		return;
	if (d->o->kind == CLS_TOK_OSB) {
		for (g = 1; g <= d->nprev && d->err == 0; g++)
			osb_pair(d, d->prev[d->nprev - g],
			    d->prevlen[d->nprev - g], g, w, len);
		remember(d, w, len);
		return;
	}
	start(d, &t);
	put(&t, w, eot(w, len));
	emit(d, &t);
	if (d->o->kind != CLS_TOK_CHAIN)
		return;
	if (d->nprev > 0 && d->err == 0) {
		pl = d->prevlen[d->nprev - 1];
		start(d, &t);
		put(&t, d->prev[d->nprev - 1], eot(d->prev[d->nprev - 1], pl));
		put(&t, "+", 1);
		put(&t, w, eot(w, len));
		emit(d, &t);
	}
	remember(d, w, len);
}

/* words - split s (n bytes) on the delimiter class and count words. */
static void
words(struct dtok *d, const char *s, size_t n, unsigned cls)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j;

	while (i < n && d->err == 0) {
		while (i < n && (delim[p[i]] & cls))
			i++;
		for (j = i; j < n && !(delim[p[j]] & cls); j++)
			;
		if (j > i)
			word(d, s + i, j - i);
		i = j;
	}
}

/* route - a delivery header (CLS_TF_ROUTE). */
static bool
route(const char *h, size_t n)
{
	static const char *const names[] = {"Received", "Return-Path", "To",
	    "Cc", "Delivered-To", "X-Original-To", "Envelope-To",
	    "X-Envelope-To"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(h, names[i], n) == 0)
			return true;
	return false;
}

/* set_heading - the heading of the lines that follow. */
static void
set_heading(struct dtok *d, const char *h, size_t n)
{
	if (n > HEADING_MAX)
		n = HEADING_MAX;
	memcpy(d->heading, h, n);
	d->hlen = n;
	d->skip = n >= 8 && strncasecmp(h, "X-DSPAM-", 8) == 0;
	d->flags = CLS_TF_HEADER | (route(h, n) ? CLS_TF_ROUTE : 0);
}

/* header_line - one physical line (n bytes) of the header text. */
static void
header_line(struct dtok *d, const char *s, size_t n, unsigned cls)
{
	size_t t0 = 0, e0;

	/* the text before the first ':' (leading ':' skipped) */
	while (t0 < n && s[t0] == ':')
		t0++;
	for (e0 = t0; e0 < n && s[e0] != ':'; e0++)
		;
	d->nprev = 0;
	if (t0 < n && s[t0] != ' ' && s[t0] != '\t' &&
	    memchr(s + t0, ' ', e0 - t0) == NULL) {
		set_heading(d, s + t0, e0 - t0);
		if (e0 < n)
			words(d, s + e0 + 1, n - e0 - 1, cls);
	} else {
		/* a continuation: read only up to its first ':' (DSPAM) */
		words(d, s, e0, cls);
	}
	d->nprev = 0;
}

/* headers - the header text, line by line. */
static void
headers(struct dtok *d, const char *s, size_t n, unsigned cls)
{
	const char *nl;
	size_t i = 0, e;

	d->in_header = true;
	d->hlen = 0;
	set_heading(d, "", 0);
	while (i < n && d->err == 0) {
		nl = memchr(s + i, '\n', n - i);
		e = nl ? (size_t)(nl - s) : n;
		if (e > i)
			header_line(d, s + i, e - i, cls);
		i = e + 1;
	}
	d->in_header = false;
	d->skip = false;
}

/* find_key - the first occurrence of key (lowercase) in s[i..n), any
 * case, or n. */
static size_t
find_key(const char *s, size_t n, size_t i, const char *key, size_t kl)
{
	for (; i + kl <= n; i++)
		if ((s[i] | 0x20) == key[0] && (s[i + 1] | 0x20) == key[1] &&
		    strncasecmp(s + i, key, kl) == 0)
			return i;
	return n;
}

/* url_end - the length of the URL at s[q..n) found by a key of kl bytes. */
static size_t
url_end(const char *s, size_t n, size_t q, size_t kl)
{
	size_t i = 0;
	signed char c;

	while (q + i < n) {
		c = (signed char)s[q + i];
		if (c <= 32 || c == '>' || ((c == '"' || c == '\'') && i > kl))
			break;
		i++;
	}
	return i;
}

/* urls - DSPAM's URL tokens of the body, blanked out of it. */
static void
urls(struct dtok *d, char *s, size_t n)
{
	static const char *const keys[] = {"http://", "www.", "href="};
	const unsigned char *p = (const unsigned char *)s;
	size_t k, kl, q, len, i, j;
	struct text t;

	for (k = 0; k < 3 && d->err == 0; k++) {
		kl = strlen(keys[k]);
		q = find_key(s, n, 0, keys[k], kl);
		while (q < n && d->err == 0) {
			len = url_end(s, n, q, kl);
			for (i = q; i < q + len && d->err == 0; i = j) {
				while (
				    i < q + len && (delim[p[i]] & D_WORD_BODY))
					i++;
				for (j = i; j < q + len &&
				            !(delim[p[j]] & D_WORD_BODY);
				     j++)
					;
				if (j > i) {
					t.n = 0;
					put(&t, "Url*", 4);
					put(&t, s + i, j - i);
					emit(d, &t);
				}
			}
			memset(s + q, ' ', len);
			q = find_key(s, n, q + len, keys[k], kl);
		}
	}
}

int
cls_dspam_tokenize(const char *msg, size_t len, const struct cls_tok_opts *o,
    struct cls_tset *set)
{
	struct es_buf head, body;
	struct dtok d;
	bool osb = o->kind == CLS_TOK_OSB;
	int rc;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.set = set;
	es_buf_init(&head, 4 * len + 1024);
	es_buf_init(&body, 4 * len + 1024);
	rc = cls_dspam_texts(msg, len, &head, &body);
	if (rc == ES_ELIMIT)
		rc = 0; /* cannot happen (see the bound); tokenize what is there
		         */
	if (rc == 0 && body.data != NULL)
		urls(&d, body.data, body.len);
	if (rc == 0 && d.err == 0 && head.data != NULL)
		headers(
		    &d, head.data, head.len, osb ? D_OSB_HEAD : D_WORD_HEAD);
	if (rc == 0 && d.err == 0 && body.data != NULL) {
		d.nprev = 0;
		words(&d, body.data, body.len, osb ? D_OSB_BODY : D_WORD_BODY);
	}
	es_buf_release(&head);
	es_buf_release(&body);
	return rc != 0 ? rc : d.err;
}
