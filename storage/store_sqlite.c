/*
 * store_sqlite.c - the "sqlite" store driver: all users in one SQLite
 * database file, with DSPAM's table and column names (sql/sqlite/
 * schema.sql, compiled in).
 *
 * Open creates the file if needed (mode 0600, set before the schema
 * makes the -wal and -shm files, which SQLite gives the same mode),
 * applies the schema (CREATE ... IF NOT EXISTS, so every open may do
 * it), and sets WAL journaling,
 * synchronous = NORMAL (a power cut may lose the last transactions, never
 * the database), a larger page cache and WAL (see SQ_PRAGMAS) and the
 * busy timeout from store_params. Every statement
 * is prepared once per handle: the fixed ones at open, the batched token
 * reads on first use of each size, and all are reused; values are only
 * ever bound, never written into SQL text.
 *
 * Representation: a token id is stored as INTEGER, the 64 bits of the
 * unsigned id read as a signed integer; last_hit and created_on are ISO
 * dates (YYYY-MM-DD, UTC) as DSPAM's MySQL DATE columns hold them;
 * weight is REAL. A date the driver cannot read counts as day 0.
 *
 * Batched reads: tokens_get asks for up to TOK_CHUNK ids per statement,
 * "... WHERE uid = ? AND token IN (?, ...)", with one statement for each
 * power-of-two count of placeholders (unused places repeat an id), and
 * matches the rows back to the caller's array by binary search when the
 * chunk is sorted, by a scan of the chunk otherwise.
 *
 * Sources (edgespam_sources) keep their times as INTEGER seconds since
 * the epoch; a message's two source rows are upserted one statement each.
 * History rows (edgespam_history) are sqlite_history.c's, on this
 * connection, with statements it prepares on first use; the daily
 * counts (edgespam_daily) sqlite_daily.c's, with the same statements.
 *
 * store_schema(): check lists the tables, the weight column and the
 * purge indexes a database lacks; upgrade adds the column with ALTER
 * TABLE and then applies the schema, whose CREATE ... IF NOT EXISTS
 * adds the rest without touching a row.
 *
 * A file deleted or replaced under the handle (store.h): before each
 * transaction, in maintain and in refresh, one stat() of the path is
 * compared with the device and inode of the file opened (sqlite_file.c
 * keeps them, with those of the -wal and -shm). When they differ, the
 * handle opens the path anew, creating the database when nothing is
 * there, and only then closes the old file; the old file's -wal and
 * -shm are first removed from the path when they are still there, so
 * the new file is never read with the old file's log. Nothing is
 * checked inside a transaction, nor for statements run outside one
 * (reads without store_begin): a caller that keeps a handle for long
 * calls store_refresh() itself, as the milter's pool does. A path that
 * is not a plain file name (":memory:", a URI) is never checked.
 *
 * Errors: SQLITE_BUSY and SQLITE_LOCKED (another handle holds the lock
 * longer than the busy timeout) are ES_ETRANSIENT, SQLITE_NOMEM is
 * ES_ENOMEM, anything else ES_ESTORE; the message names the operation
 * and carries SQLite's own text. SQLite's own allocations do not go
 * through es_alloc. One thread per handle (the connection is opened
 * without SQLite's mutexes).
 */
#include "store.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store_drivers.h"
#include "store_int.h"
#include "sqlite_file.h"
#include "sqlite_history.h"
#include "sqlite_walbuf.h"

static const char schema_sql[] =
#include "sql_sqlite_schema.h"
    ;

/*
 * Per-connection settings. A learning message rewrites a few hundred
 * random rows, i.e. about as many pages; what costs is the checkpoint
 * that copies them into the database with two fsyncs. A larger WAL
 * (40000 pages, 40 MiB with the schema's 1 KiB pages, before a
 * checkpoint) lets a page rewritten by many messages be copied once:
 * over the SpamAssassin corpus in one process it makes 109 fsyncs
 * instead of 481 and 10% fewer writes than 10000 pages did. The 16 MiB page cache (default:
 * 2 MiB) keeps the token tree's inner pages and common tokens in memory.
 * cache_spill = OFF: a transaction's pages reach the WAL only at its
 * commit, never before (the WAL buffer of sqlite_walbuf.c must not hold
 * frames of a transaction that is then rolled back); a transaction
 * larger than the cache grows the cache instead.
 */
#define SQ_PRAGMAS                                                          \
	"PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384; "         \
	"PRAGMA wal_autocheckpoint = 40000; PRAGMA cache_spill = OFF"

/* Ids per batched read; 2^TOK_LEVELS-1 = TOK_CHUNK. */
#define TOK_CHUNK 256
#define TOK_LEVELS 9

enum sq_stmt {
	S_BEGIN_W,
	S_BEGIN_R,
	S_COMMIT,
	S_ROLLBACK,
	S_USER_INS,
	S_USER_SEL,
	S_USERS,
	S_TOK_PUT,
	S_TOK_TOUCH,
	S_TOT_GET,
	S_TOT_ADD,
	S_SIG_PUT,
	S_SIG_GET,
	S_SIG_DEL,
	S_PREF_GET,
	S_PREF_SET,
	S_PREF_DEL,
	S_PREFS,
	S_DOM_GET,
	S_DOM_SET,
	S_DOM_DEL,
	S_DOMS,
	S_PURGE_SIG,
	S_PURGE_UNUSED,
	S_PURGE_RARE,
	S_PURGE_SINGLE,
	S_SND_SET,
	S_SND_DEL,
	S_SND_FIND,
	S_SNDS,
	S_SRC_ADD,
	S_SRC_GET,
	S_SRC_LIST,
	S_PURGE_SRC,
	S_COUNT
};

#define TOTALS_COLS                                                         \
	"spam_learned, innocent_learned, spam_misclassified, "              \
	"innocent_misclassified, spam_corpusfed, innocent_corpusfed, "      \
	"spam_classified, innocent_classified"
#define SOURCE_COUNTS                                                       \
	"spam, innocent, spam_corrections, innocent_corrections, spam_streak"
#define PURGE_TOKENS                                                        \
	"DELETE FROM dspam_token_data WHERE (uid, token) IN "               \
	"(SELECT uid, token FROM dspam_token_data "                         \
	"WHERE last_hit < ?1 AND token <> ?3"

