/*
 * cls_tokenize.c - the tokenizers: DSPAM's word, chain and OSB, and
 * edgespam's own; the sender token for automatic whitelisting.
 *
 * Input is a parsed message (struct cls_msg); output is token texts
 * counted in a token set, where each text's id is DSPAM's CRC-64.
 *
 * What is tokenized, in this order:
 *   1. Header fields of the message's own header (part 0, not embedded),
 *      except names starting with X-DSPAM- (compared case-insensitively:
 *      forged variants in any case are ignored too). Added with
 *      CLS_TF_HEADER. Header names are used as written.
 *   2. URLs (msg->urls), split into pieces.
 *   3. Body text sections (msg->texts).
 *   4. Headers of embedded messages (message/rfc822 parts): tokenized
 *      like body text (name, then value, as one section), because DSPAM
 *      sees an embedded message as part of the body text.
 *   5. Part descriptions (msg->attach).
 * Headers of MIME parts (part > 0, not embedded) are skipped: they hold
 * boundaries, charsets and encodings, and the part's type and file name
 * already arrive as attach entries.
 * Every section (a header field, a text, an embedded header field, an
 * attach entry) starts a new chain/OSB window: no pair crosses sections.
 *
 * DSPAM tokenizers (word, chain, osb), as DSPAM 3.10 forms texts:
 *   - words are split on " .,;:\n\t\r@-+*" in text and on the same set
 *     without "." in headers; a NUL byte also splits (DSPAM never sees
 *     one). A word is kept if min_len <= length <= max_len (DSPAM: 1
 *     and 49); no case folding; numbers and 8-bit bytes kept unless
 *     skip_numbers drops all-digit words.
 *   - header word: "Name*word"; body word: "word"; URL piece:
 *     "Url*piece" (URL split on the body delimiters, every piece kept).
 *   - word and chain shorten a word ending in a run of '!' to end in one
 *     '!' ("wow!!!" -> "wow!"), as DSPAM does; OSB does not.
 *   - chain adds "prev+word" ("Name*prev+word" in headers).
 *   - osb adds, for each word w4 and its up to four predecessors
 *     w0..w3 in the section, "w3+w4", "w2+#+w4", "w1+#+#+w4",
 *     "w0+#+#+#+w4" (prefixed "Name*" in headers), and no single words.
 *   - a header name is cut to 127 bytes and a token text to 255 bytes,
 *     as DSPAM's fixed buffers do.
 * edgespam tokenizer: see cls_token.h and edgespam_words() below.
 *
 * Limits: token texts are built in a 256-byte stack buffer (no
 * allocation per token); the set bounds the number of distinct tokens.
 * Errors: ES_ENOMEM from the set stops tokenizing; tokens refused for
 * the set's bound are only counted (cls_tset_dropped).
 * Pure code, no globals; thread-safe for distinct sets.
 */
#include "cls_token.h"

#include <string.h>
#include <strings.h>

#include "es_err.h"

/* Longest token text, as DSPAM's snprintf into char[256]. */
#define TOK_TEXT_MAX 255
/* Longest header name in a token, as DSPAM's heading[128]. */
#define TOK_NAME_MAX 127
/* OSB window: a word and its four predecessors. */
#define TOK_OSB_PREV 4

/* Delimiter classes of DSPAM's tokenizers: bit 1 body, bit 2 header. */
#define DELIM_BODY 1
#define DELIM_HEAD 2
static const unsigned char dspam_delim[256] = {
	[0] = 3, [' '] = 3, ['.'] = 1, [','] = 3, [';'] = 3, [':'] = 3,
	['\n'] = 3, ['\t'] = 3, ['\r'] = 3, ['@'] = 3, ['-'] = 3, ['+'] = 3,
	['*'] = 3,
};

/* One tokenizing run: options, output, current section state. */
struct tok {
	const struct cls_tok_opts *o;
	struct cls_tset *set;
	int err;                  /* ES_ENOMEM once the set failed */
	char pfx[TOK_NAME_MAX + 8];
	size_t pfxlen;            /* "Name*", "subj:" or nothing */
	uint32_t flags;           /* CLS_TF_HEADER in headers */
	const char *prev[TOK_OSB_PREV]; /* section's last words, oldest first */
	size_t prevlen[TOK_OSB_PREV];
	size_t nprev;
};

/* cat - append len bytes of s to the text b of *n bytes, cut at the max. */
static void
cat(char *b, size_t *n, const char *s, size_t len)
{
	size_t room = TOK_TEXT_MAX - *n;

	if (len > room)
		len = room;
	memcpy(b + *n, s, len);
	*n += len;
}

