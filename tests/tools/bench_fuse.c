/*
 * bench_fuse - an experiment toward issue 15's mature ranking: would a
 * second, cheap learner fused with edgespam's score rank better?
 *
 *   bench_fuse [-t] [-a] [-b BITS] [-f WEIGHT] [-k BYTES] [-r RATE] SCORES
 *
 * SCORES is bench_accuracy -o's file ("label edgespam_score
 * bogofilter_score path" per message, in the order the run took them).
 * The same messages, in the same order, are read again and each turned
 * into a set of binary features, hashed into 2^BITS (20) weights:
 *
 *   - by default, the distinct byte 4-grams of the file's first BYTES
 *     (3000) bytes (view "grams");
 *   - with -t, edgespam's own tokens (view "tokens"): the message parsed
 *     and tokenized by the classifier library (cls_msg_parse and
 *     cls_tokenize, with the built-in defaults' limits and tokenizer,
 *     tokenizer = edgespam), as the engine does for a message without
 *     an SMTP client (bench_accuracy's), each distinct token id hashed
 *     to a weight.
 *
 * A message's features are scaled by 1/sqrt(their number), so that its
 * length does not scale its score. The learner, scoring each message
 * before it is taught the message's true label (what edgespam's TEFT
 * with every error corrected amounts to):
 *
 *   - by default, online logistic regression, learning rate RATE (1);
 *     its score is the logit;
 *   - with -a, AROW (adaptive regularization of weights, a
 *     confidence-weighted linear model with a diagonal variance per
 *     weight, starting at 1), regularization RATE (1); it learns when
 *     the margin is below 1 and its score is the margin times 5 (so
 *     that a margin of 1 weighs in the fusion about as a logit of 5).
 *
 * The two scores are fused by a second online logistic regression on
 * (1, edgespam's score / 10, the view's score / 10), rate 0.05, also
 * taught after each message, starting from edgespam's score alone, so
 * no fusion weight is chosen by hand. With -f WEIGHT the fusion is
 * instead fixed by hand: edgespam's score plus WEIGHT times the view's
 * (a diagnostic: does the view add anything a fixed mix would find?).
 *
 * Prints bench_report's figures for "edgespam" (the file's score), the
 * view alone ("grams" or "tokens") and "fused"; then the view's CPU
 * milliseconds per message (VIEW.cpu_ms_per_msg: making the features
 * and learning; VIEW.learn_ms_per_msg: the learning alone, since the
 * engine already tokenizes every message) and the online fusion's
 * weights (learned with -f too).
 * Nothing of this is in the engine: it is a measurement.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cls_engine.h"
#include "cls_msg.h"
#include "cls_token.h"

#include "lib/bench_corpus.h"

static double
logistic(double z)
{
	if (z > 30)
		return 1.0;
	if (z < -30)
		return 0.0;
	return 1.0 / (1.0 + exp(-z));
}

/* slot - h's weight when not yet in idx[0..n), marking it in seen */
static size_t
slot(uint32_t h, uint32_t *idx, size_t n, unsigned char *seen)
{
	if (!seen[h]) {
		seen[h] = 1;
		idx[n++] = h;
	}
	return n;
}

/* grams - the distinct hashed 4-gram slots of msg's first len bytes
 * into idx (at most len - 3); returns how many. */
static size_t
grams(const unsigned char *msg, size_t len, uint32_t mask, uint32_t *idx,
    unsigned char *seen)
{
	size_t i, n = 0;

	for (i = 0; i + 4 <= len; i++) {
		uint32_t h = 2166136261u;
		size_t k;

		for (k = 0; k < 4; k++)
			h = (h ^ msg[i + k]) * 16777619u;
		n = slot(h & mask, idx, n, seen);
	}
	for (i = 0; i < n; i++)
		seen[idx[i]] = 0;
	return n;
}

/* tokens - the distinct hashed slots of the edgespam tokens of msg
 * (cfg's limits and tokenizer) into idx (room for max_tokens); returns
 * how many, 0 when the message cannot be parsed. */
static size_t
tokens(const char *msg, size_t len, const struct cls_engine_cfg *cfg,
    struct cls_tset *set, unsigned bits, uint32_t *idx, unsigned char *seen)
{
	const struct cls_token *t;
	struct cls_msg *m;
	size_t i, n = 0, nt;

	cls_tset_reset(set);
	if (cls_msg_parse(msg, len, &cfg->lim, &m) != 0)
		return 0;
	if (cls_tokenize(m, &cfg->tok, set) != 0) {
		cls_msg_free(m);
		return 0;
	}
	cls_msg_free(m);
	t = cls_tset_items(set);
	nt = cls_tset_len(set);
	for (i = 0; i < nt; i++)
		n = slot((uint32_t)((t[i].id * 0x9e3779b97f4a7c15ull) >>
		    (64 - bits)), idx, n, seen);
	for (i = 0; i < n; i++)
		seen[idx[i]] = 0;
	return n;
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	unsigned bits = 20;
	size_t keep = 3000, cap = 0, n = 0, i, room;
	double rate = 1, cpu = 0, lcpu = 0;
	struct bench_item *es = NULL, *gv, *fv;
	struct cls_engine_cfg cfg;
	struct cls_tset *set = NULL;
	float *w, *var = NULL;
	double fw[3] = {0, 10, 0}; /* starts as edgespam's score alone */
	double fixed = -1;
	unsigned char *seen;
	uint32_t *idx, mask;
	bool tok = false, arow = false;
	const char *view;
	char line[8192];
	FILE *fp;
	int ch;

