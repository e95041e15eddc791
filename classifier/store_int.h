/*
 * store_int.h - what a storage driver implements, and the helpers the
 * drivers share. Not for users of the store: they include store.h.
 *
 * store.c owns struct store, checks every argument, keeps track of the
 * transaction state, wraps writes made outside a transaction in one of
 * their own, converts times to days and runs the purge loop. A driver
 * therefore only moves data: each operation below receives arguments
 * that were already checked (non-NULL pointers, lengths within the
 * bounds documented in store.c, deltas in strictly ascending order).
 *
 * It is declared here, beside store.h, as the classifier's side of the
 * interface: the drivers in storage/ implement it, and nothing here
 * names them.
 *
 * Adding a driver (as "mysql" in storage/store_mysql.c): define a
 * `const struct store_ops store_NAME_ops`, declare it in
 * storage/store_drivers.h and add one row to the driver table in
 * storage/store_open.c.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

/* DSPAM's control token, the id of "$$CONTROL$$": purge never deletes it. */
#define STORE_CONTROL_TOKEN 11624422384514212933ULL

/* Bounds of names and values, from DSPAM's MySQL column sizes. */
#define STORE_USER_MAX 128   /* dspam_virtual_uids.username */
#define STORE_SIG_ID_MAX 32  /* dspam_signature_data.signature */
#define STORE_PREF_KEY_MAX 32  /* dspam_preferences.preference */
#define STORE_PREF_VAL_MAX 64  /* dspam_preferences.value */
#define STORE_DOMAIN_MAX 255 /* a DNS name is at most 253 characters */
#define STORE_POLICY_MAX 255 /* edgespam_domain_policy.policy */

#define STORE_ERR_MAX 512

/* The purge rules, in the order store_purge() runs them. */
enum store_purge_rule {
	STORE_PURGE_SIGNATURES, /* signatures: created_on < cutoff */
	STORE_PURGE_UNUSED,     /* tokens: last_hit < cutoff */
	STORE_PURGE_RARE,       /* tokens: 2*innocent + spam < 5 */
	STORE_PURGE_SINGLE,     /* tokens: exactly one hit in total */
	STORE_PURGE_SOURCES,    /* sources: last_seen before the cutoff
	                           day's first second */
	STORE_PURGE_HISTORY,    /* history: time before the cutoff day's
	                           first second */
	STORE_PURGE_DAILY       /* daily counts: day < cutoff */
};

enum store_tx {
	STORE_TX_NONE,
	STORE_TX_READ,
	STORE_TX_WRITE
};

/*
 * A driver's operations. Days are days since 1970-01-01 (UTC), already
 * computed from the caller's time_t. Every function returns 0 or an
 * es_err code and, on failure, sets the message with store_seterr().
 */
struct store_ops {
	const char *name;
	/* open - set st->st_drv; on failure free what was made. */
	int (*open)(struct store *st, const struct store_params *p);
	/* close - free st->st_drv (a transaction still open is rolled back). */
	void (*close)(struct store *st);
	int (*begin)(struct store *st, bool write);
	/* commit - on failure the transaction has been rolled back. */
	int (*commit)(struct store *st);
	/* rollback - must not fail. */
	void (*rollback)(struct store *st);

	int (*user_uid)(struct store *st, const char *name, bool create,
	    uint32_t *uid);
	int (*users)(struct store *st, store_user_fn *fn, void *arg);

	/* tokens_get - fill the tokens found; store.c zeroed them all. */
	int (*tokens_get)(struct store *st, uint32_t uid,
	    struct store_token *toks, size_t n);
	int (*tokens_put)(struct store *st, uint32_t uid,
	    const struct store_delta *d, size_t n, int32_t day);
	/* tokens_list - optional (NULL: ES_EINVAL): uid's rows in
	 * ascending unsigned token order. */
	int (*tokens_list)(struct store *st, uint32_t uid, store_token_fn *fn,
	    void *arg);

	int (*totals_get)(struct store *st, uint32_t uid,
	    struct store_totals *t);
	int (*totals_add)(struct store *st, uint32_t uid,
	    const struct store_totals *delta);

