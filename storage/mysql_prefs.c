/*
 * mysql_prefs.c - the "mysql" driver's small tables: users
 * (dspam_virtual_uids), preferences, domain policies and sender lists,
 * one statement per operation.
 */
#include "mysql_int.h"

#include <string.h>

#include <mysql.h>

#include "es_err.h"

/* ---- users ---- */

struct my_uid {
	MYSQL_BIND in;
	uint32_t uid;
	bool found;
};

static int
step_user_sel(struct store *st, void *ctx)
{
	struct my_uid *c = ctx;
	MYSQL_STMT *q;
	MYSQL_BIND out;
	int rc;

	c->found = false;
	if ((rc = my_fixed(st, M_USER_SEL, &q)) != 0 ||
	    (rc = my_run(st, q, &c->in, "user lookup")) != 0)
		return rc;
	b_u32(&out, &c->uid);
	if (mysql_stmt_bind_result(q, &out) != 0)
		rc = my_fail_stmt(st, q, "user lookup");
	else if ((rc = my_fetch(st, q, "user lookup")) == 1)
		c->found = true;
	mysql_stmt_free_result(q);
	return rc < 0 ? rc : 0;
}

/* Look first: INSERT IGNORE of an existing name would use up an
 * AUTO_INCREMENT value on every message. */
int
my_user_uid(struct store *st, const char *name, bool create, uint32_t *uid)
{
	struct my_uid c;
	int rc;

	b_str(&c.in, name);
	if ((rc = my_with_retry(st, step_user_sel, &c)) != 0)
		return rc;
	if (!c.found && create &&
	    ((rc = my_simple(st, M_USER_INS, &c.in, "user create")) != 0 ||
		(rc = my_with_retry(st, step_user_sel, &c)) != 0))
		return rc;
	if (!c.found) {
		store_seterr(st, "no user \"%.128s\"", name);
		return ES_ENOTFOUND;
	}
	*uid = c.uid;
	return 0;
}

int
my_users(struct store *st, store_user_fn *fn, void *arg)
{
	struct my_list c = {M_USERS, NULL, true, NULL, fn, arg};

	return my_with_retry(st, my_step_list, &c);
}

/* ---- preferences and domains ---- */

int
my_pref_get(struct store *st, uint32_t uid, const char *key, char **val)
{
	MYSQL_BIND in[2];

	b_u32(&in[0], &uid);
	b_str(&in[1], key);
	return my_one(st, M_PREF_GET, in, key, val, NULL);
}

int
my_pref_set(struct store *st, uint32_t uid, const char *key,
    const char *val)
{
	MYSQL_BIND in[3];

	b_u32(&in[0], &uid);
	b_str(&in[1], key);
	if (val == NULL)
		return my_simple(st, M_PREF_DEL, in, "preference write");
	b_str(&in[2], val);
	return my_simple(st, M_PREF_SET, in, "preference write");
}

int
my_prefs(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	MYSQL_BIND in;
	struct my_list c = {M_PREFS, &in, false, fn, NULL, arg};

	b_u32(&in, &uid);
	return my_with_retry(st, my_step_list, &c);
}

int
my_domain_get(struct store *st, const char *domain, char **policy)
{
	MYSQL_BIND in;

	b_str(&in, domain);
	return my_one(st, M_DOM_GET, &in, domain, policy, NULL);
}

int
my_domain_set(struct store *st, const char *domain, const char *policy)
{
	MYSQL_BIND in[2];

	b_str(&in[0], domain);
	if (policy == NULL)
		return my_simple(st, M_DOM_DEL, in, "domain policy write");
	b_str(&in[1], policy);
	return my_simple(st, M_DOM_SET, in, "domain policy write");
}

int
my_domains(struct store *st, store_pair_fn *fn, void *arg)
{
	struct my_list c = {M_DOMS, NULL, false, fn, NULL, arg};

	return my_with_retry(st, my_step_list, &c);
}

/* ---- sender lists ---- */

int
my_sender_set(struct store *st, uint32_t uid, const char *pattern,
    const char *list, int32_t day)
{
	MYSQL_BIND in[4];
	char date[11];

	store_day_iso(day, date);
	b_u32(&in[0], &uid);
	b_str(&in[1], pattern);
	b_str(&in[2], list);
	b_str(&in[3], date);
	return my_simple(st, M_SND_SET, in, "sender list write");
}

int
my_sender_remove(struct store *st, uint32_t uid, const char *pattern,
    const char *list, bool *removed)
{
	MYSQL_BIND in[3];
	int rc;

	b_u32(&in[0], &uid);
	b_str(&in[1], pattern);
	b_str(&in[2], list);
	if ((rc = my_simple(st, M_SND_DEL, in, "sender list write")) == 0)
		*removed =
		    mysql_stmt_affected_rows(drv(st)->stmt[M_SND_DEL]) > 0;
	return rc;
}

/* What sender_find's rows are matched against. */
struct my_find {
	const char *const *patterns;
	size_t n;
	enum store_sender_list *lists;
};

/* find_row - one row of the lookup: every request of that pattern. */
static int
find_row(const char *pattern, const char *kind, void *arg)
{
	struct my_find *f = arg;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->patterns[i], pattern) == 0)
			f->lists[i] = store_sender_list_of(kind);
	return 0;
}

int
my_sender_find(struct store *st, uint32_t uid, const char *const *patterns,
    size_t n, enum store_sender_list *lists)
{
	MYSQL_BIND in[1 + STORE_SENDER_FIND_MAX];
	struct my_find f = {patterns, n, lists};
	struct my_list c = {M_SND_FIND, in, false, find_row, NULL, &f};

	b_u32(&in[0], &uid);
	for (size_t i = 0; i < STORE_SENDER_FIND_MAX; i++) {
		if (i < n) {
			b_str(&in[i + 1], patterns[i]);
		} else {
			memset(&in[i + 1], 0, sizeof(in[0]));
			in[i + 1].buffer_type = MYSQL_TYPE_NULL;
		}
	}
	return my_with_retry(st, my_step_list, &c);
}

int
my_senders(struct store *st, uint32_t uid, store_pair_fn *fn, void *arg)
{
	MYSQL_BIND in;
	struct my_list c = {M_SNDS, &in, false, fn, NULL, arg};

	b_u32(&in, &uid);
	return my_with_retry(st, my_step_list, &c);
}
