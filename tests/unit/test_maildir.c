/*
 * test_maildir.c - the Maildir scanner of "edgespam maildir-retrain"
 * (cli/cli_maildir_scan.c, cli/cli_maildir_state.c): the X-DSPAM fields
 * of hostile headers, folder kinds, a file that vanishes between the
 * listing and its opening (removed from the listing callback, as an IMAP
 * server's rename would), the state file's round trip and its refusal of
 * damaged files, and the plan of corrections.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_maildir_scan.h"
#include "es_alloc.h"
#include "es_err.h"

#define SIG_A "0123456789abcdef0123456789abcdef"
#define SIG_B "fedcba9876543210fedcba9876543210"

static void
test_header_fields(void **state)
{
	static const struct {
		const char *name, *hdr;
		char verdict;
		const char *sig;
	} c[] = {
		{"plain", "From: a\nX-DSPAM-Result: Spam\nX-DSPAM-Signature: "
		    SIG_A "\n\nbody", MD_V_SPAM, SIG_A},
		{"crlf", "X-DSPAM-Result: Innocent\r\nX-DSPAM-Signature: " SIG_B
		    "\r\n\r\n", MD_V_INNOCENT, SIG_B},
		{"whitelisted", "x-dspam-result:Whitelisted\n\n", MD_V_INNOCENT,
		    ""},
		{"folded", "X-DSPAM-Signature:\n\t" SIG_A "\nX-DSPAM-Result:\n "
		    "Spam\n\n", MD_V_SPAM, SIG_A},
		{"first wins", "X-DSPAM-Result: Innocent\nX-DSPAM-Result: Spam\n\n",
		    MD_V_INNOCENT, ""},
		{"in the body only", "Subject: x\n\nX-DSPAM-Result: Spam\n"
		    "X-DSPAM-Signature: " SIG_A "\n", MD_V_NONE, ""},
		{"bad signature", "X-DSPAM-Signature: ../../etc/passwd\n\n",
		    MD_V_NONE, ""},
		{"upper-case hex", "X-DSPAM-Signature: 0123456789ABCDEF\n\n",
		    MD_V_NONE, ""},
		{"too long", "X-DSPAM-Signature: " SIG_A SIG_A "\n\n", MD_V_NONE,
		    ""},
		{"unknown verdict", "X-DSPAM-Result: Spammy\n\n", MD_V_NONE, ""},
		{"name prefix", "X-DSPAM-Results: Spam\n\n", MD_V_NONE, ""},
		{"options after", "X-DSPAM-Result: Spam; x=1\n\n", MD_V_SPAM, ""},
		{"no end", "X-DSPAM-Result: Spam", MD_V_SPAM, ""},
		{"empty", "", MD_V_NONE, ""},
	};
	char v, sig[CLS_SIG_ID_LEN + 1];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		md_header_fields(c[k].hdr, strlen(c[k].hdr), &v, sig);
		if (v != c[k].verdict || strcmp(sig, c[k].sig) != 0)
			fail_msg("case %s: got %c '%s', want %c '%s'", c[k].name,
			    v, sig, c[k].verdict, c[k].sig);
	}
}

static void
test_kinds(void **state)
{
	struct md_opts o = {.spam = ".Spam", .trash = ".Trash/.Deleted Items"};
	static const struct {
		const char *name;
		enum md_kind want;
	} c[] = {
		{"", MD_KIND_OTHER},
		{".Spam", MD_KIND_SPAM},
		{".Spam.Old", MD_KIND_SPAM},
		{".Spammy", MD_KIND_OTHER},
		{".Trash", MD_KIND_TRASH},
		{".Deleted Items", MD_KIND_TRASH},
		{".Deleted", MD_KIND_OTHER},
		{".Work.Spam", MD_KIND_OTHER},
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		if (md_kind_of(&o, c[k].name) != c[k].want)
			fail_msg("case '%s': got %d, want %d", c[k].name,
			    md_kind_of(&o, c[k].name), c[k].want);
}

/* a Maildir under a temporary directory */
struct tree {
	char dir[64];
	int root;
};

