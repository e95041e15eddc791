/*
 * cli_admin.c - edgespam's administration commands.
 *
 *   stats             in cli_dspam.c (the table is printed here)
 *   user USER ...     preferences: set KEY VALUE, unset KEY, opt-in,
 *                     opt-out, default (removes both); show (the
 *                     effective settings, in cli_show.c)
 *   user allow|block|unallow|unblock|list ...
 *                     sender lists, in cli_lists.c
 *   domain ...        per-domain policy: list, DOMAIN show,
 *                     DOMAIN set off|opt-in|opt-out|on, DOMAIN unset
 *   purge             the configured purge rules, in batches
 *   db init|check|upgrade [--engine=innodb]
 *                     the store's schema: create it, list what an
 *                     existing one lacks (exit 1 when anything, a
 *                     table not InnoDB or tokens of another tokenizer
 *                     included: cli_dbcheck.c), add what is missing
 *                     without touching a row; --engine=innodb first
 *                     converts DSPAM's MyISAM tables
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
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cls_user.h"
#include "conf.h"
#include "es_err.h"
#include "es_log.h"
#include "es_text.h"
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

/* print_pair - "key = value" of a preference or domain listing. */
static int
print_pair(const char *key, const char *value, void *arg)
{
	printf("%s%s = %s\n", (const char *)arg, key, value);
	return 0;
}

