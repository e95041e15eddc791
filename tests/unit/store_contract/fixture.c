/*
 * fixture.c - the store contract's fixture: one fresh store per test for
 * each driver row (sqlite in a private directory, memory, and mysql on a
 * server named by the environment, whose tables it drops or empties), and
 * the helpers every test file uses (users, one-token put/get/compare).
 */
#include "store_contract.h"

/* sc_fix_open - open f->params into f->st. */
int
sc_fix_open(struct fix *f)
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
	return sc_fix_open(f) == 0 ? 0 : -1;
}

int
sc_teardown_driver(void **state)
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

int
sc_setup_sqlite(void **state)
{
	return setup_driver(state, "sqlite", true);
}

int
sc_setup_memory(void **state)
{
	return setup_driver(state, "memory", false);
}

/* ---- the mysql row ---- */

static const char *const my_tables[] = {"dspam_virtual_uids",
    "dspam_token_data", "dspam_signature_data", "dspam_stats",
    "dspam_preferences", "edgespam_domain_policy",
    "edgespam_sender_list", "edgespam_sources", "edgespam_history",
    "edgespam_daily", "edgespam_lock"};
/* The tables were made by the driver and not changed since. */
bool sc_my_fresh;

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

/* sc_my_admin - a direct connection to the test database. */
MYSQL *
sc_my_admin(const struct fix *f)
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

/* sc_my_sql - run sql on db; false (with the message) on failure. */
bool
sc_my_sql(MYSQL *db, const char *sql)
{
	if (mysql_query(db, sql) == 0)
		return true;
	print_error("mysql: %s: %s\n", sql, mysql_error(db));
	return false;
}

/* The test user may drop tables (else they are only ever emptied). */
bool sc_my_can_drop = true;

/* sc_my_reset - the tables dropped (drop) or emptied on the server. A
 * user without DROP gets them emptied; a missing table is fine there. */
int
sc_my_reset(const struct fix *f, bool drop)
{
	MYSQL *db = sc_my_admin(f);
	char sql[128];
	bool ok = db != NULL;

	for (size_t i = 0; ok && i < sizeof(my_tables) / sizeof(my_tables[0]);
	     i++) {
		if (drop && sc_my_can_drop) {
			snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s",
			    my_tables[i]);
			if (mysql_query(db, sql) == 0)
				continue;
			if (mysql_errno(db) != 1142) { /* 1142: no privilege */
				ok = sc_my_sql(db, sql);
				continue;
			}
			sc_my_can_drop = false;
			print_message("note: %s may not DROP: the tables are "
				      "only emptied\n", f->params.mysql_user);
		}
		snprintf(sql, sizeof(sql), "DELETE FROM %s", my_tables[i]);
		/* 1146: no such table, which the driver creates */
		if (mysql_query(db, sql) != 0 && mysql_errno(db) != 1146)
			ok = sc_my_sql(db, sql);
	}
	if (db != NULL)
		mysql_close(db);
	return ok ? 0 : -1;
}

int
sc_setup_mysql(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	f->driver = "mysql";
	f->row_locks = true;
	if (my_params(f) != 0 || sc_my_reset(f, !sc_my_fresh) != 0)
		return -1;
	sc_my_fresh = true;
	return sc_fix_open(f) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

struct store *
sc_S(void **state)
{
	return ((struct fix *)*state)->st;
}

uint32_t
sc_user(struct store *st, const char *name)
{
	uint32_t uid = 0;

	assert_int_equal(store_user_uid(st, name, true, &uid), 0);
	return uid;
}

void
sc_put1(struct store *st, uint32_t uid, uint64_t token, int32_t s, int32_t i,
    double w, time_t now)
{
	struct store_delta d = {token, s, i, w};
	int rc = store_tokens_put(st, uid, &d, 1, now);

	if (rc != 0)
		fail_msg("put %llu: %d %s", (unsigned long long)token, rc,
		    store_errmsg(st));
}

struct store_token
sc_get1(struct store *st, uint32_t uid, uint64_t token)
{
	struct store_token t;

	memset(&t, 0xa5, sizeof(t));
	t.token = token;
	assert_int_equal(store_tokens_get(st, uid, &t, 1), 0);
	assert_true(t.token == token);
	return t;
}

void
sc_want_tok(const char *name, struct store_token t, uint64_t s, uint64_t i,
    int32_t day)
{
	if (t.spam_hits != s || t.innocent_hits != i || t.last_hit != day)
		fail_msg("case %s: got spam %llu innocent %llu day %d, "
			 "want %llu %llu %d",
		    name, (unsigned long long)t.spam_hits,
		    (unsigned long long)t.innocent_hits, t.last_hit,
		    (unsigned long long)s, (unsigned long long)i, day);
}
