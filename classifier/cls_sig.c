/*
 * cls_sig.c - signature ids, signature data, finding a signature in mail.
 *
 * edgespam data format (all integers little-endian):
 *   "ESG1"  magic, 4 bytes
 *   verdict 1 byte (enum cls_result), learned 1 byte (enum cls_class),
 *   reserved 2 bytes (zero)
 *   step    8 bytes, IEEE 754 double: the hybrid weight step applied
 *   prob    8 bytes, IEEE 754 double: the verdict's spam probability
 *   count   4 bytes, number of tokens
 *   count x { id: 8 bytes, flags: 1 byte }
 * "ESG2" is ESG1 with the SMTP client's address between the header and
 * the tokens: a length byte (1..CLS_SOURCE_LEN-1) and that many bytes of
 * printable ASCII. It is written only when the address is known, so
 * messages classified without one (the CLI) keep ESG1.
 * DSPAM 3.10 format: count x { id: 8 bytes, hits: 1 byte, padding: 7 },
 * recognised by its length (a multiple of 16) and the absence of the
 * magic. A legacy signature says nothing about the verdict; a correction
 * assumes the verdict was the other class, as DSPAM does.
 *
 * Hostile input: ids from mail are checked by cls_sig_id_valid() before
 * use; data from the store is length-checked before every read.
 */
#include "cls_sig.h"

#include <string.h>
#include <strings.h>

#include "es_alloc.h"
#include "es_err.h"

#define SIG_MAGIC "ESG1"
#define SIG_MAGIC2 "ESG2"
#define SIG_HDR_LEN 28
#define SIG_TOK_LEN 9
#define DSPAM_TOK_LEN 16
/* A message has at most max_tokens (<= 1,000,000) tokens; refuse data
 * claiming more, so a corrupt row cannot ask for a huge allocation. */
#define SIG_MAX_TOKENS 2000000u

