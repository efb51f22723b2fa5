/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * UPDATE's redo journal (journal.h; DESIGN.md, "Crash-safe UPDATE"): the
 * plan of an in-place compaction is made durable beside the mailbox
 * before the mailbox is touched; the kept bytes are then copied down with
 * a checkpoint only when the copy would otherwise overwrite bytes that a
 * restart still needs; and recovery is that same copy engine resumed from
 * the newest valid checkpoint, so it is restartable itself.
 *
 * Plan positions: the bytes to keep, in order, numbered q = 0, 1, ...
 * total - 1; plan byte q goes to dst(q) = d0 + q and comes from src(q),
 * which increases with q.  G(q) = src(q) - dst(q) >= 1 is the count of
 * removed bytes before it.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "faults.h"
#include "fileio.h"
#include "fromline.h"
#include "lock.h"
#include "log.h"
#include "maildrop.h"
#include "md5.h"
#include "params.h"
#include "spool.h"

/*
 * The file: a header (J_HDR bytes), the plan's runs (J_RUN bytes each,
 * src and len), the gaps' hashes (J_GAP bytes each, nruns + 1 of them),
 * the UID file to install (sidelen bytes), then two checkpoint slots of
 * stride bytes each, from slot0.  Integers are little-endian.  Only
 * this version is read: pop3d was never released with another, and a
 * journal of one is set aside like any journal not ours to finish.
 */
#define J_MAGIC		"POP3DJNL"
#define J_VERSION	3
#define J_HDR		128
#define J_RUN		16
#define J_GAP		8
#define J_ALIGN		4096
#define J_RUNS_MAX	((uint64_t)1 << 32)	/* sanity bound when reading */
#define S_MAGIC		"PJCK"
#define S_HDR		80	/* a slot's header; its window follows */

/* Header fields: offsets. */
enum {
	H_VERSION = 8, H_DEV = 16, H_INO = 24, H_CUR = 32, H_D0 = 40,
	H_TAIL = 48, H_NRUNS = 56, H_CAP = 64, H_PLANSUM = 72,
	H_SIDELEN = 88, H_SUM = 96
};

/* Checkpoint slot fields: offsets. */
enum {
	S_PHASE = 4, S_SEQ = 8, S_P = 16, S_W = 24, S_F = 32, S_END = 40,
	S_HASH = 48, S_SUM = 64
};

/* What a check of a journal read from disk says, besides 1, 0 and -1. */
#define J_BAD		(-2)	/* not this mailbox's to finish: set aside */

enum phase {
	PH_MOVING = 1,		/* plan bytes [0, P) are durable in place */
	PH_MOVED = 2		/* all are; the file is to be cut at F */
};

struct jnl {
	const char	*path;		/* the mailbox */
	char		 jpath[PATH_MAX];
	char		 dpath[PATH_MAX];
	int		 mfd;
	int		 jfd;
	struct jplan	 pl;
	int		 own_runs;	/* pl.runs was allocated here */
	uint64_t	*gaps;		/* each gap's From_ line's hash, or NULL */
	unsigned char	*side_buf;	/* recovery: the plan read, pl.side in it */
	uint64_t	 cap;		/* window bytes a slot holds */
	uint64_t	 tfixed;	/* plan bytes in the runs */
	uint64_t	 total;		/* plus those from tail to EOF */
	uint64_t	 slot0;
	uint64_t	 stride;
	uint64_t	 seq;		/* of the newest checkpoint */
	uint64_t	 ckp;		/* its P */
	uint64_t	 ckw;		/* its window: slot + S_HDR */
	int		 dirty;		/* mailbox written since fdatasync */
	unsigned char	*slot;		/* S_HDR + cap bytes */
	char		*buf;		/* JOURNAL_COPY_CHUNK bytes */
	struct iovec	*iov;		/* IOV_MAX entries */
	char		*map;		/* the mailbox from mapoff, or NULL */
	uint64_t	 mapoff;
	uint64_t	 mapend;
	int		 own_map;	/* map is ours to unmap */
	const char	*bad;		/* why load_plan said J_BAD */
};

/* ------------------------------------------------------------------ */
/* The write boundaries (the crash tests' hooks: tests/faults.c) */

/*
 * A write of len bytes at off of fd, called what, is about to happen:
 * the test build's verdict.  -1 to fail it (errno set), 1 to tear it,
 * else 0.
 */
static int
j_write_point(int fd, uint64_t off, uint64_t len, const char *what)
{
	int	r;

	(void)fd;
	(void)off;
	(void)len;
	(void)what;
	if ((r = FAULT(what)) == -1)
		return -1;
	POWER_TOUCH(fd, off, len);
	return r;
}

static int
j_pwrite(int fd, const void *p, size_t len, uint64_t off, const char *what)
{
	int	r;

	if ((r = j_write_point(fd, off, len, what)) == -1)
		return -1;
	if (r == 1) {
		(void)fd_pwrite_all(fd, p, len / 2 + 1, off);
		FAULT_CRASH();
	}
	return fd_pwrite_all(fd, p, len, off);
}

/*
 * pwritev until the first len bytes of iov[0..cnt) are written; iov is
 * used up.  0, or -1 with errno set (EIO when no progress was made).
 */
