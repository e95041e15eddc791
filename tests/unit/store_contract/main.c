/*
 * test_store_contract - the storage contract: one list of tests that
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
 *
 * The suite is one program built from tests/unit/store_contract/:
 *   store_contract.h  the fixture, shared helpers, every test's prototype
 *   fixture.c         fixture, driver setups/teardown, the mysql row, helpers
 *   tokens.c          open/close, users, tokens, isolation, totals
 *   tx_sigs.c         transactions, signatures
 *   prefs_lists.c     preferences, domains, sender lists
 *   purge.c           the purge rules
 *   sources.c         source rows
 *   history.c         history rows
 *   drivers.c         allocation failures, file drivers, sqlite, memory
 *   mysql.c           mysql only
 *   main.c            the test tables per driver, main
 */
#include "store_contract.h"

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
	T(test_tokens_list),
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
	T(test_mysql_conflict),
	T(test_mysql_dspam_db),
	T(test_mysql_purge_lock),
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
	{"sqlite", sc_setup_sqlite, sc_teardown_driver, true, sqlite_only,
	    NELEM(sqlite_only)},
	{"memory", sc_setup_memory, sc_teardown_driver, false, memory_only,
	    NELEM(memory_only)},
	{"mysql", sc_setup_mysql, sc_teardown_driver, true, mysql_only,
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
