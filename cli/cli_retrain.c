/*
 * cli_retrain.c - the alias pipes' retraining (--addspam,
 * --falsepositive, --class=X --source=error, --allow-sender,
 * --block-sender), done in one of two ways:
 *
 *   direct   root (and, with no retrain_socket configured, the users the
 *            trust rules allow) opens the store and runs
 *            cls_retrain_run() itself;
 *   socket   anyone else hands the request to the running milter over
 *            retrain_socket, as spamc hands mail to spamd: the milter
 *            authorises the peer by its uid (retrain_peers), runs the
 *            same cls_retrain_run() on its own store handles and
 *            answers with the exit code. So the MTA's identities
 *            (Postfix's default_privs, a Courier mailbox owner) need
 *            neither the store's files nor the database password.
 *
 * Exit codes: 0 done; 65 nothing to do with the message (no usable
 * signature and retrain_without_signature = refuse, no original
 * sender); 64 usage; 75 the store or the milter is away or busy (the
 * MTA retries the pipe); 77 the caller may not act for that user.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cls_retrain.h"
#include "conf.h"
#include "es_err.h"
#include "es_log.h"

/* The longest the pipe waits for the milter's answer; the MTA retries a
 * pipe that exits 75. */
#define RETRAIN_TIMEOUT_S 60

bool
cli_retrain_via_socket(const struct cli *c)
{
	return getuid() != 0 && *conf_str(c->cf, "retrain_socket") != '\0';
}

bool
cli_may_retrain_for(const struct cli *c, const char *user)
{
	struct passwd *pw = getpwuid(getuid());

	return conf_retrain_allowed(c->cf, getuid(), pw ? pw->pw_name : NULL,
	    user);
}

/* sig_ok - whether --signature, when given, is a signature id (says so
 * when not). */
static bool
sig_ok(const struct cli *c)
{
	if (c->signature == NULL ||
	    cls_sig_id_valid(c->signature, strlen(c->signature)))
		return true;
	fprintf(stderr, "edgespam: --signature=%s: not a signature id\n",
	    c->signature);
	return false;
}

/* exit_of - the exit code of an outcome. */
static int
exit_of(enum cls_retrain_outcome o)
{
	return o == CLS_RETRAIN_REFUSED ? EX_DATAERR : EX_OK;
}

/* fill - the request for user (a longer message is cut: the parser
 * would not read further). */
static void
fill(const struct cli *c, enum cls_retrain_op op, const char *user,
    const struct es_buf *msg, struct cls_retrain_req *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->op = op;
	strlcpy(rq->user, user, sizeof(rq->user));
	if (c->signature != NULL)
		strlcpy(rq->sig, c->signature, sizeof(rq->sig));
	rq->msg = msg->data != NULL ? msg->data : "";
	/* the parser reads no more than max_scan_bytes of it anyway */
	rq->len = msg->len < CLS_RETRAIN_MAX_MSG ? msg->len
	                                         : CLS_RETRAIN_MAX_MSG;
	rq->train_without_sig = conf_retrain_without_signature(c->cf);
}

int
cli_retrain_direct(struct cli *c, struct cls_engine *e,
    enum cls_retrain_op op, const char *user, const struct es_buf *msg,
    time_t now)
{
	struct cls_retrain_req rq;
	enum cls_retrain_outcome out;
	char text[1024];
	int rc;

	if (!sig_ok(c))
		return EX_USAGE;
	fill(c, op, user, msg, &rq);
	CLI_RETRY(c, rc, cls_retrain_run(e, c->st, &c->ecfg, &rq, now, &out,
			     text, sizeof(text)));
	if (rc != 0) {
		fprintf(stderr, "edgespam: user %s: %s\n", user, text);
		es_log_err("user %s: %s failed: %s", user,
		    cls_retrain_op_name(op), text);
		return cli_exit_code(rc);
	}
	if (out == CLS_RETRAIN_LISTED)
		printf("%s\n", text);
	else if (out != CLS_RETRAIN_CORRECTED)
		fprintf(stderr, "edgespam: %s\n", text);
	if (out == CLS_RETRAIN_REFUSED)
		es_log_warning("user %s: %s: %s", user, cls_retrain_op_name(op),
		    text);
	else
		es_log_info("user %s: %s", user, text);
	return exit_of(out);
}

int
cli_retrain_socket(struct cli *c, enum cls_retrain_op op, const char *user,
    const struct es_buf *msg)
{
	const char *path = conf_str(c->cf, "retrain_socket");
	struct sockaddr_un sun;
	struct timeval tv = {RETRAIN_TIMEOUT_S, 0};
	struct cls_retrain_req rq;
	char line[CLS_RETRAIN_LINE], *text;
	long code;
	int fd;

	if (!sig_ok(c))
		return EX_USAGE;
	fill(c, op, user, msg, &rq);
	if (cls_retrain_req_line(&rq, line, sizeof(line)) != 0) {
		fprintf(stderr, "edgespam: user %s: the request does not fit\n",
		    user);
		return EX_SOFTWARE;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		fprintf(stderr, "edgespam: retrain_socket %s: path too long\n",
		    path);
		return EX_CONFIG;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "edgespam: the milter's retrain socket %s: %s "
		                "(is edgespam-milter running?); try again later\n",
		    path, strerror(errno));
		es_log_warning("user %s: retrain socket %s: %s: deferred", user,
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_TEMPFAIL;
	}
	if (!cls_retrain_write_all(fd, line, strlen(line)) ||
	    !cls_retrain_write_all(fd, rq.msg, rq.len) ||
	    !cls_retrain_read_line(fd, line, sizeof(line))) {
		fprintf(stderr, "edgespam: the milter's retrain socket %s: no "
		                "answer (%s); try again later\n",
		    path, errno ? strerror(errno) : "closed");
		close(fd);
		return EX_TEMPFAIL;
	}
	close(fd);
	code = strtol(line, &text, 10);
	if (text == line || code < 0 || code > 255) {
		fprintf(stderr, "edgespam: the milter's retrain socket %s: a "
		                "reply that is no answer\n", path);
		return EX_PROTOCOL;
	}
	text += strspn(text, " ");
	if (code == EX_OK && op >= CLS_RETRAIN_ALLOW)
		printf("%s\n", text);
	else if (code != EX_OK || strstr(text, "corrected to") == NULL)
		fprintf(stderr, "edgespam: %s\n", text);
	return (int)code;
}
