/*
 * cli_maildir_state.c - the state file of "edgespam maildir-retrain" in
 * a Maildir, the corrections a scan's result asks for, and what was last
 * done about each signature (see cli_maildir_scan.h).
 *
 * The state file, MD_STATE_NAME in the Maildir's root, owned by the
 * Maildir's owner, mode 0600, is lines of text:
 *   edgespam-maildir-retrain 1
 *   f CUR_S CUR_NS NEW_S NEW_NS NAME        a folder and its times
 *                                           (NAME "-": the inbox)
 *   m FOLDER SUB VERDICT MARK SIG|- NAME     a message (FOLDER: index;
 *                                           sorted by folder and stem)
 *   s SIG CLASS                              a corrected signature
 *   end NMSGS
 * It is a cache and a memory of corrections, never trusted: anything
 * that does not parse drops it whole, and a lost state only makes the
 * next run read every file again (a correction already made is then
 * "already classified" in the store, so none is made twice). Its size is
 * bounded by MD_STATE_MAX (a state file is read whole).
 */
#include "cli_maildir_scan.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_alloc.h"
#include "es_err.h"

#define MD_STATE_MAX (512u * 1024 * 1024)
#define MD_MAGIC "edgespam-maildir-retrain 1"

static int
sig_cmp(const void *pa, const void *pb)
{
	return strcmp(((const struct md_sigstate *)pa)->sig,
	    ((const struct md_sigstate *)pb)->sig);
}

void
md_state_free(struct md_state *st)
{
	size_t i;

	for (i = 0; i < st->nfolders; i++)
		es_free(st->folders[i].name);
	for (i = 0; i < st->nmsgs; i++)
		es_free(st->msgs[i].name);
	es_free(st->folders);
	es_free(st->msgs);
	es_free(st->sigs);
	memset(st, 0, sizeof(*st));
}

char
md_sig_get(const struct md_state *st, const char *sig)
{
	struct md_sigstate key, *f;

	if (st->nsigs == 0 || strlcpy(key.sig, sig, sizeof(key.sig)) >=
	                          sizeof(key.sig))
		return MD_V_NONE;
	f = bsearch(&key, st->sigs, st->nsigs, sizeof(key), sig_cmp);
	return f != NULL ? f->cls : MD_V_NONE;
}

int
md_sig_set(struct md_state *st, const char *sig, char cls)
{
	struct md_sigstate key, *f, *n;

	if (strlcpy(key.sig, sig, sizeof(key.sig)) >= sizeof(key.sig))
		return ES_EINVAL;
	key.cls = cls;
	if (st->nsigs > 0 &&
	    (f = bsearch(&key, st->sigs, st->nsigs, sizeof(key), sig_cmp))) {
		f->cls = cls;
		return 0;
	}
	if ((n = es_reallocarray(st->sigs, st->nsigs + 1, sizeof(*n))) == NULL)
		return ES_ENOMEM;
	st->sigs = n;
	st->sigs[st->nsigs++] = key;
	qsort(st->sigs, st->nsigs, sizeof(key), sig_cmp);
	return 0;
}

/* parse_line - one line of the state file into st; false when it is
 * not one. */
