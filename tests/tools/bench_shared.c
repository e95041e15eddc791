/*
 * bench_shared - day-one protection by the shared dictionary: a new
 * user's online accuracy with and without it.
 *
 *   bench_shared -d CORPUS -w WORKDIR [-s SEED] [-c CONF]
 *       [-t DIRS] [-r DIRS] [-m FILE]
 *
 * CORPUS holds directories of one message per NAME.txt file; a directory
 * whose name starts with "spam" holds spam. The shared dictionary (the
 * user "@global" of a fresh SQLite store in WORKDIR, or of a memory
 * store when CONF says store_driver = memory) is trained as corpus
 * on the directories of -t (default: easy-ham-1,spam-1, the 2002 half of
 * the SpamAssassin corpus). Then a brand-new user receives the messages
 * of -r (default: easy-ham-2,hard-ham-1,spam-2, the 2003 half) in one
 * fixed order (sorted, shuffled with SEED), online: each is processed
 * (TEFT unless CONF says otherwise, learning as the milter would) and,
 * when the verdict was wrong, corrected through its signature. That is
 * done three times in the same order, by three new users of the same
 * store: with the dictionary (shared.with), with shared_dictionary empty
 * (shared.without), and with the dictionary but shared_spam_threshold 0,
 * so that its verdicts use the user's spam_threshold (shared.with_ut):
 * the third shows what the merge alone does.
 *
 * Prints "key value" lines for tests/bench/run.sh: for each run and
 * window (first 100, first 500, all) the messages, ham, spam, FP, FN
 * (and their rates), 1-ROCA%, lam% and the least spam missed at 0, 1, 2
 * and 4 false positives by the ranking; and per run how many messages used the dictionary.
 *
 * -m FILE also writes one line per message and run, to see which
 * messages a run gets wrong: "run index class verdict logit
 * user-weight own-logit threshold path" (class and verdict: spam or ham;
 * user-weight 1 when the dictionary took no part; own-logit the score on
 * the user's own statistics alone, the logit itself without the
 * dictionary; threshold the verdict's Spam threshold as a logit).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
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
#include "store.h"

#include "lib/bench_corpus.h"

/* A fixed clock: the runs do not depend on the day they are made. */
#define BENCH_NOW ((time_t)1700000000)

/* report - the figures of the first n messages as "who.window.key". */
static void
report(const char *who, const char *window, const struct bench_item *v, size_t n)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s.%s", who, window);
	bench_report(prefix, v, n, 0);
}

/* train_dictionary - the training set as corpus for uid. */
static void
train_dictionary(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct bench_corpus *c)
{
	struct cls_engine_result r;
	char err[512];
	size_t i, len;

	for (i = 0; i < c->n; i++) {
		char *msg = bench_read_file(c->v[i].path, &len);

		if (cls_engine_train(e, st, uid, cfg, msg, len,
		        c->v[i].spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
		        CLS_SRC_CORPUS, BENCH_NOW, &r, err, sizeof(err)) != 0)
			bench_die("training %s: %s", c->v[i].path, err);
		free(msg);
	}
}

/* logit - log(p / (1 - p)), kept finite at 0 and 1. */
static double
logit(double p)
{
	if (p < 1e-9)
		p = 1e-9;
	if (p > 1 - 1e-9)
		p = 1 - 1e-9;
	return log(p / (1 - p));
}

/* The per-message trace of -m, or NULL. */
static FILE *trace;

/*
 * online - a new user named name receives every message of c in order:
 * processed, and corrected through its signature when wrong. Scores and
 * verdicts go into c; returns how many messages used the dictionary.
 */
