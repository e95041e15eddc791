/*
 * test_conf.c - the configuration parser: defaults, every kind of error
 * (all reported, with file and line), dump and re-read, the sample file
 * against the key table, every number key at and one past both ends of
 * its range (driven from the table), the checks beyond the table
 * (conf_check.c: networks, split reply, alias patterns, names), and the
 * typed views.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "cls_engine.h"
#include "conf.h"
#include "conf_check.h"
#include "es_err.h"
#include "store.h"

static char path[64];

static const char *
write_tmp(const char *text)
{
	int fd;

	strlcpy(path, "/tmp/test_conf.XXXXXX", sizeof(path));
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_defaults(void **state)
{
	struct conf *cf;
	struct store_params p;
	struct store_purge_rules r;

	(void)state;
	assert_int_equal(conf_defaults(&cf), 0);
	assert_string_equal(conf_str(cf, "store_driver"), "sqlite");
	assert_int_equal(conf_int(cf, "store_busy_timeout_ms"), 2000);
	assert_true(conf_double(cf, "spam_threshold") > 0.5);
	assert_true(conf_bool(cf, "retrain_without_signature"));
	assert_int_equal(conf_int(cf, "milter_socket_mode"), 0660);
	conf_store_params(cf, &p);
	assert_string_equal(p.driver, "sqlite");
	assert_int_equal(p.busy_timeout_ms, 2000);
	conf_purge_rules(cf, &r);
	assert_int_equal(r.sig_days, 14);
	assert_int_equal(r.unused_days, 90);
	assert_int_equal(r.rare_days, 30);
	assert_int_equal(r.single_days, 15);
	assert_int_equal(r.history_days, 14);
	assert_int_equal(r.daily_days, 400);
	assert_int_equal(r.batch, 1000);
	assert_int_equal(r.pause_ms, 10);
	assert_int_equal(r.pace, 20);
	assert_int_equal(r.slack_pct, 20);
	assert_string_equal(conf_trusted_users(cf)[0], "root");
	assert_string_equal(conf_trusted_users(cf)[3], "edgespam");
	assert_null(conf_trusted_users(cf)[4]);
	assert_string_equal(conf_recipient_delimiter(cf), "+");
	assert_int_equal(conf_log_facility(cf), LOG_MAIL);
	assert_int_equal(conf_log_level(cf), LOG_INFO);
	conf_free(cf);
}

/* The defaults of the file are the classifier's built-in defaults. */
static void
test_engine_defaults(void **state)
{
	struct cls_engine_cfg a, b;
	struct conf *cf;

	(void)state;
	assert_int_equal(conf_defaults(&cf), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(conf_engine_cfg(cf, &a), 0);
	cls_engine_cfg_default(&b);
	assert_int_equal(a.tok.kind, b.tok.kind);
	assert_int_equal(a.score.algo, b.score.algo);
	assert_true(a.score.spam_threshold == b.score.spam_threshold);
	assert_int_equal(a.score.min_training, b.score.min_training);
	assert_int_equal(a.score.whitelist_threshold,
	    b.score.whitelist_threshold);
	assert_int_equal(a.score.bnr, b.score.bnr);
	assert_int_equal(a.mode, b.mode);
	assert_int_equal(a.lim.max_scan_bytes, b.lim.max_scan_bytes);
	assert_int_equal(a.lim.max_tokens, b.lim.max_tokens);
	assert_int_equal(a.factors, b.factors);
	assert_string_equal(a.shared.name, b.shared.name);
	assert_int_equal(a.shared.opts.innocent_min, b.shared.opts.innocent_min);
	assert_int_equal(a.shared.opts.spam_min, b.shared.opts.spam_min);
	assert_true(a.shared.spam_threshold == b.shared.spam_threshold);
	assert_true(a.shared.fp_weight == b.shared.fp_weight);
	assert_int_equal(a.shared.learn_corrections,
	    b.shared.learn_corrections);
	conf_free(cf);
}

/* The shared dictionary's name: empty, or '@' and a restricted set. */
static void
test_shared_name(void **state)
{
	static const struct {
		const char *text;
		bool ok;
	} c[] = {
	    {"\"\"", true}, {"@global", true}, {"@site-wide_2.x", true},
	    {"@", false}, {"global", false}, {"bob@example.org", false},
	    {"@Global", false}, {"@glo bal", false}, {"@a@b", false},
	};
	struct cls_engine_cfg ecfg;
	struct conf *cf;
	struct conf_diag d = {0};
	char line[128];
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		snprintf(line, sizeof(line), "shared_dictionary = %s\n",
		    c[k].text);
		write_tmp(line);
		cf = NULL;
		if ((conf_load(path, &cf, &d) == 0) != c[k].ok)
			fail_msg("case %s: got %s, want %s", c[k].text,
			    c[k].ok ? "refused" : "accepted",
			    c[k].ok ? "accepted" : "refused");
		if (cf != NULL) {
			assert_int_equal(conf_engine_cfg(cf, &ecfg), 0);
			assert_string_equal(ecfg.shared.name,
			    k == 0 ? "" : c[k].text);
		}
		conf_free(cf);
		conf_diag_free(&d);
	}
}

