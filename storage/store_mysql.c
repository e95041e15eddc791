/*
 * store_mysql.c - the "mysql" store driver: MariaDB or MySQL through
 * MariaDB Connector/C, on DSPAM's tables (sql/mysql/schema.sql,
 * compiled in), so that every MX of a cluster shares one database and
 * a site's DSPAM database can be used in place.
 *
 * Open connects (a socket when mysql_socket is set, else host and
 * port; TLS required and the server certificate verified with
 * mysql_tls), sets the session to READ COMMITTED (no gap locks: two
 * messages inserting new tokens do not deadlock on the gaps between
 * them) and innodb_lock_wait_timeout to busy_timeout_ms rounded up to
 * whole seconds, and checks the tables in one information_schema query:
 * a missing table is created from the schema (CREATE TABLE IF NOT
 * EXISTS); a dspam_token_data without edgespam's weight column (a DSPAM
 * database) is refused with a message asking for `edgespam db upgrade`,
 * which store_schema() implements, so no learned weight is ever dropped
 * silently. A token column of DSPAM's speed variant (CHAR(20) holding
 * the decimal id) is detected and read and written as text; counts and
 * weights are the same either way.
 *
 * SQL: every value is bound to a prepared statement; none is ever
 * written into SQL text. Statements are prepared on first use and kept
 * per connection. Token reads ask for up to TOK_CHUNK ids per statement
 * ("uid = ? AND token IN (?, ...)", one statement per power of two of
 * ids, unused places repeating an id); token writes send up to TOK_CHUNK
 * deltas as one INSERT ... SELECT ... ON DUPLICATE KEY UPDATE over a
 * derived table of the deltas, in ascending token order (so concurrent
 * writers lock rows in one order), counts clamped at zero with GREATEST
 * (the raw deltas are needed in the UPDATE part, which is why they come
 * from a derived table and not from VALUES()); padding places repeat the
 * last delta with zero counts, which changes nothing.
 *
 * Errors and retries. A lost connection (2006, 2013, 1927, ...) marks
 * the handle broken: inside a transaction the call is ES_ETRANSIENT
 * (the work of the transaction is gone and only the caller can redo
 * it); outside one, and at the next begin, the driver reconnects and
 * runs the statement again (a read, or START TRANSACTION: safe to
 * repeat). A deadlock (1213) rolls back InnoDB's whole transaction: the
 * driver retries, after a short backoff, only an autocommit statement
 * or the first statement of a transaction (after starting the
 * transaction again), where nothing else is lost; later in a
 * transaction it is ES_ETRANSIENT and the caller rolls back and retries
 * the message. A lock wait timeout (1205) is ES_ETRANSIENT at once: the
 * busy timeout has already been spent waiting. Too many connections,
 * a read-only or not yet synced server are ES_ETRANSIENT too; an
 * unreachable server at open is ES_ETRANSIENT with a message naming the
 * host or socket; anything else (a refused login, a server certificate
 * that fails verification) is ES_ESTORE with the server's or the
 * client library's text.
 * The password never appears in a message.
 *
 * Purge: each batch selects at most PURGE_CHUNK keys at a time by an
 * index range (ORDER BY last_hit or created_on, LIMIT, FOR UPDATE so
 * the rows cannot change before they go) and deletes exactly those by
 * primary key, until `batch` rows are gone or the range is empty (the
 * sources rule, whose key is one column, is a single DELETE ... ORDER BY
 * last_seen LIMIT batch over its index instead); the
 * control token is never selected. The purge lock is GET_LOCK(
 * 'edgespam-purge-<database>', 0), which the server releases when the
 * connection ends.
 *
 * Ownership: the driver copies every string of store_params it keeps
 * (the password is wiped at close). The connection library's own memory
 * does not go through es_alloc; the driver's buffers are allocated at
 * open, so a data operation allocates only to return a copy. One thread
 * per handle; the only process-wide state is the client library's
 * one-time initialisation (pthread_once).
 *
 * Timeouts: connecting gives up after busy_timeout_ms (at least 2 s), a
 * statement after the lock wait plus 5 s (store_schema(): a day, as an
 * ALTER TABLE of a big DSPAM table takes long). A purge whose connection
 * is lost reconnects at its next batch without the purge lock (the
 * server released it): another purge may then run beside it, which
 * costs time but deletes nothing wrong.
 */
#include "store.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store_int.h"

static const char schema_sql[] =
#include "sql_mysql_schema.h"
    ;

/* Ids per batched read or write; 2^(TOK_LEVELS-1) = TOK_CHUNK. */
#define TOK_CHUNK 256
#define TOK_LEVELS 9
/* Keys selected and deleted per statement in a purge batch. */
#define PURGE_CHUNK 256
/* Tries of a statement that may be repeated (see the manual above). */
#define MY_TRIES 3
/* Bound of a fetched name or value (DSPAM's columns are at most 255). */
#define MY_TEXT_MAX 1024
/* GET_LOCK names are at most 64 characters. */
#define MY_LOCK_MAX 64
#define TOK_TEXT 21 /* a 64-bit id in decimal, with its NUL */
/* Read timeout of db init/upgrade (an ALTER TABLE of a big table). */
#define MY_SCHEMA_IO_S 86400

enum my_stmt {
	M_USER_SEL,
	M_USER_INS,
	M_USERS,
	M_TOT_GET,
	M_TOT_ADD,
	M_SIG_PUT,
	M_SIG_GET,
	M_SIG_DEL,
	M_PREF_GET,
	M_PREF_SET,
	M_PREF_DEL,
	M_PREFS,
	M_DOM_GET,
	M_DOM_SET,
	M_DOM_DEL,
	M_DOMS,
	M_PSEL_SIG,
	M_PSEL_UNUSED,
	M_PSEL_RARE,
	M_PSEL_SINGLE,
	M_LOCK,
	M_UNLOCK,
	M_SND_SET,
	M_SND_DEL,
	M_SND_FIND,
	M_SNDS,
	M_SRC_ADD,
	M_SRC_GET,
	M_SRC_LIST,
	M_SRC_PURGE,
	M_COUNT
};

#define TOTALS_COLS                                                         \
	"spam_learned, innocent_learned, spam_misclassified, "              \
	"innocent_misclassified, spam_corpusfed, innocent_corpusfed, "      \
	"spam_classified, innocent_classified"
#define CLAMP_ADD(c) c " = GREATEST(CAST(" c " AS SIGNED) + ?, 0)"
#define SOURCE_COLS                                                         \
	"spam, innocent, spam_corrections, innocent_corrections, "          \
	"spam_streak, first_seen, last_seen, last_spam"
#define PSEL_TOKENS                                                         \
	"SELECT uid, CAST(token AS UNSIGNED) FROM dspam_token_data "        \
	"WHERE last_hit < ? AND token <> ?"
#define PSEL_END " ORDER BY last_hit LIMIT ? FOR UPDATE"

#define SND_PLACES8 "?, ?, ?, ?, ?, ?, ?, ?"
#define SND_PLACES                                                          \
	SND_PLACES8 ", " SND_PLACES8 ", " SND_PLACES8 ", " SND_PLACES8

