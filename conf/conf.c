/*
 * conf.c - the table-driven configuration parser (see conf.h).
 *
 * keys[] is the whole configuration: name, type, default, range or
 * words. Parsing, defaults, validation and conf_dump() all walk it, and
 * tests/unit/test_conf.c checks conf/edgespam.conf against it, so a key
 * exists in exactly one place. What the table cannot check (networks,
 * the split reply, alias patterns, names the classifier must know) is
 * checked by conf_validate() in conf_check.c, which conf_load() runs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "conf_check.h"
#include "es_alloc.h"
#include "es_err.h"
#include "store.h"

enum ktype { K_STR, K_INT, K_DBL, K_BOOL, K_ENUM, K_LIST };

struct key {
	const char *name;
	enum ktype type;
	const char *def;
	double min, max;     /* K_INT, K_DBL */
	const char *words;   /* K_ENUM: space-separated */
};

/* The keys, in the order of the sample file and of conf_dump(). */
static const struct key keys[] = {
    {"store_driver", K_ENUM, "sqlite", 0, 0, "sqlite memory mysql"},
    {"store_path", K_STR, "/var/lib/edgespam/edgespam.db", 0, 0, NULL},
    {"store_busy_timeout_ms", K_INT, "2000", 0, 600000, NULL},
    {"store_pool_size", K_INT, "4", 1, 256, NULL},
    {"mysql_host", K_STR, "localhost", 0, 0, NULL},
    {"mysql_port", K_INT, "3306", 0, 65535, NULL},
    {"mysql_socket", K_STR, "", 0, 0, NULL},
    {"mysql_database", K_STR, "dspam", 0, 0, NULL},
    {"mysql_user", K_STR, "edgespam", 0, 0, NULL},
    {"mysql_password_file", K_STR, "/etc/edgespam/mysql.password", 0, 0,
        NULL},
    {"mysql_tls", K_BOOL, "no", 0, 0, NULL},
    {"mysql_tls_ca", K_STR, "", 0, 0, NULL},
    {"mysql_purge_lock_s", K_INT, "300", 5, 86400, NULL},
    {"tokenizer", K_ENUM, "edgespam", 0, 0, "word chain osb edgespam"},
    /* a K_STR checked by conf_validate() (cls_algo_parse), so that
     * DSPAM's "graham burton" is taken as DSPAM means it */
    {"algorithm", K_STR, "hybrid", 0, 0, NULL},
    {"bnr", K_BOOL, "no", 0, 0, NULL},
    {"spam_threshold", K_DBL, "0.977", 0, 1, NULL},
    {"threshold_ramp", K_INT, "25", 0, 1000000, NULL},
    {"min_training", K_INT, "10", 0, 1000000, NULL},
    {"whitelist_threshold", K_INT, "10", 0, 1000000, NULL},
    {"training_mode", K_ENUM, "teft", 0, 0, "teft toe tum notrain"},
    {"factors", K_INT, "0", 0, 100, NULL},
    {"shared_dictionary", K_STR, "@global", 0, 0, NULL},
    {"shared_innocent_min", K_INT, "1000", 1, 1000000000, NULL},
    {"shared_spam_min", K_INT, "250", 1, 1000000000, NULL},
    {"shared_spam_threshold", K_DBL, "0.85", 0, 1, NULL},
    {"shared_fp_weight", K_DBL, "0.5", 0, 100, NULL},
    {"shared_learn_corrections", K_BOOL, "no", 0, 0, NULL},
    {"max_scan_bytes", K_INT, "524288", 1024, 268435456, NULL},
    {"max_headers", K_INT, "1000", 1, 100000, NULL},
    {"max_header_line", K_INT, "16384", 256, 1048576, NULL},
    {"max_mime_depth", K_INT, "16", 1, 64, NULL},
    {"max_mime_parts", K_INT, "1000", 1, 100000, NULL},
    {"max_tokens", K_INT, "20000", 100, 1000000, NULL},
    {"signature_location", K_ENUM, "headers", 0, 0, "headers message both"},
    {"retrain_without_signature", K_BOOL, "yes", 0, 0, NULL},
    {"trusted_users", K_LIST, "root mail postfix edgespam", 0, 0, NULL},
    {"recipient_delimiter", K_STR, "+", 0, 0, NULL},
    {"maildir_path", K_STR, "", 0, 0, NULL},
    {"maildir_spam_folder", K_STR, ".Spam", 0, 0, NULL},
    {"maildir_trash_folders", K_STR, ".Trash/.Deleted Items", 0, 0, NULL},
    {"maildir_train_unsigned", K_BOOL, "yes", 0, 0, NULL},
    {"purge_signature_days", K_INT, "14", 0, 36500, NULL},
    {"purge_unused_days", K_INT, "90", 0, 36500, NULL},
    {"purge_rare_days", K_INT, "30", 0, 36500, NULL},
    {"purge_single_days", K_INT, "15", 0, 36500, NULL},
    {"purge_source_days", K_INT, "90", 0, 36500, NULL},
    {"purge_history_days", K_INT, "14", 0, 36500, NULL},
    {"purge_daily_days", K_INT, "400", 0, 36500, NULL},
    {"purge_batch", K_INT, "1000", 1, 1000000, NULL},
    {"purge_pause_ms", K_INT, "10", 0, 60000, NULL},
    {"purge_pace", K_INT, "20", 0, 1000, NULL},
    {"purge_latency_slack", K_INT, "20", 0, 1000, NULL},
    {"log_facility", K_ENUM, "mail", 0, 0,
        "mail daemon user local0 local1 local2 local3 local4 local5 "
        "local6 local7"},
    {"log_level", K_ENUM, "info", 0, 0, "err warning notice info debug"},
    {"milter_socket", K_STR, "unix:/var/spool/postfix/edgespam/milter.sock",
        0, 0, NULL},
    {"milter_socket_owner", K_STR, "", 0, 0, NULL},
    {"milter_socket_mode", K_INT, "0660", 0, 0777, NULL},
    {"milter_timeout_s", K_INT, "600", 1, 86400, NULL},
    {"user", K_STR, "edgespam", 0, 0, NULL},
    {"group", K_STR, "", 0, 0, NULL},
    {"pid_file", K_STR, "/run/edgespam/edgespam-milter.pid", 0, 0, NULL},
    {"on_error", K_ENUM, "accept", 0, 0, "accept tempfail"},
    {"message_timeout_ms", K_INT, "10000", 100, 600000, NULL},
    {"default_policy", K_ENUM, "opt-in", 0, 0, "off opt-in opt-out on"},
    {"recipient_grouping", K_ENUM, "split", 0, 0, "split first"},
    {"split_reply", K_STR, "452 4.5.3 Too many recipients", 0, 0, NULL},
    {"retrain_aliases", K_LIST, "*-spam@* *-fp@* *-allow@* *-block@*", 0, 0,
	NULL},
    {"trusted_networks", K_LIST, "", 0, 0, NULL},
    {"bad_recipient_action", K_ENUM, "reject", 0, 0, "reject tempfail"},
    {"retrain_socket", K_STR, "/run/edgespam/retrain.sock", 0, 0, NULL},
    {"retrain_peers", K_LIST, "nobody", 0, 0, NULL},
    {"store_down_log_interval_s", K_INT, "60", 1, 3600, NULL},
    {"source_tracking", K_BOOL, "yes", 0, 0, NULL},
    {"history", K_BOOL, "yes", 0, 0, NULL},
    {"greylist_spam_streak", K_INT, "0", 0, 1000000, NULL},
    {"greylist_window_s", K_INT, "3600", 1, 2592000, NULL},
    {"web_listen", K_STR, "127.0.0.1:8301", 0, 0, NULL},
    {"web_socket_mode", K_INT, "0660", 0, 0777, NULL},
    {"web_proxy", K_LIST, "127.0.0.1 ::1", 0, 0, NULL},
    {"web_user_header", K_STR, "X-Remote-User", 0, 0, NULL},
    {"web_admins", K_LIST, "", 0, 0, NULL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define MAX_LINE 4096
/* A longer password file is a wrong file, not a password. */
#define PASSWORD_MAX 1024

struct val {
	char *text;     /* the value as given (or the default) */
	long long i;
	double d;
	bool b;
	char **list;    /* K_LIST: NULL-terminated */
	unsigned line;  /* where it was set; 0 = default */
};

struct conf {
	struct val v[NKEYS];
	char *password; /* mysql_password_file's secret (mysql only) */
	char *password_why; /* why it could not be read (file:line: ...) */
};

void
conf_diag_add(struct conf_diag *d, const char *fmt, ...)
{
	char buf[MAX_LINE + 256], **n;
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((n = es_reallocarray(d->msgs, d->n + 1, sizeof(*n))) == NULL)
		return;
	d->msgs = n;
	if ((d->msgs[d->n] = es_strdup(buf)) != NULL)
		d->n++;
}

void
conf_diag_free(struct conf_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		es_free(d->msgs[i]);
	es_free(d->msgs);
	d->msgs = NULL;
	d->n = 0;
}

static void
free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		es_free(l[i]);
	es_free(l);
}

/* split_list - words separated by commas and/or white space. */
static int
split_list(const char *s, char ***out)
{
	char **l = NULL, **nl;
	size_t n = 0;

	*out = NULL;
	for (;;) {
		size_t w;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		w = strcspn(s, ", \t");
		if ((nl = es_reallocarray(l, n + 2, sizeof(*l))) == NULL ||
		    (nl[n] = es_strndup(s, w)) == NULL) {
			if (nl != NULL)
				l = nl;
			if (l != NULL)
				l[n] = NULL;
			free_list(l);
			return ES_ENOMEM;
		}
		l = nl;
		l[++n] = NULL;
		s += w;
	}
	if (l == NULL && (l = es_calloc(1, sizeof(*l))) == NULL)
		return ES_ENOMEM;
	*out = l;
	return 0;
}

/* word_in - whether w is one of the space-separated words. */
static bool
word_in(const char *words, const char *w)
{
	size_t n = strlen(w);

	while (*words != '\0') {
		size_t k = strcspn(words, " ");

		if (k == n && strncmp(words, w, n) == 0)
			return true;
		words += k;
		while (*words == ' ')
			words++;
	}
	return false;
}

/*
 * set_value - check text against key k and store it in v. Returns 0,
 * ES_EINVAL (why in msg) or ES_ENOMEM.
 */
/* shared_name_ok - the shared dictionary's name: empty (none), or '@'
 * and lowercase letters, digits, '.', '_', '-'. A leading '@' is what no
 * recipient address normalises to, so the milter never classifies for it
 * and no mail can reach it. */
static bool
shared_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return true;
	if (s[0] != '@' || n < 2 || n > 128)
		return false;
	return strspn(s + 1, "abcdefghijklmnopqrstuvwxyz0123456789._-") ==
	    n - 1;
}

