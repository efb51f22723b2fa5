/*
 * Mailbox locks (see lock.h): fcntl and NFS-safe dotlocks for the
 * delivery agents, with bounded waits and stale dotlock breaking, and a
 * flock(2) session lock that MDAs' fcntl and dotlocks do not block.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "params.h"

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

static int
lock_fcntl(struct lockset *lk)
{
	struct timespec	t0;

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fcntl_setlk(lk->fd, F_WRLCK) == -1) {
		if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
			log_warn("%s: fcntl lock", lk->path);
			return MD_TEMP;
		}
		if (lock_expired(lk, &t0)) {
			log_warnx("%s: fcntl lock still held by another "
			    "process after %u seconds", lk->path,
			    lk->timeout);
			return MD_TEMP;
		}
		lock_nap();
	}
	lk->fcntl_held = 1;
	return MD_OK;
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
	int		fd, len, r;

	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1) {
		log_warn("%s: cannot create a dotlock", tmp);
		return -1;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	r = write(fd, pid, (size_t)len) == len ? 0 : -1;
	if (close(fd) == -1 || r == -1) {
		log_warn("%s: write", tmp);
		(void)unlink(tmp);
		return -1;
	}
	if (link(tmp, lk->lockpath) == -1 && errno != EEXIST) {
		log_warn("%s: link to %s", tmp, lk->lockpath);
		(void)unlink(tmp);
		return -1;
	}
	r = stat(tmp, &st) == 0 && st.st_nlink == 2;
	(void)unlink(tmp);
	return r;
}

/* Remove the dotlock if it is stale.  Returns 1 if it is gone now. */
static int
dot_stale(struct lockset *lk)
{
	struct stat	st;
	time_t		now = time(NULL);

	if (stat(lk->lockpath, &st) == -1)
		return errno == ENOENT;
	if (now - st.st_mtime <= DOTLOCK_STALE_AGE)
		return 0;
	if (unlink(lk->lockpath) == -1 && errno != ENOENT) {
		log_warn("%s: cannot remove a stale dotlock", lk->lockpath);
		return 0;
	}
	log_warnx("%s: removed a stale dotlock (%lld seconds old)",
	    lk->lockpath, (long long)(now - st.st_mtime));
	return 1;
}

static int
lock_dot(struct lockset *lk)
{
	struct timespec	t0;
	char		tmp[PATH_MAX], host[64];
	int		r;

	if (gethostname(host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	r = snprintf(tmp, sizeof(tmp), "%s.%s.%ld.lk", lk->path, host,
	    (long)getpid());
	if (r < 0 || (size_t)r >= sizeof(tmp)) {
		log_warnx("%s: path too long for a dotlock", lk->path);
		return MD_TEMP;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = dot_try(lk, tmp)) != 1) {
		if (r == -1)
			return MD_TEMP;
		if (dot_stale(lk))
			continue;
		if (lock_expired(lk, &t0)) {
			log_warnx("%s: dotlock %s still held after %u seconds",
			    lk->path, lk->lockpath, lk->timeout);
			return MD_TEMP;
		}
		lock_nap();
	}
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

void
lock_release(struct lockset *lk)
{
	if (lk->dot_held) {
		if (unlink(lk->lockpath) == -1)
			log_warn("%s: unlink", lk->lockpath);
		lk->dot_held = 0;
	}
	if (lk->fcntl_held) {
		(void)fcntl_setlk(lk->fd, F_UNLCK);
		lk->fcntl_held = 0;
	}
	if (lk->sig_held) {
		lk->sig_held = 0;
		(void)sigprocmask(SIG_SETMASK, &lk->sigsave, NULL);
	}
}

/* Take the delivery locks in the configured order.  An enum md_status. */
int
lock_take(struct lockset *lk)
{
	int	i, st;

	signals_hold(lk);
	for (i = 0; i < lk->nmethods; i++) {
		if (lk->methods[i] == LOCK_FCNTL)
			st = lock_fcntl(lk);
		else
			st = lock_dot(lk);
		if (st != MD_OK) {
			lock_release(lk);
			return st;
		}
	}
	return MD_OK;
}

int
lock_session(struct lockset *lk)
{
	if (flock(lk->fd, LOCK_EX | LOCK_NB) == 0)
		return MD_OK;
	if (errno == EWOULDBLOCK) {
		log_info("%s: in use by another POP3 session", lk->path);
		return MD_INUSE;
	}
	log_warn("%s: flock", lk->path);
	return MD_TEMP;
}
