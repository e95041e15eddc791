/*
 * store.c - the storage interface's front end: checks arguments, tracks
 * transactions and dispatches to a driver's operations (store_int.h).
 * It does no I/O of its own: every access goes through the function
 * pointers of the driver the handle was opened with, so the engine
 * depends on the interface only. Which driver a store_params names
 * (store_open(), store_schema()) is decided in storage/store_open.c,
 * which passes the driver's operations to store_open_ops() and
 * store_schema_ops() here.
 *
 * What this layer guarantees to every driver, so the drivers agree:
 *  - Names and values have DSPAM's column bounds (store_int.h): user
 *    names 1..128 bytes, signature ids 1..32, preference keys 1..32 and
 *    values up to 64, domains 1..255, policies up to 255. Longer or
 *    empty ones are ES_EINVAL, never silently cut.
 *  - Deltas of store_tokens_put() are in strictly ascending token order,
 *    those of store_sources_add() in strictly ascending source order,
 *    each source 1..64 bytes.
 *  - `now` lies between 1970 and 9999 (an ISO date has four year
 *    digits); the driver gets the UTC day number.
 *  - A write made outside a transaction runs in a write transaction of
 *    its own: all of it or nothing.
 *  - store_begin() inside a transaction and store_commit() outside one
 *    are ES_EINVAL. A failed commit leaves no transaction open: the
 *    driver rolled it back.
 *  - Sender patterns are 1..255 bytes; a sender lookup asks for at most
 *    STORE_SENDER_FIND_MAX patterns.
 *  - store_pref_get() and store_domain_get() copy the value with
 *    strlcpy: when it does not fit, the buffer holds the terminated
 *    beginning and the result is ES_ELIMIT.
 *  - The list functions stop when the callback returns non-zero and
 *    then return 0. A callback must not use the same handle.
 *  - store_purge() runs the rules in the order signatures, unused, rare,
 *    single, sources, history, daily; a row that two rules select is counted
 *    under the first.
 *    Each batch is one write transaction; a rule ends with the first
 *    batch that deletes fewer than rules->batch rows. A purge date is
 *    "before today minus days" (DSPAM: `last_hit < CURRENT_DATE() -
 *    INTERVAL n DAY`); for sources and history rows, a time before
 *    that day's first second; daily counts, a day before that day. Rows of DSPAM's control token ("$$CONTROL$$",
 *    STORE_CONTROL_TOKEN) are never purged: DSPAM keeps its own state
 *    in that row. Between batches the purge rests as store_pace.c says
 *    (a multiple of the batch's time, and while a probe read is slower
 *    than before the purge began); the probe is a totals read of uid 0.
 *
 * store_refresh(), store_reopened() and store_file_id() pass on what a
 * driver with a database file (sqlite) does when the file is deleted
 * or replaced under the handle; for the others they do nothing.
 *
 * Ownership: store_open() returns a handle the caller closes; the data
 * of store_sig_get() is the caller's to es_free(). The handle is used by
 * one thread at a time; separate handles are independent.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es_alloc.h"
#include "es_err.h"
#include "store_int.h"
#include "store_pace.h"

/* Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define EPOCH_SHIFT 719468
/* 10000-01-01 as seconds since the epoch: the first time without a
 * four-digit year. */
#define TIME_MAX_ISO 253402300800LL

void
store_seterr(struct store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->st_err, sizeof(st->st_err), fmt, ap);
	va_end(ap);
	st->st_conflict = false;
}

void
store_set_conflict(struct store *st)
{
	st->st_conflict = true;
}

bool
store_conflict(const struct store *st)
{
	return st != NULL && st->st_conflict;
}

/*
 * Civil dates by 400-year eras of 146097 days, each starting on March 1
 * so that the leap day falls at the end of a year.
 */
