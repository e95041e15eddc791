/*
 * test_store_contract.c - the storage contract: one list of tests that
 * every driver must pass. A driver is one row of the `drivers` table
 * (name, setup, teardown, whether it keeps data across opens); a new
 * driver (MariaDB) adds a row. Tests that only make sense for a driver
 * with a database file (reopen, lock contention between two handles,
 * unwritable path) run for the rows marked persistent, and the SQLite
 * file checks for "sqlite" only.
 *
 * Each test gets a fresh empty store from its row's setup; the SQLite
 * setup makes a private directory under $TMPDIR (or /tmp) and the
 * teardown removes it.
 *
 * The "mysql" row runs only against a server the caller provides, named
 * by the environment (tests/sh/lib_mariadb.sh starts a private one):
 *   ES_TEST_MYSQL_SOCKET         the server's Unix socket (required: the
 *                                row is skipped, and says so, without it)
 *   ES_TEST_MYSQL_DB             database (default dspam); its edgespam
 *                                and dspam_* tables are DROPPED
 *   ES_TEST_MYSQL_USER           user (default edgespam)
 *   ES_TEST_MYSQL_PASSWORD_FILE  file holding the password (optional)
 * The user needs SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER and INDEX
 * on that database, and DROP for the test on a DSPAM database (skipped,
 * saying so, without it). The first test drops the tables (without DROP:
 * empties them) and lets the driver create what is missing; later tests
 * empty them (DELETE), and a test that changes the schema drops them
 * again for the next one.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <mysql.h>
#include <sqlite3.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store.h"
#include "sqlite_walbuf.h"

#define DAY 86400
#define TODAY 20000 /* 2024-10-04 */
#define BUSY_MS 50
#define CONTROL 11624422384514212933ULL

struct fix {
	const char *driver;
	char dir[1024];
	char path[1100];
	char password[256];
	bool row_locks; /* locks rows, not the database (mysql) */
	struct store_params params;
	struct store *st;
};

/* fix_open - open f->params into f->st. */
static int
fix_open(struct fix *f)
{
	char err[256] = "";
	int rc = store_open(&f->params, &f->st, err, sizeof(err));

	if (rc != 0)
		print_error("store_open(%s): %d %s\n", f->driver, rc, err);
	return rc;
}

static int
setup_driver(void **state, const char *driver, bool file)
{
	struct fix *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	f->driver = driver;
	if (file) {
		if (tmp == NULL || tmp[0] == '\0')
			tmp = "/tmp";
		if ((size_t)snprintf(f->dir, sizeof(f->dir), "%s/es-store-XXXXXX",
			tmp) >= sizeof(f->dir) ||
		    mkdtemp(f->dir) == NULL) {
			free(f);
			return -1;
		}
		snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	}
	f->params.driver = driver;
	f->params.path = f->path;
	f->params.busy_timeout_ms = BUSY_MS;
	*state = f;
	return fix_open(f) == 0 ? 0 : -1;
}

static int
teardown_driver(void **state)
{
	struct fix *f = *state;
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[1200];

	if (f == NULL)
		return 0;
	store_close(f->st);
	if (f->dir[0] != '\0') {
		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
			unlink(p);
		}
		rmdir(f->dir);
	}
	free(f);
	return 0;
}

static int
setup_sqlite(void **state)
{
	return setup_driver(state, "sqlite", true);
}

static int
setup_memory(void **state)
{
	return setup_driver(state, "memory", false);
}

/* ---- the mysql row ---- */

static const char *const my_tables[] = {"dspam_virtual_uids",
    "dspam_token_data", "dspam_signature_data", "dspam_stats",
    "dspam_preferences", "edgespam_domain_policy",
    "edgespam_sender_list", "edgespam_sources", "edgespam_history",
    "edgespam_daily"};
/* The tables were made by the driver and not changed since. */
static bool my_fresh;

/* env_or - the environment variable or a default. */
static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : def;
}

/* my_params - the test server's parameters (password into f). */
static int
my_params(struct fix *f)
{
	const char *pwfile = getenv("ES_TEST_MYSQL_PASSWORD_FILE");

	f->params.driver = "mysql";
	f->params.busy_timeout_ms = BUSY_MS;
	f->params.mysql_socket = getenv("ES_TEST_MYSQL_SOCKET");
	f->params.mysql_database = env_or("ES_TEST_MYSQL_DB", "dspam");
	f->params.mysql_user = env_or("ES_TEST_MYSQL_USER", "edgespam");
	if (pwfile != NULL && pwfile[0] != '\0') {
		FILE *fp = fopen(pwfile, "r");

		if (fp == NULL || fgets(f->password, sizeof(f->password),
				      fp) == NULL) {
			print_error("%s: cannot read\n", pwfile);
			if (fp != NULL)
				fclose(fp);
			return -1;
		}
		fclose(fp);
		f->password[strcspn(f->password, "\r\n")] = '\0';
		f->params.mysql_password = f->password;
	}
	return 0;
}

/* my_admin - a direct connection to the test database. */
static MYSQL *
my_admin(const struct fix *f)
{
	MYSQL *db = mysql_init(NULL);

	if (db == NULL)
		return NULL;
	if (mysql_real_connect(db, "localhost", f->params.mysql_user,
		f->params.mysql_password, f->params.mysql_database, 0,
		f->params.mysql_socket, 0) == NULL) {
		print_error("mysql: %s\n", mysql_error(db));
		mysql_close(db);
		return NULL;
	}
	return db;
}

/* my_sql - run sql on db; false (with the message) on failure. */
static bool
my_sql(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql) == 0)
		return true;
	print_error("mysql: %s: %s\n", sql, mysql_error(db));
	return false;
}

/* The test user may drop tables (else they are only ever emptied). */
static bool my_can_drop = true;

/* my_reset - the tables dropped (drop) or emptied on the server. A
 * user without DROP gets them emptied; a missing table is fine there. */
static int
my_reset(const struct fix *f, bool drop)
{
	MYSQL *db = my_admin(f);
	char sql[128];
	bool ok = db != NULL;

	for (size_t i = 0; ok && i < sizeof(my_tables) / sizeof(my_tables[0]);
	     i++) {
		if (drop && my_can_drop) {
			snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s",
			    my_tables[i]);
			if (mysql_query(db, sql) == 0)
				continue;
			if (mysql_errno(db) != 1142) { /* 1142: no privilege */
				ok = my_sql(db, sql);
				continue;
			}
			my_can_drop = false;
			print_message("note: %s may not DROP: the tables are "
				      "only emptied\n", f->params.mysql_user);
		}
		snprintf(sql, sizeof(sql), "DELETE FROM %s", my_tables[i]);
		/* 1146: no such table, which the driver creates */
		if (mysql_query(db, sql) != 0 && mysql_errno(db) != 1146)
			ok = my_sql(db, sql);
	}
	if (db != NULL)
		mysql_close(db);
	return ok ? 0 : -1;
}

static int
setup_mysql(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	f->driver = "mysql";
	f->row_locks = true;
	if (my_params(f) != 0 || my_reset(f, !my_fresh) != 0)
		return -1;
	my_fresh = true;
	return fix_open(f) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static struct store *
S(void **state)
{
	return ((struct fix *)*state)->st;
}

static uint32_t
user(struct store *st, const char *name)
{
	uint32_t uid = 0;

	assert_int_equal(store_user_uid(st, name, true, &uid), 0);
	return uid;
}

static void
put1(struct store *st, uint32_t uid, uint64_t token, int32_t s, int32_t i,
    double w, time_t now)
{
	struct store_delta d = {token, s, i, w};
	int rc = store_tokens_put(st, uid, &d, 1, now);

	if (rc != 0)
		fail_msg("put %llu: %d %s", (unsigned long long)token, rc,
		    store_errmsg(st));
}

static struct store_token
get1(struct store *st, uint32_t uid, uint64_t token)
{
	struct store_token t;

	memset(&t, 0xa5, sizeof(t));
	t.token = token;
	assert_int_equal(store_tokens_get(st, uid, &t, 1), 0);
	assert_true(t.token == token);
	return t;
}

static void
want_tok(const char *name, struct store_token t, uint64_t s, uint64_t i,
    int32_t day)
{
	if (t.spam_hits != s || t.innocent_hits != i || t.last_hit != day)
		fail_msg("case %s: got spam %llu innocent %llu day %d, "
			 "want %llu %llu %d",
		    name, (unsigned long long)t.spam_hits,
		    (unsigned long long)t.innocent_hits, t.last_hit,
		    (unsigned long long)s, (unsigned long long)i, day);
}

/* ---- open, close, errors ---- */

static void
test_open_close(void **state)
{
	struct fix *f = *state;
	struct store_params bad = {.driver = "nosuch", .path = "x"};
	struct store *st = (struct store *)&bad;
	char err[256] = "";

	assert_string_equal(store_driver_name(f->st), f->driver);
	assert_string_equal(store_errmsg(f->st), "");
	store_close(NULL);
	assert_int_equal(store_open(&bad, &st, err, sizeof(err)), ES_EINVAL);
	assert_null(st);
	assert_non_null(strstr(err, "nosuch"));
	assert_non_null(strstr(err, "sqlite"));
	assert_non_null(strstr(err, "memory"));
	/* A second handle of the same kind opens and closes on its own. */
	assert_int_equal(store_open(&f->params, &st, err, sizeof(err)), 0);
	store_close(st);
}

/* ---- users ---- */

struct ulist {
	uint32_t uid[8];
	char name[8][32];
	size_t n;
	size_t stop_after;
};

static int
collect_user(uint32_t uid, const char *name, void *arg)
{
	struct ulist *l = arg;

	if (l->n < 8) {
		l->uid[l->n] = uid;
		strlcpy(l->name[l->n], name, sizeof(l->name[0]));
	}
	l->n++;
	return l->stop_after != 0 && l->n >= l->stop_after;
}

static void
test_users(void **state)
{
	struct store *st = S(state);
	char longname[130];
	uint32_t a, b, c, x = 77;
	struct ulist l = {0};

	a = user(st, "alice@example.org");
	b = user(st, "bob@example.org");
	c = user(st, "Alice@example.org"); /* exact bytes: another user */
	assert_true(a != b && b != c && a != c);
	assert_true(a > 0);
	assert_int_equal(store_user_uid(st, "alice@example.org", false, &x), 0);
	assert_int_equal(x, a);
	assert_int_equal(user(st, "bob@example.org"), b);
	assert_int_equal(store_user_uid(st, "carol", false, &x),
	    ES_ENOTFOUND);
	assert_int_equal(store_user_uid(st, "", true, &x), ES_EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_user_uid(st, longname, true, &x), ES_EINVAL);
	longname[128] = '\0'; /* exactly 128 bytes is allowed */
	assert_int_equal(store_user_uid(st, longname, true, &x), 0);

	assert_int_equal(store_users(st, collect_user, &l), 0);
	assert_int_equal(l.n, 4);
	for (size_t i = 1; i < 4; i++)
		assert_true(l.uid[i - 1] < l.uid[i]);
	assert_int_equal(l.uid[0], a);
	assert_string_equal(l.name[0], "alice@example.org");
	assert_int_equal(l.uid[1], b);
	assert_string_equal(l.name[2], "Alice@example.org");

	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_users(st, collect_user, &l), 0);
	assert_int_equal(l.n, 2);
}

/* ---- tokens ---- */

