/*
 * cls_mime.c - MIME and HTML decoders for the parser (see cls_mime.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cls_mime.h"
#include "cls_msg.h"
#include "es_err.h"

/* put - append bytes; ES_ELIMIT (out's bound) quietly stops output. */
static int
put(struct es_buf *out, const char *s, size_t n)
{
	int rc = es_buf_append(out, s, n);

	return rc == ES_ENOMEM ? rc : 0;
}

static int
putc1(struct es_buf *out, char c)
{
	return put(out, &c, 1);
}

static size_t
skip_ws(const char *v, size_t n, size_t i)
{
	while (i < n && isspace((unsigned char)v[i]))
		i++;
	return i;
}

/*
 * param - the value of parameter name in a field value's parameter list
 * (after the first ';'): quoted or not, case-insensitive name; RFC 2231
 * "name*" values lose their charset'language' prefix.
 */
static bool
param(const char *v, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		const char *semi = memchr(v + i, ';', n - i);
		size_t k, o = 0;
		bool ext = false;

		if (semi == NULL)
			return false;
		i = skip_ws(v, n, (size_t)(semi - v) + 1);
		if (n - i < nl || strncasecmp(v + i, name, nl) != 0)
			continue;
		k = i + nl;
		if (k < n && v[k] == '*') {
			ext = true;
			while (k < n && v[k] != '=' && v[k] != ';')
				k++;
		}
		k = skip_ws(v, n, k);
		if (k >= n || v[k] != '=')
			continue;
		k = skip_ws(v, n, k + 1);
		if (k < n && v[k] == '"') {
			for (k++; k < n && v[k] != '"'; k++) {
				if (v[k] == '\\' && k + 1 < n)
					k++;
				if (o + 1 < outlen)
					out[o++] = v[k];
			}
		} else {
			for (; k < n && v[k] != ';' && !isspace((unsigned char)v[k]);
			     k++)
				if (o + 1 < outlen)
					out[o++] = v[k];
		}
		if (outlen > 0)
			out[o] = '\0';
		if (ext) {
			char *q = strchr(out, '\'');

			if (q != NULL && (q = strchr(q + 1, '\'')) != NULL)
				memmove(out, q + 1, strlen(q + 1) + 1);
		}
		return true;
	}
	return false;
}

void
cls_mime_content_type(const char *v, size_t n, char *type, size_t typelen,
    char *boundary, size_t blen, char *name, size_t namelen, bool *have)
{
	size_t i = skip_ws(v, n, 0), o = 0;
	bool slash = false;

	for (; i < n && v[i] != ';' && !isspace((unsigned char)v[i]); i++) {
		if (o + 1 >= typelen)
			break;
		slash |= v[i] == '/';
		type[o++] = (char)tolower((unsigned char)v[i]);
	}
	if (o > 0 && slash) {
		type[o] = '\0';
		*have = true;
	} else if (o > 0) {
		/* "text" alone or garbage: keep the default type */
	}
	param(v, n, "boundary", boundary, blen);
	if (name[0] == '\0')
		param(v, n, "name", name, namelen);
}

void
cls_mime_disposition(const char *v, size_t n, char *name, size_t namelen)
{
	char tmp[256];

	if (param(v, n, "filename", tmp, sizeof(tmp)))
		strlcpy(name, tmp, namelen);
}

enum cls_cte
cls_mime_cte(const char *v, size_t n)
{
	size_t i = skip_ws(v, n, 0);

	if (n - i >= 6 && strncasecmp(v + i, "base64", 6) == 0)
		return CLS_CTE_BASE64;
	if (n - i >= 16 && strncasecmp(v + i, "quoted-printable", 16) == 0)
		return CLS_CTE_QP;
	return CLS_CTE_IDENTITY;
}

int
cls_mime_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64 - decode base64, skipping white space and bad characters. */
static int
b64(const char *in, size_t n, struct es_buf *out, unsigned *defects,
    unsigned flag)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int v = cls_mime_b64_value(c);

		if (v < 0) {
			if (c == '=') {
				acc = 0;
				bits = 0; /* padding: the group ends */
			} else if (!isspace(c)) {
				*defects |= flag;
			}
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if ((rc = putc1(out, (char)((acc >> bits) & 0xff))) != 0)
				return rc;
		}
	}
	return 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* qp - quoted-printable; q_mode is RFC 2047's Q ('_' is a space). */