static const char *const my_sql[M_COUNT] = {
	[M_USER_SEL] = "SELECT uid FROM dspam_virtual_uids WHERE username = ?",
	[M_USER_INS] =
	    "INSERT IGNORE INTO dspam_virtual_uids (username) VALUES (?)",
	[M_USERS] = "SELECT uid, username FROM dspam_virtual_uids ORDER BY uid",
	[M_TOT_GET] = "SELECT " TOTALS_COLS " FROM dspam_stats WHERE uid = ?",
	[M_TOT_ADD] =
	    "INSERT INTO dspam_stats (uid, " TOTALS_COLS ") VALUES (?, "
	    "GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0), "
	    "GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0)) "
	    "ON DUPLICATE KEY UPDATE " CLAMP_ADD("spam_learned") ", "
	    CLAMP_ADD("innocent_learned") ", " CLAMP_ADD("spam_misclassified")
	    ", " CLAMP_ADD("innocent_misclassified") ", "
	    CLAMP_ADD("spam_corpusfed") ", " CLAMP_ADD("innocent_corpusfed")
	    ", " CLAMP_ADD("spam_classified") ", "
	    CLAMP_ADD("innocent_classified"),
	[M_SIG_PUT] = "INSERT INTO dspam_signature_data "
		      "(uid, signature, data, length, created_on) "
		      "VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
		      "data = VALUES(data), length = VALUES(length), "
		      "created_on = VALUES(created_on)",
	[M_SIG_GET] = "SELECT data FROM dspam_signature_data "
		      "WHERE uid = ? AND signature = ?",
	[M_SIG_DEL] = "DELETE FROM dspam_signature_data "
		      "WHERE uid = ? AND signature = ?",
	[M_PREF_GET] = "SELECT value FROM dspam_preferences "
		       "WHERE uid = ? AND preference = ?",
	[M_PREF_SET] = "INSERT INTO dspam_preferences (uid, preference, value) "
		       "VALUES (?, ?, ?) "
		       "ON DUPLICATE KEY UPDATE value = VALUES(value)",
	[M_PREF_DEL] = "DELETE FROM dspam_preferences "
		       "WHERE uid = ? AND preference = ?",
	[M_PREFS] = "SELECT preference, value FROM dspam_preferences "
		    "WHERE uid = ? ORDER BY preference",
	[M_DOM_GET] = "SELECT policy FROM edgespam_domain_policy "
		      "WHERE domain = ?",
	[M_DOM_SET] = "INSERT INTO edgespam_domain_policy (domain, policy) "
		      "VALUES (?, ?) "
		      "ON DUPLICATE KEY UPDATE policy = VALUES(policy)",
	[M_DOM_DEL] = "DELETE FROM edgespam_domain_policy WHERE domain = ?",
	[M_DOMS] = "SELECT domain, policy FROM edgespam_domain_policy "
		   "ORDER BY domain",
	[M_PSEL_SIG] = "SELECT uid, signature FROM dspam_signature_data "
		       "WHERE created_on < ? "
		       "ORDER BY created_on LIMIT ? FOR UPDATE",
	[M_PSEL_UNUSED] = PSEL_TOKENS PSEL_END,
	[M_PSEL_RARE] = PSEL_TOKENS
	    " AND innocent_hits * 2 + spam_hits < 5" PSEL_END,
	[M_PSEL_SINGLE] = PSEL_TOKENS
	    " AND ((spam_hits = 1 AND innocent_hits = 0) OR "
	    "(spam_hits = 0 AND innocent_hits = 1))" PSEL_END,
	[M_LOCK] = "SELECT GET_LOCK(?, 0)",
	[M_UNLOCK] = "SELECT RELEASE_LOCK(?)",
	[M_SND_SET] = "INSERT INTO edgespam_sender_list "
		      "(uid, pattern, kind, created_on) VALUES (?, ?, ?, ?) "
		      "ON DUPLICATE KEY UPDATE kind = VALUES(kind), "
		      "created_on = VALUES(created_on)",
	[M_SND_DEL] = "DELETE FROM edgespam_sender_list "
		      "WHERE uid = ? AND pattern = ? AND kind = ?",
	/* STORE_SENDER_FIND_MAX places; the unused ones are NULL */
	[M_SND_FIND] = "SELECT pattern, kind FROM edgespam_sender_list "
		       "WHERE uid = ? AND pattern IN (" SND_PLACES ")",
	[M_SNDS] = "SELECT pattern, kind FROM edgespam_sender_list "
		   "WHERE uid = ? ORDER BY pattern",
	/* the new row: source, 5 counts, first_seen, last_seen, last_spam;
	 * an existing one: 4 counts, reset, spam, now, spam, now */
	[M_SRC_ADD] =
	    "INSERT INTO edgespam_sources (source, " SOURCE_COLS ") VALUES "
	    "(?, GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0), "
	    "GREATEST(?, 0), GREATEST(?, 0), ?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE " CLAMP_ADD("spam") ", "
	    CLAMP_ADD("innocent") ", " CLAMP_ADD("spam_corrections") ", "
	    CLAMP_ADD("innocent_corrections") ", "
	    "spam_streak = IF(?, 0, spam_streak) + GREATEST(?, 0), "
	    "last_seen = ?, last_spam = IF(? > 0, ?, last_spam)",
	[M_SRC_GET] = "SELECT source, " SOURCE_COLS " FROM edgespam_sources "
		      "WHERE source = ?",
	[M_SRC_LIST] = "SELECT source, " SOURCE_COLS " FROM edgespam_sources "
		       "WHERE last_seen >= ? ORDER BY source",
	[M_SRC_PURGE] = "DELETE FROM edgespam_sources WHERE last_seen < ? "
			"ORDER BY last_seen LIMIT ?",
};

/* The statements built for n = 2^level places. */
enum my_dyn {
	D_GET,     /* token read */
	D_PUT,     /* token upsert */
	D_DEL_TOK, /* purge: tokens by key */
	D_DEL_SIG, /* purge: signatures by key */
	D_COUNT
};

/* The deltas of one upsert and the keys of one purge delete. */
struct my_rows {
	uint64_t tok[TOK_CHUNK];
	int64_t spam[TOK_CHUNK];
	int64_t inno[TOK_CHUNK];
	double weight[TOK_CHUNK];
	uint32_t uid[TOK_CHUNK];
	char text[TOK_CHUNK][TOK_TEXT];      /* ids as text (CHAR tokens) */
	char sig[TOK_CHUNK][STORE_SIG_ID_MAX + 1];
	unsigned long len[TOK_CHUNK];
};

struct my_store {
	MYSQL *db;
	MYSQL_STMT *stmt[M_COUNT];
	MYSQL_STMT *dyn[D_COUNT][TOK_LEVELS];
	MYSQL_BIND *bind;      /* 2 + 4 * TOK_CHUNK parameters */
	struct my_rows *rows;
	/* connection parameters (copies) */
	char *host, *socket, *database, *user, *password, *ca;
	unsigned port;
	bool tls;
	bool schema_io;        /* store_schema(): long statements */
	unsigned lock_wait_s;
	char where[300];       /* "socket /x" or "host h:port", for messages */
	char lock_name[MY_LOCK_MAX + 1];
	/* state */
	bool broken;           /* the connection was lost: reconnect */
	bool in_tx;
	unsigned tx_stmts;     /* statements done in this transaction */
	unsigned last_errno;   /* of the last failure */
	bool tok_text;         /* dspam_token_data.token is CHAR (DSPAM) */
	bool purge_locked;
};

/* drv - the driver state of st. */
static struct my_store *
drv(struct store *st)
{
	return st->st_drv;
}

/* ---- errors ---- */

/* lost - whether errno e means the connection is gone. */
static bool
lost(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
		return true;
	default:
		return false;
	}
}

/* map - an es_err code for a server or client error number. */
static int
map(unsigned e)
{
	if (lost(e))
		return ES_ETRANSIENT;
	switch (e) {
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_CON_COUNT_ERROR:
	case ER_TOO_MANY_USER_CONNECTIONS:
	case ER_OPTION_PREVENTS_STATEMENT: /* read_only server */
	case ER_UNKNOWN_COM_ERROR:         /* Galera node not synced */
	case CR_UNKNOWN_HOST:
		return ES_ETRANSIENT;
	case CR_OUT_OF_MEMORY:
		return ES_ENOMEM;
	default:
		return ES_ESTORE;
	}
}

/* fail_err - record failure e (text msg) of what; the es_err code. */
static int
fail_err(struct store *st, unsigned e, const char *msg, const char *what)
{
	struct my_store *m = drv(st);

	m->last_errno = e;
	if (lost(e))
		m->broken = true;
	store_seterr(st, "mysql: %s: %s (%u)", what, msg, e);
	return map(e);
}

/* fail_db - the connection's last error. */
static int
fail_db(struct store *st, const char *what)
{
	MYSQL *db = drv(st)->db;

	return fail_err(st, mysql_errno(db), mysql_error(db), what);
}

/* fail_stmt - a statement's last error. */
static int
fail_stmt(struct store *st, MYSQL_STMT *q, const char *what)
{
	return fail_err(st, mysql_stmt_errno(q), mysql_stmt_error(q), what);
}

/* nomem - out of memory for what. */
static int
nomem(struct store *st, const char *what)
{
	store_seterr(st, "mysql: %s: out of memory", what);
	return ES_ENOMEM;
}

/* ---- binding ---- */

/* b_u32 - an unsigned INT parameter, or a result column (into *v). */
static void
b_u32(MYSQL_BIND *b, const uint32_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)v;
	b->is_unsigned = 1;
}

static void
b_u64(MYSQL_BIND *b, const uint64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
	b->is_unsigned = 1;
}

static void
b_i64(MYSQL_BIND *b, const int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
}

static void
b_dbl(MYSQL_BIND *b, const double *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_DOUBLE;
	b->buffer = (void *)v;
}

/* b_bytes - a parameter of len bytes (kept by the caller until execute). */
static void
b_bytes(MYSQL_BIND *b, enum enum_field_types type, const void *s,
    size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = type;
	b->buffer = (void *)(len > 0 ? s : "");
	b->buffer_length = (unsigned long)len;
}

static void
b_str(MYSQL_BIND *b, const char *s)
{
	b_bytes(b, MYSQL_TYPE_STRING, s, strlen(s));
}

