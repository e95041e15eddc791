/*
 * cls_engine.c - classification, learning and correction against a store.
 *
 * A message's way through cls_engine_process():
 *   parse (cls_msg) -> tokenize into the token set (plus the sender
 *   token) -> sort ids ascending -> one batched store read of the user's
 *   counts and weights -> score (BNR: score, mark noise, score again) ->
 *   learning plan for the mode -> one batched write of the deltas in
 *   ascending id order -> signature -> totals -> commit.
 * Writes touch only tokens whose counts or weights change (TOE and
 * NOTRAIN write nothing but the signature and the totals), so a token's
 * last_hit is the day it was last learned.
 *
 * The sender token (automatic whitelisting, cls_sender_token): made
 * only when the caller names the SMTP client to cls_engine_tokenize(),
 * from the From: address and the client's network. Without a client
 * (the CLI, training, the benchmarks) there is none, so nothing is
 * whitelisted automatically.
 *
 * Source tracking: when the caller also asks for it
 * (cls_engine_count_source), the write transaction of a classified
 * message also counts its verdict for the client's address and network
 * (store_sources_add, no extra commit), and the signature (ESG2) keeps
 * the address, so that a correction counts against the same source.
 *
 * The shared dictionary (cfg->shared, rule in cls_shared.h): while the
 * user is young (below either maturity minimum), and the dictionary's
 * user exists and has learned both classes, the same read transaction
 * also reads the dictionary's totals and one batched read of its counts
 * of the message's tokens, and the scorer sees the merge. The learning
 * plan, TUM's per-token limit and TOE's warm-up use the user's own
 * counts; classification never writes the dictionary. A correction
 * (signature or --source=error) trains the dictionary too, as corpus,
 * in the same transaction, when cfg->shared.learn_corrections is set.
 *
 * History: a correction marks the history row of its signature (the
 * milter's, store.h) corrected, in the same transaction; a signature
 * without a row (history off, or purged) is corrected all the same.
 *
 * Corrections replay the signature: tokens the classification changed
 * lose what they got (counts never below zero), every token learns the
 * right class, and the hybrid weight step stored in the signature is
 * subtracted before the right step is added, so counts and weights end
 * exactly as if the message had been learned right the first time.
 *
 * Memory: the engine keeps its arrays between messages (one thread per
 * engine); a message costs the parser's and token set's allocations.
 * Not thread-safe per engine; engines share nothing.
 */
#include "cls_engine.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cls_source.h"
#include "es_alloc.h"
#include "es_err.h"
#include "store.h"

struct cls_engine {
	struct cls_tset *set;
	size_t set_max;
	bool set_text;
	size_t cap;
	struct store_token *stoks;
	struct store_token *gtoks; /* the shared dictionary's counts */
	struct cls_stat *stats;
	struct store_delta *deltas;
	struct cls_sig_token *sigtoks;
	uint32_t *seq;
	bool ready; /* set holds a message from cls_engine_tokenize() */
	/* after cls_engine_score_tokenized(): what the write phase learns */
	bool scored;
	uint32_t scored_uid;
	struct cls_plan plan;
	double step, prob;
	enum cls_result verdict;
	/* the SMTP client given to cls_engine_tokenize(), and whether its
	 * verdict is counted for it (cls_engine_count_source) */
	bool have_client;
	bool count_src;
	struct cls_source_keys src;
};

void
cls_engine_cfg_default(struct cls_engine_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cls_limits_default(&cfg->lim);
	cls_tok_opts_default(&cfg->tok, CLS_TOK_EDGESPAM);
	cls_score_opts_default(&cfg->score, CLS_ALGO_HYBRID);
	cfg->mode = CLS_MODE_TEFT;
	cfg->factors = 0;
	strlcpy(cfg->shared.name, "@global", sizeof(cfg->shared.name));
	cfg->shared.opts.innocent_min = 1000;
	cfg->shared.opts.spam_min = 250;
	cfg->shared.spam_threshold = 0.85;
	cfg->shared.fp_weight = 0.5;
	cfg->shared.learn_corrections = false;
}

struct cls_engine *
cls_engine_new(void)
{
	return es_calloc(1, sizeof(struct cls_engine));
}

void
cls_engine_free(struct cls_engine *e)
{
	if (e == NULL)
		return;
	cls_tset_free(e->set);
	es_free(e->stoks);
	es_free(e->gtoks);
	es_free(e->stats);
	es_free(e->deltas);
	es_free(e->sigtoks);
	es_free(e->seq);
	es_free(e);
}

/* pref_number - parse a preference value as a number in [lo, hi]. */
static bool
pref_number(const char *val, double lo, double hi, double *out)
{
	char *end;
	double d = strtod(val, &end);

	if (end == val || *end != '\0' || !(d >= lo && d <= hi))
		return false;
	*out = d;
	return true;
}

static const char *const pref_keys[] = {"trainingMode", "spamThreshold",
    "whitelistThreshold", "minTraining"};

const char *
cls_engine_pref_key(size_t i)
{
	return i < sizeof(pref_keys) / sizeof(pref_keys[0]) ? pref_keys[i]
	                                                     : NULL;
}

int
cls_engine_pref_apply(struct cls_engine_cfg *cfg, const char *key,
    const char *val)
{
	char low[CLS_ENGINE_PREF_SIZE];
	enum cls_mode mode;
	double d;
	size_t i;

	if (strcmp(key, "trainingMode") == 0) {
		for (i = 0; val[i] != '\0' && i + 1 < sizeof(low); i++)
			low[i] = (char)tolower((unsigned char)val[i]);
		low[i] = '\0';
		if (cls_mode_parse(low, &mode) != 0)
			return ES_EINVAL;
		cfg->mode = mode;
	} else if (strcmp(key, "spamThreshold") == 0) {
		if (!pref_number(val, 0, 1, &d))
			return ES_EINVAL;
		cfg->score.spam_threshold = d;
	} else if (strcmp(key, "whitelistThreshold") == 0) {
		if (!pref_number(val, 0, 1e6, &d))
			return ES_EINVAL;
		cfg->score.whitelist_threshold = (unsigned)d;
	} else if (strcmp(key, "minTraining") == 0) {
		if (!pref_number(val, 0, 1e6, &d))
			return ES_EINVAL;
		cfg->score.min_training = (unsigned)d;
	} else {
		return ES_ENOTFOUND;
	}
	return 0;
}

