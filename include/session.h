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
 * The services a session calls.  Each returns at once; the caller (pop3d.c,
 * or a test) decides how: the privilege switch before a maildrop is opened
 * lives in open_maildrop.
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
	 * Become who (where the process must switch users) and open its
	 * maildrop.  Returns an enum md_status; on MD_OK *ops and *md are set.
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
	SESSION_END	/* flush out (best effort), then close the connection */
};

/*
 * A new session in the AUTHORIZATION state.  peer names the client in log
 * lines; apop_stamp is the "<...>" greeting timestamp, unique per greeting,
 * used only when APOP is enabled.  Returns NULL with errno set.
 */
struct session	*session_new(const struct conf *, const struct session_backend *,
		    const char *peer, const char *apop_stamp);

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
 * Milliseconds the caller should wait before flushing out: set after a
 * failed login to slow down guessing, then cleared.
 */
unsigned	 session_delay(struct session *);

#endif