static void
test_values(void **state)
{
	struct conf *cf;
	struct conf_diag d = {0};

	(void)state;
	write_tmp("# comment\n\n  tokenizer = osb  \nspam_threshold=0.75\n"
	          "bnr = on\nsplit_reply = \"451 4.5.3 \\\"later\\\" # x\"\n"
	          "trusted_users = a, b c\nmilter_socket_mode = 0600\n");
	assert_int_equal(conf_load(path, &cf, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(conf_str(cf, "tokenizer"), "osb");
	assert_true(conf_double(cf, "spam_threshold") == 0.75);
	assert_true(conf_bool(cf, "bnr"));
	assert_string_equal(conf_str(cf, "split_reply"),
	    "451 4.5.3 \"later\" # x");
	assert_string_equal(conf_trusted_users(cf)[1], "b");
	assert_string_equal(conf_trusted_users(cf)[2], "c");
	assert_int_equal(conf_int(cf, "milter_socket_mode"), 0600);
	conf_free(cf);
	unlink(path);
}

static void
test_errors(void **state)
{
	static const char *const want[] = {
	    ":1: spam_threshold: 1.5 is out of range",
	    ":2: unknown key 'foo'",
	    ":3: missing '='",
	    ":4: store_driver: 'nosql' is not one of",
	    ":5: min_training: 'ten' is not a whole number",
	    ":6: bnr: 'maybe' is not yes or no",
	    ":7: key 'tokenizer' given twice (first on line 0)",
	    ":8: split_reply: unterminated quoted value",
	};
	struct conf *cf = NULL;
	struct conf_diag d = {0};
	size_t i;

	(void)state;
	write_tmp("spam_threshold = 1.5\nfoo = 1\njust words\n"
	          "store_driver = nosql\nmin_training = ten\nbnr = maybe\n"
	          "tokenizer = word\nsplit_reply = \"open\n");
	/* line 7 is fine on its own; make it a duplicate */
	write_tmp("spam_threshold = 1.5\nfoo = 1\njust words\n"
	          "store_driver = nosql\nmin_training = ten\nbnr = maybe\n"
	          "tokenizer = word\nsplit_reply = \"open\ntokenizer = osb\n");
	assert_int_equal(conf_load(path, &cf, &d), ES_EINVAL);
	assert_null(cf);
	assert_int_equal(d.n, 8);
	for (i = 0; i < 7; i++) {
		if (strncmp(d.msgs[i], path, strlen(path)) != 0 ||
		    strstr(d.msgs[i], want[i] + (i == 6 ? 100 : 0)) == NULL) {
			if (i != 6)
				fail_msg("message %zu: got '%s', want '%s'", i,
				    d.msgs[i], want[i]);
		}
	}
	assert_non_null(strstr(d.msgs[6], ":8: split_reply"));
	assert_non_null(strstr(d.msgs[7], ":9: key 'tokenizer' given twice "
	                                  "(first on line 7)"));
	conf_diag_free(&d);
	unlink(path);
	assert_int_equal(conf_load("/nonexistent/edgespam.conf", &cf, &d),
	    ES_EIO);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "No such file"));
	conf_diag_free(&d);
}

