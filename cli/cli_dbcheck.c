/*
 * cli_dbcheck.c - what "edgespam db check" and "db upgrade" add for a
 * DSPAM database: the tables' storage engines (and their conversion to
 * InnoDB), and whether the stored tokens were made by the configured
 * tokenizer.
 *
 * Engines: store_schema(STORE_SCHEMA_ENGINES) lists each table's engine
 * (mysql only); a table that is not InnoDB is reported as something to
 * fix: DSPAM ships MyISAM, which locks whole tables and has no
 * transactions, so concurrent milters wait on each other and a crash
 * can leave half a message learned. "db upgrade --engine=innodb"
 * converts them (STORE_SCHEMA_TO_INNODB), printing each table before
 * and after its ALTER TABLE.
 *
 * Tokenizer: token ids are CRCs of token texts, so a database trained
 * with another tokenizer simply never matches: every message looks new,
 * silently. There is no text in the database to re-tokenize, so the
 * check tokenizes a probe instead: a message made of the header lines
 * nearly all mail carries and the commonest English words and phrases,
 * with each tokenizer edgespam has (word, chain, osb, edgespam). For a
 * sample of users (the first PROBE_USERS by uid that have learned
 * something) it counts which of each tokenizer's probe ids the user's
 * token table holds. When another tokenizer's share is at least twice
 * the configured one's, and at least PROBE_MIN_SHARE, the check warns
 * and names it. Word's ids are a subset of chain's (chain adds pairs),
 * so the two are told apart only by the pairs: a chain database read
 * with word loses the pairs, and is not warned about.
 *
 * The check needs the store open (a DSPAM database must have been
 * upgraded first); it changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "cls_msg.h"
#include "cls_token.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "store.h"

#define PROBE_USERS 20
#define PROBE_MIN_SHARE 0.10
#define PROBE_KINDS 4

/* The probe: what most mail has in its header, and common words in
 * common order (so that chain's and OSB's pairs occur too). */
static const char probe[] =
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "Content-Type: text/plain; charset=\"iso-8859-1\"\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: 7bit\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "X-Mailer: Microsoft Outlook Express 6.00.2800.1106\n"
    "Subject: Re: your message\n"
    "Precedence: bulk\n"
    "\n"
    "Hello, thank you for your message. This is one of the best in the "
    "world. If you have any questions, please let me know. You can click "
    "here to get the free offer, and we will send it to you at no cost. "
    "It is not the end of the list and the rest of the people on the "
    "list will be there for the day. I think that we should have a look "
    "at this and let you know what we can do. To unsubscribe from this "
    "list please click on the link below. Best regards, and have a good "
    "time with all of us in the new year.\n";

struct probe_kind {
	enum cls_tokenizer kind;
	uint64_t *ids;
	size_t n;
	unsigned long long hits, asked;
};

struct probe_users {
	uint32_t uid[PROBE_USERS * 4];
	size_t n;
};

/* take_user - the first users by uid (more than needed: some have
 * learned nothing). */
static int
take_user(uint32_t uid, const char *name, void *arg)
{
	struct probe_users *u = arg;

	(void)name;
	u->uid[u->n++] = uid;
	return u->n == sizeof(u->uid) / sizeof(u->uid[0]);
}

/* probe_ids - the probe's token ids by one tokenizer (caller frees). */
static int
probe_ids(struct probe_kind *k)
{
	struct cls_limits lim;
	struct cls_tok_opts o;
	struct cls_msg *m = NULL;
	struct cls_tset *set = NULL;
	const struct cls_token *t;
	int rc;

	cls_limits_default(&lim);
	cls_tok_opts_default(&o, k->kind);
	if ((rc = cls_msg_parse(probe, sizeof(probe) - 1, &lim, &m)) != 0)
		return rc;
	if ((set = cls_tset_new(lim.max_tokens, false)) == NULL) {
		cls_msg_free(m);
		return ES_ENOMEM;
	}
	if ((rc = cls_tokenize(m, &o, set)) == 0) {
		k->n = cls_tset_len(set);
		t = cls_tset_items(set);
		if ((k->ids = es_reallocarray(NULL, k->n + 1,
			 sizeof(*k->ids))) == NULL)
			rc = ES_ENOMEM;
		for (size_t i = 0; rc == 0 && i < k->n; i++)
			k->ids[i] = t[i].id;
	}
	cls_tset_free(set);
	cls_msg_free(m);
	return rc;
}

