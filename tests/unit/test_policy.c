/*
 * test_policy.c - the per-recipient decisions: who is filtered and why
 * not (classifier/cls_policy.c, shared by the milter and the CLI),
 * retrain aliases and their owners (milter/policy.c), trusted networks
 * (parsed by conf/conf_check.c, matched by milter/policy.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "cls_policy.h"
#include "es_err.h"
#include "policy.h"

/* Who is filtered, and the reason given when not: the decision and the
 * words the milter logs and "edgespam user U show" prints. */
static void
test_filtered(void **state)
{
	static const struct {
		enum cls_policy p;
		const char *dom, *in, *out;
		bool want;
		const char *why; /* when not filtered */
	} c[] = {
		{CLS_POLICY_OFF, NULL, NULL, NULL, false, "default_policy off"},
		/* the site's switch: a preference does not count */
		{CLS_POLICY_OFF, "example.org", "on", NULL, false,
		    "domain example.org is off"},
		{CLS_POLICY_ON, NULL, NULL, NULL, true, NULL},
		{CLS_POLICY_ON, NULL, NULL, "on", true, NULL},
		{CLS_POLICY_OPT_IN, NULL, NULL, NULL, false,
		    "default_policy opt-in, user preference optIn not set"},
		{CLS_POLICY_OPT_IN, "example.org", "", "", false,
		    "domain example.org is opt-in, user preference optIn not "
		    "set"},
		{CLS_POLICY_OPT_IN, NULL, "on", NULL, true, NULL},
		{CLS_POLICY_OPT_IN, NULL, "yes", NULL, true, NULL},
		{CLS_POLICY_OPT_IN, NULL, "TRUE", "", true, NULL},
		{CLS_POLICY_OPT_IN, "example.org", "off", NULL, false,
		    "domain example.org is opt-in, user preference optIn off"},
		/* optOut wins */
		{CLS_POLICY_OPT_IN, "example.org", "on", "on", false,
		    "domain example.org is opt-in, user preference optOut on"},
		{CLS_POLICY_OPT_OUT, NULL, NULL, NULL, true, NULL},
		{CLS_POLICY_OPT_OUT, NULL, NULL, "on", false,
		    "default_policy opt-out, user preference optOut on"},
		{CLS_POLICY_OPT_OUT, "example.net", NULL, "1", false,
		    "domain example.net is opt-out, user preference optOut 1"},
		{CLS_POLICY_OPT_OUT, NULL, NULL, "off", true, NULL},
		{CLS_POLICY_OPT_OUT, NULL, "on", NULL, true, NULL},
	};
	char why[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		bool got = cls_policy_filtered(c[i].p, c[i].in, c[i].out);

		if (got != c[i].want)
			fail_msg("case %zu: got filtered %d, want %d", i, got,
			    c[i].want);
		if (got)
			continue;
		cls_policy_why_not(c[i].p, c[i].dom, c[i].in, c[i].out, why,
		    sizeof(why));
		if (strcmp(why, c[i].why) != 0)
			fail_msg("case %zu: got why '%s', want '%s'", i, why,
			    c[i].why);
	}
	/* a reason that does not fit is cut, never overrun */
	cls_policy_why_not(CLS_POLICY_OPT_IN, "example.org", NULL, NULL, why,
	    10);
	assert_string_equal(why, "domain ex");
}

/* A domain's stored policy, or default_policy when it has none or an
 * unknown one. */
static void
test_of_domain(void **state)
{
	static const struct {
		const char *text;
		int rc;
		enum cls_policy want;
	} c[] = {
		{NULL, ES_ENOTFOUND, CLS_POLICY_OPT_OUT},
		{"off", 0, CLS_POLICY_OFF},
		{"on", 0, CLS_POLICY_ON},
		{"opt-in", 0, CLS_POLICY_OPT_IN},
		{"optin", ES_EINVAL, CLS_POLICY_OPT_OUT},
		{"", ES_EINVAL, CLS_POLICY_OPT_OUT},
	};
	enum cls_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc = cls_policy_of_domain(CLS_POLICY_OPT_OUT, c[i].text,
		    &p);

		if (rc != c[i].rc || p != c[i].want)
			fail_msg("case %s: got %d, %s, want %d, %s",
			    c[i].text ? c[i].text : "(none)", rc,
			    cls_policy_name(p), c[i].rc,
			    cls_policy_name(c[i].want));
	}
}

static void
test_domain_names(void **state)
{
	static const char *const names[] = {"off", "opt-in", "opt-out", "on"};
	enum cls_policy p;
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(cls_policy_parse(names[i], &p), 0);
		assert_string_equal(cls_policy_name(p), names[i]);
	}
	assert_int_equal(cls_policy_parse("optin", &p), ES_EINVAL);
	assert_int_equal(cls_policy_parse("", &p), ES_EINVAL);
	assert_int_equal(cls_policy_parse("ON", &p), ES_EINVAL);
}