static void
put(struct tree *t, const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", t->dir, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
mk(struct tree *t, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", t->dir, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
tree_new(struct tree *t)
{
	strcpy(t->dir, "/tmp/es-test-maildir.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	mk(t, "cur");
	mk(t, "new");
	mk(t, ".Spam");
	mk(t, ".Spam/cur");
	mk(t, ".Spam/new");
	t->root = open(t->dir, O_RDONLY | O_DIRECTORY);
	assert_true(t->root >= 0);
}

static void
tree_free(struct tree *t)
{
	char cmd[128];

	close(t->root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* the listing callback: removes the file named in arg */
struct vanish {
	struct tree *t;
	const char *victim;
	int calls;
};

static void
vanish_cb(const char *folder, const char *name, void *arg)
{
	struct vanish *v = arg;
	char p[256];

	v->calls++;
	if (strcmp(name, v->victim) != 0)
		return;
	snprintf(p, sizeof(p), "%s/%s%snew/%s", v->t->dir, folder,
	    folder[0] ? "/" : "", name);
	assert_int_equal(unlink(p), 0);
}

static const struct md_msg *
find(const struct md_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nmsgs; i++)
		if (strcmp(st->msgs[i].name, name) == 0)
			return &st->msgs[i];
	return NULL;
}

static void
test_vanish(void **state)
{
	struct tree t;
	struct vanish v = {&t, "2.M1P1.host", 0};
	struct md_opts o = {.spam = ".Spam", .trash = ".Trash",
	    .owner = getuid(), .listed = vanish_cb, .arg = &v};
	struct md_state old = {.baseline = true}, st;
	struct md_counts cnt;
	char err[256];

	(void)state;
	tree_new(&t);
	put(&t, "new/1.M1P1.host", "X-DSPAM-Result: Innocent\n"
	    "X-DSPAM-Signature: " SIG_A "\n\nhi\n");
	put(&t, "new/2.M1P1.host", "X-DSPAM-Result: Spam\n"
	    "X-DSPAM-Signature: " SIG_B "\n\nhi\n");
	put(&t, ".Spam/new/3.M1P1.host", "X-DSPAM-Result: Spam\n\nhi\n");
	assert_int_equal(md_scan(t.root, &o, &old, &st, &cnt, err,
	    sizeof(err)), 0);
	if (cnt.vanished != 1 || cnt.read != 2 || cnt.scanned != 2 ||
	    cnt.errors != 0 || v.calls != 3)
		fail_msg("got vanished %zu read %zu scanned %zu errors %zu "
		    "calls %d, want 1 2 2 0 3", cnt.vanished, cnt.read,
		    cnt.scanned, cnt.errors, v.calls);
	assert_null(find(&st, "2.M1P1.host"));
	assert_non_null(find(&st, "1.M1P1.host"));
	assert_string_equal(find(&st, "1.M1P1.host")->sig, SIG_A);
	md_state_free(&st);
	tree_free(&t);
}

/* a second scan against the written state reads nothing; a changed
 * folder is listed again and only its new names are read */
static void
test_state_round_trip(void **state)
{
	struct tree t;
	struct md_opts o = {.spam = ".Spam", .trash = ".Trash",
	    .owner = getuid()};
	struct md_state old = {.baseline = true}, st, back, st2;
	struct md_counts cnt;
	char err[256];
	int fd;

	(void)state;
	tree_new(&t);
	put(&t, "cur/1.M1P1.host:2,S", "X-DSPAM-Result: Innocent\n"
	    "X-DSPAM-Signature: " SIG_A "\n\n");
	put(&t, ".Spam/cur/2.M1P1.host:2,", "Subject: no signature\n\n");
	assert_int_equal(md_scan(t.root, &o, &old, &st, &cnt, err,
	    sizeof(err)), 0);
	assert_int_equal(md_sig_set(&st, SIG_A, MD_V_SPAM), 0);
	fd = openat(t.root, MD_STATE_NEW, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(md_state_write(t.root, fd, &st, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(md_state_read(t.root, getuid(), &back, err,
	    sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_false(back.baseline);
	assert_int_equal(back.nmsgs, 2);
	assert_int_equal(md_sig_get(&back, SIG_A), MD_V_SPAM);
	assert_int_equal(md_scan(t.root, &o, &back, &st2, &cnt, err,
	    sizeof(err)), 0);
	assert_int_equal(cnt.read, 0);
	assert_int_equal(cnt.scanned, 2);
	md_state_free(&st2);
	/* a flag change renames: listed again, nothing read; a new file is */
	assert_int_equal(renameat(t.root, "cur/1.M1P1.host:2,S", t.root,
	    "cur/1.M1P1.host:2,RS"), 0);
	put(&t, "new/3.M1P1.host", "X-DSPAM-Result: Innocent\n\n");
	/* the directory's time may not have moved within its granularity */
	{
		struct timespec ts[2] = {{0, UTIME_OMIT}, {1, 0}};

		assert_int_equal(utimensat(t.root, "cur", ts, 0), 0);
		assert_int_equal(utimensat(t.root, "new", ts, 0), 0);
	}
	assert_int_equal(md_scan(t.root, &o, &back, &st2, &cnt, err,
	    sizeof(err)), 0);
	assert_int_equal(cnt.read, 1);
	assert_int_equal(cnt.scanned, 3);
	assert_string_equal(find(&st2, "1.M1P1.host:2,RS")->sig, SIG_A);
	md_state_free(&st2);
	md_state_free(&back);
	md_state_free(&st);
	tree_free(&t);
}

static void
test_state_damaged(void **state)
{
	static const char *const bad[] = {
	    "",
	    "edgespam-maildir-retrain 2\nend 0\n",
	    "edgespam-maildir-retrain 1\n",                   /* no end */
	    "edgespam-maildir-retrain 1\nend 1\n",            /* wrong count */
	    "edgespam-maildir-retrain 1\nm 0 c I - - x\nend 1\n", /* folder */
	    "edgespam-maildir-retrain 1\nf 0 0 0 0 -\nm 0 c Q - - x\nend 1\n",
	    "edgespam-maildir-retrain 1\nf 0 0 0 0 -\nm 0 c I - 12 x\nend 1\n",
	    "edgespam-maildir-retrain 1\nf 0 0 0 0 -\nm 0 c I - - b\n"
	    "m 0 c I - - a\nend 2\n",                         /* order */
	    "edgespam-maildir-retrain 1\nf 0 0 0 0 ../x\nend 0\n",
	    "edgespam-maildir-retrain 1\ns " SIG_A " Z\nend 0\n",
	    "edgespam-maildir-retrain 1\nend 0\nf 0 0 0 0 -\n",
	    "edgespam-maildir-retrain 1\nend 0", /* a cut line */
	};
	struct tree t;
	struct md_state st;
	char err[256];
	size_t k;

	(void)state;
	tree_new(&t);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		put(&t, MD_STATE_NAME, bad[k]);
		assert_int_equal(md_state_read(t.root, getuid(), &st, err,
		    sizeof(err)), 0);
		if (!st.baseline || st.nmsgs != 0 || err[0] == '\0')
			fail_msg("case %zu: taken (baseline %d, %zu messages)",
			    k, st.baseline, st.nmsgs);
		md_state_free(&st);
	}
	put(&t, MD_STATE_NAME, "edgespam-maildir-retrain 1\nf 0 0 0 0 -\n"
	    "f 1 2 3 4 .Deleted Items\nm 1 n S T " SIG_B " a:2,S\n"
	    "s " SIG_B " I\nend 1\n");
	assert_int_equal(md_state_read(t.root, getuid(), &st, err,
	    sizeof(err)), 0);
	assert_false(st.baseline);
	assert_string_equal(st.folders[1].name, ".Deleted Items");
	assert_int_equal(st.msgs[0].mark, MD_M_TRAINED);
	md_state_free(&st);
	tree_free(&t);
}

/* md_plan over a hand-made state */
static void
test_plan(void **state)
{
	struct md_folder f[3] = {
	    {.name = "", .kind = MD_KIND_OTHER},
	    {.name = ".Spam", .kind = MD_KIND_SPAM},
	    {.name = ".Trash", .kind = MD_KIND_TRASH},
	};
	static const struct {
		const char *name;
		unsigned folder[2]; /* a second copy when folder[1] < 3 */
		char verdict, last, mark;
		bool sig;
		int want;  /* the action's class, 0 for none */
		bool back;
		size_t conflicts;
	} c[] = {
		{"ham in inbox", {0, 9}, 'I', '-', '-', true, 0, false, 0},
		{"ham into spam", {1, 9}, 'I', '-', '-', true, 'S', false, 0},
		{"spam into inbox", {0, 9}, 'S', '-', '-', true, 'I', false, 0},
		{"spam into trash", {2, 9}, 'S', '-', '-', true, 0, false, 0},
		{"ham into trash", {2, 9}, 'I', '-', '-', true, 0, false, 0},
		{"corrected, still", {1, 9}, 'I', 'S', '-', true, 0, false, 0},
		{"corrected, back", {0, 9}, 'I', 'S', '-', true, 'I', true, 0},
		{"back and out again", {1, 9}, 'I', 'I', '-', true, 'S', false,
		    0},
		{"copy in both", {0, 1}, 'I', '-', '-', true, 0, false, 1},
		{"copy in spam and trash", {1, 2}, 'I', '-', '-', true, 'S',
		    false, 0},
		{"no verdict", {1, 9}, '-', '-', '-', true, 0, false, 0},
		{"unsigned pending", {1, 9}, '-', '-', 'P', false, 'S', false,
		    0},
		{"unsigned trained", {1, 9}, '-', '-', 'T', false, 0, false, 0},
		{"unsigned ignored", {1, 9}, 'I', '-', 'X', true, 0, false, 0},
	};
	struct md_msg m[2];
	struct md_sigstate ss;
	struct md_state st;
	struct md_action *a;
	size_t k, n, conflicts;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		memset(&st, 0, sizeof(st));
		memset(m, 0, sizeof(m));
		st.folders = f;
		st.nfolders = 3;
		st.msgs = m;
		st.nmsgs = c[k].folder[1] < 3 ? 2 : 1;
		for (n = 0; n < st.nmsgs; n++) {
			m[n].name = (char *)"x";
			m[n].folder = c[k].folder[n];
			m[n].verdict = c[k].verdict;
			m[n].mark = c[k].mark;
			if (c[k].sig)
				strcpy(m[n].sig, SIG_A);
		}
		if (c[k].last != '-') {
			strcpy(ss.sig, SIG_A);
			ss.cls = c[k].last;
			st.sigs = &ss;
			st.nsigs = 1;
		}
		assert_int_equal(md_plan(&st, true, &a, &n, &conflicts), 0);
		if ((c[k].want == 0) != (n == 0) || n > 1 ||
		    (n == 1 && (a[0].cls != c[k].want ||
			a[0].back != c[k].back)) ||
		    conflicts != c[k].conflicts)
			fail_msg("case %s: got %zu actions (%c back %d), %zu "
			    "conflicts; want %c back %d, %zu", c[k].name, n,
			    n ? a[0].cls : '-', n ? a[0].back : 0, conflicts,
			    c[k].want ? c[k].want : '-', c[k].back,
			    c[k].conflicts);
		es_free(a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_fields),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_vanish),
	    cmocka_unit_test(test_state_round_trip),
	    cmocka_unit_test(test_state_damaged),
	    cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
