/*
 * mysql.c - store contract: the cases of the mysql row only (an existing
 * DSPAM database, unreachable server, reconnect, deadlock, write
 * conflicts).
 */
#include "store_contract.h"

/* ---- mysql only ---- */

/* DSPAM 3.10's own tables (the speed variant: token ids as text),
 * without edgespam's column and purge indexes. */
static const char *const dspam_ddl[] = {
	"CREATE TABLE dspam_token_data (uid INT UNSIGNED NOT NULL, "
	"token CHAR(20) NOT NULL, spam_hits BIGINT UNSIGNED NOT NULL, "
	"innocent_hits BIGINT UNSIGNED NOT NULL, last_hit DATE NOT NULL, "
	"UNIQUE KEY id_token_data_01 (uid, token)) ENGINE=MyISAM",
	"CREATE TABLE dspam_signature_data (uid INT UNSIGNED NOT NULL, "
	"signature CHAR(32) NOT NULL, data LONGBLOB NOT NULL, "
	"length INT UNSIGNED NOT NULL, created_on DATE NOT NULL, "
	"UNIQUE KEY id_signature_data_01 (uid, signature)) ENGINE=MyISAM",
	"CREATE TABLE dspam_stats (uid INT UNSIGNED PRIMARY KEY, "
	"spam_learned BIGINT UNSIGNED NOT NULL, "
	"innocent_learned BIGINT UNSIGNED NOT NULL, "
	"spam_misclassified BIGINT UNSIGNED NOT NULL, "
	"innocent_misclassified BIGINT UNSIGNED NOT NULL, "
	"spam_corpusfed BIGINT UNSIGNED NOT NULL, "
	"innocent_corpusfed BIGINT UNSIGNED NOT NULL, "
	"spam_classified BIGINT UNSIGNED NOT NULL, "
	"innocent_classified BIGINT UNSIGNED NOT NULL) ENGINE=MyISAM",
	"CREATE TABLE dspam_preferences (uid INT UNSIGNED NOT NULL, "
	"preference VARCHAR(32) NOT NULL, value VARCHAR(64) NOT NULL, "
	"UNIQUE KEY id_preferences_01 (uid, preference)) ENGINE=MyISAM",
	"CREATE TABLE dspam_virtual_uids (uid INT UNSIGNED NOT NULL "
	"AUTO_INCREMENT PRIMARY KEY, username VARCHAR(128), "
	"UNIQUE KEY id_virtual_uids_01 (username)) ENGINE=MyISAM",
	"INSERT INTO dspam_virtual_uids (uid, username) VALUES (7, 'old')",
	"INSERT INTO dspam_token_data VALUES "
	"(7, '18446744073709551615', 3, 4, '2024-10-04'), "
	"(7, '11624422384514212933', 1, 0, '2000-01-01'), "
	"(7, '12', 1, 0, '2000-01-01')",
};

