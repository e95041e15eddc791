/*
 * store_mem.c - the "memory" store driver: everything in process memory,
 * for tests and benchmarks. Each store_open() makes a fresh empty store;
 * params->path is ignored and nothing is ever written to disk.
 *
 * Tokens live in a chained hash table keyed by (uid, token), which grows
 * with the row count (if growing fails for lack of memory the chains
 * just get longer). Users, totals, signatures, preferences, domain
 * policies, sources and history rows (mem_history.c) live in sorted
 * arrays of rows keyed by (uid, text), so that the list functions
 * return them in order.
 *
 * Transactions: every change appends an undo record (the row's old
 * values, or the row itself when it was deleted) before it is made;
 * rollback replays the records backwards, commit drops them. So a
 * transaction costs memory in proportion to what it changes, not to the
 * store's size. Rollback never allocates (arrays never shrink, deleted
 * rows are kept until commit), so it cannot fail. Every change reserves
 * its undo record first: an out-of-memory failure leaves the store as
 * it was before that change.
 *
 * There are no locks: begin never waits and never fails, and two
 * handles never share data. Not thread-safe (one thread per handle).
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store_drivers.h"
#include "store_int.h"
#include "store_mem_int.h"

struct mem_tok {
	struct mem_tok *next;
	uint32_t uid;
	uint64_t token;
	uint64_t spam;
	uint64_t innocent;
	int32_t last_hit;
	double weight;
};

enum mem_undo_kind {
	UNDO_TOK_INS,
	UNDO_TOK_MOD,
	UNDO_TOK_DEL,
	UNDO_ROW_INS,
	UNDO_ROW_MOD,
	UNDO_ROW_DEL
};

struct mem_undo {
	enum mem_undo_kind kind;
	struct mem_table *tab;
	struct mem_tok *tok;
	struct mem_row *row;
	struct mem_tok old_tok; /* TOK_MOD: the values before */
	char *old_val;          /* ROW_MOD: the value before */
	size_t old_len;
	int32_t old_day;
};

struct mem_store {
	struct mem_tok **buckets;
	size_t nbuckets; /* a power of two */
	size_t ntoks;
	struct mem_table users; /* uid 0, key = name, ref = uid */
	struct mem_table stats; /* key "", val = struct store_totals */
	struct mem_table sigs;
	struct mem_table prefs;
	struct mem_table domains; /* uid 0, key = domain */
	uint32_t next_uid;
	struct mem_undo *undo;
	size_t nundo;
	size_t capundo;
	struct mem_table sources; /* uid 0, key = source, val = store_source */
	struct mem_table senders; /* key = pattern, val = "allow"|"block" */
	struct mem_table history; /* mem_history.c's rows */
	int64_t history_id;       /* the last history id given */
	struct mem_table daily;   /* mem_daily.c's rows */
};

#define MEM_BUCKETS_MIN 1024

/* drv - the driver state of st. */
static struct mem_store *
drv(struct store *st)
{
	return st->st_drv;
}

/* oom - record an allocation failure. */
static int
oom(struct store *st)
{
	store_seterr(st, "memory store: out of memory");
	return ES_ENOMEM;
}

