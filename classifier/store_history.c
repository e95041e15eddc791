/*
 * store_history.c - the front end of the history functions of store.h
 * (edgespam_history): argument checks, the implicit write transaction,
 * and the texts of the verdict, action and correction columns.
 *
 * What it guarantees to the drivers, beyond store.c's rules:
 *  - Every text of a row is non-NULL (NULL becomes "") and within its
 *    bound: queue id up to STORE_HISTORY_QID_MAX bytes, client up to
 *    STORE_HISTORY_CLIENT_MAX, sender, from and subject up to
 *    STORE_HISTORY_TEXT_MAX, signature up to STORE_HISTORY_SIG_MAX.
 *    Longer is ES_EINVAL, never cut: cutting on a character boundary
 *    is the caller's (cls_text.h).
 *  - verdict, action and correction are values of their enums (a row's
 *    verdict never ANY, its action never NONE); time lies in 1970..9999;
 *    probability in 0..1 (a NaN is ES_EINVAL).
 *  - A query's search is NULL or 1..STORE_HISTORY_SEARCH_MAX bytes; a
 *    query pointer NULL is the query that selects every row.
 *
 * store_history_match() is the filter in C, for the memory driver, and
 * the definition the SQL drivers follow: ASCII letters of the search
 * match without regard to case, every other byte exactly.
 *
 * Ownership: nothing is kept; rows handed to a callback belong to the
 * driver. Thread safety as store.h.
 */
#include "store.h"

#include <string.h>
#include <strings.h>

#include "es_err.h"
#include "store_int.h"

static const char *const verdicts[] = {
	[STORE_VERDICT_INNOCENT] = "innocent",
	[STORE_VERDICT_SPAM] = "spam",
	[STORE_VERDICT_WHITELISTED] = "whitelisted",
};
static const char *const actions[] = {
	[STORE_ACTION_TAGGED] = "tagged",
	[STORE_ACTION_REJECTED] = "rejected",
	[STORE_ACTION_TEMPFAILED] = "tempfailed",
};
static const char *const corrections[] = {
	[STORE_CORRECTION_NONE] = "",
	[STORE_CORRECTION_SPAM] = "spam",
	[STORE_CORRECTION_INNOCENT] = "innocent",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
store_verdict_text(enum store_verdict v)
{
	return v > 0 && (size_t)v < NELEM(verdicts) ? verdicts[v] : NULL;
}

const char *
store_action_text(enum store_action a)
{
	return a > 0 && (size_t)a < NELEM(actions) ? actions[a] : NULL;
}

const char *
store_correction_text(enum store_correction c)
{
	return (size_t)c < NELEM(corrections) ? corrections[c] : NULL;
}

/* index_of - the index of text in names[1..n-1], or 0. */
static int
index_of(const char *const *names, size_t n, const char *text)
{
	if (text == NULL)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i], text) == 0)
			return (int)i;
	return 0;
}

enum store_verdict
store_verdict_of(const char *text)
{
	return (enum store_verdict)index_of(verdicts, NELEM(verdicts), text);
}

enum store_action
store_action_of(const char *text)
{
	return (enum store_action)index_of(actions, NELEM(actions), text);
}

enum store_correction
store_correction_of(const char *text)
{
	return (enum store_correction)index_of(corrections,
	    NELEM(corrections), text);
}

