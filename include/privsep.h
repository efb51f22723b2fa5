/*
 * Privilege separation: per connection, a privileged monitor verifies
 * logins for an unprivileged, jailed pre-login process that runs TLS and
 * the protocol engine, then becomes the mailbox owner and serves the
 * session.  They talk in fixed-size messages over a socketpair.
 */
#ifndef POP3D_PRIVSEP_H
#define POP3D_PRIVSEP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "conn.h"

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
 * Once at start-up, as whoever started pop3d: when that is root, look up
 * `user' (refusing uid 0) and make sure the `chroot' directory exists and
 * is writable by root alone.  Returns 0, or -1 (logged).
 */
int	privsep_init(const struct conf *c);

/*
 * For pop3d -t: what privsep_init would refuse, changing nothing that
 * stays (a missing jail is made and removed again, to show it can be).
 * Returns 0, or -1 (logged).
 */
int	privsep_check_setup(const struct conf *c);

/*
 * Become a mailbox's owner for good, as a session does after its login:
 * the groups of the account name (NULL: gid alone) plus mail_group,
 * chroot into the directory of mailbox (rewritten to the path inside),
 * then uid and gid (never 0).  Not root: nothing changes.  0, or -1
 * (logged).
 */
int	privsep_become_owner(uid_t uid, gid_t gid, const char *name,
	    char *mailbox);

/*
 * Serve one client connection on fd_in/fd_out with privilege separation:
 * give the session an id for the log, fork the jailed pre-login process
 * and verify its logins here, then serve the verified user as the owner
 * of the mailbox.  link->peer, loopback, implicit_tls and tls are filled
 * in by the caller.  prepare, unless NULL, runs first in the jailed
 * process, with the descriptor of its channel to the monitor (for
 * privsep_rekey); it may read a PROXY header and rewrite link's peer and
 * loopback, and returns 0, or -1 to close the connection.  Returns 0
 * when the session ended normally, -1 otherwise (logged).
 */
int	privsep_serve(const struct conf *c, int fd_in, int fd_out,
	    struct conn_link *link,
	    int (*prepare)(struct conn_link *, int monitor, void *),
	    void *arg);

/*
 * In the pre-login process, when a PROXY header named the real client
 * (sa): ask the monitor on fd to count this session under its address.
 * Returns 0 when admitted, 1 when that address has max_sessions_per_ip
 * sessions already (the monitor logged it), -1 when the monitor can't be
 * reached.
 */
int	privsep_rekey(int fd, const struct sockaddr *sa);

#endif
