/*
 * sqlite_walbuf.c - a SQLite VFS that gathers a transaction's writes to
 * the write-ahead log into a few large writes.
 *
 * SQLite appends each WAL frame with two write calls (the 24-byte frame
 * header, then the page). A message that learns a few hundred random
 * tokens dirties about as many pages, so its commit cost some 400 write
 * system calls, which on this kind of machine was about half of all the
 * time spent learning. This VFS wraps the default one; for WAL files
 * only, writes that continue the previous one are kept in a buffer and
 * written together.
 *
 * Correctness rests on one rule: nothing SQLite has committed is ever
 * left in the buffer. SQLite publishes new frames to other connections
 * (through the shared-memory index) only after the write of a commit
 * frame has returned, and a commit frame is the one whose header carries
 * a non-zero database size (bytes 4-7, the WAL file format). So the
 * buffer is written out before the write of a commit frame's page
 * returns, before any read, sync, truncate, size query or close of the
 * file, and whenever a write does not continue it. Two more writes of
 * wal.c's sqlite3WalFrames() end a commit, and are written out at once:
 *  - a frame's header written again in place, without its page
 *    (walRewriteChecksums(), after the transaction rewrote frames it had
 *    spilled): the last of them ends the commit, and a stale header on
 *    disk breaks the checksum chain that recovery follows. Each is
 *    written right after a read of the same frame, which is how this
 *    VFS knows it: a header-sized write at the offset of the read just
 *    before it. The page of a commit frame is never taken for one, even
 *    at that offset: after a checkpoint restarted the log, a read of the
 *    old log may have been exactly where the new commit frame's page
 *    goes, and taking that page for a rewrite once left the commit
 *    header in the buffer while SQLite published the commit (other
 *    handles then read a stale frame: "database disk image is
 *    malformed" under load);
 *  - without SQLITE_IOCAP_POWERSAFE_OVERWRITE, synchronous=FULL pads a
 *    commit to a sector boundary and writes the end of the last frame
 *    after a sync, in a write that no header announces: such a file is
 *    not buffered at all.
 * Frames of a transaction that is rolled back must not wait in the
 * buffer either (they would be written later, over frames another
 * process may have committed there meanwhile): SQLite writes frames
 * before the commit only when it spills its page cache, and the driver
 * turns that off (PRAGMA cache_spill, store_sqlite.c). A failed write-out
 * is that write's failure: SQLite then abandons the transaction, and
 * frames without a valid commit frame after them are ignored by
 * recovery, as after a crash in the middle of a commit. Database files
 * and every other file go straight to the default VFS.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite_walbuf.h"

#define WB_CAP (256 * 1024) /* bytes gathered before a write-out */
#define WB_PIECE (64 * 1024) /* bytes per write system call */
#define WB_FRAME_HDR 24     /* SQLite's WAL frame header */

struct wb_file {
	sqlite3_file base;       /* pMethods: wb_io */
	sqlite3_file *real;      /* the default VFS's file, after us */
	unsigned char *buf;      /* NULL: writes go straight through */
	sqlite3_int64 off;       /* file offset of buf[0] */
	sqlite3_int64 read_off;  /* offset of a read that was the last
	                            operation, or -1 */
	int len;
	int commit_next;         /* the next write is a commit frame's page */
};

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *wb_base;
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static int wb_rc = SQLITE_ERROR;

/*
 * wb_flush - write the buffer out, in pieces of WB_PIECE bytes: the unix
 * VFS passes a write to pwrite() with its size cut to 17 bits, so that
 * a write of exactly 128 KiB would write nothing (SQLITE_FULL).
 */
static int
wb_flush(struct wb_file *f)
{
	int rc = SQLITE_OK, n;

	for (int done = 0; done < f->len && rc == SQLITE_OK; done += n) {
		n = f->len - done < WB_PIECE ? f->len - done : WB_PIECE;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, n,
		    f->off + done);
	}
	f->len = 0;
	return rc;
}