static int
set_value(const struct key *k, struct val *v, const char *text, char *msg,
    size_t msglen)
{
	char *end, *copy;
	char **list = NULL;

	switch (k->type) {
	case K_INT: {
		long long x;

		errno = 0;
		/* a leading 0 reads as octal: file modes */
		x = strtoll(text, &end, text[0] == '0' && text[1] != '\0' ? 8 : 10);
		if (errno != 0 || end == text || *end != '\0') {
			snprintf(msg, msglen, "%s: '%s' is not a whole number",
			    k->name, text);
			return ES_EINVAL;
		}
		if (x < (long long)k->min || x > (long long)k->max) {
			snprintf(msg, msglen, "%s: %s is out of range %.0f..%.0f",
			    k->name, text, k->min, k->max);
			return ES_EINVAL;
		}
		v->i = x;
		break;
	}
	case K_DBL: {
		double x;

		errno = 0;
		x = strtod(text, &end);
		if (errno != 0 || end == text || *end != '\0') {
			snprintf(msg, msglen, "%s: '%s' is not a number",
			    k->name, text);
			return ES_EINVAL;
		}
		if (!(x >= k->min && x <= k->max)) {
			snprintf(msg, msglen, "%s: %s is out of range %g..%g",
			    k->name, text, k->min, k->max);
			return ES_EINVAL;
		}
		v->d = x;
		break;
	}
	case K_BOOL:
		if (strcmp(text, "yes") == 0 || strcmp(text, "true") == 0 ||
		    strcmp(text, "on") == 0 || strcmp(text, "1") == 0)
			v->b = true;
		else if (strcmp(text, "no") == 0 || strcmp(text, "false") == 0 ||
		    strcmp(text, "off") == 0 || strcmp(text, "0") == 0)
			v->b = false;
		else {
			snprintf(msg, msglen, "%s: '%s' is not yes or no",
			    k->name, text);
			return ES_EINVAL;
		}
		break;
	case K_ENUM:
		if (!word_in(k->words, text)) {
			snprintf(msg, msglen, "%s: '%s' is not one of: %s",
			    k->name, text, k->words);
			return ES_EINVAL;
		}
		break;
	case K_LIST:
		if (split_list(text, &list) != 0)
			return ES_ENOMEM;
		break;
	case K_STR:
		if (strcmp(k->name, "shared_dictionary") == 0 &&
		    !shared_name_ok(text)) {
			snprintf(msg, msglen, "%s: '%s' is not '@' followed by "
			    "1 to 127 of a-z 0-9 . _ - (or empty)", k->name, text);
			return ES_EINVAL;
		}
		break;
	}
	if ((copy = es_strdup(text)) == NULL) {
		free_list(list);
		return ES_ENOMEM;
	}
	es_free(v->text);
	v->text = copy;
	if (k->type == K_LIST) {
		free_list(v->list);
		v->list = list;
	}
	return 0;
}

