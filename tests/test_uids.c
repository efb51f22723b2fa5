/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of UIDs (uids.c, and the fingerprint the scan takes): stable
 * across opens and appends, distinct for identical messages and for
 * messages alike but for their bodies, blind to what mail readers change
 * (status headers, From_ lines, blank lines, CRLF); identical twins'
 * UIDs across deletions (the sidecar file, which is never trusted
 * blindly); X-UIDL values; the UIDLs inherited under uidl_compat
 * dovecot, and the base the sidecar keeps for them.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "maildrop.h"
#include "mbox.h"
#include "params.h"

#define MSG_A_STATUS	FROM1 "\nSubject: a\nStatus: RO\nX-Status: A\n" \
	"X-UID: 17\n  continued\nX-Keywords: $x\nMessage-ID: <1@x>\n\nhello\n\n"
/* header lines ended by CRLF, the same body */
#define MSG_A_CRLF	FROM1 "\r\nSubject: a\r\nMessage-ID: <1@x>\r\n\r\n" \
	"hello\n\n"
/* b, with the body of a */
#define MSG_B_HELLO	FROM2 "\nSubject: b\n\nhello\n\n"

static void
test_uid_basic(void **state)
{
	static const char	data[] = MSG_A MSG_B_HELLO MSG_A MSG_A
				    MSG_B_HELLO;
	const char		*path;
	char			*u1, *u2, *u3;
	size_t			 n, n2;

	(void)state;
	path = mkfile(data);
	u1 = hashed_uids(path, &n);
	assert_int_equal(n, 5);
	u2 = hashed_uids(path, &n2);
	assert_int_equal(n2, 5);
	/* stable across opens */
	assert_memory_equal(u1, u2, UIDLEN * n);
	/* adding to the file keeps the earlier UIDs */
	write_file(path, MSG_A MSG_B_HELLO MSG_A MSG_A MSG_B_HELLO MSG_A,
	    sizeof(MSG_A MSG_B_HELLO MSG_A MSG_A MSG_B_HELLO MSG_A) - 1);
	u3 = hashed_uids(path, &n2);
	assert_int_equal(n2, 6);
	assert_memory_equal(u1, u3, UIDLEN * n);
	/* identical messages still get distinct UIDs */
	assert_unique(u3, n2);
	free(u1);
	free(u2);
	free(u3);
}

static void
test_uid_volatile_headers(void **state)
{
	char	*a, *b, *c, *d;
	size_t	 n;

	(void)state;
	a = hashed_uids(mkfile(MSG_A MSG_B_HELLO), &n);
	assert_int_equal(n, 2);
	b = hashed_uids(mkfile(MSG_A_STATUS MSG_B_HELLO), &n);
	assert_int_equal(n, 2);
	assert_memory_equal(a, b, 2 * UIDLEN);
	/* nor does the header's line-end style */
	c = hashed_uids(mkfile(MSG_A_CRLF MSG_B_HELLO), &n);
	assert_memory_equal(a, c, 2 * UIDLEN);
	/* but a different body length does */
	d = hashed_uids(mkfile(FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\n"
	    "hello!\n\n" MSG_B_HELLO), &n);
	assert_memory_not_equal(a, d, UIDLEN);
	assert_memory_equal(a + UIDLEN, d + UIDLEN, UIDLEN);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* Whether u is one of the n UIDs in v. */
static int
in_list(const char *u, const char *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(u, v + UIDLEN * i) == 0)
			return 1;
	return 0;
}

/*
 * Copies of one message keep their UIDs when another copy goes, across
 * reopenings, and a UID once given out is never given to a later copy.
 */
