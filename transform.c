/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The POP byte transform (see transform.h): line ends to CRLF, mboxrd
 * unquoting, byte-stuffing, TOP's line limit and the header fields hidden
 * for uidl_compat dovecot, in one pass that sizes, RETR and TOP all share.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "transform.h"

static const char from_[] = "From ";

/*
 * The fields Dovecot's mbox storage hides from every client (its list
 * mbox_hide_headers): its own state, and Status and Content-Length,
 * which it rewrites.  Dovecot takes a name without the blanks before its
 * colon; more than NAME_BLANKS_MAX of them here leave the field shown.
 */
static const char *const hidden_fields[] = {
	"Content-Length", "Status", "X-IMAP", "X-IMAPbase", "X-Keywords",
	"X-Status", "X-UID", NULL
};
#define NAME_BLANKS_MAX	4

void
transform_init(struct transform *x, enum mbox_format format, int stuff,
    long body_lines)
{
	memset(x, 0, sizeof(*x));
	x->format = format;
	x->stuff = stuff;
	x->body_lines = body_lines;
	x->bol = 1;
}

void
transform_hide(struct transform *x)
{
	x->hide = 1;
}

void
transform_header_ended(struct transform *x)
{
	x->in_body = 1;
	x->hid_prev = 0;
}

static void
xf_stage(struct transform *x, const char *p, size_t n)
{
	memcpy(x->pend + x->pend_len, p, n);
	x->pend_len += n;
}

static int
xf_owed(const struct transform *x)
{
	return x->pend_gt > 0 || x->pend_off < x->pend_len;
}

/* Move owed bytes to out[*o..cap); out NULL takes them all. */
static void
xf_drain(struct transform *x, char *out, size_t cap, size_t *o)
{
	size_t	n;

	if (out == NULL) {
		*o += x->pend_gt + (x->pend_len - x->pend_off);
		x->pend_gt = 0;
		x->pend_off = x->pend_len = 0;
		return;
	}
	while (x->pend_gt > 0 && *o < cap) {
		out[(*o)++] = '>';
		x->pend_gt--;
	}
	n = x->pend_len - x->pend_off;
	if (n > cap - *o)
		n = cap - *o;
	memcpy(out + *o, x->pend + x->pend_off, n);
	*o += n;
	x->pend_off += n;
	if (x->pend_off == x->pend_len)
		x->pend_off = x->pend_len = 0;
}

/* A held "^>+From" prefix turned out to be text: owe it as it was. */
static void
xf_release(struct transform *x)
{
	x->pend_gt = x->gt;
	xf_stage(x, from_, x->from);
	x->hold = 0;
	x->linelen = 2;
}

/* A line ended (its line end is out): advance the TOP line count. */
static void
xf_newline(struct transform *x)
{
	int	blank;

	blank = x->linelen == 0 || (x->linelen == 1 && x->lastcr);
	x->bol = 1;
	x->lastcr = 0;
	x->linelen = 0;
	if (!x->in_body) {
		if (blank) {
			transform_header_ended(x);
			if (x->body_lines == 0)
				x->done = 1;
		}
	} else if (x->body_lines >= 0 && ++x->lines >= x->body_lines)
		x->done = 1;
}

static void
xf_eol(struct transform *x)
{
	if (x->lastcr)
		xf_stage(x, "\n", 1);
	else
		xf_stage(x, "\r\n", 2);
	xf_newline(x);
}

/*
 * Whether the held start of a header line h (len bytes) may still name a
 * hidden field: 2 when it is one, with at most NAME_BLANKS_MAX blanks
 * after it (a colon next hides the line), 1 when it is the start of one,
 * 0 when it can be neither.
 */
static int
name_match(const char *h, size_t len)
{
	size_t	i, k, n;
	int	r = 0;

	for (i = 0; hidden_fields[i] != NULL; i++) {
		n = strlen(hidden_fields[i]);
		if (strncasecmp(h, hidden_fields[i], len < n ? len : n) != 0)
			continue;
		if (len < n) {
			r = 1;
			continue;
		}
		for (k = n; k < len && (h[k] == ' ' || h[k] == '\t'); k++)
			;
		if (k == len && len - n <= NAME_BLANKS_MAX)
			return 2;
	}
	return r;
}

/* The held bytes are text after all: owe them (nothing else is owed). */
static void
xf_name_release(struct transform *x)
{
	xf_stage(x, x->hname, x->hlen);
	x->linelen = x->hlen < 2 ? x->hlen : 2;
	x->naming = 0;
	x->hlen = 0;
	x->lastcr = 0;
}

/*
 * A header byte under transform_hide.  Returns 1 when it was taken here
 * (held or dropped), 0 when xf_byte goes on with it as text; bol stays
 * set when nothing of the line was held.
 */
static int
xf_hide_byte(struct transform *x, char c)
{
	if (x->dropping) {
		if (c == '\n') {
			x->dropping = 0;
			x->bol = 1;
			x->lastcr = 0;
			x->linelen = 0;
		}
		return 1;
	}
	if (x->bol) {
		if ((c == ' ' || c == '\t') && x->hid_prev) {
			x->bol = 0;
			return x->dropping = 1;
		}
		x->hid_prev = 0;
		x->naming = 1;
	}
	if (!x->naming)
		return 0;
	if (c == ':' && x->hlen > 0 && name_match(x->hname, x->hlen) == 2) {
		x->naming = 0;
		x->hlen = 0;
		x->bol = 0;
		x->hid_prev = x->dropping = 1;
		return 1;
	}
	if (x->hlen < sizeof(x->hname)) {
		x->hname[x->hlen] = c;
		if (name_match(x->hname, x->hlen + 1U) != 0) {
			x->hlen++;
			x->bol = 0;
			return 1;
		}
	}
	if (x->hlen > 0)
		xf_name_release(x);
	x->naming = 0;
	return 0;
}

