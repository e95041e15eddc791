/*
 * cli_train.c - "edgespam train USER --spam PATH --innocent PATH":
 * DSPAM's dspam_train, in one process.
 *
 * Each PATH (both options may be given several times) is
 *   - a Maildir (a directory with cur/ or new/): the files of cur/ and
 *     new/, in name order;
 *   - another directory: its files (not dot files, not subdirectories),
 *     in name order;
 *   - an mbox file (its first line starts with "From "): its messages,
 *     split at "From " lines that begin the file or follow an empty
 *     line, one level of ">From " quoting removed, and the pseudo
 *     message Pine and UW-IMAP keep at the top ("DON'T DELETE THIS
 *     MESSAGE -- FOLDER INTERNAL DATA") skipped, as dspam_train skips it;
 *   - any other file: one message.
 * The order is dspam_train's: innocent first, then spam, alternating;
 * each turn takes as many messages of its class as the remaining ones
 * outnumber those of the other class (at least one), so that the two
 * classes stay balanced through the run. Every message is handled as
 * dspam_train has dspam handle it: classified and learned by the
 * user's training mode (the preference trainingMode, else the
 * configuration's training_mode; --mode overrides), and, when the
 * verdict is wrong (Spam for an innocent message, Innocent for spam;
 * Whitelisted counts as innocent), corrected through its signature
 * (source error), which counts the miss in the user's totals.
 *
 * Speed: one store handle for the whole run, the engine in-process,
 * and one commit for every TRAIN_BATCH messages (--batch=N; 1: one
 * transaction per message, the engine's own path): each message is
 * scored inside the batch's write transaction, whose reads see what
 * the batch staged before it, so the counts come out exactly as with
 * a commit per message (test_dspam_tools.sh compares the two). A
 * message whose verdict is wrong ends the batch and goes the one
 * message path (classified, learned, corrected through its
 * signature). The store is opened
 * with own_maintenance: its log is checkpointed here every
 * TRAIN_CHECKPOINT_EVERY messages, between transactions, rather than
 * inside a message's commit. On a terminal a
 * progress bar is drawn on stderr; otherwise a progress line is
 * written every TRAIN_PROGRESS_EVERY messages. The summary line on
 * stdout gives the messages of each class, the errors corrected, the
 * seconds and the rate. --verbose prints dspam_train's line per message
 * ("[test: spam   ] PATH result: PASS" or "FAIL (Innocent)").
 *
 * Errors: an unreadable PATH is a usage error before anything is
 * trained; a message that cannot be read later is skipped with a
 * warning; a batch that a conflict with another writer rolled back (a
 * deadlock, a Galera certification failure) is written again message
 * by message, each in transactions of its own that are written again
 * after a conflict for up to message_timeout_ms (cli_write.c); any
 * other store failure stops the run with its exit code (75 when
 * transient), after what was trained so far stays trained.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

#define TRAIN_PROGRESS_EVERY 1000
/* Messages between two checkpoints of the store's log (SQLite's WAL),
 * done here between transactions instead of inside a commit. */
#define TRAIN_CHECKPOINT_EVERY 200
/* Messages per commit (--batch): one write transaction holds the
 * store's write lock this long, so other writers (the milter) wait at
 * most for TRAIN_BATCH messages' worth of work. */
#define TRAIN_BATCH 32
#define TRAIN_BATCH_MAX 10000
#define TRAIN_MAX_PATHS 64
/* A larger file is no message (and an mbox larger than this is read
 * in pieces by nobody here): CLI_MAX_INPUT's 256 MiB. */
#define TRAIN_MAX_FILE (256u << 20)
#define PINE_SUBJECT "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA"

/* One message: a file, or a piece of a loaded mbox. */
struct tmsg {
	char *path;       /* a file of its own (owned), or NULL */
	const char *mbox; /* else: its mbox's text, off and len in it */
	size_t len;
	size_t no;        /* mbox: the message's number, for messages */
	const char *name; /* mbox: the file's name */
};