void
cls_sig_id_format(const unsigned char rnd[16], char out[CLS_SIG_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	out[CLS_SIG_ID_LEN] = '\0';
}

bool
cls_sig_id_valid(const char *id, size_t len)
{
	size_t i;

	if (len < CLS_SIG_ID_MIN || len > CLS_SIG_ID_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* put64 - store v little-endian. */
static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* get64 - load a little-endian 64-bit value. */
static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* client_ok - a client text of len bytes fits and is printable ASCII. */
static bool
client_ok(const char *c, size_t len)
{
	if (len == 0 || len >= CLS_SOURCE_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (c[i] < 0x21 || c[i] > 0x7e)
			return false;
	return true;
}

int
cls_sig_encode(const struct cls_sig *sig, void **data, size_t *len)
{
	unsigned char *p, *t;
	uint64_t bits;
	size_t i, n = sig->ntokens;
	size_t clen = strnlen(sig->client, CLS_SOURCE_LEN);
	size_t extra = clen > 0 ? 1 + clen : 0;

	if (n > SIG_MAX_TOKENS)
		return ES_ELIMIT;
	if (clen > 0 && !client_ok(sig->client, clen))
		return ES_EINVAL;
	*len = SIG_HDR_LEN + extra + n * SIG_TOK_LEN;
	if ((p = es_malloc(*len)) == NULL)
		return ES_ENOMEM;
	memcpy(p, clen > 0 ? SIG_MAGIC2 : SIG_MAGIC, 4);
	p[4] = (unsigned char)sig->verdict;
	p[5] = (unsigned char)sig->learned;
	p[6] = p[7] = 0;
	memcpy(&bits, &sig->step, sizeof(bits));
	put64(p + 8, bits);
	memcpy(&bits, &sig->prob, sizeof(bits));
	put64(p + 16, bits);
	p[24] = (unsigned char)n;
	p[25] = (unsigned char)(n >> 8);
	p[26] = (unsigned char)(n >> 16);
	p[27] = (unsigned char)(n >> 24);
	if (clen > 0) {
		p[SIG_HDR_LEN] = (unsigned char)clen;
		memcpy(p + SIG_HDR_LEN + 1, sig->client, clen);
	}
	t = p + SIG_HDR_LEN + extra;
	for (i = 0; i < n; i++) {
		put64(t + i * SIG_TOK_LEN, sig->tokens[i].id);
		t[i * SIG_TOK_LEN + 8] = sig->tokens[i].flags;
	}
	*data = p;
	return 0;
}

/* decode_ours - the edgespam formats; len >= SIG_HDR_LEN and a magic
 * seen (v2: ESG2, with the client address). */
static int
decode_ours(const unsigned char *p, size_t len, struct cls_sig *sig, bool v2)
{
	const unsigned char *t;
	uint64_t bits;
	size_t n, i, extra = 0;

	n = (size_t)p[24] | (size_t)p[25] << 8 | (size_t)p[26] << 16 |
	    (size_t)p[27] << 24;
	if (v2) {
		if (len < SIG_HDR_LEN + 1 ||
		    len < SIG_HDR_LEN + 1 + (size_t)p[SIG_HDR_LEN] ||
		    !client_ok((const char *)p + SIG_HDR_LEN + 1,
			p[SIG_HDR_LEN]))
			return ES_EPARSE;
		extra = 1 + (size_t)p[SIG_HDR_LEN];
	}
	if (n > SIG_MAX_TOKENS ||
	    len != SIG_HDR_LEN + extra + n * SIG_TOK_LEN ||
	    p[4] > CLS_WHITELISTED || p[5] > CLS_CLASS_INNOCENT)
		return ES_EPARSE;
	if (v2) {
		memcpy(sig->client, p + SIG_HDR_LEN + 1, extra - 1);
		sig->client[extra - 1] = '\0';
	}
	t = p + SIG_HDR_LEN + extra;
	sig->verdict = (enum cls_result)p[4];
	sig->learned = (enum cls_class)p[5];
	bits = get64(p + 8);
	memcpy(&sig->step, &bits, sizeof(bits));
	bits = get64(p + 16);
	memcpy(&sig->prob, &bits, sizeof(bits));
	sig->legacy = false;
	if ((sig->tokens = es_calloc(n ? n : 1, sizeof(*sig->tokens))) == NULL)
		return ES_ENOMEM;
	for (i = 0; i < n; i++) {
		sig->tokens[i].id = get64(t + i * SIG_TOK_LEN);
		sig->tokens[i].flags = t[i * SIG_TOK_LEN + 8];
	}
	sig->ntokens = n;
	return 0;
}

/* decode_dspam - DSPAM 3.10's array of 16-byte entries. */
static int
decode_dspam(const unsigned char *p, size_t len, struct cls_sig *sig)
{
	size_t n = len / DSPAM_TOK_LEN, i;

	if (len == 0 || len % DSPAM_TOK_LEN != 0 || n > SIG_MAX_TOKENS)
		return ES_EPARSE;
	if ((sig->tokens = es_calloc(n, sizeof(*sig->tokens))) == NULL)
		return ES_ENOMEM;
	for (i = 0; i < n; i++) {
		sig->tokens[i].id = get64(p + i * DSPAM_TOK_LEN);
		sig->tokens[i].flags = CLS_SIGF_CHANGED;
	}
	sig->ntokens = n;
	sig->legacy = true;
	sig->verdict = CLS_INNOCENT;
	sig->learned = CLS_CLASS_NONE;
	sig->step = 0;
	sig->prob = 0.5;
	return 0;
}

int
cls_sig_decode(const void *data, size_t len, struct cls_sig *sig)
{
	const unsigned char *p = data;

	memset(sig, 0, sizeof(*sig));
	if (len >= SIG_HDR_LEN && memcmp(p, SIG_MAGIC, 4) == 0)
		return decode_ours(p, len, sig, false);
	if (len >= SIG_HDR_LEN && memcmp(p, SIG_MAGIC2, 4) == 0)
		return decode_ours(p, len, sig, true);
	return decode_dspam(p, len, sig);
}

void
cls_sig_clear(struct cls_sig *sig)
{
	es_free(sig->tokens);
	sig->tokens = NULL;
	sig->ntokens = 0;
}

/* take_id - copy a valid id of len bytes into id; false if invalid. */
static bool
take_id(const char *s, size_t len, char id[CLS_SIG_ID_LEN + 1])
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (!cls_sig_id_valid(s, len))
		return false;
	memcpy(id, s, len);
	id[len] = '\0';
	return true;
}

/* find_tag - the first valid "!DSPAM:id!" in text. */
static bool
find_tag(const char *t, size_t len, char id[CLS_SIG_ID_LEN + 1])
{
	static const char tag[] = "!DSPAM:";
	const size_t tl = sizeof(tag) - 1;
	const char *p = t, *end = t + len, *hit, *close;

	while ((size_t)(end - p) > tl &&
	    (hit = memmem(p, (size_t)(end - p), tag, tl)) != NULL) {
		const char *start = hit + tl;
		size_t room = (size_t)(end - start);

		if (room > CLS_SIG_ID_LEN + 1)
			room = CLS_SIG_ID_LEN + 1;
		close = memchr(start, '!', room);
		if (close != NULL && take_id(start, (size_t)(close - start), id))
			return true;
		p = start;
	}
	return false;
}

int
cls_sig_find(const struct cls_msg *msg, char id[CLS_SIG_ID_LEN + 1])
{
	static const char field[] = "X-DSPAM-Signature";
	const size_t fl = sizeof(field) - 1;
	size_t i;

	for (i = 0; i < msg->nhdrs; i++) {
		const struct cls_header *h = &msg->hdrs[i];

		if (h->part == 0 && !h->embedded && h->name_len == fl &&
		    strncasecmp(h->name, field, fl) == 0 &&
		    take_id(h->value, h->value_len, id))
			return 0;
	}
	for (i = 0; i < msg->ntexts; i++)
		if (find_tag(msg->texts[i].data, msg->texts[i].len, id))
			return 0;
	for (i = 0; i < msg->nhdrs; i++) {
		const struct cls_header *h = &msg->hdrs[i];

		if (h->embedded && h->name_len == fl &&
		    strncasecmp(h->name, field, fl) == 0 &&
		    take_id(h->value, h->value_len, id))
			return 0;
	}
	return ES_ENOTFOUND;
}
