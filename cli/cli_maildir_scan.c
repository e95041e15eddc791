/*
 * cli_maildir_scan.c - one Maildir's messages, their verdicts and
 * signatures, read incrementally (see cli_maildir_scan.h).
 *
 * Limits, and what each stops: MD_HEADER_MAX bytes of a header (a huge
 * file costs one bounded read), MD_FOLDERS_MAX folders, MD_NAME_MAX
 * bytes of a name, names of printable ASCII without spaces (a name with
 * a newline would break the state file's lines). Files of another owner than the Maildir's are
 * not read: root runs the scan as that owner, and a hard link to a file
 * the owner could not read must not become training material.
 *
 * The state file and the plan are in cli_maildir_state.c.
 */
#include "cli_maildir_scan.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "es_alloc.h"
#include "es_err.h"


static const char *const subs[2] = {"cur", "new"};

bool
md_name_ok(const char *s, bool folder)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch >= 0x7f || ch == '/' ||
		    (ch == ' ' && !folder))
			return false;
	}
	return n > 0 && n <= MD_NAME_MAX;
}

size_t
md_stem_len(const char *name)
{
	return strcspn(name, ":");
}

int
md_stem_cmp(const char *a, const char *b)
{
	size_t la = md_stem_len(a), lb = md_stem_len(b);
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/* msg_cmp - messages by folder, then stem. */
static int
msg_cmp(const void *pa, const void *pb)
{
	const struct md_msg *a = pa, *b = pb;

	if (a->folder != b->folder)
		return a->folder < b->folder ? -1 : 1;
	return md_stem_cmp(a->name, b->name);
}

/* in_list - whether name is one of the '/'-separated names of list, or a
 * subfolder of one (".Trash.Old"). */
static bool
in_list(const char *list, const char *name)
{
	size_t n = strlen(name), w;

	while (*list != '\0') {
		w = strcspn(list, "/");
		if (w > 0 && w <= n && memcmp(list, name, w) == 0 &&
		    (name[w] == '\0' || name[w] == '.'))
			return true;
		list += w;
		if (*list == '/')
			list++;
	}
	return false;
}

enum md_kind
md_kind_of(const struct md_opts *o, const char *name)
{
	if (name[0] == '\0')
		return MD_KIND_OTHER;
	if (in_list(o->spam, name))
		return MD_KIND_SPAM;
	if (in_list(o->trash, name))
		return MD_KIND_TRASH;
	return MD_KIND_OTHER;
}

/* field_is - whether the header line p (n bytes) is field name. */
static bool
field_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(p, name, k) == 0 &&
	    (p[k] == ':' || p[k] == ' ' || p[k] == '\t');
}

/* field_value - the first word of the value of the field that starts at
 * p (with its continuation lines, up to end) into out (outlen bytes; ""
 * when it does not fit or is empty). */