static const char *const sq_sql[S_COUNT] = {
	[S_BEGIN_W] = "BEGIN IMMEDIATE",
	[S_BEGIN_R] = "BEGIN DEFERRED",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_USER_INS] =
	    "INSERT OR IGNORE INTO dspam_virtual_uids (username) VALUES (?1)",
	[S_USER_SEL] = "SELECT uid FROM dspam_virtual_uids WHERE username = ?1",
	[S_USERS] = "SELECT uid, username FROM dspam_virtual_uids ORDER BY uid",
	[S_TOK_PUT] =
	    "INSERT INTO dspam_token_data "
	    "(uid, token, spam_hits, innocent_hits, last_hit, weight) "
	    "VALUES (?1, ?2, max(?3, 0), max(?4, 0), ?5, ?6) "
	    "ON CONFLICT (uid, token) DO UPDATE SET "
	    "spam_hits = max(spam_hits + ?3, 0), "
	    "innocent_hits = max(innocent_hits + ?4, 0), "
	    "last_hit = ?5, weight = weight + ?6",
	[S_TOK_TOUCH] =
	    "UPDATE dspam_token_data SET "
	    "spam_hits = max(spam_hits + ?3, 0), "
	    "innocent_hits = max(innocent_hits + ?4, 0), "
	    "weight = weight + ?6 "
	    "WHERE uid = ?1 AND token = ?2 AND last_hit = ?5",
	[S_TOT_GET] = "SELECT " TOTALS_COLS " FROM dspam_stats WHERE uid = ?1",
	[S_TOT_ADD] =
	    "INSERT INTO dspam_stats (uid, " TOTALS_COLS ") VALUES (?1, "
	    "max(?2, 0), max(?3, 0), max(?4, 0), max(?5, 0), max(?6, 0), "
	    "max(?7, 0), max(?8, 0), max(?9, 0)) "
	    "ON CONFLICT (uid) DO UPDATE SET "
	    "spam_learned = max(spam_learned + ?2, 0), "
	    "innocent_learned = max(innocent_learned + ?3, 0), "
	    "spam_misclassified = max(spam_misclassified + ?4, 0), "
	    "innocent_misclassified = max(innocent_misclassified + ?5, 0), "
	    "spam_corpusfed = max(spam_corpusfed + ?6, 0), "
	    "innocent_corpusfed = max(innocent_corpusfed + ?7, 0), "
	    "spam_classified = max(spam_classified + ?8, 0), "
	    "innocent_classified = max(innocent_classified + ?9, 0)",
	[S_SIG_PUT] =
	    "INSERT INTO dspam_signature_data "
	    "(uid, signature, data, length, created_on) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (uid, signature) DO UPDATE SET "
	    "data = excluded.data, length = excluded.length, "
	    "created_on = excluded.created_on",
	[S_SIG_GET] = "SELECT data FROM dspam_signature_data "
		      "WHERE uid = ?1 AND signature = ?2",
	[S_SIG_DEL] = "DELETE FROM dspam_signature_data "
		      "WHERE uid = ?1 AND signature = ?2",
	[S_PREF_GET] = "SELECT value FROM dspam_preferences "
		       "WHERE uid = ?1 AND preference = ?2",
	[S_PREF_SET] = "INSERT INTO dspam_preferences (uid, preference, value) "
		       "VALUES (?1, ?2, ?3) ON CONFLICT (uid, preference) "
		       "DO UPDATE SET value = excluded.value",
	[S_PREF_DEL] = "DELETE FROM dspam_preferences "
		       "WHERE uid = ?1 AND preference = ?2",
	[S_PREFS] = "SELECT preference, value FROM dspam_preferences "
		    "WHERE uid = ?1 ORDER BY preference",
	[S_DOM_GET] = "SELECT policy FROM edgespam_domain_policy "
		      "WHERE domain = ?1",
	[S_DOM_SET] = "INSERT INTO edgespam_domain_policy (domain, policy) "
		      "VALUES (?1, ?2) ON CONFLICT (domain) "
		      "DO UPDATE SET policy = excluded.policy",
	[S_DOM_DEL] = "DELETE FROM edgespam_domain_policy WHERE domain = ?1",
	[S_DOMS] = "SELECT domain, policy FROM edgespam_domain_policy "
		   "ORDER BY domain",
	[S_PURGE_SIG] = "DELETE FROM dspam_signature_data WHERE rowid IN "
			"(SELECT rowid FROM dspam_signature_data "
			"WHERE created_on < ?1 LIMIT ?2)",
	[S_PURGE_UNUSED] = PURGE_TOKENS " LIMIT ?2)",
	[S_PURGE_RARE] = PURGE_TOKENS
	    " AND innocent_hits * 2 + spam_hits < 5 LIMIT ?2)",
	[S_PURGE_SINGLE] = PURGE_TOKENS
	    " AND ((spam_hits = 1 AND innocent_hits = 0) OR "
	    "(spam_hits = 0 AND innocent_hits = 1)) LIMIT ?2)",
	[S_SND_SET] = "INSERT INTO edgespam_sender_list "
		      "(uid, pattern, kind, created_on) VALUES (?1, ?2, ?3, ?4) "
		      "ON CONFLICT (uid, pattern) DO UPDATE SET "
		      "kind = excluded.kind, created_on = excluded.created_on",
	[S_SND_DEL] = "DELETE FROM edgespam_sender_list "
		      "WHERE uid = ?1 AND pattern = ?2 AND kind = ?3",
	/* STORE_SENDER_FIND_MAX places; the unused ones are NULL */
	[S_SND_FIND] =
	    "SELECT pattern, kind FROM edgespam_sender_list "
	    "WHERE uid = ?1 AND pattern IN ("
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
	    "?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33"
	    ")",
	[S_SNDS] = "SELECT pattern, kind FROM edgespam_sender_list "
		   "WHERE uid = ?1 ORDER BY pattern",
	/* ?6: the streak restarts; ?7: now */
	[S_SRC_ADD] =
	    "INSERT INTO edgespam_sources (source, " SOURCE_COUNTS ", "
	    "first_seen, last_seen, last_spam) VALUES (?1, max(?2, 0), "
	    "max(?3, 0), max(?4, 0), max(?5, 0), max(?2, 0), ?7, ?7, "
	    "CASE WHEN ?2 > 0 THEN ?7 ELSE 0 END) "
	    "ON CONFLICT (source) DO UPDATE SET "
	    "spam = max(spam + ?2, 0), innocent = max(innocent + ?3, 0), "
	    "spam_corrections = max(spam_corrections + ?4, 0), "
	    "innocent_corrections = max(innocent_corrections + ?5, 0), "
	    "spam_streak = (CASE WHEN ?6 THEN 0 ELSE spam_streak END) + "
	    "max(?2, 0), last_seen = ?7, "
	    "last_spam = CASE WHEN ?2 > 0 THEN ?7 ELSE last_spam END",
	[S_SRC_GET] = "SELECT source, " SOURCE_COUNTS ", first_seen, "
		      "last_seen, last_spam FROM edgespam_sources "
		      "WHERE source = ?1",
	[S_SRC_LIST] = "SELECT source, " SOURCE_COUNTS ", first_seen, "
		       "last_seen, last_spam FROM edgespam_sources "
		       "WHERE last_seen >= ?1 ORDER BY source",
	[S_PURGE_SRC] = "DELETE FROM edgespam_sources WHERE source IN "
			"(SELECT source FROM edgespam_sources "
			"WHERE last_seen < ?1 LIMIT ?2)",
};