static void
test_uid_twins(void **state)
{
	static const unsigned char	d_first[] = { 1, 0, 0, 0 };
	static const unsigned char	d_b[] = { 0, 1, 0, 0 };
	static const unsigned char	d_all[] = { 1, 1, 0, 1 };
	const char			*path = mkfile(MSG_A MSG_A MSG_B MSG_A);
	char				 side[PATH_MAX];
	char				*u0, *u1, *u2, *u3;
	size_t				 n0, n1, n2, n3;

	(void)state;
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n0);
	assert_int_equal(n0, 4);
	update_ok(path, d_first);
	assert_int_equal(access(side, F_OK), 0);
	u1 = uids(path, MBOX_MBOXO, &n1);
	assert_int_equal(n1, 3);
	/* A(2nd), B, A(3rd) keep theirs */
	assert_string_equal(u1, u0 + UIDLEN);
	assert_string_equal(u1 + UIDLEN, u0 + 2 * UIDLEN);
	assert_string_equal(u1 + 2 * UIDLEN, u0 + 3 * UIDLEN);
	/* a new copy: a UID never seen */
	append(path, MSG_A);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 4);
	assert_memory_equal(u2, u1, 3 * UIDLEN);
	assert_false(in_list(u2 + 3 * UIDLEN, u0, n0));
	/* deleting a message with no twin leaves the UID file alone */
	unlink(side);
	update_ok(path, d_b);
	assert_int_equal(access(side, F_OK), -1);
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 3);
	/* the file is gone, so ordinals count again from the file... */
	update_ok(path, d_first);
	/* ...but from here on they are kept */
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 2);
	append(path, MSG_A);
	append(path, MSG_A);
	u3 = uids(path, MBOX_MBOXO, &n3);
	assert_int_equal(n3, 4);
	assert_memory_equal(u3, u2, 2 * UIDLEN);
	assert_false(in_list(u3 + 2 * UIDLEN, u2, 2));
	assert_false(in_list(u3 + 3 * UIDLEN, u2, 2));
	assert_string_not_equal(u3 + 2 * UIDLEN, u3 + 3 * UIDLEN);
	/* all copies but one go; a new one still gets a new UID */
	update_ok(path, d_all);
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 1);
	assert_string_equal(u2, u3 + 2 * UIDLEN);
	append(path, MSG_A);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n1);
	assert_int_equal(n1, 2);
	assert_false(in_list(u1 + UIDLEN, u3, n3));
	free(u0);
	free(u1);
	free(u2);
	free(u3);
}

/* The fingerprint of MSG_A as the UID file writes it (32 hex digits). */
static void
fp_of_a(char *hex)
{
	static const unsigned char	del[] = { 1, 0 };
	const char			*path = mkfile(MSG_A MSG_A), *t;
	char				 side[PATH_MAX];

	update_ok(path, del);
	sibling(path, ".pop3d-uids", side);
	t = read_text(side);
	assert_int_equal(strncmp(t, "pop3d-uids 2\n", 13), 0);
	memcpy(hex, t + 13, 32);
	hex[32] = '\0';
	/* hw 2, the second copy (ordinal 1) left */
	assert_string_equal(t + 45, " 2 1\n");
}

/* tmpl with every '@' replaced by fp. */
static void
subst(char *out, size_t len, const char *tmpl, const char *fp)
{
	size_t	o = 0;

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl == '@') {
			assert_true(o + 32 < len);
			memcpy(out + o, fp, 32);
			o += 32;
		} else {
			assert_true(o + 1 < len);
			out[o++] = *tmpl;
		}
	}
	out[o] = '\0';
}

/* A bad or foreign UID file is ignored, never trusted. */
static void
test_uid_file_hostile(void **state)
{
	static const char	*bad[] = {
	    "",
	    "pop3d-uids 2\nzz",
	    "pop3d-uids 2\n@ 3 1 5\n",		/* ordinal >= hw */
	    "pop3d-uids 2\n@ 3 2 1\n",		/* not increasing */
	    "pop3d-uids 2\n@ 99999999999 1\n",
	    "pop3d-uids 2\n@ 3 1 2\n@ 3 1 2\n",	/* twice */
	    "pop3d-uids 3\n@ 3 1 2\n",		/* a later version */
	    "pop3d-uids 1\n@ 3 1 2\n",		/* the old fingerprints' */
	    "pop3d-uids 2\n@ 3 1 2",			/* no newline */
	    "pop3d-uids 2\n@ 3 1 2 \n",
	    "pop3d-uids 2\n@ 3 -1 2\n",
	};
	const char	*path = mkfile(MSG_A MSG_A MSG_B);
	char		 side[PATH_MAX], fp[33], text[512], *u0, *u;
	size_t		 i, n;

	(void)state;
	fp_of_a(fp);
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n);
	/* a valid file is obeyed: the first copy has ordinal 1 now */
	subst(text, sizeof(text), "pop3d-uids 2\n@ 3 1 2\n", fp);
	write_file(side, text, strlen(text));
	u = uids(path, MBOX_MBOXO, &n);
	assert_string_equal(u, u0 + UIDLEN);
	assert_string_not_equal(u + UIDLEN, u0);
	assert_string_not_equal(u + UIDLEN, u0 + UIDLEN);
	free(u);
	/* someone else's is not */
	if (geteuid() == 0) {
		assert_int_equal(chown(side, 65534, 65534), 0);
		u = uids(path, MBOX_MBOXO, &n);
		assert_memory_equal(u, u0, 3 * UIDLEN);
		free(u);
		unlink(side);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subst(text, sizeof(text), bad[i], fp);
		write_file(side, text, strlen(text));
		u = uids(path, MBOX_MBOXO, &n);
		assert_int_equal(n, 3);
		assert_memory_equal(u, u0, 3 * UIDLEN);
		free(u);
	}
	free(u0);
}

