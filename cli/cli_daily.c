/*
 * cli_daily.c - `edgespam stats USER --daily [--days N] [--json]` (in
 * any order): the user's daily counts (edgespam_daily, written by the
 * milter and by corrections), oldest day first, for the last N days
 * (30; today included). Days without a row are not shown.
 *
 * Output: a heading and one tab-separated line per day (the day as
 * YYYY-MM-DD in UTC, spam, innocent, whitelisted, missed spam, false
 * positives, accuracy in percent or "-" for a day without messages), or
 * with --json one JSON array of objects with the same names. Accuracy
 * is 1 - (missed spam + false positives) / (spam + innocent +
 * whitelisted): the share of the day's messages no correction changed.
 *
 * Who: as `edgespam history` (cli_may_act_for). Exit codes: 64 usage,
 * 67 no such user, 77 not allowed, 75 or 70 for a store failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cls_user.h"
#include "es_err.h"
#include "store.h"

#define DAYS_MAX 36500

struct dout {
	bool json;
	size_t n;
};

/* day_text - day (days since the epoch) as YYYY-MM-DD. */
static void
day_text(int32_t day, char buf[16])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 16, "%ld", (long)day);
}

/* accuracy - the day's accuracy in 0..1, or -1 without messages. */
static double
accuracy(const struct store_daily *r)
{
	double all = (double)(r->spam + r->innocent + r->whitelisted);
	double wrong = (double)(r->missed_spam + r->false_positives);

	if (all <= 0)
		return -1;
	return wrong >= all ? 0 : 1.0 - wrong / all;
}

static int
on_day(const struct store_daily *r, void *arg)
{
	struct dout *o = arg;
	double acc = accuracy(r);
	char day[16];

	day_text(r->day, day);
	if (o->json) {
		printf("%s\n{\"day\":\"%s\",\"spam\":%lld,\"innocent\":%lld,"
		       "\"whitelisted\":%lld,\"missed_spam\":%lld,"
		       "\"false_positives\":%lld,\"accuracy\":",
		    o->n == 0 ? "" : ",", day, (long long)r->spam,
		    (long long)r->innocent, (long long)r->whitelisted,
		    (long long)r->missed_spam, (long long)r->false_positives);
		if (acc < 0)
			printf("null}");
		else
			printf("%.4f}", acc);
	} else {
		printf("%s\t%lld\t%lld\t%lld\t%lld\t%lld\t", day,
		    (long long)r->spam, (long long)r->innocent,
		    (long long)r->whitelisted, (long long)r->missed_spam,
		    (long long)r->false_positives);
		if (acc < 0)
			printf("-\n");
		else
			printf("%.2f\n", 100.0 * acc);
	}
	o->n++;
	return 0;
}

static int
daily_usage(FILE *f, int rc)
{
	fputs("usage: edgespam stats USER --daily [--days N] [--json]\n"
	      "  --days N   the last N days, today included (30)\n"
	      "  --json     a JSON array instead of tab-separated lines\n",
	    f);
	return rc;
}

int
cli_stats_daily(struct cli *c, int argc, char **argv)
{
	struct dout out = {0};
	char user[CLS_USER_MAX + 1], *end;
	const char *name = NULL;
	long days = 30;
	uint32_t uid;
	time_t since;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--daily") == 0)
			continue;
		if (argv[i][0] != '-' && name == NULL) {
			name = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			out.json = true;
		} else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			days = strtol(argv[++i], &end, 10);
			if (argv[i][0] == '\0' || *end != '\0' || days < 1 ||
			    days > DAYS_MAX) {
				fprintf(stderr, "edgespam: stats: --days %s: "
				    "not a number from 1 to %d\n", argv[i],
				    DAYS_MAX);
				return EX_USAGE;
			}
		} else {
			fprintf(stderr, "edgespam: stats: bad argument %s\n",
			    argv[i]);
			return daily_usage(stderr, EX_USAGE);
		}
	}
	if (name == NULL)
		return daily_usage(stderr, EX_USAGE);
	if (!cli_user_name(c, name, user, sizeof(user))) {
		fprintf(stderr, "edgespam: stats: %s: not a user name\n",
		    name);
		return EX_USAGE;
	}
	if (!cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed to see the statistics "
		                "of %s (not in trusted_users)\n", user);
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if ((rc = store_user_uid(c->st, user, false, &uid)) != 0) {
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "edgespam: stats: no user %s\n", user);
			return EX_NOUSER;
		}
		goto failed;
	}
	since = time(NULL) - (time_t)(days - 1) * 86400;
	if (out.json)
		putchar('[');
	else
		printf("day (UTC)\tspam\tinnocent\twhitelisted\tmissed spam\t"
		       "false positives\taccuracy\n");
	if ((rc = store_daily_list(c->st, uid, since, on_day, &out)) != 0)
		goto failed;
	if (out.json)
		printf("%s]\n", out.n > 0 ? "\n" : "");
	return EX_OK;
failed:
	if (out.json)
		printf("]\n");
	fprintf(stderr, "edgespam: stats: %s: %s\n", es_strerror(rc),
	    store_errmsg(c->st));
	return cli_exit_code(rc);
}
