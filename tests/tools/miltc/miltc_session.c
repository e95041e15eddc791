/*
 * miltc_session.c - the SMTP session as milter commands: connect,
 * HELO, then one message (MAIL, RCPT, DATA, headers, EOH, body chunks,
 * end of body), stopping after a chosen stage.
 */

#include "miltc.h"

/* miltc_conn_open - connect and negotiate */
int
miltc_conn_open(struct conn *c, const struct env *e)
{
	if (miltc_sock_connect(c, e->e_sock) != 0)
		return -1;
	if (miltc_optneg(c, e->e_proto) != 0) {
		miltc_conn_close(c);
		return -1;
	}
	return 0;
}

int
miltc_do_connect(struct conn *c, const struct env *e)
{
	char under[1024];
	unsigned char port[2] = {(unsigned char)(e->e_cport >> 8),
	    (unsigned char)(e->e_cport & 0xff)};
	struct macro mv[] = {{"j", "mx.test"}, {"_", under},
	    {"{daemon_name}", "miltc"}, {"{client_addr}", e->e_caddr},
	    {"{client_name}", e->e_cname}};
	int v;

	if ((c->c_proto & SMFIP_NOCONNECT) != 0) {
		miltc_say(c, "connect skipped\n");
		return RUN_DONE;
	}
	if ((size_t)snprintf(under, sizeof(under), "%s [%s]", e->e_cname,
	        e->e_caddr) >= sizeof(under))
		return miltc_conn_err(
		    c, "CONNECT: client name and address too long");
	if (miltc_send_macros(c, SMFIC_CONNECT, SYM_CONNECT, mv,
	        sizeof(mv) / sizeof(mv[0])) != 0)
		return RUN_ERR;
	miltc_pkt_begin(c, SMFIC_CONNECT);
	miltc_pkt_str(c, e->e_cname);
	if (strcmp(e->e_caddr, "unknown") == 0) {
		miltc_pkt_put(c, "U", 1); /* SMFIA_UNKNOWN: nothing follows */
	} else {
		miltc_pkt_put(
		    c, strchr(e->e_caddr, ':') != NULL ? "6" : "4", 1);
		miltc_pkt_put(c, (const char *)port, sizeof(port));
		miltc_pkt_str(c, e->e_caddr);
	}
	if ((v = miltc_step(c, "CONNECT", SMFIP_NR_CONN)) < 0)
		return RUN_ERR;
	miltc_say(c, "connect ");
	miltc_say_verdict(c, v);
	miltc_say(c, "\n");
	return v == SMFIR_CONTINUE || v == R_NOREPLY ? RUN_DONE : RUN_CLOSED;
}

int
miltc_do_helo(struct conn *c, const struct env *e)
{
	int v;

	if ((c->c_proto & SMFIP_NOHELO) != 0)
		return RUN_DONE;
	miltc_pkt_begin(c, SMFIC_HELO);
	miltc_pkt_str(c, e->e_helo);
	if ((v = miltc_step(c, "HELO", SMFIP_NR_HELO)) < 0)
		return RUN_ERR;
	if (v == SMFIR_CONTINUE || v == R_NOREPLY)
		return RUN_DONE;
	miltc_say(c, "helo ");
	miltc_say_verdict(c, v);
	miltc_say(c, "\n");
	return RUN_CLOSED;
}

/* msg_end - a reply ended the message: say so (what), abort it */
static int
msg_end(struct conn *c, const char *what, int v, struct result *res)
{
	if (what != NULL) {
		miltc_say(c, "%s ", what);
		miltc_say_verdict(c, v);
		miltc_say(c, "\n");
	}
	res->r_verdict = v;
	if (v != R_NORCPT)
		res->r_temp = miltc_temp_reply(c, v);
	return miltc_send_cmd(c, SMFIC_ABORT, "ABORT") != 0 ? RUN_ERR
	                                                    : RUN_ENDED;
}

/* judge - what the reply to a message command means */
static int
judge(struct conn *c, const char *what, int v, struct result *res)
{
	if (v < 0)
		return RUN_ERR;
	if (v == SMFIR_CONTINUE || v == R_NOREPLY)
		return RUN_DONE;
	return msg_end(c, what, v, res);
}

static int
do_mail(
    struct conn *c, const struct env *e, const char *qid, struct result *res)
{
	struct macro mv[] = {{"i", qid}, {"{auth_authen}", e->e_auth},
	    {"{mail_addr}", e->e_from}};

	if ((c->c_proto & SMFIP_NOMAIL) != 0)
		return RUN_DONE;
	if (miltc_send_macros(
	        c, SMFIC_MAIL, SYM_MAIL, mv, sizeof(mv) / sizeof(mv[0])) != 0)
		return RUN_ERR;
	miltc_pkt_begin(c, SMFIC_MAIL);
	miltc_pkt_put(c, "<", 1);
	miltc_pkt_put(c, e->e_from, strlen(e->e_from));
	miltc_pkt_str(c, ">");
	return judge(c, "mail", miltc_step(c, "MAIL", SMFIP_NR_MAIL), res);
}

