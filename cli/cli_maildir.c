/*
 * cli_maildir.c - "edgespam maildir-retrain": retraining by moving mail.
 *
 *   maildir-retrain [--watch] --user USER MAILDIR
 *   maildir-retrain [--watch] --all
 *
 * A user who moves a message classified Innocent or Whitelisted into the
 * spam folder (maildir_spam_folder, ".Spam") has it corrected as spam; a
 * message classified Spam moved out of it into any folder but a trash
 * folder (maildir_trash_folders) is corrected as innocent; moving it back
 * corrects it back. A message without a signature that turns up in the
 * spam folder after the first run is trained as spam from its text
 * (maildir_train_unsigned). --all does this for every user the milter
 * filters, with the Maildir that maildir_path names (%u the local part,
 * %d the domain, %U the whole user name, %% a percent sign).
 *
 * The corrections are the alias pipes' (cli_retrain.c): cls_retrain_run()
 * on the store for root and those the trust rules let open it, or the
 * milter's retrain socket for anyone else. A correction of a correction
 * needs the store: when a signature is corrected here, its stored data is
 * replaced by what the correction made of it (verdict and learned class
 * the new class, the weight step the correction took, every token
 * changed, no client address, so the spam source is charged once), and a
 * later correction undoes it exactly; the two corrections' error counts
 * then cancel. Through the socket the milter uses the signature up, and
 * a move back is only counted as skipped.
 *
 * Privileges: run as root, edgespam reads each Maildir as the Maildir's
 * owner (effective ids only; the real uid stays 0 to switch back) and
 * works on the store as the store's owner (cli_store_as_owner), so that
 * neither a Maildir nor the store's files are touched with root's
 * rights. The parts of a maildir_path after its fixed beginning are
 * opened one by one without following symbolic links; a Maildir owned by
 * root is not scanned by --all.
 *
 * --watch runs a pass, then waits for mail to move in the Maildirs it
 * scanned (inotify, cli_maildir_watch.c) or for MD_WATCH_PERIOD, and
 * runs the next; it ends only on an error or a signal.
 *
 * Output: progress on standard error when it is a terminal; one summary
 * line on standard output (per Maildir with --user, the total with
 * --all); each Maildir with something done is logged. Exit codes: 0, 64
 * usage, 75 the store or the milter is away (a later run goes on where
 * this one stopped), 77 not allowed, 74 a Maildir that cannot be read.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_maildir_scan.h"
#include "cli_maildir_watch.h"
#include "cls_policy.h"
#include "cls_retrain.h"
#include "conf.h"
#include "es_alloc.h"
#include "es_err.h"
#include "es_log.h"
#include "store.h"

struct ident {
	uid_t uid;
	gid_t gid;
};

/* run - one invocation's state. */
struct run {
	struct cli *c;
	struct cls_engine *e;
	bool via_socket;
	bool tty;
	bool root;          /* the real uid is 0: identities are switched */
	struct ident store; /* who works on the store */
	struct ident mail;  /* the Maildir's owner (while on one) */
	struct md_opts o;
	struct md_counts total;
	size_t spam, innocent, trained, skipped; /* totals of the run */
	int worst;          /* the worst exit code */
	const char *user;   /* the Maildir's user, for messages */
	size_t shown;       /* progress: files read so far */
	struct md_watch *watch; /* --watch: the Maildirs scanned */
};

/* --watch: a whole pass at least this often (seconds), for what inotify
 * cannot see (new users, a Maildir made later, lost watches) */
#define MD_WATCH_PERIOD 600

/* become - act as id (effective ids, groups first), when root. */
static int
become(const struct run *r, const struct ident *id)
{
	if (!r->root)
		return 0;
	if (seteuid(0) != 0 || setgroups(1, &id->gid) != 0 ||
	    setegid(id->gid) != 0 || seteuid(id->uid) != 0) {
		fprintf(stderr, "edgespam: cannot act as uid %u: %s\n",
		    (unsigned)id->uid, strerror(errno));
		return -1;
	}
	return 0;
}

