/*
 * dspam_golden - compare one user's token table in an edgespam SQLite
 * store with a token table DSPAM 3.10 made (tests/data/dspam-golden).
 *
 *   dspam_golden -d DB -u USER -g TABLE [-t TOKENIZER MESSAGE...]
 *
 * TABLE holds "ID<TAB>SPAM_HITS<TAB>INNOCENT_HITS" lines (ID unsigned
 * decimal). The user's rows are read from DB's dspam_token_data (the
 * id's 64 bits are stored as a signed INTEGER). Prints one line:
 *   TABLE: dspam N edgespam N same N counts-differ N only-edgespam N
 *   only-dspam N
 * and, when the tables differ, up to 10 rows of each kind of
 * difference. With -t, the MESSAGEs (the ones the user was trained on)
 * are tokenized again with TOKENIZER keeping the texts, so that a
 * difference shows edgespam's token text ("?" when edgespam has no
 * such token: a text only DSPAM made). Exit 0 when the tables are
 * identical, 1 when they differ, 2 on errors, 64 for usage.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cls_msg.h"
#include "cls_token.h"

#define SHOWN 10

struct row {
	uint64_t id;
	long long spam;
	long long innocent;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static void
die(const char *what)
{
	fprintf(stderr, "dspam_golden: %s\n", what);
	exit(2);
}

static void
push(struct rows *r, uint64_t id, long long s, long long i)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (r->v == NULL)
			die("out of memory");
	}
	r->v[r->n].id = id;
	r->v[r->n].spam = s;
	r->v[r->n].innocent = i;
	r->n++;
}

static int
cmp_row(const void *a, const void *b)
{
	uint64_t x = ((const struct row *)a)->id;
	uint64_t y = ((const struct row *)b)->id;

	return x < y ? -1 : x > y;
}

/* read_table - the rows of a DSPAM table file. */
static void
read_table(const char *path, struct rows *r)
{
	unsigned long long id;
	long long s, i;
	char line[256];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%llu\t%lld\t%lld", &id, &s, &i) != 3) {
			fprintf(stderr, "dspam_golden: %s: bad line: %s", path,
			    line);
			exit(2);
		}
		push(r, (uint64_t)id, s, i);
	}
	fclose(fp);
	qsort(r->v, r->n, sizeof(*r->v), cmp_row);
}

/* read_store - the rows of user in the SQLite store db. */
static void
read_store(const char *db, const char *user, struct rows *r)
{
	sqlite3 *h;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(h));
	if (sqlite3_prepare_v2(h,
	        "SELECT t.token, t.spam_hits, t.innocent_hits "
	        "FROM dspam_token_data t JOIN dspam_virtual_uids u "
	        "ON t.uid = u.uid WHERE u.username = ?",
	        -1, &q, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(h));
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		push(r, (uint64_t)sqlite3_column_int64(q, 0),
		    sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2));
	if (rc != SQLITE_DONE)
		die(sqlite3_errmsg(h));
	sqlite3_finalize(q);
	sqlite3_close(h);
	qsort(r->v, r->n, sizeof(*r->v), cmp_row);
}

/* The texts of the tokens of the messages, for the report. */
struct texts {
	struct cls_tset *set;
};

static void
load_texts(struct texts *tx, const char *tokenizer, char **files, int n)
{
	enum cls_tokenizer kind;
	struct cls_tok_opts o;
	struct cls_limits lim;
	struct cls_msg *m;
	char *buf;
	long sz;
	FILE *fp;
	int k;

	if (cls_tokenizer_parse(tokenizer, &kind) != 0)
		die("unknown tokenizer");
	cls_limits_default(&lim);
	cls_tok_opts_default(&o, kind);
	/* a set of many messages: room for all of their tokens */
	tx->set = cls_tset_new(10 * 1000 * 1000, true);
	if (tx->set == NULL)
		die("out of memory");
	for (k = 0; k < n; k++) {
		if ((fp = fopen(files[k], "rb")) == NULL ||
		    fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 ||
		    fseek(fp, 0, SEEK_SET) != 0) {
			perror(files[k]);
			exit(2);
		}
		if ((buf = malloc((size_t)sz + 1)) == NULL ||
		    fread(buf, 1, (size_t)sz, fp) != (size_t)sz)
			die("cannot read a message");
		fclose(fp);
		if (cls_msg_parse(buf, (size_t)sz, &lim, &m) != 0 ||
		    cls_tokenize(m, &o, tx->set) != 0)
			die("cannot tokenize a message");
		cls_msg_free(m);
		free(buf);
	}
}