/* apply_prefs - apply uid's own preferences to cfg (an unusable value
 * is ignored). */
static int
apply_prefs(struct store *st, uint32_t uid, struct cls_engine_cfg *cfg)
{
	char val[CLS_ENGINE_PREF_SIZE];
	const char *key;
	size_t i;
	int rc;

	for (i = 0; (key = cls_engine_pref_key(i)) != NULL; i++) {
		rc = store_pref_get(st, uid, key, val, sizeof(val));
		if (rc == 0)
			(void)cls_engine_pref_apply(cfg, key, val);
		else if (rc != ES_ENOTFOUND)
			return rc;
	}
	return 0;
}

int
cls_engine_user_cfg(struct store *st, uint32_t uid,
    const struct cls_engine_cfg *base, struct cls_engine_cfg *out)
{
	int rc;

	*out = *base;
	if ((rc = apply_prefs(st, 0, out)) != 0)
		return rc;
	if (uid != 0 && (rc = apply_prefs(st, uid, out)) != 0)
		return rc;
	return 0;
}

/* reserve - make every per-token array hold n entries. */
static int
reserve(struct cls_engine *e, size_t n)
{
	size_t cap = e->cap ? e->cap : 256;
	void *p;

	if (n <= e->cap)
		return 0;
	while (cap < n)
		cap *= 2;
#define GROW(field)                                                    \
	do {                                                           \
		p = es_reallocarray(e->field, cap, sizeof(*e->field)); \
		if (p == NULL)                                         \
			return ES_ENOMEM;                              \
		e->field = p;                                          \
	} while (0)
	GROW(stoks);
	GROW(gtoks);
	GROW(stats);
	GROW(deltas);
	GROW(sigtoks);
	GROW(seq);
#undef GROW
	e->cap = cap;
	return 0;
}

/* fail - format err and pass the code through. */
static int
fail(int code, char *err, size_t errlen, const char *what, const char *detail)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s%s%s", what, es_strerror(code),
		    detail && *detail ? ": " : "", detail ? detail : "");
	return code;
}

/* store_fail - fail() with the store's own message. */
static int
store_fail(struct store *st, int code, char *err, size_t errlen,
    const char *what)
{
	return fail(code, err, errlen, what, store_errmsg(st));
}

/* tokenize - parse and tokenize msg into e->set, sorted by id; the
 * sender token when e has a client. */
static int
tokenize(struct cls_engine *e, const struct cls_engine_cfg *cfg,
    const char *msg, size_t len, struct cls_engine_result *res)
{
	struct cls_msg *m = NULL;
	bool keep = cfg->factors > 0;
	const struct cls_token *items;
	uint64_t sender;
	size_t n, i;
	int rc;

	if (e->set == NULL || e->set_max != cfg->lim.max_tokens ||
	    e->set_text != keep) {
		cls_tset_free(e->set);
		e->set = cls_tset_new(cfg->lim.max_tokens, keep);
		if (e->set == NULL)
			return ES_ENOMEM;
		e->set_max = cfg->lim.max_tokens;
		e->set_text = keep;
	} else {
		cls_tset_reset(e->set);
	}
	if ((rc = cls_msg_parse(msg, len, &cfg->lim, &m)) != 0)
		return rc;
	res->defects = m->defects;
	/* The sender token goes in first, into the empty set: a message
	 * with max_tokens distinct tokens would otherwise crowd it out
	 * (its add refused, the flag finding no token). ES_ELIMIT is
	 * possible only with a bound of 0: then there is no sender token. */
	rc = 0;
	if (e->have_client && cls_sender_token(m, e->src.net, &sender) == 0) {
		rc = cls_tset_add_id(e->set, sender, NULL, 0, 1);
		if (rc == 0)
			rc = cls_tset_flag(e->set, sender, CLS_TF_SENDER);
		else if (rc == ES_ELIMIT)
			rc = 0;
	}
	if (rc == 0)
		rc = cls_tokenize(m, &cfg->tok, e->set);
	cls_msg_free(m);
	if (rc != 0)
		return rc;
	cls_tset_sort(e->set);
	n = cls_tset_len(e->set);
	if ((rc = reserve(e, n)) != 0)
		return rc;
	/* the ids to read, and what scoring needs of each */
	items = cls_tset_items(e->set);
	for (i = 0; i < n; i++) {
		e->stoks[i].token = items[i].id;
		e->stats[i].count = items[i].count;
		e->stats[i].flags = items[i].flags &
		    (CLS_TF_HEADER | CLS_TF_SENDER | CLS_TF_ROUTE);
	}
	return 0;
}

/* load_stats - read the user's counts of the n ids in e->stoks into
 * e->stats; flags and counts come from the caller's tokens. */
