/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The index cache of a big mailbox: .NAME.pop3d-index beside it holds
 * the index of its last full scan, so that the next open reads 32 bytes
 * a message instead of scanning the file (DESIGN.md, "The index cache").
 * It is never trusted blindly: it must be ours, intact (checksum), for
 * this file (device, inode, format), for bytes still there (the file no
 * shorter, the same mtime unless mail was appended, the hash of the last
 * INDEXCACHE_TAIL bytes it covered, the From_ lines of a sample of its
 * messages); any doubt means a full scan.  Mail appended since is
 * scanned as usual.  Mailboxes with identical twins or X-UIDL: headers,
 * and every mailbox under uidl_compat, are not cached (their UIDs need
 * more than the index).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lock.h"
#include "fileio.h"
#include "log.h"
#include "mbox_int.h"
#include "md5.h"
#include "params.h"
#include "spool.h"

#define C_MAGIC		"POP3DIX2"
#define C_HDR		128

/* Header fields: offsets (host byte order: the file is a local cache). */
enum {
	C_ENTRY = 8,		/* sizeof(struct mbox_msg): layout check */
	C_FORMAT = 12,
	C_DEV = 16, C_INO = 24, C_SIZE = 32, C_MTSEC = 40, C_MTNSEC = 48,
	C_NMSGS = 56, C_HIDDEN = 64, C_TAIL = 72, C_SUM = 96
};

static void
put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The hash of the mailbox's INDEXCACHE_TAIL bytes before size.  0 or -1. */
static int
tail_hash(const struct mbox *m, uint64_t size, unsigned char out[MD5_LEN])
{
	char		buf[INDEXCACHE_TAIL];
	uint64_t	n = size < sizeof(buf) ? size : sizeof(buf);

	if (fd_pread_all(m->fd, buf, (size_t)n, size - n) == -1)
		return -1;
	md5_digest(buf, (size_t)n, out);
	return 0;
}

/* The checksum of a header (its sum field excluded) and the entries. */
static void
checksum(const unsigned char *h, const struct mbox_msg *e, size_t n,
    unsigned char out[MD5_LEN])
{
	struct md5	c;

	md5_init(&c);
	md5_update(&c, h, C_SUM);
	md5_update(&c, e, n * sizeof(*e));
	md5_final(&c, out);
}

/*
 * No fsync: a cache lost or torn by a crash fails its checksum or its
 * checks, and costs one full scan.  The rename makes it whole or absent
 * for every reader otherwise.
 */
void
indexcache_save(const struct mbox *m)
{
	unsigned char	h[C_HDR];
	char		name[PATH_MAX], tmp[PATH_MAX];
	int		fd, ok;

	if (m->size < INDEXCACHE_MIN_BYTES || m->um.ngrp > 0 ||
	    m->um.nmem > 0 || m->xuidl_seen || m->format == MBOX_MBOXCL2 ||
	    m->compat != UIDL_COMPAT_NONE || m->fd == -1)
		return;
	if (lock_sibling(m->path, ".pop3d-index", name, sizeof(name)) == -1)
		return;
	memset(h, 0, sizeof(h));
	memcpy(h, C_MAGIC, 8);
	h[C_ENTRY] = (unsigned char)sizeof(struct mbox_msg);
	h[C_FORMAT] = (unsigned char)m->format;
	put64(h + C_DEV, (uint64_t)m->dev);
	put64(h + C_INO, (uint64_t)m->ino);
	put64(h + C_SIZE, m->size);
	put64(h + C_MTSEC, (uint64_t)m->mtime.tv_sec);
	put64(h + C_MTNSEC, (uint64_t)m->mtime.tv_nsec);
	put64(h + C_NMSGS, m->nmsgs);
	put64(h + C_HIDDEN, (uint64_t)m->hidden);
	if (tail_hash(m, m->size, h + C_TAIL) == -1)
		return;
	checksum(h, m->msgs, m->nmsgs, h + C_SUM);
	if ((fd = spool_tmpfile(name, tmp, sizeof(tmp))) == -1) {
		log_debug("%s%s: no index cache: %s", spool_dir(name), name,
		    strerror(errno));
		return;
	}
	ok = fd_write_all(fd, h, sizeof(h)) == 0 &&
	    fd_write_all(fd, m->msgs, m->nmsgs * sizeof(*m->msgs)) == 0;
	if (close(fd) == -1 || !ok || rename(tmp, name) == -1) {
		log_debug("%s%s: no index cache: %s", spool_dir(tmp), tmp,
		    strerror(errno));
		(void)unlink(tmp);
	}
}

/*
 * The header read from the cache file fd (of fsize bytes) is for this
 * mailbox, now cur bytes long, whose mtime is mt.  1 or 0.
 */
static int
header_fits(const struct mbox *m, const unsigned char *h, uint64_t fsize,
    uint64_t cur, const struct timespec *mt)
{
	uint64_t	size = get64(h + C_SIZE), n = get64(h + C_NMSGS);

	if (memcmp(h, C_MAGIC, 8) != 0 ||
	    h[C_ENTRY] != sizeof(struct mbox_msg) ||
	    h[C_FORMAT] != (unsigned char)m->format ||
	    get64(h + C_DEV) != (uint64_t)m->dev ||
	    get64(h + C_INO) != (uint64_t)m->ino ||
	    n == 0 || n > (fsize - C_HDR) / sizeof(struct mbox_msg) ||
	    fsize != C_HDR + n * sizeof(struct mbox_msg) ||
	    size > cur || size < INDEXCACHE_MIN_BYTES)
		return 0;
	/* same size: the very file scanned, mtime and all */
	return size < cur || (get64(h + C_MTSEC) == (uint64_t)mt->tv_sec &&
	    get64(h + C_MTNSEC) == (uint64_t)mt->tv_nsec);
}

