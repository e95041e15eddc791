/*
 * mysql_history.c - the "mysql" driver's history rows (store.h,
 * "History") in edgespam_history: add, list and count with the query's
 * filters, corrections, the action of a row, and the history purge
 * rule (called from mysql_purge.c).
 *
 * Texts are VARBINARY, stored as the bytes given. The search (ASCII
 * letters without regard to case, every other byte exactly) is not
 * written in SQL, where a binary column does not fold case and a text
 * collation folds more than ASCII: a query with a search reads the
 * user's rows that the other filters select and applies
 * store_history_match() to them, with the offset and limit counted
 * here; a query without one is paged by the server (LIMIT ? OFFSET ?).
 * Either way the rows come from the index on (uid, created), newest
 * first.
 *
 * An UPDATE reports the rows it changed, not those it found: when an
 * action changes nothing, one COUNT(*) says whether the row was there
 * (its value already the one asked for). A correction first reads the
 * signature's oldest row (its time and former correction, for the daily
 * counts), which also says whether there is one, then updates.
 *
 * Errors and retries as mysql_conn.c. One thread per handle.
 */
#include "mysql_int.h"

#include <stdint.h>
#include <string.h>

#include <mysql.h>

#include "es_err.h"

/* The columns of a row as fetched. */
struct mh_row {
	int64_t id, created, corrected;
	uint32_t uid;
	double probability;
	char qid[STORE_HISTORY_QID_MAX + 1];
	char client[STORE_HISTORY_CLIENT_MAX + 1];
	char sender[STORE_HISTORY_TEXT_MAX + 1];
	char from[STORE_HISTORY_TEXT_MAX + 1];
	char subject[STORE_HISTORY_TEXT_MAX + 1];
	char verdict[16];
	char sig[STORE_HISTORY_SIG_MAX + 1];
	char action[16];
	char correction[16];
	unsigned long len[14];
	my_bool nul[14];
	MYSQL_BIND out[14];
};

/* The filters of a query as bound: ?1..?7 of M_HIST_LIST, M_HIST_COUNT. */
struct mh_filter {
	uint32_t uid;
	int64_t since, until, id;
	const char *verdict; /* "" for any */
	uint64_t limit, offset;
	MYSQL_BIND in[9];
};

static int
step_add(struct store *st, void *ctx)
{
	void **c = ctx;
	const struct store_history *r = c[0];
	int64_t *id = c[1];
	MYSQL_BIND in[11];
	MYSQL_STMT *q;
	int rc;

	b_u32(&in[0], &r->uid);
	b_i64(&in[1], &r->time);
	b_str(&in[2], r->queue_id);
	b_str(&in[3], r->client);
	b_str(&in[4], r->sender);
	b_str(&in[5], r->from);
	b_str(&in[6], r->subject);
	b_str(&in[7], store_verdict_text(r->verdict));
	b_dbl(&in[8], &r->probability);
	b_str(&in[9], r->signature);
	b_str(&in[10], store_action_text(r->action));
	if ((rc = my_fixed(st, M_HIST_ADD, &q)) != 0 ||
	    (rc = my_run(st, q, in, "history add")) != 0)
		return rc;
	*id = (int64_t)mysql_stmt_insert_id(q);
	return 0;
}

int
my_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id)
{
	struct store_history r = *row;
	void *c[2] = {&r, id};

	r.uid = uid;
	return my_with_retry(st, step_add, c);
}