static int
load_stats(struct cls_engine *e, struct store *st, uint32_t uid, size_t n)
{
	size_t i;
	int rc;

	if ((rc = store_tokens_get(st, uid, e->stoks, n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		e->stats[i].id = e->stoks[i].token;
		e->stats[i].spam_hits = e->stoks[i].spam_hits;
		e->stats[i].innocent_hits = e->stoks[i].innocent_hits;
		e->stats[i].weight = e->stoks[i].weight;
		e->stats[i].prob = 0;
	}
	return 0;
}

/* user_totals - the learned totals scoring needs. */
static int
user_totals(struct store *st, uint32_t uid, struct store_totals *t,
    struct cls_totals *ct)
{
	int rc;

	if ((rc = store_totals_get(st, uid, t)) != 0)
		return rc;
	ct->spam_learned = t->spam_learned > 0 ? (uint64_t)t->spam_learned : 0;
	ct->innocent_learned =
	    t->innocent_learned > 0 ? (uint64_t)t->innocent_learned : 0;
	return 0;
}

/* sanitize_text - a token text made printable and cut for a header. */
static void
sanitize_text(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[o++] = (c >= 0x21 && c <= 0x7e && c != ',') ? (char)c : '?';
	}
	dst[o] = '\0';
}

/* score_stats - score the n tokens in e->stats (with BNR when asked). */
static int
score_stats(struct cls_engine *e, size_t n, const struct cls_totals *ct,
    const struct cls_engine_cfg *cfg, size_t nf, struct cls_verdict *v)
{
	const struct cls_token *items = cls_tset_items(e->set);
	size_t i;
	int rc;

	if ((rc = cls_score(e->stats, n, ct, &cfg->score, nf, v)) != 0)
		return rc;
	if (cfg->score.bnr) {
		size_t nseq = 0, k = 0;
		const uint64_t *ids = cls_tset_seq(e->set, &nseq);

		for (i = 0; i < nseq && k < e->cap; i++) {
			const struct cls_token *t = cls_tset_find(e->set, ids[i]);

			if (t != NULL)
				e->seq[k++] = (uint32_t)(t - items);
		}
		if (cls_bnr_mark(e->stats, e->seq, k) > 0 &&
		    (rc = cls_score(e->stats, n, ct, &cfg->score, nf, v)) != 0)
			return rc;
	}
	return 0;
}

/* score_message - score the n loaded tokens (with BNR when asked) and
 * fill the verdict part of res. */
static int
score_message(struct cls_engine *e, size_t n, const struct cls_totals *ct,
    const struct cls_engine_cfg *cfg, struct cls_verdict *v,
    struct cls_engine_result *res)
{
	const struct cls_token *items = cls_tset_items(e->set);
	size_t i, nf = cfg->factors > CLS_MAX_FACTORS ? CLS_MAX_FACTORS
	                                              : cfg->factors;
	int rc;

	if ((rc = score_stats(e, n, ct, cfg, nf, v)) != 0)
		return rc;
	res->result = v->result;
	res->probability = v->probability;
	res->confidence = v->confidence;
	res->score = v->score;
	res->ntokens = n;
	res->nfactors = 0;
	for (i = 0; i < v->nfactors; i++) {
		const struct cls_token *t = &items[v->factors[i]];
		struct cls_engine_factor *f = &res->factors[res->nfactors++];

		if (t->text != NULL)
			sanitize_text(f->text, sizeof(f->text), t->text, t->len);
		else
			snprintf(f->text, sizeof(f->text), "%llu",
			    (unsigned long long)t->id);
		f->prob = e->stats[v->factors[i]].prob;
	}
	return 0;
}

/* totals_delta - a learning plan's totals as a store delta. */
static void
totals_delta(const struct cls_tdelta *d, struct store_totals *t)
{
	t->spam_learned = d->spam_learned;
	t->innocent_learned = d->innocent_learned;
	t->spam_misclassified = d->spam_misclassified;
	t->innocent_misclassified = d->innocent_misclassified;
	t->spam_corpusfed = d->spam_corpusfed;
	t->innocent_corpusfed = d->innocent_corpusfed;
	t->spam_classified = d->spam_classified;
	t->innocent_classified = d->innocent_classified;
}

/* weight_step - the hybrid step toward cls, 0 for other methods. */
static double
weight_step(const struct cls_engine_cfg *cfg, enum cls_class cls, double p,
    double lr_scale)
{
	if (cfg->score.algo != CLS_ALGO_HYBRID || cls == CLS_CLASS_NONE)
		return 0;
	return cls_hybrid_step(p, lr_scale, cls == CLS_CLASS_SPAM);
}

/* apply_learning - turn a plan for the n loaded tokens into deltas and
 * signature tokens, and write the deltas. */
static int
apply_learning(struct cls_engine *e, struct store *st, uint32_t uid,
    size_t n, const struct cls_plan *plan, double step, time_t now)
{
	const struct cls_token *items = cls_tset_items(e->set);
	size_t i, nd = 0;

	for (i = 0; i < n; i++) {
		const struct cls_stat *s = &e->stats[i];
		struct store_delta *d = &e->deltas[nd];
		uint8_t flags = (uint8_t)(items[i].flags &
		    (CLS_TF_HEADER | CLS_TF_SENDER));
		/* the user's own counts (e->stats may hold the merge) */
		bool mature = e->stoks[i].spam_hits + e->stoks[i].innocent_hits >=
		    CLS_TUM_LIMIT;

		d->token = s->id;
		d->spam = d->innocent = 0;
		d->weight = (items[i].flags & CLS_TF_SENDER) ? 0 : step;
		if (!(plan->tum && mature)) {
			d->spam = plan->spam;
			d->innocent = plan->innocent;
		}
		if (d->spam != 0 || d->innocent != 0)
			flags |= CLS_SIGF_CHANGED;
		e->sigtoks[i].id = s->id;
		e->sigtoks[i].flags = flags;
		if (d->spam != 0 || d->innocent != 0 || d->weight != 0)
			nd++;
	}
	if (nd == 0)
		return 0;
	return store_tokens_put(st, uid, e->deltas, nd, now);
}

/* shared_uid - the shared dictionary's uid: ES_ENOTFOUND when none is
 * configured or its user does not exist (and create is false). */
static int
shared_uid(struct store *st, const struct cls_engine_cfg *cfg, bool create,
    uint32_t *guid)
{
	if (cfg->shared.name[0] == '\0')
		return ES_ENOTFOUND;
	return store_user_uid(st, cfg->shared.name, create, guid);
}

int
cls_engine_shared_plan(struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct cls_totals *ct,
    uint32_t *guid, struct cls_merge *m)
{
	struct store_totals gt;
	struct cls_totals gct = {0, 0};
	int rc;

	*guid = 0;
	/* inactive, the user's own totals: the plan of "not taking part" */
	cls_shared_plan(&cfg->shared.opts, ct, &gct, m);
	if (cfg->shared.name[0] == '\0' ||
	    cls_shared_maturity(&cfg->shared.opts, ct) >= 1.0)
		return 0;
	if ((rc = shared_uid(st, cfg, false, guid)) != 0) {
		*guid = 0;
		return rc == ES_ENOTFOUND ? 0 : rc;
	}
	if (*guid == uid)
		return 0; /* the dictionary itself */
	if ((rc = user_totals(st, *guid, &gt, &gct)) != 0)
		return rc;
	cls_shared_plan(&cfg->shared.opts, ct, &gct, m);
	return 0;
}

/*
 * shared_merge - for a young user (own totals ct), merge the shared
 * dictionary's statistics of the n loaded tokens into e->stats and its
 * totals into *sct (the totals the scorer sees); res says whether it
 * took part. Nothing is read for a mature user or a missing dictionary.
 */
static int
shared_merge(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, size_t n, const struct cls_totals *ct,
    struct cls_totals *sct, struct cls_engine_result *res)
{
	struct cls_merge m;
	uint32_t guid;
	size_t i;
	int rc;

	*sct = *ct;
	res->shared = false;
	res->user_weight = 1.0;
	if ((rc = cls_engine_shared_plan(st, uid, cfg, ct, &guid, &m)) != 0)
		return rc;
	if (!m.active)
		return 0;
	for (i = 0; i < n; i++)
		e->gtoks[i].token = e->stoks[i].token;
	if ((rc = store_tokens_get(st, guid, e->gtoks, n)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		cls_shared_token(&m, &e->stats[i], e->gtoks[i].spam_hits,
		    e->gtoks[i].innocent_hits);
	*sct = m.tot;
	res->shared = true;
	res->user_weight = m.user_weight;
	return 0;
}

/*
 * own_score - after a verdict the shared dictionary took part in, when
 * cfg->shared.want_own asks for it (analysis: bench_shared -m): score
 * the n tokens again on the user's own counts and totals ct alone, into
 * res->own_score. The verdict is not changed; e->stats then holds the
 * user's own counts (what comes after reads only their ids).
 */
static int
own_score(struct cls_engine *e, size_t n, const struct cls_totals *ct,
    const struct cls_engine_cfg *cfg, struct cls_engine_result *res)
{
	struct cls_verdict ov;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		e->stats[i].spam_hits = e->stoks[i].spam_hits;
		e->stats[i].innocent_hits = e->stoks[i].innocent_hits;
		e->stats[i].prob = 0;
		e->stats[i].flags &= (uint32_t)~CLS_TF_NOISE;
	}
	if ((rc = score_stats(e, n, ct, cfg, 0, &ov)) != 0)
		return rc;
	res->own_score = ov.score;
	return 0;
}

/*
 * read_and_score - inside the open transaction: read the user's totals
 * and the statistics of the n tokens in e (merged with the shared
 * dictionary's while the user is young), score them. *ct gets the
 * user's own totals. On failure the caller rolls back.
 */
static int
read_and_score(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, size_t n, struct store_totals *tot,
    struct cls_totals *ct, struct cls_verdict *v,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	struct cls_engine_cfg scfg;
	struct cls_totals sct;
	int rc;

	if ((rc = user_totals(st, uid, tot, ct)) != 0 ||
	    (rc = load_stats(e, st, uid, n)) != 0 ||
	    (rc = shared_merge(e, st, uid, cfg, n, ct, &sct, res)) != 0)
		return store_fail(st, rc, err, errlen, "read statistics");
	if (res->shared && cfg->shared.spam_threshold > 0) {
		scfg = *cfg;
		scfg.score.spam_threshold = cls_shared_threshold(
		    cfg->score.spam_threshold, cfg->shared.spam_threshold,
		    cls_shared_threshold_weight(res->user_weight,
			tot->innocent_misclassified > 0 ?
			    (uint64_t)tot->innocent_misclassified : 0,
			cfg->shared.fp_weight));
		cfg = &scfg;
	}
	res->threshold = cls_score_threshold(&cfg->score, &sct);
	if ((rc = score_message(e, n, &sct, cfg, v, res)) != 0 ||
	    (res->shared && cfg->shared.want_own &&
		(rc = own_score(e, n, ct, cfg, res)) != 0))
		fail(rc, err, errlen, "score", NULL);
	return rc;
}

/*
 * begin_and_score - open the transaction (write or read), then
 * read_and_score(). On failure the transaction is rolled back.
 */
static int
begin_and_score(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, bool write, size_t n,
    struct store_totals *tot, struct cls_totals *ct, struct cls_verdict *v,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_begin(st, write)) != 0)
		return store_fail(st, rc, err, errlen, "begin");
	if ((rc = read_and_score(e, st, uid, cfg, n, tot, ct, v, res, err,
		 errlen)) != 0)
		store_rollback(st);
	return rc;
}