static bool
parse_line(char *line, struct md_state *st, size_t *end_n, bool *ended)
{
	char *f[7], *save = NULL, *p;
	struct md_msg m;
	size_t n = 0;
	int want;

	if (*ended)
		return false; /* nothing follows "end" */
	switch (line[0]) {
	case 'f': want = 6; break;
	case 'm': want = 7; break;
	case 's': want = 3; break;
	case 'e': want = 2; break;
	default: return false;
	}
	/* the last field (a name) takes the rest of the line */
	for (p = line; n < (size_t)want - 1; n++) {
		f[n] = strtok_r(n == 0 ? p : NULL, " ", &save);
		if (f[n] == NULL)
			return false;
	}
	f[n] = save != NULL ? save : NULL;
	if (f[n] == NULL)
		return false;
	if (strcmp(f[0], "f") == 0) {
		struct md_folder *nf;
		long long v[4];
		char *e;
		int i;

		if (!md_name_ok(f[5], true) ||
		    (f[5][0] != '.' && strcmp(f[5], "-") != 0) ||
		    st->nfolders >= MD_FOLDERS_MAX)
			return false;
		for (i = 0; i < 4; i++) {
			errno = 0;
			v[i] = strtoll(f[i + 1], &e, 10);
			if (*e != '\0' || errno != 0 || v[i] < -1)
				return false;
		}
		if ((nf = es_reallocarray(st->folders, st->nfolders + 1,
		         sizeof(*nf))) == NULL)
			return false;
		st->folders = nf;
		nf = &st->folders[st->nfolders];
		memset(nf, 0, sizeof(*nf));
		nf->mt[0].tv_sec = (time_t)v[0];
		nf->mt[0].tv_nsec = (long)v[1];
		nf->mt[1].tv_sec = (time_t)v[2];
		nf->mt[1].tv_nsec = (long)v[3];
		if ((nf->name = es_strdup(strcmp(f[5], "-") == 0 ? "" : f[5])) ==
		    NULL)
			return false;
		st->nfolders++;
		return true;
	}
	if (strcmp(f[0], "m") == 0) {
		unsigned long fi;
		char *e;

		memset(&m, 0, sizeof(m));
		fi = strtoul(f[1], &e, 10);
		if (*e != '\0' || fi >= st->nfolders || strlen(f[2]) != 1 ||
		    strlen(f[3]) != 1 || strlen(f[4]) != 1 ||
		    !md_name_ok(f[6], false))
			return false;
		m.folder = (unsigned)fi;
		m.sub = f[2][0];
		m.verdict = f[3][0];
		m.mark = f[4][0];
		if ((m.sub != 'c' && m.sub != 'n') ||
		    !strchr("-SI", m.verdict) || !strchr("-TPX", m.mark))
			return false;
		if (strcmp(f[5], "-") != 0) {
			if (!cls_sig_id_valid(f[5], strlen(f[5])))
				return false;
			strlcpy(m.sig, f[5], sizeof(m.sig));
		}
		/* sorted and unique, as written */
		if (st->nmsgs > 0 &&
		    (st->msgs[st->nmsgs - 1].folder > m.folder ||
			(st->msgs[st->nmsgs - 1].folder == m.folder &&
			    md_stem_cmp(st->msgs[st->nmsgs - 1].name, f[6]) >= 0)))
			return false;
		if ((m.name = es_strdup(f[6])) == NULL)
			return false;
		{
			struct md_msg *nm;

			if (st->nmsgs % 1024 == 0) {
				nm = es_reallocarray(st->msgs, st->nmsgs + 1024,
				    sizeof(*nm));
				if (nm == NULL) {
					es_free(m.name);
					return false;
				}
				st->msgs = nm;
			}
		}
		st->msgs[st->nmsgs++] = m;
		return true;
	}
	if (strcmp(f[0], "s") == 0) {
		struct md_sigstate *ns;

		if (!cls_sig_id_valid(f[1], strlen(f[1])) || strlen(f[2]) != 1 ||
		    (f[2][0] != MD_V_SPAM && f[2][0] != MD_V_INNOCENT) ||
		    (st->nsigs > 0 &&
			strcmp(st->sigs[st->nsigs - 1].sig, f[1]) >= 0))
			return false;
		if (st->nsigs % 256 == 0) {
			ns = es_reallocarray(st->sigs, st->nsigs + 256,
			    sizeof(*ns));
			if (ns == NULL)
				return false;
			st->sigs = ns;
		}
		strlcpy(st->sigs[st->nsigs].sig, f[1], sizeof(ns->sig));
		st->sigs[st->nsigs++].cls = f[2][0];
		return true;
	}
	if (strcmp(f[0], "end") == 0) {
		char *e;

		*end_n = strtoul(f[1], &e, 10);
		*ended = true;
		return *e == '\0' && *end_n == st->nmsgs;
	}
	return false;
}

