/*
 * bench_corpus.h - what the accuracy benchmarks (bench_accuracy,
 * bench_shared) share: a corpus of one message per NAME.txt file in
 * one fixed seeded order, and the TREC spam track's figures over it.
 */
#ifndef BENCH_CORPUS_H
#define BENCH_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message and what up to two filters said of it. */
struct bench_item {
	char *path;
	bool spam;        /* the truth: its directory's name starts with spam */
	double score[2];  /* per filter: higher is spammier */
	bool verdict[2];  /* per filter: said spam */
};

struct bench_corpus {
	struct bench_item *v;
	size_t n, cap;
};

/* The program's name for bench_die() (set by main). */
extern const char *bench_prog;

/* bench_die - "PROG: message" on stderr, exit 1. */
void bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * bench_load - the messages of root's subdirectories named in the
 * comma-separated list dirs (each must exist), or of every
 * subdirectory when dirs is NULL; sorted by path, then shuffled with
 * seed (splitmix64, Fisher-Yates), so the order is the same on every
 * machine. Dies when there is no message.
 */
void bench_load(struct bench_corpus *c, const char *root, const char *dirs,
    uint64_t seed);
/* bench_free - the paths and the array. */
void bench_free(struct bench_corpus *c);

struct conf;
struct cls_engine_cfg;

/*
 * bench_conf - load the configuration path into *cf and its engine
 * settings into *cfg; prints every error of the file and dies on one.
 */
void bench_conf(const char *path, struct conf **cf,
    struct cls_engine_cfg *cfg);

/* bench_mix - splitmix64: the next value of the sequence of *s. */
uint64_t bench_mix(uint64_t *s);

/* bench_read_file - the whole file (the caller frees it); dies on error. */
char *bench_read_file(const char *path, size_t *len);

/*
 * bench_roca - 1-ROCA%: the percentage of (spam, ham) pairs among the n
 * items that filter f's score orders wrongly, ties counting half; 0
 * when either class is missing.
 */
double bench_roca(const struct bench_item *v, size_t n, int f);

/* bench_lam - lam% as in the TREC spam track, rates smoothed by
 * (n + 0.5) / (N + 1). */
double bench_lam(size_t fp, size_t nham, size_t fn, size_t nspam);

/*
 * bench_fn_at_fp - from filter f's ranking of the n items alone: the
 * least percentage of spam missed by any one threshold that lets at
 * most k ham through as spam. A spam scoring no higher than the
 * (k+1)-th highest ham is missed (a tie cannot be split); 0 when there
 * are at most k ham or no spam.
 */
double bench_fn_at_fp(const struct bench_item *v, size_t n, int f, size_t k);

/*
 * bench_report - the figures of the first n items for filter f as
 * "prefix.key value" lines on stdout: messages, ham, spam, fp, fn,
 * fpr, fnr (percent), roca (1-ROCA%), lam (lam%), and fn_at_0fp,
 * fn_at_1fp, fn_at_2fp, fn_at_4fp (bench_fn_at_fp, percent).
 */
void bench_report(const char *prefix, const struct bench_item *v, size_t n,
    int f);

#endif
