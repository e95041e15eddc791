/*
 * drivers.c - store contract: allocation failures, the cases of drivers
 * with a database file (reopen, lock contention, exclusive purge,
 * maintenance), the SQLite file checks (bad path, schema, file mode,
 * commits, the WAL buffer) and the memory driver's own case.
 */
#include "store_contract.h"

/* ---- out of memory ---- */

/*
 * Make the Nth allocation fail, for N = 0, 1, ... until the writes of a
 * message succeed: every failure is ES_ENOMEM and a rollback leaves the
 * store as it was (ASan reports any leak).
 */
void
test_alloc_failures(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct store_delta d[2] = {{1, 1, 0, 0}, {2, 0, 1, 0}};
	struct store_totals t = {.spam_learned = 1};
	long n;
	int rc = -1;

	sc_put1(st, uid, 1, 5, 5, 0, (time_t)(TODAY - 1) * DAY);
	for (n = 0; n < 1000 && rc != 0; n++) {
		char v[8];

		assert_int_equal(store_begin(st, true), 0);
		es_alloc_fail_after(n);
		rc = store_tokens_put(st, uid, d, 2, (time_t)TODAY * DAY);
		if (rc == 0)
			rc = store_sig_put(st, uid, "s", "data", 4, TODAY * DAY);
		if (rc == 0)
			rc = store_pref_set(st, uid, "k", "v");
		if (rc == 0)
			rc = store_totals_add(st, uid, &t);
		if (rc == 0)
			rc = store_domain_set(st, "d.example", "on");
		es_alloc_fail_after(-1);
		if (rc != 0 && rc != ES_ENOMEM)
			fail_msg("case fail after %ld: got %d, want ENOMEM", n,
			    rc);
		store_rollback(st);
		sc_want_tok(
		    "after rollback", sc_get1(st, uid, 1), 5, 5, TODAY - 1);
		sc_want_tok("after rollback", sc_get1(st, uid, 2), 0, 0, 0);
		sc_sig_is(st, uid, "s", NULL);
		assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)),
		    ES_ENOTFOUND);
	}
	assert_int_equal(rc, 0);
}

/* ---- drivers with a database file ---- */

void
test_reopen_keeps_data(void **state)
{
	struct fix *f = *state;
	uint32_t uid = sc_user(f->st, "keep"), x = 0;
	char v[8];

	sc_put1(f->st, uid, 0xffffffffffffffffULL, 2, 3, 0.75,
	    (time_t)TODAY * DAY);
	assert_int_equal(store_pref_set(f->st, uid, "k", "v"), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sc_fix_open(f), 0);
	assert_int_equal(store_user_uid(f->st, "keep", false, &x), 0);
	assert_int_equal(x, uid);
	sc_want_tok("reopened", sc_get1(f->st, uid, UINT64_MAX), 2, 3, TODAY);
	assert_true(sc_get1(f->st, uid, UINT64_MAX).weight == 0.75);
	assert_int_equal(store_pref_get(f->st, uid, "k", v, sizeof(v)), 0);
	assert_string_equal(v, "v");
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * A writer that meets another's lock gets ES_ETRANSIENT after the busy
 * timeout, never a hang. SQLite locks the database at begin (write);
 * InnoDB locks rows as they are written, so there begin succeeds and the
 * write of a locked row waits the lock wait timeout (the busy timeout
 * rounded up to whole seconds: 1 s here).
 */
void
test_lock_is_transient(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	char err[256];
	struct timespec t0;
	struct store_delta d = {7, 1, 0, 0};
	uint32_t uid = sc_user(f->st, "u");
	double ms, wait_ms = f->row_locks ? 1000 : BUSY_MS;

	sc_put1(f->st, uid, 7, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_begin(f->st, true), 0);
	sc_put1(f->st, uid, 7, 1, 0, 0, (time_t)TODAY * DAY);
	/* a handle opened while the write lock is held still opens */
	assert_int_equal(store_open(&f->params, &other, err, sizeof(err)), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (f->row_locks) {
		assert_int_equal(store_begin(other, true), 0);
		assert_int_equal(store_tokens_put(other, uid, &d, 1,
				     TODAY * DAY),
		    ES_ETRANSIENT);
		store_rollback(other);
	} else {
		assert_int_equal(store_begin(other, true), ES_ETRANSIENT);
	}
	ms = ms_since(&t0);
	if (ms < wait_ms * 0.8 || ms > wait_ms + 2000)
		fail_msg("begin: got %.1f ms, want about %.0f", ms, wait_ms);
	assert_true(strlen(store_errmsg(other)) > 0);
	/* a wait that ran out is no conflict: retrying at once won't help */
	assert_false(store_conflict(other));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_tokens_put(other, uid, &d, 1, TODAY * DAY),
	    ES_ETRANSIENT);
	assert_true(ms_since(&t0) < wait_ms + 2000);
	/* readers are not blocked (WAL, MVCC) and see the committed state */
	sc_want_tok("reader during write", sc_get1(other, uid, 7), 1, 0, TODAY);

	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_tokens_put(other, uid, &d, 1, TODAY * DAY), 0);
	sc_want_tok("after commit", sc_get1(f->st, uid, 7), 3, 0, TODAY);
	store_close(other);
}

