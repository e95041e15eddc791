/*
 * bench_fuse - an experiment toward issue 15's mature ranking: would a
 * second, cheap feature view fused with edgespam's score rank better?
 *
 *   bench_fuse [-b BITS] [-k BYTES] [-r RATE] SCORES
 *
 * SCORES is bench_accuracy -o's file ("label edgespam_score
 * bogofilter_score path" per message, in the order the run took them).
 * The same messages, in the same order, go through an online logistic
 * regression on hashed byte 4-grams of each file's first BYTES (3000)
 * bytes, binary features scaled by 1/sqrt(their number) in 2^BITS
 * (20) weights, learning rate RATE (1), taught every message's true label after scoring it (what
 * edgespam's TEFT with every error corrected amounts to). The two
 * scores are fused by a second online logistic regression on (1,
 * edgespam's score, the 4-gram score), also taught after each message,
 * starting from edgespam's score alone, so no fusion weight is chosen
 * by hand.
 *
 * Prints bench_report's figures for "edgespam" (the file's score),
 * "grams" (the 4-gram view alone) and "fused", and the 4-gram view's
 * CPU seconds per message beside the count (the cost it would add).
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

/* grams - the distinct hashed 4-gram slots of msg's first len bytes
 * into idx (at most len - 3), marking them in seen; returns how many. */
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
		h &= mask;
		if (!seen[h]) {
			seen[h] = 1;
			idx[n++] = h;
		}
	}
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
	size_t keep = 3000, cap = 0, n = 0, i;
	double rate = 1, cpu = 0;
	struct bench_item *es = NULL, *gv, *fv;
	float *w;
	double fw[3] = {0, 10, 0}; /* starts as edgespam's score alone */
	unsigned char *seen;
	uint32_t *idx, mask;
	char line[8192];
	FILE *fp;
	int ch;

	bench_prog = "bench_fuse";
	while ((ch = getopt(argc, argv, "b:k:r:")) != -1) {
		switch (ch) {
		case 'b': bits = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'k': keep = strtoul(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || bits < 8 || bits > 26 || keep < 4)
		goto usage;
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
	mask = (1u << bits) - 1;
	w = calloc((size_t)mask + 1, sizeof(*w));
	seen = calloc((size_t)mask + 1, 1);
	idx = calloc(keep, sizeof(*idx));
	gv = calloc(n ? n : 1, sizeof(*gv));
	fv = calloc(n ? n : 1, sizeof(*fv));
	if (w == NULL || seen == NULL || idx == NULL || gv == NULL || fv == NULL)
		bench_die("%s", "out of memory");
	for (i = 0; i < n; i++) {
		size_t len, m, k;
		char *msg = bench_read_file(es[i].path, &len);
		double t0 = cpu_s(), z = 0, p, y = es[i].spam ? 1 : 0, g, x[3], xs;

		m = grams((const unsigned char *)msg, len < keep ? len : keep,
		    mask, idx, seen);
		/* features 1/sqrt(m): a message's length does not scale its
		 * score (as the hybrid method's own learned weights) */
		xs = m > 0 ? 1.0 / sqrt((double)m) : 0;
		for (k = 0; k < m; k++)
			z += w[idx[k]];
		z *= xs;
		p = logistic(z);
		for (k = 0; k < m; k++)
			w[idx[k]] += (float)(rate * (y - p) * xs);
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
		fv[i] = es[i];
		fv[i].score[0] = g;
		fv[i].verdict[0] = logistic(g) >= 0.5;
		p = logistic(g);
		for (k = 0; k < 3; k++)
			fw[k] += 0.05 * (y - p) * x[k];
		es[i].verdict[0] = es[i].score[0] >= 0; /* not the run's verdict */
	}
	bench_report("edgespam", es, n, 0);
	bench_report("grams", gv, n, 0);
	bench_report("fused", fv, n, 0);
	printf("grams.cpu_ms_per_msg %.3f\n", n ? 1000 * cpu / (double)n : 0);
	printf("fused.weights %.3f %.3f %.3f\n", fw[0], fw[1], fw[2]);
	for (i = 0; i < n; i++)
		free(es[i].path);
	free(es);
	free(gv);
	free(fv);
	free(w);
	free(seen);
	free(idx);
	return 0;
usage:
	fprintf(stderr, "usage: bench_fuse [-b BITS] [-k BYTES] [-r RATE] "
	                "SCORES\n");
	return 64;
}