static const struct key *
find_key(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

int
conf_defaults(struct conf **out)
{
	struct conf *cf = es_calloc(1, sizeof(*cf));
	char msg[256];
	size_t i;

	*out = NULL;
	if (cf == NULL)
		return ES_ENOMEM;
	for (i = 0; i < NKEYS; i++) {
		if (set_value(&keys[i], &cf->v[i], keys[i].def, msg,
		        sizeof(msg)) != 0) {
			conf_free(cf);
			return ES_ENOMEM; /* the table's defaults are valid */
		}
	}
	*out = cf;
	return 0;
}

void
conf_free(struct conf *cf)
{
	size_t i;

	if (cf == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		es_free(cf->v[i].text);
		free_list(cf->v[i].list);
	}
	es_free(cf->password_why);
	if (cf->password != NULL) {
		explicit_bzero(cf->password, strlen(cf->password));
		es_free(cf->password);
	}
	es_free(cf);
}

/* trim - cut white space at both ends, in place. */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* unquote - a "quoted value" with \" and \\ escapes, in place; NULL when
 * the quote is not closed or text follows it. */
static char *
unquote(char *s)
{
	char *r = s + 1, *w = s;

	for (; *r != '\0' && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"' || *trim(r + 1) != '\0')
		return NULL;
	*w = '\0';
	return s;
}

/* parse_line - one line of the file; errors go to diag. */
static int
parse_line(struct conf *cf, const char *path, unsigned ln, char *line,
    struct conf_diag *diag)
{
	char *s = trim(line), *eq, *name, *value, msg[MAX_LINE + 128];
	const struct key *k;
	size_t idx;
	int rc;

	if (*s == '\0' || *s == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL) {
		conf_diag_add(diag, "%s:%u: missing '=' in '%.80s'", path, ln,
		    s);
		return ES_EINVAL;
	}
	*eq = '\0';
	name = trim(s);
	value = trim(eq + 1);
	if (*value == '"' && (value = unquote(value)) == NULL) {
		conf_diag_add(diag, "%s:%u: %s: unterminated quoted value", path,
		    ln, name);
		return ES_EINVAL;
	}
	if ((k = find_key(name, &idx)) == NULL) {
		conf_diag_add(diag, "%s:%u: unknown key '%.80s'", path, ln,
		    name);
		return ES_EINVAL;
	}
	if (cf->v[idx].line != 0) {
		conf_diag_add(diag,
		    "%s:%u: key '%s' given twice (first on line %u)", path, ln,
		    name, cf->v[idx].line);
		return ES_EINVAL;
	}
	rc = set_value(k, &cf->v[idx], value, msg, sizeof(msg));
	if (rc == ES_EINVAL)
		conf_diag_add(diag, "%s:%u: %s", path, ln, msg);
	if (rc == 0)
		cf->v[idx].line = ln;
	return rc;
}

/* pw_check - why the open password file fd may not be used, or NULL. */
static const char *
pw_check(int fd, char *why, size_t len)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		return why;
	}
	if (!S_ISREG(sb.st_mode))
		return "not a regular file";
	/* the layout: owner root, group the milter's, mode 0640, so that
	 * root (the CLI, the milter at start) and the milter's user after
	 * the drop (a reload) read it, nobody else; or the running user's
	 * own, 0600 */
	if ((sb.st_mode & 027) != 0 || ((sb.st_mode & 040) && sb.st_uid != 0)) {
		snprintf(why, len, "mode %04o lets others read or change it: "
		    "make it 0600, or root-owned 0640 with the milter's group",
		    (unsigned)(sb.st_mode & 07777));
		return why;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		snprintf(why, len, "owned by uid %u, neither the running user "
		    "(uid %u) nor root", (unsigned)sb.st_uid,
		    (unsigned)geteuid());
		return why;
	}
	return NULL;
}