/*
 * shared_learn - inside the open write transaction: when configured,
 * train the shared dictionary with the n tokens whose ids are in
 * e->stoks (flags in e->stats) as cls, as corpus training does (counts,
 * totals, and the hybrid step sized by the dictionary's own verdict on
 * them). Creates the dictionary's user if missing. Overwrites e->stats'
 * counts and e->deltas.
 */
static int
shared_learn(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, size_t n, enum cls_class cls,
    time_t now)
{
	struct store_totals gt, td;
	struct cls_totals gct;
	struct cls_verdict v;
	struct cls_plan plan;
	uint32_t guid;
	double step;
	size_t i;
	int rc;

	if (!cfg->shared.learn_corrections || cfg->shared.name[0] == '\0' ||
	    n == 0)
		return 0;
	if ((rc = shared_uid(st, cfg, true, &guid)) != 0)
		return rc;
	if (guid == uid)
		return 0;
	if ((rc = user_totals(st, guid, &gt, &gct)) != 0 ||
	    (rc = load_stats(e, st, guid, n)) != 0)
		return rc;
	if ((rc = cls_score(e->stats, n, &gct, &cfg->score, 0, &v)) != 0)
		return rc;
	cls_learn_train(cls, CLS_SRC_CORPUS, &plan);
	step = weight_step(cfg, plan.step, v.probability, v.lr_scale);
	for (i = 0; i < n; i++) {
		struct store_delta *d = &e->deltas[i];

		d->token = e->stoks[i].token;
		d->spam = plan.spam;
		d->innocent = plan.innocent;
		d->weight = (e->stats[i].flags & CLS_TF_SENDER) ? 0 : step;
	}
	if ((rc = store_tokens_put(st, guid, e->deltas, n, now)) != 0)
		return rc;
	totals_delta(&plan.totals, &td);
	return store_totals_add(st, guid, &td);
}

