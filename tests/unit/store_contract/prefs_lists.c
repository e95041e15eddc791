/*
 * prefs_lists.c - store contract: preferences, domain policies and
 * sender lists.
 */
#include "store_contract.h"

/* ---- preferences and domains ---- */

struct plist {
	char got[256];
	size_t n;
	size_t stop_after;
};

static int
collect_pair(const char *k, const char *v, void *arg)
{
	struct plist *l = arg;

	strlcat(l->got, k, sizeof(l->got));
	strlcat(l->got, "=", sizeof(l->got));
	strlcat(l->got, v, sizeof(l->got));
	strlcat(l->got, ";", sizeof(l->got));
	l->n++;
	return l->stop_after != 0 && l->n >= l->stop_after;
}

void
test_preferences(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	struct plist l = {"", 0, 0};
	char v[65], small[4], v65[66];

	assert_int_equal(store_pref_set(st, uid, "trainingMode", "teft"), 0);
	assert_int_equal(store_pref_set(st, uid, "optIn", "on"), 0);
	assert_int_equal(store_pref_set(st, uid, "spamAction", "quarantine"),
	    0);
	assert_int_equal(store_pref_set(st, 0, "spamAction", "tag"), 0);
	assert_int_equal(store_pref_set(st, uid, "spamAction", "reject"), 0);
	assert_int_equal(store_pref_get(st, uid, "spamAction", v, sizeof(v)),
	    0);
	assert_string_equal(v, "reject");
	assert_int_equal(store_pref_get(st, 0, "spamAction", v, sizeof(v)), 0);
	assert_string_equal(v, "tag");
	assert_int_equal(store_prefs(st, uid, collect_pair, &l), 0);
	assert_string_equal(l.got,
	    "optIn=on;spamAction=reject;trainingMode=teft;");
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_prefs(st, uid, collect_pair, &l), 0);
	assert_string_equal(l.got, "optIn=on;");

	/* truncation: terminated, cut, and reported */
	assert_int_equal(store_pref_get(st, uid, "spamAction", small,
			     sizeof(small)),
	    ES_ELIMIT);
	assert_string_equal(small, "rej");
	assert_int_equal(store_pref_get(st, uid, "spamAction", small, 1),
	    ES_ELIMIT);
	assert_string_equal(small, "");
	assert_int_equal(store_pref_get(st, uid, "optIn", small, 3), 0);
	assert_string_equal(small, "on");
	assert_int_equal(store_pref_get(st, uid, "optIn", small, 0),
	    ES_EINVAL);

	/* unset */
	assert_int_equal(store_pref_set(st, uid, "optIn", NULL), 0);
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_pref_set(st, uid, "optIn", NULL), 0);
	assert_int_equal(store_pref_get(st, 0, "spamAction", v, sizeof(v)), 0);

	/* DSPAM's column sizes: key 32, value 64 */
	memset(v65, 'v', 65);
	v65[65] = '\0';
	assert_int_equal(store_pref_set(st, uid, "k", v65), ES_EINVAL);
	v65[64] = '\0';
	assert_int_equal(store_pref_set(st, uid, "k", v65), 0);
	assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)), 0);
	assert_string_equal(v, v65);
	assert_int_equal(store_pref_set(st, uid, "", "x"), ES_EINVAL);
	assert_int_equal(store_pref_set(st, uid, "k", ""), 0);
	assert_int_equal(store_pref_get(st, uid, "k", v, sizeof(v)), 0);
	assert_string_equal(v, "");
}

void
test_domains(void **state)
{
	struct store *st = sc_S(state);
	struct plist l = {"", 0, 0};
	char v[16], small[3];

	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_domain_set(st, "example.org", "opt-in"), 0);
	assert_int_equal(store_domain_set(st, "b.example", "off"), 0);
	assert_int_equal(store_domain_set(st, "z.example", "on"), 0);
	assert_int_equal(store_domain_set(st, "example.org", "opt-out"), 0);
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)), 0);
	assert_string_equal(v, "opt-out");
	assert_int_equal(store_domains(st, collect_pair, &l), 0);
	assert_string_equal(l.got,
	    "b.example=off;example.org=opt-out;z.example=on;");
	assert_int_equal(store_domain_get(st, "z.example", small,
			     sizeof(small)),
	    0);
	assert_int_equal(store_domain_get(st, "example.org", small,
			     sizeof(small)),
	    ES_ELIMIT);
	assert_string_equal(small, "op");
	assert_int_equal(store_domain_set(st, "b.example", NULL), 0);
	assert_int_equal(store_domain_get(st, "b.example", v, sizeof(v)),
	    ES_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_domains(st, collect_pair, &l), 0);
	assert_string_equal(l.got, "example.org=opt-out;z.example=on;");
	assert_int_equal(store_domain_set(st, "", "on"), ES_EINVAL);
}

/* ---- sender lists ---- */

