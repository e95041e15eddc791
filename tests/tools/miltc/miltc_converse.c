/*
 * miltc_converse.c - conversation mode, for shell tests: one
 * connection, the message once or twice (-R), --stop-after with
 * --then close, abort or stall.
 */

#include "miltc.h"

static const char *const then_names[] = {"close", "abort", "stall"};

const char *const miltc_stage_names[STAGE_BODY + 1] = {
    "", "connect", "helo", "mail", "rcpt", "header", "eoh", "body"};

/* delivered - an MTA would deliver the last message */
static bool
delivered(const struct result *res)
{
	return res->r_eom && (res->r_verdict == SMFIR_ACCEPT ||
	                         res->r_verdict == SMFIR_CONTINUE);
}

/*
 * stall - send the start of one more BODY command (its length says 64
 * bytes, 16 follow) and then nothing, as an MTA whose link stops in the
 * middle of a body chunk; wait for the milter to close the connection
 * (RUN_CLOSED). Past the timeout, or on data, RUN_ERR.
 */
static int
stall(struct conn *c)
{
	char part[5 + 16], b;
	int64_t t0, deadline;
	ssize_t r;

	memset(part, 'x', sizeof(part));
	miltc_put32(part, 1 + 64);
	part[4] = SMFIC_BODY;
	if (miltc_wire_write(c, part, sizeof(part), "stall") != 0)
		return RUN_ERR;
	t0 = miltc_now_ms();
	deadline = t0 + c->c_tmo;
	for (;;) {
		r = recv(c->c_fd, &b, 1, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			miltc_say(c, "stall closed %.1f\n",
			    (double)(miltc_now_ms() - t0) / 1000.0);
			miltc_conn_close(c);
			return RUN_CLOSED;
		}
		if (r > 0)
			return miltc_conn_err(c, "stall: the milter sent data");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return miltc_conn_err(
			    c, "stall: read from milter: %s", strerror(errno));
		if (miltc_wait_fd(c, POLLIN, deadline,
		        "stall: the milter kept the connection") != 0)
			return RUN_ERR;
	}
}

/* after_stop - --then: close (RUN_CLOSED), stall until the milter
 * closes, or abort and go on */
static int
after_stop(struct conn *c, const struct cli *o, bool helo_sent)
{
	miltc_say(c, "stop %s %s\n", miltc_stage_names[o->o_stop],
	    then_names[o->o_then]);
	if (o->o_then == THEN_CLOSE) {
		miltc_conn_close(c);
		return RUN_CLOSED;
	}
	if (o->o_then == THEN_STALL)
		return stall(c);
	if (miltc_send_cmd(c, SMFIC_ABORT, "ABORT") != 0)
		return RUN_ERR;
	return helo_sent ? RUN_DONE : miltc_do_helo(c, &o->o_env);
}

/* converse - the whole session; res holds the last message */
static int
converse(struct conn *c, const struct cli *o, const struct msg *m,
    struct result *res)
{
	const struct env *e = &o->o_env;
	int r, left = o->o_repeat ? 2 : 1;
	bool helo_sent = false;

	if (miltc_conn_open(c, e) != 0)
		return RUN_ERR;
	r = miltc_stage_next(miltc_do_connect(c, e), o->o_stop, STAGE_CONNECT);
	if (r == RUN_DONE) {
		helo_sent = true;
		r = miltc_stage_next(
		    miltc_do_helo(c, e), o->o_stop, STAGE_HELO);
	}
	if (r == RUN_DONE &&
	    (r = miltc_msg_run(c, e, m, o->o_stop, res)) != RUN_STOPPED)
		left--;
	if (r == RUN_STOPPED)
		r = after_stop(c, o, helo_sent);
	while ((r == RUN_DONE || r == RUN_ENDED) && left-- > 0)
		r = miltc_msg_run(c, e, m, STAGE_NONE, res);
	if (r == RUN_ERR)
		return RUN_ERR;
	if (c->c_fd >= 0 && miltc_send_cmd(c, SMFIC_QUIT, "QUIT") != 0)
		return RUN_ERR;
	miltc_conn_close(c);
	return RUN_DONE;
}

int
miltc_run_conversation(const struct cli *o)
{
	struct result res;
	struct conn c;
	struct msg *m;
	char err[512];
	int rc = 0;

	if ((m = miltc_msg_load(o->o_msgfile, err, sizeof(err))) == NULL) {
		fprintf(stderr, "miltc: %s\n", err);
		return 1;
	}
	if (miltc_msg_hostile(m, o->o_big, o->o_many, o->o_nul) != 0) {
		fprintf(stderr,
		    "miltc: %s: out of memory for the added headers\n",
		    o->o_msgfile ? o->o_msgfile : "stdin");
		miltc_msg_free(m);
		return 1;
	}
	/* a stale file must not pass for this run's output */
	if (o->o_outfile != NULL && unlink(o->o_outfile) != 0 &&
	    errno != ENOENT) {
		fprintf(
		    stderr, "miltc: %s: %s\n", o->o_outfile, strerror(errno));
		miltc_msg_free(m);
		return 1;
	}
	memset(&res, 0, sizeof(res));
	res.r_keep = o->o_env.e_keep;
	es_buf_init(&res.r_body, MILTC_BODY_MAX);
	miltc_conn_init(&c, o->o_env.e_tmo, stdout);
	if (converse(&c, o, m, &res) != RUN_DONE) {
		fflush(stdout);
		fprintf(stderr, "miltc: %s: %s\n", o->o_env.e_sock, c.c_err);
		rc = 1;
	} else if (o->o_outfile != NULL && !delivered(&res)) {
		fprintf(stderr,
		    "miltc: %s not written: the message was not "
		    "delivered (%s)\n",
		    o->o_outfile,
		    res.r_eom ? miltc_verdict_name(res.r_verdict) : "no EOM");
	} else if (o->o_outfile != NULL &&
	           miltc_out_write(o->o_outfile, m, &res) != 0) {
		rc = 1;
	}
	miltc_conn_free(&c);
	miltc_result_free(&res);
	miltc_msg_free(m);
	return rc;
}
