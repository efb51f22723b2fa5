/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for the mbox maildrop (mbox.c): opening and scanning
 * (fixture mailboxes written to a temporary directory, and random ones
 * checked against a simple in-memory reference parser), reading (TOP,
 * read boundaries, prefetch, a file changed under a reader), the
 * folder-data message and mboxcl2.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "conf.h"
#include "fromline.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"
#include "params.h"

/* ------------------------------------------------------------------ */
/* Helpers */

static void
b_printf(struct bytes *b, const char *fmt, ...)
{
	char	tmp[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	b_add(b, tmp, (size_t)n);
}

/* RETR output is CRLF-clean and as long as the LIST size says. */
static void
check_sizes(struct mbox *m)
{
	struct bytes	b;
	size_t		i;

	for (i = 0; i < mbox_ops.count(m); i++) {
		b = retr(m, i, -1, i % 2 ? 1 : 8192);
		assert_int_equal(mbox_ops.size(m, i), b.len - stuffed(&b));
		assert_true(b.len == 0 ||
		    (b.len >= 2 && memcmp(b.p + b.len - 2, "\r\n", 2) == 0));
		free(b.p);
	}
}

/* ------------------------------------------------------------------ */
/* A reference: the mbox rules written the obvious way, in memory. */

struct ref_line {
	const char	*p;
	size_t		 len;		/* with its line end */
};

static int
ref_blank(const struct ref_line *l)
{
	return (l->len == 1 && l->p[0] == '\n') ||
	    (l->len == 2 && l->p[0] == '\r' && l->p[1] == '\n');
}

/* A message starts at a From_ line (fromline.c, tested on its own). */
static int
ref_from(const struct ref_line *l)
{
	return from_line_valid(l->p, l->len > 0 && l->p[l->len - 1] == '\n' ?
	    l->len - 1 : l->len);
}

static size_t
ref_lines(const char *p, size_t len, struct ref_line **out)
{
	struct ref_line	*v = NULL;
	size_t		 n = 0, i = 0, j;

	while (i < len) {
		for (j = i; j < len && p[j] != '\n'; j++)
			;
		if (j < len)
			j++;
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n].p = p + i;
		v[n].len = j - i;
		n++;
		i = j;
	}
	*out = v;
	return n;
}

/* The POP form of lines [a, b) of a message. */
static void
ref_pop(struct bytes *o, const struct ref_line *l, size_t a, size_t b,
    enum mbox_format f, int stuff)
{
	size_t	i, len, g;

	for (i = a; i < b; i++) {
		const char	*p = l[i].p;

		len = l[i].len;
		if (len > 0 && p[len - 1] == '\n')
			len -= len > 1 && p[len - 2] == '\r' ? 2 : 1;
		if (f == MBOX_MBOXRD) {
			for (g = 0; g < len && p[g] == '>'; g++)
				;
			if (g > 0 && len - g >= 5 &&
			    memcmp(p + g, "From ", 5) == 0) {
				p++;
				len--;
			}
		}
		if (stuff && len > 0 && p[0] == '.')
			b_add(o, ".", 1);
		b_add(o, p, len);
		b_add(o, "\r\n", 2);
	}
}

/* Messages of an mbox in memory: POP form (stuffed) of each. */
static size_t
ref_parse(const char *p, size_t len, enum mbox_format f,
    struct bytes **msgs)
{
	struct ref_line	*l;
	struct bytes	*v = NULL;
	size_t		 n, i, s, e, nm = 0;

	n = ref_lines(p, len, &l);
	for (i = 0; i < n; i = e) {
		assert_true(ref_from(&l[i]));
		s = i + 1;
		for (e = s; e < n && !ref_from(&l[e]); e++)
			;
		v = realloc(v, (nm + 1) * sizeof(*v));
		assert_non_null(v);
		memset(&v[nm], 0, sizeof(v[nm]));
		b_add(&v[nm], "", 0);
		/* the separator: before a From_ line or ending the file */
		ref_pop(&v[nm], l, s, e > s && ref_blank(&l[e - 1]) ? e - 1 :
		    e, f, 1);
		nm++;
	}
	free(l);
	*msgs = v;
	return nm;
}