static void
test_dump_roundtrip(void **state)
{
	struct conf *cf, *cf2;
	struct conf_diag d = {0};
	char *a = NULL, *b = NULL;
	size_t al, bl;
	FILE *fp;

	(void)state;
	write_tmp("split_reply = \"451 4.5.3 x # y\"\ngroup = \"\"\n"
	          "trusted_users = a b\n");
	assert_int_equal(conf_load(path, &cf, &d), 0);
	unlink(path);
	assert_non_null(fp = open_memstream(&a, &al));
	conf_dump(cf, fp);
	fclose(fp);
	write_tmp(a);
	assert_int_equal(conf_load(path, &cf2, &d), 0);
	unlink(path);
	assert_non_null(fp = open_memstream(&b, &bl));
	conf_dump(cf2, fp);
	fclose(fp);
	assert_string_equal(a, b);
	assert_string_equal(conf_str(cf2, "split_reply"), "451 4.5.3 x # y");
	free(a);
	free(b);
	conf_free(cf);
	conf_free(cf2);
}

/* Every key of the table is in the sample, commented out with its
 * default, and the sample names no other key. */
static void
test_sample(void **state)
{
	FILE *fp = fopen("conf/edgespam.conf", "r");
	char line[1024];
	size_t n = conf_key_count(), i, seen = 0;
	struct conf *cf;
	struct conf_diag d = {0};

	(void)state;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char key[128], val[512];
		bool found = false;

		if (sscanf(line, "# %127[a-z0-9_] = %511[^\n]", key, val) != 2)
			continue;
		if (val[0] == '"') {
			memmove(val, val + 1, strlen(val));
			val[strlen(val) - 1] = '\0';
		}
		for (i = 0; i < n; i++) {
			if (strcmp(conf_key_name(i), key) != 0)
				continue;
			found = true;
			seen++;
			if (strcmp(conf_key_default(i), val) != 0)
				fail_msg("sample: %s = '%s', table default '%s'",
				    key, val, conf_key_default(i));
		}
		if (!found)
			fail_msg("sample names unknown key %s", key);
	}
	fclose(fp);
	assert_int_equal(seen, n);
	/* and the sample as it is parses */
	assert_int_equal(conf_load("conf/edgespam.conf", &cf, &d), 0);
	conf_free(cf);
}

/* diag_has - whether a diagnostic contains both texts. */
static bool
diag_has(const struct conf_diag *d, const char *a, const char *b)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], a) != NULL &&
		    strstr(d->msgs[i], b) != NULL)
			return true;
	return false;
}

/* The mysql password file: read for the mysql driver only, refused
 * unless private (0600, or root's 0640 for the milter's group), never
 * shown. A file that cannot be used does not fail conf_load (a caller
 * that needs no store runs without it): conf_check_password() reports
 * it, and the store refuses to open with the reason. */
