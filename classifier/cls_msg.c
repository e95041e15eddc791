/*
 * cls_msg.c - the message parser (see cls_msg.h).
 *
 * One pass over each MIME entity: its header fields are unfolded,
 * decoded and stored; its body is split (multipart), descended into
 * (message/rfc822) or decoded into text. Every string the message holds
 * lives in an arena of blocks owned by the message, so pointers stay
 * valid while the arrays of fields and texts grow. Recursion is bounded
 * by max_depth; every scan is linear in the bytes of its entity.
 * msg->raw points at the bytes scanned, in the caller's buffer (not
 * copied): the caller keeps that buffer while it uses the message.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cls_mime.h"
#include "cls_msg.h"
#include "es_alloc.h"
#include "es_buf.h"
#include "es_err.h"

#define ARENA_BLOCK 65536

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	char data[];
};

struct parser {
	const struct cls_limits *lim;
	struct cls_msg *m;
	struct arena_blk *arena;
	size_t caphdrs, captexts, capurls, capattach;
	struct es_buf tmp, tmp2; /* scratch for decoding */
	int err;                 /* sticky ES_ENOMEM */
};

/* The content description of one entity. */
struct entity {
	char type[64];     /* "text/plain", lowercased */
	char boundary[128];
	char name[256];    /* file name, if any */
	enum cls_cte cte;
	bool have_type;
};

void
cls_limits_default(struct cls_limits *lim)
{
	lim->max_scan_bytes = 512 * 1024;
	lim->max_headers = 1000;
	lim->max_line = 16 * 1024;
	lim->max_depth = 16;
	lim->max_parts = 1000;
	lim->max_tokens = 20000;
}

/* arena_copy - a stable copy of n bytes (plus a NUL) in the arena. */
static const char *
arena_copy(struct parser *p, const char *s, size_t n)
{
	struct arena_blk *b = p->arena;
	char *dst;

	if (p->err)
		return NULL;
	if (b == NULL || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;

		if ((b = es_malloc(sizeof(*b) + cap)) == NULL) {
			p->err = ES_ENOMEM;
			return NULL;
		}
		b->cap = cap;
		b->used = 0;
		b->next = p->arena;
		p->arena = b;
	}
	dst = b->data + b->used;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
	b->used += n + 1;
	return dst;
}

/* grow - make room for one more element in an array. */
static bool
grow(struct parser *p, void **arr, size_t *cap, size_t n, size_t size)
{
	void *na;
	size_t nc;

	if (p->err)
		return false;
	if (n < *cap)
		return true;
	nc = *cap ? *cap * 2 : 16;
	if ((na = es_reallocarray(*arr, nc, size)) == NULL) {
		p->err = ES_ENOMEM;
		return false;
	}
	*arr = na;
	*cap = nc;
	return true;
}

static void
add_text(struct parser *p, struct cls_text **arr, size_t *n, size_t *cap,
    const char *s, size_t len, unsigned part)
{
	const char *c;

	if (!grow(p, (void **)arr, cap, *n, sizeof(**arr)))
		return;
	if ((c = arena_copy(p, s, len)) == NULL)
		return;
	(*arr)[*n].data = c;
	(*arr)[*n].len = len;
	(*arr)[*n].part = part;
	(*n)++;
}

/* add_url - a link target, trimmed of trailing punctuation. */
static void
add_url(struct parser *p, const char *s, size_t len, unsigned part)
{
	while (len > 0 && strchr(".,;:!?)]'\"", s[len - 1]) != NULL)
		len--;
	if (len == 0 || len > 2048)
		return;
	add_text(p, &p->m->urls, &p->m->nurls, &p->capurls, s, len, part);
}

