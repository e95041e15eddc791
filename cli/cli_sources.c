/*
 * cli_sources.c - `edgespam sources [--top N] [--since DAYS]`: the worst
 * spam sources the milter counted (edgespam_sources), one line each, in
 * the order cls_srcrank.h defines (score, then spam ratio, then last
 * seen). Addresses and their networks (/24, /64) are ranked together,
 * so a network shows above its addresses when several of them sent
 * spam. Memory stays bounded by --top, not by the table.
 * Site-wide data: only root and trusted_users may list it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cls_srcrank.h"
#include "es_err.h"
#include "es_text.h"
#include "store.h"

#define TOP_DEFAULT 20
#define TOP_MAX 100000
#define SINCE_MAX 36500

static int
sources_usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: edgespam sources [--top N] [--since DAYS]\n"
	    "  --top N       the N worst sources (default %d, at most "
	    "%d)\n"
	    "  --since DAYS  only sources seen in the last DAYS days "
	    "(default: all)\n"
	    "Worst: highest score (spam verdicts + missed spam - false "
	    "positives),\nthen spam ratio, then last seen. See "
	    "edgespam(1).\n",
	    TOP_DEFAULT, TOP_MAX);
	return rc;
}

/* print - the listing. */
static void
print(const struct cls_srcrank *t)
{
	char f[32], l[32];

	printf("%-26s %7s %7s %8s %6s %6s %6s %6s  %-16s  %-16s\n", "source",
	    "score", "spam", "innocent", "missed", "fp", "streak", "spam%",
	    "first seen (UTC)", "last seen (UTC)");
	for (size_t i = 0; i < t->n; i++) {
		const struct store_source *r = &t->rows[i];

		printf(
		    "%-26s %7lld %7llu %8llu %6llu %6llu %6llu %6.1f  %-16s  "
		    "%-16s\n",
		    r->source, cls_srcrank_score(r), (unsigned long long)r->spam,
		    (unsigned long long)r->innocent,
		    (unsigned long long)r->spam_corrections,
		    (unsigned long long)r->innocent_corrections,
		    (unsigned long long)r->spam_streak, 100.0 * cls_srcrank_ratio(r),
		    es_text_minute(r->first_seen, f, sizeof(f)),
		    es_text_minute(r->last_seen, l, sizeof(l)));
	}
}

int
cli_sources(struct cli *c, int argc, char **argv)
{
	struct cls_srcrank t;
	long top = TOP_DEFAULT, days = 0;
	time_t since = 0;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return sources_usage(stdout, EX_OK);
		if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
			if (!es_text_long(argv[++i], 1, TOP_MAX, &top)) {
				fprintf(stderr,
				    "edgespam: sources: --top %s: "
				    "not a number from 1 to %d\n",
				    argv[i], TOP_MAX);
				return EX_USAGE;
			}
		} else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			if (!es_text_long(argv[++i], 1, SINCE_MAX, &days)) {
				fprintf(stderr,
				    "edgespam: sources: --since %s: "
				    "not a number of days from 1 to %d\n",
				    argv[i], SINCE_MAX);
				return EX_USAGE;
			}
		} else {
			fprintf(stderr, "edgespam: sources: bad argument %s\n",
			    argv[i]);
			return sources_usage(stderr, EX_USAGE);
		}
	}
	if (!cli_trusted(c)) {
		fprintf(stderr,
		    "edgespam: only root and trusted_users may list "
		    "sources\n");
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	if (days > 0)
		since = time(NULL) - (time_t)days * 86400;
	if (cls_srcrank_init(&t, (size_t)top) != 0) {
		fprintf(stderr, "edgespam: sources: out of memory\n");
		return EX_OSERR;
	}
	rc = store_sources_list(c->st, since, cls_srcrank_keep, &t);
	if (rc != 0) {
		fprintf(stderr, "edgespam: sources: %s: %s\n", es_strerror(rc),
		    store_errmsg(c->st));
		cls_srcrank_free(&t);
		return cli_exit_code(rc);
	}
	print(&t);
	cls_srcrank_free(&t);
	return EX_OK;
}