int
cls_engine_process(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, enum cls_engine_op op, const char *msg,
    size_t len, const unsigned char rnd[16], time_t now,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	int rc;

	if ((rc = cls_engine_tokenize(e, cfg, NULL, msg, len, res, err,
		 errlen)) != 0)
		return rc;
	return cls_engine_process_tokenized(e, st, uid, cfg, op, rnd, now, res,
	    err, errlen);
}

int
cls_engine_tokenize(struct cls_engine *e, const struct cls_engine_cfg *cfg,
    const char *client, const char *msg, size_t len,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	int rc;

	memset(res, 0, sizeof(*res));
	e->ready = false;
	e->count_src = false;
	e->have_client = cls_source_keys(client, &e->src) == 0;
	if ((rc = tokenize(e, cfg, msg, len, res)) != 0)
		return fail(rc, err, errlen, "tokenize", NULL);
	res->ntokens = cls_tset_len(e->set);
	e->ready = true;
	return 0;
}

/*
 * count_source - add one message's counts to the rows of its client
 * address and network, in the caller's transaction. A false positive
 * (innocent_corr) also ends the address's run of spam verdicts.
 */
static int
count_source(struct store *st, const struct cls_source_keys *k, int spam,
    int innocent, int spam_corr, int innocent_corr, time_t now)
{
	struct store_source_delta d[2];
	bool addr_first = strcmp(k->addr, k->net) < 0;

	for (int i = 0; i < 2; i++) {
		d[i].source = (i == 0) == addr_first ? k->addr : k->net;
		d[i].spam = spam;
		d[i].innocent = innocent;
		d[i].spam_corrections = spam_corr;
		d[i].innocent_corrections = innocent_corr;
		d[i].reset_streak = innocent_corr > 0;
	}
	return store_sources_add(st, d, 2, now);
}

void
cls_engine_count_source(struct cls_engine *e)
{
	e->count_src = e->ready && e->have_client;
}

/*
 * stage - inside the open write transaction: write the plan's deltas for
 * the n tokens of e, the signature and the totals; no commit. On failure
 * res->sig is empty and the caller rolls back.
 */
static int
stage(struct cls_engine *e, struct store *st, uint32_t uid, size_t n,
    const struct cls_plan *plan, double step, double prob,
    enum cls_result verdict, const unsigned char rnd[16], time_t now,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	struct store_totals td;
	struct cls_sig sig;
	void *data = NULL;
	size_t dlen;
	int rc;

	res->sig[0] = '\0';
	if ((rc = apply_learning(e, st, uid, n, plan, step, now)) != 0)
		return store_fail(st, rc, err, errlen, "write tokens");
	sig.verdict = verdict;
	sig.learned = plan->learned;
	sig.step = step;
	sig.prob = prob;
	sig.legacy = false;
	sig.ntokens = n;
	sig.tokens = e->sigtoks;
	strlcpy(sig.client, e->count_src ? e->src.addr : "", sizeof(sig.client));
	cls_sig_id_format(rnd, res->sig);
	if ((rc = cls_sig_encode(&sig, &data, &dlen)) != 0) {
		res->sig[0] = '\0';
		return fail(rc, err, errlen, "signature", NULL);
	}
	rc = store_sig_put(st, uid, res->sig, data, dlen, now);
	es_free(data);
	if (rc != 0) {
		res->sig[0] = '\0';
		return store_fail(st, rc, err, errlen, "store signature");
	}
	totals_delta(&plan->totals, &td);
	if ((rc = store_totals_add(st, uid, &td)) != 0) {
		res->sig[0] = '\0';
		return store_fail(st, rc, err, errlen, "update totals");
	}
	if (e->count_src &&
	    (rc = count_source(st, &e->src, verdict == CLS_SPAM,
		 verdict != CLS_SPAM, 0, 0, now)) != 0) {
		res->sig[0] = '\0';
		return store_fail(st, rc, err, errlen, "count source");
	}
	res->learned = plan->learned;
	return 0;
}

/* learn_and_commit - stage, then commit; on failure roll back. */
static int
learn_and_commit(struct cls_engine *e, struct store *st, uint32_t uid,
    size_t n, const struct cls_plan *plan, double step, double prob,
    enum cls_result verdict, const unsigned char rnd[16], time_t now,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	int rc;

	rc = stage(e, st, uid, n, plan, step, prob, verdict, rnd, now, res,
	    err, errlen);
	if (rc == 0 && (rc = store_commit(st)) != 0)
		rc = store_fail(st, rc, err, errlen, "commit");
	if (rc != 0) {
		store_rollback(st);
		res->sig[0] = '\0';
		res->learned = false;
	}
	return rc;
}

