/*
 * cls_tset.c - DSPAM token ids (CRC-64) and the per-message token set.
 *
 * cls_crc64() is DSPAM 3.10's token id: the reflected CRC-64 with the
 * polynomial constant 0xd800000000000000, initial value 0, no final XOR,
 * over the bytes of the text up to the first NUL. The same text gives
 * the same id as DSPAM, so a DSPAM database keeps working.
 *
 * The token set maps ids to {count, flags, text} for one message:
 *   - an open-addressing hash (linear probing, power-of-two size, at
 *     most half full) whose slots hold an item index + 1 (0 = empty);
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
 */
#include "cls_token.h"

#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"

/* crc_table[i]: byte i shifted through eight reflected steps. */
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

uint64_t
cls_crc64(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	uint64_t crc = 0;
	size_t i;

	for (i = 0; i < len && p[i] != 0; i++)
		crc = (crc >> 8) ^ crc_table[(crc ^ p[i]) & 0xff];
	return crc;
}

/* First allocation of the items array; doubled as needed. */
#define TSET_FIRST_ITEMS 64
/* Bytes of one text chunk (a larger text gets a chunk of its own size). */
#define TSET_CHUNK 16384
/* Item indexes are stored as uint32_t + 1 in the hash slots. */
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
	size_t max;                /* distinct ids and sequence entries */
	bool keep_text;
	struct cls_token *items;   /* n used of cap */
	size_t n;
	size_t cap;
	uint32_t *slots;           /* item index + 1; 0 = empty */
	size_t nslots;             /* 0 or a power of two >= 2 * n */
	unsigned shift;            /* 64 - log2(nslots) */
	uint64_t *seq;             /* body sequence, nseq used of seqcap */
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
	size_t mask, i;
	uint32_t s;

	if (set->nslots == 0)
		return -1;
	mask = set->nslots - 1;
	for (i = slot_of(set, id);; i = (i + 1) & mask) {
		s = set->slots[i];
		if (s == 0)
			return -1;
		if (set->items[s - 1].id == id)
			return (long)(s - 1);
	}
}

/* place - put item k into the hash (its id is not there yet). */
static void
place(struct cls_tset *set, size_t k)
{
	size_t mask = set->nslots - 1;
	size_t i;

	for (i = slot_of(set, set->items[k].id); set->slots[i] != 0;
	    i = (i + 1) & mask)
		;
	set->slots[i] = (uint32_t)(k + 1);
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
		nslots = set->nslots == 0 ? TSET_FIRST_ITEMS * 2 : set->nslots * 2;
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
		/* cls_token.len is 32 bits; such a text is cut, its id is not */
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
	t->count = count > UINT32_MAX - t->count ? UINT32_MAX : t->count + count;
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
cls_tset_add_flags(struct cls_tset *set, const char *text, size_t len,
    uint32_t flags)
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
cls_tset_add_id(struct cls_tset *set, uint64_t id, const char *text,
    size_t len, uint32_t count)
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