/* worse - keep the worst exit code (anything over EX_OK). */
static void
worse(struct run *r, int rc)
{
	if (rc != EX_OK && (r->worst == EX_OK || rc == EX_TEMPFAIL))
		r->worst = rc;
}

/* on_listed - progress on a terminal. */
static void
on_listed(const char *folder, const char *name, void *arg)
{
	struct run *r = arg;

	if (r->tty && ++r->shown % 1000 == 0)
		fprintf(stderr, "\rmaildir-retrain: %s: %zu messages read",
		    r->user, r->shown);
}

/* on_error - a file that cannot be read. */
static void
on_error(const char *folder, const char *name, int err, void *arg)
{
	struct run *r = arg;

	fprintf(stderr, "%sedgespam: %s: %s/%s: %s\n", r->tty ? "\n" : "",
	    r->user, folder[0] ? folder : "INBOX", name, strerror(err));
}

/* sig_restore - after a correction of sig (whose data before it was
 * old, dlen bytes) to cls: store what the correction made of it, so
 * that a move back corrects it back. back: also take back the error the
 * correction before counted. 0 or an es_err code. */
static int
sig_restore(struct run *r, uint32_t uid, const char *sig, const void *old,
    size_t dlen, enum cls_class cls, bool back, time_t now)
{
	struct cls_engine_cfg ucfg;
	struct store_totals td;
	struct cls_sig s;
	void *data = NULL;
	size_t len, i, nsender = 0;
	double scale;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((rc = cls_sig_decode(old, dlen, &s)) != 0)
		return rc;
	if (s.legacy) {
		cls_sig_clear(&s); /* DSPAM's: no probability to size a step */
		return 0;
	}
	if ((rc = cls_engine_user_cfg(r->c->st, uid, &r->c->ecfg, &ucfg)) != 0)
		goto out;
	for (i = 0; i < s.ntokens; i++) {
		nsender += (s.tokens[i].flags & CLS_SIGF_SENDER) != 0;
		s.tokens[i].flags |= CLS_SIGF_CHANGED;
	}
	/* the step cls_engine_correct() took: same probability and scale */
	scale = 1.0 / sqrt((double)(s.ntokens - nsender) + 1.0);
	s.step = ucfg.score.algo == CLS_ALGO_HYBRID
	    ? cls_hybrid_step(s.prob, scale, cls == CLS_CLASS_SPAM)
	    : 0;
	s.verdict = cls == CLS_CLASS_SPAM ? CLS_SPAM : CLS_INNOCENT;
	s.learned = cls;
	s.client[0] = '\0';
	if ((rc = cls_sig_encode(&s, &data, &len)) != 0)
		goto out;
	memset(&td, 0, sizeof(td));
	td.spam_misclassified = td.innocent_misclassified = -1;
	if ((rc = store_begin(r->c->st, true)) != 0)
		goto out;
	if ((rc = store_sig_put(r->c->st, uid, sig, data, len, now)) != 0 ||
	    (back && (rc = store_totals_add(r->c->st, uid, &td)) != 0) ||
	    (rc = store_commit(r->c->st)) != 0)
		store_rollback(r->c->st);
out:
	es_free(data);
	cls_sig_clear(&s);
	return rc;
}

/* outcome_of_exit - the outcome of a retrain socket's exit code; false
 * when it failed (try again next run). */
static bool
outcome_of_exit(int rc, enum cls_retrain_outcome *out)
{
	if (rc == EX_OK)
		*out = CLS_RETRAIN_CORRECTED; /* or already: the milter knows */
	else if (rc == EX_DATAERR)
		*out = CLS_RETRAIN_REFUSED;
	else
		return false;
	return true;
}

/* correct - correct a's signature for user; false when it failed (then
 * nothing is recorded and the next run tries again). */