static void
field_value(const char *p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	p = memchr(p, ':', (size_t)(end - p));
	out[0] = '\0';
	if (p == NULL)
		return;
	for (p++; p < end; p++) {
		if (*p == '\r' || *p == '\n') {
			/* a continuation line goes on; anything else ends it */
			if (*p == '\r' && p + 1 < end && p[1] == '\n')
				p++;
			if (p + 1 >= end || (p[1] != ' ' && p[1] != '\t'))
				break;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == ';') {
			if (n > 0)
				break;
			continue;
		}
		if (n + 1 >= outlen) {
			out[0] = '\0';
			return;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

void
md_header_fields(const char *buf, size_t len, char *verdict,
    char sig[CLS_SIG_ID_LEN + 1])
{
	const char *p = buf, *end = buf + len, *nl;
	bool have_v = false, have_s = false;
	char v[16];
	size_t n;

	*verdict = MD_V_NONE;
	sig[0] = '\0';
	while (p < end && !(have_v && have_s)) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			break; /* the empty line: the header ends */
		if (!have_v && field_is(p, n, "X-DSPAM-Result")) {
			have_v = true;
			field_value(p, end, v, sizeof(v));
			if (strcmp(v, "Spam") == 0)
				*verdict = MD_V_SPAM;
			else if (strcmp(v, "Innocent") == 0 ||
			    strcmp(v, "Whitelisted") == 0)
				*verdict = MD_V_INNOCENT;
		} else if (!have_s && field_is(p, n, "X-DSPAM-Signature")) {
			have_s = true;
			field_value(p, end, sig, CLS_SIG_ID_LEN + 1);
			if (!cls_sig_id_valid(sig, strlen(sig)))
				sig[0] = '\0';
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* read_header - the header of the file open as fd into buf (at most
 * MD_HEADER_MAX bytes); its length, or -1 with errno. */
static ssize_t
read_header(int fd, char *buf)
{
	size_t have = 0;
	ssize_t r;

	while (have < MD_HEADER_MAX) {
		r = read(fd, buf + have, MD_HEADER_MAX - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		/* stop at the header's end (a blank line within what is read) */
		have += (size_t)r;
		if (memmem(buf, have, "\n\n", 2) != NULL ||
		    memmem(buf, have, "\n\r\n", 3) != NULL)
			break;
	}
	return (ssize_t)have;
}

/* scan_ctx - one scan's working state. */
struct scan_ctx {
	const struct md_opts *o;
	const struct md_state *old;
	struct md_state *out;
	struct md_counts *cnt;
	char *hdr; /* MD_HEADER_MAX bytes */
	size_t cap; /* of out->msgs */
};

/* push - a message onto out (takes ownership of name). */
static int
push(struct scan_ctx *s, const struct md_msg *m)
{
	struct md_msg *nm;

	if (s->out->nmsgs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		if ((nm = es_reallocarray(s->out->msgs, cap, sizeof(*nm))) ==
		    NULL)
			return ES_ENOMEM;
		s->out->msgs = nm;
		s->cap = cap;
	}
	s->out->msgs[s->out->nmsgs++] = *m;
	return 0;
}

/* old_folder - the index in old of the folder name, or -1. */
static long
old_folder(const struct md_state *old, const char *name)
{
	size_t i;

	for (i = 0; i < old->nfolders; i++)
		if (strcmp(old->folders[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* old_msg - the message of old in folder of with name's stem, or NULL. */
static const struct md_msg *
old_msg(const struct md_state *old, long of, const char *name)
{
	size_t lo = 0, hi = old->nmsgs, mid;
	int c;

	if (of < 0)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (old->msgs[mid].folder != (unsigned)of)
			c = old->msgs[mid].folder < (unsigned)of ? -1 : 1;
		else
			c = md_stem_cmp(old->msgs[mid].name, name);
		if (c == 0)
			return &old->msgs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* read_one - a new file name in sub (open as dfd) of folder fi: read
 * its header into m. 1 when m is to be kept, 0 when it vanished. */
static int
read_one(struct scan_ctx *s, int dfd, unsigned fi, const char *name,
    struct md_msg *m)
{
	const struct md_folder *f = &s->out->folders[fi];
	struct stat sb;
	ssize_t n;
	int fd;

	if (s->o->listed != NULL)
		s->o->listed(f->name, name, s->o->arg);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		s->cnt->vanished++;
		return 0;
	}
	if (fd < 0) {
		if (errno == ELOOP) {
			s->cnt->skipped++; /* a symbolic link */
		} else {
			s->cnt->errors++;
			if (s->o->error != NULL)
				s->o->error(f->name, name, errno, s->o->arg);
		}
		m->mark = MD_M_IGNORED;
		return 1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != s->o->owner) {
		s->cnt->skipped++;
		m->mark = MD_M_IGNORED;
		close(fd);
		return 1;
	}
	n = read_header(fd, s->hdr);
	if (n < 0) {
		s->cnt->errors++;
		if (s->o->error != NULL)
			s->o->error(f->name, name, errno, s->o->arg);
		m->mark = MD_M_IGNORED;
	} else {
		s->cnt->read++;
		md_header_fields(s->hdr, (size_t)n, &m->verdict, m->sig);
		/* unsigned mail that arrives in the spam folder after the
		 * first run was put there by the user */
		if (m->sig[0] == '\0' && f->kind == MD_KIND_SPAM &&
		    m->verdict != MD_V_SPAM && !s->old->baseline)
			m->mark = MD_M_PENDING;
	}
	close(fd);
	return 1;
}

/* list_sub - the files of sub si of folder fi (open as dfd). */
static int
list_sub(struct scan_ctx *s, int dfd, unsigned fi, int si, long of)
{
	const struct md_msg *om;
	struct md_msg m;
	struct dirent *de;
	DIR *d;
	int dup_fd, rc = 0;

	if ((dup_fd = dup(dfd)) < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return ES_ENOMEM;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		memset(&m, 0, sizeof(m));
		m.folder = fi;
		m.sub = si == 0 ? 'c' : 'n';
		m.verdict = MD_V_NONE;
		m.mark = MD_M_NONE;
		if (!md_name_ok(de->d_name, false)) {
			s->cnt->skipped++;
			continue; /* not kept: it cannot be written down */
		}
		if ((m.name = es_strdup(de->d_name)) == NULL) {
			rc = ES_ENOMEM;
			break;
		}
		if ((om = old_msg(s->old, of, de->d_name)) != NULL) {
			m.verdict = om->verdict;
			m.mark = om->mark;
			memcpy(m.sig, om->sig, sizeof(m.sig));
		} else {
			m.fresh = true;
			if (read_one(s, dfd, fi, de->d_name, &m) == 0) {
				es_free(m.name);
				continue;
			}
		}
		if ((rc = push(s, &m)) != 0) {
			es_free(m.name);
			break;
		}
	}
	closedir(d);
	return rc;
}

/* carry - the messages of old folder of as those of fi. */
static int
carry(struct scan_ctx *s, long of, unsigned fi)
{
	const struct md_msg *om, *end = s->old->msgs + s->old->nmsgs;
	size_t lo = 0, hi = s->old->nmsgs, mid;
	struct md_msg m;
	int rc;

	/* the folder's first message: old is sorted by folder */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->old->msgs[mid].folder < (unsigned)of)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (om = s->old->msgs + lo; om < end && om->folder == (unsigned)of;
	     om++) {
		m = *om;
		m.folder = fi;
		m.fresh = false;
		if ((m.name = es_strdup(om->name)) == NULL)
			return ES_ENOMEM;
		if ((rc = push(s, &m)) != 0) {
			es_free(m.name);
			return rc;
		}
	}
	return 0;
}

/* scan_folder - folder fi (its directory open as fd). */
static int
scan_folder(struct scan_ctx *s, int fd, unsigned fi)
{
	struct md_folder *f = &s->out->folders[fi];
	long of = old_folder(s->old, f->name);
	int dfd[2] = {-1, -1}, i, rc = 0;
	struct stat sb;
	size_t first = s->out->nmsgs, j, k;

	for (i = 0; i < 2; i++) {
		dfd[i] = openat(fd, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		/* times before the listing: a change during it shows next run */
		if (dfd[i] >= 0 && fstat(dfd[i], &sb) == 0)
			f->mt[i] = sb.st_mtim;
	}
	if (of >= 0 && !s->old->baseline &&
	    memcmp(&s->old->folders[of].mt, &f->mt, sizeof(f->mt)) == 0) {
		rc = carry(s, of, fi);
	} else {
		f->listed = true;
		for (i = 0; i < 2 && rc == 0; i++)
			if (dfd[i] >= 0)
				rc = list_sub(s, dfd[i], fi, i, of);
		if (rc == 0 && s->out->nmsgs > first) {
			/* sorted by stem; a stem seen in both cur/ and new/
			 * (a rename between the two listings) counts once */
			qsort(s->out->msgs + first, s->out->nmsgs - first,
			    sizeof(struct md_msg), msg_cmp);
			for (j = k = first; j < s->out->nmsgs; j++) {
				if (k > first && msg_cmp(&s->out->msgs[k - 1],
				                     &s->out->msgs[j]) == 0) {
					es_free(s->out->msgs[j].name);
					continue;
				}
				s->out->msgs[k++] = s->out->msgs[j];
			}
			s->out->nmsgs = k;
		}
	}
	for (i = 0; i < 2; i++)
		if (dfd[i] >= 0)
			close(dfd[i]);
	return rc;
}

/* add_folder - name (copied) as the next folder of out. */
static int
add_folder(struct md_state *out, const struct md_opts *o, const char *name)
{
	struct md_folder *nf;

	if (out->nfolders >= MD_FOLDERS_MAX)
		return ES_ELIMIT;
	if ((nf = es_reallocarray(out->folders, out->nfolders + 1,
	         sizeof(*nf))) == NULL)
		return ES_ENOMEM;
	out->folders = nf;
	nf = &out->folders[out->nfolders];
	memset(nf, 0, sizeof(*nf));
	if ((nf->name = es_strdup(name)) == NULL)
		return ES_ENOMEM;
	nf->kind = md_kind_of(o, name);
	out->nfolders++;
	return 0;
}

/* list_folders - the inbox and every ".Name" directory of root. */
static int
list_folders(int root, const struct md_opts *o, struct md_state *out,
    bool *have_spam)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd, rc;

	if ((rc = add_folder(out, o, "")) != 0)
		return rc;
	if ((fd = dup(root)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return ES_ENOMEM;
	}
	rewinddir(d); /* the descriptor's offset is shared with root's */
	rc = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || !md_name_ok(de->d_name, true))
			continue;
		/* a directory, not a link to one */
		if (fstatat(root, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		if (strcmp(de->d_name, o->spam) == 0)
			*have_spam = true;
		if ((rc = add_folder(out, o, de->d_name)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

int
md_scan(int root, const struct md_opts *o, const struct md_state *old,
    struct md_state *out, struct md_counts *cnt, char *err, size_t errlen)
{
	struct scan_ctx s;
	bool have_spam = false;
	struct stat sb;
	size_t i;
	int rc = 0, fd;

	memset(out, 0, sizeof(*out));
	memset(cnt, 0, sizeof(*cnt));
	out->baseline = old->baseline;
	if (fstatat(root, "cur", &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "not a Maildir (no cur/)");
		return ES_EPARSE;
	}
	if ((rc = list_folders(root, o, out, &have_spam)) != 0) {
		snprintf(err, errlen, "listing the folders: %s",
		    es_strerror(rc));
		md_state_free(out);
		return rc;
	}
	if (!have_spam) {
		snprintf(err, errlen, "no spam folder %s", o->spam);
		md_state_free(out);
		return ES_ENOTFOUND;
	}
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.old = old;
	s.out = out;
	s.cnt = cnt;
	if ((s.hdr = es_malloc(MD_HEADER_MAX)) == NULL) {
		md_state_free(out);
		return ES_ENOMEM;
	}
	for (i = 0; i < out->nfolders && rc == 0; i++) {
		if (i == 0)
			fd = dup(root);
		else
			fd = openat(root, out->folders[i].name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone, or replaced by a link: no messages */
		rc = scan_folder(&s, fd, (unsigned)i);
		close(fd);
	}
	es_free(s.hdr);
	if (rc == 0) {
		cnt->scanned = out->nmsgs;
		/* what the previous run recorded about signatures goes on */
		if (old->nsigs > 0) {
			out->sigs = es_reallocarray(NULL, old->nsigs,
			    sizeof(*out->sigs));
			if (out->sigs == NULL)
				rc = ES_ENOMEM;
			else {
				memcpy(out->sigs, old->sigs,
				    old->nsigs * sizeof(*out->sigs));
				out->nsigs = old->nsigs;
			}
		}
	}
	if (rc != 0) {
		snprintf(err, errlen, "scanning: %s", es_strerror(rc));
		md_state_free(out);
	}
	return rc;
}

