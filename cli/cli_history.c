/*
 * cli_history.c - `edgespam history USER [--since DAYS] [--verdict V]
 * [--search TEXT] [--limit N] [--json]`: the user's history rows
 * (edgespam_history, written by the milter), newest first.
 *
 * Output: a heading and one tab-separated line per row (time, verdict,
 * correction, probability, action, queue id, client, sender, From,
 * Subject, signature; "-" for an empty field), or with --json one JSON
 * array of objects. Every text comes from mail and is hostile: it is
 * made printable again (cls_text_printable: the store may hold rows
 * another program wrote), which also folds tabs and newlines, so a
 * field never spans two columns or lines; JSON escapes '"', '\', the
 * controls, and '<', '>', '&', U+2028 and U+2029 as \u sequences, so the
 * text is safe inside HTML or a script as well.
 *
 * Who: a user may list their own rows (as for the sender lists:
 * cli_may_act_for); root and trusted_users anyone's. The user's name is
 * normalised as the milter does. Exit codes: 64 usage, 67 no such user,
 * 77 not allowed, 75 or 70 for a store failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cls_text.h"
#include "cls_user.h"
#include "es_err.h"
#include "es_text.h"
#include "store.h"

#define SINCE_MAX 36500
#define LIMIT_MAX 10000000

struct hopts {
	long days;
	long limit;
	enum store_verdict verdict;
	const char *search;
	bool json;
};

struct hout {
	bool json;
	size_t n;
};

static int
history_usage(FILE *f, int rc)
{
	fputs("usage: edgespam history USER [--since DAYS] "
	      "[--verdict spam|innocent|whitelisted]\n"
	      "                        [--search TEXT] [--limit N] [--json]\n"
	      "  --since DAYS    only rows of the last DAYS days\n"
	      "  --verdict V     only rows of that verdict\n"
	      "  --search TEXT   only rows whose sender, From or Subject "
	      "holds TEXT\n"
	      "                  (ASCII letters in any case)\n"
	      "  --limit N       at most N rows (the newest)\n"
	      "  --json          a JSON array instead of tab-separated "
	      "lines\n"
	      "See edgespam(1).\n",
	    f);
	return rc;
}

/* clean - t made printable (whatever the store held) into buf. */
static const char *
clean(const char *t, char *buf, size_t len)
{
	cls_text_printable(t, strlen(t), STORE_HISTORY_TEXT_MAX, buf, len,
	    NULL);
	return buf;
}