/* b_out - a result column of up to cap bytes into buf. */
static void
b_out(MYSQL_BIND *b, enum enum_field_types type, void *buf,
    unsigned long cap, unsigned long *len, my_bool *isnull)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = type;
	b->buffer = buf;
	b->buffer_length = cap;
	b->length = len;
	b->is_null = isnull;
}

/* cut - end the fetched text in buf (cap bytes) after its len bytes,
 * or at its last byte when the column was longer. */
static void
cut(char *buf, size_t cap, unsigned long len)
{
	buf[len < cap ? len : cap - 1] = '\0';
}

/* b_tok - token id i of rows for a comparison with the token column. */
static void
b_tok(struct my_store *m, MYSQL_BIND *b, size_t i, uint64_t id)
{
	m->rows->tok[i] = id;
	if (!m->tok_text) {
		b_u64(b, &m->rows->tok[i]);
		return;
	}
	snprintf(m->rows->text[i], TOK_TEXT, "%llu", (unsigned long long)id);
	b_str(b, m->rows->text[i]);
}

/* ---- connection ---- */

/* close_stmts - forget every prepared statement. */
static void
close_stmts(struct my_store *m)
{
	for (size_t i = 0; i < M_COUNT; i++)
		if (m->stmt[i] != NULL) {
			mysql_stmt_close(m->stmt[i]);
			m->stmt[i] = NULL;
		}
	for (size_t k = 0; k < D_COUNT; k++)
		for (size_t i = 0; i < TOK_LEVELS; i++)
			if (m->dyn[k][i] != NULL) {
				mysql_stmt_close(m->dyn[k][i]);
				m->dyn[k][i] = NULL;
			}
}

/* disconnect - close the connection and its statements. */
static void
disconnect(struct my_store *m)
{
	close_stmts(m);
	if (m->db != NULL)
		mysql_close(m->db);
	m->db = NULL;
	m->in_tx = false;
	m->purge_locked = false;
}

