/*
 * test_sqlite_reopen.c - the sqlite driver when its database file is
 * deleted or replaced under an open handle (storage/store_sqlite.c,
 * storage/sqlite_file.c): the handle must notice it before its next
 * transaction and move to the file now at the path, so that what it
 * writes lands where every other handle (a new one, another process)
 * reads, and what it reads is the replacement's.
 *
 * One table of cases: an event (all three files deleted; the database
 * deleted and its -wal and -shm left behind; another database renamed
 * over the path) and the operation that must notice it (a write, a read
 * transaction, store_refresh, store_maintain). Each case writes data
 * into handle A's file, keeps it in A's log (no checkpoint), makes the
 * event, runs the operation and a write on A, then opens handle B on the
 * path and reads everything back. Then the cases that are not a table:
 * two handles of one process moving to one new file (and no descriptor
 * left on the deleted one), no move inside a transaction, a replacement
 * that is not a database, no move when nothing changed, and the memory
 * driver, which has no file.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

#include "es_err.h"
#include "store.h"

#define BUSY_MS 200

struct fx {
	char dir[512];
	char path[600];
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	const char *tmp = getenv("TMPDIR");

	if (x == NULL)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "%s/es-reopen.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(x->dir) == NULL)
		return -1;
	snprintf(x->path, sizeof(x->path), "%s/store.db", x->dir);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;
	struct dirent *e;
	char p[1200];
	DIR *d;

	if ((d = opendir(x->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", x->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(x->dir);
	free(x);
	return 0;
}

/* sopen - a handle on path (own_maintenance: no automatic checkpoint,
 * so what A writes stays in its -wal, as in the milter). */
static struct store *
sopen(const char *path)
{
	struct store_params p = {.driver = "sqlite",
	    .path = path,
	    .busy_timeout_ms = BUSY_MS,
	    .own_maintenance = true};
	struct store *st = NULL;
	char err[512] = "";

	if (store_open(&p, &st, err, sizeof(err)) != 0)
		fail_msg("store_open %s: %s", path, err);
	return st;
}

/* put - set uid 0's preference key to val, or fail naming the case. */
static void
put(const char *name, struct store *st, const char *key, const char *val)
{
	int rc = store_pref_set(st, 0, key, val);

	if (rc != 0)
		fail_msg("case %s: write %s: %d %s", name, key, rc,
		    store_errmsg(st));
}

/* want - uid 0's preference key is val (NULL: is not set). */
static void
want(const char *name, const char *who, struct store *st, const char *key,
    const char *val)
{
	char got[64] = "";
	int rc = store_pref_get(st, 0, key, got, sizeof(got));

	if (val == NULL && rc == ES_ENOTFOUND)
		return;
	if (val != NULL && rc == 0 && strcmp(got, val) == 0)
		return;
	fail_msg("case %s: %s reads %s: got %s (rc %d %s), want %s", name, who,
	    key, rc == 0 ? got : "nothing", rc, store_errmsg(st),
	    val != NULL ? val : "nothing");
}

/* companion - path + sfx into buf. */
static const char *
companion(const char *path, const char *sfx, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", path, sfx);
	return buf;
}

/* make_db - a separate database at path holding k = val (closed again,
 * so it has no -wal of its own: a backup as `mv` restores it). */
static void
make_db(const char *path, const char *val)
{
	struct store *st = sopen(path);

	put("make_db", st, "k", val);
	store_close(st);
}

/* integrity - PRAGMA integrity_check of path says ok. */
static void
integrity(const char *name, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	const unsigned char *t;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL),
	    SQLITE_OK);
	if (sqlite3_step(q) != SQLITE_ROW ||
	    (t = sqlite3_column_text(q, 0)) == NULL ||
	    strcmp((const char *)t, "ok") != 0)
		fail_msg("case %s: integrity of %s: %s", name, path,
		    sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* deleted_fds - how many descriptors of this process name a deleted file
 * under dir. */
static int
deleted_fds(const char *dir)
{
	char link[320], target[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	ssize_t len;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(link, target, sizeof(target) - 1)) < 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, dir, strlen(dir)) == 0 &&
		    strstr(target, "(deleted)") != NULL)
			n++;
	}
	closedir(d);
	return n;
}