/* tok_hash - bucket index of (uid, token): a 64-bit finalising mix. */
static size_t
tok_hash(const struct mem_store *m, uint32_t uid, uint64_t token)
{
	uint64_t h = token ^ ((uint64_t)uid * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h & (m->nbuckets - 1);
}

/* tok_find - uid's row of token, or NULL. */
static struct mem_tok *
tok_find(const struct mem_store *m, uint32_t uid, uint64_t token)
{
	struct mem_tok *t = m->buckets[tok_hash(m, uid, token)];

	while (t != NULL && (t->token != token || t->uid != uid))
		t = t->next;
	return t;
}

/* tok_link - put t into its chain (never allocates). */
static void
tok_link(struct mem_store *m, struct mem_tok *t)
{
	size_t h = tok_hash(m, t->uid, t->token);

	t->next = m->buckets[h];
	m->buckets[h] = t;
	m->ntoks++;
}

/* tok_unlink - take t out of its chain. */
static void
tok_unlink(struct mem_store *m, struct mem_tok *t)
{
	struct mem_tok **pp = &m->buckets[tok_hash(m, t->uid, t->token)];

	while (*pp != NULL && *pp != t)
		pp = &(*pp)->next;
	if (*pp == t) {
		*pp = t->next;
		m->ntoks--;
	}
}

/* tok_grow - double the bucket array when full; failure is harmless. */
static void
tok_grow(struct mem_store *m)
{
	struct mem_tok **old = m->buckets, **nb;
	size_t oldn = m->nbuckets;

	if (m->ntoks < m->nbuckets || m->nbuckets > SIZE_MAX / 2 /
	    sizeof(*nb))
		return;
	nb = es_calloc(oldn * 2, sizeof(*nb));
	if (nb == NULL)
		return;
	m->buckets = nb;
	m->nbuckets = oldn * 2;
	m->ntoks = 0;
	for (size_t i = 0; i < oldn; i++) {
		struct mem_tok *t = old[i], *next;

		for (; t != NULL; t = next) {
			next = t->next;
			tok_link(m, t);
		}
	}
	es_free(old);
}

/* undo_reserve - room for one more undo record. */
static int
undo_reserve(struct store *st)
{
	struct mem_store *m = drv(st);
	struct mem_undo *u;
	size_t cap;

	if (m->nundo < m->capundo)
		return 0;
	cap = m->capundo == 0 ? 64 : m->capundo * 2;
	u = es_reallocarray(m->undo, cap, sizeof(*u));
	if (u == NULL)
		return oom(st);
	m->undo = u;
	m->capundo = cap;
	return 0;
}

/* undo_push - append a record (room reserved by undo_reserve). */
static struct mem_undo *
undo_push(struct mem_store *m, enum mem_undo_kind kind)
{
	struct mem_undo *u = &m->undo[m->nundo++];

	memset(u, 0, sizeof(*u));
	u->kind = kind;
	return u;
}

/* row_cmp - order of rows: uid, then key bytes. */
static int
row_cmp(uint32_t uid, const char *key, const struct mem_row *r)
{
	if (uid != r->uid)
		return uid < r->uid ? -1 : 1;
	return strcmp(key, r->key);
}

/* row_find - true if (uid, key) is in tab; *pos is its (insert) index. */
static bool
row_find(const struct mem_table *tab, uint32_t uid, const char *key,
    size_t *pos)
{
	size_t lo = 0, hi = tab->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = row_cmp(uid, key, tab->rows[mid]);

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*pos = lo;
	return false;
}

/* row_insert_at - put r at pos (the capacity must be there). */
static void
row_insert_at(struct mem_table *tab, size_t pos, struct mem_row *r)
{
	memmove(&tab->rows[pos + 1], &tab->rows[pos],
	    (tab->n - pos) * sizeof(tab->rows[0]));
	tab->rows[pos] = r;
	tab->n++;
}

/* row_remove_at - take the row at pos out of tab (not freed). */
static void
row_remove_at(struct mem_table *tab, size_t pos)
{
	memmove(&tab->rows[pos], &tab->rows[pos + 1],
	    (tab->n - pos - 1) * sizeof(tab->rows[0]));
	tab->n--;
}

/* row_free - free a row and what it owns. */
static void
row_free(struct mem_row *r)
{
	if (r == NULL)
		return;
	es_free(r->key);
	es_free(r->val);
	es_free(r);
}

/* val_copy - len bytes of v plus a terminating NUL, or NULL. */
static char *
val_copy(const void *v, size_t len)
{
	char *c;

	if (len == SIZE_MAX)
		return NULL;
	c = es_malloc(len + 1);
	if (c == NULL)
		return NULL;
	if (len > 0)
		memcpy(c, v, len);
	c[len] = '\0';
	return c;
}

/*
 * row_put - insert or replace (uid, key) in tab with a copy of val;
 * *out (may be NULL) gets the row.
 */
static int
row_put(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key, const void *val, size_t len, int32_t day,
    struct mem_row **out)
{
	struct mem_store *m = drv(st);
	struct mem_row *r;
	struct mem_undo *u;
	char *v;
	size_t pos;

	if (undo_reserve(st) != 0)
		return ES_ENOMEM;
	if ((v = val_copy(val, len)) == NULL)
		return oom(st);
	if (row_find(tab, uid, key, &pos)) {
		r = tab->rows[pos];
		u = undo_push(m, UNDO_ROW_MOD);
		u->tab = tab;
		u->row = r;
		u->old_val = r->val;
		u->old_len = r->len;
		u->old_day = r->day;
	} else {
		if (tab->n == tab->cap) {
			size_t cap = tab->cap == 0 ? 16 : tab->cap * 2;
			struct mem_row **rows = es_reallocarray(tab->rows, cap,
			    sizeof(*rows));

			if (rows == NULL) {
				es_free(v);
				return oom(st);
			}
			tab->rows = rows;
			tab->cap = cap;
		}
		r = es_calloc(1, sizeof(*r));
		if (r == NULL || (r->key = es_strdup(key)) == NULL) {
			es_free(r);
			es_free(v);
			return oom(st);
		}
		r->uid = uid;
		row_insert_at(tab, pos, r);
		u = undo_push(m, UNDO_ROW_INS);
		u->tab = tab;
		u->row = r;
	}
	r->val = v;
	r->len = len;
	r->day = day;
	if (out != NULL)
		*out = r;
	return 0;
}

/* row_delete - remove (uid, key) from tab if it is there. */
static int
row_delete(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key)
{
	struct mem_store *m = drv(st);
	struct mem_undo *u;
	size_t pos;

	if (!row_find(tab, uid, key, &pos))
		return 0;
	if (undo_reserve(st) != 0)
		return ES_ENOMEM;
	u = undo_push(m, UNDO_ROW_DEL);
	u->tab = tab;
	u->row = tab->rows[pos];
	row_remove_at(tab, pos);
	return 0;
}

/* row_get - (uid, key) of tab, or NULL. */
static struct mem_row *
row_get(const struct mem_table *tab, uint32_t uid, const char *key)
{
	size_t pos;

	return row_find(tab, uid, key, &pos) ? tab->rows[pos] : NULL;
}

/* undo_one - revert one record. */
static void
undo_one(struct mem_store *m, struct mem_undo *u)
{
	size_t pos;

	switch (u->kind) {
	case UNDO_TOK_INS:
		tok_unlink(m, u->tok);
		es_free(u->tok);
		break;
	case UNDO_TOK_MOD:
		u->tok->spam = u->old_tok.spam;
		u->tok->innocent = u->old_tok.innocent;
		u->tok->last_hit = u->old_tok.last_hit;
		u->tok->weight = u->old_tok.weight;
		break;
	case UNDO_TOK_DEL:
		tok_link(m, u->tok);
		break;
	case UNDO_ROW_INS:
		if (row_find(u->tab, u->row->uid, u->row->key, &pos))
			row_remove_at(u->tab, pos);
		row_free(u->row);
		break;
	case UNDO_ROW_MOD:
		es_free(u->row->val);
		u->row->val = u->old_val;
		u->row->len = u->old_len;
		u->row->day = u->old_day;
		break;
	case UNDO_ROW_DEL:
		/* Arrays never shrink, so the slot it left is still there. */
		row_find(u->tab, u->row->uid, u->row->key, &pos);
		row_insert_at(u->tab, pos, u->row);
		break;
	}
}

/* commit_one - drop one record, freeing what it kept for a rollback. */
static void
commit_one(struct mem_undo *u)
{
	switch (u->kind) {
	case UNDO_TOK_DEL:
		es_free(u->tok);
		break;
	case UNDO_ROW_MOD:
		es_free(u->old_val);
		break;
	case UNDO_ROW_DEL:
		row_free(u->row);
		break;
	default:
		break;
	}
}

static int
mem_begin(struct store *st, bool write)
{
	(void)write;
	(void)st;
	return 0;
}

static int
mem_commit(struct store *st)
{
	struct mem_store *m = drv(st);

	for (size_t i = 0; i < m->nundo; i++)
		commit_one(&m->undo[i]);
	m->nundo = 0;
	return 0;
}

static void
mem_rollback(struct store *st)
{
	struct mem_store *m = drv(st);

	while (m->nundo > 0)
		undo_one(m, &m->undo[--m->nundo]);
}

static void
table_free(struct mem_table *tab)
{
	for (size_t i = 0; i < tab->n; i++)
		row_free(tab->rows[i]);
	es_free(tab->rows);
}

static void
mem_close(struct store *st)
{
	struct mem_store *m = drv(st);

	if (m == NULL)
		return;
	mem_rollback(st);
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct mem_tok *t = m->buckets[i], *next;

		for (; t != NULL; t = next) {
			next = t->next;
			es_free(t);
		}
	}
	es_free(m->buckets);
	table_free(&m->users);
	table_free(&m->stats);
	table_free(&m->sigs);
	table_free(&m->prefs);
	table_free(&m->sources);
	table_free(&m->domains);
	table_free(&m->senders);
	table_free(&m->history);
	table_free(&m->daily);
	es_free(m->undo);
	es_free(m);
	st->st_drv = NULL;
}

