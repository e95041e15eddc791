/*
 * es_start.c - the start-up both daemons share.
 *
 * edgespam-milter and edgespam-web take the same options (-c FILE, -f,
 * -n, -h, -V and the long --help and --version), read the same "user"
 * and "group" keys and, started as root, drop to them the same way:
 * supplementary groups first, then gid, then uid, and then a check that
 * setuid(0) fails. What differs (the socket, the pid file, daemon(),
 * the store) stays in each program's main.
 *
 * Nothing here logs: errors go back in the caller's buffer. Only
 * es_start_args() prints (usage and version, as the command line asks).
 * Not thread-safe (getopt, getpwnam): for a program's main thread,
 * before it starts others.
 */
#include "es_start.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "es_err.h"

bool
es_start_args(int argc, char **argv, const char *prog, const char *version,
    void (*usage)(FILE *), const char **conf_path, bool *fg, bool *check,
    int *ex)
{
	int ch;

	*ex = EX_OK;
	/* the long forms every admin tries first */
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return false;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", prog, version);
		return false;
	}
	while ((ch = getopt(argc, argv, "c:fnhV")) != -1) {
		switch (ch) {
		case 'c': *conf_path = optarg; break;
		case 'f': *fg = true; break;
		case 'n': *check = true; break;
		case 'h': usage(stdout); return false;
		case 'V': printf("%s %s\n", prog, version); return false;
		default: usage(stderr); *ex = EX_USAGE; return false;
		}
	}
	if (optind != argc) {
		usage(stderr);
		*ex = EX_USAGE;
		return false;
	}
	return true;
}

bool
es_start_owner(const char *spec, uid_t *uid, gid_t *gid)
{
	char name[256], *colon;
	struct passwd *pw;
	struct group *gr;

	if (snprintf(name, sizeof(name), "%s", spec) >= (int)sizeof(name))
		return false;
	if ((colon = strchr(name, ':')) != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(name)) == NULL)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL && *colon != '\0') {
		if ((gr = getgrnam(colon)) == NULL)
			return false;
		*gid = gr->gr_gid;
	}
	return true;
}

int
es_start_ids(const struct conf *cf, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	const char *user = conf_str(cf, "user"), *grp = conf_str(cf, "group");
	struct group *gr;

	if (!es_start_owner(user, uid, gid)) {
		snprintf(err, errlen, "user: no such user \"%s\"", user);
		return ES_ENOTFOUND;
	}
	if (*grp != '\0') {
		if ((gr = getgrnam(grp)) == NULL) {
			snprintf(err, errlen, "group: no such group \"%s\"",
			    grp);
			return ES_ENOTFOUND;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

int
es_start_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot drop root to uid %u: %s",
		    (unsigned)uid, strerror(errno));
		return ES_EPERM;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen,
		    "root could be regained after dropping it");
		return ES_EPERM;
	}
	return 0;
}
