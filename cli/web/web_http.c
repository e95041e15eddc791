/*
 * web_http.c - edgespam-web's HTTP side, on libmicrohttpd: who is
 * asking, the form of a POST, which page answers, and the headers every
 * answer carries.
 *
 * Each request, before anything else:
 *  1. the peer must be a configured proxy (web_proxy) or come over the
 *     Unix socket, else 403 (whatever headers it sends);
 *  2. the proxy's user header (web_user_header) must name a user
 *     (normalised as the milter names recipients), else 403;
 *  3. a POST must be application/x-www-form-urlencoded, at most
 *     WEB_BODY_MAX bytes, and carry the user's CSRF token in "csrf",
 *     else 415, 413 or 403. GET and HEAD never change anything.
 * Admin pages (web_admins) answer 403 to everyone else.
 *
 * Every answer has a strict Content-Security-Policy (nothing but this
 * origin's style sheet and forms; no scripts at all), nosniff, no
 * framing, no referrer and no caching: pages show a user's mail.
 *
 * Requests run in libmicrohttpd's one internal thread, one at a time,
 * so the pages share one store handle without locks.
 */
#include <microhttpd.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "es_text.h"
#include "store.h"
#include "web.h"
#include "web_html.h"

/* A form is a handful of short fields; anything larger is not ours. */
#define WEB_BODY_MAX 16384
/* Connections at once, seconds idle, memory per connection: a local
 * proxy needs few, and a slow client cannot hold the one thread. */
#define WEB_CONN_LIMIT 64
#define WEB_CONN_TIMEOUT 30

static const char csp[] =
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static const char css[] =
    "body{font-family:sans-serif;margin:0;color:#222;background:#fafafa}\n"
    "nav{background:#234;padding:.5em 1em}\n"
    "nav a{color:#fff;margin-right:1.2em;text-decoration:none}\n"
    "nav a.cur{font-weight:bold;text-decoration:underline}\n"
    "nav span{color:#bcd;float:right}\n"
    "main{padding:1em}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
    "vertical-align:top}\n"
    "th{background:#e8eef4}\n"
    "td.num{text-align:right}\n"
    "tr.Spam td{background:#fde8e8}\n"
    "tr.Innocent td,tr.Whitelisted td{background:#eef8ee}\n"
    "form.inline{display:inline;margin:0}\n"
    "button{cursor:pointer}\n"
    ".msg{background:#ffd;border:1px solid #cc8;padding:.4em;"
    "margin:.5em 0}\n"
    ".err{background:#fdd;border:1px solid #c88;padding:.4em}\n"
    ".subj{max-width:32em;overflow-wrap:anywhere}\n"
    "svg{background:#fff;border:1px solid #ccc;margin:.5em 0}\n";

/* A page: path, whether POST, admins only, the handler. */
struct route {
	const char *path;
	bool post;
	bool admin;
	int (*fn)(struct web_req *r);
};

static const struct route routes[] = {
	{"/history", false, false, web_page_history},
	{"/correct", true, false, web_post_correct},
	{"/lists", false, false, web_page_lists},
	{"/lists", true, false, web_post_lists},
	{"/prefs", false, false, web_page_prefs},
	{"/prefs", true, false, web_post_prefs},
	{"/stats", false, false, web_page_stats},
	{"/domains", false, true, web_page_domains},
	{"/domains", true, true, web_post_domains},
	{"/sources", false, true, web_page_sources},
};

/* The per-request state between libmicrohttpd's calls. */
struct web_conn {
	struct web_req r;
	struct MHD_PostProcessor *pp;
	size_t body;      /* bytes of the body so far */
	int refused;      /* a status decided before the body was read */
	const char *why;
	bool answered;    /* a response is queued: ignore what follows */
};

