/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
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
#include "transform.h"

/* UID bytes kept per message: 96 bits, rendered as 24 hex characters. */
#define MBOX_UID_BYTES	12

/*
 * One index entry: 32 bytes per message, in one array (no per-message
 * allocation).  Four 40-bit numbers, split into low 32 and high 8 bits
 * (16 + 4 bytes), and the 12-byte UID.  40 bits are enough because a
 * mailbox is at most MBOX_FILE_MAX (2^39) bytes, so a POP size (at most
 * twice the content plus 2) fits too.  The fingerprint check that rereads
 * compare is not stored: it is the UID's first bytes, or for an identical
 * twin its group's fingerprint's (mbox_msg_fp).  Read the fields through
 * the functions below.
 */
struct mbox_msg {
	uint32_t	lo[4];		/* enum msg_field: bits 0..31 */
	uint8_t		hi[4];		/* bits 32..39 */
	unsigned char	uid[MBOX_UID_BYTES];
};

enum msg_field {
	MSG_START,		/* offset of the From_ line */
	MSG_FROMLEN,		/* content - start: the From_ line */
	MSG_LEN,		/* content length */
	MSG_SIZE		/* POP octets, unstuffed (transform_run) */
};

static inline uint64_t
msg_get(const struct mbox_msg *e, enum msg_field f)
{
	return (uint64_t)e->lo[f] | (uint64_t)e->hi[f] << 32;
}

static inline void
msg_set(struct mbox_msg *e, enum msg_field f, uint64_t v)
{
	e->lo[f] = (uint32_t)v;
	e->hi[f] = (uint8_t)(v >> 32);
}

static inline uint64_t
msg_start(const struct mbox_msg *e)
{
	return msg_get(e, MSG_START);
}

static inline uint64_t
msg_content(const struct mbox_msg *e)
{
	return msg_get(e, MSG_START) + msg_get(e, MSG_FROMLEN);
}

static inline uint64_t
msg_len(const struct mbox_msg *e)
{
	return msg_get(e, MSG_LEN);
}

static inline uint64_t
msg_size(const struct mbox_msg *e)
{
	return msg_get(e, MSG_SIZE);
}

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

/* The most "shown" lines a sidecar holds: see struct mbox_state. */
#define MBOX_SHOWN_MAX	4

/*
 * Decisions of the scan that must not change when an UPDATE moves
 * messages, kept in the sidecar beside the UIDs (DESIGN.md, "Scan
 * decisions that survive UPDATE").  cl_ignored: mboxcl2 whose
 * Content-Length fields are all ignored because one was wrong.  shown:
 * the fingerprints of messages that look like the folder-data message
 * but became first only because an UPDATE removed what was before them,
 * so they stay visible.
 */
struct mbox_state {
	int		cl_ignored;
	size_t		nshown;
	unsigned char	shown[MBOX_SHOWN_MAX][16];
	uint32_t	dc_validity;	/* uidl_compat dovecot: 0, or the */
	uint32_t	dc_last;	/* X-IMAPbase of a deleted first message */
};

/*
 * What UIDs need beyond the index (uids.c): the duplicate groups and
 * their members (only messages with identical twins, so usually nothing),
 * the X-UIDL values found, and the scan decisions (struct mbox_state) as
 * the sidecar holds them.
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
	struct mbox_state	 st;		/* as read from the sidecar */

	/*
	 * uidl_compat: the inherited UIDL of each message by idx, 0 for
	 * none (pop3d's own UID then).  dovecot: the X-UID, served with
	 * validity; popa3d: the first 8 bytes of its MD5, little-endian.
	 * base_first: validity came from the first message's X-IMAPbase.
	 */
	uint64_t		*compat;
	size_t			 ncompat;
	size_t			 compatcap;
	uint32_t		 validity;
	uint32_t		 last;
	int			 base_first;
};

struct mbox {
	char			 path[PATH_MAX];
	int			 fd;		/* -1: no mailbox file */
	enum mbox_format	 format;
	enum uidl_compat	 compat;
	struct lockset		 lk;		/* its path, fd: ours */
	int			 stale;		/* after UPDATE: index is void */

	/* The file as scanned. */
	dev_t			 dev;
	ino_t			 ino;
	uint64_t		 size;
	struct timespec		 mtime;		/* after the scan */
	struct timespec		 ctime;		/* after the scan */
	int			 scanned;	/* size, mtime and msgs are set */
	int			 settled;	/* last changed before the scan */
	int			 hidden;	/* a folder-data message skipped */
	int			 cl_ignore;	/* mboxcl2 read as mboxo */
	int			 xuidl_seen;	/* a message had an X-UIDL: */
	int			 cached;	/* msgs came from the index cache */
	struct mbox_msg		*msgs;
	size_t			 nmsgs;
	size_t			 msgcap;

	char			*buf;		/* MBOX_READ_CHUNK bytes */
	/*
	 * What the last check of a message left in buf: file bytes
	 * [probe_off, probe_off + probe_len).  RETR streams from there
	 * rather than reading the bytes just checked again.  probe_len is
	 * 0 when buf holds anything else.
	 */
	uint64_t		 probe_off;
	size_t			 probe_len;

