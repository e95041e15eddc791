/*
 * es_buf.c - growable byte buffer with a hard maximum.
 *
 * Capacity doubles from 64 bytes up to max + 1; every size computation
 * checks for overflow before it adds or multiplies. See es_buf.h for the
 * contract. Allocation goes through es_alloc, so out-of-memory returns
 * ES_ENOMEM and leaves the buffer as it was.
 */
#include "es_buf.h"

#include <stdio.h>
#include <string.h>

#include "es_alloc.h"
#include "es_err.h"

void
es_buf_init(struct es_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
es_buf_release(struct es_buf *b)
{
	es_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
es_buf_reset(struct es_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int
es_buf_reserve(struct es_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return ES_ELIMIT;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = es_realloc(b->data, cap);
	if (p == NULL)
		return ES_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
es_buf_append(struct es_buf *b, const void *p, size_t len)
{
	int err;

	if ((err = es_buf_reserve(b, len)) != 0)
		return err;
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
es_buf_puts(struct es_buf *b, const char *s)
{
	return es_buf_append(b, s, strlen(s));
}

int
es_buf_putc(struct es_buf *b, int c)
{
	char ch = (char)c;

	return es_buf_append(b, &ch, 1);
}

int
es_buf_vprintf(struct es_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, err;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return ES_EINVAL;
	if ((err = es_buf_reserve(b, (size_t)n)) != 0)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
es_buf_printf(struct es_buf *b, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = es_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

char *
es_buf_steal(struct es_buf *b, size_t *lenp)
{
	char *p = b->data;

	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