/*
 * The entries lie in order inside the first size bytes, and a sample of
 * them (the first, the last and INDEXCACHE_SAMPLE between) starts with a
 * From_ line.  Then the end: the last message must have been followed
 * by a blank line (so that mail appended after it starts a new message
 * in a full scan too) unless nothing was appended, and what was appended
 * must start with "From ".  1, 0, or -1 on a read error.
 */
static int
entries_fit(struct mbox *m, const struct mbox_msg *e, size_t n,
    uint64_t size, uint64_t cur)
{
	uint64_t	prev = 0, end;
	size_t		i, step = n / INDEXCACHE_SAMPLE + 1;
	char		b[3];
	int		r;

	for (i = 0; i < n; i++) {
		end = msg_content(&e[i]) + msg_len(&e[i]);
		if (msg_start(&e[i]) < prev || msg_content(&e[i]) <
		    msg_start(&e[i]) || end > size)
			return 0;
		prev = end;
		if (i % step != 0 && i != n - 1)
			continue;
		if ((r = mbox_from_at(m, msg_start(&e[i]))) != 1)
			return r;
	}
	if (cur == size)
		return 1;
	if (size < 3 || fd_pread_all(m->fd, b, 3, size - 3) == -1)
		return -1;
	if (b[2] != '\n' || (b[1] != '\n' && (b[1] != '\r' || b[0] != '\n')))
		return 0;
	return mbox_from_at(m, size);
}

/* Read and check the cache of m's file; see indexcache_load.  1, 0 or -1. */
static int
load(struct mbox *m, int fd, const struct stat *st, uint64_t cur,
    const struct timespec *mt, uint64_t *from)
{
	unsigned char	 h[C_HDR], sum[MD5_LEN], tail[MD5_LEN];
	struct mbox_msg	*e;
	size_t		 n;
	int		 r;

	if (st->st_size < C_HDR || fd_pread_all(fd, h, sizeof(h), 0) == -1 ||
	    !header_fits(m, h, (uint64_t)st->st_size, cur, mt))
		return 0;
	/*
	 * The tail first: a cache left from before the file was rewritten
	 * fails here, before its entries are read into memory that, freed,
	 * would stay in the session's heap.
	 */
	if (tail_hash(m, get64(h + C_SIZE), tail) == -1 ||
	    memcmp(tail, h + C_TAIL, MD5_LEN) != 0)
		return 0;
	n = (size_t)get64(h + C_NMSGS);
	if ((e = malloc(n * sizeof(*e))) == NULL) {
		log_warn("%s%s: index", spool_dir(m->path), m->path);
		return -1;
	}
	r = 0;
	if (fd_pread_all(fd, e, n * sizeof(*e), C_HDR) == -1)
		goto out;
	checksum(h, e, n, sum);
	if (memcmp(sum, h + C_SUM, MD5_LEN) != 0 ||
	    (r = entries_fit(m, e, n, get64(h + C_SIZE), cur)) != 1) {
		r = r == -1 ? -1 : 0;
		goto out;
	}
	free(m->msgs);
	m->msgs = e;
	m->nmsgs = m->msgcap = n;
	m->hidden = get64(h + C_HIDDEN) != 0;
	m->cached = 1;
	*from = get64(h + C_SIZE);
	return 1;
 out:
	free(e);
	return r;
}

int
indexcache_load(struct mbox *m, uint64_t *from)
{
	char		name[PATH_MAX];
	struct stat	st, cst;
	int		fd, r;

	*from = 0;
	/*
	 * uidl_compat reads what the cache does not hold (inherited UIDLs,
	 * sizes without Dovecot's fields): neither written nor read then,
	 * so a cache made without it is never taken for one made with it.
	 */
	if (m->format == MBOX_MBOXCL2 || m->um.ngrp > 0 ||
	    m->compat != UIDL_COMPAT_NONE ||
	    fstat(m->fd, &st) == -1 ||
	    (uint64_t)st.st_size < INDEXCACHE_MIN_BYTES ||
	    lock_sibling(m->path, ".pop3d-index", name, sizeof(name)) == -1)
		return 0;
	/* A foreign one is logged, and replaced by the next save. */
	if ((fd = spool_open(name, O_RDONLY, SPOOL_OURS, &cst)) == -1)
		return 0;
	r = load(m, fd, &cst, (uint64_t)st.st_size, &st.st_mtim, from);
	(void)close(fd);
	if (r == 0)
		log_debug("%s%s: index cache not usable: scanning",
		    spool_dir(m->path), m->path);
	else if (r == 1)
		log_debug("%s%s: index cache of %zu messages used, %llu bytes "
		    "appended since", spool_dir(m->path), m->path, m->nmsgs,
		    (unsigned long long)(st.st_size - (off_t)*from));
	return r;
}