struct sq_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	sqlite3_stmt *get[TOK_LEVELS]; /* level k: 2^k ids; lazily */
	char *path;   /* the database file (the purge lock's name, reopens) */
	int purge_fd; /* the purge lock file while we hold it, else -1 */
	int busy_ms;  /* the busy timeout of store_params */
	bool own_maint;         /* store_params.own_maintenance */
	struct sq_files files;  /* what db has open, for the reopen check */
	unsigned long seq;      /* sq_files_seq() when db was opened */
	struct sqh hist;        /* sqlite_history.c's statements */
};

/* drv - the driver state of st. */
static struct sq_store *
drv(struct store *st)
{
	return st->st_drv;
}

/* map - an es_err code for an SQLite result code. */
static int
map(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ES_ETRANSIENT;
	case SQLITE_NOMEM:
		return ES_ENOMEM;
	default:
		return ES_ESTORE;
	}
}

/* fail - record SQLite's message for what and map rc. */
static int
fail(struct store *st, int rc, const char *what)
{
	sqlite3 *db = drv(st) != NULL ? drv(st)->db : NULL;

	store_seterr(st, "sqlite: %s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return map(rc);
}

/* run - step s to its end (rows are ignored) and reset it. */
static int
run(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		rc = fail(st, rc, what);
		sqlite3_reset(s);
		return rc;
	}
	sqlite3_reset(s);
	return 0;
}

/* bind_text - bind a string the caller keeps until the reset. */
static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* col_text - a column as text, "" for NULL. */
static const char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t != NULL ? (const char *)t : "";
}

/* col_count - a count column, negative values read as 0. */
static uint64_t
col_count(sqlite3_stmt *s, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(s, i);

	return v < 0 ? 0 : (uint64_t)v;
}

/* plain_path - a file name, not ":memory:" or a "file:" URI. */
static bool
plain_path(const char *path)
{
	return path[0] != '\0' && path[0] != ':' &&
	    strncmp(path, "file:", 5) != 0;
}

/* no_file_yet - path names a file that does not exist (yet). */
static bool
no_file_yet(const char *path)
{
	struct stat sb;

	return plain_path(path) && stat(path, &sb) != 0 && errno == ENOENT;
}

/* need_path - ES_EINVAL, with the message, when p names no database. */
static int
need_path(struct store *st, const struct store_params *p)
{
	if (p->path == NULL || p->path[0] == '\0') {
		store_seterr(st, "sqlite: no database path given");
		return ES_EINVAL;
	}
	return 0;
}

/*
 * conn_close - close s's connection and its statements. moved: the file
 * is no longer at the path; SQLite then neither checkpoints nor deletes
 * the -wal and -shm by name at close (pager.c, databaseIsUnmoved), and
 * PERSIST_WAL says so once more, because those names may now be the
 * new database's.
 */
static void
conn_close(struct sq_store *s, bool moved)
{
	int one = 1;

	for (size_t i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
	for (size_t i = 0; i < TOK_LEVELS; i++) {
		sqlite3_finalize(s->get[i]);
		s->get[i] = NULL;
	}
	sqh_finalize(&s->hist);
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (s->db != NULL && moved)
		sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL,
		    &one);
	sqlite3_close(s->db);
	s->db = NULL;
}

static void
sq_close(struct store *st)
{
	struct sq_store *s = drv(st);

	if (s == NULL)
		return;
	conn_close(s, sq_files_state(s->path, &s->files) != SQ_FILE_SAME);
	if (s->purge_fd >= 0)
		close(s->purge_fd);
	es_free(s->path);
	es_free(s);
	st->st_drv = NULL;
}

/* setup - schema, pragmas and statements of a freshly opened db. */
static int
setup(struct store *st, const char *path)
{
	struct sq_store *s = drv(st);
	int rc;

	rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, SQ_PRAGMAS, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_seterr(st, "sqlite: %s: schema: %s", path,
		    sqlite3_errmsg(s->db));
		return map(rc);
	}
	for (size_t i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, sq_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			store_seterr(st, "sqlite: %s: prepare %zu: %s", path, i,
			    sqlite3_errmsg(s->db));
			return map(rc);
		}
	}
	return 0;
}

/*
 * db_connect - open st's database (drv(st): path, busy_ms and own_maint
 * set, no connection yet): the schema, the settings, the statements and
 * the identities of the files SQLite opened. A new database (created)
 * gets mode 0600 before the schema makes its -wal and -shm, which SQLite
 * then creates with the same mode. The mode is changed by name: opening
 * and closing a descriptor of our own would drop every POSIX lock this
 * process holds on the file (the other handles' locks too), and another
 * process could then delete a WAL still in use. On failure the caller
 * closes what was opened.
 */
static int
db_connect(struct store *st, bool created)
{
	struct sq_store *s = drv(st);
	int rc, moved = 0;

	rc = sqlite3_open_v2(s->path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		SQLITE_OPEN_NOMUTEX,
	    sq_walbuf_vfs());
	if (rc != SQLITE_OK) {
		store_seterr(st, "sqlite: cannot open %s: %s", s->path,
		    s->db != NULL ? sqlite3_errmsg(s->db) :
				    sqlite3_errstr(rc));
		return map(rc);
	}
	sqlite3_busy_timeout(s->db, s->busy_ms);
	if (created && chmod(s->path, 0600) != 0) {
		store_seterr(st, "sqlite: chmod %s: %s", s->path,
		    strerror(errno));
		return ES_ESTORE;
	}
	if ((rc = setup(st, s->path)) != 0)
		return rc;
	if (s->own_maint &&
	    sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL,
		NULL) != SQLITE_OK) {
		store_seterr(st, "sqlite: %s: %s", s->path,
		    sqlite3_errmsg(s->db));
		return ES_ESTORE;
	}
	if (!plain_path(s->path))
		return 0;
	sq_files_note(s->path, &s->files);
	/* the file we noted must be the one SQLite has open */
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED,
		&moved) == SQLITE_OK && moved) {
		store_seterr(st, "sqlite: %s was replaced while it was being "
		    "opened", s->path);
		return ES_ETRANSIENT;
	}
	return 0;
}

static int
sq_open(struct store *st, const struct store_params *p)
{
	struct sq_store *s;
	bool created;
	int rc;

	if ((rc = need_path(st, p)) != 0)
		return rc;
	created = no_file_yet(p->path);
	s = es_calloc(1, sizeof(*s));
	if (s == NULL) {
		store_seterr(st, "sqlite: out of memory");
		return ES_ENOMEM;
	}
	st->st_drv = s;
	s->purge_fd = -1;
	s->busy_ms = (int)(p->busy_timeout_ms > INT32_MAX ? INT32_MAX :
						    p->busy_timeout_ms);
	s->own_maint = p->own_maintenance;
	sq_files_lock();
	s->seq = sq_files_seq();
	sq_files_unlock();
	if ((s->path = es_strdup(p->path)) == NULL) {
		store_seterr(st, "sqlite: out of memory");
		sq_close(st);
		return ES_ENOMEM;
	}
	if ((rc = db_connect(st, created)) != 0)
		sq_close(st);
	return rc;
}

