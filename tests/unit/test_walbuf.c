/*
 * test_walbuf.c - the WAL-buffering VFS of the sqlite driver
 * (storage/sqlite_walbuf.c), driven through its methods the way wal.c
 * calls them, with the file read back by a descriptor of our own: what
 * SQLite has committed must be on disk when the commit frame's page
 * write returns.
 *
 * The regression case: a handle read the old log at offset X, a
 * checkpoint restarted the log, and the new transaction's commit frame
 * puts its page exactly at X. The VFS once took that page for a header
 * rewritten in place (a write at the offset of the last read) and wrote
 * it through without writing out the buffer, so the commit header and
 * the frames before it stayed in memory while SQLite published the
 * commit; other handles then read stale frames ("database disk image is
 * malformed" under load in test_e2e).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sqlite_walbuf.h"

#define PAGE 1024
#define HDR 24
#define WALHDR 32
#define FRAME(i) ((sqlite3_int64)WALHDR + (sqlite3_int64)(i) * (HDR + PAGE))

struct fx {
	char dir[64], db[96], wal[100];
	sqlite3_vfs *vfs;
	sqlite3_file *f;
	int fd; /* our own descriptor of the WAL file */
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	const char *name;
	int fd, out = 0;

	if (x == NULL)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "%s/es-walbuf.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(x->dir) == NULL)
		return -1;
	snprintf(x->db, sizeof(x->db), "%s/db", x->dir);
	snprintf(x->wal, sizeof(x->wal), "%s-wal", x->db);
	/* the unix VFS takes a WAL file's mode from its database file */
	if ((fd = open(x->db, O_CREAT | O_RDWR, 0600)) < 0)
		return -1;
	close(fd);
	if ((name = sq_walbuf_vfs()) == NULL ||
	    (x->vfs = sqlite3_vfs_find(name)) == NULL)
		return -1;
	if ((x->f = calloc(1, (size_t)x->vfs->szOsFile)) == NULL)
		return -1;
	if (x->vfs->xOpen(x->vfs, x->wal, x->f,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL,
	        &out) != SQLITE_OK)
		return -1;
	if ((x->fd = open(x->wal, O_RDONLY)) < 0)
		return -1;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	x->f->pMethods->xClose(x->f);
	close(x->fd);
	free(x->f);
	unlink(x->wal);
	unlink(x->db);
	rmdir(x->dir);
	free(x);
	return 0;
}

/* frame_hdr - a frame header: page number, database size (0: not a
 * commit), and filler for the salts and checksums. */
static void
frame_hdr(unsigned char *h, uint32_t pgno, uint32_t dbsize)
{
	memset(h, 0x5a, HDR);
	h[0] = (unsigned char)(pgno >> 24);
	h[1] = (unsigned char)(pgno >> 16);
	h[2] = (unsigned char)(pgno >> 8);
	h[3] = (unsigned char)pgno;
	h[4] = (unsigned char)(dbsize >> 24);
	h[5] = (unsigned char)(dbsize >> 16);
	h[6] = (unsigned char)(dbsize >> 8);
	h[7] = (unsigned char)dbsize;
}

static int
wr(struct fx *x, const void *p, int n, sqlite3_int64 off)
{
	return x->f->pMethods->xWrite(x->f, p, n, off);
}

/* on_disk - whether the file holds want at off (read by our own fd). */
static int
on_disk(struct fx *x, const void *want, size_t n, off_t off)
{
	unsigned char got[PAGE + HDR];

	if (n > sizeof(got) || pread(x->fd, got, n, off) != (ssize_t)n)
		return 0;
	return memcmp(got, want, n) == 0;
}

/*
 * write_log - a log as wal.c writes one transaction into it: the WAL
 * header (filled with fill), frame 0 (page pg0, no commit) and commit
 * frame 1 (page pg1, database size 10); the headers go to h0 and h1.
 */
static void
write_log(struct fx *x, unsigned char fill, unsigned char *h0,
    const unsigned char *pg0, unsigned char *h1, const unsigned char *pg1)
{
	unsigned char walhdr[WALHDR];

	memset(walhdr, fill, sizeof(walhdr));
	assert_int_equal(wr(x, walhdr, WALHDR, 0), SQLITE_OK);
	frame_hdr(h0, 3, 0);
	assert_int_equal(wr(x, h0, HDR, FRAME(0)), SQLITE_OK);
	assert_int_equal(wr(x, pg0, PAGE, FRAME(0) + HDR), SQLITE_OK);
	frame_hdr(h1, 4, 10);
	assert_int_equal(wr(x, h1, HDR, FRAME(1)), SQLITE_OK);
	assert_int_equal(wr(x, pg1, PAGE, FRAME(1) + HDR), SQLITE_OK);
}

/* A commit frame whose page lands where the last read was: everything
 * of the transaction is on disk when the page write returns. */
static void
test_commit_page_at_last_read(void **state)
{
	struct fx *x = *state;
	unsigned char walhdr[WALHDR], h1[HDR], h2[HDR], p1[PAGE], p2[PAGE];
	unsigned char old[PAGE];

	memset(p1, 0xa1, sizeof(p1));
	memset(p2, 0xa2, sizeof(p2));
	memset(old, 0x77, sizeof(old));
	/* an older log, read at frame 1's page (as a page read does) */
	write_log(x, 0x11, h1, old, h2, old);
	assert_int_equal(x->f->pMethods->xRead(x->f, old, PAGE, FRAME(1) + HDR),
	    SQLITE_OK);

	/* the log restarted: a new header, frame 0, then the commit frame
	 * 1 whose page goes exactly where that read was */
	write_log(x, 0x22, h1, p1, h2, p2);

	/* committed: all of it is in the file, not in a buffer */
	memset(walhdr, 0x22, sizeof(walhdr));
	assert_true(on_disk(x, walhdr, WALHDR, 0));
	assert_true(on_disk(x, h1, HDR, FRAME(0)));
	assert_true(on_disk(x, p1, PAGE, FRAME(0) + HDR));
	assert_true(on_disk(x, h2, HDR, FRAME(1)));
	assert_true(on_disk(x, p2, PAGE, FRAME(1) + HDR));
}

/* walRewriteChecksums: a frame read whole, its header written again in
 * place; that header is on disk at once, and the page stays. */
static void
test_header_rewrite(void **state)
{
	struct fx *x = *state;
	unsigned char h0[HDR], h1[HDR], h2[HDR], pg[PAGE];
	unsigned char frame[HDR + PAGE];

	memset(pg, 0xb1, sizeof(pg));
	write_log(x, 0x33, h0, pg, h1, pg);
	assert_int_equal(
	    x->f->pMethods->xRead(x->f, frame, sizeof(frame), FRAME(1)),
	    SQLITE_OK);
	frame_hdr(h2, 4, 10);
	h2[20] = 0x01; /* a new checksum */
	assert_int_equal(wr(x, h2, HDR, FRAME(1)), SQLITE_OK);
	assert_true(on_disk(x, h2, HDR, FRAME(1)));
	assert_true(on_disk(x, pg, PAGE, FRAME(1) + HDR));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_page_at_last_read,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_rewrite, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