struct tlist {
	struct tmsg *v;
	size_t n, cap;
};

struct train {
	struct cli *c;
	struct tlist spam, inno;
	char **mboxes; /* loaded mbox texts (owned) */
	size_t nmbox;
	bool verbose;
	bool tty;
	struct cls_engine *e;
	struct cls_engine_cfg cfg;
	uint32_t uid;
	char user[CLS_USER_MAX + 1];
	/* progress */
	size_t done, total, nspam, ninno, fn, fp, skipped;
	struct timespec t0, last;
	double cpu0; /* CPU seconds of the process at the start */
	char *buf; /* message text (reused) */
	size_t bufcap;
	/* batches: messages staged in the open write transaction */
	size_t batch;      /* messages per commit; 1: the engine's own */
	size_t staged;
	bool in_tx;
	size_t last_maint; /* t->done at the last checkpoint */
	/* the messages staged in the open batch (batch entries each), to
	 * be written again one by one when a conflict with another writer
	 * rolls the batch back; nb of them */
	const struct tmsg **bmsg;
	bool *bspam;
	size_t nb;
	const struct tmsg *replaying; /* replay(): the message not yet
	                                 shown, or the list itself */
	bool in_replay;
	size_t replayed; /* messages written again after a conflict */
};

/* push - append m to l; false on out of memory. */
static bool
push(struct tlist *l, const struct tmsg *m)
{
	void *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;

		if ((p = es_reallocarray(l->v, cap, sizeof(*l->v))) == NULL)
			return false;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *m;
	return true;
}

/* name_cmp - qsort order of file names. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* add_dir - the regular files of dir (no dot files) in name order. */
static int
add_dir(struct tlist *l, const char *dir)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int rc = EX_OK;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "edgespam: train: %s: %s\n", dir,
		    strerror(errno));
		return EX_NOINPUT;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			void *p = es_reallocarray(names, cap ? cap * 2 : 256,
			    sizeof(*names));

			if (p == NULL) {
				rc = EX_OSERR;
				break;
			}
			names = p;
			cap = cap ? cap * 2 : 256;
		}
		if ((names[n] = es_strdup(de->d_name)) == NULL) {
			rc = EX_OSERR;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		struct tmsg m = {NULL, NULL, 0, 0, NULL};

		if (rc == EX_OK &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			names[i]) < sizeof(path) &&
		    stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if ((m.path = es_strdup(path)) == NULL || !push(l, &m)) {
				es_free(m.path);
				rc = EX_OSERR;
			}
		}
		es_free(names[i]);
	}
	es_free(names);
	if (rc == EX_OSERR)
		fprintf(stderr, "edgespam: train: out of memory\n");
	return rc;
}

/* read_file - all of path into a new NUL-terminated buffer (*len
 * bytes); NULL with errno set on failure. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0, cap = 65536, r;
	char *b = NULL, *p;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (b == NULL || n + 1 >= cap) {
			if (b != NULL)
				cap *= 2;
			if (cap > TRAIN_MAX_FILE + 1 ||
			    (p = es_realloc(b, cap)) == NULL) {
				es_free(b);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			b = p;
		}
		r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		es_free(b);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

/* pine_pseudo - whether the message's header has Pine's Subject. */
static bool
pine_pseudo(const char *m, size_t len)
{
	const char *end = m + len, *p = m;
	size_t sl = strlen("Subject: " PINE_SUBJECT);

	while (p < end && *p != '\n') { /* header lines until the blank one */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (ll >= sl && strncmp(p, "Subject: " PINE_SUBJECT, sl) == 0)
			return true;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return false;
}

/* add_mbox - the messages of the mbox text b (len bytes, kept by t). */
static int
add_mbox(struct train *t, struct tlist *l, const char *name, char *b,
    size_t len)
{
	const char *p = b, *end = b + len, *start = NULL;
	size_t no = 0;
	void *v;

	if ((v = es_reallocarray(t->mboxes, t->nmbox + 1, sizeof(char *))) ==
	    NULL) {
		es_free(b);
		return EX_OSERR;
	}
	t->mboxes = v;
	t->mboxes[t->nmbox++] = b;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		bool sep = (size_t)(end - p) >= 5 && memcmp(p, "From ", 5) == 0 &&
		    (p == b || (p >= b + 2 && p[-2] == '\n'));

		if (sep || next == end) {
			const char *stop = sep ? p : end;

			if (start != NULL && stop > start) {
				struct tmsg m = {NULL, start,
				    (size_t)(stop - start), ++no, name};

				if (!pine_pseudo(start, m.len) && !push(l, &m))
					return EX_OSERR;
			}
			if (sep)
				start = next;
		}
		p = next;
	}
	return EX_OK;
}

