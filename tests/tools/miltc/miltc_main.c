/*
 * miltc - a sendmail milter protocol (version 6) client that plays the
 * MTA, to drive a milter through its socket in protocol tests and
 * benchmarks. It speaks the wire protocol itself; no libmilter.
 *
 * Conversation mode, for shell tests:
 *
 *   miltc -s SOCKET [-c CLIENT_ADDR] [-p CLIENT_PORT] [-N CLIENT_NAME]
 *       [-H HELO] [-a AUTH_AUTHEN] [-i QUEUE_ID]
 *       -f SENDER -r RCPT [-r RCPT ...]
 *       [-m MESSAGE_FILE] [-o OUT_FILE] [-R] [-P PROTOCOL] [-t TIMEOUT_S]
 *       [--big-header N] [--many-headers N] [--nul]
 *       [--stop-after STAGE [--then abort|close|stall]]
 *
 * SOCKET is unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST or
 * a bare path. One connection: OPTNEG, CONNECT (macros j, _,
 * {daemon_name}, {client_addr}, {client_name}), HELO, then the message:
 * MAIL (i, {auth_authen} with -a, {mail_addr}), RCPT ({rcpt_addr}) per
 * recipient, DATA, one HEADER per header, EOH (i), BODY chunks of at
 * most 65535 bytes with CRLF line ends, end of body (i), QUIT. The
 * message file (default stdin) may use LF or CRLF; a leading mbox
 * "From " line is skipped; a folded header is one header whose value
 * keeps the fold as LF + white space; the first line that is neither a
 * header nor a continuation starts the body. Defaults: client
 * 127.0.0.1 port 40000 (-p: port 0 is how Postfix shows a local
 * submission), name localhost, HELO client.example, queue id
 * 4XYZ<counter>. -c unknown sends the family "unknown" (SMFIA_UNKNOWN)
 * with no port or address, as an MTA does for a client it has no
 * address for. -R runs the message twice on the connection.
 *
 * We offer every action (0x1FF) and every protocol flag we can honour
 * (-P changes the offer; with 0 libmilter assumes the version 1 set);
 * the milter's SMFIP_NO* flags drop the command and its macros, its
 * SMFIP_NR_* flags mean no reply is awaited, SMFIP_SKIP lets it stop
 * the body, SMFIP_HDR_LEADSPC keeps the space after the colon. Macro
 * lists the milter sends in OPTNEG limit the macros sent.
 *
 * A RCPT answered tempfail, reject or replycode drops that recipient;
 * with none left the message is aborted. Any other non-continue reply
 * ends the message (ABORT is sent so the milter resets) or, at CONNECT
 * and HELO, the session. --stop-after STAGE (connect, helo, mail, rcpt,
 * header, eoh, body) stops right after that stage; --then close
 * (default) closes the socket, --then abort sends ABORT and runs a
 * normal message on the same connection, --then stall sends the start
 * of one more BODY command (its length and 16 of its 64 bytes) and
 * nothing else, as an MTA whose link stops in the middle of a body
 * chunk, and waits (up to -t) for the milter to close the connection.
 * --big-header N adds "X-Big:"
 * with N value bytes, --many-headers N adds X-Many-1..N, --nul puts NUL
 * bytes in a header value and in the body.
 *
 * Output, one line per event (hostile bytes escaped, values cut at
 * 1024 bytes):
 *   optneg version=V actions=0xA protocol=0xP    (the milter's answer)
 *   optneg macros STAGE: NAMES             (when the milter sent a list)
 *   connect continue|noreply|skipped|VERDICT
 *   helo|mail|data|eoh|body VERDICT        (only when not continue)
 *   header NAME VERDICT                    (only when not continue)
 *   rcpt ADDR continue|noreply|skipped|VERDICT
 *   abort no-recipients
 *   stop STAGE abort|close|stall           (--stop-after)
 *   stall closed SECONDS                   (the milter closed it)
 *   mod addheader NAME: VALUE
 *   mod chgheader NAME INDEX: VALUE        (no value: delete)
 *   mod insheader INDEX NAME: VALUE
 *   mod replbody LENGTH                    (one line per chunk)
 *   mod addrcpt ADDR [ARGS] | delrcpt ADDR | chgfrom ADDR [ARGS]
 *   mod quarantine REASON
 *   eom VERDICT
 * VERDICT is accept, continue, reject, tempfail, discard, skip,
 * connfail, shutdown or "replycode TEXT". -o OUT_FILE writes the last
 * message as the MTA would deliver it (headers changed, added and
 * inserted, body replaced), with the input's line ends, when its EOM
 * reply was accept or continue (an older OUT_FILE is removed first).
 *
 * Exit: 0 the conversation completed, whatever the verdict; 1 protocol
 * error, connection failure or timeout (-t, default 30 s, per reply and
 * per write); 2 usage.
 *
 * Benchmark mode:
 *
 *   miltc -s SOCKET -B CORPUS_DIR [-A] [-j CONNECTIONS] [-n MAX_MESSAGES]
 *       [--duration SECONDS] [--until FILE]
 *       -f SENDER -r RCPT [-r RCPT ...] [-a AUTH_AUTHEN] [-t TIMEOUT_S]
 *
 * Loads every regular file under CORPUS_DIR whose name ends in .txt
 * (every regular file with -A; symbolic links are not followed), sorted
 * by path, and sends each once, or -n messages cycling through the
 * corpus, over CONNECTIONS (default 1) threads that each keep one
 * connection and send message after message on it, reconnecting when
 * the milter closed it. --duration and --until cycle through the corpus
 * (up to -n messages, when given) and stop starting messages once
 * SECONDS have passed or FILE exists (checked before each message; a
 * message under way is finished). Prints "key value" lines: messages, errors
 * (protocol errors and timeouts; the first 10 are shown on stderr),
 * connections, seconds, rate (messages per wall-clock second),
 * eom_p50_ms, eom_p99_ms, eom_max_ms (from sending end of body to the
 * final EOM reply), verdict.NAME for accept, continue, reject,
 * tempfail, discard, replycode, norcpt and other (the reply that decided
 * each message, at EOM or earlier), and headers.spam / headers.innocent
 * (X-DSPAM-Result values Spam, or Innocent and Whitelisted, set by header
 * edits), and deferred (messages refused with a temporary failure: the
 * deciding reply was tempfail or a 4xx replycode, or every recipient was
 * so refused). Exit 0 when errors is 0, else 1.
 *
 * Limits: a message file of 256 MiB, a reply of 16 MiB, a replaced
 * body of 256 MiB, 1024 connections, corpus directories 32 deep. A
 * connection belongs to one thread; messages are shared read-only.
 *
 * Sources (tests/tools/miltc/, one program): miltc_main.c the command
 * line; miltc_converse.c conversation mode; miltc_bench.c benchmark
 * mode; miltc_session.c the SMTP session as milter commands;
 * miltc_reply.c replies, option negotiation and macros; miltc_wire.c the
 * socket and packets; miltc_msg.c the message file and -o; miltc.h what
 * they share.
 */

