/*
 * cli_import.c - "edgespam import-dspam [--conf FILE] [--userdir DIR]
 * [--apply]": a DSPAM site's settings as edgespam's.
 *
 * It reads dspam.conf (default /etc/dspam.conf) and DSPAM's opt-in and
 * opt-out files, and prints what it would set, in three groups:
 *   - lines for edgespam.conf: the configuration file is the admin's,
 *     so they are printed to be put there, never written;
 *   - uid 0's default preferences (the store), from dspam.conf's
 *     Preference lines and TrainingMode;
 *   - per user optIn / optOut (the store), from the opt files.
 * Each item names the file and line it comes from. --apply writes the
 * store's part (users created as needed); without it nothing changes.
 *
 * What is read from dspam.conf (DSPAM 3.10's directives):
 *   Home DIR           where the opt files are (--userdir overrides)
 *   Tokenizer T        word, chain, osb -> tokenizer = T (sbph: refused)
 *   Algorithm A...     -> algorithm (cls_algo_parse: "graham burton")
 *   PValue P           bcr is what edgespam's graham and burton use;
 *                      robinson and markov have no equivalent: a note
 *   TrainingMode M     -> training_mode (any case)
 *   Preference "k=v"   -> uid 0's default preference k (checked as
 *                      "user @default set" checks it; keys edgespam
 *                      does not read are listed and skipped)
 *   Trust USER         -> trusted_users (all Trust lines together)
 *   Feature F          noise -> bnr = yes; whitelist -> whitelist on
 *                      (without it whitelist_threshold = 0, as DSPAM
 *                      then never whitelists); chained -> tokenizer =
 *                      chain when no Tokenizer line says otherwise;
 *                      others (tb=N, sbph) are noted
 *   Opt in | Opt out   -> default_policy = opt-in | opt-out (no Opt
 *                      line: DSPAM filters everybody not opted out,
 *                      so opt-out)
 *   StorageDriver, MySQLServer, MySQLPort, MySQLUser, MySQLDb,
 *   MySQLSocket        -> store_driver = mysql and the mysql_* keys;
 *                      MySQLPass is never printed: it belongs in
 *                      mysql_password_file
 * Other directives are DSPAM's business and are skipped.
 *
 * The opt files (DSPAM's _ds_userdir_path): HOME/opt-in/NAME.dspam
 * opts NAME in, HOME/opt-out/NAME.nodspam opts it out; only the file's
 * existence counts. NAME is the user name, or with DSPAM built for
 * domain scale DOMAIN/USER (the directory is the domain; "local" for
 * names without one). Both layouts are read: a file in a subdirectory
 * is USER@DOMAIN, at the top it is the name as it is.
 *
 * Errors name FILE:LINE: and the value; a value edgespam cannot take
 * is an error (exit 65) before anything is written. Root and
 * trusted_users only.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "cli.h"
#include "cls_score.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

#define IMP_MAX_ITEMS 512
#define IMP_LINE 4096
#define IMP_TEXT 512

/* What an item sets: a configuration line, a uid-0 preference, a
 * user's preference. */
enum imp_kind { IMP_CONF, IMP_DEFAULT, IMP_USER };

struct imp_item {
	enum imp_kind kind;
	char user[CLS_USER_MAX + 1]; /* IMP_USER */
	char key[64];
	char value[IMP_TEXT];
	char from[IMP_TEXT]; /* "FILE:LINE: text" or the opt file */
};

struct imp {
	struct cli *c;
	const char *conf;
	char home[IMP_TEXT];
	struct imp_item *items;
	size_t n;
	char trust[IMP_TEXT];
	char trust_from[IMP_TEXT];
	bool have_tokenizer, chained, whitelist, have_opt;
	char chained_from[IMP_TEXT];
	size_t errors, notes;
	char src[IMP_TEXT]; /* "FILE:LINE: the line", for the items */
};

/* add - one item; replaces an earlier one of the same kind, user and
 * key (the last line wins, as in DSPAM). */
