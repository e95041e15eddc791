/*
 * test_retrain.c - the retrain socket's wire format
 * (classifier/cls_retrain.c) and who may ask it to act for whom
 * (conf_retrain_allowed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cls_retrain.h"
#include "conf.h"
#include "es_err.h"

static void
test_request_lines(void **state)
{
	static const struct {
		const char *line;
		bool ok;
		enum cls_retrain_op op;
		const char *user;
		size_t len;
		const char *sig;
	} c[] = {
		{"EDGESPAM/1 spam bob@example.org 12", true, CLS_RETRAIN_SPAM,
		    "bob@example.org", 12, ""},
		{"EDGESPAM/1 innocent bob@example.org 0", true,
		    CLS_RETRAIN_INNOCENT, "bob@example.org", 0, ""},
		{"EDGESPAM/1 block bob 7", true, CLS_RETRAIN_BLOCK, "bob", 7, ""},
		{"EDGESPAM/1 spam bob@example.org 5 "
		 "0123456789abcdef0123456789abcdef",
		    true, CLS_RETRAIN_SPAM, "bob@example.org", 5,
		    "0123456789abcdef0123456789abcdef"},
		{"EDGESPAM/1 spam Bob@Example.org 5", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob+x@example.org 5", true, CLS_RETRAIN_SPAM,
		    "bob+x@example.org", 5, ""}, /* normalised by the client */
		{"EDGESPAM/2 spam bob@example.org 5", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 learn bob@example.org 5", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob@example.org", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob@example.org -1", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob@example.org 5x", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob@example.org 99999999999", false, 0, NULL,
		    0, NULL},
		{"EDGESPAM/1 spam bob@example.org 5 ../../etc", false, 0, NULL,
		    0, NULL},
		{"EDGESPAM/1 spam @global 5", false, 0, NULL, 0, NULL},
		{"EDGESPAM/1 spam bob@example.org 5 x y", false, 0, NULL, 0,
		    NULL},
		{"", false, 0, NULL, 0, NULL},
	};
	struct cls_retrain_req rq;
	char line[CLS_RETRAIN_LINE];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc = cls_retrain_req_parse(c[i].line, &rq, &len);

		if (!c[i].ok) {
			if (rc != ES_EPARSE)
				fail_msg("case \"%s\": got %d, want refused",
				    c[i].line, rc);
			continue;
		}
		if (rc != 0)
			fail_msg("case \"%s\": refused", c[i].line);
		assert_int_equal(rq.op, c[i].op);
		assert_string_equal(rq.user, c[i].user);
		assert_int_equal(len, c[i].len);
		assert_string_equal(rq.sig, c[i].sig);
		/* and back: the same line */
		rq.len = len;
		assert_int_equal(cls_retrain_req_line(&rq, line, sizeof(line)),
		    0);
		line[strlen(line) - 1] = '\0';
		assert_string_equal(line, c[i].line);
	}
	memset(&rq, 0, sizeof(rq));
	strlcpy(rq.user, "bob", sizeof(rq.user));
	rq.len = CLS_RETRAIN_MAX_MSG + 1;
	assert_int_equal(cls_retrain_req_line(&rq, line, sizeof(line)),
	    ES_EINVAL);
}

static void
test_allowed(void **state)
{
	static const char text[] =
	    "trusted_users = mail\n"
	    "retrain_peers = nobody vmail:*@example.org *:%l@example.net "
	    "courier:*@[ab].example\n";
	static const struct {
		unsigned uid;
		const char *login, *user;
		bool want;
	} c[] = {
		{0, "root", "anyone@example.com", true},
		{0, NULL, "anyone@example.com", true},
		{1000, "bob", "bob", true},             /* its own name */
		{1000, "bob", "bobx", false},           /* not a prefix */
		{1000, "bobx", "bob", false},
		{1000, "bob", "bob@example.com", false},
		{1000, "bob", "bob@example.net", true}, /* *:%l@example.net */
		{1000, "bob", "alice@example.net", false},
		{1000, "bob", "bob@example.network", false},
		{8, "mail", "anyone@example.com", true}, /* trusted_users */
		{65534, "nobody", "anyone@example.com", true},
		{65534, "nobodyx", "anyone@example.com", false},
		{5000, "vmail", "carol@example.org", true},
		{5000, "vmail", "carol@example.org.evil", false},
		{5000, "vmail", "carol@example.com", false},
		{5001, "courier", "x@a.example", true},
		{5001, "courier", "x@c.example", false},
		{4242, NULL, "bob@example.net", false}, /* no login */
	};
	char path[] = "/tmp/test_retrain.XXXXXX";
	struct conf *cf;
	struct conf_diag d = {0};
	size_t i;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(conf_load(path, &cf, &d), 0);
	unlink(path);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (conf_retrain_allowed(cf, (uid_t)c[i].uid, c[i].login,
			c[i].user) != c[i].want)
			fail_msg("case %s for %s: got %s", c[i].login,
			    c[i].user, c[i].want ? "refused" : "allowed");
	conf_free(cf);
	conf_diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_lines),
		cmocka_unit_test(test_allowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
