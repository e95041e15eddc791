/*
 * milter.h - the parts of edgespam-milter and how they meet.
 *
 *   main.c      command line, daemon life cycle, signals, privileges
 *   privfile.c  the files root touches before the drop, on descriptors
 *   runtime.c   the reloadable settings a transaction runs with
 *   pool.c      the store handles and engine work areas threads share
 *   callbacks.c libmilter's callbacks: one message from MAIL to EOM
 *   policy.c    pure decisions (retrain alias?, trusted?); whether a
 *               user is filtered is classifier/cls_policy.c's
 *
 * A transaction takes a reference to the runtime that is current at
 * MAIL FROM and keeps it to its end, so a SIGHUP reload never changes
 * the rules under a message in flight.
 */
#ifndef MILTER_H
#define MILTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "cls_engine.h"
#include "cls_policy.h"
#include "policy.h"
#include "store.h"

struct conf;

enum mlt_on_error { MLT_ACCEPT, MLT_TEMPFAIL };
enum mlt_grouping { MLT_SPLIT, MLT_FIRST };

/* The settings of one configuration load; shared, reference counted. */
struct mlt_runtime {
	unsigned refs;            /* guarded by the runtime lock */
	struct conf *cf;
	char *conf_path;
	struct cls_engine_cfg ecfg;
	enum mlt_on_error on_error;
	enum mlt_grouping grouping;
	enum cls_policy default_policy;
	char split_rcode[4];      /* "452" */
	char split_xcode[16];     /* "4.5.3" */
	char split_text[256];
	struct pol_rcpt_rules rules; /* retrain_aliases, recipient_delimiter */
	bool bad_rcpt_tempfail;      /* bad_recipient_action = tempfail */
	struct conf_net *nets;
	size_t nnets;
	const char *sig_location; /* configured default */
	unsigned timeout_ms;      /* per-message budget for the store */
	unsigned store_down_log_s;
	size_t max_scan;
	bool track_sources;       /* source_tracking */
	bool history;             /* history */
	unsigned grey_streak;     /* greylist_spam_streak; 0 = off */
	unsigned grey_window_s;   /* greylist_window_s */
};

/*
 * mlt_runtime_load - read path into a new runtime (refs 1). On a bad
 * file, every error goes to fp (file:line: message) and NULL is
 * returned.
 */
struct mlt_runtime *mlt_runtime_load(const char *path, FILE *fp);
/* mlt_runtime_get - a reference to the current runtime. */
struct mlt_runtime *mlt_runtime_get(void);
/* mlt_runtime_put - drop a reference; the last one frees it. */
void mlt_runtime_put(struct mlt_runtime *rt);
/* mlt_runtime_install - make rt current (takes over its reference). */
void mlt_runtime_install(struct mlt_runtime *rt);

/* One store handle with the engine work area used with it. */
struct mlt_slot {
	struct store *st;
	struct cls_engine *eng;
	bool busy;
	bool writer;      /* holds the pool's write lock */
	struct store *wst; /* while writer: the pool's writer handle */
};

/*
 * The pool: n slots, opened on first use and reopened after a
 * permanent failure. mlt_pool_get waits at most until deadline (a
 * CLOCK_MONOTONIC time); ES_ETRANSIENT when no slot came free or the store cannot be opened
 * (err says why).
 */
/* mlt_deadline_in - ts = CLOCK_MONOTONIC now + ms (pool deadlines). */
void mlt_deadline_in(unsigned ms, struct timespec *ts);
int mlt_pool_init(const struct store_params *p, size_t n, char *err,
    size_t errlen);
int mlt_pool_get(const struct timespec *deadline, struct mlt_slot **slot,
    char *err, size_t errlen);
/*
 * mlt_pool_lock_write - take the write lock for slot (until put) and
 * set slot->wst to the writer handle: one handle does every write, so
 * its page cache is never invalidated by another writer's commit.
 */
int mlt_pool_lock_write(struct mlt_slot *slot, const struct timespec *deadline,
    char *err, size_t errlen);
/* mlt_pool_unlock_write - give the write lock back before put. */
void mlt_pool_unlock_write(struct mlt_slot *slot);
void mlt_pool_put(struct mlt_slot *slot, bool broken);
/*
 * mlt_pool_learn - write what slot's engine scored (see
 * cls_engine_score_tokenized): on SQLite through the pool's group
 * writer, where it may share one transaction with other messages'
 * writes; on MySQL in a transaction of the slot's own connection,
 * written again after a deadlock or a lost connection until deadline.
 * hist (NULL: none) is a history row for hist->uid added in the same
 * transaction, its signature set to the one just stored (res->sig); on
 * success hist->id is the row's id, else 0. hist's texts are the
 * caller's and need to live only until the call returns.
 * 0, or an es_err code with err set; ES_ETRANSIENT when it could not
 * be written before deadline. Call it without holding the write lock.
 */
int mlt_pool_learn(struct mlt_slot *slot, const unsigned char rnd[16],
    time_t now, const struct timespec *deadline,
    struct cls_engine_result *res, struct store_history *hist, char *err,
    size_t errlen);
/*
 * mlt_pool_history - add hist (for hist->uid, no signature) through the
 * same writer, alone: for a message nothing was learned from. hist->id
 * as above.
 */
int mlt_pool_history(struct mlt_slot *slot, const struct timespec *deadline,
    struct store_history *hist, char *err, size_t errlen);
/*
 * mlt_pool_history_action - set the action of uid's history row id, in
 * a write of its own on a slot of its own (call it holding no slot).
 */
int mlt_pool_history_action(uint32_t uid, int64_t id, enum store_action action,
    const struct timespec *deadline, char *err, size_t errlen);
/*
 * mlt_pool_conflict_pause - after try number `tries` of a write on st
 * failed with rc: when it was a conflict with another writer
 * (store_conflict(): a deadlock, a Galera certification failure) and
 * the deadline leaves time, sleep a growing pause with a random part
 * and return true (try again); else false.
 */
bool mlt_pool_conflict_pause(struct store *st, int rc, unsigned tries,
    const struct timespec *deadline);
void mlt_pool_destroy(void);
/* The housekeeping thread (store_maintain every interval_ms). */
int mlt_pool_maintain_start(unsigned interval_ms);
void mlt_pool_maintain_stop(void);

/* The registration for smfi_register(). */
extern struct smfiDesc mlt_desc;

/* Messages between MAIL FROM and their end, for a graceful stop. */
unsigned mlt_inflight(void);

/*
 * mlt_store_down - whether the failure what (its log text) should be
 * logged now: once per interval seconds, with the number of failures in
 * between in *suppressed, or at once when it differs from the failure
 * last logged.
 */
bool mlt_store_down(unsigned interval, const char *what,
    unsigned long *suppressed);

/*
 * mlt_retrain_start - listen on the retrain socket path (nothing when
 * path is empty) and serve it from a thread of its own (retrain.c).
 * Call it after dropping root: the socket is the milter user's. -1 with
 * err set on failure.
 */
int mlt_retrain_start(const char *path, char *err, size_t errlen);
/* mlt_retrain_stop - stop listening, let requests in flight end, remove
 * the socket file. */
void mlt_retrain_stop(const char *path);

#endif
