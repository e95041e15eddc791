/*
 * sqlite_history.h - the sqlite driver's history rows (edgespam_history)
 * and daily counts (edgespam_daily, sqlite_daily.c), kept apart from
 * store_sqlite.c. The driver owns a struct sqh per
 * connection: statements prepared on first use, finalized with the
 * connection (sqh_finalize). Every function runs on the connection db
 * of st's driver and reports failures with sq_fail().
 */
#ifndef SQLITE_HISTORY_H
#define SQLITE_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

enum sqh_stmt {
	SQH_ADD,
	SQH_LIST,
	SQH_COUNT,
	SQH_CORRECT,
	SQH_ACTION,
	SQH_PURGE,
	SQH_WAS,
	SQH_DAILY_ADD,  /* sqlite_daily.c's */
	SQH_DAILY_LIST,
	SQH_DAILY_PURGE,
	SQH_NSTMT
};

struct sqh {
	sqlite3_stmt *stmt[SQH_NSTMT];
};

/* sqh_finalize - finalize h's statements (before the connection closes). */
void sqh_finalize(struct sqh *h);

int sqh_add(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history *row, int64_t *id);
int sqh_list(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg);
int sqh_count(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history_query *q, uint64_t *n);
int sqh_correct(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const char *sig, enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was);
int sqh_set_action(struct store *st, sqlite3 *db, struct sqh *h,
    uint32_t uid, int64_t id, enum store_action action, bool *changed);
/* sqh_purge - delete up to batch rows older than the cutoff day. */
int sqh_purge(struct store *st, sqlite3 *db, struct sqh *h, int32_t cutoff,
    size_t batch, uint64_t *deleted);

/* sqh_prepared - statement i of h, prepared on first use; NULL (*rc
 * set) on failure. */
sqlite3_stmt *sqh_prepared(struct store *st, sqlite3 *db, struct sqh *h,
    enum sqh_stmt i, int *rc);
/* sqh_done - step q to its end, reset it and clear its bindings. */
int sqh_done(struct store *st, sqlite3_stmt *q, const char *what);

/* The daily counts (sqlite_daily.c), with h's statements. */
int sqd_add(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    int32_t day, const struct store_daily *d);
int sqd_list(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    int32_t since, store_daily_fn *fn, void *arg);
int sqd_purge(struct store *st, sqlite3 *db, struct sqh *h, int32_t cutoff,
    size_t batch, uint64_t *deleted);

/* sq_fail - store_sqlite.c's error report: SQLite's message for what,
 * and rc mapped to an es_err code. */
int sq_fail(struct store *st, int rc, const char *what);

#endif
