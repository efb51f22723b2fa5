/*
 * Mailbox locks: the delivery locks MDAs honour (fcntl, dotlock), taken
 * in the configured order with bounded waits, and the session lock
 * (flock) that answers [IN-USE].
 */
#ifndef POP3D_LOCK_H
#define POP3D_LOCK_H

#include <limits.h>
#include <signal.h>

#include "conf.h"
#include "maildrop.h"

/*
 * The owner fills in path, lockpath, fd, methods, nmethods and timeout
 * (zeroed memory holds nothing); the held flags and sigsave belong to
 * lock.c.
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
 * Take the session lock on fd without waiting; it lasts until fd is
 * closed.  Returns an enum md_status: MD_OK, MD_INUSE when another
 * session holds it, or MD_TEMP (logged).
 */
int	lock_session(struct lockset *);

#endif