int
cls_engine_process_tokenized(struct cls_engine *e, struct store *st,
    uint32_t uid, const struct cls_engine_cfg *cfg, enum cls_engine_op op,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen)
{
	struct store_totals tot;
	struct cls_totals ct;
	struct cls_verdict v;
	struct cls_plan plan;
	size_t n;
	int rc;

	if (!e->ready)
		return fail(ES_EINVAL, err, errlen, "no tokenized message", NULL);
	e->ready = false;
	e->scored = false;
	n = cls_tset_len(e->set);
	if ((rc = begin_and_score(e, st, uid, cfg, op == CLS_ENGINE_PROCESS, n,
		 &tot, &ct, &v, res, err, errlen)) != 0)
		return rc;
	if (op == CLS_ENGINE_CLASSIFY) {
		store_rollback(st);
		return 0;
	}
	cls_learn_classified(cfg->mode, v.result, &ct, &plan);
	return learn_and_commit(e, st, uid, n, &plan,
	    weight_step(cfg, plan.step, v.probability, v.lr_scale),
	    v.probability, v.result, rnd, now, res, err, errlen);
}

/* score_kept - score e's tokenized message for uid and keep the verdict
 * and learning plan for cls_engine_learn_scored(): in a read transaction
 * of its own, or (in_tx) inside the caller's open transaction. */
static int
score_kept(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, bool in_tx,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	struct store_totals tot;
	struct cls_totals ct;
	struct cls_verdict v;
	size_t n;
	int rc;

	if (!e->ready)
		return fail(ES_EINVAL, err, errlen, "no tokenized message", NULL);
	e->ready = false;
	e->scored = false;
	n = cls_tset_len(e->set);
	if (in_tx)
		rc = read_and_score(e, st, uid, cfg, n, &tot, &ct, &v, res, err,
		    errlen);
	else if ((rc = begin_and_score(e, st, uid, cfg, false, n, &tot, &ct,
		      &v, res, err, errlen)) == 0)
		store_rollback(st); /* a read transaction: nothing to keep */
	if (rc != 0)
		return rc;
	cls_learn_classified(cfg->mode, v.result, &ct, &e->plan);
	e->step = weight_step(cfg, e->plan.step, v.probability, v.lr_scale);
	e->prob = v.probability;
	e->verdict = v.result;
	e->scored_uid = uid;
	e->scored = true;
	return 0;
}

int
cls_engine_score_tokenized(struct cls_engine *e, struct store *st,
    uint32_t uid, const struct cls_engine_cfg *cfg,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	return score_kept(e, st, uid, cfg, false, res, err, errlen);
}

int
cls_engine_score_in_tx(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, struct cls_engine_result *res,
    char *err, size_t errlen)
{
	return score_kept(e, st, uid, cfg, true, res, err, errlen);
}

int
cls_engine_learn_scored(struct cls_engine *e, struct store *st,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen)
{
	int rc;

	if (!e->scored)
		return fail(ES_EINVAL, err, errlen, "no scored message", NULL);
	e->scored = false;
	if ((rc = store_begin(st, true)) != 0)
		return store_fail(st, rc, err, errlen, "begin");
	return learn_and_commit(e, st, e->scored_uid, cls_tset_len(e->set),
	    &e->plan, e->step, e->prob, e->verdict, rnd, now, res, err,
	    errlen);
}

int
cls_engine_stage_scored(struct cls_engine *e, struct store *st,
    const unsigned char rnd[16], time_t now, struct cls_engine_result *res,
    char *err, size_t errlen)
{
	if (!e->scored)
		return fail(ES_EINVAL, err, errlen, "no scored message", NULL);
	return stage(e, st, e->scored_uid, cls_tset_len(e->set), &e->plan,
	    e->step, e->prob, e->verdict, rnd, now, res, err, errlen);
}

void
cls_engine_scored_done(struct cls_engine *e)
{
	e->scored = false;
}

int
cls_engine_train(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const char *msg, size_t len,
    enum cls_class cls, enum cls_source src, time_t now,
    struct cls_engine_result *res, char *err, size_t errlen)
{
	struct store_totals tot, td;
	struct cls_totals ct;
	struct cls_verdict v;
	struct cls_plan plan;
	size_t n;
	double step;
	int rc;

	memset(res, 0, sizeof(*res));
	if (cls != CLS_CLASS_SPAM && cls != CLS_CLASS_INNOCENT)
		return fail(ES_EINVAL, err, errlen, "train", "no class");
	e->ready = e->scored = false;
	e->have_client = e->count_src = false; /* no client: no sender token */
	if ((rc = tokenize(e, cfg, msg, len, res)) != 0)
		return fail(rc, err, errlen, "tokenize", NULL);
	n = cls_tset_len(e->set);
	if ((rc = begin_and_score(e, st, uid, cfg, true, n, &tot, &ct, &v, res,
		 err, errlen)) != 0)
		return rc;
	cls_learn_train(cls, src, &plan);
	step = weight_step(cfg, plan.step, v.probability, v.lr_scale);
	if ((rc = apply_learning(e, st, uid, n, &plan, step, now)) != 0) {
		rc = store_fail(st, rc, err, errlen, "write tokens");
		goto out;
	}
	totals_delta(&plan.totals, &td);
	if ((rc = store_totals_add(st, uid, &td)) != 0 ||
	    (src == CLS_SRC_ERROR &&
		(rc = shared_learn(e, st, uid, cfg, n, cls, now)) != 0) ||
	    (rc = store_commit(st)) != 0) {
		rc = store_fail(st, rc, err, errlen, "update totals");
		goto out;
	}
	res->learned = cls;
	res->changed = true;
	return 0;
out:
	store_rollback(st);
	return rc;
}

