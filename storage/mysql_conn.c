/*
 * mysql_conn.c - the "mysql" driver's connection, its error mapping,
 * retries and transactions, and the prepared statements every other
 * part of the driver runs through (my_sql, the dynamic statements, the
 * one-value and listing helpers).
 *
 * SQL: every value is bound to a prepared statement; none is ever
 * written into SQL text. Statements are prepared on first use and kept
 * per connection.
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
 * transaction it is ES_ETRANSIENT with store_conflict() true, and the
 * caller rolls back and retries the message. A Galera cluster reports
 * a certification failure the same way, with the same code: at COMMIT
 * when another node's write to the same rows was certified first, or at
 * the next statement when such a write, applied here, aborted ours
 * (a brute-force abort); the driver treats it exactly as a deadlock
 * and says which it may be. A node that is not synced (1047, not
 * prepared for application use) is ES_ETRANSIENT but no conflict: a
 * retry helps only once the node has rejoined.
 * A lock wait timeout (1205) is ES_ETRANSIENT at once: the
 * busy timeout has already been spent waiting. Too many connections,
 * a read-only or not yet synced server are ES_ETRANSIENT too; an
 * unreachable server at open is ES_ETRANSIENT with a message naming the
 * host or socket; anything else (a refused login, a server certificate
 * that fails verification) is ES_ESTORE with the server's or the
 * client library's text.
 * The password never appears in a message.
 */
#include "mysql_int.h"

#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "es_alloc.h"
#include "es_err.h"

#define TOTALS_COLS                                                         \
	"spam_learned, innocent_learned, spam_misclassified, "              \
	"innocent_misclassified, spam_corpusfed, innocent_corpusfed, "      \
	"spam_classified, innocent_classified"
#define CLAMP_ADD(c) c " = GREATEST(CAST(" c " AS SIGNED) + ?, 0)"
#define SOURCE_COLS                                                         \
	"spam, innocent, spam_corrections, innocent_corrections, "          \
	"spam_streak, first_seen, last_seen, last_spam"
#define HIST_COLS                                                           \
	"id, uid, created, queue_id, client, sender, from_hdr, subject, "   \
	"verdict, probability, signature, action, correction, corrected"
/* uid, since, until, verdict twice ('' for any), id twice (0 for any) */
#define HIST_WHERE                                                          \
	" FROM edgespam_history WHERE uid = ? AND created >= ? AND "        \
	"created < ? AND (? = '' OR verdict = ?) AND (? = 0 OR id = ?)"
/* One purge batch is one DELETE over the rule's index range, in the
 * index's own order (last_hit, then the primary key): see mysql_purge.c. */
#define PDEL_TOKENS                                                         \
	"DELETE FROM dspam_token_data WHERE last_hit < ? AND token <> ?"
