/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fixed-capacity byte buffers: they never grow, so what a session can make
 * pop3d allocate is bounded by its buffers' sizes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int
buf_init(struct buf *b, size_t cap)
{
	/* malloc(0) may return NULL: keep one byte so data is always valid. */
	if ((b->data = malloc(cap > 0 ? cap : 1)) == NULL) {
		b->len = b->cap = 0;
		return -1;
	}
	b->len = 0;
	b->cap = cap;
	return 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

size_t
buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > buf_room(b))
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	size_t	room = buf_room(b);
	int	n;

	if (b->data == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	/* Bytes written past len are not part of the buffer until len moves. */
	if (n < 0 || (size_t)n >= room)
		return -1;
	b->len += (size_t)n;
	return 0;
}

void
buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
