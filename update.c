/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * UPDATE for the mbox maildrop: under the delivery locks, check that the
 * file is still the one scanned, then compact it in place, keeping mail
 * delivered since the scan, through the redo journal of journal.c.
 */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "lock.h"
#include "log.h"
#include "maildrop.h"
#include "mbox_int.h"
#include "params.h"
#include "spool.h"

/*
 * Whether every message from first on starts with "From ", looked at
 * through a mapping of the file: one page touch per message instead of
 * a pread each (100,000 system calls for a big mailbox).  Sets *bad to
 * the first that does not.  1 when all do, 0 when one does not, -1
 * when the file can't be mapped (the caller reads instead).  The
 * mapping stays in pl for the copy, whose sources it covers: the page
 * touches here have mapped most of them (a fault maps its neighbours
 * too), so the copy needs no mapping of its own.
 */
static int
starts_mapped(struct mbox *m, size_t first, size_t *bad, struct jplan *pl)
{
	long		 pg = sysconf(_SC_PAGESIZE);
	uint64_t	 off, end = m->size, s;
	char		*p;
	size_t		 i;
	int		 r = 1;

	if (pg <= 0)
		return -1;
	off = msg_start(&m->msgs[first]) / (uint64_t)pg * (uint64_t)pg;
	if (end - off > SIZE_MAX || (p = mmap(NULL, (size_t)(end - off),
	    PROT_READ, MAP_SHARED, m->fd, (off_t)off)) == MAP_FAILED)
		return -1;
	for (i = first; i < m->nmsgs; i++) {
		s = msg_start(&m->msgs[i]) - off;
		if (end - off - s < 5 || memcmp(p + s, "From ", 5) != 0) {
			r = 0;
			break;
		}
	}
	*bad = i;
	pl->map = p;
	pl->mapoff = off;
	pl->mapend = end;
	return r;
}

static void
unmap_plan(struct jplan *pl)
{
	if (pl->map != NULL)
		(void)munmap(pl->map, (size_t)(pl->mapend - pl->mapoff));
	pl->map = NULL;
}

/*
 * Every message to be removed is the one the client saw: where it starts
 * and ends, and what its fingerprint is made of, read again through the
 * mapping.  Boundaries alone are not enough: another program that
 * expunged a message in place and appended one of the same length moves
 * every later message onto the old offsets of the one before.  1, 0
 * (logged), or -1.
 */
static int
deleted_unchanged(struct mbox *m, const unsigned char *del, size_t first,
    uint64_t cur, const struct jplan *pl)
{
	struct mbox_map	map = { pl->map, pl->mapoff, pl->mapend };
	size_t		i;
	int		r;

	for (i = first; i < m->nmsgs; i++)
		if (del[i] && (r = mbox_msg_unchanged(m, i, cur, &map)) != 1)
			return r;
	return 1;
}

/*
 * Check, under the delivery locks, that the file is the one scanned:
 * every message from first on still starts where it did, whatever was
 * added since starts a message, and each one to delete is the one the
 * client saw.  An enum md_status; *cur is the size.  pl may come back
 * with a mapping of the file (unmap_plan).
 */
static int
update_verify(struct mbox *m, const unsigned char *del, size_t first,
    uint64_t *cur, struct jplan *pl)
{
	size_t	i;
	int	st, r;

	if ((st = mbox_same(m, cur)) != MD_OK)
		return st;
	/* the file is no shorter than m->size (mbox_same) */
	if ((r = starts_mapped(m, first, &i, pl)) == 0)
		goto bad;
	for (i = first; r == -1 && i < m->nmsgs; i++)
		if ((r = mbox_from_at(m, msg_start(&m->msgs[i]))) != 1)
			goto bad;
	i = m->nmsgs;
	if (*cur > m->size && (r = mbox_from_at(m, m->size)) != 1)
		goto bad;
	/* not written since the open: each message is the one scanned */
	if (!mbox_untouched(m) &&
	    (r = deleted_unchanged(m, del, first, *cur, pl)) != 1)
		return r == 0 ? MD_CHANGED : MD_TEMP;
	return MD_OK;
 bad:
	if (r == -1)
		return MD_TEMP;
	log_warnx("%s%s: rewritten by another program during the session "
	    "(no \"From \" line at offset %llu): nothing deleted",
	    spool_dir(m->path), m->path,
	    (unsigned long long)(i < m->nmsgs ? msg_start(&m->msgs[i]) :
	    m->size));
	return MD_CHANGED;
}

