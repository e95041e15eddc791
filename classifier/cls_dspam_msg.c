/*
 * cls_dspam_msg.c - the header text and body text DSPAM 3.10 makes of a
 * message (see cls_dspam_msg.h), re-implemented from its behaviour.
 *
 * Reading. dspam reads its input with fgets() into a C string: a NUL
 * byte drops the rest of its line (of its 1023-byte piece of a longer
 * line), and leading "From QUARANTINE" lines are skipped.
 *
 * Splitting into parts (DSPAM's "actualize"). The message is cut at
 * every '\n'; a part begins in header state:
 *   - a line that starts with "--" + any boundary seen so far ends the
 *     part (in any state) and begins a new one;
 *   - in header state a line starting with a blank continues the last
 *     header field made (even one of the previous part), a non-empty
 *     line not starting with CR makes a field (name: up to the first
 *     ':', the whole line when it has none; value: after the ':' and
 *     its blanks), and an empty line (or one starting with CR) starts
 *     the body;
 *   - in body state every line is the part's body, and a line starting
 *     with "Content-Type" (or continuing one) that names a boundary
 *     adds it: so the parts of an embedded message are parts too.
 * Boundaries are never forgotten; a line matches one by prefix, so
 * "--b--" closes as "--b" opens (the text after a closing delimiter is
 * the header of one more part, and without a header line that part is
 * dropped). A field's Content-Type, Content-Transfer-Encoding and
 * Content-Disposition set its part's media type, encoding and
 * disposition (by prefix: "text/html..." is HTML). When a part ends,
 * the first "=?" of each of its fields' values (read unfolded, the
 * blanks at the start of continuation lines dropped) is decoded if it
 * is a complete B or Q encoded word; the value then becomes the text
 * before it plus the decoded text, and the rest of the field is lost
 * (DSPAM's quirk, kept: a compatible tokenizer must lose it too).
 *
 * The agent's step. Before the library tokenizes, the dspam agent (while
 * it looks for a signature tag) decodes every base64 or quoted-printable
 * text part that is no attachment, and, unless the message is
 * multipart/signed, calls the part 8bit from then on and rewrites each
 * of its Content-Transfer-Encoding fields to "8bit". DSPAM's token
 * tables show it: "Content-Transfer-Encoding*8bit" counts every such
 * part, and their text is "%XX"-decoded as 8bit text is.
 *
 * The texts (DSPAM's "degenerate"). For each part that has header
 * fields, in order: each field as "Name: value\n", the value with its
 * line breaks, cut to 1023 bytes (DSPAM's buffer; the cut line then
 * runs on into the next field's line); then, for text and message
 * parts and the body of the top part when it is multipart, the body:
 * as the agent decoded it, else base64 or quoted-printable decoded
 * unless it is an attachment (the decoding stops at the first NUL it
 * produces, and base64's output gets a final newline), "%XX" decoded
 * when the part is 8bit (by its field or the agent's step), HTML
 * reduced by cls_dspam_html(). Bodies are concatenated with nothing in
 * between.
 *
 * Limits: the texts grow linearly with the input (see the header);
 * boundaries are kept up to DSPAM_MAX_BOUNDS distinct ones (DSPAM kept
 * all, which let each line cost as much as the boundaries before it);
 * every scan is linear.
 * Errors: ES_ENOMEM, ES_ELIMIT from the caller's buffers. Pure code, no
 * globals; thread-safe.
 */
#include "cls_dspam_msg.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cls_dspam_html.h"
#include "cls_mime.h"
#include "es_alloc.h"
#include "es_err.h"

/* DSPAM's buffer for one "Name: value\n" line, with its NUL. */
#define DSPAM_FIELD_LINE 1024
/* DSPAM's boundary buffer, with its NUL. */
#define DSPAM_BOUNDARY 128
/* Distinct boundaries kept: a hostile message naming a new one on every
 * line would make every line compare against all of them. */