/* add - count one token text; remember an out-of-memory failure. */
static void
add(struct tok *t, const char *text, size_t len)
{
	if (cls_tset_add_flags(t->set, text, len, t->flags) == ES_ENOMEM)
		t->err = ES_ENOMEM;
}

/* add_prefixed - count prefix + s. */
static void
add_prefixed(struct tok *t, const char *s, size_t len)
{
	char b[TOK_TEXT_MAX + 1];
	size_t n = 0;

	if (t->pfxlen == 0) {
		add(t, s, len > TOK_TEXT_MAX ? TOK_TEXT_MAX : len);
		return;
	}
	cat(b, &n, t->pfx, t->pfxlen);
	cat(b, &n, s, len);
	add(t, b, n);
}

/* section - start a section with a prefix (may be empty) and flags. */
static void
section(struct tok *t, const char *p1, size_t l1, const char *p2, size_t l2,
    uint32_t flags)
{
	memcpy(t->pfx, p1, l1);
	t->pfxlen = l1;
	memcpy(t->pfx + l1, p2, l2);
	t->pfxlen += l2;
	t->flags = flags;
	t->nprev = 0;
}

/* push - make w the newest word of the section's window. */
static void
push(struct tok *t, const char *w, size_t len)
{
	if (t->nprev == TOK_OSB_PREV) {
		memmove(t->prev, t->prev + 1,
		    (TOK_OSB_PREV - 1) * sizeof(t->prev[0]));
		memmove(t->prevlen, t->prevlen + 1,
		    (TOK_OSB_PREV - 1) * sizeof(t->prevlen[0]));
		t->nprev--;
	}
	t->prev[t->nprev] = w;
	t->prevlen[t->nprev] = len;
	t->nprev++;
}

/* all_digits - the word is made only of ASCII digits. */
static bool
all_digits(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (w[i] < '0' || w[i] > '9')
			return false;
	return true;
}

/* keep_word - the options' length and number rules. */
static bool
keep_word(const struct tok *t, const char *w, size_t len)
{
	if (len < t->o->min_len || len > t->o->max_len || len == 0)
		return false;
	return !(t->o->skip_numbers && all_digits(w, len));
}

/* dspam_word - one word of a DSPAM tokenizer, with its pairs. */
static void
dspam_word(struct tok *t, const char *w, size_t len)
{
	char b[TOK_TEXT_MAX + 1];
	size_t n, g, k;

	if (!keep_word(t, w, len))
		return;
	if (t->o->kind == CLS_TOK_OSB) {
		/* nearest predecessor first: w3+w4, w2+#+w4, ... */
		for (g = 0; g < t->nprev && t->err == 0; g++) {
			k = t->nprev - 1 - g;
			n = 0;
			cat(b, &n, t->pfx, t->pfxlen);
			cat(b, &n, t->prev[k], t->prevlen[k]);
			cat(b, &n, "+", 1);
			while (k++ < t->nprev - 1)
				cat(b, &n, "#+", 2);
			cat(b, &n, w, len);
			add(t, b, n);
		}
		push(t, w, len);
		return;
	}
	/* DSPAM's end-of-token rule: a run of '!' at the end becomes one */
	while (len > 1 && w[len - 2] == '!')
		len--;
	add_prefixed(t, w, len);
	if (t->o->kind == CLS_TOK_CHAIN) {
		if (t->nprev > 0 && t->err == 0) {
			n = 0;
			cat(b, &n, t->pfx, t->pfxlen);
			cat(b, &n, t->prev[t->nprev - 1], t->prevlen[t->nprev - 1]);
			cat(b, &n, "+", 1);
			cat(b, &n, w, len);
			add(t, b, n);
		}
		push(t, w, len);
	}
}

/* dspam_words - split text on the delimiter class and tokenize words. */
static void
dspam_words(struct tok *t, const char *s, size_t len, unsigned delim)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j;

	while (i < len && t->err == 0) {
		while (i < len && (dspam_delim[p[i]] & delim))
			i++;
		for (j = i; j < len && !(dspam_delim[p[j]] & delim); j++)
			;
		if (j > i)
			dspam_word(t, s + i, j - i);
		i = j;
	}
}

/* dspam_url - "Url*piece" for every piece of a URL. */
static void
dspam_url(struct tok *t, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j;

	section(t, "Url*", 4, "", 0, 0);
	while (i < len && t->err == 0) {
		while (i < len && (dspam_delim[p[i]] & DELIM_BODY))
			i++;
		for (j = i; j < len && !(dspam_delim[p[j]] & DELIM_BODY); j++)
			;
		if (j > i)
			add_prefixed(t, s + i, j - i);
		i = j;
	}
}

