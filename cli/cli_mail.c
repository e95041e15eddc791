/*
 * cli_mail.c - the message modes of edgespam: classify, process (the
 * maildrop xfilter use), train, and correct (the alias-pipe use).
 *
 * The message is read whole from standard input (at most CLI_MAX_INPUT
 * bytes; the parser looks at max_scan_bytes of it). In --stdout mode
 * (the maildrop xfilter form) the output is the input with the X-DSPAM-*
 * edits and nothing else changed, and it is never less than the
 * message: when classification fails after the message was read (the
 * store cannot be opened or fails, the engine fails, memory runs out,
 * the message is empty or larger than CLI_MAX_INPUT), the
 * configuration's on_error decides, as in the milter: accept writes the
 * message with every X-DSPAM-* field removed and nothing else changed
 * (a forged X-DSPAM-Result would skip the maildrop rules) and exits 0;
 * tempfail writes nothing and exits 75 so that the MTA retries. Both
 * log why. Usage (64), permission (77) and configuration (78) errors
 * keep their exit codes and write nothing (all but the shared
 * dictionary's name are found before the message is read). A
 * header longer than CLI_MAX_INPUT is cut there: past it, an oversized
 * message passes as it came. With a training option, --stdout writes
 * the message (X-DSPAM-* fields removed) once it is trained.
 *
 * Trust: the user always comes from the command line, never from the
 * message. A caller other than root may act only for itself unless it
 * is listed in trusted_users.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cls_rewrite.h"
#include "cls_user.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_buf.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

/* A bound on what is read from standard input; an MTA's own size limit
 * is usually far lower. It stops a runaway pipe from exhausting memory. */
#define CLI_MAX_INPUT (256u * 1024 * 1024)

int
cli_read_input(struct es_buf *b)
{
	char chunk[65536];
	size_t n, want;
	int rc, ch;

	es_buf_init(b, CLI_MAX_INPUT);
	for (;;) {
		want = b->max - b->len;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if (want == 0) {
			/* full: too large unless standard input ends here; the
			 * rest stays unread for a caller that passes it on */
			if ((ch = getc(stdin)) == EOF)
				break;
			ungetc(ch, stdin);
			return ES_ELIMIT;
		}
		if ((n = fread(chunk, 1, want, stdin)) == 0)
			break;
		if ((rc = es_buf_append(b, chunk, n)) != 0)
			return rc;
	}
	if (ferror(stdin))
		return ES_EPARSE;
	return 0;
}

bool
cli_user_name(const struct cli *c, const char *in, char *out, size_t outlen)
{
	if (cli_shared_user(c, in))
		return strlcpy(out, in, outlen) < outlen;
	return cls_user_normalize(in, strlen(in), conf_recipient_delimiter(c->cf),
	           out, outlen) == 0;
}

bool
cli_shared_user(const struct cli *c, const char *name)
{
	const char *shared = conf_str(c->cf, "shared_dictionary");

	return shared[0] != '\0' && strcmp(name, shared) == 0;
}

bool
cli_trusted(const struct cli *c)
{
	struct passwd *pw = getpwuid(getuid());
	const char *const *t;

	if (pw == NULL)
		return false;
	for (t = conf_trusted_users(c->cf); t != NULL && *t != NULL; t++)
		if (strcmp(*t, pw->pw_name) == 0)
			return true;
	return false;
}

bool
cli_may_act_for(const struct cli *c, const char *user)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw != NULL && strcmp(pw->pw_name, user) == 0)
		return true;
	return cli_trusted(c);
}