/* file_id - the public form of an identity. */
static struct store_file
file_id(const struct sq_file_id *id)
{
	struct store_file f = {0, 0};

	if (id->known) {
		f.dev = (uint64_t)id->dev;
		f.ino = (uint64_t)id->ino;
	}
	return f;
}

static void
sq_file_id(const struct store *st, struct store_file *f)
{
	const struct sq_store *s = st->st_drv;

	*f = file_id(&s->files.db);
}

/*
 * reopen - the path no longer names the file st has open: open it anew
 * (creating the database when nothing is there), then let go of the old
 * file. Under sq_files_lock(), the state is taken again (another handle
 * of the process may have created the new file meanwhile: then this
 * handle opens that one, and reports the deletion as well), and the old
 * file's -wal and -shm are removed from the path before the open
 * (sqlite_file.c says why). When the open fails, st keeps its old file
 * and the error is returned; the next check tries again.
 */
static int
reopen(struct store *st)
{
	struct sq_store *old = drv(st), *s;
	struct store_reopen r;
	enum sq_file_state fs;
	bool dropped = false;
	int rc;

	if ((s = es_calloc(1, sizeof(*s))) == NULL) {
		store_seterr(st, "sqlite: out of memory");
		return ES_ENOMEM;
	}
	s->path = old->path;
	s->purge_fd = -1;
	s->busy_ms = old->busy_ms;
	s->own_maint = old->own_maint;
	sq_files_lock();
	s->seq = sq_files_seq();
	fs = sq_files_state(old->path, &old->files);
	rc = fs == SQ_FILE_SAME ? 0 : sq_files_drop_old(old->path,
	    &old->files, &dropped, st->st_err, sizeof(st->st_err));
	if (rc == 0 && fs != SQ_FILE_SAME) {
		st->st_drv = s;
		rc = db_connect(st, fs == SQ_FILE_GONE);
	}
	if (rc == 0 && fs == SQ_FILE_GONE)
		sq_files_created(&s->files.db);
	memset(&r, 0, sizeof(r));
	r.created = rc == 0 && fs != SQ_FILE_SAME &&
	    (fs == SQ_FILE_GONE ||
		sq_files_was_created(&s->files.db, old->seq));
	sq_files_unlock();
	if (rc != 0 || fs == SQ_FILE_SAME) {
		conn_close(s, false);
		es_free(s);
		st->st_drv = old;
		return rc;
	}
	s->purge_fd = old->purge_fd;
	conn_close(old, true);
	r.was = file_id(&old->files.db);
	r.now = file_id(&s->files.db);
	if (r.created)
		snprintf(r.msg, sizeof(r.msg), "sqlite: %.300s was deleted; "
		    "created a new database there and moved to it%s",
		    s->path, dropped ? " (removed the old file's -wal and "
		    "-shm)" : "");
	else
		snprintf(r.msg, sizeof(r.msg), "sqlite: %.300s was replaced "
		    "(inode %ju, was %ju); moved to the new file%s", s->path,
		    (uintmax_t)r.now.ino, (uintmax_t)r.was.ino,
		    dropped ? " (removed the old file's -wal and -shm)" : "");
	es_free(old);
	store_set_reopen(st, &r);
	return 0;
}

/*
 * check - before a transaction or housekeeping (never inside a
 * transaction): one stat() of the path; reopen when it no longer names
 * the file st has open.
 */
static int
check(struct store *st)
{
	struct sq_store *s = drv(st);

	if (!sqlite3_get_autocommit(s->db) ||
	    sq_files_state(s->path, &s->files) == SQ_FILE_SAME)
		return 0;
	return reopen(st);
}

static int
sq_refresh(struct store *st)
{
	return check(st);
}

/*
 * sq_maintain - a passive checkpoint: copies what it can from the WAL
 * into the database without waiting for (or blocking) a writer. A
 * writer restarts the WAL from its beginning only when no reader uses
 * it; with messages read all the time that never happens, and the WAL
 * grew to gigabytes in a few minutes of load, each message's commit
 * then writing new pages at its end. Quiet (no writer of the caller's
 * can start): after the passive pass has copied nearly everything, a
 * RESTART checkpoint copies the rest and waits up to QUIET_WAIT_MS for
 * readers of older snapshots to finish, so the next writer starts the
 * WAL over. When readers are still there it is tried again next time.
 */
#define QUIET_WAIT_MS 50

static int
sq_maintain(struct store *st, bool quiet)
{
	struct sq_store *s;
	int rc;

	if ((rc = check(st)) != 0)
		return rc;
	s = drv(st);
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	if (rc == SQLITE_OK && quiet) {
		sqlite3_busy_timeout(s->db, QUIET_WAIT_MS);
		rc = sqlite3_wal_checkpoint_v2(s->db, NULL,
		    SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		sqlite3_busy_timeout(s->db, s->busy_ms);
		if (rc == SQLITE_BUSY)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		store_seterr(st, "sqlite: checkpoint: %s", sqlite3_errmsg(s->db));
		return map(rc);
	}
	return 0;
}

static int
sq_begin(struct store *st, bool write)
{
	int rc;

	if ((rc = check(st)) != 0)
		return rc;
	return run(st, drv(st)->stmt[write ? S_BEGIN_W : S_BEGIN_R],
	    write ? "begin (write)" : "begin");
}

static void
sq_rollback(struct store *st)
{
	struct sq_store *s = drv(st);

	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->stmt[S_ROLLBACK]);
		sqlite3_reset(s->stmt[S_ROLLBACK]);
	}
}

static int
sq_commit(struct store *st)
{
	int rc = run(st, drv(st)->stmt[S_COMMIT], "commit");

	if (rc != 0)
		sq_rollback(st);
	return rc;
}

/* user_select - the uid of name, ES_ENOTFOUND if none. */
static int
user_select(struct store *st, const char *name, uint32_t *uid)
{
	sqlite3_stmt *q = drv(st)->stmt[S_USER_SEL];
	sqlite3_int64 v;
	int rc;

	bind_text(q, 1, name);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(q);
		store_seterr(st, "no user \"%.128s\"", name);
		return ES_ENOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		rc = fail(st, rc, "user lookup");
		sqlite3_reset(q);
		return rc;
	}
	v = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (v < 0 || v > UINT32_MAX) {
		store_seterr(st, "sqlite: uid %lld of \"%.128s\" out of range",
		    (long long)v, name);
		return ES_ESTORE;
	}
	*uid = (uint32_t)v;
	return 0;
}

static int
sq_user_uid(struct store *st, const char *name, bool create, uint32_t *uid)
{
	sqlite3_stmt *q = drv(st)->stmt[S_USER_INS];
	int rc;

	if (create) {
		bind_text(q, 1, name);
		if ((rc = run(st, q, "user create")) != 0)
			return rc;
	}
	return user_select(st, name, uid);
}

