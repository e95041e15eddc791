/*
 * tx_sigs.c - store contract: transactions (rollback, commit) and
 * signatures.
 */
#include "store_contract.h"

/* ---- transactions ---- */

/* tx_changes - one message's worth of changes on every table. */
static void
tx_changes(struct store *st, uint32_t uid)
{
	struct store_delta d[2] = {{10, 1, 0, 0.5}, {20, 0, 1, 0}};
	struct store_totals t = {.spam_learned = 1, .innocent_learned = -1};
	uint32_t x;

	assert_int_equal(store_tokens_put(st, uid, d, 2, (time_t)TODAY * DAY),
	    0);
	assert_int_equal(store_totals_add(st, uid, &t), 0);
	assert_int_equal(store_sig_put(st, uid, "new", "n", 1, TODAY * DAY),
	    0);
	assert_int_equal(store_sig_put(st, uid, "old", "replaced", 8,
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_delete(st, uid, "gone"), 0);
	assert_int_equal(store_pref_set(st, uid, "optIn", "on"), 0);
	assert_int_equal(store_domain_set(st, "example.org", "on"), 0);
	assert_int_equal(store_user_uid(st, "newuser", true, &x), 0);
}

/* tx_base - the state before tx_changes. */
static uint32_t
tx_base(struct store *st)
{
	uint32_t uid = sc_user(st, "u");
	struct store_totals t = {.innocent_learned = 5};

	sc_put1(st, uid, 10, 3, 3, 1.0, (time_t)(TODAY - 5) * DAY);
	assert_int_equal(store_totals_add(st, uid, &t), 0);
	assert_int_equal(store_sig_put(st, uid, "old", "old", 3,
			     (TODAY - 5) * DAY),
	    0);
	assert_int_equal(store_sig_put(st, uid, "gone", "g", 1,
			     (TODAY - 5) * DAY),
	    0);
	return uid;
}

void
sc_sig_is(struct store *st, uint32_t uid, const char *id, const char *want)
{
	void *data = NULL;
	size_t len = 0;
	int rc = store_sig_get(st, uid, id, &data, &len);

	if (want == NULL) {
		if (rc != ES_ENOTFOUND)
			fail_msg("case sig %s: got %d, want ENOTFOUND", id, rc);
		return;
	}
	if (rc != 0 || len != strlen(want) || memcmp(data, want, len) != 0)
		fail_msg("case sig %s: got rc %d len %zu, want \"%s\"", id, rc,
		    len, want);
	es_free(data);
}

void
test_rollback(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = tx_base(st), x;
	struct store_totals t;
	struct store_token tok;
	char v[16];

	assert_int_equal(store_begin(st, true), 0);
	tx_changes(st, uid);
	sc_want_tok("inside", sc_get1(st, uid, 10), 4, 3, TODAY);
	store_rollback(st);

	tok = sc_get1(st, uid, 10);
	sc_want_tok("modified row restored", tok, 3, 3, TODAY - 5);
	assert_true(tok.weight == 1.0);
	sc_want_tok("new row gone", sc_get1(st, uid, 20), 0, 0, 0);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 0);
	assert_int_equal(t.innocent_learned, 5);
	sc_sig_is(st, uid, "new", NULL);
	sc_sig_is(st, uid, "old", "old");
	sc_sig_is(st, uid, "gone", "g");
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)),
	    ES_ENOTFOUND);
	assert_int_equal(store_user_uid(st, "newuser", false, &x),
	    ES_ENOTFOUND);
	/* rollback of no transaction does nothing; the store still works */
	store_rollback(st);
	sc_put1(st, uid, 10, 1, 0, 0, (time_t)TODAY * DAY);
	sc_want_tok("after rollback", sc_get1(st, uid, 10), 4, 3, TODAY);
}