static int
qp(const char *in, size_t n, struct es_buf *out, unsigned *defects,
    unsigned flag, bool q_mode)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (c == '_' && q_mode) {
			c = ' ';
		} else if (c == '=') {
			int h, l;

			if (i + 1 < n && in[i + 1] == '\n') {
				i++;
				continue;
			}
			if (i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
				i += 2;
				continue;
			}
			h = i + 2 < n ? hexval((unsigned char)in[i + 1]) : -1;
			l = i + 2 < n ? hexval((unsigned char)in[i + 2]) : -1;
			if (h >= 0 && l >= 0) {
				c = (char)(h * 16 + l);
				i += 2;
			} else if (i + 1 < n) {
				*defects |= flag;
			}
		}
		if ((rc = putc1(out, c)) != 0)
			return rc;
	}
	return 0;
}

int
cls_mime_decode_body(enum cls_cte cte, const char *in, size_t n,
    struct es_buf *out, unsigned *defects)
{
	switch (cte) {
	case CLS_CTE_BASE64:
		return b64(in, n, out, defects, CLS_DEF_BASE64);
	case CLS_CTE_QP:
		return qp(in, n, out, defects, CLS_DEF_QP, false);
	default:
		return put(out, in, n);
	}
}

/*
 * encoded_word - if in[i..] is "=?cs?E?text?=", decode it to out and
 * return its length; 0 when it is not one.
 */
static size_t
encoded_word(const char *in, size_t n, size_t i, struct es_buf *out,
    unsigned *defects, int *rc)
{
	size_t j = i + 2, enc, start, end;
	unsigned dummy = 0;

	while (j < n && in[j] != '?' && !isspace((unsigned char)in[j]))
		j++;
	if (j + 3 >= n || in[j] != '?' || j == i + 2)
		return 0;
	enc = j + 1;
	if (in[enc + 1] != '?')
		return 0;
	start = enc + 2;
	for (end = start; end + 1 < n; end++) {
		if (in[end] == '?' && in[end + 1] == '=')
			break;
		if (isspace((unsigned char)in[end]))
			return 0;
	}
	if (end + 1 >= n)
		return 0;
	switch (in[enc]) {
	case 'B':
	case 'b':
		*rc = b64(in + start, end - start, out, &dummy, 1);
		break;
	case 'Q':
	case 'q':
		*rc = qp(in + start, end - start, out, &dummy, 1, true);
		break;
	default:
		return 0;
	}
	if (dummy)
		*defects |= CLS_DEF_ENCODED_WORD;
	return end + 2 - i;
}

int
cls_mime_decode_words(const char *in, size_t n, struct es_buf *out,
    unsigned *defects)
{
	size_t i = 0, pending = 0, pend_at = 0;
	bool last_was_word = false;
	int rc = 0;

	while (i < n) {
		size_t w = 0;

		if (in[i] == '=' && i + 1 < n && in[i + 1] == '?') {
			size_t mark = out->len;

			w = encoded_word(in, n, i, out, defects, &rc);
			if (rc != 0)
				return rc;
			if (w > 0 && last_was_word && pending > 0) {
				/* drop the white space between two words:
				 * it was already written; cut it out */
				memmove(out->data + pend_at,
				    out->data + mark, out->len - mark);
				out->len -= mark - pend_at;
			}
			if (w == 0 && i + 2 < n)
				*defects |= CLS_DEF_ENCODED_WORD;
		}
		if (w > 0) {
			i += w;
			last_was_word = true;
			pending = 0;
			continue;
		}
		if (isspace((unsigned char)in[i])) {
			if (pending == 0)
				pend_at = out->len;
			pending++;
		} else {
			last_was_word = false;
			pending = 0;
		}
		if ((rc = putc1(out, in[i])) != 0)
			return rc;
		i++;
	}
	return 0;
}

static const struct {
	const char *name;
	char c;
} entities[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'},
    {"apos", '\''}, {"nbsp", ' '}};

