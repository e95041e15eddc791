/*
 * cli_show.c - "edgespam user USER show [--json]": what the milter and
 * the engine would do for a user, and why.
 *
 * It prints the user (or that the store does not know it yet), the
 * domain's policy or default_policy, "filtered: yes" or "filtered: no
 * (why)", every preference edgespam reads with its effective value and
 * where that comes from, the learned totals (as "edgespam stats" shows
 * them) and whether the shared dictionary takes part. A user the store
 * does not know yet is shown the same way: that is the case an admin
 * asks about, and the milter decides it from the domain and uid 0's
 * defaults alone.
 *
 * Nothing here decides anything of its own: the filtering decision and
 * its words are cls_policy.h's (the milter's), the engine settings are
 * cls_engine_user_cfg()'s and cls_engine_pref_apply()'s, the shared
 * dictionary's part is cls_engine_shared_plan()'s. What this file adds
 * is where each value comes from:
 *   user                the user's own preference
 *   default (uid 0)     the store's default preferences
 *   configuration (key = value)   edgespam.conf
 *   built-in            the key's default (not in the file)
 * optIn and optOut are the user's own or not set: uid 0's are not used
 * for them (cls_policy.h). Store values are read into the same buffer
 * sizes the milter uses, so a long value is cut alike.
 *
 * Read-only: it creates no user and changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cls_policy.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

/* optIn, optOut, spamAction, signatureLocation and the engine's (4) */
#define NSETTINGS 16
#define VALUE_SIZE CLS_ENGINE_PREF_SIZE

/* One effective setting: its value, its source and a remark. */
struct setting {
	const char *key;
	char value[VALUE_SIZE];
	char source[160];
	char note[200];
	bool set; /* has a value (optIn, optOut may have none) */
};

/* Everything "show" reports, gathered before anything is printed. */
struct show {
	char user[CLS_USER_MAX + 1];
	bool exists;
	uint32_t uid; /* 0 when the store does not know the user */
	bool is_shared;
	char alias[CLS_USER_MAX + 1]; /* a retrain alias: its owner */
	bool postmaster;              /* "postmaster" without a domain */
	const char *domain; /* after '@' in user; NULL when none */
	char dclean[CLS_POLICY_DOMAIN_SIZE];
	char dtext[CLS_POLICY_TEXT_SIZE]; /* the domain's stored policy */
	int drc;                          /* cls_policy_of_domain() */
	enum cls_policy def, pol;
	char def_source[160];
	bool filtered;
	char why[160];
	struct setting s[NSETTINGS];
	size_t ns;
	struct store_totals tot;
	struct cls_merge merge;
	uint32_t guid;
	double maturity;
	double shared_threshold;
	double effective_threshold; /* what cls_score() compares with now */
	uint64_t learned_seen;      /* the learned messages it is ramped by */
	bool too_young;             /* below minTraining: nothing is Spam */
	struct cls_engine_cfg eff; /* the engine's settings for the user */
	const struct cls_engine_shared *shared; /* in eff */
	const struct cls_shared_opts *opts;     /* in eff */
};

/* new_setting - the next setting of sh; the table is sized for every
 * preference edgespam reads (abort() if the engine outgrew it). */
static struct setting *
new_setting(struct show *sh, const char *key)
{
	struct setting *st;

	if (sh->ns == NSETTINGS) {
		fprintf(stderr, "edgespam: too many preferences to show\n");
		abort();
	}
	st = &sh->s[sh->ns++];
	st->key = key;
	return st;
}

/* conf_source - "configuration (key = value)" when the file sets key,
 * else "built-in". */
static void
conf_source(const struct cli *c, const char *key, char *out, size_t len)
{
	if (conf_key_line(c->cf, key) != 0)
		snprintf(out, len, "configuration (%s = %s)", key,
		    conf_text(c->cf, key));
	else
		snprintf(out, len, "built-in");
}

/* pref - uid's value of key into val; false when unset (uid 0 of a
 * missing user: never read). A store error other than "not found" is
 * returned in *rc. */
static bool
pref(struct cli *c, uint32_t uid, bool read, const char *key, char *val,
    size_t len, int *rc)
{
	int r;

	val[0] = '\0';
	if (!read)
		return false;
	r = store_pref_get(c->st, uid, key, val, len);
	if (r == 0)
		return true;
	if (r != ES_ENOTFOUND)
		*rc = r;
	val[0] = '\0';
	return false;
}