static void
test_mysql_password(void **state)
{
	static const struct {
		const char *name;
		const char *content;
		mode_t mode;
		int want;
		const char *diag; /* or the password read */
	} c[] = {
		{"private", "s3cret\n", 0600, 0, "s3cret"},
		{"read-only", "s3cret", 0400, 0, "s3cret"},
		{"crlf", "pw word\r\n", 0600, 0, "pw word"},
		/* the packaged layout: root, 0640, the milter's group (the
		 * test runs as root, so the file is root's) */
		{"root's, group-readable", "s3cret\n", 0640, 0, "s3cret"},
		{"group-writable", "s3cret\n", 0660, ES_EINVAL, "0600"},
		{"world-readable", "s3cret\n", 0644, ES_EINVAL, "0600"},
		{"empty", "", 0600, ES_EINVAL, "empty"},
		{"two lines", "a\nb\n", 0600, ES_EINVAL, "one line"},
	};
	char pwfile[64], text[256];
	struct conf_diag d = {0};
	struct store_params p;
	struct conf *cf;
	int fd;

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		int rc;

		/* mkstemp makes the file the caller's: root's only as root */
		if (c[k].mode == 0640 && geteuid() != 0)
			continue;
		strlcpy(pwfile, "/tmp/test_conf_pw.XXXXXX", sizeof(pwfile));
		assert_true((fd = mkstemp(pwfile)) >= 0);
		assert_int_equal(write(fd, c[k].content, strlen(c[k].content)),
		    (ssize_t)strlen(c[k].content));
		close(fd);
		assert_int_equal(chmod(pwfile, c[k].mode), 0);
		snprintf(text, sizeof(text), "store_driver = mysql\n"
		    "mysql_password_file = %s\n", pwfile);
		write_tmp(text);
		cf = NULL;
		rc = conf_load(path, &cf, &d);
		if (rc == 0)
			rc = conf_check_password(cf, &d);
		if (rc != c[k].want)
			fail_msg("case %s: got %d, want %d", c[k].name, rc,
			    c[k].want);
		if (rc == 0) {
			conf_store_params(cf, &p);
			assert_string_equal(p.mysql_password, c[k].diag);
			assert_string_equal(p.driver, "mysql");
			assert_null(p.mysql_password_error);
		} else if (!diag_has(&d, pwfile, c[k].diag) ||
		    diag_has(&d, "s3cret", "")) {
			fail_msg("case %s: diagnostic %s", c[k].name,
			    d.n > 0 ? d.msgs[0] : "(none)");
		}
		conf_free(cf);
		conf_diag_free(&d);
		unlink(pwfile);
		unlink(path);
	}
	/* owned by another user: refused (testable as root, who may chown) */
	if (geteuid() == 0) {
		strlcpy(pwfile, "/tmp/test_conf_pw.XXXXXX", sizeof(pwfile));
		assert_true((fd = mkstemp(pwfile)) >= 0);
		assert_int_equal(write(fd, "x\n", 2), 2);
		close(fd);
		assert_int_equal(chown(pwfile, 65534, 65534), 0);
		snprintf(text, sizeof(text), "store_driver = mysql\n"
		    "mysql_password_file = %s\n", pwfile);
		write_tmp(text);
		assert_int_equal(conf_load(path, &cf, &d), 0);
		assert_int_equal(conf_check_password(cf, &d), ES_EINVAL);
		assert_true(diag_has(&d, pwfile, "owned by uid 65534"));
		/* and the store refuses to open, naming the reason */
		conf_store_params(cf, &p);
		assert_non_null(p.mysql_password_error);
		assert_non_null(strstr(p.mysql_password_error, "owned by uid"));
		conf_free(cf);
		conf_diag_free(&d);
		unlink(pwfile);
		unlink(path);
	}
	/* a missing file is named; sqlite never reads it; "" is none */
	write_tmp("store_driver = mysql\n"
	          "mysql_password_file = /nonexistent/pw\n");
	assert_int_equal(conf_load(path, &cf, &d), 0);
	assert_int_equal(conf_check_password(cf, &d), ES_EINVAL);
	conf_free(cf);
	assert_true(diag_has(&d, "/nonexistent/pw", ":2: mysql_password_file"));
	conf_diag_free(&d);
	unlink(path);
	write_tmp("mysql_password_file = /nonexistent/pw\n");
	assert_int_equal(conf_load(path, &cf, &d), 0);
	conf_free(cf);
	unlink(path);
	write_tmp("store_driver = mysql\nmysql_password_file = \"\"\n"
	          "mysql_socket = /run/x.sock\nmysql_tls = yes\n");
	assert_int_equal(conf_load(path, &cf, &d), 0);
	conf_store_params(cf, &p);
	assert_null(p.mysql_password);
	assert_string_equal(p.mysql_socket, "/run/x.sock");
	assert_string_equal(p.mysql_database, "dspam");
	assert_int_equal(p.mysql_port, 3306);
	assert_true(p.mysql_tls);
	conf_free(cf);
	unlink(path);
}

