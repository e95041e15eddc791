/*
 * mem_daily.c - the memory driver's daily counts (store.h, "Daily
 * counts").
 *
 * A row is one entry of store_mem.c's sorted tables, keyed by (uid, the
 * day as 10 decimal digits), so a user's rows sit together in day
 * order; its value is a struct store_daily. Changes go through
 * mem_row_put and mem_row_delete, whose undo records make a rollback
 * restore the counts. Purge scans the whole table.
 *
 * Ownership: rows handed to a callback are copies on the stack, valid
 * during the callback only. Not thread-safe (as store_mem.c).
 */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include "es_err.h"
#include "store_int.h"
#include "store_mem_int.h"

#define MD_KEY 16

/* md_key - the table key of day (>= 0: store_daily.c checked it). */
static void
md_key(int32_t day, char key[MD_KEY])
{
	snprintf(key, MD_KEY, "%010ld", (long)day);
}

/* md_plus - a + b, clamped at zero (and at INT64_MAX). */
static int64_t
md_plus(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	a += b;
	return a < 0 ? 0 : a;
}

int
mem_daily_add(struct store *st, uint32_t uid, int32_t day,
    const struct store_daily *d)
{
	struct mem_table *tab = mem_daily_table(st);
	struct store_daily r;
	char key[MD_KEY];

	md_key(day, key);
	memset(&r, 0, sizeof(r));
	for (size_t i = mem_row_first(tab, uid);
	     i < tab->n && tab->rows[i]->uid == uid; i++)
		if (strcmp(tab->rows[i]->key, key) == 0) {
			memcpy(&r, tab->rows[i]->val, sizeof(r));
			break;
		}
	r.uid = uid;
	r.day = day;
	r.spam = md_plus(r.spam, d->spam);
	r.innocent = md_plus(r.innocent, d->innocent);
	r.whitelisted = md_plus(r.whitelisted, d->whitelisted);
	r.missed_spam = md_plus(r.missed_spam, d->missed_spam);
	r.false_positives = md_plus(r.false_positives, d->false_positives);
	return mem_row_put(st, tab, uid, key, &r, sizeof(r));
}

int
mem_daily_list(struct store *st, uint32_t uid, int32_t since,
    store_daily_fn *fn, void *arg)
{
	struct mem_table *tab = mem_daily_table(st);

	for (size_t i = mem_row_first(tab, uid);
	     i < tab->n && tab->rows[i]->uid == uid; i++) {
		struct store_daily r;

		memcpy(&r, tab->rows[i]->val, sizeof(r));
		if (r.day < since)
			continue;
		if (fn(&r, arg) != 0)
			break;
	}
	return 0;
}

int
mem_daily_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted)
{
	struct mem_table *tab = mem_daily_table(st);

	for (size_t i = 0; i < tab->n && *deleted < batch;) {
		struct store_daily r;
		struct mem_row *row = tab->rows[i];

		memcpy(&r, row->val, sizeof(r));
		if (r.day >= cutoff) {
			i++;
			continue;
		}
		if (mem_row_delete(st, tab, row->uid, row->key) != 0)
			return ES_ENOMEM;
		(*deleted)++;
	}
	return 0;
}
