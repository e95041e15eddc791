/*
 * test_buf.c - es_buf and es_alloc: bounds, growth, failure injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "es_alloc.h"
#include "es_buf.h"
#include "es_err.h"

static void
test_append_and_terminate(void **state)
{
	struct es_buf b;

	(void)state;
	es_buf_init(&b, 100);
	assert_int_equal(es_buf_append(&b, "ab\0c", 4), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "ab\0c", 4);
	assert_int_equal(b.data[4], '\0');
	assert_int_equal(es_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data + 4, "42-x");
	es_buf_release(&b);
	assert_null(b.data);
}

static void
test_hard_maximum(void **state)
{
	struct es_buf b;
	char big[64];

	(void)state;
	memset(big, 'x', sizeof(big));
	es_buf_init(&b, 10);
	assert_int_equal(es_buf_append(&b, big, 10), 0);
	/* one more byte passes max: refused, nothing appended */
	assert_int_equal(es_buf_putc(&b, 'y'), ES_ELIMIT);
	assert_int_equal(b.len, 10);
	assert_int_equal(es_buf_printf(&b, "%s", "z"), ES_ELIMIT);
	assert_int_equal(b.len, 10);
	/* a length that would overflow size_t arithmetic */
	assert_int_equal(es_buf_append(&b, big, SIZE_MAX), ES_ELIMIT);
	es_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(es_buf_puts(&b, "abc"), 0);
	es_buf_release(&b);
}

static void
test_enomem_leaves_buffer_intact(void **state)
{
	struct es_buf b;
	int i;

	(void)state;
	es_buf_init(&b, 1 << 20);
	assert_int_equal(es_buf_puts(&b, "keep"), 0);
	es_alloc_fail_after(0);
	/* growing past the first 64-byte block needs a realloc */
	for (i = 0; i < 100; i++)
		if (es_buf_puts(&b, "0123456789") != 0)
			break;
	es_alloc_fail_after(-1);
	assert_true(i < 100);
	assert_memory_equal(b.data, "keep", 4);
	assert_int_equal(b.len, 4 + 10 * (size_t)i);
	es_buf_release(&b);
}

static void
test_steal(void **state)
{
	struct es_buf b;
	size_t len;
	char *p;

	(void)state;
	es_buf_init(&b, 100);
	assert_null(es_buf_steal(&b, &len));
	assert_int_equal(es_buf_puts(&b, "hello"), 0);
	p = es_buf_steal(&b, &len);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	assert_null(b.data);
	es_free(p);
}

static void
test_reallocarray_overflow(void **state)
{
	char *p;

	(void)state;
	assert_null(es_reallocarray(NULL, SIZE_MAX / 2, 4));
	p = es_strndup("abcdef", 3);

	assert_string_equal(p, "abc");
	es_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_hard_maximum),
		cmocka_unit_test(test_enomem_leaves_buffer_intact),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_reallocarray_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
