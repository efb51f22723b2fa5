/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Mailbox locks: the delivery locks MDAs honour (fcntl, dotlock, flock),
 * taken in the configured order with bounded waits, and the session lock
 * that answers [IN-USE]: an OFD lock on .NAME.pop3d-session beside the
 * mailbox, or a flock on the mailbox where that file can't be made.
 */
#ifndef POP3D_LOCK_H
#define POP3D_LOCK_H

#include <limits.h>
#include <signal.h>

#include "conf.h"
#include "maildrop.h"

/*
 * The owner fills in path, lockpath, fd, methods, nmethods and timeout
 * (zeroed memory holds nothing); the held flags, sess_fd and sigsave
 * belong to lock.c.
 */
struct lockset {
	const char	*path;		/* the mailbox, for logs; outlives us */
	char		 lockpath[PATH_MAX];	/* path.lock */
	int		 fd;		/* the open mailbox */
	enum mbox_lock	 methods[CONF_LOCKS_MAX];	/* in order */
	int		 nmethods;
	unsigned	 timeout;	/* seconds per delivery lock */
	int		 fcntl_held;
	int		 dot_held;
	int		 flock_held;	/* flock as a delivery lock */
	int		 sess_held;	/* 1: OFD lock on sess_fd, 2: flock on fd */
	int		 sess_fd;	/* the session lock file, if sess_held 1 */
	int		 sig_held;	/* signals blocked, sigsave set */
	sigset_t	 sigsave;
};

/*
 * Take the delivery locks in the configured order, waiting up to timeout
 * seconds for each and breaking a stale dotlock.  Every signal is blocked
 * until lock_release, so a stop request never leaves a dotlock behind.
 * Returns an enum md_status: MD_OK, or MD_TEMP (logged) with nothing held.
 */
int	lock_take(struct lockset *);

/*
 * Release whatever delivery locks are held and restore the signal mask;
 * harmless when nothing is held.  The session lock is not touched.
 */
void	lock_release(struct lockset *);

/*
 * Take the session lock without waiting: an OFD lock on the file
 * ".NAME.pop3d-session" in the mailbox's directory (created if need be,
 * never removed), or, where that file can't be made or isn't ours, a
 * flock on fd, unless flock is a delivery lock.  It lasts until
 * lock_session_end or until fd is closed.  Returns an enum md_status:
 * MD_OK, MD_INUSE when another session holds it, or MD_TEMP (logged).
 */
int	lock_session(struct lockset *);

/* Drop the session lock (harmless when none is held). */
void	lock_session_end(struct lockset *);

/*
 * The name of a file beside the mailbox at path: the directory, '.', the
 * base name, then suffix (".pop3d-session" gives the session lock file).
 * Returns 0, or -1 when it does not fit in len.
 */
int	lock_sibling(const char *path, const char *suffix, char *out,
	    size_t len);

#endif
