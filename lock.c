/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Mailbox locks (see lock.h): fcntl, NFS-safe dotlocks and flock for the
 * delivery agents, with bounded waits and stale dotlock breaking, and a
 * session lock in a file of its own, so that it blocks no MDA whatever
 * methods the MDAs use.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <errno.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "params.h"
#include "spool.h"

/* Pause between lock attempts, in milliseconds. */
#define LOCK_NAP_MS	100

static void
lock_nap(void)
{
	struct timespec	ts = { 0, LOCK_NAP_MS * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/* Non-zero once timeout seconds have passed since t0. */
static int
lock_expired(const struct lockset *lk, const struct timespec *t0)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - t0->tv_sec > (time_t)lk->timeout ||
	    (now.tv_sec - t0->tv_sec == (time_t)lk->timeout &&
	    now.tv_nsec >= t0->tv_nsec);
}

static int
fcntl_setlk(int fd, short type)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, F_SETLK, &fl);
}

/* One attempt at each kind of lock: MD_OK, BUSY, or MD_TEMP (logged). */
#define BUSY	(-1)

static int
try_fcntl(struct lockset *lk)
{
	if (fcntl_setlk(lk->fd, F_WRLCK) == 0) {
		lk->fcntl_held = 1;
		return MD_OK;
	}
	if (errno == EACCES || errno == EAGAIN || errno == EINTR)
		return BUSY;
	log_warn("%s%s: fcntl lock", spool_dir(lk->path), lk->path);
	return MD_TEMP;
}

/* flock(2) as a delivery lock: some MDAs and MUAs use it. */
static int
try_flock(struct lockset *lk)
{
	if (flock(lk->fd, LOCK_EX | LOCK_NB) == 0) {
		lk->flock_held = 1;
		return MD_OK;
	}
	if (errno == EWOULDBLOCK || errno == EINTR)
		return BUSY;
	log_warn("%s%s: flock", spool_dir(lk->path), lk->path);
	return MD_TEMP;
}

/*
 * One attempt at the dotlock, NFS-safe as liblockfile does it: link a
 * uniquely named file to the lock name and trust the link count, not
 * link()'s return value.  Returns 1 when locked, 0 when busy, -1 on an
 * error (logged).
 */
static int
dot_try(struct lockset *lk, const char *tmp)
{
	struct stat	st;
	char		pid[32];
	ssize_t		n;
	int		fd, len, r;

	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1) {
		log_warn("%s%s: cannot create a dotlock", spool_dir(tmp), tmp);
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if ((n = write(fd, pid, (size_t)len)) == len)
		r = 0;
	else if (n >= 0 || errno == ENOSPC || errno == EDQUOT)
		/*
		 * No room for the pid (a full disk, a user over quota, who
		 * must still get in to delete mail): an empty lock is a lock
		 * all the same, only judged by its age alone.
		 */
		r = ftruncate(fd, 0);
	else
		r = -1;
	if (close(fd) == -1 || r == -1) {
		log_warn("%s%s: write", spool_dir(tmp), tmp);
		(void)unlink(tmp);
		return -1;
	}
	if (link(tmp, lk->lockpath) == -1 && errno != EEXIST) {
		log_warn("%s%s: link to %s%s", spool_dir(tmp), tmp,
		    spool_dir(lk->lockpath), lk->lockpath);
		(void)unlink(tmp);
		return -1;
	}
	r = lstat(tmp, &st) == 0 && st.st_nlink == 2;
	(void)unlink(tmp);
	return r;
}

/*
 * Whether the process a dotlock names is gone: its first line is a pid
 * (pop3d, liblockfile's dotlockfile and mutt_dotlock write one) of no
 * process on this machine.  On NFS the pid may be another host's, and a
 * lock without one can't tell: both count as alive, left to their age.
 * The file must still be the one of st.  Returns the pid, or 0.
 */
static long
dot_owner_gone(const char *path, const struct stat *st)
{
	struct statfs	sfs;
	struct stat	fst;
	char		buf[32], *end;
	ssize_t		n;
	long		pid = 0;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &fst) == 0 && fst.st_dev == st->st_dev &&
	    fst.st_ino == st->st_ino && fstatfs(fd, &sfs) == 0 &&
	    sfs.f_type != NFS_SUPER_MAGIC &&
	    (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		pid = strtol(buf, &end, 10);
		if (end == buf || (*end != '\n' && *end != '\0') || pid <= 1 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			pid = 0;
	}
	(void)close(fd);
	return pid;
}