static void
ref_free(struct bytes *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

/* The mbox at path holds exactly what the reference finds in data. */
static void
check_against_ref(const char *path, const char *data, size_t len,
    enum mbox_format f)
{
	struct mbox	*m = open_fmt(path, f);
	struct bytes	*ref, got;
	size_t		 n, i;

	n = ref_parse(data, len, f, &ref);
	assert_int_equal(mbox_ops.count(m), n);
	for (i = 0; i < n; i++) {
		got = retr(m, i, -1, i % 3 == 0 ? 1 : i % 3 == 1 ? 100 : 65536);
		assert_int_equal(got.len, ref[i].len);
		assert_memory_equal(got.p, ref[i].p, got.len);
		assert_int_equal(mbox_ops.size(m, i), got.len - stuffed(&got));
		free(got.p);
	}
	mbox_ops.close(m);
	ref_free(ref, n);
}

/* ------------------------------------------------------------------ */
/* Fixtures */

struct fixture {
	const char	*name;
	const char	*data;
	size_t		 len;		/* 0: strlen(data) */
	int		 format;
	size_t		 nmsgs;
	const char	*msgs[4];	/* RETR bytes, stuffed */
};

static const struct fixture fixtures[] = {
	{ "two messages",
	  FROM1 "\nSubject: one\n\nbody1\n\n" FROM2 "\nSubject: two\n\nbody2\n\n",
	  0, MBOX_MBOXO, 2,
	  { "Subject: one\r\n\r\nbody1\r\n", "Subject: two\r\n\r\nbody2\r\n" } },
	{ "text starting \"From \" without a blank line before it",
	  FROM1 "\nS: x\n\nline\nFrom me to you\nmore\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\nline\r\nFrom me to you\r\nmore\r\n" } },
	{ "text starting \"From \" after a blank line is no From_ line",
	  FROM1 "\nS: x\n\nline\n\nFrom here on, we go\nmore\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\nline\r\n\r\nFrom here on, we go\r\nmore\r\n" } },
	{ "a From_ line after a blank line starts a message",
	  FROM1 "\nS: x\n\nline\n\n" FROM2 "\nmore\n",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nline\r\n", "more\r\n" } },
	{ "a From_ line without a blank line before it starts one too",
	  FROM1 "\nS: 1\n\none\n" FROM2 "\nS: 2\n\ntwo\n\n",
	  0, MBOX_MBOXO, 2,
	  { "S: 1\r\n\r\none\r\n", "S: 2\r\n\r\ntwo\r\n" } },
	{ ">From mboxo",
	  FROM1 "\nS: x\n\n>From quoted\n>>From double\n>Fromage\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\n>From quoted\r\n>>From double\r\n>Fromage\r\n" } },
	{ ">From mboxrd",
	  FROM1 "\nS: x\n\n>From quoted\n>>From double\n>Fromage\n",
	  0, MBOX_MBOXRD, 1,
	  { "S: x\r\n\r\nFrom quoted\r\n>From double\r\n>Fromage\r\n" } },
	{ "CRLF file",
	  FROM1 "\r\nS: x\r\n\r\nb\r\n\r\n" FROM2 "\r\nS: y\r\n\r\n.c\r\n\r\n",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nb\r\n", "S: y\r\n\r\n..c\r\n" } },
	{ "last message without a newline",
	  FROM1 "\nS: x\n\nb\n\n" FROM2 "\nS: y\n\nlast",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nb\r\n", "S: y\r\n\r\nlast\r\n" } },
	{ "file ends without the separator",
	  FROM1 "\nS: x\n\nb\n",
	  0, MBOX_MBOXO, 1, { "S: x\r\n\r\nb\r\n" } },
	{ "NUL bytes",
	  FROM1 "\nS: x\n\na\0b\n\0\n\n" FROM2 "\n\0\n",
	  sizeof(FROM1 "\nS: x\n\na\0b\n\0\n\n" FROM2 "\n\0\n") - 1,
	  MBOX_MBOXO, 2,
	  { NULL, NULL } },
	{ "lines starting with a dot",
	  FROM1 "\nS: x\n\n.hidden\n..two\n.\n. \n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\n..hidden\r\n...two\r\n..\r\n.. \r\n" } },
	{ "blank lines before the separator are content",
	  FROM1 "\n\nbody\n\n\n\n" FROM2 "\nS: y\n",
	  0, MBOX_MBOXO, 2,
	  { "\r\nbody\r\n\r\n\r\n", "S: y\r\n" } },
	{ "empty messages",
	  FROM1 "\n\n" FROM2 "\n\n" FROM1 "",
	  0, MBOX_MBOXO, 3, { "", "", "" } },
	{ "lone CR",
	  FROM1 "\nS: x\r y\n\nz\r",
	  0, MBOX_MBOXO, 1, { "S: x\r y\r\n\r\nz\r\r\n" } },
	{ "a From_ line right after a From_ line: an empty message",
	  FROM1 "\n" FROM2 "\n\nb\n",
	  0, MBOX_MBOXO, 2, { "", "\r\nb\r\n" } },
	{ "\"From\" without a space after a blank line is content",
	  FROM1 "\nS: x\n\nFrom\nFromage\n\nFrom:x\n",
	  0, MBOX_MBOXO, 1, { "S: x\r\n\r\nFrom\r\nFromage\r\n\r\nFrom:x\r\n" } },
	{ "CRLF blank line before an LF From_",
	  FROM1 "\nS: x\n\r\nb\r\n\r\n" FROM2 "\nc\n",
	  0, MBOX_MBOXO, 2, { "S: x\r\n\r\nb\r\n", "c\r\n" } },
};

