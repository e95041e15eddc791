/*
 * miltc - a sendmail milter protocol (version 6) client that plays the
 * MTA, to drive a milter through its socket in protocol tests and
 * benchmarks. It speaks the wire protocol itself; no libmilter.
 *
 * Conversation mode, for shell tests:
 *
 *   miltc -s SOCKET [-c CLIENT_ADDR] [-p CLIENT_PORT] [-N CLIENT_NAME]
 *       [-H HELO] [-a AUTH_AUTHEN] [-i QUEUE_ID] -f SENDER -r RCPT [-r RCPT ...]
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
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "es_alloc.h"
#include "es_buf.h"

/* Protocol constants, values as in sendmail's libmilter/mfdef.h. */
#define SMFI_PROT_VERSION 6
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

#define SMFIR_ADDRCPT '+'
#define SMFIR_DELRCPT '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN '4'
#define SMFIR_ACCEPT 'a'
#define SMFIR_REPLBODY 'b'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_CHGFROM 'e'
#define SMFIR_CONN_FAIL 'f'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_PROGRESS 'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_SKIP 's'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'

#define SMFIP_NOCONNECT 0x00000001u
#define SMFIP_NOHELO 0x00000002u
#define SMFIP_NOMAIL 0x00000004u
#define SMFIP_NORCPT 0x00000008u
#define SMFIP_NOBODY 0x00000010u
#define SMFIP_NOHDRS 0x00000020u
#define SMFIP_NOEOH 0x00000040u
#define SMFIP_NR_HDR 0x00000080u
#define SMFIP_NODATA 0x00000200u
#define SMFIP_RCPT_REJ 0x00000800u
#define SMFIP_NR_CONN 0x00001000u
#define SMFIP_NR_HELO 0x00002000u
#define SMFIP_NR_MAIL 0x00004000u
#define SMFIP_NR_RCPT 0x00008000u
#define SMFIP_NR_DATA 0x00010000u
#define SMFIP_NR_EOH 0x00040000u
#define SMFIP_NR_BODY 0x00080000u
#define SMFIP_HDR_LEADSPC 0x00100000u
/* every flag of version 6 but RCPT_REJ: we never have rejected RCPTs */
#define MILTC_PROTO_OFFER (0x001FFFFFu & ~SMFIP_RCPT_REJ)
#define MILTC_ACTS_OFFER 0x000001FFu

#define SMFIF_ADDHDRS 0x01u
#define SMFIF_CHGBODY 0x02u
#define SMFIF_ADDRCPT 0x04u
#define SMFIF_DELRCPT 0x08u
#define SMFIF_CHGHDRS 0x10u
#define SMFIF_QUARANTINE 0x20u
#define SMFIF_CHGFROM 0x40u
#define SMFIF_ADDRCPT_PAR 0x80u

/* macro list stages (SMFIM_*) */
enum {
	SYM_CONNECT,
	SYM_HELO,
	SYM_MAIL,
	SYM_RCPT,
	SYM_DATA,
	SYM_EOM,
	SYM_EOH,
	SYM_N
};

/* pseudo replies: no reply awaited; no recipient left */
#define R_NOREPLY '.'
#define R_NORCPT '0'

#define MILTC_CHUNK 65535u          /* MILTER_CHUNK_SIZE */
#define MILTC_MSG_MAX (256u << 20)  /* message file: a runaway input */
#define MILTC_PKT_MAX (1u << 30)    /* one command (--big-header) */
#define MILTC_REPLY_MAX (16u << 20) /* one reply: a milter claiming 4 GiB */
#define MILTC_BODY_MAX (256u << 20) /* replaced body: same */
#define MILTC_SAY_MAX 1024u         /* printed value: floods the terminal */
#define MILTC_MANY_MAX 10000000u    /* --many-headers */
#define MILTC_JOBS_MAX 1024u        /* -j: one thread each */
#define MILTC_DEPTH_MAX 32          /* corpus tree: runaway recursion */
#define MILTC_MSGS_MAX 100000000u   /* -n: 800 MB of latencies */
#define MILTC_SHOW_MAX 10u          /* bench errors shown: a flood */

enum stage {
	STAGE_NONE,
	STAGE_CONNECT,
	STAGE_HELO,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_HEADER,
	STAGE_EOH,
	STAGE_BODY
};
static const char *const stage_names[] = {
    "", "connect", "helo", "mail", "rcpt", "header", "eoh", "body"};

/* outcome of a step of the conversation */
enum { RUN_ERR = -1, RUN_DONE, RUN_ENDED, RUN_CLOSED, RUN_STOPPED };

struct env { /* settings, shared read-only by threads */
	const char *e_sock;
	const char *e_caddr, *e_cname, *e_helo, *e_auth, *e_qid, *e_from;
	uint16_t e_cport; /* the client's port (0: a local submission) */
	const char **e_rcpt;
	size_t e_nrcpt;
	int e_tmo;        /* ms per reply and per write */
	uint32_t e_proto; /* protocol flags offered */
	bool e_keep;      /* record modifications for -o */
};

struct hdr {
	char *h_name;
	char *h_value;     /* text after the colon, folds as LF */
	size_t h_vlen;     /* may hold NUL (--nul) */
	const char *h_raw; /* its lines in the file, NULL if added */
	size_t h_rawlen;
};

struct msg {
	struct es_buf m_file; /* the file; h_raw and m_body point in */
	struct hdr *m_hdrs;
	size_t m_nhdrs, m_cap;
	const char *m_body;
	size_t m_bodylen;
	struct es_buf m_tail; /* body bytes added by --nul */
	const char *m_eol;    /* the file's line end */
};

struct mod { /* a header edit, kept for -o */
	int md_type;
	uint32_t md_idx;
	char *md_name;
	char *md_value; /* as the milter sent it */
	bool md_lead;   /* write a space after the colon */
};

struct result { /* one message */
	bool r_keep;
	int r_verdict;   /* the reply that decided it */
	bool r_eom;      /* the end-of-message reply came */
	double r_eom_ms; /* from end of body to that reply */
	size_t r_spam, r_innocent;
	size_t r_rcpt_temp; /* recipients refused with a 4xx */
	bool r_temp;        /* the message was refused with a 4xx */
	struct mod *r_mods;
	size_t r_nmods, r_cap;
	bool r_replbody;
	struct es_buf r_body; /* replaced body */
};

struct conn {
	int c_fd;
	int c_tmo;
	uint32_t c_version, c_actions, c_proto;
	char *c_syms[SYM_N];  /* macro names wanted, NULL = all */
	struct es_buf c_pkt;  /* command being built */
	bool c_pkt_bad;       /* an append to it failed */
	struct es_buf c_rep;  /* data of the last reply */
	int c_rcmd;           /* its command byte */
	struct es_buf c_body; /* body with CRLF line ends */
	FILE *c_out;          /* event lines, NULL = silent */
	char c_err[512];
};

struct macro {
	const char *mc_name, *mc_value;
};

static atomic_ullong qid_seq;