const char *
web_arg(const struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

long
web_number(const char *s, long lo, long hi, long def)
{
	long v = def;

	(void)es_text_long(s, lo, hi, &v);
	return v;
}

const char *
web_field(const struct web_req *r, const char *name)
{
	for (size_t i = 0; i < r->nform; i++)
		if (strcmp(r->form[i].name, name) == 0)
			return r->form[i].value;
	return NULL;
}

int
web_req_uid(struct web_req *r, bool create)
{
	if (r->uid != 0)
		return 0;
	return store_user_uid(r->w->st, r->user, create, &r->uid);
}

/* nav_link - one link of the navigation bar. */
static int
nav_link(struct web_req *r, const char *path, const char *label,
    const char *current)
{
	return es_buf_printf(&r->out, "<a href=\"%s\"%s>%s</a>", path,
	    strcmp(path, current) == 0 ? " class=\"cur\"" : "", label);
}

int
web_page_begin(struct web_req *r, const char *title, const char *current)
{
	int rc;

	rc = es_buf_printf(&r->out,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<title>%s - edgespam</title>"
	    "<link rel=\"stylesheet\" href=\"style.css\"></head>\n<body><nav>",
	    title);
	if (rc == 0)
		rc = nav_link(r, "history", "History", current);
	if (rc == 0)
		rc = nav_link(r, "lists", "Senders", current);
	if (rc == 0)
		rc = nav_link(r, "prefs", "Filtering", current);
	if (rc == 0)
		rc = nav_link(r, "stats", "Statistics", current);
	if (rc == 0 && r->admin)
		rc = nav_link(r, "domains", "Domains", current);
	if (rc == 0 && r->admin)
		rc = nav_link(r, "sources", "Spam sources", current);
	if (rc == 0)
		rc = es_buf_puts(&r->out, "<span id=\"who\">");
	if (rc == 0)
		rc = web_html_str(&r->out, r->user);
	if (rc == 0)
		rc = es_buf_printf(&r->out, "</span></nav>\n<main><h1>%s</h1>\n",
		    title);
	return rc;
}

int
web_page_end(struct web_req *r)
{
	return es_buf_puts(&r->out, "</main></body></html>\n");
}

int
web_form_begin(struct web_req *r, const char *action, const char *cls)
{
	return es_buf_printf(&r->out,
	    "<form method=\"post\" action=\"%s\"%s%s%s>"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    action, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "",
	    r->csrf);
}

int
web_error(struct web_req *r, int status, const char *msg)
{
	es_buf_reset(&r->out);
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	return es_buf_printf(&r->out, "%d %s\n", status, msg);
}

int
web_redirect(struct web_req *r, const char *url)
{
	r->status = MHD_HTTP_SEE_OTHER;
	strlcpy(r->location, url, sizeof(r->location));
	es_buf_reset(&r->out);
	return es_buf_puts(&r->out, "See Other\n");
}

int
web_store_error(struct web_req *r, const char *what, int rc)
{
	es_log_err("user %s: %s: %s: %s", r->user, what, es_strerror(rc),
	    store_errmsg(r->w->st));
	store_rollback(r->w->st);
	return web_error(r, rc == ES_ETRANSIENT
	    ? MHD_HTTP_SERVICE_UNAVAILABLE
	    : MHD_HTTP_INTERNAL_SERVER_ERROR,
	    rc == ES_ETRANSIENT ? "the store is busy; try again"
	                        : "the store failed; see the log");
}

/* who - steps 1 and 2: the peer and the user; 0 or the refusal. */
static int
who(struct web *w, struct MHD_Connection *conn, struct web_conn *c)
{
	const union MHD_ConnectionInfo *ci;
	const char *name, *hdr = conf_str(w->cf, "web_user_header");
	const char *const *adm;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!w->unix_listen &&
	    (ci == NULL || !web_auth_proxy(&w->auth, ci->client_addr))) {
		c->why = "not from the configured proxy (web_proxy)";
		return MHD_HTTP_FORBIDDEN;
	}
	name = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, hdr);
	if (name == NULL || *name == '\0') {
		c->why = "no user: the proxy did not authenticate the request";
		return MHD_HTTP_FORBIDDEN;
	}
	if (cls_user_normalize(name, strlen(name),
		conf_recipient_delimiter(w->cf), c->r.user,
		sizeof(c->r.user)) != 0) {
		c->why = "the proxy's user header names no valid user";
		return MHD_HTTP_FORBIDDEN;
	}
	for (adm = conf_list(w->cf, "web_admins"); *adm != NULL; adm++)
		if (strcasecmp(*adm, c->r.user) == 0)
			c->r.admin = true;
	if (web_auth_token(&w->auth, c->r.user, c->r.csrf) != 0) {
		c->why = "cannot make a CSRF token";
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	return 0;
}

