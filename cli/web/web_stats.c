/*
 * web_stats.c - a user's statistics page in edgespam-web.
 *
 * The totals are the store's (what `edgespam stats USER` prints, with
 * the same TP/TN/FP/FN rule). The plots are drawn from the user's
 * history rows (the milter's verdicts, kept history_days days): per day
 * over the last 30 days (UTC) the Spam and Innocent verdicts, the
 * missed spam (an Innocent or Whitelisted verdict corrected to spam)
 * and the false positives (a Spam verdict corrected to innocent); and
 * the accuracy of each day's verdicts, (verdicts - corrected) /
 * verdicts, with the running accuracy over the whole period.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es_err.h"
#include "store.h"
#include "web.h"
#include "web_html.h"
#include "web_svg.h"

/* nonneg - v, or 0 when negative (a total made up of clamped parts). */
static long long
nonneg(long long v)
{
	return v < 0 ? 0 : v;
}

/* totals - the table of the store's totals. */
static int
totals(struct web_req *r)
{
	struct store_totals t;
	long long tp, tn, fp, fn, all;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = web_req_uid(r, false);
	if (rc == 0)
		rc = store_totals_get(r->w->st, r->uid, &t);
	if (rc != 0 && rc != ES_ENOTFOUND)
		return web_store_error(r, "totals", rc);
	/* as cli_stats_row() counts them for `edgespam stats` */
	fn = t.spam_misclassified;
	fp = t.innocent_misclassified;
	tp = nonneg(t.spam_learned + t.spam_classified - t.spam_corpusfed - fn);
	tn = nonneg(t.innocent_learned + t.innocent_classified -
	    t.innocent_corpusfed - fp);
	all = tp + tn + fp + fn;
	rc = es_buf_printf(&r->out,
	    "<table id=\"totals\"><tr><th>Spam learned</th><th>Innocent "
	    "learned</th><th>Spam caught (TP)</th><th>Innocent passed (TN)"
	    "</th><th>False positives (FP)</th><th>Missed spam (FN)</th>"
	    "<th>Accuracy</th></tr>\n<tr><td class=\"num\" id=\"spam-learned\">"
	    "%lld</td><td class=\"num\" id=\"innocent-learned\">%lld</td>"
	    "<td class=\"num\" id=\"tp\">%lld</td><td class=\"num\" id=\"tn\">"
	    "%lld</td><td class=\"num\" id=\"fp\">%lld</td><td class=\"num\" "
	    "id=\"fn\">%lld</td><td class=\"num\" id=\"accuracy\">",
	    (long long)t.spam_learned, (long long)t.innocent_learned, tp, tn,
	    fp, fn);
	if (rc == 0)
		rc = all > 0 ? es_buf_printf(&r->out, "%.2f%%",
		                   100.0 * (double)(tp + tn) / (double)all)
		             : es_buf_puts(&r->out, "-");
	if (rc == 0)
		rc = es_buf_puts(&r->out, "</td></tr></table>\n");
	return rc;
}

int
web_page_stats(struct web_req *r)
{
	int rc;

	if ((rc = web_page_begin(r, "Statistics", "stats")) != 0 ||
	    (rc = es_buf_puts(&r->out, "<h2>Totals</h2>\n")) != 0 ||
	    (rc = totals(r)) != 0)
		return rc;
	if (r->status != 200)
		return 0;
	return web_page_end(r);
}
