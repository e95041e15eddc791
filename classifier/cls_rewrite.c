/*
 * cls_rewrite.c - header edits on a raw message.
 *
 * One forward pass over the header: a line that starts a field (not
 * whitespace) decides whether it and its continuation lines are kept;
 * the header ends at the first empty line (RFC 5322 section 2.1). The
 * body is copied unchanged. A forged X-DSPAM-Result would make maildrop
 * skip its filter, so every X-DSPAM-* field goes, whatever its case.
 * Lines may end in LF or CRLF; a NUL byte is just a byte here.
 */
#include "cls_rewrite.h"

#include <string.h>
#include <strings.h>

#include "es_err.h"

#define DSPAM_PREFIX "x-dspam-"

bool
cls_rewrite_is_dspam_field(const char *line, size_t len)
{
	const size_t pl = sizeof(DSPAM_PREFIX) - 1;

	return len >= pl && strncasecmp(line, DSPAM_PREFIX, pl) == 0;
}

/* line_len - length of the line at p (including its LF), limit end. */
static size_t
line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
}

/* is_blank_line - an empty line: "\n" or "\r\n". */
static bool
is_blank_line(const char *p, size_t n)
{
	return (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* put_fields - the new fields, folded values re-terminated with eol. */
static int
put_fields(struct es_buf *out, const struct cls_field *f, size_t n,
    const char *eol)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		const char *v = f[i].value, *nl;

		if ((rc = es_buf_printf(out, "%s: ", f[i].name)) != 0)
			return rc;
		while ((nl = strchr(v, '\n')) != NULL) {
			if ((rc = es_buf_append(out, v, (size_t)(nl - v))) != 0 ||
			    (rc = es_buf_puts(out, eol)) != 0)
				return rc;
			v = nl + 1;
		}
		if ((rc = es_buf_puts(out, v)) != 0 ||
		    (rc = es_buf_puts(out, eol)) != 0)
			return rc;
	}
	return 0;
}

/* multipart - whether the kept header says Content-Type: multipart. */
static bool
multipart(const char *hdr, size_t len)
{
	const char *p = hdr, *end = hdr + len;

	while (p < end) {
		size_t n = line_len(p, end);

		if (n > 13 && strncasecmp(p, "content-type:", 13) == 0) {
			const char *v = p + 13;

			while (v < p + n && (*v == ' ' || *v == '\t'))
				v++;
			return (size_t)(p + n - v) >= 9 &&
			    strncasecmp(v, "multipart", 9) == 0;
		}
		p += n;
	}
	return false;
}

int
cls_rewrite(const char *in, size_t len, const struct cls_field *fields,
    size_t n, const char *body_tag, struct es_buf *out)
{
	const char *p = in, *end = in + len, *eol = "\n";
	size_t first = line_len(p, end), hdr_off;
	bool skipping = false, is_multi;
	int rc;

	if (first >= 2 && p[first - 2] == '\r' && p[first - 1] == '\n')
		eol = "\r\n";
	/* an mbox "From " line is not a header field: keep it as it is */
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		if ((rc = es_buf_append(out, p, first)) != 0)
			return rc;
		p += first;
	}
	hdr_off = out->len;
	while (p < end) {
		size_t ln = line_len(p, end);

		if (is_blank_line(p, ln))
			break;
		if (p[0] != ' ' && p[0] != '\t')
			skipping = cls_rewrite_is_dspam_field(p, ln);
		if (!skipping && (rc = es_buf_append(out, p, ln)) != 0)
			return rc;
		p += ln;
	}
	is_multi = out->len > hdr_off &&
	    multipart(out->data + hdr_off, out->len - hdr_off);
	/* a last header line without its line end gets one first */
	if (out->len > hdr_off && out->data[out->len - 1] != '\n' &&
	    (rc = es_buf_puts(out, eol)) != 0)
		return rc;
	if ((rc = put_fields(out, fields, n, eol)) != 0)
		return rc;
	if (p < end) {
		/* the empty line and the body, unchanged */
		if ((rc = es_buf_append(out, p, (size_t)(end - p))) != 0)
			return rc;
	} else if ((rc = es_buf_puts(out, eol)) != 0) {
		return rc;
	}
	if (body_tag != NULL && !is_multi) {
		if (out->len > 0 && out->data[out->len - 1] != '\n' &&
		    (rc = es_buf_puts(out, eol)) != 0)
			return rc;
		if ((rc = es_buf_puts(out, body_tag)) != 0 ||
		    (rc = es_buf_puts(out, eol)) != 0)
			return rc;
	}
	return 0;
}
