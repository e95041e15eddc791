/*
 * test_log.c - es_log: the sanitiser, the stderr line format, the level
 * filter, and whole lines from concurrent threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "es_log.h"

struct san_case {
	const char *name;
	const char *in;
	size_t len;
	size_t outlen;
	const char *want;
};

static void
test_sanitize(void **state)
{
	static const struct san_case cases[] = {
		{ "plain", "hello world", 11, 64, "hello world" },
		{ "empty", "", 0, 8, "" },
		{ "crlf", "a\r\nb", 4, 64, "a??b" },
		{ "control", "\x01\x1b[31m\x7f", 7, 64, "??[31m?" },
		{ "tab", "a\tb", 3, 64, "a?b" },
		{ "8bit", "caf\xc3\xa9", 5, 64, "caf??" },
		{ "nul inside", "a\0b", 3, 64, "a?b" },
		{ "len shorter than string", "abcdef", 3, 64, "abc" },
		{ "exact fit", "abcde", 5, 6, "abcde" },
		{ "cut", "abcdefghij", 10, 8, "abcd..." },
		{ "cut keeps sanitising", "\n\nbcdefghij", 11, 8, "??bc..." },
		{ "cut tiny 4", "abcdef", 6, 4, "..." },
		{ "cut tiny 3", "abcdef", 6, 3, ".." },
		{ "cut tiny 2", "abcdef", 6, 2, "." },
		{ "outlen 1", "abcdef", 6, 1, "" },
		{ "null input", NULL, 5, 8, "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct san_case *c = &cases[i];
		char out[80];
		char *r;

		memset(out, 'Z', sizeof(out));
		r = es_log_sanitize(c->in, c->len, out, c->outlen);
		if (r != out || strcmp(out, c->want) != 0)
			fail_msg("case %s: got \"%s\", want \"%s\"", c->name,
			    out, c->want);
		/* nothing written past outlen */
		if (out[c->outlen] != 'Z')
			fail_msg("case %s: wrote past outlen", c->name);
	}
}

static void
test_sanitize_outlen_zero(void **state)
{
	char out[4] = "xyz";

	(void)state;
	assert_ptr_equal(es_log_sanitize("abc", 3, out, 0), out);
	assert_string_equal(out, "xyz");
}

/* capture - run fn with stderr sent to a temporary file; return what
 * was written (caller frees). */
static char *
capture(void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved;
	long size;
	char *text;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn(arg);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	size = ftell(tmp);
	assert_true(size >= 0);
	rewind(tmp);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, tmp), (size_t)size);
	fclose(tmp);
	return text;
}

static void
log_levels(void *arg)
{
	(void)arg;
	es_log_open("test-ident", true, LOG_MAIL, LOG_INFO);
	es_log_err("disk %s", "full");
	es_log_warning("w %d", 1);
	es_log_notice("n");
	es_log_info("hello %d", 42);
	es_log_debug("hidden at info");
	es_log_set_level(LOG_WARNING);
	es_log_info("hidden at warning");
	es_log_warning("shown");
	es_log_set_level(LOG_DEBUG);
	es_log_debug("now shown");
	es_log_info("two\nlines\r");
	es_log_close();
}

static void
test_stderr_format(void **state)
{
	char want[1024];
	char *got;
	long pid = (long)getpid();

	(void)state;
	got = capture(log_levels, NULL);
	snprintf(want, sizeof(want),
	    "test-ident[%ld]: err: disk full\n"
	    "test-ident[%ld]: warning: w 1\n"
	    "test-ident[%ld]: notice: n\n"
	    "test-ident[%ld]: info: hello 42\n"
	    "test-ident[%ld]: warning: shown\n"
	    "test-ident[%ld]: debug: now shown\n"
	    "test-ident[%ld]: info: two?lines?\n",
	    pid, pid, pid, pid, pid, pid, pid);
	if (strcmp(got, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", got, want);
	free(got);
}

static void
log_long(void *arg)
{
	char *big = arg;

	es_log_open("t", true, LOG_MAIL, LOG_INFO);
	es_log_info("%s", big);
	es_log_close();
}

static void
test_long_message_cut(void **state)
{
	char big[10000];
	char *got, *nl;
	size_t len;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	got = capture(log_long, big);
	len = strlen(got);
	/* one line, cut well below the input and marked */
	nl = strchr(got, '\n');
	assert_non_null(nl);
	assert_ptr_equal(nl, got + len - 1);
	assert_true(len < 4096);
	assert_true(len > 1000);
	assert_memory_equal(nl - 3, "...", 3);
	free(got);
}

#define NTHREADS 4
#define NLINES 300

static void *
thread_main(void *arg)
{
	int t = (int)(intptr_t)arg;
	int i;

	for (i = 0; i < NLINES; i++)
		es_log_info("thread %d line %d "
		            "padding-padding-padding-padding-padding-padding",
		    t, i);
	return NULL;
}

static void
log_threads(void *arg)
{
	pthread_t th[NTHREADS];
	int i;

	(void)arg;
	es_log_open("thr", true, LOG_MAIL, LOG_INFO);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
		                     (void *)(intptr_t)i),
		    0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	es_log_close();
}

static void
test_threads_whole_lines(void **state)
{
	char *got, *line, *save = NULL;
	int seen[NTHREADS] = { 0 };
	int nlines = 0;
	char prefix[64];

	(void)state;
	snprintf(prefix, sizeof(prefix), "thr[%ld]: info: thread ",
	    (long)getpid());
	got = capture(log_threads, NULL);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int t, i, used = 0;

		if (strncmp(line, prefix, strlen(prefix)) != 0)
			fail_msg("bad line: %s", line);
		if (sscanf(line + strlen(prefix), "%d line %d %n", &t, &i,
		        &used) != 2 ||
		    t < 0 || t >= NTHREADS || i != seen[t] ||
		    strcmp(line + strlen(prefix) + used,
		        "padding-padding-padding-padding-padding-padding") != 0)
			fail_msg("bad line: %s", line);
		seen[t]++;
		nlines++;
	}
	assert_int_equal(nlines, NTHREADS * NLINES);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_outlen_zero),
		cmocka_unit_test(test_stderr_format),
		cmocka_unit_test(test_long_message_cut),
		cmocka_unit_test(test_threads_whole_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
