/*
 * cli_priv.c - what edgespam does before root opens an SQLite store.
 *
 * SQLite opens the store's files by name: the database, and beside it
 * "-wal", "-shm" and "-journal", which it makes and removes as it goes.
 * It follows a symbolic link in any of those places, and when it runs
 * as root it gives a -wal or -journal it opened to the database's owner
 * (through the descriptor). The store's directory belongs to the
 * milter's user, so that user could plant "edgespam.db-wal -> a root
 * file" and wait for root to run edgespam: the file would be written
 * into and become the user's.
 *
 * So root never works in a store directory that someone else can
 * change:
 *  - a directory owned by another user: edgespam acts as that user
 *    from here on, with its effective ids (groups, gid, uid); the real
 *    uid still says who called, so the trust checks (trusted_users)
 *    are unchanged. That user could do anything to those files anyway,
 *    so nothing is lost, and a store root makes there (db init) is the
 *    user's, as the milter needs;
 *  - a directory of root's that its group or others may write (/tmp):
 *    refused, with the reason;
 *  - a directory only root can change: nothing to do.
 * Not covered: a directory above the store's that another user owns
 * (the check is on the store's own directory, by name).
 *
 * Only for the sqlite driver and only when the effective uid is 0.
 * Errors are printed to standard error and returned as a sysexits
 * code. Not thread-safe (the CLI has one thread).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "es_log.h"

int
cli_store_as_owner(const struct cli *c)
{
	const char *path = conf_str(c->cf, "store_path");
	char dir[PATH_MAX], *slash;
	struct passwd *pw;
	struct stat sb;
	gid_t gid;
	int fd;

	if (geteuid() != 0 || strcmp(conf_str(c->cf, "store_driver"),
	                          "sqlite") != 0)
		return EX_OK;
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return EX_OK; /* store_open says what is wrong with it */
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	/* a missing directory: store_open reports it */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return EX_OK;
	if (fstat(fd, &sb) != 0) {
		fprintf(stderr, "edgespam: %s: %s\n", dir, strerror(errno));
		close(fd);
		return EX_OSERR;
	}
	close(fd);
	if (sb.st_uid == 0) {
		if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
			return EX_OK;
		fprintf(stderr,
		    "edgespam: the store's directory %s (mode %04o) can be "
		    "changed by %s: root does not open a store there; give "
		    "the directory to the store's user, or run edgespam as "
		    "that user\n",
		    dir, (unsigned)(sb.st_mode & 07777),
		    (sb.st_mode & S_IWOTH) ? "anyone" : "its group");
		es_log_err("refused to open the store as root: %s is "
			   "writable by %s",
		    dir, (sb.st_mode & S_IWOTH) ? "anyone" : "its group");
		return EX_NOPERM;
	}
	pw = getpwuid(sb.st_uid);
	gid = pw != NULL ? pw->pw_gid : sb.st_gid;
	if (setgroups(1, &gid) != 0 || setegid(gid) != 0 ||
	    seteuid(sb.st_uid) != 0) {
		fprintf(stderr, "edgespam: cannot act as uid %u, the owner of "
		                "%s: %s\n",
		    (unsigned)sb.st_uid, dir, strerror(errno));
		return EX_OSERR;
	}
	return EX_OK;
}
