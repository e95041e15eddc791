/*
 * test_privfile.c - milter/privfile.c, the milter's file work as root,
 * run as whoever runs the suite (fchown only to -1:-1, "keep"): path
 * splitting, the directory walk (a link in a directory others can
 * write is refused, a missing last directory made with its mode), the
 * pid file (a link or a hard link in its place removed, not followed;
 * a second open of a locked file busy; removed at the close), the
 * socket's name (a link removed, a file refused). tests/sh/
 * test_privileged.sh runs the same paths as root against a real user.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
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

#include "es_err.h"
#include "privfile.h"

static char top[PATH_MAX / 2];

static int
setup(void **state)
{
	snprintf(top, sizeof(top), "%s/privfile.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return -1;
	return chmod(top, 0755);
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* at - top/name */
static const char *
at(const char *name)
{
	static char buf[4][PATH_MAX];
	static unsigned n;
	char *b = buf[n++ % 4];

	if ((size_t)snprintf(b, PATH_MAX, "%s/%s", top, name) >= PATH_MAX)
		fail_msg("%s/%s: too long", top, name);
	return b;
}

static void
test_split(void **state)
{
	static const struct {
		const char *path, *dir, *name;
		int rc;
	} c[] = {
	    {"/run/edgespam/m.pid", "/run/edgespam", "m.pid", 0},
	    {"/m.pid", "/", "m.pid", 0},
	    {"//x", "/", "x", 0},
	    {"relative/m.pid", NULL, NULL, ES_EINVAL},
	    {"/run/edgespam/", NULL, NULL, ES_EINVAL},
	    {"/run/.", NULL, NULL, ES_EINVAL},
	    {"/run/..", NULL, NULL, ES_EINVAL},
	    {"/", NULL, NULL, ES_EINVAL},
	};
	char dir[PATH_MAX], err[256];
	const char *name;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		rc = privfile_split(c[i].path, dir, sizeof(dir), &name, err,
		    sizeof(err));
		if (rc != c[i].rc)
			fail_msg("case %s: got %d, want %d", c[i].path, rc,
			    c[i].rc);
		if (rc == 0 && (strcmp(dir, c[i].dir) != 0 ||
		                   strcmp(name, c[i].name) != 0))
			fail_msg("case %s: got %s + %s, want %s + %s",
			    c[i].path, dir, name, c[i].dir, c[i].name);
	}
}