#define PDEL_END " ORDER BY last_hit, uid, token LIMIT ?"

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
	[M_PDEL_SIG] = "DELETE FROM dspam_signature_data WHERE created_on < ? "
		       "ORDER BY created_on, uid, signature LIMIT ?",
	[M_PDEL_UNUSED] = PDEL_TOKENS PDEL_END,
	[M_PDEL_RARE] = PDEL_TOKENS
	    " AND innocent_hits * 2 + spam_hits < 5" PDEL_END,
	[M_PDEL_SINGLE] = PDEL_TOKENS
	    " AND ((spam_hits = 1 AND innocent_hits = 0) OR "
	    "(spam_hits = 0 AND innocent_hits = 1))" PDEL_END,
	/* the purge lock (mysql_lock.c): name, holder, life in seconds */
	[M_LOCK_ROW] = "INSERT IGNORE INTO edgespam_lock (name) VALUES (?)",
	[M_LOCK_TAKE] = "UPDATE edgespam_lock SET holder = ?, "
			"taken = UNIX_TIMESTAMP(), "
			"expires = UNIX_TIMESTAMP() + ? WHERE name = ? AND "
			"(expires <= UNIX_TIMESTAMP() OR holder = ?)",
	[M_LOCK_READ] = "SELECT holder, taken, expires - UNIX_TIMESTAMP() "
			"FROM edgespam_lock WHERE name = ?",
	[M_LOCK_RENEW] = "UPDATE edgespam_lock SET "
			 "expires = UNIX_TIMESTAMP() + ? "
			 "WHERE name = ? AND holder = ?",
	[M_LOCK_FREE] = "UPDATE edgespam_lock SET expires = 0 "
			"WHERE name = ? AND holder = ?",
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
	[M_HIST_ADD] = "INSERT INTO edgespam_history (uid, created, queue_id, "
		       "client, sender, from_hdr, subject, verdict, "
		       "probability, signature, action) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[M_HIST_LIST] = "SELECT " HIST_COLS HIST_WHERE
			" ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
	[M_HIST_COUNT] = "SELECT COUNT(*)" HIST_WHERE,
	[M_HIST_CORRECT] = "UPDATE edgespam_history SET correction = ?, "
			   "corrected = ? WHERE uid = ? AND signature = ?",
	[M_HIST_ACTION] = "UPDATE edgespam_history SET action = ? "
			  "WHERE uid = ? AND id = ?",
	[M_HIST_ID_EXISTS] = "SELECT COUNT(*) FROM edgespam_history "
			     "WHERE uid = ? AND id = ?",
	[M_HIST_PURGE] = "DELETE FROM edgespam_history WHERE created < ? "
			 "ORDER BY created LIMIT ?",
	[M_HIST_WAS] = "SELECT created, correction FROM edgespam_history "
		       "WHERE uid = ? AND signature = ? "
		       "ORDER BY created, id LIMIT 1",
	[M_DAILY_ADD] = "INSERT INTO edgespam_daily (uid, day, spam, "
			"innocent, whitelisted, missed_spam, false_positives) "
			"VALUES (?, ?, GREATEST(?, 0), GREATEST(?, 0), "
			"GREATEST(?, 0), GREATEST(?, 0), GREATEST(?, 0)) "
			"ON DUPLICATE KEY UPDATE spam = GREATEST(spam + ?, 0), "
			"innocent = GREATEST(innocent + ?, 0), "
			"whitelisted = GREATEST(whitelisted + ?, 0), "
			"missed_spam = GREATEST(missed_spam + ?, 0), "
			"false_positives = GREATEST(false_positives + ?, 0)",
	[M_DAILY_LIST] = "SELECT day, spam, innocent, whitelisted, "
			 "missed_spam, false_positives FROM edgespam_daily "
			 "WHERE uid = ? AND day >= ? ORDER BY day",
	[M_DAILY_PURGE] = "DELETE FROM edgespam_daily WHERE day < ? "
			  "ORDER BY day LIMIT ?",
};

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
	store_seterr(st, "mysql: %s: %s (%u%s)", what, msg, e,
	    e == ER_LOCK_DEADLOCK && m->galera ?
		", a certification conflict between Galera nodes or a deadlock" :
		"");
	if (e == ER_LOCK_DEADLOCK)
		store_set_conflict(st);
	return map(e);
}

/* my_fail_db - the connection's last error. */
int
my_fail_db(struct store *st, const char *what)
{
	MYSQL *db = drv(st)->db;

	return fail_err(st, mysql_errno(db), mysql_error(db), what);
}

/* my_fail_stmt - a statement's last error. */
int
my_fail_stmt(struct store *st, MYSQL_STMT *q, const char *what)
{
	return fail_err(st, mysql_stmt_errno(q), mysql_stmt_error(q), what);
}

/* my_nomem - out of memory for what. */
int
my_nomem(struct store *st, const char *what)
{
	store_seterr(st, "mysql: %s: out of memory", what);
	return ES_ENOMEM;
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

/* my_disconnect - close the connection and its statements. */
void
my_disconnect(struct my_store *m)
{
	close_stmts(m);
	if (m->db != NULL)
		mysql_close(m->db);
	m->db = NULL;
	m->in_tx = false;
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
		return my_fail_db(st, what);
	b_u32(&b, &u);
	if (mysql_stmt_prepare(q, sql, strlen(sql)) != 0 ||
	    mysql_stmt_bind_param(q, &b) != 0 || mysql_stmt_execute(q) != 0)
		rc = my_fail_stmt(st, q, what);
	mysql_stmt_close(q);
	return rc;
}

/*
 * galera_setup - note whether the server is a Galera node (wsrep_on; a
 * server without the variable, such as MySQL, is not), and on a Galera
 * node let the schema connection of db init/check/upgrade read only
 * after its node has applied what the cluster committed before
 * (wsrep_sync_wait = 1): a table created through another node a moment
 * ago is then seen. Data connections keep the server's setting: stale
 * reads there cost a little accuracy, never a count (writes are
 * increments), and a causal wait on every read would slow each message.
 */
static int
galera_setup(struct store *st)
{
	struct my_store *m = drv(st);
	MYSQL_RES *r;
	MYSQL_ROW row;

	m->galera = false;
	if (mysql_query(m->db, "SELECT @@wsrep_on") != 0) {
		if (mysql_errno(m->db) == ER_UNKNOWN_SYSTEM_VARIABLE)
			return 0;
		return my_fail_db(st, "session setup");
	}
	if ((r = mysql_store_result(m->db)) == NULL)
		return my_fail_db(st, "session setup");
	row = mysql_fetch_row(r);
	m->galera = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
	mysql_free_result(r);
	if (m->galera && m->schema_io &&
	    mysql_query(m->db, "SET SESSION wsrep_sync_wait = 1") != 0)
		return my_fail_db(st, "session setup");
	return 0;
}

/* my_connect - a new connection with the session settings. */
int
my_connect(struct store *st)
{
	struct my_store *m = drv(st);
	int rc;

	my_disconnect(m);
	m->broken = false;
	if ((m->db = mysql_init(NULL)) == NULL)
		return my_nomem(st, "connect");
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
		my_disconnect(m);
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
		rc = my_fail_db(st, "session setup");
		my_disconnect(m);
		return rc;
	}
	rc = exec_once(st, "SET SESSION innodb_lock_wait_timeout = ?",
	    m->lock_wait_s, "session lock wait");
	if (rc == 0)
		rc = galera_setup(st);
	if (rc != 0)
		my_disconnect(m);
	return rc;
}

