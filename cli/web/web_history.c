/*
 * web_history.c - a user's history in edgespam-web, and the one-click
 * corrections.
 *
 *   GET  history   the user's rows (store_history_list), newest first,
 *                  PAGE_ROWS a page; filters: q (a substring of sender,
 *                  From or Subject), verdict (spam, innocent,
 *                  whitelisted), days (1..366), page
 *   POST correct   id (a row of the user's), as=spam|innocent
 *
 * A correction looks the row up by the requesting user's uid and the
 * row id, so another user's row is "not found" (404) whatever id is
 * sent; it then corrects the row's signature through cls_retrain_run(),
 * the function the alias pipes and the milter's retrain socket run, so
 * the tokens, totals and source counts change exactly as for a message
 * forwarded to user-spam@ or user-fp@ (the engine looks the signature
 * up by uid as well) and marks the row corrected in the correction's
 * own transaction.
 *
 * Every text of a row came from a message: it is written only through
 * web_html_text().
 */
#include <microhttpd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cls_retrain.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"
#include "web.h"
#include "web_html.h"

#define PAGE_ROWS 50
#define PAGE_MAX 100000

/* What a listing callback needs. */
struct listing {
	struct web_req *r;
	size_t n;
	int rc;
};

/* verdict_name - "Spam", "Innocent", "Whitelisted" (the X-DSPAM-Result
 * words the user knows from the headers). */
static const char *
verdict_name(enum store_verdict v)
{
	return v == STORE_VERDICT_SPAM       ? "Spam"
	    : v == STORE_VERDICT_WHITELISTED ? "Whitelisted"
	                                     : "Innocent";
}

/* cell - one escaped text cell. */
static int
cell(struct es_buf *b, const char *cls, const char *text)
{
	int rc;

	if ((rc = es_buf_printf(b, "<td class=\"%s\">", cls)) != 0 ||
	    (rc = web_html_str(b, text)) != 0)
		return rc;
	return es_buf_puts(b, "</td>");
}

/* button - the correction form of a row. */
static int
button(struct web_req *r, const struct store_history *h)
{
	bool spam = h->verdict == STORE_VERDICT_SPAM;
	int rc;

	if ((rc = web_form_begin(r, "correct", "inline")) != 0)
		return rc;
	return es_buf_printf(&r->out,
	    "<input type=\"hidden\" name=\"id\" value=\"%lld\">"
	    "<input type=\"hidden\" name=\"as\" value=\"%s\">"
	    "<button type=\"submit\" class=\"%s\" id=\"c%lld\">%s</button>"
	    "</form>",
	    (long long)h->id, spam ? "innocent" : "spam",
	    spam ? "notspam" : "isspam", (long long)h->id,
	    spam ? "this is not spam" : "this is spam");
}

/* row - one history row. */
static int
row(const struct store_history *h, void *arg)
{
	struct listing *l = arg;
	struct web_req *r = l->r;
	struct es_buf *b = &r->out;
	char when[32], prob[16];
	time_t t = (time_t)h->time;
	struct tm tm;
	int rc;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "-");
	snprintf(prob, sizeof(prob), "%.4f", h->probability);
	rc = es_buf_printf(b, "<tr class=\"%s\" id=\"r%lld\"><td>%s</td>",
	    verdict_name(h->verdict), (long long)h->id, when);
	if (rc == 0)
		rc = cell(b, "from", h->from);
	if (rc == 0)
		rc = cell(b, "sender", h->sender);
	if (rc == 0)
		rc = cell(b, "subj", h->subject);
	if (rc == 0)
		rc = cell(b, "client", h->client);
	if (rc == 0)
		rc = es_buf_printf(b, "<td class=\"verdict\">%s</td>"
		    "<td class=\"num\">%s</td><td>%s</td><td class=\"fix\">",
		    verdict_name(h->verdict), prob, store_action_text(h->action));
	if (rc == 0 && h->correction != STORE_CORRECTION_NONE)
		rc = es_buf_printf(b, "corrected: %s",
		    h->correction == STORE_CORRECTION_SPAM ? "spam"
		                                           : "not spam");
	else if (rc == 0 && h->signature[0] != '\0')
		rc = button(r, h);
	if (rc == 0)
		rc = es_buf_puts(b, "</td></tr>\n");
	l->n++;
	l->rc = rc;
	return rc != 0;
}