/*
 * The slow path, one byte at a time: line starts, held '>' runs, held
 * field names and line ends.  Called only when nothing is owed, so pend[]
 * has room for the at most TRANSFORM_NAME_MAX + 2 bytes staged here.
 */
static void
xf_byte(struct transform *x, char c)
{
	if (x->hide && !x->in_body && xf_hide_byte(x, c))
		return;
	if (x->hold) {
		if (c == '>' && x->from == 0) {
			x->gt++;
			return;
		}
		if (c == from_[x->from]) {
			if (++x->from < 5)
				return;
			x->pend_gt = x->gt - 1;
			xf_stage(x, from_, 5);
			x->hold = 0;
			x->linelen = 2;
			return;
		}
		xf_release(x);
	} else if (x->bol) {
		x->bol = 0;
		if (c == '>' && x->format == MBOX_MBOXRD) {
			x->hold = 1;
			x->gt = 1;
			x->from = 0;
			return;
		}
		if (c == '.' && x->stuff)
			xf_stage(x, ".", 1);
	}
	if (c == '\n') {
		xf_eol(x);
		return;
	}
	xf_stage(x, &c, 1);
	x->lastcr = c == '\r';
	if (x->linelen < 2)
		x->linelen++;
}

/*
 * Whole lines at once, where nearly every byte goes: from inside a line,
 * with nothing held or owed and no TOP limit, copy each line through its
 * end (adding the CR) while the next line starts with an ordinary byte
 * and fits.  Anything else is left to transform_run's loop, bol set when i
 * is at a line start.  That loop costs a pass per line end: with it the
 * transform took a sixth of a RETR session's CPU time, and 1.4-1.8 times
 * as long as with this one.
 */
static void
xf_lines(struct transform *x, const char *in, size_t inlen, size_t *ip,
    char *out, size_t cap, size_t *op)
{
	const char	*nl;
	size_t		 i = *ip, o = *op, n;
	char		 c;

	while ((nl = memchr(in + i, '\n', inlen - i)) != NULL) {
		n = (size_t)(nl - (in + i));
		if (n + 2 > cap - o)
			break;
		/* n > 0: every line here starts with a byte that is no LF */
		memcpy(out + o, in + i, n);
		o += n;
		if (in[i + n - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
		i += n + 1;
		x->lastcr = 0;
		x->linelen = 0;
		if (i == inlen || (c = in[i]) == '\n' ||
		    (c == '>' && x->format == MBOX_MBOXRD) ||
		    (c == '.' && x->stuff) || (x->hide && !x->in_body)) {
			x->bol = 1;
			break;
		}
	}
	*ip = i;
	*op = o;
}

/*
 * The common cases inline: mid-line bytes up to the next LF are copied as
 * they are (memchr speed), and an LF with room for its CRLF is written at
 * once.  Line starts that matter ('>' for mboxrd, '.' when stuffing), held
 * '>' runs and an LF without room go through xf_byte.  Kept whole: it
 * is the loop every byte of every message goes through.
 */
size_t
transform_run(struct transform *x, const char *in, size_t inlen, char *out,
    size_t cap, size_t *used)
{
	const char	*nl;
	size_t		 i = 0, o = 0, n, room;
	char		 c;

	for (;;) {
		if (x->pend_gt > 0 || x->pend_len > 0) {
			xf_drain(x, out, cap, &o);
			if (xf_owed(x))
				break;
		}
		if (i == inlen || (out != NULL && o == cap))
			break;
		if (x->done) {
			i = inlen;
			break;
		}
		c = in[i];
		room = out == NULL ? SIZE_MAX : cap - o;
		if (x->hold || x->naming || x->dropping || (x->bol &&
		    ((c == '>' && x->format == MBOX_MBOXRD) ||
		    (c == '.' && x->stuff) || (x->hide && !x->in_body)))) {
			xf_byte(x, in[i++]);
			continue;
		}
		x->bol = 0;
		if (c == '\n') {
			if (room < 2) {
				xf_byte(x, in[i++]);
				continue;
			}
			if (out != NULL) {
				if (!x->lastcr)
					out[o++] = '\r';
				out[o++] = '\n';
			} else
				o += x->lastcr ? 1 : 2;
			i++;
			xf_newline(x);
			continue;
		}
		if (out != NULL && x->body_lines < 0) {
			n = i;
			xf_lines(x, in, inlen, &i, out, cap, &o);
			if (i > n)
				continue;
		}
		nl = memchr(in + i, '\n', inlen - i);
		n = nl != NULL ? (size_t)(nl - (in + i)) : inlen - i;
		if (n > room)
			n = room;
		if (out != NULL)
			memcpy(out + o, in + i, n);
		x->lastcr = in[i + n - 1] == '\r';
		if (n >= 2 || x->linelen + n >= 2)
			x->linelen = 2;
		else
			x->linelen += (int)n;
		i += n;
		o += n;
	}
	*used = i;
	return o;
}

size_t
transform_end(struct transform *x, char *out, size_t cap)
{
	size_t	o = 0;

	xf_drain(x, out, cap, &o);
	if (xf_owed(x) || x->ended)
		return o;
	x->ended = 1;
	if (x->done)
		return o;
	if (x->hold)
		xf_release(x);
	if (x->naming && x->hlen > 0)
		xf_name_release(x);
	if (x->dropping)
		x->bol = 1;	/* a hidden last line leaves nothing to end */
	if (!x->bol) {
		/* the pend[] bytes of a release fit with these 2 */
		xf_stage(x, "\r\n", 2);
	}
	xf_drain(x, out, cap, &o);
	return o;
}
