/*
 * cls_msg.h - a parsed mail message, ready for tokenizing.
 *
 * cls_msg_parse() reads an RFC 5322 message (optionally preceded by an
 * mbox "From " line) from a byte buffer and produces the pieces the
 * tokenizers need: header fields (unfolded, RFC 2047 words decoded),
 * decoded body text of every text part (HTML reduced to text), the URLs
 * found in it, and a short description of every non-text part; and a
 * copy of the bytes it read, for DSPAM's tokenizers, which read a
 * message their own way (cls_dspam_msg.h).
 * It never fails on bad input: malformed mail sets defect flags and the
 * parser continues with what it can use. The only error is ES_ENOMEM.
 * Pure code: no I/O, no globals; every limit comes from struct cls_limits.
 */
#ifndef CLS_MSG_H
#define CLS_MSG_H

#include <stdbool.h>
#include <stddef.h>

/* The parser's bounds. cls_limits_default() gives the defaults. */
struct cls_limits {
	size_t max_scan_bytes; /* bytes of input examined (512 KiB) */
	size_t max_headers;    /* header fields kept, all parts (1000) */
	size_t max_line;       /* bytes of one header field kept (16 KiB) */
	unsigned max_depth;    /* MIME nesting depth (16) */
	size_t max_parts;      /* MIME parts examined (1000) */
	size_t max_tokens;     /* distinct tokens per message (20000) */
};

/* Defect flags: what was wrong with the input. */
enum cls_defect {
	CLS_DEF_TRUNCATED = 1u << 0,     /* input longer than max_scan_bytes */
	CLS_DEF_NUL = 1u << 1,           /* NUL bytes in the message */
	CLS_DEF_LONG_LINE = 1u << 2,     /* a header field cut at max_line */
	CLS_DEF_MANY_HEADERS = 1u << 3,  /* headers dropped at max_headers */
	CLS_DEF_DEPTH = 1u << 4,         /* nesting cut at max_depth */
	CLS_DEF_MANY_PARTS = 1u << 5,    /* parts dropped at max_parts */
	CLS_DEF_BOUNDARY = 1u << 6,      /* multipart without its boundary or
	                                    closing delimiter */
	CLS_DEF_BASE64 = 1u << 7,        /* invalid base64 skipped */
	CLS_DEF_QP = 1u << 8,            /* invalid quoted-printable */
	CLS_DEF_8BIT_HEADER = 1u << 9,   /* raw 8-bit bytes in a header */
	CLS_DEF_ENCODED_WORD = 1u << 10, /* broken RFC 2047 encoded word */
	CLS_DEF_NO_BODY = 1u << 11,      /* no empty line ends the header */
	CLS_DEF_BAD_HEADER = 1u << 12    /* a header line without a colon */
};

/* One header field. Text is not NUL-terminated; use the lengths. */
struct cls_header {
	const char *name;  /* field name as written, no colon */
	size_t name_len;
	const char *value; /* unfolded, encoded words decoded, trimmed */
	size_t value_len;
	unsigned part;     /* 0 = the message's own header; n = MIME part n */
	bool embedded;     /* header of a message/rfc822 inside the message */
};

/* A piece of text: body text, a URL, a part description. */
struct cls_text {
	const char *data;
	size_t len;
	unsigned part;
};

struct cls_msg {
	struct cls_header *hdrs; /* in message order, all parts */
	size_t nhdrs;
	struct cls_text *texts;  /* decoded body text, one per text part */
	size_t ntexts;
	struct cls_text *urls;   /* link targets and URLs seen in text */
	size_t nurls;
	struct cls_text *attach; /* non-text parts: "type/subtype" and, as a
	                            separate entry, "name:<file name>" */
	size_t nattach;
	unsigned nparts;         /* MIME parts seen (1 for a simple message) */
	unsigned defects;        /* enum cls_defect bits */
	void *priv;              /* the parser's storage; do not touch */
	const char *raw;         /* the bytes parsed (at most max_scan_bytes,
	                            mbox "From " line included): borrowed,
	                            the caller's buffer, valid while it is
	                            (no copy on the hot path); DSPAM's
	                            tokenizers read the message as DSPAM
	                            did, from these */
	size_t raw_len;
};

/* cls_limits_default - fill in the default limits. */
void cls_limits_default(struct cls_limits *lim);

/*
 * cls_msg_parse - parse len bytes of data (NUL bytes allowed; data need
 * not be NUL-terminated). On success *out is a new message that the
 * caller frees with cls_msg_free(); all pointers in it point into
 * storage it owns, except raw, which points into data (keep data while
 * the message is used). Returns 0 or ES_ENOMEM.
 */
int cls_msg_parse(const char *data, size_t len, const struct cls_limits *lim,
    struct cls_msg **out);

/* cls_msg_free - release a parsed message; NULL does nothing. */
void cls_msg_free(struct cls_msg *msg);

/*
 * cls_msg_header - the first header field of part 0 (the message's own
 * header) named name (case-insensitive), or NULL.
 */
const struct cls_header *cls_msg_header(const struct cls_msg *msg,
    const char *name);

#endif
