/*
 * cli_admin.c - edgespam's administration commands.
 *
 *   stats [USER]      learned counts and accuracy (all users, or one)
 *   user USER ...     preferences: set KEY VALUE, unset KEY, opt-in,
 *                     opt-out, default (removes both); show (the
 *                     effective settings, in cli_show.c)
 *   user allow|block|unallow|unblock|list ...
 *                     sender lists, in cli_lists.c
 *   domain ...        per-domain policy: list, DOMAIN show,
 *                     DOMAIN set off|opt-in|opt-out|on, DOMAIN unset
 *   purge             the configured purge rules, in batches
 *   db init|check|upgrade
 *                     the store's schema: create it, list what an
 *                     existing one lacks (exit 1 when anything), add
 *                     what is missing without touching a row
 *
 * Accuracy follows the counting conventions of cls_learn.c:
 * TP = spam_learned + spam_classified - spam_corpusfed - spam_misclassified
 * and likewise TN; FN = spam_misclassified, FP = innocent_misclassified.
 * Only root and the trusted_users may change preferences and policies,
 * purge or manage the schema; a user may show its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cls_user.h"
#include "conf.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

/* Preference keys edgespam reads; others are stored but warned about. */
static const char *const known_prefs[] = {"optIn", "optOut", "trainingMode",
    "spamAction", "signatureLocation", "whitelistThreshold",
    "spamThreshold", "minTraining", NULL};

