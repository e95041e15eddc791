/*
 * test_policy.c - the milter's per-recipient decisions (milter/policy.c):
 * who is filtered, retrain aliases and their owners, trusted networks.
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

#include "es_err.h"
#include "policy.h"

static void
test_filtered(void **state)
{
	/* domain policy, optIn, optOut, filtered */
	static const struct {
		enum pol_domain p;
		const char *in, *out;
		bool want;
	} c[] = {
		{POL_OFF, NULL, NULL, false},
		{POL_OFF, "on", NULL, false},     /* the site's switch */
		{POL_ON, NULL, NULL, true},
		{POL_ON, NULL, "on", true},
		{POL_OPT_IN, NULL, NULL, false},
		{POL_OPT_IN, "on", NULL, true},
		{POL_OPT_IN, "yes", NULL, true},
		{POL_OPT_IN, "off", NULL, false},
		{POL_OPT_IN, "on", "on", false},  /* optOut wins */
		{POL_OPT_OUT, NULL, NULL, true},
		{POL_OPT_OUT, NULL, "on", false},
		{POL_OPT_OUT, NULL, "1", false},
		{POL_OPT_OUT, NULL, "off", true},
		{POL_OPT_OUT, "on", NULL, true},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(pol_filtered(c[i].p, c[i].in, c[i].out),
		    c[i].want);
	}
}

static void
test_domain_names(void **state)
{
	static const char *const names[] = {"off", "opt-in", "opt-out", "on"};
	enum pol_domain p;
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(pol_domain_parse(names[i], &p), 0);
		assert_string_equal(pol_domain_name(p), names[i]);
	}
	assert_int_equal(pol_domain_parse("optin", &p), ES_EINVAL);
	assert_int_equal(pol_domain_parse("", &p), ES_EINVAL);
	assert_int_equal(pol_domain_parse("ON", &p), ES_EINVAL);
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
		bool is = pol_alias_owner(pats, 3, c[i].addr, owner,
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
	assert_false(pol_alias_owner(pats, 3, "bob-spam@example.org", owner, 8));
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
	struct pol_net n[4];
	struct sockaddr_storage ss;
	const struct sockaddr *sa = (const struct sockaddr *)&ss;

	assert_int_equal(pol_net_parse("127.0.0.0/8", &n[0]), 0);
	assert_int_equal(pol_net_parse("192.0.2.128/25", &n[1]), 0);
	assert_int_equal(pol_net_parse("2001:db8::/32", &n[2]), 0);
	assert_int_equal(pol_net_parse("::1", &n[3]), 0);
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

	assert_int_equal(pol_net_parse("127.0.0.0/33", &n[0]), ES_EINVAL);
	assert_int_equal(pol_net_parse("127.0.0.0/", &n[0]), ES_EINVAL);
	assert_int_equal(pol_net_parse("127.0.0.0/-1", &n[0]), ES_EINVAL);
	assert_int_equal(pol_net_parse("::1/129", &n[0]), ES_EINVAL);
	assert_int_equal(pol_net_parse("example.org", &n[0]), ES_EINVAL);
	assert_int_equal(pol_net_parse("", &n[0]), ES_EINVAL);
	/* /0 matches everything of its family */
	assert_int_equal(pol_net_parse("0.0.0.0/0", &n[0]), 0);
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
		cmocka_unit_test(test_domain_names),
		cmocka_unit_test(test_alias_owner),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_auth_owns),
		cmocka_unit_test(test_greylist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