/* add_path - the messages of one PATH (see the top of the file). */
static int
add_path(struct train *t, struct tlist *l, const char *path)
{
	char sub[4096];
	struct stat sb;
	size_t len;
	char *b;
	int rc;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "edgespam: train: %s: %s\n", path,
		    strerror(errno));
		return EX_NOINPUT;
	}
	if (S_ISDIR(sb.st_mode)) {
		bool maildir = false;

		for (int i = 0; i < 2; i++) {
			snprintf(sub, sizeof(sub), "%s/%s", path,
			    i == 0 ? "cur" : "new");
			if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				maildir = true;
				if ((rc = add_dir(l, sub)) != EX_OK)
					return rc;
			}
		}
		return maildir ? EX_OK : add_dir(l, path);
	}
	if ((b = read_file(path, &len)) == NULL) {
		fprintf(stderr, "edgespam: train: %s: %s\n", path,
		    strerror(errno));
		return EX_NOINPUT;
	}
	if (len >= 5 && memcmp(b, "From ", 5) == 0)
		return add_mbox(t, l, path, b, len);
	es_free(b);
	{
		struct tmsg m = {NULL, NULL, 0, 0, NULL};

		if ((m.path = es_strdup(path)) == NULL || !push(l, &m)) {
			es_free(m.path);
			return EX_OSERR;
		}
	}
	return EX_OK;
}

/* load - the text of m into t->buf; its length, or -1 (warned). */
static long
load(struct train *t, const struct tmsg *m)
{
	size_t len, o = 0;
	const char *p, *end;
	char *b;

	if (m->path != NULL) {
		if ((b = read_file(m->path, &len)) == NULL) {
			fprintf(stderr, "%sedgespam: train: %s: %s (skipped)\n",
			    t->tty ? "\n" : "", m->path, strerror(errno));
			return -1;
		}
		es_free(t->buf);
		t->buf = b;
		t->bufcap = len + 1; /* what an mbox message may reuse */
		return (long)len;
	}
	if (m->len + 1 > t->bufcap) {
		if ((b = es_realloc(t->buf, m->len + 1)) == NULL)
			return -1;
		t->buf = b;
		t->bufcap = m->len + 1;
	}
	/* mboxrd: one '>' comes off every line of ">...>From " */
	for (p = m->mbox, end = m->mbox + m->len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		size_t q = 0;

		while (q < ll && p[q] == '>')
			q++;
		if (q > 0 && ll - q >= 5 && memcmp(p + q, "From ", 5) == 0) {
			p++;
			ll--;
		}
		memcpy(t->buf + o, p, ll);
		o += ll;
		p += ll;
	}
	t->buf[o] = '\0';
	return (long)o;
}

/* secs_since - seconds from a to now. */
static double
secs_since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->tv_sec) +
	    (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

/* cpu_now - CPU seconds this process has used. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* progress - the bar on a terminal, a line now and then elsewhere. */
static void
progress(struct train *t, bool last)
{
	double s = secs_since(&t->t0), rate = s > 0 ? t->done / s : 0;
	int fill, i;

	if (t->tty) {
		if (!last && secs_since(&t->last) < 0.1)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t->last);
		fill = t->total ? (int)(30 * t->done / t->total) : 30;
		fputs("\rtrain: [", stderr);
		for (i = 0; i < 30; i++)
			fputc(i < fill ? '#' : '-', stderr);
		fprintf(stderr, "] %3d%% %zu/%zu  FN %zu FP %zu  %.0f msg/s",
		    t->total ? (int)(100 * t->done / t->total) : 100, t->done,
		    t->total, t->fn, t->fp, rate);
		if (last)
			fputc('\n', stderr);
	} else if (!last && t->done % TRAIN_PROGRESS_EVERY == 0) {
		fprintf(stderr, "train: %zu/%zu messages, FN %zu FP %zu, "
		                "%.0f msg/s\n",
		    t->done, t->total, t->fn, t->fp, rate);
	}
}

