/*
 * mem_history.c - the memory driver's history rows (store.h, "History").
 *
 * A row is one entry of store_mem.c's sorted tables, keyed by (uid, the
 * id as 20 decimal digits), so a user's rows sit together in id order;
 * its value is a fixed header (struct mh_head) followed by the six
 * texts, each NUL-terminated. Changes go through mem_row_put and
 * mem_row_delete, which keep undo records: a rollback restores rows,
 * corrections and purged rows. Ids come from a counter that a rollback
 * does not lower (ids rise; a rolled back one is never given again).
 *
 * Listing filters with store_history_match() and sorts the matches by
 * time, then id, newest first: a scan of the user's rows and a sort per
 * call, which is what a test store needs. Purge scans the whole table.
 *
 * Ownership: rows handed to a callback point into the table and are
 * valid during the callback only. Not thread-safe (as store_mem.c).
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store_int.h"
#include "store_mem_int.h"

#define MH_TEXTS 6
#define MH_KEY 24

struct mh_head {
	int64_t id;
	int64_t time;
	int64_t corrected;
	double probability;
	int32_t verdict;
	int32_t action;
	int32_t correction;
	uint32_t uid;
	uint32_t off[MH_TEXTS]; /* where each text starts, after the head */
};

/* mh_key - the table key of id. */
static void
mh_key(int64_t id, char key[MH_KEY])
{
	snprintf(key, MH_KEY, "%020lld", (long long)id);
}

/* mh_texts - the row's texts, in the value's order. */
static void
mh_texts(const struct store_history *r, const char *t[MH_TEXTS])
{
	t[0] = r->queue_id;
	t[1] = r->client;
	t[2] = r->sender;
	t[3] = r->from;
	t[4] = r->subject;
	t[5] = r->signature;
}

/* mh_encode - r as a value (caller frees with es_free), or NULL. */
static char *
mh_encode(const struct store_history *r, size_t *len)
{
	struct mh_head h;
	const char *t[MH_TEXTS];
	size_t n = 0, at;
	char *v;

	mh_texts(r, t);
	for (size_t i = 0; i < MH_TEXTS; i++)
		n += strlen(t[i]) + 1; /* each bounded by store_history.c */
	if ((v = es_malloc(sizeof(h) + n)) == NULL)
		return NULL;
	memset(&h, 0, sizeof(h));
	h.id = r->id;
	h.time = r->time;
	h.corrected = r->corrected;
	h.probability = r->probability;
	h.verdict = (int32_t)r->verdict;
	h.action = (int32_t)r->action;
	h.correction = (int32_t)r->correction;
	h.uid = r->uid;
	at = sizeof(h);
	for (size_t i = 0; i < MH_TEXTS; i++) {
		size_t l = strlen(t[i]) + 1;

		h.off[i] = (uint32_t)at;
		memcpy(v + at, t[i], l);
		at += l;
	}
	memcpy(v, &h, sizeof(h));
	*len = at;
	return v;
}

/* mh_decode - the row a table value holds; texts point into v. */
static void
mh_decode(const char *v, struct store_history *r)
{
	struct mh_head h;

	memcpy(&h, v, sizeof(h));
	memset(r, 0, sizeof(*r));
	r->id = h.id;
	r->uid = h.uid;
	r->time = h.time;
	r->corrected = h.corrected;
	r->probability = h.probability;
	r->verdict = (enum store_verdict)h.verdict;
	r->action = (enum store_action)h.action;
	r->correction = (enum store_correction)h.correction;
	r->queue_id = v + h.off[0];
	r->client = v + h.off[1];
	r->sender = v + h.off[2];
	r->from = v + h.off[3];
	r->subject = v + h.off[4];
	r->signature = v + h.off[5];
}

/* mh_put - store r (its id set) as (uid, id). */
static int
mh_put(struct store *st, struct mem_table *tab, const struct store_history *r)
{
	char key[MH_KEY], *v;
	size_t len = 0;
	int rc;

	if ((v = mh_encode(r, &len)) == NULL) {
		store_seterr(st, "memory store: out of memory");
		return ES_ENOMEM;
	}
	mh_key(r->id, key);
	rc = mem_row_put(st, tab, r->uid, key, v, len);
	es_free(v);
	return rc;
}

int
mem_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id)
{
	int64_t *last;
	struct mem_table *tab = mem_history_table(st, &last);
	struct store_history r = *row;
	int rc;

	r.id = *last + 1;
	r.uid = uid;
	if ((rc = mh_put(st, tab, &r)) != 0)
		return rc;
	*last = r.id;
	*id = r.id;
	return 0;
}

