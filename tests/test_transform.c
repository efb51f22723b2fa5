/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the POP byte transform (transform.c): line ends, byte
 * stuffing, mboxrd unquoting, TOP's line limit, the header fields hidden
 * for uidl_compat dovecot and the counted size,
 * each fed in every way (pieces of input, caps on output) that RETR and
 * the size count may feed it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "conf.h"
#include "transform.h"

/* Set: the transforms made here hide Dovecot's fields (transform_hide). */
static int	xf_hide;

/* The output for in, fed piece bytes at a time with room for cap. */
static struct bytes
xf_run(const char *in, size_t len, enum mbox_format f, int stuff,
    long lines, size_t piece, size_t cap)
{
	struct transform	 x;
	struct bytes		 b = { NULL, 0, 0 };
	char			*out = malloc(cap);
	size_t			 i = 0, n, used, k;

	assert_non_null(out);
	b_add(&b, "", 0);
	transform_init(&x, f, stuff, lines);
	if (xf_hide)
		transform_hide(&x);
	while (i < len) {
		k = len - i < piece ? len - i : piece;
		n = transform_run(&x, in + i, k, out, cap, &used);
		assert_true(n <= cap);
		assert_true(used <= k);
		assert_true(n > 0 || used > 0);
		b_add(&b, out, n);
		i += used;
	}
	while ((n = transform_end(&x, out, cap)) > 0)
		b_add(&b, out, n);
	free(out);
	return b;
}

/* The output length for in, counted in one call without output. */
static size_t
xf_count(const char *in, size_t len, enum mbox_format f, int stuff,
    long lines)
{
	struct transform	x;
	size_t			used, n;

	transform_init(&x, f, stuff, lines);
	if (xf_hide)
		transform_hide(&x);
	n = transform_run(&x, in, len, NULL, 0, &used);
	assert_int_equal(used, len);
	return n + transform_end(&x, NULL, 0);
}

/* Every way of feeding in gives want, and counting agrees. */
static void
xf_expect(const char *in, enum mbox_format f, int stuff, long lines,
    const char *want)
{
	struct bytes	b;
	size_t		len = strlen(in), wlen = strlen(want);
	size_t		pieces[] = { 1, 2, 3, 5, 1000 };
	size_t		caps[] = { 1, 2, 7, 1000 };
	size_t		i, j;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		for (j = 0; j < sizeof(caps) / sizeof(caps[0]); j++) {
			b = xf_run(in, len, f, stuff, lines, pieces[i],
			    caps[j]);
			if (b.len != wlen || memcmp(b.p, want, wlen) != 0)
				fail_msg("transform(\"%s\") piece %zu cap %zu "
				    "gave \"%s\", want \"%s\"", in, pieces[i],
				    caps[j], b.p, want);
			free(b.p);
		}
	}
	assert_int_equal(xf_count(in, len, f, stuff, lines), wlen);
}