static int
sq_users(struct store *st, store_user_fn *fn, void *arg)
{
	sqlite3_stmt *q = drv(st)->stmt[S_USERS];
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (fn((uint32_t)sqlite3_column_int64(q, 0), col_text(q, 1),
			arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE)
		rc = fail(st, rc, "user list");
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

/* get_stmt - the read statement with 2^level ids, prepared on first use. */
static int
get_stmt(struct store *st, int level, sqlite3_stmt **out)
{
	struct sq_store *s = drv(st);
	char sql[128 + 2 * TOK_CHUNK];
	size_t ids = (size_t)1 << level, off;
	int rc;

	if (s->get[level] == NULL) {
		off = (size_t)snprintf(sql, sizeof(sql),
		    "SELECT token, spam_hits, innocent_hits, last_hit, weight "
		    "FROM dspam_token_data WHERE uid = ?1 AND token IN (");
		if (off + 2 * ids + 1 >= sizeof(sql))
			return ES_EINTERNAL;
		for (size_t i = 0; i < ids; i++) {
			if (i > 0)
				sql[off++] = ',';
			sql[off++] = '?';
		}
		sql[off++] = ')';
		sql[off] = '\0';
		rc = sqlite3_prepare_v3(s->db, sql, (int)off,
		    SQLITE_PREPARE_PERSISTENT, &s->get[level], NULL);
		if (rc != SQLITE_OK)
			return fail(st, rc, "prepare token read");
	}
	*out = s->get[level];
	return 0;
}

/* fill - copy the current row of q into every toks[] entry of its id. */
static void
fill(sqlite3_stmt *q, struct store_token *toks, size_t n, bool sorted)
{
	uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
	size_t lo = 0, hi = n;
	int32_t day = 0;

	if (sorted) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (toks[mid].token < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = n;
	}
	if (store_iso_day(col_text(q, 3), &day) != 0)
		day = 0;
	for (size_t i = lo; i < hi; i++) {
		if (toks[i].token != id) {
			if (sorted)
				break;
			continue;
		}
		toks[i].spam_hits = col_count(q, 1);
		toks[i].innocent_hits = col_count(q, 2);
		toks[i].last_hit = day;
		toks[i].weight = sqlite3_column_double(q, 4);
	}
}

/* get_chunk - read n <= TOK_CHUNK tokens with one statement. */
static int
get_chunk(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	sqlite3_stmt *q;
	bool sorted = true;
	int level = 0, rc;

	while (((size_t)1 << level) < n)
		level++;
	if ((rc = get_stmt(st, level, &q)) != 0)
		return rc;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = toks[i - 1].token <= toks[i].token;
	sqlite3_bind_int64(q, 1, uid);
	for (size_t i = 0; i < ((size_t)1 << level); i++)
		sqlite3_bind_int64(q, (int)i + 2,
		    (sqlite3_int64)toks[i < n ? i : n - 1].token);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fill(q, toks, n, sorted);
	rc = rc == SQLITE_DONE ? 0 : fail(st, rc, "token read");
	sqlite3_reset(q);
	return rc;
}

static int
sq_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	int rc;

	for (size_t off = 0; off < n; off += TOK_CHUNK) {
		size_t m = n - off < TOK_CHUNK ? n - off : TOK_CHUNK;

		if ((rc = get_chunk(st, uid, toks + off, m)) != 0)
			return rc;
	}
	return 0;
}

/*
 * sq_tokens_list - the ids are stored as signed 64-bit integers, so the
 * rows at or above 2^63 (negative here) come last, in a second pass.
 */
static int
sq_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg)
{
	static const char *const sql[2] = {
	    "SELECT token, spam_hits, innocent_hits, last_hit, weight FROM "
	    "dspam_token_data WHERE uid = ?1 AND token >= 0 ORDER BY token",
	    "SELECT token, spam_hits, innocent_hits, last_hit, weight FROM "
	    "dspam_token_data WHERE uid = ?1 AND token < 0 ORDER BY token"};
	struct store_token t;
	sqlite3_stmt *q;
	int rc;

	for (int pass = 0; pass < 2; pass++) {
		rc = sqlite3_prepare_v2(drv(st)->db, sql[pass], -1, &q, NULL);
		if (rc != SQLITE_OK)
			return fail(st, rc, "prepare token list");
		sqlite3_bind_int64(q, 1, uid);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			t.token = (uint64_t)sqlite3_column_int64(q, 0);
			t.spam_hits = col_count(q, 1);
			t.innocent_hits = col_count(q, 2);
			if (store_iso_day(col_text(q, 3), &t.last_hit) != 0)
				t.last_hit = 0;
			t.weight = sqlite3_column_double(q, 4);
			if (fn(&t, arg) != 0) {
				sqlite3_finalize(q);
				return 0;
			}
		}
		rc = rc == SQLITE_DONE ? 0 : fail(st, rc, "token list");
		sqlite3_finalize(q);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* tok_bind - bind delta d of uid for S_TOK_PUT or S_TOK_TOUCH. */
static void
tok_bind(sqlite3_stmt *q, uint32_t uid, const struct store_delta *d,
    const char *date)
{
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)d->token);
	sqlite3_bind_int64(q, 3, d->spam);
	sqlite3_bind_int64(q, 4, d->innocent);
	bind_text(q, 5, date);
	sqlite3_bind_double(q, 6, d->weight);
}

/*
 * A row already hit today is updated without assigning last_hit: SQLite
 * rewrites the last_hit index entry of every row whose UPDATE assigns
 * the column, even to the same value, and those index pages cost as
 * much to write as the rows themselves. Other rows take the upsert.
 */
static int
sq_tokens_put(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, int32_t day)
{
	struct sq_store *s = drv(st);
	sqlite3_stmt *touch = s->stmt[S_TOK_TOUCH], *put = s->stmt[S_TOK_PUT];
	char date[11];
	int rc;

	store_day_iso(day, date);
	for (size_t i = 0; i < n; i++) {
		tok_bind(touch, uid, &d[i], date);
		if ((rc = run(st, touch, "token write")) != 0)
			return rc;
		if (sqlite3_changes(s->db) > 0)
			continue;
		tok_bind(put, uid, &d[i], date);
		if ((rc = run(st, put, "token write")) != 0)
			return rc;
	}
	return 0;
}

static int
sq_totals_get(struct store *st, uint32_t uid, struct store_totals *t)
{
	sqlite3_stmt *q = drv(st)->stmt[S_TOT_GET];
	int64_t *f[8] = {&t->spam_learned, &t->innocent_learned,
	    &t->spam_misclassified, &t->innocent_misclassified,
	    &t->spam_corpusfed, &t->innocent_corpusfed, &t->spam_classified,
	    &t->innocent_classified};
	int rc;

	memset(t, 0, sizeof(*t));
	sqlite3_bind_int64(q, 1, uid);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		for (int i = 0; i < 8; i++)
			*f[i] = sqlite3_column_int64(q, i);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
						      fail(st, rc, "totals read");
	sqlite3_reset(q);
	return rc;
}