/* Progress of the outer purge: try a purge on another handle meanwhile. */
struct second {
	struct store *other;
	int rc;
	bool tried;
};

static void
second_purge(const char *rule, uint64_t rows, void *arg)
{
	struct second *sp = arg;
	struct store_purge_rules r = {.unused_days = 1, .batch = 10};

	if (sp->tried)
		return;
	sp->tried = true;
	sp->rc = store_purge(sp->other, &r, (time_t)TODAY * DAY, NULL, NULL,
	    NULL);
}

/* A purge while another handle purges is refused at once, deleting
 * nothing; after the first one ended, a purge runs again. */
void
test_purge_exclusive(void **state)
{
	struct fix *f = *state;
	struct store_purge_rules r = {.unused_days = 1, .batch = 2};
	struct store_purge_stats ps;
	struct second sp = {0};
	char err[256];
	uint32_t uid = sc_user(f->st, "u");

	for (uint64_t t = 1; t <= 5; t++)
		sc_put1(f->st, uid, t, 1, 0, 0, (time_t)(TODAY - 10) * DAY);
	assert_int_equal(store_open(&f->params, &sp.other, err, sizeof(err)),
	    0);
	assert_int_equal(store_purge(f->st, &r, (time_t)TODAY * DAY,
			     second_purge, &sp, &ps),
	    0);
	assert_true(sp.tried);
	assert_int_equal(sp.rc, ES_EBUSY);
	assert_true(strstr(store_errmsg(sp.other), "purge") != NULL);
	assert_int_equal(ps.unused, 5);
	sc_put1(f->st, uid, 9, 1, 0, 0, (time_t)(TODAY - 10) * DAY);
	assert_int_equal(store_purge(sp.other, &r, (time_t)TODAY * DAY, NULL,
			     NULL, &ps),
	    0);
	assert_int_equal(ps.unused, 1);
	store_close(sp.other);
}

/* own_maintenance: commits keep working, store_maintain() succeeds and
 * loses nothing; on a shared database another handle sees the data. */
void
test_maintain(void **state)
{
	struct fix *f = *state;
	struct store_params p = f->params;
	struct store *a = NULL, *b = NULL;
	char err[256];
	uint32_t uid;
	uint64_t t;

	p.own_maintenance = true;
	assert_int_equal(store_open(&p, &a, err, sizeof(err)), 0);
	uid = sc_user(a, "m");
	for (t = 1; t <= 50; t++)
		sc_put1(a, uid, t, (int32_t)t, 1, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_maintain(a, false), 0);
	assert_int_equal(store_maintain(a, true), 0);
	sc_put1(a, uid, 50, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_maintain(a, true), 0);
	sc_want_tok("after restart", sc_get1(a, uid, 50), 51, 1, TODAY);
	assert_int_equal(store_begin(a, false), 0);
	assert_int_equal(store_maintain(a, true), ES_EINVAL);
	store_rollback(a);
	sc_want_tok("after maintain", sc_get1(a, uid, 50), 51, 1, TODAY);
	if (strcmp(f->driver, "memory") != 0) { /* memory: one per handle */
		assert_int_equal(store_open(&f->params, &b, err, sizeof(err)),
		    0);
		sc_want_tok("other handle", sc_get1(b, uid, 50), 51, 1, TODAY);
		store_close(b);
	}
	store_close(a);
	assert_int_equal(store_maintain(NULL, false), ES_EINVAL);
}