#define DSPAM_MAX_BOUNDS 64
/* fgets() pieces: 1023 bytes and the NUL. */
#define DSPAM_READ_PIECE 1023

enum dtype { DT_TEXT, DT_MULTIPART, DT_MESSAGE, DT_APPLICATION, DT_OTHER };
enum denc {
	DE_UNKNOWN,
	DE_7BIT,
	DE_8BIT,
	DE_QP,
	DE_BASE64,
	DE_BINARY,
	DE_OTHER
};

/* A header field: name and value in the reader's field buffer. */
struct dfield {
	size_t name_off, name_len;
	size_t val_off, val_len;
};

/* A part: its fields are fields[first .. first + nfields). */
struct dpart {
	enum dtype type;
	enum denc enc;
	bool html;
	bool attachment;
	bool is_signed; /* multipart/signed */
	size_t first, nfields;
	bool has_body;
	size_t body_off, body_len; /* in the message */
	bool predecoded;           /* the agent decoded it: */
	size_t dec_off, dec_len;   /* its text in the reader's dec */
};

struct reader {
	const char *m; /* the message as DSPAM holds it */
	size_t n;
	struct es_buf fb; /* field names and values */
	struct dfield *fields;
	size_t nfields, capfields;
	struct dpart *parts;
	size_t nparts, capparts;
	char bounds[DSPAM_MAX_BOUNDS][DSPAM_BOUNDARY + 2]; /* "--" + text */
	size_t boundlen[DSPAM_MAX_BOUNDS];
	size_t nbounds;
	size_t cur;    /* the field a continuation line extends */
	bool have_cur; /* there is one */
	bool in_content;
	struct es_buf dec;       /* bodies the agent decoded */
	struct es_buf tmp, tmp2; /* scratch */
	int err;
};

/* prefix - s (n bytes) starts with p, ASCII case ignored. */
static bool
prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);

	return n >= l && strncasecmp(s, p, l) == 0;
}

/* name_is - s (n bytes) is p, ASCII case ignored. */
static bool
name_is(const char *s, size_t n, const char *p)
{
	return n == strlen(p) && strncasecmp(s, p, n) == 0;
}

