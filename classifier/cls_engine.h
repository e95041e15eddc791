/*
 * cls_engine.h - "process this message for this user": where the pure
 * classifier modules meet the store.
 *
 * The milter and the CLI both call these functions, so classification,
 * learning, signatures and totals exist once. Each call is one store
 * transaction: it commits everything or nothing (on any error the
 * transaction is rolled back and the store is as before).
 *
 * Errors: 0, or an es_err code: ES_ETRANSIENT (store busy or down:
 * retry later), ES_ESTORE, ES_ENOMEM, ES_ENOTFOUND (cls_engine_correct:
 * no such signature for this user), ES_EINVAL. err gets a one-line
 * description naming the failing step and the store's message.
 *
 * A struct cls_engine is a reusable work area (token set, arrays) for
 * one thread; it holds no store and no configuration.
 */
#ifndef CLS_ENGINE_H
#define CLS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cls_learn.h"
#include "cls_msg.h"
#include "cls_score.h"
#include "cls_shared.h"
#include "cls_sig.h"
#include "cls_token.h"
#include "cls_user.h"
#include "es_buf.h"

struct store;

/*
 * The shared dictionary: a reserved user whose statistics are merged
 * with a young user's by the rule in cls_shared.h. Classification only
 * reads it; corrections (a signature's, or --source=error training) also
 * train it, as corpus, when learn_corrections is set.
 */
struct cls_engine_shared {
	char name[CLS_USER_MAX + 1]; /* the reserved user; "" = none */
	struct cls_shared_opts opts; /* the maturity minimums */
	double spam_threshold;       /* a new user's Spam threshold while
	                                the dictionary takes part (0: the
	                                user's); see cls_shared_threshold() */
	bool learn_corrections;
	double fp_weight;            /* k of cls_shared_threshold_weight():
	                                how far each corrected false
	                                positive moves the threshold toward
	                                the user's own (0: not at all) */
	bool want_own;               /* analysis: also score a message the
	                                dictionary took part in on the
	                                user's own statistics alone
	                                (res->own_score); no conf key */
};

struct cls_engine_cfg {
	struct cls_limits lim;
	struct cls_tok_opts tok;
	struct cls_score_opts score;
	enum cls_mode mode;
	size_t factors; /* tokens listed in X-DSPAM-Factors; 0 = none */
	struct cls_engine_shared shared;
};

enum cls_engine_op {
	CLS_ENGINE_CLASSIFY, /* verdict only: reads, learns nothing */
	CLS_ENGINE_PROCESS   /* verdict, learning by mode, signature */
};

#define CLS_FACTOR_TEXT 48

struct cls_engine_factor {
	char text[CLS_FACTOR_TEXT]; /* printable, cut; from the message */
	double prob;
};

struct cls_engine_result {
	enum cls_result result;
	double probability;
	double confidence;
	double score;            /* the method's continuous statistic */
	enum cls_class learned;  /* what the message counts as learned as */
	bool changed;            /* correct: false when there was nothing to
	                            correct (the verdict already was right) */
	char sig[CLS_SIG_ID_LEN + 1]; /* "" when no signature was stored */
	size_t ntokens;
	unsigned defects;        /* enum cls_defect bits from parsing */
	size_t nfactors;
	struct cls_engine_factor factors[CLS_MAX_FACTORS];
	bool shared;             /* the shared dictionary took part */
	double user_weight;      /* then: the user's maturity w, 0..1 */
	double own_score;        /* then, with cfg->shared.want_own: the
	                            score on the user's own statistics
	                            alone (0 otherwise) */
	double threshold;        /* the Spam threshold of the verdict
	                            (a probability, cls_score_threshold) */
};

/* cls_engine_cfg_default - the defaults of the sample configuration. */
void cls_engine_cfg_default(struct cls_engine_cfg *cfg);

/* cls_engine_new, cls_engine_free - a work area (NULL on out of memory). */
struct cls_engine *cls_engine_new(void);
void cls_engine_free(struct cls_engine *e);

/*
 * cls_engine_user_cfg - base with the user's preferences applied
 * (uid 0's defaults first, then the user's own): trainingMode,
 * spamThreshold (0..1), whitelistThreshold, minTraining. Unknown keys
 * are for the caller (spamAction, signatureLocation, optIn, optOut);
 * unusable values are ignored.
 */
