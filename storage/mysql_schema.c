/*
 * mysql_schema.c - the "mysql" driver's tables: the check at open
 * (missing tables created from sql/mysql/schema.sql, compiled in; a
 * DSPAM token table without the weight column refused; a CHAR token
 * column detected) and store_schema(): db init, upgrade and check list
 * and add the missing tables, columns and indexes (an index counts when
 * one of the table's indexes has its columns, whatever its name).
 * Upgrade only adds; it never drops or changes a column. The engine
 * operations list each table's storage engine and convert DSPAM's
 * MyISAM tables to InnoDB, one ALTER TABLE per table (MariaDB copies
 * the rows; the table is locked for writes meanwhile).
 */
#include "mysql_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mysql.h>

#include "es_err.h"

static const char schema_sql[] =
#include "sql_mysql_schema.h"
    ;

/* ---- the schema ---- */

/* The tables, in the order of schema.sql. */
static const char *const my_tables[] = {"dspam_virtual_uids",
    "dspam_token_data", "dspam_signature_data", "dspam_stats",
    "dspam_preferences", "edgespam_domain_policy", "edgespam_sender_list",
    "edgespam_sources", "edgespam_history", "edgespam_daily",
    "edgespam_lock"};
#define NTABLES (sizeof(my_tables) / sizeof(my_tables[0]))

/*
 * What a usable schema has beyond the tables: a column edgespam adds and
 * the indexes the queries rely on. An index is there when one of the
 * table's indexes has exactly these columns and is unique (unique), or
 * starts with them (not unique), whatever its name.
 */
static const struct my_item {
	const char *table;
	const char *column;  /* a column, or NULL for an index */
	const char *index;   /* its columns, "a,b" */
	bool unique;
	const char *ddl;
} my_items[] = {
	{"dspam_token_data", "weight", NULL, false,
	    "ALTER TABLE dspam_token_data "
	    "ADD COLUMN weight DOUBLE NOT NULL DEFAULT 0"},
	{"dspam_virtual_uids", NULL, "username", true,
	    "ALTER TABLE dspam_virtual_uids "
	    "ADD UNIQUE KEY id_virtual_uids_01 (username)"},
	{"dspam_token_data", NULL, "uid,token", true,
	    "ALTER TABLE dspam_token_data "
	    "ADD UNIQUE KEY id_token_data_01 (uid, token)"},
	{"dspam_token_data", NULL, "last_hit", false,
	    "ALTER TABLE dspam_token_data "
	    "ADD KEY dspam_token_data_last_hit (last_hit)"},
	{"dspam_signature_data", NULL, "uid,signature", true,
	    "ALTER TABLE dspam_signature_data "
	    "ADD UNIQUE KEY id_signature_data_01 (uid, signature)"},
	{"dspam_signature_data", NULL, "created_on", false,
	    "ALTER TABLE dspam_signature_data "
	    "ADD KEY id_signature_data_02 (created_on)"},
	{"dspam_stats", NULL, "uid", true,
	    "ALTER TABLE dspam_stats ADD UNIQUE KEY id_stats_01 (uid)"},
	{"dspam_preferences", NULL, "uid,preference", true,
	    "ALTER TABLE dspam_preferences "
	    "ADD UNIQUE KEY id_preferences_01 (uid, preference)"},
	{"edgespam_domain_policy", NULL, "domain", true,
	    "ALTER TABLE edgespam_domain_policy "
	    "ADD UNIQUE KEY edgespam_domain_policy_01 (domain)"},
	{"edgespam_sender_list", NULL, "uid,pattern", true,
	    "ALTER TABLE edgespam_sender_list "
	    "ADD UNIQUE KEY edgespam_sender_list_01 (uid, pattern)"},
	{"edgespam_sources", NULL, "source", true,
	    "ALTER TABLE edgespam_sources ADD UNIQUE KEY "
	    "edgespam_sources_01 (source)"},
	{"edgespam_sources", NULL, "last_seen", false,
	    "ALTER TABLE edgespam_sources "
	    "ADD KEY edgespam_sources_last_seen (last_seen)"},
	{"edgespam_history", NULL, "uid,created", false,
	    "ALTER TABLE edgespam_history "
	    "ADD KEY edgespam_history_uid_created (uid, created)"},
	{"edgespam_history", NULL, "created", false,
	    "ALTER TABLE edgespam_history "
	    "ADD KEY edgespam_history_created (created)"},
	{"edgespam_history", NULL, "uid,signature", false,
	    "ALTER TABLE edgespam_history "
	    "ADD KEY edgespam_history_signature (uid, signature)"},
	{"edgespam_daily", NULL, "uid,day", true,
	    "ALTER TABLE edgespam_daily "
	    "ADD UNIQUE KEY edgespam_daily_01 (uid, day)"},
	{"edgespam_daily", NULL, "day", false,
	    "ALTER TABLE edgespam_daily "
	    "ADD KEY edgespam_daily_day (day)"},
	{"edgespam_lock", NULL, "name", true,
	    "ALTER TABLE edgespam_lock ADD UNIQUE KEY edgespam_lock_01 (name)"},
};
#define NITEMS (sizeof(my_items) / sizeof(my_items[0]))