/* opt_setting - optIn or optOut: the user's own, or not set. */
static void
opt_setting(struct cli *c, struct show *sh, const char *key, const char *val,
    int *rc)
{
	struct setting *st = new_setting(sh, key);
	char def[CLS_POLICY_PREF_SIZE];

	st->set = val[0] != '\0';
	snprintf(st->value, sizeof(st->value), "%s",
	    st->set ? val : "(not set)");
	snprintf(st->source, sizeof(st->source), "%s",
	    st->set ? "user" : "not set");
	if (!st->set && pref(c, 0, true, key, def, sizeof(def), rc))
		snprintf(st->note, sizeof(st->note),
		    "uid 0's %s = %s is not used: %s is per user", key, def,
		    key);
}

/*
 * caller_setting - spamAction or signatureLocation, as the milter reads
 * them: the user's value, else uid 0's, else def (from conf_key, or
 * built-in when conf_key is NULL).
 */
static void
caller_setting(struct cli *c, struct show *sh, const char *key,
    const char *conf_key, const char *def, int *rc)
{
	struct setting *st = new_setting(sh, key);

	st->set = true;
	if (pref(c, sh->uid, sh->exists, key, st->value, sizeof(st->value),
		rc))
		snprintf(st->source, sizeof(st->source), "user");
	else if (pref(c, 0, true, key, st->value, sizeof(st->value), rc))
		snprintf(st->source, sizeof(st->source), "default (uid 0)");
	else {
		snprintf(st->value, sizeof(st->value), "%s", def);
		if (conf_key != NULL)
			conf_source(c, conf_key, st->source,
			    sizeof(st->source));
		else
			snprintf(st->source, sizeof(st->source), "built-in");
	}
	if (strcmp(key, "spamAction") == 0 &&
	    (strcmp(st->value, "quarantine") == 0 ||
		strcmp(st->value, "deliver") == 0))
		snprintf(st->note, sizeof(st->note),
		    "DSPAM's %s: acts as tag (maildrop files the tagged "
		    "message)", st->value[0] == 'q' ? "quarantine" : "deliver");
	else if (strcmp(key, "spamAction") == 0 &&
	    strcmp(st->value, "reject") != 0 && strcmp(st->value, "tag") != 0)
		snprintf(st->note, sizeof(st->note), "not reject: acts as tag");
	if (strcmp(key, "signatureLocation") == 0 &&
	    strcmp(st->value, "headers") != 0 &&
	    strcmp(st->value, "message") != 0 && strcmp(st->value, "both") != 0)
		snprintf(st->note, sizeof(st->note),
		    "neither message nor both: acts as headers");
}

/* engine_value - the effective value of an engine preference in cfg. */
static void
engine_value(const struct cls_engine_cfg *cfg, const char *key, char *out,
    size_t len)
{
	if (strcmp(key, "trainingMode") == 0)
		snprintf(out, len, "%s", cls_mode_name(cfg->mode));
	else if (strcmp(key, "spamThreshold") == 0)
		snprintf(out, len, "%g", cfg->score.spam_threshold);
	else if (strcmp(key, "whitelistThreshold") == 0)
		snprintf(out, len, "%u", cfg->score.whitelist_threshold);
	else if (strcmp(key, "minTraining") == 0)
		snprintf(out, len, "%u", cfg->score.min_training);
	else
		snprintf(out, len, "?"); /* a key this file does not know */
}

/* engine_conf_key - the configuration key of an engine preference. */
static const char *
engine_conf_key(const char *key)
{
	if (strcmp(key, "trainingMode") == 0)
		return "training_mode";
	if (strcmp(key, "spamThreshold") == 0)
		return "spam_threshold";
	if (strcmp(key, "whitelistThreshold") == 0)
		return "whitelist_threshold";
	if (strcmp(key, "minTraining") == 0)
		return "min_training";
	return NULL;
}

/*
 * engine_setting - one engine preference: its value is eff's (what
 * cls_engine_user_cfg() made); its source the first usable of the
 * user's value and uid 0's, else the configuration. An unusable value
 * is named in the note.
 */
