/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for the mbox scanner's own arithmetic: the POP sizes it
 * counts in its single pass must equal what transform_run (the transform
 * RETR uses) counts over the same bytes, and its fingerprints (batched
 * MD5 input, header names classified by length) must equal a plain
 * line-by-line reference.  Over fixtures and random mailboxes, in all
 * three formats, through both the mapped scan and the read fallback.
 * And the index cache of big mailboxes: used when it fits, and refused,
 * for a full scan, after each kind of change it must notice.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "conf.h"
#include "fromline.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"
#include "md5.h"
#include "params.h"
#include "transform.h"

/* The uidl_compat the mailboxes of check() and snap_open() are read with. */
static enum uidl_compat	compat;

/* transform_run's count of a message's bytes, fed in pieces of random size. */
static uint64_t
transform_count(const char *p, size_t len, enum mbox_format f)
{
	struct transform	x;
	uint64_t	n = 0;
	size_t		i = 0, piece, used;

	transform_init(&x, f, 0, -1);
	if (compat == UIDL_COMPAT_DOVECOT)
		transform_hide(&x);
	while (i < len) {
		piece = 1 + (size_t)rand() % 300;
		if (piece > len - i)
			piece = len - i;
		n += transform_run(&x, p + i, piece, NULL, 0, &used);
		assert_int_equal(used, piece);
		i += piece;
	}
	return n + transform_end(&x, NULL, 0);
}

/* The header fields a fingerprint covers (DESIGN.md, "UIDs"). */
static const char *const hashed_names[] = {
	"To", "Cc", "Date", "From", "Subject", "Received", "Message-ID",
	"Return-Path", "Delivered-To", "X-Original-To"
};

static int
is_hashed(const char *h, size_t len)
{
	const char	*colon = memchr(h, ':', len);
	size_t		 i, n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - h);
	for (i = 0; i < sizeof(hashed_names) / sizeof(hashed_names[0]); i++)
		if (strlen(hashed_names[i]) == n &&
		    strncasecmp(h, hashed_names[i], n) == 0)
			return 1;
	return 0;
}

/* p[0..n) with every CR right before an LF dropped, into out. */
static size_t
lf_only(const char *p, size_t n, char *out)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (p[i] != '\r' || i + 1 == n || p[i + 1] != '\n')
			out[k++] = p[i];
	return k;
}

/*
 * The end of the body's text: the blank lines that end it left out, as
 * far back as the scan looks (its last 2048 bytes).
 */
static size_t
ref_text_end(const char *p, size_t body, size_t e)
{
	size_t	from = e - body > 2048 ? e - 2048 : body;

	while (e > from && p[e - 1] == '\n') {
		if (e - from >= 2 && p[e - 2] == '\n')
			e--;
		else if (e - from >= 3 && p[e - 2] == '\r' && p[e - 3] == '\n')
			e -= 2;
		else if (from == body && (e - from == 1 ||
		    (e - from == 2 && p[from] == '\r')))
			e = from;
		else
			break;
	}
	return e;
}

static void
put_le64(unsigned char *le, uint64_t v)
{
	int	k;

	for (k = 0; k < 8; k++)
		le[k] = (unsigned char)(v >> (8 * k));
}

/*
 * The fingerprint the obvious way: each header line of the content (up
 * to its first blank line) of a hashed field, with its LF or CRLF hashed
 * as one LF (a last line without LF: its bytes, a final CR dropped);
 * then the body's text (its ending blank lines left out) with CRLF as
 * LF: its first and its last 512 bytes; then the three lengths,
 * little-endian.
 */
