/*
 * cls_srcrank.h - the ranking of spam sources (edgespam_sources rows):
 * which are the worst, as `edgespam sources` and edgespam-web's admin
 * page list them, so the order is defined once.
 *
 * "Worst" is, in this order: the highest score, where score = Spam
 * verdicts + missed spam reported - false positives reported (what the
 * source sent that was spam, as far as the filter and its users know);
 * then the highest spam ratio, Spam verdicts / (Spam + Innocent); then
 * the most recently seen; then the source's text.
 *
 * Only the best max rows are kept while the store lists them (a sorted
 * array, so memory stays bounded by max, not by the table). Pure code:
 * no I/O; one ranking per thread.
 */
#ifndef CLS_SRCRANK_H
#define CLS_SRCRANK_H

#include <stddef.h>

#include "store.h"

struct cls_srcrank {
	struct store_source *rows; /* the worst n, worst first */
	size_t n, max;
};

/* cls_srcrank_init - room for the worst max (>= 1) rows; ES_ENOMEM. */
int cls_srcrank_init(struct cls_srcrank *t, size_t max);
/* cls_srcrank_free - release the rows (safe on an initialised ranking). */
void cls_srcrank_free(struct cls_srcrank *t);
/* cls_srcrank_keep - a store_source_fn: insert row (arg: the ranking)
 * when it is among the worst max; always 0. */
int cls_srcrank_keep(const struct store_source *row, void *arg);
/* cls_srcrank_score - spam verdicts + missed spam - false positives. */
long long cls_srcrank_score(const struct store_source *r);
/* cls_srcrank_ratio - spam verdicts among all verdicts, 0 without any. */
double cls_srcrank_ratio(const struct store_source *r);

#endif
