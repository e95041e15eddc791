/*
 * bench_corpus.c - the benchmarks' corpus and figures (bench_corpus.h).
 */
#include "bench_corpus.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cls_engine.h"
#include "conf.h"

const char *bench_prog = "bench";

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* add_dir - every NAME.txt of root/sub (the package also has NAME.json);
 * a sub that is no directory dies when must, else is skipped. */
static void
add_dir(struct bench_corpus *c, const char *root, const char *sub, bool must)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	bool spam = strncmp(sub, "spam", 4) == 0;

	snprintf(path, sizeof(path), "%s/%s", root, sub);
	if ((d = opendir(path)) == NULL) {
		if (must)
			bench_die("cannot open %s", path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		char *p;

		if (de->d_name[0] == '.' || nl < 5 ||
		    strcmp(de->d_name + nl - 4, ".txt") != 0)
			continue;
		if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
			bench_die("%s", "out of memory");
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			if ((c->v = realloc(c->v, c->cap * sizeof(*c->v))) ==
			    NULL)
				bench_die("%s", "out of memory");
		}
		memset(&c->v[c->n], 0, sizeof(c->v[0]));
		c->v[c->n].path = p;
		c->v[c->n].spam = spam;
		c->n++;
	}
	closedir(d);
}

static int
cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct bench_item *)a)->path,
	    ((const struct bench_item *)b)->path);
}

uint64_t
bench_mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
bench_load(struct bench_corpus *c, const char *root, const char *dirs,
    uint64_t seed)
{
	struct dirent *de;
	char *copy, *save = NULL, *d;
	DIR *dp;
	size_t i;

	if (dirs == NULL) {
		if ((dp = opendir(root)) == NULL)
			bench_die("cannot open corpus directory %s", root);
		while ((de = readdir(dp)) != NULL)
			if (de->d_name[0] != '.')
				add_dir(c, root, de->d_name, false);
		closedir(dp);
	} else {
		if ((copy = strdup(dirs)) == NULL)
			bench_die("%s", "out of memory");
		for (d = strtok_r(copy, ",", &save); d != NULL;
		     d = strtok_r(NULL, ",", &save))
			add_dir(c, root, d, true);
		free(copy);
	}
	if (c->n == 0)
		bench_die("no messages in %s under %s", dirs ? dirs : "any "
		    "directory", root);
	qsort(c->v, c->n, sizeof(*c->v), cmp_item);
	for (i = c->n - 1; i > 0; i--) {
		size_t j = (size_t)(bench_mix(&seed) % (i + 1));
		struct bench_item t = c->v[i];

		c->v[i] = c->v[j];
		c->v[j] = t;
	}
}

void
bench_free(struct bench_corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

char *
bench_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (fp == NULL)
		bench_die("cannot read %s", path);
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 131072;
			if ((buf = realloc(buf, cap)) == NULL)
				bench_die("%s", "out of memory");
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

double
bench_roca(const struct bench_item *v, size_t n, int f)
{
	double *ham = malloc((n ? n : 1) * sizeof(double));
	double *spam = malloc((n ? n : 1) * sizeof(double));
	size_t nh = 0, ns = 0, i, j = 0, k;
	double wrong = 0;

	if (ham == NULL || spam == NULL)
		bench_die("%s", "out of memory");
	for (i = 0; i < n; i++) {
		if (v[i].spam)
			spam[ns++] = v[i].score[f];
		else
			ham[nh++] = v[i].score[f];
	}
	qsort(ham, nh, sizeof(double), cmp_double);
	qsort(spam, ns, sizeof(double), cmp_double);
	/* for each spam: hams scoring above it count 1, equal ones 1/2 */
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

double
bench_lam(size_t fp, size_t nham, size_t fn, size_t nspam)
{
	double fpr = ((double)fp + 0.5) / ((double)nham + 1);
	double fnr = ((double)fn + 0.5) / ((double)nspam + 1);

	return 100.0 / (1 + exp(-(logit(fpr) + logit(fnr)) / 2));
}

/* cmp_double_desc - descending order of doubles. */
static int
cmp_double_desc(const void *a, const void *b)
{
	return cmp_double(b, a);
}

double
bench_fn_at_fp(const struct bench_item *v, size_t n, int f, size_t k)
{
	double *ham = malloc((n ? n : 1) * sizeof(double)), t;
	size_t nh = 0, ns = 0, missed = 0, i;

	if (ham == NULL)
		bench_die("%s", "out of memory");
	for (i = 0; i < n; i++)
		if (!v[i].spam)
			ham[nh++] = v[i].score[f];
	if (nh <= k) {
		free(ham);
		return 0;
	}
	qsort(ham, nh, sizeof(double), cmp_double_desc);
	t = ham[k]; /* every spam at or below it is missed */
	free(ham);
	for (i = 0; i < n; i++) {
		if (!v[i].spam)
			continue;
		ns++;
		missed += v[i].score[f] <= t;
	}
	return ns ? 100.0 * (double)missed / (double)ns : 0;
}

void
bench_report(const char *prefix, const struct bench_item *v, size_t n, int f)
{
	static const size_t ks[] = {0, 1, 2, 4};
	size_t i, fp = 0, fn = 0, nham = 0, nspam = 0;

	for (i = 0; i < n; i++) {
		if (v[i].spam) {
			nspam++;
			fn += !v[i].verdict[f];
		} else {
			nham++;
			fp += v[i].verdict[f];
		}
	}
	printf("%s.messages %zu\n", prefix, n);
	printf("%s.ham %zu\n%s.spam %zu\n", prefix, nham, prefix, nspam);
	printf("%s.fp %zu\n%s.fn %zu\n", prefix, fp, prefix, fn);
	printf("%s.fpr %.3f\n", prefix, nham ? 100.0 * (double)fp / (double)nham : 0);
	printf("%s.fnr %.3f\n", prefix,
	    nspam ? 100.0 * (double)fn / (double)nspam : 0);
	printf("%s.roca %.4f\n", prefix, bench_roca(v, n, f));
	printf("%s.lam %.3f\n", prefix, bench_lam(fp, nham, fn, nspam));
	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		printf("%s.fn_at_%zufp %.3f\n", prefix, ks[i],
		    bench_fn_at_fp(v, n, f, ks[i]));
}

void
bench_conf(const char *path, struct conf **cf, struct cls_engine_cfg *cfg)
{
	struct conf_diag diag = {0};

	if (conf_load(path, cf, &diag) != 0) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.msgs[i]);
		bench_die("%s", "bad configuration");
	}
	if (conf_engine_cfg(*cf, cfg) != 0)
		bench_die("%s", "bad engine configuration");
}
