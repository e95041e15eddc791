/*
 * cli_dspam.c - DSPAM's daily tools as edgespam commands: stats (with
 * dspam_stats' flags), dump (dspam_dump) and merge (dspam_merge).
 *
 *   stats [-H] [-S] [-t] [-r] [-s] [--dspam] [--json] [USER...]
 *     Without flags: edgespam's table (cli_stats_header). Any of
 *     dspam_stats' flags, or --dspam, prints dspam_stats' lines instead,
 *     so that scripts written for it (munin's DSPAM plugin) read them:
 *       USER  TP:n TN:n FP:n FN:n SC:n NC:n   (user name padded to 16)
 *     -S adds a line of SHR (spam hit rate: spam caught / all spam), HSR
 *     (ham strike rate: innocent called spam / all innocent) and OCA
 *     (overall accuracy); -H prints each user as a block of long names
 *     (with TL, the training left: 2500 innocent messages minus those
 *     learned and classified, and PPV); -t adds a line "TOTAL", the sum
 *     over the users shown; -r takes a snapshot of each user's counts,
 *     -s shows the counts since that snapshot. --json prints all of it
 *     as one JSON object (users[], total when -t).
 *     The counts are DSPAM's: TP = spam learned + spam classified - spam
 *     misclassified - spam corpusfed (never below 0), TN alike, FP =
 *     innocent misclassified, FN = spam misclassified, SC and NC the
 *     corpusfed counts. DSPAM keeps the snapshot in a file "rstats" in
 *     the user's directory; edgespam has no user directory and keeps it
 *     as the user's preference "statsSnapshot" (TP,TN,FN,FP,SC,NC, the
 *     order of DSPAM's file), so that every node of a cluster sees it.
 *     DSPAM's TOTAL line leaves out the classified counts (a slip of
 *     dspam_stats); edgespam's sums every count.
 *   dump USER [TOKEN...]
 *     Every token row of USER as dspam_dump prints it: the id (unsigned
 *     decimal, padded to 20), S: spam hits and I: innocent hits (five
 *     digits, zero-padded), P: the token's spam probability as DSPAM's
 *     default (graham) computes it from the user's totals, LH: the last
 *     hit (ctime's form, UTC midnight of the stored day). With TOKENs
 *     (token texts, e.g. "viagra" or "Subject*free", hashed as DSPAM
 *     hashes them; a purely numeric TOKEN is taken as an id, as
 *     DSPAM's texts never are) only those rows, without LH; a TOKEN the
 *     user lacks is "token not found" on stderr and exit 1, as
 *     dspam_dump.
 *   merge USER... --into USER [--as-corpus] (dspam_merge's -o too)
 *     As DSPAM 3.10's dspam_merge: adds the token counts (and
 *     edgespam's weights) of every source user to the target's own
 *     counts, which it keeps, and the sources' learned totals to the
 *     target's learned totals; the target's corpusfed, misclassified
 *     and classified totals stay as they are. (dspam_merge adds up
 *     target + sources in its own code; DSPAM's MySQL driver then
 *     skips the tokens the target already had, a quirk of that driver
 *     not copied here.) --as-corpus adds the learned totals to the
 *     corpusfed totals too, so that statistics do not count the merged
 *     messages as the target's true positives (what DSPAM 3.6's
 *     dspam_merge did). Runs in transactions of MERGE_BATCH rows; the
 *     sources are not changed.
 *
 * Only root and trusted_users may merge, dump or show another user's
 * statistics; a user may dump and show its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cls_score.h"
#include "cls_token.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

#define MERGE_BATCH 5000
#define MERGE_MAX_SOURCES 64
/* DSPAM's TL: innocent messages a user should see before it is trained */
#define TRAINING_GOAL 2500
#define SNAPSHOT_PREF "statsSnapshot"

/* store_error - report a store failure; the exit code. */
static int
store_error(const struct cli *c, const char *what, int rc)
{
	fprintf(stderr, "edgespam: %s: %s: %s\n", what, es_strerror(rc),
	    store_errmsg(c->st));
	return cli_exit_code(rc);
}

/* named_uid - the uid of a user named on the command line (normalised
 * as the milter does; the shared dictionary as it is). */
