/*
 * Inside the mbox maildrop: the state its files share (mbox.c opens,
 * scans and streams; update.c rewrites the file at UPDATE).  Nothing
 * outside those files includes this.
 */
#ifndef POP3D_MBOX_INT_H
#define POP3D_MBOX_INT_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "lock.h"
#include "xform.h"

/* UID bytes kept per message: 96 bits, rendered as 24 hex characters. */
#define MBOX_UID_BYTES	12

/*
 * One index entry: 4 * 8 + 12 bytes, 48 with padding, per message.  No
 * per-message allocation: the entries live in one array grown by doubling.
 */
struct mbox_msg {
	uint64_t	start;		/* offset of the From_ line */
	uint64_t	content;	/* offset of the content */
	uint64_t	len;		/* content length */
	uint64_t	size;		/* POP octets (xform_run, no stuffing) */
	unsigned char	uid[MBOX_UID_BYTES];
};

struct mbox {
	char			 path[PATH_MAX];
	int			 fd;		/* -1: no mailbox file */
	enum mbox_format	 format;
	struct lockset		 lk;		/* its path, fd: ours */
	int			 stale;		/* after UPDATE: index is void */

	/* The file as scanned. */
	dev_t			 dev;
	ino_t			 ino;
	uint64_t		 size;
	struct mbox_msg		*msgs;
	size_t			 nmsgs;
	size_t			 msgcap;

	char			*buf;		/* MBOX_READ_CHUNK bytes */

	/* The message being streamed: buf[bpos..blen) is read, not converted. */
	int			 reading;
	struct xform		 rx;
	uint64_t		 roff;
	uint64_t		 rleft;
	size_t			 bpos;
	size_t			 blen;

	char			 uidbuf[2 * MBOX_UID_BYTES + 1];
};

/*
 * The file at path is still the one we hold, not shrunk below what was
 * scanned.  Returns MD_OK, MD_CHANGED (logged) or MD_TEMP; *cur is set to
 * the file's size now.
 */
int	mbox_same(struct mbox *m, uint64_t *cur);

/* Whether "From " is at off.  Returns 1, 0, or -1 on a read error (logged). */
int	mbox_from_at(struct mbox *m, uint64_t off);

/* The maildrop_ops update of an mbox (update.c).  An enum md_status. */
int	mbox_update(void *md, const unsigned char *del);

#endif
