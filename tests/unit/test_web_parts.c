/*
 * test_web_parts.c - edgespam-web's pure parts: the HTML escaping every
 * message-derived text goes through (hostile subjects, broken UTF-8),
 * URL parts, CSRF tokens and the constant-time comparison, the proxy
 * address check, web_listen's parsing (loopback only) and the
 * configuration's checks of the web keys, and the SVG plots (axis tops,
 * escaping of labels, limits).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "es_buf.h"
#include "es_err.h"
#include "web_auth.h"
#include "web_html.h"
#include "web_listen.h"
#include "web_svg.h"

static void
test_escape(void **state)
{
	static const struct {
		const char *name, *in;
		size_t len; /* 0: strlen(in) */
		const char *want;
	} c[] = {
		{"plain", "meeting notes", 0, "meeting notes"},
		{"empty", "", 0, ""},
		{"script", "<script>alert(1)</script>", 0,
		    "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"attribute break", "\"><img src=x onerror=alert(1)>", 0,
		    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"},
		{"single quote", "it's 'x'", 0, "it&#39;s &#39;x&#39;"},
		{"ampersand", "a&b &amp;", 0, "a&amp;b &amp;amp;"},
		{"utf-8 kept", "Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80",
		    0, "Gr\xc3\xbc\xc3\x9f\xe2\x82\xac\xf0\x9f\x98\x80"},
		{"control chars", "a\rb\nc\x1b" "d\x7f", 0,
		    "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd"
		    "d\xef\xbf\xbd"},
		{"NUL inside", "a\0<b", 4, "a\xef\xbf\xbd&lt;b"},
		{"lone continuation", "a\x80" "b", 0, "a\xef\xbf\xbd" "b"},
		{"overlong slash", "\xc0\xaf", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd"},
		{"overlong 3-byte <", "\xe0\x80\xbc", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"surrogate", "\xed\xa0\x80", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"above U+10FFFF", "\xf4\x90\x80\x80", 0,
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"cut sequence then <", "x\xe2\x82<", 0,
		    "x\xef\xbf\xbd\xef\xbf\xbd&lt;"},
		{"latin-1 byte", "caf\xe9", 0, "caf\xef\xbf\xbd"},
	};
	struct es_buf b;

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		es_buf_init(&b, 4096);
		assert_int_equal(web_html_text(&b, c[k].in,
				     c[k].len ? c[k].len : strlen(c[k].in)),
		    0);
		if (b.data == NULL || strcmp(b.data, c[k].want) != 0)
			fail_msg("case %s: got \"%s\", want \"%s\"", c[k].name,
			    b.data ? b.data : "(null)", c[k].want);
		es_buf_release(&b);
	}
	/* the buffer's maximum is an error, never a cut reference */
	es_buf_init(&b, 8);
	assert_int_equal(web_html_str(&b, "<<<<"), ES_ELIMIT);
	es_buf_release(&b);
	es_buf_init(&b, 64);
	assert_int_equal(web_html_str(&b, NULL), 0);
	assert_string_equal(b.data, "");
	es_buf_release(&b);
}

static void
test_url_part(void **state)
{
	struct es_buf b;

	(void)state;
	es_buf_init(&b, 256);
	assert_int_equal(web_url_part(&b, "a b&c=d/\"<x>~._-"), 0);
	assert_string_equal(b.data, "a%20b%26c%3Dd%2F%22%3Cx%3E~._-");
	es_buf_release(&b);
}

