/*
 * mysql_int.h - what the files of the "mysql" store driver share: its
 * limits, its statement ids, its state (struct my_store), the binding
 * helpers, and the functions one file offers the others. Private to
 * storage/mysql_*.c and store_mysql.c; nothing else includes it.
 *
 * The driver by concern (each file opens with its own manual):
 *   store_mysql.c    open, close and the driver's table of operations
 *   mysql_conn.c     connection, error mapping, retries, transactions,
 *                    the prepared statements and their helpers
 *   mysql_schema.c   the tables' check at open, db init/upgrade/check
 *   mysql_tokens.c   token reads and writes, totals
 *   mysql_sigs.c     signatures
 *   mysql_prefs.c    users, preferences, domain policies, sender lists
 *   mysql_sources.c  source (client address) statistics
 *   mysql_purge.c    the purge rules
 *   mysql_lock.c     the purge lock (a row of edgespam_lock)
 *   mysql_history.c  history rows (edgespam_history)
 *   mysql_daily.c    daily counts (edgespam_daily)
 */
#ifndef MYSQL_INT_H
#define MYSQL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mysql.h>

#include "store.h"
#include "store_int.h"

/* Ids per batched read or write; 2^(TOK_LEVELS-1) = TOK_CHUNK. */
#define TOK_CHUNK 256
#define TOK_LEVELS 9
/* Tries of a statement that may be repeated (see mysql_conn.c). */
#define MY_TRIES 3
/* Bound of a fetched name or value (DSPAM's columns are at most 255). */
#define MY_TEXT_MAX 1024
/* A lock holder's name ("host pid N (handle K)"; edgespam_lock.holder). */
#define MY_HOLDER_MAX 255
/* The purge lock's life without a renewal when store_params has none. */
#define MY_PURGE_LOCK_S 300
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
	M_PDEL_SIG,
	M_PDEL_UNUSED,
	M_PDEL_RARE,
	M_PDEL_SINGLE,
	M_LOCK_ROW,
	M_LOCK_TAKE,
	M_LOCK_READ,
	M_LOCK_RENEW,
	M_LOCK_FREE,
	M_SND_SET,
	M_SND_DEL,
	M_SND_FIND,
	M_SNDS,
	M_SRC_ADD,
	M_SRC_GET,
	M_SRC_LIST,
	M_SRC_PURGE,
	M_HIST_ADD,
	M_HIST_LIST,
	M_HIST_COUNT,
	M_HIST_CORRECT,
	M_HIST_ACTION,
	M_HIST_ID_EXISTS,
	M_HIST_PURGE,
	M_HIST_WAS,
	M_DAILY_ADD,
	M_DAILY_LIST,
	M_DAILY_PURGE,
	M_COUNT
};

/* The statements built for n = 2^level places. */
enum my_dyn {
	D_GET,     /* token read */
	D_PUT,     /* token upsert */
	D_COUNT
};

/* The deltas of one upsert. */
struct my_rows {
	uint64_t tok[TOK_CHUNK];
	int64_t spam[TOK_CHUNK];
	int64_t inno[TOK_CHUNK];
	double weight[TOK_CHUNK];
	char text[TOK_CHUNK][TOK_TEXT];      /* ids as text (CHAR tokens) */
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
	char holder[MY_HOLDER_MAX + 1]; /* this handle's name as a holder */
	unsigned lock_s;       /* the purge lock's life without renewal */
	/* state */
	bool broken;           /* the connection was lost: reconnect */
	bool in_tx;
	unsigned tx_stmts;     /* statements done in this transaction */
	unsigned last_errno;   /* of the last failure */
	bool tok_text;         /* dspam_token_data.token is CHAR (DSPAM) */
	bool galera;           /* the server is a Galera node (wsrep_on) */
	bool purge_locked;     /* this handle holds the purge lock */
	double lock_renewed;   /* when it last renewed it (monotonic, s) */
};