/* sender_want - what store_sender_find() says about the n patterns. */
static void
sender_want(struct store *st, uint32_t uid, const char *const *pats,
    size_t n, const char *want)
{
	enum store_sender_list got[STORE_SENDER_FIND_MAX];
	char buf[STORE_SENDER_FIND_MAX + 1];
	size_t i;

	assert_int_equal(store_sender_find(st, uid, pats, n, got), 0);
	for (i = 0; i < n; i++)
		buf[i] = got[i] == STORE_SENDER_ALLOW ? 'a'
		    : got[i] == STORE_SENDER_BLOCK    ? 'b'
		                                      : '-';
	buf[n] = '\0';
	if (strcmp(buf, want) != 0)
		fail_msg("uid %u: got %s, want %s", uid, buf, want);
}

void
test_sender_lists(void **state)
{
	struct store *st = sc_S(state);
	uint32_t a = sc_user(st, "a"), b = sc_user(st, "b");
	const char *q[] = {"x@ex.org", "@ex.org", "*.ex.org", "*.org",
	    "x@ex.org", "@none.test"};
	const char *many[STORE_SENDER_FIND_MAX + 1];
	enum store_sender_list got[STORE_SENDER_FIND_MAX + 1];
	struct plist l = {"", 0, 0};
	time_t now = (time_t)TODAY * DAY;
	char p255[256], p256[257];

	sender_want(st, a, q, 6, "------");
	assert_int_equal(store_sender_set(st, a, "x@ex.org", STORE_SENDER_ALLOW,
	    now), 0);
	assert_int_equal(store_sender_set(st, a, "*.org", STORE_SENDER_BLOCK,
	    now), 0);
	assert_int_equal(store_sender_set(st, b, "x@ex.org", STORE_SENDER_BLOCK,
	    now), 0);
	sender_want(st, a, q, 6, "a--ba-");
	sender_want(st, b, q, 6, "b---b-"); /* users do not share lists */
	sender_want(st, 999, q, 6, "------");

	/* one list at a time: setting moves it */
	assert_int_equal(store_sender_set(st, a, "*.org", STORE_SENDER_ALLOW,
	    now + DAY), 0);
	sender_want(st, a, q, 6, "a--aa-");
	assert_int_equal(store_senders(st, a, collect_pair, &l), 0);
	assert_string_equal(l.got, "*.org=allow;x@ex.org=allow;");
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_senders(st, a, collect_pair, &l), 0);
	assert_string_equal(l.got, "*.org=allow;");

	/* removal names the list; another list's entry stays */
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_BLOCK), ES_ENOTFOUND);
	sender_want(st, a, q, 6, "a--aa-");
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_ALLOW), 0);
	assert_int_equal(store_sender_remove(st, a, "*.org",
	    STORE_SENDER_ALLOW), ES_ENOTFOUND);
	assert_int_equal(store_sender_remove(st, a, "nobody@x.test",
	    STORE_SENDER_BLOCK), ES_ENOTFOUND);
	sender_want(st, a, q, 6, "a---a-");
	sender_want(st, b, q, 6, "b---b-");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_senders(st, b, collect_pair, &l), 0);
	assert_string_equal(l.got, "x@ex.org=block;");

	/* a rolled back change is gone */
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_sender_set(st, a, "@ex.org", STORE_SENDER_BLOCK,
	    now), 0);
	assert_int_equal(store_sender_remove(st, a, "x@ex.org",
	    STORE_SENDER_ALLOW), 0);
	sender_want(st, a, q, 6, "-b----");
	store_rollback(st);
	sender_want(st, a, q, 6, "a---a-");

	/* the column's bound: 255 bytes */
	memset(p255, 'p', 255);
	p255[0] = '@';
	p255[255] = '\0';
	memset(p256, 'p', 256);
	p256[256] = '\0';
	assert_int_equal(store_sender_set(st, a, p255, STORE_SENDER_BLOCK,
	    now), 0);
	many[0] = p255;
	sender_want(st, a, many, 1, "b");
	assert_int_equal(store_sender_set(st, a, p256, STORE_SENDER_BLOCK,
	    now), ES_EINVAL);
	assert_int_equal(store_sender_set(st, a, "", STORE_SENDER_BLOCK, now),
	    ES_EINVAL);
	assert_int_equal(store_sender_set(st, a, "x@y.test", STORE_SENDER_NONE,
	    now), ES_EINVAL);
	assert_int_equal(store_sender_remove(st, a, "x@y.test",
	    STORE_SENDER_NONE), ES_EINVAL);

	/* a full lookup in one call; one more is refused */
	for (size_t i = 0; i <= STORE_SENDER_FIND_MAX; i++)
		many[i] = i % 2 ? "x@ex.org" : "@none.test";
	many[STORE_SENDER_FIND_MAX - 1] = p255;
	assert_int_equal(store_sender_find(st, a, many, STORE_SENDER_FIND_MAX,
	    got), 0);
	assert_int_equal(got[1], STORE_SENDER_ALLOW);
	assert_int_equal(got[2], STORE_SENDER_NONE);
	assert_int_equal(got[29], STORE_SENDER_ALLOW);
	assert_int_equal(got[STORE_SENDER_FIND_MAX - 1], STORE_SENDER_BLOCK);
	assert_int_equal(store_sender_find(st, a, many,
	    STORE_SENDER_FIND_MAX + 1, got), ES_EINVAL);
	many[0] = p256;
	assert_int_equal(store_sender_find(st, a, many, 1, got), ES_EINVAL);
	assert_int_equal(store_sender_find(st, a, many, 0, got), 0);
}