/*
 * Three messages as an MTA delivers them, and what a mail reader sharing
 * the file may do to them; READER_HDR(n) is message n's header block.
 */
#define DELIVERED(n, extra, from) \
	from "\n" \
	"Return-Path: <sender@example.org>\n" \
	"Received: from mx.example.org by mail.example.net; " \
	"Mon, 1 Jan 2024 00:00:0" #n " +0000\n" \
	"Date: Mon, 1 Jan 2024 00:00:0" #n " +0000\n" \
	"From: Sender <sender@example.org>\n" \
	"To: user@example.net\n" \
	"Subject: message " #n "\n" \
	"Message-ID: <" #n "@example.org>\n" \
	extra \
	"\n" \
	"Body of message " #n ",\nsecond line.\n"
#define FROM_N(n)	"From sender@example.org Mon Jan  1 00:00:0" #n " 2024"

/*
 * UIDs must survive what local mail readers do to a shared mailbox, or
 * every leave-on-server client downloads everything again: headers of
 * their own (Thunderbird's X-Mozilla-*, Evolution's X-Evolution, mutt's
 * and c-client's Status, Dovecot's X-UID and X-Keywords), their own From_
 * lines (Thunderbird writes "From - date"), one blank line between
 * messages instead of two, and the whole file turned to CRLF.
 */
static void
test_uid_reader_changes(void **state)
{
	static const char	base[] = DELIVERED(1, "", FROM_N(1)) "\n"
	    DELIVERED(2, "", FROM_N(2)) "\n" DELIVERED(3, "", FROM_N(3))
	    "\n";
	static const char	*changed[] = {
	    DELIVERED(1, "X-Mozilla-Status: 0001\nX-Mozilla-Status2: "
	    "00000000\nX-Mozilla-Keys:                          \n",
	    FROM_N(1)) "\n" DELIVERED(2, "X-Mozilla-Status: 0005\n"
	    "X-Mozilla-Status2: 00000000\n", FROM_N(2)) "\n"
	    DELIVERED(3, "", FROM_N(3)) "\n",
	    DELIVERED(1, "X-Evolution: 00000001-0010\n", FROM_N(1)) "\n"
	    DELIVERED(2, "X-Evolution: 00000002-0000\n", FROM_N(2)) "\n"
	    DELIVERED(3, "X-Evolution: 00000003-0010\n", FROM_N(3)) "\n",
	    DELIVERED(1, "Status: RO\nX-Status: A\n", FROM_N(1)) "\n"
	    DELIVERED(2, "Status: O\n", FROM_N(2)) "\n"
	    DELIVERED(3, "X-UID: 5\nX-Keywords: $Label1\n", FROM_N(3)) "\n",
	    DELIVERED(1, "", "From - Mon Jan  1 00:05:00 2024") "\n"
	    DELIVERED(2, "", "From - Mon Jan  1 00:05:00 2024") "\n"
	    DELIVERED(3, "", "From - Mon Jan  1 00:05:00 2024") "\n",
	    DELIVERED(1, "", FROM_N(1)) "\n\n" DELIVERED(2, "", FROM_N(2))
	    "\n\n" DELIVERED(3, "", FROM_N(3)) "\n\n",
	};
	char		*u0, *u, *crlf;
	const char	*p;
	size_t		 i, n, k;

	(void)state;
	u0 = uids(mkfile(base), MBOX_MBOXO, &n);
	assert_int_equal(n, 3);
	for (i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		u = uids(mkfile(changed[i]), MBOX_MBOXO, &n);
		assert_int_equal(n, 3);
		if (memcmp(u, u0, 3 * UIDLEN) != 0)
			fail_msg("change %zu moved a UID", i);
		free(u);
	}
	assert_non_null(crlf = malloc(2 * sizeof(base)));
	for (p = base, k = 0; *p != '\0'; p++) {
		if (*p == '\n')
			crlf[k++] = '\r';
		crlf[k++] = *p;
	}
	crlf[k] = '\0';
	u = uids(mkfile(crlf), MBOX_MBOXO, &n);
	assert_memory_equal(u, u0, 3 * UIDLEN);
	free(u);
	free(crlf);
	free(u0);
}

