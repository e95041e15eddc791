/*
 * sqlite_file.c - which files an SQLite handle of the sqlite driver has
 * open, by device and inode: the database, its write-ahead log (-wal)
 * and its shared index (-shm). The driver uses it to notice that the
 * database at its path is no longer the file it has open (deleted, or
 * replaced by a rename) and to open the new one safely.
 *
 * Why the -wal and -shm matter: SQLite finds a database's log and index
 * by name, path-wal and path-shm. When a file is renamed over the path
 * (or the database alone is deleted) while the old database's -wal and
 * -shm are still there, which they are as long as any handle has the
 * old database open, SQLite would open the new file with them: it
 * would read the old database's pages from that log as if they were
 * the new file's, and copy them into it at the next checkpoint. So
 * before a handle opens the path again, sq_files_drop_old() removes the
 * -wal and -shm at the path when, and only when, they are the very
 * files that handle recorded at its open. Handles that still have them
 * open keep using them through their descriptors until they move too.
 * A -wal or -shm that is not the recorded one (the new database's,
 * made by another handle or process) is left alone. SQLite itself
 * neither checkpoints nor deletes by name when it closes a database
 * whose file has moved, so the old handles' closing does not touch the
 * new database's files.
 *
 * Limits: identities are taken with stat() right after SQLite opened the
 * files (a file replaced in between those two calls is taken for ours).
 * sq_files_lock() orders the handles of one process, and remembers the
 * last file one of them created where the database had been deleted, so
 * that every handle moving to it reports the deletion. Between processes
 * (the milter and an edgespam run moving at the same instant) nothing
 * does, and the window is that of one stat() and one unlink(). A -wal or
 * -shm deleted while the database stays is not noticed (SQLite's rule
 * holds: never delete them under a database in use).
 *
 * Thread-safe; no allocation.
 */
#include "sqlite_file.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "es_err.h"

static pthread_mutex_t sq_files_mutex = PTHREAD_MUTEX_INITIALIZER;
/* guarded by sq_files_mutex: the last file a handle created where the
 * database had been deleted, and how many such files there were */
static struct sq_file_id sq_created;
static unsigned long sq_seq;

/* take - the identity of name into id (unknown when stat fails). */
static void
take(const char *name, struct sq_file_id *id)
{
	struct stat sb;

	memset(id, 0, sizeof(*id));
	if (stat(name, &sb) == 0) {
		id->dev = sb.st_dev;
		id->ino = sb.st_ino;
		id->known = true;
	}
}

/* same - name is the file id recorded. */
static bool
same(const struct sq_file_id *id, const struct stat *sb)
{
	return id->known && sb->st_dev == id->dev && sb->st_ino == id->ino;
}

/* companion - path with suffix sfx into buf; false when it does not fit. */
static bool
companion(const char *path, const char *sfx, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", path, sfx);

	return n >= 0 && (size_t)n < len;
}

void
sq_files_note(const char *path, struct sq_files *f)
{
	char name[PATH_MAX];

	memset(f, 0, sizeof(*f));
	if (!companion(path, "-wal", name, sizeof(name)))
		return;
	take(path, &f->db);
	take(name, &f->wal);
	if (companion(path, "-shm", name, sizeof(name)))
		take(name, &f->shm);
}

enum sq_file_state
sq_files_state(const char *path, const struct sq_files *f)
{
	struct stat sb;

	if (!f->db.known)
		return SQ_FILE_SAME;
	if (stat(path, &sb) != 0)
		return errno == ENOENT || errno == ENOTDIR ? SQ_FILE_GONE
		                                           : SQ_FILE_SAME;
	return same(&f->db, &sb) ? SQ_FILE_SAME : SQ_FILE_REPLACED;
}

int
sq_files_drop_old(const char *path, const struct sq_files *f, bool *dropped,
    char *err, size_t errlen)
{
	static const char *const sfx[] = {"-wal", "-shm"};
	const struct sq_file_id *ids[] = {&f->wal, &f->shm};
	char name[PATH_MAX];
	struct stat sb;

	*dropped = false;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (!ids[i]->known ||
		    !companion(path, sfx[i], name, sizeof(name)) ||
		    stat(name, &sb) != 0 || !same(ids[i], &sb))
			continue;
		if (unlink(name) != 0 && errno != ENOENT) {
			snprintf(err, errlen,
			    "sqlite: cannot remove %s, the "
			    "log of the database that was at %s: %s",
			    name, path, strerror(errno));
			return ES_ESTORE;
		}
		*dropped = true;
	}
	return 0;
}

void
sq_files_lock(void)
{
	pthread_mutex_lock(&sq_files_mutex);
}

void
sq_files_unlock(void)
{
	pthread_mutex_unlock(&sq_files_mutex);
}

unsigned long
sq_files_seq(void)
{
	return sq_seq;
}

void
sq_files_created(const struct sq_file_id *id)
{
	sq_created = *id;
	sq_seq++;
}

bool
sq_files_was_created(const struct sq_file_id *id, unsigned long seq)
{
	return id->known && sq_created.known && seq < sq_seq &&
	       id->dev == sq_created.dev && id->ino == sq_created.ino;
}