static bool
correct(struct run *r, const char *user, const struct md_action *a,
    time_t now, enum cls_retrain_outcome *out)
{
	enum cls_class cls = a->cls == MD_V_SPAM ? CLS_CLASS_SPAM
	                                         : CLS_CLASS_INNOCENT;
	struct cls_retrain_req rq;
	struct cls_engine_cfg base;
	struct es_buf none = {0};
	char text[1024];
	void *old = NULL;
	size_t dlen = 0;
	uint32_t uid;
	int rc;

	if (r->via_socket) {
		r->c->signature = a->sig;
		rc = cli_retrain_socket(r->c, cls == CLS_CLASS_SPAM
		        ? CLS_RETRAIN_SPAM : CLS_RETRAIN_INNOCENT, user, &none);
		r->c->signature = NULL;
		if (!outcome_of_exit(rc, out)) {
			worse(r, rc);
			return false;
		}
		return true;
	}
	if ((rc = store_user_uid(r->c->st, user, true, &uid)) != 0 ||
	    ((rc = store_sig_get(r->c->st, uid, a->sig, &old, &dlen)) != 0 &&
		rc != ES_ENOTFOUND)) {
		fprintf(stderr, "edgespam: %s: signature %s: %s\n", user, a->sig,
		    store_errmsg(r->c->st));
		worse(r, cli_exit_code(rc));
		return false;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = cls == CLS_CLASS_SPAM ? CLS_RETRAIN_SPAM : CLS_RETRAIN_INNOCENT;
	strlcpy(rq.user, user, sizeof(rq.user));
	strlcpy(rq.sig, a->sig, sizeof(rq.sig));
	rq.msg = "";
	base = r->c->ecfg;
	/* the shared dictionary learns from a user's first word on a
	 * message, not from every change of mind */
	if (a->back)
		base.shared.learn_corrections = false;
	CLI_RETRY(r->c, rc, cls_retrain_run(r->e, r->c->st, &base, &rq, now,
				out, text, sizeof(text)));
	if (rc == 0 && *out == CLS_RETRAIN_CORRECTED && old != NULL &&
	    (rc = sig_restore(r, uid, a->sig, old, dlen, cls, a->back,
		 now)) != 0)
		snprintf(text, sizeof(text), "signature %s corrected, but not "
		    "kept for a move back: %s", a->sig, store_errmsg(r->c->st));
	es_free(old);
	if (rc != 0 && *out != CLS_RETRAIN_CORRECTED) {
		fprintf(stderr, "edgespam: %s: %s\n", user, text);
		es_log_err("maildir-retrain: user %s: %s", user, text);
		worse(r, cli_exit_code(rc));
		return false;
	}
	if (rc != 0)
		fprintf(stderr, "edgespam: %s: %s\n", user, text);
	else if (*out == CLS_RETRAIN_CORRECTED)
		es_log_info("maildir-retrain: user %s: %s%s", user, text,
		    a->back ? " (moved back)" : "");
	return true;
}

/* read_msg - the file of message m of st in the Maildir root into b (as
 * the Maildir's owner); ES_ENOTFOUND when it is gone. */
static int
read_msg(struct run *r, int root, const struct md_state *st,
    const struct md_msg *m, struct es_buf *b)
{
	const char *folder = st->folders[m->folder].name;
	char path[PATH_MAX], chunk[65536];
	struct stat sb;
	ssize_t n;
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s%s%s/%s", folder,
	        folder[0] ? "/" : "", m->sub == 'c' ? "cur" : "new",
	        m->name) >= sizeof(path))
		return ES_EINVAL;
	/* the folder is no link (md_scan), nor cur/ or new/: O_NOFOLLOW on
	 * the last part, and the owner checked as the scan does */
	if ((fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	         O_NOCTTY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? ES_ENOTFOUND : ES_EIO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != r->o.owner) {
		close(fd);
		return ES_EPERM;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ES_EIO;
			break;
		}
		if (b->len + (size_t)n > CLS_RETRAIN_MAX_MSG)
			n = (ssize_t)(CLS_RETRAIN_MAX_MSG - b->len);
		if ((rc = es_buf_append(b, chunk, (size_t)n)) != 0 ||
		    b->len == CLS_RETRAIN_MAX_MSG)
			break;
	}
	close(fd);
	return rc;
}

/* train - train the unsigned message of a as spam; false when it failed
 * for now (the next run tries again). *gone: the file went meanwhile. */
