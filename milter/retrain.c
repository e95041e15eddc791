/*
 * retrain.c - the milter's retrain socket: the alias pipes' corrections
 * and sender-list requests, from `edgespam` run as the MTA's identities
 * (Postfix's default_privs, a Courier mailbox owner), applied by the
 * milter, the store's one writer for mail-time traffic (DESIGN.md,
 * "Retraining"). The pipes need neither the store's files nor the
 * database password.
 *
 * A unix stream socket at retrain_socket, mode 0666: anyone local may
 * connect, and each request is authorised by the peer's uid as the
 * kernel reports it (SO_PEERCRED), never by anything the peer says.
 * uid U may act for user N when U is root, U's login name is N, U's
 * login is in trusted_users, or an entry of retrain_peers allows it:
 * "LOGIN" (any user) or "LOGIN:PATTERN" (users matching the fnmatch
 * PATTERN, in which "%l" stands for the login name), LOGIN "*" for any
 * login. The request format is in cls_retrain.h; the reply is one line
 * with the sysexits code the pipe exits with.
 *
 * Threads: one accepting thread; each connection gets its own detached
 * thread, at most RETRAIN_MAX_CONNS at once (more get "75 busy"). A
 * peer that stalls is dropped after RETRAIN_IO_TIMEOUT_S. The work
 * runs on a pool slot under the pool's write lock, with the runtime
 * current when the request arrived.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cls_retrain.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "milter.h"

#define RETRAIN_MAX_CONNS 16
/* a local peer that stops sending or reading holds a thread this long */
#define RETRAIN_IO_TIMEOUT_S 10

static int listen_fd = -1;
static pthread_t accept_thread;
static bool accept_running;
static atomic_uint nconns;

/* ---- one connection ---------------------------------------------------- */

