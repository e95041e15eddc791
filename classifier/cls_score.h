/*
 * cls_score.h - turn per-token statistics into a verdict.
 *
 * The caller gathers, for every distinct token of a message, the user's
 * counts (spam_hits, innocent_hits) and the learned correction weight,
 * plus the user's message totals; cls_score() combines them with one of
 * the methods below and returns the verdict, its probability and
 * confidence, and the tokens that decided it.
 *
 * Methods:
 *   graham      DSPAM's Graham: the 15 most interesting tokens, naive
 *               Bayes product.
 *   burton      Graham with up to 27 tokens, a repeated token counting
 *               twice.
 *   graham-burton  both (DSPAM's "Algorithm graham burton"): Spam when
 *               either says Spam.
 *   robinson    Robinson's geometric-mean combination of all tokens.
 *   chi-square  Robinson-Fisher: inverse chi-square of the token
 *               probabilities (what bogofilter does).
 *   hybrid      edgespam's own: the mean token log-odds of the header
 *               and of the body, averaged, shrunk while little is known,
 *               plus a logistic-regression correction learned online
 *               from the same token ids (see cls_score.c for the maths).
 * Pure code: no I/O, no globals, no allocation. Thread-safe.
 */
#ifndef CLS_SCORE_H
#define CLS_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cls_token.h"

enum cls_algo {
	CLS_ALGO_GRAHAM,
	CLS_ALGO_BURTON,
	CLS_ALGO_ROBINSON,
	CLS_ALGO_CHI_SQUARE,
	CLS_ALGO_HYBRID,
	CLS_ALGO_GRAHAM_BURTON /* DSPAM's "graham burton": Spam when either
	                          reaches the threshold */
};

enum cls_result {
	CLS_INNOCENT = 0,
	CLS_SPAM = 1,
	CLS_WHITELISTED = 2
};

/* Token flags (struct cls_stat.flags): CLS_TF_* in cls_token.h. */

/* One token's statistics for scoring. */
struct cls_stat {
	uint64_t id;
	uint64_t spam_hits;
	uint64_t innocent_hits;
	double weight;  /* learned correction (hybrid); 0 for others */
	uint32_t count; /* occurrences in the message */
	uint32_t flags; /* CLS_TF_* */
	double prob;    /* out: the token's spam probability */
};

/* The user's learned message totals that scoring needs. */
struct cls_totals {
	uint64_t spam_learned;
	uint64_t innocent_learned;
};

struct cls_score_opts {
	enum cls_algo algo;
	double spam_threshold;        /* verdict Spam at or above (0.9;
	                                 hybrid 0.977, ramped) */
	unsigned threshold_ramp;      /* hybrid: the threshold's logit is
	                                 scaled by N / (N + this), N the
	                                 learned messages; 0 = off (25) */
	unsigned min_training;        /* messages of each class learned
	                                 before any Spam verdict (10) */
	unsigned whitelist_threshold; /* sender innocent hits needed; 0 =
	                                 off (10) */
	bool bnr;                     /* drop tokens marked CLS_TF_NOISE */
};

#define CLS_MAX_FACTORS 100

struct cls_verdict {
	enum cls_result result;
	double probability;  /* spam probability, 0..1 */
	double confidence;   /* 0.5..1: how sure the verdict is */
	double score;        /* the method's continuous statistic: higher
	                        is spammier (for ROC analysis) */
	double lr_scale;     /* hybrid: 1/sqrt(n+1), the feature value used
	                        by the learning step; 0 for other methods */
	size_t used;         /* tokens that entered the combination */
	size_t nfactors;     /* entries in factors[] */
	size_t factors[CLS_MAX_FACTORS]; /* indexes into the input array of
	                        the most decisive tokens, strongest first */
};

/* cls_score_opts_default - DSPAM-like defaults for the given method. */
void cls_score_opts_default(struct cls_score_opts *o, enum cls_algo algo);
/*
 * cls_algo_name, cls_algo_parse - "graham", ..., "hybrid",
 * "graham-burton". parse also takes DSPAM's form, a list of names
 * separated by blanks or commas in any case ("Algorithm graham burton"):
 * one name, or graham with burton. Other lists are ES_EINVAL.
 */
const char *cls_algo_name(enum cls_algo algo);
int cls_algo_parse(const char *name, enum cls_algo *algo);
/* cls_result_name - "Innocent", "Spam", "Whitelisted". */
const char *cls_result_name(enum cls_result r);

/*
 * cls_score - score n tokens (the array is not reordered; prob is
 * written for each) against the totals. want_factors (<= 
 * CLS_MAX_FACTORS) bounds the factor list. Returns 0, or ES_EINVAL for
 * bad options.
 */
int cls_score(struct cls_stat *toks, size_t n, const struct cls_totals *tot,
    const struct cls_score_opts *o, size_t want_factors,
    struct cls_verdict *v);

/*
 * cls_score_threshold - the probability at or above which cls_score()
 * says Spam for a user with learned totals tot: spam_threshold, except
 * for hybrid with threshold_ramp > 0 and a threshold above 0.5, where
 * its logit is scaled by N / (N + threshold_ramp), N = spam_learned +
 * innocent_learned (so a user who has learned little decides at a lower
 * threshold, as the hybrid's scores grow with learning). Pure.
 */
double cls_score_threshold(const struct cls_score_opts *o,
    const struct cls_totals *tot);

/*
 * cls_hybrid_step - the hybrid method's learning step for a message
 * whose verdict had spam probability p and feature scale lr_scale,
 * learned as spam (is_spam) or innocent: the amount added to the weight
 * of every token of the message. Pure, so that a correction can undo a
 * step exactly by subtracting the value stored in the signature.
 */
double cls_hybrid_step(double p, double lr_scale, bool is_spam);

/* cls_bnr_mark - Bayesian noise reduction over the token sequence seq
 * (indexes into toks, in message order, nseq entries): set CLS_TF_NOISE
 * on tokens whose probability disagrees with both neighbours in a window
 * where the neighbours agree. Call after a first cls_score() pass has
 * filled prob. Returns the number of tokens marked. */
size_t cls_bnr_mark(struct cls_stat *toks, const uint32_t *seq, size_t nseq);

#endif