static int
sq_totals_add(struct store *st, uint32_t uid,
    const struct store_totals *d)
{
	sqlite3_stmt *q = drv(st)->stmt[S_TOT_ADD];
	const int64_t v[8] = {d->spam_learned, d->innocent_learned,
	    d->spam_misclassified, d->innocent_misclassified,
	    d->spam_corpusfed, d->innocent_corpusfed, d->spam_classified,
	    d->innocent_classified};

	sqlite3_bind_int64(q, 1, uid);
	for (int i = 0; i < 8; i++)
		sqlite3_bind_int64(q, i + 2, v[i]);
	return run(st, q, "totals write");
}

static int
sq_sig_put(struct store *st, uint32_t uid, const char *id,
    const void *data, size_t len, int32_t day)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SIG_PUT];
	char date[11];

	if (len > INT32_MAX) {
		store_seterr(st, "sqlite: signature of %zu bytes is too long",
		    len);
		return ES_EINVAL;
	}
	store_day_iso(day, date);
	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, id);
	/* A NULL pointer would bind NULL, not an empty blob. */
	sqlite3_bind_blob(q, 3, len > 0 ? data : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)len);
	bind_text(q, 5, date);
	return run(st, q, "signature write");
}

static int
sq_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SIG_GET];
	const void *b;
	size_t n;
	int rc;

	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		b = sqlite3_column_blob(q, 0);
		n = (size_t)sqlite3_column_bytes(q, 0);
		*data = es_malloc(n > 0 ? n : 1);
		if (*data == NULL) {
			store_seterr(st, "sqlite: out of memory");
			rc = ES_ENOMEM;
		} else {
			if (n > 0)
				memcpy(*data, b, n);
			*len = n;
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		store_seterr(st, "no signature \"%.32s\"", id);
		rc = ES_ENOTFOUND;
	} else {
		rc = fail(st, rc, "signature read");
	}
	sqlite3_reset(q);
	return rc;
}

static int
sq_sig_delete(struct store *st, uint32_t uid, const char *id)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SIG_DEL];

	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, id);
	return run(st, q, "signature delete");
}

/* text_get - the one text column of q (bound already) as a copy. */
static int
text_get(struct store *st, sqlite3_stmt *q, const char *key, char **val)
{
	int rc = sqlite3_step(q);

	if (rc == SQLITE_ROW) {
		*val = es_strdup(col_text(q, 0));
		if (*val == NULL) {
			store_seterr(st, "sqlite: out of memory");
			rc = ES_ENOMEM;
		} else {
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		store_seterr(st, "\"%.255s\" is not set", key);
		rc = ES_ENOTFOUND;
	} else {
		rc = fail(st, rc, "read");
	}
	sqlite3_reset(q);
	return rc;
}

/* pairs - fn(column 0, column 1) for every row of q (bound already). */
static int
pairs(struct store *st, sqlite3_stmt *q, store_pair_fn *fn, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (fn(col_text(q, 0), col_text(q, 1), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	rc = rc == SQLITE_DONE ? 0 : fail(st, rc, "list");
	sqlite3_reset(q);
	return rc;
}

static int
sq_pref_get(struct store *st, uint32_t uid, const char *key, char **val)
{
	sqlite3_stmt *q = drv(st)->stmt[S_PREF_GET];

	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, key);
	return text_get(st, q, key, val);
}

static int
sq_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val)
{
	sqlite3_stmt *q = drv(st)->stmt[val != NULL ? S_PREF_SET : S_PREF_DEL];

	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, key);
	if (val != NULL)
		bind_text(q, 3, val);
	return run(st, q, "preference write");
}

static int
sq_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	sqlite3_stmt *q = drv(st)->stmt[S_PREFS];

	sqlite3_bind_int64(q, 1, uid);
	return pairs(st, q, fn, arg);
}

static int
sq_domain_get(struct store *st, const char *domain, char **policy)
{
	sqlite3_stmt *q = drv(st)->stmt[S_DOM_GET];

	bind_text(q, 1, domain);
	return text_get(st, q, domain, policy);
}

static int
sq_domain_set(struct store *st, const char *domain, const char *policy)
{
	sqlite3_stmt *q = drv(st)->stmt[policy != NULL ? S_DOM_SET : S_DOM_DEL];

	bind_text(q, 1, domain);
	if (policy != NULL)
		bind_text(q, 2, policy);
	return run(st, q, "domain policy write");
}

static int
sq_domains(struct store *st, store_pair_fn *fn, void *arg)
{
	return pairs(st, drv(st)->stmt[S_DOMS], fn, arg);
}

static int
sq_purge_batch(struct store *st, enum store_purge_rule rule,
    int32_t cutoff, size_t batch, uint64_t *deleted)
{
	static const enum sq_stmt which[] = {
		[STORE_PURGE_SIGNATURES] = S_PURGE_SIG,
		[STORE_PURGE_UNUSED] = S_PURGE_UNUSED,
		[STORE_PURGE_RARE] = S_PURGE_RARE,
		[STORE_PURGE_SINGLE] = S_PURGE_SINGLE,
	};
	struct sq_store *s = drv(st);
	sqlite3_stmt *q = s->stmt[which[rule == STORE_PURGE_SOURCES ||
	            rule == STORE_PURGE_HISTORY || rule == STORE_PURGE_DAILY
	            ? STORE_PURGE_SIGNATURES
	                                        : rule]];
	char date[11];
	int rc;

	*deleted = 0;
	if (rule == STORE_PURGE_HISTORY)
		return sqh_purge(st, s->db, &s->hist, cutoff, batch, deleted);
	if (rule == STORE_PURGE_DAILY)
		return sqd_purge(st, s->db, &s->hist, cutoff, batch, deleted);
	if (rule == STORE_PURGE_SOURCES) {
		q = s->stmt[S_PURGE_SRC];
		sqlite3_bind_int64(q, 1, (sqlite3_int64)cutoff * 86400);
		sqlite3_bind_int64(q, 2,
		    batch > INT64_MAX ? INT64_MAX : (sqlite3_int64)batch);
		if ((rc = run(st, q, "purge sources")) != 0)
			return rc;
		*deleted = (uint64_t)sqlite3_changes64(s->db);
		return 0;
	}
	store_day_iso(cutoff, date);
	bind_text(q, 1, date);
	sqlite3_bind_int64(q, 2,
	    batch > INT64_MAX ? INT64_MAX : (sqlite3_int64)batch);
	if (rule != STORE_PURGE_SIGNATURES)
		sqlite3_bind_int64(q, 3, (sqlite3_int64)STORE_CONTROL_TOKEN);
	if ((rc = run(st, q, "purge")) != 0)
		return rc;
	*deleted = (uint64_t)sqlite3_changes64(s->db);
	return 0;
}