static int
named_uid(struct cli *c, const char *arg, bool create, char *user,
    size_t len, uint32_t *uid)
{
	int rc;

	if (cli_shared_user(c, arg))
		strlcpy(user, arg, len);
	else if (!cli_user_name(c, arg, user, len)) {
		fprintf(stderr, "edgespam: %s: not a user name\n", arg);
		return EX_USAGE;
	}
	CLI_RETRY(c, rc, store_user_uid(c->st, user, create, uid));
	if (rc == ES_ENOTFOUND) {
		fprintf(stderr, "edgespam: no user %s\n", user);
		return EX_NOUSER;
	}
	return rc != 0 ? store_error(c, user, rc) : EX_OK;
}

/* ---- stats ---- */

/* DSPAM's six counts of a user (or of the total). */
struct dcounts {
	long long tp, tn, fp, fn, sc, nc, tl;
};

struct stats_opts {
	bool human, rates, total, reset, snapshot, dspam, json;
	bool first; /* no JSON user printed yet */
	struct store_totals sum;
	int rc;
	struct cli *c;
};

/* nonneg0 - a count that cannot go below zero. */
static long long
nonneg0(long long v)
{
	return v < 0 ? 0 : v;
}

/* dspam_counts - TP..NC and TL of totals t. */
static void
dspam_counts(const struct store_totals *t, struct dcounts *d)
{
	d->tp = nonneg0(t->spam_learned + t->spam_classified -
	    t->spam_misclassified - t->spam_corpusfed);
	d->tn = nonneg0(t->innocent_learned + t->innocent_classified -
	    t->innocent_misclassified - t->innocent_corpusfed);
	d->fp = t->innocent_misclassified;
	d->fn = t->spam_misclassified;
	d->sc = t->spam_corpusfed;
	d->nc = t->innocent_corpusfed;
	d->tl = nonneg0(TRAINING_GOAL -
	    (t->innocent_learned + t->innocent_classified));
}

/* pct - 100 * a / b, or dflt when b is 0. */
static double
pct(long long a, long long b, double dflt)
{
	return b > 0 ? 100.0 * (double)a / (double)b : dflt;
}

/* print_user - one user's (or the total's) lines in the chosen form. */
static void
print_user(struct stats_opts *o, const char *name, const struct dcounts *d)
{
	long long all_spam = d->tp + d->fn, all_inno = d->tn + d->fp;
	double shr = 100.0 - pct(d->fn, all_spam, 0.0);
	double hsr = pct(d->fp, all_inno, 0.0);
	double ppv = pct(d->tp, d->tp + d->fp, 100.0);
	double oca = 100.0 - pct(d->fn + d->fp, all_spam + all_inno, 0.0);

	if (o->json) {
		printf("%s\n    {\"user\": ", o->first ? "" : ",");
		cli_json_str(stdout, name);
		printf(", \"TP\": %lld, \"TN\": %lld, \"FP\": %lld, \"FN\": "
		       "%lld, \"SC\": %lld, \"NC\": %lld, \"TL\": %lld, "
		       "\"SHR\": %.2f, \"HSR\": %.2f, \"PPV\": %.2f, "
		       "\"OCA\": %.2f}",
		    d->tp, d->tn, d->fp, d->fn, d->sc, d->nc, d->tl, shr, hsr,
		    ppv, oca);
		o->first = false;
		return;
	}
	if (o->human) {
		printf("%s:\n", name);
		printf("\tTP True Positives:              %8lld\n", d->tp);
		printf("\tTN True Negatives:              %8lld\n", d->tn);
		printf("\tFP False Positives:             %8lld\n", d->fp);
		printf("\tFN False Negatives:             %8lld\n", d->fn);
		printf("\tSC Spam Corpusfed:              %8lld\n", d->sc);
		printf("\tNC Nonspam Corpusfed:           %8lld\n", d->nc);
		printf("\tTL Training Left:               %8lld\n", d->tl);
		printf("\tSHR Spam Hit Rate:              %7.2f%%\n", shr);
		printf("\tHSR Ham Strike Rate:            %7.2f%%\n", hsr);
		printf("\tPPV Positive predictive value:  %7.2f%%\n", ppv);
		printf("\tOCA Overall Accuracy:           %7.2f%%\n\n", oca);
		return;
	}
	printf("%-16s  TP:%6lld TN:%6lld FP:%6lld FN:%6lld SC:%6lld NC:%6lld\n",
	    name, d->tp, d->tn, d->fp, d->fn, d->sc, d->nc);
	if (o->rates)
		printf("%18sSHR: %7.2f%%       HSR: %7.2f%%       OCA: %7.2f%%\n",
		    "", shr, hsr, oca);
}