/* mh_newer - qsort order: time, then id, descending. */
static int
mh_newer(const void *a, const void *b)
{
	struct store_history x, y;

	mh_decode((*(const struct mem_row *const *)a)->val, &x);
	mh_decode((*(const struct mem_row *const *)b)->val, &y);
	if (x.time != y.time)
		return x.time > y.time ? -1 : 1;
	if (x.id != y.id)
		return x.id > y.id ? -1 : 1;
	return 0;
}

/* mh_select - uid's rows matching q, newest first (*out: caller frees). */
static int
mh_select(struct store *st, uint32_t uid, const struct store_history_query *q,
    struct mem_row ***out, size_t *n)
{
	int64_t *last;
	struct mem_table *tab = mem_history_table(st, &last);
	struct mem_row **sel = NULL;
	size_t first = mem_row_first(tab, uid), k = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = first; i < tab->n && tab->rows[i]->uid == uid; i++)
		k++;
	if (k > 0 && (sel = es_reallocarray(NULL, k, sizeof(*sel))) == NULL) {
		store_seterr(st, "memory store: out of memory");
		return ES_ENOMEM;
	}
	k = 0;
	for (size_t i = first; i < tab->n && tab->rows[i]->uid == uid; i++) {
		struct store_history r;

		mh_decode(tab->rows[i]->val, &r);
		if (store_history_match(&r, q))
			sel[k++] = tab->rows[i];
	}
	if (k > 1)
		qsort(sel, k, sizeof(*sel), mh_newer);
	*out = sel;
	*n = k;
	return 0;
}

int
mem_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg)
{
	struct mem_row **sel;
	size_t n, shown = 0;
	int rc;

	if ((rc = mh_select(st, uid, q, &sel, &n)) != 0)
		return rc;
	for (size_t i = q->offset; i < n; i++) {
		struct store_history r;

		if (q->limit != 0 && shown == q->limit)
			break;
		mh_decode(sel[i]->val, &r);
		shown++;
		if (fn(&r, arg) != 0)
			break;
	}
	es_free(sel);
	return 0;
}

int
mem_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n)
{
	struct mem_row **sel;
	size_t k;
	int rc;

	if ((rc = mh_select(st, uid, q, &sel, &k)) != 0)
		return rc;
	es_free(sel);
	*n = k;
	return 0;
}

/*
 * mh_change - rewrite uid's rows that match (signature, or id when sig
 * is NULL) with correction c at now, or (set_action) action.
 */
static int
mh_change(struct store *st, uint32_t uid, const char *sig, int64_t id,
    enum store_correction c, int64_t now, bool set_action,
    enum store_action action, bool *changed, struct store_history_was *was)
{
	int64_t *last;
	struct mem_table *tab = mem_history_table(st, &last);
	int rc;

	*changed = false;
	for (size_t i = mem_row_first(tab, uid);
	     i < tab->n && tab->rows[i]->uid == uid; i++) {
		struct store_history r;

		mh_decode(tab->rows[i]->val, &r);
		if (sig != NULL ? strcmp(r.signature, sig) != 0 : r.id != id)
			continue;
		if (was != NULL && (!*changed || r.time < was->time)) {
			was->time = r.time;
			was->correction = r.correction;
		}
		if (set_action) {
			r.action = action;
		} else {
			r.correction = c;
			r.corrected = now;
		}
		/* the key exists: row_put replaces the value in place */
		if ((rc = mh_put(st, tab, &r)) != 0)
			return rc;
		*changed = true;
	}
	return 0;
}

int
mem_history_correct(struct store *st, uint32_t uid, const char *sig,
    enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was)
{
	return mh_change(st, uid, sig, 0, c, now, false, STORE_ACTION_NONE,
	    changed, was);
}

int
mem_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action, bool *changed)
{
	return mh_change(st, uid, NULL, id, STORE_CORRECTION_NONE, 0, true,
	    action, changed, NULL);
}

int
mem_history_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted)
{
	int64_t *last;
	struct mem_table *tab = mem_history_table(st, &last);
	int64_t limit = (int64_t)cutoff * 86400;

	for (size_t i = 0; i < tab->n && *deleted < batch;) {
		struct store_history r;
		struct mem_row *row = tab->rows[i];

		mh_decode(row->val, &r);
		if (r.time >= limit) {
			i++;
			continue;
		}
		if (mem_row_delete(st, tab, row->uid, row->key) != 0)
			return ES_ENOMEM;
		(*deleted)++;
	}
	return 0;
}
