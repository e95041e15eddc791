/*
 * callbacks.c - one SMTP transaction through libmilter, from MAIL FROM
 * to end of message (DESIGN.md, "A message at SMTP time").
 *
 *   connect   remember the client address (trusted networks, source
 *             tracking)
 *   envfrom   start a message: take the current runtime, {auth_authen}
 *   envrcpt   retrain alias? filtered user? greylisted source? one
 *             identity per message
 *   header    X-DSPAM-* fields are noted for deletion and not scanned;
 *             for a filtered identity the others are kept for scanning,
 *             up to max_scan_bytes (unfiltered mail is not copied)
 *   body      kept likewise (the whole body only when a signature tag
 *             must be added to it)
 *   eom       the user's sender lists first (an allowed sender is
 *             Whitelisted, a blocked one Spam, neither scored nor
 *             learned); else classify; then delete the forged fields,
 *             add ours, and tag the body. Any failure before the first
 *             change takes on_error's action; a failure after it defers
 *             the message, so it is never delivered half-modified.
 *
 * History (history = yes): a filtered message gets one row for its user,
 * written with its learning (pool.c): time, queue id, client address,
 * envelope sender, the first From: and Subject: fields (RFC 2047
 * decoded, made printable and cut to 200 characters by cls_text.h),
 * verdict, probability, signature and the action: rejected under
 * spamAction reject, else tagged; tempfailed, in a second write, when
 * the MTA then refuses our header change. A message the store failed
 * for (on_error) has no row: nothing of it was written.
 *
 * Every path that cannot strip the forged fields defers the message:
 * an X-DSPAM-Result the sender wrote must never reach maildrop.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "cls_source.h"
#include "cls_sender.h"
#include "cls_text.h"
#include "cls_user.h"
#include "es_alloc.h"
#include "es_buf.h"
#include "es_err.h"
#include "es_log.h"
#include "milter.h"

#define MAX_TAGGED_BODY (64u << 20) /* bodies kept whole for a tag */
#define QID_LEN 64

struct forged {
	char *name;
	size_t seq; /* arrival order */
	size_t idx; /* 1-based occurrence of this name, for chgheader */
};

struct msg {
	struct mlt_runtime *rt;
	char *auth;            /* {auth_authen}, NULL when none */
	char sender[128];      /* sanitised, for the log */
	unsigned nrcpt;        /* accepted recipients */
	bool filtered;         /* the identity: a user, or not filtered */
	char user[CLS_USER_MAX + 1];
	bool want_tag;         /* the user's signatureLocation asks for one */
	bool multipart;
	bool in_body;
	bool broken;           /* out of memory while buffering: no verdict */
	bool strip_failed;     /* a forged field could not be noted */
	bool refuse_local;     /* a local submission to a retrain alias:
	                          rejected whole at its end */
	struct es_buf text;    /* header and body as scanned */
	struct es_buf body;    /* the whole body, when want_tag */
	struct forged *forged;
	size_t nforged, capforged;
	int grey;              /* greylist decision: 0 not made, 1 no, 2 yes */
	struct timespec start;
	/* sender lists: the addresses, lowercased ("" when none) */
	char env_addr[CLS_SENDER_MAX + 1];  /* MAIL FROM */
	char from_addr[CLS_SENDER_MAX + 1]; /* the first From: field */
	bool have_from;
	/* history (history = yes): printable, cut (cls_text.h) */
	char h_sender[STORE_HISTORY_TEXT_MAX + 1];  /* MAIL FROM */
	char h_from[STORE_HISTORY_TEXT_MAX + 1];    /* the first From: */
	char h_subject[STORE_HISTORY_TEXT_MAX + 1]; /* the first Subject: */
	bool have_subject;
	struct store_history hist; /* the row written (hist.id > 0) */
};

struct conn {
	struct sockaddr_storage addr;
	bool have_addr;        /* an SMTP client's address (not a local
	                          submission) */
	bool local;            /* a local submission (sendmail(1)) */
	char client[96];       /* sanitised name[addr], for the log */
	char qid[QID_LEN];
	unsigned long nr;      /* protocol steps the MTA needs no reply to */
	struct msg *m;
	bool have_src;         /* src holds the client's source keys */
	struct cls_source_keys src;
};

static atomic_uint inflight;

unsigned
mlt_inflight(void)
{
	return atomic_load(&inflight);
}

/* ---- logging ----------------------------------------------------------- */

static pthread_mutex_t down_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t down_last;
static unsigned long down_count;
static char down_what[256]; /* the failure last logged */

bool
mlt_store_down(unsigned interval, const char *what, unsigned long *suppressed)
{
	struct timespec now;
	bool log_now = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&down_lock);
	if (down_last == 0 || now.tv_sec - down_last >= (time_t)interval ||
	    strcmp(what, down_what) != 0) {
		log_now = true;
		*suppressed = down_count;
		down_count = 0;
		down_last = now.tv_sec;
		strlcpy(down_what, what, sizeof(down_what));
	} else {
		down_count++;
	}
	pthread_mutex_unlock(&down_lock);
	return log_now;
}

static void store_up(void)
{
	pthread_mutex_lock(&down_lock);
	if (down_last != 0) {
		if (down_count > 0)
			es_log_notice("store: working again (%lu more "
			              "failures since the last report)",
			    down_count);
		else
			es_log_notice("store: working again");
		down_last = 0;
		down_count = 0;
		down_what[0] = '\0';
	}
	pthread_mutex_unlock(&down_lock);
}

/* mlog - a log line prefixed with the queue id. */
static void mlog(const struct conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mlog(const struct conn *c, int level, const char *fmt, ...)
{
	char line[1024];
	const char *qid = c != NULL && c->qid[0] ? c->qid : "NOQUEUE";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	switch (level) {
	case LOG_ERR: es_log_err("%s: %s", qid, line); break;
	case LOG_WARNING: es_log_warning("%s: %s", qid, line); break;
	case LOG_NOTICE: es_log_notice("%s: %s", qid, line); break;
	case LOG_INFO: es_log_info("%s: %s", qid, line); break;
	default: es_log_debug("%s: %s", qid, line); break;
	}
}

static void
update_qid(SMFICTX *ctx, struct conn *c)
{
	const char *q = smfi_getsymval(ctx, "i");

	if (q != NULL && *q != '\0')
		es_log_sanitize(q, strlen(q), c->qid, sizeof(c->qid));
}

/* ---- message state ----------------------------------------------------- */

static void
msg_free(struct msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nforged; i++)
		es_free(m->forged[i].name);
	es_free(m->forged);
	es_buf_release(&m->text);
	es_buf_release(&m->body);
	es_free(m->auth);
	mlt_runtime_put(m->rt);
	es_free(m);
	atomic_fetch_sub(&inflight, 1);
}