bool
cli_known_pref(const char *key)
{
	const char *const *k;

	for (k = known_prefs; *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

static const char *const policies[] = {"off", "opt-in", "opt-out", "on",
    NULL};

/* in_list - whether s is one of the NULL-terminated list. */
static bool
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* store_error - report a store failure; the exit code. */
static int
store_error(const struct cli *c, const char *what, int rc)
{
	fprintf(stderr, "edgespam: %s: %s: %s\n", what, es_strerror(rc),
	    store_errmsg(c->st));
	return cli_exit_code(rc);
}

/* print_stats's argument: the tool and the first error. */
struct stats_arg {
	struct cli *c;
	int rc;
};

/* nonneg - a count that cannot go below zero. */
static long long
nonneg(long long v)
{
	return v < 0 ? 0 : v;
}

void
cli_stats_header(void)
{
	printf("%-32s %9s %9s %8s %8s %6s %6s %9s\n", "user", "spam",
	    "innocent", "TP", "TN", "FP", "FN", "accuracy");
}

void
cli_stats_row(const char *name, const struct store_totals *t)
{
	long long tp, tn, fp, fn, all;

	fn = t->spam_misclassified;
	fp = t->innocent_misclassified;
	tp = nonneg(t->spam_learned + t->spam_classified - t->spam_corpusfed -
	    fn);
	tn = nonneg(t->innocent_learned + t->innocent_classified -
	    t->innocent_corpusfed - fp);
	all = tp + tn + fp + fn;
	printf("%-32s %9lld %9lld %8lld %8lld %6lld %6lld", name,
	    (long long)t->spam_learned, (long long)t->innocent_learned, tp, tn,
	    fp, fn);
	if (all > 0)
		printf(" %8.2f%%\n", 100.0 * (double)(tp + tn) / (double)all);
	else
		printf(" %9s\n", "-");
}

/* print_stats - one user's line. */
static int
print_stats(uint32_t uid, const char *name, void *arg)
{
	struct stats_arg *sa = arg;
	struct store_totals t;
	int rc;

	if ((rc = store_totals_get(sa->c->st, uid, &t)) != 0) {
		sa->rc = store_error(sa->c, name, rc);
		return 1;
	}
	cli_stats_row(name, &t);
	return 0;
}

int
cli_stats(struct cli *c, int argc, char **argv)
{
	struct stats_arg sa = {c, EX_OK};
	char user[CLS_USER_MAX + 1];
	uint32_t uid;
	int rc;

	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--daily") == 0)
			return cli_stats_daily(c, argc, argv);
	if (argc > 1) {
		fputs("usage: edgespam stats [USER]\n"
		      "       edgespam stats USER --daily [--days N] [--json]\n",
		    stderr);
		return EX_USAGE;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	cli_stats_header();
	if (argc == 1) {
		if (!cli_user_name(c, argv[0], user, sizeof(user))) {
			fprintf(stderr, "edgespam: %s: not a user name\n",
			    argv[0]);
			return EX_USAGE;
		}
		if (!cli_may_act_for(c, user)) {
			fprintf(stderr, "edgespam: not allowed\n");
			return EX_NOPERM;
		}
		if ((rc = store_user_uid(c->st, user, false, &uid)) != 0) {
			if (rc == ES_ENOTFOUND) {
				fprintf(stderr, "edgespam: no user %s\n", user);
				return EX_NOUSER;
			}
			return store_error(c, user, rc);
		}
		print_stats(uid, user, &sa);
		return sa.rc;
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may list "
		                "every user\n");
		return EX_NOPERM;
	}
	if ((rc = store_users(c->st, print_stats, &sa)) != 0 && sa.rc == EX_OK)
		return store_error(c, "users", rc);
	return sa.rc;
}

/* print_pair - "key = value" of a preference or domain listing. */
static int
print_pair(const char *key, const char *value, void *arg)
{
	printf("%s%s = %s\n", (const char *)arg, key, value);
	return 0;
}

/* pref_invalid - why value is not usable for a preference edgespam
 * reads, or NULL when it is (unknown keys are not checked). */
static const char *
pref_invalid(const char *key, const char *value)
{
	static const char *const onoff[] = {"on", "off", NULL};
	static const char *const actions[] = {"tag", "reject", NULL};
	static const char *const locs[] = {"headers", "message", "both",
	    NULL};
	enum cls_mode mode;
	char *end;
	double d;

	if (strcmp(key, "trainingMode") == 0)
		return cls_mode_parse(value, &mode) == 0
		    ? NULL
		    : "one of teft, toe, tum, notrain";
	if (strcmp(key, "optIn") == 0 || strcmp(key, "optOut") == 0)
		return in_list(onoff, value) ? NULL : "on or off";
	if (strcmp(key, "spamAction") == 0)
		return in_list(actions, value) ? NULL : "tag or reject";
	if (strcmp(key, "signatureLocation") == 0)
		return in_list(locs, value) ? NULL
		                            : "headers, message or both";
	if (strcmp(key, "spamThreshold") == 0) {
		d = strtod(value, &end);
		return *value != '\0' && *end == '\0' && d >= 0 && d <= 1
		    ? NULL
		    : "a number from 0 to 1";
	}
	if (strcmp(key, "whitelistThreshold") == 0 ||
	    strcmp(key, "minTraining") == 0) {
		d = strtod(value, &end);
		return *value != '\0' && *end == '\0' && d >= 0 &&
		        d <= 1000000 && d == (double)(long)d
		    ? NULL
		    : "a whole number from 0 to 1000000";
	}
	return NULL;
}

/* user_uid - the uid of a user named on the command line. */
static int
user_uid(struct cli *c, const char *arg, bool create, char *user,
    size_t userlen, uint32_t *uid)
{
	int rc;

	if (!cli_user_name(c, arg, user, userlen)) {
		fprintf(stderr, "edgespam: %s: not a user name\n", arg);
		return EX_USAGE;
	}
	if ((rc = store_user_uid(c->st, user, create, uid)) != 0) {
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "edgespam: no user %s\n", user);
			return EX_NOUSER;
		}
		return store_error(c, user, rc);
	}
	return EX_OK;
}

/* set_pref - set or remove (value NULL) one preference. */
static int
set_pref(struct cli *c, uint32_t uid, const char *user, const char *key,
    const char *value)
{
	int rc = store_pref_set(c->st, uid, key, value);

	if (rc != 0)
		return store_error(c, key, rc);
	es_log_notice("user %s: preference %s %s%s", user, key,
	    value ? "set to " : "removed", value ? value : "");
	return EX_OK;
}