static bool
train(struct run *r, const char *user, int root, const struct md_state *st,
    const struct md_action *a, time_t now, enum cls_retrain_outcome *out,
    bool *gone)
{
	struct cls_retrain_req rq;
	struct es_buf b;
	char text[1024];
	int rc;

	*gone = false;
	es_buf_init(&b, CLS_RETRAIN_MAX_MSG);
	if (become(r, &r->mail) != 0) {
		es_buf_release(&b);
		return false;
	}
	rc = read_msg(r, root, st, &st->msgs[a->msg], &b);
	if (become(r, &r->store) != 0)
		rc = ES_EPERM;
	if (rc != 0 || b.len == 0) {
		es_buf_release(&b);
		*gone = rc == ES_ENOTFOUND;
		*out = CLS_RETRAIN_REFUSED;
		return rc == ES_ENOTFOUND || rc == 0 || rc == ES_EPERM;
	}
	if (r->via_socket) {
		rc = cli_retrain_socket(r->c, CLS_RETRAIN_SPAM, user, &b);
		es_buf_release(&b);
		if (!outcome_of_exit(rc, out)) {
			worse(r, rc);
			return false;
		}
		if (*out == CLS_RETRAIN_CORRECTED)
			*out = CLS_RETRAIN_TRAINED;
		return true;
	}
	memset(&rq, 0, sizeof(rq));
	rq.op = CLS_RETRAIN_SPAM;
	strlcpy(rq.user, user, sizeof(rq.user));
	rq.msg = b.data;
	rq.len = b.len;
	rq.train_without_sig = true;
	CLI_RETRY(r->c, rc, cls_retrain_run(r->e, r->c->st, &r->c->ecfg, &rq,
				now, out, text, sizeof(text)));
	es_buf_release(&b);
	if (rc != 0) {
		fprintf(stderr, "edgespam: %s: %s\n", user, text);
		worse(r, cli_exit_code(rc));
		return false;
	}
	es_log_info("maildir-retrain: user %s: %s", user, text);
	return true;
}

/* apply - carry out the plan for st (the Maildir open as root) as the
 * store's user; records what was done in st. */
static void
apply(struct run *r, const char *user, int root, struct md_state *st,
    const struct md_action *acts, size_t nacts, time_t now)
{
	enum cls_retrain_outcome out;
	bool gone;
	size_t i;

	for (i = 0; i < nacts; i++) {
		const struct md_action *a = &acts[i];

		if (a->sig[0] == '\0') {
			if (!train(r, user, root, st, a, now, &out, &gone)) {
				r->total.errors++;
				continue;
			}
			st->msgs[a->msg].mark = MD_M_TRAINED;
			if (gone)
				r->total.vanished++;
			else if (out == CLS_RETRAIN_TRAINED ||
			    out == CLS_RETRAIN_CORRECTED)
				r->trained++;
			else
				r->skipped++;
			continue;
		}
		if (!correct(r, user, a, now, &out)) {
			r->total.errors++;
			continue;
		}
		/* also when refused (the signature expired) or already so:
		 * not tried again until the message moves again */
		if (md_sig_set(st, a->sig, a->cls) != 0) {
			r->total.errors++;
			continue;
		}
		if (out == CLS_RETRAIN_CORRECTED && a->cls == MD_V_SPAM)
			r->spam++;
		else if (out == CLS_RETRAIN_CORRECTED)
			r->innocent++;
		else
			r->skipped++;
	}
}

/* lock_state - the lock file (MD_STATE_NEW) of root, locked; -1 when
 * another run holds it or it cannot be made (said why). */
static int
lock_state(struct run *r, const char *user, int root)
{
	struct stat sb;
	int fd;

	fd = openat(root, MD_STATE_NEW, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600);
	/* one link: the state is written through this descriptor */
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != r->mail.uid || sb.st_nlink != 1) {
		fprintf(stderr, "edgespam: %s: %s in the Maildir: %s\n", user,
		    MD_STATE_NEW, fd < 0 ? strerror(errno)
		                         : "not a file of the Maildir's owner "
		                           "with one link");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "edgespam: %s: another maildir-retrain is "
		    "working on this Maildir; skipped\n", user);
		close(fd);
		return -1;
	}
	return fd;
}