static void
test_fixtures(void **state)
{
	const struct fixture	*fx;
	struct mbox		*m;
	struct bytes		 got;
	const char		*path;
	size_t			 i, j, len;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		fx = &fixtures[i];
		len = fx->len != 0 ? fx->len : strlen(fx->data);
		path = mkfile_len(fx->data, len);
		m = open_fmt(path, fx->format);
		if (mbox_ops.count(m) != fx->nmsgs)
			fail_msg("%s: %zu messages, want %zu", fx->name,
			    mbox_ops.count(m), fx->nmsgs);
		for (j = 0; j < fx->nmsgs; j++) {
			if (fx->msgs[j] == NULL)
				continue;
			got = retr(m, j, -1, 3);
			if (got.len != strlen(fx->msgs[j]) ||
			    memcmp(got.p, fx->msgs[j], got.len) != 0)
				fail_msg("%s: message %zu is \"%s\"", fx->name,
				    j, got.p);
			free(got.p);
		}
		check_sizes(m);
		mbox_ops.close(m);
		check_against_ref(path, fx->data, len, fx->format);
	}
}

static void
test_nul(void **state)
{
	static const char	data[] = FROM1 "\nS: x\n\na\0b\n";
	static const char	want[] = "S: x\r\n\r\na\0b\r\n";
	struct mbox		*m;
	struct bytes		 got;

	(void)state;
	m = open_ok(mkfile_len(data, sizeof(data) - 1));
	assert_int_equal(mbox_ops.count(m), 1);
	got = retr(m, 0, -1, 4096);
	assert_int_equal(got.len, sizeof(want) - 1);
	assert_memory_equal(got.p, want, got.len);
	assert_int_equal(mbox_ops.size(m, 0), sizeof(want) - 1);
	free(got.p);
	mbox_ops.close(m);
}

