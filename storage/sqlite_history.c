/*
 * sqlite_history.c - history rows (store.h, "History") for the sqlite
 * driver: the table edgespam_history of sql/sqlite/schema.sql, with an
 * AUTOINCREMENT id (never given twice, even after the newest rows went),
 * indexes on (uid, created) for a user's listing, (created) for the
 * purge and (uid, signature) for corrections.
 *
 * Statements are prepared on first use and kept with the connection.
 * Filters are bound, never written into SQL: one listing statement
 * serves every query, a filter that is off being bound as NULL (or the
 * widest range). The search is lowered here (ASCII letters only) and
 * found with instr() in the lowered columns: SQLite's lower() folds
 * ASCII only, so both sides fold alike, and '%' and '_' stay ordinary.
 *
 * Errors as store_sqlite.c (sq_fail). One thread per connection.
 */
#include "sqlite_history.h"

#include <stdint.h>
#include <string.h>

#include "es_err.h"
#include "store_int.h"

#define SQH_COLS                                                            \
	"id, uid, created, queue_id, client, sender, from_hdr, subject, "   \
	"verdict, probability, signature, action, correction, corrected"
/* ?1 uid, ?2 since, ?3 until, ?4 verdict or NULL, ?5 id or 0, ?6 the
 * lowered search or NULL */
#define SQH_WHERE                                                           \
	" FROM edgespam_history WHERE uid = ?1 AND created >= ?2 AND "      \
	"created < ?3 AND (?4 IS NULL OR verdict = ?4) AND "                \
	"(?5 = 0 OR id = ?5) AND (?6 IS NULL OR "                           \
	"instr(lower(sender), ?6) > 0 OR instr(lower(from_hdr), ?6) > 0 "   \
	"OR instr(lower(subject), ?6) > 0)"

static const char *const sqh_sql[SQH_NSTMT] = {
	[SQH_ADD] = "INSERT INTO edgespam_history (uid, created, queue_id, "
		    "client, sender, from_hdr, subject, verdict, probability, "
		    "signature, action) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		    "?8, ?9, ?10, ?11)",
	[SQH_LIST] = "SELECT " SQH_COLS SQH_WHERE
		     " ORDER BY created DESC, id DESC LIMIT ?7 OFFSET ?8",
	[SQH_COUNT] = "SELECT count(*)" SQH_WHERE,
	[SQH_CORRECT] = "UPDATE edgespam_history SET correction = ?3, "
			"corrected = ?4 WHERE uid = ?1 AND signature = ?2",
	[SQH_ACTION] = "UPDATE edgespam_history SET action = ?3 "
		       "WHERE uid = ?1 AND id = ?2",
	[SQH_PURGE] = "DELETE FROM edgespam_history WHERE id IN "
		      "(SELECT id FROM edgespam_history WHERE created < ?1 "
		      "LIMIT ?2)",
	[SQH_WAS] = "SELECT created, correction FROM edgespam_history "
		    "WHERE uid = ?1 AND signature = ?2 ORDER BY created, id "
		    "LIMIT 1",
	[SQH_DAILY_ADD] = "INSERT INTO edgespam_daily (uid, day, spam, "
			  "innocent, whitelisted, missed_spam, "
			  "false_positives) VALUES (?1, ?2, max(?3, 0), "
			  "max(?4, 0), max(?5, 0), max(?6, 0), max(?7, 0)) "
			  "ON CONFLICT (uid, day) DO UPDATE SET "
			  "spam = max(spam + ?3, 0), "
			  "innocent = max(innocent + ?4, 0), "
			  "whitelisted = max(whitelisted + ?5, 0), "
			  "missed_spam = max(missed_spam + ?6, 0), "
			  "false_positives = max(false_positives + ?7, 0)",
	[SQH_DAILY_LIST] = "SELECT day, spam, innocent, whitelisted, "
			   "missed_spam, false_positives FROM edgespam_daily "
			   "WHERE uid = ?1 AND day >= ?2 ORDER BY day",
	[SQH_DAILY_PURGE] = "DELETE FROM edgespam_daily WHERE rowid IN "
			    "(SELECT rowid FROM edgespam_daily WHERE day < ?1 "
			    "LIMIT ?2)",
};

void
sqh_finalize(struct sqh *h)
{
	for (size_t i = 0; i < SQH_NSTMT; i++) {
		sqlite3_finalize(h->stmt[i]);
		h->stmt[i] = NULL;
	}
}

static sqlite3_stmt *stmt(struct store *st, sqlite3 *db, struct sqh *h,
    enum sqh_stmt i, int *rc);
static int done(struct store *st, sqlite3_stmt *q, const char *what);

sqlite3_stmt *
sqh_prepared(struct store *st, sqlite3 *db, struct sqh *h, enum sqh_stmt i,
    int *rc)
{
	return stmt(st, db, h, i, rc);
}

int
sqh_done(struct store *st, sqlite3_stmt *q, const char *what)
{
	return done(st, q, what);
}

/* stmt - statement i of h, prepared on first use (NULL on failure). */
static sqlite3_stmt *
stmt(struct store *st, sqlite3 *db, struct sqh *h, enum sqh_stmt i, int *rc)
{
	*rc = 0;
	if (h->stmt[i] == NULL) {
		int r = sqlite3_prepare_v3(db, sqh_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &h->stmt[i], NULL);

		if (r != SQLITE_OK) {
			h->stmt[i] = NULL;
			*rc = sq_fail(st, r, "history: prepare");
			return NULL;
		}
	}
	return h->stmt[i];
}

