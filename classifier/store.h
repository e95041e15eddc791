/*
 * store.h - the storage interface: per-user token statistics, totals,
 * signatures, preferences, per-domain policy, sender allow/block lists,
 * spam sources and the history of filtered messages.
 *
 * The interface lives here, beside the engine that needs it, so that
 * classifier/ depends on nothing outside itself; storage/ implements it
 * (store.c dispatches to the drivers there).
 *
 * A store is opened from struct store_params, which names the driver:
 * "sqlite" (embedded default), "memory" (tests and benchmarks) or
 * "mysql" (MariaDB or MySQL, for clusters). Every driver passes the
 * contract suite in
 * tests/unit/store_contract/. Drivers move data and decide nothing
 * about spam: which counts change is the classifier's business.
 *
 * Table and column names follow DSPAM's schema (see sql/); users are
 * numbered through dspam_virtual_uids; uid 0 holds default preferences.
 *
 * Errors: 0 on success, else an es_err code: ES_ETRANSIENT when the
 * database is busy, locked or unreachable (the caller may retry later),
 * ES_ESTORE for a permanent failure, ES_ENOTFOUND for a missing object,
 * ES_EINVAL for a bad argument, ES_ENOMEM. store_errmsg() returns the
 * driver's own message for the last failure.
 *
 * Thread safety: one struct store is used by one thread at a time.
 * Several handles (threads or processes) may use one database.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

struct store_params {
	const char *driver;       /* "sqlite", "memory" or "mysql" */
	const char *path;         /* sqlite: database file */
	unsigned busy_timeout_ms; /* wait this long for a lock before
	                             ES_ETRANSIENT (mysql: whole seconds,
	                             at least 1, for InnoDB's lock wait) */
	bool own_maintenance;     /* the caller runs store_maintain() from
	                             a thread of its own; commits then do
	                             no housekeeping (SQLite: no WAL
	                             checkpoint inside a message's commit) */
	/* mysql: where and as whom. A socket, when set, is used instead of
	 * host and port. NULL strings mean the client library's default.
	 * The driver copies them all at open. */
	const char *mysql_host;
	unsigned mysql_port;      /* 0: the default (3306) */
	const char *mysql_socket;
	const char *mysql_database;
	const char *mysql_user;
	const char *mysql_password; /* the secret itself (NULL: none) */
	const char *mysql_password_error; /* why the secret could not be
	                             read; the store does not open then */
	bool mysql_tls;           /* refuse a connection without TLS and
	                             verify the server's certificate */
	const char *mysql_tls_ca; /* CA file for that check (NULL or "":
	                             the system's) */
	unsigned mysql_purge_lock_s; /* the purge lock (a row, so that it
	                             holds across a Galera cluster) expires
	                             this long after its holder last renewed
	                             it, so a killed purge does not block the
	                             next for longer (0: 300 s) */
};

/* One token's statistics for one user. */
struct store_token {
	uint64_t token;         /* DSPAM token id */
	uint64_t spam_hits;
	uint64_t innocent_hits;
	int32_t last_hit;       /* days since 1970-01-01 (UTC); 0 = never */
	double weight;          /* edgespam's learned correction (hybrid
	                           method); 0 for rows DSPAM wrote */
};

/* A change to one token's counts; a count never goes below zero. */
struct store_delta {
	uint64_t token;
	int32_t spam;
	int32_t innocent;
	double weight;  /* added to the token's weight */
};

/* A user's totals (dspam_stats). In store_totals_add() these are deltas. */
struct store_totals {
	int64_t spam_learned;
	int64_t innocent_learned;
	int64_t spam_misclassified;
	int64_t innocent_misclassified;
	int64_t spam_corpusfed;
	int64_t innocent_corpusfed;
	int64_t spam_classified;
	int64_t innocent_classified;
};

