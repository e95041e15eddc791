/*
 * conf_check.c - checks of configuration values beyond the key table,
 * and the parsers of those values (see conf_check.h).
 *
 * The key table (conf.c) checks each value on its own: type, range,
 * enumeration. What it cannot say lives here: a network's syntax, the
 * split reply's form, a retrain alias pattern's '@', edgespam-web's
 * listening address, proxies and header (conf_web.c), and that the
 * policy and engine settings are ones the classifier knows. conf_load()
 * runs conf_validate() after the parse, for every program, so nothing
 * is checked only by one of them: the milter's runtime parses the same
 * values again with these functions and never finds them bad.
 *
 * Messages name the file, the line of the key (or "(default)") and the
 * key, as the parser's own do. No logging; thread-safe, except
 * conf_check_accounts(), which asks the system's user and group
 * databases (getpwnam_r, getgrnam_r).
 */
#include "conf_check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cls_engine.h"
#include "cls_policy.h"
#include "conf.h"
#include "conf_web.h"
#include "es_err.h"

int
conf_net_parse(const char *s, struct conf_net *net)
{
	char buf[64], *slash, *end;
	unsigned max;
	long bits;

	memset(net, 0, sizeof(*net));
	if (strlen(s) >= sizeof(buf))
		return ES_EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else {
		return ES_EINVAL;
	}
	net->bits = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)*slash))
			return ES_EINVAL;
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || bits < 0 || bits > (long)max)
			return ES_EINVAL;
		net->bits = (unsigned)bits;
	}
	return 0;
}

int
conf_split_reply_parse(const char *s, struct conf_split_reply *r)
{
	const char *p = s, *x;
	size_t xl;

	memset(r, 0, sizeof(*r));
	if (!(p[0] == '4' && isdigit((unsigned char)p[1]) &&
		isdigit((unsigned char)p[2]) && p[3] == ' '))
		return ES_EINVAL;
	memcpy(r->rcode, p, 3);
	p += 4;
	x = p;
	while (*p != '\0' && *p != ' ')
		p++;
	xl = (size_t)(p - x);
	if (xl < 5 || xl >= sizeof(r->xcode) || x[0] != '4' || x[1] != '.')
		return ES_EINVAL;
	memcpy(r->xcode, x, xl);
	while (*p == ' ')
		p++;
	if (*p == '\0' || strlen(p) >= sizeof(r->text) ||
	    strchr(p, '%') != NULL)
		return ES_EINVAL;
	memcpy(r->text, p, strlen(p) + 1);
	return 0;
}

bool
conf_alias_pattern_ok(const char *pattern)
{
	return strchr(pattern, '@') != NULL;
}

/* report - one problem of key: "path:line: key: ..." where the file
 * sets it, "path: key (default): ..." where it does not. */
static void
report(const struct conf *cf, const char *path, struct conf_diag *diag,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
report(const struct conf *cf, const char *path, struct conf_diag *diag,
    const char *key, const char *fmt, ...)
{
	unsigned line = conf_key_line(cf, key);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line != 0)
		conf_diag_add(diag, "%s:%u: %s: %s", path, line, key, msg);
	else
		conf_diag_add(diag, "%s: %s (default): %s", path, key, msg);
}

/* check_engine - the engine's names and settings; 1 when bad. */
static int
check_engine(const struct conf *cf, const char *path, struct conf_diag *diag)
{
	struct cls_engine_cfg ecfg;
	enum cls_tokenizer kind;
	enum cls_algo algo;
	enum cls_mode mode;
	enum cls_policy pol;
	int bad = 0;

	if (cls_policy_parse(conf_str(cf, "default_policy"), &pol) != 0) {
		report(cf, path, diag, "default_policy",
		    "'%s' is not one of: off opt-in opt-out on",
		    conf_str(cf, "default_policy"));
		bad = 1;
	}
	if (cls_tokenizer_parse(conf_str(cf, "tokenizer"), &kind) != 0) {
		report(cf, path, diag, "tokenizer", "'%s' is no tokenizer",
		    conf_str(cf, "tokenizer"));
		bad = 1;
	}
	if (cls_algo_parse(conf_str(cf, "algorithm"), &algo) != 0) {
		report(cf, path, diag, "algorithm",
		    "'%s' is no algorithm (graham, burton, robinson, "
		    "chi-square, hybrid, or DSPAM's graham burton)",
		    conf_str(cf, "algorithm"));
		bad = 1;
	}
	if (cls_mode_parse(conf_str(cf, "training_mode"), &mode) != 0) {
		report(cf, path, diag, "training_mode",
		    "'%s' is no training mode", conf_str(cf, "training_mode"));
		bad = 1;
	}
	if (!bad && conf_engine_cfg(cf, &ecfg) != 0) {
		conf_diag_add(diag, "%s: the engine settings are unusable",
		    path);
		bad = 1;
	}
	return bad;
}

/* check_web - edgespam-web's keys (conf_web.h); 1 if any is bad. */
static int
check_web(const struct conf *cf, const char *path, struct conf_diag *diag)
{
	struct conf_web_listen wl;
	const char *const *l;
	char err[256];
	int bad = 0;

	if (conf_web_listen_parse(conf_str(cf, "web_listen"), &wl, err,
		sizeof(err)) != 0) {
		report(cf, path, diag, "web_listen", "%s", err);
		bad = 1;
	}
	for (l = conf_list(cf, "web_proxy"); *l != NULL; l++)
		if (!conf_web_proxy_ok(*l)) {
			report(cf, path, diag, "web_proxy", "\"%s\" is not an "
			    "IP address (names are not looked up)", *l);
			bad = 1;
		}
	if (!conf_web_header_ok(conf_str(cf, "web_user_header"))) {
		report(cf, path, diag, "web_user_header", "\"%s\" is not a "
		    "header name", conf_str(cf, "web_user_header"));
		bad = 1;
	}
	return bad;
}