static void
msg_end(struct conn *c)
{
	if (c != NULL) {
		msg_free(c->m);
		c->m = NULL;
	}
}

static struct conn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* answer - "continue", or no reply where the MTA agreed to need none. */
static sfsistat
answer(const struct conn *c, unsigned long nr_flag)
{
	return c != NULL && (c->nr & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* conn_new - the connection's state, made at negotiation (or at connect
 * for an MTA that does not negotiate). */
static struct conn *
conn_new(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL)
		return c;
	if ((c = es_calloc(1, sizeof(*c))) == NULL) {
		es_log_err("out of memory for a connection: deferred");
		return NULL;
	}
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		es_free(c);
		return NULL;
	}
	return c;
}

static sfsistat
reply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text,
    sfsistat st)
{
	if (smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text) !=
	    MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return st;
}

/* ---- the callbacks ----------------------------------------------------- */

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long want_actions =
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
	const unsigned long want_proto = SMFIP_NR_HDR | SMFIP_NR_BODY |
	    SMFIP_NR_EOH | SMFIP_NR_HELO | SMFIP_NOUNKNOWN | SMFIP_NODATA |
	    SMFIP_NOHELO;
	struct conn *c;

	if ((f0 & want_actions) != want_actions) {
		es_log_err("the MTA does not allow changing headers and body "
			   "(actions 0x%lx): refusing the connection",
		    f0);
		return SMFIS_REJECT;
	}
	*pf0 = want_actions;
	*pf1 = f1 & want_proto;
	*pf2 = 0;
	*pf3 = 0;
	if ((c = conn_new(ctx)) == NULL)
		return SMFIS_TEMPFAIL;
	c->nr = *pf1;
	return SMFIS_CONTINUE;
}

/*
 * conn_source - the source keys of the connection's client, from the
 * address libmilter passed (not from macro text); false when there is
 * none (a local pickup, "unknown").
 */
static bool
conn_source(struct conn *c)
{
	char text[INET6_ADDRSTRLEN];
	const void *a;

	if (!c->have_addr)
		return false;
	a = c->addr.ss_family == AF_INET
	    ? (const void *)&((const struct sockaddr_in *)&c->addr)->sin_addr
	    : (const void *)&((const struct sockaddr_in6 *)&c->addr)->sin6_addr;
	if (inet_ntop(c->addr.ss_family, a, text, sizeof(text)) == NULL)
		return false;
	return cls_source_keys(text, &c->src) == 0;
}

/*
 * local_submission - whether sa is Postfix's stand-in for a local
 * submission: non_smtpd_milters see sendmail(1) mail as coming from
 * 127.0.0.1 (or ::1) with port 0, which no TCP connection has. Any
 * local user can submit such mail, so it never counts as coming from a
 * trusted network.
 */
static bool
local_submission(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_port ==
		    0;
	return ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port == 0;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct conn *c = conn_new(ctx);
	char name[64], addr[64] = "unknown";
	const char *a;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	c->have_addr = c->local = false;
	if (sa != NULL && (sa->sa_family == AF_INET ||
			      sa->sa_family == AF_INET6)) {
		if (local_submission(sa)) {
			c->local = true;
			strlcpy(addr, "local submission", sizeof(addr));
		} else {
			memcpy(&c->addr, sa,
			    sa->sa_family == AF_INET
				? sizeof(struct sockaddr_in)
				: sizeof(struct sockaddr_in6));
			c->have_addr = true;
			if ((a = smfi_getsymval(ctx, "{client_addr}")) != NULL)
				es_log_sanitize(a, strlen(a), addr,
				    sizeof(addr));
		}
	}
	c->have_src = conn_source(c);
	es_log_sanitize(host ? host : "unknown", host ? strlen(host) : 7,
	    name, sizeof(name));
	snprintf(c->client, sizeof(c->client), "%s[%s]", name, addr);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct msg *m;
	const char *auth;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_end(c);
	c->qid[0] = '\0';
	update_qid(ctx, c);
	if ((m = es_calloc(1, sizeof(*m))) == NULL) {
		mlog(c, LOG_ERR, "out of memory for a message: deferred");
		return SMFIS_TEMPFAIL;
	}
	atomic_fetch_add(&inflight, 1);
	c->m = m;
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	if ((m->rt = mlt_runtime_get()) == NULL) {
		mlog(c, LOG_ERR, "no configuration loaded: deferred");
		return SMFIS_TEMPFAIL;
	}
	es_buf_init(&m->text, m->rt->max_scan);
	es_buf_init(&m->body, MAX_TAGGED_BODY);
	if ((auth = smfi_getsymval(ctx, "{auth_authen}")) != NULL &&
	    *auth != '\0' && (m->auth = es_strdup(auth)) == NULL) {
		mlog(c, LOG_ERR, "out of memory: deferred");
		return SMFIS_TEMPFAIL;
	}
	if (argv[0] != NULL) {
		size_t n = strlen(argv[0]);
		const char *a = argv[0];

		es_log_sanitize(argv[0], strlen(argv[0]), m->sender,
		    sizeof(m->sender));
		if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
			a++;
			n -= 2;
		}
		cls_text_printable(a, n, STORE_HISTORY_TEXT_CHARS, m->h_sender,
		    sizeof(m->h_sender), NULL);
		/* the null sender or a junk address: no list entry */
		if (cls_sender_address(argv[0], strlen(argv[0]), m->env_addr,
			sizeof(m->env_addr)) != 0)
			m->env_addr[0] = '\0';
	}
	return SMFIS_CONTINUE;
}

