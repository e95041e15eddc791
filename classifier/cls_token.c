/*
 * cls_token.c - DSPAM token ids (CRC-64), the per-message token set, and
 * the tokenizers: edgespam's own here, DSPAM's word, chain and OSB in
 * cls_dspam_tok.c.
 *
 * cls_crc64() is DSPAM 3.10's token id: the reflected CRC-64 with the
 * polynomial constant 0xd800000000000000, initial value 0, no final XOR,
 * over the bytes of the text up to the first NUL. The same text gives
 * the same id as DSPAM, so a DSPAM database keeps working.
 *
 * The token set maps ids to {count, flags, text} for one message:
 *   - an open-addressing hash (linear probing, power-of-two size, at
 *     most half full) whose slots hold an item index + 1 (0 = empty) and
 *     the id's high half, so a probe rarely touches the items;
 *   - the items array in insertion order, until cls_tset_sort() orders
 *     it by id and rebuilds the hash;
 *   - the body sequence: the id of every add without CLS_TF_HEADER, in
 *     order, for Bayesian noise reduction;
 *   - token texts (when kept) in set-owned chunks that never move, so
 *     item text pointers stay valid until reset or free.
 * Limits: at most max_tokens distinct ids and max_tokens sequence
 * entries, so a hostile message cannot grow the set without bound
 * (a new id past the bound is refused with ES_ELIMIT and counted).
 * Storage is allocated on first use and grows by doubling; reset keeps it.
 * Errors: ES_ENOMEM leaves the set exactly as it was before the call.
 * Ownership: the set owns its items, texts and sequence; pointers it
 * hands out stay valid until the next add, reset or free.
 * Not thread-safe per set; sets are independent. No globals.
 *
 * TOKENIZERS
 *
 * cls_tokenize() hands DSPAM's tokenizers (word, chain, osb) to
 * cls_dspam_tokenize() (cls_dspam_tok.c), which reads the message's raw
 * bytes as DSPAM 3.10 reads them, so that the token texts, ids and
 * counts are DSPAM's own. This file has the edgespam tokenizer, which
 * reads the parsed message (struct cls_msg); output is token texts
 * counted in a token set, each text's id DSPAM's CRC-64.
 *
 * What the edgespam tokenizer reads, in this order:
 *   1. Header fields of the message's own header (part 0, not embedded),
 *      except names starting with X-DSPAM- (compared case-insensitively:
 *      forged variants in any case are ignored too). Added with
 *      CLS_TF_HEADER, and those of delivery headers (Received,
 *      Return-Path, To, Cc, Delivered-To, X-Original-To, Envelope-To,
 *      X-Envelope-To) also with CLS_TF_ROUTE (the flags of a token are
 *      the union over its occurrences).
 *   2. URLs (msg->urls), split into pieces.
 *   3. Body text sections (msg->texts).
 *   4. Headers of embedded messages (message/rfc822 parts): tokenized
 *      like body text (name, then value).
 *   5. Part descriptions (msg->attach).
 * Headers of MIME parts (part > 0, not embedded) are skipped: they hold
 * boundaries, charsets and encodings, and the part's type and file name
 * already arrive as attach entries.
 * Its tokens:
 *   - words as edgespam_words() below says (min_len..max_len bytes,
 *     default 3..30, no case folding);
 *   - header words prefixed by kind: "subj:" Subject, "from:" From,
 *     "rtrn:" Return-Path, "to:" To, "rcvd:" Received, "head:" any other
 *     (names compared case-insensitively); body words unprefixed;
 *   - for each IPv4 address in a Received field (cls_net.c), the
 *     network tokens "ip16:a.b" and "ip24:a.b.c" (the word rule drops
 *     the address itself: its dots split it into numbers);
 *   - URLs split on runs of / : ? = & into "url:piece";
 *   - attach entries whole: "name:file" -> "fn:file", else "ct:" + entry.
 *
 * Speed: token texts are built in a 256-byte stack buffer (no
 * allocation per token), and only when texts are kept; an id goes on
 * from the CRC state kept after its prefix. The set bounds the number
 * of distinct tokens.
 * Errors: ES_ENOMEM from the set stops tokenizing; tokens refused for
 * the set's bound are only counted (cls_tset_dropped).
 * Pure code, no globals; thread-safe for distinct sets.
 */