/*
 * Remove the dotlock if it is stale: its process is gone (a session or
 * an MDA killed while it held the lock), or its time is
 * DOTLOCK_STALE_AGE in the past, or as far in the future, which no lock
 * just taken has (a file planted with a time years ahead would otherwise
 * lock every MDA and session out for as long).  Returns 1 if it is gone
 * now.
 */
static int
dot_stale(struct lockset *lk)
{
	struct stat	st, again;
	time_t		now = time(NULL);
	char		real[PATH_MAX], why[64];
	long		pid;

	if (lstat(lk->lockpath, &st) == -1)
		return errno == ENOENT;
	if ((pid = dot_owner_gone(lk->lockpath, &st)) != 0)
		snprintf(why, sizeof(why), "its process %ld is gone", pid);
	else if (now - st.st_mtime > DOTLOCK_STALE_AGE)
		snprintf(why, sizeof(why), "%lld seconds old",
		    (long long)(now - st.st_mtime));
	else if (st.st_mtime - now > DOTLOCK_STALE_AGE)
		snprintf(why, sizeof(why), "%lld seconds in the future",
		    (long long)(st.st_mtime - now));
	else
		return 0;
	/* Not one taken again meanwhile (the race dotlocking leaves open). */
	if (lstat(lk->lockpath, &again) == -1)
		return errno == ENOENT;
	if (again.st_ino != st.st_ino || again.st_dev != st.st_dev)
		return 0;
	spool_name(lk->lockpath, real, sizeof(real));
	if (unlink(lk->lockpath) == -1 && errno != ENOENT) {
		log_warn("%s: cannot remove a stale dotlock", real);
		return 0;
	}
	log_warnx("%s: removed a stale dotlock (%s)", real, why);
	return 1;
}

static int
try_dot(struct lockset *lk)
{
	char	tmp[PATH_MAX], host[64];
	int	r;

	if (gethostname(host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	r = snprintf(tmp, sizeof(tmp), "%s.%s.%ld.lk", lk->path, host,
	    (long)getpid());
	if (r < 0 || (size_t)r >= sizeof(tmp)) {
		log_warnx("%s%s: path too long for a dotlock",
		    spool_dir(lk->path), lk->path);
		return MD_TEMP;
	}
	if ((r = dot_try(lk, tmp)) == 0 && dot_stale(lk))
		r = dot_try(lk, tmp);
	if (r == -1)
		return MD_TEMP;
	if (r == 0)
		return BUSY;
	lk->dot_held = 1;
	return MD_OK;
}

/*
 * While a delivery lock is held every signal waits: a stop request then
 * lands after the dotlock is gone, never leaving one behind for the MDA.
 * The waits inside are bounded by timeout.
 */
static void
signals_hold(struct lockset *lk)
{
	sigset_t	all;

	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &lk->sigsave);
	lk->sig_held = 1;
}

/* Drop the delivery locks held, keeping signals as they are. */
static void
release_held(struct lockset *lk)
{
	if (lk->dot_held) {
		if (unlink(lk->lockpath) == -1)
			log_warn("%s%s: unlink", spool_dir(lk->lockpath),
			    lk->lockpath);
		lk->dot_held = 0;
	}
	if (lk->fcntl_held) {
		(void)fcntl_setlk(lk->fd, F_UNLCK);
		lk->fcntl_held = 0;
	}
	if (lk->flock_held) {
		(void)flock(lk->fd, LOCK_UN);
		lk->flock_held = 0;
	}
}

void
lock_release(struct lockset *lk)
{
	release_held(lk);
	if (lk->sig_held) {
		lk->sig_held = 0;
		(void)sigprocmask(SIG_SETMASK, &lk->sigsave, NULL);
	}
}

static int
try_lock(struct lockset *lk, enum mbox_lock how)
{
	if (how == LOCK_FCNTL)
		return try_fcntl(lk);
	if (how == LOCK_FLOCK)
		return try_flock(lk);
	return try_dot(lk);
}

static void
log_busy(const struct lockset *lk, enum mbox_lock how)
{
	if (how == LOCK_DOTLOCK)
		log_warnx("%s%s: dotlock %s%s still held after %u seconds",
		    spool_dir(lk->path), lk->path, spool_dir(lk->lockpath),
		    lk->lockpath, lk->timeout);
	else
		log_warnx("%s%s: %s lock still held by another process after "
		    "%u seconds", spool_dir(lk->path), lk->path,
		    how == LOCK_FCNTL ? "fcntl" :
		    "flock", lk->timeout);
}

/*
 * All or nothing, in the configured order: when one lock is busy, the
 * ones taken are let go before the pause.  Holding one while waiting for
 * the next deadlocks with an MDA that takes them in the other order
 * (procmail takes the dotlock, then waits for fcntl; Debian's policy
 * says fcntl first), until one side's timeout.
 */
int
lock_take(struct lockset *lk)
{
	struct timespec	t0;
	int		i, r = MD_OK;

	signals_hold(lk);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (i = 0; i < lk->nmethods; i++)
			if ((r = try_lock(lk, lk->methods[i])) != MD_OK)
				break;
		if (i == lk->nmethods)
			return MD_OK;
		release_held(lk);
		if (r == BUSY && lock_expired(lk, &t0)) {
			log_busy(lk, lk->methods[i]);
			r = MD_TEMP;
		}
		if (r != BUSY) {
			lock_release(lk);
			return r;
		}
		lock_nap();
	}
}

