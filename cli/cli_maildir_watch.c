/*
 * cli_maildir_watch.c - inotify watches for "maildir-retrain --watch"
 * (see cli_maildir_watch.h).
 *
 * A Maildir is watched through its open descriptor (/proc/self/fd/N),
 * so no path a user could swap is looked up again; cur/ and new/ are
 * added without following a link. What counts as a change: a file
 * created in, moved into, moved out of or deleted from cur/ or new/, and
 * a directory made or moved into the root (a new folder). Other files
 * of the root (an IMAP server's UID list, edgespam's own state file)
 * change all the time and are ignored. Events only ever cause a pass,
 * which reads what it reads anyway, so a watch in the wrong place costs
 * a pass and nothing else. Watches of removed folders go by themselves;
 * one set serves the whole process, and adding a directory twice updates
 * its watch.
 */
#include "cli_maildir_watch.h"

#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "es_alloc.h"

struct md_watch {
	int fd;
};

/* The masks: cur/ and new/, and the root (folders only). */
#define MD_WATCH_DIR (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)
#define MD_WATCH_ROOT (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

struct md_watch *
md_watch_new(void)
{
	struct md_watch *w;

	if ((w = es_calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		es_free(w);
		return NULL;
	}
	return w;
}

void
md_watch_free(struct md_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	es_free(w);
}

size_t
md_watch_add(struct md_watch *w, int root, const struct md_state *st)
{
	char p[PATH_MAX];
	size_t i, failed = 0;
	int s;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", root);
	if (inotify_add_watch(w->fd, p, MD_WATCH_ROOT) < 0)
		failed++;
	for (i = 0; i < st->nfolders; i++)
		for (s = 0; s < 2; s++) {
			const char *f = st->folders[i].name;

			if ((size_t)snprintf(p, sizeof(p), "/proc/self/fd/%d/%s%s%s",
			        root, f, f[0] ? "/" : "", s ? "new" : "cur") >=
			        sizeof(p) ||
			    inotify_add_watch(w->fd, p, MD_WATCH_DIR | IN_ONLYDIR |
				IN_DONT_FOLLOW) < 0)
				failed++;
		}
	return failed;
}

/* drain - read every pending event; whether one of them is a change. */
static int
drain(struct md_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool change = false;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -1;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				change = true; /* lost events: look anyway */
				continue;
			}
			if (ev->len == 0 || ev->name[0] == '\0')
				continue;
			/* in the root only folders count (IN_ISDIR); in cur/
			 * and new/ every message file (not dot-files) */
			if ((ev->mask & IN_ISDIR) ? ev->name[0] == '.'
			                          : ev->name[0] != '.' &&
			            strncmp(ev->name, "edgespam-retrain", 16) != 0)
				change = true;
		}
	}
	return change;
}

int
md_watch_wait(struct md_watch *w, int period_s)
{
	struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
	time_t start = time(NULL), first = 0;
	int rc, left;

	for (;;) {
		if (first != 0) {
			/* a change seen: wait for a quiet second, at most ten */
			if (time(NULL) - first >= 10)
				return 1;
			left = 1000;
		} else {
			left = (int)(period_s - (time(NULL) - start));
			if (left <= 0)
				return 0;
			left *= 1000;
		}
		rc = poll(&pfd, 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (first != 0)
				return 1;
			continue;
		}
		if ((rc = drain(w)) < 0)
			return -1;
		if (rc == 1 && first == 0)
			first = time(NULL);
	}
}