#include "miltc.h"

static void usage(const char *why) __attribute__((noreturn));

static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "miltc: %s\n", why);
	fputs("usage: miltc -s SOCKET [-c CLIENT_ADDR] [-p CLIENT_PORT] "
	      "[-N CLIENT_NAME] [-H HELO]\n"
	      "\t[-a AUTH_AUTHEN] [-i QUEUE_ID] -f SENDER -r RCPT ...\n"
	      "\t[-m MESSAGE_FILE] [-o OUT_FILE] [-R] [-P PROTOCOL] "
	      "[-t TIMEOUT_S]\n"
	      "\t[--big-header N] [--many-headers N] [--nul]\n"
	      "\t[--stop-after connect|helo|mail|rcpt|header|eoh|body\n"
	      "\t [--then abort|close|stall]]\n"
	      "       miltc -s SOCKET -B CORPUS_DIR [-A] [-j CONNECTIONS] "
	      "[-n MAX_MESSAGES]\n"
	      "\t[--duration SECONDS] [--until FILE]\n"
	      "\t-f SENDER -r RCPT ... [-a AUTH_AUTHEN] [-t TIMEOUT_S]\n",
	    stderr);
	exit(2);
}

/* num - a decimal or 0x number in [min, max] for option opt */
static unsigned long long
num(const char *opt, const char *s, unsigned long long min,
    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || v < min ||
	    v > max) {
		fprintf(stderr,
		    "miltc: %s: \"%s\" is not a number from %llu to %llu\n",
		    opt, s, min, max);
		exit(2);
	}
	return v;
}

static enum stage
stage_parse(const char *s)
{
	size_t i;

	for (i = 1;
	     i < sizeof(miltc_stage_names) / sizeof(miltc_stage_names[0]); i++)
		if (strcmp(s, miltc_stage_names[i]) == 0)
			return (enum stage)i;
	usage("--stop-after: unknown stage");
}

static void
add_rcpt(struct env *e, const char *r)
{
	const char **v;

	if ((v = es_reallocarray(e->e_rcpt, e->e_nrcpt + 1, sizeof(*v))) ==
	    NULL) {
		fprintf(stderr, "miltc: -r %s: out of memory\n", r);
		exit(1);
	}
	v[e->e_nrcpt++] = r;
	e->e_rcpt = v;
}

