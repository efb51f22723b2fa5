/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The byte transport under a session: plain file descriptors, or TLS
 * (tls.c) over them.  The connection loop moves bytes only through this, so it
 * never knows whether they are encrypted.
 */
#ifndef POP3D_TRANSPORT_H
#define POP3D_TRANSPORT_H

#include <sys/types.h>

struct transport {
	int	 fd_in;		/* polled for reading */
	int	 fd_out;	/* polled for writing */
	void	*ctx;		/* the implementation's state */

	/* Like read(2)/write(2): bytes moved, 0 at end of input, or -1 with errno. */
	ssize_t	 (*read)(struct transport *, void *, size_t);
	ssize_t	 (*write)(struct transport *, const void *, size_t);

	/* Bytes already decoded and waiting, so the caller must not poll first. */
	size_t	 (*pending)(struct transport *);

	/*
	 * End the stream cleanly (TLS: send close_notify) and free the
	 * implementation's state; the descriptors stay open.  Best effort,
	 * bounded in time.  NULL when there is nothing to do.
	 */
	void	 (*shutdown)(struct transport *);

	int	 secure;	/* bytes are encrypted (TLS is active) */
};

/* Set up t to move bytes through fd_in and fd_out unchanged. */
void	transport_plain(struct transport *t, int fd_in, int fd_out);

#endif