static void
engine_setting(struct cli *c, struct show *sh, const char *key,
    const struct cls_engine_cfg *eff, int *rc)
{
	struct setting *st = new_setting(sh, key);
	struct cls_engine_cfg scratch = *eff;
	char uv[VALUE_SIZE], dv[VALUE_SIZE];
	bool have_u, have_d, ok_u, ok_d;

	st->set = true;
	engine_value(eff, key, st->value, sizeof(st->value));
	have_u = pref(c, sh->uid, sh->exists, key, uv, sizeof(uv), rc);
	have_d = pref(c, 0, true, key, dv, sizeof(dv), rc);
	ok_u = have_u && cls_engine_pref_apply(&scratch, key, uv) == 0;
	ok_d = have_d && cls_engine_pref_apply(&scratch, key, dv) == 0;
	if (ok_u)
		snprintf(st->source, sizeof(st->source), "user");
	else if (ok_d)
		snprintf(st->source, sizeof(st->source), "default (uid 0)");
	else if (engine_conf_key(key) != NULL)
		conf_source(c, engine_conf_key(key), st->source,
		    sizeof(st->source));
	else
		snprintf(st->source, sizeof(st->source), "built-in");
	if (have_u && !ok_u)
		snprintf(st->note, sizeof(st->note),
		    "the user's value '%s' is not usable and is ignored", uv);
	else if (have_d && !ok_d && !ok_u)
		snprintf(st->note, sizeof(st->note),
		    "uid 0's value '%s' is not usable and is ignored", dv);
}

/*
 * alias_check - whether the name given (arg, with its extension) or the
 * user name it makes is a retrain alias, as the milter's recipient
 * decision sees it (both forms); its owner into sh->alias.
 */
static void
alias_check(const struct cli *c, const char *arg, struct show *sh)
{
	const char *const *pats = conf_list(c->cf, "retrain_aliases");
	char full[CLS_USER_MAX + 1], owner[2 * CLS_USER_MAX + 2];
	const char *cand[2] = {NULL, sh->user};
	size_t n, i;

	for (n = 0; pats[n] != NULL; n++)
		;
	if (cls_user_normalize(arg, strlen(arg), NULL, full, sizeof(full)) ==
	    0)
		cand[0] = full;
	for (i = 0; i < 2; i++)
		if (cand[i] != NULL &&
		    cls_policy_alias_owner(pats, n, cand[i], owner,
			sizeof(owner)) &&
		    cls_user_normalize(owner, strlen(owner), NULL, sh->alias,
			sizeof(sh->alias)) == 0)
			return;
	sh->alias[0] = '\0';
	sh->postmaster = strcmp(sh->user, "postmaster") == 0;
}

/* decide - the domain policy and the filtering decision, as the
 * milter's lookup_user() makes them. */
static void
decide(struct cli *c, struct show *sh, int *rc)
{
	char in[CLS_POLICY_PREF_SIZE] = "", out[CLS_POLICY_PREF_SIZE] = "";
	int r;

	(void)cls_policy_parse(conf_str(c->cf, "default_policy"), &sh->def);
	conf_source(c, "default_policy", sh->def_source,
	    sizeof(sh->def_source));
	sh->pol = sh->def;
	sh->drc = ES_ENOTFOUND;
	if (sh->domain != NULL) {
		es_log_sanitize(sh->domain, strlen(sh->domain), sh->dclean,
		    sizeof(sh->dclean));
		r = store_domain_get(c->st, sh->domain, sh->dtext,
		    sizeof(sh->dtext));
		if (r == 0)
			sh->drc = cls_policy_of_domain(sh->def, sh->dtext,
			    &sh->pol);
		else if (r != ES_ENOTFOUND)
			*rc = r;
	}
	pref(c, sh->uid, sh->exists, "optIn", in, sizeof(in), rc);
	pref(c, sh->uid, sh->exists, "optOut", out, sizeof(out), rc);
	sh->filtered = !sh->is_shared && sh->alias[0] == '\0' &&
	    !sh->postmaster && cls_policy_filtered(sh->pol, in, out);
	if (sh->is_shared)
		snprintf(sh->why, sizeof(sh->why),
		    "the shared dictionary: no mail reaches it");
	else if (sh->alias[0] != '\0')
		snprintf(sh->why, sizeof(sh->why), "retrain alias of %s",
		    sh->alias);
	else if (sh->postmaster)
		snprintf(sh->why, sizeof(sh->why), "postmaster");
	else if (!sh->filtered)
		cls_policy_why_not(sh->pol, sh->drc == 0 ? sh->dclean : NULL,
		    in, out, sh->why, sizeof(sh->why));
	opt_setting(c, sh, "optIn", in, rc);
	opt_setting(c, sh, "optOut", out, rc);
}

