/*
 * miltc_reply.c - the milter's replies: verdicts, modification
 * replies (kept for -o and counted for the benchmark), awaiting the
 * final reply to a command, option negotiation and the macros sent.
 */

#include "miltc.h"

const char *
miltc_verdict_name(int v)
{
	switch (v) {
	case SMFIR_CONTINUE:
		return "continue";
	case SMFIR_ACCEPT:
		return "accept";
	case SMFIR_REJECT:
		return "reject";
	case SMFIR_TEMPFAIL:
		return "tempfail";
	case SMFIR_DISCARD:
		return "discard";
	case SMFIR_SKIP:
		return "skip";
	case SMFIR_REPLYCODE:
		return "replycode";
	case SMFIR_CONN_FAIL:
		return "connfail";
	case SMFIR_SHUTDOWN:
		return "shutdown";
	case R_NOREPLY:
		return "noreply";
	case R_NORCPT:
		return "norcpt";
	default:
		return "unknown";
	}
}

/* miltc_say_verdict - the name, and the text of a replycode still in c_rep */
void
miltc_say_verdict(struct conn *c, int v)
{
	miltc_say(c, "%s", miltc_verdict_name(v));
	if (v == SMFIR_REPLYCODE) {
		miltc_say(c, " ");
		miltc_say_str(c, c->c_rep.data);
	}
}

/* miltc_temp_reply - the reply v (its text in c_rep) is a temporary failure */
bool
miltc_temp_reply(const struct conn *c, int v)
{
	return v == SMFIR_TEMPFAIL ||
	       (v == SMFIR_REPLYCODE && c->c_rep.len > 0 &&
	           c->c_rep.data[0] == '4');
}

