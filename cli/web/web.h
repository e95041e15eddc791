/*
 * web.h - shared state of edgespam-web's modules.
 *
 * web_main.c starts the program (configuration, listening socket,
 * privilege drop, store, libmicrohttpd); web_http.c turns each HTTP
 * request into a struct web_req (who asks, checked; the form, read) and
 * hands it to a page; web_pages.c has the user's pages, web_admin.c the
 * admins', web_svg.c draws the plots, web_html.c escapes, web_auth.c
 * decides whom to believe and makes and checks CSRF tokens.
 *
 * Threads: libmicrohttpd runs every request in its one internal thread,
 * which alone uses the store handle and the engine's work area.
 */
#ifndef WEB_H
#define WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cls_engine.h"
#include "cls_user.h"
#include "es_buf.h"
#include "web_auth.h"

struct conf;
struct store;

/* The largest page; a longer one is an error (500), not a cut page. */
#define WEB_PAGE_MAX (4u << 20)
/* Form fields of one POST, and the length of one value. */
#define WEB_FORM_FIELDS 8
#define WEB_FORM_VALUE 512

struct web {
	struct conf *cf;
	struct store *st;
	struct cls_engine *eng;
	struct cls_engine_cfg ecfg;
	struct web_auth auth;
	bool unix_listen;   /* listening on a Unix socket: every peer is
	                       the proxy (the socket's mode says who) */
};

struct web_field {
	char name[32];
	char value[WEB_FORM_VALUE + 1];
};

struct web_req {
	struct web *w;
	bool post;
	const char *method;          /* borrowed from libmicrohttpd */
	const char *path;            /* borrowed from libmicrohttpd */
	void *conn;                  /* struct MHD_Connection */
	char user[CLS_USER_MAX + 1]; /* normalised, from the proxy's header */
	uint32_t uid;                /* 0 until web_req_uid() found it */
	bool admin;
	char csrf[WEB_AUTH_TOKEN_LEN + 1]; /* the user's token, for forms */
	struct web_field form[WEB_FORM_FIELDS];
	size_t nform;
	bool form_bad;               /* too many or too long fields */
	/* the answer */
	int status;
	const char *ctype;           /* NULL: text/html */
	char location[256];          /* for 303: relative URL */
	struct es_buf out;
};

/* web_arg - a query argument of the request, or NULL. */
const char *web_arg(const struct web_req *r, const char *name);
/* web_number - an argument or field as a whole number in [lo, hi],
 * else def (also when s is NULL). */
long web_number(const char *s, long lo, long hi, long def);
/* web_field - a form field of the POST, or NULL. */
const char *web_field(const struct web_req *r, const char *name);
/*
 * web_req_uid - r->uid of r->user; with create, a missing user is made
 * (for a first change), else ES_ENOTFOUND. es_err codes.
 */
int web_req_uid(struct web_req *r, bool create);

/* web_page_begin - doctype, head and navigation; current names the
 * page's path ("history", ...). web_page_end - closes it. */
int web_page_begin(struct web_req *r, const char *title, const char *current);
int web_page_end(struct web_req *r);
/* web_form_begin - "<form method=post action=ACTION>" with the CSRF
 * token as a hidden field. */
int web_form_begin(struct web_req *r, const char *action, const char *cls);
/* web_note - the notice that a redirect's ?done=CODE names (a fixed
 * table in web_pages.c; unknown codes show nothing). */
int web_note(struct web_req *r);
/* web_error - an error page with status and a plain message. */
int web_error(struct web_req *r, int status, const char *msg);
/* web_redirect - 303 to a relative URL (after a POST). */
int web_redirect(struct web_req *r, const char *url);
/* web_store_error - the page for an es_err code from the store (503
 * when it is busy or away, 500 otherwise); logs it. */
int web_store_error(struct web_req *r, const char *what, int rc);

/* The pages (web_pages.c, web_admin.c): each fills r's answer and
 * returns 0, or an es_err code that becomes a 500 page. */
int web_page_history(struct web_req *r);
int web_post_correct(struct web_req *r);
int web_page_lists(struct web_req *r);
int web_post_lists(struct web_req *r);
int web_page_prefs(struct web_req *r);
int web_post_prefs(struct web_req *r);
int web_page_stats(struct web_req *r);
int web_page_domains(struct web_req *r);
int web_post_domains(struct web_req *r);
int web_page_sources(struct web_req *r);

/* web_http_start - the daemon on the listening socket fd; NULL on
 * failure (logged). web_http_stop - stop it. */
void *web_http_start(struct web *w, int fd);
void web_http_stop(void *daemon);

#endif