static void
ref_fp(const char *p, size_t len, unsigned char fp[MD5_LEN])
{
	struct md5	 c;
	const char	*nl;
	size_t		 i = 0, l, body = len, text, n, h = 0, hl, tl;
	int		 skip = 1;
	unsigned char	 le[24];
	char		*norm;

	md5_init(&c);
	while (i < len) {
		nl = memchr(p + i, '\n', len - i);
		l = nl != NULL ? (size_t)(nl - (p + i)) : len - i;
		if (nl != NULL && (l == 0 || (l == 1 && p[i] == '\r'))) {
			body = i + l + 1;
			break;
		}
		if (p[i] != ' ' && p[i] != '\t')
			skip = !is_hashed(p + i, l);
		if (!skip) {
			n = l > 0 && p[i + l - 1] == '\r' ? l - 1 : l;
			md5_update(&c, p + i, n);
			h += n;
			if (nl != NULL) {
				md5_update(&c, "\n", 1);
				h++;
			}
		}
		i += l + (nl != NULL);
	}
	text = body < len ? ref_text_end(p, body, len) : body;
	norm = malloc(text - body + 1);
	assert_non_null(norm);
	n = lf_only(p + body, text - body, norm);
	hl = n < 512 ? n : 512;
	tl = n < 512 ? n : 512;
	md5_update(&c, norm, hl);
	md5_update(&c, norm + n - tl, tl);
	free(norm);
	put_le64(le, h);
	put_le64(le + 8, hl);
	put_le64(le + 16, tl);
	md5_update(&c, le, sizeof(le));
	md5_final(&c, fp);
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char	d[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Reads cut anywhere: the same result as the mapped file */

/* All that an open of a mailbox finds, to compare two scans of it. */
struct snap {
	int		  st;
	size_t		  n;
	struct mbox_msg	 *msgs;
	char		(*uids)[UID_MAX + 1];
	unsigned char	(*fps)[MD5_LEN + 1];	/* [0]: a twin's group */
	int		  hidden;
	int		  cl_ignore;
	int		  xuidl_seen;
	uint64_t	  size;
};

static struct snap
snap_open(const char *path, enum mbox_format f)
{
	struct conf		 c;
	struct mbox		*m;
	struct snap		 v;
	const unsigned char	*fp;
	size_t			 i;

	memset(&v, 0, sizeof(v));
	conf_defaults(&c);
	c.mbox_format = f;
	c.uidl_compat = compat;
	c.lock_timeout = 1;
	if ((v.st = mbox_open(path, &c, &m)) != MD_OK)
		return v;
	v.n = mbox_ops.count(m);
	v.msgs = calloc(v.n + 1, sizeof(*v.msgs));
	v.uids = calloc(v.n + 1, sizeof(*v.uids));
	v.fps = calloc(v.n + 1, sizeof(*v.fps));
	assert_true(v.msgs != NULL && v.uids != NULL && v.fps != NULL);
	if (v.n > 0)
		memcpy(v.msgs, m->msgs, v.n * sizeof(*v.msgs));
	for (i = 0; i < v.n; i++) {
		snprintf(v.uids[i], sizeof(v.uids[i]), "%s",
		    mbox_ops.uid(m, i));
		if ((fp = uids_fp_of(m, i)) != NULL) {
			v.fps[i][0] = 1;
			memcpy(v.fps[i] + 1, fp, MD5_LEN);
		}
	}
	v.hidden = m->hidden;
	v.cl_ignore = m->cl_ignore;
	v.xuidl_seen = m->xuidl_seen;
	v.size = m->size;
	mbox_ops.close(m);
	return v;
}

static void
snap_free(struct snap *v)
{
	free(v->msgs);
	free(v->uids);
	free(v->fps);
}

static void
snap_equal(const struct snap *a, const struct snap *b)
{
	size_t	i;

	assert_int_equal(a->st, b->st);
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->hidden, b->hidden);
	assert_int_equal(a->cl_ignore, b->cl_ignore);
	assert_int_equal(a->xuidl_seen, b->xuidl_seen);
	assert_int_equal(a->size, b->size);
	for (i = 0; i < a->n; i++) {
		assert_memory_equal(&a->msgs[i], &b->msgs[i],
		    sizeof(a->msgs[i]));
		assert_string_equal(a->uids[i], b->uids[i]);
		assert_memory_equal(a->fps[i], b->fps[i], sizeof(a->fps[i]));
	}
}

/*
 * Open the file at path, holding b, mapped, and then through reads of
 * other sizes: 1, 2, 3 and 5 bytes (so that reads end at every place in
 * a small file, inside From_ lines, CRLFs and captured header lines),
 * and a few primes; each must find what the mapped scan finds (check
 * compares it with 128 KB reads).  Sizes that would take more than
 * CUT_READS_MAX reads are left out.  Returns the mapped open's result.
 */
#define CUT_READS_MAX	40000

static struct snap
cut_check(const struct bytes *b, const char *path, enum mbox_format f)
{
	static const size_t	sizes[] = { 1, 2, 3, 5, 61, 509, 4093 };
	struct snap		one, two;
	size_t			i;

	one = snap_open(path, f);
	mbox_scan_map = 0;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (b->len / sizes[i] > CUT_READS_MAX)
			continue;
		mbox_scan_read = sizes[i];
		two = snap_open(path, f);
		snap_equal(&one, &two);
		snap_free(&two);
	}
	mbox_scan_read = MBOX_READ_CHUNK;
	mbox_scan_map = 1;
	return one;
}

/* The bytes of the file at path, into b. */
static void
file_bytes(const char *path, struct bytes *b)
{
	char	buf[8192];
	ssize_t	n;
	int	fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		b_add(b, buf, (size_t)n);
	assert_int_equal(n, 0);
	close(fd);
}

static size_t	twins;

/*
 * popa3d's UIDL the obvious way, from its mailbox.c: MD5 over the whole
 * header lines (up to the first blank one) of the first Received:, any
 * Delivered-To:, Date: and Message-ID: before a Received:, X-Delivery-ID:
 * with a capital X, and their continuations; the digest's first two
 * 32-bit words printed byte-reversed.
 */