/* blank - isspace() of the C locale. */
static bool
blank(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* hexval - the value of a hex digit, -1 for anything else. */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* note - remember the first error. */
static void
note(struct reader *r, int rc)
{
	if (rc != 0 && r->err == 0)
		r->err = rc;
}

/* cut_nul - the length of s up to its first NUL (C string reading). */
static size_t
cut_nul(const char *s, size_t n)
{
	return s == NULL ? 0 : strnlen(s, n);
}

/* finish - read what was decoded into out from start on as a C string
 * (DSPAM's strlen()), with the NUL terminator es_buf keeps. */
static size_t
finish(struct es_buf *out, size_t start, size_t end)
{
	out->len = start + cut_nul(out->data + start, end - start);
	out->data[out->len] = '\0';
	return out->len - start;
}

/*
 * base64 - DSPAM's base64 decoder: bytes outside the alphabet are
 * skipped, the first '=' ends the input, an incomplete final group is
 * dropped unless '=' ends it; the output is read as a C string and gets
 * a final newline. Appends to out.
 */
static int
base64(const char *in, size_t n, struct es_buf *out)
{
	unsigned long bits = 0;
	size_t i, start = out->len;
	unsigned char *o;
	int cnt = 0, v, rc;

	/* 3 bytes per 4 digits, a final group and a newline */
	if ((rc = es_buf_reserve(out, n / 4 * 3 + 4)) != 0)
		return rc;
	o = (unsigned char *)out->data + start;
	for (i = 0; i < n && in[i] != '='; i++) {
		if ((v = cls_mime_b64_value((unsigned char)in[i])) < 0)
			continue;
		bits = (bits << 6) | (unsigned long)v;
		if (++cnt == 4) {
			*o++ = (unsigned char)(bits >> 16);
			*o++ = (unsigned char)(bits >> 8);
			*o++ = (unsigned char)bits;
			bits = 0;
			cnt = 0;
		}
	}
	if (i < n && in[i] == '=' && cnt >= 2) {
		bits <<= 6 * (4 - cnt);
		*o++ = (unsigned char)(bits >> 16);
		if (cnt == 3)
			*o++ = (unsigned char)(bits >> 8);
	}
	if (finish(out, start, (size_t)((char *)o - out->data)) > 0 &&
	    out->data[out->len - 1] != '\n') {
		out->data[out->len++] = '\n';
		out->data[out->len] = '\0';
	}
	return 0;
}

/*
 * unhex - DSPAM's quoted-printable decoder (qp: "=XX", soft line
 * breaks "=\n" and "=\r\n") or its "%XX" decoder for 8bit parts; the
 * output is read as a C string. Appends to out.
 */
static int
unhex(const char *in, size_t n, bool qp, struct es_buf *out)
{
	char esc = qp ? '=' : '%';
	size_t i, start = out->len;
	int hi, lo, rc;
	char c, *o;

	if (n == 0)
		return 0;
	if ((rc = es_buf_reserve(out, n)) != 0) /* never longer */
		return rc;
	o = out->data + start;
	for (i = 0; i < n; i++) {
		c = in[i];
		if (c == esc && qp && i + 2 < n && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (c == esc && qp && i + 1 < n && in[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c == esc && i + 2 < n &&
		    (hi = hexval((unsigned char)in[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)in[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		*o++ = c;
	}
	finish(out, start, (size_t)(o - out->data));
	return 0;
}

/* match_bound - the line (n bytes) starts with a known "--boundary". */
static bool
match_bound(const struct reader *r, const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < r->nbounds; k++)
		if (n >= r->boundlen[k] &&
		    memcmp(s, r->bounds[k], r->boundlen[k]) == 0)
			return true;
	return false;
}

/* push_bound - add "--" + b (bl bytes); an empty one adds nothing. */
static void
push_bound(struct reader *r, const char *b, size_t bl)
{
	size_t k;

	if (bl == 0 || r->nbounds == DSPAM_MAX_BOUNDS)
		return;
	for (k = 0; k < r->nbounds; k++)
		if (r->boundlen[k] == bl + 2 &&
		    memcmp(r->bounds[k] + 2, b, bl) == 0)
			return; /* the same again changes no match */
	memcpy(r->bounds[r->nbounds], "--", 2);
	memcpy(r->bounds[r->nbounds] + 2, b, bl);
	r->boundlen[r->nbounds++] = bl + 2;
}

/* tok_delim - the delimiters DSPAM cuts a boundary value at. */
static bool
tok_delim(char c)
{
	return c == ' ' || c == '"' || c == ';' || c == '\n' || c == '\t';
}

/*
 * add_bound - DSPAM's boundary extraction from a Content-Type text s (n
 * bytes): after the first "boundary" (any case) the text after the next
 * '=' (blanks and one '"' skipped) up to the end of the first word cut
 * at blank, '"' or ';' (when that word is preceded by such a cut
 * character, they are kept: DSPAM copies from where the word search
 * started), at most 127 bytes. Pushed unless it starts with a known
 * boundary.
 */
static void
add_bound(struct reader *r, const char *s, size_t n)
{
	size_t i, q, t, e;
	const char *eq;

	for (i = 0; i < n; i++)
		if (prefix(s + i, n - i, "boundary"))
			break;
	if (i == n || (eq = memchr(s + i, '=', n - i)) == NULL)
		return;
	q = (size_t)(eq - s) + 1;
	while (q < n && blank((unsigned char)s[q]))
		q++;
	if (q < n && s[q] == '"')
		q++;
	for (t = q; t < n && tok_delim(s[t]); t++)
		;
	if (t == n) {
		e = n; /* no word: the rest, as it stands */
	} else {
		for (e = t; e < n && !tok_delim(s[e]); e++)
			;
	}
	if (e - q > DSPAM_BOUNDARY - 1)
		e = q + DSPAM_BOUNDARY - 1;
	if (!match_bound(r, s + q, e - q))
		push_bound(r, s + q, e - q);
}

/* value - the value of field f. */
static const char *
value(const struct reader *r, const struct dfield *f)
{
	return r->fb.data + f->val_off;
}

/* analyze - what field f says about part p. */
static void
analyze(struct reader *r, struct dpart *p, const struct dfield *f)
{
	const char *name = r->fb.data + f->name_off;
	const char *v = value(r, f);
	size_t n = f->val_len;

	if (name_is(name, f->name_len, "Content-Type")) {
		p->html = false;
		p->is_signed = false;
		if (prefix(v, n, "text")) {
			p->type = DT_TEXT;
			p->html = n >= 5 && prefix(v + 5, n - 5, "html");
		} else if (prefix(v, n, "application")) {
			p->type = DT_APPLICATION;
		} else if (prefix(v, n, "message")) {
			p->type = DT_MESSAGE;
		} else if (prefix(v, n, "multipart")) {
			p->type = DT_MULTIPART;
			p->is_signed =
			    n >= 10 && prefix(v + 10, n - 10, "signed");
			add_bound(r, v, n);
		} else {
			p->type = DT_OTHER;
		}
	} else if (name_is(name, f->name_len, "Content-Transfer-Encoding")) {
		if (prefix(v, n, "7bit"))
			p->enc = DE_7BIT;
		else if (prefix(v, n, "8bit"))
			p->enc = DE_8BIT;
		else if (prefix(v, n, "quoted-printable"))
			p->enc = DE_QP;
		else if (prefix(v, n, "base64"))
			p->enc = DE_BASE64;
		else if (prefix(v, n, "binary"))
			p->enc = DE_BINARY;
		else
			p->enc = DE_OTHER;
	}
	if (name_is(name, f->name_len, "Content-Disposition"))
		p->attachment = prefix(v, n, "attachment");
}

/* new_part - begin a part (header state). */
static struct dpart *
new_part(struct reader *r)
{
	struct dpart *p;
	void *na;

	if (r->nparts == r->capparts) {
		r->capparts = r->capparts ? r->capparts * 2 : 8;
		na = es_reallocarray(r->parts, r->capparts, sizeof(*r->parts));
		if (na == NULL) {
			note(r, ES_ENOMEM);
			return NULL;
		}
		r->parts = na;
	}
	p = &r->parts[r->nparts++];
	memset(p, 0, sizeof(*p));
	p->type = DT_TEXT;
	p->enc = DE_UNKNOWN;
	p->first = r->nfields;
	return p;
}

/* new_field - a header field from line s (n bytes) in part p. */
static void
new_field(struct reader *r, struct dpart *p, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t nl = colon ? (size_t)(colon - s) : n, v = n;
	struct dfield *f;
	void *na;

	if (r->nfields == r->capfields) {
		r->capfields = r->capfields ? r->capfields * 2 : 32;
		na = es_reallocarray(
		    r->fields, r->capfields, sizeof(*r->fields));
		if (na == NULL) {
			note(r, ES_ENOMEM);
			return;
		}
		r->fields = na;
	}
	if (colon != NULL)
		for (v = nl + 1; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
			;
	f = &r->fields[r->nfields];
	f->name_off = r->fb.len;
	f->name_len = nl;
	f->val_off = r->fb.len + nl;
	f->val_len = n - v;
	note(r, es_buf_append(&r->fb, s, nl));
	note(r, es_buf_append(&r->fb, s + v, n - v));
	if (r->err)
		return;
	r->cur = r->nfields++;
	r->have_cur = true;
	p->nfields++;
	analyze(r, p, f);
}

/* continuation - line s (n bytes) continues the last field made. */
static void
continuation(struct reader *r, struct dpart *p, const char *s, size_t n)
{
	struct dfield *f = &r->fields[r->cur];
	size_t off = r->fb.len;

	if (f->val_off + f->val_len != r->fb.len) {
		/* its value was replaced by a decoding: move it to the end,
		 * where it can grow */
		note(r, es_buf_reserve(&r->fb, f->val_len));
		if (r->err)
			return;
		memcpy(r->fb.data + off, r->fb.data + f->val_off, f->val_len);
		r->fb.len += f->val_len;
		r->fb.data[r->fb.len] = '\0';
		f->val_off = off;
	}
	note(r, es_buf_putc(&r->fb, '\n'));
	note(r, es_buf_append(&r->fb, s, n));
	if (r->err)
		return;
	f->val_len += 1 + n;
	analyze(r, p, f);
}

/* next_word - the next '?'-separated word of s[*pos..n), as strtok()
 * finds it; false when there is none. */
static bool
next_word(const char *s, size_t n, size_t *pos, size_t *start, size_t *len)
{
	size_t i = *pos;

	while (i < n && s[i] == '?')
		i++;
	if (i == n)
		return false;
	*start = i;
	while (i < n && s[i] != '?')
		i++;
	*len = i - *start;
	*pos = i < n ? i + 1 : i;
	return true;
}

/* decode_field - DSPAM's decoding of the first encoded word of f. */
static void
decode_field(struct reader *r, struct dfield *f)
{
	struct es_buf *c = &r->tmp, *d = &r->tmp2;
	size_t i, pos, ws[3], wl[3], k, off;
	const char *v;
	bool ok = true;
	char *eq;

	es_buf_reset(c);
	es_buf_reset(d);
	v = value(r, f);
	/* the value unfolded, as DSPAM's "concatenated" copy */
	for (i = 0; i < f->val_len && r->err == 0; i++) {
		if (v[i] != '\n') {
			note(r, es_buf_putc(c, v[i]));
			continue;
		}
		while (i + 1 < f->val_len && blank((unsigned char)v[i + 1]))
			i++;
	}
	if (r->err || c->data == NULL)
		return;
	for (eq = c->data; (eq = strchr(eq, '=')) != NULL && eq[1] != '?'; eq++)
		;
	if (eq == NULL)
		return;
	off = (size_t)(eq - c->data);
	pos = off + 2;
	for (k = 0; k < 3 && ok; k++)
		ok = next_word(c->data, c->len, &pos, &ws[k], &wl[k]);
	if (!ok)
		return;
	switch (c->data[ws[1]]) {
	case 'b':
	case 'B':
		note(r, base64(c->data + ws[2], wl[2], d));
		break;
	case 'q':
	case 'Q':
		note(r, unhex(c->data + ws[2], wl[2], true, d));
		break;
	default:
		return;
	}
	if (r->err)
		return;
	f->val_off = r->fb.len;
	f->val_len = off + d->len;
	note(r, es_buf_append(&r->fb, c->data, off));
	if (d->len > 0)
		note(r, es_buf_append(&r->fb, d->data, d->len));
}

/* end_part - a part is complete: decode its fields' encoded words. */
static void
end_part(struct reader *r, const struct dpart *p)
{
	size_t k;

	for (k = 0; k < p->nfields && r->err == 0; k++)
		decode_field(r, &r->fields[p->first + k]);
}

/* split - DSPAM's reading of the message into parts and fields. */
static void
split(struct reader *r)
{
	struct dpart *p = new_part(r);
	bool header = true, last = false;
	size_t pos = 0, e, n;
	const char *s, *nl;

	while (p != NULL && !last && r->err == 0) {
		s = r->m + pos;
		nl = memchr(s, '\n', r->n - pos);
		e = nl ? (size_t)(nl - r->m) : r->n;
		last = nl == NULL;
		n = e - pos;
		if (!header) {
			if (prefix(s, n, "Content-Type") ||
			    ((n > 0 && (s[0] == ' ' || s[0] == '\t')) &&
			        r->in_content)) {
				r->in_content = true;
				add_bound(r, s, n);
			} else {
				r->in_content = false;
			}
		}
		if (match_bound(r, s, n)) {
			end_part(r, p);
			p = new_part(r);
			header = true;
		} else if (!header) {
			if (!p->has_body) {
				p->has_body = true;
				p->body_off = pos;
			}
			p->body_len = e + (last ? 0 : 1) - p->body_off;
		} else if (n > 0 && (s[0] == ' ' || s[0] == '\t')) {
			if (r->have_cur)
				continuation(r, p, s, n);
		} else if (n > 0 && s[0] != '\r') {
			new_field(r, p, s, n);
		} else {
			header = false;
		}
		pos = e + 1;
	}
	if (p != NULL)
		end_part(r, p);
}

/* body_text - whether DSPAM reads part i's body as text. */
static bool
body_text(const struct dpart *p, size_t i)
{
	return p->type == DT_TEXT || p->type == DT_MESSAGE ||
	       (p->type == DT_MULTIPART && i == 0);
}

/*
 * predecode - what the dspam agent does before the library tokenizes
 * (while it looks for a signature tag in the text parts): it decodes
 * base64 and quoted-printable text parts that are no attachments; in a
 * message that is not multipart/signed it then calls such a part 8bit
 * (so its text is "%XX"-decoded later) and every Content-Transfer-
 * Encoding field of the part reads "8bit" (so the tokens say 8bit
 * too); in a signed one the encoding stays as written.
 */
static void
predecode(struct reader *r)
{
	static const char eight[] = "8bit";
	struct dpart *p;
	struct dfield *f;
	bool is_signed = false;
	size_t i, k, off;

	for (i = 0; i < r->nparts && r->err == 0; i++) {
		p = &r->parts[i];
		if (p->type == DT_MULTIPART && p->is_signed)
			is_signed = true;
		if (!body_text(p, i) || p->attachment ||
		    (p->enc != DE_BASE64 && p->enc != DE_QP))
			continue;
		off = r->dec.len;
		if (p->has_body) {
			const char *t = r->m + p->body_off;

			note(r, p->enc == DE_BASE64
			            ? base64(t, p->body_len, &r->dec)
			            : unhex(t, p->body_len, true, &r->dec));
		}
		p->predecoded = true;
		p->dec_off = off;
		p->dec_len = r->dec.len - off;
		if (is_signed)
			continue;
		p->enc = DE_8BIT;
		for (k = 0; k < p->nfields && r->err == 0; k++) {
			f = &r->fields[p->first + k];
			if (!name_is(r->fb.data + f->name_off, f->name_len,
			        "Content-Transfer-Encoding"))
				continue;
			f->val_off = r->fb.len;
			f->val_len = sizeof(eight) - 1;
			note(
			    r, es_buf_append(&r->fb, eight, sizeof(eight) - 1));
		}
	}
}

/* field_line - "Name: value\n" of f, cut as DSPAM's buffer cuts it. */
static int
field_line(struct reader *r, const struct dfield *f, struct es_buf *head)
{
	size_t room = DSPAM_FIELD_LINE - 1, l;
	int rc;

	l = f->name_len < room ? f->name_len : room;
	if ((rc = es_buf_append(head, r->fb.data + f->name_off, l)) != 0)
		return rc;
	room -= l;
	l = room < 2 ? room : 2;
	if ((rc = es_buf_append(head, ": ", l)) != 0)
		return rc;
	room -= l;
	l = f->val_len < room ? f->val_len : room;
	if ((rc = es_buf_append(head, value(r, f), l)) != 0)
		return rc;
	room -= l;
	return room > 0 ? es_buf_putc(head, '\n') : 0;
}

/* part_body - the text part p adds to the body text. */
static int
part_body(struct reader *r, const struct dpart *p, struct es_buf *body)
{
	const char *t = r->m + p->body_off;
	size_t n = p->body_len;
	int rc;

	es_buf_reset(&r->tmp);
	es_buf_reset(&r->tmp2);
	if (p->predecoded) {
		t = r->dec.data != NULL ? r->dec.data + p->dec_off : NULL;
		n = p->dec_len;
	} else if ((p->enc == DE_BASE64 || p->enc == DE_QP) && !p->attachment) {
		rc = p->enc == DE_BASE64 ? base64(t, n, &r->tmp)
		                         : unhex(t, n, true, &r->tmp);
		if (rc != 0)
			return rc;
		t = r->tmp.data;
		n = r->tmp.len;
	}
	if (p->enc == DE_8BIT) {
		if ((rc = unhex(t, n, false, &r->tmp2)) != 0)
			return rc;
		t = r->tmp2.data;
		n = r->tmp2.len;
	}
	if (t == NULL || n == 0)
		return 0;
	if (p->html)
		return cls_dspam_html(t, n, body);
	return es_buf_append(body, t, n);
}

/* degenerate - the header and body texts of the parts. */
static int
degenerate(struct reader *r, struct es_buf *head, struct es_buf *body)
{
	const struct dpart *p;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < r->nparts && rc == 0; i++) {
		p = &r->parts[i];
		if (p->nfields == 0)
			continue; /* DSPAM skips a part without a header */
		for (k = 0; k < p->nfields && rc == 0; k++)
			rc = field_line(r, &r->fields[p->first + k], head);
		if (rc == 0 && (p->has_body || p->predecoded) &&
		    body_text(p, i))
			rc = part_body(r, p, body);
	}
	if (rc == 0 && head->len == 0)
		rc = es_buf_putc(head, ' ');
	if (rc == 0 && body->len == 0)
		rc = es_buf_putc(body, ' ');
	return rc;
}

/*
 * read_input - the message as dspam's fgets() loop holds it: in pieces
 * of a line or 1023 bytes, each up to its first NUL; leading "From
 * QUARANTINE" pieces skipped. *copied is false, and out untouched, when
 * the input is already that (no NUL, no such line): no copy then.
 */
static int
read_input(const char *msg, size_t len, struct es_buf *out, bool *copied)
{
	size_t pos = 0, e;
	const char *nl;
	bool first = true;
	int rc;

	*copied = false;
	if (memchr(msg, '\0', len) == NULL &&
	    !(len >= 15 && memcmp(msg, "From QUARANTINE", 15) == 0))
		return 0;
	*copied = true;
	while (pos < len) {
		e = len - pos > DSPAM_READ_PIECE ? pos + DSPAM_READ_PIECE : len;
		nl = memchr(msg + pos, '\n', e - pos);
		if (nl != NULL)
			e = (size_t)(nl - msg) + 1;
		if (first && e - pos >= 15 &&
		    strncmp(msg + pos, "From QUARANTINE", 15) == 0) {
			pos = e;
			continue;
		}
		first = false;
		rc = es_buf_append(out, msg + pos, cut_nul(msg + pos, e - pos));
		if (rc != 0)
			return rc;
		pos = e;
	}
	return 0;
}

int
cls_dspam_texts(
    const char *msg, size_t len, struct es_buf *head, struct es_buf *body)
{
	struct reader r;
	struct es_buf in;
	bool copied;
	int rc;

	memset(&r, 0, sizeof(r));
	es_buf_init(&in, len);
	if ((rc = read_input(msg, len, &in, &copied)) != 0) {
		es_buf_release(&in);
		return rc;
	}
	r.m = copied ? (in.data != NULL ? in.data : "") : msg;
	r.n = copied ? in.len : len;
	es_buf_init(&r.fb, 4 * len + 1024);
	es_buf_init(&r.tmp, 2 * len + 64);
	es_buf_init(&r.tmp2, 2 * len + 64);
	es_buf_init(&r.dec, 2 * len + 64);
	if (r.n > 0)
		split(&r);
	if (r.err == 0)
		predecode(&r);
	rc = r.err != 0 ? r.err : degenerate(&r, head, body);
	es_buf_release(&r.fb);
	es_buf_release(&r.tmp);
	es_buf_release(&r.tmp2);
	es_buf_release(&r.dec);
	es_buf_release(&in);
	es_free(r.fields);
	es_free(r.parts);
	return rc;
}
