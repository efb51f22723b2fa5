/*
 * UPDATE for the mbox maildrop: under the delivery locks, check that the
 * file is still the one scanned, then compact it in place, keeping mail
 * delivered since the scan.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "lock.h"
#include "log.h"
#include "maildrop.h"
#include "mbox_int.h"
#include "params.h"

static int
pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	ssize_t	n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Move the bytes [src, end) down to *dst.  0, or -1 (logged). */
static int
move_range(struct mbox *m, uint64_t src, uint64_t end, uint64_t *dst)
{
	ssize_t	n;
	size_t	want;

	if (src == *dst) {
		*dst = end;
		return 0;
	}
	while (src < end) {
		want = end - src < MBOX_READ_CHUNK ? (size_t)(end - src) :
		    MBOX_READ_CHUNK;
		n = pread(m->fd, m->buf, want, (off_t)src);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			log_warn("%s: read during UPDATE", m->path);
			return -1;
		}
		if (pwrite_all(m->fd, m->buf, (size_t)n, *dst) == -1) {
			log_warn("%s: write during UPDATE", m->path);
			return -1;
		}
		src += (uint64_t)n;
		*dst += (uint64_t)n;
	}
	return 0;
}

/*
 * Check, under the delivery locks, that the file is the one scanned:
 * every message from first on still starts where it did, and whatever
 * was added since starts a message.  An enum md_status; *cur is the size.
 */
static int
update_verify(struct mbox *m, size_t first, uint64_t *cur)
{
	size_t	i;
	int	st, r;

	if ((st = mbox_same(m, cur)) != MD_OK)
		return st;
	for (i = first; i < m->nmsgs; i++)
		if ((r = mbox_from_at(m, m->msgs[i].start)) != 1)
			goto bad;
	i = m->nmsgs;
	if (*cur > m->size && (r = mbox_from_at(m, m->size)) != 1)
		goto bad;
	return MD_OK;
 bad:
	if (r == -1)
		return MD_TEMP;
	log_warnx("%s: rewritten by another program during the session "
	    "(no \"From \" line at offset %llu): nothing deleted", m->path,
	    (unsigned long long)(i < m->nmsgs ? m->msgs[i].start : m->size));
	return MD_CHANGED;
}

/*
 * Compact in place: slide every kept message from the first deleted one
 * on, each with its From_ line and separator, down over the gaps, then the
 * mail appended since the scan, and cut the file.  A crash in here leaves
 * a damaged mailbox; a journalled version will replace this function.
 * Signals are blocked so that a stop request cannot cut it short.
 */
static int
update_compact(struct mbox *m, const unsigned char *del, size_t first,
    uint64_t cur)
{
	sigset_t	all, old;
	uint64_t	dst = m->msgs[first].start, end;
	size_t		i;
	int		st = MD_TEMP;

	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	for (i = first; i < m->nmsgs; i++) {
		if (del[i])
			continue;
		end = i + 1 < m->nmsgs ? m->msgs[i + 1].start : m->size;
		if (move_range(m, m->msgs[i].start, end, &dst) == -1)
			goto out;
	}
	if (move_range(m, m->size, cur, &dst) == -1)
		goto out;
	if (ftruncate(m->fd, (off_t)dst) == -1) {
		log_warn("%s: ftruncate", m->path);
		goto out;
	}
	if (fsync(m->fd) == -1) {
		log_warn("%s: fsync", m->path);
		goto out;
	}
	m->size = dst;
	st = MD_OK;
 out:
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return st;
}

int
mbox_update(void *md, const unsigned char *del)
{
	struct mbox	*m = md;
	uint64_t	 cur;
	size_t		 first;
	int		 st;

	for (first = 0; first < m->nmsgs && !del[first]; first++)
		;
	if (first == m->nmsgs)
		return MD_OK;
	if (m->stale) {
		log_warnx("%s: a second UPDATE in one session", m->path);
		return MD_TEMP;
	}
	m->reading = 0;
	if ((st = lock_take(&m->lk)) != MD_OK)
		return st;
	if ((st = update_verify(m, first, &cur)) == MD_OK) {
		/* done or half done, the index no longer describes the file */
		st = update_compact(m, del, first, cur);
		m->stale = 1;
	}
	lock_release(&m->lk);
	return st;
}