int
cli_user(struct cli *c, int argc, char **argv)
{
	char user[CLS_USER_MAX + 1];
	const char *verb = argc >= 2 ? argv[1] : "show";
	bool show = strcmp(verb, "show") == 0;
	uint32_t uid;
	int rc;

	if (argc < 1) {
		fputs("usage: edgespam user USER [show [--json] | set KEY VALUE | "
		      "unset KEY | opt-in | opt-out | default]\n",
		    stderr);
		return EX_USAGE;
	}
	/* sender lists: "user VERB USER ..." (and "user USER VERB ...") */
	if (cli_lists_verb(argv[0]) && argc < 2) /* no USER: the usage */
		return cli_lists(c, "", "", 0, argv + argc);
	if (cli_lists_verb(argv[0]))
		return cli_lists(c, argv[0], argv[1], argc - 2, argv + 2);
	if (argc >= 2 && cli_lists_verb(argv[1]))
		return cli_lists(c, argv[1], argv[0], argc - 2, argv + 2);
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if (show)
		return cli_user_show(c, argv[0], argc > 2 ? argc - 2 : 0,
		    argv + (argc > 2 ? 2 : argc));
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may "
		                "change preferences\n");
		return EX_NOPERM;
	}
	if ((rc = user_uid(c, argv[0], true, user, sizeof(user), &uid)) != 0)
		return rc;
	if (strcmp(verb, "set") == 0 && argc == 4) {
		const char *why = pref_invalid(argv[2], argv[3]);

		if (why != NULL) {
			fprintf(stderr, "edgespam: %s: bad value '%s': %s\n",
			    argv[2], argv[3], why);
			return EX_USAGE;
		}
		if (!cli_known_pref(argv[2]))
			fprintf(stderr, "edgespam: note: %s is not a preference "
			                "edgespam reads; stored anyway\n",
			    argv[2]);
		return set_pref(c, uid, user, argv[2], argv[3]);
	}
	if (strcmp(verb, "unset") == 0 && argc == 3)
		return set_pref(c, uid, user, argv[2], NULL);
	if (argc == 2 && strcmp(verb, "opt-in") == 0) {
		if ((rc = set_pref(c, uid, user, "optOut", NULL)) != 0)
			return rc;
		return set_pref(c, uid, user, "optIn", "on");
	}
	if (argc == 2 && strcmp(verb, "opt-out") == 0) {
		if ((rc = set_pref(c, uid, user, "optIn", NULL)) != 0)
			return rc;
		return set_pref(c, uid, user, "optOut", "on");
	}
	if (argc == 2 && strcmp(verb, "default") == 0) {
		if ((rc = set_pref(c, uid, user, "optIn", NULL)) != 0)
			return rc;
		return set_pref(c, uid, user, "optOut", NULL);
	}
	fprintf(stderr, "edgespam: user: bad arguments after %s\n", argv[0]);
	return EX_USAGE;
}