#include "cls_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cls_dspam_tok.h"
#include "cls_net.h"
#include "cls_sender.h"
#include "cls_source.h"
#include "es_alloc.h"
#include "es_err.h"

/* crc_table[i]: byte i shifted through eight reflected steps. */
/* clang-format off */
static const uint64_t crc_table[256] = {
	0x0000000000000000ULL, 0x01b0000000000000ULL, 0x0360000000000000ULL,
	0x02d0000000000000ULL, 0x06c0000000000000ULL, 0x0770000000000000ULL,
	0x05a0000000000000ULL, 0x0410000000000000ULL, 0x0d80000000000000ULL,
	0x0c30000000000000ULL, 0x0ee0000000000000ULL, 0x0f50000000000000ULL,
	0x0b40000000000000ULL, 0x0af0000000000000ULL, 0x0820000000000000ULL,
	0x0990000000000000ULL, 0x1b00000000000000ULL, 0x1ab0000000000000ULL,
	0x1860000000000000ULL, 0x19d0000000000000ULL, 0x1dc0000000000000ULL,
	0x1c70000000000000ULL, 0x1ea0000000000000ULL, 0x1f10000000000000ULL,
	0x1680000000000000ULL, 0x1730000000000000ULL, 0x15e0000000000000ULL,
	0x1450000000000000ULL, 0x1040000000000000ULL, 0x11f0000000000000ULL,
	0x1320000000000000ULL, 0x1290000000000000ULL, 0x3600000000000000ULL,
	0x37b0000000000000ULL, 0x3560000000000000ULL, 0x34d0000000000000ULL,
	0x30c0000000000000ULL, 0x3170000000000000ULL, 0x33a0000000000000ULL,
	0x3210000000000000ULL, 0x3b80000000000000ULL, 0x3a30000000000000ULL,
	0x38e0000000000000ULL, 0x3950000000000000ULL, 0x3d40000000000000ULL,
	0x3cf0000000000000ULL, 0x3e20000000000000ULL, 0x3f90000000000000ULL,
	0x2d00000000000000ULL, 0x2cb0000000000000ULL, 0x2e60000000000000ULL,
	0x2fd0000000000000ULL, 0x2bc0000000000000ULL, 0x2a70000000000000ULL,
	0x28a0000000000000ULL, 0x2910000000000000ULL, 0x2080000000000000ULL,
	0x2130000000000000ULL, 0x23e0000000000000ULL, 0x2250000000000000ULL,
	0x2640000000000000ULL, 0x27f0000000000000ULL, 0x2520000000000000ULL,
	0x2490000000000000ULL, 0x6c00000000000000ULL, 0x6db0000000000000ULL,
	0x6f60000000000000ULL, 0x6ed0000000000000ULL, 0x6ac0000000000000ULL,
	0x6b70000000000000ULL, 0x69a0000000000000ULL, 0x6810000000000000ULL,
	0x6180000000000000ULL, 0x6030000000000000ULL, 0x62e0000000000000ULL,
	0x6350000000000000ULL, 0x6740000000000000ULL, 0x66f0000000000000ULL,
	0x6420000000000000ULL, 0x6590000000000000ULL, 0x7700000000000000ULL,
	0x76b0000000000000ULL, 0x7460000000000000ULL, 0x75d0000000000000ULL,
	0x71c0000000000000ULL, 0x7070000000000000ULL, 0x72a0000000000000ULL,
	0x7310000000000000ULL, 0x7a80000000000000ULL, 0x7b30000000000000ULL,
	0x79e0000000000000ULL, 0x7850000000000000ULL, 0x7c40000000000000ULL,
	0x7df0000000000000ULL, 0x7f20000000000000ULL, 0x7e90000000000000ULL,
	0x5a00000000000000ULL, 0x5bb0000000000000ULL, 0x5960000000000000ULL,
	0x58d0000000000000ULL, 0x5cc0000000000000ULL, 0x5d70000000000000ULL,
	0x5fa0000000000000ULL, 0x5e10000000000000ULL, 0x5780000000000000ULL,
	0x5630000000000000ULL, 0x54e0000000000000ULL, 0x5550000000000000ULL,
	0x5140000000000000ULL, 0x50f0000000000000ULL, 0x5220000000000000ULL,
	0x5390000000000000ULL, 0x4100000000000000ULL, 0x40b0000000000000ULL,
	0x4260000000000000ULL, 0x43d0000000000000ULL, 0x47c0000000000000ULL,
	0x4670000000000000ULL, 0x44a0000000000000ULL, 0x4510000000000000ULL,
	0x4c80000000000000ULL, 0x4d30000000000000ULL, 0x4fe0000000000000ULL,
	0x4e50000000000000ULL, 0x4a40000000000000ULL, 0x4bf0000000000000ULL,
	0x4920000000000000ULL, 0x4890000000000000ULL, 0xd800000000000000ULL,
	0xd9b0000000000000ULL, 0xdb60000000000000ULL, 0xdad0000000000000ULL,
	0xdec0000000000000ULL, 0xdf70000000000000ULL, 0xdda0000000000000ULL,
	0xdc10000000000000ULL, 0xd580000000000000ULL, 0xd430000000000000ULL,
	0xd6e0000000000000ULL, 0xd750000000000000ULL, 0xd340000000000000ULL,
	0xd2f0000000000000ULL, 0xd020000000000000ULL, 0xd190000000000000ULL,
	0xc300000000000000ULL, 0xc2b0000000000000ULL, 0xc060000000000000ULL,
	0xc1d0000000000000ULL, 0xc5c0000000000000ULL, 0xc470000000000000ULL,
	0xc6a0000000000000ULL, 0xc710000000000000ULL, 0xce80000000000000ULL,
	0xcf30000000000000ULL, 0xcde0000000000000ULL, 0xcc50000000000000ULL,
	0xc840000000000000ULL, 0xc9f0000000000000ULL, 0xcb20000000000000ULL,
	0xca90000000000000ULL, 0xee00000000000000ULL, 0xefb0000000000000ULL,
	0xed60000000000000ULL, 0xecd0000000000000ULL, 0xe8c0000000000000ULL,
	0xe970000000000000ULL, 0xeba0000000000000ULL, 0xea10000000000000ULL,
	0xe380000000000000ULL, 0xe230000000000000ULL, 0xe0e0000000000000ULL,
	0xe150000000000000ULL, 0xe540000000000000ULL, 0xe4f0000000000000ULL,
	0xe620000000000000ULL, 0xe790000000000000ULL, 0xf500000000000000ULL,
	0xf4b0000000000000ULL, 0xf660000000000000ULL, 0xf7d0000000000000ULL,
	0xf3c0000000000000ULL, 0xf270000000000000ULL, 0xf0a0000000000000ULL,
	0xf110000000000000ULL, 0xf880000000000000ULL, 0xf930000000000000ULL,
	0xfbe0000000000000ULL, 0xfa50000000000000ULL, 0xfe40000000000000ULL,
	0xfff0000000000000ULL, 0xfd20000000000000ULL, 0xfc90000000000000ULL,
	0xb400000000000000ULL, 0xb5b0000000000000ULL, 0xb760000000000000ULL,
	0xb6d0000000000000ULL, 0xb2c0000000000000ULL, 0xb370000000000000ULL,
	0xb1a0000000000000ULL, 0xb010000000000000ULL, 0xb980000000000000ULL,
	0xb830000000000000ULL, 0xbae0000000000000ULL, 0xbb50000000000000ULL,
	0xbf40000000000000ULL, 0xbef0000000000000ULL, 0xbc20000000000000ULL,
	0xbd90000000000000ULL, 0xaf00000000000000ULL, 0xaeb0000000000000ULL,
	0xac60000000000000ULL, 0xadd0000000000000ULL, 0xa9c0000000000000ULL,
	0xa870000000000000ULL, 0xaaa0000000000000ULL, 0xab10000000000000ULL,
	0xa280000000000000ULL, 0xa330000000000000ULL, 0xa1e0000000000000ULL,
	0xa050000000000000ULL, 0xa440000000000000ULL, 0xa5f0000000000000ULL,
	0xa720000000000000ULL, 0xa690000000000000ULL, 0x8200000000000000ULL,
	0x83b0000000000000ULL, 0x8160000000000000ULL, 0x80d0000000000000ULL,
	0x84c0000000000000ULL, 0x8570000000000000ULL, 0x87a0000000000000ULL,
	0x8610000000000000ULL, 0x8f80000000000000ULL, 0x8e30000000000000ULL,
	0x8ce0000000000000ULL, 0x8d50000000000000ULL, 0x8940000000000000ULL,
	0x88f0000000000000ULL, 0x8a20000000000000ULL, 0x8b90000000000000ULL,
	0x9900000000000000ULL, 0x98b0000000000000ULL, 0x9a60000000000000ULL,
	0x9bd0000000000000ULL, 0x9fc0000000000000ULL, 0x9e70000000000000ULL,
	0x9ca0000000000000ULL, 0x9d10000000000000ULL, 0x9480000000000000ULL,
	0x9530000000000000ULL, 0x97e0000000000000ULL, 0x9650000000000000ULL,
	0x9240000000000000ULL, 0x93f0000000000000ULL, 0x9120000000000000ULL,
	0x9090000000000000ULL,
};
/* clang-format on */

