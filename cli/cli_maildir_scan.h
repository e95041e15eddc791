/*
 * cli_maildir_scan.h - what "edgespam maildir-retrain" sees in one
 * Maildir (Courier's and maildrop's Maildir++ layout), and the small
 * state file that makes a second run over an unchanged Maildir cheap.
 *
 * A scan lists the folders (the Maildir itself is the inbox; every
 * directory ".Name" or ".A.B" beside cur/ with a cur/ of its own is a
 * folder), and for each message file in cur/ and new/ notes the folder,
 * the X-DSPAM-Result verdict and the X-DSPAM-Signature id of the
 * message's own header. A file is read once: what it held is kept under
 * its folder and its name's stem (the unique part before ':', which a
 * flag change or a move from new/ to cur/ keeps), and a folder whose
 * cur/ and new/ have the modification times of the previous run is not
 * even listed again. md_plan() then turns the messages into the
 * corrections to make (pure: unit-tested).
 *
 * It only reads mail: files are opened with O_NOFOLLOW beneath the
 * Maildir's descriptor (no symbolic link is followed, no folder that is
 * a link is entered), only regular files of the Maildir's owner are
 * read, at most MD_HEADER_MAX bytes of each, and never renamed, written
 * or locked. A file gone between the listing and its opening (an IMAP
 * server renames all the time) is counted as vanished and skipped.
 * Every header and the state file are hostile: a state file that does
 * not parse is ignored whole (the run then reads every message again).
 *
 * Errors: 0 or an es_err code, with a reason in the caller's buffer.
 * Not thread-safe (a scan has one caller); allocation through es_alloc.
 */
#ifndef CLI_MAILDIR_SCAN_H
#define CLI_MAILDIR_SCAN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cls_sig.h"

/* The state file in the Maildir's root, and the lock that one run at a
 * time holds (a name beginning with '.' would name a Maildir++ folder). */
#define MD_STATE_NAME "edgespam-retrain.state"
#define MD_STATE_NEW "edgespam-retrain.state.new"
/* How much of a message's header is read: X-DSPAM-* fields further down
 * are not looked for (a header this long is no mail the milter passed). */
#define MD_HEADER_MAX (256u * 1024)
/* Folders of one Maildir: a bound on what a hostile tree costs. */
#define MD_FOLDERS_MAX 10000
/* The longest file name taken (Maildir names are far shorter). */
#define MD_NAME_MAX 255

enum md_kind {
	MD_KIND_OTHER, /* the inbox and ordinary folders: mail is innocent */
	MD_KIND_SPAM,  /* the spam folder and its subfolders */
	MD_KIND_TRASH  /* a trash folder and its subfolders: no opinion */
};

/* A message's verdict as its header gives it. */
#define MD_V_NONE '-'
#define MD_V_SPAM 'S'
#define MD_V_INNOCENT 'I' /* Innocent or Whitelisted */

/* What has been done about an unsigned message (md_msg.mark). */
#define MD_M_NONE '-'    /* nothing to do, or nothing done yet */
#define MD_M_TRAINED 'T' /* trained as spam (or tried and refused) */
#define MD_M_PENDING 'P' /* to be trained (a failure is retried) */
#define MD_M_IGNORED 'X' /* not a message edgespam reads (a link, a
                            file of another owner, a device, a bad name) */

struct md_folder {
	char *name;            /* "" for the inbox, else ".Name" (owned) */
	enum md_kind kind;
	struct timespec mt[2]; /* modification times of cur/ and new/ */
	bool listed;           /* listed by this run (else carried over) */
};

struct md_msg {
	char *name;   /* the file name (owned); its stem is the key */
	unsigned folder; /* index into md_state.folders */
	char sub;     /* 'c' cur/, 'n' new/ */
	char verdict; /* MD_V_* */
	char mark;    /* MD_M_* */
	bool fresh;   /* read by this run (not known from before) */
	char sig[CLS_SIG_ID_LEN + 1]; /* "" when none */
};

/* A signature that was corrected: what it was last corrected to. */
struct md_sigstate {
	char sig[CLS_SIG_ID_LEN + 1];
	char cls; /* MD_V_SPAM or MD_V_INNOCENT */
};

struct md_state {
	bool baseline; /* no earlier state: this is the first run */
	struct md_folder *folders;
	size_t nfolders;
	struct md_msg *msgs; /* sorted by folder, then stem */
	size_t nmsgs;
	struct md_sigstate *sigs; /* sorted by signature */
	size_t nsigs;
};