/* utc - a time as "YYYY-MM-DD HH:MM:SS" (UTC). */
static const char *
utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* dash - s, or "-" when empty (text output). */
static const char *
dash(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

/* verdict_name - DSPAM's spelling of a verdict. */
static const char *
verdict_name(enum store_verdict v)
{
	switch (v) {
	case STORE_VERDICT_SPAM: return "Spam";
	case STORE_VERDICT_INNOCENT: return "Innocent";
	case STORE_VERDICT_WHITELISTED: return "Whitelisted";
	default: return "?";
	}
}

static void
print_text(const struct store_history *r)
{
	char when[32], qid[STORE_HISTORY_TEXT_MAX + 1],
	    client[STORE_HISTORY_TEXT_MAX + 1],
	    sender[STORE_HISTORY_TEXT_MAX + 1],
	    from[STORE_HISTORY_TEXT_MAX + 1],
	    subject[STORE_HISTORY_TEXT_MAX + 1],
	    sig[STORE_HISTORY_TEXT_MAX + 1];
	const char *corr = store_correction_text(r->correction);
	const char *act = store_action_text(r->action);

	printf("%s\t%s\t%s\t%.4f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
	    utc(r->time, when, sizeof(when)), verdict_name(r->verdict),
	    corr != NULL && corr[0] != '\0' ? corr : "-", r->probability,
	    act != NULL ? act : "?",
	    dash(clean(r->queue_id, qid, sizeof(qid))),
	    dash(clean(r->client, client, sizeof(client))),
	    dash(clean(r->sender, sender, sizeof(sender))),
	    dash(clean(r->from, from, sizeof(from))),
	    dash(clean(r->subject, subject, sizeof(subject))),
	    dash(clean(r->signature, sig, sizeof(sig))));
}

static void
print_json(const struct store_history *r, bool first)
{
	char when[32], buf[STORE_HISTORY_TEXT_MAX + 1];
	const char *corr = store_correction_text(r->correction);
	const char *act = store_action_text(r->action);
	const char *v = store_verdict_text(r->verdict);

	printf("%s\n  {\"id\": %lld, \"time\": %lld, \"time_utc\": ",
	    first ? "" : ",", (long long)r->id, (long long)r->time);
	cli_json_html(stdout, utc(r->time, when, sizeof(when)));
	printf(", \"queue_id\": ");
	cli_json_html(stdout, clean(r->queue_id, buf, sizeof(buf)));
	printf(", \"client\": ");
	cli_json_html(stdout, clean(r->client, buf, sizeof(buf)));
	printf(", \"sender\": ");
	cli_json_html(stdout, clean(r->sender, buf, sizeof(buf)));
	printf(", \"from\": ");
	cli_json_html(stdout, clean(r->from, buf, sizeof(buf)));
	printf(", \"subject\": ");
	cli_json_html(stdout, clean(r->subject, buf, sizeof(buf)));
	printf(", \"verdict\": ");
	cli_json_html(stdout, v != NULL ? v : "");
	printf(", \"probability\": %.4f, \"signature\": ", r->probability);
	cli_json_html(stdout, clean(r->signature, buf, sizeof(buf)));
	printf(", \"action\": ");
	cli_json_html(stdout, act != NULL ? act : "");
	printf(", \"correction\": ");
	if (corr != NULL && corr[0] != '\0')
		cli_json_html(stdout, corr);
	else
		printf("null");
	printf(", \"corrected\": %lld}", (long long)r->corrected);
}

/* on_row - the store's callback: print one row. */
static int
on_row(const struct store_history *r, void *arg)
{
	struct hout *o = arg;

	if (o->json)
		print_json(r, o->n == 0);
	else
		print_text(r);
	o->n++;
	return 0;
}

/* parse - the options after USER into o; EX_OK or an exit code. */
static int
parse(int argc, char **argv, struct hopts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--since") == 0 && i + 1 < argc) {
			if (!es_text_long(argv[++i], 1, SINCE_MAX, &o->days)) {
				fprintf(stderr, "edgespam: history: --since "
				    "%s: not a number of days from 1 to %d\n",
				    argv[i], SINCE_MAX);
				return EX_USAGE;
			}
		} else if (strcmp(a, "--limit") == 0 && i + 1 < argc) {
			if (!es_text_long(argv[++i], 1, LIMIT_MAX, &o->limit)) {
				fprintf(stderr, "edgespam: history: --limit "
				    "%s: not a number from 1 to %d\n",
				    argv[i], LIMIT_MAX);
				return EX_USAGE;
			}
		} else if (strcmp(a, "--verdict") == 0 && i + 1 < argc) {
			o->verdict = store_verdict_of(argv[++i]);
			if (o->verdict == STORE_VERDICT_ANY) {
				fprintf(stderr, "edgespam: history: --verdict "
				    "must be spam, innocent or whitelisted\n");
				return EX_USAGE;
			}
		} else if (strcmp(a, "--search") == 0 && i + 1 < argc) {
			o->search = argv[++i];
			if (strlen(o->search) > STORE_HISTORY_SEARCH_MAX) {
				fprintf(stderr, "edgespam: history: --search: "
				    "at most %d bytes\n",
				    STORE_HISTORY_SEARCH_MAX);
				return EX_USAGE;
			}
		} else {
			fprintf(stderr, "edgespam: history: bad argument %s\n",
			    a);
			return history_usage(stderr, EX_USAGE);
		}
	}
	return EX_OK;
}

int
cli_history(struct cli *c, int argc, char **argv)
{
	struct hopts o = {0};
	struct store_history_query q;
	struct hout out = {0};
	char user[CLS_USER_MAX + 1];
	uint32_t uid;
	int rc;

	if (argc > 0 && (strcmp(argv[0], "-h") == 0 ||
			    strcmp(argv[0], "--help") == 0))
		return history_usage(stdout, EX_OK);
	if (argc < 1 || argv[0][0] == '-')
		return history_usage(stderr, EX_USAGE);
	if ((rc = parse(argc - 1, argv + 1, &o)) != EX_OK)
		return rc;
	if (!cli_user_name(c, argv[0], user, sizeof(user))) {
		fprintf(stderr, "edgespam: history: %s: not a user name\n",
		    argv[0]);
		return EX_USAGE;
	}
	if (!cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed to see the history of "
		                "%s (not in trusted_users)\n", user);
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if ((rc = store_user_uid(c->st, user, false, &uid)) != 0) {
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "edgespam: history: no user %s\n",
			    user);
			return EX_NOUSER;
		}
		goto failed;
	}
	memset(&q, 0, sizeof(q));
	if (o.days > 0)
		q.since = (int64_t)time(NULL) - (int64_t)o.days * 86400;
	q.verdict = o.verdict;
	q.search = o.search;
	q.limit = (size_t)o.limit;
	out.json = o.json;
	if (o.json)
		putchar('[');
	else
		printf("time (UTC)\tverdict\tcorrection\tprobability\taction\t"
		       "queue id\tclient\tsender\tfrom\tsubject\tsignature\n");
	if ((rc = store_history_list(c->st, uid, &q, on_row, &out)) != 0)
		goto failed;
	if (o.json)
		printf("%s]\n", out.n > 0 ? "\n" : "");
	return EX_OK;
failed:
	if (o.json)
		printf("]\n");
	fprintf(stderr, "edgespam: history: %s: %s\n", es_strerror(rc),
	    store_errmsg(c->st));
	return cli_exit_code(rc);
}