enum event {
	EV_DELETE_ALL, /* rm db db-wal db-shm */
	EV_DELETE_DB,  /* rm db: the old -wal and -shm stay at the path */
	EV_RENAME      /* mv other.db db: the old -wal and -shm stay */
};

enum probe {
	PR_WRITE,   /* a write (a transaction of its own) */
	PR_READ_TX, /* a read transaction */
	PR_REFRESH, /* store_refresh */
	PR_MAINTAIN /* store_maintain, as the milter's housekeeping */
};

static const struct rcase {
	const char *name;
	enum event ev;
	enum probe pr;
} rcases[] = {
    {"deleted, noticed by a write", EV_DELETE_ALL, PR_WRITE},
    {"deleted, noticed by a read transaction", EV_DELETE_ALL, PR_READ_TX},
    {"deleted, noticed by store_refresh", EV_DELETE_ALL, PR_REFRESH},
    {"deleted, noticed by store_maintain", EV_DELETE_ALL, PR_MAINTAIN},
    {"database alone deleted, noticed by a write", EV_DELETE_DB, PR_WRITE},
    {"database alone deleted, noticed by store_refresh", EV_DELETE_DB,
        PR_REFRESH},
    {"replaced, noticed by a write", EV_RENAME, PR_WRITE},
    {"replaced, noticed by a read transaction", EV_RENAME, PR_READ_TX},
    {"replaced, noticed by store_refresh", EV_RENAME, PR_REFRESH},
    {"replaced, noticed by store_maintain", EV_RENAME, PR_MAINTAIN},
};

static void
run_case(const struct fx *x, const struct rcase *c)
{
	const char *base = c->ev == EV_RENAME ? "replacement" : NULL;
	char other[700], wal[700], shm[700];
	struct store *a, *b;
	struct store_reopen r;
	struct store_file fb;
	struct stat sb;
	uint32_t uid;
	int rc = 0;

	companion(x->path, "-wal", wal, sizeof(wal));
	companion(x->path, "-shm", shm, sizeof(shm));
	a = sopen(x->path);
	put(c->name, a, "k", "before");
	assert_int_equal(store_user_uid(a, "old", true, &uid), 0);
	assert_int_equal(access(wal, F_OK), 0);

	switch (c->ev) {
	case EV_DELETE_ALL:
		assert_int_equal(unlink(wal), 0);
		assert_int_equal(unlink(shm), 0);
		/* FALLTHROUGH */
	case EV_DELETE_DB:
		assert_int_equal(unlink(x->path), 0);
		break;
	case EV_RENAME:
		companion(x->path, ".backup", other, sizeof(other));
		make_db(other, "replacement");
		assert_int_equal(rename(other, x->path), 0);
		break;
	}

	switch (c->pr) {
	case PR_WRITE:
		put(c->name, a, "w", "after");
		break;
	case PR_READ_TX:
		if ((rc = store_begin(a, false)) != 0)
			fail_msg("case %s: begin: %d %s", c->name, rc,
			    store_errmsg(a));
		want(c->name, "A in a read transaction", a, "k", base);
		assert_int_equal(store_commit(a), 0);
		break;
	case PR_REFRESH:
		rc = store_refresh(a);
		break;
	case PR_MAINTAIN:
		rc = store_maintain(a, false);
		break;
	}
	if (rc != 0)
		fail_msg("case %s: got %d (%s), want 0", c->name, rc,
		    store_errmsg(a));
	put(c->name, a, "w", "after");

	b = sopen(x->path);
	want(c->name, "a new handle", b, "w", "after");
	want(c->name, "a new handle", b, "k", base);
	want(c->name, "A", a, "k", base);
	if (store_user_uid(b, "old", false, &uid) != ES_ENOTFOUND)
		fail_msg(
		    "case %s: the new file has the old file's user", c->name);

	if (!store_reopened(a, &r))
		fail_msg("case %s: no reopen reported", c->name);
	store_file_id(b, &fb);
	if (r.created != (c->ev != EV_RENAME) || fb.ino == 0 ||
	    r.now.dev != fb.dev || r.now.ino != fb.ino ||
	    (r.was.dev == r.now.dev && r.was.ino == r.now.ino) ||
	    strstr(r.msg, x->path) == NULL)
		fail_msg("case %s: got created=%d now=%ju was=%ju \"%s\", want "
		         "created=%d now=%ju (the new handle's file)",
		    c->name, r.created, (uintmax_t)r.now.ino,
		    (uintmax_t)r.was.ino, r.msg, c->ev != EV_RENAME,
		    (uintmax_t)fb.ino);
	if (store_reopened(a, &r))
		fail_msg("case %s: one reopen reported twice", c->name);
	if (c->ev != EV_RENAME &&
	    (stat(x->path, &sb) != 0 || (sb.st_mode & 0777) != 0600))
		fail_msg("case %s: mode of the new file: got %o, want 600",
		    c->name, (unsigned)(sb.st_mode & 0777));
	store_close(b);
	store_close(a);
	integrity(c->name, x->path);
	/* the next case starts from nothing */
	unlink(x->path);
	unlink(wal);
	unlink(shm);
}