static void
test_dir(void **state)
{
	char err[PATH_MAX + 256], path[PATH_MAX];
	struct stat sb;
	int fd, rc;

	/* made with its exact mode; an existing one is left as it is */
	rc = privfile_dir(at("made"), 0700, (uid_t)-1, (gid_t)-1, &fd, err,
	    sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	close(fd);
	assert_int_equal(chmod(at("made"), 0750), 0);
	assert_int_equal(privfile_dir(at("made"), 0700, (uid_t)-1, (gid_t)-1,
	                     &fd, err, sizeof(err)),
	    0);
	close(fd);
	assert_int_equal(stat(at("made"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	/* not made without a mode; a missing parent is not made */
	assert_int_not_equal(privfile_dir(at("none"), 0, (uid_t)-1, (gid_t)-1,
	                         &fd, err, sizeof(err)),
	    0);
	assert_int_not_equal(privfile_dir(at("none/sub"), 0700, (uid_t)-1,
	                         (gid_t)-1, &fd, err, sizeof(err)),
	    0);
	/* a link in a directory anyone may write: refused, named */
	assert_int_equal(mkdir(at("open"), 0700), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);
	assert_int_equal(symlink(at("made"), at("open/link")), 0);
	rc = privfile_dir(at("open/link"), 0700, (uid_t)-1, (gid_t)-1, &fd,
	    err, sizeof(err));
	assert_int_equal(rc, ES_EPERM);
	if (strstr(err, "\"link\" is a symbolic link") == NULL)
		fail_msg("refusal does not name the link: %s", err);
	/* a link further up the path: refused as well */
	snprintf(path, sizeof(path), "%s/x", at("open/link"));
	assert_int_equal(privfile_dir(path, 0700, (uid_t)-1, (gid_t)-1, &fd,
	                     err, sizeof(err)),
	    ES_EPERM);
	assert_int_not_equal(access(at("made/x"), F_OK), 0);
	/* a link in a directory only root (or the running user, when not
	 * root) can change: followed */
	assert_int_equal(symlink(at("made"), at("mylink")), 0);
	assert_int_equal(privfile_dir(at("mylink"), 0, (uid_t)-1, (gid_t)-1,
	                     &fd, err, sizeof(err)),
	    0);
	close(fd);
}

static void
test_pid(void **state)
{
	struct privfile_pid *pf, *pf2;
	char err[PATH_MAX + 256], note[PATH_MAX + 256], buf[32], pid[PATH_MAX];
	struct stat sb;
	long other;
	int fd;

	snprintf(pid, sizeof(pid), "%s", at("run/m.pid")); /* at() reuses */

	/* the directory is made; a link in the file's place is removed,
	 * its target stays as it was */
	assert_int_equal(mkdir(at("run"), 0755), 0);
	fd = open(at("target"), O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep\n", 5), 5);
	close(fd);
	assert_int_equal(symlink(at("target"), pid), 0);
	assert_int_equal(privfile_pid_open(pid, (uid_t)-1, (gid_t)-1, &pf,
	                     &other, note, sizeof(note), err, sizeof(err)),
	    0);
	if (strstr(note, "was a symbolic link: removed") == NULL)
		fail_msg("note: %s", note);
	assert_int_equal(privfile_pid_write(pf, err, sizeof(err)), 0);
	assert_int_equal(lstat(pid, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	fd = open(pid, O_RDONLY);
	assert_true(fd >= 0);
	memset(buf, 0, sizeof(buf));
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
	/* locked: a second open is busy and names the pid */
	assert_int_equal(privfile_pid_open(pid, (uid_t)-1, (gid_t)-1, &pf2,
	                     &other, note, sizeof(note), err, sizeof(err)),
	    ES_EBUSY);
	assert_int_equal(other, (long)getpid());
	/* removed at the close */
	privfile_pid_close(pf, note, sizeof(note));
	assert_string_equal(note, "");
	assert_int_not_equal(access(pid, F_OK), 0);
	/* a hard link in its place: removed, the other name untouched */
	assert_int_equal(link(at("target"), pid), 0);
	assert_int_equal(privfile_pid_open(pid, (uid_t)-1, (gid_t)-1, &pf,
	                     &other, note, sizeof(note), err, sizeof(err)),
	    0);
	if (strstr(note, "was a hard link to another file") == NULL)
		fail_msg("note: %s", note);
	assert_int_equal(privfile_pid_write(pf, err, sizeof(err)), 0);
	privfile_pid_close(pf, note, sizeof(note));
	assert_int_equal(stat(at("target"), &sb), 0);
	assert_int_equal(sb.st_size, 5);
	assert_int_equal(sb.st_nlink, 1);
	privfile_pid_close(NULL, note, sizeof(note));
}

static void
test_socket(void **state)
{
	char err[PATH_MAX + 256], note[PATH_MAX + 256], sock[PATH_MAX];
	int dfd;

	snprintf(sock, sizeof(sock), "%s", at("s/m.sock")); /* at() reuses */

	assert_int_equal(mkdir(at("s"), 0755), 0);
	dfd = open(at("s"), O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	/* nothing there */
	assert_int_equal(privfile_socket_clear(dfd, sock, note, sizeof(note),
	                     err, sizeof(err)),
	    0);
	assert_string_equal(note, "");
	/* a link: removed */
	assert_int_equal(symlink("/etc/hostname", sock), 0);
	assert_int_equal(privfile_socket_clear(dfd, sock, note, sizeof(note),
	                     err, sizeof(err)),
	    0);
	assert_non_null(strstr(note, "was a symbolic link: removed"));
	assert_int_not_equal(access(sock, F_OK), 0);
	/* a regular file: refused, left */
	close(open(sock, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(privfile_socket_clear(dfd, sock, note, sizeof(note),
	                     err, sizeof(err)),
	    ES_EPERM);
	assert_int_equal(access(sock, F_OK), 0);
	/* and it is no socket of ours to give away */
	assert_int_equal(privfile_socket_own(dfd, sock, 0600, (uid_t)-1,
	                     (gid_t)-1, err, sizeof(err)),
	    ES_EPERM);
	close(dfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