/* Purge rules; a rule with days = 0 is off. */
struct store_purge_rules {
	unsigned sig_days;      /* signatures older than this */
	unsigned unused_days;   /* tokens not hit for this long */
	unsigned rare_days;     /* tokens with 2*innocent + spam < 5, unused */
	unsigned single_days;   /* tokens hit exactly once, unused */
	size_t batch;           /* rows per delete transaction (1000) */
	unsigned pause_ms;      /* pause between batches */
	unsigned source_days;   /* sources (edgespam_sources) not seen */
	unsigned history_days;  /* history rows (edgespam_history) older */
	/* pacing (classifier/store_pace.c); 0 and 0: only pause_ms */
	unsigned pace;          /* rest pace times as long as a batch took */
	unsigned slack_pct;     /* wait while a probe read is this much (%)
	                           slower than before the purge */
	unsigned daily_days;    /* daily counts (edgespam_daily) older */
};

struct store_purge_stats {
	uint64_t signatures;
	uint64_t unused;
	uint64_t rare;
	uint64_t single;
	uint64_t sources;
	uint64_t history;
	double work_s;          /* time in batches */
	double rest_s;          /* time in pauses and waits */
	uint64_t waits;         /* waits for the probe read to come down */
	double probe_base_ms;   /* the probe read before the purge (0: none) */
	uint64_t daily;
};

/* Progress callback of purge: rule name and rows removed so far by it. */
typedef void store_progress_fn(const char *rule, uint64_t rows, void *arg);
/* Callbacks of the list functions; return non-zero to stop early. */
typedef int store_user_fn(uint32_t uid, const char *name, void *arg);
typedef int store_pair_fn(const char *key, const char *value, void *arg);

/*
 * store_open - open (and create, if it does not exist yet) the store
 * described by p. On success *out is a handle the caller closes with
 * store_close(). On failure err (errlen bytes) names the cause, e.g.
 * the file, host or socket and the driver's message. mysql creates
 * missing tables but refuses (ES_ESTORE) a DSPAM database whose token
 * table lacks edgespam's weight column until store_schema() upgraded
 * it; a server it cannot reach is ES_ETRANSIENT.
 */
int store_open(const struct store_params *p, struct store **out, char *err,
    size_t errlen);
/* store_close - close a handle; NULL does nothing. */
void store_close(struct store *st);
/*
 * store_maintain - housekeeping kept out of the mail path when opened
 * with own_maintenance (SQLite: a passive WAL checkpoint, which never
 * waits for writers). With quiet, the caller also guarantees that none
 * of its own writers is in a transaction (it holds its write lock), and
 * the driver may do what needs that (SQLite: wait briefly for readers
 * of old snapshots and make the next writer start the WAL over; under
 * constant load a WAL checkpointed only passively grows without end).
 * 0 when done or when there is nothing to do; a log that could not be
 * reset for readers is not an error (the next call tries again).
 */
int store_maintain(struct store *st, bool quiet);
/*
 * A database file deleted, or replaced by a rename, under open handles.
 * Left alone, the handles would go on reading and writing the old file,
 * which no other process sees any more. The sqlite driver compares the
 * device and inode at its path with those of the file it has open at
 * the start of each transaction, in store_maintain() and in
 * store_refresh() (one stat() each time), never inside a transaction.
 * When they differ, or the path names nothing, it opens the path anew
 * before going on: a missing file is created with the schema, as by a
 * first store_open(); a replacement is used as it is. The old file's
 * -wal and -shm, when still at the path, are removed first, so the
 * replacement is never read with the log of the file it replaced. When
 * the new file cannot be opened, the operation fails (the message names
 * the path) and the next one tries again. Drivers without a file
 * ("memory", "mysql") never do this. The store does not log: the
 * caller learns of a reopen from store_reopened() and logs it.
 */
struct store_file {
	uint64_t dev;
	uint64_t ino; /* both 0: no file, or not known */
};

#define STORE_REOPEN_MSG 512

