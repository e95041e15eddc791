/*
 * cls_retrain.h - a user's retraining request: the correction of a
 * message forwarded to user-spam@ or user-fp@, or the listing of its
 * original sender (user-allow@, user-block@). The CLI runs it on the
 * store when root asks; for everyone else it travels over the milter's
 * retrain socket (DESIGN.md, "Retraining"), whose server runs the very
 * same function, so the rules exist once.
 *
 * Also the socket's wire format, so that the CLI (client) and the
 * milter (server) share it: a request is one line
 *
 *   EDGESPAM/1 OP USER LENGTH [SIGNATURE]\n
 *
 * (OP spam | innocent | allow | block; USER a normalised user name;
 * LENGTH the bytes of the message that follow, at most
 * CLS_RETRAIN_MAX_MSG; SIGNATURE an explicit id, as --signature gives)
 * and then the message. The reply is one line: a sysexits(3) code and a
 * text, "0 signature ... corrected to spam\n".
 *
 * Engine-level code: it sees the store only through store.h. No
 * logging: the outcome and its text are for the caller to print and log.
 */
#ifndef CLS_RETRAIN_H
#define CLS_RETRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cls_engine.h"
#include "cls_sig.h"
#include "cls_user.h"

enum cls_retrain_op {
	CLS_RETRAIN_SPAM,     /* --addspam: a missed spam */
	CLS_RETRAIN_INNOCENT, /* --falsepositive */
	CLS_RETRAIN_ALLOW,    /* --allow-sender */
	CLS_RETRAIN_BLOCK     /* --block-sender */
};

enum cls_retrain_outcome {
	CLS_RETRAIN_CORRECTED, /* the signature's verdict was corrected */
	CLS_RETRAIN_ALREADY,   /* the signature already had that class */
	CLS_RETRAIN_TRAINED,   /* no usable signature: the text was trained */
	CLS_RETRAIN_LISTED,    /* the sender is on the list now */
	CLS_RETRAIN_REFUSED    /* nothing done: no usable signature and
	                          training from the text is off, or no
	                          original sender in the message (text says
	                          which) */
};

struct cls_retrain_req {
	enum cls_retrain_op op;
	char user[CLS_USER_MAX + 1]; /* normalised; never from the message */
	char sig[CLS_SIG_ID_LEN + 1]; /* an explicit signature id, or "" */
	const char *msg;             /* the forwarded message (borrowed) */
	size_t len;
	bool train_without_sig;      /* retrain_without_signature */
};

/* The largest message a request carries: the parser reads no more of
 * it (max_scan_bytes' ceiling), and it bounds what a local client can
 * make the server hold. */
#define CLS_RETRAIN_MAX_MSG (16u << 20)
/* The longest request or reply line. */
#define CLS_RETRAIN_LINE 512

/*
 * cls_retrain_run - carry out rq on st for rq->user (created when it
 * does not exist yet), with base's settings and the user's preferences
 * over them. Returns 0 and sets *out, or an es_err code (ES_ETRANSIENT:
 * try again later; ES_EINVAL: a malformed explicit signature id). text
 * (textlen bytes) gets one line for the user either way.
 */
int cls_retrain_run(struct cls_engine *e, struct store *st,
    const struct cls_engine_cfg *base, const struct cls_retrain_req *rq,
    time_t now, enum cls_retrain_outcome *out, char *text, size_t textlen);

/* cls_retrain_op_name, cls_retrain_op_parse - "spam", "innocent",
 * "allow", "block". */
const char *cls_retrain_op_name(enum cls_retrain_op op);
int cls_retrain_op_parse(const char *s, enum cls_retrain_op *op);

/*
 * cls_retrain_req_line - the request line of rq (without the message)
 * into out. Returns 0, or ES_EINVAL when it does not fit or rq->len is
 * over CLS_RETRAIN_MAX_MSG.
 */
int cls_retrain_req_line(const struct cls_retrain_req *rq, char *out,
    size_t outlen);
/*
 * cls_retrain_req_parse - a request line (without its '\n') into rq
 * (msg stays NULL) and the length of the message that follows. Returns
 * 0, or ES_EPARSE naming nothing: the server answers 64 to it.
 */
int cls_retrain_req_parse(const char *line, struct cls_retrain_req *rq,
    size_t *len);

/*
 * cls_retrain_read_line - one line of the wire format from the stream
 * socket fd into buf (len bytes), without its '\n' (a byte at a time,
 * so nothing past the line is consumed). false on an error, the end of
 * the stream, a timeout of the socket, or a line longer than buf.
 */
bool cls_retrain_read_line(int fd, char *buf, size_t len);
/* cls_retrain_write_all - n bytes to the stream socket fd (no SIGPIPE);
 * false on failure. */
bool cls_retrain_write_all(int fd, const char *p, size_t n);

#endif