void
test_commit(void **state)
{
	struct store *st = sc_S(state);
	uint32_t uid = tx_base(st), x;
	struct store_totals t;
	char v[16];

	assert_int_equal(store_commit(st), ES_EINVAL);
	assert_int_equal(store_begin(st, true), 0);
	assert_int_equal(store_begin(st, true), ES_EINVAL);
	tx_changes(st, uid);
	assert_int_equal(store_commit(st), 0);
	store_rollback(st); /* nothing open: must not undo the commit */

	sc_want_tok("modified", sc_get1(st, uid, 10), 4, 3, TODAY);
	sc_want_tok("new", sc_get1(st, uid, 20), 0, 1, TODAY);
	assert_int_equal(store_totals_get(st, uid, &t), 0);
	assert_int_equal(t.spam_learned, 1);
	assert_int_equal(t.innocent_learned, 4);
	sc_sig_is(st, uid, "new", "n");
	sc_sig_is(st, uid, "old", "replaced");
	sc_sig_is(st, uid, "gone", NULL);
	assert_int_equal(store_pref_get(st, uid, "optIn", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(store_domain_get(st, "example.org", v, sizeof(v)), 0);
	assert_string_equal(v, "on");
	assert_int_equal(store_user_uid(st, "newuser", false, &x), 0);

	/* a read transaction sees the data and may write too */
	assert_int_equal(store_begin(st, false), 0);
	sc_want_tok("read tx", sc_get1(st, uid, 20), 0, 1, TODAY);
	sc_put1(st, uid, 20, 1, 0, 0, (time_t)TODAY * DAY);
	assert_int_equal(store_commit(st), 0);
	sc_want_tok("read tx write", sc_get1(st, uid, 20), 1, 1, TODAY);
}

/* ---- signatures ---- */

void
test_signatures(void **state)
{
	static const unsigned char bin[] = {0, 1, 2, 0, 0xff, 0x80, 0};
	struct store *st = sc_S(state);
	uint32_t uid = sc_user(st, "u");
	unsigned char big[4096];
	void *data = NULL;
	size_t len = 0;
	char id33[34];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 31 + 7);
	assert_int_equal(store_sig_put(st, uid, "s1", bin, sizeof(bin),
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(data, bin, sizeof(bin));
	es_free(data);
	/* replace with longer data */
	assert_int_equal(store_sig_put(st, uid, "s1", big, sizeof(big),
			     TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len), 0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(data, big, sizeof(big));
	es_free(data);
	/* empty data is a signature too */
	assert_int_equal(store_sig_put(st, uid, "empty", NULL, 0, TODAY * DAY),
	    0);
	assert_int_equal(store_sig_get(st, uid, "empty", &data, &len), 0);
	assert_int_equal(len, 0);
	es_free(data);
	/* delete, missing, bad ids */
	assert_int_equal(store_sig_delete(st, uid, "s1"), 0);
	assert_int_equal(store_sig_get(st, uid, "s1", &data, &len),
	    ES_ENOTFOUND);
	assert_null(data);
	assert_int_equal(store_sig_delete(st, uid, "s1"), 0);
	assert_int_equal(store_sig_get(st, uid, "never", &data, &len),
	    ES_ENOTFOUND);
	memset(id33, 'a', 33);
	id33[33] = '\0';
	assert_int_equal(store_sig_put(st, uid, id33, "x", 1, TODAY * DAY),
	    ES_EINVAL);
	id33[32] = '\0'; /* 32 characters are fine */
	assert_int_equal(store_sig_put(st, uid, id33, "x", 1, TODAY * DAY),
	    0);
	sc_sig_is(st, uid, id33, "x");
	assert_int_equal(store_sig_put(st, uid, "", "x", 1, TODAY * DAY),
	    ES_EINVAL);
	assert_int_equal(store_sig_put(st, uid, "'; DROP TABLE x; --", "x", 1,
			     TODAY * DAY),
	    0);
	sc_sig_is(st, uid, "'; DROP TABLE x; --", "x");
}