static int
mem_open(struct store *st, const struct store_params *p)
{
	struct mem_store *m;

	(void)p;
	m = es_calloc(1, sizeof(*m));
	if (m == NULL)
		return oom(st);
	m->buckets = es_calloc(MEM_BUCKETS_MIN, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		es_free(m);
		return oom(st);
	}
	m->nbuckets = MEM_BUCKETS_MIN;
	m->next_uid = 1;
	st->st_drv = m;
	return 0;
}

static int
mem_user_uid(struct store *st, const char *name, bool create, uint32_t *uid)
{
	struct mem_store *m = drv(st);
	struct mem_row *r = row_get(&m->users, 0, name);
	int rc;

	if (r == NULL && !create) {
		store_seterr(st, "no user \"%.128s\"", name);
		return ES_ENOTFOUND;
	}
	if (r == NULL) {
		if (m->next_uid == UINT32_MAX) {
			store_seterr(st, "memory store: no uid left");
			return ES_ESTORE;
		}
		if ((rc = row_put(st, &m->users, 0, name, "", 0, 0, &r)) != 0)
			return rc;
		r->ref = m->next_uid++;
	}
	*uid = r->ref;
	return 0;
}

/* ref_cmp - qsort order of user rows by uid. */
static int
ref_cmp(const void *a, const void *b)
{
	const struct mem_row *x = *(struct mem_row *const *)a;
	const struct mem_row *y = *(struct mem_row *const *)b;

	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static int
mem_users(struct store *st, store_user_fn *fn, void *arg)
{
	struct mem_store *m = drv(st);
	struct mem_row **v;
	size_t n = m->users.n;

	if (n == 0)
		return 0;
	v = es_reallocarray(NULL, n, sizeof(*v));
	if (v == NULL)
		return oom(st);
	memcpy(v, m->users.rows, n * sizeof(*v));
	qsort(v, n, sizeof(*v), ref_cmp);
	for (size_t i = 0; i < n; i++)
		if (fn(v[i]->ref, v[i]->key, arg) != 0)
			break;
	es_free(v);
	return 0;
}

static int
mem_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	struct mem_store *m = drv(st);

	for (size_t i = 0; i < n; i++) {
		struct mem_tok *t = tok_find(m, uid, toks[i].token);

		toks[i].spam_hits = t != NULL ? t->spam : 0;
		toks[i].innocent_hits = t != NULL ? t->innocent : 0;
		toks[i].last_hit = t != NULL ? t->last_hit : 0;
		toks[i].weight = t != NULL ? t->weight : 0.0;
	}
	return 0;
}