	int (*sig_put)(struct store *st, uint32_t uid, const char *id,
	    const void *data, size_t len, int32_t day);
	int (*sig_get)(struct store *st, uint32_t uid, const char *id,
	    void **data, size_t *len);
	int (*sig_delete)(struct store *st, uint32_t uid, const char *id);

	/* pref_get - the whole value as a copy the caller frees (es_free). */
	int (*pref_get)(struct store *st, uint32_t uid, const char *key,
	    char **val);
	int (*pref_set)(struct store *st, uint32_t uid, const char *key,
	    const char *val);
	int (*prefs)(struct store *st, uint32_t uid, store_pair_fn *fn,
	    void *arg);

	int (*domain_get)(struct store *st, const char *domain, char **policy);
	int (*domain_set)(struct store *st, const char *domain,
	    const char *policy);
	int (*domains)(struct store *st, store_pair_fn *fn, void *arg);

	/*
	 * purge_batch - delete at most `batch` rows that rule selects with
	 * a date before cutoff (never the control token); *deleted gets
	 * the count. Called inside a write transaction.
	 */
	int (*purge_batch)(struct store *st, enum store_purge_rule rule,
	    int32_t cutoff, size_t batch, uint64_t *deleted);
	/* maintain - optional (NULL: nothing to do); see store_maintain. */
	int (*maintain)(struct store *st, bool quiet);
	/*
	 * refresh - optional: store_refresh(), called outside a
	 * transaction; a reopen is reported with store_set_reopen().
	 */
	int (*refresh)(struct store *st);
	/* file_id - optional: the file the handle has open. */
	void (*file_id)(const struct store *st, struct store_file *f);
	/*
	 * purge_lock - optional: take the store-wide purge lock without
	 * waiting, ES_EBUSY when another handle (any process, any host
	 * sharing the database) holds it. It must be released by
	 * purge_unlock, and by the end of the process or connection that
	 * took it, so a crashed purge never blocks the next one.
	 */
	int (*purge_lock)(struct store *st);
	void (*purge_unlock)(struct store *st);
	/*
	 * schema - optional: store_schema() on a connection of the
	 * driver's own to the database p names (st is a bare handle whose
	 * st_err takes the message; st_drv is NULL and stays so). Calls fn
	 * for each missing item and counts them in *missing.
	 */
	int (*schema)(struct store *st, const struct store_params *p,
	    enum store_schema_op op, store_schema_fn *fn, void *arg,
	    size_t *missing);
	/* Source tracking: arguments checked, deltas in ascending order;
	 * sources_get receives rows zeroed but for their source. */
	int (*sources_add)(struct store *st,
	    const struct store_source_delta *d, size_t n, int64_t now);
	int (*sources_get)(struct store *st, struct store_source *rows,
	    size_t n);
	int (*sources_list)(struct store *st, int64_t since,
	    store_source_fn *fn, void *arg);

	/*
	 * Sender lists; list is "allow" or "block" (the column's text).
	 * sender_remove sets *removed when a row went; sender_find fills
	 * lists[i] for the patterns it finds (store.c set all to NONE).
	 */
	int (*sender_set)(struct store *st, uint32_t uid, const char *pattern,
	    const char *list, int32_t day);
	int (*sender_remove)(struct store *st, uint32_t uid,
	    const char *pattern, const char *list, bool *removed);
	int (*sender_find)(struct store *st, uint32_t uid,
	    const char *const *patterns, size_t n,
	    enum store_sender_list *lists);
	int (*senders)(struct store *st, uint32_t uid, store_pair_fn *fn,
	    void *arg);

