/*
 * tokdump - print the tokens of a message file, one per line:
 * "id count flags text", sorted by text then id. The golden tests
 * (tests/sh/test_golden.sh, make golden) compare this output.
 *
 *   tokdump [-t word|chain|osb|edgespam] [-s -a CLIENT] FILE
 *
 * -s prints only the id of the sender token (automatic whitelisting:
 * "From*", the From: address, "*" and the network of CLIENT, the SMTP
 * client's address), which the engine learns beside the tokens of a
 * message the milter got from CLIENT; exit 1 when the message has no
 * usable From: address or CLIENT is no address. Without -a there is
 * no client and so no sender token, as for the CLI: exit 1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cls_msg.h"
#include "cls_source.h"
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
	struct cls_source_keys src;
	const char *client = NULL;
	uint64_t sender;
	bool sender_only = false;
	char *buf = NULL;
	size_t len = 0, cap = 0, n, i, r;
	FILE *fp;
	int ch;

	while ((ch = getopt(argc, argv, "a:st:")) != -1) {
		if (ch == 's') {
			sender_only = true;
		} else if (ch == 'a') {
			client = optarg;
		} else if (ch != 't' ||
		           cls_tokenizer_parse(optarg, &kind) != 0) {
			fprintf(stderr,
			    "usage: tokdump [-t TOKENIZER] [-s -a CLIENT] FILE\n");
			return 64;
		}
	}
	if (optind + 1 != argc || (fp = fopen(argv[optind], "rb")) == NULL) {
		fprintf(stderr,
		    "usage: tokdump [-t TOKENIZER] [-s -a CLIENT] FILE\n");
		return 64;
	}
	do {
		if (len + 4096 > cap &&
		    (buf = realloc(buf, cap = cap * 2 + 8192)) == NULL)
			return 71;
		r = fread(buf + len, 1, cap - len, fp);
		len += r;
	} while (r > 0);
	fclose(fp);
	cls_limits_default(&lim);
	cls_tok_opts_default(&o, kind);
	if (sender_only) {
		if (cls_msg_parse(buf, len, &lim, &m) != 0)
			return 71;
		if (client == NULL || cls_source_keys(client, &src) != 0) {
			fprintf(stderr, "tokdump: no client address (-a): no "
			                "sender token\n");
			return 1;
		}
		if (cls_sender_token(m, src.net, &sender) != 0)
			return 1;
		printf("%llu\n", (unsigned long long)sender);
		cls_msg_free(m);
		free(buf);
		return 0;
	}
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
