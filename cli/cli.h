/*
 * cli.h - shared state of the edgespam command-line tool's modules.
 *
 * cli_main.c parses the command line (DSPAM's flags included) and
 * dispatches; cli_mail.c handles a message (classify, process, train,
 * correct); cli_admin.c the administration commands (stats, user,
 * domain, purge, db). Exit codes are sysexits(3) values.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "cls_engine.h"
#include "cls_retrain.h"
#include "es_buf.h"
#include "store.h"
#include "store_retry.h"

struct conf;
struct store;

#define CLI_MAX_USERS 64
/* The name "edgespam user" takes for uid 0, the default preferences. */
#define CLI_DEFAULT_USER "@default"

struct cli {
	const char *conf_path;
	struct conf *cf;
	struct store *st;
	struct cls_engine_cfg ecfg;  /* from the configuration */
	/* message options */
	const char *users[CLI_MAX_USERS];
	size_t nusers;
	bool classify;
	bool process;
	bool to_stdout;
	bool deliver_summary;
	bool deliver_spam, deliver_innocent, deliver_given;
	bool have_mode;
	enum cls_mode mode;
	bool have_class, have_source;
	enum cls_class cls;
	enum cls_source source;
	const char *signature;
	int bnr;       /* -1: from configuration */
	int whitelist; /* -1: from configuration */
	/* --allow-sender / --block-sender (alias pipe); NONE otherwise */
	enum store_sender_list sender_list;
	/* cli_open_store opens with store_params.own_maintenance: the
	 * command calls store_maintain() itself (train) */
	bool own_maintenance;
};

/* cli_die_usage etc. return an exit code after printing to stderr. */
int cli_mail(struct cli *c);
int cli_stats(struct cli *c, int argc, char **argv);
/* cli_stats_daily - `stats USER --daily [--days N] [--json]`
 * (cli_daily.c), the arguments after "stats" in any order. */
int cli_stats_daily(struct cli *c, int argc, char **argv);
int cli_user(struct cli *c, int argc, char **argv);
/*
 * cli_user_show - "user USER show [--json]" (cli_show.c): the effective
 * settings of arg's user with where each comes from, the domain policy,
 * whether the milter filters it and why not, its learned totals and
 * whether the shared dictionary takes part; also for a user the store
 * does not know yet. argc/argv are what follows "show".
 */
int cli_user_show(struct cli *c, const char *arg, int argc, char **argv);
/* cli_known_pref - whether key is a preference edgespam reads. */
bool cli_known_pref(const char *key);
/* cli_pref_invalid - why value is not usable for the preference key
 * edgespam reads, or NULL when it is (unknown keys are not checked). */
const char *cli_pref_invalid(const char *key, const char *value);
/* cli_import_dspam - import-dspam [--conf FILE] [--userdir DIR]
 * [--apply]: dspam.conf and DSPAM's opt files (cli_import.c). */
int cli_import_dspam(struct cli *c, int argc, char **argv);
/* cli_stats_header, cli_stats_row - the table of "edgespam stats": its
 * heading, and one user's learned counts, TP/TN/FP/FN and accuracy. */
void cli_stats_header(void);
void cli_stats_row(const char *name, const struct store_totals *t);
int cli_domain(struct cli *c, int argc, char **argv);
/* cli_dump, cli_merge - DSPAM's dspam_dump and dspam_merge; cli_stats
 * above takes dspam_stats' flags (all in cli_dspam.c). */
int cli_dump(struct cli *c, int argc, char **argv);
int cli_merge(struct cli *c, int argc, char **argv);
/* cli_train - train USER --spam PATH --innocent PATH, as dspam_train
 * (cli_train.c). */
int cli_train(struct cli *c, int argc, char **argv);
int cli_purge(struct cli *c, int argc, char **argv);
/* cli_db - db init | check | upgrade [--engine=innodb]: the store's
 * schema (store_schema). */
int cli_db(struct cli *c, int argc, char **argv);
/* cli_db_tokenizer_check - db check: whether the stored tokens look
 * like another tokenizer's than the configured one (*mismatch, and a
 * warning printed); c->st open. An exit code (cli_dbcheck.c). */
int cli_db_tokenizer_check(struct cli *c, bool *mismatch);

/* cli_sources - sources [--top N] [--since DAYS]: the worst spam
 * sources (cli_sources.c). */
int cli_sources(struct cli *c, int argc, char **argv);
/* cli_history - history USER [--since DAYS] [--verdict V] [--search
 * TEXT] [--limit N] [--json]: the user's history rows (cli_history.c). */
int cli_history(struct cli *c, int argc, char **argv);

/* cli_json_str - s as a JSON string on f (cli_json.c). */
void cli_json_str(FILE *f, const char *s);
/* cli_json_html - the same, with '<', '>', '&', U+2028 and U+2029
 * escaped too: safe inside HTML or a script (cli_json.c). */
