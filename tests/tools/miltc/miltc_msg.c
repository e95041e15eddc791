/*
 * miltc_msg.c - the message: reading and parsing the message file
 * (headers, folds, body), the hostile additions (--big-header,
 * --many-headers, --nul) and -o, the message as the MTA would deliver it.
 */

#include "miltc.h"

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

void
miltc_msg_free(struct msg *m)
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

/* miltc_msg_load - read and parse a message file (NULL: stdin); caller frees */
struct msg *
miltc_msg_load(const char *path, char *err, size_t errlen)
{
	struct msg *m;

	if ((m = es_calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	es_buf_init(&m->m_file, MILTC_MSG_MAX);
	es_buf_init(&m->m_tail, 64);
	if (read_file(path, &m->m_file, err, errlen) != 0) {
		miltc_msg_free(m);
		return NULL;
	}
	/* an empty file still needs a buffer to point into */
	if (es_buf_reserve(&m->m_file, 1) != 0 || msg_parse(m) != 0) {
		snprintf(
		    err, errlen, "%s: out of memory", path ? path : "stdin");
		miltc_msg_free(m);
		return NULL;
	}
	return m;
}

/* miltc_msg_hostile - --big-header, --many-headers, --nul */
int
miltc_msg_hostile(struct msg *m, size_t big, size_t many, bool nul)
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

/* miltc_out_write - write the delivered message to path */
int
miltc_out_write(const char *path, const struct msg *m, const struct result *res)
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