static void
ref_popa3d(const char *p, size_t len, char out[17])
{
	struct md5	 c;
	const char	*nl;
	size_t		 i = 0, l;
	int		 fixed = 0, received = 0, k;
	unsigned char	 d[MD5_LEN], r[8];

	md5_init(&c);
	while (i < len) {
		nl = memchr(p + i, '\n', len - i);
		l = nl != NULL ? (size_t)(nl + 1 - (p + i)) : len - i;
		if ((l == 1 && p[i] == '\n') || (l == 2 && p[i] == '\r' &&
		    p[i + 1] == '\n'))
			break;
		if (p[i] == 'X')
			fixed = l >= 14 && strncasecmp(p + i, "X-Delivery-ID:",
			    14) == 0;
		else if (p[i] != ' ' && p[i] != '\t') {
			if (!received && l >= 9 &&
			    strncasecmp(p + i, "Received:", 9) == 0)
				fixed = received = 1;
			else
				fixed = (l >= 13 && strncasecmp(p + i,
				    "Delivered-To:", 13) == 0) || (!received &&
				    ((l >= 5 && strncasecmp(p + i, "Date:",
				    5) == 0) || (l >= 11 && strncasecmp(p + i,
				    "Message-ID:", 11) == 0)));
		}
		if (fixed)
			md5_update(&c, p + i, l);
		i += l;
	}
	md5_final(&c, d);
	for (k = 0; k < 8; k++)
		r[k] = d[(k & 4) + 3 - (k & 3)];
	hex(r, 8, out);
}

/*
 * Under uidl_compat popa3d: each UID is ref_popa3d's, or for a value
 * two messages share, an own one (24 hex digits), all different.
 */
static void
check_popa3d(const struct bytes *b, struct mbox *m)
{
	size_t	i, j, n = mbox_ops.count(m), same;
	char	(*want)[17] = calloc(n + 1, sizeof(*want));

	assert_non_null(want);
	for (i = 0; i < n; i++)
		ref_popa3d(b->p + msg_content(&m->msgs[i]),
		    (size_t)msg_len(&m->msgs[i]), want[i]);
	for (i = 0; i < n; i++) {
		for (same = 0, j = 0; j < n; j++)
			same += strcmp(want[i], want[j]) == 0;
		if (same == 1)
			assert_string_equal(mbox_ops.uid(m, i), want[i]);
		else
			assert_int_equal(strlen(mbox_ops.uid(m, i)),
			    2 * MBOX_UID_BYTES);
	}
	free(want);
}

/*
 * Open the mailbox in b both ways; check every message's size against
 * transform_run, its fingerprint (the UID, or a twin's group's) against
 * ref_fp, and that both ways agree, and so do reads cut anywhere
 * (cut_check).  Returns the message count.
 */
static size_t
check(const struct bytes *b, enum mbox_format f)
{
	struct conf		 c;
	struct mbox		*m;
	const char		*path = mkfile_len(b->p, b->len), *u;
	const unsigned char	*gfp;
	struct snap		 one;
	unsigned char		 fp[MD5_LEN];
	char			 want[2 * MD5_LEN + 1], got[2 * MD5_LEN + 1];
	char			(*uids)[UID_MAX + 1] = NULL;
	uint64_t		 off, len, *sizes = NULL;
	size_t			 i, n = 0;
	int			 k;

	conf_defaults(&c);
	c.mbox_format = f;
	c.lock_timeout = 1;
	c.uidl_compat = compat;
	for (k = 0; k < 2; k++) {
		/* mapped first; then the reads must find the same */
		mbox_scan_map = k == 0;
		assert_int_equal(mbox_open(path, &c, &m), MD_OK);
		mbox_scan_map = 1;
		if (k == 0) {
			n = mbox_ops.count(m);
			sizes = calloc(n + 1, sizeof(*sizes));
			uids = calloc(n + 1, sizeof(*uids));
			assert_true(sizes != NULL && uids != NULL);
		}
		assert_int_equal(mbox_ops.count(m), n);
		for (i = 0; i < n; i++) {
			u = mbox_ops.uid(m, i);
			if (k == 1) {
				assert_int_equal(mbox_ops.size(m, i),
				    sizes[i]);
				assert_string_equal(u, uids[i]);
				continue;
			}
			sizes[i] = mbox_ops.size(m, i);
			snprintf(uids[i], sizeof(uids[i]), "%s", u);
			off = msg_content(&m->msgs[i]);
			len = msg_len(&m->msgs[i]);
			assert_true(off + len <= b->len);
			assert_int_equal(sizes[i],
			    transform_count(b->p + off, (size_t)len, f));
			if (compat != UIDL_COMPAT_NONE)
				continue;
			ref_fp(b->p + off, (size_t)len, fp);
			if ((gfp = uids_fp_of(m, i)) != NULL) {
				/* a twin: its group holds the fingerprint */
				hex(fp, MD5_LEN, want);
				hex(gfp, MD5_LEN, got);
				assert_string_equal(got, want);
				twins++;
				continue;
			}
			hex(fp, MBOX_UID_BYTES, want);
			assert_string_equal(u, want);
		}
		if (compat == UIDL_COMPAT_POPA3D)
			check_popa3d(b, m);
		mbox_ops.close(m);
	}
	one = cut_check(b, path, f);
	snap_free(&one);
	free(sizes);
	free(uids);
	unlink(path);
	return n;
}

/* ------------------------------------------------------------------ */
/* Fixtures */

struct fixture {
	const char	*text;
	size_t		 nmsgs;
};

#define FA	"From a@example.org Mon Jan  6 10:00:00 2025"
#define FB	"From b@example.org Mon Jan  6 10:00:01 2025"