/* effective_threshold - the Spam threshold the scorer uses for the user
 * now (cls_score_threshold): the shared dictionary's while it takes part,
 * ramped over the learned messages the scorer sees (the merged counts
 * while the dictionary takes part, else the user's own ct). */
static void
effective_threshold(struct show *sh, const struct cls_totals *ct)
{
	struct cls_score_opts o = sh->eff.score;
	const struct cls_totals *t = sh->merge.active ? &sh->merge.tot : ct;

	if (sh->merge.active)
		o.spam_threshold = sh->shared_threshold;
	sh->effective_threshold = cls_score_threshold(&o, t);
	sh->learned_seen = t->spam_learned + t->innocent_learned;
	sh->too_young = t->spam_learned < o.min_training ||
	    t->innocent_learned < o.min_training;
}

/* gather - everything shown for sh->user (given as arg); 0 or a store
 * error. */
static int
gather(struct cli *c, const char *arg, struct show *sh)
{
	struct cls_engine_cfg base, *eff = &sh->eff;
	struct cls_totals ct;
	const char *key;
	size_t i;
	int rc = 0;

	if ((rc = conf_engine_cfg(c->cf, &base)) != 0)
		return rc;
	rc = store_user_uid(c->st, sh->user, false, &sh->uid);
	if (rc != 0 && rc != ES_ENOTFOUND)
		return rc;
	sh->exists = rc == 0;
	if (!sh->exists)
		sh->uid = 0;
	rc = 0;
	sh->is_shared = cli_shared_user(c, sh->user);
	if (!sh->is_shared)
		alias_check(c, arg, sh);
	/* the shared dictionary's '@' starts no domain */
	sh->domain = sh->is_shared ? NULL : strchr(sh->user, '@');
	if (sh->domain != NULL)
		sh->domain++;
	decide(c, sh, &rc);
	caller_setting(c, sh, "spamAction", NULL, "tag", &rc);
	caller_setting(c, sh, "signatureLocation", "signature_location",
	    conf_signature_location_name(c->cf), &rc);
	/* a missing user's engine settings are uid 0's (uid 0 alone) */
	if (rc == 0)
		rc = cls_engine_user_cfg(c->st, sh->uid, &base, eff);
	for (i = 0; rc == 0 && (key = cls_engine_pref_key(i)) != NULL; i++)
		engine_setting(c, sh, key, eff, &rc);
	if (rc != 0)
		return rc;
	memset(&sh->tot, 0, sizeof(sh->tot));
	if (sh->exists && (rc = store_totals_get(c->st, sh->uid, &sh->tot)) != 0)
		return rc;
	ct.spam_learned = sh->tot.spam_learned > 0
	    ? (uint64_t)sh->tot.spam_learned
	    : 0;
	ct.innocent_learned = sh->tot.innocent_learned > 0
	    ? (uint64_t)sh->tot.innocent_learned
	    : 0;
	sh->shared = &eff->shared;
	sh->opts = &eff->shared.opts;
	sh->maturity = cls_shared_maturity(sh->opts, &ct);
	if ((rc = cls_engine_shared_plan(c->st, sh->uid, eff, &ct, &sh->guid,
		 &sh->merge)) != 0)
		return rc;
	sh->shared_threshold = eff->shared.spam_threshold > 0
	    ? cls_shared_threshold(eff->score.spam_threshold,
		  eff->shared.spam_threshold, sh->merge.user_weight)
	    : eff->score.spam_threshold;
	effective_threshold(sh, &ct);
	return 0;
}