/* tok_cmp - qsort order of token rows by id. */
static int
tok_cmp(const void *a, const void *b)
{
	const struct mem_tok *x = *(struct mem_tok *const *)a;
	const struct mem_tok *y = *(struct mem_tok *const *)b;

	return x->token < y->token ? -1 : x->token > y->token;
}

static int
mem_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg)
{
	struct mem_store *m = drv(st);
	struct mem_tok **v = NULL, *t;
	struct store_token out;
	size_t n = 0, b;

	if (m->ntoks > 0 &&
	    (v = es_reallocarray(NULL, m->ntoks, sizeof(*v))) == NULL)
		return oom(st);
	for (b = 0; b < m->nbuckets; b++)
		for (t = m->buckets[b]; t != NULL; t = t->next)
			if (t->uid == uid)
				v[n++] = t;
	if (n > 0)
		qsort(v, n, sizeof(*v), tok_cmp);
	for (b = 0; b < n; b++) {
		out.token = v[b]->token;
		out.spam_hits = v[b]->spam;
		out.innocent_hits = v[b]->innocent;
		out.last_hit = v[b]->last_hit;
		out.weight = v[b]->weight;
		if (fn(&out, arg) != 0)
			break;
	}
	es_free(v);
	return 0;
}

/* add_clamp - v + d, at least 0 and at most UINT64_MAX. */
static uint64_t
add_clamp(uint64_t v, int32_t d)
{
	if (d < 0) {
		uint64_t sub = (uint64_t)(-(int64_t)d);

		return v > sub ? v - sub : 0;
	}
	return v > UINT64_MAX - (uint64_t)d ? UINT64_MAX : v + (uint64_t)d;
}