int
cli_open_store(struct cli *c)
{
	struct store_params p;
	char err[512];
	int rc;

	if (c->st != NULL)
		return EX_OK;
	if ((rc = cli_store_as_owner(c)) != EX_OK)
		return rc;
	conf_store_params(c->cf, &p);
	p.own_maintenance = c->own_maintenance;
	if ((rc = store_open(&p, &c->st, err, sizeof(err))) != 0) {
		fprintf(stderr, "edgespam: cannot open the store: %s\n", err);
		if (geteuid() != getuid()) /* see cli_store_as_owner */
			fprintf(stderr, "edgespam: (opened as uid %u, the owner "
			                "of the store's directory)\n",
			    (unsigned)geteuid());
		es_log_err("cannot open the store: %s", err);
		return cli_exit_code(rc == ES_EINVAL ? ES_EINVAL : ES_ETRANSIENT);
	}
	return EX_OK;
}

/* summary - DSPAM's one-line summary of a verdict; the shared
 * dictionary's part, when it took one, is added at the end, where
 * scripts matching DSPAM's fields do not look. */
static void
summary(const char *user, const struct cls_engine_result *r)
{
	printf("X-DSPAM-Result: %s; result=\"%s\"; class=\"%s\"; "
	       "probability=%.4f; confidence=%.2f; signature=%s",
	    user, cls_result_name(r->result),
	    r->result == CLS_SPAM ? "Spam" : "Innocent", r->probability,
	    r->confidence, r->sig[0] ? r->sig : "N/A");
	if (r->shared)
		printf("; dictionary=\"shared\"; user-weight=%.2f",
		    r->user_weight);
	putchar('\n');
}

/* write_all - the whole buffer to standard output. */
static int
write_all(const char *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, stdout) != n)
		return EX_IOERR;
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return EX_OK;
}

/*
 * pass_through - the message in msg to standard output with every
 * X-DSPAM-* field of its header removed (with its continuation lines)
 * and nothing else changed; with more, the rest of standard input (a
 * message past CLI_MAX_INPUT) follows as it comes. It allocates
 * nothing, so it works when memory ran out. cls_rewrite() is not used:
 * with no fields to add it still ends an unterminated header.
 */