/* What a handle did when it moved to the file now at its path. */
struct store_reopen {
	struct store_file was; /* the file the handle had open */
	struct store_file now; /* the file it has open now: every handle
	                          that moved to one file reports the same */
	bool created;          /* the file was deleted, and now is the new
	                          database that a handle of this process
	                          created (this one or another) */
	char msg[STORE_REOPEN_MSG]; /* what happened, naming the path */
};

/*
 * store_refresh - the check above, now, for a handle that sits idle (so
 * that it lets go of a deleted file). ES_EINVAL inside a transaction.
 * 0 when the handle uses the file at its path, else the reopen's error.
 */
int store_refresh(struct store *st);
/*
 * store_reopened - true once after each reopen of st's file, with what
 * happened in *r; false (r untouched) when there is nothing new.
 */
bool store_reopened(struct store *st, struct store_reopen *r);
/* store_file_id - the file st has open (all zero without one). */
void store_file_id(const struct store *st, struct store_file *f);

/* store_errmsg - the driver's message for the last failure, or "". */
const char *store_errmsg(const struct store *st);
/*
 * store_conflict - whether the last failure (ES_ETRANSIENT) was a
 * conflict with another writer that rolled the whole transaction back:
 * a deadlock, or on a Galera cluster a certification failure (another
 * node committed a write to the same rows first). Running the
 * transaction again is then expected to succeed, so a caller may retry
 * it for as long as it can wait, where after a server that is down or
 * busy a few tries are enough.
 */
bool store_conflict(const struct store *st);
/* store_driver_name - "sqlite", "memory", ... */
const char *store_driver_name(const struct store *st);

/*
 * store_begin, store_commit, store_rollback - a transaction. Everything
 * a message changes happens in one. write = true takes the write lock at
 * once (so two writers never deadlock on a lock upgrade). Rollback of no
 * transaction does nothing.
 */
int store_begin(struct store *st, bool write);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * store_user_uid - the uid of user name (exact bytes; callers normalise
 * case). With create, a missing user is created; without it a missing
 * user is ES_ENOTFOUND.
 */
int store_user_uid(struct store *st, const char *name, bool create,
    uint32_t *uid);
/* store_users - call fn for every user, in uid order. */
int store_users(struct store *st, store_user_fn *fn, void *arg);

/*
 * store_tokens_get - read the statistics of n tokens of uid. The caller
 * sets toks[i].token; the driver fills the other fields (zero for a
 * token it does not have). One batched read, not a round trip per token.
 */
int store_tokens_get(struct store *st, uint32_t uid, struct store_token *toks,
    size_t n);
/*
 * store_tokens_put - add n deltas to uid's token counts and weights,
 * creating rows, clamping counts at zero and setting last_hit to the day
 * of now. The deltas
 * must be in strictly ascending token order (ES_EINVAL otherwise).
 */
int store_tokens_put(struct store *st, uint32_t uid,
    const struct store_delta *d, size_t n, time_t now);

/* Callback of store_tokens_list(); non-zero stops the listing. */
typedef int store_token_fn(const struct store_token *t, void *arg);
/*
 * store_tokens_list - fn for each of uid's token rows, in ascending
 * order of the (unsigned) token id: for dump and merge tools, not for
 * the mail path. ES_EINVAL from a driver that cannot list.
 */
int store_tokens_list(struct store *st, uint32_t uid, store_token_fn *fn,
    void *arg);

/* store_totals_get - uid's totals (all zero for a user without any). */
int store_totals_get(struct store *st, uint32_t uid, struct store_totals *t);
/* store_totals_add - add deltas to uid's totals, clamping at zero. */
int store_totals_add(struct store *st, uint32_t uid,
    const struct store_totals *delta);

/*
 * store_sig_put - store signature data under (uid, id); id is at most
 * 32 characters. An existing one is replaced.
 */
int store_sig_put(struct store *st, uint32_t uid, const char *id,
    const void *data, size_t len, time_t now);
/*
 * store_sig_get - the data of signature (uid, id): *data is a copy the
 * caller frees with es_free(). ES_ENOTFOUND when there is none (another
 * user's signature is "none" for this uid).
 */