void
store_day_iso(int32_t day, char buf[11])
{
	int64_t z = (int64_t)day + EPOCH_SHIFT;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	if (m <= 2)
		y++;
	if (y < 0 || y > 9999) {
		strlcpy(buf, "0000-00-00", 11);
		return;
	}
	buf[0] = (char)('0' + y / 1000);
	buf[1] = (char)('0' + y / 100 % 10);
	buf[2] = (char)('0' + y / 10 % 10);
	buf[3] = (char)('0' + y % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + m / 10);
	buf[6] = (char)('0' + m % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + d / 10);
	buf[9] = (char)('0' + d % 10);
	buf[10] = '\0';
}

/* digits - the value of n decimal digits at s, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
store_iso_day(const char *s, int32_t *day)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	int y, m, d;
	int64_t era, yoe, doy, doe;

	if (s == NULL || strnlen(s, 10) < 10 || s[4] != '-' || s[7] != '-')
		return ES_EPARSE;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return ES_EPARSE;
	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*day = (int32_t)(era * 146097 + doe - EPOCH_SHIFT);
	return 0;
}

/* now_day - the UTC day of now; ES_EINVAL outside 1970..9999. */
static int
now_day(struct store *st, time_t now, int32_t *day)
{
	if (now < 0 || (long long)now >= TIME_MAX_ISO) {
		store_seterr(st, "time %lld is outside 1970..9999",
		    (long long)now);
		return ES_EINVAL;
	}
	*day = (int32_t)(now / 86400);
	return 0;
}

/* check_str - s is 1..max bytes long (min 0 allows ""). */
static int
check_str(struct store *st, const char *what, const char *s, size_t min,
    size_t max)
{
	size_t n;

	if (s == NULL) {
		store_seterr(st, "%s is missing", what);
		return ES_EINVAL;
	}
	n = strnlen(s, max + 1);
	if (n < min || n > max) {
		store_seterr(st, "%s must be %zu to %zu bytes long", what, min,
		    max);
		return ES_EINVAL;
	}
	return 0;
}

/* wbegin - open a write transaction unless one is open (*implicit). */
static int
wbegin(struct store *st, bool *implicit)
{
	int rc;

	*implicit = false;
	if (st->st_tx != STORE_TX_NONE)
		return 0;
	rc = st->st_ops->begin(st, true);
	if (rc != 0)
		return rc;
	st->st_tx = STORE_TX_WRITE;
	*implicit = true;
	return 0;
}

/* wend - end wbegin's transaction: commit when rc is 0, else roll back. */
static int
wend(struct store *st, bool implicit, int rc)
{
	if (!implicit)
		return rc;
	if (rc == 0)
		rc = st->st_ops->commit(st);
	else
		st->st_ops->rollback(st);
	st->st_tx = STORE_TX_NONE;
	return rc;
}

int
store_open_ops(const struct store_ops *ops, const struct store_params *p,
    struct store **out, char *err, size_t errlen)
{
	struct store *st;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || ops == NULL || p == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: no %s given",
			    out == NULL ? "handle" : ops == NULL ? "driver"
			                                        : "parameters");
		return ES_EINVAL;
	}
	st = es_calloc(1, sizeof(*st));
	if (st == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: out of memory");
		return ES_ENOMEM;
	}
	st->st_ops = ops;
	rc = ops->open(st, p);
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s", st->st_err);
		es_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int
store_schema_ops(const struct store_ops *ops, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg, size_t *missing,
    char *err, size_t errlen)
{
	struct store *st;
	size_t n = 0;
	int rc;

	if (missing != NULL)
		*missing = 0;
	if (ops == NULL || p == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: no driver given");
		return ES_EINVAL;
	}
	if (op != STORE_SCHEMA_CHECK && op != STORE_SCHEMA_UPGRADE &&
	    op != STORE_SCHEMA_ENGINES && op != STORE_SCHEMA_TO_INNODB) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: unknown schema operation");
		return ES_EINVAL;
	}
	if (ops->schema == NULL)
		return 0;
	if ((st = es_calloc(1, sizeof(*st))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "store: out of memory");
		return ES_ENOMEM;
	}
	st->st_ops = ops;
	rc = ops->schema(st, p, op, fn, arg, &n);
	if (rc != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", st->st_err);
	es_free(st);
	if (missing != NULL)
		*missing = n;
	return rc;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->st_tx != STORE_TX_NONE)
		st->st_ops->rollback(st);
	st->st_ops->close(st);
	es_free(st);
}