/* do_rcpt - one recipient: RUN_DONE kept, RUN_STOPPED dropped */
static int
do_rcpt(struct conn *c, const char *rcpt, struct result *res)
{
	struct macro mv[] = {{"{rcpt_addr}", rcpt}};
	int v;

	miltc_say(c, "rcpt ");
	miltc_say_str(c, rcpt);
	if ((c->c_proto & SMFIP_NORCPT) != 0) {
		miltc_say(c, " skipped\n");
		return RUN_DONE;
	}
	if (miltc_send_macros(c, SMFIC_RCPT, SYM_RCPT, mv, 1) != 0)
		return RUN_ERR;
	miltc_pkt_begin(c, SMFIC_RCPT);
	miltc_pkt_put(c, "<", 1);
	miltc_pkt_put(c, rcpt, strlen(rcpt));
	miltc_pkt_str(c, ">");
	if ((v = miltc_step(c, "RCPT", SMFIP_NR_RCPT)) < 0)
		return RUN_ERR;
	miltc_say(c, " ");
	miltc_say_verdict(c, v);
	miltc_say(c, "\n");
	if (v == SMFIR_TEMPFAIL || v == SMFIR_REJECT || v == SMFIR_REPLYCODE) {
		if (miltc_temp_reply(c, v))
			res->r_rcpt_temp++;
		return RUN_STOPPED;
	}
	return judge(c, NULL, v, res);
}

static int
do_rcpts(struct conn *c, const struct env *e, struct result *res)
{
	size_t i, kept = 0;
	int r;

	for (i = 0; i < e->e_nrcpt; i++) {
		if ((r = do_rcpt(c, e->e_rcpt[i], res)) == RUN_DONE)
			kept++;
		else if (r != RUN_STOPPED)
			return r;
	}
	if (kept > 0)
		return RUN_DONE;
	miltc_say(c, "abort no-recipients\n");
	res->r_temp = res->r_rcpt_temp == e->e_nrcpt;
	return msg_end(c, NULL, R_NORCPT, res);
}

static int
do_data(struct conn *c, struct result *res)
{
	if ((c->c_proto & SMFIP_NODATA) != 0)
		return RUN_DONE;
	miltc_pkt_begin(c, SMFIC_DATA);
	return judge(c, "data", miltc_step(c, "DATA", SMFIP_NR_DATA), res);
}

static int
do_headers(struct conn *c, const struct msg *m, struct result *res)
{
	const struct hdr *h;
	const char *v;
	size_t i, n;
	int r;

	if ((c->c_proto & SMFIP_NOHDRS) != 0)
		return RUN_DONE;
	for (i = 0; i < m->m_nhdrs; i++) {
		h = &m->m_hdrs[i];
		v = h->h_value;
		n = h->h_vlen;
		/* Postfix strips the white space after the colon */
		while ((c->c_proto & SMFIP_HDR_LEADSPC) == 0 && n > 0 &&
		       (*v == ' ' || *v == '\t')) {
			v++;
			n--;
		}
		miltc_pkt_begin(c, SMFIC_HEADER);
		miltc_pkt_str(c, h->h_name);
		miltc_pkt_put(c, v, n);
		miltc_pkt_put(c, "", 1);
		r = miltc_step(c, "HEADER", SMFIP_NR_HDR);
		if (r >= 0 && r != SMFIR_CONTINUE && r != R_NOREPLY) {
			miltc_say(c, "header ");
			miltc_say_str(c, h->h_name);
			return msg_end(c, "", r, res);
		}
		if (r < 0)
			return RUN_ERR;
	}
	return RUN_DONE;
}

static int
do_eoh(struct conn *c, const char *qid, struct result *res)
{
	struct macro mv[] = {{"i", qid}};

	if ((c->c_proto & SMFIP_NOEOH) != 0)
		return RUN_DONE;
	if (miltc_send_macros(c, SMFIC_EOH, SYM_EOH, mv, 1) != 0)
		return RUN_ERR;
	miltc_pkt_begin(c, SMFIC_EOH);
	return judge(c, "eoh", miltc_step(c, "EOH", SMFIP_NR_EOH), res);
}

/* crlf_append - body bytes with every bare LF made CRLF (RFC 5322 2.3) */
static int
crlf_append(struct es_buf *b, const char *p, size_t n)
{
	const char *nl;
	size_t span;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		span = nl != NULL ? (size_t)(nl - p) : n;
		if (es_buf_append(b, p, span) != 0)
			return -1;
		if (nl != NULL) {
			if ((b->len == 0 || b->data[b->len - 1] != '\r') &&
			    es_buf_putc(b, '\r') != 0)
				return -1;
			if (es_buf_putc(b, '\n') != 0)
				return -1;
			span++;
		}
		p += span;
		n -= span;
	}
	return 0;
}