static const struct fixture fixtures[] = {
	{ FA "\nSubject: x\n\nbody\n", 1 },
	{ FA "\nSubject: x\n\nbody", 1 },		/* no last LF */
	{ FA "\nSubject: x\n\nbody\r", 1 },		/* a lone CR last */
	{ FA "\r\nSubject: x\r\n\r\nbody\r\n\r\n" FB "\r\nA: b\r\n\r\n"
	    "two\r\n", 2 },
	{ FA "\nStatus: RO\nstatus: x\nX-UID: 4\nLines: 2\n"
	    "X-Keywords: a\n\tmore\nX-Status: F\nX-IMAPbase: 1 2\n"
	    "Content-Length: 5\nSubject: s\nX-IMAPx: 1\nLinesx: 2\n\n"
	    "hello\n", 1 },
	{ FA "\nA: 1\n\n>From quoted\n>>From twice\n>Fro\n>\n"
	    ">>>>>>>>>>>>>>>>>>>>>>From deep\n.dot\n..dd\n\n" FB "\n\n", 2 },
	{ FA "\nA: 1\n\nlast >>From", 1 },
	{ FA "\nA: 1\n\n>>>>>>>>>>>>>>>>>>>>>>>Fro", 1 },
	{ FA "\nno blank line\nFrom not a new one\n", 1 },
	{ FA "\n\n\n\n\n" FB "\n", 2 },
	{ FA "\n", 1 },
	{ FA, 1 },
	{ FA "\nA: b\r", 1 },
	{ FA "\nA: b\r\r\nB: c\rd\n\nx\r\r\n", 1 },
	{ FA "\n \tcontinued first\nX-UIDL\n: not a field\n\nb\n", 1 },
	/* bare CRs in hashed fields, past the bytes a line is judged by */
	{ FA "\nSubject: words before a bare\rCR\r\nTo: someone@example.org"
	    "\r\r\nCc: d\r\n\tcontinued, then a bare CR\r\r\n\nx\r\n", 1 },
};

static void
test_fixtures(void **state)
{
	const enum mbox_format	 fmts[] = { MBOX_MBOXO, MBOX_MBOXRD,
	    MBOX_MBOXCL2 };
	struct bytes		 b;
	size_t			 i, k;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		for (k = 0; k < 3; k++) {
			memset(&b, 0, sizeof(b));
			b_str(&b, fixtures[i].text);
			assert_int_equal(check(&b, fmts[k]),
			    fixtures[i].nmsgs);
			free(b.p);
		}
}

/* ------------------------------------------------------------------ */
/* Random mailboxes */

static const char *const hlines[] = {
	"Subject: s", "Status: RO", "STATUS: O", "X-Status: A", "x-uid: 7",
	"X-Keywords: k", "X-IMAP: 1 2", "X-IMAPbase: 3", "Lines: 9",
	"Content-Length: 3", "Content-length: 0", "Received: by x",
	" folded", "\tfolded", "To: a@b", "From: c", ">From: d", "Lines:x",
	"X-UID", "Statusx: 1", ":", "", "Delivered-To: a", "Date: d",
	"X-Delivery-ID: 1", "x-delivery-id: 2", "X-IMAPbase: 1 0000000009",
	"X-UID: 3",
};

static const char *const blines[] = {
	"", "From x", ">From x", ">>From y", ">>>From z", ">Fro", ">", ">>",
	".", "..", ".From", "text of a line", "From", " From x", ">From",
	"tail\r", "\r", "mid\rcr", "From y@example.org Tue Jan  7 10:00:00 2025",
	">From y@example.org Tue Jan  7 10:00:00 2025",
};

/* A random line end: LF mostly, sometimes CRLF. */
static void
eol(struct bytes *b)
{
	b_str(b, rand() % 5 == 0 ? "\r\n" : "\n");
}

static void
long_line(struct bytes *b)
{
	size_t	n = (size_t)rand() % (3 * MBOX_READ_CHUNK / 2), i;
	char	*p = malloc(n + 1);

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = "ab>F \r."[rand() % 7];
	b_add(b, p, n);
	free(p);
}

static void
rand_message(struct bytes *b, int id)
{
	char	tmp[64];
	int	i, n;

	b_str(b, "From sender@example.org Mon Jan  6 10:00:00 2025");
	eol(b);
	/* id < 0: none, as in mail popa3d gives one UIDL */
	if (id >= 0) {
		snprintf(tmp, sizeof(tmp), "Message-ID: <%d.%d@x>", id,
		    rand());
		b_str(b, tmp);
		eol(b);
	}
	for (i = rand() % 8; i > 0; i--) {
		b_str(b, hlines[rand() % (sizeof(hlines) / sizeof(hlines[0]))]);
		eol(b);
	}
	if (rand() % 10 != 0)
		eol(b);
	for (n = rand() % 12, i = 0; i < n; i++) {
		if (rand() % 40 == 0)
			long_line(b);
		else
			b_str(b, blines[rand() %
			    (sizeof(blines) / sizeof(blines[0]))]);
		eol(b);
	}
	if (rand() % 8 != 0)
		eol(b);
}

static void
test_random(void **state)
{
	const enum mbox_format	 fmts[] = { MBOX_MBOXO, MBOX_MBOXRD,
	    MBOX_MBOXCL2 };
	struct bytes		 b;
	size_t			 total = 0;
	int			 round, i, n;

	(void)state;
	srand(1939);
	for (round = 0; round < 60; round++) {
		memset(&b, 0, sizeof(b));
		for (n = 1 + rand() % 40, i = 0; i < n; i++)
			rand_message(&b, i);
		/* sometimes cut the last line short */
		if (rand() % 4 == 0 && b.len > 60)
			b.len -= (size_t)rand() % 3;
		total += check(&b, fmts[round % 3]);
		free(b.p);
	}
	print_message("%zu random messages checked\n", total);
}