static int
wb_close(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc = wb_flush(f), rc2;

	rc2 = f->real->pMethods->xClose(f->real);
	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wb_read(sqlite3_file *pf, void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	f->read_off = off;
	return f->real->pMethods->xRead(f->real, p, amt, off);
}

/* is_commit_hdr - a WAL frame header whose database size is not zero. */
static int
is_commit_hdr(const void *p, int amt)
{
	const unsigned char *h = p;

	return amt == WB_FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int
wb_write(sqlite3_file *pf, const void *p, int amt, sqlite3_int64 off)
{
	struct wb_file *f = (struct wb_file *)pf;
	int commit = f->commit_next, rewrite, rc;

	if (f->buf == NULL) /* not buffered (see wb_open) */
		return f->real->pMethods->xWrite(f->real, p, amt, off);
	/*
	 * A frame header written again in place (walRewriteChecksums): a
	 * header's size, at the offset of the read just before it, and not
	 * the page of a commit frame (whose header was the last write: an
	 * offset alone does not tell, a read of an older log may have been
	 * at the same place).
	 */
	rewrite = !commit && amt == WB_FRAME_HDR && off == f->read_off;
	f->read_off = -1;
	f->commit_next = is_commit_hdr(p, amt);
	if (rewrite) {
		if ((rc = wb_flush(f)) != SQLITE_OK)
			return rc;
		return f->real->pMethods->xWrite(f->real, p, amt, off);
	}
	if (f->len > 0 && (off != f->off + f->len || f->len + amt > WB_CAP ||
	    amt > WB_PIECE) && (rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	if (amt > WB_PIECE) { /* never with SQLite's page sizes; be safe */
		rc = f->real->pMethods->xWrite(f->real, p, amt, off);
		return rc != SQLITE_OK || !commit ? rc : wb_flush(f);
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += amt;
	return commit ? wb_flush(f) : SQLITE_OK;
}

static int
wb_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xTruncate(f->real, size);
}

static int
wb_sync(sqlite3_file *pf, int flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xSync(f->real, flags);
}

static int
wb_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileSize(f->real, size);
}

static int
wb_lock(sqlite3_file *pf, int lock)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xLock(f->real, lock);
}

static int
wb_unlock(sqlite3_file *pf, int lock)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xUnlock(f->real, lock);
}

static int
wb_check_lock(sqlite3_file *pf, int *out)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int
wb_fcntl(sqlite3_file *pf, int op, void *arg)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	if ((rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int
wb_sector(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xSectorSize(f->real);
}

static int
wb_devchar(sqlite3_file *pf)
{
	struct wb_file *f = (struct wb_file *)pf;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1 methods: a WAL file needs neither shared memory nor mmap. */
static const sqlite3_io_methods wb_io = {
    .iVersion = 1,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_lock,
    .xFileControl = wb_fcntl,
    .xSectorSize = wb_sector,
    .xDeviceCharacteristics = wb_devchar,
};

static int
wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags,
    int *out_flags)
{
	struct wb_file *f = (struct wb_file *)pf;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL)) /* the file is the default VFS's */
		return wb_base->xOpen(wb_base, name, pf, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->read_off = -1;
	if ((f->buf = malloc(WB_CAP)) == NULL)
		return SQLITE_NOMEM;
	rc = wb_base->xOpen(wb_base, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		free(f->buf);
		f->buf = NULL;
		return rc;
	}
	f->base.pMethods = &wb_io;
	/* wal.c pads commits to a sector (see above) exactly when this
	 * capability is missing: then every write goes straight through */
	if (!(f->real->pMethods->xDeviceCharacteristics(f->real) &
		SQLITE_IOCAP_POWERSAFE_OVERWRITE)) {
		free(f->buf);
		f->buf = NULL;
	}
	return SQLITE_OK;
}

static void
wb_register(void)
{
	if ((wb_base = sqlite3_vfs_find(NULL)) == NULL)
		return;
	wb_vfs = *wb_base;
	wb_vfs.zName = SQ_WALBUF_VFS; /* pAppData stays the default's */
	wb_vfs.pNext = NULL;
	wb_vfs.xOpen = wb_open;
	/* the default VFS's files are placed after our header */
	wb_vfs.szOsFile = (int)sizeof(struct wb_file) + wb_base->szOsFile;
	wb_rc = sqlite3_vfs_register(&wb_vfs, 0);
}

const char *
sq_walbuf_vfs(void)
{
	pthread_once(&wb_once, wb_register);
	return wb_rc == SQLITE_OK ? SQ_WALBUF_VFS : NULL;
}