/*
 * range_load - load "key = text" (on line 2, after a comment) and check
 * the outcome: accepted with exactly want as the key's value, or refused
 * with one diagnostic "FILE:2: key: ... out of range".
 */
static void
range_load(const char *key, bool whole, const char *text, bool ok,
    double want)
{
	struct conf_diag d = {0};
	struct conf *cf = NULL;
	char line[256], where[128];
	int rc;

	snprintf(line, sizeof(line), "# range\n%s = %s\n", key, text);
	write_tmp(line);
	rc = conf_load(path, &cf, &d);
	if (ok) {
		double got;

		if (rc != 0)
			fail_msg("case %s = %s: got refused (%s), want accepted",
			    key, text, d.n > 0 ? d.msgs[0] : "no diagnostic");
		got = whole ? (double)conf_int(cf, key) : conf_double(cf, key);
		if (got != want)
			fail_msg("case %s = %s: got value %.17g, want %.17g",
			    key, text, got, want);
	} else {
		snprintf(where, sizeof(where), "%s:2: %s: ", path, key);
		if (rc != ES_EINVAL || d.n != 1 ||
		    strncmp(d.msgs[0], where, strlen(where)) != 0 ||
		    strstr(d.msgs[0], "out of range") == NULL)
			fail_msg("case %s = %s: got %d, '%s', want refused: "
			    "'%s... out of range'", key, text, rc,
			    d.n > 0 ? d.msgs[0] : "no diagnostic", where);
	}
	conf_free(cf);
	conf_diag_free(&d);
	unlink(path);
}

/* Every number key of the table, at its minimum and its maximum
 * (accepted) and one past each (refused with file:line and the key);
 * "one past" a real number is one step of its precision. */
static void
test_ranges(void **state)
{
	size_t nint = 0, ndbl = 0;
	double min, max;
	bool whole;

	(void)state;
	for (size_t i = 0; i < conf_key_count(); i++) {
		const char *key = conf_key_name(i);
		char text[64];

		if (!conf_key_range(i, &min, &max, &whole))
			continue;
		if (!(min < max))
			fail_msg("case %s: range %g..%g", key, min, max);
		if (whole) {
			long long lo = (long long)min, hi = (long long)max;
			const struct {
				long long v;
				bool ok;
			} c[] = {{lo, true}, {hi, true}, {lo - 1, false},
			    {hi + 1, false}};

			nint++;
			for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
				snprintf(text, sizeof(text), "%lld", c[k].v);
				range_load(key, true, text, c[k].ok,
				    (double)c[k].v);
			}
		} else {
			const struct {
				double v;
				bool ok;
			} c[] = {{min, true}, {max, true},
			    {min - fmax(fabs(min), 1) * DBL_EPSILON, false},
			    {max + fmax(fabs(max), 1) * DBL_EPSILON, false}};

			ndbl++;
			for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
				snprintf(text, sizeof(text), "%.17g", c[k].v);
				range_load(key, false, text, c[k].ok, c[k].v);
			}
		}
	}
	/* the table has both kinds; a key of another type has no range */
	assert_true(nint > 0);
	assert_true(ndbl > 0);
	for (size_t i = 0; i < conf_key_count(); i++)
		if (strcmp(conf_key_name(i), "store_driver") == 0)
			assert_false(conf_key_range(i, &min, &max, &whole));
	assert_false(conf_key_range(conf_key_count(), &min, &max, &whole));
}

/*
 * The checks beyond the table (conf_check.c) and the table's own for
 * the keys the milter once checked alone: every bad value is refused by
 * conf_load() itself, so edgespam --check-config and edgespam-milter -n
 * give one verdict. Each message names the file, the key's line and the
 * key, and quotes the value.
 */