/* snapshot_apply - subtract uid's snapshot (when it has one) from d. */
static int
snapshot_apply(struct cli *c, uint32_t uid, struct dcounts *d)
{
	char val[80];
	long long s[6];
	int rc;

	rc = store_pref_get(c->st, uid, SNAPSHOT_PREF, val, sizeof(val));
	if (rc == ES_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (sscanf(val, "%lld,%lld,%lld,%lld,%lld,%lld", &s[0], &s[1], &s[2],
		&s[3], &s[4], &s[5]) != 6)
		return 0; /* not ours: ignored, as DSPAM ignores a bad file */
	d->tp -= s[0];
	d->tn -= s[1];
	d->fn -= s[2];
	d->fp -= s[3];
	d->sc -= s[4];
	d->nc -= s[5];
	return 0;
}

/* stat_one - gather, print (and snapshot) one user. */
static int
stat_one(uint32_t uid, const char *name, void *arg)
{
	struct stats_opts *o = arg;
	struct store_totals t;
	struct dcounts d, now;
	char snap[80];
	int rc;

	if ((rc = store_totals_get(o->c->st, uid, &t)) != 0) {
		o->rc = store_error(o->c, name, rc);
		return 1;
	}
	o->sum.spam_learned += t.spam_learned;
	o->sum.innocent_learned += t.innocent_learned;
	o->sum.spam_misclassified += t.spam_misclassified;
	o->sum.innocent_misclassified += t.innocent_misclassified;
	o->sum.spam_corpusfed += t.spam_corpusfed;
	o->sum.innocent_corpusfed += t.innocent_corpusfed;
	o->sum.spam_classified += t.spam_classified;
	o->sum.innocent_classified += t.innocent_classified;
	dspam_counts(&t, &now);
	d = now;
	if (o->snapshot && (rc = snapshot_apply(o->c, uid, &d)) != 0) {
		o->rc = store_error(o->c, name, rc);
		return 1;
	}
	if (o->dspam || o->json)
		print_user(o, name, &d);
	else
		cli_stats_row(name, &t);
	if (o->reset) {
		snprintf(snap, sizeof(snap), "%lld,%lld,%lld,%lld,%lld,%lld",
		    now.tp, now.tn, now.fn, now.fp, now.sc, now.nc);
		CLI_RETRY(o->c, rc, store_pref_set(o->c->st, uid,
					SNAPSHOT_PREF, snap));
		if (rc != 0) {
			o->rc = store_error(o->c, name, rc);
			return 1;
		}
	}
	return 0;
}

static int
stats_usage(void)
{
	fputs("usage: edgespam stats [-H] [-S] [-t] [-r] [-s] [--dspam] "
	      "[--json] [USER...]\n"
	      "       edgespam stats USER --daily [--days N] [--json]\n",
	    stderr);
	return EX_USAGE;
}

/* stats_flags - parse "-HSt" style flags into o; the index of the first
 * user, or -1 on a usage error. */
static int
stats_flags(struct stats_opts *o, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--dspam") == 0) {
			o->dspam = true;
			continue;
		}
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[1] == '\0' || a[1] == '-')
			return -1;
		for (a++; *a != '\0'; a++) {
			switch (*a) {
			case 'H': o->human = true; break;
			case 'S': o->rates = true; break;
			case 't': o->total = true; break;
			case 'r': o->reset = true; break;
			case 's': o->snapshot = true; break;
			default: return -1;
			}
		}
		o->dspam = true;
	}
	return i;
}

