/*
 * web_pages.c - a user's own settings in edgespam-web: the sender allow
 * and block lists, and opt-in/opt-out.
 *
 *   GET  lists   both lists, a remove button per entry, an add form
 *   POST lists   op=add|remove, list=allow|block, pattern
 *   GET  prefs   whether the milter filters the user and why (the
 *                milter's own rule, cls_policy.h), and three buttons
 *   POST prefs   set=opt-in|opt-out|default, as `edgespam user U
 *                opt-in|opt-out|default` stores them (optIn, optOut)
 *
 * Every change is the requesting user's own (r->uid, from the proxy's
 * header); patterns are checked and normalised by cls_sender_pattern(),
 * the milter's rule. After a POST the browser is sent back (303) with a
 * code from a fixed table, never with request text.
 */
#include <microhttpd.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cls_policy.h"
#include "cls_sender.h"
#include "conf.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"
#include "web.h"
#include "web_html.h"

/* What a redirect after a POST reports. */
static const struct {
	const char *code, *text;
} notes[] = {
	{"added", "Added."},
	{"removed", "Removed."},
	{"notlisted", "That pattern was not on the list."},
	{"badpattern", "Not a sender pattern: use user@example.com, "
	               "@example.com or *.example.com."},
	{"saved", "Saved."},
	{"spam", "Corrected: the message is now learned as spam."},
	{"innocent", "Corrected: the message is now learned as not spam."},
	{"already", "That message already had this class."},
	{"gone", "That message can no longer be corrected (its signature "
	         "expired or was used)."},
};

int
web_note(struct web_req *r)
{
	const char *code = web_arg(r, "done");

	if (code == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strcmp(code, notes[i].code) == 0)
			return es_buf_printf(&r->out,
			    "<p class=\"msg\" id=\"note\">%s</p>\n", notes[i].text);
	return 0;
}

/* list_row - one entry of the lists with its remove button. */
static int
list_row(const char *pattern, const char *list, void *arg)
{
	struct web_req *r = arg;
	struct es_buf *b = &r->out;
	int rc;

	if ((rc = es_buf_printf(b, "<tr class=\"%s\"><td>%s</td><td>",
		 strcmp(list, "allow") == 0 ? "allow" : "block",
		 strcmp(list, "allow") == 0 ? "allowed" : "blocked")) != 0 ||
	    (rc = web_html_str(b, pattern)) != 0 ||
	    (rc = es_buf_puts(b, "</td><td>")) != 0 ||
	    (rc = web_form_begin(r, "lists", "inline")) != 0 ||
	    (rc = es_buf_printf(b, "<input type=\"hidden\" name=\"op\" "
		 "value=\"remove\"><input type=\"hidden\" name=\"list\" "
		 "value=\"%s\"><input type=\"hidden\" name=\"pattern\" value=\"",
		 strcmp(list, "allow") == 0 ? "allow" : "block")) != 0 ||
	    (rc = web_html_str(b, pattern)) != 0 ||
	    (rc = es_buf_puts(b, "\"><button type=\"submit\">Remove</button>"
		 "</form></td></tr>\n")) != 0)
		return rc;
	return 0;
}

int
web_page_lists(struct web_req *r)
{
	struct es_buf *b = &r->out;
	size_t before;
	int rc;

	if ((rc = web_page_begin(r, "Senders", "lists")) != 0 ||
	    (rc = web_note(r)) != 0)
		return rc;
	rc = es_buf_puts(b,
	    "<p>Mail from an <b>allowed</b> sender is never marked as spam; "
	    "mail from a <b>blocked</b> sender always is. A pattern is an "
	    "address (user@example.com), a domain (@example.com) or a domain "
	    "with its subdomains (*.example.com).</p>\n"
	    "<table id=\"lists\"><tr><th>List</th><th>Sender</th><th></th>"
	    "</tr>\n");
	if (rc != 0)
		return rc;
	before = b->len;
	rc = web_req_uid(r, false);
	if (rc == 0)
		rc = store_senders(r->w->st, r->uid, list_row, r);
	if (rc != 0 && rc != ES_ENOTFOUND)
		return web_store_error(r, "sender lists", rc);
	if (b->len == before &&
	    (rc = es_buf_puts(b, "<tr><td colspan=\"3\">No entries.</td>"
		 "</tr>\n")) != 0)
		return rc;
	if ((rc = es_buf_puts(b, "</table>\n<h2>Add</h2>\n")) != 0 ||
	    (rc = web_form_begin(r, "lists", NULL)) != 0 ||
	    (rc = es_buf_puts(b,
		 "<input type=\"hidden\" name=\"op\" value=\"add\">"
		 "<label>Sender <input name=\"pattern\" id=\"pattern\" "
		 "size=\"40\" maxlength=\"255\" required></label> "
		 "<select name=\"list\" id=\"list\">"
		 "<option value=\"allow\">allow</option>"
		 "<option value=\"block\">block</option></select> "
		 "<button type=\"submit\" id=\"add\">Add</button></form>\n")) !=
	        0)
		return rc;
	return web_page_end(r);
}