/* verdict_line - dspam_train's line for one message (--verbose). */
static void
verdict_line(const struct train *t, const struct tmsg *m, bool spam,
    bool ok, enum cls_result result)
{
	char where[64] = "";

	/* a message written again after a conflict was shown already */
	if (!t->verbose || (t->in_replay && m != t->replaying))
		return;
	if (m->path == NULL)
		snprintf(where, sizeof(where), "#%zu", m->no);
	printf("[test: %s] %-32s%s result: %s%s%s\n",
	    spam ? "spam   " : "nonspam", m->path ? m->path : m->name, where,
	    ok ? "PASS" : "FAIL (", ok ? "" : cls_result_name(result),
	    ok ? "" : ")");
}

/* batch_end - commit the open batch (none open: nothing to do). */
static int
batch_end(struct train *t, char *err, size_t errlen)
{
	int rc;

	if (!t->in_tx)
		return 0;
	t->in_tx = false;
	if ((rc = store_commit(t->c->st)) != 0) {
		snprintf(err, errlen, "commit: %s: %s (the last %zu messages "
		                      "were not stored)",
		    es_strerror(rc), store_errmsg(t->c->st), t->staged);
		store_rollback(t->c->st);
	} else {
		t->nb = 0;
	}
	t->staged = 0;
	return rc;
}

/*
 * batch_one - one message inside the open batch (opened here when
 * none is): scored in the batch's write transaction, and staged there
 * when the verdict is right. A wrong verdict is staged nowhere: *wrong
 * is set and the batch committed, for train_one's path. 0 or an es_err
 * code (the caller rolls back).
 */
static int
batch_one(struct train *t, const struct tmsg *m, long len,
    const unsigned char rnd[16], struct cls_engine_result *r, bool spam,
    bool *wrong, bool *staged, char *err, size_t errlen)
{
	int rc;

	*wrong = *staged = false;
	if (!t->in_tx) {
		if ((rc = store_begin(t->c->st, true)) != 0) {
			snprintf(err, errlen, "begin: %s",
			    store_errmsg(t->c->st));
			return rc;
		}
		t->in_tx = true;
	}
	if ((rc = cls_engine_tokenize(t->e, &t->cfg, NULL, t->buf, (size_t)len,
		 r, err, errlen)) != 0 ||
	    (rc = cls_engine_score_in_tx(t->e, t->c->st, t->uid, &t->cfg, r,
		 err, errlen)) != 0)
		return rc;
	if (spam != (r->result == CLS_SPAM)) {
		cls_engine_scored_done(t->e);
		*wrong = true;
		return batch_end(t, err, errlen);
	}
	rc = cls_engine_stage_scored(t->e, t->c->st, rnd, time(NULL), r, err,
	    errlen);
	cls_engine_scored_done(t->e);
	if (rc == 0) {
		t->bmsg[t->nb] = m;
		t->bspam[t->nb++] = spam;
		*staged = true;
		if (++t->staged >= t->batch)
			rc = batch_end(t, err, errlen);
	}
	return rc;
}

static int train_one(struct train *t, const struct tmsg *m, bool spam);

/*
 * replay - after a conflict with another writer rolled the open batch
 * back: its messages again, one by one, each in transactions of its own
 * (written again after a conflict: CLI_RETRY), so none is lost or
 * counted twice. cur, when one of them, was staged by the call that
 * failed and is not counted yet (nor shown: --verbose shows the others
 * once). EX_OK or the exit code of a failure.
 */
