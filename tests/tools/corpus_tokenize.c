/*
 * corpus_tokenize - run every message of a corpus through the engine's
 * parse and tokenize step (cls_engine_tokenize, the step the milter and
 * the CLI take before any store work) with each tokenizer, and count.
 *
 *   corpus_tokenize -d CORPUS [-c CONF] [-a CLIENT] [-t LIST] [-F]
 *
 * CORPUS holds directories of one message per NAME.txt file, as the
 * benchmarks read it (tests/bench/fetch-corpus.sh). The engine's
 * settings are the configuration's (CONF, else every key at its
 * default: max_tokens, max_scan_bytes and the other limits), with the
 * tokenizer replaced by each one of LIST in turn (comma-separated;
 * default word,chain,osb,edgespam). CLIENT (default 192.0.2.1) is
 * given as the SMTP client, as the milter gives it, so the sender
 * token is made too. -F also keeps the token texts (as the milter does
 * with factors > 0), a second run per tokenizer.
 *
 * Prints, per tokenizer and run, one line:
 *   TOKENIZER[+texts] messages N failed N tokens N full N max N ms N
 * (full: messages whose token set reached max_tokens; max: the most
 * tokens of one message), and for each failure (at most 20 per run)
 * "fail TOKENIZER PATH: ERROR" on stderr. Exit 0 when no message
 * failed, 1 when any did or the corpus cannot be read, 64 for usage.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cls_engine.h"
#include "conf.h"
#include "es_err.h"

#include "lib/bench_corpus.h"

#define MAX_SHOWN 20

struct msgbuf {
	char *data;
	size_t len;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
usage(void)
{
	fprintf(stderr, "usage: corpus_tokenize -d CORPUS [-c CONF] "
	                "[-a CLIENT] [-t LIST] [-F]\n");
	exit(64);
}

/* run - one tokenizer over every message; returns the failures. */
static size_t
run(struct cls_engine *e, const struct cls_engine_cfg *base,
    enum cls_tokenizer kind, bool texts, const char *client,
    const struct bench_corpus *c, const struct msgbuf *m)
{
	struct cls_engine_cfg cfg = *base;
	struct cls_engine_result res;
	size_t i, failed = 0, full = 0, max = 0;
	unsigned long long tokens = 0;
	char err[512];
	double t0;
	int rc;

	cls_tok_opts_default(&cfg.tok, kind);
	if (texts && cfg.factors == 0)
		cfg.factors = CLS_MAX_FACTORS;
	else if (!texts)
		cfg.factors = 0;
	t0 = now_ms();
	for (i = 0; i < c->n; i++) {
		err[0] = '\0';
		rc = cls_engine_tokenize(e, &cfg, client, m[i].data, m[i].len,
		    &res, err, sizeof(err));
		if (rc != 0) {
			if (failed++ < MAX_SHOWN)
				fprintf(stderr, "fail %s %s: %s\n",
				    cls_tokenizer_name(kind), c->v[i].path,
				    err[0] ? err : es_strerror(rc));
			continue;
		}
		tokens += res.ntokens;
		full += res.ntokens >= cfg.lim.max_tokens;
		if (res.ntokens > max)
			max = res.ntokens;
	}
	printf("%s%s messages %zu failed %zu tokens %llu full %zu max %zu "
	       "ms %.0f\n",
	    cls_tokenizer_name(kind), texts ? "+texts" : "", c->n, failed,
	    tokens, full, max, now_ms() - t0);
	return failed;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *confpath = NULL, *client = "192.0.2.1";
	char *list = strdup("word,chain,osb,edgespam"), *save = NULL, *t;
	struct cls_engine_cfg base;
	struct bench_corpus c = {0};
	struct conf *cf = NULL;
	struct cls_engine *e;
	struct msgbuf *m;
	bool texts = false;
	size_t i, failed = 0;
	int ch;

	bench_prog = "corpus_tokenize";
	while ((ch = getopt(argc, argv, "a:c:d:t:F")) != -1) {
		switch (ch) {
		case 'a': client = optarg; break;
		case 'c': confpath = optarg; break;
		case 'd': dir = optarg; break;
		case 't':
			free(list);
			list = strdup(optarg);
			break;
		case 'F': texts = true; break;
		default: usage();
		}
	}
	if (dir == NULL || optind != argc || list == NULL)
		usage();
	if (confpath != NULL) {
		bench_conf(confpath, &cf, &base);
	} else if (conf_defaults(&cf) != 0 || conf_engine_cfg(cf, &base) != 0) {
		bench_die("%s", "the default configuration failed");
	}
	bench_load(&c, dir, NULL, 1);
	if ((m = calloc(c.n, sizeof(*m))) == NULL ||
	    (e = cls_engine_new()) == NULL)
		bench_die("%s", "out of memory");
	for (i = 0; i < c.n; i++)
		m[i].data = bench_read_file(c.v[i].path, &m[i].len);
	for (t = strtok_r(list, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		enum cls_tokenizer kind;

		if (cls_tokenizer_parse(t, &kind) != 0) {
			fprintf(stderr, "corpus_tokenize: -t: no tokenizer %s\n",
			    t);
			usage();
		}
		failed += run(e, &base, kind, false, client, &c, m);
		if (texts)
			failed += run(e, &base, kind, true, client, &c, m);
	}
	cls_engine_free(e);
	for (i = 0; i < c.n; i++)
		free(m[i].data);
	free(m);
	bench_free(&c);
	conf_free(cf);
	free(list);
	return failed == 0 ? 0 : 1;
}