static int
do_body(struct conn *c, const struct msg *m, struct result *res)
{
	size_t off, n;
	int v;

	if ((c->c_proto & SMFIP_NOBODY) != 0)
		return RUN_DONE;
	es_buf_reset(&c->c_body);
	if (crlf_append(&c->c_body, m->m_body, m->m_bodylen) != 0 ||
	    crlf_append(&c->c_body, m->m_tail.data, m->m_tail.len) != 0)
		return miltc_conn_err(
		    c, "BODY: body too large or out of memory");
	for (off = 0; off < c->c_body.len; off += n) {
		n = c->c_body.len - off;
		if (n > MILTC_CHUNK)
			n = MILTC_CHUNK;
		miltc_pkt_begin(c, SMFIC_BODY);
		miltc_pkt_put(c, c->c_body.data + off, n);
		if ((v = miltc_step(c, "BODY", SMFIP_NR_BODY)) == SMFIR_SKIP) {
			miltc_say(c, "body skip\n");
			break;
		}
		if ((v = judge(c, "body", v, res)) != RUN_DONE)
			return v;
	}
	return RUN_DONE;
}

static int
do_eom(struct conn *c, const char *qid, struct result *res)
{
	struct macro mv[] = {{"i", qid}};
	double t0;
	int v;

	if (miltc_send_macros(c, SMFIC_BODYEOB, SYM_EOM, mv, 1) != 0)
		return RUN_ERR;
	t0 = miltc_now_sec();
	if (miltc_send_cmd(c, SMFIC_BODYEOB, "EOM") != 0 ||
	    (v = miltc_await(c, "EOM", res)) < 0)
		return RUN_ERR;
	res->r_eom_ms = (miltc_now_sec() - t0) * 1000.0;
	res->r_eom = true;
	res->r_verdict = v;
	res->r_temp = miltc_temp_reply(c, v);
	miltc_say(c, "eom ");
	miltc_say_verdict(c, v);
	miltc_say(c, "\n");
	return RUN_DONE;
}

static void
result_reset(struct result *res)
{
	size_t i;

	for (i = 0; i < res->r_nmods; i++) {
		es_free(res->r_mods[i].md_name);
		es_free(res->r_mods[i].md_value);
	}
	res->r_nmods = 0;
	res->r_verdict = 0;
	res->r_temp = false;
	res->r_rcpt_temp = 0;
	res->r_eom = false;
	res->r_eom_ms = 0;
	res->r_spam = res->r_innocent = 0;
	res->r_replbody = false;
	es_buf_reset(&res->r_body);
}

void
miltc_result_free(struct result *res)
{
	result_reset(res);
	es_free(res->r_mods);
	es_buf_release(&res->r_body);
}

static atomic_ullong qid_seq;

/* make_qid - the queue id: -i, or 4XYZ and a process-wide counter */
static const char *
make_qid(const struct env *e, char *buf, size_t len)
{
	unsigned long long n;

	if (e->e_qid != NULL)
		return e->e_qid;
	n = atomic_fetch_add(&qid_seq, 1) + 1;
	/* "4XYZ" and 16 hex digits fit the callers' 32 bytes */
	snprintf(buf, len, "4XYZ%llX", n);
	return buf;
}

/*
 * miltc_stage_next - RUN_STOPPED when a finished stage is the last one
 * wanted
 */
int
miltc_stage_next(int r, enum stage stop, enum stage here)
{
	return r == RUN_DONE && stop == here ? RUN_STOPPED : r;
}

/*
 * miltc_msg_run - one message on an open, greeted connection, stopping after
 * the stage stop (STAGE_NONE: the whole message). Returns RUN_DONE when
 * the EOM reply came, RUN_ENDED when a reply ended the message earlier,
 * RUN_STOPPED, or RUN_ERR (c_err says why).
 */
int
miltc_msg_run(struct conn *c, const struct env *e, const struct msg *m,
    enum stage stop, struct result *res)
{
	char buf[32];
	const char *qid;
	int r;

	result_reset(res);
	qid = make_qid(e, buf, sizeof(buf));
	if ((r = miltc_stage_next(do_mail(c, e, qid, res), stop, STAGE_MAIL)) !=
	    RUN_DONE)
		return r;
	if ((r = miltc_stage_next(do_rcpts(c, e, res), stop, STAGE_RCPT)) !=
	    RUN_DONE)
		return r;
	if ((r = do_data(c, res)) != RUN_DONE)
		return r;
	if ((r = miltc_stage_next(do_headers(c, m, res), stop, STAGE_HEADER)) !=
	    RUN_DONE)
		return r;
	if ((r = miltc_stage_next(do_eoh(c, qid, res), stop, STAGE_EOH)) !=
	    RUN_DONE)
		return r;
	if ((r = miltc_stage_next(do_body(c, m, res), stop, STAGE_BODY)) !=
	    RUN_DONE)
		return r;
	return do_eom(c, qid, res);
}