/* contains_ci - whether hay contains needle, ASCII case folded. */
static bool
contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), h = strlen(hay);

	for (size_t i = 0; n <= h && i <= h - n; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

bool
store_history_match(const struct store_history *row,
    const struct store_history_query *q)
{
	if (q == NULL)
		return true;
	if (row->time < q->since || (q->until != 0 && row->time >= q->until))
		return false;
	if (q->verdict != STORE_VERDICT_ANY && row->verdict != q->verdict)
		return false;
	if (q->id > 0 && row->id != q->id)
		return false;
	if (q->search != NULL && q->search[0] != '\0' &&
	    !contains_ci(row->sender, q->search) &&
	    !contains_ci(row->from, q->search) &&
	    !contains_ci(row->subject, q->search))
		return false;
	return true;
}

/* no_history - ES_EINVAL when st's driver keeps no history. */
static int
no_history(struct store *st)
{
	if (st->st_ops->history_add != NULL)
		return 0;
	store_seterr(st, "%s: no history", st->st_ops->name);
	return ES_EINVAL;
}

/* text_or_empty - s, or "" for NULL. */
static const char *
text_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* check_row - the row's fields, with NULL texts made "" in out. */
static int
check_row(struct store *st, const struct store_history *row,
    struct store_history *out)
{
	static const struct {
		size_t off;
		const char *what;
		size_t max;
	} texts[] = {
		{offsetof(struct store_history, queue_id), "queue id",
		    STORE_HISTORY_QID_MAX},
		{offsetof(struct store_history, client), "client address",
		    STORE_HISTORY_CLIENT_MAX},
		{offsetof(struct store_history, sender), "sender",
		    STORE_HISTORY_TEXT_MAX},
		{offsetof(struct store_history, from), "From:",
		    STORE_HISTORY_TEXT_MAX},
		{offsetof(struct store_history, subject), "Subject:",
		    STORE_HISTORY_TEXT_MAX},
		{offsetof(struct store_history, signature), "signature id",
		    STORE_HISTORY_SIG_MAX},
	};
	int32_t day;
	int rc;

	*out = *row;
	for (size_t i = 0; i < NELEM(texts); i++) {
		const char **p = (const char **)(void *)((char *)out +
		    texts[i].off);

		*p = text_or_empty(*p);
		if ((rc = store_check_text(st, texts[i].what, *p, 0,
			 texts[i].max)) != 0)
			return rc;
	}
	if ((rc = store_now_day(st, (time_t)row->time, &day)) != 0)
		return rc;
	if (store_verdict_text(row->verdict) == NULL ||
	    store_action_text(row->action) == NULL) {
		store_seterr(st, "history row: verdict %d or action %d unknown",
		    (int)row->verdict, (int)row->action);
		return ES_EINVAL;
	}
	if (!(row->probability >= 0.0 && row->probability <= 1.0)) {
		store_seterr(st, "history row: probability outside 0..1");
		return ES_EINVAL;
	}
	out->id = 0;
	out->correction = STORE_CORRECTION_NONE;
	out->corrected = 0;
	return 0;
}

int
store_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id)
{
	struct store_history r;
	int64_t local;
	bool implicit;
	int rc;

	if (id == NULL)
		id = &local;
	*id = 0;
	if (row == NULL)
		return ES_EINVAL;
	if ((rc = no_history(st)) != 0 || (rc = check_row(st, row, &r)) != 0)
		return rc;
	r.uid = uid;
	if ((rc = store_write_begin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->history_add(st, uid, &r, id);
	if ((rc = store_write_end(st, implicit, rc)) != 0)
		*id = 0;
	return rc;
}

/* check_query - q (NULL: all rows) into out, search NULL when empty. */
static int
check_query(struct store *st, const struct store_history_query *q,
    struct store_history_query *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (q == NULL)
		return 0;
	*out = *q;
	if (out->search != NULL && out->search[0] == '\0')
		out->search = NULL;
	if (out->search != NULL &&
	    (rc = store_check_text(st, "search text", out->search, 1,
		 STORE_HISTORY_SEARCH_MAX)) != 0)
		return rc;
	if (out->verdict != STORE_VERDICT_ANY &&
	    store_verdict_text(out->verdict) == NULL) {
		store_seterr(st, "history query: verdict %d unknown",
		    (int)out->verdict);
		return ES_EINVAL;
	}
	if (out->since < 0)
		out->since = 0;
	return 0;
}

int
store_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg)
{
	struct store_history_query cq;
	int rc;

	if (fn == NULL)
		return ES_EINVAL;
	if ((rc = no_history(st)) != 0 || (rc = check_query(st, q, &cq)) != 0)
		return rc;
	return st->st_ops->history_list(st, uid, &cq, fn, arg);
}

int
store_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n)
{
	struct store_history_query cq;
	int rc;

	if (n == NULL)
		return ES_EINVAL;
	*n = 0;
	if ((rc = no_history(st)) != 0 || (rc = check_query(st, q, &cq)) != 0)
		return rc;
	cq.limit = 0;
	cq.offset = 0;
	return st->st_ops->history_count(st, uid, &cq, n);
}

int
store_history_correct(struct store *st, uint32_t uid, const char *signature,
    enum store_correction c, time_t now)
{
	return store_history_correct_was(st, uid, signature, c, now, NULL);
}

int
store_history_correct_was(struct store *st, uint32_t uid,
    const char *signature, enum store_correction c, time_t now,
    struct store_history_was *was)
{
	struct store_history_was local;
	bool implicit, changed = false;
	int32_t day;
	int rc;

	if (was == NULL)
		was = &local;
	memset(was, 0, sizeof(*was));
	if ((rc = no_history(st)) != 0 ||
	    (rc = store_check_text(st, "signature id", signature, 1,
		 STORE_HISTORY_SIG_MAX)) != 0 ||
	    (rc = store_now_day(st, now, &day)) != 0)
		return rc;
	if (store_correction_text(c) == NULL) {
		store_seterr(st, "history: correction %d unknown", (int)c);
		return ES_EINVAL;
	}
	if ((rc = store_write_begin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->history_correct(st, uid, signature, c,
	    c == STORE_CORRECTION_NONE ? 0 : (int64_t)now, &changed, was);
	/* no row is no failure of the transaction */
	if ((rc = store_write_end(st, implicit, rc)) == 0 && !changed) {
		store_seterr(st, "no history row of signature %s", signature);
		rc = ES_ENOTFOUND;
	}
	if (rc != 0)
		memset(was, 0, sizeof(*was));
	return rc;
}

int
store_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action)
{
	bool implicit, changed = false;
	int rc;

	if ((rc = no_history(st)) != 0)
		return rc;
	if (id <= 0 || store_action_text(action) == NULL) {
		store_seterr(st, "history: row %lld or action %d unusable",
		    (long long)id, (int)action);
		return ES_EINVAL;
	}
	if ((rc = store_write_begin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->history_set_action(st, uid, id, action, &changed);
	if ((rc = store_write_end(st, implicit, rc)) == 0 && !changed) {
		store_seterr(st, "no history row %lld", (long long)id);
		rc = ES_ENOTFOUND;
	}
	return rc;
}