/* done - step q to its end and reset it. */
static int
done(struct store *st, sqlite3_stmt *q, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		;
	rc = rc == SQLITE_DONE ? 0 : sq_fail(st, rc, what);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

/* text - bind a string the caller keeps until the reset. */
static void
text(sqlite3_stmt *q, int i, const char *v)
{
	sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* col - a column as text, "" for NULL. */
static const char *
col(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t != NULL ? (const char *)t : "";
}

int
sqh_add(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history *r, int64_t *id)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_ADD, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, r->time);
	text(q, 3, r->queue_id);
	text(q, 4, r->client);
	text(q, 5, r->sender);
	text(q, 6, r->from);
	text(q, 7, r->subject);
	text(q, 8, store_verdict_text(r->verdict));
	sqlite3_bind_double(q, 9, r->probability);
	text(q, 10, r->signature);
	text(q, 11, store_action_text(r->action));
	if ((rc = done(st, q, "history add")) != 0)
		return rc;
	*id = sqlite3_last_insert_rowid(db);
	return 0;
}

/* lower_ascii - s with ASCII letters lowered into buf. */
static void
lower_ascii(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	buf[i] = '\0';
}

/* bind_query - ?1..?6 of the listing and count statements. */
static void
bind_query(sqlite3_stmt *q, uint32_t uid, const struct store_history_query *f,
    char *search, size_t searchlen)
{
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, f->since);
	sqlite3_bind_int64(q, 3, f->until > 0 ? f->until : INT64_MAX);
	if (f->verdict != STORE_VERDICT_ANY)
		text(q, 4, store_verdict_text(f->verdict));
	sqlite3_bind_int64(q, 5, f->id > 0 ? f->id : 0);
	if (f->search != NULL) {
		lower_ascii(f->search, search, searchlen);
		text(q, 6, search);
	}
}

int
sqh_list(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history_query *f, store_history_fn *fn, void *arg)
{
	char search[STORE_HISTORY_SEARCH_MAX + 1];
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_LIST, &rc)) == NULL)
		return rc;
	bind_query(q, uid, f, search, sizeof(search));
	sqlite3_bind_int64(q, 7, f->limit == 0 || f->limit > INT64_MAX ? -1
	    : (sqlite3_int64)f->limit);
	sqlite3_bind_int64(q, 8, f->offset > INT64_MAX ? INT64_MAX
	    : (sqlite3_int64)f->offset);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_history r = {
			.id = sqlite3_column_int64(q, 0),
			.uid = (uint32_t)sqlite3_column_int64(q, 1),
			.time = sqlite3_column_int64(q, 2),
			.queue_id = col(q, 3),
			.client = col(q, 4),
			.sender = col(q, 5),
			.from = col(q, 6),
			.subject = col(q, 7),
			.verdict = store_verdict_of(col(q, 8)),
			.probability = sqlite3_column_double(q, 9),
			.signature = col(q, 10),
			.action = store_action_of(col(q, 11)),
			.correction = store_correction_of(col(q, 12)),
			.corrected = sqlite3_column_int64(q, 13),
		};

		if (fn(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : sq_fail(st, rc, "history list");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

int
sqh_count(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const struct store_history_query *f, uint64_t *n)
{
	char search[STORE_HISTORY_SEARCH_MAX + 1];
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_COUNT, &rc)) == NULL)
		return rc;
	bind_query(q, uid, f, search, sizeof(search));
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(q, 0);

		*n = v < 0 ? 0 : (uint64_t)v;
		rc = 0;
	} else {
		rc = sq_fail(st, rc, "history count");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc;
}

int
sqh_correct(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    const char *sig, enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_WAS, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	text(q, 2, sig);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		was->time = sqlite3_column_int64(q, 0);
		was->correction = store_correction_of(col(q, 1));
		rc = SQLITE_DONE;
	}
	rc = rc == SQLITE_DONE ? 0 : sq_fail(st, rc, "history correct");
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != 0 || (q = stmt(st, db, h, SQH_CORRECT, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	text(q, 2, sig);
	text(q, 3, store_correction_text(c));
	sqlite3_bind_int64(q, 4, now);
	if ((rc = done(st, q, "history correct")) != 0)
		return rc;
	*changed = sqlite3_changes64(db) > 0;
	return 0;
}

int
sqh_set_action(struct store *st, sqlite3 *db, struct sqh *h, uint32_t uid,
    int64_t id, enum store_action action, bool *changed)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_ACTION, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, id);
	text(q, 3, store_action_text(action));
	if ((rc = done(st, q, "history action")) != 0)
		return rc;
	*changed = sqlite3_changes64(db) > 0;
	return 0;
}

int
sqh_purge(struct store *st, sqlite3 *db, struct sqh *h, int32_t cutoff,
    size_t batch, uint64_t *deleted)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = stmt(st, db, h, SQH_PURGE, &rc)) == NULL)
		return rc;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)cutoff * 86400);
	sqlite3_bind_int64(q, 2,
	    batch > INT64_MAX ? INT64_MAX : (sqlite3_int64)batch);
	if ((rc = done(st, q, "purge history")) != 0)
		return rc;
	*deleted = (uint64_t)sqlite3_changes64(db);
	return 0;
}