static void
test_tokens_unknown(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_token t = get1(st, uid, 12345);

	want_tok("unknown", t, 0, 0, 0);
	assert_true(t.weight == 0.0);
	/* n = 0 does nothing; a NULL array with n > 0 is refused. */
	assert_int_equal(store_tokens_get(st, uid, NULL, 0), 0);
	assert_int_equal(store_tokens_get(st, uid, NULL, 1), ES_EINVAL);
	assert_int_equal(store_tokens_put(st, uid, NULL, 1, DAY), ES_EINVAL);
}

static void
test_tokens_put_get(void **state)
{
	static const struct {
		const char *name;
		uint64_t token;
		int32_t d[3][2]; /* successive (spam, innocent) deltas */
		double w[3];
		uint64_t spam, innocent;
		double weight;
	} c[] = {
		{"new row", 1, {{1, 0}, {0, 0}, {0, 0}}, {0, 0, 0}, 1, 0, 0},
		{"adds up", 2, {{1, 2}, {3, 4}, {0, 1}}, {0, 0, 0}, 4, 7, 0},
		{"new row clamps", 3, {{-3, -2}, {0, 0}, {0, 0}}, {0, 0, 0}, 0,
		    0, 0},
		{"new row mixed", 4, {{-1, 2}, {0, 0}, {0, 0}}, {0, 0, 0}, 0, 2,
		    0},
		{"clamp then add", 5, {{2, 1}, {-5, -5}, {1, 0}}, {0, 0, 0}, 1,
		    0, 0},
		{"undo to zero", 6, {{1, 1}, {-1, -1}, {0, 0}}, {0, 0, 0}, 0, 0,
		    0},
		{"weight adds", 7, {{0, 0}, {0, 0}, {0, 0}}, {0.5, -0.25, 2.0},
		    0, 0, 2.25},
		{"weight negative", 8, {{1, 0}, {0, 0}, {0, 0}}, {-1.5, 0, 0},
		    1, 0, -1.5},
		{"big id", 0xfedcba9876543210ULL, {{7, 0}, {0, 9}, {0, 0}},
		    {0.125, 0, 0}, 7, 9, 0.125},
		{"max id", UINT64_MAX, {{1, 1}, {0, 0}, {0, 0}}, {0, 0, 0}, 1,
		    1, 0},
		{"zero id", 0, {{0, 3}, {0, 0}, {0, 0}}, {0, 0, 0}, 0, 3, 0},
		{"large delta", 9, {{INT32_MAX, 0}, {INT32_MAX, 0}, {0, 0}},
		    {0, 0, 0}, 2ULL * INT32_MAX, 0, 0},
		/* a column clamped at zero, then a same-day delta for that
		 * column alone: the other column stays exactly as it was */
		{"spam clamped, then spam only", 10, {{2, 5}, {-5, 0}, {3, 0}},
		    {0.5, 0, 0}, 3, 5, 0.5},
		{"innocent clamped, then innocent only", 11,
		    {{5, 2}, {0, -5}, {0, 3}}, {0, 0, 0.25}, 5, 3, 0.25},
	};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_token t;

		for (int j = 0; j < 3; j++)
			put1(st, uid, c[k].token, c[k].d[j][0], c[k].d[j][1],
			    c[k].w[j], (time_t)TODAY * DAY);
		t = get1(st, uid, c[k].token);
		want_tok(c[k].name, t, c[k].spam, c[k].innocent, TODAY);
		if (t.weight != c[k].weight)
			fail_msg("case %s: got weight %g, want %g", c[k].name,
			    t.weight, c[k].weight);
	}
}

static void
test_tokens_last_hit(void **state)
{
	static const struct {
		const char *name;
		time_t now;
		int32_t day;
	} c[] = {
		{"epoch", 0, 0},
		{"end of first day", DAY - 1, 0},
		{"2023-11-14", 1700000000, 19675},
		{"2024-02-29 leap day", 1709208000, 19782},
		{"2100-01-01", 4102444800LL, 47482},
		{"9999-12-31", 253402300799LL, 2932896},
		{"back in time", (time_t)TODAY * DAY + 5, TODAY},
	};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		put1(st, uid, 99, 1, 0, 0, c[k].now);
		want_tok(c[k].name, get1(st, uid, 99), k + 1, 0, c[k].day);
	}
	{
		struct store_delta d = {99, 1, 0, 0};

		assert_int_equal(store_tokens_put(st, uid, &d, 1, -1),
		    ES_EINVAL);
		assert_int_equal(store_tokens_put(st, uid, &d, 1,
				     253402300800LL),
		    ES_EINVAL);
	}
}

static void
test_tokens_unsorted(void **state)
{
	static const struct {
		const char *name;
		uint64_t a, b, c;
	} c[] = {
		{"descending", 5, 3, 9},
		{"duplicate", 5, 5, 9},
		{"last out of order", 5, 9, 7},
		{"high bit order", 0x8000000000000000ULL, 1, 2},
	};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_delta d[3] = {{c[k].a, 1, 0, 0}, {c[k].b, 1, 0, 0},
		    {c[k].c, 1, 0, 0}};
		int rc = store_tokens_put(st, uid, d, 3, (time_t)TODAY * DAY);

		if (rc != ES_EINVAL)
			fail_msg("case %s: got %d, want %d", c[k].name, rc,
			    ES_EINVAL);
		for (int j = 0; j < 3; j++)
			want_tok(c[k].name, get1(st, uid, d[j].token), 0, 0, 0);
	}
}

#define NBIG 1000

/* big_id - ids spread over the whole 64-bit range, ascending. */
static uint64_t
big_id(size_t i)
{
	return i == NBIG - 1 ? UINT64_MAX : (uint64_t)i * (UINT64_MAX / NBIG);
}

static void
test_tokens_large_batch(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_delta *d = calloc(NBIG, sizeof(*d));
	struct store_token *t = calloc(NBIG + 3, sizeof(*t));
	size_t above = 0;

	assert_non_null(d);
	assert_non_null(t);
	for (size_t i = 0; i < NBIG; i++) {
		d[i].token = big_id(i);
		d[i].spam = (int32_t)(i % 7);
		d[i].innocent = (int32_t)(i % 3);
		d[i].weight = (double)i * 0.25;
		above += d[i].token > (uint64_t)INT64_MAX;
	}
	assert_true(above > NBIG / 3);
	assert_int_equal(store_tokens_put(st, uid, d, NBIG,
			     (time_t)TODAY * DAY),
	    0);
	/* Read back in a scrambled order, with unknown ids and a duplicate
	 * mixed in, so matching cannot rely on position. */
	for (size_t i = 0; i < NBIG; i++)
		t[i].token = big_id((i * 7919) % NBIG);
	t[NBIG].token = 3;
	t[NBIG + 1].token = big_id(500);
	t[NBIG + 2].token = UINT64_MAX - 1;
	assert_int_equal(store_tokens_get(st, uid, t, NBIG + 3), 0);
	for (size_t i = 0; i < NBIG + 3; i++) {
		size_t j = i < NBIG ? (i * 7919) % NBIG : i == NBIG + 1 ? 500 :
									 SIZE_MAX;
		char name[32];

		snprintf(name, sizeof(name), "scrambled %zu", i);
		if (j == SIZE_MAX) {
			want_tok(name, t[i], 0, 0, 0);
			continue;
		}
		want_tok(name, t[i], j % 7, j % 3, TODAY);
		if (t[i].weight != (double)j * 0.25)
			fail_msg("case %s: got weight %g, want %g", name,
			    t[i].weight, (double)j * 0.25);
	}
	/* and in ascending order, as the engine asks */
	for (size_t i = 0; i < NBIG; i++)
		t[i].token = big_id(i);
	assert_int_equal(store_tokens_get(st, uid, t, NBIG), 0);
	for (size_t i = 0; i < NBIG; i++) {
		char name[32];

		snprintf(name, sizeof(name), "sorted %zu", i);
		want_tok(name, t[i], i % 7, i % 3, TODAY);
	}
	free(d);
	free(t);
}

/* ---- isolation between users ---- */