/* entity - decode "&...;" at in[i]; returns its length or 0. */
static size_t
entity(const char *in, size_t n, size_t i, char *c)
{
	size_t j = i + 1, k;
	unsigned long v = 0;

	if (j < n && in[j] == '#') {
		bool hex = j + 1 < n && (in[j + 1] == 'x' || in[j + 1] == 'X');
		size_t digits = 0;

		for (j += hex ? 2 : 1; j < n && digits < 8; j++, digits++) {
			int d = hex ? hexval((unsigned char)in[j])
			            : (isdigit((unsigned char)in[j]) ? in[j] - '0'
			                                            : -1);
			if (d < 0)
				break;
			v = v * (hex ? 16 : 10) + (unsigned long)d;
		}
		if (digits == 0)
			return 0;
		*c = v < 256 && v != 0 ? (char)v : ' ';
		return j - i + (j < n && in[j] == ';');
	}
	for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
		size_t l = strlen(entities[k].name);

		if (n - j >= l && strncasecmp(in + j, entities[k].name, l) == 0) {
			*c = entities[k].c;
			return 1 + l + (j + l < n && in[j + l] == ';');
		}
	}
	return 0;
}

/* find_ci - the first case-insensitive occurrence of s in in[i..n). */
static size_t
find_ci(const char *in, size_t n, size_t i, const char *s)
{
	size_t l = strlen(s);

	for (; i + l <= n; i++)
		if (strncasecmp(in + i, s, l) == 0)
			return i;
	return n;
}

/* tag_urls - pass href= and src= values of one tag to url_fn. */
static void
tag_urls(const char *t, size_t n, cls_url_fn *url_fn, void *arg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t a = 0, s, e;

		if ((i == 0 || isspace((unsigned char)t[i - 1]))) {
			if (n - i >= 4 && strncasecmp(t + i, "href", 4) == 0)
				a = 4;
			else if (n - i >= 3 && strncasecmp(t + i, "src", 3) == 0)
				a = 3;
		}
		if (a == 0)
			continue;
		s = skip_ws(t, n, i + a);
		if (s >= n || t[s] != '=')
			continue;
		s = skip_ws(t, n, s + 1);
		if (s < n && (t[s] == '"' || t[s] == '\'')) {
			char q = t[s++];

			for (e = s; e < n && t[e] != q; e++)
				;
		} else {
			for (e = s; e < n && !isspace((unsigned char)t[e]); e++)
				;
		}
		if (e > s)
			url_fn(arg, t + s, e - s);
		i = e;
	}
}

int
cls_mime_html(const char *in, size_t n, struct es_buf *out,
    cls_url_fn *url_fn, void *arg)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		char c = in[i];

		if (c == '<') {
			size_t end;

			if (n - i >= 4 && memcmp(in + i, "<!--", 4) == 0) {
				end = find_ci(in, n, i + 4, "-->");
				i = end < n ? end + 3 : n;
				continue;
			}
			end = i + 1;
			while (end < n && in[end] != '>')
				end++;
			if (n - i >= 7 && strncasecmp(in + i, "<script", 7) == 0)
				end = find_ci(in, n, end, "</script");
			else if (n - i >= 6 &&
			    strncasecmp(in + i, "<style", 6) == 0)
				end = find_ci(in, n, end, "</style");
			else
				tag_urls(in + i + 1, end - i - 1, url_fn, arg);
			if (end < n)
				while (end < n && in[end] != '>')
					end++;
			i = end < n ? end + 1 : n;
			if ((rc = putc1(out, ' ')) != 0)
				return rc;
			continue;
		}
		if (c == '&') {
			size_t l = entity(in, n, i, &c);

			if (l > 0) {
				if ((rc = putc1(out, c)) != 0)
					return rc;
				i += l;
				continue;
			}
		}
		if ((rc = putc1(out, c)) != 0)
			return rc;
		i++;
	}
	return 0;
}

size_t
cls_mime_url_at(const char *t, size_t n, size_t i)
{
	static const char *const schemes[] = {"http://", "https://", "ftp://",
	    "www."};
	size_t k, e;

	if (i > 0 && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '.' ||
	    t[i - 1] == '/'))
		return 0;
	for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		size_t l = strlen(schemes[k]);

		if (n - i > l && strncasecmp(t + i, schemes[k], l) == 0)
			break;
	}
	if (k == sizeof(schemes) / sizeof(schemes[0]))
		return 0;
	for (e = i; e < n; e++) {
		unsigned char c = (unsigned char)t[e];

		if (isspace(c) || c == '"' || c == '\'' || c == '<' ||
		    c == '>' || c < 0x20)
			break;
	}
	return e - i;
}
