/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The listening side of a standalone daemon: its sockets (opened from the
 * configuration, or handed over by systemd), detaching from the terminal,
 * and the pidfile.
 */
#ifndef POP3D_LISTEN_H
#define POP3D_LISTEN_H

#include <poll.h>

#include "conf.h"

#define MAX_LISTENERS	(2 * CONF_LISTEN_MAX)

struct listeners {
	struct pollfd	pfd[MAX_LISTENERS];
	int		tls[MAX_LISTENERS];	/* implicit TLS (listen_tls) */
	int		n;
	int		systemd;	/* sockets came from LISTEN_FDS */
};

/*
 * Open every listen and listen_tls address of c (close-on-exec).
 * Returns 0, or -1 (logged; nothing left open).
 */
int	listen_open(const struct conf *c, struct listeners *l);

/*
 * Take the listening sockets systemd passed (sd_listen_fds(3)'s protocol:
 * LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; a socket named "pop3s" is
 * implicit TLS, any other plain) and unset those variables.  Returns 1
 * with l filled in, 0 when pop3d was not socket-activated, -1 on a bad
 * hand-over (logged).
 */
int	listen_systemd(struct listeners *l);

/*
 * At start, before anything is opened: close every descriptor inherited
 * from whatever started pop3d but the standard three and the sockets
 * systemd passes (LISTEN_FDS, when LISTEN_PID is ours), so that none of
 * them reaches a session or the jail.
 */
void	listen_close_inherited(void);

/*
 * Without a certificate: close every TLS socket in l (systemd may pass
 * one) with a warning naming it and the configuration file.  Returns how
 * many sockets remain.
 */
int	listen_drop_tls(struct listeners *l, const char *file);

/* Close every listening socket in l. */
void	listen_close(struct listeners *l);

/*
 * Whether a and b listen on the same plain and TLS addresses (SIGHUP can't
 * move listeners once root is gone).  Returns 1 or 0.
 */
int	listen_same(const struct conf *a, const struct conf *b);

/*
 * Detach from the terminal: fork (the parent exits), setsid, chdir to /,
 * standard descriptors to /dev/null.  Returns 0, or -1 with errno.
 */
int	listen_daemonize(void);

/*
 * Create and lock path (while still root), so a second daemon refuses to
 * start.  Returns the open descriptor, or -1 (logged).
 */
int	pidfile_open(const char *path);

/* Write this process's pid into the pidfile fd.  Returns 0 or -1 (errno). */
int	pidfile_write(int fd);

/*
 * At exit: remove path, or empty it where the directory no longer lets
 * us (root is gone), and close fd.  fd -1 does nothing.
 */
void	pidfile_remove(const char *path, int fd);

#endif
