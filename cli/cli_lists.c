/*
 * cli_lists.c - a user's sender allow and block lists (cls_sender.h).
 *
 *   user allow|block USER PATTERN      put PATTERN on the list (moving it
 *                                      from the other one)
 *   user unallow|unblock USER PATTERN  take it off that list
 *   user list USER                     both lists, in pattern order
 *   --user USER --allow-sender | --block-sender   (alias pipe)
 *                                      the original sender of the
 *                                      forwarded message on standard
 *                                      input, as an exact address
 *
 * Who may: a user for itself, root and trusted_users for anyone (the
 * alias pipe runs as a trusted user; the milter accepts mail to the
 * alias only from its owner or a trusted network). The user always
 * comes from the command line, never from the message.
 *
 * Exit codes: 0 done; 64 usage or a bad pattern; 65 a message without
 * a usable original sender, or removing what is not on the list; 67 no
 * such user; 75 the store is busy or unreachable (the MTA retries the
 * pipe); 77 not allowed for that user.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "cls_sender.h"
#include "cls_user.h"
#include "conf.h"
#include "es_buf.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

/* A command's verb. */
struct verb {
	const char *name;
	enum store_sender_list list;
	bool add;
};

static const struct verb verbs[] = {
	{"allow", STORE_SENDER_ALLOW, true},
	{"block", STORE_SENDER_BLOCK, true},
	{"unallow", STORE_SENDER_ALLOW, false},
	{"unblock", STORE_SENDER_BLOCK, false},
	{"list", STORE_SENDER_NONE, false},
};

/* lname - "allow" or "block". */
static const char *
lname(enum store_sender_list l)
{
	return l == STORE_SENDER_ALLOW ? "allow" : "block";
}

/* find_verb - the verb named s, or NULL. */
static const struct verb *
find_verb(const char *s)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, s) == 0)
			return &verbs[i];
	return NULL;
}

bool
cli_lists_verb(const char *s)
{
	return find_verb(s) != NULL;
}

/* failed - a store failure naming what; the exit code. */
static int
failed(const struct cli *c, const char *what, int rc)
{
	fprintf(stderr, "edgespam: %s: %s: %s\n", what, es_strerror(rc),
	    store_errmsg(c->st));
	es_log_err("%s: %s: %s", what, es_strerror(rc), store_errmsg(c->st));
	return cli_exit_code(rc);
}

/* lists_user - check and normalise the user, check the caller, open
 * the store and find (or with create, make) the uid. */
static int
lists_user(struct cli *c, const char *arg, bool create, char *user,
    size_t len, uint32_t *uid)
{
	int rc;

	if (!cli_user_name(c, arg, user, len)) {
		fprintf(stderr, "edgespam: %s: not a user name\n", arg);
		return EX_USAGE;
	}
	if (!cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed to change the lists of "
		                "%s (not in trusted_users)\n", user);
		return EX_NOPERM;
	}
	if ((rc = cli_open_store(c)) != EX_OK)
		return rc;
	CLI_RETRY(c, rc, store_user_uid(c->st, user, create, uid));
	if (rc != 0) {
		if (rc == ES_ENOTFOUND) {
			fprintf(stderr, "edgespam: no user %s\n", user);
			return EX_NOUSER;
		}
		return failed(c, user, rc);
	}
	return EX_OK;
}

/* add_once - pattern onto uid's list in one transaction; *was gets the
 * list it was on. 0 or an es_err code (rolled back). */
static int
add_once(struct cli *c, uint32_t uid, const char *pattern,
    enum store_sender_list list, enum store_sender_list *was)
{
	int rc;

	*was = STORE_SENDER_NONE;
	if ((rc = store_begin(c->st, true)) != 0)
		return rc;
	if ((rc = store_sender_find(c->st, uid, &pattern, 1, was)) != 0 ||
	    (rc = store_sender_set(c->st, uid, pattern, list,
		 time(NULL))) != 0 ||
	    (rc = store_commit(c->st)) != 0)
		store_rollback(c->st);
	return rc;
}

/* add - put pattern on user's list; says when it moved. */
static int
add(struct cli *c, const char *user, uint32_t uid, const char *pattern,
    enum store_sender_list list, const char *how)
{
	const char *name = lname(list);
	enum store_sender_list was = STORE_SENDER_NONE;
	int rc;

	CLI_RETRY(c, rc, add_once(c, uid, pattern, list, &was));
	if (rc != 0)
		return failed(c, user, rc);
	if (was == list) {
		printf("%s: %s was already on the %s list\n", user, pattern,
		    name);
	} else {
		printf("%s: %s added to the %s list%s%s\n", user, pattern, name,
		    was != STORE_SENDER_NONE ? " (moved from the " : "",
		    was == STORE_SENDER_ALLOW   ? "allow list)"
		        : was == STORE_SENDER_BLOCK ? "block list)"
		                                    : "");
	}
	es_log_notice("user %s: sender %s on the %s list%s%s", user, pattern,
	    name, how ? ", from " : "", how ? how : "");
	return EX_OK;
}