/*
 * read_password - the one-line secret of file into *out (caller frees),
 * or NULL with the reason in why. The secret never reaches a message.
 */
static int
read_password(const char *file, char **out, char *why, size_t len)
{
	char buf[PASSWORD_MAX + 2];
	const char *bad;
	ssize_t n;
	int fd;

	*out = NULL;
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) <
	    0) {
		snprintf(why, len, "%s", strerror(errno));
		return ES_EIO;
	}
	if ((bad = pw_check(fd, why, len)) != NULL) {
		if (bad != why)
			snprintf(why, len, "%s", bad);
		close(fd);
		return ES_EPERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return ES_EIO;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n > PASSWORD_MAX || n == 0 || strlen(buf) != (size_t)n ||
	    strchr(buf, '\n') != NULL) {
		snprintf(why, len, "%s", n == 0 ? "empty" :
		    "not one line of at most 1024 bytes");
		explicit_bzero(buf, sizeof(buf));
		return ES_EINVAL;
	}
	*out = es_strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out == NULL ? ES_ENOMEM : 0;
}

/*
 * load_password - for the mysql driver, the secret of
 * mysql_password_file ("" means none). A file that cannot be read is not
 * an error of the configuration: the reason (naming the file and the
 * line) waits in cf->password_why until a store is opened, so that a
 * caller that needs no store (an alias pipe handing its correction to
 * the milter) runs without the secret; conf_check_password() reports it
 * for the programs that need it.
 */