/* create_table - run the CREATE TABLE of schema.sql for table. */
static int
create_table(struct store *st, const char *table)
{
	char head[96];
	const char *s, *e;

	snprintf(head, sizeof(head), "CREATE TABLE IF NOT EXISTS %s (", table);
	if ((s = strstr(schema_sql, head)) == NULL ||
	    (e = strstr(s, ";\n")) == NULL) {
		store_seterr(st, "mysql: schema.sql has no table %s", table);
		return ES_EINTERNAL;
	}
	if (mysql_real_query(drv(st)->db, s, (unsigned long)(e - s)) != 0) {
		char what[128];

		snprintf(what, sizeof(what), "create table %s", table);
		return my_fail_db(st, what);
	}
	return 0;
}

/* Columns of interest found by scan_columns(). */
struct my_cols {
	bool table[NTABLES];
	bool weight;
	bool tok_text;
};

/* scan_columns - which tables exist, whether token data has weight and
 * keeps ids as text; one information_schema query. */
static int
scan_columns(struct store *st, struct my_cols *c)
{
	static const char head[] =
	    "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE "
	    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
	    "AND TABLE_NAME IN (?";
	char sql[sizeof(head) + 3 * NTABLES + 2];
	MYSQL_STMT *q = NULL;
	MYSQL_BIND in[NTABLES], out[3];
	char v[3][65];
	unsigned long len[3];
	my_bool nul[3];
	int rc;

	memset(c, 0, sizeof(*c));
	/* one placeholder per table of my_tables */
	strlcpy(sql, head, sizeof(sql));
	for (size_t i = 1; i < NTABLES; i++)
		strlcat(sql, ", ?", sizeof(sql));
	strlcat(sql, ")", sizeof(sql));
	if ((rc = my_prep(st, &q, sql)) != 0)
		return rc;
	for (size_t i = 0; i < NTABLES; i++)
		b_str(&in[i], my_tables[i]);
	for (int i = 0; i < 3; i++)
		b_out(&out[i], MYSQL_TYPE_STRING, v[i], sizeof(v[i]) - 1,
		    &len[i], &nul[i]);
	if ((rc = my_run(st, q, in, "schema")) == 0 &&
	    mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "schema");
	while (rc == 0 && (rc = my_fetch(st, q, "schema")) == 1) {
		rc = 0;
		for (int i = 0; i < 3; i++)
			cut(v[i], sizeof(v[i]), len[i]);
		for (size_t t = 0; t < NTABLES; t++)
			if (strcmp(v[0], my_tables[t]) == 0)
				c->table[t] = true;
		if (strcmp(v[0], "dspam_token_data") != 0)
			continue;
		if (strcmp(v[1], "weight") == 0)
			c->weight = true;
		if (strcmp(v[1], "token") == 0)
			c->tok_text = strstr(v[2], "char") != NULL;
	}
	mysql_stmt_close(q);
	return rc;
}

/* my_check_tables - open's check: create missing tables, refuse a token
 * table without weight, learn the token column's type. */