int
web_post_lists(struct web_req *r)
{
	const char *op = web_field(r, "op"), *list = web_field(r, "list");
	const char *pattern = web_field(r, "pattern");
	enum store_sender_list l;
	char pat[CLS_SENDER_MAX + 1], err[256];
	bool add;
	int rc;

	if (op == NULL || list == NULL || pattern == NULL ||
	    (strcmp(op, "add") != 0 && strcmp(op, "remove") != 0) ||
	    (strcmp(list, "allow") != 0 && strcmp(list, "block") != 0))
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad form");
	add = strcmp(op, "add") == 0;
	l = strcmp(list, "allow") == 0 ? STORE_SENDER_ALLOW : STORE_SENDER_BLOCK;
	if (cls_sender_pattern(pattern, pat, sizeof(pat), err, sizeof(err)) !=
	    0)
		return web_redirect(r, "lists?done=badpattern");
	if ((rc = web_req_uid(r, add)) == ES_ENOTFOUND)
		return web_redirect(r, "lists?done=notlisted");
	if (rc != 0)
		return web_store_error(r, "user", rc);
	if (add)
		rc = store_sender_set(r->w->st, r->uid, pat, l, time(NULL));
	else
		rc = store_sender_remove(r->w->st, r->uid, pat, l);
	if (rc == ES_ENOTFOUND)
		return web_redirect(r, "lists?done=notlisted");
	if (rc != 0)
		return web_store_error(r, "sender lists", rc);
	es_log_notice("user %s: sender %s %s the %s list (web)", r->user, pat,
	    add ? "on" : "off", list);
	return web_redirect(r, add ? "lists?done=added" : "lists?done=removed");
}

/* pref - the user's value of key into v ("" when unset or no user). */
static int
pref(struct web_req *r, const char *key, char *v, size_t len)
{
	int rc;

	v[0] = '\0';
	if (r->uid == 0)
		return 0;
	rc = store_pref_get(r->w->st, r->uid, key, v, len);
	return rc == ES_ENOTFOUND ? 0 : rc;
}

int
web_page_prefs(struct web_req *r)
{
	struct es_buf *b = &r->out;
	char in[CLS_POLICY_PREF_SIZE], out[CLS_POLICY_PREF_SIZE];
	char text[CLS_POLICY_TEXT_SIZE], why[512];
	const char *domain = strchr(r->user, '@');
	enum cls_policy def, p;
	bool own = false;
	int rc;

	if ((rc = web_page_begin(r, "Filtering", "prefs")) != 0 ||
	    (rc = web_note(r)) != 0)
		return rc;
	if ((rc = web_req_uid(r, false)) != 0 && rc != ES_ENOTFOUND)
		return web_store_error(r, "user", rc);
	if ((rc = pref(r, "optIn", in, sizeof(in))) != 0 ||
	    (rc = pref(r, "optOut", out, sizeof(out))) != 0)
		return web_store_error(r, "preferences", rc);
	if (cls_policy_parse(conf_str(r->w->cf, "default_policy"), &def) != 0)
		def = CLS_POLICY_OPT_IN;
	p = def;
	if (domain != NULL) {
		domain++;
		rc = store_domain_get(r->w->st, domain, text, sizeof(text));
		if (rc != 0 && rc != ES_ENOTFOUND)
			return web_store_error(r, "domain policy", rc);
		own = cls_policy_of_domain(def, rc == 0 ? text : NULL, &p) == 0;
	}
	if (cls_policy_filtered(p, in, out)) {
		rc = es_buf_puts(b, "<p id=\"filtered\">Your mail is "
		                    "<b>filtered</b>.</p>\n");
	} else {
		cls_policy_why_not(p, own ? domain : NULL, in, out, why,
		    sizeof(why));
		if ((rc = es_buf_puts(b, "<p id=\"filtered\">Your mail is "
		                         "<b>not filtered</b> (")) == 0 &&
		    (rc = web_html_str(b, why)) == 0)
			rc = es_buf_puts(b, ").</p>\n");
	}
	if (rc != 0)
		return rc;
	rc = es_buf_printf(b, "<p>Your choice: <b id=\"choice\">%s</b>. "
	    "Your domain's policy: %s.</p>\n",
	    cls_policy_on(in) && !cls_policy_on(out) ? "opt-in"
	    : cls_policy_on(out)                     ? "opt-out"
	                                             : "the default",
	    cls_policy_name(p));
	if (rc != 0 || (rc = web_form_begin(r, "prefs", NULL)) != 0)
		return rc;
	rc = es_buf_puts(b,
	    "<button name=\"set\" value=\"opt-in\" id=\"opt-in\">Filter my "
	    "mail (opt in)</button> "
	    "<button name=\"set\" value=\"opt-out\" id=\"opt-out\">Do not "
	    "filter my mail (opt out)</button> "
	    "<button name=\"set\" value=\"default\" id=\"default\">Follow "
	    "my domain's policy</button></form>\n");
	if (rc != 0)
		return rc;
	return web_page_end(r);
}

int
web_post_prefs(struct web_req *r)
{
	const char *set = web_field(r, "set"), *in = NULL, *out = NULL;
	struct store *st = r->w->st;
	int rc;

	if (set == NULL)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad form");
	if (strcmp(set, "opt-in") == 0)
		in = "on";
	else if (strcmp(set, "opt-out") == 0)
		out = "on";
	else if (strcmp(set, "default") != 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad form");
	if ((rc = web_req_uid(r, true)) != 0)
		return web_store_error(r, "user", rc);
	/* the two preferences change together or not at all */
	if ((rc = store_begin(st, true)) != 0 ||
	    (rc = store_pref_set(st, r->uid, "optIn", in)) != 0 ||
	    (rc = store_pref_set(st, r->uid, "optOut", out)) != 0 ||
	    (rc = store_commit(st)) != 0)
		return web_store_error(r, "preferences", rc);
	es_log_notice("user %s: %s (web)", r->user, set);
	return web_redirect(r, "prefs?done=saved");
}