static int
mem_tokens_put(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, int32_t day)
{
	struct mem_store *m = drv(st);

	for (size_t i = 0; i < n; i++) {
		struct mem_tok *t = tok_find(m, uid, d[i].token);
		struct mem_undo *u;

		if (undo_reserve(st) != 0)
			return ES_ENOMEM;
		if (t != NULL) {
			u = undo_push(m, UNDO_TOK_MOD);
			u->old_tok = *t;
		} else {
			tok_grow(m);
			t = es_calloc(1, sizeof(*t));
			if (t == NULL)
				return oom(st);
			t->uid = uid;
			t->token = d[i].token;
			tok_link(m, t);
			u = undo_push(m, UNDO_TOK_INS);
		}
		u->tok = t;
		t->spam = add_clamp(t->spam, d[i].spam);
		t->innocent = add_clamp(t->innocent, d[i].innocent);
		t->weight += d[i].weight;
		t->last_hit = day;
	}
	return 0;
}

static int
mem_totals_get(struct store *st, uint32_t uid, struct store_totals *t)
{
	struct mem_row *r = row_get(&drv(st)->stats, uid, "");

	if (r == NULL)
		memset(t, 0, sizeof(*t));
	else
		memcpy(t, r->val, sizeof(*t));
	return 0;
}

/* add64 - v + d clamped at zero (and at INT64_MAX). */
static int64_t
add64(int64_t v, int64_t d)
{
	if (d > 0 && v > INT64_MAX - d)
		return INT64_MAX;
	v += d;
	return v < 0 ? 0 : v;
}