/*
 * Two different messages that share their From_ line and header fields
 * (no Message-ID, no Received: a local script's alerts) and the length
 * of their bodies.  A client fetched the first; a reader expunged it and
 * the second arrived: had it the first one's UID, the client would never
 * fetch it.  Their bodies tell them apart.
 */
static void
test_uid_alike_messages(void **state)
{
#define ALERT(n)	FROM1 "\nSubject: disk alert\nDate: Mon, 1 Jan 2024 " \
	"00:00:00 +0000\n\ndisk " #n " is full\n\n"
	char	*u1, *u2;
	size_t	 n;

	(void)state;
	u1 = uids(mkfile(ALERT(1)), MBOX_MBOXO, &n);
	u2 = uids(mkfile(ALERT(2)), MBOX_MBOXO, &n);
	assert_string_not_equal(u1, u2);
	free(u1);
	free(u2);
#undef ALERT
}

#define XU(v)	FROM1 "\nSubject: x\nX-UIDL: " v "\n\nbody\n\n"
#define A10	"aaaaaaaaaa"
#define B10	"bbbbbbbbbb"

static void
test_xuidl(void **state)
{
	char	*u, *h;
	size_t	 n;

	(void)state;
	u = uids(mkfile(XU("4a7b1c2d3e") XU(" <spaced>  ") MSG_B
	    XU("dup1") XU("dup1") XU("a b c") XU("0123456789abcdef01234567")
	    XU("0123456789ABCDEF01234567") XU("Dup2") XU("dUP2")),
	    MBOX_MBOXO, &n);
	h = uids(mkfile(MSG_A XU("other") MSG_B XU("x1") XU("x2") XU("x3")
	    XU("x4") XU("x5") XU("x6") XU("x7")), MBOX_MBOXO, &n);
	assert_int_equal(n, 10);
	assert_string_equal(u, "4a7b1c2d3e");
	assert_string_equal(u + UIDLEN, "<spaced>");
	/* no X-UIDL: the hash, the same as in another mailbox */
	assert_string_equal(u + 2 * UIDLEN, h + 2 * UIDLEN);
	/* duplicates, spaces, our own hash shape: the hash UID */
	assert_int_equal(strlen(u + 3 * UIDLEN), 24);
	assert_int_equal(strlen(u + 4 * UIDLEN), 24);
	assert_string_not_equal(u + 3 * UIDLEN, u + 4 * UIDLEN);
	assert_string_not_equal(u + 3 * UIDLEN, "dup1");
	assert_int_equal(strlen(u + 5 * UIDLEN), 24);
	assert_string_not_equal(u + 6 * UIDLEN, "0123456789abcdef01234567");
	/* our shape in upper case, a copy in another case: not taken */
	assert_string_not_equal(u + 7 * UIDLEN, "0123456789ABCDEF01234567");
	assert_int_equal(strlen(u + 7 * UIDLEN), 24);
	assert_string_not_equal(u + 8 * UIDLEN, "Dup2");
	assert_string_not_equal(u + 9 * UIDLEN, "dUP2");
	assert_int_equal(strlen(u + 9 * UIDLEN), 24);
	free(u);
	free(h);
	/* 70 characters pass, 71 do not */
	u = uids(mkfile(XU(A10 A10 A10 A10 A10 A10 A10)
	    XU(B10 B10 B10 B10 B10 B10 B10 "b")), MBOX_MBOXO, &n);
	assert_int_equal(strlen(u), 70);
	assert_int_equal(strlen(u + UIDLEN), 24);
	free(u);
}