/* filter_bind - q's filters (search aside) into f->in. */
static void
filter_bind(struct mh_filter *f, uint32_t uid,
    const struct store_history_query *q, bool paged)
{
	f->uid = uid;
	f->since = q->since;
	f->until = q->until > 0 ? q->until : INT64_MAX;
	f->id = q->id > 0 ? q->id : 0;
	f->verdict = q->verdict != STORE_VERDICT_ANY ?
	    store_verdict_text(q->verdict) : "";
	f->limit = paged && q->limit > 0 ? q->limit : UINT64_MAX;
	f->offset = paged ? q->offset : 0;
	b_u32(&f->in[0], &f->uid);
	b_i64(&f->in[1], &f->since);
	b_i64(&f->in[2], &f->until);
	b_str(&f->in[3], f->verdict);
	b_str(&f->in[4], f->verdict);
	b_i64(&f->in[5], &f->id);
	b_i64(&f->in[6], &f->id);
	b_u64(&f->in[7], &f->limit);
	b_u64(&f->in[8], &f->offset);
}

/* row_bind - bind q's result to r. */
static int
row_bind(struct store *st, MYSQL_STMT *q, struct mh_row *r)
{
	struct {
		char *buf;
		unsigned long cap;
	} t[] = {
		{r->qid, sizeof(r->qid) - 1},
		{r->client, sizeof(r->client) - 1},
		{r->sender, sizeof(r->sender) - 1},
		{r->from, sizeof(r->from) - 1},
		{r->subject, sizeof(r->subject) - 1},
		{r->verdict, sizeof(r->verdict) - 1},
	};

	b_out(&r->out[0], MYSQL_TYPE_LONGLONG, &r->id, 0, &r->len[0],
	    &r->nul[0]);
	b_out(&r->out[1], MYSQL_TYPE_LONG, &r->uid, 0, &r->len[1], &r->nul[1]);
	r->out[1].is_unsigned = 1;
	b_out(&r->out[2], MYSQL_TYPE_LONGLONG, &r->created, 0, &r->len[2],
	    &r->nul[2]);
	for (size_t k = 0; k < 6; k++)
		b_out(&r->out[3 + k], MYSQL_TYPE_STRING, t[k].buf, t[k].cap,
		    &r->len[3 + k], &r->nul[3 + k]);
	b_out(&r->out[9], MYSQL_TYPE_DOUBLE, &r->probability, 0, &r->len[9],
	    &r->nul[9]);
	b_out(&r->out[10], MYSQL_TYPE_STRING, r->sig, sizeof(r->sig) - 1,
	    &r->len[10], &r->nul[10]);
	b_out(&r->out[11], MYSQL_TYPE_STRING, r->action,
	    sizeof(r->action) - 1, &r->len[11], &r->nul[11]);
	b_out(&r->out[12], MYSQL_TYPE_STRING, r->correction,
	    sizeof(r->correction) - 1, &r->len[12], &r->nul[12]);
	b_out(&r->out[13], MYSQL_TYPE_LONGLONG, &r->corrected, 0, &r->len[13],
	    &r->nul[13]);
	if (mysql_stmt_bind_result(q, r->out) != 0)
		return my_fail_stmt(st, q, "history read");
	return 0;
}

/* row_copy - the fetched row r as a struct store_history (texts in r). */
static void
row_copy(struct mh_row *r, struct store_history *h)
{
	cut(r->qid, sizeof(r->qid), r->len[3]);
	cut(r->client, sizeof(r->client), r->len[4]);
	cut(r->sender, sizeof(r->sender), r->len[5]);
	cut(r->from, sizeof(r->from), r->len[6]);
	cut(r->subject, sizeof(r->subject), r->len[7]);
	cut(r->verdict, sizeof(r->verdict), r->len[8]);
	cut(r->sig, sizeof(r->sig), r->len[10]);
	cut(r->action, sizeof(r->action), r->len[11]);
	cut(r->correction, sizeof(r->correction), r->len[12]);
	memset(h, 0, sizeof(*h));
	h->id = r->id;
	h->uid = r->uid;
	h->time = r->created;
	h->queue_id = r->qid;
	h->client = r->client;
	h->sender = r->sender;
	h->from = r->from;
	h->subject = r->subject;
	h->verdict = store_verdict_of(r->verdict);
	h->probability = r->probability;
	h->signature = r->sig;
	h->action = store_action_of(r->action);
	h->correction = store_correction_of(r->correction);
	h->corrected = r->corrected;
}