static void
test_transform_lines(void **state)
{
	(void)state;
	xf_expect("", MBOX_MBOXO, 1, -1, "");
	xf_expect("a\nb\n", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\r\nb\r\n", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\nb", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\rb\n", MBOX_MBOXO, 1, -1, "a\rb\r\n");
	xf_expect("a\r\r\n", MBOX_MBOXO, 1, -1, "a\r\r\n");
	xf_expect("\r", MBOX_MBOXO, 1, -1, "\r\r\n");
	xf_expect("\n\n", MBOX_MBOXO, 1, -1, "\r\n\r\n");
	xf_expect("x\r", MBOX_MBOXO, 0, -1, "x\r\r\n");
}

static void
test_transform_stuff(void **state)
{
	(void)state;
	xf_expect(".\n..\n.a\na.\n", MBOX_MBOXO, 1, -1,
	    "..\r\n...\r\n..a\r\na.\r\n");
	xf_expect(".\n..\n.a\na.\n", MBOX_MBOXO, 0, -1, ".\r\n..\r\n.a\r\na.\r\n");
	xf_expect(".", MBOX_MBOXO, 1, -1, "..\r\n");
	xf_expect(".\r\n", MBOX_MBOXRD, 1, -1, "..\r\n");
	xf_expect(">.\n", MBOX_MBOXRD, 1, -1, ">.\r\n");
}

static void
test_transform_from(void **state)
{
	const char	*in = ">From a\n>>From b\n>>>From c\n> From d\n>Fro\n"
	    ">From\n>\n>>\nFrom e\n>Fromage\nx>From f\n>From ";

	(void)state;
	xf_expect(in, MBOX_MBOXO, 1, -1,
	    ">From a\r\n>>From b\r\n>>>From c\r\n> From d\r\n>Fro\r\n"
	    ">From\r\n>\r\n>>\r\nFrom e\r\n>Fromage\r\nx>From f\r\n>From \r\n");
	xf_expect(in, MBOX_MBOXRD, 1, -1,
	    "From a\r\n>From b\r\n>>From c\r\n> From d\r\n>Fro\r\n"
	    ">From\r\n>\r\n>>\r\nFrom e\r\n>Fromage\r\nx>From f\r\nFrom \r\n");
	xf_expect(">From a\r\n>>>", MBOX_MBOXRD, 1, -1, "From a\r\n>>>\r\n");
	xf_expect(">>From x\r\n", MBOX_MBOXRD, 1, -1, ">From x\r\n");
}

static void
test_transform_long_gt_run(void **state)
{
	struct bytes	in = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	int		i;

	(void)state;
	for (i = 0; i < 300; i++)
		b_str(&in, ">");
	b_str(&want, in.p + 1);
	b_str(&in, "From x\n");
	b_str(&want, "From x\r\n");
	for (i = 0; i < 300; i++)
		b_str(&in, ">");
	b_str(&want, in.p + in.len - 300);
	b_str(&in, "Frog\n");
	b_str(&want, "Frog\r\n");
	xf_expect(in.p, MBOX_MBOXRD, 1, -1, want.p);
	free(in.p);
	free(want.p);
}

static void
test_transform_top(void **state)
{
	const char	*m = "A: 1\nB: 2\n\nl1\nl2\n.l3\nl4";

	(void)state;
	xf_expect(m, MBOX_MBOXO, 1, 0, "A: 1\r\nB: 2\r\n\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 3,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 4,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\nl4\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 1000,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\nl4\r\n");
	/* no header/body separator: all of it is header */
	xf_expect("A: 1\nB: 2\n", MBOX_MBOXO, 1, 0, "A: 1\r\nB: 2\r\n");
	xf_expect("A: 1\r\n\r\nb\r\n", MBOX_MBOXO, 1, 0, "A: 1\r\n\r\n");
	xf_expect("\nbody\n", MBOX_MBOXO, 1, 0, "\r\n");
	xf_expect("\nbody\nmore\n", MBOX_MBOXO, 1, 1, "\r\nbody\r\n");
	xf_expect("A: 1\r\n\r\n", MBOX_MBOXO, 1, 0, "A: 1\r\n\r\n");
}

/* Dovecot's fields leave the header, with their continuation lines. */
static void
test_transform_hide(void **state)
{
	(void)state;
	xf_hide = 1;
	xf_expect("Subject: a\nStatus: RO\nX-UID: 5\n\nbody\n", MBOX_MBOXO,
	    1, -1, "Subject: a\r\n\r\nbody\r\n");
	xf_expect("X-Keywords: a\n b\n\tc\nTo: c\n d\n\nx\n", MBOX_MBOXO, 1,
	    -1, "To: c\r\n d\r\n\r\nx\r\n");
	/* any case, blanks before the colon, every name of the list */
	xf_expect("status : RO\nX-IMAPbase: 1 2\nx-imap:3\nX-STATUS: A\n"
	    "Content-Length:\t5\nX-Keywords \t:\n\n", MBOX_MBOXO, 1, -1,
	    "\r\n");
	/* names that only start like one, or end like one; too many blanks */
	xf_expect("Statusx: 1\nX-UIDL: a\nX-IMAPb: 2\nContent-Lengthy: 3\n"
	    "Status\nAStatus: 1\nStatus     : 5\n\n", MBOX_MBOXO, 1, -1,
	    "Statusx: 1\r\nX-UIDL: a\r\nX-IMAPb: 2\r\nContent-Lengthy: 3\r\n"
	    "Status\r\nAStatus: 1\r\nStatus     : 5\r\n\r\n");
	/* the body is not the header */
	xf_expect("A: 1\n\nStatus: RO\n X-UID: 1\n", MBOX_MBOXO, 1, -1,
	    "A: 1\r\n\r\nStatus: RO\r\n X-UID: 1\r\n");
	/* a continuation after a shown field is shown */
	xf_expect("A: 1\n 2\nStatus: R\n 3\n\n", MBOX_MBOXO, 1, -1,
	    "A: 1\r\n 2\r\n\r\n");
	/* stuffing and mboxrd quoting still apply to the lines shown */
	xf_expect(".x: 1\nStatus: O\n\n.b\n", MBOX_MBOXO, 1, -1,
	    "..x: 1\r\n\r\n..b\r\n");
	xf_expect(">From a\nStatus: O\n\n>From b\n", MBOX_MBOXRD, 1, -1,
	    "From a\r\n\r\nFrom b\r\n");
	/* TOP, CRLF lines, and a header that ends the message */
	xf_expect("Status: RO\nA: 1\n\nb\n", MBOX_MBOXO, 1, 0,
	    "A: 1\r\n\r\n");
	xf_expect("Status: RO\r\nA: 1\r\n\r\nb\r\n", MBOX_MBOXO, 1, 1,
	    "A: 1\r\n\r\nb\r\n");
	xf_expect("A: 1\nStatus: RO", MBOX_MBOXO, 1, -1, "A: 1\r\n");
	xf_expect("A: 1\nStat", MBOX_MBOXO, 1, -1, "A: 1\r\nStat\r\n");
	xf_expect("Status: RO\n", MBOX_MBOXO, 1, -1, "");
	xf_hide = 0;
	/* without transform_hide nothing is hidden */
	xf_expect("Status: RO\n\nb\n", MBOX_MBOXO, 1, -1,
	    "Status: RO\r\n\r\nb\r\n");
}

/* Random bytes from a small alphabet that hits every special case. */
static void
test_transform_random(void **state)
{
	static const char	*atoms[] = { "\n", "\r", "\r\n", ">", "From ",
	    ".", "x", "From", ">>", "\0", "Status", ":", " ", "X-UID" };
	struct bytes		 in, whole, bytewise;
	unsigned		 seed = 1;
	size_t			 k, c;
	int			 round, f, stuff;
	long			 lines;

	(void)state;
	for (round = 0; round < 1400; round++) {
		memset(&in, 0, sizeof(in));
		b_add(&in, "", 0);
		k = (size_t)rand_r(&seed) % 60;
		while (k-- > 0) {
			c = (size_t)rand_r(&seed) % 14;
			b_add(&in, atoms[c], c == 9 ? 1 : strlen(atoms[c]));
		}
		f = round % 2 ? MBOX_MBOXRD : MBOX_MBOXO;
		stuff = round % 3 != 0;
		lines = round % 5 == 0 ? (long)(rand_r(&seed) % 4) : -1;
		xf_hide = round % 7 < 3;
		whole = xf_run(in.p, in.len, f, stuff, lines, in.len + 1,
		    in.len * 3 + 8);
		bytewise = xf_run(in.p, in.len, f, stuff, lines, 1, 1);
		assert_int_equal(whole.len, bytewise.len);
		assert_memory_equal(whole.p, bytewise.p, whole.len);
		assert_int_equal(xf_count(in.p, in.len, f, stuff, lines),
		    whole.len);
		if (lines < 0 && stuff)
			assert_int_equal(xf_count(in.p, in.len, f, 0, -1),
			    whole.len - stuffed(&whole));
		free(in.p);
		free(whole.p);
		free(bytewise.p);
	}
	xf_hide = 0;
}


int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_transform_lines),
		cmocka_unit_test(test_transform_stuff),
		cmocka_unit_test(test_transform_from),
		cmocka_unit_test(test_transform_long_gt_run),
		cmocka_unit_test(test_transform_top),
		cmocka_unit_test(test_transform_hide),
		cmocka_unit_test(test_transform_random),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