void
test_mysql_dspam_db(void **state)
{
	struct fix *f = *state;
	struct store_purge_rules r = {.unused_days = 30, .batch = 10};
	struct store_purge_stats ps;
	struct store *st = NULL;
	char err[512] = "", items[512] = "";
	size_t n = 99;
	MYSQL *db;
	uint32_t uid;

	if (!sc_my_can_drop) {
		print_message("SKIP %s: no DROP privilege to make a DSPAM "
			      "database\n", "test_mysql_dspam_db");
		return;
	}
	store_close(f->st);
	f->st = NULL;
	sc_my_fresh = false;
	assert_int_equal(sc_my_reset(f, true), 0);
	assert_non_null(db = sc_my_admin(f));
	for (size_t i = 0; i < sizeof(dspam_ddl) / sizeof(dspam_ddl[0]); i++)
		assert_true(sc_my_sql(db, dspam_ddl[i]));
	mysql_close(db);

	/* refused until upgraded: the weight column is missing */
	assert_int_equal(store_open(&f->params, &st, err, sizeof(err)),
	    ES_ESTORE);
	if (strstr(err, "db upgrade") == NULL)
		fail_msg("open of a DSPAM database: %s", err);
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_CHECK,
			     sc_note_item, items, &n, err, sizeof(err)),
	    0);
	if (n != 9 || strstr(items, "table edgespam_domain_policy") == NULL ||
	    strstr(items, "table edgespam_sender_list") == NULL ||
	    strstr(items, "table edgespam_sources") == NULL ||
	    strstr(items, "table edgespam_history") == NULL ||
	    strstr(items, "table edgespam_daily") == NULL ||
	    strstr(items, "table edgespam_lock") == NULL ||
	    strstr(items, "column dspam_token_data.weight") == NULL ||
	    strstr(items, "index dspam_token_data (last_hit)") == NULL ||
	    strstr(items, "index dspam_signature_data (created_on)") == NULL)
		fail_msg("check: got %zu: %s", n, items);
	items[0] = '\0';
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_UPGRADE,
			     sc_note_item, items, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 9);
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_CHECK, NULL,
			     NULL, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);

	/* DSPAM's rows read and change in place; ids are text there */
	assert_int_equal(sc_fix_open(f), 0);
	assert_int_equal(store_user_uid(f->st, "old", false, &uid), 0);
	assert_int_equal(uid, 7);
	sc_want_tok("dspam row", sc_get1(f->st, 7, UINT64_MAX), 3, 4, TODAY);
	sc_put1(f->st, 7, UINT64_MAX - 1, 1, 0, 0.5, (time_t)TODAY * DAY);
	sc_put1(f->st, 7, UINT64_MAX, -5, 1, 0, (time_t)TODAY * DAY);
	sc_want_tok("updated", sc_get1(f->st, 7, UINT64_MAX), 0, 5, TODAY);
	sc_want_tok("new", sc_get1(f->st, 7, UINT64_MAX - 1), 1, 0, TODAY);
	assert_int_equal(store_purge(f->st, &r, (time_t)TODAY * DAY, NULL,
			     NULL, &ps),
	    0);
	assert_int_equal(ps.unused, 1);
	sc_want_tok("purged", sc_get1(f->st, 7, 12), 0, 0, 0);
	sc_want_tok("control kept", sc_get1(f->st, 7, CONTROL), 1, 0, 10957);
}

/* An unreachable server is transient, and the message names it. */
void
test_mysql_unreachable(void **state)
{
	struct fix *f = *state;
	struct store_params p = f->params;
	struct store *st = NULL;
	char err[512] = "";

	p.mysql_socket = "/nonexistent/edgespam-test.sock";
	assert_int_equal(store_open(&p, &st, err, sizeof(err)), ES_ETRANSIENT);
	assert_null(st);
	if (strstr(err, p.mysql_socket) == NULL)
		fail_msg("message does not name the socket: %s", err);
	p.mysql_database = NULL;
	assert_int_equal(store_open(&p, &st, err, sizeof(err)), ES_EINVAL);
}

/* kill_others - end the test user's other connections to the server. */
static void
kill_others(const struct fix *f)
{
	MYSQL *db = sc_my_admin(f);
	MYSQL_RES *res;
	MYSQL_ROW row;
	char sql[64];

	assert_non_null(db);
	assert_true(
	    sc_my_sql(db, "SELECT ID FROM information_schema.PROCESSLIST "
			  "WHERE ID <> CONNECTION_ID() AND USER = "
			  "SUBSTRING_INDEX(CURRENT_USER(), '@', 1)"));
	if ((res = mysql_store_result(db)) != NULL) {
		while ((row = mysql_fetch_row(res)) != NULL) {
			snprintf(sql, sizeof(sql), "KILL %s", row[0]);
			mysql_query(db, sql); /* it may be gone already */
		}
		mysql_free_result(res);
	}
	mysql_close(db);
}

/* A lost connection: inside a transaction ES_ETRANSIENT, then the next
 * call reconnects; outside one the read just works again. */
void
test_mysql_reconnect(void **state)
{
	struct fix *f = *state;
	struct store_delta d = {5, 1, 0, 0};
	uint32_t uid = sc_user(f->st, "u");

	sc_put1(f->st, uid, 5, 1, 0, 0, (time_t)TODAY * DAY);
	kill_others(f);
	sc_want_tok("read after kill", sc_get1(f->st, uid, 5), 1, 0, TODAY);
	assert_int_equal(store_begin(f->st, true), 0);
	kill_others(f);
	assert_int_equal(store_tokens_put(f->st, uid, &d, 1, TODAY * DAY),
	    ES_ETRANSIENT);
	assert_int_equal(store_commit(f->st), ES_ETRANSIENT);
	sc_put1(f->st, uid, 5, 1, 0, 0, (time_t)TODAY * DAY);
	sc_want_tok("after reconnect", sc_get1(f->st, uid, 5), 2, 0, TODAY);
}