int
cli_stats(struct cli *c, int argc, char **argv)
{
	struct stats_opts o;
	char user[CLS_USER_MAX + 1];
	struct dcounts d;
	uint32_t uid;
	int first, i, rc;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--daily") == 0)
			return cli_stats_daily(c, argc, argv);
	memset(&o, 0, sizeof(o));
	o.c = c;
	o.first = true;
	if ((first = stats_flags(&o, argc, argv)) < 0)
		return stats_usage();
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	for (i = first; i < argc; i++) {
		if (cli_shared_user(c, argv[i]))
			strlcpy(user, argv[i], sizeof(user));
		else if (!cli_user_name(c, argv[i], user, sizeof(user))) {
			fprintf(stderr, "edgespam: %s: not a user name\n",
			    argv[i]);
			return EX_USAGE;
		}
		if (!cli_may_act_for(c, user) ||
		    (o.reset && !cli_trusted(c))) {
			fprintf(stderr, "edgespam: not allowed\n");
			return EX_NOPERM;
		}
	}
	if (first == argc && !cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may list "
		                "every user\n");
		return EX_NOPERM;
	}
	if (o.json)
		fputs("{\"users\": [", stdout);
	else if (!o.dspam)
		cli_stats_header();
	for (i = first; i < argc && o.rc == EX_OK; i++) {
		if ((rc = named_uid(c, argv[i], false, user, sizeof(user),
			 &uid)) != EX_OK)
			return rc;
		stat_one(uid, user, &o);
	}
	if (first == argc && (rc = store_users(c->st, stat_one, &o)) != 0 &&
	    o.rc == EX_OK)
		return store_error(c, "users", rc);
	if (o.rc != EX_OK)
		return o.rc;
	dspam_counts(&o.sum, &d);
	if (o.json) {
		fputs(o.first ? "]" : "\n  ]", stdout);
		if (o.total) {
			fputs(",\n  \"total\": ", stdout);
			o.first = true;
			print_user(&o, "TOTAL", &d);
		}
		fputs("}\n", stdout);
	} else if (o.total && o.dspam) {
		print_user(&o, "TOTAL", &d);
	} else if (o.total) {
		cli_stats_row("TOTAL", &o.sum);
	}
	return EX_OK;
}

/* ---- dump ---- */

struct dump_arg {
	struct cls_totals tot;
	struct cls_score_opts so;
	bool with_lh;
};

/* dspam_prob - the token's probability as dspam_dump shows it. */
static double
dspam_prob(const struct dump_arg *da, const struct store_token *t)
{
	struct cls_stat s;
	struct cls_verdict v;

	memset(&s, 0, sizeof(s));
	s.id = t->token;
	s.spam_hits = t->spam_hits;
	s.innocent_hits = t->innocent_hits;
	s.count = 1;
	if (cls_score(&s, 1, &da->tot, &da->so, 0, &v) != 0)
		return 0.5;
	return s.prob;
}

/* dump_row - one line of dump. */
static int
dump_row(const struct store_token *t, void *arg)
{
	const struct dump_arg *da = arg;
	char lh[64] = "";

	if (da->with_lh) {
		time_t when = (time_t)t->last_hit * 86400;
		struct tm tm;

		if (gmtime_r(&when, &tm) == NULL ||
		    strftime(lh, sizeof(lh), "%a %b %e %H:%M:%S %Y", &tm) == 0)
			strlcpy(lh, "?", sizeof(lh));
		printf("%-20llu S: %05llu  I: %05llu  P: %0.4f LH: %s\n",
		    (unsigned long long)t->token,
		    (unsigned long long)t->spam_hits,
		    (unsigned long long)t->innocent_hits, dspam_prob(da, t), lh);
	} else {
		printf("%-20llu S: %05llu  I: %05llu  P: %0.4f\n",
		    (unsigned long long)t->token,
		    (unsigned long long)t->spam_hits,
		    (unsigned long long)t->innocent_hits, dspam_prob(da, t));
	}
	return 0;
}

/* token_id - a TOKEN argument as an id: all digits (fitting 64 bits) is
 * an id, anything else a token text hashed as DSPAM does. */
static uint64_t
token_id(const char *arg)
{
	const char *p = arg;
	unsigned long long v;
	char *end;

	for (; *p >= '0' && *p <= '9'; p++)
		;
	if (*p == '\0' && p != arg && p - arg <= 20) {
		v = strtoull(arg, &end, 10);
		if (*end == '\0' && !(v == ~0ULL && strcmp(arg,
		    "18446744073709551615") != 0))
			return v;
	}
	return cls_crc64(arg, strlen(arg));
}