static void
add(struct imp *m, enum imp_kind kind, const char *user, const char *key,
    const char *value, const char *from)
{
	struct imp_item *it = NULL;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->items[i].kind == kind && strcmp(m->items[i].key, key) == 0 &&
		    strcmp(m->items[i].user, user ? user : "") == 0)
			it = &m->items[i];
	if (it == NULL) {
		if (m->n == IMP_MAX_ITEMS) {
			fprintf(stderr, "edgespam: import-dspam: more than %d "
			                "items; the rest is left out\n",
			    IMP_MAX_ITEMS);
			m->errors++;
			return;
		}
		it = &m->items[m->n++];
	}
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	strlcpy(it->user, user ? user : "", sizeof(it->user));
	strlcpy(it->key, key, sizeof(it->key));
	strlcpy(it->value, value, sizeof(it->value));
	strlcpy(it->from, from, sizeof(it->from));
}

/* bad - an error naming where; counted, printed at once. */
static void bad(struct imp *m, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
bad(struct imp *m, const char *where, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "edgespam: %s ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	m->errors++;
}

/* note - a remark about something not carried over. */
static void
note(struct imp *m, const char *where, const char *text)
{
	printf("# note: %s %s\n", where, text);
	m->notes++;
}

/* lower - s lowercased into out. */
static void
lower(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a'
		                                             : s[i]);
	out[i] = '\0';
}

/* unquote - the value without surrounding double quotes, in place. */
static char *
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* preference - a Preference "key=value" line. */
static void
preference(struct imp *m, const char *where, char *val)
{
	const char *why;
	char *eq = strchr(val, '=');

	if (eq == NULL || eq == val) {
		bad(m, where, "Preference: '%s' is not \"key=value\"", val);
		return;
	}
	*eq = '\0';
	if (!cli_known_pref(val)) {
		char text[IMP_TEXT];

		snprintf(text, sizeof(text),
		    "Preference %s: not a preference edgespam reads; skipped",
		    val);
		note(m, where, text);
		return;
	}
	if (strcmp(val, "optIn") == 0 || strcmp(val, "optOut") == 0) {
		note(m, where, "Preference optIn/optOut: per user in edgespam "
		               "(uid 0's are not used); use default_policy");
		return;
	}
	if ((why = cli_pref_invalid(val, eq + 1)) != NULL) {
		char v[IMP_TEXT];

		snprintf(v, sizeof(v), "%s=%s' (%s)", val, eq + 1, why);
		bad(m, where, "Preference: bad value '%s", v);
		return;
	}
	add(m, IMP_DEFAULT, NULL, val, eq + 1, m->src);
}

/* feature - a Feature line. */
static void
feature(struct imp *m, const char *where, const char *val)
{
	if (strcmp(val, "noise") == 0 || strcmp(val, "no") == 0)
		add(m, IMP_CONF, NULL, "bnr", "yes", m->src);
	else if (strcmp(val, "whitelist") == 0 || strcmp(val, "wh") == 0)
		m->whitelist = true;
	else if (strcmp(val, "chained") == 0 || strcmp(val, "ch") == 0) {
		m->chained = true;
		strlcpy(m->chained_from, m->src, sizeof(m->chained_from));
	} else
		note(m, where, "Feature: no equivalent in edgespam; skipped");
}