/* A listing (fn set) or a count (fn NULL: *n). */
struct mh_list {
	uint32_t uid;
	const struct store_history_query *q;
	store_history_fn *fn;
	void *arg;
	uint64_t n;
};

static int
step_list(struct store *st, void *ctx)
{
	struct mh_list *c = ctx;
	const struct store_history_query *q = c->q;
	struct mh_filter f;
	struct mh_row r;
	struct store_history h;
	uint64_t skipped = 0, shown = 0;
	MYSQL_STMT *s;
	int rc;

	/* with a search, the offset and limit are counted here */
	filter_bind(&f, c->uid, q, q->search == NULL);
	c->n = 0;
	if ((rc = my_fixed(st, M_HIST_LIST, &s)) != 0 ||
	    (rc = my_run(st, s, f.in, "history list")) != 0)
		return rc;
	rc = row_bind(st, s, &r);
	while (rc == 0 && (rc = my_fetch(st, s, "history list")) == 1) {
		rc = 0;
		row_copy(&r, &h);
		if (q->search != NULL && !store_history_match(&h, q))
			continue;
		c->n++;
		if (c->fn == NULL)
			continue;
		if (q->search != NULL && skipped < q->offset) {
			skipped++;
			continue;
		}
		if (q->search != NULL && q->limit > 0 && shown == q->limit)
			break;
		shown++;
		if (c->fn(&h, c->arg) != 0)
			break;
	}
	mysql_stmt_free_result(s);
	return rc < 0 ? rc : 0;
}

int
my_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg)
{
	struct mh_list c = {uid, q, fn, arg, 0};

	return my_with_retry(st, step_list, &c);
}

static int
step_count(struct store *st, void *ctx)
{
	struct mh_list *c = ctx;
	struct mh_filter f;
	MYSQL_BIND out;
	MYSQL_STMT *s;
	int rc;

	filter_bind(&f, c->uid, c->q, false);
	c->n = 0;
	b_u64(&out, &c->n);
	if ((rc = my_fixed(st, M_HIST_COUNT, &s)) != 0 ||
	    (rc = my_run(st, s, f.in, "history count")) != 0)
		return rc;
	if (mysql_stmt_bind_result(s, &out) != 0)
		rc = my_fail_stmt(st, s, "history count");
	else if ((rc = my_fetch(st, s, "history count")) == 1)
		rc = 0;
	mysql_stmt_free_result(s);
	return rc;
}

int
my_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n)
{
	struct mh_list c = {uid, q, NULL, NULL, 0};
	int rc;

	/* a search is matched in C: count by listing */
	if (q->search != NULL)
		rc = my_with_retry(st, step_list, &c);
	else
		rc = my_with_retry(st, step_count, &c);
	*n = c.n;
	return rc;
}

/* An update of one user's rows, then (nothing changed) whether any is
 * there. */
struct mh_update {
	enum my_stmt upd, exists;
	MYSQL_BIND *in;      /* of upd */
	MYSQL_BIND *key;     /* of exists */
	bool changed;
};

static int
step_update(struct store *st, void *ctx)
{
	struct mh_update *c = ctx;
	uint64_t n = 0;
	MYSQL_BIND out;
	MYSQL_STMT *q;
	int rc;

	if ((rc = my_fixed(st, c->upd, &q)) != 0 ||
	    (rc = my_run(st, q, c->in, "history update")) != 0)
		return rc;
	if ((c->changed = mysql_stmt_affected_rows(q) > 0))
		return 0;
	b_u64(&out, &n);
	if ((rc = my_fixed(st, c->exists, &q)) != 0 ||
	    (rc = my_run(st, q, c->key, "history update")) != 0)
		return rc;
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = my_fail_stmt(st, q, "history update");
	else if ((rc = my_fetch(st, q, "history update")) == 1)
		rc = 0;
	mysql_stmt_free_result(q);
	c->changed = n > 0;
	return rc;
}