/* crc_step - continue the CRC state crc over len bytes (NULs included). */
static inline uint64_t
crc_step(uint64_t crc, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i;

	for (i = 0; i < len; i++)
		crc = (crc >> 8) ^ crc_table[(crc ^ p[i]) & 0xff];
	return crc;
}

uint64_t
cls_crc64(const char *text, size_t len)
{
	if (text == NULL)
		return 0;
	return crc_step(0, text, strnlen(text, len));
}

/* First allocation of the items array; doubled as needed. */
#define TSET_FIRST_ITEMS 64
/* Bytes of one text chunk (a larger text gets a chunk of its own size). */
#define TSET_CHUNK 16384
/* Item indexes are stored as 32-bit index + 1 in the hash slots. */
#define TSET_MAX_BOUND (UINT32_MAX / 4)
/* Fibonacci hashing: ids of short texts have their low bits all zero. */
#define TSET_HASH_MUL 0x9E3779B97F4A7C15ULL

struct tset_chunk {
	struct tset_chunk *next;
	size_t cap;
	size_t used;
	char data[];
};

struct cls_tset {
	size_t max; /* distinct ids and sequence entries */
	bool keep_text;
	struct cls_token *items; /* n used of cap */
	size_t n;
	size_t cap;
	uint64_t *slots; /* high half of the id | item index + 1 */
	size_t nslots;   /* 0 or a power of two >= 2 * n */
	unsigned shift;  /* 64 - log2(nslots) */
	uint64_t *seq;   /* body sequence, nseq used of seqcap */
	size_t nseq;
	size_t seqcap;
	struct tset_chunk *chunks; /* all text chunks */
	struct tset_chunk *cur;    /* the chunk being filled */
	size_t dropped;
};