static int
count_pair(const char *k, const char *v, void *arg)
{
	(void)k;
	(void)v;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_user_isolation(void **state)
{
	struct store *st = S(state);
	uint32_t a = user(st, "a"), b = user(st, "b");
	struct store_totals ta = {.spam_learned = 3}, tb;
	void *data = (void *)1;
	size_t len = 7, n = 0;
	char v[16];

	put1(st, a, 42, 5, 1, 0.5, (time_t)TODAY * DAY);
	assert_int_equal(store_sig_put(st, a, "abc", "xyz", 3, TODAY * DAY),
	    0);
	assert_int_equal(store_pref_set(st, a, "spamAction", "tag"), 0);
	assert_int_equal(store_totals_add(st, a, &ta), 0);

	want_tok("other user's token", get1(st, b, 42), 0, 0, 0);
	want_tok("own token", get1(st, a, 42), 5, 1, TODAY);
	assert_int_equal(store_sig_get(st, b, "abc", &data, &len),
	    ES_ENOTFOUND);
	assert_null(data);
	assert_int_equal(store_pref_get(st, b, "spamAction", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_prefs(st, b, count_pair, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_totals_get(st, b, &tb), 0);
	assert_int_equal(tb.spam_learned, 0);
	/* b's writes leave a's rows alone */
	put1(st, b, 42, -9, -9, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_sig_delete(st, b, "abc"), 0);
	want_tok("after other's write", get1(st, a, 42), 5, 1, TODAY);
	assert_int_equal(store_sig_get(st, a, "abc", &data, &len), 0);
	assert_int_equal(len, 3);
	es_free(data);
}

/* ---- totals ---- */

static void
test_totals(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_totals t, d1 = {1, 2, 3, 4, 5, 6, 7, 8};
	struct store_totals d2 = {10, -1, -5, 0, -100, 6, 1, -8};
	const struct store_totals want = {11, 1, 0, 4, 0, 12, 8, 0};

	memset(&t, 0x5a, sizeof(t));
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 0);
	assert_int_equal(t.innocent_classified, 0);
	assert_int_equal(store_totals_add(st, uid, &d1), 0);
	assert_int_equal(store_totals_add(st, uid, &d2), 0);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	if (memcmp(&t, &want, sizeof(t)) != 0)
		fail_msg("totals: got %lld %lld %lld %lld %lld %lld %lld %lld, "
			 "want 11 1 0 4 0 12 8 0",
		    (long long)t.spam_learned, (long long)t.innocent_learned,
		    (long long)t.spam_misclassified,
		    (long long)t.innocent_misclassified,
		    (long long)t.spam_corpusfed, (long long)t.innocent_corpusfed,
		    (long long)t.spam_classified,
		    (long long)t.innocent_classified);
	/* a first add that is negative clamps a new row at zero */
	{
		uint32_t v = user(st, "v");
		struct store_totals neg = {-1, -1, -1, -1, -1, -1, -1, -1};

		assert_int_equal(store_totals_add(st, v, &neg), 0);
		assert_int_equal(store_totals_get(st, v, &t), 0);
		assert_int_equal(t.spam_learned, 0);
		assert_int_equal(t.innocent_classified, 0);
	}
}

/* ---- transactions ---- */

/* tx_changes - one message's worth of changes on every table. */
static void
tx_changes(struct store *st, uint32_t uid)
{
	struct store_delta d[2] = {{10, 1, 0, 0.5}, {20, 0, 1, 0}};
	struct store_totals t = {.spam_learned = 1, .innocent_learned = -1};
	uint32_t x;

	assert_int_equal(store_tokens_put(st, uid, d, 2, (time_t)TODAY * DAY),
	    0);
	assert_int_equal(store_totals_add(st, uid, &t), 0);
	assert_int_equal(store_sig_put(st, uid, "new", "n", 1, TODAY * DAY),
	    0);
	assert_int_equal(store_sig_put(st, uid, "old", "replaced", 8,
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_delete(st, uid, "gone"), 0);
	assert_int_equal(store_pref_set(st, uid, "optIn", "on"), 0);
	assert_int_equal(store_domain_set(st, "example.org", "on"), 0);
	assert_int_equal(store_user_uid(st, "newuser", true, &x), 0);
}

/* tx_base - the state before tx_changes. */
static uint32_t
tx_base(struct store *st)
{
	uint32_t uid = user(st, "u");
	struct store_totals t = {.innocent_learned = 5};

	put1(st, uid, 10, 3, 3, 1.0, (time_t)(TODAY - 5) * DAY);
	assert_int_equal(store_totals_add(st, uid, &t), 0);
	assert_int_equal(store_sig_put(st, uid, "old", "old", 3,
			     (TODAY - 5) * DAY),
	    0);
	assert_int_equal(store_sig_put(st, uid, "gone", "g", 1,
			     (TODAY - 5) * DAY),
	    0);
	return uid;
}

static void
sig_is(struct store *st, uint32_t uid, const char *id, const char *want)
{
	void *data = NULL;
	size_t len = 0;
	int rc = store_sig_get(st, uid, id, &data, &len);

	if (want == NULL) {
		if (rc != ES_ENOTFOUND)
			fail_msg("case sig %s: got %d, want ENOTFOUND", id, rc);
		return;
	}
	if (rc != 0 || len != strlen(want) || memcmp(data, want, len) != 0)
		fail_msg("case sig %s: got rc %d len %zu, want \"%s\"", id, rc,
		    len, want);
	es_free(data);
}

static void
test_rollback(void **state)
{
	struct store *st = S(state);
	uint32_t uid = tx_base(st), x;
	struct store_totals t;
	struct store_token tok;
	char v[16];

	assert_int_equal(store_begin(st, true), 0);
	tx_changes(st, uid);
	want_tok("inside", get1(st, uid, 10), 4, 3, TODAY);
	store_rollback(st);

	tok = get1(st, uid, 10);
	want_tok("modified row restored", tok, 3, 3, TODAY - 5);
	assert_true(tok.weight == 1.0);
	want_tok("new row gone", get1(st, uid, 20), 0, 0, 0);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 0);
	assert_int_equal(t.innocent_learned, 5);
	sig_is(st, uid, "new", NULL);
	sig_is(st, uid, "old", "old");
	sig_is(st, uid, "gone", "g");
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_user_uid(st, "newuser", false, &x),
	    ES_ENOTFOUND);
	/* rollback of no transaction does nothing; the store still works */
	store_rollback(st);
	put1(st, uid, 10, 1, 0, 0, (time_t)TODAY * DAY);
	want_tok("after rollback", get1(st, uid, 10), 4, 3, TODAY);
}

static void
test_commit(void **state)
{
	struct store *st = S(state);
	uint32_t uid = tx_base(st), x;
	struct store_totals t;
	char v[16];

	assert_int_equal(store_commit(st), ES_EINVAL);
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_begin(st, true), ES_EINVAL);
	tx_changes(st, uid);
	assert_int_equal(store_commit(st), 0);
	store_rollback(st); /* nothing open: must not undo the commit */

	want_tok("modified", get1(st, uid, 10), 4, 3, TODAY);
	want_tok("new", get1(st, uid, 20), 0, 1, TODAY);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 1);
	assert_int_equal(t.innocent_learned, 4);
	sig_is(st, uid, "new", "n");
	sig_is(st, uid, "old", "replaced");
	sig_is(st, uid, "gone", NULL);
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(store_user_uid(st, "newuser", false, &x), 0);

	/* a read transaction sees the data and may write too */
	assert_int_equal(store_begin(st, false), 0);
	want_tok("read tx", get1(st, uid, 20), 0, 1, TODAY);
	put1(st, uid, 20, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_commit(st), 0);
	want_tok("read tx write", get1(st, uid, 20), 1, 1, TODAY);
}

/* ---- signatures ---- */

static void
test_signatures(void **state)
{
	static const unsigned char bin[] = {0, 1, 2, 0, 0xff, 0x80, 0};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	unsigned char big[4096];
	void *data = NULL;
	size_t len = 0;
	char id33[34];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 31 + 7);
	assert_int_equal(store_sig_put(st, uid, "s1", bin, sizeof(bin),
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(data, bin, sizeof(bin));
	es_free(data);
	/* replace with longer data */
	assert_int_equal(store_sig_put(st, uid, "s1", big, sizeof(big),
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len), 0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(data, big, sizeof(big));
	es_free(data);
	/* empty data is a signature too */
	assert_int_equal(store_sig_put(st, uid, "empty", NULL, 0, TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "empty", &data, &len), 0);
	assert_int_equal(len, 0);
	es_free(data);
	/* delete, missing, bad ids */
	assert_int_equal(store_sig_delete(st, uid, "s1"), 0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len),
	    ES_ENOTFOUND);
	assert_null(data);
	assert_int_equal(store_sig_delete(st, uid, "s1"), 0);
	assert_int_equal(store_sig_get(st, uid, "never", &data, &len),
	    ES_ENOTFOUND);
	memset(id33, 'a', 33);
	id33[33] = '\0';
	assert_int_equal(store_sig_put(st, uid, id33, "x", 1, TODAY * DAY),
	    ES_EINVAL);
	id33[32] = '\0'; /* 32 characters are fine */
	assert_int_equal(store_sig_put(st, uid, id33, "x", 1, TODAY * DAY),
	    0);
	sig_is(st, uid, id33, "x");
	assert_int_equal(store_sig_put(st, uid, "", "x", 1, TODAY * DAY),
	    ES_EINVAL);
	assert_int_equal(store_sig_put(st, uid, "'; DROP TABLE x; --", "x", 1,
			     TODAY * DAY),
	    0);
	sig_is(st, uid, "'; DROP TABLE x; --", "x");
}

/* ---- preferences and domains ---- */

struct plist {
	char got[256];
	size_t n;
	size_t stop_after;
};

static int
collect_pair(const char *k, const char *v, void *arg)
{
	struct plist *l = arg;

	strlcat(l->got, k, sizeof(l->got));
	strlcat(l->got, "=", sizeof(l->got));
	strlcat(l->got, v, sizeof(l->got));
	strlcat(l->got, ";", sizeof(l->got));
	l->n++;
	return l->stop_after != 0 && l->n >= l->stop_after;
}

static void
test_preferences(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct plist l = {"", 0, 0};
	char v[65], small[4], v65[66];

	assert_int_equal(store_pref_set(st, uid, "trainingMode", "teft"), 0);
	assert_int_equal(store_pref_set(st, uid, "optIn", "on"), 0);
	assert_int_equal(store_pref_set(st, uid, "spamAction", "quarantine"),
	    0);
	assert_int_equal(store_pref_set(st, 0, "spamAction", "tag"), 0);
	assert_int_equal(store_pref_set(st, uid, "spamAction", "reject"), 0);
	assert_int_equal(store_pref_get(st, uid, "spamAction", v, sizeof(v)),
	    0);
	assert_string_equal(v, "reject");
	assert_int_equal(store_pref_get(st, 0, "spamAction", v, sizeof(v)), 0);
	assert_string_equal(v, "tag");
	assert_int_equal(store_prefs(st, uid, collect_pair, &l), 0);
	assert_string_equal(l.got,
	    "optIn=on;spamAction=reject;trainingMode=teft;");
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_prefs(st, uid, collect_pair, &l), 0);
	assert_string_equal(l.got, "optIn=on;");

	/* truncation: terminated, cut, and reported */
	assert_int_equal(store_pref_get(st, uid, "spamAction", small,
			     sizeof(small)),
	    ES_ELIMIT);
	assert_string_equal(small, "rej");
	assert_int_equal(store_pref_get(st, uid, "spamAction", small, 1),
	    ES_ELIMIT);
	assert_string_equal(small, "");
	assert_int_equal(store_pref_get(st, uid, "optIn", small, 3), 0);
	assert_string_equal(small, "on");
	assert_int_equal(store_pref_get(st, uid, "optIn", small, 0),
	    ES_EINVAL);

	/* unset */
	assert_int_equal(store_pref_set(st, uid, "optIn", NULL), 0);
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_pref_set(st, uid, "optIn", NULL), 0);
	assert_int_equal(store_pref_get(st, 0, "spamAction", v, sizeof(v)), 0);

	/* DSPAM's column sizes: key 32, value 64 */
	memset(v65, 'v', 65);
	v65[65] = '\0';
	assert_int_equal(store_pref_set(st, uid, "k", v65), ES_EINVAL);
	v65[64] = '\0';
	assert_int_equal(store_pref_set(st, uid, "k", v65), 0);
	assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)), 0);
	assert_string_equal(v, v65);
	assert_int_equal(store_pref_set(st, uid, "", "x"), ES_EINVAL);
	assert_int_equal(store_pref_set(st, uid, "k", ""), 0);
	assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)), 0);
	assert_string_equal(v, "");
}

static void
test_domains(void **state)
{
	struct store *st = S(state);
	struct plist l = {"", 0, 0};
	char v[16], small[3];

	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_domain_set(st, "example.org", "opt-in"), 0);
	assert_int_equal(store_domain_set(st, "b.example", "off"), 0);
	assert_int_equal(store_domain_set(st, "z.example", "on"), 0);
	assert_int_equal(store_domain_set(st, "example.org", "opt-out"), 0);
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)), 0);
	assert_string_equal(v, "opt-out");
	assert_int_equal(store_domains(st, collect_pair, &l), 0);
	assert_string_equal(l.got,
	    "b.example=off;example.org=opt-out;z.example=on;");
	assert_int_equal(store_domain_get(st, "z.example", small,
			     sizeof(small)),
	    0);
	assert_int_equal(store_domain_get(st, "example.org", small,
			     sizeof(small)),
	    ES_ELIMIT);
	assert_string_equal(small, "op");
	assert_int_equal(store_domain_set(st, "b.example", NULL), 0);
	assert_int_equal(store_domain_get(st, "b.example", v, sizeof(v)),
	    ES_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_domains(st, collect_pair, &l), 0);
	assert_string_equal(l.got, "example.org=opt-out;z.example=on;");
	assert_int_equal(store_domain_set(st, "", "on"), ES_EINVAL);
}

/* ---- sender lists ---- */

/* sender_want - what store_sender_find() says about the n patterns. */
static void
sender_want(struct store *st, uint32_t uid, const char *const *pats,
    size_t n, const char *want)
{
	enum store_sender_list got[STORE_SENDER_FIND_MAX];
	char buf[STORE_SENDER_FIND_MAX + 1];
	size_t i;

	assert_int_equal(store_sender_find(st, uid, pats, n, got), 0);
	for (i = 0; i < n; i++)
		buf[i] = got[i] == STORE_SENDER_ALLOW ? 'a'
		    : got[i] == STORE_SENDER_BLOCK    ? 'b'
		                                      : '-';
	buf[n] = '\0';
	if (strcmp(buf, want) != 0)
		fail_msg("uid %u: got %s, want %s", uid, buf, want);
}