/* directive - one dspam.conf line (key and the rest of the line). */
static void
directive(struct imp *m, const char *where, const char *key, char *val)
{
	char low[IMP_TEXT];
	enum cls_algo algo;
	enum cls_mode mode;

	lower(val, low, sizeof(low));
	if (strcmp(key, "Home") == 0) {
		if (m->home[0] == '\0')
			strlcpy(m->home, val, sizeof(m->home));
	} else if (strcmp(key, "Tokenizer") == 0) {
		if (strcmp(low, "word") != 0 && strcmp(low, "chain") != 0 &&
		    strcmp(low, "osb") != 0) {
			bad(m, where, "Tokenizer: '%s' is not one edgespam has "
			              "(word, chain, osb)", val);
			return;
		}
		m->have_tokenizer = true;
		add(m, IMP_CONF, NULL, "tokenizer", low, m->src);
	} else if (strcmp(key, "Algorithm") == 0) {
		if (cls_algo_parse(val, &algo) != 0) {
			bad(m, where, "Algorithm: '%s' is not one edgespam has "
			              "(graham, burton, graham burton, robinson, "
			              "chi-square)", val);
			return;
		}
		add(m, IMP_CONF, NULL, "algorithm", cls_algo_name(algo), m->src);
		add(m, IMP_CONF, NULL, "spam_threshold", "0.9", m->src);
	} else if (strcmp(key, "PValue") == 0) {
		if (strcmp(low, "bcr") != 0)
			note(m, where, "PValue: edgespam's graham and burton "
			               "use bcr, robinson and chi-square "
			               "Robinson's; nothing to set");
	} else if (strcmp(key, "TrainingMode") == 0) {
		if (cls_mode_parse(low, &mode) != 0) {
			bad(m, where, "TrainingMode: '%s' is not teft, toe, tum "
			              "or notrain", val);
			return;
		}
		add(m, IMP_CONF, NULL, "training_mode", low, m->src);
	} else if (strcmp(key, "Preference") == 0) {
		preference(m, where, unquote(val));
	} else if (strcmp(key, "Trust") == 0) {
		if (strlen(m->trust) + strlen(val) + 2 >= sizeof(m->trust)) {
			bad(m, where, "Trust: '%s': too many Trust lines", val);
			return;
		}
		if (m->trust[0] != '\0')
			strlcat(m->trust, " ", sizeof(m->trust));
		strlcat(m->trust, val, sizeof(m->trust));
		strlcpy(m->trust_from, m->src, sizeof(m->trust_from));
	} else if (strcmp(key, "Feature") == 0) {
		feature(m, where, low);
	} else if (strcmp(key, "Opt") == 0) {
		if (strcmp(low, "in") != 0 && strcmp(low, "out") != 0) {
			bad(m, where, "Opt: '%s' is not in or out", val);
			return;
		}
		m->have_opt = true;
		add(m, IMP_CONF, NULL, "default_policy",
		    low[0] == 'i' ? "opt-in" : "opt-out", m->src);
	} else if (strcmp(key, "StorageDriver") == 0) {
		if (strstr(val, "mysql") != NULL)
			add(m, IMP_CONF, NULL, "store_driver", "mysql", m->src);
		else
			note(m, where, "StorageDriver: not MySQL; edgespam's own "
			               "store (sqlite) starts empty");
	} else if (strcmp(key, "MySQLServer") == 0) {
		add(m, IMP_CONF, NULL, val[0] == '/' ? "mysql_socket"
		                                     : "mysql_host", val, m->src);
	} else if (strcmp(key, "MySQLPort") == 0) {
		add(m, IMP_CONF, NULL, "mysql_port", val, m->src);
	} else if (strcmp(key, "MySQLUser") == 0) {
		add(m, IMP_CONF, NULL, "mysql_user", val, m->src);
	} else if (strcmp(key, "MySQLDb") == 0) {
		add(m, IMP_CONF, NULL, "mysql_database", val, m->src);
	} else if (strcmp(key, "MySQLSocket") == 0) {
		add(m, IMP_CONF, NULL, "mysql_socket", val, m->src);
	} else if (strcmp(key, "MySQLPass") == 0) {
		note(m, where, "MySQLPass: not printed; put the password in the "
		               "file mysql_password_file names (mode 0640)");
	}
}

/* read_conf - every line of dspam.conf; 0, or an exit code when the
 * file cannot be read. */
static int
read_conf(struct imp *m)
{
	char line[IMP_LINE], where[IMP_TEXT];
	unsigned no = 0;
	FILE *f;

	if ((f = fopen(m->conf, "r")) == NULL) {
		fprintf(stderr, "edgespam: import-dspam: %s: %s\n", m->conf,
		    strerror(errno));
		return EX_NOINPUT;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *key, *val, *end;

		no++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(where, sizeof(where), "%s:%u:", m->conf, no);
			bad(m, where, "%s", "line too long");
			while (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		key = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		snprintf(where, sizeof(where), "%s:%u:", m->conf, no);
		if ((size_t)snprintf(m->src, sizeof(m->src), "%s:%u: %s %s",
			m->conf, no, key, val) >= sizeof(m->src))
			strlcpy(m->src + sizeof(m->src) - 4, "...", 4);
		directive(m, where, key, val);
	}
	fclose(f);
	return 0;
}

/* opt_file - one file of an opt directory: its user, or a note. */
static void
opt_file(struct imp *m, const char *dir, const char *domain,
    const char *name, bool in)
{
	const char *ext = in ? ".dspam" : ".nodspam";
	size_t n = strlen(name), e = strlen(ext);
	char raw[IMP_TEXT * 2], user[CLS_USER_MAX + 1];
	char path[IMP_TEXT * 2];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s%s%s", dir,
		domain ? domain : "", domain ? "/" : "", name) >= sizeof(path))
		return;
	if (n <= e || strcmp(name + n - e, ext) != 0) {
		note(m, path, "is not an opt file; skipped");
		return;
	}
	if ((size_t)snprintf(raw, sizeof(raw), "%.*s%s%s", (int)(n - e), name,
		domain && strcmp(domain, "local") != 0 ? "@" : "",
		domain && strcmp(domain, "local") != 0 ? domain : "") >=
	    sizeof(raw)) {
		bad(m, path, "the name is too long");
		return;
	}
	if (!cli_user_name(m->c, raw, user, sizeof(user))) {
		bad(m, path, "'%s' is not a user name", raw);
		return;
	}
	add(m, IMP_USER, user, in ? "optIn" : "optOut", "on", path);
}