struct md_counts {
	size_t scanned;  /* messages in the Maildir */
	size_t read;     /* of them, files read by this run */
	size_t vanished; /* gone between the listing and the opening */
	size_t skipped;  /* not read: links, other owners, bad names */
	size_t errors;   /* could not be read (the reason on stderr) */
};

/* Called with each new file's folder and name before it is opened
 * (progress display; a unit test removes the file here). */
typedef void md_listed_fn(const char *folder, const char *name, void *arg);

struct md_opts {
	const char *spam;         /* the spam folder's name, ".Spam" */
	const char *trash;        /* trash folders, '/'-separated */
	uid_t owner;              /* only files of this owner are read */
	md_listed_fn *listed;     /* or NULL */
	void *arg;
	/* a file that cannot be read: its name and errno (or NULL) */
	void (*error)(const char *folder, const char *name, int err, void *arg);
};

/*
 * md_scan - scan the Maildir open as root (a directory descriptor)
 * against old (the previous run's state; baseline when there was none)
 * into out (the caller frees it with md_state_free; old is not
 * changed). ES_ENOTFOUND when the spam folder does not exist (the
 * Maildir's owner does not sort spam, so a message's folder says
 * nothing); ES_ELIMIT past MD_FOLDERS_MAX folders; ES_ENOMEM; ES_EPARSE
 * when root has no cur/ (not a Maildir). err names the cause.
 */
int md_scan(int root, const struct md_opts *o, const struct md_state *old,
    struct md_state *out, struct md_counts *cnt, char *err, size_t errlen);

/* md_kind_of - the kind of folder name ("" the inbox) under o. */
enum md_kind md_kind_of(const struct md_opts *o, const char *name);

/*
 * md_header_fields - the verdict (MD_V_*) and signature id ("" when
 * none or not a valid id) of the first X-DSPAM-Result and
 * X-DSPAM-Signature fields of the header in buf (len bytes; the header
 * ends at the first empty line). Unfolds continuation lines; pure.
 */
void md_header_fields(const char *buf, size_t len, char *verdict,
    char sig[CLS_SIG_ID_LEN + 1]);

/* md_stem_len - the length of name's stem (up to the first ':').
 * md_stem_cmp - two names compared by their stems. */
size_t md_stem_len(const char *name);
int md_stem_cmp(const char *a, const char *b);
/* md_name_ok - a file name (folder: a folder name, which may hold
 * spaces) of printable ASCII, 1 to MD_NAME_MAX bytes, without '/'. */
bool md_name_ok(const char *s, bool folder);

/*
 * md_state_read - the state file in root, owned by owner, into st (an
 * empty baseline state when there is none, or it is not the owner's, or
 * it does not parse: *why then says so, else ""). 0 or ES_ENOMEM.
 */
int md_state_read(int root, uid_t owner, struct md_state *st, char *why,
    size_t whylen);
/*
 * md_state_write - st into the state file: written to fd (MD_STATE_NEW,
 * opened and locked by the caller), then renamed over MD_STATE_NAME in
 * root. 0 or ES_EIO-like es_err codes with a reason.
 */
int md_state_write(int root, int fd, const struct md_state *st, char *err,
    size_t errlen);
/* md_state_free - release st's arrays; the struct may be reused. */
void md_state_free(struct md_state *st);

/* md_sig_get - the class sig was last corrected to (MD_V_*), or
 * MD_V_NONE. md_sig_set - record it (0 or ES_ENOMEM; keeps the order). */
char md_sig_get(const struct md_state *st, const char *sig);
int md_sig_set(struct md_state *st, const char *sig, char cls);

/* One correction or training md_plan() asks for. */
struct md_action {
	char sig[CLS_SIG_ID_LEN + 1]; /* "": train msg (an index) as spam */
	char cls;                     /* MD_V_SPAM or MD_V_INNOCENT */
	bool back;                    /* back to the verdict, undoing a
	                                 correction */
	size_t msg;                   /* a message with this signature */
};

/*
 * md_plan - what to do after a scan, into *acts (*nacts of them; the
 * caller frees with es_free). For each signature: the class its
 * folders ask for (only the spam folder: spam; any other folder but
 * trash, and not the spam folder: innocent; the spam folder and another
 * at once, as during an IMAP move: nothing this time; only trash:
 * nothing) against what it is now (its last correction, else its
 * verdict): a correction when they differ. Unsigned messages marked
 * MD_M_PENDING are trained as spam when train_unsigned. *conflicts
 * counts the signatures left alone for sitting in both. 0 or ES_ENOMEM.
 */
int md_plan(const struct md_state *st, bool train_unsigned,
    struct md_action **acts, size_t *nacts, size_t *conflicts);

#endif