static int
load_password(struct conf *cf, const char *path, struct conf_diag *diag)
{
	size_t i = 0;
	const char *file;
	char why[256], msg[1024];
	int rc;

	if (strcmp(conf_str(cf, "store_driver"), "mysql") != 0)
		return 0;
	file = conf_str(cf, "mysql_password_file");
	if (*file == '\0')
		return 0;
	rc = read_password(file, &cf->password, why, sizeof(why));
	if (rc == 0 || rc == ES_ENOMEM)
		return rc;
	(void)diag;
	find_key("mysql_password_file", &i);
	if (cf->v[i].line != 0)
		snprintf(msg, sizeof(msg), "%s:%u: mysql_password_file: %s: %s",
		    path, cf->v[i].line, file, why);
	else
		snprintf(msg, sizeof(msg),
		    "%s: mysql_password_file (default): %s: %s", path, file, why);
	return (cf->password_why = es_strdup(msg)) == NULL ? ES_ENOMEM : 0;
}

int
conf_check_password(const struct conf *cf, struct conf_diag *diag)
{
	if (cf->password_why == NULL)
		return 0;
	conf_diag_add(diag, "%s", cf->password_why);
	return ES_EINVAL;
}

int
conf_load(const char *path, struct conf **out, struct conf_diag *diag)
{
	char line[MAX_LINE + 2];
	struct conf *cf;
	unsigned ln = 0;
	bool bad = false;
	FILE *fp;
	int rc;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		conf_diag_add(diag, "%s: %s", path, strerror(errno));
		return ES_EIO;
	}
	if ((rc = conf_defaults(&cf)) != 0) {
		fclose(fp);
		return rc;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		size_t n = strlen(line);

		ln++;
		if (n > 0 && line[n - 1] != '\n' && !feof(fp)) {
			int c;

			conf_diag_add(diag, "%s:%u: line longer than %d bytes", path,
			    ln, MAX_LINE);
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			bad = true;
			continue;
		}
		rc = parse_line(cf, path, ln, line, diag);
		if (rc == ES_ENOMEM) {
			fclose(fp);
			conf_free(cf);
			return rc;
		}
		bad |= rc != 0;
	}
	if (ferror(fp)) {
		conf_diag_add(diag, "%s: read error", path);
		bad = true;
	}
	fclose(fp);
	/* the checks beyond the table, also after errors: every problem
	 * of the file at once (a key that failed keeps its valid default) */
	if (conf_validate(cf, path, diag) != 0)
		bad = true;
	if (!bad && (rc = load_password(cf, path, diag)) != 0) {
		conf_free(cf);
		return rc;
	}
	if (bad) {
		conf_free(cf);
		return ES_EINVAL;
	}
	*out = cf;
	return 0;
}