/* The second writer of test_mysql_deadlock, on a thread of its own. */
struct writer {
	struct store *st;
	uint32_t uid;
	int rc;
	bool conflict; /* store_conflict() after the failure */
	char err[256];
};

static void *
deadlock_writer(void *arg)
{
	struct writer *w = arg;
	struct store_delta d[2] = {{5, 1, 0, 0}, {30, 1, 0, 0}};

	w->rc = store_begin(w->st, true);
	if (w->rc == 0)
		w->rc = store_tokens_put(w->st, w->uid, d, 2, TODAY * DAY);
	strlcpy(w->err, store_errmsg(w->st), sizeof(w->err));
	if (w->rc == 0)
		w->rc = store_commit(w->st);
	else
		store_rollback(w->st);
	return NULL;
}

/*
 * A deadlock in the first statement of a transaction is retried by the
 * driver: B locks 5 and waits for 30, which A holds; A then asks for 5.
 * InnoDB rolls back the lighter transaction, B (A has written 31 rows);
 * the driver starts B's transaction again and repeats the statement,
 * which waits for A's commit and succeeds. Both messages count.
 */
void
test_mysql_deadlock(void **state)
{
	struct fix *f = *state;
	struct store_delta a[31], five = {5, 1, 0, 0};
	struct writer w = {0};
	struct timespec pause = {0, 300000000L};
	char err[256];
	pthread_t t;

	w.uid = sc_user(f->st, "u");
	for (size_t i = 0; i < 31; i++)
		a[i] = (struct store_delta){30 + i, 1, 0, 0};
	assert_int_equal(store_open(&f->params, &w.st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(f->st, true), 0);
	assert_int_equal(store_tokens_put(f->st, w.uid, a, 31, TODAY * DAY),
	    0);
	assert_int_equal(pthread_create(&t, NULL, deadlock_writer, &w), 0);
	nanosleep(&pause, NULL); /* B holds 5 and waits for 30 */
	if (store_tokens_put(f->st, w.uid, &five, 1, TODAY * DAY) != 0)
		fail_msg("A was chosen: %s", store_errmsg(f->st));
	assert_int_equal(store_commit(f->st), 0);
	pthread_join(t, NULL);
	store_close(w.st);
	if (w.rc != 0)
		fail_msg("B: got %d (%s), want a retried success", w.rc, w.err);
	/* the message of the failed first try is still there */
	if (strstr(w.err, "eadlock") == NULL)
		fail_msg("B saw no deadlock: \"%s\"", w.err);
	sc_want_tok("5 by both", sc_get1(f->st, w.uid, 5), 2, 0, TODAY);
	sc_want_tok("30 by both", sc_get1(f->st, w.uid, 30), 2, 0, TODAY);
	sc_want_tok("31 by A", sc_get1(f->st, w.uid, 31), 1, 0, TODAY);
}

/* B of test_mysql_conflict: 5, then 30, which A holds. */
static void *
conflict_writer(void *arg)
{
	struct writer *w = arg;
	struct store_delta five = {5, 1, 0, 0}, thirty = {30, 1, 0, 0};

	if ((w->rc = store_begin(w->st, true)) == 0 &&
	    (w->rc = store_tokens_put(w->st, w->uid, &five, 1,
		 TODAY * DAY)) == 0)
		w->rc = store_tokens_put(w->st, w->uid, &thirty, 1,
		    TODAY * DAY);
	strlcpy(w->err, store_errmsg(w->st), sizeof(w->err));
	w->conflict = store_conflict(w->st);
	if (w->rc == 0)
		w->rc = store_commit(w->st);
	else
		store_rollback(w->st);
	return NULL;
}

/*
 * A deadlock later in a transaction (as a Galera certification failure
 * at commit, which the server reports with the same code) cannot be
 * repeated by the driver: the transaction's earlier work is gone. It is
 * ES_ETRANSIENT with store_conflict() true, so that the caller runs the
 * whole transaction again (the milter does, until its deadline). B
 * writes 5, then waits for 30, which A holds; A then asks for 5, and
 * InnoDB rolls back B, the lighter one.
 */
void
test_mysql_conflict(void **state)
{
	struct fix *f = *state;
	struct store_delta a[31], five = {5, 1, 0, 0};
	struct writer w = {0};
	struct timespec pause = {0, 300000000L};
	char err[256];
	pthread_t t;

	w.uid = sc_user(f->st, "u");
	for (size_t i = 0; i < 31; i++)
		a[i] = (struct store_delta){30 + i, 1, 0, 0};
	assert_int_equal(store_open(&f->params, &w.st, err, sizeof(err)), 0);
	assert_int_equal(store_begin(f->st, true), 0);
	assert_int_equal(store_tokens_put(f->st, w.uid, a, 31, TODAY * DAY),
	    0);
	assert_int_equal(pthread_create(&t, NULL, conflict_writer, &w), 0);
	nanosleep(&pause, NULL); /* B holds 5 and waits for 30 */
	if (store_tokens_put(f->st, w.uid, &five, 1, TODAY * DAY) != 0)
		fail_msg("A was chosen: %s", store_errmsg(f->st));
	assert_false(store_conflict(f->st));
	assert_int_equal(store_commit(f->st), 0);
	pthread_join(t, NULL);
	if (w.rc != ES_ETRANSIENT)
		fail_msg("B: got %d (%s), want ES_ETRANSIENT", w.rc, w.err);
	if (!w.conflict)
		fail_msg("B: store_conflict() is false after \"%s\"", w.err);
	if (strstr(w.err, "(1213") == NULL)
		fail_msg("B's message does not give the code: \"%s\"", w.err);
	/* B's write of 5 was rolled back with it; the caller's retry counts */
	sc_want_tok("5 by A only", sc_get1(f->st, w.uid, 5), 1, 0, TODAY);
	assert_int_equal(store_begin(w.st, true), 0);
	assert_int_equal(store_tokens_put(w.st, w.uid, &five, 1, TODAY * DAY),
	    0);
	assert_int_equal(store_commit(w.st), 0);
	sc_want_tok("5 by both", sc_get1(f->st, w.uid, 5), 2, 0, TODAY);
	store_close(w.st);
}

/*
 * The purge lock is a row of edgespam_lock (MariaDB's GET_LOCK holds on
 * one Galera node only): a lock that another holder left behind (a
 * purge killed before its release) refuses a purge, which names the
 * holder and deletes nothing, until the lock expires; then the purge
 * runs, and its release leaves the row free and naming this process.
 */
void
test_mysql_purge_lock(void **state)
{
	struct fix *f = *state;
	struct store_purge_rules r = {.unused_days = 1, .batch = 10};
	struct store_purge_stats ps;
	char pid[32];
	MYSQL_RES *res;
	MYSQL_ROW row;
	MYSQL *db;
	uint32_t uid = sc_user(f->st, "u");

	sc_put1(f->st, uid, 1, 1, 0, 0, (time_t)(TODAY - 10) * DAY);
	assert_non_null(db = sc_my_admin(f));
	assert_true(sc_my_sql(db, "INSERT INTO edgespam_lock (name, holder, "
				  "taken, expires) VALUES ('purge', "
				  "'mx9 pid 4242', UNIX_TIMESTAMP(), "
				  "UNIX_TIMESTAMP() + 600) ON DUPLICATE KEY "
				  "UPDATE holder = VALUES(holder), "
				  "taken = VALUES(taken), "
				  "expires = VALUES(expires)"));
	assert_int_equal(store_purge(f->st, &r, (time_t)TODAY * DAY, NULL,
			     NULL, &ps),
	    ES_EBUSY);
	if (strstr(store_errmsg(f->st), "another purge is running: mx9 pid "
					"4242 holds") == NULL)
		fail_msg("refusal: %s", store_errmsg(f->st));
	assert_int_equal(ps.unused, 0);

	assert_true(sc_my_sql(db, "UPDATE edgespam_lock SET expires = "
				  "UNIX_TIMESTAMP() - 1 WHERE name = 'purge'"));
	if (store_purge(f->st, &r, (time_t)TODAY * DAY, NULL, NULL, &ps) != 0)
		fail_msg("purge after the expiry: %s", store_errmsg(f->st));
	assert_int_equal(ps.unused, 1);

	assert_true(sc_my_sql(db, "SELECT expires, holder FROM edgespam_lock "
				  "WHERE name = 'purge'"));
	assert_non_null(res = mysql_store_result(db));
	assert_non_null(row = mysql_fetch_row(res));
	snprintf(pid, sizeof(pid), " pid %ld", (long)getpid());
	if (strcmp(row[0], "0") != 0 || strstr(row[1], pid) == NULL)
		fail_msg("after the release: expires %s, holder %s (want 0, "
			 "this process)", row[0], row[1]);
	mysql_free_result(res);
	mysql_close(db);
}