int
store_maintain(struct store *st, bool quiet)
{
	if (st == NULL)
		return ES_EINVAL;
	if (st->st_tx != STORE_TX_NONE) {
		store_seterr(st, "maintenance inside a transaction");
		return ES_EINVAL;
	}
	if (st->st_ops->maintain == NULL)
		return 0;
	return st->st_ops->maintain(st, quiet);
}

int
store_refresh(struct store *st)
{
	if (st == NULL)
		return ES_EINVAL;
	if (st->st_tx != STORE_TX_NONE) {
		store_seterr(st, "refresh inside a transaction");
		return ES_EINVAL;
	}
	return st->st_ops->refresh != NULL ? st->st_ops->refresh(st) : 0;
}

void
store_set_reopen(struct store *st, const struct store_reopen *r)
{
	st->st_reopen = *r;
	st->st_reopened = true;
}

bool
store_reopened(struct store *st, struct store_reopen *r)
{
	if (st == NULL || !st->st_reopened)
		return false;
	*r = st->st_reopen;
	st->st_reopened = false;
	return true;
}

void
store_file_id(const struct store *st, struct store_file *f)
{
	memset(f, 0, sizeof(*f));
	if (st != NULL && st->st_ops->file_id != NULL)
		st->st_ops->file_id(st, f);
}

const char *
store_errmsg(const struct store *st)
{
	return st == NULL ? "" : st->st_err;
}

const char *
store_driver_name(const struct store *st)
{
	return st == NULL ? "" : st->st_ops->name;
}

int
store_begin(struct store *st, bool write)
{
	int rc;

	if (st->st_tx != STORE_TX_NONE) {
		store_seterr(st, "a transaction is already open");
		return ES_EINVAL;
	}
	rc = st->st_ops->begin(st, write);
	if (rc == 0)
		st->st_tx = write ? STORE_TX_WRITE : STORE_TX_READ;
	return rc;
}

int
store_commit(struct store *st)
{
	int rc;

	if (st->st_tx == STORE_TX_NONE) {
		store_seterr(st, "commit without a transaction");
		return ES_EINVAL;
	}
	rc = st->st_ops->commit(st);
	st->st_tx = STORE_TX_NONE;
	return rc;
}

void
store_rollback(struct store *st)
{
	if (st == NULL || st->st_tx == STORE_TX_NONE)
		return;
	st->st_ops->rollback(st);
	st->st_tx = STORE_TX_NONE;
}

int
store_user_uid(struct store *st, const char *name, bool create,
    uint32_t *uid)
{
	bool implicit;
	int rc;

	if ((rc = check_str(st, "user name", name, 1, STORE_USER_MAX)) != 0)
		return rc;
	if (uid == NULL)
		return ES_EINVAL;
	if (!create)
		return st->st_ops->user_uid(st, name, false, uid);
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->user_uid(st, name, true, uid);
	return wend(st, implicit, rc);
}

int
store_users(struct store *st, store_user_fn *fn, void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	return st->st_ops->users(st, fn, arg);
}

int
store_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n)
{
	if (n == 0)
		return 0;
	if (toks == NULL)
		return ES_EINVAL;
	/* a token the driver does not find stays at zero */
	for (size_t i = 0; i < n; i++) {
		toks[i].spam_hits = 0;
		toks[i].innocent_hits = 0;
		toks[i].last_hit = 0;
		toks[i].weight = 0.0;
	}
	return st->st_ops->tokens_get(st, uid, toks, n);
}

int
store_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	if (st->st_ops->tokens_list == NULL) {
		store_seterr(st, "the %s driver cannot list tokens",
		    st->st_ops->name);
		return ES_EINVAL;
	}
	return st->st_ops->tokens_list(st, uid, fn, arg);
}