/* folder_ok - a Maildir++ folder name: '.', then 1..200 printable bytes
 * without '/' (a name is a directory beside cur/). */
static bool
folder_ok(const char *s, size_t n)
{
	size_t i;

	if (n < 2 || n > 200 || s[0] != '.' || (n == 2 && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '/')
			return false;
	return true;
}

/* check_maildir - the maildir-retrain settings: folder names, and a
 * path pattern that is absolute with only %u, %d, %U and %%. */
static int
check_maildir(const struct conf *cf, const char *path,
    struct conf_diag *diag)
{
	const char *s = conf_str(cf, "maildir_spam_folder"), *p;
	size_t w;
	int bad = 0;

	if (!folder_ok(s, strlen(s))) {
		report(cf, path, diag, "maildir_spam_folder", "\"%s\" is not a "
		    "Maildir++ folder name (e.g. .Spam)", s);
		bad = 1;
	}
	for (p = conf_str(cf, "maildir_trash_folders"); *p != '\0'; p += w) {
		if (*p == '/') {
			w = 1;
			continue;
		}
		w = strcspn(p, "/");
		if (!folder_ok(p, w)) {
			report(cf, path, diag, "maildir_trash_folders", "\"%.*s\" "
			    "is not a Maildir++ folder name (names are separated "
			    "by /, e.g. .Trash/.Deleted Items)", (int)w, p);
			bad = 1;
		}
	}
	s = conf_str(cf, "maildir_path");
	for (p = s; *p != '\0'; p++)
		if (*p == '%' && (p[1] == '\0' || !strchr("udU%", p[1])))
			break;
		else if (*p == '%')
			p++;
	if (*s != '\0' && (*s != '/' || *p != '\0')) {
		report(cf, path, diag, "maildir_path", "\"%s\" is not an "
		    "absolute path with only %%u, %%d, %%U and %%%%", s);
		bad = 1;
	}
	return bad;
}

int
conf_validate(const struct conf *cf, const char *path,
    struct conf_diag *diag)
{
	struct conf_split_reply sr;
	struct conf_net net;
	const char *const *l;
	const char *s;
	int bad;
	size_t i;

	bad = check_engine(cf, path, diag);
	s = conf_str(cf, "split_reply");
	if (conf_split_reply_parse(s, &sr) != 0) {
		report(cf, path, diag, "split_reply",
		    "\"%s\" is not \"4xx 4.x.y text\" (a temporary reply, no "
		    "'%%')", s);
		bad = 1;
	}
	l = conf_list(cf, "retrain_aliases");
	for (i = 0; l[i] != NULL; i++)
		if (!conf_alias_pattern_ok(l[i])) {
			report(cf, path, diag, "retrain_aliases",
			    "\"%s\" has no '@' (a pattern is local@domain, "
			    "e.g. *-spam@*)", l[i]);
			bad = 1;
		}
	l = conf_list(cf, "trusted_networks");
	for (i = 0; l[i] != NULL; i++)
		if (conf_net_parse(l[i], &net) != 0) {
			report(cf, path, diag, "trusted_networks",
			    "\"%s\" is not an address or address/prefix", l[i]);
			bad = 1;
		}
	/* LOGIN or LOGIN:PATTERN, neither part empty */
	l = conf_list(cf, "retrain_peers");
	for (i = 0; l[i] != NULL; i++) {
		const char *colon = strchr(l[i], ':');

		if (l[i][0] == ':' || (colon != NULL && colon[1] == '\0')) {
			report(cf, path, diag, "retrain_peers",
			    "\"%s\" is not LOGIN or LOGIN:PATTERN (e.g. nobody, "
			    "vmail:*@example.org)", l[i]);
			bad = 1;
		}
	}
	if (*conf_str(cf, "retrain_socket") != '\0' &&
	    *conf_str(cf, "retrain_socket") != '/') {
		report(cf, path, diag, "retrain_socket",
		    "\"%s\" is not an absolute path", conf_str(cf,
			"retrain_socket"));
		bad = 1;
	}
	bad |= check_web(cf, path, diag);
	bad |= check_maildir(cf, path, diag);
	return bad ? ES_EINVAL : 0;
}

/* user_exists, group_exists - whether the system knows the name. */
static bool
user_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	return getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL;
}

static bool
group_exists(const char *name)
{
	struct group gr, *res = NULL;
	char buf[8192];

	return getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 &&
	    res != NULL;
}

int
conf_check_accounts(const struct conf *cf, const char *path,
    struct conf_diag *diag)
{
	const char *user = conf_str(cf, "user"), *group, *colon;
	char name[256];
	int bad = 0;

	if (*user == '\0')
		return 0;
	colon = strchr(user, ':');
	snprintf(name, sizeof(name), "%.*s",
	    colon != NULL ? (int)(colon - user) : (int)strlen(user), user);
	if (strlen(name) != (colon != NULL ? (size_t)(colon - user)
	                                   : strlen(user)) ||
	    !user_exists(name)) {
		report(cf, path, diag, "user", "no such user \"%s\"", name);
		bad = 1;
	}
	if (colon != NULL && colon[1] != '\0' && !group_exists(colon + 1)) {
		report(cf, path, diag, "user", "no such group \"%s\"",
		    colon + 1);
		bad = 1;
	}
	group = conf_str(cf, "group");
	if (*group != '\0' && !group_exists(group)) {
		report(cf, path, diag, "group", "no such group \"%s\"", group);
		bad = 1;
	}
	return bad ? ES_EINVAL : 0;
}
