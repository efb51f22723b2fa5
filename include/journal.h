/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The redo journal that makes UPDATE crash-safe: the plan of an in-place
 * compaction is made durable beside the mailbox before the first byte of
 * the mailbox is overwritten, and checkpoints say how far it got, so that
 * whatever stops the compaction, the next open finishes it.
 */
#ifndef POP3D_JOURNAL_H
#define POP3D_JOURNAL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* Kept bytes [src, src + len) of the mailbox; pos is journal.c's own. */
struct jmove {
	uint64_t	src;
	uint64_t	len;
	uint64_t	pos;
};

/*
 * A compaction: runs, in file order and each after the one before, slide
 * down to start at d0 one after the other; then every byte from tail to
 * the end of the file follows them (mail delivered since the scan), and
 * the file ends there.  d0 < runs[0].src, every run ends by tail, and
 * tail <= cur, the file's size now.  dev and ino name the mailbox.  map,
 * when not NULL, is a shared read-only mapping of the mailbox's bytes
 * [mapoff, mapend) that the copy reads its sources through (the caller
 * unmaps it after journal_update); without it journal.c maps its own.
 */
struct jplan {
	dev_t		 dev;
	ino_t		 ino;
	uint64_t	 cur;
	uint64_t	 d0;
	uint64_t	 tail;
	struct jmove	*runs;
	size_t		 nruns;
	const char	*side;		/* the UID file to install, or NULL */
	size_t		 sidelen;
	char		*map;
	uint64_t	 mapoff;	/* page-aligned */
	uint64_t	 mapend;
};

/*
 * Carry out plan on the mailbox open as fd (path names it), the delivery
 * locks held, through a journal beside it; with plan->side, the UID file
 * .NAME.pop3d-uids is replaced by those bytes when the mailbox is done,
 * also by a recovery, so that the two never disagree.  Returns an enum md_status:
 * MD_OK with *size the new size; MD_TEMP (logged) when the journal could
 * not be made (the mailbox is unchanged) or a write failed after the
 * mailbox was touched (the journal stays, and the next open finishes).
 */
int	journal_update(int fd, const char *path, const struct jplan *plan,
	    uint64_t *size);

/*
 * Finish an UPDATE that a crash interrupted, if the mailbox at path (open
 * as fd, the delivery locks held) has a journal.  Call before reading the
 * mailbox.  Returns an enum md_status: MD_OK when there was no journal or
 * it has been finished (or was never applied) and removed; MD_TEMP
 * (logged) when it could not be, the journal left for the next try.
 */
int	journal_recover(int fd, const char *path);

#endif