/*
 * Under uidl_compat: Dovecot's fields hidden from the sizes as the
 * transform hides them, popa3d's UIDLs as ref_popa3d makes them, and
 * both the same whichever way the file is read.
 */
static void
test_random_compat(void **state)
{
	struct bytes	b;
	int		round, i, n;

	(void)state;
	srand(2449);
	for (round = 0; round < 40; round++) {
		compat = round % 2 ? UIDL_COMPAT_POPA3D : UIDL_COMPAT_DOVECOT;
		memset(&b, 0, sizeof(b));
		for (n = 1 + rand() % 30, i = 0; i < n; i++)
			rand_message(&b, round % 4 < 2 ? i : -1);
		check(&b, MBOX_MBOXO);
		free(b.p);
	}
	compat = UIDL_COMPAT_NONE;
}

/*
 * Bodies of ordinary lines, which the scan takes without its state
 * machine (scan_body), with the line it must stop at (blank, CRLF blank,
 * '>' for mboxrd, a From_ after a blank line) at every offset from 0 to
 * 139 bytes into the body, and lines with CRs and CRLF ends around it:
 * a scan that takes whole blocks of bytes at a time must pass it too.
 */
static void
test_body_lines(void **state)
{
	static const char *const stop[] = {
		"\n", "\r\n", ">From x\n", "\nFrom y@z Mon Jan  6 10:00:00 2025\n",
		"\r\nFrom y@z Mon Jan  6 10:00:00 2025\n", ">plain\n",
		"\rnot blank\n"
	};
	const enum mbox_format	 fmts[] = { MBOX_MBOXO, MBOX_MBOXRD,
	    MBOX_MBOXCL2 };
	struct bytes		 b;
	char			 line[160];
	size_t			 total = 0, i, k, n, len;
	int			 off;

	(void)state;
	srand(4155);
	for (off = 0; off < 140; off++) {
		for (i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
			memset(&b, 0, sizeof(b));
			b_str(&b, "From a@b Mon Jan  6 10:00:00 2025\nA: b\n\n");
			/* off bytes of ordinary lines, then the stop line */
			for (n = 0; n < (size_t)off; n += len) {
				len = 1 + (size_t)rand() % 90;
				if (len > (size_t)off - n)
					len = (size_t)off - n;
				for (k = 0; k + 1 < len; k++)
					line[k] = "abc >F\r."[rand() % 8];
				if (len > 1 && (line[0] == '\r' ||
				    line[0] == '>'))
					line[0] = 'x';
				line[len - 1] = '\n';
				if (len > 1 && rand() % 3 == 0)
					line[len - 2] = '\r';
				b_add(&b, line, len);
			}
			b_str(&b, stop[i]);
			for (k = 0; k < 30; k++)
				b_str(&b, k % 7 == 3 ? "crlf line of text\r\n" :
				    "an ordinary line of text, long enough to "
				    "matter in a block\n");
			n = check(&b, fmts[(size_t)off % 3]);
			assert_int_equal(n, strstr(stop[i], "From y") != NULL ?
			    2 : 1);
			total += n;
			free(b.p);
		}
	}
	print_message("%zu messages checked\n", total);
}

/* Identical twins: their group keeps the fingerprint; UIDs differ. */
static void
test_twins(void **state)
{
	struct bytes	b;
	int		i;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 5; i++)
		b_str(&b, FA "\nSubject: same\n\nsame body\n\n");
	twins = 0;
	assert_int_equal(check(&b, MBOX_MBOXO), 5);
	assert_int_equal(twins, 5);
	free(b.p);
}

/*
 * UIDs already given out must never change, whatever the scan or MD5 code
 * becomes: these are literal values, computed once by hand (Python's
 * hashlib over the scheme in DESIGN.md, "UIDs").  ref_fp can't catch a
 * wrong MD5, as it uses the same one.  Fields not hashed and folded
 * ones, a header block over one MD5 block, CRLF lines, a twin (ordinal
 * 1) and a last message without a body or a last LF.
 */
#define PIN_MSG1 \
	"From alice@example.org Mon Jan  1 00:00:00 2024\n" \
	"Return-Path: <alice@example.org>\n" \
	"Received: from mail.example.org (mail.example.org [192.0.2.1])\n" \
	"\tby mx.example.net with ESMTP id 4F2A1B; Mon, 1 Jan 2024 " \
	"00:00:00 +0000\n" \
	"Status: RO\n" \
	"Subject: pinned one\n" \
	"X-UID: 17\n" \
	"  continued volatile\n" \
	"Message-ID: <1@example.org>\n" \
	"\n" \
	"Hello,\n" \
	">From the start.\n" \
	"\n"