static int
pass_through(const struct es_buf *msg, bool more)
{
	const char *p = msg->data, *end = msg->data + msg->len, *nl;
	char chunk[65536];
	bool skipping = false;
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if ((n == 1 && p[0] == '\n') ||
		    (n == 2 && p[0] == '\r' && p[1] == '\n'))
			break; /* the header's end: the rest is body */
		if (p[0] != ' ' && p[0] != '\t')
			skipping = cls_rewrite_is_dspam_field(p, n);
		if (!skipping && fwrite(p, 1, n, stdout) != n)
			return EX_IOERR;
		p += n;
	}
	if (p < end && fwrite(p, 1, (size_t)(end - p), stdout) !=
	        (size_t)(end - p))
		return EX_IOERR;
	while (more && (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (fwrite(chunk, 1, n, stdout) != n)
			return EX_IOERR;
	if (more && ferror(stdin)) {
		fprintf(stderr, "edgespam: reading the rest of the message "
		                "failed: the output is incomplete\n");
		return EX_IOERR;
	}
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/*
 * stdout_failed - --stdout when the message could not be classified
 * (why): on_error = accept writes it through pass_through() and exits
 * 0 (or 74 when writing fails); tempfail writes nothing and exits 75
 * (EX_TEMPFAIL), so that maildrop and the MTA retry. Both log why.
 */
static int
stdout_failed(const struct cli *c, const char *user, const struct es_buf *msg,
    bool more, const char *why)
{
	if (strcmp(conf_str(c->cf, "on_error"), "tempfail") == 0) {
		fprintf(stderr, "edgespam: user %s: %s; not delivered now, "
		                "retry later (on_error = tempfail)\n", user, why);
		es_log_err("user %s: %s; deferred (on_error = tempfail)", user,
		    why);
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "edgespam: user %s: %s; message passed unfiltered, "
	                "X-DSPAM-* fields removed (on_error = accept)\n",
	    user, why);
	es_log_err("user %s: %s; message passed unfiltered (on_error = "
	           "accept)", user, why);
	return pass_through(msg, more);
}

/* emit - the message with the result's fields (and body tag). */
static int
emit(const struct cli *c, uint32_t uid, const struct es_buf *msg,
    const struct cls_engine_result *r, time_t now)
{
	struct cls_engine_headers h;
	struct cls_field f[CLS_ENGINE_MAX_HEADERS];
	struct es_buf out;
	char tag[CLS_SIG_ID_LEN + 16], loc[32];
	const char *body_tag = NULL;
	size_t i;
	int rc;

	if ((rc = cls_engine_headers(r, now, &h)) != 0)
		return cli_exit_code(rc);
	for (i = 0; i < h.n; i++) {
		f[i].name = h.name[i];
		f[i].value = cls_engine_header_value(&h, i);
	}
	strlcpy(loc, conf_signature_location_name(c->cf), sizeof(loc));
	if (store_pref_get(c->st, uid, "signatureLocation", loc, sizeof(loc)) !=
	        0 &&
	    store_pref_get(c->st, 0, "signatureLocation", loc, sizeof(loc)) != 0)
		strlcpy(loc, conf_signature_location_name(c->cf), sizeof(loc));
	if (r->sig[0] != '\0' && strcmp(loc, "message") == 0) {
		snprintf(tag, sizeof(tag), "!DSPAM:%s!", r->sig);
		body_tag = tag;
	}
	es_buf_init(&out, CLI_MAX_INPUT + 65536);
	rc = cls_rewrite(msg->data, msg->len, f, h.n, body_tag, &out);
	es_buf_release(&h.buf);
	if (rc == 0)
		rc = write_all(out.data, out.len);
	else
		rc = cli_exit_code(rc);
	es_buf_release(&out);
	return rc;
}

/* engine_cfg - the configuration's engine settings, the user's
 * preferences over them, and the command line over both. */
static int
engine_cfg(struct cli *c, uint32_t uid, struct cls_engine_cfg *out)
{
	int rc;

	if ((rc = cls_engine_user_cfg(c->st, uid, &c->ecfg, out)) != 0)
		return rc;
	if (c->have_mode)
		out->mode = c->mode;
	if (c->bnr >= 0)
		out->score.bnr = c->bnr;
	if (c->whitelist == 1 && out->score.whitelist_threshold == 0)
		out->score.whitelist_threshold = 10;
	return 0;
}

/* retrain_op - the retraining a correction option asks for. */
static enum cls_retrain_op
retrain_op(const struct cli *c)
{
	return c->cls == CLS_CLASS_SPAM ? CLS_RETRAIN_SPAM
	                                : CLS_RETRAIN_INNOCENT;
}

/*
 * one_user - the requested operation for one user. A failure other
 * than a usage error also gets its reason in why (whylen bytes; left
 * empty for a usage error), which --stdout hands to stdout_failed().
 */
static int
one_user(struct cli *c, struct cls_engine *e, const char *arg,
    const struct es_buf *msg, time_t now, char *why, size_t whylen)
{
	struct cls_engine_cfg cfg;
	struct cls_engine_result r;
	char user[CLS_USER_MAX + 1], err[512];
	unsigned char rnd[16];
	uint32_t uid;
	int rc;

	if (!cli_user_name(c, arg, user, sizeof(user))) {
		fprintf(stderr, "edgespam: --user %s: not a usable user name\n",
		    arg);
		return EX_USAGE;
	}
	if (cli_shared_user(c, user) && !c->have_class && !c->classify) {
		fprintf(stderr, "edgespam: %s is the shared dictionary: it "
		                "learns only from --class training (and "
		                "corrections), never from classification\n",
		    user);
		return EX_USAGE;
	}
	/* cli_mail() checked the trust list before reading the message */
	if (c->have_class && c->source == CLS_SRC_ERROR) {
		rc = cli_retrain_direct(c, e, retrain_op(c), user, msg, now);
		if (rc != EX_OK && rc != EX_USAGE)
			snprintf(why, whylen, "correction failed (exit %d)", rc);
		return rc;
	}
	CLI_RETRY(c, rc, store_user_uid(c->st, user, !c->classify, &uid));
	if (rc != 0) {
		if (rc == ES_ENOTFOUND && c->classify) {
			uid = 0; /* an unknown user has learned nothing */
		} else {
			fprintf(stderr, "edgespam: user %s: %s: %s\n", user,
			    es_strerror(rc), store_errmsg(c->st));
			snprintf(why, whylen, "user lookup: %s: %s",
			    es_strerror(rc), store_errmsg(c->st));
			return cli_exit_code(rc);
		}
	}
	if ((rc = engine_cfg(c, uid, &cfg)) != 0) {
		fprintf(stderr, "edgespam: preferences of %s: %s\n", user,
		    store_errmsg(c->st));
		snprintf(why, whylen, "reading preferences: %s",
		    store_errmsg(c->st));
		return cli_exit_code(rc);
	}
	if (c->have_class) {
		CLI_RETRY(c, rc, cls_engine_train(e, c->st, uid, &cfg,
				     msg->data, msg->len, c->cls, c->source,
				     now, &r, err, sizeof(err)));
		if (rc != 0)
			fprintf(stderr, "edgespam: %s\n", err);
		rc = cli_exit_code(rc);
		if (rc != EX_OK && rc != EX_USAGE)
			snprintf(why, whylen, "training failed (exit %d)", rc);
		return rc;
	}
	if (!c->classify && getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "edgespam: no random bytes: %s\n",
		    strerror(errno));
		snprintf(why, whylen, "no random bytes: %s", strerror(errno));
		return EX_OSERR;
	}
	CLI_RETRY(c, rc, cls_engine_process(e, c->st, uid, &cfg,
			     c->classify ? CLS_ENGINE_CLASSIFY
					 : CLS_ENGINE_PROCESS,
			     msg->data, msg->len, rnd, now, &r, err,
			     sizeof(err)));
	if (rc != 0) {
		fprintf(stderr, "edgespam: user %s: %s\n", user, err);
		es_log_err("user %s: %s", user, err);
		snprintf(why, whylen, "%s", err);
		return cli_exit_code(rc);
	}
	es_log_info("user %s: %s probability %.4f tokens %zu signature %s%s",
	    user, cls_result_name(r.result), r.probability, r.ntokens,
	    r.sig[0] ? r.sig : "none",
	    r.shared ? " dictionary shared" : "");
	if (c->classify || c->deliver_summary) {
		summary(user, &r);
		return EX_OK;
	}
	/* a failure to write (EX_IOERR) may have written part of it:
	 * nothing more may follow */
	if ((rc = emit(c, uid, msg, &r, now)) != EX_OK && rc != EX_IOERR)
		snprintf(why, whylen, "adding the fields failed (exit %d)", rc);
	return rc;
}

int
cli_mail(struct cli *c)
{
	struct cls_engine *e;
	struct es_buf msg;
	char user[CLS_USER_MAX + 1] = "", why[600];
	time_t now = time(NULL);
	bool out_msg; /* --stdout writes the message */
	bool via_socket;
	size_t i;
	int rc, worst = EX_OK;

	if (c->have_class != c->have_source) {
		fprintf(stderr, "edgespam: --class and --source go together\n");
		return EX_USAGE;
	}
	if (!c->have_class && !c->classify && !c->to_stdout &&
	    !c->deliver_summary) {
		fprintf(stderr, "edgespam: edgespam does not deliver mail: add "
		                "--stdout (e.g. as a maildrop xfilter), "
		                "--classify, or a training option\n");
		return EX_USAGE;
	}
	if (c->to_stdout && c->deliver_given && !c->deliver_summary &&
	    !(c->deliver_spam && c->deliver_innocent)) {
		fprintf(stderr, "edgespam: --stdout writes every message: "
		                "--deliver must name both innocent and spam "
		                "(edgespam never discards mail)\n");
		return EX_USAGE;
	}
	if (c->to_stdout && c->nusers > 1) {
		fprintf(stderr, "edgespam: --stdout takes one --user\n");
		return EX_USAGE;
	}
	out_msg = c->to_stdout && !c->deliver_summary && !c->classify;
	if ((rc = conf_engine_cfg(c->cf, &c->ecfg)) != 0) {
		fprintf(stderr, "edgespam: configuration: %s\n", es_strerror(rc));
		return EX_CONFIG;
	}
	/* a correction by anyone but root goes to the milter, which checks
	 * who may act for whom by the caller's uid (cli_retrain.c) */
	via_socket = c->have_class && c->source == CLS_SRC_ERROR &&
	    cli_retrain_via_socket(c);
	/* the trust list is checked before anything is read or opened */
	for (i = 0; i < c->nusers; i++) {
		if (!cli_user_name(c, c->users[i], user, sizeof(user))) {
			fprintf(stderr, "edgespam: %s: not a user name\n",
			    c->users[i]);
			return EX_USAGE;
		}
		if (via_socket ? !cli_may_retrain_for(c, user)
		               : !cli_may_act_for(c, user)) {
			fprintf(stderr, "edgespam: not allowed to act for %s "
			                "(%s)\n", user, via_socket
			        ? "see retrain_peers and trusted_users"
			        : "not in trusted_users");
			es_log_warning("uid %u refused: may not act for %s",
			    (unsigned)getuid(), user);
			return EX_NOPERM;
		}
	}
	/* from here on a failure with --stdout takes on_error's way; user
	 * is the one --user then */
	if ((rc = cli_read_input(&msg)) != 0) {
		if (out_msg && rc == ES_ELIMIT) {
			snprintf(why, sizeof(why), "the message is larger than "
			    "%u bytes", (unsigned)CLI_MAX_INPUT);
			rc = stdout_failed(c, user, &msg, true, why);
			es_buf_release(&msg);
			return rc;
		}
		fprintf(stderr, "edgespam: reading the message: %s\n",
		    rc == ES_ELIMIT ? "too large" : es_strerror(rc));
		es_buf_release(&msg);
		return rc == ES_ENOMEM ? EX_OSERR : EX_DATAERR;
	}
	if (msg.len == 0) {
		fprintf(stderr, "edgespam: the message on standard input is "
		                "empty\n");
		rc = out_msg ? stdout_failed(c, user, &msg, false,
		                   "empty message")
		             : EX_DATAERR;
		es_buf_release(&msg);
		return rc;
	}
	if (via_socket) {
		for (i = 0; i < c->nusers; i++) {
			(void)cli_user_name(c, c->users[i], user, sizeof(user));
			rc = cli_retrain_socket(c, retrain_op(c), user, &msg);
			if (out_msg && rc == EX_OK)
				rc = pass_through(&msg, false);
			if (rc != EX_OK && worst == EX_OK)
				worst = rc;
		}
		es_buf_release(&msg);
		return worst;
	}
	if ((rc = cli_open_store(c)) != EX_OK) {
		if (out_msg)
			rc = stdout_failed(c, user, &msg, false,
			    "cannot open the store");
		es_buf_release(&msg);
		return rc;
	}
	if ((e = cls_engine_new()) == NULL) {
		rc = out_msg ? stdout_failed(c, user, &msg, false,
		                   "out of memory")
		             : EX_OSERR;
		es_buf_release(&msg);
		return rc;
	}
	for (i = 0; i < c->nusers; i++) {
		why[0] = '\0';
		rc = one_user(c, e, c->users[i], &msg, now, why, sizeof(why));
		if (out_msg && rc != EX_OK && why[0] != '\0')
			rc = stdout_failed(c, user, &msg, false, why);
		else if (out_msg && rc == EX_OK && c->have_class)
			rc = pass_through(&msg, false); /* trained: pass it on */
		if (rc != EX_OK && worst == EX_OK)
			worst = rc;
	}
	cls_engine_free(e);
	es_buf_release(&msg);
	return worst;
}