/*
 * user_pref - the user's value of key, else uid 0's, else def; 0 or a
 * store error other than ES_ENOTFOUND.
 */
static int
user_pref(struct store *st, uint32_t uid, const char *key, const char *def,
    char *val, size_t len)
{
	int rc;

	if (uid != 0) {
		rc = store_pref_get(st, uid, key, val, len);
		if (rc != ES_ENOTFOUND)
			return rc;
	}
	rc = store_pref_get(st, 0, key, val, len);
	if (rc == ES_ENOTFOUND)
		snprintf(val, len, "%s", def);
	return rc == ES_ENOTFOUND ? 0 : rc;
}

/*
 * lookup_user - whether user is filtered: the user's optIn/optOut over
 * the domain's policy over the configured default (cls_policy.h), and
 * whether the user's signatures go into the body. When not filtered,
 * why says which of them decided.
 */
static int
lookup_user(struct conn *c, struct msg *m, const char *user, bool *filtered,
    bool *want_tag, char *why, size_t whylen, char *err, size_t errlen)
{
	struct mlt_runtime *rt = m->rt;
	struct mlt_slot *s;
	struct timespec dl;
	enum cls_policy pol = rt->default_policy;
	char text[CLS_POLICY_TEXT_SIZE], in[CLS_POLICY_PREF_SIZE] = "",
	    out[CLS_POLICY_PREF_SIZE] = "", loc[16],
	    dclean[CLS_POLICY_DOMAIN_SIZE];
	const char *dom = strchr(user, '@');
	bool from_domain = false;
	uint32_t uid = 0;
	int rc;

	*filtered = *want_tag = false;
	mlt_deadline_in(rt->timeout_ms, &dl);
	if ((rc = mlt_pool_get(&dl, &s, err, errlen)) != 0)
		return rc;
	if (dom != NULL) {
		es_log_sanitize(dom + 1, strlen(dom + 1), dclean,
		    sizeof(dclean));
		rc = store_domain_get(s->st, dom + 1, text, sizeof(text));
		if (rc == 0 && cls_policy_of_domain(rt->default_policy, text,
				   &pol) != 0) {
			mlog(c, LOG_WARNING,
			    "domain %s has the unknown policy \"%s\": using "
			    "default_policy %s",
			    dclean, text, cls_policy_name(rt->default_policy));
		} else if (rc == 0) {
			from_domain = true;
		} else if (rc != ES_ENOTFOUND) {
			goto fail;
		}
	}
	if (pol == CLS_POLICY_OFF)
		goto done;
	rc = store_user_uid(s->st, user, false, &uid);
	if (rc == ES_ENOTFOUND)
		uid = 0;
	else if (rc != 0)
		goto fail;
	if (uid != 0 &&
	    (pol == CLS_POLICY_OPT_IN || pol == CLS_POLICY_OPT_OUT)) {
		rc = store_pref_get(s->st, uid, "optIn", in, sizeof(in));
		if (rc != 0 && rc != ES_ENOTFOUND)
			goto fail;
		rc = store_pref_get(s->st, uid, "optOut", out, sizeof(out));
		if (rc != 0 && rc != ES_ENOTFOUND)
			goto fail;
	}
	*filtered = cls_policy_filtered(pol, in, out);
	if (*filtered) {
		rc = user_pref(s->st, uid, "signatureLocation", rt->sig_location,
		    loc, sizeof(loc));
		if (rc != 0)
			goto fail;
		*want_tag = strcmp(loc, "message") == 0 ||
		    strcmp(loc, "both") == 0;
	}
done:
	mlt_pool_put(s, false);
	if (!*filtered)
		cls_policy_why_not(pol, from_domain ? dclean : NULL, in, out,
		    why, whylen);
	mlog(c, LOG_DEBUG, "recipient %s: domain policy %s, %sfiltered%s", user,
	    cls_policy_name(pol), *filtered ? "" : "not ",
	    *want_tag ? ", signature tag in the body" : "");
	return 0;
fail:
	snprintf(err, errlen, "%s", store_errmsg(s->st));
	mlt_pool_put(s, rc == ES_ESTORE);
	return rc;
}

/*
 * store_failed - log a failure and answer by on_error. The same failure
 * again is logged once per store_down_log_interval_s, with the number
 * of repeats in between (a full disk or a database away would otherwise
 * log a line per message); a different failure is logged at once.
 */
static sfsistat
store_failed(SMFICTX *ctx, struct conn *c, int rc, const char *what,
    const char *err)
{
	struct mlt_runtime *rt = c->m->rt;
	unsigned long n = 0;
	char key[256];
	const char *act = rt->on_error == MLT_TEMPFAIL ? "deferred"
	                                               : "passed unfiltered";
	const char *detail = err[0] ? err : es_strerror(rc);

	snprintf(key, sizeof(key), "%s: %s", what, detail);
	if (mlt_store_down(rt->store_down_log_s, key, &n))
		mlog(c, LOG_ERR, "%s: %s%s: %s (on_error); %lu more since the "
		    "last report", what, rc == ES_ETRANSIENT ?
		    "store unavailable: " : "", detail, act, n);
	if (rt->on_error == MLT_TEMPFAIL)
		return reply(ctx, "451", "4.3.0",
		    "Temporary failure of the mail filter, try again later",
		    SMFIS_TEMPFAIL);
	return SMFIS_CONTINUE;
}

/*
 * greylisted - whether the client is greylisted (greylist_spam_streak):
 * its address's or its network's run of Spam verdicts has reached the
 * threshold and the last one is within greylist_window_s. Decided once
 * per message and logged; a store failure never greylists (logged,
 * and the recipient goes on as usual). A session authenticated with
 * SMTP AUTH or a client in trusted_networks is never greylisted.
 */