static int conn_err(struct conn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct conn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* conn_err - record why the conversation failed; returns -1 */
static int
conn_err(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	/* a cut error text is still an error; nothing else to check */
	va_start(ap, fmt);
	vsnprintf(c->c_err, sizeof(c->c_err), fmt, ap);
	va_end(ap);
	return -1;
}

/* say - print event text unless silent; stdout errors are seen at exit */
static void
say(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->c_out == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(c->c_out, fmt, ap);
	va_end(ap);
}

/* say_safe - print hostile bytes escaped, cut at MILTC_SAY_MAX */
static void
say_safe(struct conn *c, const char *p, size_t n)
{
	size_t i, lim = n > MILTC_SAY_MAX ? MILTC_SAY_MAX : n;
	unsigned char ch;

	if (c->c_out == NULL)
		return;
	for (i = 0; i < lim; i++) {
		ch = (unsigned char)p[i];
		if (ch == '\\')
			fputs("\\\\", c->c_out);
		else if (ch == '\n')
			fputs("\\n", c->c_out);
		else if (ch == '\r')
			fputs("\\r", c->c_out);
		else if (ch == '\t')
			fputs("\\t", c->c_out);
		else if (ch < 0x20 || ch > 0x7e)
			fprintf(c->c_out, "\\x%02x", ch);
		else
			fputc(ch, c->c_out);
	}
	if (lim < n)
		fprintf(c->c_out, "...(%zu bytes)", n);
}

static void
say_str(struct conn *c, const char *s)
{
	say_safe(c, s, strlen(s));
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	       (uint32_t)u[2] << 8 | u[3];
}

/*
 * Socket I/O. The socket is non-blocking; every wait goes through poll
 * with a deadline, so a milter that stops reading or answering costs at
 * most the timeout.
 */

/* wait_fd - wait for events on the socket until deadline */
static int
wait_fd(struct conn *c, short events, int64_t deadline, const char *what)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return conn_err(
			    c, "%s: timeout after %d s", what, c->c_tmo / 1000);
		pfd.fd = c->c_fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return conn_err(
			    c, "%s: poll: %s", what, strerror(errno));
	}
}

/* wire_write - write all n bytes; the clock restarts on progress */
static int
wire_write(struct conn *c, const char *p, size_t n, const char *what)
{
	int64_t deadline = now_ms() + c->c_tmo;
	ssize_t w;

	while (n > 0) {
		w = send(c->c_fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			deadline = now_ms() + c->c_tmo;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c, POLLOUT, deadline, what) != 0)
				return -1;
		} else {
			return conn_err(c, "%s: write to milter: %s", what,
			    w < 0 ? strerror(errno) : "no progress");
		}
	}
	return 0;
}

/* wire_read - read exactly n bytes before deadline */
static int
wire_read(struct conn *c, char *p, size_t n, int64_t deadline, const char *what)
{
	ssize_t r;

	while (n > 0) {
		r = recv(c->c_fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0) {
			return conn_err(
			    c, "%s: milter closed the connection", what);
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c, POLLIN, deadline, what) != 0)
				return -1;
		} else {
			return conn_err(c, "%s: read from milter: %s", what,
			    strerror(errno));
		}
	}
	return 0;
}

/* read_packet - read one reply into c_rcmd and c_rep (NUL-terminated) */
static int
read_packet(struct conn *c, const char *what)
{
	int64_t deadline = now_ms() + c->c_tmo;
	char head[5], chunk[8192];
	uint32_t len;
	size_t n;

	if (wire_read(c, head, 4, deadline, what) != 0)
		return -1;
	if ((len = get32(head)) == 0)
		return conn_err(c, "%s: reply packet of length 0", what);
	if (len - 1 > MILTC_REPLY_MAX)
		return conn_err(c,
		    "%s: reply of %lu bytes is over the limit of %u", what,
		    (unsigned long)len - 1, MILTC_REPLY_MAX);
	if (wire_read(c, head + 4, 1, deadline, what) != 0)
		return -1;
	c->c_rcmd = (unsigned char)head[4];
	es_buf_reset(&c->c_rep);
	if (es_buf_reserve(&c->c_rep, len - 1) != 0)
		return conn_err(c, "%s: no memory for a reply of %lu bytes",
		    what, (unsigned long)len - 1);
	for (len--; len > 0; len -= (uint32_t)n) {
		n = len > sizeof(chunk) ? sizeof(chunk) : len;
		if (wire_read(c, chunk, n, deadline, what) != 0)
			return -1;
		if (es_buf_append(&c->c_rep, chunk, n) != 0)
			return conn_err(c, "%s: reply buffer", what);
	}
	return 0;
}

/*
 * Building commands: errors are sticky in c_pkt_bad and reported by
 * pkt_send, so a command is built without a check per piece.
 */

static void
pkt_put(struct conn *c, const void *p, size_t n)
{
	if (!c->c_pkt_bad && es_buf_append(&c->c_pkt, p, n) != 0)
		c->c_pkt_bad = true;
}

/* pkt_str - a string with its NUL */
static void
pkt_str(struct conn *c, const char *s)
{
	pkt_put(c, s, strlen(s) + 1);
}

static void
pkt_begin(struct conn *c, int cmd)
{
	static const char room[4];
	char ch = (char)cmd;

	es_buf_reset(&c->c_pkt);
	c->c_pkt_bad = false;
	pkt_put(c, room, sizeof(room));
	pkt_put(c, &ch, 1);
}

/* pkt_send - fill in the length and send the command */
static int
pkt_send(struct conn *c, const char *what)
{
	if (c->c_pkt_bad)
		return conn_err(c, "%s: command over %u bytes or out of memory",
		    what, MILTC_PKT_MAX);
	put32(c->c_pkt.data, (uint32_t)(c->c_pkt.len - 4));
	return wire_write(c, c->c_pkt.data, c->c_pkt.len, what);
}

/* send_cmd - a command without data */
static int
send_cmd(struct conn *c, int cmd, const char *what)
{
	pkt_begin(c, cmd);
	return pkt_send(c, what);
}

/*
 * Opening the socket.
 */

/* sock_try - connect one address within the timeout */
static int
sock_try(struct conn *c, int family, const struct sockaddr *sa, socklen_t salen)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return conn_err(c, "socket: %s", strerror(errno));
	c->c_fd = fd;
	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		err = errno;
	else if (wait_fd(c, POLLOUT, now_ms() + c->c_tmo, "connect") != 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0)
		return 0;
	close(fd);
	c->c_fd = -1;
	return conn_err(c, "connect: %s", strerror(err));
}

static int
sock_unix(struct conn *c, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return conn_err(c, "socket path too long");
	return sock_try(c, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun));
}