int cls_engine_user_cfg(struct store *st, uint32_t uid,
    const struct cls_engine_cfg *base, struct cls_engine_cfg *out);

/* The buffer a preference value is read into (a longer one is cut). */
#define CLS_ENGINE_PREF_SIZE 80

/* cls_engine_pref_key - the i-th preference the engine reads, in the
 * order cls_engine_user_cfg() applies them; NULL past the last. */
const char *cls_engine_pref_key(size_t i);

/*
 * cls_engine_pref_apply - apply one preference value as
 * cls_engine_user_cfg() does: 0 when applied to cfg, ES_EINVAL when the
 * value is unusable (cfg unchanged: the value before it stays),
 * ES_ENOTFOUND when key is not the engine's. Pure; for showing where an
 * effective setting comes from.
 */
int cls_engine_pref_apply(struct cls_engine_cfg *cfg, const char *key,
    const char *val);

/*
 * cls_engine_shared_plan - whether the shared dictionary takes part in
 * classifying for uid, whose own learned totals are ct: m is the merge
 * the engine would use (cls_shared.h), m->active false when it does not:
 * none configured, the user mature (m->user_weight 1), the dictionary
 * not in the store or uid itself, or it lacks a class. *guid is the
 * dictionary's uid (0 when not in the store). Reads the store only for
 * a young user. 0 or a store error.
 */
int cls_engine_shared_plan(struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct cls_totals *ct,
    uint32_t *guid, struct cls_merge *m);

/*
 * cls_engine_process - classify msg (len bytes) for uid. With
 * CLS_ENGINE_PROCESS it learns by cfg->mode, stores a signature under the
 * id made of the 16 random bytes rnd, and counts the totals; with
 * CLS_ENGINE_CLASSIFY it only reads. now is the time for last_hit and
 * the signature's date. It knows no SMTP client, so it makes no sender
 * token: no automatic whitelisting (see cls_engine_tokenize).
 */
int cls_engine_process(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, enum cls_engine_op op, const char *msg,
    size_t len, const unsigned char rnd[16], time_t now,
    struct cls_engine_result *res, char *err, size_t errlen);

/*
 * cls_engine_tokenize, cls_engine_process_tokenized - the two halves of
 * cls_engine_process(), for a caller that parses and tokenizes (pure
 * CPU work) before it takes a store lock: the first keeps the message's
 * tokens in e (cfg's limits and tokenizer; res gets their number and
 * the parser's defects), the second does the store
 * work for them with cfg's mode and scoring (ES_EINVAL without a
 * tokenized message; it consumes it).
 *
 * client is the address of the SMTP client that sent msg (text as the
 * MTA gave it, see cls_source.h), or NULL when unknown. With a usable
 * address, the message gets the sender token of automatic whitelisting
 * (cls_sender_token: the From: address and the client's /24 or /64),
 * which is learned with the message and whitelists it once it has more
 * than whitelist_threshold innocent hits (cls_score.h). NULL, or text
 * that is no address: no sender token, so the message can be neither
 * whitelisted automatically nor count toward it. A caller that cannot
 * vouch for the client (one that reads it from the message) must pass
 * NULL. The client is forgotten by the next cls_engine_tokenize().
 */
int cls_engine_tokenize(struct cls_engine *e, const struct cls_engine_cfg *cfg,
    const char *client, const char *msg, size_t len,
    struct cls_engine_result *res, char *err, size_t errlen);
int cls_engine_process_tokenized(struct cls_engine *e, struct store *st,
    uint32_t uid, const struct cls_engine_cfg *cfg, enum cls_engine_op op,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen);

/*
 * cls_engine_score_tokenized, cls_engine_learn_scored - process_tokenized
 * with CLS_ENGINE_PROCESS in two transactions, for a caller that runs
 * many messages at once and serialises its writers: the first reads
 * (a read transaction, which does not wait for writers under WAL or
 * InnoDB) and scores, filling res with the verdict and keeping the plan
 * of what to learn in e; the second, under the caller's write lock,
 * writes that plan, the signature and the totals in one write
 * transaction. The counts are increments, so nothing is lost between
 * the two; what a message reads may miss the messages written in
 * between, as with DSPAM's own processes sharing one database.
 * res->sig and res->learned are set by the second.
 */