static void
test_token(void **state)
{
	struct web_auth a, other;
	char t1[WEB_AUTH_TOKEN_LEN + 1], t2[WEB_AUTH_TOKEN_LEN + 1];
	char t3[WEB_AUTH_TOKEN_LEN + 1], err[128];

	(void)state;
	assert_int_equal(web_auth_init(&a, NULL, err, sizeof(err)), 0);
	assert_int_equal(web_auth_init(&other, NULL, err, sizeof(err)), 0);
	assert_int_equal(web_auth_token(&a, "bob@example.org", t1), 0);
	assert_int_equal(strlen(t1), WEB_AUTH_TOKEN_LEN);
	assert_int_equal(strspn(t1, "0123456789abcdef"), WEB_AUTH_TOKEN_LEN);
	assert_int_equal(web_auth_token(&a, "bob@example.org", t2), 0);
	assert_string_equal(t1, t2);
	assert_true(web_auth_token_ok(&a, "bob@example.org", t1));
	/* another user's token, another secret's, a changed or cut one */
	assert_int_equal(web_auth_token(&a, "eve@example.org", t3), 0);
	assert_string_not_equal(t1, t3);
	assert_false(web_auth_token_ok(&a, "bob@example.org", t3));
	assert_int_equal(web_auth_token(&other, "bob@example.org", t3), 0);
	assert_false(web_auth_token_ok(&a, "bob@example.org", t3));
	t2[10] = t2[10] == 'a' ? 'b' : 'a';
	assert_false(web_auth_token_ok(&a, "bob@example.org", t2));
	t1[WEB_AUTH_TOKEN_LEN - 1] = '\0';
	assert_false(web_auth_token_ok(&a, "bob@example.org", t1));
	assert_false(web_auth_token_ok(&a, "bob@example.org", ""));
	assert_false(web_auth_token_ok(&a, "bob@example.org", NULL));
	assert_true(web_auth_equal("abc", "abc", 3));
	assert_false(web_auth_equal("abc", "abd", 3));
	assert_true(web_auth_equal("abc", "abd", 2));
}

static void
test_proxy(void **state)
{
	static const char *const proxies[] = {"127.0.0.2", "::1", NULL};
	static const char *const bad[] = {"localhost", NULL};
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	struct sockaddr_un un;
	struct web_auth a;
	char err[128];

	(void)state;
	assert_int_equal(web_auth_init(&a, bad, err, sizeof(err)), ES_EINVAL);
	assert_non_null(strstr(err, "localhost"));
	assert_int_equal(web_auth_init(&a, proxies, err, sizeof(err)), 0);
	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
	assert_true(web_auth_proxy(&a, (struct sockaddr *)&v4));
	inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
	assert_false(web_auth_proxy(&a, (struct sockaddr *)&v4));
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &v6.sin6_addr);
	assert_true(web_auth_proxy(&a, (struct sockaddr *)&v6));
	/* an IPv4 proxy seen on an IPv6 socket */
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &v6.sin6_addr);
	assert_true(web_auth_proxy(&a, (struct sockaddr *)&v6));
	inet_pton(AF_INET6, "::2", &v6.sin6_addr);
	assert_false(web_auth_proxy(&a, (struct sockaddr *)&v6));
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_false(web_auth_proxy(&a, (struct sockaddr *)&un));
	assert_false(web_auth_proxy(&a, NULL));
}

static void
test_listen(void **state)
{
	static const struct {
		const char *spec;
		bool ok;
	} c[] = {
		{"127.0.0.1:8301", true},
		{"127.9.8.7:1", true},
		{"[::1]:8301", true},
		{"::1:8301", true},
		{"unix:/run/edgespam-web/web.sock", true},
		{"0.0.0.0:8301", false},
		{"192.0.2.1:80", false},
		{"[::]:8301", false},
		{"[2001:db8::1]:80", false},
		{"localhost:8301", false},
		{"127.0.0.1", false},
		{"127.0.0.1:", false},
		{"127.0.0.1:0", false},
		{"127.0.0.1:65536", false},
		{"127.0.0.1:80x", false},
		{":80", false},
		{"unix:relative.sock", false},
		{"unix:", false},
	};
	char err[256];

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		int rc = web_listen_check(c[k].spec, err, sizeof(err));

		if ((rc == 0) != c[k].ok)
			fail_msg("case %s: got %d (%s), want %s", c[k].spec, rc,
			    rc ? err : "", c[k].ok ? "ok" : "refused");
	}
}

/* load - conf_load of text; the diagnostics joined into out. */
static int
load(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/test_web_parts.XXXXXX";
	struct conf_diag d = {NULL, 0};
	struct conf *cf = NULL;
	int fd, rc;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = conf_load(path, &cf, &d);
	unlink(path);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		strlcat(out, d.msgs[i], outlen);
		strlcat(out, "\n", outlen);
	}
	conf_diag_free(&d);
	conf_free(cf);
	return rc;
}

