/*
 * es_buf.h - growable byte buffer with a hard maximum.
 *
 * The buffer holds bytes (NUL allowed) in data[0..len). It keeps one
 * spare byte so data[len] is always '\0' when data is not NULL, which
 * makes text use convenient without a separate terminate step.
 * Growth stops at max: an append that would pass it appends nothing and
 * returns ES_ELIMIT, so a hostile input can never make the buffer grow
 * without bound. The struct is public for fast access; change it only
 * through these functions. Not thread-safe (one owner).
 */
#ifndef ES_BUF_H
#define ES_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct es_buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes in use */
	size_t cap;  /* bytes allocated (len + 1 <= cap once allocated) */
	size_t max;  /* hard maximum of len */
};

/* es_buf_init - an empty buffer that may hold at most max bytes. */
void es_buf_init(struct es_buf *b, size_t max);
/* es_buf_release - free the storage; the buffer is empty and reusable. */
void es_buf_release(struct es_buf *b);
/* es_buf_reset - len = 0, storage kept. */
void es_buf_reset(struct es_buf *b);
/*
 * es_buf_append - append len bytes. Returns 0, ES_ELIMIT (nothing
 * appended: len would pass max) or ES_ENOMEM (nothing appended).
 */
int es_buf_append(struct es_buf *b, const void *p, size_t len);
/* es_buf_puts - append a C string. */
int es_buf_puts(struct es_buf *b, const char *s);
/* es_buf_putc - append one byte. */
int es_buf_putc(struct es_buf *b, int c);
/* es_buf_printf - append formatted text; ES_ELIMIT appends nothing. */
int es_buf_printf(struct es_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int es_buf_vprintf(struct es_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* es_buf_reserve - make room for extra more bytes (same errors). */
int es_buf_reserve(struct es_buf *b, size_t extra);
/*
 * es_buf_steal - hand the storage to the caller (who frees it with
 * es_free) and leave the buffer empty. Returns NULL when nothing was
 * ever appended; *lenp (if not NULL) gets the length.
 */
char *es_buf_steal(struct es_buf *b, size_t *lenp);

#endif
