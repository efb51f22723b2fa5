/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * One client connection: the pump that moves bytes between a transport
 * and a session, with the idle timeout and STLS.  Its caller hands it the
 * transport and the backend the session's logins and maildrop go
 * through; it knows no process, privilege or mailbox, so the pre-login
 * process and the user's process (privsep.c), whatever launched them,
 * run the same loop.
 */
#ifndef POP3D_CONN_H
#define POP3D_CONN_H

#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "session.h"
#include "transport.h"

struct peerlimit_sess;
struct tls_server;

/* What the process model knows about one connection. */
struct conn_link {
	const char		*peer;		/* the client, for log lines */
	int			 loopback;	/* client on this machine */
	int			 sock;		/* a socket: a hang-up shows */
	int			 implicit_tls;	/* handshake before greeting */
	struct tls_server	*tls;		/* NULL: TLS not configured */
	const char		*stamp;		/* APOP stamp; NULL: make one */

	/*
	 * For privsep.c's monitor alone, never the pump: the listener's
	 * session table and this session's slot in it (a PROXY header's
	 * real client), NULL in the pre-login and session processes and
	 * without a listener; failed logins (peerlimit.c), those the
	 * listener remembers from this address and those counted here.
	 */
	struct peerlimit_sess	*lim;
	int			 lim_slot;
	unsigned		 fail_penalty;
	unsigned		 failures;
};

/*
 * What a session is served with: the backend its credentials checks and
 * its maildrop go through, and hand_on, where a login goes that the
 * backend's open_maildrop handed on (MD_HANDOFF): it gets the transport,
 * the login command ("USER", "AUTH PLAIN") and the bytes the client sent
 * behind the login, in two pieces, and returns 0, or -1 (logged).  NULL
 * where open_maildrop never hands a login on.
 */
struct conn_backend {
	struct session_backend	 session;
	int	(*hand_on)(void *ctx, struct transport *t, const char *how,
		    const char *a, size_t alen, const char *b, size_t blen);
};

/*
 * A session that starts after a login another process verified: the
 * reply to the login command (how) comes first, from who's maildrop
 * opened through the backend, then the bytes in `in' (what the client
 * pipelined behind the login) are taken as input before t's.  `in' is
 * the input buffer from then on; the caller frees it.
 */
struct conn_resume {
	struct auth_user	*who;
	const char		*how;
	struct buf		*in;
};

/*
 * Serve one POP3 session over t until the session ends it (QUIT, too many
 * errors), the client leaves, the idle timeout fires, or a login is
 * handed on.  Without resume it starts at the greeting and must see a
 * login within login_timeout.  With implicit_tls the TLS handshake comes
 * first; with tls, STLS is offered.  t is left for the caller to end (its
 * shutdown hook).  Returns 0 when the session ended it, 1 when be handed
 * its login on, -1 otherwise (already logged).
 */
int	conn_serve(const struct conf *, struct transport *t,
	    const struct conn_link *link, const struct conn_backend *be,
	    const struct conn_resume *resume);

/*
 * From now on in this process, SIGTERM ends conn_serve's session at its
 * next wait for the client, and its logout line says so: for the user's
 * process, which has a maildrop open.  Call it before the syscall filter
 * (which has no sigaction).  Returns 0, or -1 (logged).
 */
int	conn_catch_term(void);

/* Milliseconds on CLOCK_MONOTONIC. */
long long	conn_now_ms(void);

/*
 * Wait until conn_now_ms() reaches until, unless the client on fd leaves
 * first (the end of its input; watched only when watch is set: fd is a
 * socket, where a pipe from a test ends its input early).  Returns 0, or
 * -1 when it left.
 */
int	conn_wait_until(int fd, int watch, long long until);

/* A fresh APOP greeting stamp, "<pid.random@host>" (RFC 1939 section 7). */
void	conn_make_stamp(char *stamp, size_t len);

#endif