/* cmp_sigtok - order signature tokens by id. */
static int
cmp_sigtok(const void *a, const void *b)
{
	uint64_t x = ((const struct cls_sig_token *)a)->id;
	uint64_t y = ((const struct cls_sig_token *)b)->id;

	return x < y ? -1 : x > y;
}

/* sort_unique - sort signature tokens and drop repeated ids (DSPAM's
 * data may repeat one); returns the new count. */
static size_t
sort_unique(struct cls_sig_token *t, size_t n)
{
	size_t i, o = 0;

	qsort(t, n, sizeof(*t), cmp_sigtok);
	for (i = 0; i < n; i++)
		if (o == 0 || t[o - 1].id != t[i].id)
			t[o++] = t[i];
	return o;
}

/* correction_deltas - per-token deltas of a correction to cls. */
static size_t
correction_deltas(struct cls_engine *e, const struct cls_sig *sig,
    enum cls_class cls, const struct cls_plan *plan, double new_step)
{
	size_t i;

	for (i = 0; i < sig->ntokens; i++) {
		const struct cls_sig_token *t = &sig->tokens[i];
		struct store_delta *d = &e->deltas[i];
		bool changed = (t->flags & CLS_SIGF_CHANGED) != 0;

		d->token = t->id;
		d->spam = (cls == CLS_CLASS_SPAM) -
		    (sig->learned == CLS_CLASS_SPAM && changed);
		d->innocent = (cls == CLS_CLASS_INNOCENT) -
		    (sig->learned == CLS_CLASS_INNOCENT && changed);
		d->weight = 0;
		if (!(t->flags & CLS_SIGF_SENDER))
			d->weight = new_step - (plan->undo_step ? sig->step : 0);
	}
	return sig->ntokens;
}

/* sig_load - the signature's token ids into e->stoks, their flags into
 * e->stats, for a read of their statistics. */
static void
sig_load(struct cls_engine *e, const struct cls_sig *sig)
{
	size_t i;

	for (i = 0; i < sig->ntokens; i++) {
		e->stoks[i].token = sig->tokens[i].id;
		e->stats[i].count = 1;
		e->stats[i].flags = sig->tokens[i].flags &
		    (CLS_SIGF_HEADER | CLS_SIGF_SENDER);
	}
}

/* legacy_prob - a DSPAM signature carries no probability: score the
 * tokens as they stand to size the weight step. */
static int
legacy_prob(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_sig *sig, const struct cls_engine_cfg *cfg,
    const struct cls_totals *ct, double *p, double *scale)
{
	struct cls_verdict v;
	size_t i;
	int rc;

	for (i = 0; i < sig->ntokens; i++) {
		e->stoks[i].token = sig->tokens[i].id;
		e->stats[i].count = 1;
		e->stats[i].flags = 0;
	}
	if ((rc = load_stats(e, st, uid, sig->ntokens)) != 0)
		return rc;
	if ((rc = cls_score(e->stats, sig->ntokens, ct, &cfg->score, 0, &v)) !=
	    0)
		return rc;
	*p = v.probability;
	*scale = v.lr_scale;
	return 0;
}

/* daily_bump - in d, add n to the daily count of correction c. */
static void
daily_bump(struct store_daily *d, enum store_correction c, int n)
{
	if (c == STORE_CORRECTION_SPAM)
		d->missed_spam += n;
	else if (c == STORE_CORRECTION_INNOCENT)
		d->false_positives += n;
}

/*
 * correct_history - mark the history row of the signature corrected
 * (none: history off, or purged, is no failure) and count the
 * correction in the daily counts on the day of the message corrected
 * (the row's time; without a row, the correction's day). A correction
 * that replaces another undoes the other's count.
 */
static int
correct_history(struct store *st, uint32_t uid, const char *sig_id,
    enum cls_class cls, time_t now)
{
	enum store_correction c = cls == CLS_CLASS_SPAM
	    ? STORE_CORRECTION_SPAM : STORE_CORRECTION_INNOCENT;
	struct store_history_was was;
	struct store_daily d = {0};
	time_t day = now;
	int rc = store_history_correct_was(st, uid, sig_id, c, now, &was);

	if (rc == 0) {
		if (was.correction == c)
			return 0;
		daily_bump(&d, was.correction, -1);
		day = (time_t)was.time;
	} else if (rc != ES_ENOTFOUND) {
		return rc;
	}
	daily_bump(&d, c, +1);
	return store_daily_add(st, uid, day, &d);
}

/* correct_source - count a correction against the client address the
 * signature recorded (nothing when it recorded none). */
static int
correct_source(struct store *st, const struct cls_sig *sig, enum cls_class cls,
    time_t now)
{
	struct cls_source_keys k;

	if (sig->client[0] == '\0' || cls_source_keys(sig->client, &k) != 0)
		return 0;
	return count_source(st, &k, 0, 0, cls == CLS_CLASS_SPAM,
	    cls == CLS_CLASS_INNOCENT, now);
}