/* opt_dir - the opt files under HOME/opt-in or HOME/opt-out, at the
 * top and one level of domain directories below. */
static void
opt_dir(struct imp *m, bool in)
{
	char dir[IMP_TEXT + 16], sub[IMP_TEXT * 2];
	struct dirent *de, *de2;
	struct stat sb;
	DIR *d, *d2;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/opt-%s", m->home,
		in ? "in" : "out") >= sizeof(dir))
		return;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			bad(m, dir, "cannot be read: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
			de->d_name) >= sizeof(sub) || stat(sub, &sb) != 0)
			continue;
		if (!S_ISDIR(sb.st_mode)) {
			opt_file(m, dir, NULL, de->d_name, in);
			continue;
		}
		if ((d2 = opendir(sub)) == NULL) {
			bad(m, sub, "cannot be read: %s", strerror(errno));
			continue;
		}
		while ((de2 = readdir(d2)) != NULL)
			if (de2->d_name[0] != '.')
				opt_file(m, dir, de->d_name, de2->d_name, in);
		closedir(d2);
	}
	closedir(d);
}

/* item_order - conf lines first, then defaults, then users by name. */
static int
item_order(const void *a, const void *b)
{
	const struct imp_item *x = a, *y = b;
	int r;

	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if ((r = strcmp(x->user, y->user)) != 0)
		return r;
	return strcmp(x->key, y->key);
}

/* print_items - the plan, grouped. */
static void
print_items(const struct imp *m)
{
	static const char *const heads[] = {
	    "# edgespam.conf: put these lines there (it is yours to edit)",
	    "# the store: uid 0's default preferences (user @default)",
	    "# the store: users' preferences (from the opt files)"};
	int last = -1;
	char lhs[CLS_USER_MAX + IMP_TEXT + 160];

	for (size_t i = 0; i < m->n; i++) {
		const struct imp_item *it = &m->items[i];

		if ((int)it->kind != last) {
			puts(heads[it->kind]);
			last = (int)it->kind;
		}
		if (it->kind == IMP_CONF)
			snprintf(lhs, sizeof(lhs), "%s = %s", it->key, it->value);
		else
			snprintf(lhs, sizeof(lhs), "user %s set %s %s",
			    it->kind == IMP_DEFAULT ? CLI_DEFAULT_USER : it->user,
			    it->key, it->value);
		printf("%-44s # %s\n", lhs, it->from);
	}
}

/* apply_once - the store's part in one transaction (rolled back on a
 * failure, so that it may run again); 0 or an es_err code. */
static int
apply_once(struct imp *m, size_t *ndef, size_t *nuser)
{
	uint32_t uid;
	int rc;

	*ndef = *nuser = 0;
	if ((rc = store_begin(m->c->st, true)) != 0)
		return rc;
	for (size_t i = 0; i < m->n; i++) {
		const struct imp_item *it = &m->items[i];

		if (it->kind == IMP_CONF)
			continue;
		uid = 0;
		if (it->kind == IMP_USER &&
		    (rc = store_user_uid(m->c->st, it->user, true, &uid)) != 0)
			goto fail;
		if ((rc = store_pref_set(m->c->st, uid, it->key, it->value)) !=
		    0)
			goto fail;
		/* optIn and optOut exclude each other, as "user X opt-in" */
		if (it->kind == IMP_USER &&
		    (rc = store_pref_set(m->c->st, uid,
			 strcmp(it->key, "optIn") == 0 ? "optOut" : "optIn",
			 NULL)) != 0)
			goto fail;
		if (it->kind == IMP_DEFAULT)
			(*ndef)++;
		else
			(*nuser)++;
	}
	if ((rc = store_commit(m->c->st)) == 0)
		return 0;
fail:
	store_rollback(m->c->st);
	return rc;
}