void cli_json_html(FILE *f, const char *s);

/* cli_maildir - maildir-retrain --user USER MAILDIR | --all: retraining
 * by moving mail between Maildir folders (cli_maildir.c). */
int cli_maildir(struct cli *c, int argc, char **argv);

/* cli_open_store - open the configured store; an exit code on failure. */
int cli_open_store(struct cli *c);

/*
 * The CLI's writes after a conflict with another writer (a deadlock, a
 * Galera certification failure: store_conflict()): the whole write is
 * run again, with the milter's pauses (store_retry.h), for at most
 * message_timeout_ms, as the milter writes a message (cli_write.c).
 * cli_retry_start starts the budget; cli_retry_again, after a failed
 * try with rc, pauses and returns true to try again, else false, and
 * when it gives up on a conflict says so on stderr (the caller then
 * prints its error and exits 75: the MTA retries later).
 * CLI_RETRY(c, rc, expr) sets rc to expr, which must be one whole write
 * (its own transaction, or store calls with implicit ones, leaving
 * nothing behind when it fails), evaluated again while cli_retry_again
 * says so.
 */
void cli_retry_start(const struct cli *c, struct store_retry *r);
bool cli_retry_again(const struct cli *c, struct store_retry *r, int rc);
#define CLI_RETRY(c, rc, expr)                                              \
	do {                                                                \
		struct store_retry cli_r_;                                  \
                                                                            \
		cli_retry_start((c), &cli_r_);                              \
		do                                                          \
			(rc) = (expr);                                      \
		while ((rc) != 0 && cli_retry_again((c), &cli_r_, (rc)));   \
	} while (0)
/* cli_store_as_owner - before root opens an SQLite store: act as the
 * owner of the store's directory when that is another user, refuse a
 * directory of root's that others can write (cli_priv.c). EX_OK or the
 * exit code, the reason printed. */
int cli_store_as_owner(const struct cli *c);
/* cli_exit_code - the sysexits code for an es_err code. */
int cli_exit_code(int err);
/* cli_user_name - normalise a user name as the milter does (lowercase,
 * recipient extension removed); out has outlen bytes. false if the
 * result is empty or does not fit. */
bool cli_user_name(const struct cli *c, const char *in, char *out,
    size_t outlen);
/* cli_shared_user - whether name is the configured shared dictionary
 * (taken as it is: it is no address and is never normalised). */
bool cli_shared_user(const struct cli *c, const char *name);
/* cli_trusted - whether the calling system user is root or in
 * trusted_users (may act for anyone and administer). */
bool cli_trusted(const struct cli *c);
/* cli_may_act_for - whether the calling system user may act for user. */
bool cli_may_act_for(const struct cli *c, const char *user);

/*
 * cli_read_input - all of standard input into b (es_buf_init'ed here;
 * the caller releases it). ES_ELIMIT when it is too large: b then holds
 * its first 256 MiB (CLI_MAX_INPUT) and the rest is left on standard
 * input.
 */
int cli_read_input(struct es_buf *b);

/* cli_lists_verb - whether s is a sender list verb of "edgespam user". */
bool cli_lists_verb(const char *s);
/*
 * cli_lists - "user VERB USER [PATTERN]": allow, block, unallow,
 * unblock, list (cli_lists.c); argc/argv are what follows USER.
 */
int cli_lists(struct cli *c, const char *verb, const char *user, int argc,
    char **argv);
/* cli_sender_pipe - --allow-sender / --block-sender: the forwarded
 * message's original sender onto the --user's list. */
int cli_sender_pipe(struct cli *c);

/*
 * cli_retrain_via_socket - whether the caller's retraining goes to the
 * milter's retrain_socket (anyone but root, when one is configured)
 * rather than to the store (cli_retrain.c).
 */
bool cli_retrain_via_socket(const struct cli *c);
/* cli_may_retrain_for - whether the caller may have user retrained
 * through the socket (conf_retrain_allowed): the milter decides, and the
 * same rule checked first spares the MTA retries of what it refuses. */
bool cli_may_retrain_for(const struct cli *c, const char *user);
/* cli_retrain_direct - run op for user on c->st (open) with engine e
 * (NULL for the sender lists); prints the outcome; an exit code. */
int cli_retrain_direct(struct cli *c, struct cls_engine *e,
    enum cls_retrain_op op, const char *user, const struct es_buf *msg,
    time_t now);
/* cli_retrain_socket - hand op for user to the milter's retrain socket;
 * prints its answer; its exit code (75 when the milter is away). */
int cli_retrain_socket(struct cli *c, enum cls_retrain_op op,
    const char *user, const struct es_buf *msg);

#endif