/* threshold_reason - where the Spam threshold in use comes from. */
static void
threshold_reason(const struct show *sh, char *out, size_t len)
{
	double set = sh->merge.active ? sh->shared_threshold
	                              : sh->eff.score.spam_threshold;
	const char *what = sh->merge.active ? "the shared dictionary's"
	                                    : "spamThreshold";

	if (sh->effective_threshold == set)
		snprintf(out, len, "%s as set", what);
	else
		snprintf(out, len, "%s %.4g, ramped over the %llu messages "
		    "learned: threshold_ramp = %u", what, set,
		    (unsigned long long)sh->learned_seen,
		    sh->eff.score.threshold_ramp);
	if (sh->too_young) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, "; nothing is called Spam before "
		    "%u of each class are learned (minTraining)",
		    sh->eff.score.min_training);
	}
}

/* shared_reason - whether the shared dictionary takes part, and why
 * (not), into out. */
static void
shared_reason(const struct show *sh, char *out, size_t len)
{
	const struct cls_engine_shared *g = sh->shared;

	if (sh->merge.active)
		snprintf(out, len, "%s takes part, user weight %.2f: %lld of "
		    "%llu spam, %lld of %llu innocent learned; Spam "
		    "threshold %.4g while it does", g->name,
		    sh->merge.user_weight, (long long)sh->tot.spam_learned,
		    (unsigned long long)sh->opts->spam_min,
		    (long long)sh->tot.innocent_learned,
		    (unsigned long long)sh->opts->innocent_min,
		    sh->shared_threshold);
	else if (g->name[0] == '\0')
		snprintf(out, len, "none is configured: shared_dictionary = "
		    "\"\"");
	else if (sh->is_shared)
		snprintf(out, len, "this is the shared dictionary");
	else if (sh->maturity >= 1.0)
		snprintf(out, len, "the user is mature, %lld of %llu spam and "
		    "%lld of %llu innocent learned: its own statistics "
		    "stand alone", (long long)sh->tot.spam_learned,
		    (unsigned long long)sh->opts->spam_min,
		    (long long)sh->tot.innocent_learned,
		    (unsigned long long)sh->opts->innocent_min);
	else if (sh->guid == 0)
		snprintf(out, len, "the user is young, weight %.2f, but %s "
		    "is not in the store", sh->maturity, g->name);
	else
		snprintf(out, len, "the user is young, weight %.2f, but %s "
		    "has not learned both classes", sh->maturity, g->name);
}

/* policy_source - where the policy comes from, into out. */
static void
policy_source(const struct show *sh, char *out, size_t len)
{
	if (sh->drc == 0)
		snprintf(out, len, "domain %s (edgespam domain)", sh->dclean);
	else if (sh->domain == NULL)
		snprintf(out, len, "default_policy: %s; no domain in the name",
		    sh->def_source);
	else if (sh->drc == ES_EINVAL)
		snprintf(out, len, "default_policy: %s; domain %s has the "
		    "unknown policy \"%s\"", sh->def_source, sh->dclean,
		    sh->dtext);
	else
		snprintf(out, len, "default_policy: %s; domain %s has no "
		    "policy of its own", sh->def_source, sh->dclean);
}

/* other_pref - a stored preference edgespam does not read. */
static int
other_pref(const char *key, const char *value, void *arg)
{
	if (cli_known_pref(key))
		return 0;
	if (*(bool *)arg) {
		fputs("other preferences (stored, not read by edgespam):\n",
		    stdout);
		*(bool *)arg = false;
	}
	printf("  %s = %s\n", key, value);
	return 0;
}

static void
print_text(struct cli *c, const struct show *sh)
{
	char line[512];
	bool first = true;
	size_t i;

	if (sh->exists)
		printf("user: %s (uid %u)\n", sh->user, (unsigned)sh->uid);
	else
		printf("user: %s (not in the store yet: no preferences of its "
		       "own, nothing learned)\n", sh->user);
	policy_source(sh, line, sizeof(line));
	printf("%-18s = %-10s %s\n", "policy", cls_policy_name(sh->pol),
	    line);
	if (sh->filtered)
		printf("filtered: yes\n");
	else
		printf("filtered: no (%s)\n", sh->why);
	for (i = 0; i < sh->ns; i++)
		printf("%-18s = %-10s %s%s%s\n", sh->s[i].key, sh->s[i].value,
		    sh->s[i].source, sh->s[i].note[0] ? "; " : "",
		    sh->s[i].note);
	cli_stats_header();
	cli_stats_row(sh->user, &sh->tot);
	threshold_reason(sh, line, sizeof(line));
	printf("spam threshold now: %.4g (%s)\n", sh->effective_threshold,
	    line);
	shared_reason(sh, line, sizeof(line));
	printf("shared dictionary: %s (%s)\n",
	    sh->merge.active ? "yes" : "no", line);
	if (sh->exists)
		(void)store_prefs(c->st, sh->uid, other_pref, &first);
}

