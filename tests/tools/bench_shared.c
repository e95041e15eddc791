/*
 * bench_shared - day-one protection by the shared dictionary: a new
 * user's online accuracy with and without it.
 *
 *   bench_shared -d CORPUS -w WORKDIR [-s SEED] [-c CONF]
 *       [-t DIRS] [-r DIRS]
 *
 * CORPUS holds directories of one message per NAME.txt file; a directory
 * whose name starts with "spam" holds spam. The shared dictionary (the
 * user "@global" of a fresh SQLite store in WORKDIR) is trained as corpus
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
 * window (first 100, first 500, all) the messages, ham, spam, FP, FN,
 * 1-ROCA% and lam%; and per run how many messages used the dictionary.
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

/* A fixed clock: the runs do not depend on the day they are made. */
#define BENCH_NOW ((time_t)1700000000)

struct item {
	char *path;
	bool spam;
	double score;
	bool verdict;
};

struct corpus {
	struct item *v;
	size_t n, cap;
};

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_shared: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int
cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path,
	    ((const struct item *)b)->path);
}

/* add_dir - every NAME.txt of root/sub. */
static void
add_dir(struct corpus *c, const char *root, const char *sub)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	bool spam = strncmp(sub, "spam", 4) == 0;

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	if ((d = opendir(path)) == NULL)
		die("cannot open %s", path);
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		char *p;

		if (de->d_name[0] == '.' || nl < 5 ||
		    strcmp(de->d_name + nl - 4, ".txt") != 0)
			continue;
		if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
			die("%s", "out of memory");
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			if ((c->v = realloc(c->v, c->cap * sizeof(*c->v))) ==
			    NULL)
				die("%s", "out of memory");
		}
		memset(&c->v[c->n], 0, sizeof(c->v[0]));
		c->v[c->n].path = p;
		c->v[c->n].spam = spam;
		c->n++;
	}
	closedir(d);
}

/* splitmix64, as bench_accuracy: the same order everywhere. */
static uint64_t
mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* load - the directories of the comma-separated list dirs, sorted, then
 * shuffled with seed. */
static void
load(struct corpus *c, const char *root, const char *dirs, uint64_t seed)
{
	char *copy = strdup(dirs), *save = NULL, *d;
	size_t i;

	if (copy == NULL)
		die("%s", "out of memory");
	for (d = strtok_r(copy, ",", &save); d != NULL;
	     d = strtok_r(NULL, ",", &save))
		add_dir(c, root, d);
	free(copy);
	if (c->n == 0)
		die("no messages in %s under %s", dirs, root);
	qsort(c->v, c->n, sizeof(*c->v), cmp_item);
	for (i = c->n - 1; i > 0; i--) {
		size_t j = (size_t)(mix(&seed) % (i + 1));
		struct item t = c->v[i];

		c->v[i] = c->v[j];
		c->v[j] = t;
	}
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (fp == NULL)
		die("cannot read %s", path);
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 131072;
			if ((buf = realloc(buf, cap)) == NULL)
				die("%s", "out of memory");
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	fclose(fp);
	*len = n;
	return buf;
}