/* filters - the search form, with the current values. */
static int
filters(struct web_req *r, const char *q, enum store_verdict v, long days)
{
	static const struct {
		enum store_verdict v;
		const char *value, *label;
	} vs[] = {
		{STORE_VERDICT_ANY, "", "any verdict"},
		{STORE_VERDICT_SPAM, "spam", "Spam"},
		{STORE_VERDICT_INNOCENT, "innocent", "Innocent"},
		{STORE_VERDICT_WHITELISTED, "whitelisted", "Whitelisted"},
	};
	static const long ds[] = {1, 7, 14, 30, 0};
	struct es_buf *b = &r->out;
	int rc;

	rc = es_buf_puts(b, "<form method=\"get\" action=\"history\" "
	                    "id=\"filters\"><label>Search <input name=\"q\" "
	                    "id=\"q\" size=\"30\" maxlength=\"200\" value=\"");
	if (rc == 0)
		rc = web_html_str(b, q);
	if (rc == 0)
		rc = es_buf_puts(b, "\"></label> <select name=\"verdict\" "
		                    "id=\"verdict\">");
	for (size_t i = 0; rc == 0 && i < sizeof(vs) / sizeof(vs[0]); i++)
		rc = es_buf_printf(b, "<option value=\"%s\"%s>%s</option>",
		    vs[i].value, vs[i].v == v ? " selected" : "", vs[i].label);
	if (rc == 0)
		rc = es_buf_puts(b, "</select> <select name=\"days\" id=\"days\">");
	for (size_t i = 0; rc == 0 && i < sizeof(ds) / sizeof(ds[0]); i++)
		rc = ds[i] ? es_buf_printf(b, "<option value=\"%ld\"%s>last %ld "
		                              "day%s</option>", ds[i],
		                 ds[i] == days ? " selected" : "", ds[i],
		                 ds[i] == 1 ? "" : "s")
		           : es_buf_printf(b, "<option value=\"\"%s>all kept"
		                              "</option>", days ? "" : " selected");
	if (rc == 0)
		rc = es_buf_puts(b, "</select> <button type=\"submit\" "
		                    "id=\"search\">Show</button></form>\n");
	return rc;
}

/* pager - links to the pages before and after, keeping the filters. */
static int
pager(struct web_req *r, const char *q, const char *verdict, long days,
    long page, uint64_t total)
{
	struct es_buf *b = &r->out;
	uint64_t pages = (total + PAGE_ROWS - 1) / PAGE_ROWS;
	int rc = es_buf_printf(b, "<p id=\"count\">%llu message%s",
	    (unsigned long long)total, total == 1 ? "" : "s");

	for (int dir = -1; rc == 0 && dir <= 1; dir += 2) {
		long to = page + dir;

		if (to < 1 || (uint64_t)to > pages)
			continue;
		rc = es_buf_puts(b, " <a href=\"history?q=");
		if (rc == 0)
			rc = web_url_part(b, q);
		if (rc == 0)
			rc = es_buf_puts(b, "&amp;verdict=");
		if (rc == 0)
			rc = web_url_part(b, verdict);
		if (rc == 0)
			rc = es_buf_printf(b, "&amp;days=%ld&amp;page=%ld\">%s</a>",
			    days, to, dir < 0 ? "newer" : "older");
	}
	if (rc == 0 && pages > 1)
		rc = es_buf_printf(b, " (page %ld of %llu)", page,
		    (unsigned long long)pages);
	return rc == 0 ? es_buf_puts(b, "</p>\n") : rc;
}

