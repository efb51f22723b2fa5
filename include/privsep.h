/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Privilege separation, root's side (privsep.c): per connection, a
 * privileged monitor verifies logins for an unprivileged, jailed
 * pre-login process that runs TLS and the protocol engine (prelogin.c),
 * then becomes the mailbox owner and serves the session (direct.c).
 * They talk in fixed-size messages over a socketpair (privmsg.h).
 */
#ifndef POP3D_PRIVSEP_H
#define POP3D_PRIVSEP_H

#include <sys/types.h>

#include "conf.h"
#include "conn.h"

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
 * At SIGHUP, in the listener, with the new configuration c: look up
 * mail_group again for the sessions to come (`user' stays the start's).
 * A failed lookup keeps the old group, logged.
 */
void	privsep_reload(const struct conf *c);

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
 * prelogin_rekey); it may read a PROXY header and rewrite link's peer and
 * loopback, and returns 0, or -1 to close the connection.  Returns 0
 * when the session ended normally, -1 otherwise (logged).
 */
int	privsep_serve(const struct conf *c, int fd_in, int fd_out,
	    struct conn_link *link,
	    int (*prepare)(struct conn_link *, int monitor, void *),
	    void *arg);

#endif