/* A correction: the oldest row of the signature (what it was), then the
 * update of every row of it. */
struct mh_correct {
	uint32_t uid;
	const char *sig;
	MYSQL_BIND *in; /* of M_HIST_CORRECT */
	struct store_history_was *was;
	bool changed;
};

static int
step_correct(struct store *st, void *ctx)
{
	struct mh_correct *c = ctx;
	char corr[16];
	unsigned long len = 0;
	my_bool nul = 0;
	int64_t created = 0;
	MYSQL_BIND key[2], out[2];
	MYSQL_STMT *q;
	int rc;

	c->changed = false;
	b_u32(&key[0], &c->uid);
	b_str(&key[1], c->sig);
	b_i64(&out[0], &created);
	b_out(&out[1], MYSQL_TYPE_STRING, corr, sizeof(corr) - 1, &len, &nul);
	if ((rc = my_fixed(st, M_HIST_WAS, &q)) != 0 ||
	    (rc = my_run(st, q, key, "history correct")) != 0)
		return rc;
	if (mysql_stmt_bind_result(q, out) != 0)
		rc = my_fail_stmt(st, q, "history correct");
	else if ((rc = my_fetch(st, q, "history correct")) == 1) {
		rc = 0;
		corr[len < sizeof(corr) ? len : sizeof(corr) - 1] = '\0';
		c->was->time = created;
		c->was->correction = store_correction_of(nul ? "" : corr);
		c->changed = true;
	}
	mysql_stmt_free_result(q);
	if (rc != 0 || !c->changed)
		return rc;
	if ((rc = my_fixed(st, M_HIST_CORRECT, &q)) != 0)
		return rc;
	return my_run(st, q, c->in, "history correct");
}

int
my_history_correct(struct store *st, uint32_t uid, const char *sig,
    enum store_correction corr, int64_t now, bool *changed,
    struct store_history_was *was)
{
	MYSQL_BIND in[4];
	struct mh_correct c = {uid, sig, in, was, false};
	int rc;

	b_str(&in[0], store_correction_text(corr));
	b_i64(&in[1], &now);
	b_u32(&in[2], &uid);
	b_str(&in[3], sig);
	rc = my_with_retry(st, step_correct, &c);
	*changed = c.changed;
	return rc;
}

int
my_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action, bool *changed)
{
	MYSQL_BIND in[3], key[2];
	struct mh_update c = {M_HIST_ACTION, M_HIST_ID_EXISTS, in, key, false};
	int rc;

	b_str(&in[0], store_action_text(action));
	b_u32(&in[1], &uid);
	b_i64(&in[2], &id);
	b_u32(&key[0], &uid);
	b_i64(&key[1], &id);
	rc = my_with_retry(st, step_update, &c);
	*changed = c.changed;
	return rc;
}

struct mh_purge {
	int64_t limit;
	uint64_t want;
	uint64_t gone;
};

static int
step_purge(struct store *st, void *ctx)
{
	struct mh_purge *c = ctx;
	MYSQL_BIND in[2];
	MYSQL_STMT *q;
	int rc;

	b_i64(&in[0], &c->limit);
	b_u64(&in[1], &c->want);
	if ((rc = my_fixed(st, M_HIST_PURGE, &q)) != 0 ||
	    (rc = my_run(st, q, in, "purge history")) != 0)
		return rc;
	c->gone = mysql_stmt_affected_rows(q);
	return 0;
}

int
my_history_purge(struct store *st, int32_t cutoff, size_t batch,
    uint64_t *deleted)
{
	struct mh_purge c = {(int64_t)cutoff * 86400, batch, 0};
	int rc;

	if ((rc = my_with_retry(st, step_purge, &c)) != 0)
		return rc;
	*deleted = c.gone;
	return 0;
}