int cls_engine_score_tokenized(struct cls_engine *e, struct store *st,
    uint32_t uid, const struct cls_engine_cfg *cfg,
    struct cls_engine_result *res, char *err, size_t errlen);
int cls_engine_learn_scored(struct cls_engine *e, struct store *st,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen);
/*
 * cls_engine_stage_scored - the writes of cls_engine_learn_scored inside
 * a write transaction the caller opened and ends, so that one commit can
 * carry several messages (group commit). It keeps the plan: when the
 * caller's transaction fails, it may stage the message again in another
 * one. cls_engine_scored_done() drops the plan once committed. On
 * failure res->sig is empty and the caller must roll back.
 */
int cls_engine_stage_scored(struct cls_engine *e, struct store *st,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen);
void cls_engine_scored_done(struct cls_engine *e);
/*
 * cls_engine_score_in_tx - cls_engine_score_tokenized() inside a write
 * transaction the caller opened and ends: its reads see what that
 * transaction has written, so messages scored and staged
 * (cls_engine_stage_scored) one after another in it come out as if
 * each had been committed before the next (batch training, one commit
 * for many messages). On failure the caller rolls back.
 */
int cls_engine_score_in_tx(struct cls_engine *e, struct store *st,
    uint32_t uid, const struct cls_engine_cfg *cfg,
    struct cls_engine_result *res, char *err, size_t errlen);

/*
 * cls_engine_count_source - source tracking for the message
 * cls_engine_tokenize() just kept in e, from the client given there:
 * when the message is then learned (CLS_ENGINE_PROCESS, or
 * learn/stage_scored), its verdict is counted for the client's address
 * and network in the same transaction (Spam as spam; Innocent and
 * Whitelisted as innocent), and the signature keeps the address so that
 * cls_engine_correct() counts a correction against it. Nothing is
 * counted when tokenize had no usable client. Call it between
 * cls_engine_tokenize() and the store step; the next
 * cls_engine_tokenize() forgets it.
 */
void cls_engine_count_source(struct cls_engine *e);

/*
 * cls_engine_train - learn msg as cls from src without a signature
 * (corpus, inoculation, or an error whose signature is lost). There is
 * no SMTP client, so no sender token is learned.
 */
int cls_engine_train(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const char *msg, size_t len,
    enum cls_class cls, enum cls_source src, time_t now,
    struct cls_engine_result *res, char *err, size_t errlen);

/*
 * cls_engine_correct - correct the message of signature sig_id of uid to
 * class cls: undo what its classification learned, learn cls, count the
 * error, delete the signature (it corrects once). ES_ENOTFOUND when uid
 * has no such signature. res->changed is false (and nothing changes) when
 * the signature's verdict already was cls. A signature that recorded
 * the client address (ESG2) counts the correction for that source:
 * spam_corrections for cls spam (missed spam), innocent_corrections for
 * cls innocent (a false positive, which also ends the source's spam
 * streak). The signature's history row, when there is one, is marked
 * corrected to cls at now (store_history_correct).
 */
int cls_engine_correct(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const char *sig_id, enum cls_class cls,
    time_t now, struct cls_engine_result *res, char *err, size_t errlen);

#define CLS_ENGINE_MAX_HEADERS 7

/* The X-DSPAM-* fields of a result: names, and values in one buffer. */
struct cls_engine_headers {
	size_t n;
	const char *name[CLS_ENGINE_MAX_HEADERS];
	size_t off[CLS_ENGINE_MAX_HEADERS]; /* value offsets into buf */
	struct es_buf buf;                  /* values, NUL-separated */
};

/*
 * cls_engine_headers - the fields to add for res: X-DSPAM-Result,
 * -Processed (now, UTC, asctime style), -Confidence, -Probability (four
 * decimals), -Signature (when one was stored), -Dictionary ("shared;
 * user-weight=0.12" when the shared dictionary took part) and -Factors
 * (when res has factors; folded, one token per line). The caller releases h->buf with
 * es_buf_release(). Returns 0 or ES_ENOMEM.
 */
int cls_engine_headers(const struct cls_engine_result *res, time_t now,
    struct cls_engine_headers *h);
/* cls_engine_header_value - value i of h. */
const char *cls_engine_header_value(const struct cls_engine_headers *h,
    size_t i);

#endif