/* next_line - the line at *pos (without its end), advancing *pos. */
static bool
next_line(const char *d, size_t len, size_t *pos, const char **line,
    size_t *llen)
{
	const char *nl;
	size_t n;

	if (*pos >= len)
		return false;
	*line = d + *pos;
	nl = memchr(*line, '\n', len - *pos);
	if (nl == NULL) {
		n = len - *pos;
		*pos = len;
	} else {
		n = (size_t)(nl - *line);
		*pos += n + 1;
	}
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	*llen = n;
	return true;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * store_field - unfold, decode and keep one header field (raw bytes of
 * name and value, value possibly with folding line breaks); also note
 * the MIME fields in ent.
 */
static void
store_field(struct parser *p, const char *name, size_t nlen, const char *raw,
    size_t rlen, unsigned part, bool embedded, struct entity *ent)
{
	struct cls_msg *m = p->m;
	struct cls_header *h;
	const char *val, *nm;
	size_t i, vlen;

	/* unfold: line breaks go, runs of white space become one space */
	es_buf_reset(&p->tmp);
	for (i = 0; i < rlen; i++) {
		char c = raw[i];

		if (c == '\r' || c == '\n')
			continue;
		if ((unsigned char)c >= 0x80)
			m->defects |= CLS_DEF_8BIT_HEADER;
		if (c == '\0')
			c = ' ';
		if (is_wsp(c) && (p->tmp.len == 0 ||
		    p->tmp.data[p->tmp.len - 1] == ' '))
			continue;
		if (es_buf_putc(&p->tmp, is_wsp(c) ? ' ' : c) != 0) {
			m->defects |= CLS_DEF_LONG_LINE;
			break;
		}
	}
	while (p->tmp.len > 0 && p->tmp.data[p->tmp.len - 1] == ' ')
		p->tmp.len--;
	if (nlen == 12 && strncasecmp(name, "Content-Type", 12) == 0)
		cls_mime_content_type(p->tmp.data ? p->tmp.data : "",
		    p->tmp.len, ent->type, sizeof(ent->type), ent->boundary,
		    sizeof(ent->boundary), ent->name, sizeof(ent->name),
		    &ent->have_type);
	else if (nlen == 25 &&
	    strncasecmp(name, "Content-Transfer-Encoding", 25) == 0)
		ent->cte = cls_mime_cte(p->tmp.data ? p->tmp.data : "",
		    p->tmp.len);
	else if (nlen == 19 && strncasecmp(name, "Content-Disposition", 19) ==
	    0)
		cls_mime_disposition(p->tmp.data ? p->tmp.data : "",
		    p->tmp.len, ent->name, sizeof(ent->name));

	if (m->nhdrs >= p->lim->max_headers) {
		m->defects |= CLS_DEF_MANY_HEADERS;
		return;
	}
	es_buf_reset(&p->tmp2);
	if (p->tmp.len > 0) {
		unsigned d = 0;

		if (cls_mime_decode_words(p->tmp.data, p->tmp.len, &p->tmp2,
		        &d) == ES_ENOMEM) {
			p->err = ES_ENOMEM;
			return;
		}
		m->defects |= d;
	}
	vlen = p->tmp2.len;
	if (!grow(p, (void **)&m->hdrs, &p->caphdrs, m->nhdrs, sizeof(*h)))
		return;
	if ((nm = arena_copy(p, name, nlen)) == NULL ||
	    (val = arena_copy(p, p->tmp2.data ? p->tmp2.data : "", vlen)) ==
	        NULL)
		return;
	h = &m->hdrs[m->nhdrs++];
	h->name = nm;
	h->name_len = nlen;
	h->value = val;
	h->value_len = vlen;
	h->part = part;
	h->embedded = embedded;
}

/*
 * parse_header - read the header of an entity from d; *body gets the
 * offset of its body (len when there is none).
 */
static void
parse_header(struct parser *p, const char *d, size_t len, unsigned part,
    bool embedded, struct entity *ent, size_t *body)
{
	const char *line, *fname = NULL, *fstart = NULL;
	size_t pos = 0, llen, fnlen = 0, start = 0;
	bool ended = false;

	while (!p->err) {
		size_t at = pos;

		if (!next_line(d, len, &pos, &line, &llen))
			break;
		if (llen == 0) {
			ended = true;
			break;
		}
		if (is_wsp(line[0]) && fname != NULL) {
			continue; /* continuation of the current field */
		}
		/* a new field: finish the previous one */
		if (fname != NULL)
			store_field(p, fname, fnlen, fstart,
			    min_size(at, start + p->lim->max_line) - start,
			    part, embedded, ent);
		if (fname != NULL && at - start > p->lim->max_line)
			p->m->defects |= CLS_DEF_LONG_LINE;
		fname = NULL;
		{
			const char *colon = memchr(line, ':', llen);
			size_t n;

			if (colon == NULL) {
				p->m->defects |= CLS_DEF_BAD_HEADER;
				continue;
			}
			n = (size_t)(colon - line);
			while (n > 0 && is_wsp(line[n - 1]))
				n--;
			if (n == 0 || n > 256) {
				p->m->defects |= CLS_DEF_BAD_HEADER;
				continue;
			}
			fname = line;
			fnlen = n;
			fstart = colon + 1;
			start = (size_t)(fstart - d);
		}
	}
	if (fname != NULL) {
		size_t end = ended ? (size_t)(line - d) : pos;

		if (end - start > p->lim->max_line)
			p->m->defects |= CLS_DEF_LONG_LINE;
		store_field(p, fname, fnlen, fstart,
		    min_size(end, start + p->lim->max_line) - start, part,
		    embedded, ent);
	}
	if (!ended)
		p->m->defects |= embedded || part > 0 ? 0 : CLS_DEF_NO_BODY;
	*body = ended ? pos : len;
}

struct url_ctx {
	struct parser *p;
	unsigned part;
};

/* url_cb - a link target found in HTML. */
static void
url_cb(void *arg, const char *s, size_t n)
{
	struct url_ctx *uc = arg;

	add_url(uc->p, s, n, uc->part);
}

/*
 * blank_urls - move the URLs of text into the message's list and blank
 * them out of the text (so words of a link are not counted twice).
 */
static void
blank_urls(struct parser *p, char *t, size_t n, unsigned part)
{
	size_t i = 0;

	while (i < n) {
		size_t skip = cls_mime_url_at(t, n, i);
		size_t j;

		if (skip == 0) {
			i++;
			continue;
		}
		add_url(p, t + i, skip, part);
		for (j = i; j < i + skip; j++)
			t[j] = ' ';
		i += skip;
	}
}

/* text_part - decode a text body and keep it. */
static void
text_part(struct parser *p, const struct entity *ent, const char *b,
    size_t blen, unsigned part)
{
	unsigned d = 0;
	size_t i;

	es_buf_reset(&p->tmp);
	if (cls_mime_decode_body(ent->cte, b, blen, &p->tmp, &d) == ES_ENOMEM) {
		p->err = ES_ENOMEM;
		return;
	}
	p->m->defects |= d;
	if (strcmp(ent->type, "text/html") == 0) {
		es_buf_reset(&p->tmp2);
		struct url_ctx uc = {p, part};

		if (cls_mime_html(p->tmp.data ? p->tmp.data : "", p->tmp.len,
		        &p->tmp2, url_cb, &uc) == ES_ENOMEM) {
			p->err = ES_ENOMEM;
			return;
		}
		if (p->err)
			return;
		es_buf_reset(&p->tmp);
		if (p->tmp2.len > 0 &&
		    es_buf_append(&p->tmp, p->tmp2.data, p->tmp2.len) != 0) {
			p->err = ES_ENOMEM;
			return;
		}
	}
	for (i = 0; i < p->tmp.len; i++)
		if (p->tmp.data[i] == '\0')
			p->tmp.data[i] = ' ';
	if (p->tmp.len > 0)
		blank_urls(p, p->tmp.data, p->tmp.len, part);
	add_text(p, &p->m->texts, &p->m->ntexts, &p->captexts,
	    p->tmp.data ? p->tmp.data : "", p->tmp.len, part);
}

static void parse_entity(struct parser *p, const char *d, size_t len,
    unsigned depth, bool embedded, const char *deftype);

/* embedded_encoded - a base64 or quoted-printable message/rfc822. */
static void
embedded_encoded(struct parser *p, const struct entity *ent, const char *d,
    size_t len, unsigned depth)
{
	struct es_buf dec;
	unsigned defects = 0;

	es_buf_init(&dec, len + 1);
	if (cls_mime_decode_body(ent->cte, d, len, &dec, &defects) ==
	    ES_ENOMEM) {
		p->err = ES_ENOMEM;
	} else {
		p->m->defects |= defects;
		parse_entity(p, dec.data ? dec.data : "", dec.len, depth + 1,
		    true, "text/plain");
	}
	es_buf_release(&dec);
}

/* boundary_line - whether line is "--boundary" (*close: "--boundary--"),
 * allowing trailing white space. */
static bool
boundary_line(const char *line, size_t llen, const char *bd, size_t blen,
    bool *close)
{
	size_t i = blen + 2;

	if (llen < blen + 2 || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, bd, blen) != 0)
		return false;
	*close = llen >= i + 2 && line[i] == '-' && line[i + 1] == '-';
	if (*close)
		i += 2;
	for (; i < llen; i++)
		if (!is_wsp(line[i]))
			return false;
	return true;
}

