/*
 * privfile.h - the files the milter touches as root before it drops
 * privileges (directories, pid file, unix socket), through descriptors
 * and never by a path that another user can change. See privfile.c.
 */
#ifndef MILTER_PRIVFILE_H
#define MILTER_PRIVFILE_H

#include <stddef.h>
#include <sys/types.h>

struct privfile_pid;

/*
 * privfile_dir - open the directory dir (an absolute path) and return
 * its descriptor in *fd (caller closes). The path is walked one name at
 * a time from "/": a symbolic link is followed only inside a directory
 * that only root can change, and refused elsewhere. With mode != 0 a
 * missing last directory is made with that mode and given to uid:gid
 * ((uid_t)-1 and (gid_t)-1 keep the creator's, as with fchown(2)); an
 * existing directory is never changed. 0, or ES_EIO / ES_EPERM /
 * ES_EINVAL with err saying what and why.
 */
int privfile_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid, int *fd,
    char *err, size_t errlen);

/*
 * privfile_split - path's directory part into dir (dirlen bytes) and a
 * pointer to its last name into *name (inside path). ES_EINVAL when
 * path is not absolute, names no file ("/", "x/", "x/.") or is too long.
 */
int privfile_split(const char *path, char *dir, size_t dirlen,
    const char **name, char *err, size_t errlen);

/*
 * privfile_pid_open - open and lock the pid file path (its directory is
 * made with mode 0755 and given to uid:gid when missing, as with
 * privfile_dir). A symbolic link, a second hard link or anything but a
 * regular file in its place is removed (never followed) and the file
 * made anew; note then says so (else note is ""). The lock (flock)
 * lasts as long as the descriptor, through fork(). 0 with *out (caller
 * closes with privfile_pid_close); ES_EBUSY when another process holds
 * the lock (*other its pid, or 0 when the file does not say); ES_EIO /
 * ES_EPERM / ES_EINVAL with err.
 */
int privfile_pid_open(const char *path, uid_t uid, gid_t gid,
    struct privfile_pid **out, long *other, char *note, size_t notelen,
    char *err, size_t errlen);

/* privfile_pid_write - the calling process's pid into the file. 0 or
 * ES_EIO with err. */
int privfile_pid_write(struct privfile_pid *pf, char *err, size_t errlen);

/*
 * privfile_pid_close - remove the pid file when its name still refers
 * to the file opened (after the privilege drop this needs the running
 * user's write access to the directory); when it cannot be removed it
 * is emptied through the descriptor, and note says why. Then close and
 * free pf. NULL does nothing.
 */
void privfile_pid_close(struct privfile_pid *pf, char *note, size_t notelen);

/*
 * privfile_socket_clear - before libmilter binds name in the directory
 * open on dirfd: nothing there, or a socket (libmilter replaces a stale
 * socket), is fine; a symbolic link is removed (never followed) and
 * note says so; anything else is ES_EPERM with err (libmilter would
 * refuse it too).
 */
int privfile_socket_clear(int dirfd, const char *name, char *note,
    size_t notelen, char *err, size_t errlen);

/*
 * privfile_socket_own - after the bind: name in dirfd must be the
 * socket this process made (a socket, owned by the effective user, one
 * link, mode as wanted: bind made it under a umask that leaves exactly
 * mode); it is then given to uid:gid through a descriptor of its own
 * (O_PATH), so a name swapped in meanwhile is refused, never changed.
 * (uid_t)-1 and (gid_t)-1 keep the owner. 0, or ES_EPERM / ES_EIO with
 * err.
 */
int privfile_socket_own(int dirfd, const char *name, mode_t mode, uid_t uid,
    gid_t gid, char *err, size_t errlen);

/*
 * privfile_store_why - after the privilege drop, when the SQLite store
 * at path could not be opened: why, if its directory or one of its
 * files (the database, -wal, -shm, -journal) is a symbolic link or is
 * not usable by the running user, with the fix, in why. 0 when a
 * reason was found, ES_ENOTFOUND when none.
 */
int privfile_store_why(const char *path, char *why, size_t whylen);

#endif