void
conf_dump(const struct conf *cf, FILE *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const char *t = cf->v[i].text;

		if (*t == '\0' || strpbrk(t, "#\"\\") != NULL ||
		    t[0] == ' ' || t[strlen(t) - 1] == ' ') {
			fprintf(fp, "%s = \"", keys[i].name);
			for (; *t != '\0'; t++) {
				if (*t == '"' || *t == '\\')
					fputc('\\', fp);
				fputc(*t, fp);
			}
			fputs("\"\n", fp);
		} else {
			fprintf(fp, "%s = %s\n", keys[i].name, t);
		}
	}
}

/* lookup - the value of a key of the given type; a wrong name or type is
 * a programming error. */
static const struct val *
lookup(const struct conf *cf, const char *name, enum ktype type)
{
	size_t i;
	const struct key *k = find_key(name, &i);

	if (k == NULL || (k->type != type &&
	    !(type == K_STR && (k->type == K_ENUM || k->type == K_LIST)))) {
		fprintf(stderr, "conf: no key %s of that type\n", name);
		abort();
	}
	return &cf->v[i];
}

const char *
conf_str(const struct conf *cf, const char *key)
{
	return lookup(cf, key, K_STR)->text;
}

long long
conf_int(const struct conf *cf, const char *key)
{
	return lookup(cf, key, K_INT)->i;
}

double
conf_double(const struct conf *cf, const char *key)
{
	return lookup(cf, key, K_DBL)->d;
}

bool
conf_bool(const struct conf *cf, const char *key)
{
	return lookup(cf, key, K_BOOL)->b;
}

const char *const *
conf_list(const struct conf *cf, const char *key)
{
	return (const char *const *)lookup(cf, key, K_LIST)->list;
}

/* key_index - the table index of key; an unknown key is a programming
 * error. */
static size_t
key_index(const char *key)
{
	size_t i;

	if (find_key(key, &i) == NULL) {
		fprintf(stderr, "conf: no key %s\n", key);
		abort();
	}
	return i;
}

const char *
conf_text(const struct conf *cf, const char *key)
{
	return cf->v[key_index(key)].text;
}

unsigned
conf_key_line(const struct conf *cf, const char *key)
{
	return cf->v[key_index(key)].line;
}

/* conf_key_count, conf_key_name, conf_key_default, conf_key_range - the
 * table, for the tests that check the sample file and the ranges. */
size_t
conf_key_count(void)
{
	return NKEYS;
}

const char *
conf_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

const char *
conf_key_default(size_t i)
{
	return i < NKEYS ? keys[i].def : NULL;
}

bool
conf_key_range(size_t i, double *min, double *max, bool *whole)
{
	if (i >= NKEYS || (keys[i].type != K_INT && keys[i].type != K_DBL))
		return false;
	*min = keys[i].min;
	*max = keys[i].max;
	*whole = keys[i].type == K_INT;
	return true;
}

const char *
conf_recipient_delimiter(const struct conf *cf)
{
	return conf_str(cf, "recipient_delimiter");
}

const char *const *
conf_trusted_users(const struct conf *cf)
{
	return conf_list(cf, "trusted_users");
}