static int
replay(struct train *t, const struct tmsg *cur)
{
	size_t n = t->nb;
	int rc = EX_OK;

	t->nb = 0;
	t->staged = 0;
	t->in_replay = true;
	t->replaying = cur;
	for (size_t i = 0; i < n && rc == EX_OK; i++) {
		if (t->bmsg[i] != cur) {
			if (t->bspam[i])
				t->nspam--;
			else
				t->ninno--;
		}
		rc = train_one(t, t->bmsg[i], t->bspam[i]);
	}
	t->in_replay = false;
	t->replayed += n;
	if (n > 0)
		es_log_info("train %s: a batch of %zu messages rolled back by a "
		    "conflict with another writer was written again message "
		    "by message", t->user, n);
	return rc;
}

/* train_one - process one message of class want and correct a wrong
 * verdict; EX_OK, or the exit code of a store failure. */
static int
train_one(struct train *t, const struct tmsg *m, bool spam)
{
	struct cls_engine_result r;
	unsigned char rnd[16];
	char err[512], sig[CLS_SIG_ID_LEN + 1];
	bool ok, wrong = true;
	long len;
	int rc;

	if ((len = load(t, m)) < 0) {
		t->skipped++;
		return EX_OK;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "edgespam: train: getrandom: %s\n",
		    strerror(errno));
		return EX_OSERR;
	}
	if (t->batch > 1 && !t->in_replay) {
		bool staged;
		int xc;

		if ((rc = batch_one(t, m, len, rnd, &r, spam, &wrong, &staged,
			 err, sizeof(err))) != 0) {
			if (t->in_tx)
				store_rollback(t->c->st);
			t->in_tx = false;
			if (rc != ES_ETRANSIENT || !store_conflict(t->c->st))
				goto fail;
			/* the batch is gone: its messages one by one */
			if ((xc = replay(t, staged ? m : NULL)) != EX_OK ||
			    staged)
				return xc;
			/* this one was not staged: the path below, with its
			 * text loaded again (the replay used the buffer) */
			if ((len = load(t, m)) < 0) {
				t->skipped++;
				return EX_OK;
			}
			wrong = true;
		}
		if (!wrong) {
			verdict_line(t, m, spam, true, r.result);
			if (spam)
				t->nspam++;
			else
				t->ninno++;
			return EX_OK;
		}
	}
	/* one message, its own transactions: classified and learned by
	 * the mode, then corrected through its signature when wrong */
	CLI_RETRY(t->c, rc, cls_engine_process(t->e, t->c->st, t->uid,
				&t->cfg, CLS_ENGINE_PROCESS, t->buf,
				(size_t)len, rnd, time(NULL), &r, err,
				sizeof(err)));
	if (rc != 0)
		goto fail;
	ok = spam == (r.result == CLS_SPAM);
	verdict_line(t, m, spam, ok, r.result);
	if (spam)
		t->nspam++;
	else
		t->ninno++;
	if (ok)
		return EX_OK;
	if (spam)
		t->fn++;
	else
		t->fp++;
	strlcpy(sig, r.sig, sizeof(sig));
	if (sig[0] != '\0')
		CLI_RETRY(t->c, rc, cls_engine_correct(t->e, t->c->st, t->uid,
					&t->cfg, sig,
					spam ? CLS_CLASS_SPAM
					     : CLS_CLASS_INNOCENT,
					time(NULL), &r, err, sizeof(err)));
	else
		CLI_RETRY(t->c, rc, cls_engine_train(t->e, t->c->st, t->uid,
					&t->cfg, t->buf, (size_t)len,
					spam ? CLS_CLASS_SPAM
					     : CLS_CLASS_INNOCENT,
					CLS_SRC_ERROR, time(NULL), &r, err,
					sizeof(err)));
	if (rc == 0)
		return EX_OK;