int
web_page_history(struct web_req *r)
{
	const char *q = web_arg(r, "q"), *vtext = web_arg(r, "verdict");
	long days = web_number(web_arg(r, "days"), 1, 366, 0);
	long page = web_number(web_arg(r, "page"), 1, PAGE_MAX, 1);
	struct store_history_query hq;
	struct listing l = {r, 0, 0};
	uint64_t total = 0;
	int rc;

	if (q == NULL || strlen(q) > STORE_HISTORY_SEARCH_MAX)
		q = "";
	if (vtext == NULL)
		vtext = "";
	memset(&hq, 0, sizeof(hq));
	hq.verdict = store_verdict_of(vtext);
	if (hq.verdict == STORE_VERDICT_ANY)
		vtext = "";
	hq.search = q[0] != '\0' ? q : NULL;
	hq.since = days ? (int64_t)time(NULL) - days * 86400 : 0;
	hq.limit = PAGE_ROWS;
	hq.offset = (size_t)(page - 1) * PAGE_ROWS;
	if ((rc = web_page_begin(r, "History", "history")) != 0 ||
	    (rc = web_note(r)) != 0 ||
	    (rc = filters(r, q, hq.verdict, days)) != 0)
		return rc;
	rc = web_req_uid(r, false);
	if (rc == 0)
		rc = store_history_count(r->w->st, r->uid, &hq, &total);
	if (rc != 0 && rc != ES_ENOTFOUND)
		return web_store_error(r, "history", rc);
	if ((rc = pager(r, q, vtext, days, page, total)) != 0 ||
	    (rc = es_buf_puts(&r->out, "<table id=\"history\"><tr><th>Time "
	        "(UTC)</th><th>From</th><th>Envelope sender</th><th>Subject"
	        "</th><th>Client</th><th>Verdict</th><th>Probability</th>"
	        "<th>Action</th><th>Correction</th></tr>\n")) != 0)
		return rc;
	if (r->uid != 0 &&
	    (rc = store_history_list(r->w->st, r->uid, &hq, row, &l)) != 0)
		return l.rc != 0 ? l.rc : web_store_error(r, "history", rc);
	if (l.n == 0 && (rc = es_buf_puts(&r->out, "<tr><td colspan=\"9\">No "
	                     "messages.</td></tr>\n")) != 0)
		return rc;
	if ((rc = es_buf_puts(&r->out, "</table>\n")) != 0)
		return rc;
	return web_page_end(r);
}

/* find_sig - the listing's callback: the row's signature into arg
 * (left "" when the user has no such row). */
static int
find_sig(const struct store_history *h, void *arg)
{
	strlcpy(arg, h->signature, CLS_SIG_ID_LEN + 1);
	return 1;
}

int
web_post_correct(struct web_req *r)
{
	const char *as = web_field(r, "as");
	long long id = web_number(web_field(r, "id"), 1,
	    0x7fffffffffffffffLL, 0);
	struct store_history_query hq;
	struct cls_retrain_req rq;
	enum cls_retrain_outcome out;
	char sig[CLS_SIG_ID_LEN + 1] = "", text[512];
	int rc;

	if (id == 0 || as == NULL ||
	    (strcmp(as, "spam") != 0 && strcmp(as, "innocent") != 0))
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad form");
	if ((rc = web_req_uid(r, false)) == ES_ENOTFOUND)
		return web_error(r, MHD_HTTP_NOT_FOUND, "no such message");
	if (rc != 0)
		return web_store_error(r, "user", rc);
	/* the row by the user's uid and its id: never another user's */
	memset(&hq, 0, sizeof(hq));
	hq.id = id;
	hq.limit = 1;
	rc = store_history_list(r->w->st, r->uid, &hq, find_sig, sig);
	if (rc != 0)
		return web_store_error(r, "history", rc);
	if (sig[0] == '\0') {
		es_log_warning("user %s: correction of row %lld refused: not a "
		               "row of the user's with a signature", r->user, id);
		return web_error(r, MHD_HTTP_NOT_FOUND, "no such message");
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = strcmp(as, "spam") == 0 ? CLS_RETRAIN_SPAM
	                                : CLS_RETRAIN_INNOCENT;
	strlcpy(rq.user, r->user, sizeof(rq.user));
	strlcpy(rq.sig, sig, sizeof(rq.sig));
	rq.msg = "";
	rq.len = 0;
	rq.train_without_sig = false; /* there is no text to train from */
	rc = cls_retrain_run(r->w->eng, r->w->st, &r->w->ecfg, &rq, time(NULL),
	    &out, text, sizeof(text));
	if (rc != 0) {
		es_log_err("user %s: %s failed: %s", r->user, as, text);
		return web_error(r, rc == ES_ETRANSIENT
		    ? MHD_HTTP_SERVICE_UNAVAILABLE
		    : MHD_HTTP_INTERNAL_SERVER_ERROR,
		    rc == ES_ETRANSIENT ? "the store is busy; try again"
		                        : "the correction failed; see the log");
	}
	es_log_info("user %s: %s (web)", r->user, text);
	if (out == CLS_RETRAIN_REFUSED)
		return web_redirect(r, "history?done=gone");
	if (out == CLS_RETRAIN_ALREADY)
		return web_redirect(r, "history?done=already");
	return web_redirect(r, rq.op == CLS_RETRAIN_SPAM
	    ? "history?done=spam" : "history?done=innocent");
}