/* check_replycode - "4xx ..." or "5xx ...", as sendmail insists */
static int
check_replycode(struct conn *c, const char *what)
{
	const char *s = c->c_rep.data;

	if (c->c_rep.len < 4 || s[c->c_rep.len - 1] != '\0' ||
	    (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9' || (s[3] != ' ' && s[3] != '-'))
		return miltc_conn_err(c, "%s: malformed replycode reply", what);
	return 0;
}

/* rep_str - the NUL-terminated string at *off in the reply, or NULL */
static const char *
rep_str(const struct conn *c, size_t *off)
{
	const char *s = c->c_rep.data + *off, *nul;

	if (*off >= c->c_rep.len)
		return NULL;
	if ((nul = memchr(s, '\0', c->c_rep.len - *off)) == NULL)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

/* mod_action - the action flag a modification reply needs */
static uint32_t
mod_action(int t)
{
	switch (t) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
		return SMFIF_ADDHDRS;
	case SMFIR_CHGHEADER:
		return SMFIF_CHGHDRS;
	case SMFIR_REPLBODY:
		return SMFIF_CHGBODY;
	case SMFIR_ADDRCPT:
		return SMFIF_ADDRCPT;
	case SMFIR_ADDRCPT_PAR:
		return SMFIF_ADDRCPT_PAR;
	case SMFIR_DELRCPT:
		return SMFIF_DELRCPT;
	case SMFIR_CHGFROM:
		return SMFIF_CHGFROM;
	case SMFIR_QUARANTINE:
		return SMFIF_QUARANTINE;
	default:
		return 0;
	}
}

/* count_result - tally the X-DSPAM-Result values a header edit sets */
static void
count_result(struct result *res, const char *name, const char *value)
{
	while (*value == ' ' || *value == '\t')
		value++;
	if (strcasecmp(name, "X-DSPAM-Result") != 0)
		return;
	if (strncasecmp(value, "Spam", 4) == 0)
		res->r_spam++;
	else if (strncasecmp(value, "Innocent", 8) == 0 ||
	         strncasecmp(value, "Whitelisted", 11) == 0)
		res->r_innocent++;
}

/* keep_mod - record a header edit for -o */
static int
keep_mod(struct conn *c, struct result *res, int t, uint32_t idx,
    const char *name, const char *value)
{
	struct mod *md;

	if (res->r_nmods == res->r_cap) {
		md = es_reallocarray(
		    res->r_mods, res->r_cap * 2 + 8, sizeof(*md));
		if (md == NULL)
			return miltc_conn_err(
			    c, "EOM: out of memory for edits");
		res->r_mods = md;
		res->r_cap = res->r_cap * 2 + 8;
	}
	md = &res->r_mods[res->r_nmods];
	md->md_type = t;
	md->md_idx = idx;
	md->md_lead = (c->c_proto & SMFIP_HDR_LEADSPC) == 0;
	md->md_name = es_strdup(name);
	md->md_value = es_strdup(value);
	if (md->md_name == NULL || md->md_value == NULL) {
		es_free(md->md_name);
		es_free(md->md_value);
		return miltc_conn_err(c, "EOM: out of memory for edits");
	}
	res->r_nmods++;
	return 0;
}

/* say_mod - the event line of a modification */
static void
say_mod(struct conn *c, int t, uint32_t idx, const char *a, const char *b)
{
	static const struct {
		int t;
		const char *name;
	} names[] = {{SMFIR_ADDHEADER, "addheader"},
	    {SMFIR_CHGHEADER, "chgheader"}, {SMFIR_INSHEADER, "insheader"},
	    {SMFIR_ADDRCPT, "addrcpt"}, {SMFIR_ADDRCPT_PAR, "addrcpt"},
	    {SMFIR_DELRCPT, "delrcpt"}, {SMFIR_CHGFROM, "chgfrom"},
	    {SMFIR_QUARANTINE, "quarantine"}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			miltc_say(c, "mod %s ", names[i].name);
	if (t == SMFIR_INSHEADER)
		miltc_say(c, "%lu ", (unsigned long)idx);
	miltc_say_str(c, a);
	if (t == SMFIR_CHGHEADER)
		miltc_say(c, " %lu", (unsigned long)idx);
	if (t == SMFIR_ADDHEADER || t == SMFIR_CHGHEADER ||
	    t == SMFIR_INSHEADER)
		miltc_say(c, ":");
	if (b != NULL && *b != '\0') {
		miltc_say(c, " ");
		miltc_say_str(c, b);
	}
	miltc_say(c, "\n");
}

/* take_mod - a modification reply during end of message */
static int
take_mod(struct conn *c, struct result *res)
{
	int t = c->c_rcmd;
	bool hdr = t == SMFIR_ADDHEADER || t == SMFIR_CHGHEADER ||
	           t == SMFIR_INSHEADER;
	const char *a, *b = NULL;
	uint32_t idx = 0;
	size_t off = 0;

	if ((c->c_actions & mod_action(t)) == 0 && c->c_out != NULL)
		fprintf(stderr,
		    "miltc: warning: milter sent '%c' without "
		    "negotiating that action\n",
		    t);
	if (t == SMFIR_REPLBODY) {
		miltc_say(c, "mod replbody %zu\n", c->c_rep.len);
		res->r_replbody = true;
		if (res->r_keep && es_buf_append(&res->r_body, c->c_rep.data,
		                       c->c_rep.len) != 0)
			return miltc_conn_err(c,
			    "EOM: replaced body over %u bytes or out of memory",
			    MILTC_BODY_MAX);
		return 0;
	}
	if (t == SMFIR_CHGHEADER || t == SMFIR_INSHEADER) {
		if (c->c_rep.len < 4)
			return miltc_conn_err(
			    c, "EOM: '%c' reply without index", t);
		idx = miltc_get32(c->c_rep.data);
		off = 4;
	}
	if ((a = rep_str(c, &off)) == NULL ||
	    ((hdr || t == SMFIR_ADDRCPT_PAR || off < c->c_rep.len) &&
	        (b = rep_str(c, &off)) == NULL))
		return miltc_conn_err(
		    c, "EOM: '%c' reply: argument without NUL", t);
	say_mod(c, t, idx, a, b);
	if (!hdr)
		return 0;
	if (*b != '\0')
		count_result(res, a, b);
	return res->r_keep ? keep_mod(c, res, t, idx, a, b) : 0;
}

static bool
is_mod(int t)
{
	return mod_action(t) != 0;
}

/*
 * miltc_await - read replies until the final one for what; progress replies
 * only restart the clock; modifications are taken at end of message
 * only (res not NULL). Returns the reply letter or -1.
 */
int
miltc_await(struct conn *c, const char *what, struct result *res)
{
	int t;

	for (;;) {
		if (miltc_read_packet(c, what) != 0)
			return -1;
		switch ((t = c->c_rcmd)) {
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_REPLYCODE:
			return check_replycode(c, what) != 0 ? -1 : t;
		case SMFIR_CONTINUE:
		case SMFIR_ACCEPT:
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_SKIP:
		case SMFIR_CONN_FAIL:
		case SMFIR_SHUTDOWN:
			return t;
		}
		if (res == NULL || !is_mod(t))
			return miltc_conn_err(c,
			    "%s: unexpected reply '%c' (0x%02x)", what,
			    t > 0x20 && t < 0x7f ? t : '?', t);
		if (take_mod(c, res) != 0)
			return -1;
	}
}

/* miltc_step - send the built command, await its reply unless told not to */
int
miltc_step(struct conn *c, const char *what, uint32_t nr)
{
	if (miltc_pkt_send(c, what) != 0)
		return -1;
	if ((c->c_proto & nr) != 0)
		return R_NOREPLY;
	return miltc_await(c, what, NULL);
}

/*
 * Option negotiation and macros.
 */

static const char *const sym_names[SYM_N] = {
    "connect", "helo", "mail", "rcpt", "data", "eom", "eoh"};

/* take_symlists - the macro lists after the three words of OPTNEG */
static int
take_symlists(struct conn *c)
{
	size_t off = 12;
	uint32_t st;
	const char *s;

	while (off < c->c_rep.len) {
		if (c->c_rep.len - off < 5)
			return miltc_conn_err(
			    c, "OPTNEG: truncated macro list");
		st = miltc_get32(c->c_rep.data + off);
		off += 4;
		if (st >= SYM_N || c->c_syms[st] != NULL)
			return miltc_conn_err(c,
			    "OPTNEG: bad macro list stage %lu",
			    (unsigned long)st);
		if ((s = rep_str(c, &off)) == NULL)
			return miltc_conn_err(
			    c, "OPTNEG: macro list without NUL");
		if ((c->c_syms[st] = es_strdup(s)) == NULL)
			return miltc_conn_err(c, "OPTNEG: out of memory");
		miltc_say(c, "optneg macros %s: ", sym_names[st]);
		miltc_say_str(c, s);
		miltc_say(c, "\n");
	}
	return 0;
}

int
miltc_optneg(struct conn *c, uint32_t proto)
{
	char w[12];

	miltc_put32(w, SMFI_PROT_VERSION);
	miltc_put32(w + 4, MILTC_ACTS_OFFER);
	miltc_put32(w + 8, proto);
	miltc_pkt_begin(c, SMFIC_OPTNEG);
	miltc_pkt_put(c, w, sizeof(w));
	if (miltc_pkt_send(c, "OPTNEG") != 0 ||
	    miltc_read_packet(c, "OPTNEG") != 0)
		return -1;
	if (c->c_rcmd != SMFIC_OPTNEG || c->c_rep.len < 12)
		return miltc_conn_err(c,
		    "OPTNEG: unexpected reply 0x%02x of %zu bytes", c->c_rcmd,
		    c->c_rep.len);
	c->c_version = miltc_get32(c->c_rep.data);
	c->c_actions = miltc_get32(c->c_rep.data + 4);
	c->c_proto = miltc_get32(c->c_rep.data + 8);
	if (c->c_version < 2)
		return miltc_conn_err(c, "OPTNEG: milter protocol version %lu",
		    (unsigned long)c->c_version);
	miltc_say(c, "optneg version=%lu actions=0x%lx protocol=0x%lx\n",
	    (unsigned long)c->c_version, (unsigned long)c->c_actions,
	    (unsigned long)c->c_proto);
	return take_symlists(c);
}

/* name_eq - macro names equal, with or without braces */
static bool
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen > 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen > 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* sym_wanted - the milter's list for that stage names the macro */
static bool
sym_wanted(const struct conn *c, int sym, const char *name)
{
	const char *p = c->c_syms[sym], *w;

	if (p == NULL)
		return true;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (w = p; *p != '\0' && *p != ' ' && *p != ','; p++)
			;
		if (p > w && name_eq(w, (size_t)(p - w), name, strlen(name)))
			return true;
	}
	return false;
}

/* miltc_send_macros - the macros for a command, those with a value */
int
miltc_send_macros(
    struct conn *c, int cmd, int sym, const struct macro *mv, size_t n)
{
	char ch = (char)cmd;
	size_t i, sent = 0;

	miltc_pkt_begin(c, SMFIC_MACRO);
	miltc_pkt_put(c, &ch, 1);
	for (i = 0; i < n; i++) {
		if (mv[i].mc_value == NULL ||
		    !sym_wanted(c, sym, mv[i].mc_name))
			continue;
		miltc_pkt_str(c, mv[i].mc_name);
		miltc_pkt_str(c, mv[i].mc_value);
		sent++;
	}
	return sent == 0 ? 0 : miltc_pkt_send(c, "MACRO");
}