static const char *
text_of(const struct texts *tx, uint64_t id, int *len)
{
	const struct cls_token *t;

	if (tx->set == NULL || (t = cls_tset_find(tx->set, id)) == NULL ||
	    t->text == NULL) {
		*len = 1;
		return "?";
	}
	*len = (int)t->len;
	return t->text;
}

int
main(int argc, char **argv)
{
	const char *db = NULL, *user = NULL, *table = NULL, *tok = NULL;
	struct rows d = {0}, e = {0};
	struct texts tx = {0};
	size_t i = 0, j = 0, same = 0, differ = 0, only_e = 0, only_d = 0;
	size_t shown_c = 0, shown_e = 0, shown_d = 0;
	const char *t;
	int ch, len;

	while ((ch = getopt(argc, argv, "d:u:g:t:")) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'u': user = optarg; break;
		case 'g': table = optarg; break;
		case 't': tok = optarg; break;
		default: goto usage;
		}
	}
	if (db == NULL || user == NULL || table == NULL ||
	    (tok == NULL && optind != argc))
		goto usage;
	read_table(table, &d);
	read_store(db, user, &e);
	while (i < d.n || j < e.n) {
		if (j == e.n || (i < d.n && d.v[i].id < e.v[j].id)) {
			only_d++;
			i++;
		} else if (i == d.n || e.v[j].id < d.v[i].id) {
			only_e++;
			j++;
		} else {
			if (d.v[i].spam == e.v[j].spam &&
			    d.v[i].innocent == e.v[j].innocent)
				same++;
			else
				differ++;
			i++;
			j++;
		}
	}
	printf("%s: dspam %zu edgespam %zu same %zu counts-differ %zu "
	       "only-edgespam %zu only-dspam %zu\n",
	    table, d.n, e.n, same, differ, only_e, only_d);
	if (differ == 0 && only_e == 0 && only_d == 0)
		return 0;
	if (tok != NULL)
		load_texts(&tx, tok, argv + optind, argc - optind);
	for (i = j = 0; i < d.n || j < e.n;) {
		if (j == e.n || (i < d.n && d.v[i].id < e.v[j].id)) {
			if (shown_d++ < SHOWN)
				printf("  only dspam:    %" PRIu64 " %lld/%lld\n",
				    d.v[i].id, d.v[i].spam, d.v[i].innocent);
			i++;
		} else if (i == d.n || e.v[j].id < d.v[i].id) {
			t = text_of(&tx, e.v[j].id, &len);
			if (shown_e++ < SHOWN)
				printf("  only edgespam: %" PRIu64
				       " %lld/%lld %.*s\n",
				    e.v[j].id, e.v[j].spam, e.v[j].innocent,
				    len, t);
			j++;
		} else {
			t = text_of(&tx, e.v[j].id, &len);
			if ((d.v[i].spam != e.v[j].spam ||
			        d.v[i].innocent != e.v[j].innocent) &&
			    shown_c++ < SHOWN)
				printf("  counts differ: %" PRIu64
				       " dspam %lld/%lld edgespam %lld/%lld "
				       "%.*s\n",
				    d.v[i].id, d.v[i].spam, d.v[i].innocent,
				    e.v[j].spam, e.v[j].innocent, len, t);
			i++;
			j++;
		}
	}
	cls_tset_free(tx.set);
	free(d.v);
	free(e.v);
	return 1;
usage:
	fprintf(stderr, "usage: dspam_golden -d DB -u USER -g TABLE "
	                "[-t TOKENIZER MESSAGE...]\n");
	return 64;
}