/* apply - write the store's part (again after a conflict); an exit
 * code. */
static int
apply(struct imp *m, size_t *ndef, size_t *nuser)
{
	int rc;

	if ((rc = cli_open_store(m->c)) != EX_OK)
		return rc;
	CLI_RETRY(m->c, rc, apply_once(m, ndef, nuser));
	if (rc == 0)
		return EX_OK;
	fprintf(stderr, "edgespam: import-dspam: %s: %s\n", es_strerror(rc),
	    store_errmsg(m->c->st));
	return cli_exit_code(rc);
}

int
cli_import_dspam(struct cli *c, int argc, char **argv)
{
	struct imp m;
	bool do_apply = false;
	size_t ndef = 0, nuser = 0;
	int i, rc;

	memset(&m, 0, sizeof(m));
	m.c = c;
	m.conf = "/etc/dspam.conf";
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--apply") == 0)
			do_apply = true;
		else if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
			m.conf = argv[++i];
		else if (strncmp(argv[i], "--conf=", 7) == 0)
			m.conf = argv[i] + 7;
		else if (strcmp(argv[i], "--userdir") == 0 && i + 1 < argc)
			strlcpy(m.home, argv[++i], sizeof(m.home));
		else if (strncmp(argv[i], "--userdir=", 10) == 0)
			strlcpy(m.home, argv[i] + 10, sizeof(m.home));
		else {
			fputs("usage: edgespam import-dspam [--conf FILE] "
			      "[--userdir DIR] [--apply]\n",
			    stderr);
			return EX_USAGE;
		}
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may "
		                "import\n");
		return EX_NOPERM;
	}
	if ((m.items = es_calloc(IMP_MAX_ITEMS, sizeof(*m.items))) == NULL)
		return EX_OSERR;
	printf("# import-dspam: %s%s\n", m.conf,
	    do_apply ? "" : " (dry run: --apply writes the store's part)");
	if ((rc = read_conf(&m)) != 0)
		goto out;
	if (m.trust[0] != '\0')
		add(&m, IMP_CONF, NULL, "trusted_users", m.trust, m.trust_from);
	if (m.chained && !m.have_tokenizer)
		add(&m, IMP_CONF, NULL, "tokenizer", "chain", m.chained_from);
	if (!m.whitelist)
		add(&m, IMP_CONF, NULL, "whitelist_threshold", "0",
		    "no Feature whitelist in dspam.conf: DSPAM never "
		    "whitelists");
	if (!m.have_opt)
		add(&m, IMP_CONF, NULL, "default_policy", "opt-out",
		    "no Opt line in dspam.conf: DSPAM filters everybody not "
		    "opted out");
	if (m.home[0] != '\0') {
		opt_dir(&m, true);
		opt_dir(&m, false);
	} else {
		note(&m, m.conf, "has no Home and --userdir was not given: "
		                 "no opt files read");
	}
	if (m.errors > 0) {
		fprintf(stderr, "edgespam: import-dspam: %zu error%s; nothing "
		                "written\n",
		    m.errors, m.errors == 1 ? "" : "s");
		rc = EX_DATAERR;
		goto out;
	}
	qsort(m.items, m.n, sizeof(*m.items), item_order);
	print_items(&m);
	if (do_apply) {
		if ((rc = apply(&m, &ndef, &nuser)) != EX_OK)
			goto out;
		printf("# applied: %zu default preference%s and %zu user "
		       "preference%s written to the store; the edgespam.conf "
		       "lines above are yours to add\n",
		    ndef, ndef == 1 ? "" : "s", nuser, nuser == 1 ? "" : "s");
		es_log_notice("import-dspam %s: %zu default and %zu user "
		              "preferences written",
		    m.conf, ndef, nuser);
	}
	rc = EX_OK;
out:
	es_free(m.items);
	return rc;
}