	bench_prog = "bench_fuse";
	while ((ch = getopt(argc, argv, "ab:f:k:r:t")) != -1) {
		switch (ch) {
		case 'a': arow = true; break;
		case 'f': fixed = strtod(optarg, NULL); break;
		case 'b': bits = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': keep = strtoul(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 't': tok = true; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || bits < 8 || bits > 26 || keep < 4 ||
	    !(rate > 0))
		goto usage;
	view = tok ? "tokens" : "grams";
	if ((fp = fopen(argv[optind], "r")) == NULL)
		bench_die("cannot read %s", argv[optind]);
	while (fgets(line, sizeof(line), fp) != NULL) {
		int lab;
		double s0, s1;
		char path[4096];

		if (sscanf(line, "%d %lf %lf %4095s", &lab, &s0, &s1, path) != 4)
			bench_die("bad line: %s", line);
		if (n == cap) {
			cap = cap ? 2 * cap : 8192;
			if ((es = realloc(es, cap * sizeof(*es))) == NULL)
				bench_die("%s", "out of memory");
		}
		memset(&es[n], 0, sizeof(es[n]));
		es[n].spam = lab != 0;
		es[n].score[0] = s0;
		if ((es[n].path = strdup(path)) == NULL)
			bench_die("%s", "out of memory");
		n++;
	}
	fclose(fp);
	cls_engine_cfg_default(&cfg); /* bench_accuracy's without -c */
	room = keep;
	if (tok) {
		room = cfg.lim.max_tokens;
		if ((set = cls_tset_new(cfg.lim.max_tokens, false)) == NULL)
			bench_die("%s", "out of memory");
	}
	mask = (1u << bits) - 1;
	w = calloc((size_t)mask + 1, sizeof(*w));
	seen = calloc((size_t)mask + 1, 1);
	idx = calloc(room ? room : 1, sizeof(*idx));
	gv = calloc(n ? n : 1, sizeof(*gv));
	fv = calloc(n ? n : 1, sizeof(*fv));
	if (w == NULL || seen == NULL || idx == NULL || gv == NULL || fv == NULL)
		bench_die("%s", "out of memory");
	if (arow) {
		if ((var = malloc(((size_t)mask + 1) * sizeof(*var))) == NULL)
			bench_die("%s", "out of memory");
		for (i = 0; i <= mask; i++)
			var[i] = 1;
	}
	for (i = 0; i < n; i++) {
		size_t len, m, k;
		char *msg = bench_read_file(es[i].path, &len);
		double t0 = cpu_s(), t1, z = 0, p, y = es[i].spam ? 1 : 0, g;
		double x[3], xs;

		if (tok)
			m = tokens(msg, len, &cfg, set, bits, idx, seen);
		else
			m = grams((const unsigned char *)msg,
			    len < keep ? len : keep, mask, idx, seen);
		t1 = cpu_s();
		/* features 1/sqrt(m): a message's length does not scale its
		 * score (as the hybrid method's own learned weights) */
		xs = m > 0 ? 1.0 / sqrt((double)m) : 0;
		for (k = 0; k < m; k++)
			z += w[idx[k]];
		z *= xs;
		if (arow) {
			/* AROW, labels -1 / +1: learn while the margin is
			 * below 1, each weight by its own variance */
			double ys = es[i].spam ? 1 : -1, v = 0, beta, alpha;

			for (k = 0; k < m; k++)
				v += var[idx[k]];
			v *= xs * xs;
			if (ys * z < 1) {
				beta = 1 / (v + rate);
				alpha = (1 - ys * z) * beta;
				for (k = 0; k < m; k++) {
					float *s = &var[idx[k]];

					w[idx[k]] += (float)(alpha * ys * *s * xs);
					*s -= (float)(beta * *s * *s * xs * xs);
				}
			}
			z *= 5;
			p = logistic(z);
		} else {
			p = logistic(z);
			for (k = 0; k < m; k++)
				w[idx[k]] += (float)(rate * (y - p) * xs);
		}
		lcpu += cpu_s() - t1;
		cpu += cpu_s() - t0;
		free(msg);
		gv[i] = es[i];
		gv[i].score[0] = z;
		gv[i].verdict[0] = p >= 0.5;
		/* the fusion, scored before it learns this message */
		x[0] = 1;
		x[1] = es[i].score[0] / 10;
		x[2] = z / 10;
		g = fw[0] * x[0] + fw[1] * x[1] + fw[2] * x[2];
		if (fixed >= 0)
			g = es[i].score[0] + fixed * z;
		fv[i] = es[i];
		fv[i].score[0] = g;
		fv[i].verdict[0] = logistic(g) >= 0.5;
		p = logistic(g);
		for (k = 0; k < 3; k++)
			fw[k] += 0.05 * (y - p) * x[k];
		es[i].verdict[0] = es[i].score[0] >= 0; /* not the run's verdict */
	}
	bench_report("edgespam", es, n, 0);
	bench_report(view, gv, n, 0);
	bench_report("fused", fv, n, 0);
	printf("%s.cpu_ms_per_msg %.4f\n", view,
	    n ? 1000 * cpu / (double)n : 0);
	printf("%s.learn_ms_per_msg %.4f\n", view,
	    n ? 1000 * lcpu / (double)n : 0);
	printf("fused.weights %.3f %.3f %.3f\n", fw[0], fw[1], fw[2]);
	for (i = 0; i < n; i++)
		free(es[i].path);
	free(es);
	free(gv);
	free(fv);
	free(w);
	free(var);
	free(seen);
	free(idx);
	cls_tset_free(set);
	return 0;
usage:
	fprintf(stderr, "usage: bench_fuse [-t] [-a] [-b BITS] [-f WEIGHT] "
	                "[-k BYTES] [-r RATE] SCORES\n");
	return 64;
}
