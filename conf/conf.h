/*
 * conf.h - edgespam's configuration: one table-driven parser for every
 * program.
 *
 * The file is lines of "key = value"; '#' starts a comment line; blank
 * lines are ignored; a value may be quoted with double quotes (then it
 * keeps spaces and '#'). Every key has a type, a default and a range in
 * the table in conf.c; conf/edgespam.conf documents them all and is
 * checked against the table by a unit test.
 *
 * Errors: conf_load() reports every problem it finds, not only the
 * first, each as "file:line: message" naming the key and the bad value:
 * the table's checks and those of conf_validate() (conf_check.h), which
 * every program runs through conf_load(), so all give one verdict.
 */
#ifndef CONF_H
#define CONF_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct conf;
struct cls_engine_cfg;
struct store_params;
struct store_purge_rules;

/* Diagnostics of conf_load(): n messages, each a NUL-terminated line. */
struct conf_diag {
	char **msgs;
	size_t n;
};

/* conf_defaults - a configuration with every key at its default. */
int conf_defaults(struct conf **out);
/*
 * conf_load - read path. Returns 0; ES_EINVAL when the file has errors
 * (all of them in diag); ES_EIO when it cannot be read (diag says why);
 * ES_ENOMEM. *out is set only on success. With store_driver = mysql it
 * also reads the password from mysql_password_file, which must be a
 * regular file of mode 0600 or stricter owned by the effective user or
 * root (ES_EINVAL naming the file otherwise); the secret stays in the
 * conf (wiped by conf_free) and is never printed.
 */
int conf_load(const char *path, struct conf **out, struct conf_diag *diag);
void conf_free(struct conf *cf);
void conf_diag_free(struct conf_diag *diag);
/* conf_diag_add - append one printf-formatted message to diag (NULL:
 * nothing); a message that cannot be stored (out of memory) is lost. */
void conf_diag_add(struct conf_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* conf_dump - every key with its effective value, in table order. */
void conf_dump(const struct conf *cf, FILE *fp);

/*
 * Raw access by key name; the key must exist in the table with that type
 * (a programming error otherwise: abort()).
 */
const char *conf_str(const struct conf *cf, const char *key);
long long conf_int(const struct conf *cf, const char *key);
double conf_double(const struct conf *cf, const char *key);
bool conf_bool(const struct conf *cf, const char *key);
/* conf_list - a list key's words, NULL-terminated, owned by cf. */
const char *const *conf_list(const struct conf *cf, const char *key);
/* conf_text - any key's value as written in the file (or its default),
 * for messages; owned by cf. */
const char *conf_text(const struct conf *cf, const char *key);
/* conf_key_line - the line of the file that set key, 0 when the key has
 * its default (an unknown key is a programming error: abort()). */
unsigned conf_key_line(const struct conf *cf, const char *key);

/* The key table, for tests and documentation checks. */
size_t conf_key_count(void);
const char *conf_key_name(size_t i);
const char *conf_key_default(size_t i);
/* conf_key_range - whether key i takes a number; then *min and *max
 * are the smallest and largest values accepted, and *whole says whether
 * only whole numbers are. */
bool conf_key_range(size_t i, double *min, double *max, bool *whole);

/* Typed views used by the programs. */
const char *conf_recipient_delimiter(const struct conf *cf);
/*
 * conf_check_password - for a program that opens a mysql store: the
 * reason mysql_password_file could not be read (file:line, the file,
 * why) as an error in diag, and ES_EINVAL; 0 when it was read or is not
 * needed. conf_load() keeps that reason instead of failing, so that a
 * caller that needs no store runs without the secret; the store refuses
 * to open with it (store_params.mysql_password_error).
 */
int conf_check_password(const struct conf *cf, struct conf_diag *diag);
/*
 * conf_retrain_allowed - whether the local user uid (login its name,
 * NULL when it has none) may have user retrained (corrections, sender
 * lists): root, its own name, a login in trusted_users, or an entry of
 * retrain_peers ("LOGIN" for any user, "LOGIN:PATTERN" for the users
 * PATTERN matches, %l standing for the login; LOGIN "*" is any login).
 */
bool conf_retrain_allowed(const struct conf *cf, uid_t uid, const char *login,
    const char *user);
/* conf_trusted_users - NULL-terminated list of system user names. */
const char *const *conf_trusted_users(const struct conf *cf);
/* conf_store_params - p's strings (the mysql password too) point into
 * cf, which must outlive every store_open() with p. */
void conf_store_params(const struct conf *cf, struct store_params *p);
/* conf_signature_location_name - "headers", "message" or "both". */
const char *conf_signature_location_name(const struct conf *cf);
bool conf_retrain_without_signature(const struct conf *cf);
/* conf_engine_cfg - limits, tokenizer, scoring and training mode. */
int conf_engine_cfg(const struct conf *cf, struct cls_engine_cfg *cfg);
void conf_purge_rules(const struct conf *cf, struct store_purge_rules *r);
/* conf_log_facility, conf_log_level - syslog(3) values. */
int conf_log_facility(const struct conf *cf);
int conf_log_level(const struct conf *cf);

#endif
