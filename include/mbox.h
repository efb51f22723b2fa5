/*
 * The mbox maildrop: one streaming scan builds an index (offsets, sizes,
 * UIDs); messages are streamed from the file; locks are held only while
 * scanning and updating, plus a session lock for [IN-USE].
 */
#ifndef POP3D_MBOX_H
#define POP3D_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
 * The one transformation from stored message bytes to POP3 bytes.  RETR,
 * TOP and the size computation all run through it, so LIST sizes equal
 * what RETR sends.
 *
 * Feed the stored bytes of one message (From_ line and separator line
 * excluded) in any pieces; each call converts as much as fits in out:
 * line ends become CRLF, with MBOX_MBOXRD one '>' is removed from
 * "^>+From " lines, and with stuff set a line starting with '.' gets
 * another.  body_lines >= 0 stops after that many body lines (TOP).
 * out may be NULL to count only.
 */
struct mbox_xform {
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
	int			ended;		/* mbox_xform_end staged its bytes */
	int			hold;		/* a '>' run at bol is held back */
	uint64_t		gt;		/* '>' bytes in the held run */
	int			from;		/* chars of "From " matched after it */
	/* output owed to the caller: pend_gt '>' bytes, then pend[] */
	uint64_t		pend_gt;
	unsigned char		pend_off;
	unsigned char		pend_len;
	char			pend[8];
};

void	mbox_xform_init(struct mbox_xform *, enum mbox_format, int stuff,
	    long body_lines);

/*
 * Convert from in (inlen bytes) into out (cap bytes).  *used is set to
 * the input bytes consumed; returns the output bytes produced (counted
 * even when out is NULL).  Call mbox_xform_end at the end of the message
 * to flush held bytes and end a last line that lacks its newline; it
 * returns the bytes produced, so call it until it returns 0 (with out
 * NULL one call produces everything).
 */
size_t	mbox_xform(struct mbox_xform *, const char *in, size_t inlen,
	    char *out, size_t cap, size_t *used);
size_t	mbox_xform_end(struct mbox_xform *, char *out, size_t cap);

#endif