void
conf_store_params(const struct conf *cf, struct store_params *p)
{
	memset(p, 0, sizeof(*p));
	p->driver = conf_str(cf, "store_driver");
	p->path = conf_str(cf, "store_path");
	p->busy_timeout_ms = (unsigned)conf_int(cf, "store_busy_timeout_ms");
	p->mysql_host = conf_str(cf, "mysql_host");
	p->mysql_port = (unsigned)conf_int(cf, "mysql_port");
	p->mysql_socket = conf_str(cf, "mysql_socket");
	p->mysql_database = conf_str(cf, "mysql_database");
	p->mysql_user = conf_str(cf, "mysql_user");
	p->mysql_password = cf->password;
	p->mysql_password_error = cf->password_why;
	p->mysql_tls = conf_bool(cf, "mysql_tls");
	p->mysql_tls_ca = conf_str(cf, "mysql_tls_ca");
	p->mysql_purge_lock_s = (unsigned)conf_int(cf, "mysql_purge_lock_s");
}

const char *
conf_signature_location_name(const struct conf *cf)
{
	return conf_str(cf, "signature_location");
}

bool
conf_retrain_without_signature(const struct conf *cf)
{
	return conf_bool(cf, "retrain_without_signature");
}

void
conf_purge_rules(const struct conf *cf, struct store_purge_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->sig_days = (unsigned)conf_int(cf, "purge_signature_days");
	r->unused_days = (unsigned)conf_int(cf, "purge_unused_days");
	r->rare_days = (unsigned)conf_int(cf, "purge_rare_days");
	r->single_days = (unsigned)conf_int(cf, "purge_single_days");
	r->source_days = (unsigned)conf_int(cf, "purge_source_days");
	r->history_days = (unsigned)conf_int(cf, "purge_history_days");
	r->daily_days = (unsigned)conf_int(cf, "purge_daily_days");
	r->batch = (size_t)conf_int(cf, "purge_batch");
	r->pause_ms = (unsigned)conf_int(cf, "purge_pause_ms");
	r->pace = (unsigned)conf_int(cf, "purge_pace");
	r->slack_pct = (unsigned)conf_int(cf, "purge_latency_slack");
}

int
conf_log_facility(const struct conf *cf)
{
	static const struct {
		const char *n;
		int f;
	} fac[] = {{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON},
	    {"user", LOG_USER}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
	    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
	const char *s = conf_str(cf, "log_facility");
	size_t i;

	for (i = 0; i < sizeof(fac) / sizeof(fac[0]); i++)
		if (strcmp(s, fac[i].n) == 0)
			return fac[i].f;
	return LOG_MAIL;
}

int
conf_log_level(const struct conf *cf)
{
	static const char *const lv[] = {"err", "warning", "notice", "info",
	    "debug"};
	static const int v[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
	    LOG_DEBUG};
	const char *s = conf_str(cf, "log_level");
	size_t i;

	for (i = 0; i < 5; i++)
		if (strcmp(s, lv[i]) == 0)
			return v[i];
	return LOG_INFO;
}

/* entry_allows - whether the retrain_peers entry lets login act for
 * user. */
static bool
entry_allows(const char *entry, const char *login, const char *user)
{
	const char *colon = strchr(entry, ':');
	size_t ll = colon ? (size_t)(colon - entry) : strlen(entry);
	char pat[512];
	size_t o = 0;

	if (!(ll == 1 && entry[0] == '*') &&
	    !(ll == strlen(login) && strncmp(entry, login, ll) == 0))
		return false;
	if (colon == NULL)
		return true;
	/* "%l" in the pattern is the login name */
	for (const char *p = colon + 1; *p != '\0' && o + 1 < sizeof(pat); p++) {
		if (p[0] == '%' && p[1] == 'l') {
			size_t n = strlen(login);

			if (o + n + 1 >= sizeof(pat))
				return false;
			memcpy(pat + o, login, n);
			o += n;
			p++;
			continue;
		}
		pat[o++] = *p;
	}
	pat[o] = '\0';
	return fnmatch(pat, user, 0) == 0;
}

bool
conf_retrain_allowed(const struct conf *cf, uid_t uid, const char *login,
    const char *user)
{
	const char *const *l;

	if (uid == 0)
		return true;
	if (login == NULL)
		return false;
	if (strcmp(login, user) == 0)
		return true;
	for (l = conf_trusted_users(cf); l != NULL && *l != NULL; l++)
		if (strcmp(*l, login) == 0)
			return true;
	for (l = conf_list(cf, "retrain_peers"); l != NULL && *l != NULL; l++)
		if (entry_allows(*l, login, user))
			return true;
	return false;
}