/* ---- statements ---- */

/* my_prep - prepare sql into *slot unless it is there. */
int
my_prep(struct store *st, MYSQL_STMT **slot, const char *sql)
{
	struct my_store *m = drv(st);
	MYSQL_STMT *q;

	if (*slot != NULL)
		return 0;
	if ((q = mysql_stmt_init(m->db)) == NULL)
		return my_fail_db(st, "prepare");
	if (mysql_stmt_prepare(q, sql, strlen(sql)) != 0) {
		int rc = my_fail_stmt(st, q, "prepare");

		mysql_stmt_close(q);
		return rc;
	}
	*slot = q;
	return 0;
}

/* my_fixed - statement id, prepared on first use. */
int
my_fixed(struct store *st, enum my_stmt id, MYSQL_STMT **out)
{
	struct my_store *m = drv(st);
	int rc = my_prep(st, &m->stmt[id], my_sql[id]);

	*out = m->stmt[id];
	return rc;
}

/* my_run - bind in (may be NULL) and execute q; results are stored whole,
 * so a callback never sees half a result that a retry would repeat. */
int
my_run(struct store *st, MYSQL_STMT *q, MYSQL_BIND *in, const char *what)
{
	if ((in != NULL && mysql_stmt_bind_param(q, in) != 0) ||
	    mysql_stmt_execute(q) != 0)
		return my_fail_stmt(st, q, what);
	if (mysql_stmt_field_count(q) > 0 && mysql_stmt_store_result(q) != 0)
		return my_fail_stmt(st, q, what);
	return 0;
}

/* my_fetch - the next row: 1, 0 at the end, or an es_err code. A column
 * cut to its buffer (MYSQL_DATA_TRUNCATED) is the caller's to handle. */
int
my_fetch(struct store *st, MYSQL_STMT *q, const char *what)
{
	int r = mysql_stmt_fetch(q);

	if (r == 0 || r == MYSQL_DATA_TRUNCATED)
		return 1;
	if (r == MYSQL_NO_DATA)
		return 0;
	return my_fail_stmt(st, q, what);
}

/* ---- retries and transactions ---- */

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
		return my_fail_db(st, "restart transaction");
	m->tx_stmts = 0;
	return 0;
}

/* my_with_retry - fn, reconnecting and repeating it where that is safe. */
int
my_with_retry(struct store *st, my_step_fn *fn, void *ctx)
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
			if ((rc = my_connect(st)) != 0)
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
		return my_fail_db(st, "begin");
	return 0;
}

/* Both kinds start alike: START TRANSACTION takes no lock, InnoDB locks
 * rows as they are written, and a read transaction may write too. */
int
my_begin(struct store *st, bool write)
{
	struct my_store *m = drv(st);
	int rc;

	(void)write;
	if ((rc = my_with_retry(st, step_begin, NULL)) != 0)
		return rc;
	m->in_tx = true;
	m->tx_stmts = 0;
	return 0;
}

void
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

int
my_commit(struct store *st)
{
	struct my_store *m = drv(st);
	int rc = 0;

	if (m->db == NULL || m->broken) {
		store_seterr(st, "mysql: the connection to %s was lost in a "
		    "transaction", m->where);
		rc = ES_ETRANSIENT;
	} else if (mysql_query(m->db, "COMMIT") != 0) {
		rc = my_fail_db(st, "commit");
	}
	if (rc != 0)
		my_rollback(st);
	m->in_tx = false;
	return rc;
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

	if ((rc = my_fixed(st, c->id, &q)) != 0)
		return rc;
	return my_run(st, q, c->in, c->what);
}