/* The UIDs of the mboxo mailbox at path read with uidl_compat compat. */
static char *
compat_uids(const char *path, enum uidl_compat compat, size_t *n)
{
	struct conf	 c;
	struct mbox	*m = NULL;
	char		*v;
	size_t		 i;

	conf_for(&c, MBOX_MBOXO);
	c.uidl_compat = compat;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	*n = mbox_ops.count(m);
	v = calloc(*n + 1, UIDLEN);
	assert_non_null(v);
	for (i = 0; i < *n; i++)
		snprintf(v + UIDLEN * i, UIDLEN, "%s", mbox_ops.uid(m, i));
	mbox_ops.close(m);
	return v;
}

#define DC(n, hdr)	FROM1 "\nSubject: " #n "\n" hdr "\nbody " #n "\n\n"

/*
 * Dovecot's X-UIDs as its mbox sync takes them: increasing, not above
 * the next new UID (which messages it would renumber move on), after
 * X-IMAPbase in the first message; UIDVALIDITY 1000 is 000003e8.
 */
static void
test_dovecot_uids(void **state)
{
	static const unsigned char	del[] = { 1, 0, 0, 0, 0, 0 };
	const char	*path;
	char		*u, side[PATH_MAX];
	struct conf	 c;
	struct mbox	*m = NULL;
	size_t		 n, i;

	(void)state;
	path = mkfile(DC(1, "X-IMAPbase: 1000 0000000005 $a b\nX-UID: 1\n")
	    DC(2, "X-UID: 3   \n") DC(3, "X-UID: 2\n") DC(4, "X-UID: 9\n")
	    DC(5, "") DC(6, "X-UID: 9\n"));
	u = compat_uids(path, UIDL_COMPAT_DOVECOT, &n);
	assert_int_equal(n, 6);
	assert_string_equal(u, "00000001000003e8");
	assert_string_equal(u + UIDLEN, "00000003000003e8");
	for (i = 2; i < 5; i++)
		assert_true(uid_hashed(u + i * UIDLEN));
	assert_string_equal(u + 5 * UIDLEN, "00000009000003e8");
	free(u);

	/* the first message goes: the sidecar keeps its X-IMAPbase */
	conf_for(&c, MBOX_MBOXO);
	c.uidl_compat = UIDL_COMPAT_DOVECOT;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	sibling(path, ".pop3d-uids", side);
	assert_string_equal(read_text(side),
	    "pop3d-uids 2\ndovecot-base 1000 5\n");
	u = compat_uids(path, UIDL_COMPAT_DOVECOT, &n);
	assert_int_equal(n, 5);
	assert_string_equal(u, "00000003000003e8");
	free(u);
	/* a broken base line makes the file void, as any broken line */
	write_file(side, "pop3d-uids 2\ndovecot-base 0 5\n", 30);
	u = compat_uids(path, UIDL_COMPAT_DOVECOT, &n);
	assert_true(uid_hashed(u));
	free(u);

	/* X-UID before X-IMAPbase, a bad X-UID, no UIDVALIDITY: our UIDs */
	path = mkfile(DC(1, "X-UID: 1\nX-IMAPbase: 7 0000000002\n")
	    DC(2, "X-UID: 2x\n"));
	u = compat_uids(path, UIDL_COMPAT_DOVECOT, &n);
	assert_true(uid_hashed(u) && uid_hashed(u + UIDLEN));
	free(u);
	path = mkfile(DC(1, "X-UID: 1\n") DC(2, "X-UID: 2\n"));
	u = compat_uids(path, UIDL_COMPAT_DOVECOT, &n);
	assert_true(uid_hashed(u) && uid_hashed(u + UIDLEN));
	free(u);
	/* without uidl_compat, X-UID names nothing */
	path = mkfile(DC(1, "X-IMAPbase: 1000 0000000005\nX-UID: 1\n"));
	u = compat_uids(path, UIDL_COMPAT_NONE, &n);
	assert_true(uid_hashed(u));
	free(u);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_uid_basic),
		cmocka_unit_test(test_uid_volatile_headers),
		cmocka_unit_test(test_uid_twins),
		cmocka_unit_test(test_uid_file_hostile),
		cmocka_unit_test(test_xuidl),
		cmocka_unit_test(test_dovecot_uids),
		cmocka_unit_test(test_uid_reader_changes),
		cmocka_unit_test(test_uid_alike_messages),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