void
test_sqlite_bad_path(void **state)
{
	struct fix *f = *state;
	struct store_params p = f->params;
	struct store *st = (struct store *)f;
	char path[1200], err[1400] = "";
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s/missing/dir/x.db", f->dir);
	p.path = path;
	rc = store_open(&p, &st, err, sizeof(err));
	assert_int_equal(rc, ES_ESTORE);
	assert_null(st);
	if (strstr(err, path) == NULL)
		fail_msg("message does not name the path: %s", err);

	/* a file that is not a database */
	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database at all\n", fp);
	fclose(fp);
	err[0] = '\0';
	rc = store_open(&p, &st, err, sizeof(err));
	unlink(path);
	assert_int_equal(rc, ES_ESTORE);
	assert_null(st);
	if (strstr(err, "junk.db") == NULL)
		fail_msg("message does not name the file: %s", err);

	/* no path at all */
	p.path = NULL;
	assert_int_equal(store_open(&p, &st, err, sizeof(err)), ES_EINVAL);

	if (geteuid() == 0) {
		print_message("SKIP read-only directory: running as root\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/ro", f->dir);
	assert_int_equal(mkdir(path, 0500), 0);
	strlcat(path, "/x.db", sizeof(path));
	p.path = path;
	rc = store_open(&p, &st, err, sizeof(err));
	path[strlen(path) - 5] = '\0';
	rmdir(path);
	assert_int_equal(rc, ES_ESTORE);
	assert_non_null(strstr(err, "x.db"));
}

/* sc_note_item - count and remember what store_schema() reports. */
void
sc_note_item(const char *kind, const char *what, void *arg)
{
	char *buf = arg;

	strlcat(buf, kind, 512);
	strlcat(buf, " ", 512);
	strlcat(buf, what, 512);
	strlcat(buf, "; ", 512);
}

/* store_schema() on an SQLite file that an older schema made: tables,
 * the weight column and a purge index missing; upgrade keeps the row. */
void
test_sqlite_schema(void **state)
{
	struct fix *f = *state;
	struct store_params p = f->params;
	char path[1200], err[512] = "", items[512] = "";
	struct store *st = NULL;
	sqlite3 *db = NULL;
	size_t n = 99;

	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	p.path = path;
	assert_int_equal(store_schema(&p, STORE_SCHEMA_CHECK, NULL, NULL, &n,
			     err, sizeof(err)),
	    0); /* no file: every table missing, and nothing created */
	assert_int_equal(n, 10);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
			     "CREATE TABLE dspam_token_data (uid INTEGER NOT "
			     "NULL, token INTEGER NOT NULL, spam_hits INTEGER "
			     "NOT NULL DEFAULT 0, innocent_hits INTEGER NOT "
			     "NULL DEFAULT 0, last_hit TEXT NOT NULL, "
			     "PRIMARY KEY (uid, token)) WITHOUT ROWID; "
			     "INSERT INTO dspam_token_data VALUES "
			     "(1, 5, 2, 3, '2024-10-04')",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_schema(&p, STORE_SCHEMA_CHECK, sc_note_item,
			     items, &n, err, sizeof(err)),
	    0);
	if (n != 11 ||
	    strstr(items, "column dspam_token_data.weight") == NULL ||
	    strstr(items, "index dspam_token_data") == NULL ||
	    strstr(items, "table dspam_stats") == NULL ||
	    strstr(items, "table edgespam_sender_list") == NULL ||
	    strstr(items, "table edgespam_sources") == NULL ||
	    strstr(items, "table edgespam_history") == NULL ||
	    strstr(items, "table edgespam_daily") == NULL)
		fail_msg("check: got %zu: %s", n, items);
	assert_int_equal(store_schema(&p, STORE_SCHEMA_UPGRADE, NULL, NULL, &n,
			     err, sizeof(err)),
	    0);
	assert_int_equal(n, 11);
	assert_int_equal(store_schema(&p, STORE_SCHEMA_CHECK, NULL, NULL, &n,
			     err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(store_open(&p, &st, err, sizeof(err)), 0);
	sc_want_tok("kept", sc_get1(st, 1, 5), 2, 3, TODAY);
	store_close(st);
	unlink(path);
	/* a driver without a schema reports nothing */
	p.driver = "memory";
	assert_int_equal(store_schema(&p, STORE_SCHEMA_UPGRADE, NULL, NULL, &n,
			     err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
}

void
test_sqlite_file_mode(void **state)
{
	struct fix *f = *state;
	struct stat sb;

	assert_int_equal(stat(f->path, &sb), 0);
	if ((sb.st_mode & 0777) != 0600)
		fail_msg("mode of a new store file: got %o, want 600",
		    (unsigned)(sb.st_mode & 0777));
}

/*
 * The driver gathers a transaction's WAL writes in a buffer (see
 * storage/sqlite_walbuf.c). What a commit returned for must be in the
 * file: another handle reads it at once, and it survives a process that
 * ends without closing its handle. Several thousand tokens make the
 * transaction larger than the buffer (and than 128 KiB, a size the
 * unix VFS cannot write in one call).
 */
void
test_sqlite_commit_in_file(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	enum { N = 6000 };
	struct store_delta *d = calloc(N, sizeof(*d));
	char err[128];
	uint32_t uid = sc_user(f->st, "u");
	pid_t pid;
	int wst;

	assert_non_null(d);
	for (size_t i = 0; i < N; i++)
		d[i] = (struct store_delta){1000 + 7 * i, 1, 2, 0};
	assert_int_equal(store_begin(f->st, true), 0);
	assert_int_equal(store_tokens_put(f->st, uid, d, N, TODAY * DAY), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_open(&f->params, &other, err, sizeof(err)), 0);
	sc_want_tok("first token, other handle", sc_get1(other, uid, 1000), 1,
	    2, TODAY);
	sc_want_tok("last token, other handle",
	    sc_get1(other, uid, 1000 + 7 * (N - 1)), 1, 2, TODAY);
	store_close(other);

	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct store *c = NULL;

		if (store_open(&f->params, &c, err, sizeof(err)) != 0 ||
		    store_begin(c, true) != 0 ||
		    store_tokens_put(c, uid, d, N, TODAY * DAY) != 0 ||
		    store_commit(c) != 0)
			_exit(1);
		_exit(0); /* no close: nothing may wait in a buffer */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	sc_want_tok("first token after the child", sc_get1(f->st, uid, 1000), 2,
	    4, TODAY);
	sc_want_tok("last token after the child",
	    sc_get1(f->st, uid, 1000 + 7 * (N - 1)), 2, 4, TODAY);
	free(d);
}

/* unlink_db - remove a SQLite database and its WAL files. */
static void
unlink_db(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char p[1300];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* exec1 - run sql on db, failing the test with its message. */
static void
exec1(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
}

/*
 * A transaction that spills pages to the WAL and changes them again has
 * its frames rewritten in place at commit, and the commit frame's header
 * written again last (wal.c: walRewriteChecksums). The VFS must not keep
 * that header: a process that ends without closing would leave a stale
 * checksum, and recovery would drop the committed transaction.
 */
void
test_sqlite_walbuf_rewrite(void **state)
{
	struct fix *f = *state;
	char path[1200];
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	pid_t pid;
	int wst;

	assert_non_null(sq_walbuf_vfs());
	snprintf(path, sizeof(path), "%s/spill.db", f->dir);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (sqlite3_open_v2(path, &db,
			SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			sq_walbuf_vfs()) != SQLITE_OK ||
		    sqlite3_exec(db,
			"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			"PRAGMA cache_size = 10;"
			"CREATE TABLE t (k INTEGER PRIMARY KEY, x BLOB); BEGIN;"
			"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
			"FROM c WHERE i < 2000) INSERT INTO t "
			"SELECT i, randomblob(300) FROM c;"
			"UPDATE t SET x = randomblob(300); COMMIT;",
			NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		_exit(0); /* no close: nothing may wait in a buffer */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	/* the only connection is gone: this open recovers the WAL */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1,
			     &q, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 2000);
	sqlite3_finalize(q);
	sqlite3_close(db);
	unlink_db(path);
}

/*
 * A connection whose last WAL write lies far beyond the point where
 * another connection started the log again: its next commit is
 * appended below that old end, and must still reach the file before
 * a third connection reads it.
 */
void
test_sqlite_walbuf_restarted_log(void **state)
{
	struct fix *f = *state;
	char path[1200];
	sqlite3 *a = NULL, *b = NULL, *c = NULL;
	sqlite3_stmt *q = NULL;

	snprintf(path, sizeof(path), "%s/restart.db", f->dir);
	assert_int_equal(sqlite3_open_v2(path, &a, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE, sq_walbuf_vfs()),
	    SQLITE_OK);
	exec1(a, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
		 "PRAGMA synchronous = NORMAL;" /* no sync at commit */
		 "CREATE TABLE t (k INTEGER PRIMARY KEY, x BLOB); BEGIN;"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		 "FROM n WHERE i < 2000) INSERT INTO t "
		 "SELECT i, randomblob(300) FROM n; COMMIT;");
	assert_int_equal(sqlite3_open(path, &b), SQLITE_OK);
	exec1(b, "PRAGMA wal_autocheckpoint = 0;"
		 "PRAGMA wal_checkpoint(RESTART);"
		 "INSERT INTO t VALUES (5000, 'b');");
	exec1(a, "UPDATE t SET x = 'mid' WHERE k = 1;");
	exec1(a, "UPDATE t SET x = 'new' WHERE k = 1;");
	assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c,
			     "SELECT x FROM t WHERE k = 1", -1, &q, NULL),
	    SQLITE_OK);
	if (sqlite3_step(q) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(q, 0), "new") != 0)
		fail_msg("a third connection does not see the commit: %s",
		    sqlite3_errmsg(c));
	sqlite3_finalize(q);
	sqlite3_close(c);
	sqlite3_close(b);
	sqlite3_close(a);
	unlink_db(path);
}

void
test_memory_fresh(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	char err[64];
	uint32_t uid = sc_user(f->st, "u"), x;

	sc_put1(f->st, uid, 1, 1, 0, 0, TODAY * DAY);
	assert_int_equal(store_open(&f->params, &other, err, sizeof(err)), 0);
	assert_int_equal(store_user_uid(other, "u", false, &x), ES_ENOTFOUND);
	sc_want_tok("other memory store", sc_get1(other, uid, 1), 0, 0, 0);
	store_close(other);
}