/* es_start - may begin an edgespam word: [A-Za-z$] or 8-bit. */
static bool
es_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '$' ||
	    c >= 0x80;
}

/* es_cont - may continue an edgespam word: also [0-9'._-]. */
static bool
es_cont(unsigned char c)
{
	return es_start(c) || (c >= '0' && c <= '9') || c == '\'' ||
	    c == '.' || c == '_' || c == '-';
}

/* es_trail - removed from the end of an edgespam word. */
static bool
es_trail(unsigned char c)
{
	return c == '.' || c == '\'' || c == '_' || c == '-';
}

/* es_alnum - letter, digit or 8-bit: what a leading digit's run spans. */
static bool
es_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

/*
 * edgespam_words - edgespam's words of text: a run that starts with
 * [A-Za-z$] or an 8-bit byte and goes on over [A-Za-z0-9$'._-] and 8-bit
 * bytes, with trailing . ' _ - removed. A run of letters and digits that
 * starts with a digit ("3rd", "10am") is skipped whole: a word never
 * starts inside it. Words of min_len..max_len bytes are kept.
 */
static void
edgespam_words(struct tok *t, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j, end;

	while (i < len && t->err == 0) {
		if (es_start(p[i])) {
			for (j = i + 1; j < len && es_cont(p[j]); j++)
				;
			for (end = j; end > i + 1 && es_trail(p[end - 1]); end--)
				;
			if (keep_word(t, s + i, end - i))
				add_prefixed(t, s + i, end - i);
			i = j;
		} else if (p[i] >= '0' && p[i] <= '9') {
			while (i < len && es_alnum(p[i]))
				i++;
		} else {
			i++;
		}
	}
}

/* es_url_sep - separates edgespam URL pieces. */
static bool
es_url_sep(unsigned char c)
{
	return c == '/' || c == ':' || c == '?' || c == '=' || c == '&';
}

/* edgespam_url - "url:piece" for every piece of a URL. */
static void
edgespam_url(struct tok *t, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, j;

	section(t, "url:", 4, "", 0, 0);
	while (i < len && t->err == 0) {
		while (i < len && es_url_sep(p[i]))
			i++;
		for (j = i; j < len && !es_url_sep(p[j]) && p[j] != 0; j++)
			;
		if (j > i)
			add_prefixed(t, s + i, j - i);
		/* a NUL ends a piece (the id would stop there anyway) */
		i = j < len && p[j] == 0 ? j + 1 : j;
	}
}

/* edgespam_attach - "fn:file" for "name:file", "ct:" + anything else. */
static void
edgespam_attach(struct tok *t, const char *s, size_t len)
{
	if (len >= 5 && strncmp(s, "name:", 5) == 0) {
		section(t, "fn:", 3, "", 0, 0);
		if (len > 5)
			add_prefixed(t, s + 5, len - 5);
	} else if (len > 0) {
		section(t, "ct:", 3, "", 0, 0);
		add_prefixed(t, s, len);
	}
}

/* name_is - the header name equals want, ignoring case. */
static bool
name_is(const struct cls_header *h, const char *want)
{
	size_t n = strlen(want);

	return h->name_len == n && strncasecmp(h->name, want, n) == 0;
}

/* edgespam_kind - the prefix of a header's words. */
static const char *
edgespam_kind(const struct cls_header *h)
{
	if (name_is(h, "Subject"))
		return "subj:";
	if (name_is(h, "From"))
		return "from:";
	if (name_is(h, "Return-Path"))
		return "rtrn:";
	if (name_is(h, "To"))
		return "to:";
	if (name_is(h, "Received"))
		return "rcvd:";
	return "head:";
}

/* is_dspam_header - X-DSPAM-*, never tokenized. */
static bool
is_dspam_header(const struct cls_header *h)
{
	return h->name_len >= 8 && strncasecmp(h->name, "X-DSPAM-", 8) == 0;
}

/* text_words - body words of a text section for the tokenizer kind. */
static void
text_words(struct tok *t, const char *s, size_t len)
{
	if (t->o->kind == CLS_TOK_EDGESPAM)
		edgespam_words(t, s, len);
	else
		dspam_words(t, s, len, DELIM_BODY);
}