static void
test_uid_pinned(void **state)
{
	static const char	data[] = PIN_MSG1
	    "From bob@example.org Tue Jan  2 00:00:00 2024\r\n"
	    "Subject: crlf two\r\n"
	    "Content-Length: 11\r\n"
	    "X-Keywords: $Label1\r\n"
	    "\r\n"
	    "two\r\nlines\r\n"
	    "\n"
	    PIN_MSG1
	    "From carol@example.org Wed Jan  3 00:00:00 2024\n"
	    "Subject: no body";
	static const char *const want[] = {
		"af04b5f393f654adb31bcdf3", "6f4e16e65648c6587350a4b7",
		"a43fa78293bed544fbef1cd4", "27d9e676984d9f91b937b0f0"
	};
	struct bytes	 b;
	struct conf	 c;
	struct mbox	*m;
	const char	*path;
	size_t		 i;
	int		 k;

	(void)state;
	memset(&b, 0, sizeof(b));
	b_add(&b, data, sizeof(data) - 1);
	path = mkfile_len(b.p, b.len);
	conf_defaults(&c);
	c.lock_timeout = 1;
	for (k = 0; k < 2; k++) {
		mbox_scan_map = k == 0;
		assert_int_equal(mbox_open(path, &c, &m), MD_OK);
		mbox_scan_map = 1;
		assert_int_equal(mbox_ops.count(m), 4);
		for (i = 0; i < 4; i++)
			assert_string_equal(mbox_ops.uid(m, i), want[i]);
		mbox_ops.close(m);
	}
	unlink(path);
	free(b.p);
}

/* ------------------------------------------------------------------ */
/* The index cache */

/* What a session sees of a mailbox, and whether the cache served it. */
struct seen {
	size_t		  n;
	uint64_t	 *sizes;
	char		(*uids)[UID_MAX + 1];
	int		  cached;
};

static struct seen
seen_open(const char *path)
{
	struct conf	 c;
	struct mbox	*m;
	struct seen	 v;
	size_t		 i;

	conf_defaults(&c);
	c.lock_timeout = 1;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	v.n = mbox_ops.count(m);
	v.cached = m->cached;
	v.sizes = calloc(v.n + 1, sizeof(*v.sizes));
	v.uids = calloc(v.n + 1, sizeof(*v.uids));
	assert_true(v.sizes != NULL && v.uids != NULL);
	for (i = 0; i < v.n; i++) {
		v.sizes[i] = mbox_ops.size(m, i);
		snprintf(v.uids[i], sizeof(v.uids[i]), "%s",
		    mbox_ops.uid(m, i));
	}
	mbox_ops.close(m);
	return v;
}

static void
seen_free(struct seen *v)
{
	free(v->sizes);
	free(v->uids);
}

static char	cachepath[160];

/* What a full scan finds now (the cache removed first). */
static struct seen
seen_scan(const char *path)
{
	struct seen	v;

	(void)unlink(cachepath);
	v = seen_open(path);
	assert_false(v.cached);
	return v;
}

static void
seen_equal(const struct seen *a, const struct seen *b)
{
	size_t	i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->sizes[i], b->sizes[i]);
		assert_string_equal(a->uids[i], b->uids[i]);
	}
}

/* A mailbox just over INDEXCACHE_MIN_BYTES; returns its path. */
static const char *
big_mailbox(int with_twins)
{
	static char	 path[128];
	struct bytes	 b;
	char		 line[128];
	int		 i, k;

	memset(&b, 0, sizeof(b));
	for (i = 0; b.len < INDEXCACHE_MIN_BYTES + 4096; i++) {
		snprintf(line, sizeof(line), "From a@b Mon Jan  6 10:00:00 "
		    "2025\nMessage-ID: <%d@x>\nSubject: m\n\n",
		    with_twins && i < 2 ? 0 : i);
		b_str(&b, line);
		for (k = 0; k < 80; k++)
			b_str(&b, ">From a quoted line of text in the body of "
			    "a message, long enough\n");
		b_str(&b, "\n");
	}
	snprintf(path, sizeof(path), "%s", mkfile_len(b.p, b.len));
	snprintf(cachepath, sizeof(cachepath), "%s/.%s.pop3d-index",
	    tmpdir, strrchr(path, '/') + 1);
	free(b.p);
	return path;
}

static void
test_cache_used(void **state)
{
	const char	*path = big_mailbox(0);
	struct seen	 a, b, c;
	struct stat	 st;

	(void)state;
	a = seen_scan(path);
	assert_int_equal(stat(cachepath, &st), 0);
	assert_int_equal(st.st_size, 128 + a.n * sizeof(struct mbox_msg));
	b = seen_open(path);
	assert_true(b.cached);
	seen_equal(&a, &b);
	/* appended mail is scanned; the result is a full scan's */
	append(path, "From c@d Mon Jan  6 10:00:00 2025\nSubject: new\n\n"
	    "body\n\n");
	c = seen_open(path);
	assert_true(c.cached);
	assert_int_equal(c.n, a.n + 1);
	seen_free(&b);
	b = seen_scan(path);
	seen_equal(&b, &c);
	seen_free(&a);
	seen_free(&b);
	seen_free(&c);
}

/* The offset of the From_ line of message idx. */
static off_t
from_of(const char *path, size_t idx)
{
	char	buf[65536];
	off_t	off = 0;
	ssize_t	n, i;
	size_t	k = 0;
	int	fd = open(path, O_RDONLY), bol = 1;

	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++, off++) {
			if (bol && buf[i] == 'F' && k++ == idx) {
				close(fd);
				return off;
			}
			bol = buf[i] == '\n';
		}
	}
	fail();
	return 0;
}