const char *
cli_pref_invalid(const char *key, const char *value)
{
	static const char *const onoff[] = {"on", "off", NULL};
	/* DSPAM's quarantine and deliver: maildrop (or the site) decides
	 * where Spam goes, so both mean tag here */
	static const char *const actions[] = {"tag", "reject", "quarantine",
	    "deliver", NULL};
	static const char *const locs[] = {"headers", "message", "both",
	    NULL};
	struct cls_engine_cfg cfg;
	char *end;
	double d;

	if (strcmp(key, "trainingMode") == 0) /* in any case, as DSPAM's TEFT */
		return cls_engine_pref_apply(&cfg, key, value) == 0
		    ? NULL
		    : "one of teft, toe, tum, notrain (any case)";
	if (strcmp(key, "optIn") == 0 || strcmp(key, "optOut") == 0)
		return in_list(onoff, value) ? NULL : "on or off";
	if (strcmp(key, "spamAction") == 0)
		return in_list(actions, value)
		    ? NULL
		    : "tag or reject (DSPAM's quarantine and deliver: tag)";
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

/* user_uid - the uid of a user named on the command line; "@default"
 * (CLI_DEFAULT_USER) is uid 0, the default preferences. */
static int
user_uid(struct cli *c, const char *arg, bool create, char *user,
    size_t userlen, uint32_t *uid)
{
	int rc;

	if (strcmp(arg, CLI_DEFAULT_USER) == 0) {
		strlcpy(user, arg, userlen);
		*uid = 0;
		return EX_OK;
	}
	if (!cli_user_name(c, arg, user, userlen)) {
		fprintf(stderr, "edgespam: %s: not a user name\n", arg);
		return EX_USAGE;
	}
	CLI_RETRY(c, rc, store_user_uid(c->st, user, create, uid));
	if (rc != 0) {
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
	int rc;

	CLI_RETRY(c, rc, store_pref_set(c->st, uid, key, value));
	if (rc != 0)
		return store_error(c, key, rc);
	es_log_notice("user %s: preference %s %s%s", user, key,
	    value ? "set to " : "removed", value ? value : "");
	return EX_OK;
}

/* default_arg - show_defaults's state: JSON or text, the first row. */
struct default_arg {
	bool json;
	bool first;
};

/* print_default - one of uid 0's preferences, with a note when edgespam
 * reads the key but cannot use the value. */
static int
print_default(const char *key, const char *value, void *arg)
{
	struct default_arg *da = arg;
	const char *why = cli_pref_invalid(key, value);

	if (!da->json) {
		printf("  %-20s = %s%s%s%s\n", key, value,
		    why ? "  (unusable: " : "", why ? why : "", why ? ")" : "");
		da->first = false;
		return 0;
	}
	printf("%s\n    {\"key\": ", da->first ? "" : ",");
	cli_json_str(stdout, key);
	fputs(", \"value\": ", stdout);
	cli_json_str(stdout, value);
	printf(", \"usable\": %s}", why ? "false" : "true");
	da->first = false;
	return 0;
}

/* show_defaults - "user @default show [--json]": uid 0's preferences,
 * which apply to every user that has not set its own (optIn and optOut
 * excepted: they are per user). */
static int
show_defaults(struct cli *c, int argc, char **argv)
{
	struct default_arg da = {false, true};
	int rc;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		da.json = true;
	else if (argc != 0) {
		fputs("usage: edgespam user @default show [--json]\n", stderr);
		return EX_USAGE;
	}
	if (da.json)
		fputs("{\"user\": \"@default\", \"uid\": 0, \"preferences\": [",
		    stdout);
	else
		printf("user: %s (uid 0: the default preferences)\n",
		    CLI_DEFAULT_USER);
	if ((rc = store_prefs(c->st, 0, print_default, &da)) != 0)
		return store_error(c, "preferences of uid 0", rc);
	if (da.json)
		fputs(da.first ? "]}\n" : "\n  ]}\n", stdout);
	else if (da.first)
		puts("  (none set)");
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
	if (show && strcmp(argv[0], CLI_DEFAULT_USER) == 0)
		return show_defaults(c, argc > 2 ? argc - 2 : 0,
		    argv + (argc > 2 ? 2 : argc));
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
	if (strcmp(verb, "set") == 0 && argc == 4 && uid == 0 &&
	    (strcmp(argv[2], "optIn") == 0 || strcmp(argv[2], "optOut") == 0)) {
		fprintf(stderr, "edgespam: %s: %s is per user (uid 0's is not "
		                "used); set default_policy instead\n",
		    CLI_DEFAULT_USER, argv[2]);
		return EX_USAGE;
	}
	if (strcmp(verb, "set") == 0 && argc == 4) {
		const char *why = cli_pref_invalid(argv[2], argv[3]);

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
	if (uid == 0) { /* optIn and optOut are per user (cls_policy.h) */
		fprintf(stderr, "edgespam: user %s: only show, set and unset\n",
		    CLI_DEFAULT_USER);
		return EX_USAGE;
	}
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
	if (!es_text_domain(argv[0], domain, sizeof(domain))) {
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
		CLI_RETRY(c, rc, store_domain_set(c->st, domain, argv[2]));
		if (rc != 0)
			return store_error(c, domain, rc);
		es_log_notice("domain %s: policy %s", domain, argv[2]);
		return EX_OK;
	}
	if (strcmp(verb, "unset") == 0 && argc == 2) {
		CLI_RETRY(c, rc, store_domain_set(c->st, domain, NULL));
		if (rc != 0)
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
	       "%llu; %llu rows in %.1f s (%.0f rows/s), working %.1f s, "
	       "resting %.1f s (%llu waits for the probe read, %.2f ms before "
	       "the purge)\n",
	    (unsigned long long)ps.signatures, (unsigned long long)ps.unused,
	    (unsigned long long)ps.rare, (unsigned long long)ps.single,
	    (unsigned long long)ps.history, (unsigned long long)ps.daily,
	    (unsigned long long)ps.sources,
	    (unsigned long long)total, secs,
	    secs > 0 ? (double)total / secs : 0, ps.work_s, ps.rest_s,
	    (unsigned long long)ps.waits, ps.probe_base_ms);
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

/* engine_item - a line for store_schema()'s engine reports. */
static void
engine_item(const char *kind, const char *what, void *arg)
{
	(void)arg;
	if (strcmp(kind, "engine") == 0)
		printf("db check: engine %s\n", what);
	else
		printf("db upgrade: %s %s\n", kind, what);
	fflush(stdout); /* progress: each table as it goes */
}

/* db_engines - the engine report (check) or conversion (to_innodb);
 * *other gets the tables that are not InnoDB. An exit code. */
static int
db_engines(const struct store_params *p, bool to_innodb, size_t *other)
{
	char err[512];
	int rc;

	rc = store_schema(p, to_innodb ? STORE_SCHEMA_TO_INNODB
	                               : STORE_SCHEMA_ENGINES,
	    engine_item, NULL, other, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "edgespam: db %s: %s: %s\n",
		    to_innodb ? "upgrade --engine=innodb" : "check",
		    es_strerror(rc), err);
		es_log_err("db engines: %s", err);
		return cli_exit_code(rc);
	}
	return EX_OK;
}

/* db_args - the verb and --engine=innodb; false on a usage error. */
static bool
db_args(int argc, char **argv, bool *innodb)
{
	*innodb = false;
	if (argc < 1 || (strcmp(argv[0], "init") != 0 &&
	    strcmp(argv[0], "check") != 0 && strcmp(argv[0], "upgrade") != 0))
		return false;
	if (argc == 1)
		return true;
	if (strcmp(argv[0], "upgrade") != 0)
		return false;
	if (argc == 2 && strcasecmp(argv[1], "--engine=innodb") == 0)
		*innodb = true;
	else if (argc == 3 && strcmp(argv[1], "--engine") == 0 &&
	    strcasecmp(argv[2], "innodb") == 0)
		*innodb = true;
	return *innodb;
}

int
cli_db(struct cli *c, int argc, char **argv)
{
	struct store_params p;
	bool check, init, innodb, mismatch = false;
	const char *verb;
	char err[512];
	size_t n = 0, other = 0;
	int rc;

	if (!db_args(argc, argv, &innodb)) {
		fputs("usage: edgespam db init | check | upgrade "
		      "[--engine=innodb]\n",
		    stderr);
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
	/* MyISAM first: the columns and indexes are then added to InnoDB
	 * tables, and a failed conversion leaves the schema as it was */
	if (innodb && (rc = db_engines(&p, true, &other)) != EX_OK)
		return rc;
	rc = store_schema(&p, check ? STORE_SCHEMA_CHECK : STORE_SCHEMA_UPGRADE,
	    db_item, (void *)verb, &n, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "edgespam: db %s: %s: %s\n", argv[0],
		    es_strerror(rc), err);
		es_log_err("db %s: %s", argv[0], err);
		return cli_exit_code(rc);
	}
	if (check) {
		if ((rc = db_engines(&p, false, &other)) != EX_OK)
			return rc;
		if (n == 0)
			printf("db check: the %s schema is complete\n",
			    p.driver);
		else
			printf("db check: %zu item%s missing: run 'edgespam db "
			       "upgrade'\n",
			    n, n == 1 ? "" : "s");
		if (other > 0)
			printf("db check: %zu table%s not InnoDB (DSPAM's "
			       "MyISAM locks whole tables and has no "
			       "transactions): run 'edgespam db upgrade "
			       "--engine=innodb'\n",
			    other, other == 1 ? " is" : "s are");
		if (n == 0 && cli_open_store(c) == EX_OK &&
		    (rc = cli_db_tokenizer_check(c, &mismatch)) != EX_OK)
			return rc;
		return n == 0 && other == 0 && !mismatch ? EX_OK : 1;
	}
	printf("db %s: %zu item%s %s\n", argv[0], n, n == 1 ? "" : "s", verb);
	if (innodb)
		printf("db upgrade: %zu table%s converted to InnoDB\n", other,
		    other == 1 ? "" : "s");
	if (n > 0)
		es_log_notice("db %s: %zu schema items %s", argv[0], n, verb);
	if (other > 0)
		es_log_notice("db upgrade: %zu tables converted to InnoDB",
		    other);
	return EX_OK;
}