static bool
greylisted(struct conn *c, struct msg *m, const char *rcpt)
{
	struct mlt_runtime *rt = m->rt;
	struct store_source rows[2];
	struct mlt_slot *s;
	struct timespec dl;
	char err[256] = "";
	time_t now = time(NULL);
	int rc;

	if (rt->grey_streak == 0 || !c->have_src)
		return false;
	/* the site's own clients: its users and its relays */
	if (m->auth != NULL ||
	    pol_net_match(rt->nets, rt->nnets,
		(const struct sockaddr *)&c->addr))
		return false;
	if (m->grey != 0)
		return m->grey == 2;
	memset(rows, 0, sizeof(rows));
	strlcpy(rows[0].source, c->src.addr, sizeof(rows[0].source));
	strlcpy(rows[1].source, c->src.net, sizeof(rows[1].source));
	mlt_deadline_in(rt->timeout_ms, &dl);
	if ((rc = mlt_pool_get(&dl, &s, err, sizeof(err))) == 0) {
		if ((rc = store_sources_get(s->st, rows, 2)) != 0)
			snprintf(err, sizeof(err), "%s", store_errmsg(s->st));
		mlt_pool_put(s, rc == ES_ESTORE);
	}
	if (rc != 0) {
		mlog(c, LOG_WARNING, "greylist check for %s: %s: accepted "
		    "(a store error never greylists)", rcpt,
		    err[0] ? err : es_strerror(rc));
		return false; /* not cached: the next recipient tries again */
	}
	m->grey = 1;
	for (size_t i = 0; i < 2; i++) {
		if (!pol_greylist(rows[i].spam_streak, rows[i].last_spam,
			rt->grey_streak, rt->grey_window_s, now))
			continue;
		mlog(c, LOG_INFO, "greylist: %s has %llu Spam verdicts in a "
		    "row, the last %llds ago (greylist_spam_streak %u, "
		    "greylist_window_s %u)", rows[i].source,
		    (unsigned long long)rows[i].spam_streak,
		    (long long)(now - rows[i].last_spam), rt->grey_streak,
		    rt->grey_window_s);
		m->grey = 2;
		break;
	}
	if (m->grey == 1)
		mlog(c, LOG_DEBUG, "greylist: %s streak %llu, %s streak %llu: "
		    "not greylisted", rows[0].source,
		    (unsigned long long)rows[0].spam_streak, rows[1].source,
		    (unsigned long long)rows[1].spam_streak);
	return m->grey == 2;
}

static int lists_lookup(struct store *st, uint32_t uid,
    const struct cls_sender_cands *cands, struct cls_sender_decision *d);

/*
 * env_allowed - whether user's allow list takes the envelope sender
 * (the only sender known at RCPT): a sender the user allowed is never
 * greylisted. A store error counts as allowed, since a store error
 * never greylists (logged).
 */
static bool
env_allowed(struct conn *c, struct msg *m, const char *user,
    const char *rcpt)
{
	struct cls_sender_cands cands;
	struct cls_sender_decision d;
	struct mlt_slot *s;
	struct timespec dl;
	char err[256] = "";
	uint32_t uid;
	int rc;

	cls_sender_cands_init(&cands);
	if (m->env_addr[0] == '\0' ||
	    cls_sender_candidates(&cands, m->env_addr, CLS_SENDER_ENVELOPE) !=
	        0 ||
	    cands.n == 0)
		return false;
	memset(&d, 0, sizeof(d));
	mlt_deadline_in(m->rt->timeout_ms, &dl);
	if ((rc = mlt_pool_get(&dl, &s, err, sizeof(err))) == 0) {
		rc = store_user_uid(s->st, user, false, &uid);
		if (rc == 0)
			rc = lists_lookup(s->st, uid, &cands, &d);
		if (rc != 0 && rc != ES_ENOTFOUND)
			snprintf(err, sizeof(err), "%s", store_errmsg(s->st));
		mlt_pool_put(s, rc == ES_ESTORE);
	}
	if (rc == ES_ENOTFOUND) /* a new user has no lists */
		return false;
	if (rc != 0) {
		mlog(c, LOG_WARNING, "greylist check for %s: sender lists: %s: "
		    "accepted (a store error never greylists)", rcpt,
		    err[0] ? err : es_strerror(rc));
		return true;
	}
	if (d.list != CLS_SENDER_ALLOW)
		return false;
	mlog(c, LOG_INFO, "greylist: %s is on the allow list of %s: not "
	    "greylisted", es_log_sanitize(m->env_addr, strlen(m->env_addr),
			      err, sizeof(err)), user);
	return true;
}

/* trusted - whether the client is in trusted_networks (a local
 * submission never is: it has no address). */
static bool
trusted(const struct conn *c, const struct mlt_runtime *rt)
{
	return c->have_addr && pol_net_match(rt->nets, rt->nnets,
	                           (const struct sockaddr *)&c->addr);
}