int store_sig_get(struct store *st, uint32_t uid, const char *id, void **data,
    size_t *len);
/* store_sig_delete - remove signature (uid, id); a missing one is fine. */
int store_sig_delete(struct store *st, uint32_t uid, const char *id);

/*
 * store_pref_get - uid's preference key into val (size vallen, always
 * terminated). ES_ENOTFOUND when unset. uid 0 holds the defaults; the
 * caller decides about falling back to them.
 */
int store_pref_get(struct store *st, uint32_t uid, const char *key, char *val,
    size_t vallen);
/* store_pref_set - set uid's preference; val NULL removes it. */
int store_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val);
/* store_prefs - call fn for each of uid's preferences, in key order. */
int store_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg);

/* store_domain_get - the policy text of domain, or ES_ENOTFOUND. */
int store_domain_get(struct store *st, const char *domain, char *policy,
    size_t len);
/* store_domain_set - set the domain's policy; policy NULL removes it. */
int store_domain_set(struct store *st, const char *domain,
    const char *policy);
/* store_domains - call fn(domain, policy) for each domain, in order. */
int store_domains(struct store *st, store_pair_fn *fn, void *arg);

/* What store_schema() does. */
enum store_schema_op {
	STORE_SCHEMA_CHECK,   /* report what is missing, change nothing */
	STORE_SCHEMA_UPGRADE, /* add what is missing, never touching rows */
	/* The tables' storage engines (mysql; other drivers report
	 * nothing): ENGINES calls fn("engine", "TABLE ENGINE") for each
	 * table of the schema that exists and counts in *missing those not
	 * InnoDB (DSPAM ships MyISAM: table locks, no transactions, so a
	 * crash or a concurrent writer can leave half a message learned).
	 * TO_INNODB converts each of those (ALTER TABLE ... ENGINE=InnoDB,
	 * rows kept), calling fn("converting", "TABLE ENGINE, N rows")
	 * before and fn("converted", "TABLE in S s") after each. */
	STORE_SCHEMA_ENGINES,
	STORE_SCHEMA_TO_INNODB
};
/*
 * Callback of store_schema(): kind is "table", "column" or "index", what
 * names it ("dspam_token_data.weight", "dspam_token_data (last_hit)").
 */
typedef void store_schema_fn(const char *kind, const char *what, void *arg);

/*
 * store_schema - compare the database that p names with the driver's
 * schema (sql/DRIVER/schema.sql and the indexes the purge needs), on a
 * connection of its own, without the checks store_open() makes (so an
 * old DSPAM database it would refuse can be upgraded). fn (may be NULL)
 * is called for each missing item: with STORE_SCHEMA_CHECK only that;
 * with STORE_SCHEMA_UPGRADE each is then added (CREATE TABLE, ALTER
 * TABLE ... ADD COLUMN / ADD INDEX), which on an empty database is the
 * whole schema. *missing (may be NULL) gets the number of items. A
 * driver without a schema ("memory") reports nothing. Errors as
 * store_open(), message in err.
 */
int store_schema(const struct store_params *p, enum store_schema_op op,
    store_schema_fn *fn, void *arg, size_t *missing, char *err,
    size_t errlen);

/*
 * store_purge - delete what the rules select, in batches of rules->batch
 * rows, each its own transaction (the caller holds none), resting
 * between batches rules->pace times as long as the batch took (at least
 * rules->pause_ms), and, with rules->slack_pct, longer while a probe read
 * is slower than before the purge (classifier/store_pace.c). Rows are
 * selected relative to now.
 * progress (may be NULL) is called after each batch; stats gets the
 * rows removed per rule. History rows go by their time, as sources do
 * (before the cutoff day's first second), daily counts by their day. Only one purge runs on a database at a time:
 * while another handle purges, this one returns ES_EBUSY at once.
 */
int store_purge(struct store *st, const struct store_purge_rules *rules,
    time_t now, store_progress_fn *progress, void *arg,
    struct store_purge_stats *stats);

