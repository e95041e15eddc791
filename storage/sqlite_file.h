/*
 * sqlite_file.h - the files an SQLite handle has open (the database and
 * its -wal and -shm) by device and inode, so that the sqlite driver
 * notices a database file deleted or replaced under it and opens the
 * new one without the old one's log (see sqlite_file.c).
 */
#ifndef SQLITE_FILE_H
#define SQLITE_FILE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct sq_file_id {
	dev_t dev;
	ino_t ino;
	bool known; /* false: not taken (no such file, or no plain path) */
};

/* What one handle has open: the database, its log and its shared index. */
struct sq_files {
	struct sq_file_id db, wal, shm;
};

enum sq_file_state {
	SQ_FILE_SAME,    /* the path names the file we have (or we cannot
	                    tell: no identity, or stat() failed otherwise) */
	SQ_FILE_GONE,    /* the path names nothing */
	SQ_FILE_REPLACED /* the path names another file */
};

/*
 * sq_files_note - take the identities of path, path-wal and path-shm
 * into f, right after SQLite opened them; a file that is not there is
 * left unknown. A path longer than PATH_MAX leaves all three unknown.
 */
void sq_files_note(const char *path, struct sq_files *f);

/* sq_files_state - compare what path names now with f->db (one stat). */
enum sq_file_state sq_files_state(const char *path, const struct sq_files *f);

/*
 * sq_files_drop_old - remove path-wal and path-shm when they are the
 * very files f recorded: the log and index of the database that was
 * deleted or replaced, which SQLite would otherwise open with the file
 * now at path. Files that are not those are left alone. *dropped is set
 * when one was removed. 0, or ES_ESTORE with the reason in err (errlen
 * bytes) when one of ours could not be removed.
 */
int sq_files_drop_old(const char *path, const struct sq_files *f, bool *dropped,
    char *err, size_t errlen);

/*
 * sq_files_lock, sq_files_unlock - one mutex for the whole process,
 * held from sq_files_state() through sq_files_drop_old() to the end of
 * the new open, so that no handle removes the files another handle of
 * the process has just created.
 */
void sq_files_lock(void);
void sq_files_unlock(void);

/*
 * Under the lock: sq_files_seq() counts the databases handles of this
 * process created where one had been deleted; a handle takes it before
 * it opens a file. sq_files_created() notes that one of them created id
 * so; sq_files_was_created() says whether id is that file and the
 * handle (its count at open: seq) had its file open before: then the
 * handle's file was deleted, and it reports a deletion too, not a
 * replacement (with the count, an inode number used again later for
 * another file is not taken for this one).
 */
unsigned long sq_files_seq(void);
void sq_files_created(const struct sq_file_id *id);
bool sq_files_was_created(const struct sq_file_id *id, unsigned long seq);

#endif