struct cls_tset *
cls_tset_new(size_t max_tokens, bool keep_text)
{
	struct cls_tset *set;

	set = es_calloc(1, sizeof(*set));
	if (set == NULL)
		return NULL;
	set->max = max_tokens < TSET_MAX_BOUND ? max_tokens : TSET_MAX_BOUND;
	set->keep_text = keep_text;
	return set;
}

void
cls_tset_free(struct cls_tset *set)
{
	struct tset_chunk *c, *next;

	if (set == NULL)
		return;
	for (c = set->chunks; c != NULL; c = next) {
		next = c->next;
		es_free(c);
	}
	es_free(set->items);
	es_free(set->slots);
	es_free(set->seq);
	es_free(set);
}

void
cls_tset_reset(struct cls_tset *set)
{
	struct tset_chunk *c;

	set->n = 0;
	set->nseq = 0;
	set->dropped = 0;
	if (set->slots != NULL)
		memset(set->slots, 0, set->nslots * sizeof(*set->slots));
	for (c = set->chunks; c != NULL; c = c->next)
		c->used = 0;
	set->cur = set->chunks;
}

/* slot_of - the first probe position of id. */
static size_t
slot_of(const struct cls_tset *set, uint64_t id)
{
	return (size_t)((id * TSET_HASH_MUL) >> set->shift);
}