/* count_hits - how many of k's ids uid's token table holds. */
static int
count_hits(struct cli *c, uint32_t uid, struct probe_kind *k)
{
	struct store_token *toks;
	int rc;

	if (k->n == 0)
		return 0;
	if ((toks = es_calloc(k->n, sizeof(*toks))) == NULL)
		return ES_ENOMEM;
	for (size_t i = 0; i < k->n; i++)
		toks[i].token = k->ids[i];
	if ((rc = store_tokens_get(c->st, uid, toks, k->n)) == 0) {
		for (size_t i = 0; i < k->n; i++)
			if (toks[i].spam_hits + toks[i].innocent_hits > 0)
				k->hits++;
		k->asked += k->n;
	}
	es_free(toks);
	return rc;
}

int
cli_db_tokenizer_check(struct cli *c, bool *mismatch)
{
	static const enum cls_tokenizer kinds[PROBE_KINDS] = {CLS_TOK_WORD,
	    CLS_TOK_CHAIN, CLS_TOK_OSB, CLS_TOK_EDGESPAM};
	struct probe_kind k[PROBE_KINDS];
	struct probe_users u;
	struct store_totals t;
	enum cls_tokenizer conf_kind;
	size_t users = 0, best = 0, mine = 0, i, j;
	double share[PROBE_KINDS];
	int rc = 0;

	*mismatch = false;
	if (cls_tokenizer_parse(conf_str(c->cf, "tokenizer"), &conf_kind) != 0)
		return EX_CONFIG;
	memset(k, 0, sizeof(k));
	memset(&u, 0, sizeof(u));
	for (i = 0; i < PROBE_KINDS && rc == 0; i++) {
		k[i].kind = kinds[i];
		if (kinds[i] == conf_kind)
			mine = i;
		rc = probe_ids(&k[i]);
	}
	if (rc == 0)
		rc = store_users(c->st, take_user, &u);
	for (j = 0; rc == 0 && j < u.n && users < PROBE_USERS; j++) {
		if ((rc = store_totals_get(c->st, u.uid[j], &t)) != 0)
			break;
		if (t.spam_learned + t.innocent_learned + t.spam_classified +
			t.innocent_classified == 0)
			continue;
		users++;
		for (i = 0; i < PROBE_KINDS && rc == 0; i++)
			rc = count_hits(c, u.uid[j], &k[i]);
	}
	if (rc != 0) {
		fprintf(stderr, "edgespam: db check: tokenizer probe: %s: %s\n",
		    es_strerror(rc), store_errmsg(c->st));
		goto out;
	}
	if (users == 0) {
		printf("db check: tokenizer: no user has learned anything yet; "
		       "nothing to compare\n");
		goto out;
	}
	printf("db check: tokenizer: probe tokens found in the tables of "
	       "%zu user%s:",
	    users, users == 1 ? "" : "s");
	for (i = 0; i < PROBE_KINDS; i++) {
		share[i] = k[i].asked ? (double)k[i].hits / (double)k[i].asked
		                      : 0.0;
		if (share[i] > share[best])
			best = i;
		printf(" %s %.0f%%%s", cls_tokenizer_name(k[i].kind),
		    100.0 * share[i], i + 1 < PROBE_KINDS ? "," : "\n");
	}
	if (best != mine && share[best] >= PROBE_MIN_SHARE &&
	    share[best] >= 2 * share[mine] &&
	    !(kinds[mine] == CLS_TOK_WORD && kinds[best] == CLS_TOK_CHAIN)) {
		*mismatch = true;
		printf("db check: warning: the stored tokens look like %s's, "
		       "but tokenizer = %s: every message would look new to "
		       "this database; set tokenizer = %s\n",
		    cls_tokenizer_name(k[best].kind),
		    cls_tokenizer_name(conf_kind),
		    cls_tokenizer_name(k[best].kind));
	} else {
		printf("db check: tokenizer: the configured %s matches the "
		       "stored tokens%s\n",
		    cls_tokenizer_name(conf_kind),
		    share[best] < PROBE_MIN_SHARE ? " (too few probe tokens "
		                                    "found to tell)"
		                                  : "");
	}
out:
	for (i = 0; i < PROBE_KINDS; i++)
		es_free(k[i].ids);
	return rc != 0 ? cli_exit_code(rc) : EX_OK;
}