int
store_tokens_put(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, time_t now)
{
	bool implicit;
	int32_t day;
	int rc;

	if (n == 0)
		return 0;
	if (d == NULL)
		return ES_EINVAL;
	if ((rc = now_day(st, now, &day)) != 0)
		return rc;
	for (size_t i = 1; i < n; i++)
		if (d[i].token <= d[i - 1].token) {
			store_seterr(st,
			    "token deltas not in ascending order at %zu", i);
			return ES_EINVAL;
		}
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->tokens_put(st, uid, d, n, day);
	return wend(st, implicit, rc);
}

int
store_totals_get(struct store *st, uint32_t uid, struct store_totals *t)
{
	if (t == NULL)
		return ES_EINVAL;
	return st->st_ops->totals_get(st, uid, t);
}

int
store_totals_add(struct store *st, uint32_t uid,
    const struct store_totals *delta)
{
	bool implicit;
	int rc;

	if (delta == NULL)
		return ES_EINVAL;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->totals_add(st, uid, delta);
	return wend(st, implicit, rc);
}

int
store_sig_put(struct store *st, uint32_t uid, const char *id,
    const void *data, size_t len, time_t now)
{
	bool implicit;
	int32_t day;
	int rc;

	if ((rc = check_str(st, "signature id", id, 1, STORE_SIG_ID_MAX)) != 0)
		return rc;
	if (data == NULL && len > 0)
		return ES_EINVAL;
	if (len > UINT32_MAX) {
		store_seterr(st, "signature of %zu bytes is too long", len);
		return ES_EINVAL;
	}
	if ((rc = now_day(st, now, &day)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->sig_put(st, uid, id, data, len, day);
	return wend(st, implicit, rc);
}

int
store_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len)
{
	int rc;

	if (data == NULL || len == NULL)
		return ES_EINVAL;
	*data = NULL;
	*len = 0;
	if ((rc = check_str(st, "signature id", id, 1, STORE_SIG_ID_MAX)) != 0)
		return rc;
	return st->st_ops->sig_get(st, uid, id, data, len);
}

int
store_sig_delete(struct store *st, uint32_t uid, const char *id)
{
	bool implicit;
	int rc;

	if ((rc = check_str(st, "signature id", id, 1, STORE_SIG_ID_MAX)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->sig_delete(st, uid, id);
	return wend(st, implicit, rc);
}

/* copy_out - strlcpy v into buf; ES_ELIMIT when it was cut. */
static int
copy_out(struct store *st, const char *v, char *buf, size_t len)
{
	if (strlcpy(buf, v, len) >= len) {
		store_seterr(st, "value of %zu bytes does not fit in %zu",
		    strlen(v), len);
		return ES_ELIMIT;
	}
	return 0;
}

int
store_pref_get(struct store *st, uint32_t uid, const char *key, char *val,
    size_t vallen)
{
	char *v = NULL;
	int rc;

	if (val == NULL || vallen == 0)
		return ES_EINVAL;
	val[0] = '\0';
	if ((rc = check_str(st, "preference", key, 1, STORE_PREF_KEY_MAX)) !=
	    0)
		return rc;
	rc = st->st_ops->pref_get(st, uid, key, &v);
	if (rc == 0)
		rc = copy_out(st, v, val, vallen);
	es_free(v);
	return rc;
}

int
store_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val)
{
	bool implicit;
	int rc;

	if ((rc = check_str(st, "preference", key, 1, STORE_PREF_KEY_MAX)) !=
	    0)
		return rc;
	if (val != NULL &&
	    (rc = check_str(st, "preference value", val, 0,
		 STORE_PREF_VAL_MAX)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->pref_set(st, uid, key, val);
	return wend(st, implicit, rc);
}

int
store_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	return st->st_ops->prefs(st, uid, fn, arg);
}

int
store_domain_get(struct store *st, const char *domain, char *policy,
    size_t len)
{
	char *v = NULL;
	int rc;

	if (policy == NULL || len == 0)
		return ES_EINVAL;
	policy[0] = '\0';
	if ((rc = check_str(st, "domain", domain, 1, STORE_DOMAIN_MAX)) != 0)
		return rc;
	rc = st->st_ops->domain_get(st, domain, &v);
	if (rc == 0)
		rc = copy_out(st, v, policy, len);
	es_free(v);
	return rc;
}

int
store_domain_set(struct store *st, const char *domain, const char *policy)
{
	bool implicit;
	int rc;

	if ((rc = check_str(st, "domain", domain, 1, STORE_DOMAIN_MAX)) != 0)
		return rc;
	if (policy != NULL &&
	    (rc = check_str(st, "domain policy", policy, 0,
		 STORE_POLICY_MAX)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->domain_set(st, domain, policy);
	return wend(st, implicit, rc);
}

int
store_domains(struct store *st, store_pair_fn *fn, void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	return st->st_ops->domains(st, fn, arg);
}

/* sleep_ms - sleep ms milliseconds (an interrupted sleep just ends). */
static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	if (ts.tv_nsec > 999999999L)
		ts.tv_nsec = 999999999L;
	nanosleep(&ts, NULL);
}

/* now_ms - a monotonic clock in milliseconds. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * probe - the time (ms) of one read of the kind every message starts
 * with (a user's totals; uid 0 is DSPAM's defaults), on the purge's own
 * handle; -1 when the read failed (then nothing waits for it).
 */
static double
probe(struct store *st)
{
	struct store_totals t;
	double t0 = now_ms();

	if (st->st_ops->totals_get(st, 0, &t) != 0)
		return -1;
	return now_ms() - t0;
}

/* pace_base - the probe's baseline before the first batch. */
static void
pace_base(struct store *st, struct store_pace *p)
{
	double ms[STORE_PACE_BASE_PROBES];
	size_t n = 0;

	if (p->sp_slack_pct == 0)
		return;
	for (size_t i = 0; i < STORE_PACE_BASE_PROBES; i++) {
		double t = probe(st);

		if (t >= 0)
			ms[n++] = t;
		sleep_ms(10);
	}
	store_pace_base(p, ms, n);
}

/* pace_rest - rest after a batch of batch_ms as the pacer says. */
static void
pace_rest(struct store *st, struct store_pace *p, double batch_ms)
{
	double wait;

	sleep_ms(store_pace_batch(p, batch_ms, false));
	if (p->sp_base_ms <= 0)
		return;
	while ((wait = store_pace_probe(p, probe(st))) > 0)
		sleep_ms(wait);
}

/* purge_rule - run one rule in batches until a batch comes up short. */
static int
purge_rule(struct store *st, enum store_purge_rule rule, const char *name,
    int32_t cutoff, const struct store_purge_rules *r,
    store_progress_fn *progress, void *arg, uint64_t *total,
    struct store_pace *pace)
{
	double t0, took;
	uint64_t n;
	int rc;

	for (;;) {
		t0 = now_ms();
		if ((rc = st->st_ops->begin(st, true)) != 0)
			return rc;
		st->st_tx = STORE_TX_WRITE;
		n = 0;
		rc = st->st_ops->purge_batch(st, rule, cutoff, r->batch, &n);
		if (rc == 0)
			rc = st->st_ops->commit(st);
		else
			st->st_ops->rollback(st);
		st->st_tx = STORE_TX_NONE;
		took = now_ms() - t0;
		if (rc != 0)
			return rc;
		*total += n;
		if (progress != NULL)
			progress(name, *total, arg);
		if (n < r->batch) {
			store_pace_batch(pace, took, true);
			return 0;
		}
		pace_rest(st, pace, took);
	}
}

/* purge_all - run every rule that is on, in the documented order. */
static int
purge_all(struct store *st, const struct store_purge_rules *rules,
    int32_t today, store_progress_fn *progress, void *arg,
    struct store_purge_stats *stats, struct store_pace *pace)
{
	const struct {
		enum store_purge_rule rule;
		const char *name;
		unsigned days;
		uint64_t *count;
	} run[] = {
		{STORE_PURGE_SIGNATURES, "signatures", rules->sig_days,
		    &stats->signatures},
		{STORE_PURGE_UNUSED, "unused", rules->unused_days,
		    &stats->unused},
		{STORE_PURGE_RARE, "rare", rules->rare_days, &stats->rare},
		{STORE_PURGE_SINGLE, "single", rules->single_days,
		    &stats->single},
		{STORE_PURGE_SOURCES, "sources", rules->source_days,
		    &stats->sources},
		{STORE_PURGE_HISTORY, "history", rules->history_days,
		    &stats->history},
		{STORE_PURGE_DAILY, "daily", rules->daily_days,
		    &stats->daily},
	};
	int rc;

	for (size_t i = 0; i < sizeof(run) / sizeof(run[0]); i++) {
		int64_t cutoff;

		if (run[i].days == 0)
			continue;
		/* Nothing is older than the epoch ("never" is day 0). */
		cutoff = (int64_t)today - run[i].days;
		if (cutoff < 0)
			cutoff = 0;
		rc = purge_rule(st, run[i].rule, run[i].name, (int32_t)cutoff,
		    rules, progress, arg, run[i].count, pace);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
store_purge(struct store *st, const struct store_purge_rules *rules,
    time_t now, store_progress_fn *progress, void *arg,
    struct store_purge_stats *stats)
{
	struct store_purge_stats local;
	struct store_pace pace;
	int32_t today;
	int rc;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (rules == NULL)
		return ES_EINVAL;
	if (st->st_tx != STORE_TX_NONE) {
		store_seterr(st, "purge inside a transaction");
		return ES_EINVAL;
	}
	if (rules->batch == 0) {
		store_seterr(st, "purge batch size is 0");
		return ES_EINVAL;
	}
	if ((rc = now_day(st, now, &today)) != 0)
		return rc;
	if (st->st_ops->purge_lock != NULL &&
	    (rc = st->st_ops->purge_lock(st)) != 0)
		return rc;
	store_pace_init(&pace, rules->pace, rules->pause_ms, rules->slack_pct);
	pace_base(st, &pace);
	rc = purge_all(st, rules, today, progress, arg, stats, &pace);
	if (st->st_ops->purge_unlock != NULL)
		st->st_ops->purge_unlock(st);
	stats->work_s = pace.sp_work_ms / 1e3;
	stats->rest_s = pace.sp_rest_ms / 1e3;
	stats->waits = pace.sp_waits;
	stats->probe_base_ms = pace.sp_base_ms;
	return rc;
}

/* ---- sender lists ---- */

const char *
store_sender_list_text(enum store_sender_list l)
{
	switch (l) {
	case STORE_SENDER_ALLOW: return "allow";
	case STORE_SENDER_BLOCK: return "block";
	default: return NULL;
	}
}

enum store_sender_list
store_sender_list_of(const char *text)
{
	if (strcmp(text, "allow") == 0)
		return STORE_SENDER_ALLOW;
	if (strcmp(text, "block") == 0)
		return STORE_SENDER_BLOCK;
	return STORE_SENDER_NONE;
}

/* sender_args - check a pattern and (unless NULL) a list. */
static int
sender_args(struct store *st, const char *pattern,
    enum store_sender_list list, const char **text)
{
	int rc;

	if ((rc = check_str(st, "sender pattern", pattern, 1,
		 STORE_SENDER_PATTERN_MAX)) != 0)
		return rc;
	if (text != NULL && (*text = store_sender_list_text(list)) == NULL) {
		store_seterr(st, "sender list %d is neither allow nor block",
		    (int)list);
		return ES_EINVAL;
	}
	return 0;
}

int
store_sender_set(struct store *st, uint32_t uid, const char *pattern,
    enum store_sender_list list, time_t now)
{
	const char *text;
	bool implicit;
	int32_t day;
	int rc;

	if ((rc = sender_args(st, pattern, list, &text)) != 0 ||
	    (rc = now_day(st, now, &day)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->sender_set(st, uid, pattern, text, day);
	return wend(st, implicit, rc);
}

int
store_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    enum store_sender_list list)
{
	const char *text;
	bool implicit, removed = false;
	int rc;

	if ((rc = sender_args(st, pattern, list, &text)) != 0)
		return rc;
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->sender_remove(st, uid, pattern, text, &removed);
	/* nothing removed is no failure of the transaction */
	if ((rc = wend(st, implicit, rc)) == 0 && !removed) {
		store_seterr(st, "\"%s\" is not on the %s list", pattern, text);
		rc = ES_ENOTFOUND;
	}
	return rc;
}

int
store_sender_find(struct store *st, uint32_t uid,
    const char *const *patterns, size_t n, enum store_sender_list *lists)
{
	size_t i;
	int rc;

	if (n > STORE_SENDER_FIND_MAX || (n > 0 && (patterns == NULL ||
	    lists == NULL))) {
		store_seterr(st, "at most %d sender patterns per lookup",
		    STORE_SENDER_FIND_MAX);
		return ES_EINVAL;
	}
	for (i = 0; i < n; i++) {
		lists[i] = STORE_SENDER_NONE;
		if ((rc = sender_args(st, patterns[i], STORE_SENDER_NONE,
			 NULL)) != 0)
			return rc;
	}
	if (n == 0)
		return 0;
	return st->st_ops->sender_find(st, uid, patterns, n, lists);
}

int
store_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	return st->st_ops->senders(st, uid, fn, arg);
}

/* check_sources - each delta names a source, in strictly ascending order. */
static int
check_sources(struct store *st, const struct store_source_delta *d, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		if ((rc = check_str(st, "source", d[i].source, 1,
			 STORE_SOURCE_MAX)) != 0)
			return rc;
		if (i > 0 && strcmp(d[i - 1].source, d[i].source) >= 0) {
			store_seterr(st,
			    "source deltas not in ascending order at %zu", i);
			return ES_EINVAL;
		}
	}
	return 0;
}

int
store_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, time_t now)
{
	bool implicit;
	int32_t day;
	int rc;

	if (n == 0)
		return 0;
	if (d == NULL)
		return ES_EINVAL;
	if ((rc = now_day(st, now, &day)) != 0 ||
	    (rc = check_sources(st, d, n)) != 0)
		return rc;
	if (st->st_ops->sources_add == NULL) {
		store_seterr(st, "%s: no source tracking", st->st_ops->name);
		return ES_EINVAL;
	}
	if ((rc = wbegin(st, &implicit)) != 0)
		return rc;
	rc = st->st_ops->sources_add(st, d, n, (int64_t)now);
	return wend(st, implicit, rc);
}

int
store_sources_get(struct store *st, struct store_source *rows, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if (rows == NULL || n > STORE_SOURCES_GET_MAX)
		return ES_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char src[STORE_SOURCE_MAX + 1];

		rows[i].source[STORE_SOURCE_MAX] = '\0';
		if ((rc = check_str(st, "source", rows[i].source, 1,
			 STORE_SOURCE_MAX)) != 0)
			return rc;
		strlcpy(src, rows[i].source, sizeof(src));
		memset(&rows[i], 0, sizeof(rows[i]));
		strlcpy(rows[i].source, src, sizeof(rows[i].source));
	}
	if (st->st_ops->sources_get == NULL)
		return 0;
	return st->st_ops->sources_get(st, rows, n);
}

int
store_sources_list(struct store *st, time_t since, store_source_fn *fn,
    void *arg)
{
	if (fn == NULL)
		return ES_EINVAL;
	if (st->st_ops->sources_list == NULL)
		return 0;
	return st->st_ops->sources_list(st, (int64_t)since, fn, arg);
}

/* ---- for the front end's other files ---- */

int
store_write_begin(struct store *st, bool *implicit)
{
	return wbegin(st, implicit);
}

int
store_write_end(struct store *st, bool implicit, int rc)
{
	return wend(st, implicit, rc);
}

int
store_check_text(struct store *st, const char *what, const char *s,
    size_t min, size_t max)
{
	return check_str(st, what, s, min, max);
}

int
store_now_day(struct store *st, time_t now, int32_t *day)
{
	return now_day(st, now, day);
}