static int
mem_totals_add(struct store *st, uint32_t uid,
    const struct store_totals *delta)
{
	struct store_totals t;

	mem_totals_get(st, uid, &t);
	t.spam_learned = add64(t.spam_learned, delta->spam_learned);
	t.innocent_learned = add64(t.innocent_learned,
	    delta->innocent_learned);
	t.spam_misclassified = add64(t.spam_misclassified,
	    delta->spam_misclassified);
	t.innocent_misclassified = add64(t.innocent_misclassified,
	    delta->innocent_misclassified);
	t.spam_corpusfed = add64(t.spam_corpusfed, delta->spam_corpusfed);
	t.innocent_corpusfed = add64(t.innocent_corpusfed,
	    delta->innocent_corpusfed);
	t.spam_classified = add64(t.spam_classified, delta->spam_classified);
	t.innocent_classified = add64(t.innocent_classified,
	    delta->innocent_classified);
	return row_put(st, &drv(st)->stats, uid, "", &t, sizeof(t), 0, NULL);
}

static int
mem_sig_put(struct store *st, uint32_t uid, const char *id,
    const void *data, size_t len, int32_t day)
{
	return row_put(st, &drv(st)->sigs, uid, id, data, len, day, NULL);
}

static int
mem_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len)
{
	struct mem_row *r = row_get(&drv(st)->sigs, uid, id);

	if (r == NULL) {
		store_seterr(st, "no signature \"%.32s\"", id);
		return ES_ENOTFOUND;
	}
	if ((*data = val_copy(r->val, r->len)) == NULL)
		return oom(st);
	*len = r->len;
	return 0;
}

static int
mem_sig_delete(struct store *st, uint32_t uid, const char *id)
{
	return row_delete(st, &drv(st)->sigs, uid, id);
}

/* text_get - a copy of (uid, key)'s value in tab. */
static int
text_get(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key, char **val)
{
	struct mem_row *r = row_get(tab, uid, key);

	if (r == NULL) {
		store_seterr(st, "\"%.255s\" is not set", key);
		return ES_ENOTFOUND;
	}
	if ((*val = val_copy(r->val, r->len)) == NULL)
		return oom(st);
	return 0;
}

/* text_set - set or (val NULL) remove (uid, key) in tab. */
static int
text_set(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key, const char *val)
{
	if (val == NULL)
		return row_delete(st, tab, uid, key);
	return row_put(st, tab, uid, key, val, strlen(val), 0, NULL);
}

/* text_list - fn(key, value) for uid's rows of tab, in key order. */
static int
text_list(struct mem_table *tab, uint32_t uid, store_pair_fn *fn, void *arg)
{
	size_t pos;

	row_find(tab, uid, "", &pos);
	for (; pos < tab->n && tab->rows[pos]->uid == uid; pos++)
		if (fn(tab->rows[pos]->key, tab->rows[pos]->val, arg) != 0)
			break;
	return 0;
}

static int
mem_pref_get(struct store *st, uint32_t uid, const char *key, char **val)
{
	return text_get(st, &drv(st)->prefs, uid, key, val);
}

static int
mem_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val)
{
	return text_set(st, &drv(st)->prefs, uid, key, val);
}

static int
mem_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	return text_list(&drv(st)->prefs, uid, fn, arg);
}

static int
mem_domain_get(struct store *st, const char *domain, char **policy)
{
	return text_get(st, &drv(st)->domains, 0, domain, policy);
}

static int
mem_domain_set(struct store *st, const char *domain, const char *policy)
{
	return text_set(st, &drv(st)->domains, 0, domain, policy);
}

static int
mem_domains(struct store *st, store_pair_fn *fn, void *arg)
{
	return text_list(&drv(st)->domains, 0, fn, arg);
}

/* ---- sender lists ---- */

static int
mem_sender_set(struct store *st, uint32_t uid, const char *pattern,
    const char *list, int32_t day)
{
	return row_put(st, &drv(st)->senders, uid, pattern, list,
	    strlen(list), day, NULL);
}

static int
mem_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    const char *list, bool *removed)
{
	struct mem_table *tab = &drv(st)->senders;
	struct mem_row *r = row_get(tab, uid, pattern);

	*removed = false;
	if (r == NULL || strcmp(r->val, list) != 0)
		return 0;
	*removed = true;
	return row_delete(st, tab, uid, pattern);
}

