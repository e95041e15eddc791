/*
 * privfile.c - what edgespam-milter does to files as root, on
 * descriptors.
 *
 * The milter starts as root to bind its socket and write its pid file,
 * then drops to its user before the first connection. Until then no
 * file operation may be one that a less privileged user can turn on
 * root. The milter's own user owns the store directory (and usually
 * the pid directory) and can put a symbolic or a hard link under any
 * name there; a chown(), chmod() or open() by path follows it to the
 * file it names. (Once, the store's "-journal", made a link to a
 * root-owned file by the milter's user, gave that file to the user at
 * the next start: root for whoever holds the milter account.)
 *
 * The rules, each applied below:
 *  - A directory is opened one name at a time from "/", each name with
 *    openat(O_NOFOLLOW). A symbolic link is followed only when the
 *    directory holding it can be changed by root alone (owned by root
 *    and not writable by group or others; or sticky, like /tmp, and the
 *    link is root's): /var/run -> /run works, a link that another user
 *    could have made is refused with an error that names it. (Not
 *    running as root, the running user counts as root here: nothing is
 *    gained by distrusting one's own links.) At most 40 links, as the
 *    kernel allows.
 *  - A directory made here (mkdirat) is checked through its descriptor
 *    (still a directory owned by us) and only then given away with
 *    fchown() and fchmod(). An existing directory is never changed.
 *  - The pid file is opened relative to its directory's descriptor with
 *    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY and checked with fstat() (a
 *    regular file with one link) before it is locked, truncated or
 *    written. A link or anything else in its place is removed (unlinkat
 *    removes a name, it never follows one) and a new file made with
 *    O_EXCL. flock() on it tells whether another instance runs.
 *  - The unix socket is made by bind() under a umask that leaves its
 *    configured mode, so it needs no chmod. Its owner is set with
 *    fchownat() on an O_PATH descriptor of the name, after fstat() on
 *    that descriptor showed the socket root just made (a socket owned
 *    by root with one link and that mode): a name swapped in between is
 *    refused, never changed.
 *  - Store files are not touched as root at all: the milter opens the
 *    store after dropping root, so SQLite makes its files as the user
 *    and follows a planted link only with the user's rights.
 *    privfile_store_why() tells, as that user, why a store could not be
 *    opened (a link, a file root owns) and how to fix it.
 *
 * Limits: directories above a configured path that root alone can
 * change are trusted as they are; a path of more than PATH_MAX bytes
 * or a name longer than NAME_MAX is refused.
 *
 * Errors: 0 or a negative es_err code, the reason (naming the file) in
 * the caller's buffer; what was repaired goes into a note buffer the
 * same way. Nothing here logs. privfile_socket_* rely on the process
 * umask and are meant for the start, before any thread runs; the rest
 * keeps no state outside its arguments.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_alloc.h"
#include "es_err.h"
#include "privfile.h"

/* a chain of links longer than this is a loop (the kernel's limit) */
#define PRIVFILE_LINKS_MAX 40
/* how a pid file is opened: never through a link, never blocking on a
 * FIFO, never making a terminal ours */
#define PRIVFILE_PID_FLAGS \
	(O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

struct privfile_pid {
	int pf_dirfd;
	int pf_fd;
	char pf_name[NAME_MAX + 1];
	char pf_path[PATH_MAX];
};

static int say(char *buf, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* say - a message into buf (when there is one); returns rc */
static int
say(char *buf, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* kind - what a file type is, for messages */
static const char *
kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISFIFO(m))
		return "a FIFO";
	return "a device";
}

/* user_name - "uid N (name)" into buf */
static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/* login - the running user's name, for a chown command line */
static const char *
login(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)geteuid());
	return buf;
}

/* mine - whether uid is root or the effective user: who runs this can
 * trust what they could have made themselves */