static size_t
online(struct cls_engine *e, struct store *st, const char *name,
    const struct cls_engine_cfg *cfg, struct bench_corpus *c, uint64_t seed)
{
	struct cls_engine_result r;
	unsigned char rnd[16];
	char err[512], sig[CLS_SIG_ID_LEN + 1];
	size_t i, len, used = 0;
	uint32_t uid;

	if (store_user_uid(st, name, true, &uid) != 0)
		bench_die("cannot create user %s", name);
	for (i = 0; i < c->n; i++) {
		struct bench_item *it = &c->v[i];
		uint64_t s = seed ^ (i * 0x9e3779b97f4a7c15ULL);
		uint64_t a = bench_mix(&s), b = bench_mix(&s);
		char *msg = bench_read_file(it->path, &len);

		memcpy(rnd, &a, 8);
		memcpy(rnd + 8, &b, 8);
		if (cls_engine_process(e, st, uid, cfg, CLS_ENGINE_PROCESS, msg,
		        len, rnd, BENCH_NOW, &r, err, sizeof(err)) != 0)
			bench_die("%s: %s", it->path, err);
		it->score[0] = r.score;
		it->verdict[0] = r.result == CLS_SPAM;
		used += r.shared;
		if (trace != NULL)
			fprintf(trace, "%s %zu %s %s %.4f %.3f %.4f %.4f %s\n",
			    name, i, it->spam ? "spam" : "ham",
			    it->verdict[0] ? "spam" : "ham", r.score,
			    r.shared ? r.user_weight : 1.0,
			    r.shared ? r.own_score : r.score,
			    logit(r.threshold), it->path);
		if (it->verdict[0] != it->spam) {
			strlcpy(sig, r.sig, sizeof(sig));
			if (cls_engine_correct(e, st, uid, cfg, sig,
			        it->spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
			        BENCH_NOW, &r, err, sizeof(err)) != 0)
				bench_die("correcting %s: %s", it->path, err);
		}
		free(msg);
	}
	return used;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* windows - the report of one run over the first 100, 500 and all, and
 * its rate (messages per second of wall time, reading the files too). */
static void
windows(const char *who, const struct bench_corpus *c, double secs)
{
	printf("%s.rate %.1f\n", who, secs > 0 ? (double)c->n / secs : 0);
	report(who, "100", c->v, c->n < 100 ? c->n : 100);
	report(who, "500", c->v, c->n < 500 ? c->n : 500);
	report(who, "all", c->v, c->n);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_shared -d CORPUS -w WORKDIR [-s SEED] "
	                "[-c CONF] [-t DIRS] [-r DIRS] [-m FILE]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *work = NULL, *conf_path = NULL;
	const char *tdirs = "easy-ham-1,spam-1";
	const char *rdirs = "easy-ham-2,hard-ham-1,spam-2";
	struct bench_corpus train = {0}, run = {0};
	struct conf *cf = NULL;
	struct cls_engine_cfg cfg, off, ut;
	struct store_params sp;
	struct store *st = NULL;
	struct cls_engine *e;
	char db[4096], side[4200], err[512];
	uint64_t seed = 42;
	uint32_t guid;
	size_t used;
	double t0;
	int ch;

	bench_prog = "bench_shared";
	while ((ch = getopt(argc, argv, "d:w:s:c:t:r:m:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'w': work = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'c': conf_path = optarg; break;
		case 't': tdirs = optarg; break;
		case 'r': rdirs = optarg; break;
		case 'm':
			if ((trace = fopen(optarg, "w")) == NULL)
				bench_die("cannot write %s", optarg);
			break;
		default: usage();
		}
	}
	if (dir == NULL || work == NULL)
		usage();
	bench_load(&train, dir, tdirs, seed);
	bench_load(&run, dir, rdirs, seed);
	cls_engine_cfg_default(&cfg);
	if (conf_path != NULL)
		bench_conf(conf_path, &cf, &cfg);
	if (cfg.shared.name[0] == '\0')
		bench_die("%s", "the configuration has no shared_dictionary");
	/* the trace's own-logit column; it changes no verdict */
	cfg.shared.want_own = trace != NULL;
	off = cfg;
	off.shared.name[0] = '\0';
	ut = cfg;
	ut.shared.spam_threshold = 0;

	memset(&sp, 0, sizeof(sp));
	sp.driver = "sqlite";
	sp.busy_timeout_ms = 2000;
	if (cf != NULL)
		conf_store_params(cf, &sp);
	/* SQLite (the default) or, for quick runs, memory: never a server */
	if (strcmp(sp.driver, "memory") != 0)
		sp.driver = "sqlite";
	snprintf(db, sizeof(db), "%s/edgespam-shared.db", work);
	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	sp.path = db;
	if (store_open(&sp, &st, err, sizeof(err)) != 0)
		bench_die("cannot open the store: %s", err);
	if ((e = cls_engine_new()) == NULL)
		bench_die("%s", "out of memory");
	if (store_user_uid(st, cfg.shared.name, true, &guid) != 0)
		bench_die("cannot create %s", cfg.shared.name);

	t0 = (double)clock() / CLOCKS_PER_SEC;
	train_dictionary(e, st, guid, &cfg, &train);
	printf("shared.train.messages %zu\n", train.n);
	printf("shared.train.cpu_s %.1f\n",
	    (double)clock() / CLOCKS_PER_SEC - t0);
	fprintf(stderr, "bench_shared: dictionary trained on %zu messages\n",
	    train.n);

	t0 = now_s();
	used = online(e, st, "new-with@example.org", &cfg, &run, seed);
	windows("shared.with", &run, now_s() - t0);
	printf("shared.with.used %zu\n", used);
	fprintf(stderr, "bench_shared: run with the dictionary done\n");
	t0 = now_s();
	used = online(e, st, "new-without@example.org", &off, &run, seed);
	windows("shared.without", &run, now_s() - t0);
	printf("shared.without.used %zu\n", used);
	t0 = now_s();
	used = online(e, st, "new-with-ut@example.org", &ut, &run, seed);
	windows("shared.with_ut", &run, now_s() - t0);
	printf("shared.with_ut.used %zu\n", used);
	printf("shared.threshold %.4f\n", cfg.shared.spam_threshold);
	printf("shared.user_threshold %.4f\n", cfg.score.spam_threshold);

	cls_engine_free(e);
	store_close(st);
	conf_free(cf);
	if (trace != NULL && fclose(trace) != 0)
		bench_die("%s", "cannot write the trace");
	bench_free(&train);
	bench_free(&run);
	return 0;
}