int
cls_engine_correct(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const char *sig_id, enum cls_class cls,
    time_t now, struct cls_engine_result *res, char *err, size_t errlen)
{
	struct store_totals tot, td;
	struct cls_totals ct;
	struct cls_plan plan;
	struct cls_sig sig;
	void *data = NULL;
	size_t dlen, i, nsender = 0;
	double p, scale, step;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&sig, 0, sizeof(sig));
	if ((cls != CLS_CLASS_SPAM && cls != CLS_CLASS_INNOCENT) ||
	    !cls_sig_id_valid(sig_id, strlen(sig_id)))
		return fail(ES_EINVAL, err, errlen, "correct",
		    "bad class or signature id");
	if ((rc = store_begin(st, true)) != 0)
		return store_fail(st, rc, err, errlen, "begin");
	if ((rc = store_sig_get(st, uid, sig_id, &data, &dlen)) != 0) {
		if (rc == ES_ENOTFOUND)
			fail(rc, err, errlen, "signature", sig_id);
		else
			store_fail(st, rc, err, errlen, "read signature");
		goto out;
	}
	rc = cls_sig_decode(data, dlen, &sig);
	es_free(data);
	if (rc != 0) {
		fail(rc, err, errlen, "decode signature", sig_id);
		goto out;
	}
	if (sig.legacy) {
		/* DSPAM trained every message (TEFT, its default) as its
		 * verdict; a correction to cls implies the other class */
		sig.ntokens = sort_unique(sig.tokens, sig.ntokens);
		sig.verdict = cls == CLS_CLASS_SPAM ? CLS_INNOCENT : CLS_SPAM;
		sig.learned = cls == CLS_CLASS_SPAM ? CLS_CLASS_INNOCENT
		                                    : CLS_CLASS_SPAM;
	}
	if (!cls_learn_correct(sig.verdict, sig.learned, cls, &plan)) {
		store_rollback(st);
		cls_sig_clear(&sig);
		res->result = sig.verdict;
		res->learned = sig.learned;
		return 0;
	}
	if ((rc = reserve(e, sig.ntokens)) != 0 ||
	    (rc = user_totals(st, uid, &tot, &ct)) != 0) {
		store_fail(st, rc, err, errlen, "read totals");
		goto out;
	}
	for (i = 0; i < sig.ntokens; i++)
		nsender += (sig.tokens[i].flags & CLS_SIGF_SENDER) != 0;
	p = sig.prob;
	scale = 1.0 / sqrt((double)(sig.ntokens - nsender) + 1.0);
	if (sig.legacy && cfg->score.algo == CLS_ALGO_HYBRID &&
	    (rc = legacy_prob(e, st, uid, &sig, cfg, &ct, &p, &scale)) != 0) {
		store_fail(st, rc, err, errlen, "read statistics");
		goto out;
	}
	step = weight_step(cfg, cls, p, scale);
	correction_deltas(e, &sig, cls, &plan, step);
	if ((rc = store_tokens_put(st, uid, e->deltas, sig.ntokens, now)) != 0) {
		store_fail(st, rc, err, errlen, "write tokens");
		goto out;
	}
	totals_delta(&plan.totals, &td);
	if (cfg->shared.learn_corrections)
		sig_load(e, &sig);
	if ((rc = store_totals_add(st, uid, &td)) != 0 ||
	    (rc = correct_source(st, &sig, cls, now)) != 0 ||
	    (rc = correct_history(st, uid, sig_id, cls, now)) != 0 ||
	    (rc = store_sig_delete(st, uid, sig_id)) != 0 ||
	    (rc = shared_learn(e, st, uid, cfg, sig.ntokens, cls, now)) != 0 ||
	    (rc = store_commit(st)) != 0) {
		store_fail(st, rc, err, errlen, "update totals");
		goto out;
	}
	res->result = sig.verdict;
	res->learned = cls;
	res->changed = true;
	res->ntokens = sig.ntokens;
	cls_sig_clear(&sig);
	return 0;
out:
	store_rollback(st);
	cls_sig_clear(&sig);
	return rc;
}

/* add_header - append one field's value to h. */
static int
add_header(struct cls_engine_headers *h, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
add_header(struct cls_engine_headers *h, const char *name, const char *fmt,
    ...)
{
	va_list ap;
	int rc;

	if (h->n >= CLS_ENGINE_MAX_HEADERS)
		return ES_EINTERNAL;
	h->name[h->n] = name;
	h->off[h->n] = h->buf.len;
	va_start(ap, fmt);
	rc = es_buf_vprintf(&h->buf, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = es_buf_putc(&h->buf, '\0');
	if (rc == 0)
		h->n++;
	return rc;
}

int
cls_engine_headers(const struct cls_engine_result *res, time_t now,
    struct cls_engine_headers *h)
{
	char date[64];
	struct tm tm;
	size_t i;
	int rc;

	memset(h, 0, sizeof(*h));
	es_buf_init(&h->buf, 64 * 1024);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		strlcpy(date, "unknown", sizeof(date));
	if ((rc = add_header(h, "X-DSPAM-Result", "%s",
		 cls_result_name(res->result))) != 0 ||
	    (rc = add_header(h, "X-DSPAM-Processed", "%s", date)) != 0 ||
	    (rc = add_header(h, "X-DSPAM-Confidence", "%.4f",
		 res->confidence)) != 0 ||
	    (rc = add_header(h, "X-DSPAM-Probability", "%.4f",
		 res->probability)) != 0)
		goto fail;
	if (res->sig[0] != '\0' &&
	    (rc = add_header(h, "X-DSPAM-Signature", "%s", res->sig)) != 0)
		goto fail;
	if (res->shared &&
	    (rc = add_header(h, "X-DSPAM-Dictionary", "shared; user-weight=%.2f",
		 res->user_weight)) != 0)
		goto fail;
	if (res->nfactors > 0) {
		h->name[h->n] = "X-DSPAM-Factors";
		h->off[h->n] = h->buf.len;
		rc = es_buf_printf(&h->buf, "%zu", res->nfactors);
		for (i = 0; rc == 0 && i < res->nfactors; i++)
			rc = es_buf_printf(&h->buf, ",\n\t%s, %.5f",
			    res->factors[i].text, res->factors[i].prob);
		if (rc == 0)
			rc = es_buf_putc(&h->buf, '\0');
		if (rc != 0)
			goto fail;
		h->n++;
	}
	return 0;
fail:
	es_buf_release(&h->buf);
	h->n = 0;
	return rc;
}

const char *
cls_engine_header_value(const struct cls_engine_headers *h, size_t i)
{
	return i < h->n ? h->buf.data + h->off[i] : "";
}