/* print_entry - "allow PATTERN" or "block PATTERN". */
static int
print_entry(const char *pattern, const char *list, void *arg)
{
	size_t *n = arg;

	printf("%s %s\n", list, pattern);
	(*n)++;
	return 0;
}

int
cli_lists(struct cli *c, const char *verb_name, const char *who, int argc,
    char **argv)
{
	const struct verb *v = find_verb(verb_name);
	char user[CLS_USER_MAX + 1], pat[CLS_SENDER_MAX + 1], err[512];
	uint32_t uid;
	size_t n = 0;
	int rc;

	if (v == NULL || argc != (v->list == STORE_SENDER_NONE ? 0 : 1)) {
		fputs("usage: edgespam user allow|block|unallow|unblock USER "
		      "PATTERN\n       edgespam user list USER\n"
		      "PATTERN: user@example.com, @example.com (that domain) "
		      "or *.example.com (and its subdomains)\n",
		    stderr);
		return EX_USAGE;
	}
	if (argc == 1 &&
	    cls_sender_pattern(argv[0], pat, sizeof(pat), err, sizeof(err)) !=
	        0) {
		fprintf(stderr, "edgespam: %s\n", err);
		return EX_USAGE;
	}
	if ((rc = lists_user(c, who, v->add, user, sizeof(user), &uid)) != 0)
		return rc;
	if (v->list == STORE_SENDER_NONE) {
		if ((rc = store_senders(c->st, uid, print_entry, &n)) != 0)
			return failed(c, user, rc);
		if (n == 0)
			fprintf(stderr, "edgespam: %s has no allowed or blocked "
			                "senders\n", user);
		return EX_OK;
	}
	if (v->add)
		return add(c, user, uid, pat, v->list, NULL);
	CLI_RETRY(c, rc, store_sender_remove(c->st, uid, pat, v->list));
	if (rc == ES_ENOTFOUND) {
		fprintf(stderr, "edgespam: %s is not on the %s list of %s\n",
		    pat, lname(v->list), user);
		return EX_DATAERR;
	}
	if (rc != 0)
		return failed(c, user, rc);
	printf("%s: %s removed from the %s list\n", user, pat,
	    lname(v->list));
	es_log_notice("user %s: sender %s off the %s list", user, pat,
	    lname(v->list));
	return EX_OK;
}

int
cli_sender_pipe(struct cli *c)
{
	enum cls_retrain_op op = c->sender_list == STORE_SENDER_ALLOW
	    ? CLS_RETRAIN_ALLOW
	    : CLS_RETRAIN_BLOCK;
	struct es_buf msg;
	char user[CLS_USER_MAX + 1];
	bool via_socket = cli_retrain_via_socket(c);
	int rc;

	if (c->nusers != 1) {
		fprintf(stderr, "edgespam: --%s-sender takes one --user\n",
		    lname(c->sender_list));
		return EX_USAGE;
	}
	if ((rc = conf_engine_cfg(c->cf, &c->ecfg)) != 0) {
		fprintf(stderr, "edgespam: configuration: %s\n", es_strerror(rc));
		return EX_CONFIG;
	}
	/* who may act is settled before anything is read or opened (by the
	 * milter, for a request that goes to its retrain socket) */
	if (!cli_user_name(c, c->users[0], user, sizeof(user))) {
		fprintf(stderr, "edgespam: %s: not a user name\n", c->users[0]);
		return EX_USAGE;
	}
	if (via_socket ? !cli_may_retrain_for(c, user)
	               : !cli_may_act_for(c, user)) {
		fprintf(stderr, "edgespam: not allowed to act for %s (%s)\n",
		    user, via_socket ? "see retrain_peers and trusted_users"
		                     : "not in trusted_users");
		return EX_NOPERM;
	}
	if ((rc = cli_read_input(&msg)) != 0) {
		fprintf(stderr, "edgespam: reading the message: %s\n",
		    rc == ES_ELIMIT ? "too large" : es_strerror(rc));
		es_buf_release(&msg);
		return rc == ES_ENOMEM ? EX_OSERR : EX_DATAERR;
	}
	if (via_socket)
		rc = cli_retrain_socket(c, op, user, &msg);
	else if ((rc = cli_open_store(c)) == EX_OK)
		rc = cli_retrain_direct(c, NULL, op, user, &msg, time(NULL));
	es_buf_release(&msg);
	return rc;
}