/* changed - whether st differs from old in what the state file keeps. */
static bool
changed(const struct md_state *old, const struct md_state *st, size_t nacts)
{
	size_t i;

	if (old->baseline || nacts > 0 || old->nfolders != st->nfolders ||
	    old->nmsgs != st->nmsgs)
		return true;
	for (i = 0; i < st->nfolders; i++)
		if (st->folders[i].listed)
			return true;
	return false;
}

/* one_maildir - the whole work for user's Maildir, open as root (the
 * caller closes it); an exit code. */
static int
one_maildir(struct run *r, const char *user, const char *path, int root)
{
	struct md_state old, st;
	struct md_counts cnt;
	struct md_action *acts = NULL;
	size_t nacts = 0, conflicts = 0, before[5], i;
	bool relisted;
	struct passwd *pw;
	struct stat sb;
	char err[512];
	time_t now = time(NULL);
	int lfd, rc;

	if (fstat(root, &sb) != 0)
		return EX_IOERR;
	pw = getpwuid(sb.st_uid);
	r->mail.uid = sb.st_uid;
	r->mail.gid = pw != NULL ? pw->pw_gid : sb.st_gid;
	r->o.owner = sb.st_uid;
	r->user = user;
	r->shown = 0;
	if (become(r, &r->mail) != 0)
		return EX_OSERR;
	if ((lfd = lock_state(r, user, root)) < 0) {
		(void)become(r, &r->store);
		return EX_TEMPFAIL;
	}
	if ((rc = md_state_read(root, r->mail.uid, &old, err, sizeof(err))) !=
	    0) {
		close(lfd);
		(void)become(r, &r->store);
		return EX_OSERR;
	}
	if (err[0] != '\0')
		fprintf(stderr, "edgespam: %s: %s\n", user, err);
	rc = md_scan(root, &r->o, &old, &st, &cnt, err, sizeof(err));
	if (r->tty && r->shown >= 1000)
		fputc('\n', stderr);
	if (rc != 0) {
		md_state_free(&old);
		unlinkat(root, MD_STATE_NEW, 0);
		close(lfd);
		(void)become(r, &r->store);
		if (rc == ES_ENOTFOUND) { /* no spam folder: nothing to learn */
			if (r->tty)
				fprintf(stderr, "maildir-retrain: %s: %s: %s; "
				    "skipped\n", user, path, err);
			return EX_OK;
		}
		fprintf(stderr, "edgespam: %s: %s: %s\n", user, path, err);
		return rc == ES_ENOMEM ? EX_OSERR : EX_IOERR;
	}
	before[0] = r->spam;
	before[1] = r->innocent;
	before[2] = r->trained;
	before[3] = r->skipped;
	r->total.scanned += cnt.scanned;
	r->total.read += cnt.read;
	r->total.vanished += cnt.vanished;
	r->total.skipped += cnt.skipped;
	r->total.errors += cnt.errors;
	rc = EX_OK;
	/* where nothing moved, nothing is to be done: the plan is made when
	 * a folder was listed again (a failed action leaves the state so
	 * that every folder is, below) */
	relisted = changed(&old, &st, 0);
	before[4] = r->total.errors;
	if (become(r, &r->store) != 0) {
		rc = EX_OSERR;
	} else if (relisted &&
	    md_plan(&st, conf_bool(r->c->cf, "maildir_train_unsigned"), &acts,
		&nacts, &conflicts) != 0) {
		rc = EX_OSERR;
	} else {
		r->skipped += conflicts;
		apply(r, user, root, &st, acts, nacts, now);
	}
	if (r->total.errors > before[4] || rc != EX_OK) {
		for (i = 0; i < st.nfolders; i++)
			memset(&st.folders[i].mt, 0, sizeof(st.folders[i].mt));
		nacts++; /* written */
	}
	if (become(r, &r->mail) == 0) {
		if (changed(&old, &st, nacts)) {
			if (md_state_write(root, lfd, &st, err, sizeof(err)) != 0) {
				fprintf(stderr, "edgespam: %s: %s: %s\n", user,
				    path, err);
				rc = EX_IOERR;
			}
		} else {
			unlinkat(root, MD_STATE_NEW, 0);
		}
	}
	close(lfd);
	(void)become(r, &r->store);
	if (r->watch != NULL) {
		/* as root: /proc/self/fd is root's once the ids changed */
		static const struct ident root_id = {0, 0};

		if (become(r, &root_id) == 0 &&
		    md_watch_add(r->watch, root, &st) > 0 && r->tty)
			fprintf(stderr, "edgespam: %s: some folders cannot be "
			    "watched (fs.inotify.max_user_watches); they are "
			    "looked at every %d s\n", user, MD_WATCH_PERIOD);
		(void)become(r, &r->store);
	}
	if (r->spam + r->innocent + r->trained != before[0] + before[1] +
	    before[2])
		es_log_info("maildir-retrain: user %s: %zu messages, corrected "
		            "%zu as spam and %zu as innocent, trained %zu",
		    user, cnt.scanned, r->spam - before[0],
		    r->innocent - before[1], r->trained - before[2]);
	(void)before[3];
	es_free(acts);
	md_state_free(&old);
	md_state_free(&st);
	return rc;
}