/* sock_inet - PORT@HOST, HOST defaulting to the loopback address */
static int
sock_inet(struct conn *c, const char *arg, int family)
{
	struct addrinfo hints, *res, *ai;
	const char *host = family == AF_INET6 ? "::1" : "127.0.0.1";
	char *port, *at;
	int err;

	if ((port = es_strdup(arg)) == NULL)
		return conn_err(c, "out of memory");
	if ((at = strchr(port, '@')) != NULL) {
		*at = '\0';
		host = at + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		es_free(port);
		return conn_err(c, "%s", gai_strerror(err));
	}
	es_free(port);
	err = conn_err(c, "no address");
	for (ai = res; ai != NULL && err != 0; ai = ai->ai_next)
		err = sock_try(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	return err;
}

/* sock_connect - open the socket named as libmilter names them */
static int
sock_connect(struct conn *c, const char *spec)
{
	if (spec[0] == '/')
		return sock_unix(c, spec);
	if (strncmp(spec, "unix:", 5) == 0)
		return sock_unix(c, spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return sock_unix(c, spec + 6);
	if (strncmp(spec, "inet:", 5) == 0)
		return sock_inet(c, spec + 5, AF_INET);
	if (strncmp(spec, "inet6:", 6) == 0)
		return sock_inet(c, spec + 6, AF_INET6);
	if (strchr(spec, ':') == NULL)
		return sock_unix(c, spec);
	return conn_err(c, "want unix:PATH, inet:PORT@HOST or a path");
}

static void
conn_init(struct conn *c, int tmo, FILE *out)
{
	memset(c, 0, sizeof(*c));
	c->c_fd = -1;
	c->c_tmo = tmo;
	c->c_out = out;
	es_buf_init(&c->c_pkt, MILTC_PKT_MAX);
	es_buf_init(&c->c_rep, MILTC_REPLY_MAX);
	es_buf_init(&c->c_body, (size_t)MILTC_MSG_MAX * 2);
}

/* conn_close - close the socket; the conn can open again */
static void
conn_close(struct conn *c)
{
	size_t i;

	if (c->c_fd >= 0)
		close(c->c_fd);
	c->c_fd = -1;
	for (i = 0; i < SYM_N; i++) {
		es_free(c->c_syms[i]);
		c->c_syms[i] = NULL;
	}
}

static void
conn_free(struct conn *c)
{
	conn_close(c);
	es_buf_release(&c->c_pkt);
	es_buf_release(&c->c_rep);
	es_buf_release(&c->c_body);
}

/*
 * Replies.
 */

static const char *
verdict_name(int v)
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

/* say_verdict - the name, and the text of a replycode still in c_rep */
static void
say_verdict(struct conn *c, int v)
{
	say(c, "%s", verdict_name(v));
	if (v == SMFIR_REPLYCODE) {
		say(c, " ");
		say_str(c, c->c_rep.data);
	}
}

/* temp_reply - the reply v (its text in c_rep) is a temporary failure */
static bool
temp_reply(const struct conn *c, int v)
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
		return conn_err(c, "%s: malformed replycode reply", what);
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
			return conn_err(c, "EOM: out of memory for edits");
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
		return conn_err(c, "EOM: out of memory for edits");
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
			say(c, "mod %s ", names[i].name);
	if (t == SMFIR_INSHEADER)
		say(c, "%lu ", (unsigned long)idx);
	say_str(c, a);
	if (t == SMFIR_CHGHEADER)
		say(c, " %lu", (unsigned long)idx);
	if (t == SMFIR_ADDHEADER || t == SMFIR_CHGHEADER ||
	    t == SMFIR_INSHEADER)
		say(c, ":");
	if (b != NULL && *b != '\0') {
		say(c, " ");
		say_str(c, b);
	}
	say(c, "\n");
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
		say(c, "mod replbody %zu\n", c->c_rep.len);
		res->r_replbody = true;
		if (res->r_keep && es_buf_append(&res->r_body, c->c_rep.data,
		                       c->c_rep.len) != 0)
			return conn_err(c,
			    "EOM: replaced body over %u bytes or out of memory",
			    MILTC_BODY_MAX);
		return 0;
	}
	if (t == SMFIR_CHGHEADER || t == SMFIR_INSHEADER) {
		if (c->c_rep.len < 4)
			return conn_err(c, "EOM: '%c' reply without index", t);
		idx = get32(c->c_rep.data);
		off = 4;
	}
	if ((a = rep_str(c, &off)) == NULL ||
	    ((hdr || t == SMFIR_ADDRCPT_PAR || off < c->c_rep.len) &&
	        (b = rep_str(c, &off)) == NULL))
		return conn_err(c, "EOM: '%c' reply: argument without NUL", t);
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
 * await - read replies until the final one for what; progress replies
 * only restart the clock; modifications are taken at end of message
 * only (res not NULL). Returns the reply letter or -1.
 */
static int
await(struct conn *c, const char *what, struct result *res)
{
	int t;

	for (;;) {
		if (read_packet(c, what) != 0)
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
			return conn_err(c, "%s: unexpected reply '%c' (0x%02x)",
			    what, t > 0x20 && t < 0x7f ? t : '?', t);
		if (take_mod(c, res) != 0)
			return -1;
	}
}

/* step - send the built command, await its reply unless told not to */
static int
step(struct conn *c, const char *what, uint32_t nr)
{
	if (pkt_send(c, what) != 0)
		return -1;
	if ((c->c_proto & nr) != 0)
		return R_NOREPLY;
	return await(c, what, NULL);
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
			return conn_err(c, "OPTNEG: truncated macro list");
		st = get32(c->c_rep.data + off);
		off += 4;
		if (st >= SYM_N || c->c_syms[st] != NULL)
			return conn_err(c, "OPTNEG: bad macro list stage %lu",
			    (unsigned long)st);
		if ((s = rep_str(c, &off)) == NULL)
			return conn_err(c, "OPTNEG: macro list without NUL");
		if ((c->c_syms[st] = es_strdup(s)) == NULL)
			return conn_err(c, "OPTNEG: out of memory");
		say(c, "optneg macros %s: ", sym_names[st]);
		say_str(c, s);
		say(c, "\n");
	}
	return 0;
}