	/* The message being streamed: buf[bpos..blen) is read, not converted. */
	int			 reading;
	struct transform	 rx;
	uint64_t		 roff;
	uint64_t		 rleft;
	size_t			 bpos;
	size_t			 blen;

	char			 uidbuf[2 * MBOX_UID_BYTES + 1];
	struct uidmap		 um;
};

/*
 * 1 (the default): the scan reads a mapping of the file; 0: it reads in
 * MBOX_READ_CHUNK blocks, the fallback when mapping fails, which tests
 * set to check that both paths build the same index.  mbox_scan_read:
 * the bytes of each of those reads (MBOX_READ_CHUNK at most), which
 * tests set lower so that a read ends at every place in the file, where
 * the scan must find what it finds in one piece.
 */
extern int	mbox_scan_map;
extern size_t	mbox_scan_read;

/*
 * The file at path is still the one we hold, not shrunk below what was
 * scanned.  Returns MD_OK, MD_CHANGED (logged) or MD_TEMP; *cur is set to
 * the file's size now.
 */
int	mbox_same(struct mbox *m, uint64_t *cur);
int	mbox_untouched(const struct mbox *m);

/* Whether "From " is at off.  Returns 1, 0, or -1 on a read error (logged). */
int	mbox_from_at(struct mbox *m, uint64_t off);

/* The maildrop_ops update of an mbox (update.c).  An enum md_status. */
int	mbox_update(void *md, const unsigned char *del);

/* The file mapped: bytes [off, end) at p (p NULL: not mapped). */
struct mbox_map {
	const char	*p;
	uint64_t	 off;
	uint64_t	 end;
};

/*
 * Whether message idx, of a file now cur bytes long, is still the one
 * the index describes: a From_ line where it starts and where it ends,
 * and its header and length giving its fingerprint again (the bytes its
 * UID is made of).  Reads through map when that holds the message.  A
 * change is logged.  Returns 1, 0, or -1 on a read error (logged).
 */
int	mbox_msg_unchanged(struct mbox *m, size_t idx, uint64_t cur,
	    const struct mbox_map *map);

/*
 * Whether message idx is still the one scanned, before a RETR or TOP:
 * the file (mbox_same), then mbox_msg_unchanged.  Cheap: one read of
 * the header.  Returns MD_OK, MD_CHANGED (logged) or MD_TEMP.
 */
int	mbox_msg_check(struct mbox *m, size_t idx);

/*
 * The scan decisions (struct mbox_state) that read the kept messages as
 * they were read before an UPDATE that deletes every idx with del[idx]
 * set.  May reread one header.  MD_OK, or MD_TEMP (logged).
 */
int	mbox_state_after(struct mbox *m, const unsigned char *del,
	    struct mbox_state *next);

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

/*
 * The inherited UIDL value of the message indexed next (see struct
 * uidmap; 0: none).  Call once per message in index order.  0 or -1.
 */
int	uids_compat_add(struct mbox *m, uint64_t v);

/*
 * The UIDL the old server gave idx (uidl_compat) in buf (at least 17
 * bytes), or NULL when it has none.
 */
const char *uids_compat_of(const struct mbox *m, size_t idx, char *buf);

/* The X-UIDL UID of idx, or NULL. */
const char *uids_xuidl_of(const struct mbox *m, size_t idx);

/*
 * The UID file an UPDATE that removes every idx with del[idx] set must
 * leave, so that surviving identical copies keep their UIDs, no ordinal
 * is given out twice, and the scan decisions next (struct mbox_state)
 * hold: *text (malloc'd, *len bytes), or NULL when the file need not
 * change.  The journal installs it with the compacted mailbox.  0, or
 * -1 (logged).
 */
int	uids_side(struct mbox *m, const unsigned char *del,
	    const struct mbox_state *next, char **text, size_t *len);

/* Whether fp is one of the sidecar's shown messages. */
int	uids_shown(const struct mbox *m, const unsigned char fp[16]);

/*
 * The fingerprint of idx when it is one of a group of identical copies
 * (its UID is then not the fingerprint's first bytes), else NULL.
 */
const unsigned char *uids_fp_of(const struct mbox *m, size_t idx);

/*
 * The index cache (indexcache.c).  indexcache_load, under the delivery locks
 * and before the scan, fills m->msgs from .NAME.pop3d-index when every
 * check passes, and sets *from to the file offset the scan goes on from
 * (0: scan it all).  Returns 1 when used, 0 when not (m unchanged), -1
 * out of memory (logged).
 */
int	indexcache_load(struct mbox *m, uint64_t *from);

/*
 * Write the index of m, as scanned, to the cache when the mailbox is big
 * enough and its UIDs are the index alone (no twins, no X-UIDL).  Best
 * effort: failures are logged at debug level.
 */
void	indexcache_save(const struct mbox *m);

/* Free m->um. */
void	uids_free(struct mbox *m);

#endif