static void
test_conf_keys(void **state)
{
	char out[2048];

	(void)state;
	assert_int_equal(load("web_listen = [::1]:8301\n"
	                      "web_proxy = 127.0.0.2 ::1\n"
	                      "web_user_header = X-Auth-User\n", out,
	                     sizeof(out)), 0);
	assert_int_equal(load("web_listen = 0.0.0.0:8301\n"
	                      "web_proxy = 127.0.0.1 proxy.example\n"
	                      "web_user_header = \"X Remote\"\n", out,
	                     sizeof(out)), ES_EINVAL);
	assert_non_null(strstr(out, ":1: web_listen"));
	assert_non_null(strstr(out, "not a loopback address"));
	assert_non_null(strstr(out, ":2: web_proxy"));
	assert_non_null(strstr(out, "proxy.example"));
	assert_non_null(strstr(out, ":3: web_user_header"));
}

static void
test_svg_top(void **state)
{
	static const struct {
		double max, want;
	} c[] = {
		{0, 1}, {-3, 1}, {NAN, 1}, {1, 1}, {1.5, 2}, {2, 2}, {3, 5},
		{5, 5}, {7, 10}, {10, 10}, {11, 20}, {49, 50}, {51, 100},
		{1000, 1000}, {1001, 2000},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		if (web_svg_top(c[k].max) != c[k].want)
			fail_msg("case %g: got %g, want %g", c[k].max,
			    web_svg_top(c[k].max), c[k].want);
}

static void
test_svg_chart(void **state)
{
	static const char *const labels[] = {"<d1>", "d2", "d3"};
	const double spam[] = {3, 0, 7}, acc[] = {1, NAN, 0.5};
	const struct web_svg_series bars[] = {{"Spam & <b>", "#c33", spam}};
	const struct web_svg_series line[] = {{"Accuracy", "#36c", acc}};
	struct web_svg_chart c = {"chart", "Per \"day\"", false, false, 3,
		labels, 1, bars};
	struct es_buf b;

	(void)state;
	es_buf_init(&b, 1 << 16);
	assert_int_equal(web_svg_chart(&b, &c), 0);
	assert_non_null(strstr(b.data, "<svg "));
	assert_non_null(strstr(b.data, "</svg>"));
	assert_null(strstr(b.data, "<b>"));
	assert_null(strstr(b.data, "<d1>"));
	assert_non_null(strstr(b.data, "Spam &amp; &lt;b&gt;"));
	assert_non_null(strstr(b.data, "Per &quot;day&quot;"));
	/* two bars: a zero count draws none; the axis tops at 10 */
	assert_int_equal((int)(strstr(strstr(strstr(b.data, "<title>&lt;d1"),
	    "<rect"), "<title>d3") != NULL), 1);
	assert_null(strstr(b.data, "<title>d2"));
	assert_non_null(strstr(b.data, ">10</text>"));
	es_buf_release(&b);

	/* a line breaks at NaN: two polylines of one point each */
	c.lines = true;
	c.percent = true;
	c.series = line;
	es_buf_init(&b, 1 << 16);
	assert_int_equal(web_svg_chart(&b, &c), 0);
	assert_non_null(strstr(b.data, ">100%</text>"));
	assert_non_null(strstr(strstr(b.data, "<polyline") + 1, "<polyline"));
	assert_null(strstr(b.data, "<title>d2"));
	assert_non_null(strstr(b.data, "d3: 50.0%"));
	es_buf_release(&b);

	c.npoints = 0;
	es_buf_init(&b, 1 << 16);
	assert_int_equal(web_svg_chart(&b, &c), ES_EINVAL);
	c.npoints = 3;
	c.nseries = WEB_SVG_MAX_SERIES + 1;
	assert_int_equal(web_svg_chart(&b, &c), ES_EINVAL);
	es_buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_url_part),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_proxy),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_conf_keys),
		cmocka_unit_test(test_svg_top),
		cmocka_unit_test(test_svg_chart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