/*
 * Sender lists (edgespam_sender_list): per user, patterns of sender
 * addresses on an allow or a block list. A pattern is at most
 * STORE_SENDER_PATTERN_MAX bytes and is on one list at a time. The
 * store keeps patterns as given: checking and normalising them
 * (cls_sender.h) is the caller's business.
 */
enum store_sender_list {
	STORE_SENDER_NONE = 0,
	STORE_SENDER_ALLOW = 1,
	STORE_SENDER_BLOCK = 2
};
#define STORE_SENDER_PATTERN_MAX 255
#define STORE_SENDER_FIND_MAX 32 /* patterns of one store_sender_find */

/*
 * store_sender_set - put pattern on uid's list (ALLOW or BLOCK), moving
 * it from the other list if it was there; created_on becomes the day of
 * now.
 */
int store_sender_set(struct store *st, uint32_t uid, const char *pattern,
    enum store_sender_list list, time_t now);
/*
 * store_sender_remove - take pattern off uid's list; ES_ENOTFOUND (and
 * nothing changes) when it is not on that list.
 */
int store_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    enum store_sender_list list);
/*
 * store_sender_find - for n patterns (at most STORE_SENDER_FIND_MAX;
 * repeats allowed), set lists[i] to the list uid has patterns[i] on, or
 * STORE_SENDER_NONE. One query, not one per pattern.
 */
int store_sender_find(struct store *st, uint32_t uid,
    const char *const *patterns, size_t n, enum store_sender_list *lists);
/*
 * store_senders - call fn(pattern, "allow" or "block") for each of
 * uid's entries, in pattern order.
 */
int store_senders(struct store *st, uint32_t uid, store_pair_fn *fn,
    void *arg);

/*
 * Source tracking (edgespam_sources): per SMTP client address and per
 * network (see cls_source.h), the verdicts of the mail it sent to
 * filtered users and the corrections of those verdicts. Times are
 * seconds since the epoch (UTC); 0 is never.
 */
#define STORE_SOURCE_MAX 64 /* edgespam_sources.source */
/* Rows one store_sources_get() reads at most. */
#define STORE_SOURCES_GET_MAX 16

struct store_source {
	char source[STORE_SOURCE_MAX + 1];
	uint64_t spam;                 /* Spam verdicts */
	uint64_t innocent;             /* Innocent (or Whitelisted) verdicts */
	uint64_t spam_corrections;     /* missed spam reported */
	uint64_t innocent_corrections; /* false positives reported */
	uint64_t spam_streak;          /* Spam verdicts since the last
	                                  innocent one or false positive */
	int64_t first_seen;
	int64_t last_seen;             /* the last change of the row */
	int64_t last_spam;             /* the last Spam verdict */
};

/* A change to one source row; counts never go below zero. */
struct store_source_delta {
	const char *source;            /* 1..STORE_SOURCE_MAX bytes */
	int32_t spam;                  /* added to spam and to the streak */
	int32_t innocent;
	int32_t spam_corrections;
	int32_t innocent_corrections;
	bool reset_streak;             /* the streak restarts (also implied
	                                  by innocent > 0) before spam is
	                                  added */
};

/* Callback of store_sources_list(); non-zero stops the listing. */
typedef int store_source_fn(const struct store_source *row, void *arg);

/*
 * store_sources_add - apply n deltas to the rows they name, creating
 * missing rows (first_seen = now). Every row touched gets last_seen =
 * now, and last_spam = now when its spam delta is positive. The deltas
 * must be in strictly ascending byte order of source (ES_EINVAL
 * otherwise), so that writers sharing a database lock rows in one order.
 */
int store_sources_add(struct store *st, const struct store_source_delta *d,
    size_t n, time_t now);
/*
 * store_sources_get - read n (at most STORE_SOURCES_GET_MAX) rows: the
 * caller sets rows[i].source, the driver fills the rest (all zero for a
 * source without a row).
 */