static void
test_reopen_cases(void **state)
{
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++)
		run_case(*state, &rcases[i]);
}

/* Two handles of one process: the first to notice creates the file, the
 * second moves to that same file, and no descriptor stays on the old. */
static void
test_two_handles(void **state)
{
	struct fx *x = *state;
	struct store *a1 = sopen(x->path), *a2 = sopen(x->path);
	struct store_reopen r1, r2;
	char wal[700], shm[700];

	put("two", a1, "k", "before");
	want("two", "a2", a2, "k", "before");
	assert_int_equal(deleted_fds(x->dir), 0);
	assert_int_equal(unlink(x->path), 0);
	assert_int_equal(
	    unlink(companion(x->path, "-wal", wal, sizeof(wal))), 0);
	assert_int_equal(
	    unlink(companion(x->path, "-shm", shm, sizeof(shm))), 0);
	if (deleted_fds(x->dir) == 0)
		fail_msg("no descriptor on the deleted files: the test cannot "
		         "tell");
	put("two", a1, "w", "one");
	assert_int_equal(store_refresh(a2), 0);
	assert_true(store_reopened(a1, &r1));
	assert_true(store_reopened(a2, &r2));
	if (!r1.created || !r2.created || r1.now.ino != r2.now.ino ||
	    r1.now.dev != r2.now.dev)
		fail_msg("got created %d/%d, files %ju/%ju; want both to "
		         "report the deletion and the one file both use",
		    r1.created, r2.created, (uintmax_t)r1.now.ino,
		    (uintmax_t)r2.now.ino);
	want("two", "a2", a2, "w", "one");
	put("two", a2, "w", "two");
	want("two", "a1", a1, "w", "two");
	want("two", "a1", a1, "k", NULL);
	if (deleted_fds(x->dir) != 0)
		fail_msg("%d descriptors still on deleted files",
		    deleted_fds(x->dir));
	store_close(a1);
	store_close(a2);
}

/* A transaction runs to its end in the file it began in; the move comes
 * before the next one. */