static void
test_sender_lists(void **state)
{
	struct store *st = S(state);
	uint32_t a = user(st, "a"), b = user(st, "b");
	const char *q[] = {"x@ex.org", "@ex.org", "*.ex.org", "*.org",
	    "x@ex.org", "@none.test"};
	const char *many[STORE_SENDER_FIND_MAX + 1];
	enum store_sender_list got[STORE_SENDER_FIND_MAX + 1];
	struct plist l = {"", 0, 0};
	time_t now = (time_t)TODAY * DAY;
	char p255[256], p256[257];

	sender_want(st, a, q, 6, "------");
	assert_int_equal(store_sender_set(st, a, "x@ex.org", STORE_SENDER_ALLOW,
	    now), 0);
	assert_int_equal(store_sender_set(st, a, "*.org", STORE_SENDER_BLOCK,
	    now), 0);
	assert_int_equal(store_sender_set(st, b, "x@ex.org", STORE_SENDER_BLOCK,
	    now), 0);
	sender_want(st, a, q, 6, "a--ba-");
	sender_want(st, b, q, 6, "b---b-"); /* users do not share lists */
	sender_want(st, 999, q, 6, "------");

	/* one list at a time: setting moves it */
	assert_int_equal(store_sender_set(st, a, "*.org", STORE_SENDER_ALLOW,
	    now + DAY), 0);
	sender_want(st, a, q, 6, "a--aa-");
	assert_int_equal(store_senders(st, a, collect_pair, &l), 0);
	assert_string_equal(l.got, "*.org=allow;x@ex.org=allow;");
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_senders(st, a, collect_pair, &l), 0);
	assert_string_equal(l.got, "*.org=allow;");

	/* removal names the list; another list's entry stays */
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_BLOCK), ES_ENOTFOUND);
	sender_want(st, a, q, 6, "a--aa-");
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_ALLOW), 0);
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_ALLOW), ES_ENOTFOUND);
	assert_int_equal(store_sender_remove(st, a, "nobody@x.test",
	    STORE_SENDER_BLOCK), ES_ENOTFOUND);
	sender_want(st, a, q, 6, "a---a-");
	sender_want(st, b, q, 6, "b---b-");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_senders(st, b, collect_pair, &l), 0);
	assert_string_equal(l.got, "x@ex.org=block;");

	/* a rolled back change is gone */
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_sender_set(st, a, "@ex.org", STORE_SENDER_BLOCK,
	    now), 0);
	assert_int_equal(store_sender_remove(st, a, "x@ex.org",
	    STORE_SENDER_ALLOW), 0);
	sender_want(st, a, q, 6, "-b----");
	store_rollback(st);
	sender_want(st, a, q, 6, "a---a-");

	/* the column's bound: 255 bytes */
	memset(p255, 'p', 255);
	p255[0] = '@';
	p255[255] = '\0';
	memset(p256, 'p', 256);
	p256[256] = '\0';
	assert_int_equal(store_sender_set(st, a, p255, STORE_SENDER_BLOCK,
	    now), 0);
	many[0] = p255;
	sender_want(st, a, many, 1, "b");
	assert_int_equal(store_sender_set(st, a, p256, STORE_SENDER_BLOCK,
	    now), ES_EINVAL);
	assert_int_equal(store_sender_set(st, a, "", STORE_SENDER_BLOCK, now),
	    ES_EINVAL);
	assert_int_equal(store_sender_set(st, a, "x@y.test", STORE_SENDER_NONE,
	    now), ES_EINVAL);
	assert_int_equal(store_sender_remove(st, a, "x@y.test",
	    STORE_SENDER_NONE), ES_EINVAL);

	/* a full lookup in one call; one more is refused */
	for (size_t i = 0; i <= STORE_SENDER_FIND_MAX; i++)
		many[i] = i % 2 ? "x@ex.org" : "@none.test";
	many[STORE_SENDER_FIND_MAX - 1] = p255;
	assert_int_equal(store_sender_find(st, a, many, STORE_SENDER_FIND_MAX,
	    got), 0);
	assert_int_equal(got[1], STORE_SENDER_ALLOW);
	assert_int_equal(got[2], STORE_SENDER_NONE);
	assert_int_equal(got[29], STORE_SENDER_ALLOW);
	assert_int_equal(got[STORE_SENDER_FIND_MAX - 1], STORE_SENDER_BLOCK);
	assert_int_equal(store_sender_find(st, a, many,
	    STORE_SENDER_FIND_MAX + 1, got), ES_EINVAL);
	many[0] = p256;
	assert_int_equal(store_sender_find(st, a, many, 1, got), ES_EINVAL);
	assert_int_equal(store_sender_find(st, a, many, 0, got), 0);
}

/* ---- purge ---- */

struct progress {
	char rule[16][16];
	uint64_t rows[16];
	size_t n;
};

static void
on_progress(const char *rule, uint64_t rows, void *arg)
{
	struct progress *p = arg;

	if (p->n < 16) {
		strlcpy(p->rule[p->n], rule, sizeof(p->rule[0]));
		p->rows[p->n] = rows;
	}
	p->n++;
}

/* A token row for the purge cases: counts and how many days ago. */
struct prow {
	uint64_t token;
	int32_t spam, innocent;
	int ago;
	bool kept;
};

static void
purge_case(void **state, const char *name, const struct prow *rows,
    size_t n, struct store_purge_rules r, uint64_t want_deleted)
{
	struct store *st = S(state);
	uint32_t a = user(st, "a"), b = user(st, "b");
	struct store_purge_stats ps;
	struct progress pg = {0};
	uint64_t got;

	for (size_t i = 0; i < n; i++) {
		put1(st, a, rows[i].token, rows[i].spam, rows[i].innocent, 0,
		    (time_t)(TODAY - rows[i].ago) * DAY);
		put1(st, b, rows[i].token, rows[i].spam, rows[i].innocent, 0,
		    (time_t)(TODAY - rows[i].ago) * DAY + DAY - 1);
	}
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 3600,
			     on_progress, &pg, &ps),
	    0);
	got = ps.signatures + ps.unused + ps.rare + ps.single;
	if (got != 2 * want_deleted)
		fail_msg("case %s: got %llu deleted, want %llu", name,
		    (unsigned long long)got,
		    (unsigned long long)(2 * want_deleted));
	for (size_t i = 0; i < n; i++)
		for (int u = 0; u < 2; u++) {
			struct store_token t = get1(st, u ? b : a,
			    rows[i].token);
			bool kept = t.last_hit != 0;

			if (kept != rows[i].kept)
				fail_msg("case %s row %zu (uid %d): got kept "
					 "%d, want %d",
				    name, i, u, kept, rows[i].kept);
		}
	assert_true(pg.n >= 1);
	assert_int_equal(pg.rows[pg.n - 1], 2 * want_deleted);
}

static void
test_purge_unused(void **state)
{
	static const struct prow rows[] = {
		{1, 50, 50, 11, false}, /* one day past the limit */
		{2, 50, 50, 10, true},  /* exactly at the limit */
		{3, 1, 0, 9, true},
		{4, 0, 0, 400, false},
		{5, 0, 1, 0, true},
		{CONTROL, 3, 3, 400, true},
	};
	struct store_purge_rules r = {.unused_days = 10, .batch = 100};

	purge_case(state, "unused", rows, 6, r, 2);
}

static void
test_purge_rare(void **state)
{
	static const struct prow rows[] = {
		{1, 4, 0, 11, false}, /* 2*0 + 4 = 4 < 5 */
		{2, 0, 2, 11, false}, /* 2*2 + 0 = 4 */
		{3, 5, 0, 11, true},  /* 5 */
		{4, 1, 2, 11, true},  /* 5 */
		{5, 3, 1, 11, true},  /* 5 */
		{6, 0, 0, 11, false},
		{7, 1, 0, 10, true},  /* rare but not old enough */
		{8, 0, 3, 11, true},  /* 6 */
		{CONTROL, 1, 0, 400, true},
	};
	struct store_purge_rules r = {.rare_days = 10, .batch = 100};

	purge_case(state, "rare", rows, 9, r, 3);
}

static void
test_purge_single(void **state)
{
	static const struct prow rows[] = {
		{1, 1, 0, 11, false},
		{2, 0, 1, 11, false},
		{3, 1, 1, 11, true},
		{4, 2, 0, 11, true},
		{5, 0, 2, 11, true},
		{6, 0, 0, 11, true},
		{7, 1, 0, 10, true},
		{8, 0, 1, 9, true},
		{CONTROL, 1, 0, 400, true},
	};
	struct store_purge_rules r = {.single_days = 10, .batch = 100};

	purge_case(state, "single", rows, 9, r, 2);
}

static void
test_purge_signatures(void **state)
{
	static const struct {
		const char *id;
		int ago;
		bool kept;
	} c[] = {
		{"old", 15, false}, {"limit", 14, true}, {"young", 13, true},
		{"today", 0, true}, {"ancient", 5000, false},
	};
	struct store *st = S(state);
	uint32_t a = user(st, "a"), b = user(st, "b");
	struct store_purge_rules r = {.sig_days = 14, .batch = 1000};
	struct store_purge_stats ps;

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		assert_int_equal(store_sig_put(st, a, c[k].id, "d", 1,
				     (time_t)(TODAY - c[k].ago) * DAY),
		    0);
		assert_int_equal(store_sig_put(st, b, c[k].id, "d", 1,
				     (time_t)(TODAY - c[k].ago) * DAY + 7),
		    0);
	}
	put1(st, a, 1, 1, 0, 0, (time_t)(TODAY - 5000) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    0);
	assert_int_equal(ps.signatures, 4);
	assert_int_equal(ps.unused + ps.rare + ps.single, 0);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (int u = 0; u < 2; u++) {
			void *data = NULL;
			size_t len;
			int rc = store_sig_get(st, u ? b : a, c[k].id, &data,
			    &len);

			if ((rc == 0) != c[k].kept)
				fail_msg("case %s (uid %d): got %d, want "
					 "kept %d",
				    c[k].id, u, rc, c[k].kept);
			es_free(data);
		}
	want_tok("token untouched by sig rule", get1(st, a, 1), 1, 0,
	    TODAY - 5000);
}

static void
test_purge_batches(void **state)
{
	static const struct {
		const char *name;
		size_t rows, batch;
		size_t calls;
	} c[] = {
		{"partial last batch", 25, 10, 3},
		{"exact multiple", 20, 10, 3},
		{"one batch", 5, 10, 1},
		{"batch of one", 3, 1, 4},
	};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_purge_rules r = {.unused_days = 30,
		    .batch = c[k].batch, .pause_ms = k == 0 ? 1 : 0};
		struct store_purge_stats ps;
		struct progress pg = {0};

		for (size_t i = 0; i < c[k].rows; i++)
			put1(st, uid, 1000 * (k + 1) + i, 1, 1, 0,
			    (time_t)(TODAY - 31 - (int)i) * DAY);
		put1(st, uid, 1000 * (k + 1) + 999, 1, 1, 0,
		    (time_t)TODAY * DAY);
		assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY,
				     on_progress, &pg, &ps),
		    0);
		if (ps.unused != c[k].rows || pg.n != c[k].calls)
			fail_msg("case %s: got %llu rows in %zu calls, want "
				 "%zu in %zu",
			    c[k].name, (unsigned long long)ps.unused, pg.n,
			    c[k].rows, c[k].calls);
		for (size_t i = 0; i < pg.n && i < 16; i++) {
			uint64_t want = (i + 1) * c[k].batch;

			if (want > c[k].rows)
				want = c[k].rows;
			assert_string_equal(pg.rule[i], "unused");
			if (pg.rows[i] != want)
				fail_msg("case %s call %zu: got %llu, want "
					 "%llu",
				    c[k].name, i,
				    (unsigned long long)pg.rows[i],
				    (unsigned long long)want);
		}
		want_tok(c[k].name, get1(st, uid, 1000 * (k + 1) + 999), 1, 1,
		    TODAY);
	}
}

