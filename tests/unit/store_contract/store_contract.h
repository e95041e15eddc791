/*
 * store_contract.h - private header of the store contract suite
 * (test_store_contract): the fixture, the helpers the test files share and
 * the prototypes of every test, which main.c lists per driver.
 */
#ifndef STORE_CONTRACT_H
#define STORE_CONTRACT_H

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

/* Rows a purge reported through sc_on_progress. */
struct progress {
	char rule[16][16];
	uint64_t rows[16];
	size_t n;
};

/* The mysql row's tables were made by the driver and not changed since. */
extern bool sc_my_fresh;
/* The mysql test user may drop tables. */
extern bool sc_my_can_drop;

/* fixture.c */
int sc_fix_open(struct fix *f);
int sc_teardown_driver(void **state);
int sc_setup_sqlite(void **state);
int sc_setup_memory(void **state);
MYSQL *sc_my_admin(const struct fix *f);
bool sc_my_sql(MYSQL *db, const char *sql);
int sc_my_reset(const struct fix *f, bool drop);
int sc_setup_mysql(void **state);
struct store *sc_S(void **state);
uint32_t sc_user(struct store *st, const char *name);
void sc_put1(struct store *st, uint32_t uid, uint64_t token, int32_t s,
    int32_t i, double w, time_t now);
struct store_token sc_get1(struct store *st, uint32_t uid, uint64_t token);
void sc_want_tok(const char *name, struct store_token t, uint64_t s, uint64_t i,
    int32_t day);
/* tx_sigs.c */
void sc_sig_is(
    struct store *st, uint32_t uid, const char *id, const char *want);
/* purge.c */
void sc_on_progress(const char *rule, uint64_t rows, void *arg);
/* sources.c */
struct store_source sc_src_get(struct store *st, const char *source);
void sc_src_add(struct store *st, const char *source, int32_t spam,
    int32_t inno, int32_t sc, int32_t ic, bool reset, time_t now);
/* drivers.c */
void sc_note_item(const char *kind, const char *what, void *arg);

/* tokens.c */
void test_open_close(void **state);
void test_users(void **state);
void test_tokens_unknown(void **state);
void test_tokens_put_get(void **state);
void test_tokens_list(void **state);
void test_tokens_last_hit(void **state);
void test_tokens_unsorted(void **state);
void test_tokens_large_batch(void **state);
void test_user_isolation(void **state);
void test_totals(void **state);
/* tx_sigs.c */
void test_rollback(void **state);
void test_commit(void **state);
void test_signatures(void **state);
/* prefs_lists.c */
void test_preferences(void **state);
void test_domains(void **state);
void test_sender_lists(void **state);
/* purge.c */
void test_purge_unused(void **state);
void test_purge_rare(void **state);
void test_purge_single(void **state);
void test_purge_signatures(void **state);
void test_purge_batches(void **state);
void test_purge_all_rules(void **state);
/* sources.c */
void test_sources(void **state);
void test_sources_list(void **state);
void test_purge_sources(void **state);
/* history.c */
void test_history_list(void **state);
void test_history_misuse(void **state);
void test_history_correct(void **state);
void test_purge_history(void **state);
/* drivers.c */
void test_alloc_failures(void **state);
void test_reopen_keeps_data(void **state);
void test_lock_is_transient(void **state);
void test_purge_exclusive(void **state);
void test_maintain(void **state);
void test_sqlite_bad_path(void **state);
void test_sqlite_schema(void **state);
void test_sqlite_file_mode(void **state);
void test_sqlite_commit_in_file(void **state);
void test_sqlite_walbuf_rewrite(void **state);
void test_sqlite_walbuf_restarted_log(void **state);
void test_memory_fresh(void **state);
/* mysql.c */
void test_mysql_dspam_db(void **state);
void test_mysql_unreachable(void **state);
void test_mysql_reconnect(void **state);
void test_mysql_deadlock(void **state);
void test_mysql_conflict(void **state);
void test_mysql_purge_lock(void **state);

#endif