int
lock_sibling(const char *path, const char *suffix, char *out, size_t len)
{
	const char	*base = strrchr(path, '/');
	int		 n;

	base = base == NULL ? path : base + 1;
	n = snprintf(out, len, "%.*s.%s%s", (int)(base - path), path, base,
	    suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
flock_configured(const struct lockset *lk)
{
	int	i;

	for (i = 0; i < lk->nmethods; i++)
		if (lk->methods[i] == LOCK_FLOCK)
			return 1;
	return 0;
}

/*
 * Open (creating) the session lock file.  Someone else's file there
 * could be held for ever to lock us out: it is set aside and ours made.
 * Returns the descriptor, or -1: with errno EACCES when the file can't
 * be made or is still not ours, so the caller falls back to flock; any
 * other errno is a real failure (logged).
 */
static int
sess_open(struct lockset *lk, char *name, size_t len)
{
	char	real[PATH_MAX];
	int	fd;

	if (lock_sibling(lk->path, ".pop3d-session", name, len) == -1) {
		log_warnx("%s%s: path too long for a session lock",
		    spool_dir(lk->path), lk->path);
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = spool_open(name, O_RDWR | O_CREAT, SPOOL_OURS, NULL);
	if (fd == -1 && errno == EPERM && spool_set_aside(name) == 0)
		fd = spool_open(name, O_RDWR | O_CREAT, SPOOL_OURS, NULL);
	if (fd == -1) {
		if (errno == EACCES || errno == EPERM || errno == EROFS)
			errno = EACCES;
		else
			log_warn("%s: open", spool_name(name, real,
			    sizeof(real)));
	}
	return fd;
}

/* The fallback session lock: a flock on the mailbox itself. */
static int
sess_flock(struct lockset *lk, const char *name)
{
	if (flock_configured(lk)) {
		log_warnx("%s%s: cannot use %s%s as the session lock, and "
		    "flock is a delivery lock: make the directory writable, or "
		    "drop flock from mbox_locks", spool_dir(lk->path), lk->path,
		    spool_dir(name), name);
		return MD_TEMP;
	}
	log_info("%s%s: cannot use %s%s as the session lock: using flock on "
	    "the mailbox", spool_dir(lk->path), lk->path, spool_dir(name),
	    name);
	if (flock(lk->fd, LOCK_EX | LOCK_NB) == 0) {
		lk->sess_held = 2;
		return MD_OK;
	}
	if (errno == EWOULDBLOCK) {
		log_info("%s%s: in use by another POP3 session",
		    spool_dir(lk->path), lk->path);
		return MD_INUSE;
	}
	log_warn("%s%s: flock", spool_dir(lk->path), lk->path);
	return MD_TEMP;
}

/*
 * An OFD lock (owned by the open file, not the process) so that it
 * neither merges with our own fcntl delivery lock on the mailbox nor is
 * lost when some library closes another descriptor of the file.  The
 * file is left in place: removing a lock file races with its next user.
 */
int
lock_session(struct lockset *lk)
{
	struct flock	fl;
	char		name[PATH_MAX];
	int		fd;

	if ((fd = sess_open(lk, name, sizeof(name))) == -1)
		return errno == EACCES ? sess_flock(lk, name) : MD_TEMP;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		(void)close(fd);
		if (errno == EACCES || errno == EAGAIN) {
			log_info("%s%s: in use by another POP3 session",
			    spool_dir(lk->path), lk->path);
			return MD_INUSE;
		}
		log_warn("%s%s: lock", spool_dir(name), name);
		return MD_TEMP;
	}
	lk->sess_fd = fd;
	lk->sess_held = 1;
	return MD_OK;
}

void
lock_session_end(struct lockset *lk)
{
	if (lk->sess_held == 1)
		(void)close(lk->sess_fd);
	else if (lk->sess_held == 2)
		(void)flock(lk->fd, LOCK_UN);
	lk->sess_held = 0;
}