int
cli_dump(struct cli *c, int argc, char **argv)
{
	struct dump_arg da;
	struct store_totals t;
	char user[CLS_USER_MAX + 1];
	uint32_t uid;
	int i, rc, status = EX_OK;

	if (argc < 1) {
		fputs("usage: edgespam dump USER [TOKEN...]\n", stderr);
		return EX_USAGE;
	}
	/* who may: decided before the store says whether the user exists */
	if (!cli_shared_user(c, argv[0]) &&
	    cli_user_name(c, argv[0], user, sizeof(user)) &&
	    !cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed\n");
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if ((rc = named_uid(c, argv[0], false, user, sizeof(user), &uid)) !=
	    EX_OK)
		return rc;
	if (!cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed\n");
		return EX_NOPERM;
	}
	if ((rc = store_totals_get(c->st, uid, &t)) != 0)
		return store_error(c, user, rc);
	memset(&da, 0, sizeof(da));
	da.tot.spam_learned = t.spam_learned > 0 ? (uint64_t)t.spam_learned : 0;
	da.tot.innocent_learned =
	    t.innocent_learned > 0 ? (uint64_t)t.innocent_learned : 0;
	cls_score_opts_default(&da.so, CLS_ALGO_GRAHAM);
	da.so.whitelist_threshold = 0;
	if (argc == 1) {
		da.with_lh = true;
		if ((rc = store_tokens_list(c->st, uid, dump_row, &da)) != 0)
			return store_error(c, "dump", rc);
		return EX_OK;
	}
	for (i = 1; i < argc; i++) {
		struct store_token tok;

		memset(&tok, 0, sizeof(tok));
		tok.token = token_id(argv[i]);
		if ((rc = store_tokens_get(c->st, uid, &tok, 1)) != 0)
			return store_error(c, "dump", rc);
		if (tok.spam_hits == 0 && tok.innocent_hits == 0 &&
		    tok.last_hit == 0) {
			fprintf(stderr, "%s: token not found\n", argv[i]);
			status = 1;
			continue;
		}
		dump_row(&tok, &da);
	}
	return status;
}

/* ---- merge ---- */

struct merge_set {
	struct store_token *v;
	size_t n, cap;
	int rc;
};

/* collect - append a source row to the set. */
static int
collect(const struct store_token *t, void *arg)
{
	struct merge_set *m = arg;
	void *p;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4096;

		if ((p = es_reallocarray(m->v, cap, sizeof(*m->v))) == NULL) {
			m->rc = ES_ENOMEM;
			return 1;
		}
		m->v = p;
		m->cap = cap;
	}
	m->v[m->n++] = *t;
	return 0;
}

/* tok_order - qsort order by id. */
static int
tok_order(const void *a, const void *b)
{
	uint64_t x = ((const struct store_token *)a)->token;
	uint64_t y = ((const struct store_token *)b)->token;

	return x < y ? -1 : x > y;
}

/* sum_rows - sort the set and add up the rows of each id in place. */
static void
sum_rows(struct merge_set *m)
{
	size_t i, o = 0;

	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), tok_order);
	for (i = 1; i < m->n; i++) {
		if (m->v[i].token == m->v[o].token) {
			m->v[o].spam_hits += m->v[i].spam_hits;
			m->v[o].innocent_hits += m->v[i].innocent_hits;
			m->v[o].weight += m->v[i].weight;
		} else {
			m->v[++o] = m->v[i];
		}
	}
	m->n = o + 1;
}

/* part - what of a count fits one delta (int32); the rest stays. */
static int32_t
part(uint64_t *left)
{
	uint64_t p = *left > INT32_MAX ? INT32_MAX : *left;

	*left -= p;
	return (int32_t)p;
}

/* put_batch - n deltas to uid in a transaction of their own; 0 or an
 * es_err code (rolled back). */
static int
put_batch(struct store *st, uint32_t uid, const struct store_delta *d,
    size_t n, time_t now)
{
	int rc;

	if ((rc = store_begin(st, true)) != 0)
		return rc;
	if ((rc = store_tokens_put(st, uid, d, n, now)) != 0 ||
	    (rc = store_commit(st)) != 0)
		store_rollback(st);
	return rc;
}

/* merge_write - add the summed rows to uid in transactions of
 * MERGE_BATCH rows; counts beyond INT32_MAX take further passes. */