/* lower_domain - a domain name lowercased into out. */
static bool
lower_domain(const char *in, char *out, size_t outlen)
{
	size_t i, n = strlen(in);

	if (n == 0 || n >= outlen || n > 255)
		return false;
	for (i = 0; i <= n; i++) {
		char ch = in[i];

		if (ch != '\0' && !((ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_'))
			return false;
		out[i] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
	}
	return true;
}

int
cli_domain(struct cli *c, int argc, char **argv)
{
	char domain[256], policy[32];
	const char *verb;
	int rc;

	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if (argc == 0 || (argc == 1 && strcmp(argv[0], "list") == 0)) {
		if ((rc = store_domains(c->st, print_pair, "")) != 0)
			return store_error(c, "domains", rc);
		return EX_OK;
	}
	if (!lower_domain(argv[0], domain, sizeof(domain))) {
		fprintf(stderr, "edgespam: %s: not a domain name\n", argv[0]);
		return EX_USAGE;
	}
	verb = argc >= 2 ? argv[1] : "show";
	if (strcmp(verb, "show") == 0 && argc <= 2) {
		rc = store_domain_get(c->st, domain, policy, sizeof(policy));
		if (rc == ES_ENOTFOUND) {
			printf("%s = (no policy: default_policy applies)\n",
			    domain);
			return EX_OK;
		}
		if (rc != 0)
			return store_error(c, domain, rc);
		printf("%s = %s\n", domain, policy);
		return EX_OK;
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may "
		                "change domain policies\n");
		return EX_NOPERM;
	}
	if (strcmp(verb, "set") == 0 && argc == 3) {
		if (!in_list(policies, argv[2])) {
			fprintf(stderr, "edgespam: domain policy %s: expected "
			                "off, opt-in, opt-out or on\n",
			    argv[2]);
			return EX_USAGE;
		}
		if ((rc = store_domain_set(c->st, domain, argv[2])) != 0)
			return store_error(c, domain, rc);
		es_log_notice("domain %s: policy %s", domain, argv[2]);
		return EX_OK;
	}
	if (strcmp(verb, "unset") == 0 && argc == 2) {
		if ((rc = store_domain_set(c->st, domain, NULL)) != 0)
			return store_error(c, domain, rc);
		es_log_notice("domain %s: policy removed", domain);
		return EX_OK;
	}
	fprintf(stderr, "edgespam: domain: bad arguments after %s\n", argv[0]);
	return EX_USAGE;
}

/* purge_progress - a progress line on a terminal. */
static void
purge_progress(const char *rule, uint64_t rows, void *arg)
{
	(void)arg;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\rpurge: %-12s %12llu rows", rule,
		    (unsigned long long)rows);
}

int
cli_purge(struct cli *c, int argc, char **argv)
{
	struct store_purge_rules rules;
	struct store_purge_stats ps;
	struct timespec t0, t1;
	uint64_t total;
	double secs;
	int rc;

	(void)argv;
	if (argc != 0) {
		fputs("usage: edgespam purge\n", stderr);
		return EX_USAGE;
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may purge\n");
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	conf_purge_rules(c->cf, &rules);
	memset(&ps, 0, sizeof(ps));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_purge(c->st, &rules, time(NULL), purge_progress, NULL, &ps);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
	if (rc != 0)
		return store_error(c, "purge", rc);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	total = ps.signatures + ps.unused + ps.rare + ps.single + ps.sources +
	    ps.history + ps.daily;
	printf("purge: signatures %llu, unused tokens %llu, rare tokens %llu, "
	       "single-hit tokens %llu, history %llu, daily %llu, sources "
	       "%llu; %llu rows in %.1f s (%.0f rows/s)\n",
	    (unsigned long long)ps.signatures, (unsigned long long)ps.unused,
	    (unsigned long long)ps.rare, (unsigned long long)ps.single,
	    (unsigned long long)ps.history, (unsigned long long)ps.daily,
	    (unsigned long long)ps.sources,
	    (unsigned long long)total, secs,
	    secs > 0 ? (double)total / secs : 0);
	es_log_notice("purge: %llu rows removed in %.1f s",
	    (unsigned long long)total, secs);
	return EX_OK;
}

/* db_item - one line for a schema item store_schema() reports. */
static void
db_item(const char *kind, const char *what, void *arg)
{
	printf("%s %s %s\n", (const char *)arg, kind, what);
}

int
cli_db(struct cli *c, int argc, char **argv)
{
	struct store_params p;
	bool check, init;
	const char *verb;
	char err[512];
	size_t n = 0;
	int rc;

	if (argc != 1 || (strcmp(argv[0], "init") != 0 &&
	    strcmp(argv[0], "check") != 0 && strcmp(argv[0], "upgrade") != 0)) {
		fputs("usage: edgespam db init | check | upgrade\n", stderr);
		return EX_USAGE;
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may "
		                "manage the database schema\n");
		return EX_NOPERM;
	}
	check = strcmp(argv[0], "check") == 0;
	init = strcmp(argv[0], "init") == 0;
	verb = check ? "missing" : init ? "created" : "added";
	if ((rc = cli_store_as_owner(c)) != EX_OK)
		return rc;
	conf_store_params(c->cf, &p);
	rc = store_schema(&p, check ? STORE_SCHEMA_CHECK : STORE_SCHEMA_UPGRADE,
	    db_item, (void *)verb, &n, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "edgespam: db %s: %s: %s\n", argv[0],
		    es_strerror(rc), err);
		es_log_err("db %s: %s", argv[0], err);
		return cli_exit_code(rc);
	}
	if (check) {
		if (n == 0)
			printf("db check: the %s schema is complete\n",
			    p.driver);
		else
			printf("db check: %zu item%s missing: run 'edgespam db "
			       "upgrade'\n",
			    n, n == 1 ? "" : "s");
		return n == 0 ? EX_OK : 1;
	}
	printf("db %s: %zu item%s %s\n", argv[0], n, n == 1 ? "" : "s", verb);
	if (n > 0)
		es_log_notice("db %s: %zu schema items %s", argv[0], n, verb);
	return EX_OK;
}