/* opt_env - an option of the envelope or the session; false if not one */
static bool
opt_env(struct env *e, int ch, const char *arg)
{
	switch (ch) {
	case 'a':
		e->e_auth = arg;
		break;
	case 'c':
		e->e_caddr = arg;
		break;
	case 'p':
		e->e_cport = (uint16_t)num("-p", arg, 0, 65535);
		break;
	case 'f':
		e->e_from = arg;
		break;
	case 'H':
		e->e_helo = arg;
		break;
	case 'i':
		e->e_qid = arg;
		break;
	case 'N':
		e->e_cname = arg;
		break;
	case 'P':
		e->e_proto = (uint32_t)num("-P", arg, 0, UINT32_MAX);
		break;
	case 'r':
		add_rcpt(e, arg);
		break;
	case 's':
		e->e_sock = arg;
		break;
	case 't':
		e->e_tmo = (int)num("-t", arg, 1, 86400) * 1000;
		break;
	default:
		return false;
	}
	return true;
}

/* opt_cli - the other options; exits on an unknown one */
static void
opt_cli(struct cli *o, int ch, const char *arg)
{
	switch (ch) {
	case 'A':
		o->o_all = true;
		break;
	case 'B':
		o->o_corpus = arg;
		break;
	case 'j':
		o->o_jobs = num("-j", arg, 1, MILTC_JOBS_MAX);
		break;
	case 'm':
		o->o_msgfile = arg;
		break;
	case 'n':
		o->o_max = num("-n", arg, 1, MILTC_MSGS_MAX);
		break;
	case 'o':
		o->o_outfile = arg;
		o->o_env.e_keep = true;
		break;
	case 'R':
		o->o_repeat = true;
		break;
	case 1:
		o->o_big = num("--big-header", arg, 0, MILTC_MSG_MAX);
		break;
	case 2:
		o->o_many = num("--many-headers", arg, 0, MILTC_MANY_MAX);
		break;
	case 3:
		o->o_nul = true;
		break;
	case 4:
		o->o_stop = stage_parse(arg);
		break;
	case 6:
		o->o_secs = num("--duration", arg, 1, 86400 * 7);
		break;
	case 7:
		o->o_until = arg;
		break;
	case 5:
		if (strcmp(arg, "abort") == 0)
			o->o_then = THEN_ABORT;
		else if (strcmp(arg, "close") == 0)
			o->o_then = THEN_CLOSE;
		else if (strcmp(arg, "stall") == 0)
			o->o_then = THEN_STALL;
		else
			usage("--then: want abort, close or stall");
		o->o_then_set = true;
		break;
	default:
		usage(NULL);
	}
}

/* check_args - options that are missing or do not go together */
static void
check_args(const struct cli *o)
{
	const struct env *e = &o->o_env;

	if (e->e_sock == NULL || e->e_from == NULL || e->e_nrcpt == 0)
		usage("-s, -f and -r are required");
	if (o->o_then_set && o->o_stop == STAGE_NONE)
		usage("--then needs --stop-after");
	if (o->o_corpus == NULL &&
	    (o->o_all || o->o_max > 0 || o->o_jobs != 1 || o->o_secs > 0 ||
	        o->o_until != NULL))
		usage("-A, -j, -n, --duration and --until need -B");
	if (o->o_corpus != NULL &&
	    (o->o_msgfile != NULL || e->e_keep || o->o_repeat ||
	        o->o_stop != STAGE_NONE || o->o_big > 0 || o->o_many > 0 ||
	        o->o_nul || e->e_qid != NULL))
		usage("-B does not take -m, -o, -R, -i or hostile options");
}

static void
parse_args(int argc, char **argv, struct cli *o)
{
	static const struct option longs[] = {
	    {"big-header", required_argument, NULL, 1},
	    {"many-headers", required_argument, NULL, 2},
	    {"nul", no_argument, NULL, 3},
	    {"stop-after", required_argument, NULL, 4},
	    {"then", required_argument, NULL, 5},
	    {"duration", required_argument, NULL, 6},
	    {"until", required_argument, NULL, 7},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct env *e = &o->o_env;
	int ch;

	memset(o, 0, sizeof(*o));
	e->e_caddr = "127.0.0.1";
	e->e_cport = 40000;
	e->e_cname = "localhost";
	e->e_helo = "client.example";
	e->e_tmo = 30000;
	e->e_proto = MILTC_PROTO_OFFER;
	o->o_jobs = 1;
	while ((ch = getopt_long(argc, argv,
	            "a:AB:c:f:hH:i:j:m:n:N:o:p:P:r:Rs:t:", longs, NULL)) != -1)
		if (!opt_env(e, ch, optarg))
			opt_cli(o, ch, optarg);
	if (optind != argc)
		usage("unexpected argument");
	check_args(o);
}

int
main(int argc, char **argv)
{
	struct cli o;
	int rc;

	parse_args(argc, argv, &o);
	rc = o.o_corpus != NULL ? miltc_run_bench(&o)
	                        : miltc_run_conversation(&o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "miltc: stdout: %s\n", strerror(errno));
		rc = 1;
	}
	es_free(o.o_env.e_rcpt);
	return rc;
}
