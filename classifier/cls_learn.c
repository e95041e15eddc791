/*
 * cls_learn.c - the learning rules.
 *
 * Counting conventions (they make the per-user statistics add up):
 *  - A classified message is counted once: in <class>_learned when the
 *    mode learned it, in <class>_classified when it did not.
 *  - A correction moves the message: the class it was counted under
 *    loses one, the right class gains one in _learned, and
 *    <right class>_misclassified gains one (spam_misclassified counts
 *    spam that got through, innocent_misclassified innocent mail that
 *    was called spam).
 *  - Corpus training counts in _learned and _corpusfed, never as a
 *    classification; inoculation counts in _learned only.
 * So for statistics: TP = spam_learned + spam_classified - spam_corpusfed
 * - spam_misclassified, FN = spam_misclassified, and the same for
 * innocent mail (TN, FP). A correction of a message that has no
 * signature cannot move it: it learns the class and counts the error.
 *
 * Token deltas are +1 or -1 for every token of the message (TUM: only
 * tokens with fewer than CLS_TUM_LIMIT hits; the signature records which
 * tokens changed, so an undo touches exactly those). Counts never go
 * below zero; the store clamps.
 */
#include "cls_learn.h"

#include <string.h>

#include "es_err.h"

/* learn_as - count the message as learned class c (sign +1 or -1). */
static void
learn_as(struct cls_plan *p, enum cls_class c, int sign)
{
	if (c == CLS_CLASS_SPAM) {
		p->spam += sign;
		p->totals.spam_learned += sign;
	} else if (c == CLS_CLASS_INNOCENT) {
		p->innocent += sign;
		p->totals.innocent_learned += sign;
	}
}

/* count_classified - count the message as classified-not-learned. */
static void
count_classified(struct cls_plan *p, enum cls_class c, int sign)
{
	if (c == CLS_CLASS_SPAM)
		p->totals.spam_classified += sign;
	else if (c == CLS_CLASS_INNOCENT)
		p->totals.innocent_classified += sign;
}

/* verdict_class - the class a verdict counts under (Whitelisted: innocent). */
static enum cls_class
verdict_class(enum cls_result r)
{
	return r == CLS_SPAM ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT;
}

void
cls_learn_classified(enum cls_mode mode, enum cls_result verdict,
    const struct cls_totals *learned, struct cls_plan *plan)
{
	enum cls_class c = verdict_class(verdict);

	memset(plan, 0, sizeof(*plan));
	if (mode == CLS_MODE_TOE &&
	    (learned->spam_learned < CLS_TOE_WARMUP ||
		learned->innocent_learned < CLS_TOE_WARMUP))
		mode = CLS_MODE_TEFT;
	switch (mode) {
	case CLS_MODE_TUM:
		plan->tum = true;
		/* FALLTHROUGH */
	case CLS_MODE_TEFT:
		learn_as(plan, c, +1);
		plan->step = c;
		plan->learned = c;
		break;
	case CLS_MODE_TOE:
	case CLS_MODE_NOTRAIN:
		count_classified(plan, c, +1);
		plan->learned = CLS_CLASS_NONE;
		break;
	}
}

void
cls_learn_train(enum cls_class cls, enum cls_source src,
    struct cls_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (cls != CLS_CLASS_SPAM && cls != CLS_CLASS_INNOCENT)
		return;
	learn_as(plan, cls, +1);
	plan->step = cls;
	plan->learned = cls;
	switch (src) {
	case CLS_SRC_CORPUS:
		if (cls == CLS_CLASS_SPAM)
			plan->totals.spam_corpusfed++;
		else
			plan->totals.innocent_corpusfed++;
		break;
	case CLS_SRC_ERROR:
		if (cls == CLS_CLASS_SPAM)
			plan->totals.spam_misclassified++;
		else
			plan->totals.innocent_misclassified++;
		break;
	case CLS_SRC_INOCULATION:
		break;
	}
}

bool
cls_learn_correct(enum cls_result verdict, enum cls_class learned,
    enum cls_class cls, struct cls_plan *plan)
{
	enum cls_class was = verdict_class(verdict);

	memset(plan, 0, sizeof(*plan));
	if ((cls != CLS_CLASS_SPAM && cls != CLS_CLASS_INNOCENT) || was == cls)
		return false;
	/* undo what the classification did to the counts */
	if (learned != CLS_CLASS_NONE) {
		learn_as(plan, learned, -1);
		plan->undo_step = true;
	} else {
		count_classified(plan, was, -1);
	}
	learn_as(plan, cls, +1);
	plan->step = cls;
	plan->learned = cls;
	if (cls == CLS_CLASS_SPAM)
		plan->totals.spam_misclassified++;
	else
		plan->totals.innocent_misclassified++;
	return true;
}

static const char *const mode_names[] = {
	[CLS_MODE_TEFT] = "teft",
	[CLS_MODE_TOE] = "toe",
	[CLS_MODE_TUM] = "tum",
	[CLS_MODE_NOTRAIN] = "notrain",
};

const char *
cls_mode_name(enum cls_mode m)
{
	return (size_t)m < 4 ? mode_names[m] : "unknown";
}

int
cls_mode_parse(const char *name, enum cls_mode *m)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, mode_names[i]) == 0) {
			*m = (enum cls_mode)i;
			return 0;
		}
	return ES_EINVAL;
}

const char *
cls_class_name(enum cls_class c)
{
	switch (c) {
	case CLS_CLASS_SPAM:
		return "spam";
	case CLS_CLASS_INNOCENT:
		return "innocent";
	case CLS_CLASS_NONE:
		break;
	}
	return "none";
}

int
cls_class_parse(const char *name, enum cls_class *c)
{
	if (strcmp(name, "spam") == 0)
		*c = CLS_CLASS_SPAM;
	else if (strcmp(name, "innocent") == 0 || strcmp(name, "nonspam") == 0)
		*c = CLS_CLASS_INNOCENT;
	else
		return ES_EINVAL;
	return 0;
}

const char *
cls_source_name(enum cls_source s)
{
	switch (s) {
	case CLS_SRC_CORPUS:
		return "corpus";
	case CLS_SRC_ERROR:
		return "error";
	case CLS_SRC_INOCULATION:
		return "inoculation";
	}
	return "unknown";
}

int
cls_source_parse(const char *name, enum cls_source *s)
{
	if (strcmp(name, "corpus") == 0)
		*s = CLS_SRC_CORPUS;
	else if (strcmp(name, "error") == 0)
		*s = CLS_SRC_ERROR;
	else if (strcmp(name, "inoculation") == 0)
		*s = CLS_SRC_INOCULATION;
	else
		return ES_EINVAL;
	return 0;
}