static void
test_validate(void **state)
{
	static const struct {
		const char *key, *value;
		size_t nmsg;       /* messages for this one line */
		const char *want;  /* in each message, after "key: " */
	} c[] = {
		{"trusted_networks", "10.0.0.0/33 banana", 2,
		    "is not an address or address/prefix"},
		{"trusted_networks", "::1/129", 1, "\"::1/129\""},
		{"trusted_networks", "192.0.2.300", 1, "\"192.0.2.300\""},
		{"trusted_networks", "10.0.0.0/", 1, "\"10.0.0.0/\""},
		{"trusted_networks", "10.0.0.0/-1", 1, "\"10.0.0.0/-1\""},
		{"trusted_networks", "10.0.0.0/8 example.org", 1,
		    "\"example.org\""},
		{"retrain_aliases", "*-spam", 1,
		    "\"*-spam\" has no '@'"},
		{"retrain_aliases", "*-spam@* *-fp", 1, "\"*-fp\" has no '@'"},
		{"split_reply", "550 5.7.1 no", 1, "\"550 5.7.1 no\""},
		{"split_reply", "452 5.5.3 x", 1, "is not \"4xx 4.x.y text\""},
		{"split_reply", "452 4.5.3", 1, "is not \"4xx 4.x.y text\""},
		{"split_reply", "\"452 4.5.3 100% sure\"", 1, "no '%'"},
		{"split_reply", "45 4.5.3 x", 1, "is not \"4xx 4.x.y text\""},
		{"split_reply", "452 4.5 x", 1, "is not \"4xx 4.x.y text\""},
		{"default_policy", "optin", 1, "'optin' is not one of"},
		{"default_policy", "ON", 1, "'ON' is not one of"},
		{"tokenizer", "sbph", 1, "'sbph' is not one of"},
		{"algorithm", "naive", 1, "'naive' is no algorithm"},
		{"algorithm", "graham robinson", 1,
		    "'graham robinson' is no algorithm"},
		{"training_mode", "always", 1, "'always' is not one of"},
		{"retrain_peers", "nobody :x", 1, "\":x\" is not LOGIN"},
		{"retrain_peers", "vmail:", 1, "\"vmail:\" is not LOGIN"},
		{"retrain_socket", "run/retrain.sock", 1,
		    "is not an absolute path"},
		{"bad_recipient_action", "drop", 1, "'drop' is not one of"},
		{"maildir_path", "var/mail/%u", 1, "is not an absolute path"},
		{"maildir_path", "/var/mail/%x/Maildir", 1,
		    "only %u, %d, %U and %%"},
		{"maildir_path", "/var/mail/%", 1, "only %u, %d, %U and %%"},
		{"maildir_spam_folder", "Spam", 1, "\"Spam\" is not a Maildir++"},
		{"maildir_spam_folder", ".Sp/am", 1, "is not a Maildir++"},
		{"maildir_spam_folder", "..", 1, "is not a Maildir++"},
		{"maildir_trash_folders", ".Trash/Deleted", 1,
		    "\"Deleted\" is not a Maildir++"},
	};
	static const char *const good[] = {
		"trusted_networks = 10.0.0.0/8 192.0.2.1 ::1 2001:db8::/32",
		"trusted_networks = \"\"",
		"retrain_aliases = *-spam@* spam-*@example.org",
		"split_reply = 451 4.7.1 Try again later",
		"default_policy = opt-out",
		"retrain_peers = nobody vmail:*@example.org *:%l@example.net",
		"retrain_socket = \"\"",
		"maildir_path = /var/mail/virtual/%d/%u/Maildir",
		"maildir_path = /home/%U/100%%/Maildir",
		"maildir_trash_folders = .Trash//.Deleted Items/",
		"maildir_spam_folder = .Junk E-mail",
	};
	char text[256], where[128];
	struct conf_diag d = {0};
	struct conf *cf;
	size_t k, i;
	int rc;

	(void)state;
	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		snprintf(text, sizeof(text), "# validate\nlog_level = info\n"
		    "%s = %s\n", c[k].key, c[k].value);
		write_tmp(text);
		cf = NULL;
		rc = conf_load(path, &cf, &d);
		snprintf(where, sizeof(where), "%s:3: %s: ", path, c[k].key);
		if (rc != ES_EINVAL || cf != NULL || d.n != c[k].nmsg)
			fail_msg("case %s = %s: got %d with %zu messages (%s), "
			    "want refused with %zu", c[k].key, c[k].value, rc,
			    d.n, d.n > 0 ? d.msgs[0] : "none", c[k].nmsg);
		for (i = 0; i < d.n; i++)
			if (strncmp(d.msgs[i], where, strlen(where)) != 0 ||
			    strstr(d.msgs[i] + strlen(where), c[k].want) ==
			        NULL)
				fail_msg("case %s = %s: got '%s', want '%s...%s'",
				    c[k].key, c[k].value, d.msgs[i], where,
				    c[k].want);
		conf_free(cf);
		conf_diag_free(&d);
		unlink(path);
	}
	for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		snprintf(text, sizeof(text), "%s\n", good[k]);
		write_tmp(text);
		if (conf_load(path, &cf, &d) != 0)
			fail_msg("case %s: got refused (%s), want accepted",
			    good[k], d.n > 0 ? d.msgs[0] : "no message");
		conf_free(cf);
		unlink(path);
	}
	/* every problem at once, the table's and the checks', in order */
	write_tmp("on_error = maybe\ntrusted_networks = 10.1.2.3/8 x\n"
	          "split_reply = 452 5.5.3 x\nretrain_aliases = nope\n");
	assert_int_equal(conf_load(path, &cf, &d), ES_EINVAL);
	assert_int_equal(d.n, 4);
	assert_non_null(strstr(d.msgs[0], ":1: on_error: "));
	assert_non_null(strstr(d.msgs[1], ":3: split_reply: "));
	assert_non_null(strstr(d.msgs[2], ":4: retrain_aliases: \"nope\""));
	assert_non_null(strstr(d.msgs[3], ":2: trusted_networks: \"x\""));
	conf_diag_free(&d);
	unlink(path);
}