/* post_field - libmicrohttpd's form iterator: keep the field. */
static enum MHD_Result
post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *ctype, const char *enc,
    const char *data, uint64_t off, size_t size)
{
	struct web_req *r = cls;
	struct web_field *f = NULL;
	size_t have;

	(void)kind, (void)filename, (void)ctype, (void)enc;
	/* a long value arrives in pieces: the one being filled is the last */
	if (off > 0 && r->nform > 0 &&
	    strcmp(r->form[r->nform - 1].name, key) == 0)
		f = &r->form[r->nform - 1];
	if (f == NULL) {
		if (r->nform == WEB_FORM_FIELDS ||
		    strlen(key) >= sizeof(f->name)) {
			r->form_bad = true;
			return MHD_YES;
		}
		f = &r->form[r->nform++];
		strlcpy(f->name, key, sizeof(f->name));
		f->value[0] = '\0';
	}
	have = strlen(f->value);
	if (off != have || size > WEB_FORM_VALUE - have ||
	    memchr(data, '\0', size) != NULL) {
		r->form_bad = true;
		return MHD_YES;
	}
	memcpy(f->value + have, data, size);
	f->value[have + size] = '\0';
	return MHD_YES;
}

/* add_headers - what every answer carries. */
static void
add_headers(struct MHD_Response *resp, const char *ctype)
{
	MHD_add_response_header(resp, "Content-Type",
	    ctype ? ctype : "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
}

/* reply - queue r's answer. */
static enum MHD_Result
reply(struct MHD_Connection *conn, struct web_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = 0;
	char *body;

	if (r->out.data == NULL)
		(void)es_buf_append(&r->out, "", 0);
	body = es_buf_steal(&r->out, &len);
	resp = MHD_create_response_from_buffer(len, body != NULL ? body : "",
	    body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		es_free(body);
		return MHD_NO;
	}
	add_headers(resp, r->ctype);
	if (r->location[0] != '\0')
		MHD_add_response_header(resp, "Location", r->location);
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* refuse - a plain-text refusal, logged. */
static enum MHD_Result
refuse(struct MHD_Connection *conn, struct web_conn *c, int status,
    const char *why)
{
	char path[128], method[16];

	es_log_sanitize(c->r.path, strlen(c->r.path), path, sizeof(path));
	es_log_sanitize(c->r.method, strlen(c->r.method), method,
	    sizeof(method));
	es_log_warning("refused %s %s%s%s: %d %s", method, path,
	    c->r.user[0] ? " for " : "", c->r.user, status, why);
	web_error(&c->r, status, why);
	return reply(conn, &c->r);
}

/* dispatch - the page for the finished request. */
static enum MHD_Result
dispatch(struct MHD_Connection *conn, struct web_conn *c)
{
	struct web_req *r = &c->r;
	const struct route *rt = NULL;
	bool path_known = false;
	int rc;

	if (strcmp(r->path, "/") == 0 && !r->post) {
		web_redirect(r, "history");
		return reply(conn, r);
	}
	/* browsers ask for it on every page; there is none */
	if (strcmp(r->path, "/favicon.ico") == 0 && !r->post) {
		r->status = MHD_HTTP_NO_CONTENT;
		return reply(conn, r);
	}
	if (strcmp(r->path, "/style.css") == 0 && !r->post) {
		r->status = MHD_HTTP_OK;
		r->ctype = "text/css; charset=utf-8";
		es_buf_puts(&r->out, css);
		return reply(conn, r);
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, r->path) != 0)
			continue;
		path_known = true;
		if (routes[i].post == r->post)
			rt = &routes[i];
	}
	if (rt == NULL)
		return refuse(conn, c, path_known ? MHD_HTTP_METHOD_NOT_ALLOWED
		                                  : MHD_HTTP_NOT_FOUND,
		    path_known ? "method not allowed" : "no such page");
	if (rt->admin && !r->admin)
		return refuse(conn, c, MHD_HTTP_FORBIDDEN,
		    "for admins only (web_admins)");
	if (r->post) {
		if (r->form_bad)
			return refuse(conn, c, MHD_HTTP_BAD_REQUEST,
			    "a form with too many or too long fields");
		if (!web_auth_token_ok(&r->w->auth, r->user,
			web_field(r, "csrf")))
			return refuse(conn, c, MHD_HTTP_FORBIDDEN,
			    "missing or wrong CSRF token");
	}
	r->status = MHD_HTTP_OK;
	if ((rc = rt->fn(r)) != 0) {
		es_log_err("user %s: %s: %s", r->user, r->path, es_strerror(rc));
		web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    rc == ES_ELIMIT ? "the page is too large" : es_strerror(rc));
	}
	return reply(conn, r);
}

