/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Files in a mail spool: anyone who can write the mailbox's directory
 * (group mail on Debian's /var/mail, another user's session there, anyone
 * on a 1777 spool) can put a file under any name, so every file pop3d
 * opens there is checked before a byte of it is trusted.
 */
#ifndef POP3D_SPOOL_H
#define POP3D_SPOOL_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

/* What a file beside a mailbox must be for spool_open to trust it. */
enum spool_kind {
	SPOOL_OURS,	/* made by pop3d: also no group or other write */
	SPOOL_MAILBOX	/* made by an MDA: its mode is the admin's choice */
};

/*
 * The session process is jailed in dir (the mailbox's directory, seen
 * from outside): log lines name files by their real path, not by the
 * jail's.  NULL or "" for none.
 */
void	spool_jailed(const char *dir);

/*
 * path as the administrator finds it: inside a jail, the jail's
 * directory in front.  Returns out (len bytes, cut if need be).
 */
const char *spool_name(const char *path, char *out, size_t len);

/*
 * The same without a buffer, for a log line's "%s%s": what goes before
 * path (the jail's directory, or "").  For functions whose frame every
 * login runs below, where a PATH_MAX buffer would cost stack.
 */
const char *spool_dir(const char *path);

/*
 * Open path with flags (O_RDONLY or O_RDWR, maybe O_CREAT, which makes a
 * missing file mode 0600) without following a symbolic link or blocking
 * on a FIFO, and trust it only if it is a regular file owned by our
 * effective uid with one link (kind SPOOL_OURS: and no group or other
 * write).  st, unless NULL, gets its fstat.  Returns the descriptor, or
 * -1 with errno: ENOENT when there is no such file, EPERM when there is
 * one that fails the checks (not opened, logged with its real path and
 * why), EINVAL (logged too) for a SPOOL_MAILBOX that is ours but no
 * regular file, anything else for a failure of the call (not logged).
 */
int	spool_open(const char *path, int flags, enum spool_kind kind,
	    struct stat *st);

/*
 * Move a foreign file away from path, to "path.foreign-TIME", so that
 * an administrator can look at it and pop3d can make its own: never
 * obeyed, never removed unseen.  Returns 0 (also when it has gone
 * meanwhile), or -1 (logged).
 */
int	spool_set_aside(const char *path);

/*
 * Create a file of our own beside path, named path, '.' and random
 * letters (mode 0600, close-on-exec), so nobody can hold its name in
 * advance.  tmp (len bytes) gets the name.  Returns the descriptor, or
 * -1 with errno set.
 */
int	spool_tmpfile(const char *path, char *tmp, size_t len);

#endif
