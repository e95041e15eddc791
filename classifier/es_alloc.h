/*
 * es_alloc.h - the one allocation wrapper every module uses.
 *
 * All heap allocation in the libraries and programs goes through these
 * functions, so that a test can make the Nth allocation fail and check
 * that every caller handles out-of-memory as an ordinary error.
 * Out of memory is reported by a NULL return; nothing here aborts.
 * Thread-safe: the fault counter is atomic.
 */
#ifndef ES_ALLOC_H
#define ES_ALLOC_H

#include <stddef.h>

void *es_malloc(size_t size);
void *es_calloc(size_t nmemb, size_t size);
void *es_realloc(void *ptr, size_t size);
/* es_reallocarray - realloc of nmemb * size with an overflow check. */
void *es_reallocarray(void *ptr, size_t nmemb, size_t size);
/* es_strdup, es_strndup - copies the caller frees with es_free. */
char *es_strdup(const char *s);
char *es_strndup(const char *s, size_t n);
/* es_memdup - a copy of len bytes; the caller frees it. */
void *es_memdup(const void *p, size_t len);
/* es_free - free(); es_free(NULL) does nothing. */
void es_free(void *ptr);

/*
 * es_alloc_fail_after - test hook: after n more successful allocations,
 * every allocation fails until the hook is reset with n < 0 (the
 * default, never fail). n = 0 makes the very next allocation fail.
 */
void es_alloc_fail_after(long n);
/* es_alloc_calls - allocations attempted since start (for fault loops). */
long es_alloc_calls(void);

#endif