fail:
	fprintf(stderr, "%sedgespam: train: %s: %s\n", t->tty ? "\n" : "",
	    m->path ? m->path : m->name, err);
	es_log_err("train %s: %s", t->user, err);
	return cli_exit_code(rc);
}

/* checkpoint - the store's log, between transactions, now and then. */
static int
checkpoint(struct train *t)
{
	int rc;

	if (t->in_tx || t->done - t->last_maint < TRAIN_CHECKPOINT_EVERY)
		return EX_OK;
	t->last_maint = t->done;
	if ((rc = store_maintain(t->c->st, true)) != 0) {
		fprintf(stderr, "edgespam: train: %s\n", store_errmsg(t->c->st));
		return cli_exit_code(rc);
	}
	return EX_OK;
}

/* run - dspam_train's alternation over the two lists. */
static int
run(struct train *t)
{
	size_t si = 0, ii = 0, k, take;
	char err[512];
	int rc;

	while (si < t->spam.n || ii < t->inno.n) {
		for (int cls = 0; cls < 2; cls++) {
			struct tlist *l = cls == 0 ? &t->inno : &t->spam;
			size_t *at = cls == 0 ? &ii : &si;
			size_t other = cls == 0 ? t->spam.n - si : t->inno.n - ii;

			if (*at >= l->n)
				continue;
			/* the first message, then as many more as this class
			 * outnumbers the other after it (floor of the ratio) */
			take = 1;
			if (other > 0 && (l->n - *at - 1) / other > 1)
				take = (l->n - *at - 1) / other;
			for (k = 0; k < take && *at < l->n; k++) {
				if ((rc = train_one(t, &l->v[(*at)++],
					 cls == 1)) != EX_OK)
					return rc;
				t->done++;
				progress(t, false);
				if ((rc = checkpoint(t)) != EX_OK)
					return rc;
			}
		}
	}
	if ((rc = batch_end(t, err, sizeof(err))) != 0) {
		if (rc == ES_ETRANSIENT && store_conflict(t->c->st))
			return replay(t, NULL);
		fprintf(stderr, "edgespam: train: %s\n", err);
		return cli_exit_code(rc);
	}
	return EX_OK;
}

/* train_free - everything t owns. */
static void
train_free(struct train *t)
{
	size_t i;

	for (i = 0; i < t->spam.n; i++)
		es_free(t->spam.v[i].path);
	for (i = 0; i < t->inno.n; i++)
		es_free(t->inno.v[i].path);
	es_free(t->spam.v);
	es_free(t->inno.v);
	for (i = 0; i < t->nmbox; i++)
		es_free(t->mboxes[i]);
	es_free(t->mboxes);
	es_free(t->buf);
	es_free(t->bmsg);
	es_free(t->bspam);
	cls_engine_free(t->e);
}

static int
usage(void)
{
	fputs("usage: edgespam train USER --spam PATH --innocent PATH "
	      "[--mode=MODE] [--batch=N] [--verbose]\n"
	      "  PATH: a Maildir, a directory of messages, an mbox or one "
	      "message;\n"
	      "  --spam and --innocent may be given several times\n",
	    stderr);
	return EX_USAGE;
}

/* train_args - the paths and options after USER; an exit code. */
static int
train_args(struct train *t, int argc, char **argv)
{
	const char *v;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool spam = strncmp(a, "--spam", 6) == 0;

		if (spam || strncmp(a, "--innocent", 10) == 0 ||
		    strncmp(a, "--nonspam", 9) == 0) {
			size_t n = spam ? 6 : a[2] == 'i' ? 10 : 9;

			if (a[n] == '=')
				v = a + n + 1;
			else if (a[n] == '\0' && i + 1 < argc)
				v = argv[++i];
			else
				return usage();
			if ((rc = add_path(t, spam ? &t->spam : &t->inno, v)) !=
			    EX_OK)
				return rc;
		} else if (strncmp(a, "--mode=", 7) == 0) {
			if (cls_mode_parse(a + 7, &t->c->mode) != 0)
				return usage();
			t->c->have_mode = true;
		} else if (strncmp(a, "--batch=", 8) == 0) {
			char *end;
			unsigned long b = strtoul(a + 8, &end, 10);

			if (*end != '\0' || b < 1 || b > TRAIN_BATCH_MAX)
				return usage();
			t->batch = b;
		} else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
			t->verbose = true;
		} else {
			return usage();
		}
	}
	return EX_OK;
}