static void
test_empty_and_missing(void **state)
{
	struct mbox	*m;
	unsigned char	 del[1] = { 1 };

	(void)state;
	m = open_ok(mkfile(""));
	assert_int_equal(mbox_ops.count(m), 0);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);

	m = open_ok(newpath());
	assert_int_equal(mbox_ops.count(m), 0);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
}

static void
test_corrupt(void **state)
{
	static const char	*bad[] = { "Subject: x\n\nbody\n",
	    "\n" FROM1 "\n\nb\n", "From\n", "from a\n", "From", " From a\n",
	    ">From a\n", "\r\nFrom a\n" };
	struct conf		 c;
	size_t			 i;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(open_status(mkfile(bad[i]),
		    &c), MD_PERM);
	/* a directory is no mailbox either */
	assert_int_equal(open_status(tmpdir, &c), MD_PERM);
}

static void
test_top(void **state)
{
	static const char	data[] = FROM1 "\nA: 1\nB: 2\n\nl1\n.l2\nl3\n\n"
	    FROM2 "\nA: 1\nB: 2\n\n" FROM1 "\nC: 3\n";
	struct mbox		*m;
	struct bytes		 b;

	(void)state;
	m = open_ok(mkfile_len(data, sizeof(data) - 1));
	assert_int_equal(mbox_ops.count(m), 3);
	b = retr(m, 0, 0, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\n");
	free(b.p);
	b = retr(m, 0, 1, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n");
	free(b.p);
	b = retr(m, 0, 2, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n");
	free(b.p);
	b = retr(m, 0, 100, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	free(b.p);
	/* the separator is not the header/body blank line */
	b = retr(m, 1, 0, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n");
	free(b.p);
	b = retr(m, 2, 3, 5);
	assert_string_equal(b.p, "C: 3\r\n");
	free(b.p);
	/* RETR after TOP starts afresh */
	b = retr(m, 0, -1, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	free(b.p);
	mbox_ops.close(m);
}

/*
 * Random mailboxes, some far larger than a read block and with lines
 * longer than one, checked against the reference parser.
 */
static void
gen_random(struct bytes *b, unsigned *seed, int crlf, size_t nmsgs,
    int huge)
{
	static const char	*lines[] = { "Subject: hi", "From x", ">From y",
	    ">>From z", ".dot", ".", "", "", "plain text line", "From",
	    "\r", "Status: RO", " continued", "X-UID: 5", ">", "From  2",
	    "From q@example.org Tue Jan  2 00:00:00 2024",
	    ">From q@example.org Tue Jan  2 00:00:00 2024" };
	const char		*eol = crlf ? "\r\n" : "\n";
	size_t			 i, k, n, j;

	for (i = 0; i < nmsgs; i++) {
		b_printf(b, "From u%zu@example.org Mon Jan  1 00:00:00 2024%s",
		    i, eol);
		n = (size_t)rand_r(seed) % 30;
		for (k = 0; k < n; k++) {
			j = (size_t)rand_r(seed) % (sizeof(lines) /
			    sizeof(lines[0]) + 1);
			if (j == sizeof(lines) / sizeof(lines[0])) {
				/* a long line straddling read blocks */
				size_t	len = huge ? (size_t)rand_r(seed) %
				    (300 * 1024) : (size_t)rand_r(seed) % 200;

				while (len-- > 0)
					b_add(b, len % 61 ? "q" : "\r", 1);
			} else
				b_str(b, lines[j]);
			b_str(b, eol);
		}
		if (i + 1 < nmsgs || rand_r(seed) % 2)
			b_str(b, eol);
	}
}

static void
test_random_mailboxes(void **state)
{
	struct bytes	b;
	unsigned	seed = 7;
	int		round;

	(void)state;
	for (round = 0; round < 24; round++) {
		memset(&b, 0, sizeof(b));
		b_add(&b, "", 0);
		gen_random(&b, &seed, round % 2, 1 + rand_r(&seed) % 40,
		    round % 4 == 3);
		/* sometimes the last line without a newline */
		if (round % 3 == 0 && b.len > 0 && b.p[b.len - 1] == '\n')
			b.len--;
		check_against_ref(mkfile_len(b.p, b.len), b.p, b.len,
		    round % 5 == 0 ? MBOX_MBOXRD : MBOX_MBOXO);
		free(b.p);
	}
}

/*
 * The tail message T placed so that a read boundary falls at each of its
 * first bytes in turn: in the separator, the From_ line, a volatile
 * header, a header line holding a lone CR.  Contents and UID must not
 * change.
 */
#define TAIL	FROM2 "\r\nStatus: RO\r\nX-A: 0123456789abcdef\rb\r\n" \
	"Subject: t\r\n\r\nbody\r\n"

static void
test_read_boundaries(void **state)
{
	struct bytes	 b;
	struct mbox	*m;
	const char	*path;
	char		 want[25];
	size_t		 k, fill;

	(void)state;
	m = open_ok(mkfile(TAIL));
	memcpy(want, mbox_ops.uid(m, 0), sizeof(want));
	mbox_ops.close(m);
	for (k = 0; k <= strlen(TAIL); k++) {
		memset(&b, 0, sizeof(b));
		b_str(&b, FROM1 "\nS: x\n\n");
		/* T starts at MBOX_READ_CHUNK - k, after a one-byte blank line */
		fill = MBOX_READ_CHUNK - k - 1 - b.len;
		while (fill > 100) {
			b_str(&b, "0123456789012345678901234567890123456789"
			    "01234567890123456789012345678901234567890123456\n");
			fill -= 88;
		}
		while (fill-- > 1)
			b_str(&b, "z");
		b_str(&b, "\n\n");
		assert_int_equal(b.len, MBOX_READ_CHUNK - k);
		b_str(&b, TAIL);
		path = mkfile_len(b.p, b.len);
		check_against_ref(path, b.p, b.len, MBOX_MBOXO);
		m = open_ok(path);
		assert_int_equal(mbox_ops.count(m), 2);
		assert_string_equal(mbox_ops.uid(m, 1), want);
		mbox_ops.close(m);
		unlink(path);
		free(b.p);
	}
}

/* ------------------------------------------------------------------ */
/* A big mailbox */

static void
test_big_mailbox(void **state)
{
	struct bytes	 b = { NULL, 0, 0 };
	struct mbox	*m;
	const char	*path;
	char		*u;
	size_t		 i, n;
	struct timespec	 t0, t1;

	(void)state;
	b_add(&b, "", 0);
	for (i = 0; i < 10000; i++) {
		b_printf(&b, "From u@example.org Mon Jan  1 00:00:00 2024\n"
		    "Subject: message %zu\n\nbody %zu\n", i, i);
		/* identical twins every 100 messages */
		if (i % 100 == 0)
			b_str(&b, "\nFrom u@example.org Mon Jan  1 00:00:00 "
			    "2024\nSubject: twin\n\nsame\n");
		b_str(&b, "\n");
	}
	path = mkfile_len(b.p, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = open_ok(path);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(mbox_ops.count(m), 10100);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(mbox_ops.size(m, 9), strlen("Subject: message 8\r\n"
	    "\r\nbody 8\r\n"));
	check_sizes(m);
	mbox_ops.close(m);
	u = hashed_uids(path, &n);
	assert_int_equal(n, 10100);
	assert_unique(u, n);
	free(u);
	free(b.p);
}

/* ------------------------------------------------------------------ */
/* Reading a file that changes */

/*
 * The prefetch hint reads ahead but serves nothing from it: a body changed
 * in place after the hint (same length, the mtime put back, so that no
 * check can see it) is sent as it is now.  A hint while a message is being
 * streamed leaves that stream whole.
 */
static void
test_prefetch(void **state)
{
	/* a reader marks message 2 read: no part of its UID changes */
	static const char	 before[] = M1 FROM2 "\nSubject: 2\nStatus: O\n"
	    "\ntwo\n>From x\n\n" M3, after[] = M1 FROM2 "\nSubject: 2\n"
	    "Status: R\n\ntwo\n>From x\n\n" M3;
	const char		*path;
	struct mbox		*m;
	struct bytes		 got, part;
	struct stat		 st;
	struct timespec		 times[2];
	char			 out[8];
	ssize_t			 n;

	(void)state;
	assert_int_equal(strlen(before), strlen(after));
	path = mkfile(before);
	assert_int_equal(stat(path, &st), 0);
	m = open_ok(path);
	got = retr(m, 0, -1, 4096);
	free(got.p);
	mbox_ops.prefetch(m, 1);
	write_file(path, after, strlen(after));
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	got = retr(m, 1, -1, 4096);
	assert_string_equal(got.p, "Subject: 2\r\nStatus: R\r\n\r\ntwo\r\n"
	    ">From x\r\n");
	free(got.p);

	/* out of range, and in the middle of a stream: nothing happens */
	mbox_ops.prefetch(m, 3);
	got = retr(m, 0, -1, 4096);
	memset(&part, 0, sizeof(part));
	b_add(&part, "", 0);
	assert_int_equal(mbox_ops.msg_open(m, 0, -1), MD_OK);
	assert_int_equal(mbox_ops.msg_read(m, out, 4), 4);
	b_add(&part, out, 4);
	mbox_ops.prefetch(m, 2);
	while ((n = mbox_ops.msg_read(m, out, sizeof(out))) > 0)
		b_add(&part, out, (size_t)n);
	assert_int_equal(n, 0);
	assert_string_equal(part.p, got.p);
	free(got.p);
	free(part.p);
	mbox_ops.close(m);
	unlink(path);
}

static void
test_msg_open_after_shrink(void **state)
{
	const char	*path = mkfile(M1 M2 M3);
	struct mbox	*m = open_ok(path);

	(void)state;
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(mbox_ops.msg_open(m, 2, -1), MD_CHANGED);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* The folder-data message */

#define FOLDER_DATA	FROM1 "\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n" \
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n" \
	"X-IMAP: 1700000000 0000000003\nStatus: RO\n\n" \
	"This text is part of the internal format of your mail folder.\n\n"

static void
test_folder_data(void **state)
{
	static const unsigned char	del[] = { 1, 0 };
	const char			*path = mkfile(FOLDER_DATA MSG_B MSG_C);
	char				*u, *u2;
	size_t				 n;
	struct mbox			*m;

	(void)state;
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr_text(m, 0), "Subject: b\r\n\r\nhello b\r\n");
	mbox_ops.close(m);
	/* same UIDs as without it */
	u = uids(path, MBOX_MBOXO, &n);
	u2 = uids(mkfile(MSG_B MSG_C), MBOX_MBOXO, &n);
	assert_memory_equal(u, u2, 2 * UIDLEN);
	/* never deleted: UPDATE keeps it in place */
	update_ok(path, del);
	assert_string_equal(read_text(path), FOLDER_DATA MSG_C);
	free(u);
	free(u2);
	/* not first, or without X-IMAP: an ordinary message */
	m = open_ok(mkfile(MSG_B FOLDER_DATA));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
	m = open_ok(mkfile(FROM1 "\nSubject: DON'T DELETE THIS MESSAGE -- "
	    "FOLDER INTERNAL DATA\n\nx\n\n" MSG_B));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
	/* a subject that only starts the same */
	m = open_ok(mkfile(FROM1 "\nSubject: DON'T DELETE THIS MESSAGE -- "
	    "FOLDER INTERNAL DATA!\nX-IMAP: 1 2\n\nx\n\n" MSG_B));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
}

/*
 * A delivered message that only looks like the folder-data message is
 * served while it is not first, and stays served when an UPDATE makes it
 * first: the sidecar remembers it.  Deleting it drops that note.
 */
#define LOOKALIKE	FROM2 "\nSubject: DON'T DELETE THIS MESSAGE -- " \
	"FOLDER INTERNAL DATA\nX-IMAP: 1 2\n\nsent by anyone\n\n"

static void
test_folder_data_promoted(void **state)
{
	static const unsigned char	del_b[] = { 1, 0, 0 };
	static const unsigned char	del_c[] = { 0, 1 };
	static const unsigned char	del_look[] = { 1, 0 };
	const char			*path = mkfile(MSG_B LOOKALIKE MSG_C);
	char				 side[PATH_MAX];
	char				 keep[PATH_MAX + 8];
	struct mbox			*m;
	size_t				 n;
	char				*u0, *u1;

	(void)state;
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 3);
	update_ok(path, del_b);
	assert_string_equal(read_text(path), LOOKALIKE MSG_C);
	assert_non_null(strstr(read_text(side), "\nshown "));
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr_text(m, 0), "Subject: DON'T DELETE THIS "
	    "MESSAGE -- FOLDER INTERNAL DATA\r\nX-IMAP: 1 2\r\n\r\n"
	    "sent by anyone\r\n");
	mbox_ops.close(m);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_memory_equal(u1, u0 + UIDLEN, 2 * UIDLEN);
	/* it stays first: still shown */
	update_ok(path, del_c);
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 1);
	mbox_ops.close(m);
	/* without the note it would be hidden: the note is what works */
	append(path, MSG_B);
	snprintf(keep, sizeof(keep), "%s.saved", side);
	assert_int_equal(rename(side, keep), 0);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rename(keep, side), 0);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 2);
	/* deleted at last: the note goes with it */
	update_ok(path, del_look);
	assert_null(strstr(read_text(side), "shown "));
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 1);
	assert_string_equal(retr_text(m, 0), "Subject: b\r\n\r\nhello b\r\n");
	mbox_ops.close(m);
	free(u0);
	free(u1);
}

/* ------------------------------------------------------------------ */
/* mboxcl2 */

#define CL_FROM	"From body@example.org Mon Jan  1 00:00:09 2024"
#define FA	"From a@x.org Mon Jan  1 00:00:00 2024"
#define FB	"From b@x.org Mon Jan  1 00:00:00 2024"
#define FC	"From c@x.org Mon Jan  1 00:00:00 2024"
#define FD	"From d@x.org Mon Jan  1 00:00:00 2024"
#define CL_BODY	"first\n\n" CL_FROM "\n.dot\n"
#define CL_MSG	FROM1 "\nSubject: cl\nContent-Length: 59\n\n" CL_BODY "\n"

static void
test_mboxcl2(void **state)
{
	struct mbox	*m;
	const char	*path;

	(void)state;
	assert_int_equal(strlen(CL_BODY), 59);
	path = mkfile(CL_MSG MSG_B CL_MSG);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 3);
	assert_string_equal(retr_text(m, 0), "Subject: cl\r\n"
	    "Content-Length: 59\r\n\r\nfirst\r\n\r\n" CL_FROM "\r\n..dot\r\n");
	assert_int_equal(mbox_ops.size(m, 0), strlen("Subject: cl\r\n"
	    "Content-Length: 59\r\n\r\nfirst\r\n\r\n" CL_FROM "\r\n"
	    ".dot\r\n"));
	assert_string_equal(retr_text(m, 1), "Subject: b\r\n\r\nhello b\r\n");
	(void)retr_text(m, 2);
	mbox_ops.close(m);
	/* the same file as mboxo: the From_ line in the body splits it */
	m = open_fmt(path, MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 5);
	mbox_ops.close(m);
	/* the last message, no separator after it */
	path = mkfile(MSG_B FROM1 "\nContent-Length: 50\n\nx\n\n" CL_FROM
	    "\n");
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr_text(m, 1), "Content-Length: 50\r\n\r\n"
	    "x\r\n\r\n" CL_FROM "\r\n");
	mbox_ops.close(m);
	m = open_fmt(path, MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 3);
	mbox_ops.close(m);
}