/*
 * sq_purge_lock - flock() on "<database>-purge" beside the database: not
 * the database file itself, whose POSIX locks belong to SQLite. The
 * kernel drops the lock when the process ends. A database that is not
 * a plain file (":memory:", a URI) has no neighbour and no lock.
 */
static int
sq_purge_lock(struct store *st)
{
	struct sq_store *s = drv(st);
	char lock[PATH_MAX];
	int fd;

	if (!plain_path(s->path) || s->purge_fd >= 0)
		return 0;
	if ((size_t)snprintf(lock, sizeof(lock), "%s-purge", s->path) >=
	    sizeof(lock)) {
		store_seterr(st, "sqlite: %s: path too long", s->path);
		return ES_EINVAL;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		store_seterr(st, "sqlite: %s: %s", lock, strerror(errno));
		return ES_ESTORE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK) {
			store_seterr(st, "sqlite: another purge is running "
			    "(it holds %s)", lock);
			return ES_EBUSY;
		}
		store_seterr(st, "sqlite: flock %s: %s", lock, strerror(e));
		return ES_ESTORE;
	}
	s->purge_fd = fd;
	return 0;
}

static void
sq_purge_unlock(struct store *st)
{
	struct sq_store *s = drv(st);

	if (s->purge_fd >= 0) {
		close(s->purge_fd);
		s->purge_fd = -1;
	}
}

/* ---- sender lists ---- */

static int
sq_sender_set(struct store *st, uint32_t uid, const char *pattern,
    const char *list, int32_t day)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SND_SET];
	char date[11];

	store_day_iso(day, date);
	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, pattern);
	bind_text(q, 3, list);
	bind_text(q, 4, date);
	return run(st, q, "sender list write");
}

static int
sq_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    const char *list, bool *removed)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SND_DEL];
	int rc;

	sqlite3_bind_int64(q, 1, uid);
	bind_text(q, 2, pattern);
	bind_text(q, 3, list);
	if ((rc = run(st, q, "sender list write")) == 0)
		*removed = sqlite3_changes(drv(st)->db) > 0;
	return rc;
}

static int
sq_sender_find(struct store *st, uint32_t uid, const char *const *patterns,
    size_t n, enum store_sender_list *lists)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SND_FIND];
	size_t i;
	int rc;

	sqlite3_bind_int64(q, 1, uid);
	for (i = 0; i < STORE_SENDER_FIND_MAX; i++)
		if (i < n)
			bind_text(q, (int)i + 2, patterns[i]);
		else
			sqlite3_bind_null(q, (int)i + 2);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *pat = col_text(q, 0);
		enum store_sender_list l = store_sender_list_of(col_text(q, 1));

		for (i = 0; i < n; i++) /* repeats get the same answer */
			if (strcmp(patterns[i], pat) == 0)
				lists[i] = l;
	}
	rc = rc == SQLITE_DONE ? 0 : fail(st, rc, "sender list read");
	sqlite3_reset(q);
	return rc;
}

static int
sq_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SNDS];

	sqlite3_bind_int64(q, 1, uid);
	return pairs(st, q, fn, arg);
}

/* ---- sources ---- */

static int
sq_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, int64_t now)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SRC_ADD];
	int rc;

	for (size_t i = 0; i < n; i++) {
		bind_text(q, 1, d[i].source);
		sqlite3_bind_int64(q, 2, d[i].spam);
		sqlite3_bind_int64(q, 3, d[i].innocent);
		sqlite3_bind_int64(q, 4, d[i].spam_corrections);
		sqlite3_bind_int64(q, 5, d[i].innocent_corrections);
		sqlite3_bind_int(q, 6, d[i].reset_streak || d[i].innocent > 0);
		sqlite3_bind_int64(q, 7, now);
		if ((rc = run(st, q, "source write")) != 0)
			return rc;
	}
	return 0;
}

/* source_cols - the current row of a source query into r. */
static void
source_cols(sqlite3_stmt *q, struct store_source *r)
{
	strlcpy(r->source, col_text(q, 0), sizeof(r->source));
	r->spam = col_count(q, 1);
	r->innocent = col_count(q, 2);
	r->spam_corrections = col_count(q, 3);
	r->innocent_corrections = col_count(q, 4);
	r->spam_streak = col_count(q, 5);
	r->first_seen = sqlite3_column_int64(q, 6);
	r->last_seen = sqlite3_column_int64(q, 7);
	r->last_spam = sqlite3_column_int64(q, 8);
}

static int
sq_sources_get(struct store *st, struct store_source *rows, size_t n)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SRC_GET];
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		bind_text(q, 1, rows[i].source);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			struct store_source r;

			source_cols(q, &r);
			rows[i] = r;
		}
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE
		    ? 0
		    : fail(st, rc, "source read");
		sqlite3_reset(q);
	}
	return rc;
}

