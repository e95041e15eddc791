/*
 * store_mem_int.h - what the memory driver's files share: the sorted
 * row tables of store_mem.c and their changes with undo records, for
 * the history rows kept by mem_history.c. Not for users of the store.
 */
#ifndef STORE_MEM_INT_H
#define STORE_MEM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_int.h"

/* A row of the small tables; val is NUL-terminated after len bytes. */
struct mem_row {
	uint32_t uid;
	char *key;
	char *val;
	size_t len;
	int32_t day;
	uint32_t ref; /* users: the user's uid */
};

/* Rows in (uid, key) order. */
struct mem_table {
	struct mem_row **rows;
	size_t n;
	size_t cap;
};

/* mem_history_table - st's history table; *last_id the last id given. */
struct mem_table *mem_history_table(struct store *st, int64_t **last_id);
/*
 * mem_row_put - insert or replace (uid, key) in tab with a copy of val
 * (len bytes); undone by a rollback. 0 or ES_ENOMEM (nothing changed).
 */
int mem_row_put(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key, const void *val, size_t len);
/* mem_row_delete - remove (uid, key) from tab (undone by a rollback). */
int mem_row_delete(struct store *st, struct mem_table *tab, uint32_t uid,
    const char *key);
/* mem_row_first - the index of uid's first row in tab (or where it
 * would be). */
size_t mem_row_first(const struct mem_table *tab, uint32_t uid);

/* The history operations (mem_history.c). */
int mem_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id);
int mem_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg);
int mem_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n);
int mem_history_correct(struct store *st, uint32_t uid, const char *sig,
    enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was);
int mem_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action, bool *changed);
int mem_history_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);

/* The daily counts (mem_daily.c), in st's table mem_daily_table(). */
struct mem_table *mem_daily_table(struct store *st);
int mem_daily_add(struct store *st, uint32_t uid, int32_t day,
    const struct store_daily *d);
int mem_daily_list(struct store *st, uint32_t uid, int32_t since,
    store_daily_fn *fn, void *arg);
int mem_daily_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);

#endif