/* The split reply's parts, as the milter sends them. */
static void
test_split_reply(void **state)
{
	struct conf_split_reply r;
	char longtext[300];

	(void)state;
	assert_int_equal(conf_split_reply_parse(
	    "452 4.5.3 Too many recipients", &r), 0);
	assert_string_equal(r.rcode, "452");
	assert_string_equal(r.xcode, "4.5.3");
	assert_string_equal(r.text, "Too many recipients");
	assert_int_equal(conf_split_reply_parse("451 4.7.1   x  y", &r), 0);
	assert_string_equal(r.text, "x  y");
	/* the text must fit the milter's reply buffer */
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	memcpy(longtext, "452 4.5.3 ", 10);
	assert_int_equal(conf_split_reply_parse(longtext, &r), ES_EINVAL);
	longtext[10 + sizeof(r.text)] = '\0';
	assert_int_equal(conf_split_reply_parse(longtext, &r), ES_EINVAL);
	longtext[10 + sizeof(r.text) - 1] = '\0';
	assert_int_equal(conf_split_reply_parse(longtext, &r), 0);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_int_equal(conf_split_reply_parse("452 4.5.3333333333333333 x",
	    &r), ES_EINVAL);
	assert_int_equal(conf_split_reply_parse("", &r), ES_EINVAL);
	assert_true(conf_alias_pattern_ok("*-spam@*"));
	assert_false(conf_alias_pattern_ok("*-spam"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_engine_defaults),
	    cmocka_unit_test(test_shared_name),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_dump_roundtrip),
	    cmocka_unit_test(test_sample),
	    cmocka_unit_test(test_mysql_password),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_split_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