int store_sources_get(struct store *st, struct store_source *rows, size_t n);
/*
 * store_sources_list - fn for every row with last_seen >= since, in
 * source order.
 */
int store_sources_list(struct store *st, time_t since, store_source_fn *fn,
    void *arg);

/*
 * History (edgespam_history): one row per message the milter filtered
 * for a user, kept for the user's own view (`edgespam history`, the web
 * view) and purged by age (history_days). Rows are never rewritten but
 * for their correction (store_history_correct) and their action
 * (store_history_set_action). Times are seconds since the epoch (UTC).
 *
 * The store keeps the texts as given, checking only their lengths
 * (ES_EINVAL beyond the bounds below, never a silent cut): making them
 * printable and cutting them to STORE_HISTORY_TEXT_CHARS characters is
 * the caller's business (cls_text.h). Texts must not contain NUL.
 */
#define STORE_HISTORY_QID_MAX 64    /* the MTA's queue id */
#define STORE_HISTORY_CLIENT_MAX 64 /* SMTP client address */
#define STORE_HISTORY_TEXT_CHARS 200 /* characters of sender, From:,
                                        Subject (what the caller cuts to) */
#define STORE_HISTORY_TEXT_MAX 800  /* bytes: 200 UTF-8 characters */
#define STORE_HISTORY_SIG_MAX 32    /* a signature id, as dspam's */
#define STORE_HISTORY_SEARCH_MAX 200 /* bytes of a search text */

enum store_verdict {
	STORE_VERDICT_ANY = 0,  /* queries only: no filter */
	STORE_VERDICT_INNOCENT = 1,
	STORE_VERDICT_SPAM = 2,
	STORE_VERDICT_WHITELISTED = 3
};

/* What the milter did with the message. */
enum store_action {
	STORE_ACTION_NONE = 0,      /* only what an unknown text maps to */
	STORE_ACTION_TAGGED = 1,    /* passed on with the X-DSPAM fields */
	STORE_ACTION_REJECTED = 2,  /* refused with 5xx (spamAction reject) */
	STORE_ACTION_TEMPFAILED = 3 /* deferred with 4xx after classifying */
};

/* A correction of the verdict, through the row's signature. */
enum store_correction {
	STORE_CORRECTION_NONE = 0,
	STORE_CORRECTION_SPAM = 1,    /* missed spam */
	STORE_CORRECTION_INNOCENT = 2 /* false positive */
};

/*
 * One history row. In store_history_add() the caller fills everything
 * but id, correction and corrected (the strings may be NULL for ""); in
 * a listing the strings point into the store's memory and are valid
 * only during the callback.
 */
struct store_history {
	int64_t id;              /* the store's number for the row, > 0,
	                            rising with each row added */
	uint32_t uid;
	int64_t time;            /* when the message was filtered */
	const char *queue_id;    /* "" when the MTA gave none */
	const char *client;      /* SMTP client address, "" local */
	const char *sender;      /* envelope sender, "" for <> */
	const char *from;        /* the From: field, printable */
	const char *subject;     /* the Subject: field, printable */
	enum store_verdict verdict; /* never ANY in a row */
	double probability;      /* 0..1 */
	const char *signature;   /* "" when none was stored */
	enum store_action action;
	enum store_correction correction;
	int64_t corrected;       /* when corrected; 0 never */
};

/*
 * What store_history_list() returns: uid's rows, newest first (time
 * descending, then id descending), that match every filter given.
 */
struct store_history_query {
	int64_t since;           /* time >= since (0: all) */
	int64_t until;           /* time < until (0: no bound) */
	enum store_verdict verdict; /* ANY: every verdict */
	const char *search;      /* NULL or "": none; else a substring of
	                            sender, from or subject, ASCII letters
	                            matched without regard to case; at most
	                            STORE_HISTORY_SEARCH_MAX bytes; '%' and
	                            '_' are ordinary characters */
	int64_t id;              /* > 0: that row only */
	size_t limit;            /* at most this many rows (0: no limit) */
	size_t offset;           /* skip this many matching rows first */
};

