/*
 * sqlite_daily.c - the daily counts (store.h, "Daily counts") for the
 * sqlite driver: the table edgespam_daily of sql/sqlite/schema.sql,
 * keyed by (uid, day), day being days since the epoch (UTC).
 *
 * An addition is one upsert that adds each count and clamps it at zero
 * (max(count + delta, 0)), so two writers never lose a count. The
 * statements are sqlite_history.c's (struct sqh), prepared on first use
 * and kept with the connection. Errors as store_sqlite.c (sq_fail). One
 * thread per connection.
 */
#include "sqlite_history.h"

#include <stdint.h>

#include "es_err.h"
#include "store_int.h"

int
sqd_add(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    int32_t day, const struct store_daily *d)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = sqh_prepared(st, db, h, SQH_DAILY_ADD, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, day);
	sqlite3_bind_int64(q, 3, d->spam);
	sqlite3_bind_int64(q, 4, d->innocent);
	sqlite3_bind_int64(q, 5, d->whitelisted);
	sqlite3_bind_int64(q, 6, d->missed_spam);
	sqlite3_bind_int64(q, 7, d->false_positives);
	return sqh_done(st, q, "daily counts");
}

int
sqd_list(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    int32_t since, store_daily_fn *fn, void *arg)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = sqh_prepared(st, db, h, SQH_DAILY_LIST, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, since);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_daily r = {
			.uid = uid,
			.day = (int32_t)sqlite3_column_int64(q, 0),
			.spam = sqlite3_column_int64(q, 1),
			.innocent = sqlite3_column_int64(q, 2),
			.whitelisted = sqlite3_column_int64(q, 3),
			.missed_spam = sqlite3_column_int64(q, 4),
			.false_positives = sqlite3_column_int64(q, 5),
		};

		if (fn(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : sq_fail(st, rc, "daily counts");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

int
sqd_purge(struct store *st, sqlite3 *db, struct sqh *h, int32_t cutoff,
    size_t batch, uint64_t *deleted)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = sqh_prepared(st, db, h, SQH_DAILY_PURGE, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, cutoff);
	sqlite3_bind_int64(q, 2,
	    batch > INT64_MAX ? INT64_MAX : (sqlite3_int64)batch);
	if ((rc = sqh_done(st, q, "purge daily counts")) != 0)
		return rc;
	*deleted = (uint64_t)sqlite3_changes64(db);
	return 0;
}