/* answer - libmicrohttpd's access handler. */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct web *w = cls;
	struct web_conn *c = *con_cls;
	const char *ct;

	(void)version;
	if (c == NULL) {
		if ((c = es_calloc(1, sizeof(*c))) == NULL)
			return MHD_NO;
		*con_cls = c;
		c->r.w = w;
		c->r.conn = conn;
		c->r.path = url;
		c->r.method = method;
		es_buf_init(&c->r.out, WEB_PAGE_MAX);
		c->r.post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
		if (!c->r.post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			c->refused = MHD_HTTP_METHOD_NOT_ALLOWED;
			c->why = "method not allowed";
		} else {
			c->refused = who(w, conn, c);
		}
		if (c->refused == 0 && c->r.post) {
			ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
			    MHD_HTTP_HEADER_CONTENT_TYPE);
			if (ct == NULL ||
			    strncasecmp(ct, MHD_HTTP_POST_ENCODING_FORM_URLENCODED,
				strlen(MHD_HTTP_POST_ENCODING_FORM_URLENCODED)) !=
			        0 ||
			    (c->pp = MHD_create_post_processor(conn, 1024,
				 post_field, &c->r)) == NULL) {
				c->refused = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
				c->why = "a form must be "
				         "application/x-www-form-urlencoded";
			}
		}
		/* a refusal is answered before the body is read */
		if (c->refused != 0) {
			c->answered = true;
			return refuse(conn, c, c->refused, c->why);
		}
		return MHD_YES;
	}
	if (c->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (c->refused == 0 && *upload_size > WEB_BODY_MAX - c->body) {
			c->refused = MHD_HTTP_CONTENT_TOO_LARGE;
			c->why = "the form is too large";
		}
		if (c->refused == 0 && c->pp != NULL) {
			c->body += *upload_size;
			if (MHD_post_process(c->pp, upload, *upload_size) !=
			    MHD_YES)
				c->r.form_bad = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	c->answered = true;
	if (c->refused != 0)
		return refuse(conn, c, c->refused, c->why);
	return dispatch(conn, c);
}

/* done - libmicrohttpd's completion callback: free the request. */
static void
done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct web_conn *c = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (c == NULL)
		return;
	if (c->pp != NULL)
		MHD_destroy_post_processor(c->pp);
	es_buf_release(&c->r.out);
	explicit_bzero(&c->r.form, sizeof(c->r.form));
	es_free(c);
	*con_cls = NULL;
}

/* mhd_log - libmicrohttpd's own messages, into our log (the format is
 * the library's). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	es_log_warning("libmicrohttpd: %s", buf);
}

void *
web_http_start(struct web *w, int fd)
{
	struct MHD_Daemon *d;

	/* the logger first, so that no message goes to libmicrohttpd's own */
	d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, answer, w,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_NOTIFY_COMPLETED, done, w,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
	    MHD_OPTION_END);
	if (d == NULL)
		es_log_err("libmicrohttpd did not start on the listening "
		           "socket");
	return d;
}

void
web_http_stop(void *daemon)
{
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
}
