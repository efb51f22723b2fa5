/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * What the protocol engine needs from a maildrop.  mbox.c implements it;
 * the unit tests and fuzzers implement it in memory.
 *
 * Messages are numbered by idx, 0..count-1, fixed for the session; the
 * session alone turns a client's 1-based number into an idx.
 */
#ifndef POP3D_MAILDROP_H
#define POP3D_MAILDROP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth.h"

enum md_status {
	MD_OK,
	MD_INUSE,	/* another POP3 session holds it: [IN-USE] */
	MD_TEMP,	/* a lock timed out, an I/O error: [SYS/TEMP] */
	MD_PERM,	/* corrupt mailbox, no permission: [SYS/PERM] */
	MD_CHANGED,	/* rewritten by another program: [SYS/TEMP], nothing changed */
	MD_HANDOFF,	/* open_maildrop only: another process serves the user now */
	MD_LOGIN_DELAY	/* open_maildrop only: login_delay not over: [LOGIN-DELAY] */
};

struct maildrop_ops {
	/* Messages in the maildrop as opened. */
	size_t		 (*count)(void *md);

	/* Octets RETR sends for idx: CRLF line ends, before byte-stuffing. */
	uint64_t	 (*size)(void *md, size_t idx);

	/* The unique-id of idx: 1..UID_MAX characters in 0x21..0x7E. */
	const char	*(*uid)(void *md, size_t idx);

	/*
	 * Start streaming idx: the whole message when body_lines < 0 (RETR),
	 * else the header, the blank line and body_lines body lines (TOP).
	 * Returns an enum md_status.
	 */
	int		 (*msg_open)(void *md, size_t idx, long body_lines);

	/*
	 * Produce up to cap more bytes of the message started by msg_open:
	 * CRLF line ends, byte-stuffed, the last line ended by CRLF, without
	 * the ".CRLF" terminator.  Returns the byte count, 0 at the end, or -1
	 * on an error (already logged: the session must end).
	 */
	ssize_t		 (*msg_read)(void *md, char *out, size_t cap);

	/*
	 * A hint, may be NULL: the client will likely read idx next, and the
	 * session is waiting for it.  Changes nothing that any other call
	 * returns.
	 */
	void		 (*prefetch)(void *md, size_t idx);

	/*
	 * UPDATE: remove every idx whose del[idx] is non-zero, keeping every
	 * other byte and any mail delivered since the open.  Returns an enum
	 * md_status; on anything but MD_OK the maildrop is unchanged.
	 */
	int		 (*update)(void *md, const unsigned char *del);

	/* Release every lock and free the maildrop. */
	void		 (*close)(void *md);
};

#endif
