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
 * whole seconds, and checks the tables in one information_schema query
 * (mysql_schema.c): a missing table is created from the schema (CREATE TABLE IF NOT
 * EXISTS); a dspam_token_data without edgespam's weight column (a DSPAM
 * database) is refused with a message asking for `edgespam db upgrade`,
 * which store_schema() implements, so no learned weight is ever dropped
 * silently. A token column of DSPAM's speed variant (CHAR(20) holding
 * the decimal id) is detected and read and written as text; counts and
 * weights are the same either way.
 *
 * The driver is split by concern, each file with its own manual
 * (mysql_int.h lists them): the connection, errors and retries in
 * mysql_conn.c, tokens and totals in mysql_tokens.c, signatures in
 * mysql_sigs.c, users, preferences, domains and sender lists in
 * mysql_prefs.c, sources in mysql_sources.c, the schema in
 * mysql_schema.c, the purge in mysql_purge.c and its lock in
 * mysql_lock.c; this file opens and closes the handle and holds the
 * table of operations.
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
 * ALTER TABLE of a big DSPAM table takes long).
 */
#include "mysql_int.h"
#include "store_drivers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mysql.h>

#include "es_alloc.h"
#include "es_err.h"

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

void
my_close(struct store *st)
{
	struct my_store *m = drv(st);

	if (m == NULL)
		return;
	if (m->in_tx)
		my_rollback(st);
	my_disconnect(m);
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
int
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
		return my_nomem(st, "open");
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
		return my_nomem(st, "open");
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
	m->lock_s = p->mysql_purge_lock_s != 0 ? p->mysql_purge_lock_s :
						  MY_PURGE_LOCK_S;
	my_holder_name(m->holder, sizeof(m->holder));
	return 0;
}

static int
my_open(struct store *st, const struct store_params *p)
{
	int rc;

	if ((rc = my_init(st, p)) != 0)
		return rc;
	if ((rc = my_connect(st)) != 0 || (rc = my_check_tables(st)) != 0) {
		my_close(st);
		return rc;
	}
	return 0;
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
	.tokens_list = my_tokens_list,
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
	.history_add = my_history_add,
	.history_list = my_history_list,
	.history_count = my_history_count,
	.history_correct = my_history_correct,
	.history_set_action = my_history_set_action,
	.daily_add = my_daily_add,
	.daily_list = my_daily_list,
};
