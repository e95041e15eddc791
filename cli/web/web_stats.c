/*
 * web_stats.c - a user's statistics page in edgespam-web.
 *
 * The totals are the store's (what `edgespam stats USER` prints, with
 * the same TP/TN/FP/FN rule). The plots are drawn from the user's
 * daily counts (store_daily_list: the milter's verdicts and the
 * corrections, counted on the message's day, kept purge_daily_days
 * days, longer than the history rows): per day over the last 30 days
 * (UTC) the Spam and Innocent (with Whitelisted) verdicts, the missed
 * spam (corrected to spam) and the false positives (corrected to
 * innocent); and the accuracy of each day's verdicts, (verdicts -
 * corrected) / verdicts, with the running accuracy over the whole
 * period.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "es_err.h"
#include "store.h"
#include "web.h"
#include "web_html.h"
#include "web_svg.h"

/* The plots' period, in days. */
#define DAYS 30

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

/* The per-day counts of the plots. */
struct days {
	int64_t start; /* the first second of the first day */
	double spam[DAYS], innocent[DAYS], missed[DAYS], fp[DAYS];
};

/* count - the listing's callback: one day's counts into its place. */
static int
count(const struct store_daily *c, void *arg)
{
	struct days *d = arg;
	int64_t i = (int64_t)c->day - d->start / 86400;

	if (i < 0 || i >= DAYS)
		return 0;
	d->spam[i] = (double)c->spam;
	d->innocent[i] = (double)(c->innocent + c->whitelisted);
	d->missed[i] = (double)c->missed_spam;
	d->fp[i] = (double)c->false_positives;
	return 0;
}

/* plots - the two charts of the last DAYS days. */
static int
plots(struct web_req *r)
{
	static const char *const label_fmt = "%m-%d";
	struct days d;
	char labels[DAYS][8];
	const char *lp[DAYS];
	double acc[DAYS], run[DAYS], n = 0, wrong = 0;
	time_t now = time(NULL), t;
	struct tm tm;
	int rc;

	memset(&d, 0, sizeof(d));
	d.start = ((int64_t)now / 86400 - (DAYS - 1)) * 86400;
	for (int i = 0; i < DAYS; i++) {
		t = (time_t)(d.start + (int64_t)i * 86400);
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(labels[i], sizeof(labels[i]), label_fmt, &tm) == 0)
			labels[i][0] = '\0';
		lp[i] = labels[i];
	}
	if (r->uid != 0) {
		rc = store_daily_list(r->w->st, r->uid, (time_t)d.start, count,
		    &d);
		if (rc != 0)
			return web_store_error(r, "daily counts", rc);
	}
	for (int i = 0; i < DAYS; i++) {
		double day = d.spam[i] + d.innocent[i];
		double err = d.missed[i] + d.fp[i];

		acc[i] = day > 0 ? (err < day ? (day - err) / day : 0) : NAN;
		n += day;
		wrong += err;
		run[i] = n > 0 ? (wrong < n ? (n - wrong) / n : 0) : NAN;
	}
	{
		const struct web_svg_series counts[] = {
			{"Spam", "#c0392b", d.spam},
			{"Innocent", "#27ae60", d.innocent},
			{"Missed spam", "#e67e22", d.missed},
			{"False positives", "#8e44ad", d.fp},
		};
		const struct web_svg_series accuracy[] = {
			{"Accuracy of the day", "#2980b9", acc},
			{"Running accuracy", "#7f8c8d", run},
		};
		const struct web_svg_chart c1 = {"per-day", "Messages per day",
			false, false, DAYS, lp, 4, counts};
		const struct web_svg_chart c2 = {"accuracy", "Accuracy per day",
			true, true, DAYS, lp, 2, accuracy};

		long long kept = conf_int(r->w->cf, "purge_daily_days");

		if ((rc = es_buf_printf(&r->out, "<h2>The last %d days (UTC)"
		         "</h2>\n<p>From the daily counts of your filtered "
		         "mail%s%.0lld%s; a correction counts on the day of the "
		         "message.</p>\n", DAYS,
		         kept ? ", which are kept for " : "", kept,
		         kept ? " days" : "")) != 0 ||
		    (rc = web_svg_chart(&r->out, &c1)) != 0 ||
		    (rc = es_buf_puts(&r->out, "<h2>Accuracy</h2>\n<p>Of each "
		         "day's verdicts, those not corrected since; and over "
		         "the whole period up to that day.</p>\n")) != 0)
			return rc;
		return web_svg_chart(&r->out, &c2);
	}
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
	if ((rc = plots(r)) != 0 || r->status != 200)
		return rc;
	return web_page_end(r);
}