static void
test_mboxcl2_fallback(void **state)
{
	static const char	*bad[] = {
	    "Content-Length: 58\n",		/* not at a boundary */
	    "Content-Length: 9999\n",		/* past the end */
	    "Content-Length: x61\n",		/* not a number */
	    "Content-Length: 59\nContent-Length: 59\n",	/* twice */
	    "Content-Length: 99999999999999999999999\n",
	    "",					/* missing */
	};
	char		 data[1024];
	struct mbox	*m;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(data, sizeof(data), "%s\nSubject: cl\n%s\n%s\n%s",
		    FROM1, bad[i], CL_BODY, MSG_B);
		m = open_fmt(mkfile(data), MBOX_MBOXCL2);
		/* scanned for From_ lines: the body's one splits it */
		assert_int_equal(mbox_ops.count(m), 3);
		mbox_ops.close(m);
	}
	/* an empty body */
	m = open_fmt(mkfile(FROM1 "\nContent-Length: 0\n\n\n" MSG_B),
	    MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr_text(m, 0), "Content-Length: 0\r\n\r\n");
	mbox_ops.close(m);
}

/*
 * One wrong Content-Length makes the scan read every message of the
 * mailbox by its From_ lines, and the sidecar keeps it so once an UPDATE
 * has moved messages: otherwise the wrong length could end at a new
 * boundary and swallow the next kept message.
 */
