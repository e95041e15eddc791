/*
 * cli_mail.c - the message modes of edgespam: classify, process (the
 * maildrop xfilter use), train, and correct (the alias-pipe use).
 *
 * The message is read whole from standard input (at most CLI_MAX_INPUT
 * bytes; the parser looks at max_scan_bytes of it). In --stdout mode
 * the output is the input with the X-DSPAM-* edits and nothing else
 * changed; when anything fails before the output is complete, the exit
 * code is non-zero so the caller keeps the original.
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
	size_t n;
	int rc;

	es_buf_init(b, CLI_MAX_INPUT);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if ((rc = es_buf_append(b, chunk, n)) != 0)
			return rc;
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

/* correct - a correction: the signature if there is a usable one,
 * else (as configured) training from the text. */
static int
correct(struct cli *c, struct cls_engine *e, const char *user, uint32_t uid,
    const struct cls_engine_cfg *cfg, const struct es_buf *msg, time_t now)
{
	struct cls_engine_result r;
	char id[CLS_SIG_ID_LEN + 1], err[512];
	struct cls_msg *m = NULL;
	bool have = false;
	int rc;

	if (c->signature != NULL) {
		if (!cls_sig_id_valid(c->signature, strlen(c->signature))) {
			fprintf(stderr, "edgespam: --signature=%s: not a "
			                "signature id\n", c->signature);
			return EX_USAGE;
		}
		strlcpy(id, c->signature, sizeof(id));
		have = true;
	} else {
		if ((rc = cls_msg_parse(msg->data, msg->len, &cfg->lim, &m)) != 0)
			return cli_exit_code(rc);
		have = cls_sig_find(m, id) == 0;
		cls_msg_free(m);
	}
	if (have) {
		rc = cls_engine_correct(e, c->st, uid, cfg, id, c->cls, now, &r,
		    err, sizeof(err));
		if (rc == 0) {
			if (r.changed)
				es_log_info("user %s: signature %s corrected to %s",
				    user, id, cls_class_name(c->cls));
			else
				fprintf(stderr, "edgespam: signature %s was "
				                "already classified as %s; "
				                "nothing to correct\n",
				    id, cls_class_name(c->cls));
			return EX_OK;
		}
		if (rc != ES_ENOTFOUND) {
			fprintf(stderr, "edgespam: %s\n", err);
			es_log_err("user %s: correction failed: %s", user, err);
			return cli_exit_code(rc);
		}
		fprintf(stderr, "edgespam: signature %s is not known for user %s "
		                "(expired, already used, or another user's)\n",
		    id, user);
	} else {
		fprintf(stderr, "edgespam: no signature found in the message\n");
	}
	if (!conf_retrain_without_signature(c->cf)) {
		fprintf(stderr, "edgespam: not trained "
		                "(retrain_without_signature = refuse)\n");
		return EX_DATAERR;
	}
	if (msg->len == 0) {
		fprintf(stderr, "edgespam: empty message: nothing to train\n");
		return EX_DATAERR;
	}
	fprintf(stderr, "edgespam: training the message text as %s instead\n",
	    cls_class_name(c->cls));
	rc = cls_engine_train(e, c->st, uid, cfg, msg->data, msg->len, c->cls,
	    CLS_SRC_ERROR, now, &r, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "edgespam: %s\n", err);
		return cli_exit_code(rc);
	}
	es_log_info("user %s: trained as %s from the message text (no "
	            "usable signature)", user, cls_class_name(c->cls));
	return EX_OK;
}

/* one_user - the requested operation for one user. */
static int
one_user(struct cli *c, struct cls_engine *e, const char *arg,
    const struct es_buf *msg, time_t now)
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
	if ((rc = store_user_uid(c->st, user, !c->classify, &uid)) != 0) {
		if (rc == ES_ENOTFOUND && c->classify) {
			uid = 0; /* an unknown user has learned nothing */
		} else {
			fprintf(stderr, "edgespam: user %s: %s: %s\n", user,
			    es_strerror(rc), store_errmsg(c->st));
			return cli_exit_code(rc);
		}
	}
	if ((rc = engine_cfg(c, uid, &cfg)) != 0) {
		fprintf(stderr, "edgespam: preferences of %s: %s\n", user,
		    store_errmsg(c->st));
		return cli_exit_code(rc);
	}
	if (c->have_class && c->source == CLS_SRC_ERROR)
		return correct(c, e, user, uid, &cfg, msg, now);
	if (c->have_class) {
		rc = cls_engine_train(e, c->st, uid, &cfg, msg->data, msg->len,
		    c->cls, c->source, now, &r, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "edgespam: %s\n", err);
			return cli_exit_code(rc);
		}
		return EX_OK;
	}
	if (!c->classify && getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "edgespam: no random bytes: %s\n",
		    strerror(errno));
		return EX_OSERR;
	}
	rc = cls_engine_process(e, c->st, uid, &cfg,
	    c->classify ? CLS_ENGINE_CLASSIFY : CLS_ENGINE_PROCESS, msg->data,
	    msg->len, rnd, now, &r, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "edgespam: user %s: %s\n", user, err);
		es_log_err("user %s: %s", user, err);
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
	return emit(c, uid, msg, &r, now);
}

int
cli_mail(struct cli *c)
{
	struct cls_engine *e;
	struct es_buf msg;
	time_t now = time(NULL);
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
	if ((rc = conf_engine_cfg(c->cf, &c->ecfg)) != 0) {
		fprintf(stderr, "edgespam: configuration: %s\n", es_strerror(rc));
		return EX_CONFIG;
	}
	/* the trust list is checked before anything is read or opened */
	for (i = 0; i < c->nusers; i++) {
		char user[CLS_USER_MAX + 1];

		if (!cli_user_name(c, c->users[i], user, sizeof(user))) {
			fprintf(stderr, "edgespam: %s: not a user name\n",
			    c->users[i]);
			return EX_USAGE;
		}
		if (!cli_may_act_for(c, user)) {
			fprintf(stderr, "edgespam: not allowed to act for %s "
			                "(not in trusted_users)\n", user);
			es_log_warning("uid %u refused: may not act for %s",
			    (unsigned)getuid(), user);
			return EX_NOPERM;
		}
	}
	if ((rc = cli_read_input(&msg)) != 0) {
		fprintf(stderr, "edgespam: reading the message: %s\n",
		    rc == ES_ELIMIT ? "too large" : es_strerror(rc));
		es_buf_release(&msg);
		return rc == ES_ENOMEM ? EX_OSERR : EX_DATAERR;
	}
	if (msg.len == 0) {
		fprintf(stderr, "edgespam: the message on standard input is "
		                "empty\n");
		es_buf_release(&msg);
		return EX_DATAERR;
	}
	if ((rc = cli_open_store(c)) != EX_OK) {
		es_buf_release(&msg);
		return rc;
	}
	if ((e = cls_engine_new()) == NULL) {
		es_buf_release(&msg);
		return EX_OSERR;
	}
	for (i = 0; i < c->nusers; i++) {
		rc = one_user(c, e, c->users[i], &msg, now);
		if (rc != EX_OK && worst == EX_OK)
			worst = rc;
	}
	cls_engine_free(e);
	es_buf_release(&msg);
	return worst;
}
