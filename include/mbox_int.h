/*
 * Inside the mbox maildrop: the state its files share (mbox.c opens,
 * scans and streams; update.c rewrites the file at UPDATE; uids.c keeps
 * twins' and X-UIDL UIDs).  Nothing outside those files (and white-box
 * tests) includes this.
 */
#ifndef POP3D_MBOX_INT_H
#define POP3D_MBOX_INT_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "lock.h"
#include "xform.h"

/* UID bytes kept per message: 96 bits, rendered as 24 hex characters. */
#define MBOX_UID_BYTES	12

/*
 * One index entry: 4 * 8 + 12 + 4 bytes, 48, per message.  No
 * per-message allocation: the entries live in one array grown by doubling.
 */
struct mbox_msg {
	uint64_t	start;		/* offset of the From_ line */
	uint64_t	content;	/* offset of the content */
	uint64_t	len;		/* content length */
	uint64_t	size;		/* POP octets (xform_run, no stuffing) */
	unsigned char	uid[MBOX_UID_BYTES];
	uint32_t	check;		/* fingerprint's first 4 bytes (rereads) */
};

/*
 * A group of identical messages (one fingerprint) that had or has more
 * than one copy.  Its copies get ordinals: the k-th copy in file order
 * gets ord[k] while k < nord (the ordinals the sidecar file recorded),
 * then base + k - nord; the UID is fp for ordinal 0, else MD5(fp, ordinal).
 * hw is above every ordinal given out, in the file or now.
 */
struct uid_group {
	unsigned char	 fp[16];
	uint32_t	 base;		/* hw as the sidecar recorded it */
	uint32_t	 hw;
	uint32_t	*ord;		/* into uidmap.ords */
	uint32_t	 nord;
	int		 known;		/* read from the sidecar */
};

/* A message of a group: idx in the index, its group and ordinal. */
struct uid_member {
	uint32_t	idx;
	uint32_t	grp;
	uint32_t	ord;
};

/* A valid, unique X-UIDL: value, kept for message idx. */
struct uid_xuidl {
	uint32_t	idx;
	uint32_t	off;		/* into uidmap.pool, NUL-terminated */
};

/*
 * What UIDs need beyond the index (uids.c): the duplicate groups and
 * their members (only messages with identical twins, so usually nothing),
 * and the X-UIDL values found.
 */
struct uidmap {
	struct uid_group	*grp;
	size_t			 ngrp;
	size_t			 grpcap;
	uint32_t		*ords;		/* the sidecar's ordinals */
	struct uid_member	*mem;		/* by idx after uids_scanned */
	size_t			 nmem;
	size_t			 memcap;
	struct uid_xuidl	*xu;		/* by idx */
	size_t			 nxu;
	size_t			 xucap;
	char			*pool;
	size_t			 poollen;
	size_t			 poolcap;
	int			 committed;	/* uids_commit ran */
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
	struct timespec		 mtime;		/* after the scan */
	int			 scanned;	/* size, mtime and msgs are set */
	int			 hidden;	/* a folder-data message skipped */
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
	struct uidmap		 um;
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

/*
 * Whether message idx is still the one scanned: its From_ line, the
 * From_ line (or end) after it, and the fingerprint of its header and
 * body length, reread.  Cheap: one read of the header.  Returns MD_OK,
 * MD_CHANGED (logged) or MD_TEMP.  update.c may call it for the deleted
 * messages to be sure it removes what the client saw.
 */
int	mbox_msg_check(struct mbox *m, size_t idx);

/*
 * UIDs (uids.c).  uids_load reads the sidecar file .NAME.pop3d-uids into
 * m->um (a missing, foreign or bad file is logged and read as empty);
 * returns 0, or -1 out of memory (logged).
 */
int	uids_load(struct mbox *m);

/*
 * The scan met copy k (0 for the first) of fingerprint fp as message idx;
 * *grp is the fingerprint's group (UINT32_MAX: none yet; set when one is
 * made) and first the idx of its first copy.  Sets uid.  0, or -1 (logged).
 */
int	uids_assign(struct mbox *m, const unsigned char fp[16], uint32_t k,
	    uint32_t *grp, uint32_t first, uint32_t idx,
	    unsigned char uid[MBOX_UID_BYTES]);

/* Message idx carries X-UIDL: v (len bytes, not checked yet).  0 or -1. */
int	uids_xuidl(struct mbox *m, uint32_t idx, const char *v, size_t len);

/* The scan is complete: order the members, drop duplicate X-UIDLs.  0/-1. */
int	uids_scanned(struct mbox *m);

/* The X-UIDL UID of idx, or NULL. */
const char *uids_xuidl_of(const struct mbox *m, size_t idx);

/*
 * After a successful UPDATE that removed every idx with del[idx] set:
 * when one of them was in a group, rewrite the sidecar (temporary file,
 * fsync, rename, fsync of the directory) so that the surviving copies
 * keep their UIDs and no ordinal is given out twice.  Once per session;
 * returns 0, or -1 (logged: the mail is safe, twins' UIDs may shift).
 */
int	uids_commit(struct mbox *m, const unsigned char *del);

/* Free m->um. */
void	uids_free(struct mbox *m);

#endif
