/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The messages between a connection's root monitor and its jailed
 * pre-login process (privmsg.c, linked on both sides): one fixed-size
 * message, then for some types the bytes it announces, over a
 * socketpair.
 */
#ifndef POP3D_PRIVMSG_H
#define POP3D_PRIVMSG_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "params.h"

/* Room for a reason ("wrong password") or "TLSv1.2 TLS-ECDHE-...". */
#define PRIVSEP_TEXT_MAX	96

/* A numeric client address and port, "[v6]:port" at most. */
#define PRIVSEP_PEER_MAX	64

/* How the client logged in, for the log: "AUTH PLAIN" is the longest. */
#define PRIVSEP_HOW_MAX		16

/* Four 32-bit fields, then the NUL-padded strings. */
#define PRIVSEP_MSG_SIZE	(16 + (AUTH_NAME_MAX + 1) + \
				    (AUTH_PASS_MAX + 1) + PRIVSEP_TEXT_MAX + \
				    PRIVSEP_PEER_MAX + PRIVSEP_HOW_MAX)

/*
 * Pipelined input a handoff may carry: what the session buffered behind
 * the login line plus what the connection loop had read past it.
 */
#define PRIVSEP_UNREAD_MAX	(2 * SESSION_INBUF_SIZE)

/*
 * The key operations (PS_SIGN to PS_TICKET) carry no string: their bytes
 * follow the message, unread of them, a length the decoder bounds by
 * type (a digest's exact size, TLS_SESSION_MAX, TLS_TICKET_MAX,
 * TLS_SIG_MAX).  Answers say 0 done, 1 refused (and carry nothing).
 */
enum privsep_type {
	PS_PASSWORD = 1,	/* pre-login -> monitor: user, secret = password */
	PS_APOP,		/* pre-login -> monitor: user, secret = digest */
	PS_VERDICT,		/* monitor -> pre-login: result, text = reason */
	PS_HANDOFF,		/* pre-login -> monitor: secure, unread, text,
				   peer (from a PROXY header, maybe), how */
	PS_SIGN,		/* pre-login -> monitor: result = enum tls_md,
				   secure = certificate, the digest */
	PS_SIGNED,		/* monitor -> pre-login: result, the signature */
	PS_SEAL,		/* pre-login -> monitor: session state */
	PS_OPEN,		/* pre-login -> monitor: a ticket */
	PS_TICKET,		/* monitor -> pre-login: result, the ticket
				   (for PS_SEAL) or the state (PS_OPEN) */
	PS_REKEY,		/* pre-login -> monitor, first and once: secret =
				   the real client's address key (PROXY), hex */
	PS_ADMIT		/* monitor -> pre-login: result 0 admitted, 1
				   over max_sessions_per_ip */
};

struct privsep_msg {
	uint32_t	type;		/* enum privsep_type */
	uint32_t	result;		/* PS_VERDICT: enum auth_result */
	uint32_t	secure;		/* PS_HANDOFF: TLS is active */
	uint32_t	unread;		/* PS_HANDOFF: input bytes that follow;
					   key operations: their bytes */
	char		user[AUTH_NAME_MAX + 1];
	char		secret[AUTH_PASS_MAX + 1];
	char		text[PRIVSEP_TEXT_MAX];
	char		peer[PRIVSEP_PEER_MAX];
	char		how[PRIVSEP_HOW_MAX];	/* "USER", "AUTH PLAIN" */
};

/*
 * Lay m out in exactly PRIVSEP_MSG_SIZE bytes at out: numbers in network
 * order, each string NUL-padded to its field.  Returns 0, or -1 when a
 * string does not fit its field.
 */
int	privsep_encode(const struct privsep_msg *m, unsigned char *out);

/*
 * Parse PRIVSEP_MSG_SIZE bytes from the other side into m, trusting
 * nothing: a known type, numbers in range, every string NUL-terminated
 * inside its field with only NULs after it, a valid user name where one
 * is needed, an APOP digest of 32 hex digits.  Returns 0, or -1.
 */
int	privsep_decode(const unsigned char *in, struct privsep_msg *m);

/*
 * Write all n bytes of p to fd, waiting out EINTR and EAGAIN.  Returns 0,
 * or -1 with errno set.
 */
int	privsep_write_all(int fd, const void *p, size_t n);

/* Read exactly n bytes from fd.  Returns 0, or -1 (errno 0 at EOF). */
int	privsep_read_all(int fd, void *p, size_t n);

/*
 * Encode m and write it to fd.  Returns 0, or -1 with errno set (EINVAL:
 * a string does not fit its field).
 */
int	privsep_send_msg(int fd, const struct privsep_msg *m);

/*
 * Read one message from fd and decode it into m.  Returns 0, -1 at end
 * of file or on an error (errno 0 at EOF), -2 when it is malformed.
 */
int	privsep_recv_msg(int fd, struct privsep_msg *m);

/*
 * Give the heap's free pages back to the system (glibc's malloc_trim;
 * elsewhere nothing), as a login's end leaves many of them free.
 */
void	privsep_trim_heap(void);

#endif