	/*
	 * History (store_history.c checked the arguments: texts within
	 * their bounds and never NULL, enums valid, q->search NULL when
	 * empty). history_add sets *id; history_correct and
	 * history_set_action set *changed when a row was there;
	 * history_correct sets *was (never NULL) to the time and former
	 * correction of the signature's oldest row.
	 */
	int (*history_add)(struct store *st, uint32_t uid,
	    const struct store_history *row, int64_t *id);
	int (*history_list)(struct store *st, uint32_t uid,
	    const struct store_history_query *q, store_history_fn *fn,
	    void *arg);
	int (*history_count)(struct store *st, uint32_t uid,
	    const struct store_history_query *q, uint64_t *n);
	int (*history_correct)(struct store *st, uint32_t uid,
	    const char *signature, enum store_correction c, int64_t now,
	    bool *changed, struct store_history_was *was);
	int (*history_set_action)(struct store *st, uint32_t uid, int64_t id,
	    enum store_action action, bool *changed);

	/*
	 * Daily counts (store_daily.c checked the arguments). daily_add
	 * adds d's counts to (uid, day), clamping each at zero;
	 * daily_list gives uid's rows with day >= since, oldest first.
	 */
	int (*daily_add)(struct store *st, uint32_t uid, int32_t day,
	    const struct store_daily *d);
	int (*daily_list)(struct store *st, uint32_t uid, int32_t since,
	    store_daily_fn *fn, void *arg);
};

/* The handle; drivers keep their state behind st_drv. */
struct store {
	const struct store_ops *st_ops;
	void *st_drv;
	enum store_tx st_tx;
	char st_err[STORE_ERR_MAX];
	bool st_reopened;           /* st_reopen not yet taken */
	bool st_conflict;           /* the last failure: store_conflict() */
	struct store_reopen st_reopen;
};

/*
 * store_open_ops - store_open() with the driver chosen: a handle on
 * ops's database as p says. storage/store_open.c picks ops by p->driver.
 */
int store_open_ops(const struct store_ops *ops, const struct store_params *p,
    struct store **out, char *err, size_t errlen);

/* store_schema_ops - store_schema() with the driver chosen. */
int store_schema_ops(const struct store_ops *ops, const struct store_params *p,
    enum store_schema_op op, store_schema_fn *fn, void *arg, size_t *missing,
    char *err, size_t errlen);

/* store_seterr - set the handle's message for the last failure (which is
 * not a conflict until store_set_conflict() says so). */
void store_seterr(struct store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* store_set_conflict - the failure just set was a conflict between
 * writers (see store_conflict() in store.h). */
void store_set_conflict(struct store *st);

/* store_set_reopen - note r for the next store_reopened() of st. */
void store_set_reopen(struct store *st, const struct store_reopen *r);

/*
 * store_write_begin, store_write_end - a write made outside a
 * transaction gets one of its own: begin opens it unless one is open
 * (*implicit says whether it did); end commits it when rc is 0, else
 * rolls it back, and returns rc or the commit's error. For the parts of
 * the front end kept in files of their own (store_history.c).
 */
int store_write_begin(struct store *st, bool *implicit);
int store_write_end(struct store *st, bool implicit, int rc);
/* store_check_text - s is min..max bytes long; ES_EINVAL (message set)
 * when NULL or not. */
int store_check_text(struct store *st, const char *what, const char *s,
    size_t min, size_t max);
/* store_now_day - the UTC day of now; ES_EINVAL outside 1970..9999. */
int store_now_day(struct store *st, time_t now, int32_t *day);
/* store_history_match - whether row passes q's filters but limit and
 * offset (for drivers that filter in C: memory). */
bool store_history_match(const struct store_history *row,
    const struct store_history_query *q);

/* store_sender_list_text - "allow", "block", or NULL for another value. */
const char *store_sender_list_text(enum store_sender_list l);
/* store_sender_list_of - the list a column's text names (NONE if neither). */
enum store_sender_list store_sender_list_of(const char *text);

/* store_day_iso - format day (days since epoch) as YYYY-MM-DD into buf. */
void store_day_iso(int32_t day, char buf[11]);
/*
 * store_iso_day - parse YYYY-MM-DD (more text after it, e.g. a time, is
 * ignored) into days since epoch; ES_EPARSE when it is not such a date.
 */
int store_iso_day(const char *s, int32_t *day);

#endif
