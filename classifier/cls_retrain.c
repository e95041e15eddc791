/*
 * cls_retrain.c - a user's retraining request and its wire format (see
 * cls_retrain.h).
 *
 * A correction uses the signature when there is a usable one (the
 * explicit id, else the first valid id found in the forwarded message:
 * X-DSPAM-Signature, a body tag, an attached message's header) and it
 * belongs to the user; otherwise, when allowed, the message text is
 * trained as the right class (an error of its class). A sender request
 * lists the forwarded message's original sender as an exact address.
 * Who may ask for which user is the caller's business (the CLI's trust
 * rules, the retrain socket's peer rules); the user never comes from
 * the message. The two small socket helpers at the end are the wire
 * format's framing, shared by the client and the server; they are this
 * module's only system calls.
 */
#include "cls_retrain.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cls_msg.h"
#include "cls_sender.h"
#include "es_err.h"
#include "store.h"

static const char *const op_names[] = {"spam", "innocent", "allow", "block"};

const char *
cls_retrain_op_name(enum cls_retrain_op op)
{
	return (unsigned)op < 4 ? op_names[op] : "?";
}

int
cls_retrain_op_parse(const char *s, enum cls_retrain_op *op)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(s, op_names[i]) == 0) {
			*op = (enum cls_retrain_op)i;
			return 0;
		}
	return ES_EINVAL;
}

/* say - one line of text for the caller; returns rc. */
static int say(int rc, char *text, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
say(int rc, char *text, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, len, fmt, ap);
	va_end(ap);
	return rc;
}

/* list_sender - put the forwarded message's original sender on uid's
 * allow or block list. */
static int
list_sender(struct store *st, uint32_t uid, const struct cls_engine_cfg *cfg,
    const struct cls_retrain_req *rq, time_t now,
    enum cls_retrain_outcome *out, char *text, size_t textlen)
{
	enum store_sender_list list = rq->op == CLS_RETRAIN_ALLOW
	    ? STORE_SENDER_ALLOW
	    : STORE_SENDER_BLOCK;
	enum store_sender_list was = STORE_SENDER_NONE;
	char addr[CLS_SENDER_MAX + 1], perr[256];
	const char *how = NULL, *pat = addr;
	struct cls_msg *m = NULL;
	int rc;

	if ((rc = cls_msg_parse(rq->msg, rq->len, &cfg->lim, &m)) != 0)
		return say(rc, text, textlen, "the message cannot be read: %s",
		    es_strerror(rc));
	rc = cls_sender_forwarded(m, addr, sizeof(addr), &how);
	cls_msg_free(m);
	if (rc != 0 || cls_sender_pattern(addr, addr, sizeof(addr), perr,
			   sizeof(perr)) != 0) {
		*out = CLS_RETRAIN_REFUSED;
		return say(0, text, textlen, "no original sender found in the "
		    "message: forward it as an attachment, redirect it, or "
		    "forward it inline with its From: line");
	}
	if ((rc = store_begin(st, true)) != 0)
		return say(rc, text, textlen, "%s", store_errmsg(st));
	if ((rc = store_sender_find(st, uid, &pat, 1, &was)) != 0 ||
	    (rc = store_sender_set(st, uid, addr, list, now)) != 0 ||
	    (rc = store_commit(st)) != 0) {
		say(rc, text, textlen, "%s", store_errmsg(st));
		store_rollback(st);
		return rc;
	}
	*out = CLS_RETRAIN_LISTED;
	return say(0, text, textlen, "%s: %s %s the %s list%s%s%s", rq->user,
	    addr, was == list ? "was already on" : "added to",
	    list == STORE_SENDER_ALLOW ? "allow" : "block",
	    was != STORE_SENDER_NONE && was != list ? " (moved from the other)"
	                                            : "",
	    how != NULL ? ", from " : "", how != NULL ? how : "");
}