static void
test_purge_all_rules(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_purge_rules r = {14, 90, 30, 15, 2, 0, 0, 0, 0};
	struct store_purge_rules off = {0, 0, 0, 0, 10, 0, 0, 0, 0};
	struct store_purge_stats ps;
	struct progress pg = {0};

	/* unused (100 days), rare (40 days), single (20 days), kept ones */
	put1(st, uid, 1, 50, 50, 0, (time_t)(TODAY - 100) * DAY);
	put1(st, uid, 2, 2, 1, 0, (time_t)(TODAY - 40) * DAY);
	put1(st, uid, 3, 0, 1, 0, (time_t)(TODAY - 20) * DAY);
	put1(st, uid, 4, 0, 1, 0, (time_t)(TODAY - 10) * DAY);
	put1(st, uid, 5, 2, 1, 0, (time_t)(TODAY - 20) * DAY);
	put1(st, uid, CONTROL, 1, 0, 0, (time_t)(TODAY - 1000) * DAY);
	assert_int_equal(store_sig_put(st, uid, "s", "x", 1,
			     (time_t)(TODAY - 20) * DAY),
	    0);
	/* all rules off: nothing goes */
	assert_int_equal(store_purge(st, &off, (time_t)TODAY * DAY,
			     on_progress, &pg, &ps),
	    0);
	assert_int_equal(pg.n, 0);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single, 0);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, on_progress,
			     &pg, &ps),
	    0);
	assert_int_equal(ps.signatures, 1);
	assert_int_equal(ps.unused, 1);
	assert_int_equal(ps.rare, 1);
	assert_int_equal(ps.single, 1);
	assert_int_equal(pg.n, 4);
	assert_string_equal(pg.rule[0], "signatures");
	assert_string_equal(pg.rule[1], "unused");
	assert_string_equal(pg.rule[2], "rare");
	assert_string_equal(pg.rule[3], "single");
	want_tok("control", get1(st, uid, CONTROL), 1, 0, TODAY - 1000);
	want_tok("young single", get1(st, uid, 4), 0, 1, TODAY - 10);
	want_tok("common", get1(st, uid, 5), 2, 1, TODAY - 20);

	/* misuse */
	r.batch = 0;
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    ES_EINVAL);
	r.batch = 10;
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY, NULL, NULL,
			     &ps),
	    ES_EINVAL);
	store_rollback(st);
}


/* ---- sources ---- */

/* src_get - the row of source (zero when there is none). */
static struct store_source
src_get(struct store *st, const char *source)
{
	struct store_source r;

	memset(&r, 0xa5, sizeof(r));
	strlcpy(r.source, source, sizeof(r.source));
	assert_int_equal(store_sources_get(st, &r, 1), 0);
	assert_string_equal(r.source, source);
	return r;
}

/* want_src - r has these counts and times. */
static void
want_src(const char *name, struct store_source r, uint64_t spam,
    uint64_t inno, uint64_t sc, uint64_t ic, uint64_t streak, int64_t first,
    int64_t last, int64_t last_spam)
{
	if (r.spam != spam || r.innocent != inno || r.spam_corrections != sc ||
	    r.innocent_corrections != ic || r.spam_streak != streak ||
	    r.first_seen != first || r.last_seen != last ||
	    r.last_spam != last_spam)
		fail_msg("case %s: got %llu %llu %llu %llu streak %llu times "
			 "%lld %lld %lld, want %llu %llu %llu %llu streak "
			 "%llu times %lld %lld %lld",
		    name, (unsigned long long)r.spam,
		    (unsigned long long)r.innocent,
		    (unsigned long long)r.spam_corrections,
		    (unsigned long long)r.innocent_corrections,
		    (unsigned long long)r.spam_streak, (long long)r.first_seen,
		    (long long)r.last_seen, (long long)r.last_spam,
		    (unsigned long long)spam, (unsigned long long)inno,
		    (unsigned long long)sc, (unsigned long long)ic,
		    (unsigned long long)streak, (long long)first,
		    (long long)last, (long long)last_spam);
}

/* src_add - one delta. */
static void
src_add(struct store *st, const char *source, int32_t spam, int32_t inno,
    int32_t sc, int32_t ic, bool reset, time_t now)
{
	struct store_source_delta d = {source, spam, inno, sc, ic, reset};
	int rc = store_sources_add(st, &d, 1, now);

	if (rc != 0)
		fail_msg("add %s: %d %s", source, rc, store_errmsg(st));
}

static void
test_sources(void **state)
{
	struct store *st = S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	struct store_source_delta two[2] = {{"192.0.2.0/24", 1, 0, 0, 0, false},
	    {"192.0.2.7", 1, 0, 0, 0, false}};
	struct store_source rows[3];

	want_src("unknown", src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, 0, 0, 0);
	/* a message's two keys in one call, in order */
	assert_int_equal(store_sources_add(st, two, 2, t0), 0);
	want_src("first spam", src_get(st, "192.0.2.7"), 1, 0, 0, 0, 1, t0,
	    t0, t0);
	want_src("first spam net", src_get(st, "192.0.2.0/24"), 1, 0, 0, 0, 1,
	    t0, t0, t0);
	/* the streak grows with spam, restarts on an innocent verdict */
	src_add(st, "192.0.2.7", 2, 0, 0, 0, false, t0 + 10);
	want_src("streak", src_get(st, "192.0.2.7"), 3, 0, 0, 0, 3, t0,
	    t0 + 10, t0 + 10);
	src_add(st, "192.0.2.7", 0, 1, 0, 0, false, t0 + 20);
	want_src("innocent", src_get(st, "192.0.2.7"), 3, 1, 0, 0, 0, t0,
	    t0 + 20, t0 + 10);
	src_add(st, "192.0.2.7", 1, 0, 0, 0, false, t0 + 30);
	/* a missed spam keeps the streak, a false positive ends it */
	src_add(st, "192.0.2.7", 0, 0, 1, 0, false, t0 + 40);
	want_src("missed", src_get(st, "192.0.2.7"), 4, 1, 1, 0, 1, t0,
	    t0 + 40, t0 + 30);
	src_add(st, "192.0.2.7", 0, 0, 0, 1, true, t0 + 50);
	want_src("false positive", src_get(st, "192.0.2.7"), 4, 1, 1, 1, 0, t0,
	    t0 + 50, t0 + 30);
	/* counts never below zero */
	src_add(st, "192.0.2.7", -10, -10, -10, -10, false, t0 + 60);
	want_src("clamped", src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, t0,
	    t0 + 60, t0 + 30);
	/* a correction may be the first the store hears of a source */
	src_add(st, "2001:db8::/64", 0, 0, 0, 1, true, t0 + 70);
	want_src("correction first", src_get(st, "2001:db8::/64"), 0, 0, 0, 1,
	    0, t0 + 70, t0 + 70, 0);

	/* several rows in one read */
	strlcpy(rows[0].source, "2001:db8::/64", sizeof(rows[0].source));
	strlcpy(rows[1].source, "198.51.100.1", sizeof(rows[1].source));
	strlcpy(rows[2].source, "192.0.2.0/24", sizeof(rows[2].source));
	assert_int_equal(store_sources_get(st, rows, 3), 0);
	want_src("get 0", rows[0], 0, 0, 0, 1, 0, t0 + 70, t0 + 70, 0);
	want_src("get 1", rows[1], 0, 0, 0, 0, 0, 0, 0, 0);
	want_src("get 2", rows[2], 1, 0, 0, 0, 1, t0, t0, t0);

	/* misuse: order, empty or long names, too many rows */
	two[0].source = "192.0.2.8";
	assert_int_equal(store_sources_add(st, two, 2, t0), ES_EINVAL);
	two[0].source = "192.0.2.7";
	assert_int_equal(store_sources_add(st, two, 2, t0), ES_EINVAL);
	two[0].source = "";
	assert_int_equal(store_sources_add(st, two, 1, t0), ES_EINVAL);
	two[0].source = "0123456789012345678901234567890123456789"
			"01234567890123456789012345";
	assert_int_equal(store_sources_add(st, two, 1, t0), ES_EINVAL);
	rows[0].source[0] = '\0';
	assert_int_equal(store_sources_get(st, rows, 1), ES_EINVAL);
	assert_int_equal(store_sources_get(st, rows, STORE_SOURCES_GET_MAX + 1),
	    ES_EINVAL);
	want_src("after misuse", src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0, t0,
	    t0 + 60, t0 + 30);

	/* a rolled back transaction leaves no trace */
	assert_int_equal(store_begin(st, true), 0);
	src_add(st, "203.0.113.9", 5, 0, 0, 0, false, t0);
	src_add(st, "192.0.2.7", 5, 0, 0, 0, false, t0 + 90);
	store_rollback(st);
	want_src("rolled back new", src_get(st, "203.0.113.9"), 0, 0, 0, 0, 0,
	    0, 0, 0);
	want_src("rolled back old", src_get(st, "192.0.2.7"), 0, 0, 0, 0, 0,
	    t0, t0 + 60, t0 + 30);
}

/* The rows a listing saw. */
struct seen {
	size_t n;
	char src[8][STORE_SOURCE_MAX + 1];
	uint64_t spam[8];
	size_t stop; /* stop after this many (0: never) */
};

static int
on_source(const struct store_source *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		strlcpy(s->src[s->n], r->source, sizeof(s->src[0]));
		s->spam[s->n] = r->spam;
	}
	s->n++;
	return s->stop != 0 && s->n >= s->stop;
}