/* lookup - the item index of id, or -1. */
static long
lookup(const struct cls_tset *set, uint64_t id)
{
	uint64_t tag = id & 0xffffffff00000000ULL, s;
	size_t mask, i;

	if (set->nslots == 0)
		return -1;
	mask = set->nslots - 1;
	for (i = slot_of(set, id);; i = (i + 1) & mask) {
		s = set->slots[i];
		if (s == 0)
			return -1;
		if ((s & 0xffffffff00000000ULL) == tag &&
		    set->items[(uint32_t)s - 1].id == id)
			return (long)((uint32_t)s - 1);
	}
}

/* place - put item k into the hash (its id is not there yet). */
static void
place(struct cls_tset *set, size_t k)
{
	uint64_t id = set->items[k].id;
	size_t mask = set->nslots - 1;
	size_t i;

	for (i = slot_of(set, id); set->slots[i] != 0; i = (i + 1) & mask)
		;
	set->slots[i] = (id & 0xffffffff00000000ULL) | (uint64_t)(k + 1);
}

/* rehash - clear the hash and insert every item again. */
static void
rehash(struct cls_tset *set)
{
	size_t k;

	memset(set->slots, 0, set->nslots * sizeof(*set->slots));
	for (k = 0; k < set->n; k++)
		place(set, k);
}

/* grow_for_one - room for one more item in items and slots. */
static int
grow_for_one(struct cls_tset *set)
{
	size_t ncap, nslots;
	unsigned shift;
	void *p;

	if (set->n == set->cap) {
		ncap = set->cap == 0 ? TSET_FIRST_ITEMS : set->cap * 2;
		if (ncap > set->max)
			ncap = set->max;
		p = es_reallocarray(set->items, ncap, sizeof(*set->items));
		if (p == NULL)
			return ES_ENOMEM;
		set->items = p;
		set->cap = ncap;
	}
	if ((set->n + 1) * 2 > set->nslots) {
		nslots =
		    set->nslots == 0 ? TSET_FIRST_ITEMS * 2 : set->nslots * 2;
		p = es_calloc(nslots, sizeof(*set->slots));
		if (p == NULL)
			return ES_ENOMEM;
		for (shift = 64; ((size_t)1 << (64 - shift)) < nslots; shift--)
			;
		es_free(set->slots);
		set->slots = p;
		set->nslots = nslots;
		set->shift = shift;
		rehash(set);
	}
	return 0;
}

/* copy_text - a NUL-terminated copy of len bytes in set storage. */
static const char *
copy_text(struct cls_tset *set, const char *text, size_t len)
{
	struct tset_chunk *c = set->cur, *n;
	size_t need = len + 1, cap;
	char *dst;

	while (c != NULL && c->cap - c->used < need && c->next != NULL) {
		c = c->next;
		c->used = 0;
	}
	if (c == NULL || c->cap - c->used < need) {
		cap = need > TSET_CHUNK ? need : TSET_CHUNK;
		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		n = es_malloc(sizeof(*n) + cap);
		if (n == NULL)
			return NULL;
		n->cap = cap;
		n->used = 0;
		if (set->cur == NULL) {
			n->next = NULL;
			set->chunks = n;
		} else {
			/* after the last chunk visited: no chunk is skipped */
			n->next = c->next;
			c->next = n;
		}
		c = n;
	}
	set->cur = c;
	dst = c->data + c->used;
	memcpy(dst, text, len);
	dst[len] = '\0';
	c->used += need;
	return dst;
}