/* refuse_rcpt - a recipient with no delivery form: bad_recipient_action. */
static sfsistat
refuse_rcpt(SMFICTX *ctx, const struct conn *c, const char *clean,
    const char *why)
{
	bool tf = c->m->rt->bad_rcpt_tempfail;

	mlog(c, LOG_NOTICE, "recipient %s from %s %s: %s (bad_recipient_action)",
	    clean, c->client, tf ? "deferred" : "refused", why);
	if (tf)
		return reply(ctx, "451", "4.1.3",
		    "Cannot resolve this recipient address now", SMFIS_TEMPFAIL);
	return reply(ctx, "553", "5.1.3",
	    "Recipient address not accepted in this form", SMFIS_REJECT);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct msg *m;
	struct mlt_runtime *rt;
	struct pol_rcpt d;
	char clean[128], why[160] = "", err[256] = "";
	bool filtered = false, want_tag = false;
	const char *a;
	size_t len;
	int rc;

	if (c == NULL || (m = c->m) == NULL || m->rt == NULL)
		return SMFIS_TEMPFAIL;
	rt = m->rt;
	update_qid(ctx, c);
	a = argv[0] != NULL ? argv[0] : "";
	len = strlen(a);
	/* the log shows the address as written, without its brackets */
	if (len >= 2 && a[0] == '<' && a[len - 1] == '>')
		es_log_sanitize(a + 1, len - 2, clean, sizeof(clean));
	else
		es_log_sanitize(a, len, clean, sizeof(clean));
	/* decided once, on the form the MTA delivers to (policy.h) */
	pol_rcpt_decide(&rt->rules, a, len, smfi_getsymval(ctx, "{rcpt_addr}"),
	    &d);
	switch (d.kind) {
	case POL_RCPT_REFUSE:
		return refuse_rcpt(ctx, c, clean, d.why);
	case POL_RCPT_ALIAS:
		if (!pol_auth_owns(m->auth, d.user) && !trusted(c, rt) &&
		    c->local) {
			/* Postfix cannot refuse one recipient of a local
			 * submission (it keeps the message and tries again):
			 * the whole message is refused at its end */
			mlog(c, LOG_NOTICE,
			    "retrain alias %s of %s refused for a local "
			    "submission (no SMTP AUTH, never a trusted "
			    "network): the message is rejected at its end",
			    clean, d.user);
			m->refuse_local = true;
			return SMFIS_CONTINUE;
		}
		if (!pol_auth_owns(m->auth, d.user) && !trusted(c, rt)) {
			mlog(c, LOG_NOTICE,
			    "retrain alias %s of %s refused for %s (not its "
			    "owner, not a trusted network)",
			    clean, d.user, c->client);
			return reply(ctx, "550", "5.7.1",
			    "Retraining is accepted only from the owner of "
			    "this address",
			    SMFIS_REJECT);
		}
		snprintf(why, sizeof(why), "retrain alias of %s", d.user);
		break;
	case POL_RCPT_POSTMASTER:
		snprintf(why, sizeof(why), "postmaster");
		break;
	case POL_RCPT_USER:
		rc = lookup_user(c, m, d.user, &filtered, &want_tag, why,
		    sizeof(why), err, sizeof(err));
		if (rc != 0) {
			sfsistat st = store_failed(ctx, c, rc, "recipient", err);

			if (st != SMFIS_CONTINUE)
				return st;
			filtered = false;
			snprintf(why, sizeof(why), "store error (on_error)");
		}
		if (filtered && greylisted(c, m, clean) &&
		    !env_allowed(c, m, d.user, clean)) {
			mlog(c, LOG_INFO, "%s deferred: greylisted source %s",
			    clean, c->client);
			return reply(ctx, "451", "4.7.1",
			    "Too much spam from your address recently, try "
			    "again later",
			    SMFIS_TEMPFAIL);
		}
		break;
	}
	if (!filtered)
		mlog(c, LOG_INFO, "recipient %s: not filtered (%s)", clean, why);

	if (m->nrcpt > 0 && (filtered != m->filtered ||
				(filtered && strcmp(d.user, m->user) != 0))) {
		if (rt->grouping == MLT_SPLIT) {
			mlog(c, LOG_INFO,
			    "%s deferred: another filtering identity than the "
			    "first recipient's (split)",
			    clean);
			return reply(ctx, rt->split_rcode, rt->split_xcode,
			    rt->split_text, SMFIS_TEMPFAIL);
		}
		if (!(filtered && !m->filtered)) {
			m->nrcpt++;
			return SMFIS_CONTINUE;
		}
		/* first: the first opted-in recipient decides */
	}
	m->filtered = filtered;
	m->want_tag = filtered && want_tag;
	if (filtered)
		snprintf(m->user, sizeof(m->user), "%s", d.user);
	m->nrcpt++;
	return SMFIS_CONTINUE;
}

static bool
is_dspam_name(const char *name)
{
	return strncasecmp(name, "X-DSPAM-", 8) == 0;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	sfsistat ok = answer(c, SMFIP_NR_HDR);
	struct msg *m;

	if (c == NULL || (m = c->m) == NULL)
		return ok; /* eom defers a message without state */
	if (is_dspam_name(name)) {
		struct forged *f;

		if (m->nforged == m->capforged) {
			size_t cap = m->capforged ? m->capforged * 2 : 8;

			f = es_reallocarray(m->forged, cap, sizeof(*f));
			if (f == NULL) {
				m->strip_failed = true;
				return ok;
			}
			m->forged = f;
			m->capforged = cap;
		}
		f = &m->forged[m->nforged];
		if ((f->name = es_strdup(name)) == NULL) {
			m->strip_failed = true;
			return ok;
		}
		f->seq = m->nforged++;
		return ok;
	}
	if (m->filtered && !m->have_from && strcasecmp(name, "From") == 0) {
		m->have_from = true; /* only the first From: field counts */
		if (cls_sender_address(value, strlen(value), m->from_addr,
			sizeof(m->from_addr)) != 0)
			m->from_addr[0] = '\0';
		if (m->rt->history)
			(void)cls_text_header(value, strlen(value),
			    STORE_HISTORY_TEXT_CHARS, m->h_from,
			    sizeof(m->h_from));
	}
	if (m->filtered && m->rt->history && !m->have_subject &&
	    strcasecmp(name, "Subject") == 0) {
		m->have_subject = true;
		/* out of memory leaves it printable, not decoded */
		(void)cls_text_header(value, strlen(value),
		    STORE_HISTORY_TEXT_CHARS, m->h_subject,
		    sizeof(m->h_subject));
	}
	if (strcasecmp(name, "Content-Type") == 0 &&
	    strncasecmp(value + strspn(value, " \t"), "multipart/", 10) == 0)
		m->multipart = true;
	if (m->filtered && m->text.len < m->text.max) {
		int rc = es_buf_puts(&m->text, name);

		if (rc == 0)
			rc = es_buf_puts(&m->text, ": ");
		if (rc == 0)
			rc = es_buf_puts(&m->text, value);
		if (rc == 0)
			rc = es_buf_puts(&m->text, "\r\n");
		if (rc == ES_ENOMEM)
			m->broken = true;
	}
	return ok;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	sfsistat ok = answer(c, SMFIP_NR_EOH);

	if (c != NULL && c->m != NULL) {
		c->m->in_body = true;
		if (c->m->filtered &&
		    es_buf_puts(&c->m->text, "\r\n") == ES_ENOMEM)
			c->m->broken = true;
	}
	return ok;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = conn_of(ctx);
	sfsistat ok = answer(c, SMFIP_NR_BODY);
	struct msg *m;
	size_t room;
	int rc;

	if (c == NULL || (m = c->m) == NULL)
		return ok;
	if (!m->filtered) /* nothing to scan: the body passes as it is */
		return ok;
	if (!m->in_body) { /* no end-of-header step from the MTA */
		m->in_body = true;
		(void)es_buf_puts(&m->text, "\r\n");
	}
	if (m->text.len < m->text.max) {
		room = m->text.max - m->text.len;
		rc = es_buf_append(&m->text, data, len < room ? len : room);
		if (rc == ES_ENOMEM)
			m->broken = true;
	}
	if (m->want_tag && !m->multipart) {
		rc = es_buf_append(&m->body, data, len);
		if (rc != 0) { /* too big or no memory: no tag, still scanned */
			m->want_tag = false;
			es_buf_release(&m->body);
			mlog(c, LOG_WARNING,
			    "body %s: the signature goes only into the header",
			    rc == ES_ELIMIT ? "too large to tag"
			                    : "not kept (out of memory)");
		}
	}
	return ok;
}