static int
merge_write(struct cli *c, uint32_t uid, struct merge_set *m, time_t now)
{
	struct store_delta *d;
	bool more = true;
	size_t i, k;
	int rc = 0;

	if ((d = es_reallocarray(NULL, MERGE_BATCH, sizeof(*d))) == NULL)
		return ES_ENOMEM;
	for (int pass = 0; more && rc == 0; pass++) {
		more = false;
		for (i = 0; i < m->n && rc == 0; i += k) {
			size_t nd = 0;

			for (k = 0; k < MERGE_BATCH && i + k < m->n; k++) {
				struct store_token *t = &m->v[i + k];

				if (pass > 0 && t->spam_hits == 0 &&
				    t->innocent_hits == 0)
					continue;
				d[nd].token = t->token;
				d[nd].spam = part(&t->spam_hits);
				d[nd].innocent = part(&t->innocent_hits);
				d[nd].weight = pass == 0 ? t->weight : 0;
				more |= t->spam_hits > 0 || t->innocent_hits > 0;
				nd++;
			}
			if (nd == 0)
				continue;
			CLI_RETRY(c, rc, put_batch(c->st, uid, d, nd, now));
		}
	}
	es_free(d);
	return rc;
}

int
cli_merge(struct cli *c, int argc, char **argv)
{
	const char *into = NULL, *srcs[MERGE_MAX_SOURCES];
	char user[CLS_USER_MAX + 1], target[CLS_USER_MAX + 1];
	struct merge_set m = {NULL, 0, 0, 0};
	struct store_totals t, add;
	size_t ns = 0, j;
	uint32_t uid, tuid;
	bool as_corpus = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--as-corpus") == 0)
			as_corpus = true;
		else if ((strcmp(argv[i], "--into") == 0 ||
		    strcmp(argv[i], "-o") == 0) && i + 1 < argc)
			into = argv[++i];
		else if (strncmp(argv[i], "--into=", 7) == 0)
			into = argv[i] + 7;
		else if (argv[i][0] == '-' || ns == MERGE_MAX_SOURCES)
			into = NULL, ns = 0, i = argc; /* usage */
		else
			srcs[ns++] = argv[i];
	}
	if (into == NULL || ns == 0) {
		fputs("usage: edgespam merge USER... --into USER "
		      "[--as-corpus]\n",
		    stderr);
		return EX_USAGE;
	}
	if (!cli_trusted(c)) {
		fprintf(stderr, "edgespam: only root and trusted_users may "
		                "merge\n");
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	memset(&add, 0, sizeof(add));
	for (j = 0; j < ns; j++) {
		if ((rc = named_uid(c, srcs[j], false, user, sizeof(user),
			 &uid)) != EX_OK)
			goto out;
		if ((rc = store_totals_get(c->st, uid, &t)) != 0 ||
		    (rc = store_tokens_list(c->st, uid, collect, &m)) != 0 ||
		    (rc = m.rc) != 0) {
			rc = store_error(c, user, rc);
			goto out;
		}
		add.spam_learned += t.spam_learned;
		add.innocent_learned += t.innocent_learned;
		fprintf(stderr, "merge: %s: %zu rows so far\n", user, m.n);
	}
	sum_rows(&m);
	if ((rc = named_uid(c, into, true, target, sizeof(target), &tuid)) !=
	    EX_OK)
		goto out;
	for (j = 0; j < ns; j++)
		if (strcmp(srcs[j], into) == 0 ||
		    (cli_user_name(c, srcs[j], user, sizeof(user)) &&
			strcmp(user, target) == 0)) {
			fprintf(stderr, "edgespam: merge: %s is both a source "
			                "and the target\n",
			    target);
			rc = EX_USAGE;
			goto out;
		}
	if (as_corpus) {
		add.spam_corpusfed = add.spam_learned;
		add.innocent_corpusfed = add.innocent_learned;
	}
	if ((rc = merge_write(c, tuid, &m, time(NULL))) == 0)
		CLI_RETRY(c, rc, store_totals_add(c->st, tuid, &add));
	if (rc != 0) {
		rc = store_error(c, target, rc);
		goto out;
	}
	printf("merge: %zu token rows of %zu user%s into %s (learned spam "
	       "%lld, innocent %lld)\n",
	    m.n, ns, ns == 1 ? "" : "s", target, (long long)add.spam_learned,
	    (long long)add.innocent_learned);
	es_log_notice("merge: %zu token rows of %zu users into %s", m.n, ns,
	    target);
	rc = EX_OK;
out:
	es_free(m.v);
	return rc;
}