int
my_check_tables(struct store *st)
{
	struct my_store *m = drv(st);
	struct my_cols c;
	int rc;

	if ((rc = scan_columns(st, &c)) != 0)
		return rc;
	if (c.table[1] && !c.weight) {
		store_seterr(st, "mysql: %s: dspam_token_data has no weight "
		    "column (a DSPAM database): run 'edgespam db upgrade'",
		    m->database);
		return ES_ESTORE;
	}
	for (size_t t = 0; t < NTABLES; t++)
		if (!c.table[t] && (rc = create_table(st, my_tables[t])) != 0)
			return rc;
	m->tok_text = c.table[1] && c.tok_text;
	return 0;
}

/* has_index - whether table has the index item it describes. */
static int
has_index(struct store *st, const struct my_item *it, bool *yes)
{
	static const char sql[] =
	    "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME "
	    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
	    "AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX";
	MYSQL_STMT *q = NULL;
	MYSQL_BIND in, out[3];
	char name[65], col[65], prev[65] = "", cols[512] = "";
	unsigned long len[3];
	my_bool nul[3];
	int64_t nonuniq = 1, cur_nonuniq = 1;
	size_t want = strlen(it->index);
	int rc;

	*yes = false;
	if ((rc = my_prep(st, &q, sql)) != 0)
		return rc;
	b_str(&in, it->table);
	b_out(&out[0], MYSQL_TYPE_STRING, name, sizeof(name) - 1, &len[0],
	    &nul[0]);
	b_out(&out[1], MYSQL_TYPE_LONGLONG, &nonuniq, 0, &len[1], &nul[1]);
	b_out(&out[2], MYSQL_TYPE_STRING, col, sizeof(col) - 1, &len[2],
	    &nul[2]);
	if ((rc = my_run(st, q, &in, "schema indexes")) == 0 &&
	    mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "schema indexes");
	for (;;) {
		int more = rc == 0 ? my_fetch(st, q, "schema indexes") : 0;

		if (more < 0)
			rc = more;
		cut(name, sizeof(name), len[0]);
		cut(col, sizeof(col), len[2]);
		/* an index ends: compare its column list */
		if (prev[0] != '\0' && (more != 1 || strcmp(name, prev) != 0)) {
			bool exact = strcmp(cols, it->index) == 0;
			bool prefix = strncmp(cols, it->index, want) == 0 &&
			    (cols[want] == '\0' || cols[want] == ',');

			if (it->unique ? exact && cur_nonuniq == 0 : prefix)
				*yes = true;
			cols[0] = '\0';
		}
		if (more != 1)
			break;
		strlcpy(prev, name, sizeof(prev));
		cur_nonuniq = nonuniq;
		if (cols[0] != '\0')
			strlcat(cols, ",", sizeof(cols));
		strlcat(cols, col, sizeof(cols));
	}
	mysql_stmt_close(q);
	return rc;
}

/* item_name - how a check names item it. */
static void
item_name(const struct my_item *it, char *buf, size_t len)
{
	if (it->column != NULL)
		snprintf(buf, len, "%s.%s", it->table, it->column);
	else
		snprintf(buf, len, "%s (%s)%s", it->table, it->index,
		    it->unique ? " unique" : "");
}

/* check_items - the columns and indexes of tables that exist. */
static int
check_items(struct store *st, const struct my_cols *c,
    enum store_schema_op op, store_schema_fn *fn, void *arg,
    size_t *missing)
{
	char what[160];
	bool yes;
	int rc;

	for (size_t i = 0; i < NITEMS; i++) {
		const struct my_item *it = &my_items[i];
		size_t t = 0;

		while (t < NTABLES && strcmp(my_tables[t], it->table) != 0)
			t++;
		if (t == NTABLES || !c->table[t])
			continue; /* created whole, or reported as a table */
		if (it->column != NULL)
			yes = c->weight;
		else if ((rc = has_index(st, it, &yes)) != 0)
			return rc;
		if (yes)
			continue;
		item_name(it, what, sizeof(what));
		(*missing)++;
		if (fn != NULL)
			fn(it->column != NULL ? "column" : "index", what, arg);
		if (op == STORE_SCHEMA_UPGRADE &&
		    mysql_query(drv(st)->db, it->ddl) != 0)
			return my_fail_db(st, what);
	}
	return 0;
}