/* part_ok - a piece of a user name that goes into a path: no '/', not
 * empty, "." or "..", nothing a file name should not hold. */
static bool
part_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x21 ||
		    (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

/*
 * maildir_path - pattern with user's parts put in (%u local part, %d
 * domain, %U the whole name, %% '%') into out (outlen bytes); *fixed is
 * the length of the leading part that holds no user part (up to and
 * including its last '/'). false when user does not fit the pattern (no
 * domain for %d, a part that is no file name), the pattern has another
 * '%' sequence, or out is too small.
 */
static bool
maildir_path(const char *pattern, const char *user, char *out, size_t outlen,
    size_t *fixed)
{
	const char *at = strrchr(user, '@'), *v;
	size_t n = 0, vn, first = SIZE_MAX;
	size_t lp = at ? (size_t)(at - user) : strlen(user);

	for (; *pattern != '\0'; pattern++) {
		v = pattern;
		vn = 1;
		if (*pattern == '%') {
			switch (*++pattern) {
			case '%': v = "%"; break;
			case 'u': v = user; vn = lp; break;
			case 'd': v = at ? at + 1 : ""; vn = strlen(v); break;
			case 'U': v = user; vn = strlen(user); break;
			default: return false;
			}
			if (*pattern != '%') {
				if (!part_ok(v, vn))
					return false;
				if (first == SIZE_MAX)
					first = n;
			}
		}
		if (n + vn >= outlen)
			return false;
		memcpy(out + n, v, vn);
		n += vn;
	}
	out[n] = '\0';
	if (first == SIZE_MAX)
		first = n;
	while (first > 0 && out[first - 1] != '/')
		first--;
	*fixed = first;
	return n > 0;
}

/* open_maildir - the directory path as root may open it: its first
 * fixed bytes as they are (the administrator's), every later part
 * without following a symbolic link. -1 with errno. */
static int
open_maildir(const char *path, size_t fixed)
{
	char buf[PATH_MAX], *p, *slash;
	int fd, nfd;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fixed >= strlen(path))
		return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fixed == 0)
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		buf[fixed - 1 == 0 ? 1 : fixed - 1] = '\0'; /* "/" stays "/" */
		fd = open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		strlcpy(buf, path, sizeof(buf));
	}
	for (p = buf + fixed; fd >= 0 && *p != '\0'; p = slash) {
		if ((slash = strchr(p, '/')) != NULL)
			*slash++ = '\0';
		else
			slash = p + strlen(p);
		if (*p == '\0')
			continue;
		nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* do_user - open user's Maildir at path (fixed: see open_maildir) and
 * work on it; all: refuse a Maildir of root's. */
static void
do_user(struct run *r, const char *user, const char *path, size_t fixed,
    bool all)
{
	static const struct ident root_id = {0, 0};
	struct stat sb;
	int fd, rc;

	if (become(r, &root_id) != 0) {
		worse(r, EX_OSERR);
		return;
	}
	fd = open_maildir(path, fixed);
	rc = errno;
	(void)become(r, &r->store);
	if (fd < 0) {
		if (all && rc == ENOENT)
			return; /* no Maildir (yet): nothing to learn */
		fprintf(stderr, "edgespam: %s: %s: %s\n", user, path,
		    strerror(rc));
		r->total.errors++;
		worse(r, EX_IOERR);
		return;
	}
	if (fstat(fd, &sb) != 0 || (all && r->root && sb.st_uid == 0)) {
		fprintf(stderr, "edgespam: %s: %s belongs to root: not scanned\n",
		    user, path);
		r->total.errors++;
		close(fd);
		worse(r, EX_NOPERM);
		return;
	}
	worse(r, one_maildir(r, user, path, fd));
	close(fd);
}

/* users - collect the store's user names. */
struct names {
	char **v;
	uint32_t *uid;
	size_t n;
};

static int
add_name(uint32_t uid, const char *name, void *arg)
{
	struct names *ns = arg;
	char **nv;
	uint32_t *nu;

	if ((nv = es_reallocarray(ns->v, ns->n + 1, sizeof(*nv))) == NULL)
		return 1;
	ns->v = nv;
	if ((nu = es_reallocarray(ns->uid, ns->n + 1, sizeof(*nu))) == NULL)
		return 1;
	ns->uid = nu;
	if ((nv[ns->n] = es_strdup(name)) == NULL)
		return 1;
	nu[ns->n++] = uid;
	return 0;
}

/* filtered - whether the milter filters user uid (the rule of
 * cls_policy.h, from the same stored values as "user show"). */
static bool
filtered(struct run *r, uint32_t uid, const char *name)
{
	char in[CLS_POLICY_PREF_SIZE] = "", out[CLS_POLICY_PREF_SIZE] = "";
	char text[CLS_POLICY_TEXT_SIZE];
	const char *at = strrchr(name, '@');
	enum cls_policy def = CLS_POLICY_OPT_IN, pol;

	if (cli_shared_user(r->c, name) || strcmp(name, "postmaster") == 0)
		return false;
	(void)cls_policy_parse(conf_str(r->c->cf, "default_policy"), &def);
	pol = def;
	if (at != NULL &&
	    store_domain_get(r->c->st, at + 1, text, sizeof(text)) == 0)
		(void)cls_policy_of_domain(def, text, &pol);
	if (store_pref_get(r->c->st, uid, "optIn", in, sizeof(in)) != 0)
		in[0] = '\0';
	if (store_pref_get(r->c->st, uid, "optOut", out, sizeof(out)) != 0)
		out[0] = '\0';
	return cls_policy_filtered(pol, in, out);
}

/* do_all - every filtered user's Maildir under maildir_path. */
static void
do_all(struct run *r)
{
	const char *pattern = conf_str(r->c->cf, "maildir_path");
	struct names ns = {0};
	char path[PATH_MAX];
	size_t i, fixed;

	if (store_users(r->c->st, add_name, &ns) != 0) {
		fprintf(stderr, "edgespam: listing the users: %s\n",
		    store_errmsg(r->c->st));
		worse(r, EX_TEMPFAIL);
	}
	for (i = 0; i < ns.n; i++) {
		if (!filtered(r, ns.uid[i], ns.v[i]))
			continue;
		if (!maildir_path(pattern, ns.v[i], path, sizeof(path),
		        &fixed)) {
			char clean[CLS_USER_MAX + 1];

			es_log_sanitize(ns.v[i], strlen(ns.v[i]), clean,
			    sizeof(clean));
			fprintf(stderr, "edgespam: user %s does not fit "
			    "maildir_path %s: skipped\n", clean, pattern);
			r->total.errors++;
			continue;
		}
		do_user(r, ns.v[i], path, fixed, true);
	}
	for (i = 0; i < ns.n; i++)
		es_free(ns.v[i]);
	es_free(ns.v);
	es_free(ns.uid);
}

/* summary - the run's one line. */
static void
summary(const struct run *r, const char *what)
{
	printf("maildir-retrain: %s: scanned %zu, read %zu, corrected as spam "
	       "%zu, corrected as innocent %zu, trained %zu, skipped %zu, "
	       "vanished %zu, errors %zu\n",
	    what, r->total.scanned, r->total.read, r->spam, r->innocent,
	    r->trained, r->skipped + r->total.skipped, r->total.vanished,
	    r->total.errors);
	fflush(stdout);
}

/* pass - one pass over the Maildirs asked for. */
static void
pass(struct run *r, const char *user, const char *path)
{
	size_t fixed;
	const char *slash;

	memset(&r->total, 0, sizeof(r->total));
	r->spam = r->innocent = r->trained = r->skipped = 0;
	if (user == NULL) {
		do_all(r);
		summary(r, "all users");
		return;
	}
	/* root opens the last part of the path without following a link */
	slash = strrchr(path, '/');
	fixed = !r->root ? strlen(path) : slash ? (size_t)(slash - path) + 1 : 0;
	do_user(r, user, path, fixed, false);
	summary(r, user);
}

int
cli_maildir(struct cli *c, int argc, char **argv)
{
	struct run r;
	const char *user = NULL, *path = NULL;
	char name[CLS_USER_MAX + 1];
	bool all = false, watch = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--watch") == 0)
			watch = true;
		else if (strcmp(argv[i], "--user") == 0 && i + 2 < argc) {
			user = argv[++i];
			path = argv[++i];
		} else {
			fprintf(stderr, "edgespam: maildir-retrain: unknown "
			    "argument %s\nusage: edgespam maildir-retrain "
			    "[--watch] --user USER MAILDIR | --all\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (all == (user != NULL)) {
		fprintf(stderr, "usage: edgespam maildir-retrain "
		    "[--watch] --user USER MAILDIR | --all\n");
		return EX_USAGE;
	}
	if (all && *conf_str(c->cf, "maildir_path") == '\0') {
		fprintf(stderr, "edgespam: maildir-retrain --all: maildir_path "
		    "is not set in %s\n", c->conf_path);
		return EX_CONFIG;
	}
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.root = getuid() == 0;
	r.tty = isatty(STDERR_FILENO) == 1;
	r.o.spam = conf_str(c->cf, "maildir_spam_folder");
	r.o.trash = conf_str(c->cf, "maildir_trash_folders");
	r.o.listed = on_listed;
	r.o.error = on_error;
	r.o.arg = &r;
	if ((rc = conf_engine_cfg(c->cf, &c->ecfg)) != 0) {
		fprintf(stderr, "edgespam: configuration: %s\n", es_strerror(rc));
		return EX_CONFIG;
	}
	if (all) {
		/* the user list is the store's: --all works on it directly */
		if (!r.root && !cli_trusted(c)) {
			fprintf(stderr, "edgespam: maildir-retrain --all: only "
			    "root and trusted_users\n");
			return EX_NOPERM;
		}
	} else {
		if (!cli_user_name(c, user, name, sizeof(name)) ||
		    cli_shared_user(c, name)) {
			fprintf(stderr, "edgespam: --user %s: not a user name\n",
			    user);
			return EX_USAGE;
		}
		user = name;
		r.via_socket = cli_retrain_via_socket(c);
		if (r.via_socket ? !cli_may_retrain_for(c, user)
		                 : !cli_may_act_for(c, user)) {
			fprintf(stderr, "edgespam: not allowed to act for %s\n",
			    user);
			return EX_NOPERM;
		}
	}
	if (!r.via_socket && (rc = cli_open_store(c)) != EX_OK)
		return rc;
	r.store.uid = geteuid();
	r.store.gid = getegid();
	if ((r.e = cls_engine_new()) == NULL)
		return EX_OSERR;
	if (watch && (r.watch = md_watch_new()) == NULL) {
		fprintf(stderr, "edgespam: --watch: inotify: %s\n",
		    strerror(errno));
		cls_engine_free(r.e);
		return EX_OSERR;
	}
	for (;;) {
		r.worst = EX_OK;
		pass(&r, user, path);
		if (r.watch == NULL)
			break;
		if (md_watch_wait(r.watch, MD_WATCH_PERIOD) < 0) {
			fprintf(stderr, "edgespam: --watch: %s\n",
			    strerror(errno));
			r.worst = EX_OSERR;
			break;
		}
	}
	md_watch_free(r.watch);
	cls_engine_free(r.e);
	return r.worst;
}