static void
test_sources_list(void **state)
{
	struct store *st = S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	struct seen s = {0};

	src_add(st, "b", 2, 0, 0, 0, false, t0 - 5 * DAY);
	src_add(st, "a", 1, 0, 0, 0, false, t0);
	src_add(st, "c", 3, 0, 0, 0, false, t0 - 1);
	assert_int_equal(store_sources_list(st, 0, on_source, &s), 0);
	if (s.n != 3 || strcmp(s.src[0], "a") != 0 ||
	    strcmp(s.src[1], "b") != 0 || strcmp(s.src[2], "c") != 0 ||
	    s.spam[0] != 1 || s.spam[1] != 2 || s.spam[2] != 3)
		fail_msg("all: got %zu rows, first %s", s.n, s.src[0]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_sources_list(st, t0 - 1, on_source, &s), 0);
	if (s.n != 2 || strcmp(s.src[0], "a") != 0 ||
	    strcmp(s.src[1], "c") != 0)
		fail_msg("since: got %zu rows (%s, %s), want a, c", s.n,
		    s.src[0], s.src[1]);
	memset(&s, 0, sizeof(s));
	s.stop = 1;
	assert_int_equal(store_sources_list(st, 0, on_source, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(store_sources_list(st, 0, NULL, NULL), ES_EINVAL);
}

static void
test_purge_sources(void **state)
{
	static const struct {
		const char *src;
		int ago;   /* days since last seen */
		int extra; /* seconds past that day's start */
		bool kept;
	} c[] = {
		{"10.0.0.1", 31, 0, false}, {"10.0.0.2", 31, 86399, false},
		{"10.0.0.3", 30, 0, true},  {"10.0.0.4", 2, 0, true},
		{"10.0.0.5", 400, 5, false}, {"10.0.0.6", 0, 0, true},
		{"10.0.0.7", 45, 0, false},
	};
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_purge_rules r = {.source_days = 30, .batch = 2};
	struct store_purge_stats ps;
	struct progress pg = {0};

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		src_add(st, c[k].src, 1, 0, 0, 0, false,
		    (time_t)(TODAY - c[k].ago) * DAY + c[k].extra);
	put1(st, uid, 1, 1, 0, 0, (time_t)(TODAY - 5000) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 600,
			     on_progress, &pg, &ps),
	    0);
	assert_int_equal(ps.sources, 4);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single, 0);
	assert_int_equal(pg.n, 3); /* 2 + 2 + 0 */
	assert_string_equal(pg.rule[0], "sources");
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct store_source row = src_get(st, c[k].src);

		if ((row.spam == 1) != c[k].kept)
			fail_msg("case %s: got kept %d, want %d", c[k].src,
			    row.spam == 1, c[k].kept);
	}
	want_tok("token untouched by sources rule", get1(st, uid, 1), 1, 0,
	    TODAY - 5000);
}

/* ---- history ---- */

/* The rows a history listing saw (copies of their texts). */
struct hseen {
	size_t n;
	int64_t id[16];
	int64_t time[16];
	char subject[16][64];
	char sig[16][40];
	enum store_verdict verdict[16];
	enum store_action action[16];
	enum store_correction corr[16];
	int64_t corrected[16];
	size_t stop; /* stop after this many (0: never) */
};

static int
on_history(const struct store_history *r, void *arg)
{
	struct hseen *s = arg;

	if (s->n < 16) {
		s->id[s->n] = r->id;
		s->time[s->n] = r->time;
		strlcpy(s->subject[s->n], r->subject, sizeof(s->subject[0]));
		strlcpy(s->sig[s->n], r->signature, sizeof(s->sig[0]));
		s->verdict[s->n] = r->verdict;
		s->action[s->n] = r->action;
		s->corr[s->n] = r->correction;
		s->corrected[s->n] = r->corrected;
	}
	s->n++;
	return s->stop != 0 && s->n >= s->stop;
}

/* hist_add - add a row for uid; its id. */
static int64_t
hist_add(struct store *st, uint32_t uid, int64_t t, enum store_verdict v,
    const char *subject, const char *sig)
{
	struct store_history r = {.time = t, .queue_id = "4XyZ1", .client =
	    "192.0.2.7", .sender = "bounce@example.org", .from =
	    "Alice <alice@example.org>", .subject = subject, .verdict = v,
	    .probability = v == STORE_VERDICT_SPAM ? 0.99 : 0.01,
	    .signature = sig, .action = STORE_ACTION_TAGGED};
	int64_t id = 0;
	int rc = store_history_add(st, uid, &r, &id);

	if (rc != 0 || id <= 0)
		fail_msg("history add %s: %d %s", subject, rc,
		    store_errmsg(st));
	return id;
}

/* hist_list - the subjects q lists for uid, comma-separated, into out. */
static void
want_hist(struct store *st, uint32_t uid, const char *name,
    const struct store_history_query *q, const char *want)
{
	struct hseen s = {0};
	char got[512] = "";
	uint64_t n = 99;
	int rc = store_history_list(st, uid, q, on_history, &s);

	if (rc != 0)
		fail_msg("case %s: list %d %s", name, rc, store_errmsg(st));
	for (size_t i = 0; i < s.n && i < 16; i++) {
		if (i > 0)
			strlcat(got, ",", sizeof(got));
		strlcat(got, s.subject[i], sizeof(got));
	}
	if (strcmp(got, want) != 0)
		fail_msg("case %s: got \"%s\", want \"%s\"", name, got, want);
	/* the count ignores limit and offset */
	if (q == NULL || (q->limit == 0 && q->offset == 0)) {
		assert_int_equal(store_history_count(st, uid, q, &n), 0);
		if (n != s.n)
			fail_msg("case %s: count %llu, listed %zu", name,
			    (unsigned long long)n, s.n);
	}
}