static void
test_not_inside_transaction(void **state)
{
	struct fx *x = *state;
	struct store *a = sopen(x->path), *b;
	struct store_reopen r;
	char wal[700], shm[700];

	put("tx", a, "k", "before");
	assert_int_equal(store_begin(a, true), 0);
	assert_int_equal(unlink(x->path), 0);
	unlink(companion(x->path, "-wal", wal, sizeof(wal)));
	unlink(companion(x->path, "-shm", shm, sizeof(shm)));
	put("tx", a, "in", "old file");
	want("tx", "A inside its transaction", a, "k", "before");
	assert_int_equal(store_refresh(a), ES_EINVAL);
	assert_int_equal(store_maintain(a, false), ES_EINVAL);
	assert_false(store_reopened(a, &r));
	assert_int_equal(store_commit(a), 0);
	assert_false(store_reopened(a, &r));
	put("tx", a, "w", "after");
	assert_true(store_reopened(a, &r));
	b = sopen(x->path);
	want("tx", "a new handle", b, "w", "after");
	want("tx", "a new handle", b, "in", NULL);
	store_close(b);
	store_close(a);
}

/* A file that is not a database renamed over the path: operations fail
 * naming the path, and work again once a database is there. */
static void
test_bad_replacement(void **state)
{
	struct fx *x = *state;
	struct store *a = sopen(x->path);
	struct store_reopen r;
	char other[700];
	FILE *fp;
	int rc;

	put("bad", a, "k", "before");
	companion(x->path, ".junk", other, sizeof(other));
	assert_non_null(fp = fopen(other, "w"));
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database at all\n", fp);
	fclose(fp);
	assert_int_equal(rename(other, x->path), 0);
	rc = store_pref_set(a, 0, "w", "lost");
	if (rc != ES_ESTORE || strstr(store_errmsg(a), x->path) == NULL)
		fail_msg("write over junk: got %d \"%s\", want %d naming %s",
		    rc, store_errmsg(a), ES_ESTORE, x->path);
	assert_false(store_reopened(a, &r));
	assert_int_equal(store_refresh(a), ES_ESTORE);
	companion(x->path, ".backup", other, sizeof(other));
	make_db(other, "restored");
	assert_int_equal(rename(other, x->path), 0);
	put("bad", a, "w", "after");
	want("bad", "A", a, "k", "restored");
	assert_true(store_reopened(a, &r));
	assert_false(r.created);
	store_close(a);
}

/* Nothing changed: no move, ever, and the identity stays. */
static void
test_unchanged(void **state)
{
	struct fx *x = *state;
	struct store *a = sopen(x->path), *b = sopen(x->path);
	struct store_reopen r;
	struct store_file f1, f2, fb;

	store_file_id(a, &f1);
	store_file_id(b, &fb);
	assert_true(f1.ino != 0);
	assert_true(f1.ino == fb.ino && f1.dev == fb.dev);
	for (int i = 0; i < 50; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		put("unchanged", a, "k", v);
		assert_int_equal(store_refresh(a), 0);
		assert_int_equal(store_maintain(a, true), 0);
		want("unchanged", "b", b, "k", v);
	}
	assert_false(store_reopened(a, &r));
	assert_false(store_reopened(b, &r));
	store_file_id(a, &f2);
	assert_true(f1.ino == f2.ino && f1.dev == f2.dev);
	store_close(b);
	store_close(a);
}

/* The memory driver has no file: nothing to check, nothing reported. */
static void
test_memory_driver(void **state)
{
	struct store_params p = {.driver = "memory"};
	struct store *st = NULL;
	struct store_reopen r;
	struct store_file f = {1, 1};
	char err[128];

	(void)state;
	assert_int_equal(store_open(&p, &st, err, sizeof(err)), 0);
	assert_int_equal(store_refresh(st), 0);
	assert_false(store_reopened(st, &r));
	store_file_id(st, &f);
	assert_true(f.dev == 0 && f.ino == 0);
	assert_int_equal(store_refresh(NULL), ES_EINVAL);
	assert_false(store_reopened(NULL, &r));
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reopen_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_not_inside_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_bad_replacement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unchanged, setup, teardown),
	    cmocka_unit_test(test_memory_driver),
	};

	return cmocka_run_group_tests_name("sqlite reopen", tests, NULL, NULL);
}