int
cli_train(struct cli *c, int argc, char **argv)
{
	struct train t;
	double s, cpu;
	int rc;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.batch = TRAIN_BATCH;
	if (argc < 3 || argv[0][0] == '-')
		return usage();
	if (!cli_user_name(c, argv[0], t.user, sizeof(t.user))) {
		fprintf(stderr, "edgespam: %s: not a user name\n", argv[0]);
		return EX_USAGE;
	}
	if (!cli_may_act_for(c, t.user)) {
		fprintf(stderr, "edgespam: not allowed to train %s\n", t.user);
		return EX_NOPERM;
	}
	if ((rc = train_args(&t, argc, argv)) != EX_OK)
		goto out;
	if (t.spam.n + t.inno.n == 0) {
		fprintf(stderr, "edgespam: train: no messages\n");
		rc = EX_NOINPUT;
		goto out;
	}
	if ((t.bmsg = es_reallocarray(NULL, t.batch, sizeof(*t.bmsg))) ==
		NULL ||
	    (t.bspam = es_reallocarray(NULL, t.batch, sizeof(*t.bspam))) ==
		NULL) {
		fprintf(stderr, "edgespam: train: out of memory\n");
		rc = EX_OSERR;
		goto out;
	}
	if ((rc = conf_engine_cfg(c->cf, &c->ecfg)) != 0) {
		fprintf(stderr, "edgespam: configuration: %s\n", es_strerror(rc));
		rc = EX_CONFIG;
		goto out;
	}
	c->own_maintenance = true;
	if ((rc = cli_open_store(c)) != EX_OK)
		goto out;
	CLI_RETRY(c, rc, store_user_uid(c->st, t.user, true, &t.uid));
	if (rc != 0 ||
	    (rc = cls_engine_user_cfg(c->st, t.uid, &c->ecfg, &t.cfg)) != 0) {
		fprintf(stderr, "edgespam: %s: %s: %s\n", t.user,
		    es_strerror(rc), store_errmsg(c->st));
		rc = cli_exit_code(rc);
		goto out;
	}
	if (c->have_mode)
		t.cfg.mode = c->mode;
	if ((t.e = cls_engine_new()) == NULL) {
		rc = EX_OSERR;
		goto out;
	}
	t.tty = isatty(STDERR_FILENO);
	t.total = t.spam.n + t.inno.n;
	clock_gettime(CLOCK_MONOTONIC, &t.t0);
	t.cpu0 = cpu_now();
	rc = run(&t);
	progress(&t, true);
	s = secs_since(&t.t0);
	cpu = cpu_now() - t.cpu0;
	printf("train: %s: %zu messages (%zu spam, %zu innocent) in %.1f s, "
	       "%.1f msg/s (%.1f per CPU second); corrected %zu spam missed "
	       "(FN) and %zu innocent called spam (FP)%s\n",
	    t.user, t.nspam + t.ninno, t.nspam, t.ninno, s,
	    s > 0 ? (double)(t.nspam + t.ninno) / s : 0.0,
	    cpu > 0 ? (double)(t.nspam + t.ninno) / cpu : 0.0, t.fn, t.fp,
	    rc == EX_OK ? "" : "; stopped by an error");
	if (t.skipped > 0)
		printf("train: %zu unreadable messages skipped\n", t.skipped);
	if (t.replayed > 0)
		printf("train: %zu messages of batches that a conflict with "
		       "another writer rolled back were written again one by "
		       "one\n",
		    t.replayed);
	es_log_notice("train %s: %zu spam, %zu innocent, FN %zu, FP %zu",
	    t.user, t.nspam, t.ninno, t.fn, t.fp);
out:
	train_free(&t);
	return rc;
}