/* multipart - split a multipart body on its boundary. */
static void
multipart(struct parser *p, const struct entity *ent, const char *b,
    size_t blen, unsigned depth)
{
	const char *deftype = strcmp(ent->type, "multipart/digest") == 0
	    ? "message/rfc822"
	    : "text/plain";
	size_t bdl = strlen(ent->boundary), pos = 0, llen, start = 0;
	const char *line;
	bool in_part = false, closed = false, close;

	while (!p->err && next_line(b, blen, &pos, &line, &llen)) {
		size_t at = (size_t)(line - b);

		if (!boundary_line(line, llen, ent->boundary, bdl, &close))
			continue;
		if (in_part) {
			/* the line break before the delimiter belongs to it */
			size_t end = at;

			if (end > start && b[end - 1] == '\n')
				end--;
			if (end > start && b[end - 1] == '\r')
				end--;
			parse_entity(p, b + start, end - start, depth + 1,
			    false, deftype);
		}
		if (close) {
			closed = true;
			break;
		}
		in_part = true;
		start = pos;
	}
	if (!closed) {
		p->m->defects |= CLS_DEF_BOUNDARY;
		if (in_part && !p->err)
			parse_entity(p, b + start, blen - start, depth + 1,
			    false, deftype);
	}
}

static void
parse_entity(struct parser *p, const char *d, size_t len, unsigned depth,
    bool embedded, const char *deftype)
{
	struct cls_msg *m = p->m;
	struct entity ent;
	unsigned part;
	size_t body;

	if (p->err)
		return;
	if (m->nparts >= p->lim->max_parts) {
		m->defects |= CLS_DEF_MANY_PARTS;
		return;
	}
	part = m->nparts++;
	memset(&ent, 0, sizeof(ent));
	strlcpy(ent.type, deftype, sizeof(ent.type));
	ent.cte = CLS_CTE_IDENTITY;
	parse_header(p, d, len, part, embedded, &ent, &body);
	if (p->err)
		return;
	d += body;
	len -= body;

	if (strncmp(ent.type, "multipart/", 10) == 0) {
		if (ent.boundary[0] == '\0') {
			m->defects |= CLS_DEF_BOUNDARY;
			strlcpy(ent.type, "text/plain", sizeof(ent.type));
		} else if (depth >= p->lim->max_depth) {
			m->defects |= CLS_DEF_DEPTH;
			return;
		} else {
			multipart(p, &ent, d, len, depth);
			return;
		}
	}
	if (strcmp(ent.type, "message/rfc822") == 0) {
		if (depth >= p->lim->max_depth) {
			m->defects |= CLS_DEF_DEPTH;
			return;
		}
		if (ent.cte == CLS_CTE_IDENTITY) {
			parse_entity(p, d, len, depth + 1, true, "text/plain");
			return;
		}
		/* RFC 2046 forbids encoding it, but some mailers base64 a
		 * forwarded message; what the parse keeps is copied to the
		 * arena, so the decoded copy lives only for the call */
		embedded_encoded(p, &ent, d, len, depth);
		return;
	}
	if (strncmp(ent.type, "text/", 5) == 0) {
		text_part(p, &ent, d, len, part);
		return;
	}
	add_text(p, &m->attach, &m->nattach, &p->capattach, ent.type,
	    strlen(ent.type), part);
	if (ent.name[0] != '\0') {
		char buf[sizeof(ent.name) + 8];
		int n = snprintf(buf, sizeof(buf), "name:%s", ent.name);

		add_text(p, &m->attach, &m->nattach, &p->capattach, buf,
		    (size_t)n, part);
	}
}

