/*
 * cls_shared.h - the merge rule of the shared dictionary: what a young
 * user's scorer sees when a site-wide dictionary (a reserved user, fed
 * by corpus training and, where configured, by every user's corrections)
 * stands in for the statistics the user has not learned yet.
 *
 * The rule. S and I are the user's learned spam and innocent totals,
 * Sg and Ig the dictionary's; s, i a token's counts for the user, sg,
 * ig for the dictionary.
 *
 *   maturity  w = min(1, S / spam_min, I / innocent_min), where a
 *             minimum of 0 counts that class as mature. At w = 1 (both
 *             minimums reached) the user's own statistics stand alone
 *             and the dictionary is not even read. The dictionary also
 *             takes no part while it lacks either class (Sg or Ig 0).
 *   prior     the dictionary counts as a prior of Ps = min(Sg, (1 - w)
 *             * spam_min) spam and Pi = min(Ig, (1 - w) * innocent_min)
 *             innocent messages: its token frequencies sg/Sg, ig/Ig,
 *             worth that many messages, however large it is (a site
 *             dictionary of a million messages must not drown a user
 *             who has learned 900), and never more than it has learned.
 *   merge     a token's spam frequency is (s + sg * Ps/Sg) / (S + Ps),
 *             its innocent frequency (i + ig * Pi/Ig) / (I + Pi): the
 *             user's own frequency weighted by its share S / (S + Ps),
 *             which for the less mature class is exactly w. The scorer
 *             works with s/S and i/I, so the same ratios are handed to
 *             it multiplied by Sg/Ps (resp. Ig/Pi): the dictionary's
 *             counts stay as they are (integers, no rounding away of
 *             rare tokens) and the user's are scaled up. The merged
 *             totals Sm = S*Sg/Ps + Sg and Im likewise are at least the
 *             dictionary's, so min_training (no Spam verdict before N of
 *             each class) counts the dictionary's messages too: a new
 *             user is protected from its first message.
 *   weights   the hybrid method's learned weights (its online logistic
 *             regression) are the user's own; the dictionary's are not
 *             used. They correct what the token statistics get wrong,
 *             and the dictionary's correct its own corpus: on the
 *             benchmark's tuning orders 1-6 (tests/bench/shared-orders.sh)
 *             adding (1 - w) times them, as before, ranked the first 500
 *             messages worse on 4 of 6 orders (1-ROCA% 0.226 against
 *             0.163 on order 4) and scored solicited newsletters in
 *             hard_ham higher (README, "Shared dictionary"). The user's
 *             weights are learned against the merged verdicts, so they
 *             learn the young user's own errors from the first one.
 *   sender    the sender token (whitelisting) keeps the user's own counts:
 *             whom a user gets good mail from is the user's business.
 *   delivery  a token of a delivery header (CLS_TF_ROUTE: Received,
 *             Return-Path, To, Cc, Delivered-To, ...) keeps the user's
 *             own frequencies s/S and i/I (its counts times Sm/S and
 *             Im/I) and its own weight. Those headers name the mailbox
 *             and the hosts the mail passed; in the dictionary they
 *             describe the mailboxes it was trained from. A dictionary
 *             fed by a spam trap learns the trap's address and relays as
 *             spam, and would score a user's mail to that domain as spam
 *             (in the benchmark: hard ham to an address that appears in
 *             58 of the 2002 spam). Keeping them out lowered the first
 *             500 messages' 1-ROCA on every order of the benchmark tried
 *             (README, "Shared dictionary").
 *   bounds    merged counts and totals are capped at CLS_SHARED_MAX
 *             (scaling every factor down together when the totals would
 *             pass it), so no product overflows a double's exact range
 *             or a uint64_t.
 *
 * Pure code: no I/O, no globals, no allocation. Thread-safe.
 */
#ifndef CLS_SHARED_H
#define CLS_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#include "cls_score.h"

/* The largest merged count or total (2^52: exact in a double). */
#define CLS_SHARED_MAX (UINT64_C(1) << 52)

struct cls_shared_opts {
	uint64_t spam_min;     /* spam learned for maturity (250) */
	uint64_t innocent_min; /* innocent learned for maturity (1000) */
};

/* What the merge of one message's statistics does (cls_shared_plan). */
struct cls_merge {
	bool active;        /* the dictionary takes part */
	double user_weight; /* w, the user's maturity, 0..1 */
	double ku_s, ku_i;  /* factors on the user's spam, innocent counts */
	double kg_s, kg_i;  /* factors on the dictionary's counts */
	double kr_s, kr_i;  /* factors on a delivery token's own counts:
	                       Sm / S and Im / I (1 when S, I are 0) */
	struct cls_totals tot; /* the totals the scorer sees */
};

/* cls_shared_maturity - w for user's totals (1: the user stands alone). */
double cls_shared_maturity(const struct cls_shared_opts *o,
    const struct cls_totals *user);

/*
 * cls_shared_plan - the merge for a user with totals user and a
 * dictionary with totals shared. When m->active is false the scorer
 * sees the user's own statistics (m->tot = *user, factors 1 and 0).
 */
void cls_shared_plan(const struct cls_shared_opts *o,
    const struct cls_totals *user, const struct cls_totals *shared,
    struct cls_merge *m);

/*
 * cls_shared_token - merge the dictionary's counts (gs, gi) of one
 * token into the user's t, in place (t's weight stays the user's). Does nothing when m is not
 * active or t is the sender token (CLS_TF_SENDER); a delivery token
 * (CLS_TF_ROUTE) gets the user's own frequencies under the merged
 * totals and nothing of the dictionary.
 */
void cls_shared_token(const struct cls_merge *m, struct cls_stat *t,
    uint64_t gs, uint64_t gi);

/*
 * cls_shared_threshold - the Spam threshold of a verdict the dictionary
 * took part in: the logits of the user's threshold user_t and of the
 * dictionary's shared_t blended by the user's weight w, so that it moves
 * from shared_t (a new user) to user_t (a mature one) without a jump.
 * shared_t 0 means "the user's threshold", as does w >= 1.
 */
double cls_shared_threshold(double user_t, double shared_t, double w);

/*
 * cls_shared_threshold_weight - the weight w' cls_shared_threshold() is
 * given for a user of maturity w who has corrected fp false positives:
 * max(w, 1 - 1 / (1 + k * fp)). A false positive the user had to
 * correct while the dictionary took part says that the dictionary's
 * notion of spam does not fit this user's mail, so each one moves the
 * threshold toward the user's own as maturity would (k = 0.5: a third
 * of the way after one, half after two). k <= 0 or fp = 0: w itself.
 * Only the threshold moves; the merge keeps w.
 */
double cls_shared_threshold_weight(double w, uint64_t fp, double k);

#endif