static int
cmp_forged(const void *a, const void *b)
{
	const struct forged *x = a, *y = b;
	int d = strcasecmp(x->name, y->name);

	if (d != 0)
		return d;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * strip - delete every X-DSPAM-* field the message came with. For each
 * name, the highest occurrence goes first, so the lower indexes stay
 * right. Returns false when libmilter refused a change.
 */
static bool
strip(SMFICTX *ctx, struct msg *m)
{
	size_t i;

	if (m->nforged == 0)
		return true;
	qsort(m->forged, m->nforged, sizeof(*m->forged), cmp_forged);
	for (i = 0; i < m->nforged; i++)
		m->forged[i].idx = i > 0 && strcasecmp(m->forged[i].name,
		                                m->forged[i - 1].name) == 0
		    ? m->forged[i - 1].idx + 1
		    : 1;
	for (i = m->nforged; i-- > 0;)
		if (smfi_chgheader(ctx, m->forged[i].name,
			(int)m->forged[i].idx, NULL) != MI_SUCCESS)
			return false;
	return true;
}

static int msg_lists(struct msg *m, struct store *st, uint32_t uid,
    struct cls_sender_decision *d, char *pat, size_t patlen);

/* hist_fill - m->hist: the history row of m for uid (texts in c, m). */
static void
hist_fill(const struct conn *c, struct msg *m, uint32_t uid, time_t now,
    enum cls_result result, double prob, enum store_action action)
{
	struct store_history *h = &m->hist;

	memset(h, 0, sizeof(*h));
	h->uid = uid;
	h->time = (int64_t)now;
	h->queue_id = c->qid;
	h->client = c->have_src ? c->src.addr : "";
	h->sender = m->h_sender;
	h->from = m->h_from;
	h->subject = m->h_subject;
	h->verdict = result == CLS_SPAM ? STORE_VERDICT_SPAM
	    : result == CLS_WHITELISTED ? STORE_VERDICT_WHITELISTED
	                                : STORE_VERDICT_INNOCENT;
	/* the store refuses what is not a probability */
	h->probability = prob >= 0.0 && prob <= 1.0 ? prob : prob > 1.0;
	h->signature = "";
	h->action = action;
}

/*
 * hist_listed - the history row of a message a sender list decided, in
 * a write of its own on slot s (nothing else of it is written). A
 * failure is logged; the message goes on.
 */
static void
hist_listed(struct conn *c, struct msg *m, struct mlt_slot *s, uint32_t uid,
    const struct cls_sender_decision *d, bool reject, time_t now,
    const struct timespec *dl)
{
	char err[256] = "";
	bool allow = d->list == CLS_SENDER_ALLOW;
	int rc;

	hist_fill(c, m, uid, now, allow ? CLS_WHITELISTED : CLS_SPAM,
	    allow ? 0.0 : 1.0,
	    !allow && reject ? STORE_ACTION_REJECTED : STORE_ACTION_TAGGED);
	if ((rc = mlt_pool_history(s, dl, &m->hist, err, sizeof(err))) != 0)
		mlog(c, LOG_WARNING, "history row not written: %s",
		    err[0] ? err : es_strerror(rc));
}

/* hist_tempfailed - mark m's history row (if written) tempfailed. */
static void
hist_tempfailed(struct conn *c, struct msg *m)
{
	struct timespec dl;
	char err[256] = "";
	int rc;

	if (m->hist.id <= 0)
		return;
	mlt_deadline_in(m->rt->timeout_ms, &dl);
	if ((rc = mlt_pool_history_action(m->hist.uid, m->hist.id,
		 STORE_ACTION_TEMPFAILED, &dl, err, sizeof(err))) != 0)
		mlog(c, LOG_WARNING, "history row %lld not marked tempfailed: "
		    "%s", (long long)m->hist.id,
		    err[0] ? err : es_strerror(rc));
}

/*
 * classify - process the message for m->user: the user's sender lists
 * first (when one decides, dec->list says which and nothing is scored
 * or learned), else classify, learn, store the signature. Fills res
 * and whether spamAction is reject. One pool slot and one uid lookup
 * serve both.
 */
static int
classify(struct conn *c, struct msg *m, struct cls_engine_result *res,
    struct cls_sender_decision *dec, char *pat, size_t patlen, bool *reject,
    char *err, size_t errlen)
{
	struct mlt_runtime *rt = m->rt;
	struct cls_engine_cfg cfg;
	struct mlt_slot *s;
	struct timespec dl;
	unsigned char rnd[16];
	char act[16];
	uint32_t uid = 0;
	time_t now = time(NULL);
	int rc, urc;

	*reject = false;
	memset(dec, 0, sizeof(*dec));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		snprintf(err, errlen, "no random bytes for a signature: %s",
		    strerror(errno));
		return ES_EINTERNAL;
	}
	mlt_deadline_in(rt->timeout_ms, &dl);
	if ((rc = mlt_pool_get(&dl, &s, err, errlen)) != 0)
		return rc;
	/* a user's lists decide before anything is parsed or scored (a
	 * user not created yet has none) */
	urc = store_user_uid(s->st, m->user, false, &uid);
	if (urc == 0 &&
	    (urc = msg_lists(m, s->st, uid, dec, pat, patlen)) == 0 &&
	    dec->list != CLS_SENDER_NONE) {
		if (dec->list == CLS_SENDER_BLOCK &&
		    (urc = user_pref(s->st, uid, "spamAction", "tag", act,
			 sizeof(act))) == 0)
			*reject = strcmp(act, "reject") == 0;
		if (urc == 0) {
			if (rt->history)
				hist_listed(c, m, s, uid, dec, *reject, now,
				    &dl);
			mlt_pool_put(s, false);
			return 0;
		}
	}
	if (urc != 0 && urc != ES_ENOTFOUND) {
		snprintf(err, errlen, "%s", store_errmsg(s->st));
		mlt_pool_put(s, urc == ES_ESTORE);
		return urc;
	}
	/* Parse, tokenize, read and score outside the write lock; the
	 * writes go through the pool's group writer. */
	rc = cls_engine_tokenize(s->eng, &rt->ecfg,
	    c->have_src ? c->src.addr : NULL,
	    m->text.data ? m->text.data : "", m->text.len, res, err, errlen);
	if (rc != 0) {
		mlt_pool_put(s, false);
		return rc;
	}
	if (rt->track_sources)
		cls_engine_count_source(s->eng);
	rc = urc;
	if (rc == ES_ENOTFOUND) {
		/* a user's first message: creating it is a write */
		if ((rc = mlt_pool_lock_write(s, &dl, err, errlen)) != 0) {
			mlt_pool_put(s, false);
			return rc;
		}
		/* on a Galera cluster the first messages of a new user
		 * through several nodes conflict: create it again */
		for (unsigned n = 1;; n++) {
			rc = store_user_uid(s->wst, m->user, true, &uid);
			if (!mlt_pool_conflict_pause(s->wst, rc, n, &dl))
				break;
		}
		if (rc != 0) {
			snprintf(err, errlen, "%s", store_errmsg(s->wst));
			mlt_pool_put(s, rc == ES_ESTORE);
			return rc;
		}
	}
	if (rc != 0 ||
	    (rc = cls_engine_user_cfg(s->st, uid, &rt->ecfg, &cfg)) != 0 ||
	    (rc = user_pref(s->st, uid, "spamAction", "tag", act,
		 sizeof(act))) != 0) {
		snprintf(err, errlen, "%s", store_errmsg(s->st));
		mlt_pool_put(s, rc == ES_ESTORE);
		return rc;
	}
	*reject = strcmp(act, "reject") == 0;
	if (s->writer) /* a new user's first message */
		mlt_pool_unlock_write(s);
	if ((rc = cls_engine_score_tokenized(s->eng, s->st, uid, &cfg, res, err,
		 errlen)) != 0) {
		mlt_pool_put(s, rc == ES_ESTORE);
		return rc;
	}
	if (rt->history)
		hist_fill(c, m, uid, now, res->result, res->probability,
		    *reject && res->result == CLS_SPAM ? STORE_ACTION_REJECTED
		                                       : STORE_ACTION_TAGGED);
	rc = mlt_pool_learn(s, rnd, now, &dl, res,
	    rt->history ? &m->hist : NULL, err, errlen);
	mlt_pool_put(s, false);
	return rc;
}