int
cls_msg_parse(const char *data, size_t len, const struct cls_limits *lim,
    struct cls_msg **out)
{
	struct parser p;
	struct cls_msg *m;
	size_t scan = len;

	*out = NULL;
	if ((m = es_calloc(1, sizeof(*m))) == NULL)
		return ES_ENOMEM;
	memset(&p, 0, sizeof(p));
	p.lim = lim;
	p.m = m;
	es_buf_init(&p.tmp, lim->max_scan_bytes + lim->max_line + 1024);
	es_buf_init(&p.tmp2, lim->max_scan_bytes + lim->max_line + 1024);
	if (scan > lim->max_scan_bytes) {
		scan = lim->max_scan_bytes;
		m->defects |= CLS_DEF_TRUNCATED;
	}
	if (memchr(data, '\0', scan) != NULL)
		m->defects |= CLS_DEF_NUL;
	m->raw = data;
	m->raw_len = scan;
	/* an mbox "From " line is not part of the message */
	if (scan >= 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', scan);
		size_t skip = nl ? (size_t)(nl - data) + 1 : scan;

		data += skip;
		scan -= skip;
	}
	parse_entity(&p, data, scan, 0, false, "text/plain");
	es_buf_release(&p.tmp);
	es_buf_release(&p.tmp2);
	m->priv = p.arena;
	if (p.err) {
		cls_msg_free(m);
		return p.err;
	}
	*out = m;
	return 0;
}

void
cls_msg_free(struct cls_msg *msg)
{
	struct arena_blk *b, *next;

	if (msg == NULL)
		return;
	for (b = msg->priv; b != NULL; b = next) {
		next = b->next;
		es_free(b);
	}
	es_free(msg->hdrs);
	es_free(msg->texts);
	es_free(msg->urls);
	es_free(msg->attach);
	es_free(msg);
}

const struct cls_header *
cls_msg_header(const struct cls_msg *msg, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < msg->nhdrs; i++) {
		const struct cls_header *h = &msg->hdrs[i];

		if (h->part == 0 && !h->embedded && h->name_len == n &&
		    strncasecmp(h->name, name, n) == 0)
			return h;
	}
	return NULL;
}