/* drv - the driver state of st. */
static inline struct my_store *
drv(struct store *st)
{
	return st->st_drv;
}

/* ---- binding ---- */

/* b_u32 - an unsigned INT parameter, or a result column (into *v). */
static inline void
b_u32(MYSQL_BIND *b, const uint32_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)v;
	b->is_unsigned = 1;
}

static inline void
b_u64(MYSQL_BIND *b, const uint64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
	b->is_unsigned = 1;
}

static inline void
b_i64(MYSQL_BIND *b, const int64_t *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
}

static inline void
b_dbl(MYSQL_BIND *b, const double *v)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = MYSQL_TYPE_DOUBLE;
	b->buffer = (void *)v;
}

/* b_bytes - a parameter of len bytes (kept by the caller until execute). */
static inline void
b_bytes(MYSQL_BIND *b, enum enum_field_types type, const void *s,
    size_t len)
{
	memset(b, 0, sizeof(*b));
	b->buffer_type = type;
	b->buffer = (void *)(len > 0 ? s : "");
	b->buffer_length = (unsigned long)len;
}

static inline void
b_str(MYSQL_BIND *b, const char *s)
{
	b_bytes(b, MYSQL_TYPE_STRING, s, strlen(s));
}

/* b_out - a result column of up to cap bytes into buf. */
static inline void
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
static inline void
cut(char *buf, size_t cap, unsigned long len)
{
	buf[len < cap ? len : cap - 1] = '\0';
}

/* b_tok - token id i of rows for a comparison with the token column. */
static inline void
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

/* ---- mysql_conn.c ---- */

/* A unit of work that my_with_retry() may repeat: 0 or an es_err code. */
typedef int my_step_fn(struct store *st, void *ctx);

/*
 * my_fail_db, my_fail_stmt - record the connection's (statement q's) last
 * error as the store's message, naming what; mark the handle broken when
 * the connection is gone. Return the es_err code of the error.
 * my_nomem - record out of memory for what; ES_ENOMEM.
 */
int my_fail_db(struct store *st, const char *what);
int my_fail_stmt(struct store *st, MYSQL_STMT *q, const char *what);
int my_nomem(struct store *st, const char *what);

/* my_disconnect - close m's connection and its statements (none: no-op). */
void my_disconnect(struct my_store *m);
/* my_connect - a new connection with the session settings; 0 or es_err. */
int my_connect(struct store *st);

/* my_prep - prepare sql into *slot unless it is there (the caller closes
 * a statement it keeps outside struct my_store). */
int my_prep(struct store *st, MYSQL_STMT **slot, const char *sql);
/* my_fixed - statement id (my_sql), prepared on first use and kept. */
int my_fixed(struct store *st, enum my_stmt id, MYSQL_STMT **out);
/* my_run - bind in (may be NULL) and execute q, storing its result. */
int my_run(struct store *st, MYSQL_STMT *q, MYSQL_BIND *in, const char *what);
/* my_fetch - q's next row: 1, 0 at the end, or an es_err code. */
int my_fetch(struct store *st, MYSQL_STMT *q, const char *what);
/* my_level_of - the smallest k with 2^k >= n (n <= TOK_CHUNK). */
int my_level_of(size_t n);
/* my_dyn_stmt - dynamic statement kind for 2^level places, prepared on
 * first use and kept. */
int my_dyn_stmt(struct store *st, enum my_dyn kind, int level,
    MYSQL_STMT **out);

/* my_with_retry - fn(st, ctx), reconnecting and repeating it where that
 * is safe (see mysql_conn.c); 0 or fn's es_err code. */
int my_with_retry(struct store *st, my_step_fn *fn, void *ctx);
/* my_simple - run statement id with parameters in, no result. */
int my_simple(struct store *st, enum my_stmt id, MYSQL_BIND *in,
    const char *what);
/* my_one - the one-column value statement id finds (*val, caller frees,
 * *len bytes before its NUL when len is not NULL), or ES_ENOTFOUND. */