/* One table's engine and its (estimated, for MyISAM exact) rows. */
struct my_engine {
	char table[65];
	char engine[65];
	unsigned long long rows;
};

/* table_engines - the engines of the schema's tables that exist. */
static int
table_engines(struct store *st, struct my_engine *out, size_t *n)
{
	static const char sql[] = "SELECT TABLE_NAME, IFNULL(ENGINE, ''), "
	    "IFNULL(TABLE_ROWS, 0) FROM information_schema.TABLES WHERE "
	    "TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME";
	MYSQL_RES *res;
	MYSQL_ROW row;

	*n = 0;
	if (mysql_query(drv(st)->db, sql) != 0 ||
	    (res = mysql_store_result(drv(st)->db)) == NULL)
		return my_fail_db(st, "table engines");
	while ((row = mysql_fetch_row(res)) != NULL && *n < NTABLES) {
		size_t t;

		for (t = 0; t < NTABLES; t++)
			if (row[0] != NULL && strcmp(row[0], my_tables[t]) == 0)
				break;
		if (t == NTABLES)
			continue; /* not ours */
		snprintf(out[*n].table, sizeof(out[*n].table), "%s", row[0]);
		snprintf(out[*n].engine, sizeof(out[*n].engine), "%s",
		    row[1] ? row[1] : "");
		out[*n].rows = row[2] ? strtoull(row[2], NULL, 10) : 0;
		(*n)++;
	}
	mysql_free_result(res);
	return 0;
}

/* engines - STORE_SCHEMA_ENGINES and STORE_SCHEMA_TO_INNODB. */
static int
engines(struct store *st, enum store_schema_op op, store_schema_fn *fn,
    void *arg, size_t *other)
{
	struct my_engine e[NTABLES];
	char what[256], ddl[128];
	struct timespec t0, t1;
	size_t n;
	int rc;

	if ((rc = table_engines(st, e, &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		bool innodb = strcasecmp(e[i].engine, "InnoDB") == 0;

		if (!innodb)
			(*other)++;
		if (op == STORE_SCHEMA_ENGINES) {
			snprintf(what, sizeof(what), "%.64s %.64s", e[i].table,
			    e[i].engine);
			if (fn != NULL)
				fn("engine", what, arg);
			continue;
		}
		if (innodb)
			continue;
		snprintf(what, sizeof(what), "%.64s %.64s, %llu rows", e[i].table,
		    e[i].engine, e[i].rows);
		if (fn != NULL)
			fn("converting", what, arg);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		snprintf(ddl, sizeof(ddl), "ALTER TABLE %.64s ENGINE=InnoDB",
		    e[i].table);
		if (mysql_query(drv(st)->db, ddl) != 0)
			return my_fail_db(st, ddl);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		snprintf(what, sizeof(what), "%.64s in %.1f s", e[i].table,
		    (double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		if (fn != NULL)
			fn("converted", what, arg);
	}
	return 0;
}

int
my_schema(struct store *st, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg,
    size_t *missing)
{
	struct my_cols c;
	int rc;

	*missing = 0;
	if ((rc = my_init(st, p)) == 0)
		drv(st)->schema_io = true;
	if (rc == 0 && (op == STORE_SCHEMA_ENGINES ||
	    op == STORE_SCHEMA_TO_INNODB)) {
		if ((rc = my_connect(st)) == 0)
			rc = engines(st, op, fn, arg, missing);
	} else if (rc == 0 && (rc = my_connect(st)) == 0 &&
	    (rc = scan_columns(st, &c)) == 0) {
		for (size_t t = 0; t < NTABLES && rc == 0; t++) {
			if (c.table[t])
				continue;
			(*missing)++;
			if (fn != NULL)
				fn("table", my_tables[t], arg);
			if (op == STORE_SCHEMA_UPGRADE)
				rc = create_table(st, my_tables[t]);
		}
		if (rc == 0)
			rc = check_items(st, &c, op, fn, arg, missing);
	}
	my_close(st);
	return rc;
}