static int
cmp_double(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* one_minus_roca - percent of (spam, ham) pairs among the first n
 * messages that the score orders wrongly, ties counting half. */
static double
one_minus_roca(const struct item *v, size_t n)
{
	double *ham = malloc(n * sizeof(double)), *spam = malloc(n * sizeof(double));
	size_t nh = 0, ns = 0, i, j = 0, k;
	double wrong = 0;

	if (ham == NULL || spam == NULL)
		die("%s", "out of memory");
	for (i = 0; i < n; i++) {
		if (v[i].spam)
			spam[ns++] = v[i].score;
		else
			ham[nh++] = v[i].score;
	}
	qsort(ham, nh, sizeof(double), cmp_double);
	qsort(spam, ns, sizeof(double), cmp_double);
	for (i = 0; i < ns; i++) {
		while (j < nh && ham[j] < spam[i])
			j++;
		k = j;
		while (k < nh && ham[k] == spam[i])
			k++;
		wrong += (double)(nh - k) + (double)(k - j) / 2.0;
	}
	free(ham);
	free(spam);
	if (nh == 0 || ns == 0)
		return 0;
	return 100.0 * wrong / ((double)nh * (double)ns);
}

static double
logit(double p)
{
	return log(p / (1 - p));
}

/* lam% as in the TREC spam track: rates smoothed by (n+0.5)/(N+1). */
static double
lam(size_t fp, size_t nham, size_t fn, size_t nspam)
{
	double fpr = ((double)fp + 0.5) / ((double)nham + 1);
	double fnr = ((double)fn + 0.5) / ((double)nspam + 1);

	return 100.0 / (1 + exp(-(logit(fpr) + logit(fnr)) / 2));
}

/* report - the figures of the first n messages as "who.window.key". */
static void
report(const char *who, const char *window, const struct item *v, size_t n)
{
	size_t i, fp = 0, fn = 0, nham = 0, nspam = 0;

	for (i = 0; i < n; i++) {
		if (v[i].spam) {
			nspam++;
			fn += !v[i].verdict;
		} else {
			nham++;
			fp += v[i].verdict;
		}
	}
	printf("%s.%s.messages %zu\n", who, window, n);
	printf("%s.%s.ham %zu\n%s.%s.spam %zu\n", who, window, nham, who,
	    window, nspam);
	printf("%s.%s.fp %zu\n%s.%s.fn %zu\n", who, window, fp, who, window,
	    fn);
	printf("%s.%s.roca %.4f\n", who, window, one_minus_roca(v, n));
	printf("%s.%s.lam %.3f\n", who, window, lam(fp, nham, fn, nspam));
}

/* train_dictionary - the training set as corpus for uid. */
static void
train_dictionary(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct corpus *c)
{
	struct cls_engine_result r;
	char err[512];
	size_t i, len;

	for (i = 0; i < c->n; i++) {
		char *msg = read_file(c->v[i].path, &len);

		if (cls_engine_train(e, st, uid, cfg, msg, len,
		        c->v[i].spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
		        CLS_SRC_CORPUS, BENCH_NOW, &r, err, sizeof(err)) != 0)
			die("training %s: %s", c->v[i].path, err);
		free(msg);
	}
}

/*
 * online - a new user named name receives every message of c in order:
 * processed, and corrected through its signature when wrong. Scores and
 * verdicts go into c; returns how many messages used the dictionary.
 */
static size_t
online(struct cls_engine *e, struct store *st, const char *name,
    const struct cls_engine_cfg *cfg, struct corpus *c, uint64_t seed)
{
	struct cls_engine_result r;
	unsigned char rnd[16];
	char err[512], sig[CLS_SIG_ID_LEN + 1];
	size_t i, len, used = 0;
	uint32_t uid;

	if (store_user_uid(st, name, true, &uid) != 0)
		die("cannot create user %s", name);
	for (i = 0; i < c->n; i++) {
		struct item *it = &c->v[i];
		uint64_t s = seed ^ (i * 0x9e3779b97f4a7c15ULL);
		uint64_t a = mix(&s), b = mix(&s);
		char *msg = read_file(it->path, &len);

		memcpy(rnd, &a, 8);
		memcpy(rnd + 8, &b, 8);
		if (cls_engine_process(e, st, uid, cfg, CLS_ENGINE_PROCESS, msg,
		        len, rnd, BENCH_NOW, &r, err, sizeof(err)) != 0)
			die("%s: %s", it->path, err);
		it->score = r.score;
		it->verdict = r.result == CLS_SPAM;
		used += r.shared;
		if (it->verdict != it->spam) {
			strlcpy(sig, r.sig, sizeof(sig));
			if (cls_engine_correct(e, st, uid, cfg, sig,
			        it->spam ? CLS_CLASS_SPAM : CLS_CLASS_INNOCENT,
			        BENCH_NOW, &r, err, sizeof(err)) != 0)
				die("correcting %s: %s", it->path, err);
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
windows(const char *who, const struct corpus *c, double secs)
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
	                "[-c CONF] [-t DIRS] [-r DIRS]\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *work = NULL, *conf_path = NULL;
	const char *tdirs = "easy-ham-1,spam-1";
	const char *rdirs = "easy-ham-2,hard-ham-1,spam-2";
	struct corpus train = {0}, run = {0};
	struct conf_diag diag = {0};
	struct conf *cf = NULL;
	struct cls_engine_cfg cfg, off, ut;
	struct store_params sp;
	struct store *st = NULL;
	struct cls_engine *e;
	char db[4096], side[4200], err[512];
	uint64_t seed = 42;
	uint32_t guid;
	size_t i, used;
	double t0;
	int ch;

	while ((ch = getopt(argc, argv, "d:w:s:c:t:r:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'w': work = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'c': conf_path = optarg; break;
		case 't': tdirs = optarg; break;
		case 'r': rdirs = optarg; break;
		default: usage();
		}
	}
	if (dir == NULL || work == NULL)
		usage();
	load(&train, dir, tdirs, seed);
	load(&run, dir, rdirs, seed);
	cls_engine_cfg_default(&cfg);
	if (conf_path != NULL) {
		if (conf_load(conf_path, &cf, &diag) != 0) {
			for (i = 0; i < diag.n; i++)
				fprintf(stderr, "%s\n", diag.msgs[i]);
			die("%s", "bad configuration");
		}
		if (conf_engine_cfg(cf, &cfg) != 0)
			die("%s", "bad engine configuration");
	}
	if (cfg.shared.name[0] == '\0')
		die("%s", "the configuration has no shared_dictionary");
	off = cfg;
	off.shared.name[0] = '\0';
	ut = cfg;
	ut.shared.spam_threshold = 0;

	memset(&sp, 0, sizeof(sp));
	sp.driver = "sqlite";
	sp.busy_timeout_ms = 2000;
	snprintf(db, sizeof(db), "%s/edgespam-shared.db", work);
	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
	sp.path = db;
	if (store_open(&sp, &st, err, sizeof(err)) != 0)
		die("cannot open the store: %s", err);
	if ((e = cls_engine_new()) == NULL)
		die("%s", "out of memory");
	if (store_user_uid(st, cfg.shared.name, true, &guid) != 0)
		die("cannot create %s", cfg.shared.name);

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
	for (i = 0; i < train.n; i++)
		free(train.v[i].path);
	for (i = 0; i < run.n; i++)
		free(run.v[i].path);
	free(train.v);
	free(run.v);
	return 0;
}