static int
optneg(struct conn *c, uint32_t proto)
{
	char w[12];

	put32(w, SMFI_PROT_VERSION);
	put32(w + 4, MILTC_ACTS_OFFER);
	put32(w + 8, proto);
	pkt_begin(c, SMFIC_OPTNEG);
	pkt_put(c, w, sizeof(w));
	if (pkt_send(c, "OPTNEG") != 0 || read_packet(c, "OPTNEG") != 0)
		return -1;
	if (c->c_rcmd != SMFIC_OPTNEG || c->c_rep.len < 12)
		return conn_err(c,
		    "OPTNEG: unexpected reply 0x%02x of %zu bytes", c->c_rcmd,
		    c->c_rep.len);
	c->c_version = get32(c->c_rep.data);
	c->c_actions = get32(c->c_rep.data + 4);
	c->c_proto = get32(c->c_rep.data + 8);
	if (c->c_version < 2)
		return conn_err(c, "OPTNEG: milter protocol version %lu",
		    (unsigned long)c->c_version);
	say(c, "optneg version=%lu actions=0x%lx protocol=0x%lx\n",
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

/* send_macros - the macros for a command, those with a value */
static int
send_macros(struct conn *c, int cmd, int sym, const struct macro *mv, size_t n)
{
	char ch = (char)cmd;
	size_t i, sent = 0;

	pkt_begin(c, SMFIC_MACRO);
	pkt_put(c, &ch, 1);
	for (i = 0; i < n; i++) {
		if (mv[i].mc_value == NULL ||
		    !sym_wanted(c, sym, mv[i].mc_name))
			continue;
		pkt_str(c, mv[i].mc_name);
		pkt_str(c, mv[i].mc_value);
		sent++;
	}
	return sent == 0 ? 0 : pkt_send(c, "MACRO");
}

/*
 * The SMTP session and the message.
 */

/* conn_open - connect and negotiate */
static int
conn_open(struct conn *c, const struct env *e)
{
	if (sock_connect(c, e->e_sock) != 0)
		return -1;
	if (optneg(c, e->e_proto) != 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static int
do_connect(struct conn *c, const struct env *e)
{
	char under[1024];
	unsigned char port[2] = {(unsigned char)(e->e_cport >> 8),
	    (unsigned char)(e->e_cport & 0xff)};
	struct macro mv[] = {{"j", "mx.test"}, {"_", under},
	    {"{daemon_name}", "miltc"}, {"{client_addr}", e->e_caddr},
	    {"{client_name}", e->e_cname}};
	int v;

	if ((c->c_proto & SMFIP_NOCONNECT) != 0) {
		say(c, "connect skipped\n");
		return RUN_DONE;
	}
	if ((size_t)snprintf(under, sizeof(under), "%s [%s]", e->e_cname,
	        e->e_caddr) >= sizeof(under))
		return conn_err(c, "CONNECT: client name and address too long");
	if (send_macros(c, SMFIC_CONNECT, SYM_CONNECT, mv,
	        sizeof(mv) / sizeof(mv[0])) != 0)
		return RUN_ERR;
	pkt_begin(c, SMFIC_CONNECT);
	pkt_str(c, e->e_cname);
	if (strcmp(e->e_caddr, "unknown") == 0) {
		pkt_put(c, "U", 1); /* SMFIA_UNKNOWN: nothing follows */
	} else {
		pkt_put(c, strchr(e->e_caddr, ':') != NULL ? "6" : "4", 1);
		pkt_put(c, (const char *)port, sizeof(port));
		pkt_str(c, e->e_caddr);
	}
	if ((v = step(c, "CONNECT", SMFIP_NR_CONN)) < 0)
		return RUN_ERR;
	say(c, "connect ");
	say_verdict(c, v);
	say(c, "\n");
	return v == SMFIR_CONTINUE || v == R_NOREPLY ? RUN_DONE : RUN_CLOSED;
}

static int
do_helo(struct conn *c, const struct env *e)
{
	int v;

	if ((c->c_proto & SMFIP_NOHELO) != 0)
		return RUN_DONE;
	pkt_begin(c, SMFIC_HELO);
	pkt_str(c, e->e_helo);
	if ((v = step(c, "HELO", SMFIP_NR_HELO)) < 0)
		return RUN_ERR;
	if (v == SMFIR_CONTINUE || v == R_NOREPLY)
		return RUN_DONE;
	say(c, "helo ");
	say_verdict(c, v);
	say(c, "\n");
	return RUN_CLOSED;
}

/* msg_end - a reply ended the message: say so (what), abort it */
static int
msg_end(struct conn *c, const char *what, int v, struct result *res)
{
	if (what != NULL) {
		say(c, "%s ", what);
		say_verdict(c, v);
		say(c, "\n");
	}
	res->r_verdict = v;
	if (v != R_NORCPT)
		res->r_temp = temp_reply(c, v);
	return send_cmd(c, SMFIC_ABORT, "ABORT") != 0 ? RUN_ERR : RUN_ENDED;
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
	if (send_macros(
	        c, SMFIC_MAIL, SYM_MAIL, mv, sizeof(mv) / sizeof(mv[0])) != 0)
		return RUN_ERR;
	pkt_begin(c, SMFIC_MAIL);
	pkt_put(c, "<", 1);
	pkt_put(c, e->e_from, strlen(e->e_from));
	pkt_str(c, ">");
	return judge(c, "mail", step(c, "MAIL", SMFIP_NR_MAIL), res);
}

/* do_rcpt - one recipient: RUN_DONE kept, RUN_STOPPED dropped */
static int
do_rcpt(struct conn *c, const char *rcpt, struct result *res)
{
	struct macro mv[] = {{"{rcpt_addr}", rcpt}};
	int v;

	say(c, "rcpt ");
	say_str(c, rcpt);
	if ((c->c_proto & SMFIP_NORCPT) != 0) {
		say(c, " skipped\n");
		return RUN_DONE;
	}
	if (send_macros(c, SMFIC_RCPT, SYM_RCPT, mv, 1) != 0)
		return RUN_ERR;
	pkt_begin(c, SMFIC_RCPT);
	pkt_put(c, "<", 1);
	pkt_put(c, rcpt, strlen(rcpt));
	pkt_str(c, ">");
	if ((v = step(c, "RCPT", SMFIP_NR_RCPT)) < 0)
		return RUN_ERR;
	say(c, " ");
	say_verdict(c, v);
	say(c, "\n");
	if (v == SMFIR_TEMPFAIL || v == SMFIR_REJECT || v == SMFIR_REPLYCODE) {
		if (temp_reply(c, v))
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
	say(c, "abort no-recipients\n");
	res->r_temp = res->r_rcpt_temp == e->e_nrcpt;
	return msg_end(c, NULL, R_NORCPT, res);
}

static int
do_data(struct conn *c, struct result *res)
{
	if ((c->c_proto & SMFIP_NODATA) != 0)
		return RUN_DONE;
	pkt_begin(c, SMFIC_DATA);
	return judge(c, "data", step(c, "DATA", SMFIP_NR_DATA), res);
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
		pkt_begin(c, SMFIC_HEADER);
		pkt_str(c, h->h_name);
		pkt_put(c, v, n);
		pkt_put(c, "", 1);
		r = step(c, "HEADER", SMFIP_NR_HDR);
		if (r >= 0 && r != SMFIR_CONTINUE && r != R_NOREPLY) {
			say(c, "header ");
			say_str(c, h->h_name);
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
	if (send_macros(c, SMFIC_EOH, SYM_EOH, mv, 1) != 0)
		return RUN_ERR;
	pkt_begin(c, SMFIC_EOH);
	return judge(c, "eoh", step(c, "EOH", SMFIP_NR_EOH), res);
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
		return conn_err(c, "BODY: body too large or out of memory");
	for (off = 0; off < c->c_body.len; off += n) {
		n = c->c_body.len - off;
		if (n > MILTC_CHUNK)
			n = MILTC_CHUNK;
		pkt_begin(c, SMFIC_BODY);
		pkt_put(c, c->c_body.data + off, n);
		if ((v = step(c, "BODY", SMFIP_NR_BODY)) == SMFIR_SKIP) {
			say(c, "body skip\n");
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

	if (send_macros(c, SMFIC_BODYEOB, SYM_EOM, mv, 1) != 0)
		return RUN_ERR;
	t0 = now_sec();
	if (send_cmd(c, SMFIC_BODYEOB, "EOM") != 0 ||
	    (v = await(c, "EOM", res)) < 0)
		return RUN_ERR;
	res->r_eom_ms = (now_sec() - t0) * 1000.0;
	res->r_eom = true;
	res->r_verdict = v;
	res->r_temp = temp_reply(c, v);
	say(c, "eom ");
	say_verdict(c, v);
	say(c, "\n");
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

static void
result_free(struct result *res)
{
	result_reset(res);
	es_free(res->r_mods);
	es_buf_release(&res->r_body);
}

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

/* stage_next - RUN_STOPPED when a finished stage is the last one wanted */
static int
stage_next(int r, enum stage stop, enum stage here)
{
	return r == RUN_DONE && stop == here ? RUN_STOPPED : r;
}

/*
 * msg_run - one message on an open, greeted connection, stopping after
 * the stage stop (STAGE_NONE: the whole message). Returns RUN_DONE when
 * the EOM reply came, RUN_ENDED when a reply ended the message earlier,
 * RUN_STOPPED, or RUN_ERR (c_err says why).
 */
static int
msg_run(struct conn *c, const struct env *e, const struct msg *m,
    enum stage stop, struct result *res)
{
	char buf[32];
	const char *qid;
	int r;

	result_reset(res);
	qid = make_qid(e, buf, sizeof(buf));
	if ((r = stage_next(do_mail(c, e, qid, res), stop, STAGE_MAIL)) !=
	    RUN_DONE)
		return r;
	if ((r = stage_next(do_rcpts(c, e, res), stop, STAGE_RCPT)) != RUN_DONE)
		return r;
	if ((r = do_data(c, res)) != RUN_DONE)
		return r;
	if ((r = stage_next(do_headers(c, m, res), stop, STAGE_HEADER)) !=
	    RUN_DONE)
		return r;
	if ((r = stage_next(do_eoh(c, qid, res), stop, STAGE_EOH)) != RUN_DONE)
		return r;
	if ((r = stage_next(do_body(c, m, res), stop, STAGE_BODY)) != RUN_DONE)
		return r;
	return do_eom(c, qid, res);
}

/*
 * The message file.
 */

/* read_file - the whole file (NULL: stdin) into b */
static int
read_file(const char *path, struct es_buf *b, char *err, size_t errlen)
{
	FILE *fp = path != NULL ? fopen(path, "rb") : stdin;
	const char *name = path != NULL ? path : "stdin";
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (es_buf_append(b, chunk, n) != 0) {
			snprintf(err, errlen,
			    "%s: over %zu bytes or out of memory", name,
			    b->max);
			rc = -1;
			break;
		}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: read: %s", name, strerror(errno));
		rc = -1;
	}
	if (path != NULL)
		fclose(fp);
	return rc;
}

/* hdr_add - append a header; name and value are copied */
static int
hdr_add(struct msg *m, const char *name, size_t nlen, const char *value,
    size_t vlen)
{
	struct hdr *h;

	if (m->m_nhdrs == m->m_cap) {
		h = es_reallocarray(m->m_hdrs, m->m_cap * 2 + 16, sizeof(*h));
		if (h == NULL)
			return -1;
		m->m_hdrs = h;
		m->m_cap = m->m_cap * 2 + 16;
	}
	h = &m->m_hdrs[m->m_nhdrs];
	memset(h, 0, sizeof(*h));
	h->h_name = es_strndup(name, nlen);
	h->h_value = es_malloc(vlen + 1);
	if (h->h_name == NULL || h->h_value == NULL) {
		es_free(h->h_name);
		es_free(h->h_value);
		return -1;
	}
	memcpy(h->h_value, value, vlen);
	h->h_value[vlen] = '\0';
	h->h_vlen = vlen;
	m->m_nhdrs++;
	return 0;
}

/* hdr_fold - a continuation line joins the last header as LF + line */
static int
hdr_fold(struct hdr *h, const char *p, size_t n, const char *next)
{
	char *v;

	if ((v = es_realloc(h->h_value, h->h_vlen + n + 2)) == NULL)
		return -1;
	v[h->h_vlen] = '\n';
	memcpy(v + h->h_vlen + 1, p, n);
	h->h_vlen += n + 1;
	v[h->h_vlen] = '\0';
	h->h_value = v;
	h->h_rawlen = (size_t)(next - h->h_raw);
	return 0;
}

/* hdr_line - a "Name: value" line: 0 added, 1 not a header, -1 memory */
static int
hdr_line(struct msg *m, const char *p, const char *le, const char *next)
{
	const char *colon = memchr(p, ':', (size_t)(le - p)), *q, *ne;
	struct hdr *h;

	if (colon == NULL)
		return 1;
	for (ne = colon; ne > p && (ne[-1] == ' ' || ne[-1] == '\t'); ne--)
		;
	if (ne == p)
		return 1;
	for (q = p; q < ne; q++) /* RFC 5322 2.2: printable, no space */
		if (*q <= ' ' || *q > '~')
			return 1;
	if (hdr_add(m, p, (size_t)(ne - p), colon + 1,
	        (size_t)(le - colon - 1)) != 0)
		return -1;
	h = &m->m_hdrs[m->m_nhdrs - 1];
	h->h_raw = p;
	h->h_rawlen = (size_t)(next - p);
	return 0;
}

/* msg_parse - split m_file into headers and body */
static int
msg_parse(struct msg *m)
{
	const char *p = m->m_file.data, *end = p + m->m_file.len;
	const char *nl, *le, *next;
	int r;

	nl = memchr(p, '\n', m->m_file.len);
	m->m_eol = nl != NULL && nl > p && nl[-1] == '\r' ? "\r\n" : "\n";
	if (m->m_file.len >= 5 && memcmp(p, "From ", 5) == 0)
		p = nl != NULL ? nl + 1 : end;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		next = nl != NULL ? nl + 1 : end;
		le = nl != NULL ? nl : end;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) { /* the empty line ends the header */
			p = next;
			break;
		}
		if ((*p == ' ' || *p == '\t') && m->m_nhdrs > 0)
			r = hdr_fold(&m->m_hdrs[m->m_nhdrs - 1], p,
			    (size_t)(le - p), next);
		else
			r = hdr_line(m, p, le, next);
		if (r < 0)
			return -1;
		if (r > 0)
			break;
		p = next;
	}
	m->m_body = p;
	m->m_bodylen = (size_t)(end - p);
	return 0;
}

static void
msg_free(struct msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->m_nhdrs; i++) {
		es_free(m->m_hdrs[i].h_name);
		es_free(m->m_hdrs[i].h_value);
	}
	es_free(m->m_hdrs);
	es_buf_release(&m->m_file);
	es_buf_release(&m->m_tail);
	es_free(m);
}

/* msg_load - read and parse a message file (NULL: stdin); caller frees */
static struct msg *
msg_load(const char *path, char *err, size_t errlen)
{
	struct msg *m;

	if ((m = es_calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	es_buf_init(&m->m_file, MILTC_MSG_MAX);
	es_buf_init(&m->m_tail, 64);
	if (read_file(path, &m->m_file, err, errlen) != 0) {
		msg_free(m);
		return NULL;
	}
	/* an empty file still needs a buffer to point into */
	if (es_buf_reserve(&m->m_file, 1) != 0 || msg_parse(m) != 0) {
		snprintf(
		    err, errlen, "%s: out of memory", path ? path : "stdin");
		msg_free(m);
		return NULL;
	}
	return m;
}

/* msg_hostile - --big-header, --many-headers, --nul */
static int
msg_hostile(struct msg *m, size_t big, size_t many, bool nul)
{
	static const char nulbody[] = "nul bytes:\0\0\0:end";
	char name[32], *v;
	size_t i;
	int r;

	if (big > 0) {
		if ((v = es_malloc(big + 1)) == NULL)
			return -1;
		v[0] = ' ';
		memset(v + 1, 'x', big);
		r = hdr_add(m, "X-Big", 5, v, big + 1);
		es_free(v);
		if (r != 0)
			return -1;
	}
	for (i = 1; i <= many; i++) {
		/* "X-Many-" and at most 20 digits fit */
		snprintf(name, sizeof(name), "X-Many-%zu", i);
		if (hdr_add(m, name, strlen(name), " v", 2) != 0)
			return -1;
	}
	if (nul &&
	    (hdr_add(m, "X-Nul", 5, " before\0after", 13) != 0 ||
	        es_buf_append(&m->m_tail, nulbody, sizeof(nulbody) - 1) != 0 ||
	        es_buf_puts(&m->m_tail, m->m_eol) != 0))
		return -1;
	return 0;
}

/*
 * -o: the message as delivered.
 */

struct ohdr {
	const char *o_name, *o_value;
	size_t o_vlen;
	bool o_lead;
	const char *o_raw;
	size_t o_rawlen;
};

/* out_find - the idx-th header called name (1-based), or n */
static size_t
out_find(const struct ohdr *v, size_t n, const char *name, uint32_t idx)
{
	size_t i;

	if (idx == 0)
		idx = 1;
	for (i = 0; i < n; i++)
		if (strcasecmp(v[i].o_name, name) == 0 && --idx == 0)
			return i;
	return n;
}

/* out_apply - one edit, in the order the milter sent it; returns n */
static size_t
out_apply(struct ohdr *v, size_t n, const struct mod *md)
{
	struct ohdr new = {md->md_name, md->md_value, strlen(md->md_value),
	    md->md_lead, NULL, 0};
	size_t pos;

	switch (md->md_type) {
	case SMFIR_CHGHEADER:
		pos = out_find(v, n, md->md_name, md->md_idx);
		if (pos == n && *md->md_value != '\0')
			v[n++] = new; /* sendmail adds what is not there */
		else if (pos < n && *md->md_value == '\0')
			memmove(v + pos, v + pos + 1, (--n - pos) * sizeof(*v));
		else if (pos < n)
			v[pos] = new;
		return n;
	case SMFIR_INSHEADER:
		pos = md->md_idx < n ? md->md_idx : n;
		memmove(v + pos + 1, v + pos, (n - pos) * sizeof(*v));
		v[pos] = new;
		return n + 1;
	default:
		v[n] = new;
		return n + 1;
	}
}

/* out_text - text with each LF or CRLF written as eol */
static void
out_text(FILE *fp, const char *p, size_t n, const char *eol)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] == '\n')
			fputs(eol, fp);
		else
			fputc(p[i], fp);
	}
}

/* out_write - write the delivered message to path */
static int
out_write(const char *path, const struct msg *m, const struct result *res)
{
	struct ohdr *v;
	size_t i, n = m->m_nhdrs;
	FILE *fp;
	int rc = 0;

	if ((v = es_reallocarray(NULL, n + res->r_nmods + 1, sizeof(*v))) ==
	    NULL) {
		fprintf(stderr, "miltc: %s: out of memory\n", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		v[i] = (struct ohdr){m->m_hdrs[i].h_name, m->m_hdrs[i].h_value,
		    m->m_hdrs[i].h_vlen, false, m->m_hdrs[i].h_raw,
		    m->m_hdrs[i].h_rawlen};
	}
	for (i = 0; i < res->r_nmods; i++)
		n = out_apply(v, n, &res->r_mods[i]);
	if ((fp = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "miltc: %s: %s\n", path, strerror(errno));
		es_free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (v[i].o_raw != NULL) {
			fwrite(v[i].o_raw, 1, v[i].o_rawlen, fp);
			continue;
		}
		fprintf(fp, "%s:%s", v[i].o_name, v[i].o_lead ? " " : "");
		out_text(fp, v[i].o_value, v[i].o_vlen, m->m_eol);
		fputs(m->m_eol, fp);
	}
	fputs(m->m_eol, fp);
	if (res->r_replbody) {
		out_text(fp, res->r_body.data, res->r_body.len, m->m_eol);
	} else {
		fwrite(m->m_body, 1, m->m_bodylen, fp);
		fwrite(m->m_tail.data, 1, m->m_tail.len, fp);
	}
	if (ferror(fp) | (fclose(fp) != 0)) {
		fprintf(
		    stderr, "miltc: %s: write: %s\n", path, strerror(errno));
		rc = -1;
	}
	es_free(v);
	return rc;
}

/*
 * Conversation mode.
 */

enum then { THEN_CLOSE, THEN_ABORT, THEN_STALL };
static const char *const then_names[] = {"close", "abort", "stall"};

struct cli {
	struct env o_env;
	const char *o_msgfile, *o_outfile, *o_corpus;
	bool o_repeat, o_all, o_nul;
	size_t o_big, o_many, o_jobs, o_max;
	size_t o_secs;       /* --duration */
	const char *o_until; /* --until */
	enum stage o_stop;
	enum then o_then;
	bool o_then_set;
};

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
	put32(part, 1 + 64);
	part[4] = SMFIC_BODY;
	if (wire_write(c, part, sizeof(part), "stall") != 0)
		return RUN_ERR;
	t0 = now_ms();
	deadline = t0 + c->c_tmo;
	for (;;) {
		r = recv(c->c_fd, &b, 1, 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			say(c, "stall closed %.1f\n",
			    (double)(now_ms() - t0) / 1000.0);
			conn_close(c);
			return RUN_CLOSED;
		}
		if (r > 0)
			return conn_err(c, "stall: the milter sent data");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return conn_err(c, "stall: read from milter: %s",
			    strerror(errno));
		if (wait_fd(c, POLLIN, deadline,
		        "stall: the milter kept the connection") != 0)
			return RUN_ERR;
	}
}

/* after_stop - --then: close (RUN_CLOSED), stall until the milter
 * closes, or abort and go on */
static int
after_stop(struct conn *c, const struct cli *o, bool helo_sent)
{
	say(c, "stop %s %s\n", stage_names[o->o_stop], then_names[o->o_then]);
	if (o->o_then == THEN_CLOSE) {
		conn_close(c);
		return RUN_CLOSED;
	}
	if (o->o_then == THEN_STALL)
		return stall(c);
	if (send_cmd(c, SMFIC_ABORT, "ABORT") != 0)
		return RUN_ERR;
	return helo_sent ? RUN_DONE : do_helo(c, &o->o_env);
}

/* converse - the whole session; res holds the last message */
static int
converse(struct conn *c, const struct cli *o, const struct msg *m,
    struct result *res)
{
	const struct env *e = &o->o_env;
	int r, left = o->o_repeat ? 2 : 1;
	bool helo_sent = false;

	if (conn_open(c, e) != 0)
		return RUN_ERR;
	r = stage_next(do_connect(c, e), o->o_stop, STAGE_CONNECT);
	if (r == RUN_DONE) {
		helo_sent = true;
		r = stage_next(do_helo(c, e), o->o_stop, STAGE_HELO);
	}
	if (r == RUN_DONE &&
	    (r = msg_run(c, e, m, o->o_stop, res)) != RUN_STOPPED)
		left--;
	if (r == RUN_STOPPED)
		r = after_stop(c, o, helo_sent);
	while ((r == RUN_DONE || r == RUN_ENDED) && left-- > 0)
		r = msg_run(c, e, m, STAGE_NONE, res);
	if (r == RUN_ERR)
		return RUN_ERR;
	if (c->c_fd >= 0 && send_cmd(c, SMFIC_QUIT, "QUIT") != 0)
		return RUN_ERR;
	conn_close(c);
	return RUN_DONE;
}

static int
run_conversation(const struct cli *o)
{
	struct result res;
	struct conn c;
	struct msg *m;
	char err[512];
	int rc = 0;

	if ((m = msg_load(o->o_msgfile, err, sizeof(err))) == NULL) {
		fprintf(stderr, "miltc: %s\n", err);
		return 1;
	}
	if (msg_hostile(m, o->o_big, o->o_many, o->o_nul) != 0) {
		fprintf(stderr,
		    "miltc: %s: out of memory for the added headers\n",
		    o->o_msgfile ? o->o_msgfile : "stdin");
		msg_free(m);
		return 1;
	}
	/* a stale file must not pass for this run's output */
	if (o->o_outfile != NULL && unlink(o->o_outfile) != 0 &&
	    errno != ENOENT) {
		fprintf(
		    stderr, "miltc: %s: %s\n", o->o_outfile, strerror(errno));
		msg_free(m);
		return 1;
	}
	memset(&res, 0, sizeof(res));
	res.r_keep = o->o_env.e_keep;
	es_buf_init(&res.r_body, MILTC_BODY_MAX);
	conn_init(&c, o->o_env.e_tmo, stdout);
	if (converse(&c, o, m, &res) != RUN_DONE) {
		fflush(stdout);
		fprintf(stderr, "miltc: %s: %s\n", o->o_env.e_sock, c.c_err);
		rc = 1;
	} else if (o->o_outfile != NULL && !delivered(&res)) {
		fprintf(stderr,
		    "miltc: %s not written: the message was not "
		    "delivered (%s)\n",
		    o->o_outfile,
		    res.r_eom ? verdict_name(res.r_verdict) : "no EOM");
	} else if (o->o_outfile != NULL &&
	           out_write(o->o_outfile, m, &res) != 0) {
		rc = 1;
	}
	conn_free(&c);
	result_free(&res);
	msg_free(m);
	return rc;
}

/*
 * Benchmark mode.
 */

struct corpus {
	char **cp_paths;
	struct msg **cp_msgs;
	size_t cp_n, cp_cap;
};

enum {
	V_ACCEPT,
	V_CONTINUE,
	V_REJECT,
	V_TEMPFAIL,
	V_DISCARD,
	V_REPLYCODE,
	V_NORCPT,
	V_OTHER,
	V_N
};
static const char *const v_names[V_N] = {"accept", "continue", "reject",
    "tempfail", "discard", "replycode", "norcpt", "other"};

struct bench { /* shared by the threads */
	const struct env *b_env;
	const struct corpus *b_cp;
	size_t b_total;
	double b_deadline;    /* --duration: stop at this now_sec(), 0 none */
	const char *b_until;  /* --until: stop once it exists, NULL none */
	atomic_size_t b_next; /* next message number */
	atomic_uint b_shown;  /* errors shown on stderr */
};

struct worker { /* one thread, one connection */
	pthread_t w_tid;
	struct bench *w_b;
	double *w_lat; /* EOM latencies, ms */
	size_t w_nlat, w_latcap;
	size_t w_msgs, w_errors, w_spam, w_innocent, w_deferred;
	size_t w_verdicts[V_N];
};

static int corpus_walk(struct corpus *, const char *, bool, int);

/* corpus_add - keep a path; takes ownership of it */
static int
corpus_add(struct corpus *cp, char *path)
{
	char **v;

	if (cp->cp_n == cp->cp_cap) {
		v = es_reallocarray(
		    cp->cp_paths, cp->cp_cap * 2 + 64, sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "miltc: %s: out of memory\n", path);
			es_free(path);
			return -1;
		}
		cp->cp_paths = v;
		cp->cp_cap = cp->cp_cap * 2 + 64;
	}
	cp->cp_paths[cp->cp_n++] = path;
	return 0;
}

static bool
is_txt(const char *name)
{
	size_t n = strlen(name);

	return n >= 4 && strcmp(name + n - 4, ".txt") == 0;
}

/* corpus_entry - one directory entry: recurse, keep or skip */
static int
corpus_entry(
    struct corpus *cp, const char *dir, const char *name, bool all, int depth)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	struct stat st;
	char *path;
	int rc = 0;

	if ((path = es_malloc(n)) == NULL) {
		fprintf(stderr, "miltc: %s: out of memory\n", dir);
		return -1;
	}
	snprintf(path, n, "%s/%s", dir, name); /* n is exact */
	if (lstat(path, &st) != 0) {
		fprintf(stderr, "miltc: %s: %s\n", path, strerror(errno));
		rc = -1;
	} else if (S_ISDIR(st.st_mode)) {
		rc = corpus_walk(cp, path, all, depth + 1);
	} else if (S_ISREG(st.st_mode) && (all || is_txt(name))) {
		return corpus_add(cp, path);
	}
	es_free(path);
	return rc;
}

/* corpus_walk - collect the message files under dir */
static int
corpus_walk(struct corpus *cp, const char *dir, bool all, int depth)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > MILTC_DEPTH_MAX) {
		fprintf(stderr, "miltc: %s: more than %d directories deep\n",
		    dir, MILTC_DEPTH_MAX);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "miltc: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			rc = corpus_entry(cp, dir, de->d_name, all, depth);
	}
	if (rc == 0 && errno != 0) {
		fprintf(stderr, "miltc: %s: %s\n", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	return rc;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* corpus_load - sort the paths and parse every message */
static int
corpus_load(struct corpus *cp)
{
	char err[512];
	size_t i;

	qsort(cp->cp_paths, cp->cp_n, sizeof(*cp->cp_paths), cmp_path);
	if ((cp->cp_msgs = es_calloc(cp->cp_n + 1, sizeof(*cp->cp_msgs))) ==
	    NULL) {
		fprintf(stderr, "miltc: corpus: out of memory\n");
		return -1;
	}
	for (i = 0; i < cp->cp_n; i++)
		if ((cp->cp_msgs[i] = msg_load(
		         cp->cp_paths[i], err, sizeof(err))) == NULL) {
			fprintf(stderr, "miltc: %s\n", err);
			return -1;
		}
	return 0;
}

static void
corpus_free(struct corpus *cp)
{
	size_t i;

	for (i = 0; i < cp->cp_n; i++) {
		es_free(cp->cp_paths[i]);
		if (cp->cp_msgs != NULL)
			msg_free(cp->cp_msgs[i]);
	}
	es_free(cp->cp_paths);
	es_free(cp->cp_msgs);
}

static int
v_index(int v)
{
	switch (v) {
	case SMFIR_ACCEPT:
		return V_ACCEPT;
	case SMFIR_CONTINUE:
		return V_CONTINUE;
	case SMFIR_REJECT:
		return V_REJECT;
	case SMFIR_TEMPFAIL:
		return V_TEMPFAIL;
	case SMFIR_DISCARD:
		return V_DISCARD;
	case SMFIR_REPLYCODE:
		return V_REPLYCODE;
	case R_NORCPT:
		return V_NORCPT;
	default:
		return V_OTHER;
	}
}

/* bench_greet - open a connection up to HELO */
static int
bench_greet(struct conn *c, const struct env *e)
{
	int r;

	if (conn_open(c, e) != 0)
		return RUN_ERR;
	if ((r = do_connect(c, e)) == RUN_DONE)
		r = do_helo(c, e);
	if (r == RUN_CLOSED)
		conn_err(c, "CONNECT/HELO: the milter refused the session");
	if (r != RUN_DONE)
		conn_close(c);
	return r == RUN_DONE ? RUN_DONE : RUN_ERR;
}

/* peer_closed - anything to read between messages means EOF or junk */
static bool
peer_closed(const struct conn *c)
{
	struct pollfd pfd = {c->c_fd, POLLIN, 0};

	return poll(&pfd, 1, 0) != 0;
}

static void
worker_error(struct worker *w, const struct conn *c, const char *path)
{
	w->w_errors++;
	if (atomic_fetch_add(&w->w_b->b_shown, 1) < MILTC_SHOW_MAX)
		fprintf(stderr, "miltc: %s: %s: %s\n", w->w_b->b_env->e_sock,
		    path, c->c_err);
}

/* worker_tally - count a finished message */
static int
worker_tally(struct worker *w, const struct result *res)
{
	double *v;

	w->w_verdicts[v_index(res->r_verdict)]++;
	w->w_deferred += res->r_temp;
	w->w_spam += res->r_spam;
	w->w_innocent += res->r_innocent;
	if (!res->r_eom)
		return 0;
	if (w->w_nlat == w->w_latcap) {
		v = es_reallocarray(
		    w->w_lat, w->w_latcap * 2 + 1024, sizeof(*v));
		if (v == NULL)
			return -1;
		w->w_lat = v;
		w->w_latcap = w->w_latcap * 2 + 1024;
	}
	w->w_lat[w->w_nlat++] = res->r_eom_ms;
	return 0;
}

/* worker_send - one message, on the open connection or a new one */
static void
worker_send(struct worker *w, struct conn *c, struct result *res, size_t i)
{
	const struct corpus *cp = w->w_b->b_cp;
	const char *path = cp->cp_paths[i % cp->cp_n];

	w->w_msgs++;
	if (c->c_fd >= 0 && peer_closed(c))
		conn_close(c);
	if (c->c_fd < 0 && bench_greet(c, w->w_b->b_env) != RUN_DONE) {
		worker_error(w, c, path);
		return;
	}
	if (msg_run(c, w->w_b->b_env, cp->cp_msgs[i % cp->cp_n], STAGE_NONE,
	        res) == RUN_ERR) {
		worker_error(w, c, path);
		conn_close(c);
	} else if (worker_tally(w, res) != 0) {
		conn_err(c, "out of memory for latencies");
		worker_error(w, c, path);
	}
}

/* bench_over - --duration passed or the --until file exists */
static bool
bench_over(const struct bench *b)
{
	if (b->b_deadline > 0 && now_sec() >= b->b_deadline)
		return true;
	return b->b_until != NULL && access(b->b_until, F_OK) == 0;
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->w_b;
	struct result res;
	struct conn c;
	size_t i;

	memset(&res, 0, sizeof(res));
	es_buf_init(&res.r_body, MILTC_BODY_MAX);
	conn_init(&c, b->b_env->e_tmo, NULL);
	while (!bench_over(b) &&
	       (i = atomic_fetch_add(&b->b_next, 1)) < b->b_total)
		worker_send(w, &c, &res, i);
	if (c.c_fd >= 0 && send_cmd(&c, SMFIC_QUIT, "QUIT") != 0)
		fprintf(stderr, "miltc: %s: %s\n", b->b_env->e_sock, c.c_err);
	conn_free(&c);
	result_free(&res);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentile - nearest rank of p percent in the sorted v */
static double
percentile(const double *v, size_t n, unsigned p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * p + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* bench_report - merge the workers' counts and print them */
static int
bench_report(struct worker *w, size_t nw, size_t jobs, double secs)
{
	size_t i, k, msgs = 0, errors = 0, spam = 0, innocent = 0, nlat = 0;
	size_t deferred = 0;
	size_t verdicts[V_N] = {0};
	double *lat;

	for (i = 0; i < nw; i++)
		nlat += w[i].w_nlat;
	if ((lat = es_reallocarray(NULL, nlat + 1, sizeof(*lat))) == NULL) {
		fprintf(stderr, "miltc: latencies: out of memory\n");
		return 1;
	}
	for (i = 0, nlat = 0; i < nw; i++) {
		if (w[i].w_nlat > 0) /* w_lat is NULL until one came */
			memcpy(
			    lat + nlat, w[i].w_lat, w[i].w_nlat * sizeof(*lat));
		nlat += w[i].w_nlat;
		msgs += w[i].w_msgs;
		errors += w[i].w_errors;
		spam += w[i].w_spam;
		innocent += w[i].w_innocent;
		deferred += w[i].w_deferred;
		for (k = 0; k < V_N; k++)
			verdicts[k] += w[i].w_verdicts[k];
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("messages %zu\nerrors %zu\nconnections %zu\nseconds %.3f\n"
	       "rate %.1f\n",
	    msgs, errors, jobs, secs, secs > 0 ? (double)msgs / secs : 0.0);
	printf("eom_p50_ms %.3f\neom_p99_ms %.3f\neom_max_ms %.3f\n",
	    percentile(lat, nlat, 50), percentile(lat, nlat, 99),
	    nlat > 0 ? lat[nlat - 1] : 0.0);
	for (k = 0; k < V_N; k++)
		printf("verdict.%s %zu\n", v_names[k], verdicts[k]);
	printf("headers.spam %zu\nheaders.innocent %zu\ndeferred %zu\n", spam,
	    innocent, deferred);
	es_free(lat);
	return errors == 0 ? 0 : 1;
}

/* bench_threads - run the workers; returns how many ran */
static size_t
bench_threads(struct bench *b, struct worker *w, size_t jobs)
{
	size_t i, n;
	int err;

	for (n = 0; n < jobs; n++) {
		w[n].w_b = b;
		if ((err = pthread_create(
		         &w[n].w_tid, NULL, worker_run, &w[n])) != 0) {
			fprintf(stderr, "miltc: thread %zu of %zu: %s\n", n + 1,
			    jobs, strerror(err));
			break;
		}
	}
	for (i = 0; i < n; i++)
		if ((err = pthread_join(w[i].w_tid, NULL)) != 0)
			fprintf(stderr, "miltc: join thread %zu: %s\n", i + 1,
			    strerror(err));
	return n;
}

static int
run_bench(const struct cli *o)
{
	struct corpus cp;
	struct bench b;
	struct worker *w;
	size_t i, n;
	double t0;
	int rc;

	memset(&cp, 0, sizeof(cp));
	if (corpus_walk(&cp, o->o_corpus, o->o_all, 0) != 0 ||
	    corpus_load(&cp) != 0) {
		corpus_free(&cp);
		return 1;
	}
	if (cp.cp_n == 0) {
		fprintf(stderr, "miltc: %s: no message files\n", o->o_corpus);
		corpus_free(&cp);
		return 1;
	}
	b.b_env = &o->o_env;
	b.b_cp = &cp;
	b.b_total = o->o_max > 0                          ? o->o_max
	            : o->o_secs > 0 || o->o_until != NULL ? MILTC_MSGS_MAX
	                                                  : cp.cp_n;
	b.b_until = o->o_until;
	b.b_deadline = 0;
	atomic_init(&b.b_next, 0);
	atomic_init(&b.b_shown, 0);
	if ((w = es_calloc(o->o_jobs, sizeof(*w))) == NULL) {
		fprintf(stderr, "miltc: threads: out of memory\n");
		corpus_free(&cp);
		return 1;
	}
	t0 = now_sec();
	if (o->o_secs > 0)
		b.b_deadline = t0 + (double)o->o_secs;
	n = bench_threads(&b, w, o->o_jobs);
	rc = bench_report(w, n, n, now_sec() - t0);
	if (n < o->o_jobs)
		rc = 1;
	for (i = 0; i < o->o_jobs; i++)
		es_free(w[i].w_lat);
	es_free(w);
	corpus_free(&cp);
	return rc;
}

/*
 * Command line.
 */

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

	for (i = 1; i < sizeof(stage_names) / sizeof(stage_names[0]); i++)
		if (strcmp(s, stage_names[i]) == 0)
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
	rc = o.o_corpus != NULL ? run_bench(&o) : run_conversation(&o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "miltc: stdout: %s\n", strerror(errno));
		rc = 1;
	}
	es_free(o.o_env.e_rcpt);
	return rc;
}
