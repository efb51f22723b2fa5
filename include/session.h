/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The POP3 protocol engine.  It does no I/O: the caller feeds it the
 * client's bytes and writes out the reply bytes it produces.  It reaches
 * credentials and the maildrop only through struct session_backend.
 */
#ifndef POP3D_SESSION_H
#define POP3D_SESSION_H

#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "maildrop.h"

struct session;

/*
 * The services a session calls.  Each returns at once; the caller
 * (prelogin.c's and direct.c's backends, or a test) decides how: before
 * a login, the monitor checks credentials and the login is handed on to
 * the process that becomes the mailbox's owner; there the maildrop is
 * opened.
 */
struct session_backend {
	void	*ctx;

	/* Returns an enum auth_result; on AUTH_OK *who is filled in. */
	int	(*check_password)(void *ctx, const char *user, const char *pass,
		    struct auth_user *who);
	int	(*check_apop)(void *ctx, const char *user,
		    const char *timestamp, const char *digest,
		    struct auth_user *who);

	/*
	 * Open who's maildrop, or hand the login on to the process that
	 * will (MD_HANDOFF).  Returns an enum md_status; on MD_OK *ops and
	 * *md are set.
	 */
	int	(*open_maildrop)(void *ctx, const struct auth_user *who,
		    const struct maildrop_ops **ops, void **md);

	/*
	 * Optional: why the last credentials check failed, for the log
	 * only ("unknown user", "wrong password"); never sent to the client.
	 */
	const char *(*why)(void *ctx);
};

/* What session_work wants its caller to do next. */
enum session_want {
	SESSION_READ,	/* flush out, then feed more input */
	SESSION_WRITE,	/* flush out, then call session_work again */
	SESSION_END,	/* flush out (best effort), then close the connection */

	/*
	 * STLS was accepted: flush out (it ends with the "+OK"), throw away
	 * every input byte buffered outside the session (the session has
	 * already dropped its own: RFC 2595 section 4 injection), run the
	 * TLS handshake, then call session_tls_started and session_work.
	 * If the handshake fails, close the connection.
	 */
	SESSION_STARTTLS,

	/*
	 * open_maildrop returned MD_HANDOFF: the login went to the process
	 * that will serve the user (privsep.c), so this one adds no reply.
	 * Flush out, hand over what session_handoff() returns and the
	 * caller's own unread input, then stop serving the client.
	 */
	SESSION_HANDOFF
};

/*
 * A new session in the AUTHORIZATION state.  peer names the client in log
 * lines; apop_stamp is the "<...>" greeting timestamp, unique per greeting,
 * used only when APOP is enabled.  Returns NULL with errno set.
 */
struct session	*session_new(const struct conf *, const struct session_backend *,
		    const char *peer, const char *apop_stamp);

/*
 * Tell the session about its connection: secure when TLS is already
 * active (implicit TLS), loopback when the client is on this machine
 * (for plaintext_auth local), can_stls when STLS may be offered (TLS is
 * configured).  Call before the greeting; the default is 0, 0, 0.
 */
void		 session_set_link(struct session *, int secure, int loopback,
		    int can_stls);

/*
 * TLS is now active after STLS: the session forgets what the client said
 * before (a USER name) and offers the capabilities of a secure connection.
 */
void		 session_tls_started(struct session *);

/*
 * The TLS in use, as tls_describe() writes it ("TLSv1.2 SUITE"; "" or
 * NULL for none): login lines name it after the login command.  Call it
 * after session_set_link (implicit TLS) or session_tls_started.
 */
void		 session_set_tls(struct session *, const char *desc);

/*
 * After SESSION_HANDOFF, what the next process needs to go on: *how gets
 * the login command that was handed off ("USER", "APOP", "AUTH PLAIN", a
 * static string), *p the input bytes fed but not yet processed (the
 * commands the client pipelined behind its login, valid until the next
 * call into the session).  Returns their count.
 */
size_t		 session_handoff(struct session *, const char **how,
		    const char **p);

/*
 * Finish, in a new session, a login that another process verified: open
 * who's maildrop through the backend and append the reply to the login
 * command (how: "USER", "APOP", "AUTH PLAIN", with the TLS that was in use
 * after ", " for the log line) to out.  Call it instead of
 * session_greeting.  Nothing can verify a second login here, so when the
 * maildrop can't be opened the reply is an -ERR and the session ends.
 */
void		 session_resume(struct session *, struct auth_user *who,
		    const char *how, struct buf *out);

/*
 * The session stops before a QUIT, for why ("idle timeout", "terminated
 * by signal"): a maildrop still open is closed without UPDATE and the
 * logout line says why.  session_free does it too, with "no QUIT".
 */
void		 session_close(struct session *, const char *why);

/* Free the session; a maildrop still open is closed without UPDATE. */
void		 session_free(struct session *);

/* Append the greeting to out. */
void		 session_greeting(struct session *, struct buf *out);

/*
 * Take client bytes into the session's input buffer.  Returns how many
 * were taken: fewer than len when the buffer is full (call session_work,
 * then offer the rest again).
 */
size_t		 session_feed(struct session *, const void *data, size_t len);

/*
 * Process buffered command lines and continue a multi-line reply, appending
 * to out until it is nearly full.  Returns an enum session_want.
 */
int		 session_work(struct session *, struct buf *out);

/*
 * Milliseconds the caller should let pass, counted from when it handed
 * the session the line, before flushing out: set after a failed login
 * to slow down guessing, then cleared.
 */
unsigned	 session_delay(struct session *);

/*
 * The caller is about to wait for input, with nothing buffered and all
 * output written: after a RETR, the session hints the next message to the
 * maildrop (its prefetch), once.
 */
void		 session_idle(struct session *);

#endif