static int
sq_sources_list(struct store *st, int64_t since, store_source_fn *fn,
    void *arg)
{
	sqlite3_stmt *q = drv(st)->stmt[S_SRC_LIST];
	struct store_source r;
	int rc;

	sqlite3_bind_int64(q, 1, since);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		source_cols(q, &r);
		if (fn(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : fail(st, rc, "source list");
	sqlite3_reset(q);
	return rc;
}

/* ---- schema check and upgrade ---- */

static const char *const sq_tables[] = {"dspam_virtual_uids",
    "dspam_token_data", "dspam_signature_data", "dspam_stats",
    "dspam_preferences", "edgespam_domain_policy",
    "edgespam_sender_list", "edgespam_sources", "edgespam_history",
    "edgespam_daily"};
/* The purge's indexes, and the history's: {table, index}. */
static const char *const sq_indexes[][2] = {
	{"dspam_token_data", "dspam_token_data_last_hit"},
	{"dspam_signature_data", "dspam_signature_data_created_on"},
	{"edgespam_sources", "edgespam_sources_last_seen"},
	{"edgespam_history", "edgespam_history_uid_created"},
	{"edgespam_history", "edgespam_history_created"},
	{"edgespam_history", "edgespam_history_signature"},
	{"edgespam_daily", "edgespam_daily_day"},
};

/* sq_count - the single integer sql (with text parameters a, b) yields. */
static int
sq_count(struct store *st, sqlite3 *db, const char *sql, const char *a,
    const char *b, sqlite3_int64 *n)
{
	sqlite3_stmt *q;
	int rc;

	*n = 0;
	if ((rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK) {
		store_seterr(st, "sqlite: schema: %s", sqlite3_errmsg(db));
		return map(rc);
	}
	bind_text(q, 1, a);
	if (b != NULL)
		bind_text(q, 2, b);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*n = sqlite3_column_int64(q, 0);
	else if (rc != SQLITE_DONE) {
		store_seterr(st, "sqlite: schema: %s", sqlite3_errmsg(db));
		sqlite3_finalize(q);
		return map(rc);
	}
	sqlite3_finalize(q);
	return 0;
}

/* sq_missing - report and count what db lacks; *weight is set when the
 * token table exists without its weight column. */
static int
sq_missing(struct store *st, sqlite3 *db, store_schema_fn *fn, void *arg,
    size_t *missing, bool *weight)
{
	bool have[sizeof(sq_tables) / sizeof(sq_tables[0])];
	sqlite3_int64 n;
	char what[128];
	int rc;

	*weight = false;
	for (size_t t = 0; t < sizeof(sq_tables) / sizeof(sq_tables[0]); t++) {
		if ((rc = sq_count(st, db, "SELECT count(*) FROM sqlite_master "
		    "WHERE type = 'table' AND name = ?1", sq_tables[t], NULL,
		    &n)) != 0)
			return rc;
		if ((have[t] = n > 0))
			continue;
		(*missing)++;
		if (fn != NULL)
			fn("table", sq_tables[t], arg);
	}
	if (have[1]) {
		if ((rc = sq_count(st, db, "SELECT count(*) FROM "
		    "pragma_table_info(?1) WHERE name = ?2", sq_tables[1],
		    "weight", &n)) != 0)
			return rc;
		if (n == 0) {
			*weight = true;
			(*missing)++;
			if (fn != NULL)
				fn("column", "dspam_token_data.weight", arg);
		}
	}
	for (size_t i = 0; i < sizeof(sq_indexes) / sizeof(sq_indexes[0]);
	     i++) {
		if ((rc = sq_count(st, db, "SELECT count(*) FROM sqlite_master "
		    "WHERE type = 'table' AND name = ?1", sq_indexes[i][0],
		    NULL, &n)) != 0)
			return rc;
		if (n == 0)
			continue; /* reported as a table */
		if ((rc = sq_count(st, db, "SELECT count(*) FROM sqlite_master "
		    "WHERE type = 'index' AND name = ?1", sq_indexes[i][1],
		    NULL, &n)) != 0)
			return rc;
		if (n > 0)
			continue;
		snprintf(what, sizeof(what), "%s (%s)", sq_indexes[i][0],
		    sq_indexes[i][1]);
		(*missing)++;
		if (fn != NULL)
			fn("index", what, arg);
	}
	return 0;
}

/*
 * sq_schema - check, or upgrade: the weight column by ALTER TABLE, then
 * the schema itself, whose CREATE ... IF NOT EXISTS adds the missing
 * tables and indexes. A new database file gets mode 0600.
 */
static int
sq_schema(struct store *st, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg,
    size_t *missing)
{
	bool up = op == STORE_SCHEMA_UPGRADE, weight, created;
	sqlite3 *db = NULL;
	int rc;

	if (op == STORE_SCHEMA_ENGINES || op == STORE_SCHEMA_TO_INNODB)
		return 0; /* one engine: SQLite's */
	if ((rc = need_path(st, p)) != 0)
		return rc;
	created = no_file_yet(p->path);
	if (created && !up) { /* no file: everything is missing */
		for (size_t t = 0; t < sizeof(sq_tables) / sizeof(sq_tables[0]);
		     t++) {
			(*missing)++;
			if (fn != NULL)
				fn("table", sq_tables[t], arg);
		}
		return 0;
	}
	rc = sqlite3_open_v2(p->path, &db, SQLITE_OPEN_READWRITE |
	    (up ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		store_seterr(st, "sqlite: cannot open %s: %s", p->path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return map(rc);
	}
	sqlite3_busy_timeout(db, (int)(p->busy_timeout_ms > INT32_MAX ?
	    INT32_MAX : p->busy_timeout_ms));
	rc = sq_missing(st, db, fn, arg, missing, &weight);
	if (rc == 0 && up && ((weight && sqlite3_exec(db, "ALTER TABLE "
	    "dspam_token_data ADD COLUMN weight REAL NOT NULL DEFAULT 0",
	    NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
		store_seterr(st, "sqlite: %s: upgrade: %s", p->path,
		    sqlite3_errmsg(db));
		rc = ES_ESTORE;
	}
	sqlite3_close(db);
	if (rc == 0 && up && created && chmod(p->path, 0600) != 0) {
		store_seterr(st, "sqlite: chmod %s: %s", p->path,
		    strerror(errno));
		rc = ES_ESTORE;
	}
	return rc;
}

/* ---- history (sqlite_history.c) ---- */

int
sq_fail(struct store *st, int rc, const char *what)
{
	return fail(st, rc, what);
}

static int
sq_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id)
{
	return sqh_add(st, drv(st)->db, &drv(st)->hist, uid, row, id);
}

static int
sq_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg)
{
	return sqh_list(st, drv(st)->db, &drv(st)->hist, uid, q, fn, arg);
}

static int
sq_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n)
{
	return sqh_count(st, drv(st)->db, &drv(st)->hist, uid, q, n);
}

static int
sq_history_correct(struct store *st, uint32_t uid, const char *sig,
    enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was)
{
	return sqh_correct(st, drv(st)->db, &drv(st)->hist, uid, sig, c, now,
	    changed, was);
}

static int
sq_daily_add(struct store *st, uint32_t uid, int32_t day,
    const struct store_daily *d)
{
	return sqd_add(st, drv(st)->db, &drv(st)->hist, uid, day, d);
}

static int
sq_daily_list(struct store *st, uint32_t uid, int32_t since,
    store_daily_fn *fn, void *arg)
{
	return sqd_list(st, drv(st)->db, &drv(st)->hist, uid, since, fn, arg);
}

static int
sq_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action, bool *changed)
{
	return sqh_set_action(st, drv(st)->db, &drv(st)->hist, uid, id,
	    action, changed);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.user_uid = sq_user_uid,
	.users = sq_users,
	.tokens_get = sq_tokens_get,
	.tokens_list = sq_tokens_list,
	.tokens_put = sq_tokens_put,
	.totals_get = sq_totals_get,
	.totals_add = sq_totals_add,
	.sig_put = sq_sig_put,
	.sig_get = sq_sig_get,
	.sig_delete = sq_sig_delete,
	.pref_get = sq_pref_get,
	.pref_set = sq_pref_set,
	.prefs = sq_prefs,
	.domain_get = sq_domain_get,
	.domain_set = sq_domain_set,
	.domains = sq_domains,
	.purge_batch = sq_purge_batch,
	.maintain = sq_maintain,
	.refresh = sq_refresh,
	.file_id = sq_file_id,
	.purge_lock = sq_purge_lock,
	.purge_unlock = sq_purge_unlock,
	.schema = sq_schema,
	.sender_set = sq_sender_set,
	.sender_remove = sq_sender_remove,
	.sender_find = sq_sender_find,
	.senders = sq_senders,
	.sources_add = sq_sources_add,
	.sources_get = sq_sources_get,
	.sources_list = sq_sources_list,
	.history_add = sq_history_add,
	.history_list = sq_history_list,
	.history_count = sq_history_count,
	.history_correct = sq_history_correct,
	.history_set_action = sq_history_set_action,
	.daily_add = sq_daily_add,
	.daily_list = sq_daily_list,
};