static void
print_json(const struct show *sh)
{
	char line[512];
	size_t i;

	printf("{\"user\": ");
	cli_json_str(stdout, sh->user);
	printf(", \"exists\": %s, \"uid\": %u, \"domain\": ",
	    sh->exists ? "true" : "false", (unsigned)sh->uid);
	if (sh->domain != NULL)
		cli_json_str(stdout, sh->dclean);
	else
		printf("null");
	printf(", \"policy\": ");
	cli_json_str(stdout, cls_policy_name(sh->pol));
	policy_source(sh, line, sizeof(line));
	printf(", \"policy_source\": ");
	cli_json_str(stdout, line);
	printf(", \"filtered\": %s, \"why\": ",
	    sh->filtered ? "true" : "false");
	if (sh->filtered)
		printf("null");
	else
		cli_json_str(stdout, sh->why);
	printf(", \"settings\": {");
	for (i = 0; i < sh->ns; i++) {
		printf("%s", i ? ", " : "");
		cli_json_str(stdout, sh->s[i].key);
		printf(": {\"value\": ");
		if (sh->s[i].set)
			cli_json_str(stdout, sh->s[i].value);
		else
			printf("null");
		printf(", \"source\": ");
		cli_json_str(stdout, sh->s[i].source);
		if (sh->s[i].note[0] != '\0') {
			printf(", \"note\": ");
			cli_json_str(stdout, sh->s[i].note);
		}
		printf("}");
	}
	printf("}, \"learned\": {\"spam\": %lld, \"innocent\": %lld, "
	       "\"spam_misclassified\": %lld, \"innocent_misclassified\": "
	       "%lld}",
	    (long long)sh->tot.spam_learned, (long long)sh->tot.innocent_learned,
	    (long long)sh->tot.spam_misclassified,
	    (long long)sh->tot.innocent_misclassified);
	threshold_reason(sh, line, sizeof(line));
	printf(", \"spam_threshold\": {\"now\": %.6g, \"why\": ",
	    sh->effective_threshold);
	cli_json_str(stdout, line);
	printf("}");
	shared_reason(sh, line, sizeof(line));
	printf(", \"shared_dictionary\": {\"takes_part\": %s, \"user_weight\": "
	       "%.4f, \"why\": ",
	    sh->merge.active ? "true" : "false", sh->maturity);
	cli_json_str(stdout, line);
	printf("}}\n");
}

int
cli_user_show(struct cli *c, const char *arg, int argc, char **argv)
{
	struct show *sh;
	bool json = false;
	int rc;

	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		json = true;
	else if (argc != 0) {
		fputs("usage: edgespam user USER show [--json]\n", stderr);
		return EX_USAGE;
	}
	if ((sh = es_calloc(1, sizeof(*sh))) == NULL) {
		fputs("edgespam: out of memory\n", stderr);
		return EX_OSERR;
	}
	if (!cli_user_name(c, arg, sh->user, sizeof(sh->user))) {
		fprintf(stderr, "edgespam: %s: not a user name\n", arg);
		es_free(sh);
		return EX_USAGE;
	}
	if (!cli_may_act_for(c, sh->user)) {
		fprintf(stderr, "edgespam: not allowed\n");
		es_free(sh);
		return EX_NOPERM;
	}
	if ((rc = gather(c, arg, sh)) != 0) {
		fprintf(stderr, "edgespam: %s: %s: %s\n", sh->user,
		    es_strerror(rc), store_errmsg(c->st));
		es_free(sh);
		return cli_exit_code(rc);
	}
	if (json)
		print_json(sh);
	else
		print_text(c, sh);
	es_free(sh);
	return EX_OK;
}
