/*
 * tokdump - print the tokens of a message file, one per line:
 * "id count flags text", sorted by text then id. The golden tests
 * (tests/sh/test_golden.sh, make golden) compare this output.
 *
 *   tokdump [-t word|chain|osb|edgespam] FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cls_msg.h"
#include "cls_token.h"

static int
cmp(const void *a, const void *b)
{
	const struct cls_token *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->text, y->text, n);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int
main(int argc, char **argv)
{
	enum cls_tokenizer kind = CLS_TOK_EDGESPAM;
	struct cls_tok_opts o;
	struct cls_limits lim;
	struct cls_msg *m;
	struct cls_tset *set;
	struct cls_token *v;
	char *buf = NULL;
	size_t len = 0, cap = 0, n, i, r;
	FILE *fp;
	int ch;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		if (ch != 't' || cls_tokenizer_parse(optarg, &kind) != 0) {
			fprintf(stderr, "usage: tokdump [-t TOKENIZER] FILE\n");
			return 64;
		}
	}
	if (optind + 1 != argc || (fp = fopen(argv[optind], "rb")) == NULL) {
		fprintf(stderr, "usage: tokdump [-t TOKENIZER] FILE\n");
		return 64;
	}
	do {
		if (len + 4096 > cap && (buf = realloc(buf, cap = cap * 2 + 8192)) == NULL)
			return 71;
		r = fread(buf + len, 1, cap - len, fp);
		len += r;
	} while (r > 0);
	fclose(fp);
	cls_limits_default(&lim);
	cls_tok_opts_default(&o, kind);
	if (cls_msg_parse(buf, len, &lim, &m) != 0 ||
	    (set = cls_tset_new(lim.max_tokens, true)) == NULL ||
	    cls_tokenize(m, &o, set) != 0)
		return 71;
	n = cls_tset_len(set);
	if ((v = malloc((n + 1) * sizeof(*v))) == NULL)
		return 71;
	memcpy(v, cls_tset_items(set), n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp);
	for (i = 0; i < n; i++)
		printf("%llu %u %u %.*s\n", (unsigned long long)v[i].id,
		    v[i].count, v[i].flags, (int)v[i].len, v[i].text);
	free(v);
	cls_tset_free(set);
	cls_msg_free(m);
	free(buf);
	return 0;
}
