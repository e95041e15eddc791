/*
 * miltc.h - what the parts of miltc share: the milter protocol's
 * constants, the connection, message and result structures, the
 * command line, and the functions one part calls in another. Private to
 * tests/tools/miltc/; the program's manual is at the top of miltc_main.c.
 */
#ifndef MILTC_H
#define MILTC_H

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
extern const char *const miltc_stage_names[STAGE_BODY + 1];

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

/* the command line */
enum then { THEN_CLOSE, THEN_ABORT, THEN_STALL };

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

/* miltc_wire.c */
int miltc_conn_err(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void miltc_say(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void miltc_say_str(struct conn *c, const char *s);
int64_t miltc_now_ms(void);
double miltc_now_sec(void);
void miltc_put32(char *p, uint32_t v);
uint32_t miltc_get32(const char *p);
int miltc_wait_fd(
    struct conn *c, short events, int64_t deadline, const char *what);
int miltc_wire_write(struct conn *c, const char *p, size_t n, const char *what);
int miltc_read_packet(struct conn *c, const char *what);
void miltc_pkt_put(struct conn *c, const void *p, size_t n);
void miltc_pkt_str(struct conn *c, const char *s);
void miltc_pkt_begin(struct conn *c, int cmd);
int miltc_pkt_send(struct conn *c, const char *what);
int miltc_send_cmd(struct conn *c, int cmd, const char *what);
int miltc_sock_connect(struct conn *c, const char *spec);
void miltc_conn_init(struct conn *c, int tmo, FILE *out);
void miltc_conn_close(struct conn *c);
void miltc_conn_free(struct conn *c);

/* miltc_reply.c */
const char *miltc_verdict_name(int v);
void miltc_say_verdict(struct conn *c, int v);
bool miltc_temp_reply(const struct conn *c, int v);
int miltc_await(struct conn *c, const char *what, struct result *res);
int miltc_step(struct conn *c, const char *what, uint32_t nr);
int miltc_optneg(struct conn *c, uint32_t proto);
int miltc_send_macros(
    struct conn *c, int cmd, int sym, const struct macro *mv, size_t n);

/* miltc_session.c */
int miltc_conn_open(struct conn *c, const struct env *e);
int miltc_do_connect(struct conn *c, const struct env *e);
int miltc_do_helo(struct conn *c, const struct env *e);
void miltc_result_free(struct result *res);
int miltc_stage_next(int r, enum stage stop, enum stage here);
int miltc_msg_run(struct conn *c, const struct env *e, const struct msg *m,
    enum stage stop, struct result *res);

/* miltc_msg.c */
void miltc_msg_free(struct msg *m);
struct msg *miltc_msg_load(const char *path, char *err, size_t errlen);
int miltc_msg_hostile(struct msg *m, size_t big, size_t many, bool nul);
int miltc_out_write(
    const char *path, const struct msg *m, const struct result *res);

/* miltc_converse.c */
int miltc_run_conversation(const struct cli *o);

/* miltc_bench.c */
int miltc_run_bench(const struct cli *o);

#endif /* MILTC_H */