/* set_options - timeouts, character set and TLS of a new handle. */
static int
set_options(struct store *st)
{
	struct my_store *m = drv(st);
	unsigned connect_s = m->lock_wait_s < 2 ? 2 : m->lock_wait_s;
	/* Longer than any lock wait, so a waiting statement is not cut,
	 * and short enough that a server gone silent frees the milter's
	 * thread; a schema change may take long on a big table. */
	unsigned io_s = m->schema_io ? MY_SCHEMA_IO_S : m->lock_wait_s + 5;
	my_bool yes = 1, no = 0;
	int bad = 0;

	bad |= mysql_options(m->db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
	bad |= mysql_options(m->db, MYSQL_OPT_READ_TIMEOUT, &io_s);
	bad |= mysql_options(m->db, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
	/* a silent reconnect would lose the transaction and statements */
	bad |= mysql_options(m->db, MYSQL_OPT_RECONNECT, &no);
	bad |= mysql_options(m->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (m->tls) {
		bad |= mysql_options(m->db, MYSQL_OPT_SSL_ENFORCE, &yes);
		bad |= mysql_options(m->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
		    &yes);
		if (m->ca != NULL)
			bad |= mysql_options(m->db, MYSQL_OPT_SSL_CA, m->ca);
	}
	if (bad != 0) {
		store_seterr(st, "mysql: cannot set the connection options");
		return ES_ESTORE;
	}
	return 0;
}

/* exec_once - run sql with one bound unsigned parameter, no result. */
static int
exec_once(struct store *st, const char *sql, unsigned v, const char *what)
{
	struct my_store *m = drv(st);
	MYSQL_STMT *q = mysql_stmt_init(m->db);
	MYSQL_BIND b;
	uint32_t u = v;
	int rc = 0;

	if (q == NULL)
		return fail_db(st, what);
	b_u32(&b, &u);
	if (mysql_stmt_prepare(q, sql, strlen(sql)) != 0 ||
	    mysql_stmt_bind_param(q, &b) != 0 || mysql_stmt_execute(q) != 0)
		rc = fail_stmt(st, q, what);
	mysql_stmt_close(q);
	return rc;
}

/* connect_db - a new connection with the session settings. */
static int
connect_db(struct store *st)
{
	struct my_store *m = drv(st);
	int rc;

	disconnect(m);
	m->broken = false;
	if ((m->db = mysql_init(NULL)) == NULL)
		return nomem(st, "connect");
	if ((rc = set_options(st)) != 0)
		return rc;
	if (mysql_real_connect(m->db, m->socket != NULL ? "localhost" : m->host,
		m->user, m->password, m->database, m->port, m->socket,
		0) == NULL) {
		unsigned e = mysql_errno(m->db);

		m->last_errno = e;
		store_seterr(st, "mysql: cannot connect to %s as %s: %s (%u)",
		    m->where, m->user != NULL ? m->user : "(default user)",
		    mysql_error(m->db), e);
		disconnect(m);
		/* a server that is down, starting or unreachable is worth
		 * retrying (map: lost connections, unknown host); a client
		 * error such as a certificate that fails verification or a
		 * missing authentication plugin is not */
		return e == CR_SOCKET_CREATE_ERROR || e == CR_IPSOCK_ERROR ||
			e == CR_SERVER_HANDSHAKE_ERR ?
		    ES_ETRANSIENT :
		    map(e);
	}
	if (mysql_query(m->db,
		"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0) {
		rc = fail_db(st, "session setup");
		disconnect(m);
		return rc;
	}
	rc = exec_once(st, "SET SESSION innodb_lock_wait_timeout = ?",
	    m->lock_wait_s, "session lock wait");
	if (rc != 0)
		disconnect(m);
	return rc;
}

/* ---- statements ---- */

/* prep - prepare sql into *slot unless it is there. */
static int
prep(struct store *st, MYSQL_STMT **slot, const char *sql)
{
	struct my_store *m = drv(st);
	MYSQL_STMT *q;

	if (*slot != NULL)
		return 0;
	if ((q = mysql_stmt_init(m->db)) == NULL)
		return fail_db(st, "prepare");
	if (mysql_stmt_prepare(q, sql, strlen(sql)) != 0) {
		int rc = fail_stmt(st, q, "prepare");

		mysql_stmt_close(q);
		return rc;
	}
	*slot = q;
	return 0;
}

/* fixed - statement id, prepared on first use. */
static int
fixed(struct store *st, enum my_stmt id, MYSQL_STMT **out)
{
	struct my_store *m = drv(st);
	int rc = prep(st, &m->stmt[id], my_sql[id]);

	*out = m->stmt[id];
	return rc;
}

/* run - bind in (may be NULL) and execute q; results are stored whole,
 * so a callback never sees half a result that a retry would repeat. */
static int
run(struct store *st, MYSQL_STMT *q, MYSQL_BIND *in, const char *what)
{
	if ((in != NULL && mysql_stmt_bind_param(q, in) != 0) ||
	    mysql_stmt_execute(q) != 0)
		return fail_stmt(st, q, what);
	if (mysql_stmt_field_count(q) > 0 && mysql_stmt_store_result(q) != 0)
		return fail_stmt(st, q, what);
	return 0;
}

/* fetch - the next row: 1, 0 at the end, or an es_err code. A column
 * cut to its buffer (MYSQL_DATA_TRUNCATED) is the caller's to handle. */
static int
fetch(struct store *st, MYSQL_STMT *q, const char *what)
{
	int r = mysql_stmt_fetch(q);

	if (r == 0 || r == MYSQL_DATA_TRUNCATED)
		return 1;
	if (r == MYSQL_NO_DATA)
		return 0;
	return fail_stmt(st, q, what);
}

/* ---- retries and transactions ---- */

typedef int my_step_fn(struct store *st, void *ctx);

/* may_retry - whether the last failure may be repeated (see above). */
static bool
may_retry(const struct my_store *m)
{
	if (lost(m->last_errno))
		return !m->in_tx;
	if (m->last_errno == ER_LOCK_DEADLOCK)
		return !m->in_tx || m->tx_stmts == 0;
	return false;
}

/* backoff - sleep before try n+1: 5, 20, 80 ms. */
static void
backoff(unsigned n)
{
	struct timespec ts = {0, 5000000L << (2 * (n < 3 ? n : 3))};

	nanosleep(&ts, NULL);
}

/* restart_tx - a deadlock ended the transaction: start it again. */
static int
restart_tx(struct store *st)
{
	struct my_store *m = drv(st);

	if (mysql_query(m->db, "ROLLBACK") != 0 ||
	    mysql_query(m->db, "START TRANSACTION") != 0)
		return fail_db(st, "restart transaction");
	m->tx_stmts = 0;
	return 0;
}

/* with_retry - fn, reconnecting and repeating it where that is safe. */
static int
with_retry(struct store *st, my_step_fn *fn, void *ctx)
{
	struct my_store *m = drv(st);
	int rc;

	for (unsigned n = 0;; n++) {
		if (m->db == NULL || m->broken) {
			if (m->in_tx) {
				store_seterr(st, "mysql: the connection to %s "
				    "was lost in a transaction", m->where);
				return ES_ETRANSIENT;
			}
			if ((rc = connect_db(st)) != 0)
				return rc;
		}
		m->last_errno = 0;
		if ((rc = fn(st, ctx)) == 0) {
			if (m->in_tx)
				m->tx_stmts++;
			return 0;
		}
		if (n + 1 >= MY_TRIES || !may_retry(m))
			return rc;
		if (m->in_tx && !m->broken && restart_tx(st) != 0)
			return rc;
		backoff(n);
	}
}

static int
step_begin(struct store *st, void *ctx)
{
	(void)ctx;
	if (mysql_query(drv(st)->db, "START TRANSACTION") != 0)
		return fail_db(st, "begin");
	return 0;
}

/* Both kinds start alike: START TRANSACTION takes no lock, InnoDB locks
 * rows as they are written, and a read transaction may write too. */
static int
my_begin(struct store *st, bool write)
{
	struct my_store *m = drv(st);
	int rc;

	(void)write;
	if ((rc = with_retry(st, step_begin, NULL)) != 0)
		return rc;
	m->in_tx = true;
	m->tx_stmts = 0;
	return 0;
}

static void
my_rollback(struct store *st)
{
	struct my_store *m = drv(st);

	/* the message of the failure that led here stays; a ROLLBACK that
	 * fails may leave the transaction open, and the next START
	 * TRANSACTION would commit it: drop the connection instead */
	if (m->db != NULL && !m->broken && mysql_query(m->db, "ROLLBACK") != 0)
		m->broken = true;
	m->in_tx = false;
}

static int
my_commit(struct store *st)
{
	struct my_store *m = drv(st);
	int rc = 0;

	if (m->db == NULL || m->broken) {
		store_seterr(st, "mysql: the connection to %s was lost in a "
		    "transaction", m->where);
		rc = ES_ETRANSIENT;
	} else if (mysql_query(m->db, "COMMIT") != 0) {
		rc = fail_db(st, "commit");
	}
	if (rc != 0)
		my_rollback(st);
	m->in_tx = false;
	return rc;
}

/* ---- the schema ---- */

/* The tables, in the order of schema.sql. */
static const char *const my_tables[] = {"dspam_virtual_uids",
    "dspam_token_data", "dspam_signature_data", "dspam_stats",
    "dspam_preferences", "edgespam_domain_policy", "edgespam_sender_list",
    "edgespam_sources"};
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
		return fail_db(st, what);
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
	if ((rc = prep(st, &q, sql)) != 0)
		return rc;
	for (size_t i = 0; i < NTABLES; i++)
		b_str(&in[i], my_tables[i]);
	for (int i = 0; i < 3; i++)
		b_out(&out[i], MYSQL_TYPE_STRING, v[i], sizeof(v[i]) - 1,
		    &len[i], &nul[i]);
	if ((rc = run(st, q, in, "schema")) == 0 &&
	    mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "schema");
	while (rc == 0 && (rc = fetch(st, q, "schema")) == 1) {
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

/* check_tables - open's check: create missing tables, refuse a token
 * table without weight, learn the token column's type. */
static int
check_tables(struct store *st)
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
	if ((rc = prep(st, &q, sql)) != 0)
		return rc;
	b_str(&in, it->table);
	b_out(&out[0], MYSQL_TYPE_STRING, name, sizeof(name) - 1, &len[0],
	    &nul[0]);
	b_out(&out[1], MYSQL_TYPE_LONGLONG, &nonuniq, 0, &len[1], &nul[1]);
	b_out(&out[2], MYSQL_TYPE_STRING, col, sizeof(col) - 1, &len[2],
	    &nul[2]);
	if ((rc = run(st, q, &in, "schema indexes")) == 0 &&
	    mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "schema indexes");
	for (;;) {
		int more = rc == 0 ? fetch(st, q, "schema indexes") : 0;

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
			return fail_db(st, what);
	}
	return 0;
}

static void my_close(struct store *st);
static int my_init(struct store *st, const struct store_params *p);

static int
my_schema(struct store *st, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg,
    size_t *missing)
{
	struct my_cols c;
	int rc;

	*missing = 0;
	if ((rc = my_init(st, p)) == 0)
		drv(st)->schema_io = true;
	if (rc == 0 && (rc = connect_db(st)) == 0 &&
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

/* ---- open and close ---- */

/* dup_opt - a copy of s, NULL for NULL or ""; false when out of memory. */
static bool
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || s[0] == '\0')
		return true;
	return (*out = es_strdup(s)) != NULL;
}

static void
my_close(struct store *st)
{
	struct my_store *m = drv(st);

	if (m == NULL)
		return;
	if (m->in_tx)
		my_rollback(st);
	disconnect(m);
	if (m->password != NULL)
		explicit_bzero(m->password, strlen(m->password));
	es_free(m->host);
	es_free(m->socket);
	es_free(m->database);
	es_free(m->user);
	es_free(m->password);
	es_free(m->ca);
	es_free(m->bind);
	es_free(m->rows);
	es_free(m);
	st->st_drv = NULL;
}

/*
 * The client library initialises itself on the first mysql_init(), which
 * is not safe when two threads do it at once (the milter opens its pool's
 * handles from its worker threads): do it once, first.
 */
static pthread_once_t my_lib_once = PTHREAD_ONCE_INIT;
static int my_lib_rc;

/* my_lib_init - mysql_library_init(), once per process. */
static void
my_lib_init(void)
{
	my_lib_rc = mysql_library_init(0, NULL, NULL);
}

/* my_init - the driver state for p, not yet connected. */
static int
my_init(struct store *st, const struct store_params *p)
{
	struct my_store *m;

	if (pthread_once(&my_lib_once, my_lib_init) != 0 || my_lib_rc != 0) {
		store_seterr(st, "mysql: the client library did not start");
		return ES_ESTORE;
	}

	if (p->mysql_database == NULL || p->mysql_database[0] == '\0') {
		store_seterr(st, "mysql: no database given (mysql_database)");
		return ES_EINVAL;
	}
	if ((m = es_calloc(1, sizeof(*m))) == NULL)
		return nomem(st, "open");
	st->st_drv = m;
	if (!dup_opt(p->mysql_host, &m->host) ||
	    !dup_opt(p->mysql_socket, &m->socket) ||
	    !dup_opt(p->mysql_database, &m->database) ||
	    !dup_opt(p->mysql_user, &m->user) ||
	    !dup_opt(p->mysql_password, &m->password) ||
	    !dup_opt(p->mysql_tls_ca, &m->ca) ||
	    (m->bind = es_calloc(2 + 4 * TOK_CHUNK, sizeof(*m->bind))) ==
		NULL ||
	    (m->rows = es_calloc(1, sizeof(*m->rows))) == NULL) {
		my_close(st);
		return nomem(st, "open");
	}
	m->port = p->mysql_port;
	m->tls = p->mysql_tls;
	m->lock_wait_s = (p->busy_timeout_ms + 999) / 1000;
	if (m->lock_wait_s == 0)
		m->lock_wait_s = 1;
	if (m->socket != NULL)
		snprintf(m->where, sizeof(m->where), "socket %.250s", m->socket);
	else
		snprintf(m->where, sizeof(m->where), "host %.250s port %u",
		    m->host != NULL ? m->host : "localhost",
		    m->port != 0 ? m->port : 3306);
	snprintf(m->lock_name, sizeof(m->lock_name), "edgespam-purge-%s",
	    m->database);
	return 0;
}

static int
my_open(struct store *st, const struct store_params *p)
{
	int rc;

	if ((rc = my_init(st, p)) != 0)
		return rc;
	if ((rc = connect_db(st)) != 0 || (rc = check_tables(st)) != 0) {
		my_close(st);
		return rc;
	}
	return 0;
}

/* ---- simple statements ---- */

/* A statement with bound parameters and no result. */
struct my_simple {
	enum my_stmt id;
	MYSQL_BIND *in;
	const char *what;
};

static int
step_simple(struct store *st, void *ctx)
{
	struct my_simple *c = ctx;
	MYSQL_STMT *q;
	int rc;

	if ((rc = fixed(st, c->id, &q)) != 0)
		return rc;
	return run(st, q, c->in, c->what);
}

/* simple - run statement id with parameters in. */
static int
simple(struct store *st, enum my_stmt id, MYSQL_BIND *in, const char *what)
{
	struct my_simple c = {id, in, what};

	return with_retry(st, step_simple, &c);
}

/* fetch_copy - column col of the current row as a new NUL-terminated
 * buffer (*len bytes before the NUL); the caller frees it. */
static int
fetch_copy(struct store *st, MYSQL_STMT *q, unsigned col,
    unsigned long len, char **out)
{
	MYSQL_BIND b;
	char *p;

	if ((p = es_malloc((size_t)len + 1)) == NULL)
		return nomem(st, "read");
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_BLOB;
	b.buffer = p;
	b.buffer_length = len;
	if (len > 0 && mysql_stmt_fetch_column(q, &b, col, 0) != 0) {
		es_free(p);
		return fail_stmt(st, q, "read");
	}
	p[len] = '\0';
	*out = p;
	return 0;
}

/* A one-column lookup: the bound statement's first row, copied. */
struct my_one {
	enum my_stmt id;
	MYSQL_BIND *in;
	const char *key; /* for the message */
	char *val;
	unsigned long len;
};

static int
step_one(struct store *st, void *ctx)
{
	struct my_one *c = ctx;
	MYSQL_STMT *q;
	MYSQL_BIND out;
	my_bool nul = 0;
	int rc;

	if ((rc = fixed(st, c->id, &q)) != 0 ||
	    (rc = run(st, q, c->in, "read")) != 0)
		return rc;
	b_out(&out, MYSQL_TYPE_BLOB, NULL, 0, &c->len, &nul);
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = fail_stmt(st, q, "read");
	else if ((rc = fetch(st, q, "read")) == 1)
		rc = fetch_copy(st, q, 0, c->len, &c->val);
	else if (rc == 0) {
		store_seterr(st, "\"%.255s\" is not set", c->key);
		rc = ES_ENOTFOUND;
	}
	mysql_stmt_free_result(q);
	return rc;
}

/* one - the value statement id finds, or ES_ENOTFOUND. */
static int
one(struct store *st, enum my_stmt id, MYSQL_BIND *in, const char *key,
    char **val, size_t *len)
{
	struct my_one c = {id, in, key, NULL, 0};
	int rc = with_retry(st, step_one, &c);

	if (rc == 0) {
		*val = c.val;
		if (len != NULL)
			*len = c.len;
	}
	return rc;
}

/* A listing: fn(col 0, col 1) for every row; texts longer than
 * MY_TEXT_MAX (DSPAM's columns are at most 255) are cut. */
struct my_list {
	enum my_stmt id;
	MYSQL_BIND *in;
	bool uid_first; /* users: column 0 is the uid */
	store_pair_fn *pair;
	store_user_fn *user;
	void *arg;
};

static int
step_list(struct store *st, void *ctx)
{
	struct my_list *c = ctx;
	char a[MY_TEXT_MAX + 1], b[MY_TEXT_MAX + 1];
	unsigned long la = 0, lb = 0;
	my_bool na = 0, nb = 0;
	uint32_t uid = 0;
	MYSQL_BIND out[2];
	MYSQL_STMT *q;
	int rc;

	if ((rc = fixed(st, c->id, &q)) != 0 ||
	    (rc = run(st, q, c->in, "list")) != 0)
		return rc;
	if (c->uid_first)
		b_u32(&out[0], &uid);
	else
		b_out(&out[0], MYSQL_TYPE_STRING, a, MY_TEXT_MAX, &la, &na);
	b_out(&out[1], MYSQL_TYPE_STRING, b, MY_TEXT_MAX, &lb, &nb);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "list");
	while (rc == 0 && (rc = fetch(st, q, "list")) == 1) {
		rc = 0;
		cut(a, sizeof(a), la);
		cut(b, sizeof(b), lb);
		if (c->uid_first ? c->user(uid, b, c->arg) != 0 :
				   c->pair(a, b, c->arg) != 0)
			break;
	}
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

/* ---- users ---- */

struct my_uid {
	MYSQL_BIND in;
	uint32_t uid;
	bool found;
};

static int
step_user_sel(struct store *st, void *ctx)
{
	struct my_uid *c = ctx;
	MYSQL_STMT *q;
	MYSQL_BIND out;
	int rc;

	c->found = false;
	if ((rc = fixed(st, M_USER_SEL, &q)) != 0 ||
	    (rc = run(st, q, &c->in, "user lookup")) != 0)
		return rc;
	b_u32(&out, &c->uid);
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = fail_stmt(st, q, "user lookup");
	else if ((rc = fetch(st, q, "user lookup")) == 1)
		c->found = true;
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

/* Look first: INSERT IGNORE of an existing name would use up an
 * AUTO_INCREMENT value on every message. */
static int
my_user_uid(struct store *st, const char *name, bool create, uint32_t *uid)
{
	struct my_uid c;
	int rc;

	b_str(&c.in, name);
	if ((rc = with_retry(st, step_user_sel, &c)) != 0)
		return rc;
	if (!c.found && create &&
	    ((rc = simple(st, M_USER_INS, &c.in, "user create")) != 0 ||
		(rc = with_retry(st, step_user_sel, &c)) != 0))
		return rc;
	if (!c.found) {
		store_seterr(st, "no user \"%.128s\"", name);
		return ES_ENOTFOUND;
	}
	*uid = c.uid;
	return 0;
}

static int
my_users(struct store *st, store_user_fn *fn, void *arg)
{
	struct my_list c = {M_USERS, NULL, true, NULL, fn, arg};

	return with_retry(st, step_list, &c);
}

/* ---- tokens ---- */

/* level_of - the smallest k with 2^k >= n (n <= TOK_CHUNK). */
static int
level_of(size_t n)
{
	int k = 0;

	while (((size_t)1 << k) < n)
		k++;
	return k;
}

/* sql_add - append s to buf (cap bytes) at *off; false when it would
 * not fit. */
static bool
sql_add(char *buf, size_t cap, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap - *off)
		return false;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return true;
}

/* The SQL of dynamic statement kind for n places. */
#define DYN_SQL_MAX (800 + TOK_CHUNK * 100)

static bool
dyn_sql(enum my_dyn kind, size_t n, char *buf, size_t cap)
{
	static const char *const head[D_COUNT] = {
		[D_GET] = "SELECT CAST(token AS UNSIGNED), spam_hits, "
			  "innocent_hits, last_hit, weight FROM dspam_token_data "
			  "WHERE uid = ? AND token IN (?",
		[D_PUT] = "INSERT INTO dspam_token_data (uid, token, spam_hits, "
			  "innocent_hits, last_hit, weight) "
			  "SELECT ?, d.t, GREATEST(d.s, 0), GREATEST(d.i, 0), ?, "
			  "d.w FROM (SELECT CAST(? AS UNSIGNED) AS t, "
			  "CAST(? AS SIGNED) AS s, CAST(? AS SIGNED) AS i, "
			  "? + 0e0 AS w",
		[D_DEL_TOK] = "DELETE FROM dspam_token_data WHERE "
			      "(uid = ? AND token = ?)",
		[D_DEL_SIG] = "DELETE FROM dspam_signature_data WHERE "
			      "(uid = ? AND signature = ?)",
	};
	static const char *const more[D_COUNT] = {
		[D_GET] = ", ?",
		[D_PUT] = (" UNION ALL SELECT CAST(? AS UNSIGNED), "
			   "CAST(? AS SIGNED), CAST(? AS SIGNED), ? + 0e0"),
		[D_DEL_TOK] = " OR (uid = ? AND token = ?)",
		[D_DEL_SIG] = " OR (uid = ? AND signature = ?)",
	};
	static const char *const tail[D_COUNT] = {
		[D_GET] = ")",
		[D_PUT] = ") AS d ORDER BY d.t ON DUPLICATE KEY UPDATE "
			  "spam_hits = GREATEST(CAST(dspam_token_data.spam_hits "
			  "AS SIGNED) + d.s, 0), innocent_hits = GREATEST(CAST("
			  "dspam_token_data.innocent_hits AS SIGNED) + d.i, 0), "
			  "last_hit = VALUES(last_hit), "
			  "weight = dspam_token_data.weight + d.w",
		[D_DEL_TOK] = "",
		[D_DEL_SIG] = "",
	};
	size_t off = 0;

	buf[0] = '\0';
	if (!sql_add(buf, cap, &off, head[kind]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!sql_add(buf, cap, &off, more[kind]))
			return false;
	return sql_add(buf, cap, &off, tail[kind]);
}

/* dyn - statement kind for 2^level places, prepared on first use. */
static int
dyn(struct store *st, enum my_dyn kind, int level, MYSQL_STMT **out)
{
	struct my_store *m = drv(st);
	char *sql;
	int rc;

	*out = NULL;
	if (m->dyn[kind][level] == NULL) {
		if ((sql = es_malloc(DYN_SQL_MAX)) == NULL)
			return nomem(st, "prepare");
		if (!dyn_sql(kind, (size_t)1 << level, sql, DYN_SQL_MAX)) {
			es_free(sql);
			store_seterr(st, "mysql: statement too long");
			return ES_EINTERNAL;
		}
		rc = prep(st, &m->dyn[kind][level], sql);
		es_free(sql);
		if (rc != 0)
			return rc;
	}
	*out = m->dyn[kind][level];
	return 0;
}

/* time_day - a DATE as days since the epoch (0 when unreadable). */
static int32_t
time_day(const MYSQL_TIME *t, bool isnull)
{
	char iso[32];
	int32_t day;

	if (isnull)
		return 0;
	snprintf(iso, sizeof(iso), "%04u-%02u-%02u", t->year % 10000,
	    t->month % 100, t->day % 100);
	return store_iso_day(iso, &day) == 0 ? day : 0;
}

/* A row of a token read. */
struct my_tokrow {
	uint64_t id, spam, inno;
	MYSQL_TIME last;
	double weight;
	my_bool nul[5];
	unsigned long len[5];
};

/* fill - copy row r into every toks[] entry of its id. */
static void
fill(const struct my_tokrow *r, struct store_token *toks, size_t n,
    bool sorted)
{
	size_t lo = 0, hi = n;
	int32_t day = time_day(&r->last, r->nul[3]);

	if (sorted) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (toks[mid].token < r->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		hi = n;
	}
	for (size_t i = lo; i < hi; i++) {
		if (toks[i].token != r->id) {
			if (sorted)
				break;
			continue;
		}
		toks[i].spam_hits = r->nul[1] ? 0 : r->spam;
		toks[i].innocent_hits = r->nul[2] ? 0 : r->inno;
		toks[i].last_hit = day;
		toks[i].weight = r->nul[4] ? 0.0 : r->weight;
	}
}

struct my_get {
	uint32_t uid;
	struct store_token *toks;
	size_t n;
};

static int
step_get(struct store *st, void *ctx)
{
	struct my_get *c = ctx;
	struct my_store *m = drv(st);
	int level = level_of(c->n);
	size_t places = (size_t)1 << level;
	struct my_tokrow r;
	MYSQL_BIND out[5];
	MYSQL_STMT *q;
	bool sorted = true;
	int rc;

	if ((rc = dyn(st, D_GET, level, &q)) != 0)
		return rc;
	for (size_t i = 1; i < c->n && sorted; i++)
		sorted = c->toks[i - 1].token <= c->toks[i].token;
	b_u32(&m->bind[0], &c->uid);
	for (size_t i = 0; i < places; i++)
		b_tok(m, &m->bind[1 + i], i,
		    c->toks[i < c->n ? i : c->n - 1].token);
	if ((rc = run(st, q, m->bind, "token read")) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	b_out(&out[0], MYSQL_TYPE_LONGLONG, &r.id, 0, &r.len[0], &r.nul[0]);
	b_out(&out[1], MYSQL_TYPE_LONGLONG, &r.spam, 0, &r.len[1], &r.nul[1]);
	b_out(&out[2], MYSQL_TYPE_LONGLONG, &r.inno, 0, &r.len[2], &r.nul[2]);
	b_out(&out[3], MYSQL_TYPE_DATE, &r.last, sizeof(r.last), &r.len[3],
	    &r.nul[3]);
	b_out(&out[4], MYSQL_TYPE_DOUBLE, &r.weight, 0, &r.len[4], &r.nul[4]);
	for (int i = 0; i < 3; i++)
		out[i].is_unsigned = 1;
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "token read");
	while (rc == 0 && (rc = fetch(st, q, "token read")) == 1) {
		rc = 0;
		fill(&r, c->toks, c->n, sorted);
	}
	mysql_stmt_free_result(q);
	return rc;
}

static int
my_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	int rc;

	for (size_t off = 0; off < n; off += TOK_CHUNK) {
		struct my_get c = {uid, toks + off,
		    n - off < TOK_CHUNK ? n - off : TOK_CHUNK};

		if ((rc = with_retry(st, step_get, &c)) != 0)
			return rc;
	}
	return 0;
}

struct my_put {
	uint32_t uid;
	const struct store_delta *d;
	size_t n;
	char date[11];
};

/* Places beyond n repeat the last id with zero deltas: no change. */
static int
step_put(struct store *st, void *ctx)
{
	struct my_put *c = ctx;
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	int level = level_of(c->n);
	size_t places = (size_t)1 << level;
	MYSQL_BIND *b = m->bind;
	MYSQL_STMT *q;
	int rc;

	if ((rc = dyn(st, D_PUT, level, &q)) != 0)
		return rc;
	b_u32(&b[0], &c->uid);
	b_str(&b[1], c->date);
	for (size_t i = 0; i < places; i++) {
		const struct store_delta *d = &c->d[i < c->n ? i : c->n - 1];

		r->tok[i] = d->token;
		r->spam[i] = i < c->n ? d->spam : 0;
		r->inno[i] = i < c->n ? d->innocent : 0;
		r->weight[i] = i < c->n ? d->weight : 0.0;
		b_u64(&b[2 + 4 * i], &r->tok[i]);
		b_i64(&b[3 + 4 * i], &r->spam[i]);
		b_i64(&b[4 + 4 * i], &r->inno[i]);
		b_dbl(&b[5 + 4 * i], &r->weight[i]);
	}
	return run(st, q, b, "token write");
}

static int
my_tokens_put(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, int32_t day)
{
	struct my_put c;
	int rc;

	c.uid = uid;
	store_day_iso(day, c.date);
	for (size_t off = 0; off < n; off += TOK_CHUNK) {
		c.d = d + off;
		c.n = n - off < TOK_CHUNK ? n - off : TOK_CHUNK;
		if ((rc = with_retry(st, step_put, &c)) != 0)
			return rc;
	}
	return 0;
}

/* ---- totals ---- */

struct my_tot {
	uint32_t uid;
	struct store_totals *t;
};

static int
step_tot_get(struct store *st, void *ctx)
{
	struct my_tot *c = ctx;
	int64_t *f[8] = {&c->t->spam_learned, &c->t->innocent_learned,
	    &c->t->spam_misclassified, &c->t->innocent_misclassified,
	    &c->t->spam_corpusfed, &c->t->innocent_corpusfed,
	    &c->t->spam_classified, &c->t->innocent_classified};
	MYSQL_BIND in, out[8];
	my_bool nul[8];
	unsigned long len[8];
	MYSQL_STMT *q;
	int rc;

	memset(c->t, 0, sizeof(*c->t));
	b_u32(&in, &c->uid);
	if ((rc = fixed(st, M_TOT_GET, &q)) != 0 ||
	    (rc = run(st, q, &in, "totals read")) != 0)
		return rc;
	for (int i = 0; i < 8; i++)
		b_out(&out[i], MYSQL_TYPE_LONGLONG, f[i], 0, &len[i], &nul[i]);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "totals read");
	else if ((rc = fetch(st, q, "totals read")) == 1)
		for (int i = 0; i < 8; i++)
			if (nul[i] || *f[i] < 0)
				*f[i] = 0;
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

static int
my_totals_get(struct store *st, uint32_t uid, struct store_totals *t)
{
	struct my_tot c = {uid, t};

	return with_retry(st, step_tot_get, &c);
}

static int
my_totals_add(struct store *st, uint32_t uid, const struct store_totals *d)
{
	const int64_t v[8] = {d->spam_learned, d->innocent_learned,
	    d->spam_misclassified, d->innocent_misclassified,
	    d->spam_corpusfed, d->innocent_corpusfed, d->spam_classified,
	    d->innocent_classified};
	MYSQL_BIND in[17];

	b_u32(&in[0], &uid);
	for (int i = 0; i < 8; i++) {
		b_i64(&in[1 + i], &v[i]);  /* the new row's value */
		b_i64(&in[9 + i], &v[i]);  /* added to an existing row */
	}
	return simple(st, M_TOT_ADD, in, "totals write");
}

/* ---- signatures ---- */

static int
my_sig_put(struct store *st, uint32_t uid, const char *id, const void *data,
    size_t len, int32_t day)
{
	MYSQL_BIND in[5];
	uint32_t n = (uint32_t)len; /* store.c: len <= UINT32_MAX */
	char date[11];

	store_day_iso(day, date);
	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	b_bytes(&in[2], MYSQL_TYPE_BLOB, data, len);
	b_u32(&in[3], &n);
	b_str(&in[4], date);
	return simple(st, M_SIG_PUT, in, "signature write");
}

static int
my_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len)
{
	MYSQL_BIND in[2];
	char *v = NULL;
	int rc;

	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	rc = one(st, M_SIG_GET, in, id, &v, len);
	if (rc == ES_ENOTFOUND)
		store_seterr(st, "no signature \"%.32s\"", id);
	if (rc == 0)
		*data = v;
	return rc;
}

static int
my_sig_delete(struct store *st, uint32_t uid, const char *id)
{
	MYSQL_BIND in[2];

	b_u32(&in[0], &uid);
	b_str(&in[1], id);
	return simple(st, M_SIG_DEL, in, "signature delete");
}

/* ---- preferences and domains ---- */

static int
my_pref_get(struct store *st, uint32_t uid, const char *key, char **val)
{
	MYSQL_BIND in[2];

	b_u32(&in[0], &uid);
	b_str(&in[1], key);
	return one(st, M_PREF_GET, in, key, val, NULL);
}

static int
my_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val)
{
	MYSQL_BIND in[3];

	b_u32(&in[0], &uid);
	b_str(&in[1], key);
	if (val == NULL)
		return simple(st, M_PREF_DEL, in, "preference write");
	b_str(&in[2], val);
	return simple(st, M_PREF_SET, in, "preference write");
}

static int
my_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	MYSQL_BIND in;
	struct my_list c = {M_PREFS, &in, false, fn, NULL, arg};

	b_u32(&in, &uid);
	return with_retry(st, step_list, &c);
}

static int
my_domain_get(struct store *st, const char *domain, char **policy)
{
	MYSQL_BIND in;

	b_str(&in, domain);
	return one(st, M_DOM_GET, &in, domain, policy, NULL);
}

static int
my_domain_set(struct store *st, const char *domain, const char *policy)
{
	MYSQL_BIND in[2];

	b_str(&in[0], domain);
	if (policy == NULL)
		return simple(st, M_DOM_DEL, in, "domain policy write");
	b_str(&in[1], policy);
	return simple(st, M_DOM_SET, in, "domain policy write");
}

static int
my_domains(struct store *st, store_pair_fn *fn, void *arg)
{
	struct my_list c = {M_DOMS, NULL, false, fn, NULL, arg};

	return with_retry(st, step_list, &c);
}

/* ---- sender lists ---- */

static int
my_sender_set(struct store *st, uint32_t uid, const char *pattern,
    const char *list, int32_t day)
{
	MYSQL_BIND in[4];
	char date[11];

	store_day_iso(day, date);
	b_u32(&in[0], &uid);
	b_str(&in[1], pattern);
	b_str(&in[2], list);
	b_str(&in[3], date);
	return simple(st, M_SND_SET, in, "sender list write");
}

static int
my_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    const char *list, bool *removed)
{
	MYSQL_BIND in[3];
	int rc;

	b_u32(&in[0], &uid);
	b_str(&in[1], pattern);
	b_str(&in[2], list);
	if ((rc = simple(st, M_SND_DEL, in, "sender list write")) == 0)
		*removed =
		    mysql_stmt_affected_rows(drv(st)->stmt[M_SND_DEL]) > 0;
	return rc;
}