/* own_header - one field of the message's own header. */
static void
own_header(struct tok *t, const struct cls_header *h)
{
	const char *k;
	size_t nl;

	if (t->o->kind == CLS_TOK_EDGESPAM) {
		k = edgespam_kind(h);
		section(t, k, strlen(k), "", 0, CLS_TF_HEADER);
		edgespam_words(t, h->value, h->value_len);
		return;
	}
	nl = h->name_len > TOK_NAME_MAX ? TOK_NAME_MAX : h->name_len;
	/* a NUL would end DSPAM's heading and the text's id there */
	nl = strnlen(h->name, nl);
	section(t, h->name, nl, "*", 1, CLS_TF_HEADER);
	dspam_words(t, h->value, h->value_len, DELIM_HEAD);
}

/* headers - own header fields, or embedded ones as body text. */
static void
headers(struct tok *t, const struct cls_msg *msg, bool embedded)
{
	const struct cls_header *h;
	size_t i;

	for (i = 0; i < msg->nhdrs && t->err == 0; i++) {
		h = &msg->hdrs[i];
		if (h->embedded != embedded || is_dspam_header(h))
			continue;
		if (!embedded) {
			if (h->part == 0)
				own_header(t, h);
			continue;
		}
		section(t, "", 0, "", 0, 0);
		text_words(t, h->name, h->name_len);
		text_words(t, h->value, h->value_len);
	}
}

int
cls_tokenize(const struct cls_msg *msg, const struct cls_tok_opts *o,
    struct cls_tset *set)
{
	struct tok t;
	const struct cls_text *x;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.o = o;
	t.set = set;
	headers(&t, msg, false);
	for (i = 0; i < msg->nurls && t.err == 0; i++) {
		x = &msg->urls[i];
		if (o->kind == CLS_TOK_EDGESPAM)
			edgespam_url(&t, x->data, x->len);
		else
			dspam_url(&t, x->data, x->len);
	}
	for (i = 0; i < msg->ntexts && t.err == 0; i++) {
		section(&t, "", 0, "", 0, 0);
		text_words(&t, msg->texts[i].data, msg->texts[i].len);
	}
	headers(&t, msg, true);
	for (i = 0; i < msg->nattach && t.err == 0; i++) {
		x = &msg->attach[i];
		if (o->kind == CLS_TOK_EDGESPAM) {
			edgespam_attach(&t, x->data, x->len);
		} else {
			section(&t, "", 0, "", 0, 0);
			dspam_words(&t, x->data, x->len, DELIM_BODY);
		}
	}
	return t.err;
}

int
cls_sender_token(const struct cls_msg *msg, uint64_t *id)
{
	const struct cls_header *h;
	char b[TOK_TEXT_MAX + 1];
	const char *v;
	size_t i, n, len;

	for (i = 0; i < msg->nhdrs; i++) {
		h = &msg->hdrs[i];
		if (h->part != 0 || h->embedded || !name_is(h, "From"))
			continue;
		v = h->value;
		len = h->value_len;
		while (len > 0 && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
		    v[len - 1] == '\r' || v[len - 1] == '\n'))
			len--;
		/* an empty From: would whitelist every sender without one */
		if (len == 0)
			return ES_ENOTFOUND;
		n = 0;
		cat(b, &n, "From*", 5);
		cat(b, &n, v, len);
		*id = cls_crc64(b, n);
		return 0;
	}
	return ES_ENOTFOUND;
}

void
cls_tok_opts_default(struct cls_tok_opts *o, enum cls_tokenizer kind)
{
	o->kind = kind;
	o->skip_numbers = false;
	if (kind == CLS_TOK_EDGESPAM) {
		o->min_len = 3;
		o->max_len = 30;
	} else {
		o->min_len = 1;
		o->max_len = 49;
	}
}

static const struct {
	enum cls_tokenizer kind;
	const char *name;
} tokenizer_names[] = {
	{CLS_TOK_WORD, "word"},
	{CLS_TOK_CHAIN, "chain"},
	{CLS_TOK_OSB, "osb"},
	{CLS_TOK_EDGESPAM, "edgespam"},
};

const char *
cls_tokenizer_name(enum cls_tokenizer kind)
{
	size_t i;

	for (i = 0; i < sizeof(tokenizer_names) / sizeof(tokenizer_names[0]);
	    i++)
		if (tokenizer_names[i].kind == kind)
			return tokenizer_names[i].name;
	return "unknown";
}

int
cls_tokenizer_parse(const char *name, enum cls_tokenizer *kind)
{
	size_t i;

	for (i = 0; i < sizeof(tokenizer_names) / sizeof(tokenizer_names[0]);
	    i++)
		if (strcmp(tokenizer_names[i].name, name) == 0) {
			*kind = tokenizer_names[i].kind;
			return 0;
		}
	return ES_EINVAL;
}