/*
 * The plan of the compaction: every kept message from the first deleted
 * one on, with its From_ line and separator, as runs of adjacent bytes
 * (adjacent kept messages make one run), then the mail appended since
 * the scan.  journal.c carries it out crash-safely.  An enum md_status.
 */
/*
 * The UID file the compacted mailbox needs (uids_side), or NULL: it goes
 * into the journal, so the two change together.  An enum md_status.
 */
static int
update_side(struct mbox *m, const unsigned char *del, char **side,
    size_t *len)
{
	struct mbox_state	next;
	int			st;

	if ((st = mbox_state_after(m, del, &next)) != MD_OK)
		return st;
	return uids_side(m, del, &next, side, len) == -1 ? MD_TEMP : MD_OK;
}

static int
update_compact(struct mbox *m, const unsigned char *del, size_t first,
    uint64_t cur, struct jplan *plan)
{
	struct jplan	 pl = *plan;
	struct jmove	*r;
	uint64_t	 end, size;
	size_t		 i;
	char		*side = NULL;
	int		 st;

	if (first >= m->nmsgs)
		return MD_OK;
	if ((pl.runs = calloc(m->nmsgs - first, sizeof(*pl.runs))) == NULL) {
		log_warn("%s%s: UPDATE plan", spool_dir(m->path), m->path);
		return MD_TEMP;
	}
	for (i = first; i < m->nmsgs; i++) {
		if (del[i])
			continue;
		end = i + 1 < m->nmsgs ? msg_start(&m->msgs[i + 1]) : m->size;
		r = &pl.runs[pl.nruns];
		if (pl.nruns > 0 &&
		    r[-1].src + r[-1].len == msg_start(&m->msgs[i]))
			r[-1].len = end - r[-1].src;
		else {
			r->src = msg_start(&m->msgs[i]);
			r->len = end - r->src;
			pl.nruns++;
		}
	}
	pl.dev = m->dev;
	pl.ino = m->ino;
	pl.cur = cur;
	pl.d0 = msg_start(&m->msgs[first]);
	pl.tail = m->size;
	if ((st = update_side(m, del, &side, &pl.sidelen)) == MD_OK) {
		pl.side = side;
		if ((st = journal_update(m->fd, m->path, &pl, &size)) == MD_OK)
			m->size = size;
	}
	free(side);
	free(pl.runs);
	return st;
}

int
mbox_update(void *md, const unsigned char *del)
{
	struct mbox	*m = md;
	struct jplan	 pl;
	uint64_t	 cur;
	size_t		 first;
	int		 st;

	for (first = 0; first < m->nmsgs && !del[first]; first++)
		;
	if (first == m->nmsgs)
		return MD_OK;
	if (m->stale) {
		log_warnx("%s%s: a second UPDATE in one session",
		    spool_dir(m->path), m->path);
		return MD_TEMP;
	}
	m->reading = 0;
	/* every signal but SIGKILL waits until lock_release */
	if ((st = lock_take(&m->lk)) != MD_OK)
		return st;
	memset(&pl, 0, sizeof(pl));
	/* first finish a journal left since the open, if any */
	if ((st = journal_recover(m->fd, m->path)) == MD_OK &&
	    (st = update_verify(m, del, first, &cur, &pl)) == MD_OK) {
		/* done or half done, the index no longer describes the file */
		st = update_compact(m, del, first, cur, &pl);
		m->stale = 1;
	}
	unmap_plan(&pl);
	lock_release(&m->lk);
	return st;
}