static int
mem_sender_find(struct store *st, uint32_t uid, const char *const *patterns,
    size_t n, enum store_sender_list *lists)
{
	struct mem_row *r;

	for (size_t i = 0; i < n; i++)
		if ((r = row_get(&drv(st)->senders, uid, patterns[i])) != NULL)
			lists[i] = store_sender_list_of(r->val);
	return 0;
}

static int
mem_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	return text_list(&drv(st)->senders, uid, fn, arg);
}

/* tok_selected - whether rule deletes t (cutoff: see purge_batch). */
static bool
tok_selected(const struct mem_tok *t, enum store_purge_rule rule,
    int32_t cutoff)
{
	if (t->token == STORE_CONTROL_TOKEN || t->last_hit >= cutoff)
		return false;
	switch (rule) {
	case STORE_PURGE_UNUSED:
		return true;
	case STORE_PURGE_RARE:
		return t->innocent < 3 && 2 * t->innocent + t->spam < 5;
	case STORE_PURGE_SINGLE:
		return (t->spam == 1 && t->innocent == 0) ||
		    (t->spam == 0 && t->innocent == 1);
	default:
		return false;
	}
}

/* ---- sources ---- */

/* source_row - the row of source, or NULL. */
static const struct store_source *
source_row(struct mem_store *m, const char *source)
{
	struct mem_row *r = row_get(&m->sources, 0, source);

	return r != NULL ? (const struct store_source *)(void *)r->val : NULL;
}

/* add_count - v + d clamped at zero and at UINT64_MAX. */
static uint64_t
add_count(uint64_t v, int32_t d)
{
	uint64_t m = d < 0 ? (uint64_t)-(int64_t)d : 0;

	if (d < 0)
		return m > v ? 0 : v - m;
	return v > UINT64_MAX - (uint64_t)d ? UINT64_MAX : v + (uint64_t)d;
}

static int
mem_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, int64_t now)
{
	struct mem_store *m = drv(st);
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct store_source *old = source_row(m, d[i].source);
		struct store_source r;

		if (old != NULL) {
			r = *old;
		} else {
			memset(&r, 0, sizeof(r));
			strlcpy(r.source, d[i].source, sizeof(r.source));
			r.first_seen = now;
		}
		r.spam = add_count(r.spam, d[i].spam);
		r.innocent = add_count(r.innocent, d[i].innocent);
		r.spam_corrections = add_count(r.spam_corrections,
		    d[i].spam_corrections);
		r.innocent_corrections = add_count(r.innocent_corrections,
		    d[i].innocent_corrections);
		if (d[i].reset_streak || d[i].innocent > 0)
			r.spam_streak = 0;
		if (d[i].spam > 0) {
			r.spam_streak = add_count(r.spam_streak, d[i].spam);
			r.last_spam = now;
		}
		r.last_seen = now;
		/* the row's bytes are the value: a copy keeps them aligned */
		if ((rc = row_put(st, &m->sources, 0, d[i].source, &r,
			 sizeof(r), 0, NULL)) != 0)
			return rc;
	}
	return 0;
}

static int
mem_sources_get(struct store *st, struct store_source *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_source *r = source_row(drv(st),
		    rows[i].source);

		if (r != NULL)
			rows[i] = *r;
	}
	return 0;
}

static int
mem_sources_list(struct store *st, int64_t since, store_source_fn *fn,
    void *arg)
{
	struct mem_table *tab = &drv(st)->sources;

	for (size_t i = 0; i < tab->n; i++) {
		struct store_source r;

		memcpy(&r, tab->rows[i]->val, sizeof(r));
		if (r.last_seen >= since && fn(&r, arg) != 0)
			break;
	}
	return 0;
}

/* source_purge - delete up to batch sources last seen before cutoff. */
static int
source_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted)
{
	struct mem_table *tab = &drv(st)->sources;
	int64_t limit = (int64_t)cutoff * 86400;

	for (size_t i = 0; i < tab->n && *deleted < batch;) {
		struct store_source r;

		memcpy(&r, tab->rows[i]->val, sizeof(r));
		if (r.last_seen >= limit) {
			i++;
			continue;
		}
		if (row_delete(st, tab, 0, tab->rows[i]->key) != 0)
			return ES_ENOMEM;
		(*deleted)++;
	}
	return 0;
}