static void
test_history_list(void **state)
{
	struct store *st = S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = user(st, "u"), v = user(st, "v");
	struct store_history_query q;
	struct store_history full = {.time = t0 + 5, .queue_id = "QID9",
	    .client = "2001:db8::1", .sender = "s@example.net",
	    .from = "\"B\xc3\xa4r\" <b@example.net>",
	    .subject = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_",
	    .verdict = STORE_VERDICT_WHITELISTED, .probability = 0.25,
	    .signature = "0123456789abcdef0123456789abcdef",
	    .action = STORE_ACTION_REJECTED, .correction =
	    STORE_CORRECTION_SPAM, .corrected = 77};
	struct check {
		int64_t id;
		struct store_history r;
		bool seen;
	} c = {0};
	int64_t a, b, last;

	a = hist_add(st, u, t0 - 3 * DAY, STORE_VERDICT_INNOCENT, "old", "");
	b = hist_add(st, u, t0 - DAY, STORE_VERDICT_SPAM, "Cheap PILLS", "s1");
	if (b <= a)
		fail_msg("ids: got %lld then %lld, want rising", (long long)a,
		    (long long)b);
	hist_add(st, v, t0, STORE_VERDICT_SPAM, "not yours", "s1");
	assert_int_equal(store_history_add(st, u, &full, &last), 0);
	hist_add(st, u, t0, STORE_VERDICT_INNOCENT, "50x off", "s3");

	/* every field as given; correction and corrected start empty */
	memset(&q, 0, sizeof(q));
	q.id = last;
	{
		struct hseen s = {0};

		assert_int_equal(store_history_list(st, u, &q, on_history, &s),
		    0);
		assert_int_equal(s.n, 1);
		assert_true(s.id[0] == last && s.time[0] == t0 + 5);
		assert_string_equal(s.subject[0], full.subject);
		assert_string_equal(s.sig[0], full.signature);
		assert_int_equal(s.verdict[0], STORE_VERDICT_WHITELISTED);
		assert_int_equal(s.action[0], STORE_ACTION_REJECTED);
		assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
		assert_true(s.corrected[0] == 0);
	}
	(void)c;

	want_hist(st, u, "all, newest first", NULL,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS,old");
	want_hist(st, v, "other user", NULL, "not yours");
	want_hist(st, 12345, "no rows", NULL, "");
	memset(&q, 0, sizeof(q));
	q.since = t0 - DAY;
	want_hist(st, u, "since", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS");
	q.until = t0;
	want_hist(st, u, "since until", &q, "Cheap PILLS");
	memset(&q, 0, sizeof(q));
	q.verdict = STORE_VERDICT_INNOCENT;
	want_hist(st, u, "verdict", &q, "50x off,old");
	q.verdict = STORE_VERDICT_WHITELISTED;
	want_hist(st, u, "whitelisted", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	memset(&q, 0, sizeof(q));
	q.search = "pIlLs";
	want_hist(st, u, "search, any case", &q, "Cheap PILLS");
	q.search = "0% ";
	want_hist(st, u, "percent is a character", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "_o";
	want_hist(st, u, "underscore is a character", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "s@EXAMPLE.net";
	want_hist(st, u, "search the sender", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "B\xc3\xa4r";
	want_hist(st, u, "search From:, UTF-8", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_");
	q.search = "alice@";
	q.verdict = STORE_VERDICT_SPAM;
	want_hist(st, u, "search and verdict", &q, "Cheap PILLS");
	q.search = "";
	q.verdict = STORE_VERDICT_ANY;
	want_hist(st, u, "empty search", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off,Cheap PILLS,old");
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	want_hist(st, u, "limit", &q,
	    "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 100% _off_,50x off");
	q.offset = 2;
	want_hist(st, u, "limit offset", &q, "Cheap PILLS,old");
	q.offset = 3;
	q.limit = 0;
	want_hist(st, u, "offset", &q, "old");
	q.offset = 9;
	want_hist(st, u, "offset past the end", &q, "");
	memset(&q, 0, sizeof(q));
	q.id = b;
	want_hist(st, u, "by id", &q, "Cheap PILLS");
	want_hist(st, v, "by id, other user", &q, "");
	{
		struct hseen s = {.stop = 1};

		assert_int_equal(store_history_list(st, u, NULL, on_history,
				     &s), 0);
		assert_int_equal(s.n, 1);
	}
}

static void
test_history_misuse(void **state)
{
	struct store *st = S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = user(st, "u");
	char big[STORE_HISTORY_TEXT_MAX + 2];
	struct store_history r = {.time = t0, .verdict = STORE_VERDICT_SPAM,
	    .probability = 1.0, .action = STORE_ACTION_TAGGED};
	struct store_history_query q = {0};
	uint64_t n;
	int64_t id = 5;

	/* NULL texts are "" */
	assert_int_equal(store_history_add(st, u, &r, &id), 0);
	assert_true(id > 0);
	want_hist(st, u, "empty texts", NULL, "");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.subject = big; /* 801 bytes: never cut by the store */
	assert_int_equal(store_history_add(st, u, &r, &id), ES_EINVAL);
	assert_true(id == 0);
	big[STORE_HISTORY_TEXT_MAX] = '\0';
	assert_int_equal(store_history_add(st, u, &r, NULL), 0);
	r.subject = "";
	r.signature = "0123456789abcdef0123456789abcdef0";
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.signature = "";
	r.queue_id = big;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.queue_id = "";
	r.verdict = STORE_VERDICT_ANY;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.verdict = 9;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.verdict = STORE_VERDICT_SPAM;
	r.action = STORE_ACTION_NONE;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.action = STORE_ACTION_TAGGED;
	r.probability = 1.5;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	r.probability = 0.5;
	r.time = -1;
	assert_int_equal(store_history_add(st, u, &r, NULL), ES_EINVAL);
	assert_int_equal(store_history_add(st, u, NULL, NULL), ES_EINVAL);
	assert_int_equal(store_history_count(st, u, NULL, &n), 0);
	assert_int_equal(n, 2);

	assert_int_equal(store_history_list(st, u, NULL, NULL, NULL),
	    ES_EINVAL);
	q.search = big;
	assert_int_equal(store_history_count(st, u, &q, &n), ES_EINVAL);
	q.search = NULL;
	q.verdict = 7;
	assert_int_equal(store_history_count(st, u, &q, &n), ES_EINVAL);
	assert_int_equal(store_history_correct(st, u, "", 
			     STORE_CORRECTION_SPAM, t0), ES_EINVAL);
	assert_int_equal(store_history_correct(st, u, "abc", 5, t0),
	    ES_EINVAL);
	assert_int_equal(store_history_set_action(st, u, 0,
			     STORE_ACTION_TAGGED), ES_EINVAL);
	assert_int_equal(store_history_set_action(st, u, id,
			     STORE_ACTION_NONE), ES_EINVAL);

	/* the texts of the columns */
	assert_string_equal(store_verdict_text(STORE_VERDICT_WHITELISTED),
	    "whitelisted");
	assert_null(store_verdict_text(STORE_VERDICT_ANY));
	assert_string_equal(store_action_text(STORE_ACTION_TEMPFAILED),
	    "tempfailed");
	assert_string_equal(store_correction_text(STORE_CORRECTION_NONE), "");
	assert_int_equal(store_verdict_of("spam"), STORE_VERDICT_SPAM);
	assert_int_equal(store_verdict_of("Spam"), STORE_VERDICT_ANY);
	assert_int_equal(store_action_of("rejected"), STORE_ACTION_REJECTED);
	assert_int_equal(store_correction_of("innocent"),
	    STORE_CORRECTION_INNOCENT);
	assert_int_equal(store_correction_of(""), STORE_CORRECTION_NONE);
}

static void
test_history_correct(void **state)
{
	struct store *st = S(state);
	const time_t t0 = (time_t)TODAY * DAY;
	uint32_t u = user(st, "u"), v = user(st, "v");
	struct store_history_query q = {0};
	struct hseen s = {0};
	int64_t a, vid;

	a = hist_add(st, u, t0, STORE_VERDICT_INNOCENT, "a", "sigA");
	hist_add(st, u, t0 + 1, STORE_VERDICT_SPAM, "b", "sigB");
	vid = hist_add(st, v, t0, STORE_VERDICT_INNOCENT, "va", "sigA");

	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_SPAM, t0 + 60), 0);
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(s.n, 2);
	if (s.corr[1] != STORE_CORRECTION_SPAM || s.corrected[1] != t0 + 60 ||
	    s.corr[0] != STORE_CORRECTION_NONE || s.corrected[0] != 0)
		fail_msg("corrected: got %d at %lld and %d, want spam at %lld "
			 "and none",
		    s.corr[1], (long long)s.corrected[1], s.corr[0],
		    (long long)(t0 + 60));
	/* another user's row of the same signature id is untouched */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
	assert_int_equal(store_history_correct(st, u, "nosuch",
			     STORE_CORRECTION_SPAM, t0), ES_ENOTFOUND);
	assert_int_equal(store_history_correct(st, 999, "sigA",
			     STORE_CORRECTION_SPAM, t0), ES_ENOTFOUND);
	/* corrected back, then cleared */
	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_INNOCENT, t0 + 90), 0);
	memset(&s, 0, sizeof(s));
	q.id = a;
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_true(s.corr[0] == STORE_CORRECTION_INNOCENT &&
	    s.corrected[0] == t0 + 90);
	assert_int_equal(store_history_correct(st, u, "sigA",
			     STORE_CORRECTION_NONE, t0 + 99), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_true(s.corr[0] == STORE_CORRECTION_NONE && s.corrected[0] == 0);

	/* the action of one row, the owner's only */
	assert_int_equal(store_history_set_action(st, u, a,
			     STORE_ACTION_TEMPFAILED), 0);
	assert_int_equal(store_history_set_action(st, u, vid,
			     STORE_ACTION_TEMPFAILED), ES_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, &q, on_history, &s), 0);
	assert_int_equal(s.action[0], STORE_ACTION_TEMPFAILED);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	assert_int_equal(s.action[0], STORE_ACTION_TAGGED);

	/* inside a transaction: a rollback takes the row and the change */
	assert_int_equal(store_begin(st, true), 0);
	hist_add(st, u, t0 + 2, STORE_VERDICT_SPAM, "gone", "sigC");
	assert_int_equal(store_history_correct(st, u, "sigB",
			     STORE_CORRECTION_INNOCENT, t0 + 100), 0);
	store_rollback(st);
	want_hist(st, u, "rolled back", NULL, "b,a");
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(s.corr[0], STORE_CORRECTION_NONE);
	/* and a commit keeps them */
	assert_int_equal(store_begin(st, true), 0);
	hist_add(st, u, t0 + 2, STORE_VERDICT_SPAM, "kept", "sigC");
	assert_int_equal(store_commit(st), 0);
	want_hist(st, u, "committed", NULL, "kept,b,a");
}

static void
test_purge_history(void **state)
{
	static const struct {
		const char *subject;
		int ago;   /* days */
		int extra; /* seconds past that day's start */
		bool kept;
	} c[] = {
		{"h1", 15, 0, false}, {"h2", 15, 86399, false},
		{"h3", 14, 0, true},  {"h4", 2, 0, true},
		{"h5", 400, 5, false}, {"h6", 0, 0, true},
		{"h7", 20, 0, false},
	};
	struct store *st = S(state);
	uint32_t u = user(st, "u"), v = user(st, "v");
	struct store_purge_rules r = {.history_days = 14, .batch = 2};
	struct store_purge_stats ps;
	struct progress pg = {0};
	struct hseen s = {0};
	size_t kept = 0;

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		hist_add(st, k % 2 ? u : v,
		    (time_t)(TODAY - c[k].ago) * DAY + c[k].extra,
		    STORE_VERDICT_SPAM, c[k].subject, "");
	src_add(st, "192.0.2.1", 1, 0, 0, 0, false, (time_t)(TODAY - 90) * DAY);
	assert_int_equal(store_purge(st, &r, (time_t)TODAY * DAY + 600,
			     on_progress, &pg, &ps),
	    0);
	assert_int_equal(ps.history, 4);
	assert_int_equal(ps.signatures + ps.unused + ps.rare + ps.single +
	    ps.sources, 0);
	assert_int_equal(pg.n, 3); /* 2 + 2 + 0 */
	assert_string_equal(pg.rule[0], "history");
	assert_int_equal(store_history_list(st, u, NULL, on_history, &s), 0);
	assert_int_equal(store_history_list(st, v, NULL, on_history, &s), 0);
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		bool found = false;

		for (size_t i = 0; i < s.n && i < 16; i++)
			found |= strcmp(s.subject[i], c[k].subject) == 0;
		if (found != c[k].kept)
			fail_msg("case %s: got kept %d, want %d",
			    c[k].subject, found, c[k].kept);
		kept += c[k].kept;
	}
	assert_int_equal(s.n, kept);
	assert_int_equal(src_get(st, "192.0.2.1").spam, 1);
}

/* ---- out of memory ---- */

/*
 * Make the Nth allocation fail, for N = 0, 1, ... until the writes of a
 * message succeed: every failure is ES_ENOMEM and a rollback leaves the
 * store as it was (ASan reports any leak).
 */
static void
test_alloc_failures(void **state)
{
	struct store *st = S(state);
	uint32_t uid = user(st, "u");
	struct store_delta d[2] = {{1, 1, 0, 0}, {2, 0, 1, 0}};
	struct store_totals t = {.spam_learned = 1};
	long n;
	int rc = -1;

	put1(st, uid, 1, 5, 5, 0, (time_t)(TODAY - 1) * DAY);
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
		want_tok("after rollback", get1(st, uid, 1), 5, 5, TODAY - 1);
		want_tok("after rollback", get1(st, uid, 2), 0, 0, 0);
		sig_is(st, uid, "s", NULL);
		assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)),
		    ES_ENOTFOUND);
	}
	assert_int_equal(rc, 0);
}

/* ---- drivers with a database file ---- */

static void
test_reopen_keeps_data(void **state)
{
	struct fix *f = *state;
	uint32_t uid = user(f->st, "keep"), x = 0;
	char v[8];

	put1(f->st, uid, 0xffffffffffffffffULL, 2, 3, 0.75,
	    (time_t)TODAY * DAY);
	assert_int_equal(store_pref_set(f->st, uid, "k", "v"), 0);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(fix_open(f), 0);
	assert_int_equal(store_user_uid(f->st, "keep", false, &x), 0);
	assert_int_equal(x, uid);
	want_tok("reopened", get1(f->st, uid, UINT64_MAX), 2, 3, TODAY);
	assert_true(get1(f->st, uid, UINT64_MAX).weight == 0.75);
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
static void
test_lock_is_transient(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	char err[256];
	struct timespec t0;
	struct store_delta d = {7, 1, 0, 0};
	uint32_t uid = user(f->st, "u");
	double ms, wait_ms = f->row_locks ? 1000 : BUSY_MS;

	put1(f->st, uid, 7, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_begin(f->st, true), 0);
	put1(f->st, uid, 7, 1, 0, 0, (time_t)TODAY * DAY);
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
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_tokens_put(other, uid, &d, 1, TODAY * DAY),
	    ES_ETRANSIENT);
	assert_true(ms_since(&t0) < wait_ms + 2000);
	/* readers are not blocked (WAL, MVCC) and see the committed state */
	want_tok("reader during write", get1(other, uid, 7), 1, 0, TODAY);

	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_tokens_put(other, uid, &d, 1, TODAY * DAY), 0);
	want_tok("after commit", get1(f->st, uid, 7), 3, 0, TODAY);
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
static void
test_purge_exclusive(void **state)
{
	struct fix *f = *state;
	struct store_purge_rules r = {.unused_days = 1, .batch = 2};
	struct store_purge_stats ps;
	struct second sp = {0};
	char err[256];
	uint32_t uid = user(f->st, "u");

	for (uint64_t t = 1; t <= 5; t++)
		put1(f->st, uid, t, 1, 0, 0, (time_t)(TODAY - 10) * DAY);
	assert_int_equal(store_open(&f->params, &sp.other, err, sizeof(err)),
	    0);
	assert_int_equal(store_purge(f->st, &r, (time_t)TODAY * DAY,
			     second_purge, &sp, &ps),
	    0);
	assert_true(sp.tried);
	assert_int_equal(sp.rc, ES_EBUSY);
	assert_true(strstr(store_errmsg(sp.other), "purge") != NULL);
	assert_int_equal(ps.unused, 5);
	put1(f->st, uid, 9, 1, 0, 0, (time_t)(TODAY - 10) * DAY);
	assert_int_equal(store_purge(sp.other, &r, (time_t)TODAY * DAY, NULL,
			     NULL, &ps),
	    0);
	assert_int_equal(ps.unused, 1);
	store_close(sp.other);
}

/* own_maintenance: commits keep working, store_maintain() succeeds and
 * loses nothing; on a shared database another handle sees the data. */
static void
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
	uid = user(a, "m");
	for (t = 1; t <= 50; t++)
		put1(a, uid, t, (int32_t)t, 1, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_maintain(a, false), 0);
	assert_int_equal(store_maintain(a, true), 0);
	put1(a, uid, 50, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_maintain(a, true), 0);
	want_tok("after restart", get1(a, uid, 50), 51, 1, TODAY);
	assert_int_equal(store_begin(a, false), 0);
	assert_int_equal(store_maintain(a, true), ES_EINVAL);
	store_rollback(a);
	want_tok("after maintain", get1(a, uid, 50), 51, 1, TODAY);
	if (strcmp(f->driver, "memory") != 0) { /* memory: one per handle */
		assert_int_equal(store_open(&f->params, &b, err, sizeof(err)),
		    0);
		want_tok("other handle", get1(b, uid, 50), 51, 1, TODAY);
		store_close(b);
	}
	store_close(a);
	assert_int_equal(store_maintain(NULL, false), ES_EINVAL);
}

static void
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

/* note_item - count and remember what store_schema() reports. */
static void
note_item(const char *kind, const char *what, void *arg)
{
	char *buf = arg;

	strlcat(buf, kind, 512);
	strlcat(buf, " ", 512);
	strlcat(buf, what, 512);
	strlcat(buf, "; ", 512);
}