/*
 * touch - count occurrences of id with flags; on_seq appends id to the
 * sequence. Every allocation happens before the first change, so a
 * failure leaves the set as it was.
 */
static int
touch(struct cls_tset *set, uint64_t id, const char *text, size_t len,
    uint32_t count, uint32_t flags, bool on_seq)
{
	struct cls_token *t;
	const char *copy = NULL;
	size_t ncap;
	long k;
	void *p;

	if (on_seq && set->nseq < set->max && set->nseq == set->seqcap) {
		ncap = set->seqcap == 0 ? TSET_FIRST_ITEMS : set->seqcap * 2;
		if (ncap > set->max)
			ncap = set->max;
		p = es_reallocarray(set->seq, ncap, sizeof(*set->seq));
		if (p == NULL)
			return ES_ENOMEM;
		set->seq = p;
		set->seqcap = ncap;
	}
	k = lookup(set, id);
	if (k < 0) {
		if (set->n >= set->max) {
			set->dropped++;
			return ES_ELIMIT;
		}
		if (grow_for_one(set) != 0)
			return ES_ENOMEM;
	}
	if (set->keep_text && text != NULL &&
	    (k < 0 || set->items[k].text == NULL)) {
		/* cls_token.len is 32 bits: cut the text, not the id */
		if (len > UINT32_MAX - 1)
			len = UINT32_MAX - 1;
		copy = copy_text(set, text, len);
		if (copy == NULL)
			return ES_ENOMEM;
	}
	if (k < 0) {
		k = (long)set->n++;
		t = &set->items[k];
		memset(t, 0, sizeof(*t));
		t->id = id;
		place(set, (size_t)k);
	}
	t = &set->items[k];
	t->count =
	    count > UINT32_MAX - t->count ? UINT32_MAX : t->count + count;
	t->flags |= flags;
	if (copy != NULL) {
		t->text = copy;
		t->len = (uint32_t)len;
	}
	if (on_seq && set->nseq < set->max)
		set->seq[set->nseq++] = id;
	return 0;
}

int
cls_tset_add(struct cls_tset *set, const char *text, size_t len)
{
	return cls_tset_add_flags(set, text, len, 0);
}

int
cls_tset_add_flags(
    struct cls_tset *set, const char *text, size_t len, uint32_t flags)
{
	/* the id stops at a NUL (as DSPAM's); the kept text does too */
	if (text == NULL)
		len = 0;
	else
		len = strnlen(text, len);
	return touch(set, cls_crc64(text, len), text, len, 1, flags,
	    (flags & CLS_TF_HEADER) == 0);
}

int
cls_tset_add_id(struct cls_tset *set, uint64_t id, const char *text, size_t len,
    uint32_t count)
{
	if (text != NULL)
		len = strnlen(text, len);
	return touch(set, id, text, len, count, 0, false);
}

int
cls_tset_flag(struct cls_tset *set, uint64_t id, uint32_t flags)
{
	long k = lookup(set, id);

	if (k < 0)
		return ES_ENOTFOUND;
	set->items[k].flags |= flags;
	return 0;
}

const uint64_t *
cls_tset_seq(const struct cls_tset *set, size_t *n)
{
	*n = set->nseq;
	return set->seq;
}

size_t
cls_tset_len(const struct cls_tset *set)
{
	return set->n;
}

const struct cls_token *
cls_tset_items(const struct cls_tset *set)
{
	return set->items;
}

/* cmp_id - qsort order of tokens: ascending id. */
static int
cmp_id(const void *a, const void *b)
{
	uint64_t x = ((const struct cls_token *)a)->id;
	uint64_t y = ((const struct cls_token *)b)->id;

	return x < y ? -1 : x > y;
}

void
cls_tset_sort(struct cls_tset *set)
{
	if (set->n < 2)
		return;
	qsort(set->items, set->n, sizeof(*set->items), cmp_id);
	rehash(set);
}

const struct cls_token *
cls_tset_find(const struct cls_tset *set, uint64_t id)
{
	long k = lookup(set, id);

	return k < 0 ? NULL : &set->items[k];
}