/* Each change must make the next open scan, and find what a scan finds. */
static void
test_cache_refused(void **state)
{
	const char	*path = big_mailbox(0);
	struct seen	 a, b;
	struct stat	 st;
	int		 fd, k;

	(void)state;
	for (k = 0; k < 5; k++) {
		if (k == 4) {
			/* the last message without its blank line */
			assert_int_equal(stat(path, &st), 0);
			assert_int_equal(truncate(path, st.st_size - 1), 0);
		}
		a = seen_scan(path);
		assert_true(stat(cachepath, &st) == 0);
		assert_int_equal(stat(path, &st), 0);
		switch (k) {
		case 0:		/* same size, new mtime: a rewrite */
			poke(path, 100, "X", 0);
			break;
		case 1:		/* in the tail, mtime put back */
			poke(path, st.st_size - 10, "Y", 1);
			break;
		case 2:		/* a sampled From_ line, mtime put back */
			poke(path, from_of(path, a.n / INDEXCACHE_SAMPLE + 1),
			    "Frob ", 1);
			break;
		case 3:		/* the cache itself damaged */
			fd = open(cachepath, O_WRONLY);
			assert_true(fd >= 0);
			/* a UID byte: nothing but the checksum sees it */
			assert_int_equal(pwrite(fd, "\377", 1, 128 + 2 *
			    sizeof(struct mbox_msg) + 20), 1);
			close(fd);
			break;
		case 4:		/* appended without the blank line first */
			append(path, "From e@f Mon Jan  6 10:00:00 2025\n\n");
			break;
		}
		b = seen_open(path);
		assert_false(b.cached);
		seen_free(&a);
		a = seen_scan(path);
		seen_equal(&a, &b);
		seen_free(&a);
		seen_free(&b);
	}
}

/* Twins need more than the index: no cache is kept. */
static void
test_cache_twins(void **state)
{
	const char	*path = big_mailbox(1);
	struct seen	 a;
	struct stat	 st;

	(void)state;
	a = seen_scan(path);
	assert_int_not_equal(stat(cachepath, &st), 0);
	assert_string_not_equal(a.uids[0], a.uids[1]);
	seen_free(&a);
}

/* ------------------------------------------------------------------ */
/* Hostile mailboxes, read cut anywhere */

/* A message of mboxcl2 whose body, len bytes, holds From_ lines. */
static void
cl_message(struct bytes *b, int id, int lie, const char *eol_)
{
	char	body[512], line[160];
	size_t	len;

	snprintf(body, sizeof(body), "line one%s%sFrom in%d@x Mon Jan  6 "
	    "10:00:00 2025%s%sFrom again@x Mon Jan  6 10:00:00 2025%sbody "
	    "end%s", eol_, eol_, id, eol_, eol_, eol_, eol_);
	len = strlen(body);
	snprintf(line, sizeof(line), "From s@x Mon Jan  6 10:00:00 2025%s"
	    "Message-ID: <%d@cl>%sContent-Length: %zu%s%s", eol_, id, eol_,
	    lie ? len - 3 : len, eol_, eol_);
	b_str(b, line);
	b_str(b, body);
	b_str(b, eol_);
}

/*
 * mboxcl2: From_ lines after blank lines inside Content-Length bodies,
 * which the scan takes whole, however its reads cut them.  With LF and
 * CRLF lines; and with one wrong length, early or late, which makes the
 * whole scan start again by From_ lines: every body's two From_ lines
 * then begin messages, as in mboxo.
 */
static void
test_cut_clen(void **state)
{
	static const char *const eols[] = { "\n", "\r\n" };
	struct bytes	 b;
	struct snap	 v;
	const char	*path;
	int		 e, lie, i;

	(void)state;
	for (lie = -1; lie < 2; lie++)
		for (e = 0; e < 2; e++) {
			memset(&b, 0, sizeof(b));
			for (i = 0; i < 12; i++)
				cl_message(&b, i, lie >= 0 &&
				    i == (lie == 0 ? 2 : 9), eols[e]);
			path = mkfile_len(b.p, b.len);
			v = cut_check(&b, path, MBOX_MBOXCL2);
			assert_int_equal(v.st, MD_OK);
			assert_int_equal(v.cl_ignore, lie >= 0);
			assert_int_equal(v.n, lie >= 0 ? 36 : 12);
			snap_free(&v);
			v = cut_check(&b, path, MBOX_MBOXO);
			assert_int_equal(v.n, 36);
			snap_free(&v);
			unlink(path);
			free(b.p);
		}
}

/*
 * One message of 2 MB, with quoted and unquoted "From " lines in its
 * body that begin no message; then with a small message before it (in
 * mboxrd, with its >From lines) or after it.
 */
