/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The POP byte transform: stored mbox message bytes to the bytes POP3
 * sends, for sizes, RETR and TOP alike.
 */
#ifndef POP3D_TRANSFORM_H
#define POP3D_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/*
 * Bytes of a header line held to tell a hidden field: the longest name
 * hidden ("Content-Length", 14), a few blanks before its colon.
 */
#define TRANSFORM_NAME_MAX	20

/*
 * The one transformation from stored message bytes to POP3 bytes.  RETR,
 * TOP and the size computation all run through it, so LIST sizes equal
 * what RETR sends.
 *
 * Feed the stored bytes of one message (From_ line and separator line
 * excluded) in any pieces; each call converts as much as fits in out:
 * line ends become CRLF, with MBOX_MBOXRD one '>' is removed from
 * "^>+From " lines, and with stuff set a line starting with '.' gets
 * another.  body_lines >= 0 stops after that many body lines (TOP).
 * With transform_hide, the header fields Dovecot keeps its state in are
 * left out, as Dovecot leaves them out.  out may be NULL to count only.
 */
struct transform {
	enum mbox_format	format;
	int			stuff;		/* byte-stuff for the wire */
	long			body_lines;	/* < 0: no limit */
	/* private state */
	int			bol;		/* the next byte starts a line */
	int			lastcr;		/* the line's last byte so far is CR */
	int			linelen;	/* line bytes so far, counted up to 2 */
	int			in_body;	/* past the header/body blank line */
	long			lines;		/* body lines sent (TOP) */
	int			done;		/* TOP limit reached */
	int			ended;		/* the end's bytes are staged */
	int			hold;		/* a '>' run at bol is held back */
	uint64_t		gt;		/* '>' bytes in the held run */
	int			from;		/* chars of "From " matched after it */
	/*
	 * transform_hide: a header line's first bytes held while they may
	 * name a hidden field (hname[0..hlen)), the line being dropped, and
	 * whether the field before was hidden (its continuations are too).
	 */
	int			hide;
	int			naming;
	int			dropping;
	int			hid_prev;
	unsigned char		hlen;
	char			hname[TRANSFORM_NAME_MAX];
	/* output owed to the caller: pend_gt '>' bytes, then pend[] */
	uint64_t		pend_gt;
	unsigned char		pend_off;
	unsigned char		pend_len;
	char			pend[TRANSFORM_NAME_MAX + 8];
};

/* Start a message: no limit on body lines when body_lines < 0. */
void	transform_init(struct transform *, enum mbox_format, int stuff,
	    long body_lines);

/*
 * Leave out the header fields Dovecot hides from POP3 and IMAP clients of
 * an mbox (Content-Length, Status, X-IMAP, X-IMAPbase, X-Keywords,
 * X-Status, X-UID), with their continuation lines; call after
 * transform_init.  transform_header_ended tells a transform that sees
 * only some lines (the scan's) that the header is over.
 */
void	transform_hide(struct transform *);
void	transform_header_ended(struct transform *);

/*
 * Convert from in (inlen bytes) into out (cap bytes).  *used is set to
 * the input bytes consumed; returns the output bytes produced (counted
 * even when out is NULL).  Call transform_end at the end of the message
 * to flush held bytes and end a last line that lacks its newline; it
 * returns the bytes produced, so call it until it returns 0 (with out
 * NULL one call produces everything).
 */
size_t	transform_run(struct transform *, const char *in, size_t inlen,
	    char *out, size_t cap, size_t *used);
size_t	transform_end(struct transform *, char *out, size_t cap);

#endif