/* send_reply - "CODE text\n" to the peer (best effort). */
static void
send_reply(int fd, int code, const char *text)
{
	char line[CLS_RETRAIN_LINE + 16];
	int n = snprintf(line, sizeof(line), "%d %s\n", code, text);

	if (n > 0)
		(void)cls_retrain_write_all(fd, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* read_msg - len bytes of message; the first keep of them into b. */
static bool
read_msg(int fd, size_t len, size_t keep, struct es_buf *b)
{
	char chunk[65536];

	while (len > 0) {
		ssize_t r = recv(fd, chunk, len < sizeof(chunk) ? len
		                                                 : sizeof(chunk),
		    0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (b->len < keep &&
		    es_buf_append(b, chunk, (size_t)r < keep - b->len
		                                ? (size_t)r
		                                : keep - b->len) != 0)
			return false;
		len -= (size_t)r;
	}
	return true;
}

/* exit_code - the pipe's exit code for an es_err code. */
static int
exit_code(int rc)
{
	switch (rc) {
	case 0: return EX_OK;
	case ES_ETRANSIENT: return EX_TEMPFAIL;
	case ES_EINVAL: return EX_USAGE;
	case ES_EPARSE: return EX_DATAERR;
	case ES_ENOMEM: return EX_TEMPFAIL;
	default: return EX_TEMPFAIL; /* the MTA keeps the mail and retries */
	}
}

/* run - the request on a pool slot under the write lock. */
static int
run(struct mlt_runtime *rt, const struct cls_retrain_req *rq,
    enum cls_retrain_outcome *out, char *text, size_t textlen)
{
	struct mlt_slot *s;
	struct timespec dl;
	int rc;

	mlt_deadline_in(rt->timeout_ms, &dl);
	if ((rc = mlt_pool_get(&dl, &s, text, textlen)) != 0)
		return rc;
	if ((rc = mlt_pool_lock_write(s, &dl, text, textlen)) != 0) {
		mlt_pool_put(s, false);
		return rc;
	}
	rc = cls_retrain_run(s->eng, s->wst, &rt->ecfg, rq, time(NULL), out,
	    text, textlen);
	mlt_pool_put(s, rc == ES_ESTORE);
	return rc;
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = {RETRAIN_IO_TIMEOUT_S, 0};
	struct mlt_runtime *rt = NULL;
	struct cls_retrain_req rq;
	enum cls_retrain_outcome out;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct passwd pw, *pwp = NULL;
	struct es_buf msg;
	char line[CLS_RETRAIN_LINE], pwbuf[4096], text[1024], who[96];
	size_t len;
	int rc, code;

	es_buf_init(&msg, CLS_RETRAIN_MAX_MSG);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
		es_log_err("retrain: no peer credentials: %s", strerror(errno));
		send_reply(fd, EX_SOFTWARE, "no peer credentials");
		goto done;
	}
	(void)getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	snprintf(who, sizeof(who), "uid %u (%s)", (unsigned)cred.uid,
	    pwp != NULL ? pwp->pw_name : "no login");
	if (!cls_retrain_read_line(fd, line, sizeof(line))) {
		es_log_warning("retrain: %s: no request line", who);
		send_reply(fd, EX_PROTOCOL, "no request line");
		goto done;
	}
	if (cls_retrain_req_parse(line, &rq, &len) != 0) {
		es_log_warning("retrain: %s: malformed request", who);
		send_reply(fd, EX_USAGE, "malformed request");
		goto done;
	}
	if ((rt = mlt_runtime_get()) == NULL) {
		send_reply(fd, EX_TEMPFAIL, "no configuration loaded");
		goto done;
	}
	if (!conf_retrain_allowed(rt->cf, cred.uid,
		pwp != NULL ? pwp->pw_name : NULL, rq.user)) {
		es_log_notice("retrain: %s may not act for %s (%s refused; see "
		              "retrain_peers)", who, rq.user,
		    cls_retrain_op_name(rq.op));
		send_reply(fd, EX_NOPERM, "not allowed to act for this user "
		                          "(retrain_peers)");
		goto done;
	}
	if (!read_msg(fd, len, rt->max_scan, &msg)) {
		es_log_warning("retrain: %s: the message did not arrive whole",
		    who);
		send_reply(fd, EX_TEMPFAIL, "the message did not arrive whole");
		goto done;
	}
	rq.msg = msg.data != NULL ? msg.data : "";
	rq.len = msg.len;
	rq.train_without_sig = conf_retrain_without_signature(rt->cf);
	rc = run(rt, &rq, &out, text, sizeof(text));
	code = rc != 0 ? exit_code(rc)
	    : out == CLS_RETRAIN_REFUSED ? EX_DATAERR
	                                 : EX_OK;
	if (rc != 0)
		es_log_err("retrain: %s for %s: %s: %s", who, rq.user,
		    cls_retrain_op_name(rq.op), text);
	else
		es_log_info("retrain: %s for %s: %s: %s", who, rq.user,
		    cls_retrain_op_name(rq.op), text);
	send_reply(fd, code, text);
done:
	mlt_runtime_put(rt);
	es_buf_release(&msg);
	close(fd);
	atomic_fetch_sub(&nconns, 1);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_attr_t attr;
		pthread_t t;
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					sleep(1);
				continue;
			}
			return NULL; /* the socket was shut down */
		}
		if (atomic_fetch_add(&nconns, 1) >= RETRAIN_MAX_CONNS) {
			atomic_fetch_sub(&nconns, 1);
			send_reply(fd, EX_TEMPFAIL, "busy, try again later");
			close(fd);
			continue;
		}
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_main, (void *)(intptr_t)fd) !=
		    0) {
			atomic_fetch_sub(&nconns, 1);
			send_reply(fd, EX_TEMPFAIL, "busy, try again later");
			close(fd);
		}
		pthread_attr_destroy(&attr);
	}
}

/* ---- start and stop ---------------------------------------------------- */

int
mlt_retrain_start(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int rc;

	if (path == NULL || *path == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (*path != '/' ||
	    strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	        sizeof(sun.sun_path)) {
		snprintf(err, errlen, "retrain_socket %s: not an absolute path "
		    "that fits a socket address", path);
		return -1;
	}
	/* only a socket left from an earlier run is replaced */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "retrain_socket %s: exists and is "
			    "no socket; not replaced", path);
			return -1;
		}
		(void)unlink(path);
	}
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "retrain_socket: %s", strerror(errno));
		return -1;
	}
	/* every local user may connect; the peer's uid decides the rest */
	old = umask(0111);
	rc = bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || listen(listen_fd, 64) != 0) {
		snprintf(err, errlen, "retrain_socket %s: %s", path,
		    strerror(errno));
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	if (pthread_create(&accept_thread, NULL, accept_main, NULL) != 0) {
		snprintf(err, errlen, "retrain_socket: no thread");
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	accept_running = true;
	return 0;
}

void
mlt_retrain_stop(const char *path)
{
	unsigned waited = 0;

	if (!accept_running)
		return;
	(void)shutdown(listen_fd, SHUT_RDWR);
	pthread_join(accept_thread, NULL);
	close(listen_fd);
	listen_fd = -1;
	accept_running = false;
	if (path != NULL && *path != '\0')
		(void)unlink(path);
	/* requests in flight finish before the store goes */
	while (atomic_load(&nconns) > 0 && waited < 20000) {
		struct timespec ts = {0, 50 * 1000000L};

		nanosleep(&ts, NULL);
		waited += 50;
	}
}