int
md_state_read(int root, uid_t owner, struct md_state *st, char *why,
    size_t whylen)
{
	char *buf = NULL, *line, *nl;
	bool ok = true, ended = false;
	size_t end_n = 0, have = 0;
	struct stat sb;
	ssize_t r;
	int fd;

	memset(st, 0, sizeof(*st));
	st->baseline = true;
	why[0] = '\0';
	fd = openat(root, MD_STATE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(why, whylen, "%s: %s", MD_STATE_NAME,
			    strerror(errno));
		return 0;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != owner ||
	    (uint64_t)sb.st_size > MD_STATE_MAX) {
		snprintf(why, whylen, "%s: not a regular file of the Maildir's "
		    "owner, or too large: ignored", MD_STATE_NAME);
		close(fd);
		return 0;
	}
	if ((buf = es_malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return ES_ENOMEM;
	}
	while (have < (size_t)sb.st_size) {
		r = read(fd, buf + have, (size_t)sb.st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	buf[have] = '\0';
	line = buf;
	if ((nl = strchr(line, '\n')) == NULL)
		ok = false;
	else {
		*nl = '\0';
		ok = strcmp(line, MD_MAGIC) == 0;
	}
	while (ok && nl != NULL) {
		line = nl + 1;
		if (*line == '\0')
			break;
		if ((nl = strchr(line, '\n')) == NULL) {
			ok = false; /* a cut last line */
			break;
		}
		*nl = '\0';
		ok = parse_line(line, st, &end_n, &ended);
	}
	es_free(buf);
	if (!ok || !ended) {
		md_state_free(st);
		st->baseline = true;
		snprintf(why, whylen, "%s does not parse: ignored (every "
		    "message is read again)", MD_STATE_NAME);
		return 0;
	}
	st->baseline = false;
	return 0;
}

/* sig_used - whether some message of st carries sig (sorted: sorted
 * signatures of the messages, n of them). */
static bool
sig_used(const char (*sorted)[CLS_SIG_ID_LEN + 1], size_t n, const char *sig)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(sorted[mid], sig);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
md_state_write(int root, int fd, const struct md_state *st, char *err,
    size_t errlen)
{
	char (*used)[CLS_SIG_ID_LEN + 1] = NULL;
	size_t i, nused = 0;
	FILE *f;
	int wfd, rc = 0;

	if (st->nsigs > 0 && st->nmsgs > 0) {
		if ((used = es_reallocarray(NULL, st->nmsgs, sizeof(*used))) ==
		    NULL)
			return ES_ENOMEM;
		for (i = 0; i < st->nmsgs; i++)
			if (st->msgs[i].sig[0] != '\0')
				memcpy(used[nused++], st->msgs[i].sig,
				    sizeof(*used));
		qsort(used, nused, sizeof(*used), str_cmp);
	}
	if ((wfd = dup(fd)) < 0 || (f = fdopen(wfd, "w")) == NULL) {
		if (wfd >= 0)
			close(wfd);
		es_free(used);
		snprintf(err, errlen, "%s: %s", MD_STATE_NEW, strerror(errno));
		return ES_EIO;
	}
	if (ftruncate(fd, 0) != 0)
		rc = ES_EIO;
	fprintf(f, "%s\n", MD_MAGIC);
	for (i = 0; i < st->nfolders; i++) {
		const struct md_folder *fo = &st->folders[i];

		fprintf(f, "f %lld %ld %lld %ld %s\n",
		    (long long)fo->mt[0].tv_sec, fo->mt[0].tv_nsec,
		    (long long)fo->mt[1].tv_sec, fo->mt[1].tv_nsec,
		    fo->name[0] != '\0' ? fo->name : "-");
	}
	for (i = 0; i < st->nmsgs; i++) {
		const struct md_msg *m = &st->msgs[i];

		fprintf(f, "m %u %c %c %c %s %s\n", m->folder, m->sub,
		    m->verdict, m->mark, m->sig[0] ? m->sig : "-", m->name);
	}
	/* a signature no message carries any more is forgotten */
	for (i = 0; i < st->nsigs; i++)
		if (sig_used(used, nused, st->sigs[i].sig))
			fprintf(f, "s %s %c\n", st->sigs[i].sig, st->sigs[i].cls);
	fprintf(f, "end %zu\n", st->nmsgs);
	es_free(used);
	if (fflush(f) != 0 || ferror(f) || fsync(fd) != 0)
		rc = ES_EIO;
	if (fclose(f) != 0)
		rc = ES_EIO;
	if (rc == 0 && renameat(root, MD_STATE_NEW, root, MD_STATE_NAME) != 0)
		rc = ES_EIO;
	if (rc != 0)
		snprintf(err, errlen, "writing %s: %s", MD_STATE_NAME,
		    strerror(errno));
	return rc;
}

/* idx_sig_cmp - message indexes (into the state arg) by signature. */
static int
idx_sig_cmp(const void *pa, const void *pb, void *arg)
{
	const struct md_state *st = arg;
	const struct md_msg *a = &st->msgs[*(const size_t *)pa];
	const struct md_msg *b = &st->msgs[*(const size_t *)pb];

	return strcmp(a->sig, b->sig);
}

/* add_act - one more action. */
static int
add_act(struct md_action **acts, size_t *n, const struct md_action *a)
{
	struct md_action *na;

	if ((na = es_reallocarray(*acts, *n + 1, sizeof(*na))) == NULL)
		return ES_ENOMEM;
	*acts = na;
	na[(*n)++] = *a;
	return 0;
}

int
md_plan(const struct md_state *st, bool train_unsigned,
    struct md_action **acts, size_t *nacts, size_t *conflicts)
{
	struct md_action a;
	size_t *idx, n = 0, i, j, k;
	int rc = 0;

	*acts = NULL;
	*nacts = 0;
	*conflicts = 0;
	if (st->nmsgs == 0)
		return 0;
	if ((idx = es_reallocarray(NULL, st->nmsgs, sizeof(*idx))) == NULL)
		return ES_ENOMEM;
	for (i = 0; i < st->nmsgs; i++) {
		const struct md_msg *m = &st->msgs[i];

		if (m->mark == MD_M_IGNORED)
			continue;
		if (m->sig[0] != '\0') {
			idx[n++] = i;
		} else if (train_unsigned && m->mark == MD_M_PENDING &&
		    st->folders[m->folder].kind == MD_KIND_SPAM) {
			memset(&a, 0, sizeof(a));
			a.cls = MD_V_SPAM;
			a.msg = i;
			if ((rc = add_act(acts, nacts, &a)) != 0)
				goto out;
		}
	}
	qsort_r(idx, n, sizeof(*idx), idx_sig_cmp, (void *)st);
	for (i = 0; i < n; i = j) {
		const struct md_msg *m = &st->msgs[idx[i]];
		bool spam = false, other = false;
		char now, want, verdict = MD_V_NONE, last;

		for (j = i; j < n && strcmp(st->msgs[idx[j]].sig, m->sig) == 0;
		     j++) {
			const struct md_msg *x = &st->msgs[idx[j]];

			k = st->folders[x->folder].kind;
			spam |= k == MD_KIND_SPAM;
			other |= k == MD_KIND_OTHER;
			if (verdict == MD_V_NONE)
				verdict = x->verdict;
		}
		if (spam && other) {
			(*conflicts)++; /* a copy not yet expunged: wait */
			continue;
		}
		want = spam ? MD_V_SPAM : other ? MD_V_INNOCENT : MD_V_NONE;
		last = md_sig_get(st, m->sig);
		now = last != MD_V_NONE ? last : verdict;
		if (want == MD_V_NONE || now == MD_V_NONE || want == now)
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(a.sig, m->sig, sizeof(a.sig));
		a.cls = want;
		/* back to the verdict: the earlier correction is undone */
		a.back = last != MD_V_NONE && want == verdict;
		a.msg = idx[i];
		if ((rc = add_act(acts, nacts, &a)) != 0)
			goto out;
	}
out:
	es_free(idx);
	if (rc != 0) {
		es_free(*acts);
		*acts = NULL;
		*nacts = 0;
	}
	return rc;
}