/* correct - a correction by signature, else from the text. */
static int
correct(struct cls_engine *e, struct store *st, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct cls_retrain_req *rq,
    time_t now, enum cls_retrain_outcome *out, char *text, size_t textlen)
{
	enum cls_class cls = rq->op == CLS_RETRAIN_SPAM ? CLS_CLASS_SPAM
	                                                : CLS_CLASS_INNOCENT;
	struct cls_engine_result r;
	char id[CLS_SIG_ID_LEN + 1], err[512], why[320];
	struct cls_msg *m = NULL;
	bool have;
	int rc;

	if (rq->sig[0] != '\0') {
		if (!cls_sig_id_valid(rq->sig, strlen(rq->sig)))
			return say(ES_EINVAL, text, textlen,
			    "%s: not a signature id", rq->sig);
		strlcpy(id, rq->sig, sizeof(id));
		have = true;
	} else {
		if ((rc = cls_msg_parse(rq->msg, rq->len, &cfg->lim, &m)) != 0)
			return say(rc, text, textlen,
			    "the message cannot be read: %s", es_strerror(rc));
		have = cls_sig_find(m, id) == 0;
		cls_msg_free(m);
	}
	if (have) {
		rc = cls_engine_correct(e, st, uid, cfg, id, cls, now, &r, err,
		    sizeof(err));
		if (rc == 0) {
			*out = r.changed ? CLS_RETRAIN_CORRECTED
			                 : CLS_RETRAIN_ALREADY;
			return say(0, text, textlen, r.changed
			    ? "signature %s corrected to %s"
			    : "signature %s was already classified as %s; "
			      "nothing to correct",
			    id, cls_class_name(cls));
		}
		if (rc != ES_ENOTFOUND)
			return say(rc, text, textlen, "%s", err);
		snprintf(why, sizeof(why), "signature %s is not known for "
		    "user %s (expired, already used, or another user's)", id,
		    rq->user);
	} else {
		snprintf(why, sizeof(why), "no signature found in the message");
	}
	if (!rq->train_without_sig || rq->len == 0) {
		*out = CLS_RETRAIN_REFUSED;
		return say(0, text, textlen, "%s; not trained (%s)", why,
		    rq->len == 0 ? "empty message"
		                 : "retrain_without_signature = refuse");
	}
	rc = cls_engine_train(e, st, uid, cfg, rq->msg, rq->len, cls,
	    CLS_SRC_ERROR, now, &r, err, sizeof(err));
	if (rc != 0)
		return say(rc, text, textlen, "%s", err);
	*out = CLS_RETRAIN_TRAINED;
	return say(0, text, textlen, "%s; trained the message text as %s "
	    "instead", why, cls_class_name(cls));
}

int
cls_retrain_run(struct cls_engine *e, struct store *st,
    const struct cls_engine_cfg *base, const struct cls_retrain_req *rq,
    time_t now, enum cls_retrain_outcome *out, char *text, size_t textlen)
{
	struct cls_engine_cfg cfg;
	uint32_t uid;
	int rc;

	*out = CLS_RETRAIN_REFUSED;
	if ((rc = store_user_uid(st, rq->user, true, &uid)) != 0)
		return say(rc, text, textlen, "user %s: %s", rq->user,
		    store_errmsg(st));
	if ((rc = cls_engine_user_cfg(st, uid, base, &cfg)) != 0)
		return say(rc, text, textlen, "preferences of %s: %s", rq->user,
		    store_errmsg(st));
	if (rq->op == CLS_RETRAIN_ALLOW || rq->op == CLS_RETRAIN_BLOCK)
		return list_sender(st, uid, &cfg, rq, now, out, text, textlen);
	return correct(e, st, uid, &cfg, rq, now, out, text, textlen);
}

int
cls_retrain_req_line(const struct cls_retrain_req *rq, char *out,
    size_t outlen)
{
	int w;

	if (rq->len > CLS_RETRAIN_MAX_MSG)
		return ES_EINVAL;
	w = snprintf(out, outlen, "EDGESPAM/1 %s %s %zu%s%s\n",
	    cls_retrain_op_name(rq->op), rq->user, rq->len,
	    rq->sig[0] ? " " : "", rq->sig);
	return w > 0 && (size_t)w < outlen ? 0 : ES_EINVAL;
}

int
cls_retrain_req_parse(const char *line, struct cls_retrain_req *rq,
    size_t *len)
{
	char buf[CLS_RETRAIN_LINE], *f[6], *save = NULL, *end, *p;
	unsigned long long n;
	size_t nf = 0;

	memset(rq, 0, sizeof(*rq));
	if (strlen(line) >= sizeof(buf))
		return ES_EPARSE;
	strlcpy(buf, line, sizeof(buf));
	for (p = strtok_r(buf, " ", &save); p != NULL && nf < 6;
	     p = strtok_r(NULL, " ", &save))
		f[nf++] = p;
	if (nf < 4 || nf > 5 || strcmp(f[0], "EDGESPAM/1") != 0 ||
	    cls_retrain_op_parse(f[1], &rq->op) != 0)
		return ES_EPARSE;
	/* the user as the client normalised it; checked again here */
	if (cls_user_normalize(f[2], strlen(f[2]), NULL, rq->user,
		sizeof(rq->user)) != 0 ||
	    strcmp(rq->user, f[2]) != 0)
		return ES_EPARSE;
	if (f[3][0] < '0' || f[3][0] > '9')
		return ES_EPARSE;
	n = strtoull(f[3], &end, 10);
	if (*end != '\0' || n > CLS_RETRAIN_MAX_MSG)
		return ES_EPARSE;
	if (nf == 5) {
		if (!cls_sig_id_valid(f[4], strlen(f[4])))
			return ES_EPARSE;
		strlcpy(rq->sig, f[4], sizeof(rq->sig));
	}
	*len = (size_t)n;
	return 0;
}

bool
cls_retrain_read_line(int fd, char *buf, size_t len)
{
	size_t o = 0;

	while (o + 1 < len) {
		ssize_t r = recv(fd, buf + o, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (buf[o] == '\n') {
			buf[o] = '\0';
			return true;
		}
		o++;
	}
	return false;
}

bool
cls_retrain_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}