static void
test_cut_shapes(void **state)
{
	struct bytes	 b;
	struct snap	 v;
	const char	*path;
	int		 i, k;

	(void)state;
	for (k = 0; k < 3; k++) {
		memset(&b, 0, sizeof(b));
		if (k == 1)
			b_str(&b, FA "\n\nsmall\n\n");
		b_str(&b, FB "\nSubject: big\n\n");
		for (i = 0; i < 40000; i++)
			b_str(&b, i % 100 == 0 ? ">" FA ", quoted\n"
			    "From here on, no From_ line either\n" :
			    "a line of the one big message, 60 bytes long, "
			    "or so....\n");
		if (k == 2)
			b_str(&b, "\n" FA "\n\nsmall\n");
		path = mkfile_len(b.p, b.len);
		v = cut_check(&b, path, k == 1 ? MBOX_MBOXRD : MBOX_MBOXO);
		assert_int_equal(v.n, k == 0 ? 1 : 2);
		snap_free(&v);
		unlink(path);
		free(b.p);
	}
}

/*
 * Decisions that depend on more than one message: the folder-data
 * message first (hidden), identical twins early and late, an X-UIDL
 * value unique in the mailbox (served) and one that two messages carry
 * (served by neither); then the UID sidecar an UPDATE leaves (twins'
 * ordinals), and mboxcl2's "content-length ignored" note.
 */
static void
test_cut_order(void **state)
{
	static const char	folder[] = "From MAILER-DAEMON Mon Jan  6 "
	    "10:00:00 2025\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER "
	    "INTERNAL DATA\nX-IMAP: 1 2\n\ninternal\n\n";
	struct bytes	 b;
	struct snap	 v;
	struct conf	 c;
	struct mbox	*m;
	const char	*path;
	unsigned char	*del;
	char		 line[128];
	size_t		 n, i;
	int		 fmt;

	(void)state;
	for (fmt = 0; fmt < 2; fmt++) {
		memset(&b, 0, sizeof(b));
		b_str(&b, folder);
		for (i = 0; i < 30; i++) {
			snprintf(line, sizeof(line), "From a@b Mon Jan  6 "
			    "10:00:00 2025\nSubject: %zu\n%s%s\nbody\n\n",
			    i % 4 == 0 ? (size_t)0 : i,
			    i == 25 ? "X-UIDL: only-second\n" : "",
			    i == 3 || i == 27 ? "X-UIDL: in-both\n" :
			    fmt == 1 && i == 20 ? "Content-Length: 99\n" : "");
			b_str(&b, line);
		}
		path = mkfile_len(b.p, b.len);
		v = cut_check(&b, path, fmt ? MBOX_MBOXCL2 : MBOX_MBOXO);
		assert_int_equal(v.n, 30);
		assert_true(v.hidden);
		assert_int_equal(v.cl_ignore, fmt);
		assert_string_equal(v.uids[25], "only-second");
		assert_string_not_equal(v.uids[3], "in-both");
		assert_string_not_equal(v.uids[27], "in-both");
		assert_true(v.fps[0][0] && v.fps[4][0]);	/* twins */
		snap_free(&v);
		/* delete some twins: the sidecar keeps their ordinals */
		conf_defaults(&c);
		c.lock_timeout = 1;
		c.mbox_format = fmt ? MBOX_MBOXCL2 : MBOX_MBOXO;
		assert_int_equal(mbox_open(path, &c, &m), MD_OK);
		assert_true(fmt || m->hidden);
		n = mbox_ops.count(m);
		assert_non_null(del = calloc(n, 1));
		del[0] = del[8] = del[13] = 1;
		assert_int_equal(mbox_ops.update(m, del), MD_OK);
		mbox_ops.close(m);
		free(del);
		free(b.p);
		memset(&b, 0, sizeof(b));
		file_bytes(path, &b);
		v = cut_check(&b, path, fmt ? MBOX_MBOXCL2 : MBOX_MBOXO);
		assert_int_equal(v.n, 27);
		assert_int_equal(v.cl_ignore, fmt);
		snap_free(&v);
		unlink(path);
		free(b.p);
	}
}

/*
 * A mailbox of some MB, twins and X-UIDL values all through it: mapped,
 * as the daemon opens it, and through reads, which end in the middle of
 * lines and messages many times over.
 */
static void
test_cut_big(void **state)
{
	struct bytes	 b;
	struct snap	 v;
	const char	*path;
	char		 line[160];
	int		 i;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 30000; i++) {
		snprintf(line, sizeof(line), "From a@b Mon Jan  6 10:00:00 "
		    "2025\nSubject: %d\n%s\nbody %d\nmore\n\n", i % 7 == 0 ?
		    0 : i, i % 1000 == 1 ? "X-UIDL: u\n" : "", i % 7);
		b_str(&b, line);
	}
	path = mkfile_len(b.p, b.len);
	v = cut_check(&b, path, MBOX_MBOXO);
	assert_int_equal(v.n, 30000);
	assert_true(v.xuidl_seen);
	snap_free(&v);
	unlink(path);
	free(b.p);
}

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make("test_scan");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_compat),
		cmocka_unit_test(test_body_lines),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_uid_pinned),
		cmocka_unit_test(test_cache_used),
		cmocka_unit_test(test_cache_refused),
		cmocka_unit_test(test_cache_twins),
		cmocka_unit_test(test_cut_clen),
		cmocka_unit_test(test_cut_shapes),
		cmocka_unit_test(test_cut_order),
		cmocka_unit_test(test_cut_big),
	};

	return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