/* What sender_find's rows are matched against. */
struct my_find {
	const char *const *patterns;
	size_t n;
	enum store_sender_list *lists;
};

/* find_row - one row of the lookup: every request of that pattern. */
static int
find_row(const char *pattern, const char *kind, void *arg)
{
	struct my_find *f = arg;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->patterns[i], pattern) == 0)
			f->lists[i] = store_sender_list_of(kind);
	return 0;
}

static int
my_sender_find(struct store *st, uint32_t uid, const char *const *patterns,
    size_t n, enum store_sender_list *lists)
{
	MYSQL_BIND in[1 + STORE_SENDER_FIND_MAX];
	struct my_find f = {patterns, n, lists};
	struct my_list c = {M_SND_FIND, in, false, find_row, NULL, &f};

	b_u32(&in[0], &uid);
	for (size_t i = 0; i < STORE_SENDER_FIND_MAX; i++) {
		if (i < n) {
			b_str(&in[i + 1], patterns[i]);
		} else {
			memset(&in[i + 1], 0, sizeof(in[0]));
			in[i + 1].buffer_type = MYSQL_TYPE_NULL;
		}
	}
	return with_retry(st, step_list, &c);
}

static int
my_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	MYSQL_BIND in;
	struct my_list c = {M_SNDS, &in, false, fn, NULL, arg};

	b_u32(&in, &uid);
	return with_retry(st, step_list, &c);
}