static int
mem_purge_batch(struct store *st, enum store_purge_rule rule,
    int32_t cutoff, size_t batch, uint64_t *deleted)
{
	struct mem_store *m = drv(st);
	struct mem_table *sigs = &m->sigs;

	*deleted = 0;
	if (rule == STORE_PURGE_SOURCES)
		return source_purge(st, cutoff, batch, deleted);
	if (rule == STORE_PURGE_HISTORY)
		return mem_history_purge(st, cutoff, batch, deleted);
	if (rule == STORE_PURGE_DAILY)
		return mem_daily_purge(st, cutoff, batch, deleted);
	if (rule == STORE_PURGE_SIGNATURES) {
		for (size_t i = 0; i < sigs->n && *deleted < batch;) {
			struct mem_row *r = sigs->rows[i];

			if (r->day >= cutoff) {
				i++;
				continue;
			}
			if (row_delete(st, sigs, r->uid, r->key) != 0)
				return ES_ENOMEM;
			(*deleted)++;
		}
		return 0;
	}
	for (size_t b = 0; b < m->nbuckets && *deleted < batch; b++) {
		struct mem_tok *t = m->buckets[b], *next;

		for (; t != NULL && *deleted < batch; t = next) {
			next = t->next;
			if (!tok_selected(t, rule, cutoff))
				continue;
			if (undo_reserve(st) != 0)
				return ES_ENOMEM;
			undo_push(m, UNDO_TOK_DEL)->tok = t;
			tok_unlink(m, t);
			(*deleted)++;
		}
	}
	return 0;
}

const struct store_ops store_mem_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.begin = mem_begin,
	.commit = mem_commit,
	.rollback = mem_rollback,
	.user_uid = mem_user_uid,
	.users = mem_users,
	.tokens_get = mem_tokens_get,
	.tokens_list = mem_tokens_list,
	.tokens_put = mem_tokens_put,
	.totals_get = mem_totals_get,
	.totals_add = mem_totals_add,
	.sig_put = mem_sig_put,
	.sig_get = mem_sig_get,
	.sig_delete = mem_sig_delete,
	.pref_get = mem_pref_get,
	.pref_set = mem_pref_set,
	.prefs = mem_prefs,
	.domain_get = mem_domain_get,
	.domain_set = mem_domain_set,
	.domains = mem_domains,
	.purge_batch = mem_purge_batch,
	.sources_add = mem_sources_add,
	.sources_get = mem_sources_get,
	.sources_list = mem_sources_list,
	.sender_set = mem_sender_set,
	.sender_remove = mem_sender_remove,
	.sender_find = mem_sender_find,
	.senders = mem_senders,
	.history_add = mem_history_add,
	.history_list = mem_history_list,
	.history_count = mem_history_count,
	.history_correct = mem_history_correct,
	.history_set_action = mem_history_set_action,
	.daily_add = mem_daily_add,
	.daily_list = mem_daily_list,
};

/* ---- for mem_history.c and mem_daily.c ---- */

struct mem_table *
mem_daily_table(struct store *st)
{
	return &drv(st)->daily;
}

struct mem_table *
mem_history_table(struct store *st, int64_t **last_id)
{
	*last_id = &drv(st)->history_id;
	return &drv(st)->history;
}

int
mem_row_put(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key, const void *val, size_t len)
{
	return row_put(st, tab, uid, key, val, len, 0, NULL);
}

int
mem_row_delete(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key)
{
	return row_delete(st, tab, uid, key);
}

size_t
mem_row_first(const struct mem_table *tab, uint32_t uid)
{
	size_t pos;

	row_find(tab, uid, "", &pos);
	return pos;
}
