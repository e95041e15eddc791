/*
 * web_admin.c - the admins' pages of edgespam-web (web_admins only; the
 * router refuses everyone else before these run).
 *
 *   GET  domains   every domain's opt-in policy, a form to set one
 *   POST domains   domain, policy=off|opt-in|opt-out|on|unset, as
 *                  `edgespam domain D set P` / `unset` store them
 *   GET  sources   the worst spam sources (cls_srcrank.h's order, as
 *                  `edgespam sources`), ?top=N (default 50), ?since=DAYS
 */
#include <microhttpd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cls_policy.h"
#include "cls_srcrank.h"
#include "es_err.h"
#include "es_log.h"
#include "es_text.h"
#include "store.h"
#include "web.h"
#include "web_html.h"

#define TOP_DEFAULT 50
#define TOP_MAX 1000

/* domain_row - one domain and its policy. */
static int
domain_row(const char *domain, const char *policy, void *arg)
{
	struct web_req *r = arg;
	int rc;

	if ((rc = es_buf_puts(&r->out, "<tr><td>")) != 0 ||
	    (rc = web_html_str(&r->out, domain)) != 0 ||
	    (rc = es_buf_puts(&r->out, "</td><td>")) != 0 ||
	    (rc = web_html_str(&r->out, policy)) != 0)
		return rc;
	return es_buf_puts(&r->out, "</td></tr>\n");
}

int
web_page_domains(struct web_req *r)
{
	struct es_buf *b = &r->out;
	int rc;

	if ((rc = web_page_begin(r, "Domain policies", "domains")) != 0 ||
	    (rc = web_note(r)) != 0 ||
	    (rc = es_buf_puts(b, "<p>A domain's policy decides who is "
	        "filtered: off (nobody), opt-in (users who opted in), "
	        "opt-out (everybody but those who opted out), on "
	        "(everybody). A domain without one follows default_policy."
	        "</p>\n<table id=\"domains\"><tr><th>Domain</th>"
	        "<th>Policy</th></tr>\n")) != 0)
		return rc;
	if ((rc = store_domains(r->w->st, domain_row, r)) != 0)
		return web_store_error(r, "domains", rc);
	if ((rc = es_buf_puts(b, "</table>\n<h2>Set</h2>\n")) != 0 ||
	    (rc = web_form_begin(r, "domains", NULL)) != 0 ||
	    (rc = es_buf_puts(b,
		 "<label>Domain <input name=\"domain\" size=\"30\" "
		 "maxlength=\"255\" required></label> <select name=\"policy\">"
		 "<option>off</option><option>opt-in</option>"
		 "<option>opt-out</option><option>on</option>"
		 "<option value=\"unset\">(remove: default_policy)</option>"
		 "</select> <button type=\"submit\">Set</button></form>\n")) !=
	        0)
		return rc;
	return web_page_end(r);
}

int
web_post_domains(struct web_req *r)
{
	const char *d = web_field(r, "domain"), *p = web_field(r, "policy");
	enum cls_policy pol;
	bool unset;
	char domain[256];
	int rc;

	if (d == NULL || p == NULL ||
	    !es_text_domain(d, domain, sizeof(domain)))
		return web_error(r, MHD_HTTP_BAD_REQUEST, "not a domain name");
	unset = strcmp(p, "unset") == 0;
	if (!unset && cls_policy_parse(p, &pol) != 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "not a policy");
	rc = store_domain_set(r->w->st, domain,
	    unset ? NULL : cls_policy_name(pol));
	if (rc != 0)
		return web_store_error(r, "domain policy", rc);
	es_log_notice("domain %s: policy %s by %s (web)", domain,
	    unset ? "removed" : cls_policy_name(pol), r->user);
	return web_redirect(r, "domains?done=saved");
}

int
web_page_sources(struct web_req *r)
{
	struct es_buf *b = &r->out;
	struct cls_srcrank t;
	long top = web_number(web_arg(r, "top"), 1, TOP_MAX, TOP_DEFAULT);
	long days = web_number(web_arg(r, "since"), 1, 36500, 0);
	char f[32], l[32];
	int rc;

	if ((rc = web_page_begin(r, "Worst spam sources", "sources")) != 0)
		return rc;
	if ((rc = es_buf_printf(b, "<p>The %ld worst SMTP clients and networks"
	        " %s%ld%s by score (Spam verdicts + missed spam - false "
	        "positives), then spam ratio, as <code>edgespam sources</code>"
	        " lists them.</p>\n<table id=\"sources\"><tr><th>Source</th>"
	        "<th>Score</th><th>Spam</th><th>Innocent</th><th>Missed</th>"
	        "<th>False pos.</th><th>Streak</th><th>Spam %%</th>"
	        "<th>First seen (UTC)</th><th>Last seen (UTC)</th></tr>\n",
	        top, days ? "seen in the last " : "", days,
	        days ? " days," : "")) != 0)
		return rc;
	if (cls_srcrank_init(&t, (size_t)top) != 0)
		return ES_ENOMEM;
	rc = store_sources_list(r->w->st, days ? time(NULL) - days * 86400 : 0,
	    cls_srcrank_keep, &t);
	if (rc != 0) {
		cls_srcrank_free(&t);
		return web_store_error(r, "sources", rc);
	}
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		const struct store_source *s = &t.rows[i];

		if ((rc = es_buf_puts(b, "<tr><td>")) == 0 &&
		    (rc = web_html_str(b, s->source)) == 0)
			rc = es_buf_printf(b, "</td><td class=\"num\">%lld</td>"
			    "<td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
			    "<td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
			    "<td class=\"num\">%llu</td><td class=\"num\">%.1f</td>"
			    "<td>%s</td><td>%s</td></tr>\n",
			    cls_srcrank_score(s), (unsigned long long)s->spam,
			    (unsigned long long)s->innocent,
			    (unsigned long long)s->spam_corrections,
			    (unsigned long long)s->innocent_corrections,
			    (unsigned long long)s->spam_streak,
			    100.0 * cls_srcrank_ratio(s),
			    es_text_minute(s->first_seen, f, sizeof(f)),
			    es_text_minute(s->last_seen, l, sizeof(l)));
	}
	cls_srcrank_free(&t);
	if (rc != 0 || (rc = es_buf_puts(b, "</table>\n")) != 0)
		return rc;
	return web_page_end(r);
}