/* ---- purge ---- */

struct my_purge {
	enum store_purge_rule rule;
	char date[11];
	uint64_t want;  /* keys to select */
	size_t got;     /* keys selected */
	uint64_t gone;  /* rows deleted */
};

/* purge_select - up to c->want keys of the rule into m->rows. */
static int
purge_select(struct store *st, struct my_purge *c)
{
	static const enum my_stmt which[] = {
		[STORE_PURGE_SIGNATURES] = M_PSEL_SIG,
		[STORE_PURGE_UNUSED] = M_PSEL_UNUSED,
		[STORE_PURGE_RARE] = M_PSEL_RARE,
		[STORE_PURGE_SINGLE] = M_PSEL_SINGLE,
	};
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	bool sig = c->rule == STORE_PURGE_SIGNATURES;
	MYSQL_BIND in[3], out[2];
	uint32_t uid = 0;
	uint64_t tok = 0;
	char id[STORE_SIG_ID_MAX + 1];
	unsigned long len[2] = {0, 0};
	my_bool nul[2];
	MYSQL_STMT *q;
	int rc;

	c->got = 0;
	b_str(&in[0], c->date);
	if (sig) {
		b_u64(&in[1], &c->want);
	} else {
		b_tok(m, &in[1], 0, STORE_CONTROL_TOKEN);
		b_u64(&in[2], &c->want);
	}
	if ((rc = fixed(st, which[c->rule], &q)) != 0 ||
	    (rc = run(st, q, in, "purge select")) != 0)
		return rc;
	b_out(&out[0], MYSQL_TYPE_LONG, &uid, 0, &len[0], &nul[0]);
	out[0].is_unsigned = 1;
	if (sig)
		b_out(&out[1], MYSQL_TYPE_BLOB, id, STORE_SIG_ID_MAX, &len[1],
		    &nul[1]);
	else
		b_out(&out[1], MYSQL_TYPE_LONGLONG, &tok, 0, &len[1], &nul[1]);
	out[1].is_unsigned = 1;
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = fail_stmt(st, q, "purge select");
	while (rc == 0 && c->got < PURGE_CHUNK &&
	    (rc = fetch(st, q, "purge select")) == 1) {
		rc = 0;
		r->uid[c->got] = uid;
		if (sig) {
			/* a longer id (not ours) cannot be deleted by key */
			if (len[1] > STORE_SIG_ID_MAX)
				continue;
			memcpy(r->sig[c->got], id, len[1]);
			r->len[c->got] = len[1];
		} else {
			r->tok[c->got] = tok;
		}
		c->got++;
	}
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

/* purge_delete - delete the c->got selected keys. */
static int
purge_delete(struct store *st, struct my_purge *c)
{
	struct my_store *m = drv(st);
	struct my_rows *r = m->rows;
	bool sig = c->rule == STORE_PURGE_SIGNATURES;
	int level = level_of(c->got);
	MYSQL_STMT *q;
	int rc;

	if ((rc = dyn(st, sig ? D_DEL_SIG : D_DEL_TOK, level, &q)) != 0)
		return rc;
	/* places beyond got repeat the last key: deleted once */
	for (size_t i = 0; i < ((size_t)1 << level); i++) {
		size_t k = i < c->got ? i : c->got - 1;

		b_u32(&m->bind[2 * i], &r->uid[k]);
		if (sig)
			b_bytes(&m->bind[2 * i + 1], MYSQL_TYPE_STRING,
			    r->sig[k], r->len[k]);
		else
			b_tok(m, &m->bind[2 * i + 1], i, r->tok[k]);
	}
	if ((rc = run(st, q, m->bind, "purge delete")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

static int
step_purge(struct store *st, void *ctx)
{
	struct my_purge *c = ctx;
	int rc;

	c->gone = 0;
	if ((rc = purge_select(st, c)) != 0 || c->got == 0)
		return rc;
	return purge_delete(st, c);
}

static int src_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);

static int
my_purge_batch(struct store *st, enum store_purge_rule rule, int32_t cutoff,
    size_t batch, uint64_t *deleted)
{
	struct my_purge c;
	int rc;

	*deleted = 0;
	if (rule == STORE_PURGE_SOURCES)
		return src_purge(st, cutoff, batch, deleted);
	c.rule = rule;
	store_day_iso(cutoff, c.date);
	while (*deleted < batch) {
		c.want = batch - *deleted < PURGE_CHUNK ? batch - *deleted :
							  PURGE_CHUNK;
		if ((rc = with_retry(st, step_purge, &c)) != 0)
			return rc;
		*deleted += c.gone;
		if (c.got < c.want)
			break;
	}
	return 0;
}

/* ---- sources ---- */

static int
my_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, int64_t now)
{
	MYSQL_BIND in[18];
	int64_t v[4], spam, reset, ins_spam;
	int rc;

	for (size_t i = 0; i < n; i++) {
		v[0] = d[i].spam;
		v[1] = d[i].innocent;
		v[2] = d[i].spam_corrections;
		v[3] = d[i].innocent_corrections;
		spam = d[i].spam;
		reset = d[i].reset_streak || d[i].innocent > 0;
		ins_spam = d[i].spam > 0 ? now : 0;
		b_str(&in[0], d[i].source);
		for (int k = 0; k < 4; k++) {
			b_i64(&in[1 + k], &v[k]); /* the new row's counts */
			b_i64(&in[9 + k], &v[k]); /* added to an old row */
		}
		b_i64(&in[5], &spam);          /* the new row's streak */
		b_i64(&in[6], &now);
		b_i64(&in[7], &now);
		b_i64(&in[8], &ins_spam);
		b_i64(&in[13], &reset);
		b_i64(&in[14], &spam);
		b_i64(&in[15], &now);
		b_i64(&in[16], &spam);
		b_i64(&in[17], &now);
		if ((rc = simple(st, M_SRC_ADD, in, "source write")) != 0)
			return rc;
	}
	return 0;
}

/* The columns of a source row as fetched. */
struct my_srcrow {
	char source[STORE_SOURCE_MAX + 1];
	uint64_t u[5];
	int64_t t[3];
	unsigned long len[9];
	my_bool nul[9];
	MYSQL_BIND out[9];
};

/* src_bind - bind q's result to r. */
static int
src_bind(struct store *st, MYSQL_STMT *q, struct my_srcrow *r)
{
	b_out(&r->out[0], MYSQL_TYPE_STRING, r->source, STORE_SOURCE_MAX,
	    &r->len[0], &r->nul[0]);
	for (int k = 0; k < 5; k++) {
		b_out(&r->out[1 + k], MYSQL_TYPE_LONGLONG, &r->u[k], 0,
		    &r->len[1 + k], &r->nul[1 + k]);
		r->out[1 + k].is_unsigned = 1;
	}
	for (int k = 0; k < 3; k++)
		b_out(&r->out[6 + k], MYSQL_TYPE_LONGLONG, &r->t[k], 0,
		    &r->len[6 + k], &r->nul[6 + k]);
	if (mysql_stmt_bind_result(q, r->out) != 0)
		return fail_stmt(st, q, "source read");
	return 0;
}

/* src_copy - the fetched row r into out. */
static void
src_copy(struct my_srcrow *r, struct store_source *out)
{
	cut(r->source, sizeof(r->source), r->len[0]);
	strlcpy(out->source, r->source, sizeof(out->source));
	out->spam = r->u[0];
	out->innocent = r->u[1];
	out->spam_corrections = r->u[2];
	out->innocent_corrections = r->u[3];
	out->spam_streak = r->u[4];
	out->first_seen = r->t[0];
	out->last_seen = r->t[1];
	out->last_spam = r->t[2];
}

struct my_srcget {
	struct store_source *rows;
	size_t n;
};

static int
step_src_get(struct store *st, void *ctx)
{
	struct my_srcget *c = ctx;
	struct my_srcrow r;
	MYSQL_BIND in;
	MYSQL_STMT *q;
	int rc;

	if ((rc = fixed(st, M_SRC_GET, &q)) != 0)
		return rc;
	for (size_t i = 0; i < c->n; i++) {
		b_str(&in, c->rows[i].source);
		if ((rc = run(st, q, &in, "source read")) != 0)
			return rc;
		if ((rc = src_bind(st, q, &r)) == 0 &&
		    (rc = fetch(st, q, "source read")) == 1) {
			src_copy(&r, &c->rows[i]);
			rc = 0;
		}
		mysql_stmt_free_result(q);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
my_sources_get(struct store *st, struct store_source *rows, size_t n)
{
	struct my_srcget c = {rows, n};

	return with_retry(st, step_src_get, &c);
}

struct my_srclist {
	int64_t since;
	store_source_fn *fn;
	void *arg;
};

static int
step_src_list(struct store *st, void *ctx)
{
	struct my_srclist *c = ctx;
	struct store_source row;
	struct my_srcrow r;
	MYSQL_BIND in;
	MYSQL_STMT *q;
	int rc;

	b_i64(&in, &c->since);
	if ((rc = fixed(st, M_SRC_LIST, &q)) != 0 ||
	    (rc = run(st, q, &in, "source list")) != 0)
		return rc;
	rc = src_bind(st, q, &r);
	while (rc == 0 && (rc = fetch(st, q, "source list")) == 1) {
		rc = 0;
		memset(&row, 0, sizeof(row));
		src_copy(&r, &row);
		if (c->fn(&row, c->arg) != 0)
			break;
	}
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

static int
my_sources_list(struct store *st, int64_t since, store_source_fn *fn,
    void *arg)
{
	struct my_srclist c = {since, fn, arg};

	return with_retry(st, step_src_list, &c);
}

struct my_srcpurge {
	int64_t limit;
	uint64_t want;
	uint64_t gone;
};

static int
step_src_purge(struct store *st, void *ctx)
{
	struct my_srcpurge *c = ctx;
	MYSQL_BIND in[2];
	MYSQL_STMT *q;
	int rc;

	b_i64(&in[0], &c->limit);
	b_u64(&in[1], &c->want);
	if ((rc = fixed(st, M_SRC_PURGE, &q)) != 0 ||
	    (rc = run(st, q, in, "purge sources")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

/* src_purge - one batch of the sources rule: an index range of
 * last_seen, deleted in one statement. */
static int
src_purge(struct store *st, int32_t cutoff, size_t batch, uint64_t *deleted)
{
	struct my_srcpurge c = {(int64_t)cutoff * 86400, batch, 0};
	int rc;

	if ((rc = with_retry(st, step_src_purge, &c)) != 0)
		return rc;
	*deleted = c.gone;
	return 0;
}

struct my_lock {
	enum my_stmt id;
	int64_t got;
	bool isnull;
};

static int
step_lock(struct store *st, void *ctx)
{
	struct my_lock *c = ctx;
	struct my_store *m = drv(st);
	MYSQL_BIND in, out;
	unsigned long len = 0;
	my_bool nul = 1;
	MYSQL_STMT *q;
	int rc;

	b_str(&in, m->lock_name);
	if ((rc = fixed(st, c->id, &q)) != 0 ||
	    (rc = run(st, q, &in, "purge lock")) != 0)
		return rc;
	c->got = 0;
	b_out(&out, MYSQL_TYPE_LONGLONG, &c->got, 0, &len, &nul);
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = fail_stmt(st, q, "purge lock");
	else if ((rc = fetch(st, q, "purge lock")) == 1)
		rc = 0;
	c->isnull = nul != 0;
	mysql_stmt_free_result(q);
	return rc;
}

static int
my_purge_lock(struct store *st)
{
	struct my_store *m = drv(st);
	struct my_lock c = {M_LOCK, 0, true};
	int rc;

	if ((rc = with_retry(st, step_lock, &c)) != 0)
		return rc;
	if (c.isnull) {
		store_seterr(st, "mysql: GET_LOCK('%s') failed", m->lock_name);
		return ES_ESTORE;
	}
	if (c.got != 1) {
		store_seterr(st, "mysql: another purge is running (it holds "
		    "the lock '%s')", m->lock_name);
		return ES_EBUSY;
	}
	m->purge_locked = true;
	return 0;
}

/* A lost connection has released the lock already. */
static void
my_purge_unlock(struct store *st)
{
	struct my_store *m = drv(st);
	struct my_lock c = {M_UNLOCK, 0, true};

	if (!m->purge_locked)
		return;
	m->purge_locked = false;
	if (m->db != NULL && !m->broken)
		step_lock(st, &c);
}

const struct store_ops store_mysql_ops = {
	.name = "mysql",
	.open = my_open,
	.close = my_close,
	.begin = my_begin,
	.commit = my_commit,
	.rollback = my_rollback,
	.user_uid = my_user_uid,
	.users = my_users,
	.tokens_get = my_tokens_get,
	.tokens_put = my_tokens_put,
	.totals_get = my_totals_get,
	.totals_add = my_totals_add,
	.sig_put = my_sig_put,
	.sig_get = my_sig_get,
	.sig_delete = my_sig_delete,
	.pref_get = my_pref_get,
	.pref_set = my_pref_set,
	.prefs = my_prefs,
	.domain_get = my_domain_get,
	.domain_set = my_domain_set,
	.domains = my_domains,
	.purge_batch = my_purge_batch,
	.maintain = NULL,
	.purge_lock = my_purge_lock,
	.purge_unlock = my_purge_unlock,
	.schema = my_schema,
	.sender_set = my_sender_set,
	.sender_remove = my_sender_remove,
	.sender_find = my_sender_find,
	.senders = my_senders,
	.sources_add = my_sources_add,
	.sources_get = my_sources_get,
	.sources_list = my_sources_list,
};