/* store_schema() on an SQLite file that an older schema made: tables,
 * the weight column and a purge index missing; upgrade keeps the row. */
static void
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
	assert_int_equal(store_schema(&p, STORE_SCHEMA_CHECK, note_item,
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
	want_tok("kept", get1(st, 1, 5), 2, 3, TODAY);
	store_close(st);
	unlink(path);
	/* a driver without a schema reports nothing */
	p.driver = "memory";
	assert_int_equal(store_schema(&p, STORE_SCHEMA_UPGRADE, NULL, NULL, &n,
			     err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
}

static void
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
static void
test_sqlite_commit_in_file(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	enum { N = 6000 };
	struct store_delta *d = calloc(N, sizeof(*d));
	char err[128];
	uint32_t uid = user(f->st, "u");
	pid_t pid;
	int wst;

	assert_non_null(d);
	for (size_t i = 0; i < N; i++)
		d[i] = (struct store_delta){1000 + 7 * i, 1, 2, 0};
	assert_int_equal(store_begin(f->st, true), 0);
	assert_int_equal(store_tokens_put(f->st, uid, d, N, TODAY * DAY), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_open(&f->params, &other, err, sizeof(err)), 0);
	want_tok("first token, other handle", get1(other, uid, 1000), 1, 2,
	    TODAY);
	want_tok("last token, other handle", get1(other, uid, 1000 + 7 * (N - 1)),
	    1, 2, TODAY);
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
	want_tok("first token after the child", get1(f->st, uid, 1000), 2, 4,
	    TODAY);
	want_tok("last token after the child",
	    get1(f->st, uid, 1000 + 7 * (N - 1)), 2, 4, TODAY);
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
static void
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
static void
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

static void
test_memory_fresh(void **state)
{
	struct fix *f = *state;
	struct store *other = NULL;
	char err[64];
	uint32_t uid = user(f->st, "u"), x;

	put1(f->st, uid, 1, 1, 0, 0, TODAY * DAY);
	assert_int_equal(store_open(&f->params, &other, err, sizeof(err)), 0);
	assert_int_equal(store_user_uid(other, "u", false, &x), ES_ENOTFOUND);
	want_tok("other memory store", get1(other, uid, 1), 0, 0, 0);
	store_close(other);
}

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

static void
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

	if (!my_can_drop) {
		print_message("SKIP %s: no DROP privilege to make a DSPAM "
			      "database\n", "test_mysql_dspam_db");
		return;
	}
	store_close(f->st);
	f->st = NULL;
	my_fresh = false;
	assert_int_equal(my_reset(f, true), 0);
	assert_non_null(db = my_admin(f));
	for (size_t i = 0; i < sizeof(dspam_ddl) / sizeof(dspam_ddl[0]); i++)
		assert_true(my_sql(db, dspam_ddl[i]));
	mysql_close(db);

	/* refused until upgraded: the weight column is missing */
	assert_int_equal(store_open(&f->params, &st, err, sizeof(err)),
	    ES_ESTORE);
	if (strstr(err, "db upgrade") == NULL)
		fail_msg("open of a DSPAM database: %s", err);
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_CHECK,
			     note_item, items, &n, err, sizeof(err)),
	    0);
	if (n != 8 || strstr(items, "table edgespam_domain_policy") == NULL ||
	    strstr(items, "table edgespam_sender_list") == NULL ||
	    strstr(items, "table edgespam_sources") == NULL ||
	    strstr(items, "table edgespam_history") == NULL ||
	    strstr(items, "table edgespam_daily") == NULL ||
	    strstr(items, "column dspam_token_data.weight") == NULL ||
	    strstr(items, "index dspam_token_data (last_hit)") == NULL ||
	    strstr(items, "index dspam_signature_data (created_on)") == NULL)
		fail_msg("check: got %zu: %s", n, items);
	items[0] = '\0';
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_UPGRADE,
			     note_item, items, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 8);
	assert_int_equal(store_schema(&f->params, STORE_SCHEMA_CHECK, NULL,
			     NULL, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);

	/* DSPAM's rows read and change in place; ids are text there */
	assert_int_equal(fix_open(f), 0);
	assert_int_equal(store_user_uid(f->st, "old", false, &uid), 0);
	assert_int_equal(uid, 7);
	want_tok("dspam row", get1(f->st, 7, UINT64_MAX), 3, 4, TODAY);
	put1(f->st, 7, UINT64_MAX - 1, 1, 0, 0.5, (time_t)TODAY * DAY);
	put1(f->st, 7, UINT64_MAX, -5, 1, 0, (time_t)TODAY * DAY);
	want_tok("updated", get1(f->st, 7, UINT64_MAX), 0, 5, TODAY);
	want_tok("new", get1(f->st, 7, UINT64_MAX - 1), 1, 0, TODAY);
	assert_int_equal(store_purge(f->st, &r, (time_t)TODAY * DAY, NULL,
			     NULL, &ps),
	    0);
	assert_int_equal(ps.unused, 1);
	want_tok("purged", get1(f->st, 7, 12), 0, 0, 0);
	want_tok("control kept", get1(f->st, 7, CONTROL), 1, 0, 10957);
}

/* An unreachable server is transient, and the message names it. */
static void
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
	MYSQL *db = my_admin(f);
	MYSQL_RES *res;
	MYSQL_ROW row;
	char sql[64];

	assert_non_null(db);
	assert_true(my_sql(db, "SELECT ID FROM information_schema.PROCESSLIST "
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
static void
test_mysql_reconnect(void **state)
{
	struct fix *f = *state;
	struct store_delta d = {5, 1, 0, 0};
	uint32_t uid = user(f->st, "u");

	put1(f->st, uid, 5, 1, 0, 0, (time_t)TODAY * DAY);
	kill_others(f);
	want_tok("read after kill", get1(f->st, uid, 5), 1, 0, TODAY);
	assert_int_equal(store_begin(f->st, true), 0);
	kill_others(f);
	assert_int_equal(store_tokens_put(f->st, uid, &d, 1, TODAY * DAY),
	    ES_ETRANSIENT);
	assert_int_equal(store_commit(f->st), ES_ETRANSIENT);
	put1(f->st, uid, 5, 1, 0, 0, (time_t)TODAY * DAY);
	want_tok("after reconnect", get1(f->st, uid, 5), 2, 0, TODAY);
}

/* The second writer of test_mysql_deadlock, on a thread of its own. */
struct writer {
	struct store *st;
	uint32_t uid;
	int rc;
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
static void
test_mysql_deadlock(void **state)
{
	struct fix *f = *state;
	struct store_delta a[31], five = {5, 1, 0, 0};
	struct writer w = {0};
	struct timespec pause = {0, 300000000L};
	char err[256];
	pthread_t t;

	w.uid = user(f->st, "u");
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
	want_tok("5 by both", get1(f->st, w.uid, 5), 2, 0, TODAY);
	want_tok("30 by both", get1(f->st, w.uid, 30), 2, 0, TODAY);
	want_tok("31 by A", get1(f->st, w.uid, 31), 1, 0, TODAY);
}

/* ---- the tables ---- */

struct ctest {
	const char *name;
	CMUnitTestFunction fn;
};

#define T(f) {#f, f}

/* Every driver. */
static const struct ctest contract[] = {
	T(test_open_close),
	T(test_users),
	T(test_tokens_unknown),
	T(test_tokens_put_get),
	T(test_tokens_last_hit),
	T(test_tokens_unsorted),
	T(test_tokens_large_batch),
	T(test_user_isolation),
	T(test_totals),
	T(test_rollback),
	T(test_commit),
	T(test_signatures),
	T(test_preferences),
	T(test_domains),
	T(test_sender_lists),
	T(test_maintain),
	T(test_purge_unused),
	T(test_purge_rare),
	T(test_purge_single),
	T(test_purge_signatures),
	T(test_purge_batches),
	T(test_purge_all_rules),
	T(test_alloc_failures),
	T(test_sources),
	T(test_sources_list),
	T(test_purge_sources),
	T(test_history_list),
	T(test_history_misuse),
	T(test_history_correct),
	T(test_purge_history),
};

/* Drivers whose data outlives a handle and is shared between handles. */
static const struct ctest persistent[] = {
	T(test_reopen_keeps_data),
	T(test_lock_is_transient),
	T(test_purge_exclusive),
};

static const struct ctest sqlite_only[] = {
	T(test_sqlite_bad_path),
	T(test_sqlite_file_mode),
	T(test_sqlite_schema),
	T(test_sqlite_commit_in_file),
	T(test_sqlite_walbuf_rewrite),
	T(test_sqlite_walbuf_restarted_log),
};

static const struct ctest memory_only[] = {
	T(test_memory_fresh),
};

static const struct ctest mysql_only[] = {
	T(test_mysql_unreachable),
	T(test_mysql_reconnect),
	T(test_mysql_deadlock),
	T(test_mysql_dspam_db),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	CMFixtureFunction setup;
	CMFixtureFunction teardown;
	bool persistent;
	const struct ctest *extra;
	size_t nextra;
} drivers[] = {
	{"sqlite", setup_sqlite, teardown_driver, true, sqlite_only,
	    NELEM(sqlite_only)},
	{"memory", setup_memory, teardown_driver, false, memory_only,
	    NELEM(memory_only)},
	{"mysql", setup_mysql, teardown_driver, true, mysql_only,
	    NELEM(mysql_only)},
};

/* add - append list to the group of driver d. */
static void
add(struct CMUnitTest *t, char (*names)[96], size_t *n, const char *drv,
    const struct ctest *list, size_t nlist, CMFixtureFunction setup,
    CMFixtureFunction teardown)
{
	for (size_t i = 0; i < nlist; i++, (*n)++) {
		snprintf(names[*n], sizeof(names[0]), "%s: %s", drv,
		    list[i].name);
		t[*n].name = names[*n];
		t[*n].test_func = list[i].fn;
		t[*n].setup_func = setup;
		t[*n].teardown_func = teardown;
		t[*n].initial_state = NULL;
	}
}

int
main(void)
{
	enum { MAXT = NELEM(contract) + NELEM(persistent) + 8 };
	struct CMUnitTest t[MAXT];
	char names[MAXT][96];
	int failed = 0;

	for (size_t d = 0; d < NELEM(drivers); d++) {
		size_t n = 0;
		char group[64];

		if (strcmp(drivers[d].name, "mysql") == 0 &&
		    getenv("ES_TEST_MYSQL_SOCKET") == NULL) {
			printf("[  SKIPPED ] store contract: mysql (set "
			       "ES_TEST_MYSQL_SOCKET, ES_TEST_MYSQL_DB, "
			       "ES_TEST_MYSQL_USER, "
			       "ES_TEST_MYSQL_PASSWORD_FILE)\n");
			continue;
		}

		add(t, names, &n, drivers[d].name, contract, NELEM(contract),
		    drivers[d].setup, drivers[d].teardown);
		if (drivers[d].persistent)
			add(t, names, &n, drivers[d].name, persistent,
			    NELEM(persistent), drivers[d].setup,
			    drivers[d].teardown);
		add(t, names, &n, drivers[d].name, drivers[d].extra,
		    drivers[d].nextra, drivers[d].setup, drivers[d].teardown);
		snprintf(group, sizeof(group), "store contract: %s",
		    drivers[d].name);
		failed += _cmocka_run_group_tests(group, t, n, NULL, NULL);
	}
	return failed != 0;
}