static bool
mine(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * root_only - whether a link owned by link_uid in the directory open on
 * dfd can have been put there by root alone (or, when not running as
 * root, by root or the running user); else *who says who else could.
 */
static bool
root_only(int dfd, uid_t link_uid, char *who, size_t wholen)
{
	struct stat sb;
	char u[96];

	if (fstat(dfd, &sb) != 0) {
		snprintf(who, wholen, "someone (fstat: %s)", strerror(errno));
		return false;
	}
	if (!mine(sb.st_uid)) {
		snprintf(who, wholen, "its owner %s",
		    user_name(sb.st_uid, u, sizeof(u)));
		return false;
	}
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return true;
	/* in a sticky directory only the link's owner (or root) can
	 * remove or replace it */
	if ((sb.st_mode & S_ISVTX) != 0 && mine(link_uid))
		return true;
	snprintf(who, wholen, "%s (mode %04o)",
	    (sb.st_mode & S_IWOTH) ? "anyone" : "its group",
	    (unsigned)(sb.st_mode & 07777));
	return false;
}

/*
 * follow - name in dfd is a symbolic link: when root alone can have
 * made it, splice its target into rest (the part of the path after it)
 * and, for an absolute target, move *fd to "/".
 */
static int
follow(int *fd, const char *name, const struct stat *lsb, char *rest,
    size_t restlen, const char **p, const char *dir, char *err,
    size_t errlen)
{
	char target[PATH_MAX], next[PATH_MAX], who[128];
	ssize_t n;
	int rfd;

	if (!root_only(*fd, lsb->st_uid, who, sizeof(who)))
		return say(err, errlen, ES_EPERM,
		    "%s: \"%s\" is a symbolic link in a directory that %s "
		    "can change: refused (root follows no link that "
		    "another user could have made; make it a directory)",
		    dir, name, who);
	n = readlinkat(*fd, name, target, sizeof(target) - 1);
	if (n < 0)
		return say(err, errlen, ES_EIO, "%s: readlink %s: %s", dir,
		    name, strerror(errno));
	target[n] = '\0';
	if ((size_t)snprintf(next, sizeof(next), "%s/%s", target, *p) >=
	        sizeof(next) ||
	    strlcpy(rest, next, restlen) >= restlen)
		return say(err, errlen, ES_EINVAL, "%s: path too long", dir);
	*p = rest;
	if (target[0] == '/') {
		if ((rfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return say(err, errlen, ES_EIO, "/: %s",
			    strerror(errno));
		close(*fd);
		*fd = rfd;
	}
	return 0;
}

/*
 * walk - open the directory dir one name at a time from "/" (see the
 * top of the file) into *out; with mkmode != 0 a missing last name is
 * made (*made is then true).
 */
static int
walk(const char *dir, mode_t mkmode, bool *made, int *out, char *err,
    size_t errlen)
{
	char rest[PATH_MAX], name[NAME_MAX + 1];
	const char *p;
	unsigned links = 0;
	int fd, nfd, e, rc;

	*out = -1;
	*made = false;
	if (dir[0] != '/')
		return say(err, errlen, ES_EINVAL, "%s: not an absolute path",
		    dir);
	if (strlcpy(rest, dir, sizeof(rest)) >= sizeof(rest))
		return say(err, errlen, ES_EINVAL, "%s: path too long", dir);
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return say(err, errlen, ES_EIO, "/: %s", strerror(errno));
	for (p = rest;;) {
		struct stat lsb;
		size_t n;
		bool last;

		p += strspn(p, "/");
		if (*p == '\0')
			break;
		if ((n = strcspn(p, "/")) > NAME_MAX) {
			close(fd);
			return say(err, errlen, ES_EINVAL,
			    "%s: a name is too long", dir);
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		last = p[strspn(p, "/")] == '\0';
		if (strcmp(name, ".") == 0)
			continue;
		nfd = openat(fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && last && mkmode != 0) {
			if (mkdirat(fd, name, mkmode) == 0)
				*made = true;
			else if (errno != EEXIST) {
				e = errno;
				close(fd);
				return say(err, errlen, ES_EIO,
				    "%s: cannot make it: %s", dir, strerror(e));
			}
			nfd = openat(fd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd >= 0) {
			close(fd);
			fd = nfd;
			continue;
		}
		e = errno;
		if (fstatat(fd, name, &lsb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISLNK(lsb.st_mode)) {
			close(fd);
			return say(err, errlen, ES_EIO, "%s: \"%s\": %s", dir,
			    name, strerror(e));
		}
		if (++links > PRIVFILE_LINKS_MAX) {
			close(fd);
			return say(err, errlen, ES_EINVAL, "%s: %s", dir,
			    strerror(ELOOP));
		}
		if ((rc = follow(&fd, name, &lsb, rest, sizeof(rest), &p, dir,
			 err, errlen)) != 0) {
			close(fd);
			return rc;
		}
	}
	*out = fd;
	return 0;
}

int
privfile_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid, int *out,
    char *err, size_t errlen)
{
	struct stat sb;
	bool made;
	int fd, rc, e;

	if ((rc = walk(dir, mode, &made, &fd, err, errlen)) != 0)
		return rc;
	if (made) {
		/* what was opened must be what mkdirat made: a directory
		 * of ours, not one renamed into its place meanwhile */
		if (fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
		    sb.st_uid != geteuid()) {
			close(fd);
			return say(err, errlen, ES_EPERM,
			    "%s: the directory made was replaced before it "
			    "was opened: refused",
			    dir);
		}
		/* the descriptor's mode is exact, mkdirat's went through the
		 * umask */
		if (((uid != (uid_t)-1 || gid != (gid_t)-1) &&
		        fchown(fd, uid, gid) != 0) ||
		    fchmod(fd, mode) != 0) {
			e = errno;
			close(fd);
			return say(err, errlen, ES_EIO,
			    "%s: cannot give it to uid %ld: %s", dir,
			    uid == (uid_t)-1 ? -1L : (long)uid, strerror(e));
		}
	}
	*out = fd;
	return 0;
}

int
privfile_split(const char *path, char *dir, size_t dirlen, const char **name,
    char *err, size_t errlen)
{
	const char *slash;
	size_t n;

	*name = NULL;
	if (path[0] != '/')
		return say(err, errlen, ES_EINVAL, "%s: not an absolute path",
		    path);
	slash = strrchr(path, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, ".") == 0 ||
	    strcmp(slash + 1, "..") == 0 || strlen(slash + 1) > NAME_MAX)
		return say(err, errlen, ES_EINVAL, "%s: names no file", path);
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= dirlen)
		return say(err, errlen, ES_EINVAL, "%s: path too long", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	*name = slash + 1;
	return 0;
}

/* base - the last name of a path privfile_split accepted */
static const char *
base(const char *path)
{
	return strrchr(path, '/') + 1;
}

/*
 * pid_unfit - open name in pf's directory; 0 with pf_fd set when it is
 * a regular file with one link; 1 with what it is in *what when it is
 * something to remove; an es_err code otherwise.
 */
static int
pid_unfit(struct privfile_pid *pf, int excl, const char **what, char *err,
    size_t errlen)
{
	struct stat sb;
	int e;

	pf->pf_fd = openat(pf->pf_dirfd, pf->pf_name,
	    PRIVFILE_PID_FLAGS | O_CREAT | excl, 0644);
	if (pf->pf_fd >= 0) {
		if (fstat(pf->pf_fd, &sb) != 0)
			return say(err, errlen, ES_EIO, "pid file %s: %s",
			    pf->pf_path, strerror(errno));
		if (S_ISREG(sb.st_mode) && sb.st_nlink == 1)
			return 0;
		close(pf->pf_fd);
		pf->pf_fd = -1;
		*what = S_ISREG(sb.st_mode) ? "a hard link to another file"
		                            : kind(sb.st_mode);
		return 1;
	}
	e = errno;
	if (fstatat(pf->pf_dirfd, pf->pf_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
	    S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode))
		return say(err, errlen, ES_EIO, "pid file %s: %s", pf->pf_path,
		    strerror(e));
	*what = kind(sb.st_mode);
	return 1;
}

int
privfile_pid_open(const char *path, uid_t uid, gid_t gid,
    struct privfile_pid **out, long *other, char *note, size_t notelen,
    char *err, size_t errlen)
{
	struct privfile_pid *pf;
	char dir[PATH_MAX], buf[32];
	const char *name, *what = NULL;
	ssize_t n;
	int rc;

	*out = NULL;
	*other = 0;
	say(note, notelen, 0, "%s", "");
	if ((rc = privfile_split(path, dir, sizeof(dir), &name, err,
		 errlen)) != 0)
		return rc;
	if ((pf = es_calloc(1, sizeof(*pf))) == NULL)
		return say(err, errlen, ES_ENOMEM, "out of memory");
	pf->pf_fd = -1;
	strlcpy(pf->pf_name, name, sizeof(pf->pf_name));
	strlcpy(pf->pf_path, path, sizeof(pf->pf_path));
	if ((rc = privfile_dir(dir, 0755, uid, gid, &pf->pf_dirfd, err,
		 errlen)) != 0) {
		es_free(pf);
		return rc;
	}
	/* whatever stands in its place is removed, once: a name in the
	 * directory goes, the file it may point to stays as it was */
	if ((rc = pid_unfit(pf, 0, &what, err, errlen)) == 1) {
		if (unlinkat(pf->pf_dirfd, pf->pf_name, 0) != 0) {
			rc = say(err, errlen, ES_EIO,
			    "pid file %s is %s and cannot be removed: %s", path,
			    what, strerror(errno));
		} else {
			say(note, notelen, 0,
			    "pid file %s was %s: removed it (without following "
			    "it) and made a new file",
			    path, what);
			if ((rc = pid_unfit(pf, O_EXCL, &what, err, errlen)) ==
			    1)
				rc = say(err, errlen, ES_EPERM,
				    "pid file %s: %s again after it was "
				    "removed: refused",
				    path, what);
		}
	}
	if (rc != 0)
		goto fail;
	if (flock(pf->pf_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			rc = say(err, errlen, ES_EIO, "pid file %s: flock: %s",
			    path, strerror(errno));
			goto fail;
		}
		if ((n = pread(pf->pf_fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			*other = strtol(buf, NULL, 10);
		}
		rc = say(err, errlen, ES_EBUSY,
		    "pid file %s is locked by a running process", path);
		goto fail;
	}
	*out = pf;
	return 0;
fail:
	if (pf->pf_fd >= 0)
		close(pf->pf_fd);
	close(pf->pf_dirfd);
	es_free(pf);
	return rc;
}

int
privfile_pid_write(struct privfile_pid *pf, char *err, size_t errlen)
{
	char buf[32];
	int n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(pf->pf_fd, 0) != 0 ||
	    pwrite(pf->pf_fd, buf, (size_t)n, 0) != n)
		return say(err, errlen, ES_EIO, "pid file %s: %s", pf->pf_path,
		    strerror(errno));
	return 0;
}

void
privfile_pid_close(struct privfile_pid *pf, char *note, size_t notelen)
{
	struct stat mine, now;

	say(note, notelen, 0, "%s", "");
	if (pf == NULL)
		return;
	if (fstat(pf->pf_fd, &mine) != 0 ||
	    fstatat(pf->pf_dirfd, pf->pf_name, &now, AT_SYMLINK_NOFOLLOW) !=
	        0 ||
	    mine.st_dev != now.st_dev || mine.st_ino != now.st_ino) {
		say(note, notelen, 0,
		    "pid file %s was removed or replaced meanwhile: left as it "
		    "is",
		    pf->pf_path);
	} else if (unlinkat(pf->pf_dirfd, pf->pf_name, 0) != 0) {
		/* after the privilege drop the directory may be root's:
		 * then the file stays, empty, so it names no process */
		int e = errno;

		if (ftruncate(pf->pf_fd, 0) == 0)
			say(note, notelen, 0, "pid file %s emptied, not "
			    "removed: %s", pf->pf_path, strerror(e));
		else
			say(note, notelen, 0, "pid file %s neither removed (%s) "
			    "nor emptied (%s)", pf->pf_path, strerror(e),
			    strerror(errno));
	}
	close(pf->pf_fd);
	close(pf->pf_dirfd);
	es_free(pf);
}

int
privfile_socket_clear(int dirfd, const char *path, char *note, size_t notelen,
    char *err, size_t errlen)
{
	const char *name = base(path);
	struct stat sb;

	say(note, notelen, 0, "%s", "");
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : say(err, errlen, ES_EIO, "%s: %s",
		    path, strerror(errno));
	if (S_ISSOCK(sb.st_mode))
		return 0; /* libmilter replaces a stale socket */
	if (!S_ISLNK(sb.st_mode))
		return say(err, errlen, ES_EPERM,
		    "%s is %s, not a socket: remove it", path,
		    kind(sb.st_mode));
	if (unlinkat(dirfd, name, 0) != 0)
		return say(err, errlen, ES_EIO,
		    "%s is a symbolic link and cannot be removed: %s", path,
		    strerror(errno));
	return say(note, notelen, 0,
	    "%s was a symbolic link: removed it (without following it)",
	    path);
}

int
privfile_socket_own(int dirfd, const char *path, mode_t mode, uid_t uid,
    gid_t gid, char *err, size_t errlen)
{
	struct stat sb;
	char u[96];
	int fd, e;

	if ((fd = openat(dirfd, base(path), O_PATH | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return say(err, errlen, ES_EIO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &sb) != 0) {
		e = errno;
		close(fd);
		return say(err, errlen, ES_EIO, "%s: %s", path, strerror(e));
	}
	if (!S_ISSOCK(sb.st_mode) || sb.st_uid != geteuid() ||
	    sb.st_nlink != 1 || (sb.st_mode & 07777) != mode) {
		close(fd);
		return say(err, errlen, ES_EPERM,
		    "%s is not the socket just made (%s of %s, mode %04o, "
		    "%lu links): refused",
		    path, kind(sb.st_mode), user_name(sb.st_uid, u, sizeof(u)),
		    (unsigned)(sb.st_mode & 07777),
		    (unsigned long)sb.st_nlink);
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) {
		e = errno;
		close(fd);
		return say(err, errlen, ES_EIO, "%s: chown: %s", path,
		    strerror(e));
	}
	close(fd);
	return 0;
}

/* file_why - why the store file f (lstat in sb) is in the way, if it is */
static int
file_why(const char *f, const struct stat *sb, char *why, size_t whylen)
{
	char target[PATH_MAX], owner[96], me[96], lg[64];
	ssize_t n;

	if (S_ISLNK(sb->st_mode)) {
		n = readlink(f, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		return say(why, whylen, 0,
		    "%s is a symbolic link (to %s), which SQLite never makes: "
		    "remove it",
		    f, target);
	}
	if (faccessat(AT_FDCWD, f, R_OK | W_OK, AT_EACCESS) == 0)
		return ES_ENOTFOUND;
	return say(why, whylen, 0,
	    "%s is owned by %s with mode %04o and the milter runs as %s: "
	    "chown %s %s",
	    f, user_name(sb->st_uid, owner, sizeof(owner)),
	    (unsigned)(sb->st_mode & 07777),
	    user_name(geteuid(), me, sizeof(me)), login(lg, sizeof(lg)), f);
}

int
privfile_store_why(const char *path, char *why, size_t whylen)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char dir[PATH_MAX], f[PATH_MAX], owner[96], me[96], lg[64];
	const char *name;
	struct stat sb;
	size_t i;

	if (privfile_split(path, dir, sizeof(dir), &name, NULL, 0) != 0)
		return ES_ENOTFOUND;
	if (lstat(dir, &sb) != 0)
		return say(why, whylen, 0, "store directory %s: %s", dir,
		    strerror(errno));
	if (S_ISDIR(sb.st_mode) &&
	    faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
		return say(why, whylen, 0,
		    "store directory %s is owned by %s with mode %04o and the "
		    "milter runs as %s, who cannot make files in it: chown "
		    "%s %s",
		    dir, user_name(sb.st_uid, owner, sizeof(owner)),
		    (unsigned)(sb.st_mode & 07777),
		    user_name(geteuid(), me, sizeof(me)), login(lg, sizeof(lg)),
		    dir);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(f, sizeof(f), "%s%s", path, sfx[i]) >=
		    sizeof(f))
			return ES_ENOTFOUND;
		if (lstat(f, &sb) == 0 && file_why(f, &sb, why, whylen) == 0)
			return 0;
	}
	return ES_ENOTFOUND;
}