size_t
cls_tset_dropped(const struct cls_tset *set)
{
	return set->dropped;
}

/*
 * Tokenizers (see the manual at the top of this file).
 */

/* Longest token text. */
#define TOK_TEXT_MAX 255
/* The longest prefix: "head:" and the like. */
#define TOK_PREFIX_MAX 8

/* One run of the edgespam tokenizer: options, output, section state. */
struct tok {
	const struct cls_tok_opts *o;
	struct cls_tset *set;
	int err; /* ES_ENOMEM once the set failed */
	char pfx[TOK_PREFIX_MAX];
	size_t pfxlen;   /* "subj:" and the like, or nothing */
	uint64_t pfxcrc; /* CRC state after the prefix */
	uint32_t flags;  /* CLS_TF_HEADER in headers */
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

/*
 * emit - count one token: its id, and its text b (n bytes) when texts
 * are kept. Header tokens carry CLS_TF_HEADER; the others also go to the
 * body sequence. Remembers an out-of-memory failure.
 */
static void
emit(struct tok *t, uint64_t id, const char *b, size_t n)
{
	int rc;

	rc = touch(t->set, id, t->set->keep_text ? b : NULL, n, 1, t->flags,
	    (t->flags & CLS_TF_HEADER) == 0);
	if (rc == ES_ENOMEM)
		t->err = ES_ENOMEM;
}

/* add_prefixed - count prefix + s (s holds no NUL byte). */
static void
add_prefixed(struct tok *t, const char *s, size_t len)
{
	char b[TOK_TEXT_MAX + 1];
	size_t n = 0;

	if (t->pfxlen + len <= TOK_TEXT_MAX) {
		if (t->pfxlen == 0 || !t->set->keep_text) {
			emit(t, crc_step(t->pfxcrc, s, len), s, len);
			return;
		}
	}
	cat(b, &n, t->pfx, t->pfxlen);
	cat(b, &n, s, len);
	emit(t, crc_step(0, b, n), b, n);
}

/* section - start a section with a prefix (may be empty) and flags. */
static void
section(struct tok *t, const char *pfx, uint32_t flags)
{
	size_t l = strlen(pfx);

	memcpy(t->pfx, pfx, l);
	t->pfxlen = l;
	t->pfxcrc = crc_step(0, t->pfx, t->pfxlen);
	t->flags = flags;
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

bool
cls_tok_keep(const struct cls_tok_opts *o, const char *w, size_t len)
{
	if (len == 0 || len < o->min_len || len > o->max_len)
		return false;
	return !(o->skip_numbers && all_digits(w, len));
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
	return es_start(c) || (c >= '0' && c <= '9') || c == '\'' || c == '.' ||
	       c == '_' || c == '-';
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
			for (end = j; end > i + 1 && es_trail(p[end - 1]);
			     end--)
				;
			if (cls_tok_keep(t->o, s + i, end - i))
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

	section(t, "url:", 0);
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
	len = strnlen(s, len); /* the id would stop at a NUL */
	if (len >= 5 && strncmp(s, "name:", 5) == 0) {
		section(t, "fn:", 0);
		if (len > 5)
			add_prefixed(t, s + 5, len - 5);
	} else if (len > 0) {
		section(t, "ct:", 0);
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

/* is_route_header - a delivery header (CLS_TF_ROUTE): it names the
 * recipient or the hosts the message passed, things of one mailbox. */
static bool
is_route_header(const struct cls_header *h)
{
	static const char *const names[] = {"Received", "Return-Path", "To",
	    "Cc", "Delivered-To", "X-Original-To", "Envelope-To",
	    "X-Envelope-To"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_is(h, names[i]))
			return true;
	return false;
}

/* is_dspam_header - X-DSPAM-*, never tokenized. */
static bool
is_dspam_header(const struct cls_header *h)
{
	return h->name_len >= 8 && strncasecmp(h->name, "X-DSPAM-", 8) == 0;
}

/*
 * received_nets - the network tokens of a Received field: for each IPv4
 * address in it (cls_net_ipv4), "ip16:" and "ip24:" with its first two
 * and three parts, under the field's flags.
 */
static void
received_nets(struct tok *t, const struct cls_header *h, uint32_t fl)
{
	uint8_t a[CLS_NET_MAX][4];
	char b[24];
	size_t n, i;
	int len;

	n = cls_net_ipv4(h->value, h->value_len, a, CLS_NET_MAX);
	for (i = 0; i < n && t->err == 0; i++) {
		section(t, "ip16:", fl);
		len = snprintf(b, sizeof(b), "%u.%u", a[i][0], a[i][1]);
		add_prefixed(t, b, (size_t)len);
		section(t, "ip24:", fl);
		len = snprintf(b, sizeof(b), "%u.%u.%u", a[i][0], a[i][1],
		    a[i][2]);
		add_prefixed(t, b, (size_t)len);
	}
}

/* headers - own header fields, or embedded ones as body text. */
static void
headers(struct tok *t, const struct cls_msg *msg, bool embedded)
{
	const struct cls_header *h;
	uint32_t fl;
	size_t i;

	for (i = 0; i < msg->nhdrs && t->err == 0; i++) {
		h = &msg->hdrs[i];
		if (h->embedded != embedded || is_dspam_header(h))
			continue;
		if (!embedded) {
			if (h->part != 0)
				continue;
			fl = CLS_TF_HEADER;
			if (is_route_header(h))
				fl |= CLS_TF_ROUTE;
			section(t, edgespam_kind(h), fl);
			edgespam_words(t, h->value, h->value_len);
			if (name_is(h, "Received"))
				received_nets(t, h, fl);
			continue;
		}
		section(t, "", 0);
		edgespam_words(t, h->name, h->name_len);
		edgespam_words(t, h->value, h->value_len);
	}
}

int
cls_tokenize(const struct cls_msg *msg, const struct cls_tok_opts *o,
    struct cls_tset *set)
{
	struct tok t;
	const struct cls_text *x;
	size_t i;

	if (o->kind != CLS_TOK_EDGESPAM) {
		if (msg->raw == NULL)
			return 0;
		return cls_dspam_tokenize(msg->raw, msg->raw_len, o, set);
	}
	memset(&t, 0, sizeof(t));
	t.o = o;
	t.set = set;
	headers(&t, msg, false);
	for (i = 0; i < msg->nurls && t.err == 0; i++) {
		x = &msg->urls[i];
		edgespam_url(&t, x->data, x->len);
	}
	for (i = 0; i < msg->ntexts && t.err == 0; i++) {
		section(&t, "", 0);
		edgespam_words(&t, msg->texts[i].data, msg->texts[i].len);
	}
	headers(&t, msg, true);
	for (i = 0; i < msg->nattach && t.err == 0; i++) {
		x = &msg->attach[i];
		edgespam_attach(&t, x->data, x->len);
	}
	return t.err;
}

int
cls_sender_token(const struct cls_msg *msg, const char *net, uint64_t *id)
{
	char addr[CLS_SENDER_MAX + 1];
	char b[sizeof(addr) + CLS_SOURCE_LEN + 8];
	const struct cls_header *h;
	size_t i;
	int n;

	/* without the client's network a forger could earn the token */
	if (net == NULL || net[0] == '\0')
		return ES_ENOTFOUND;
	for (i = 0; i < msg->nhdrs; i++) {
		h = &msg->hdrs[i];
		if (h->part != 0 || h->embedded || !name_is(h, "From"))
			continue;
		/* only the first From: field counts; no usable address in
		 * it: no token (an empty one would pool every such sender) */
		if (cls_sender_address(
		        h->value, h->value_len, addr, sizeof(addr)) != 0)
			return ES_ENOTFOUND;
		n = snprintf(b, sizeof(b), "From*%s*%s", addr, net);
		if (n < 0 || (size_t)n >= sizeof(b))
			return ES_ENOTFOUND;
		*id = cls_crc64(b, (size_t)n);
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