/* add_fields - our X-DSPAM-* fields and, where asked, the body tag. */
static bool
add_fields(SMFICTX *ctx, struct msg *m, const struct cls_engine_result *res)
{
	struct cls_engine_headers h;
	char tag[CLS_SIG_ID_LEN + 16];
	size_t i;
	bool ok = true;

	if (cls_engine_headers(res, time(NULL), &h) != 0)
		return false;
	for (i = 0; ok && i < h.n; i++)
		ok = smfi_addheader(ctx, (char *)h.name[i],
		         (char *)cls_engine_header_value(&h, i)) == MI_SUCCESS;
	es_buf_release(&h.buf);
	if (!ok || !m->want_tag || m->multipart || res->sig[0] == '\0')
		return ok;
	snprintf(tag, sizeof(tag), "%s!DSPAM:%s!\r\n",
	    m->body.len > 0 && m->body.data[m->body.len - 1] != '\n' ? "\r\n"
	                                                           : "",
	    res->sig);
	if (m->body.len > 0 &&
	    smfi_replacebody(ctx, (unsigned char *)m->body.data,
		(int)m->body.len) != MI_SUCCESS)
		return false;
	return smfi_replacebody(ctx, (unsigned char *)tag, (int)strlen(tag)) ==
	    MI_SUCCESS;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The sender lists: a message's candidates fit one store lookup. */
_Static_assert(CLS_SENDER_CANDIDATES <= STORE_SENDER_FIND_MAX,
    "a message's sender candidates fit one store lookup");

/* lists_lookup - the decision of uid's lists on the candidates. */
static int
lists_lookup(struct store *st, uint32_t uid,
    const struct cls_sender_cands *cands, struct cls_sender_decision *d)
{
	enum store_sender_list found[CLS_SENDER_CANDIDATES];
	enum cls_sender_list lists[CLS_SENDER_CANDIDATES];
	const char *pats[CLS_SENDER_CANDIDATES];
	size_t i;
	int rc;

	for (i = 0; i < cands->n; i++)
		pats[i] = cands->pat[i];
	if ((rc = store_sender_find(st, uid, pats, cands->n, found)) != 0)
		return rc;
	for (i = 0; i < cands->n; i++)
		lists[i] = found[i] == STORE_SENDER_ALLOW ? CLS_SENDER_ALLOW
		    : found[i] == STORE_SENDER_BLOCK      ? CLS_SENDER_BLOCK
		                                          : CLS_SENDER_NONE;
	cls_sender_decide(cands, lists, d);
	return 0;
}

/*
 * msg_lists - whether uid's allow or block list decides the message
 * (DSPAM's Whitelisted, or Spam) before any scoring: one lookup of the
 * candidates of the envelope sender and the From: address
 * (cls_sender.h) on the caller's handle. d->list is NONE when neither
 * is listed or the user has no lists; d->pattern is copied into pat.
 */
static int
msg_lists(struct msg *m, struct store *st, uint32_t uid,
    struct cls_sender_decision *d, char *pat, size_t patlen)
{
	struct cls_sender_cands cands;
	int rc;

	memset(d, 0, sizeof(*d));
	cls_sender_cands_init(&cands);
	/* an address that gives no candidate simply is not listed */
	if (m->env_addr[0] != '\0')
		(void)cls_sender_candidates(&cands, m->env_addr,
		    CLS_SENDER_ENVELOPE);
	if (m->from_addr[0] != '\0')
		(void)cls_sender_candidates(&cands, m->from_addr,
		    CLS_SENDER_FROM);
	if (cands.n == 0)
		return 0;
	if ((rc = lists_lookup(st, uid, &cands, d)) != 0)
		return rc;
	if (d->pattern != NULL) { /* cands dies here: the caller's copy */
		snprintf(pat, patlen, "%s", d->pattern);
		d->pattern = pat;
	}
	return 0;
}

/*
 * listed - the end of a message a sender list decided: DSPAM's result
 * fields without a signature (nothing was scored or learned), or the
 * SMTP rejection of a blocked sender under spamAction reject.
 */
static sfsistat
listed(SMFICTX *ctx, struct conn *c, struct msg *m,
    const struct cls_sender_decision *d, bool reject,
    const struct timespec *t0)
{
	struct cls_engine_result res;
	const char *list = cls_sender_list_name(d->list);
	char pat[CLS_SENDER_MAX + 1];

	memset(&res, 0, sizeof(res));
	res.result = d->list == CLS_SENDER_ALLOW ? CLS_WHITELISTED : CLS_SPAM;
	res.probability = d->list == CLS_SENDER_ALLOW ? 0.0 : 1.0;
	res.confidence = 1.0;
	es_log_sanitize(d->pattern, strlen(d->pattern), pat, sizeof(pat));
	if (reject) {
		mlog(c, LOG_INFO, "user=%s from=%s result=Spam list=block "
		    "pattern=%s matched=%s: rejected (spamAction reject)",
		    m->user, m->sender, pat, cls_sender_source_name(d->src));
		return reply(ctx, "550", "5.7.1", "Message rejected as spam",
		    SMFIS_REJECT);
	}
	if (!strip(ctx, m) || !add_fields(ctx, m, &res)) {
		mlog(c, LOG_ERR, "the MTA refused a header change: deferred so "
				 "that nothing half-changed is delivered");
		hist_tempfailed(c, m);
		return SMFIS_TEMPFAIL;
	}
	mlog(c, LOG_INFO, "user=%s from=%s result=%s list=%s pattern=%s "
	    "matched=%s removed=%zu ms=%ld", m->user, m->sender,
	    cls_result_name(res.result), list, pat,
	    cls_sender_source_name(d->src), m->nforged, elapsed_ms(t0));
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct cls_engine_result res;
	struct cls_sender_decision dec;
	struct timespec t0;
	struct msg *m;
	char err[256] = "", pat[CLS_SENDER_MAX + 1], dict[64] = "";
	bool reject;
	sfsistat st;
	int rc;

	if (c == NULL || (m = c->m) == NULL || m->rt == NULL) {
		mlog(c, LOG_ERR, "no state for this message (out of "
				 "memory earlier): deferred");
		return SMFIS_TEMPFAIL;
	}
	update_qid(ctx, c);
	if (m->refuse_local) {
		st = reply(ctx, "550", "5.7.1",
		    "Retraining is accepted only from the owner of this "
		    "address",
		    SMFIS_REJECT);
		goto out;
	}
	if (m->strip_failed) {
		mlog(c, LOG_ERR, "out of memory noting X-DSPAM fields: deferred");
		st = SMFIS_TEMPFAIL;
		goto out;
	}
	if (!m->filtered) {
		st = strip(ctx, m) ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
		if (m->nforged > 0)
			mlog(c, LOG_INFO, "not filtered; %zu X-DSPAM field%s "
			    "removed%s", m->nforged, m->nforged == 1 ? "" : "s",
			    st == SMFIS_CONTINUE ? "" : " failed: deferred");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&res, 0, sizeof(res));
	if (m->broken) {
		rc = ES_ENOMEM;
		snprintf(err, sizeof(err), "out of memory buffering the message");
	} else if ((rc = classify(c, m, &res, &dec, pat, sizeof(pat), &reject,
			err, sizeof(err))) == 0 &&
	    dec.list != CLS_SENDER_NONE) {
		store_up();
		st = listed(ctx, c, m, &dec, reject, &t0);
		goto out;
	}
	if (rc != 0) {
		st = store_failed(ctx, c, rc, "classification", err);
		if (st == SMFIS_CONTINUE && !strip(ctx, m))
			st = SMFIS_TEMPFAIL;
		goto out;
	}
	store_up();
	if (reject && res.result == CLS_SPAM) {
		mlog(c, LOG_INFO, "user=%s from=%s result=Spam probability=%.4f "
		    "signature=%s: rejected (spamAction reject)", m->user,
		    m->sender, res.probability, res.sig);
		st = reply(ctx, "550", "5.7.1", "Message rejected as spam",
		    SMFIS_REJECT);
		goto out;
	}
	if (!strip(ctx, m) || !add_fields(ctx, m, &res)) {
		mlog(c, LOG_ERR, "the MTA refused a header change: deferred so "
				 "that nothing half-changed is delivered");
		hist_tempfailed(c, m);
		st = SMFIS_TEMPFAIL;
		goto out;
	}
	if (res.shared)
		snprintf(dict, sizeof(dict), " dictionary=shared user-weight=%.2f",
		    res.user_weight);
	mlog(c, LOG_INFO, "user=%s from=%s result=%s probability=%.4f "
	    "confidence=%.2f signature=%s tokens=%zu removed=%zu ms=%ld%s",
	    m->user, m->sender, cls_result_name(res.result), res.probability,
	    res.confidence, res.sig, res.ntokens, m->nforged, elapsed_ms(&t0),
	    dict);
	st = SMFIS_CONTINUE;
out:
	msg_end(c);
	return st;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	msg_end(conn_of(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL) {
		msg_end(c);
		smfi_setpriv(ctx, NULL);
		es_free(c);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc mlt_desc = {
	.xxfi_name = "edgespam",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
	.xxfi_connect = cb_connect,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};
