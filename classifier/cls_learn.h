/*
 * cls_learn.h - the learning rules: which counts change when a message
 * is classified, trained or corrected.
 *
 * These are pure functions from (mode, verdict, class, source, what was
 * learned before) to a plan: the change to every token's spam and
 * innocent hits, the change to the user's totals, and the hybrid
 * method's weight step. The engine applies a plan; nothing here touches
 * a store. Table-tested in tests/unit/test_learn.c.
 */
#ifndef CLS_LEARN_H
#define CLS_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include "cls_score.h"

enum cls_class {
	CLS_CLASS_NONE = 0,
	CLS_CLASS_SPAM = 1,
	CLS_CLASS_INNOCENT = 2
};

enum cls_mode {
	CLS_MODE_TEFT,   /* train everything: learn each message as verdict */
	CLS_MODE_TOE,    /* train on error: learn only corrections */
	CLS_MODE_TUM,    /* train until mature: TEFT for young tokens only */
	CLS_MODE_NOTRAIN /* never learn */
};

enum cls_source {
	CLS_SRC_CORPUS,      /* training material, not a classification */
	CLS_SRC_ERROR,       /* a misclassification being corrected */
	CLS_SRC_INOCULATION  /* a sample vouched for by someone else */
};

/* TOE behaves as TEFT until this many messages of each class are learned
 * (DSPAM's behaviour: a filter that never learns its successes cannot
 * get started). */
#define CLS_TOE_WARMUP 100
/* TUM changes only tokens with fewer hits than this. */
#define CLS_TUM_LIMIT 50

/* Changes to the user's totals (struct store_totals' fields, as deltas). */
struct cls_tdelta {
	int spam_learned;
	int innocent_learned;
	int spam_misclassified;
	int innocent_misclassified;
	int spam_corpusfed;
	int innocent_corpusfed;
	int spam_classified;
	int innocent_classified;
};

struct cls_plan {
	int spam;                /* added to each token's spam_hits */
	int innocent;            /* added to each token's innocent_hits */
	bool tum;                /* only tokens with < CLS_TUM_LIMIT hits */
	bool undo_step;          /* subtract the step stored in the signature */
	enum cls_class step;     /* take a new weight step toward this class
	                            (NONE: no step) */
	enum cls_class learned;  /* what the message counts as learned as
	                            afterwards (kept in its signature) */
	struct cls_tdelta totals;
};

/*
 * cls_learn_classified - the plan after classifying a message in mode
 * with this verdict (Whitelisted counts as innocent), given the user's
 * learned totals (for TOE's warm-up).
 */
void cls_learn_classified(enum cls_mode mode, enum cls_result verdict,
    const struct cls_totals *learned, struct cls_plan *plan);

/*
 * cls_learn_train - the plan for training a message from its text as
 * class (SPAM or INNOCENT) from source, with no signature to go by.
 * An error without a signature cannot undo what was learned before: it
 * learns the class and counts the misclassification.
 */
void cls_learn_train(enum cls_class cls, enum cls_source src,
    struct cls_plan *plan);

/*
 * cls_learn_correct - the plan for correcting a message through its
 * signature: it was classified as verdict and learned as learned (NONE
 * if the mode learned nothing), and the user says it is cls. Returns
 * false (and an empty plan) when there is nothing to correct because
 * the verdict already was cls.
 */
bool cls_learn_correct(enum cls_result verdict, enum cls_class learned,
    enum cls_class cls, struct cls_plan *plan);

/* Names for messages and preferences. */
const char *cls_mode_name(enum cls_mode m);
int cls_mode_parse(const char *name, enum cls_mode *m);
const char *cls_class_name(enum cls_class c);
int cls_class_parse(const char *name, enum cls_class *c);
const char *cls_source_name(enum cls_source s);
int cls_source_parse(const char *name, enum cls_source *s);

#endif