static int
pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t len, uint64_t off)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < cnt && len > 0; i++) {
		if (iov[i].iov_len > len)
			iov[i].iov_len = (size_t)len;
		len -= iov[i].iov_len;
	}
	cnt = i;
	while (cnt > 0) {
		if ((n = pwritev(fd, iov, cnt, (off_t)off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		off += (uint64_t)n;
		for (; cnt > 0 && (size_t)n >= iov->iov_len; iov++, cnt--)
			n -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* j_pwrite of the len bytes that iov[0..cnt) holds. */
static int
j_pwritev(int fd, struct iovec *iov, int cnt, uint64_t len, uint64_t off,
    const char *what)
{
	int	r;

	if ((r = j_write_point(fd, off, len, what)) == -1)
		return -1;
	if (r == 1) {
		(void)pwritev_all(fd, iov, cnt, len / 2 + 1, off);
		FAULT_CRASH();
	}
	return pwritev_all(fd, iov, cnt, len, off);
}

/* A boundary that is not a pwrite: a torn crash is just a crash. */
static int
j_fault(const char *what)
{
	int	r;

	(void)what;
	if ((r = FAULT(what)) == 1)
		FAULT_CRASH();
	return r;
}

/* fdatasync, or fsync when full (metadata too).  0 or -1. */
static int
j_sync(int fd, int full, const char *what)
{
	int	r;

	if (j_fault(what) == -1)
		return -1;
	if ((r = full ? fsync(fd) : fdatasync(fd)) == 0)
		POWER_SYNCED(fd);
	return r;
}

/*
 * Cut the mailbox at size, unless it has grown past end, the end the
 * plan knows: mail appended by a program that takes none of our locks
 * (an MDA using flock alone, or none) would be cut off.  The check comes
 * last, right before the cut, which leaves only the instant between the
 * two to such a program.  0 when cut, 1 when it grew (nothing done), -1
 * with errno set.
 */
static int
j_cut(int fd, uint64_t size, uint64_t end)
{
	struct stat	st;

	if (j_fault("mailbox ftruncate") == -1 || fstat(fd, &st) == -1)
		return -1;
	if ((uint64_t)st.st_size > end)
		return 1;
	POWER_TRUNCATE(fd, size);
	return ftruncate(fd, (off_t)size);
}

static int
j_unlink(const char *path)
{
	if (j_fault("journal unlink") == -1)
		return -1;
	POWER_UNLINK(path);
	return unlink(path);
}

/* Make a new or removed name in the mailbox directory durable. */
static int
dir_sync(const struct jnl *j)
{
	int	fd, r;

	if ((fd = open(j->dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = j_sync(fd, 1, "directory fsync");
	(void)close(fd);
	return r;
}

/* ------------------------------------------------------------------ */
/* Encoding */

static void
put64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
roundup(uint64_t n, uint64_t to)
{
	return (n + to - 1) / to * to;
}

/* The plan's bytes in the journal: runs, gaps' hashes, UID file. */
static uint64_t
plan_len(uint64_t nruns, uint64_t sidelen)
{
	return J_RUN * nruns + J_GAP * (nruns + 1) + sidelen;
}

/* ------------------------------------------------------------------ */
/* The plan */

/* Number the runs' bytes; sets tfixed.  Then total follows from eof. */
static void
plan_index(struct jnl *j)
{
	size_t	i;

	j->tfixed = 0;
	for (i = 0; i < j->pl.nruns; i++) {
		j->pl.runs[i].pos = j->tfixed;
		j->tfixed += j->pl.runs[i].len;
	}
}

static void
plan_total(struct jnl *j, uint64_t eof)
{
	j->total = j->tfixed + (eof - j->pl.tail);
}

/* src(q), and in *avail how many plan bytes from q are contiguous there. */
static uint64_t
plan_src(const struct jnl *j, uint64_t q, uint64_t *avail)
{
	const struct jmove	*r;
	size_t			 lo = 0, hi = j->pl.nruns, mid;

	if (q >= j->tfixed) {
		*avail = j->total - q;
		return j->pl.tail + (q - j->tfixed);
	}
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (j->pl.runs[mid].pos <= q)
			lo = mid;
		else
			hi = mid;
	}
	r = &j->pl.runs[lo];
	*avail = r->pos + r->len - q;
	return r->src + (q - r->pos);
}

/* Read plan bytes [q, q + n) into out.  0, or -1 (logged). */
static int
plan_read(const struct jnl *j, uint64_t q, uint64_t n, char *out)
{
	uint64_t	s, avail;

	while (n > 0) {
		s = plan_src(j, q, &avail);
		if (avail > n)
			avail = n;
		if (j->map != NULL && s >= j->mapoff && s + avail <= j->mapend)
			memcpy(out, j->map + (s - j->mapoff), (size_t)avail);
		else if (fd_pread_all(j->mfd, out, (size_t)avail, s) == -1) {
			log_warn("%s%s: read during UPDATE", spool_dir(j->path),
			    j->path);
			return -1;
		}
		out += avail;
		q += avail;
		n -= avail;
	}
	return 0;
}

/*
 * The gaps: gap k, the bytes the compaction drops before run k (gap
 * nruns: those after the last run, up to tail; it may be empty).
 */
static uint64_t
gap_start(const struct jnl *j, size_t k)
{
	const struct jmove	*r = j->pl.runs;

	return k == 0 ? j->pl.d0 : r[k - 1].src + r[k - 1].len;
}

static uint64_t
gap_end(const struct jnl *j, size_t k)
{
	return k < j->pl.nruns ? j->pl.runs[k].src : j->pl.tail;
}

/*
 * What names a gap: a hash (FNV-1a, 64 bits: a check against another
 * program's changes, not against an attacker, whom the journal's owner
 * and mode keep out) of its first line, the From_ line of the first
 * message the client deleted there, with its sender and time to the
 * second.  0 for an empty gap.  0, or -1 (logged).
 */
static int
gap_hash(const struct jnl *j, size_t k, uint64_t *h)
{
	char		 b[FROM_LINE_MAX + 1];
	const char	*p = b, *nl;
	uint64_t	 g = gap_start(j, k), n = gap_end(j, k) - g;
	size_t		 i;

	*h = 0;
	if (n == 0)
		return 0;
	if (n > sizeof(b))
		n = sizeof(b);
	if (j->map != NULL && g >= j->mapoff && g + n <= j->mapend)
		p = j->map + (g - j->mapoff);
	else if (fd_pread_all(j->mfd, b, (size_t)n, g) == -1) {
		log_warn("%s%s: read", spool_dir(j->path), j->path);
		return -1;
	}
	if ((nl = memchr(p, '\n', (size_t)n)) != NULL)
		n = (uint64_t)(nl - p + 1);
	*h = 0xcbf29ce484222325ULL;
	for (i = 0; i < n; i++)
		*h = (*h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return 0;
}

/* Hash every gap, for the plan.  0, or -1 (logged). */
static int
plan_gaps(struct jnl *j)
{
	size_t	k;

	if ((j->gaps = calloc(j->pl.nruns + 1, sizeof(*j->gaps))) == NULL) {
		log_warn("%s%s: UPDATE plan", spool_dir(j->path), j->path);
		return -1;
	}
	for (k = 0; k <= j->pl.nruns; k++)
		if (gap_hash(j, k, &j->gaps[k]) == -1)
			return -1;
	return 0;
}

/* Plan bytes [q, q + n) were written: start their write-back. */
static void
put_done(struct jnl *j, uint64_t q, uint64_t n)
{
	j->dirty = 1;
#ifdef SYNC_FILE_RANGE_WRITE
	/*
	 * Start writing these bytes back now, without waiting: the next
	 * fdatasync then finds most of them on their way, so the disk works
	 * while we copy instead of after.  Only a hint; errors show at the
	 * fdatasync.
	 */
	(void)sync_file_range(j->mfd, (off_t)(j->pl.d0 + q), (off_t)n,
	    SYNC_FILE_RANGE_WRITE);
#endif
}

/* Write n bytes to the destination of plan bytes [q, q + n).  0 or -1. */
static int
plan_put(struct jnl *j, const void *p, uint64_t n, uint64_t q)
{
	if (j_pwrite(j->mfd, p, (size_t)n, j->pl.d0 + q, "mailbox pwrite")
	    == -1) {
		log_warn("%s%s: write during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	put_done(j, q, n);
	return 0;
}

/*
 * Point j->iov at the mapped sources of plan bytes [q, q + *n), a vector
 * entry per run, cutting *n short where the vector is full.  Returns the
 * entry count, or 0 when a source is not in the mapping.
 */
static int
plan_iov(struct jnl *j, uint64_t q, uint64_t *n)
{
	uint64_t	s, avail, left = *n;
	int		k;

	for (k = 0; left > 0 && k < IOV_MAX; k++) {
		s = plan_src(j, q, &avail);
		if (avail > left)
			avail = left;
		if (j->map == NULL || s < j->mapoff || s + avail > j->mapend)
			return 0;
		j->iov[k].iov_base = j->map + (s - j->mapoff);
		j->iov[k].iov_len = (size_t)avail;
		q += avail;
		left -= avail;
	}
	*n -= left;
	return k;
}

/*
 * Write plan bytes [q, q + *n) from the mapping straight to their
 * destination, one pwritev, when every source lies at or above the end
 * of that destination (G(q) >= *n, since src increases): then no byte
 * this write covers is one it still has to read, whatever order the
 * kernel copies in.  *n may come back smaller (a full vector).  1 when
 * written, 0 when not possible (the caller gathers through the buffer),
 * -1 (logged) on a write error.
 */
static int
plan_put_direct(struct jnl *j, uint64_t q, uint64_t *n)
{
	uint64_t	avail, len = *n;
	int		k;

	if (j->map == NULL ||
	    plan_src(j, q, &avail) - (j->pl.d0 + q) < len ||
	    (k = plan_iov(j, q, &len)) == 0)
		return 0;
	if (j_pwritev(j->mfd, j->iov, k, len, j->pl.d0 + q,
	    "mailbox pwritev") == -1) {
		log_warn("%s%s: write during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	put_done(j, q, len);
	*n = len;
	return 1;
}

/*
 * How far the copy may run on the newest durable checkpoint, P = ckp
 * with a window of ckw bytes.  A restart at P takes plan bytes
 * [P, A = P + ckw) from the checkpoint and every later one from the
 * mailbox, at src(A) or above since src increases.  So each write made
 * since that checkpoint, to [dst(P), dst(Q)), must stay below src(A):
 *	Q <= src(A) - d0 = A + G(A)
 * (writing over the window's own source bytes is fine: the checkpoint
 * holds them).  Without a window that is P + G(P): copying forward may
 * run one gap ahead of the checkpoint.  Past the plan's end nothing is
 * needed.  Bytes past cur that an MDA appended after a crash are beyond
 * every destination (dst < F < cur), so they are never at risk.
 */
static uint64_t
safe_limit(const struct jnl *j)
{
	uint64_t	a = j->ckp + j->ckw, avail, lim;

	if (a >= j->total)
		return j->total;
	lim = plan_src(j, a, &avail) - j->pl.d0;
	return lim < j->total ? lim : j->total;
}

/*
 * Copy plan bytes [q, lim) into place, JOURNAL_COPY_CHUNK at a time:
 * straight from the mapping where the gap allows (one copy, in the
 * kernel), else gathered into the buffer first.
 */
static int
copy_down(struct jnl *j, uint64_t q, uint64_t lim)
{
	uint64_t	n;
	int		r;

	while (q < lim) {
		n = lim - q < JOURNAL_COPY_CHUNK ? lim - q :
		    JOURNAL_COPY_CHUNK;
		if ((r = plan_put_direct(j, q, &n)) == -1)
			return -1;
		/*
		 * Gathered, runs go into one buffer and out in one pwrite:
		 * dst is contiguous, and every source read here lies above
		 * the bytes this write covers or is already read.
		 */
		if (r == 0 && (plan_read(j, q, n, j->buf) == -1 ||
		    plan_put(j, j->buf, n, q) == -1))
			return -1;
		q += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Checkpoints */

/*
 * Fill slot with the next checkpoint (its window, if any, is already at
 * slot + S_HDR) and return where it goes: the slot the one before did
 * not use, so that a torn write leaves that one valid.
 */
static uint64_t
slot_fill(struct jnl *j, enum phase ph, uint64_t p, uint64_t w,
    uint64_t f, uint64_t end, const unsigned char *hash)
{
	unsigned char	*s = j->slot;
	struct md5	 c;

	memset(s, 0, S_HDR);
	memcpy(s, S_MAGIC, 4);
	s[S_PHASE] = (unsigned char)ph;
	put64(s + S_SEQ, j->seq + 1);
	put64(s + S_P, p);
	put64(s + S_W, w);
	put64(s + S_F, f);
	put64(s + S_END, end);
	if (hash != NULL)
		memcpy(s + S_HASH, hash, MD5_LEN);
	md5_init(&c);
	md5_update(&c, s, S_SUM);
	md5_update(&c, s + S_HDR, (size_t)w);
	md5_final(&c, s + S_SUM);
	return j->slot0 + ((j->seq + 1) % 2) * j->stride;
}

/* The slot written: the newest checkpoint is (p, w). */
static void
slot_done(struct jnl *j, uint64_t p, uint64_t w)
{
	j->seq++;
	j->ckp = p;
	j->ckw = w;
}

/*
 * Write the next checkpoint and make it durable: the copy must not pass
 * the old checkpoint's limit before.  0, or -1 (logged).
 */
static int
checkpoint(struct jnl *j, enum phase ph, uint64_t p, uint64_t w,
    uint64_t f, uint64_t end, const unsigned char *hash)
{
	uint64_t	off = slot_fill(j, ph, p, w, f, end, hash);

	if (j_pwrite(j->jfd, j->slot, S_HDR + (size_t)w, off,
	    "journal checkpoint") == -1 ||
	    j_sync(j->jfd, 0, "journal fdatasync") == -1) {
		log_warn("%s%s: UPDATE journal checkpoint", spool_dir(j->jpath),
		    j->jpath);
		return -1;
	}
	slot_done(j, p, w);
	return 0;
}

/*
 * The window a checkpoint at q carries: the next min(cap, rest) plan
 * bytes when the gap there is below cap, else none (a gap that large
 * moves the limit far enough by itself).  Read into the slot; the size
 * in *w.  0, or -1 (logged).
 */
static int
window_read(struct jnl *j, uint64_t q, uint64_t *w)
{
	uint64_t	g, avail;

	g = plan_src(j, q, &avail) - (j->pl.d0 + q);
	*w = 0;
	if (g < j->cap)
		*w = j->total - q < j->cap ? j->total - q : j->cap;
	return *w > 0 ? plan_read(j, q, *w, (char *)j->slot + S_HDR) : 0;
}

/*
 * The copy reached plan position q, the limit of the last checkpoint:
 * make the copied bytes durable (a checkpoint may only claim durable
 * bytes), then checkpoint at q.  When the gap there is small, the next
 * source bytes go into the checkpoint as a window, which moves the next
 * limit by the window (see safe_limit) at the cost of writing it twice.
 */
static int
advance(struct jnl *j, uint64_t q)
{
	uint64_t	w;

	if (j_sync(j->mfd, 0, "mailbox fdatasync") == -1) {
		log_warn("%s%s: fdatasync during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	j->dirty = 0;
	if (window_read(j, q, &w) == -1)
		return -1;
	return checkpoint(j, PH_MOVING, q, w, 0, 0, NULL);
}

/* The hash of the n bytes at f, the leftover tail.  0, or -1 (logged). */
static int
tail_hash(struct jnl *j, uint64_t f, uint64_t n, unsigned char *out)
{
	if (fd_pread_all(j->mfd, j->buf, (size_t)n, f) == -1) {
		log_warn("%s%s: read during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	md5_digest(j->buf, (size_t)n, out);
	return 0;
}

/*
 * The UID file that goes with the compacted mailbox (uids.c rendered
 * it): installed after the cut and before the journal goes, by the
 * UPDATE or by its recovery, which installs it again if need be.
 * 0, or -1 (logged).
 */
static int
install_side(const struct jnl *j)
{
	char		 name[PATH_MAX], real[PATH_MAX];
	const char	*what;

	if (j->pl.sidelen == 0)
		return 0;
	if (j_fault("UID file replace") == -1) {
		log_warn("%s%s: UID file", spool_dir(j->path), j->path);
		return -1;
	}
	if (lock_sibling(j->path, ".pop3d-uids", name, sizeof(name)) == -1) {
		log_warnx("%s%s: path too long for the UID file",
		    spool_dir(j->path), j->path);
		return -1;
	}
	if (fd_replace(name, j->pl.side, j->pl.sidelen, &what) == -1) {
		log_warn("%s: %s", spool_name(name, real, sizeof(real)), what);
		return -1;
	}
	return 0;
}

/*
 * Every plan byte is in place: record that (with what the leftover tail
 * looks like, so recovery can tell whether the cut below happened), cut
 * the file, and drop the journal.  The MOVED checkpoint must be durable
 * before the cut, which destroys the sources a MOVING one would redo
 * from; the cut must be durable before the journal goes.  The directory
 * is not fsync'ed after the unlink: a journal that comes back after a
 * power loss says MOVED over a file that is already cut, which recovery
 * sees (size, tail hash) and just removes again.  Mail appended meanwhile
 * without our locks (j_cut) is part of the plan's tail: a MOVING
 * checkpoint at the plan's end, as recovery writes for mail that came
 * after a MOVED one, and the copy goes on.  Returns 0, 1 when it must go
 * on, -1 (logged).
 */
static int
finish(struct jnl *j)
{
	unsigned char	hash[MD5_LEN];
	uint64_t	f = j->pl.d0 + j->total;
	uint64_t	end = j->pl.tail + (j->total - j->tfixed);
	uint64_t	n = end - f < JOURNAL_TAIL_HASH ? end - f :
			    JOURNAL_TAIL_HASH;
	int		r;

	if (j->dirty && j_sync(j->mfd, 0, "mailbox fdatasync") == -1) {
		log_warn("%s%s: fdatasync during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	j->dirty = 0;
	if (tail_hash(j, f, n, hash) == -1 ||
	    checkpoint(j, PH_MOVED, j->total, 0, f, end, hash) == -1)
		return -1;
	if ((r = j_cut(j->mfd, f, end)) == -1) {
		log_warn("%s%s: ftruncate during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	if (r == 1) {
		log_info("%s%s: mail appended during the UPDATE without its "
		    "locks: moved down too", spool_dir(j->path), j->path);
		return checkpoint(j, PH_MOVING, j->total, 0, 0, 0, NULL) == 0 ?
		    1 : -1;
	}
	if (j_sync(j->mfd, 1, "mailbox fsync") == -1) {
		log_warn("%s%s: fsync during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	if (install_side(j) == -1)
		return -1;
	if (j_unlink(j->jpath) == -1) {
		log_warn("%s%s: unlink", spool_dir(j->jpath), j->jpath);
		return -1;
	}
	return 0;
}

/*
 * Map the mailbox's source bytes, [d0, end of the plan's sources), so
 * that gathering the kept messages costs no read per message.  A
 * mapping that fails leaves map NULL and plan_read reads instead.  The
 * bytes are the same either way: a shared mapping shows the page cache
 * that pread copies from, writes included.
 */
static void
map_sources(struct jnl *j)
{
	long		 pg = sysconf(_SC_PAGESIZE);
	uint64_t	 off, end = j->pl.tail + (j->total - j->tfixed);
	void		*p;

	j->map = NULL;
	if (pg <= 0)
		return;
	off = j->pl.d0 / (uint64_t)pg * (uint64_t)pg;
	if (end <= off || end - off > SIZE_MAX)
		return;
	p = mmap(NULL, (size_t)(end - off), PROT_READ, MAP_SHARED |
	    MAP_POPULATE, j->mfd, (off_t)off);
	if (p == MAP_FAILED)
		return;
	j->map = p;
	j->mapoff = off;
	j->mapend = end;
}

static void
unmap_sources(struct jnl *j)
{
	if (j->map != NULL)
		(void)munmap(j->map, (size_t)(j->mapend - j->mapoff));
	j->map = NULL;
}

/*
 * From the newest checkpoint to the plan's end: first its window, then
 * copies, each up to the limit the checkpoint allows and followed by the
 * next checkpoint.  A fresh UPDATE starts at P = 0 with no window.
 */
static int
copy_all(struct jnl *j)
{
	uint64_t	q = j->ckp, lim;

	if (j->ckw > 0 && plan_put(j, j->slot + S_HDR, j->ckw, q) == -1)
		return -1;
	q += j->ckw;
	for (;;) {
		lim = safe_limit(j);
		if (copy_down(j, q, lim) == -1)
			return -1;
		q = lim;
		if (q == j->total)
			return 0;
		if (advance(j, q) == -1)
			return -1;
		if (j->ckw > 0 &&
		    plan_put(j, j->slot + S_HDR, j->ckw, q) == -1)
			return -1;
		q += j->ckw;
	}
}

/* The plan's tail reaches the file's end now.  0, or -1 (logged). */
static int
plan_to_eof(struct jnl *j)
{
	struct stat	st;

	if (fstat(j->mfd, &st) == -1) {
		log_warn("%s%s: fstat during UPDATE", spool_dir(j->path),
		    j->path);
		return -1;
	}
	plan_total(j, (uint64_t)st.st_size);
	return 0;
}

/* The copy, then the cut; again for mail that came meanwhile. */
static int
run_copy(struct jnl *j)
{
	int	r;

	while ((r = copy_all(j)) == 0 && (r = finish(j)) == 1)
		if (plan_to_eof(j) == -1)
			return -1;
	return r;
}

/*
 * Map the sources for the copy: through the caller's mapping when there
 * is one (update.c's check of the messages has faulted most of it in
 * already), else through our own.
 */
static void
map_begin(struct jnl *j)
{
	if (j->pl.map != NULL) {
		j->map = j->pl.map;
		j->mapoff = j->pl.mapoff;
		j->mapend = j->pl.mapend;
	} else {
		map_sources(j);
		j->own_map = j->map != NULL;
	}
}

static void
map_end(struct jnl *j)
{
	if (j->own_map)
		unmap_sources(j);
	j->map = NULL;
	j->own_map = 0;
}

/* ------------------------------------------------------------------ */
/* Set-up */

/* The journal's and the directory's names.  0, or -1 (logged). */
static int
jnl_init(struct jnl *j, int fd, const char *path)
{
	const char	*slash = strrchr(path, '/');
	const char	*base = slash != NULL ? slash + 1 : path;
	int		 dl = slash != NULL ? (int)(slash - path) + 1 : 0;
	int		 n, k;

	memset(j, 0, sizeof(*j));
	j->path = path;
	j->mfd = fd;
	j->jfd = -1;
	n = snprintf(j->jpath, sizeof(j->jpath), "%.*s.%s.pop3d-journal",
	    dl, path, base);
	if (dl == 0)
		k = snprintf(j->dpath, sizeof(j->dpath), ".");
	else	/* without the slash, unless it is the root */
		k = snprintf(j->dpath, sizeof(j->dpath), "%.*s",
		    dl > 1 ? dl - 1 : 1, path);
	if (n < 0 || (size_t)n >= sizeof(j->jpath) || k < 0 ||
	    (size_t)k >= sizeof(j->dpath)) {
		log_warnx("%s%s: path too long for an UPDATE journal",
		    spool_dir(path), path);
		return -1;
	}
	return 0;
}

static int
jnl_buffers(struct jnl *j)
{
	j->stride = roundup(S_HDR + j->cap, J_ALIGN);
	j->buf = malloc(JOURNAL_COPY_CHUNK);
	j->slot = malloc(S_HDR + (size_t)j->cap);
	j->iov = calloc(IOV_MAX, sizeof(*j->iov));
	if (j->buf == NULL || j->slot == NULL || j->iov == NULL) {
		log_warn("%s%s: UPDATE buffers", spool_dir(j->path), j->path);
		return -1;
	}
	return 0;
}

static void
jnl_free(struct jnl *j)
{
	if (j->jfd != -1)
		(void)close(j->jfd);
	if (j->own_runs)
		free(j->pl.runs);
	free(j->gaps);
	free(j->side_buf);
	free(j->buf);
	free(j->slot);
	free(j->iov);
}

/* The header and the plan, as written.  NULL on no memory. */
static unsigned char *
encode_plan(const struct jnl *j, size_t *len)
{
	unsigned char	*h;
	size_t		 i;

	*len = J_HDR + plan_len(j->pl.nruns, j->pl.sidelen);
	if ((h = calloc(1, *len)) == NULL)
		return NULL;
	memcpy(h, J_MAGIC, 8);
	h[H_VERSION] = J_VERSION;
	put64(h + H_DEV, (uint64_t)j->pl.dev);
	put64(h + H_INO, (uint64_t)j->pl.ino);
	put64(h + H_CUR, j->pl.cur);
	put64(h + H_D0, j->pl.d0);
	put64(h + H_TAIL, j->pl.tail);
	put64(h + H_NRUNS, j->pl.nruns);
	put64(h + H_CAP, j->cap);
	put64(h + H_SIDELEN, j->pl.sidelen);
	for (i = 0; i < j->pl.nruns; i++) {
		put64(h + J_HDR + J_RUN * i, j->pl.runs[i].src);
		put64(h + J_HDR + J_RUN * i + 8, j->pl.runs[i].len);
	}
	for (i = 0; i <= j->pl.nruns; i++)
		put64(h + J_HDR + J_RUN * j->pl.nruns + J_GAP * i, j->gaps[i]);
	if (j->pl.sidelen > 0)
		memcpy(h + J_HDR + plan_len(j->pl.nruns, 0),
		    j->pl.side, j->pl.sidelen);
	md5_digest(h + J_HDR, *len - J_HDR, h + H_PLANSUM);
	md5_digest(h, H_SUM, h + H_SUM);
	return h;
}

/*
 * The first checkpoint, P = 0 with a window, goes out with the plan and
 * shares its fdatasync, so the copy's first limit is a window and a gap
 * on instead of one gap (the first deleted message's size).  None when
 * that gap is at least the window.  Sets ckw; 0, or -1 (logged).
 */
static int
first_window(struct jnl *j)
{
	uint64_t	w, off;

	j->ckw = 0;
	if (window_read(j, 0, &w) == -1)
		return -1;
	if (w == 0)
		return 0;
	off = slot_fill(j, PH_MOVING, 0, w, 0, 0, NULL);
	if (j_pwrite(j->jfd, j->slot, S_HDR + (size_t)w, off,
	    "journal checkpoint") == -1)
		return -1;
	j->ckw = w;
	return 0;
}

/*
 * A new journal, ours alone.  A file put there since the open (recovery
 * moved any one found then) is set aside once if it is not ours; one of
 * ours means another UPDATE of this mailbox, which the session lock
 * rules out: fail.  Returns the descriptor, or -1 with errno set.
 */
static int
jnl_open_new(const struct jnl *j)
{
	int	fd, flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	if ((fd = open(j->jpath, flags, 0600)) != -1 || errno != EEXIST)
		return fd;
	if ((fd = spool_open(j->jpath, O_RDONLY, SPOOL_OURS, NULL)) != -1) {
		(void)close(fd);
		errno = EEXIST;
		return -1;
	}
	if (errno != EPERM || spool_set_aside(j->jpath) == -1) {
		errno = EEXIST;
		return -1;
	}
	return open(j->jpath, flags, 0600);
}

/*
 * Claim the journal's whole size, so that a full disk (or quota) stops
 * the UPDATE here, before the mailbox is touched, not at a checkpoint.
 * Where the room is short, smaller windows are tried down to none: a
 * checkpoint then moves less (its gap, at the least one byte), so there
 * are more of them, each as safe.  A user over quota can still delete
 * mail by POP.  0, or -1 with errno set.
 */
static int
claim_space(struct jnl *j)
{
	uint64_t	want = j->cap;
	int		e;

	for (;;) {
		j->stride = roundup(S_HDR + j->cap, J_ALIGN);
		if (j_fault("journal fallocate") != 0)
			e = errno;
		else
			e = posix_fallocate(j->jfd, 0, (off_t)(j->slot0 +
			    2 * j->stride));
		if (e == 0 || (e != ENOSPC && e != EDQUOT) || j->cap == 0)
			break;
		/* what the failed claim got goes back before a smaller one */
		if (ftruncate(j->jfd, 0) == -1) {
			e = errno;
			break;
		}
		j->cap = j->cap / 2 / J_ALIGN * J_ALIGN;
	}
	if (e == 0 && j->cap < want)
		log_info("%s%s: little free space: checkpoints every %llu "
		    "bytes of window instead of %llu", spool_dir(j->path),
		    j->path, (unsigned long long)j->cap,
		    (unsigned long long)want);
	errno = e;
	return e == 0 ? 0 : -1;
}

/*
 * Create the journal and make the plan durable, name included, before
 * the mailbox is touched, its size claimed first.  0, or -1 (logged)
 * with no journal left behind.
 */
static int
jnl_create(struct jnl *j)
{
	unsigned char	*h = NULL;
	size_t		 len;

	j->slot0 = roundup(J_HDR + plan_len(j->pl.nruns, j->pl.sidelen),
	    J_ALIGN);
	if (j_fault("journal create") == -1 || (j->jfd = jnl_open_new(j)) ==
	    -1) {
		log_warn("%s%s: cannot create the UPDATE journal",
		    spool_dir(j->jpath), j->jpath);
		return -1;
	}
	POWER_CREATED(j->jfd, j->jpath);
	if (claim_space(j) == -1)
		goto fail;
	if ((h = encode_plan(j, &len)) == NULL ||
	    j_pwrite(j->jfd, h, len, 0, "journal plan") == -1 ||
	    first_window(j) == -1 ||
	    j_sync(j->jfd, 0, "journal fdatasync") == -1 ||
	    dir_sync(j) == -1)
		goto fail;
	if (j->ckw > 0)
		slot_done(j, 0, j->ckw);
	free(h);
	return 0;
 fail:
	log_warn("%s%s: cannot write the UPDATE journal", spool_dir(j->jpath),
	    j->jpath);
	free(h);
	if (j_unlink(j->jpath) == -1)
		log_warn("%s%s: unlink", spool_dir(j->jpath), j->jpath);
	(void)close(j->jfd);
	j->jfd = -1;
	return -1;
}

int
journal_update(int fd, const char *path, const struct jplan *plan,
    uint64_t *size)
{
	struct jnl	j;
	int		st = MD_TEMP, r;

	if (jnl_init(&j, fd, path) == -1)
		return MD_TEMP;
	j.pl = *plan;
	plan_index(&j);
	plan_total(&j, plan->cur);
	if (j.total == 0 && plan->sidelen == 0) {
		/*
		 * Only a cut: one step, before or after, needs no journal;
		 * unless mail came since the plan, which then moves down.
		 */
		if ((r = j_cut(fd, plan->d0, plan->cur)) == 0) {
			if (j_sync(fd, 1, "mailbox fsync") == -1)
				r = -1;
			*size = plan->d0;
		}
		if (r == -1)
			log_warn("%s%s: truncate during UPDATE",
			    spool_dir(path), path);
		if (r != 1)
			return r == 0 ? MD_OK : MD_TEMP;
		if (plan_to_eof(&j) == -1)
			return MD_TEMP;
	}
	j.cap = j.total < JOURNAL_WINDOW_MAX ? j.total : JOURNAL_WINDOW_MAX;
	if (jnl_buffers(&j) == -1)
		goto out;
	map_begin(&j);
	if (plan_gaps(&j) == -1 || jnl_create(&j) == -1)
		goto out;
	if (run_copy(&j) == -1) {
		log_warnx("%s%s: UPDATE stopped half way; the journal %s%s "
		    "stays and the next open finishes it", spool_dir(path),
		    path,
		    spool_dir(j.jpath), j.jpath);
		goto out;
	}
	*size = plan->d0 + j.total;
	st = MD_OK;
 out:
	map_end(&j);
	jnl_free(&j);
	return st;
}

/* ------------------------------------------------------------------ */
/* Recovery */

/*
 * Read and check the header: its version, checksum, and that the plan
 * it announces (nruns runs, their gaps' hashes, then sidelen bytes of
 * UID file) is in the file.  1 when valid, 0 when not, J_BAD for
 * another version: the magic and the version share a sector, so no torn
 * write makes one, and another build's journal may have been half
 * applied; this one can't tell, so it never obeys one (an older
 * development build's, or a newer pop3d's).
 */
static int
load_header(struct jnl *j, unsigned char *h, uint64_t jsize, uint64_t *n,
    uint64_t *sidelen)
{
	unsigned char	sum[MD5_LEN];

	if (jsize < J_HDR || fd_pread_all(j->jfd, h, J_HDR, 0) == -1 ||
	    memcmp(h, J_MAGIC, 8) != 0)
		return 0;
	if (h[H_VERSION] != J_VERSION) {
		j->bad = "an UPDATE journal of another pop3d version";
		return J_BAD;
	}
	md5_digest(h, H_SUM, sum);
	*n = get64(h + H_NRUNS);
	*sidelen = get64(h + H_SIDELEN);
	return memcmp(sum, h + H_SUM, MD5_LEN) == 0 && *n <= J_RUNS_MAX &&
	    *sidelen <= UIDS_FILE_MAX && J_HDR + plan_len(*n, *sidelen) <= jsize;
}

/* The runs in p (n of them), in order, apart and inside the file?  0/-1. */
static int
take_runs(struct jnl *j, const unsigned char *p, uint64_t n)
{
	uint64_t	i, end;

	for (i = 0, end = j->pl.d0 + 1; i < n; i++) {
		j->pl.runs[i].src = get64(p + J_RUN * i);
		j->pl.runs[i].len = get64(p + J_RUN * i + 8);
		if (j->pl.runs[i].src < end || j->pl.runs[i].len == 0 ||
		    j->pl.runs[i].src > j->pl.tail ||
		    j->pl.runs[i].len > j->pl.tail - j->pl.runs[i].src)
			return -1;
		end = j->pl.runs[i].src + j->pl.runs[i].len;
	}
	j->pl.nruns = n;
	return 0;
}

/* The gaps' hashes in p, one more than runs.  0, or -1 (logged). */
static int
take_gaps(struct jnl *j, const unsigned char *p, uint64_t n)
{
	uint64_t	k;

	if ((j->gaps = calloc(n + 1, sizeof(*j->gaps))) == NULL) {
		log_warn("%s%s: reading the journal", spool_dir(j->jpath),
		    j->jpath);
		return -1;
	}
	for (k = 0; k <= n; k++)
		j->gaps[k] = get64(p + J_GAP * k);
	return 0;
}

/*
 * Read and check the header and plan.  1 when valid, 0 when the plan's
 * or header's checksum fails (a journal whose creation was cut short:
 * the mailbox was never touched), J_BAD for a well-formed journal that
 * makes no sense or of another version, -1 (logged) on a read error.
 */
static int
load_plan(struct jnl *j, uint64_t jsize)
{
	unsigned char	 h[J_HDR], sum[MD5_LEN], *p;
	uint64_t	 n, sidelen, plen;
	int		 r;

	if ((r = load_header(j, h, jsize, &n, &sidelen)) != 1)
		return r;
	plen = plan_len(n, sidelen);
	if ((p = malloc(plen + 1)) == NULL ||
	    (j->pl.runs = calloc(n + 1, sizeof(*j->pl.runs))) == NULL) {
		log_warn("%s%s: reading the journal", spool_dir(j->jpath),
		    j->jpath);
		free(p);
		return -1;
	}
	j->own_runs = 1;
	if (fd_pread_all(j->jfd, p, plen, J_HDR) == -1) {
		free(p);
		return 0;
	}
	md5_digest(p, plen, sum);
	if (memcmp(sum, h + H_PLANSUM, MD5_LEN) != 0) {
		free(p);
		return 0;
	}
	j->pl.dev = (dev_t)get64(h + H_DEV);
	j->pl.ino = (ino_t)get64(h + H_INO);
	j->pl.cur = get64(h + H_CUR);
	j->pl.d0 = get64(h + H_D0);
	j->pl.tail = get64(h + H_TAIL);
	j->cap = get64(h + H_CAP);
	if (take_runs(j, p, n) == -1 || j->pl.tail > j->pl.cur ||
	    j->pl.d0 >= j->pl.tail || j->cap > JOURNAL_WINDOW_MAX) {
		free(p);
		j->bad = "an UPDATE journal that makes no sense";
		return J_BAD;
	}
	if (take_gaps(j, p + J_RUN * n, n) == -1) {
		free(p);
		return -1;
	}
	/* the UID file stays in p, after the runs */
	j->pl.side = sidelen > 0 ? (char *)p + plan_len(n, 0) : NULL;
	j->pl.sidelen = sidelen;
	j->side_buf = p;
	plan_index(j);
	j->slot0 = roundup(J_HDR + plen, J_ALIGN);
	return 1;
}

/* Whether slot k holds a valid checkpoint; if so it is in slot, *seq set. */
static int
slot_valid(struct jnl *j, int k, uint64_t *seq)
{
	unsigned char	*s = j->slot, sum[MD5_LEN];
	struct md5	 c;
	uint64_t	 off = j->slot0 + (uint64_t)k * j->stride, w;

	if (fd_pread_all(j->jfd, s, S_HDR, off) == -1 ||
	    memcmp(s, S_MAGIC, 4) != 0)
		return 0;
	w = get64(s + S_W);
	if (w > j->cap || (w > 0 &&
	    fd_pread_all(j->jfd, s + S_HDR, (size_t)w, off + S_HDR) == -1))
		return 0;
	md5_init(&c);
	md5_update(&c, s, S_SUM);
	md5_update(&c, s + S_HDR, (size_t)w);
	md5_final(&c, sum);
	if (memcmp(sum, s + S_SUM, MD5_LEN) != 0)
		return 0;
	*seq = get64(s + S_SEQ);
	return 1;
}

/*
 * Load the newest valid checkpoint into slot, ckp, ckw and seq.  Returns
 * its phase, or 0 when neither slot holds one (the copy never reached
 * its first checkpoint: redo from P = 0, which is always safe since the
 * first limit is G(0)).  -1 (logged) on a read error.
 */
static int
load_slot(struct jnl *j)
{
	uint64_t	seq0 = 0, seq1 = 0, seq;
	int		v0, v1, k;

	v0 = slot_valid(j, 0, &seq0);
	v1 = slot_valid(j, 1, &seq1);
	if (!v0 && !v1)
		return 0;
	k = v1 && (!v0 || seq1 > seq0);
	if (!slot_valid(j, k, &seq)) {
		log_warnx("%s%s: checkpoint changed while read",
		    spool_dir(j->jpath), j->jpath);
		return -1;
	}
	j->seq = seq;
	j->ckp = get64(j->slot + S_P);
	j->ckw = get64(j->slot + S_W);
	return j->slot[S_PHASE];
}

/*
 * A MOVED checkpoint: all plan bytes were in place and the cut at F was
 * due.  If the file still reaches the old end and its bytes at F are the
 * leftover tail that was hashed, the cut did not happen: resume as a
 * copy at P = F - d0, which moves any mail appended since the crash
 * (past the old end) down to F and cuts.  Otherwise it happened, and
 * whatever lies past F is new mail.  Returns 1 to resume, 0 when done,
 * J_BAD for a checkpoint that makes no sense, -1 (logged).
 */
static int
moved_resume(struct jnl *j, uint64_t eof)
{
	unsigned char	hash[MD5_LEN];
	uint64_t	f = get64(j->slot + S_F), end = get64(j->slot + S_END);
	uint64_t	n;

	if (end < j->pl.cur || f >= end ||
	    f != j->pl.d0 + j->tfixed + (end - j->pl.tail))
		return J_BAD;
	if (eof < end)
		return 0;
	n = end - f < JOURNAL_TAIL_HASH ? end - f : JOURNAL_TAIL_HASH;
	if (tail_hash(j, f, n, hash) == -1)
		return -1;
	if (memcmp(hash, j->slot + S_HASH, MD5_LEN) != 0)
		return 0;
	if (eof == end) {
		j->ckp = f - j->pl.d0;
		j->ckw = 0;
		return 1;
	}
	/*
	 * New mail is to move down over the bytes at F, the evidence this
	 * MOVED checkpoint rests on: first a MOVING one at F - d0, from which
	 * a crash in the middle redoes the move (the mail's source lies a gap,
	 * end - F, above its destination).
	 */
	plan_total(j, eof);
	return checkpoint(j, PH_MOVING, f - j->pl.d0, 0, 0, 0, NULL) == 0 ?
	    1 : -1;
}

/*
 * A journal that is not this mailbox's to finish: one pop3d did not make
 * for this user, of another version, or one whose plan no longer fits
 * the file (another program changed it since the crash).
 * It is never obeyed, and never removed unseen: set aside for an
 * administrator, with why, and the mailbox is served as it is now, so
 * no login waits on a person.  Returns MD_OK.
 */
static int
set_aside(const struct jnl *j, const char *why)
{
	log_warnx("%s%s: %s: not applied; the mailbox is served as it is",
	    spool_dir(j->jpath), j->jpath, why);
	(void)spool_set_aside(j->jpath);
	return MD_OK;
}

/*
 * Whether a From_ line is at off (fromline.h), or, with whole 0, a line
 * that starts with "From " (mail delivered during the session, which
 * UPDATE looked at no closer).  The byte before it may be one the
 * copy overwrote.  1, 0, or -1 (logged).
 */
static int
from_line_at(const struct jnl *j, uint64_t off, uint64_t eof, int whole)
{
	char		 b[FROM_LINE_MAX + 1], *nl;
	uint64_t	 n = eof - off;

	if (off >= eof)
		return 0;
	if (n > sizeof(b))
		n = sizeof(b);
	if (fd_pread_all(j->mfd, b, (size_t)n, off) == -1) {
		log_warn("%s%s: read", spool_dir(j->path), j->path);
		return -1;
	}
	if (n < 5 || memcmp(b, "From ", 5) != 0)
		return 0;
	if (!whole)
		return 1;
	if ((nl = memchr(b, '\n', (size_t)n)) == NULL)
		return 0;
	return from_line_valid(b, (size_t)(nl - b));
}

/*
 * Whether the file is as the crash left it where no copy has written
 * yet, at and above the source of plan byte P + w (the newest checkpoint
 * and its window; every write since stayed below it): each run there
 * starts with a From_ line, each gap there (what the client deleted)
 * starts with the line it started with, and the mail delivered before
 * the UPDATE began starts where it did.  A mail reader's sync since the
 * crash (a Status: header added, a message expunged) moves the messages
 * after its first change and fails here before a byte is moved; an edit
 * in place that keeps every length passes, and the copy carries it.
 * Returns 1, 0, or -1 on a read error (logged).
 */
static int
plan_fits(const struct jnl *j, uint64_t eof)
{
	uint64_t	a = j->ckp + j->ckw, avail, low, h;
	size_t		k;
	int		r;

	low = plan_src(j, a < j->total ? a : j->total, &avail);
	for (k = 0; k <= j->pl.nruns; k++) {
		if (k < j->pl.nruns && j->pl.runs[k].src >= low &&
		    (r = from_line_at(j, j->pl.runs[k].src, eof, 1)) != 1)
			return r;
		if (gap_start(j, k) < low)
			continue;
		if (gap_hash(j, k, &h) == -1)
			return -1;
		if (h != j->gaps[k])
			return 0;
	}
	if (j->pl.cur > j->pl.tail && j->pl.tail >= low)
		return from_line_at(j, j->pl.tail, eof, 0);
	return 1;
}

/*
 * A MOVED checkpoint found: done (the journal goes), or resumed.  An enum
 * md_status.
 */
static int
resume_moved(struct jnl *j, uint64_t eof, int *again)
{
	int	r;

	*again = 0;
	if ((r = moved_resume(j, eof)) == J_BAD)
		return set_aside(j, "a MOVED checkpoint that does not fit the "
		    "mailbox");
	if (r == -1)
		return MD_TEMP;
	if (r == 1) {
		*again = 1;
		return MD_OK;
	}
	if (install_side(j) == -1)
		return MD_TEMP;
	if (j_unlink(j->jpath) == -1) {
		log_warn("%s%s: unlink", spool_dir(j->jpath), j->jpath);
		return MD_TEMP;
	}
	log_info("%s%s: an interrupted UPDATE had finished; removed its "
	    "journal",
	    spool_dir(j->path), j->path);
	return MD_OK;
}

/* Redo from the newest checkpoint.  An enum md_status. */
static int
resume(struct jnl *j)
{
	struct stat	st;
	uint64_t	eof;
	char		why[128];
	int		ph, r, again = 1;

	if (fstat(j->mfd, &st) == -1) {
		log_warn("%s%s: fstat", spool_dir(j->path), j->path);
		return MD_TEMP;
	}
	if (st.st_dev != j->pl.dev || st.st_ino != j->pl.ino) {
		snprintf(why, sizeof(why), "made for another file (inode %llu)",
		    (unsigned long long)j->pl.ino);
		return set_aside(j, why);
	}
	eof = (uint64_t)st.st_size;
	if ((ph = load_slot(j)) == -1)
		return MD_TEMP;
	if (ph == PH_MOVED && ((r = resume_moved(j, eof, &again)) != MD_OK ||
	    !again))
		return r;
	if (ph != PH_MOVED && eof < j->pl.cur) {
		/* never cut before MOVED: someone else shrank the file */
		snprintf(why, sizeof(why), "the mailbox is shorter (%llu "
		    "bytes) than its plan says (%llu)",
		    (unsigned long long)eof, (unsigned long long)j->pl.cur);
		return set_aside(j, why);
	}
	plan_total(j, eof);
	if (j->ckp + j->ckw > j->total)
		return set_aside(j, "a checkpoint past the plan");
	if (ph != PH_MOVED && (r = plan_fits(j, eof)) != 1)
		return r == -1 ? MD_TEMP : set_aside(j, "its plan does not fit "
		    "the messages in the mailbox now");
	log_info("%s%s: finishing an UPDATE interrupted at %llu of %llu bytes "
	    "(%llu bytes delivered since the crash kept)", spool_dir(j->path),
	    j->path,
	    (unsigned long long)j->ckp, (unsigned long long)j->total,
	    (unsigned long long)(eof > j->pl.cur && ph != PH_MOVED ?
	    eof - j->pl.cur : 0));
	map_begin(j);
	r = run_copy(j);
	map_end(j);
	return r == 0 ? MD_OK : MD_TEMP;
}

/*
 * The journal beside the mailbox, open, if it is one pop3d made for this
 * user (spool.h); a foreign one is set aside and taken for none.
 * Returns the descriptor, -1 with errno ENOENT for none, or -1 (logged).
 */
static int
jnl_open(const struct jnl *j, struct stat *st)
{
	int	fd;

	if ((fd = spool_open(j->jpath, O_RDWR, SPOOL_OURS, st)) != -1)
		return fd;
	if (errno == EPERM) {
		(void)spool_set_aside(j->jpath);
		errno = ENOENT;
	} else if (errno != ENOENT)
		log_warn("%s%s: open", spool_dir(j->jpath), j->jpath);
	return -1;
}

int
journal_recover(int fd, const char *path)
{
	struct jnl	j;
	struct stat	st;
	int		r, status;

	if (jnl_init(&j, fd, path) == -1)
		return MD_TEMP;
	if ((j.jfd = jnl_open(&j, &st)) == -1)
		return errno == ENOENT ? MD_OK : MD_TEMP;
	status = MD_TEMP;
	if ((r = load_plan(&j, (uint64_t)st.st_size)) == 0) {
		/* the plan is durable before the mailbox is written */
		log_info("%s%s: removing an UPDATE journal whose writing was "
		    "cut short; the mailbox was not touched",
		    spool_dir(j.jpath), j.jpath);
		if (j_unlink(j.jpath) == -1)
			log_warn("%s%s: unlink", spool_dir(j.jpath), j.jpath);
		else
			status = MD_OK;
	} else if (r == J_BAD)
		status = set_aside(&j, j.bad);
	else if (r == 1 && jnl_buffers(&j) == 0)
		status = resume(&j);
	jnl_free(&j);
	return status;
}
