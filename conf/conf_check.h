/*
 * conf_check.h - the checks of configuration values that the key table
 * cannot express (networks, the split reply, retrain alias patterns,
 * the policy and engine settings), and the parsers of those values.
 *
 * conf_load() runs conf_validate() for every program, so edgespam
 * --check-config, edgespam-milter -n and the milter's start and reload
 * give the same verdict with the same messages for every file. The
 * milter parses the values again with the same functions to build its
 * settings; no value is checked anywhere else.
 */
#ifndef CONF_CHECK_H
#define CONF_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct conf_diag;

/* A network of trusted_networks: family, address bytes, prefix length. */
struct conf_net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;
};

/*
 * conf_net_parse - "192.0.2.0/24", "::1", "2001:db8::/32" (no prefix:
 * the single address). Returns 0 or ES_EINVAL.
 */
int conf_net_parse(const char *s, struct conf_net *net);

/* split_reply, parsed: "452", "4.5.3", "Too many recipients". */
struct conf_split_reply {
	char rcode[4];
	char xcode[16];
	char text[256];
};

/*
 * conf_split_reply_parse - "452 4.5.3 Too many recipients": a 4xx code
 * (the recipient is deferred, so the reply must be temporary), an
 * enhanced status code 4.x.y, and text without '%' (libmilter would
 * read it as a format). Returns 0 or ES_EINVAL.
 */
int conf_split_reply_parse(const char *s, struct conf_split_reply *r);

/* conf_alias_pattern_ok - whether a retrain_aliases pattern has the
 * form local@domain (it is matched against whole addresses). */
bool conf_alias_pattern_ok(const char *pattern);

/*
 * conf_validate - check cf's values beyond the table: each problem goes
 * to diag as "path:line: key: ..." (line of the key in the file; "path:
 * key (default): ..." for a default). Returns 0 or ES_EINVAL.
 */
int conf_validate(const struct conf *cf, const char *path,
    struct conf_diag *diag);

/*
 * conf_check_accounts - for a program running as root: the system user
 * (and group) the milter switches to must exist: user ("name" or
 * "name:group", when not empty) and group (when not empty). Problems go
 * to diag as conf_validate()'s do. Returns 0 or ES_EINVAL. The milter
 * runs it at start and with -n, edgespam --check-config as root, so both
 * refuse the same file; a program not running as root switches to no
 * user and need not call it.
 */
int conf_check_accounts(const struct conf *cf, const char *path,
    struct conf_diag *diag);

#endif
