/*
 * es_start.h - the start-up both daemons share (edgespam-milter and
 * edgespam-web): their command line, the ids of the configured "user"
 * and "group", and the drop from root to them for good.
 */
#ifndef ES_START_H
#define ES_START_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct conf;

/*
 * es_start_args - "[-c FILE] [-f] [-n]", plus -h/--help (usage to
 * stdout) and -V/--version ("prog version" to stdout). Sets *conf_path,
 * *fg and *check from the options. true: go on; false: the program
 * ends with *ex (EX_OK after help or version, EX_USAGE after a bad
 * option or an operand, with usage on stderr).
 */
bool es_start_args(int argc, char **argv, const char *prog,
    const char *version, void (*usage)(FILE *), const char **conf_path,
    bool *fg, bool *check, int *ex);

/*
 * es_start_owner - "user" or "user:group" to ids (the group's id, else
 * the user's primary group). false if either is unknown.
 */
bool es_start_owner(const char *spec, uid_t *uid, gid_t *gid);

/*
 * es_start_ids - the ids of the keys "user" (user or user:group) and
 * "group" (which wins over the group after a colon). 0, or
 * ES_ENOTFOUND with "user: no such user ..." or "group: no such
 * group ..." in err.
 */
int es_start_ids(const struct conf *cf, uid_t *uid, gid_t *gid, char *err,
    size_t errlen);

/*
 * es_start_drop - as root: to gid (the only group) and uid for good, and
 * check that root cannot be regained. 0, or ES_EPERM with the reason in
 * err.
 */
int es_start_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