static void
test_mboxcl2_wrong_sticks(void **state)
{
	static const unsigned char	del_b[] = { 0, 0, 0, 1, 0, 0 };
	static const unsigned char	del_all[] = { 1, 1, 1, 1, 1 };
	struct mbox			*m;
	const char			*path;
	char				 side[PATH_MAX], keep[PATH_MAX + 8];
	char				*u0, *u1;
	size_t				 n;

	(void)state;
	/* a's length covers b's From_ line: wrong, but right once b is gone */
	path = mkfile(CL_MSG FA "\nContent-Length: 38\n\n" FB "\nX\n\n"
	    FC "\n\n" FD "\n\n");
	sibling(path, ".pop3d-uids", side);
	/* the right one is split by its body's From_ line too */
	u0 = uids(path, MBOX_MBOXCL2, &n);
	assert_int_equal(n, 6);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.update(m, del_b), MD_OK);
	mbox_ops.close(m);
	assert_non_null(strstr(read_text(side), "\ncontent-length ignored\n"));
	/* the kept five, the same UIDs */
	u1 = uids(path, MBOX_MBOXCL2, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(u1, u0, 3 * UIDLEN);
	assert_memory_equal(u1 + 3 * UIDLEN, u0 + 4 * UIDLEN, 2 * UIDLEN);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_string_equal(retr_text(m, 2), "Content-Length: 38\r\n");
	mbox_ops.close(m);
	free(u0);
	free(u1);
	/* without the note, a would now swallow c */
	snprintf(keep, sizeof(keep), "%s.saved", side);
	assert_int_equal(rename(side, keep), 0);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 3);
	mbox_ops.close(m);
	assert_int_equal(rename(keep, side), 0);
	/* all gone: new mail is read afresh, by its lengths */
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.update(m, del_all), MD_OK);
	mbox_ops.close(m);
	assert_null(strstr(read_text(side), "content-length"));
	append(path, CL_MSG);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 1);
	mbox_ops.close(m);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_empty_and_missing),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_random_mailboxes),
		cmocka_unit_test(test_read_boundaries),
		cmocka_unit_test(test_big_mailbox),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_msg_open_after_shrink),
		cmocka_unit_test(test_folder_data),
		cmocka_unit_test(test_folder_data_promoted),
		cmocka_unit_test(test_mboxcl2),
		cmocka_unit_test(test_mboxcl2_fallback),
		cmocka_unit_test(test_mboxcl2_wrong_sticks),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