static void
test_alias_owner(void **state)
{
	static const char *const pats[] = {"*-spam@*", "*-fp@*",
	    "spam-*@example.net"};
	static const struct {
		const char *addr, *owner; /* owner NULL: not an alias */
	} c[] = {
		{"bob-spam@example.org", "bob@example.org"},
		{"bob-fp@example.org", "bob@example.org"},
		{"a-b-spam@example.org", "a-b@example.org"},
		{"spam-carol@example.net", "carol@example.net"},
		{"bob@example.org", NULL},
		{"bob-spammer@example.org", NULL},
		{"bob-spam", NULL},           /* no domain: not an address */
		{"-spam@example.org", "-spam@example.org"}, /* nothing left */
	};
	char owner[256];
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		bool is = cls_policy_alias_owner(pats, 3, c[i].addr, owner,
		    sizeof(owner));

		print_message("%s\n", c[i].addr);
		if (c[i].owner == NULL) {
			assert_false(is);
			continue;
		}
		assert_true(is);
		assert_string_equal(owner, c[i].owner);
	}
	/* an owner that does not fit is no match, never a cut name */
	assert_false(cls_policy_alias_owner(pats, 3, "bob-spam@example.org",
	    owner, 8));
}

static void
v4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &in->sin_addr), 1);
}

static void
v6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &in->sin6_addr), 1);
}

static void
test_networks(void **state)
{
	struct conf_net n[4];
	struct sockaddr_storage ss;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	assert_int_equal(conf_net_parse("127.0.0.0/8", &n[0]), 0);
	assert_int_equal(conf_net_parse("192.0.2.128/25", &n[1]), 0);
	assert_int_equal(conf_net_parse("2001:db8::/32", &n[2]), 0);
	assert_int_equal(conf_net_parse("::1", &n[3]), 0);
	assert_int_equal(n[3].bits, 128);

	v4(&ss, "127.1.2.3");
	assert_true(pol_net_match(n, 4, sa));
	v4(&ss, "192.0.2.200");
	assert_true(pol_net_match(n, 4, sa));
	v4(&ss, "192.0.2.127"); /* just outside the /25 */
	assert_false(pol_net_match(n, 4, sa));
	v4(&ss, "10.0.0.1");
	assert_false(pol_net_match(n, 4, sa));
	v6(&ss, "2001:db8:ffff::1");
	assert_true(pol_net_match(n, 4, sa));
	v6(&ss, "2001:db9::1");
	assert_false(pol_net_match(n, 4, sa));
	v6(&ss, "::1");
	assert_true(pol_net_match(n, 4, sa));
	v6(&ss, "::ffff:127.0.0.1"); /* IPv4-mapped counts as IPv4 */
	assert_true(pol_net_match(n, 4, sa));
	v6(&ss, "::ffff:10.0.0.1");
	assert_false(pol_net_match(n, 4, sa));
	assert_false(pol_net_match(n, 4, NULL));
	assert_false(pol_net_match(n, 0, sa));

	assert_int_equal(conf_net_parse("127.0.0.0/33", &n[0]), ES_EINVAL);
	assert_int_equal(conf_net_parse("127.0.0.0/", &n[0]), ES_EINVAL);
	assert_int_equal(conf_net_parse("127.0.0.0/-1", &n[0]), ES_EINVAL);
	assert_int_equal(conf_net_parse("::1/129", &n[0]), ES_EINVAL);
	assert_int_equal(conf_net_parse("example.org", &n[0]), ES_EINVAL);
	assert_int_equal(conf_net_parse("", &n[0]), ES_EINVAL);
	/* /0 matches everything of its family */
	assert_int_equal(conf_net_parse("0.0.0.0/0", &n[0]), 0);
	v4(&ss, "203.0.113.9");
	assert_true(pol_net_match(n, 1, sa));
	v6(&ss, "2001:db8::1");
	assert_false(pol_net_match(n, 1, sa));
}

static void
test_auth_owns(void **state)
{
	assert_true(pol_auth_owns("bob@example.org", "bob@example.org"));
	assert_true(pol_auth_owns("BOB@Example.org", "bob@example.org"));
	assert_true(pol_auth_owns("bob", "bob@example.org"));
	assert_false(pol_auth_owns("bo", "bob@example.org"));
	assert_false(pol_auth_owns("bobby", "bob@example.org"));
	assert_false(pol_auth_owns("bob@example.net", "bob@example.org"));
	assert_false(pol_auth_owns("", "bob@example.org"));
	assert_false(pol_auth_owns(NULL, "bob@example.org"));
}

static void
test_greylist(void **state)
{
	static const struct {
		const char *name;
		unsigned long long streak;
		long long last_spam;
		unsigned threshold, window;
		bool want;
	} c[] = {
		{"off", 100, 99000, 0, 3600, false},
		{"below", 4, 99000, 5, 3600, false},
		{"reached", 5, 99000, 5, 3600, true},
		{"above", 50, 99000, 5, 3600, true},
		{"window just open", 5, 100000 - 3599, 5, 3600, true},
		{"window closed", 5, 100000 - 3600, 5, 3600, false},
		{"never spam", 5, 0, 5, 3600, false},
		{"clock went back", 5, 100000 + 3599, 5, 3600, true},
		{"far in the future", 5, 100000 + 3600, 5, 3600, false},
		{"a year ahead", 5, 100000 + 366LL * 86400, 5, 3600, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (pol_greylist(c[i].streak, c[i].last_spam, c[i].threshold,
			c[i].window, 100000) != c[i].want)
			fail_msg("case %s: got %d, want %d", c[i].name,
			    !c[i].want, c[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filtered),
		cmocka_unit_test(test_of_domain),
		cmocka_unit_test(test_domain_names),
		cmocka_unit_test(test_alias_owner),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_auth_owns),
		cmocka_unit_test(test_greylist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