int my_one(struct store *st, enum my_stmt id, MYSQL_BIND *in, const char *key,
    char **val, size_t *len);
/* my_step_list - the step of a listing; ctx is a struct my_list. */
int my_step_list(struct store *st, void *ctx);

/* The store operations of transactions (store_ops). */
int my_begin(struct store *st, bool write);
void my_rollback(struct store *st);
int my_commit(struct store *st);

/* ---- store_mysql.c ---- */

/* my_init - the driver state for p (st->st_drv), not yet connected;
 * my_close frees it (and closes the connection). */
int my_init(struct store *st, const struct store_params *p);
void my_close(struct store *st);

/* ---- mysql_schema.c ---- */

/* my_check_tables - open's check: create missing tables, refuse a token
 * table without weight, learn the token column's type. */
int my_check_tables(struct store *st);
int my_schema(struct store *st, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg,
    size_t *missing);

/* ---- the other operations of store_ops, by file ---- */

/* mysql_prefs.c */
int my_user_uid(struct store *st, const char *name, bool create,
    uint32_t *uid);
int my_users(struct store *st, store_user_fn *fn, void *arg);
int my_pref_get(struct store *st, uint32_t uid, const char *key, char **val);
int my_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val);
int my_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg);
int my_domain_get(struct store *st, const char *domain, char **policy);
int my_domain_set(struct store *st, const char *domain, const char *policy);
int my_domains(struct store *st, store_pair_fn *fn, void *arg);
int my_sender_set(struct store *st, uint32_t uid, const char *pattern,
    const char *list, int32_t day);
int my_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    const char *list, bool *removed);
int my_sender_find(struct store *st, uint32_t uid,
    const char *const *patterns, size_t n, enum store_sender_list *lists);
int my_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg);

/* mysql_tokens.c */
int my_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n);
int my_tokens_put(struct store *st, uint32_t uid,
    const struct store_delta *d, size_t n, int32_t day);
int my_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg);
int my_totals_get(struct store *st, uint32_t uid, struct store_totals *t);
int my_totals_add(struct store *st, uint32_t uid,
    const struct store_totals *d);

/* mysql_sigs.c */
int my_sig_put(struct store *st, uint32_t uid, const char *id,
    const void *data, size_t len, int32_t day);
int my_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len);
int my_sig_delete(struct store *st, uint32_t uid, const char *id);

/* mysql_sources.c */
int my_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, int64_t now);
int my_sources_get(struct store *st, struct store_source *rows, size_t n);
int my_sources_list(struct store *st, int64_t since, store_source_fn *fn,
    void *arg);

/* mysql_purge.c */
int my_purge_batch(struct store *st, enum store_purge_rule rule,
    int32_t cutoff, size_t batch, uint64_t *deleted);

/* mysql_lock.c */
/* my_holder_name - a new handle's name as a lock holder,
 * "host pid N (handle K)". */
void my_holder_name(char *buf, size_t len);
int my_purge_lock(struct store *st);
void my_purge_unlock(struct store *st);
/* my_purge_renew - inside a purge batch's transaction: renew the purge
 * lock when a third of its life has passed; ES_EBUSY when another
 * handle took it meanwhile (it had expired). */
int my_purge_renew(struct store *st);

/* mysql_history.c */
int my_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id);
int my_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg);
int my_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n);
/* mysql_daily.c */
int my_daily_add(struct store *st, uint32_t uid, int32_t day,
    const struct store_daily *d);
int my_daily_list(struct store *st, uint32_t uid, int32_t since,
    store_daily_fn *fn, void *arg);
/* my_daily_purge - one batch of the daily rule (mysql_purge.c). */
int my_daily_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);
int my_history_correct(struct store *st, uint32_t uid, const char *sig,
    enum store_correction c, int64_t now, bool *changed,
    struct store_history_was *was);
int my_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action, bool *changed);
/* my_history_purge - one batch of the history rule (mysql_purge.c). */
int my_history_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted);

#endif /* MYSQL_INT_H */
