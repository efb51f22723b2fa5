/*
 * One client connection: the loop that moves bytes between a transport
 * and a session, with the idle timeout.  Standalone, inetd and systemd
 * launches all end up here.
 */
#ifndef POP3D_CONN_H
#define POP3D_CONN_H

#include "auth.h"
#include "conf.h"
#include "transport.h"

struct buf;
struct iplimit;
struct tls_server;

/* What the process model knows about one connection. */
struct conn_link {
	const char		*peer;		/* the client, for log lines */
	int			 loopback;	/* client on this machine */
	int			 sock;		/* a socket: a hang-up shows */
	int			 implicit_tls;	/* handshake before greeting */
	struct tls_server	*tls;		/* NULL: TLS not configured */

	/* Set by privsep.c: logins go to the monitor on privsep_fd. */
	int			 privsep;
	int			 privsep_fd;

	/*
	 * The listener's session table and this session's slot in it, for
	 * the monitor alone (a PROXY header's real client); NULL in the
	 * pre-login and session processes, and without a listener.
	 */
	struct iplimit		*lim;
	int			 lim_slot;
	const char		*stamp;		/* APOP stamp; NULL: make one */

	/*
	 * Failed logins (faildelay.c): those the listener remembers from
	 * this address, and those privsep.c's monitor counts here.
	 */
	unsigned		 fail_penalty;
	unsigned		 failures;
};

/*
 * Serve one POP3 session over t until the session ends it (QUIT, too many
 * errors), the client leaves, or the idle timeout fires.  With
 * implicit_tls the TLS handshake comes first; with tls, STLS is offered.
 * Returns 0 when the session ended it, -1 otherwise (already logged).
 */
int	conn_serve(const struct conf *, struct transport *t,
	    const struct conn_link *link);

/*
 * Serve the rest of a session whose login another process verified and
 * handed over (privsep.c): who's maildrop is opened through mbox.c, the
 * reply to the login command (how) goes out, then the bytes in `in' (what
 * the client pipelined behind its login) are taken as input before t.
 * `in' stays the input buffer; the caller frees it.  Returns like
 * conn_serve.
 */
int	conn_resume(const struct conf *, struct transport *t,
	    const struct conn_link *link, struct auth_user *who,
	    const char *how, struct buf *in);

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
