/*
 * The mbox maildrop: one streaming scan builds an index (offsets, sizes,
 * UIDs); messages are streamed from the file; locks are held only while
 * scanning and updating, plus a session lock for [IN-USE].
 */
#ifndef POP3D_MBOX_H
#define POP3D_MBOX_H

#include <stdint.h>

#include "conf.h"
#include "maildrop.h"

struct mbox;

extern const struct maildrop_ops mbox_ops;

/*
 * Open, lock and scan the mbox at path.  A missing or empty file is an
 * empty maildrop.  Returns an enum md_status; on MD_OK *out is the
 * maildrop to use with mbox_ops.  Failures are logged with the reason.
 */
int	mbox_open(const char *path, const struct conf *, struct mbox **out);

/*
 * Finish an UPDATE of the mbox at path that a crash interrupted, if it
 * has a journal, under the delivery locks, without reading the mail.
 * Returns an enum md_status (MD_OK also when there is no mailbox).
 */
int	mbox_recover(const char *path, const struct conf *);

/*
 * The scan of a mailbox of mbox_split_min bytes or more (MBOX_SPLIT_MIN)
 * runs on two threads, with a result the same as one thread's (DESIGN.md,
 * "Two threads for a big mailbox").  Tests set mbox_split_min lower, or
 * to UINT64_MAX for one thread; mbox_split_from to the offset from which
 * the second thread looks for its first From_ line (0: the middle of the
 * file); and mbox_split_wait to 1 to make the main thread wait for the
 * second one's whole half instead of taking over its work where it is.
 * The scans whose halves were joined are counted in mbox_split_done,
 * those the main thread finished alone in mbox_split_undone.
 */
extern uint64_t		mbox_split_min;
extern uint64_t		mbox_split_from;
extern int		mbox_split_wait;
extern unsigned long	mbox_split_done;
extern unsigned long	mbox_split_undone;

#endif