/* my_simple - run statement id with parameters in. */
int
my_simple(struct store *st, enum my_stmt id, MYSQL_BIND *in, const char *what)
{
	struct my_simple c = {id, in, what};

	return my_with_retry(st, step_simple, &c);
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
		return my_nomem(st, "read");
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_BLOB;
	b.buffer = p;
	b.buffer_length = len;
	if (len > 0 && mysql_stmt_fetch_column(q, &b, col, 0) != 0) {
		es_free(p);
		return my_fail_stmt(st, q, "read");
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

	if ((rc = my_fixed(st, c->id, &q)) != 0 ||
	    (rc = my_run(st, q, c->in, "read")) != 0)
		return rc;
	b_out(&out, MYSQL_TYPE_BLOB, NULL, 0, &c->len, &nul);
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = my_fail_stmt(st, q, "read");
	else if ((rc = my_fetch(st, q, "read")) == 1)
		rc = fetch_copy(st, q, 0, c->len, &c->val);
	else if (rc == 0) {
		store_seterr(st, "\"%.255s\" is not set", c->key);
		rc = ES_ENOTFOUND;
	}
	mysql_stmt_free_result(q);
	return rc;
}

/* my_one - the value statement id finds, or ES_ENOTFOUND. */
int
my_one(struct store *st, enum my_stmt id, MYSQL_BIND *in, const char *key,
    char **val, size_t *len)
{
	struct my_one c = {id, in, key, NULL, 0};
	int rc = my_with_retry(st, step_one, &c);

	if (rc == 0) {
		*val = c.val;
		if (len != NULL)
			*len = c.len;
	}
	return rc;
}


int
my_step_list(struct store *st, void *ctx)
{
	struct my_list *c = ctx;
	char a[MY_TEXT_MAX + 1], b[MY_TEXT_MAX + 1];
	unsigned long la = 0, lb = 0;
	my_bool na = 0, nb = 0;
	uint32_t uid = 0;
	MYSQL_BIND out[2];
	MYSQL_STMT *q;
	int rc;

	if ((rc = my_fixed(st, c->id, &q)) != 0 ||
	    (rc = my_run(st, q, c->in, "list")) != 0)
		return rc;
	if (c->uid_first)
		b_u32(&out[0], &uid);
	else
		b_out(&out[0], MYSQL_TYPE_STRING, a, MY_TEXT_MAX, &la, &na);
	b_out(&out[1], MYSQL_TYPE_STRING, b, MY_TEXT_MAX, &lb, &nb);
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "list");
	while (rc == 0 && (rc = my_fetch(st, q, "list")) == 1) {
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

/* my_level_of - the smallest k with 2^k >= n (n <= TOK_CHUNK). */
int
my_level_of(size_t n)
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
	};
	static const char *const more[D_COUNT] = {
		[D_GET] = ", ?",
		[D_PUT] = (" UNION ALL SELECT CAST(? AS UNSIGNED), "
			   "CAST(? AS SIGNED), CAST(? AS SIGNED), ? + 0e0"),
	};
	static const char *const tail[D_COUNT] = {
		[D_GET] = ")",
		[D_PUT] = ") AS d ORDER BY d.t ON DUPLICATE KEY UPDATE "
			  "spam_hits = GREATEST(CAST(dspam_token_data.spam_hits "
			  "AS SIGNED) + d.s, 0), innocent_hits = GREATEST(CAST("
			  "dspam_token_data.innocent_hits AS SIGNED) + d.i, 0), "
			  "last_hit = VALUES(last_hit), "
			  "weight = dspam_token_data.weight + d.w",
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

/* my_dyn_stmt - statement kind for 2^level places, prepared on first use. */
int
my_dyn_stmt(struct store *st, enum my_dyn kind, int level, MYSQL_STMT **out)
{
	struct my_store *m = drv(st);
	char *sql;
	int rc;

	*out = NULL;
	if (m->dyn[kind][level] == NULL) {
		if ((sql = es_malloc(DYN_SQL_MAX)) == NULL)
			return my_nomem(st, "prepare");
		if (!dyn_sql(kind, (size_t)1 << level, sql, DYN_SQL_MAX)) {
			es_free(sql);
			store_seterr(st, "mysql: statement too long");
			return ES_EINTERNAL;
		}
		rc = my_prep(st, &m->dyn[kind][level], sql);
		es_free(sql);
		if (rc != 0)
			return rc;
	}
	*out = m->dyn[kind][level];
	return 0;
}
