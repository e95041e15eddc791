/*
 * es_alloc.c - allocation wrapper with fault injection.
 *
 * The functions are thin: they call the C library and, when a test has
 * armed the fault counter, return NULL at the chosen call instead. The
 * fault counter is process-wide and atomic so tests of threaded code can
 * use it; in production it is never armed and costs one atomic load.
 */
#include "es_alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_after = -1;
static atomic_long calls;

/* should_fail - count the call and decide whether the test hook fires. */
static int
should_fail(void)
{
	long n;

	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	n = atomic_load_explicit(&fail_after, memory_order_relaxed);
	if (n < 0)
		return 0;
	if (n == 0)
		return 1;
	atomic_fetch_sub_explicit(&fail_after, 1, memory_order_relaxed);
	return 0;
}

void *
es_malloc(size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(size ? size : 1);
}

void *
es_calloc(size_t nmemb, size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	return calloc(nmemb, size);
}

void *
es_realloc(void *ptr, size_t size)
{
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, size ? size : 1);
}

void *
es_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return es_realloc(ptr, nmemb * size);
}

char *
es_strdup(const char *s)
{
	return es_memdup(s, strlen(s) + 1);
}

char *
es_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = es_malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *
es_memdup(const void *src, size_t len)
{
	void *p = es_malloc(len);

	if (p != NULL && len > 0)
		memcpy(p, src, len);
	return p;
}

void
es_free(void *ptr)
{
	free(ptr);
}

void
es_alloc_fail_after(long n)
{
	atomic_store(&fail_after, n < 0 ? -1 : n);
}

long
es_alloc_calls(void)
{
	return atomic_load(&calls);
}