/* Callback of store_history_list(); non-zero stops the listing. */
typedef int store_history_fn(const struct store_history *row, void *arg);

/*
 * store_history_add - add row for uid (row->uid and row->id are
 * ignored); *id (may be NULL) gets the new row's id. Part of the
 * caller's write transaction when one is open, so the milter adds the
 * row in the transaction that learns the message.
 */
int store_history_add(struct store *st, uint32_t uid,
    const struct store_history *row, int64_t *id);
/* store_history_list - fn for each of uid's rows that q selects. */
int store_history_list(struct store *st, uint32_t uid,
    const struct store_history_query *q, store_history_fn *fn, void *arg);
/* store_history_count - *n = the number of rows q selects, ignoring
 * q->limit and q->offset (for paging). */
int store_history_count(struct store *st, uint32_t uid,
    const struct store_history_query *q, uint64_t *n);
/*
 * store_history_correct - mark uid's rows of signature (1..32 bytes)
 * corrected as c (SPAM or INNOCENT; NONE clears it) at now. ES_ENOTFOUND
 * (nothing changes) when uid has no row of that signature: history off,
 * or purged, which a caller correcting a signature may ignore.
 */
int store_history_correct(struct store *st, uint32_t uid,
    const char *signature, enum store_correction c, time_t now);
/* What a correction found: the time and the correction before it of
 * the oldest row of the signature. */
struct store_history_was {
	int64_t time;
	enum store_correction correction;
};
/* store_history_correct_was - store_history_correct(), and *was (may be
 * NULL) what the row was; on ES_ENOTFOUND *was is zero. */
int store_history_correct_was(struct store *st, uint32_t uid,
    const char *signature, enum store_correction c, time_t now,
    struct store_history_was *was);
/*
 * store_history_set_action - set the action of uid's row id (when the
 * MTA refused a change after the row was written); ES_ENOTFOUND when
 * uid has no such row.
 */
int store_history_set_action(struct store *st, uint32_t uid, int64_t id,
    enum store_action action);

/* store_verdict_text, store_action_text, store_correction_text - the
 * column's text ("spam", "tagged", "innocent", "" for NONE), or NULL
 * for a value outside the enum. */
const char *store_verdict_text(enum store_verdict v);
const char *store_action_text(enum store_action a);
const char *store_correction_text(enum store_correction c);
/* store_verdict_of, store_action_of, store_correction_of - the value a
 * text names; 0 (ANY, none, NONE) for an unknown text. */
enum store_verdict store_verdict_of(const char *text);
enum store_action store_action_of(const char *text);
enum store_correction store_correction_of(const char *text);

/*
 * Daily counts (edgespam_daily): per user and UTC day, the messages the
 * milter filtered by verdict and the corrections of them (missed spam,
 * false positives) counted on the day of the message corrected. They
 * outlive the history rows (purged after daily_days, not
 * history_days) and feed the statistics plots.
 */
struct store_daily {
	uint32_t uid;
	int32_t day;              /* days since the epoch (UTC) */
	int64_t spam;
	int64_t innocent;
	int64_t whitelisted;
	int64_t missed_spam;      /* corrected to spam */
	int64_t false_positives;  /* corrected to innocent */
};
/* Callback of store_daily_list(); non-zero stops the listing. */
typedef int store_daily_fn(const struct store_daily *row, void *arg);
/*
 * store_daily_add - add delta's counts (negative undoes, each count
 * clamped at zero) to uid's row of the day of time `when`, created when
 * missing. delta->uid and delta->day are ignored. Part of the caller's
 * write transaction when one is open.
 */
int store_daily_add(struct store *st, uint32_t uid, time_t when,
    const struct store_daily *delta);
/* store_daily_list - fn for each of uid's rows of days since the day of
 * `since` onward, oldest first. */
int store_daily_list(struct store *st, uint32_t uid, time_t since,
    store_daily_fn *fn, void *arg);

#endif
