/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * A fixed-capacity byte buffer: the session's output and the transport's
 * staging area.  It never grows, so per-session memory is bounded.
 */
#ifndef POP3D_BUF_H
#define POP3D_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* Allocate cap bytes.  Returns 0, or -1 with errno set. */
int	buf_init(struct buf *, size_t cap);

/* Free the storage; the buffer may be initialised again. */
void	buf_free(struct buf *);

/* Bytes that can still be appended. */
size_t	buf_room(const struct buf *);

/* Append n bytes.  Returns 0, or -1 (nothing appended) when they don't fit. */
int	buf_add(struct buf *, const void *, size_t n);

/* Append printf output.  Returns 0, or -1 (nothing appended) when it doesn't fit. */
int	buf_printf(struct buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Remove the first n bytes, keeping the rest. */
void	buf_drop(struct buf *, size_t n);

#endif
