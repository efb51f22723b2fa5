/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of UPDATE (update.c, journal.c): deletions written back,
 * mail appended meanwhile kept, and a mailbox that another program
 * rewrote since the open (shrunk, shifted, replaced, changed in place
 * with its mtime put back, or with the size and the mtime both new)
 * left as that program wrote it.
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
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"

/* ------------------------------------------------------------------ */
/* UPDATE */

/* UPDATE of data, deleting del, leaves want. */
static void
update_case(const char *data, const unsigned char *del, const char *want)
{
	const char	*path = mkfile(data);
	struct bytes	 got;

	update_ok(path, del);
	got = read_file(path);
	assert_string_equal(got.p, want);
	assert_int_equal(got.len, strlen(want));
	free(got.p);
}

static void
test_update_delete(void **state)
{
	static const unsigned char	d1[] = { 0, 1, 0, 0 };
	static const unsigned char	d2[] = { 1, 0, 1, 0 };
	static const unsigned char	d3[] = { 0, 0, 0, 1 };
	static const unsigned char	d4[] = { 1, 1, 1, 1 };
	static const unsigned char	d5[] = { 1, 0, 0, 0 };

	(void)state;
	update_case(M1 M2 M3 M4, d1, M1 M3 M4);
	update_case(M1 M2 M3 M4, d2, M2 M4);
	update_case(M1 M2 M3 M4, d3, M1 M2 M3);
	update_case(M1 M2 M3 M4, d4, "");
	update_case(M1 M2 M3 M4, d5, M2 M3 M4);
}

static void
test_update_appended(void **state)
{
	static const unsigned char	del[] = { 1, 0, 1 };
	const char			*path = mkfile(M1 M2 M3);
	struct mbox			*m = open_ok(path);
	struct bytes			 got;

	(void)state;
	append(path, M4);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	got = read_file(path);
	assert_string_equal(got.p, M2 M4);
	free(got.p);
}

/* Fixed-format alerts: every one exactly as long as the others. */
#define ALERT(n) "From monitor@example.org Mon Jan  1 00:00:0" #n " 2024\n" \
	"Subject: alert " #n "\n\ndisk " #n " is full\n\n"

/*
 * Another program expunges the first message in place (mutt's sync:
 * rewrite from the first change, truncate) and mail of the same length
 * arrives: every later message now sits where the one before it was,
 * From_ lines and all.  UPDATE must not take the offsets' word for it:
 * the client's DELE 2 (or RETR 1-3 with expire 0) would remove messages
 * it never saw.  Nothing is removed.
 */
static void
test_update_shifted(void **state)
{
	static const unsigned char	 dele2[] = { 0, 1, 0 };
	static const unsigned char	 all[] = { 1, 1, 1 };
	static const char		 after[] = ALERT(2) ALERT(3) ALERT(4)
					    ALERT(5);
	const unsigned char		*del[] = { dele2, all };
	const char			*path;
	struct mbox			*m;
	struct bytes			 got;
	size_t				 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		path = mkfile(ALERT(1) ALERT(2) ALERT(3));
		m = open_ok(path);
		write_file(path, after, strlen(after));
		assert_int_equal(mbox_ops.update(m, del[i]), MD_CHANGED);
		mbox_ops.close(m);
		got = read_file(path);
		assert_string_equal(got.p, after);
		free(got.p);
	}
}

/*
 * UPDATE skips rereading the messages it removes only when the file has
 * not been written since the open: its ctime says so, which a program
 * can't set back as it can the mtime.  A same-length rewrite of a body
 * with the mtime restored must still be caught.
 */
static void
test_update_untouched(void **state)
{
	static const unsigned char	 dele2[] = { 0, 1, 0 };
	static const char		 mb[] = ALERT(1) ALERT(2) ALERT(3);
	const struct timespec		 tick = { 0, 30 * 1000 * 1000 };
	struct timespec			 times[2];
	struct stat			 st;
	const char			*path, *digit;
	struct mbox			*m;
	struct bytes			 got;
	int				 fd;

	(void)state;
	path = mkfile(mb);
	/* let the file's ctime fall a clock tick behind the open */
	nanosleep(&tick, NULL);
	m = open_ok(path);
	assert_int_equal(mbox_untouched(m), 1);
	/* "disk 2 is full" becomes "disk 7 is full", mtime put back */
	digit = strstr(mb, "disk 2") + 5;
	assert_int_not_equal((fd = open(path, O_RDWR)), -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pwrite(fd, "7", 1, digit - mb), 1);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	assert_int_equal(mbox_untouched(m), 0);
	assert_int_equal(mbox_ops.update(m, dele2), MD_CHANGED);
	mbox_ops.close(m);
	got = read_file(path);
	assert_int_equal(got.len, strlen(mb));
	assert_memory_equal(got.p, mb, (size_t)(digit - mb));
	assert_int_equal(got.p[digit - mb], '7');
	free(got.p);
}

static void
test_update_changed(void **state)
{
	static const unsigned char	 del[] = { 1, 0, 0 };
	static const char		*rewrites[] = {
	    M1 M3,			/* shrank */
	    "X" M2 M3 M1,		/* no From_ where a message was */
	    M1 M2 M3 "garbage\n",	/* appended text that is no message */
	};
	const char			*path;
	struct mbox			*m;
	struct bytes			 got;
	char				 other[PATH_MAX];
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
		path = mkfile(M1 M2 M3);
		m = open_ok(path);
		/* rewrite in place, as a local mail reader might */
		write_file(path, rewrites[i], strlen(rewrites[i]));
		assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
		mbox_ops.close(m);
		got = read_file(path);
		assert_string_equal(got.p, rewrites[i]);
		free(got.p);
		snprintf(other, sizeof(other), "%s.lock", path);
		assert_int_equal(access(other, F_OK), -1);
	}
	/* replaced by rename: a different inode */
	path = mkfile(M1 M2 M3);
	m = open_ok(path);
	snprintf(other, sizeof(other), "%s.new", path);
	write_file(other, M1 M2 M3, strlen(M1 M2 M3));
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(mbox_ops.msg_open(m, 0, -1), MD_CHANGED);
	assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
	mbox_ops.close(m);
	got = read_file(path);
	assert_string_equal(got.p, M1 M2 M3);
	free(got.p);
}

static void
test_update_nothing(void **state)
{
	static const unsigned char	 del[] = { 0, 0, 0 };
	struct timespec			 old[2] = { { 1000000, 0 },
	    { 1000000, 0 } };
	const char			*path = mkfile(M1 M2 M3);
	struct mbox			*m;
	struct stat			 st;
	struct bytes			 got;

	(void)state;
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	m = open_ok(path);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtime, 1000000);
	got = read_file(path);
	assert_string_equal(got.p, M1 M2 M3);
	free(got.p);
}

/* ------------------------------------------------------------------ */
/* Rewrites by other programs */

static void
test_rewrite_same_size(void **state)
{
	static const unsigned char	del[] = { 1, 0, 0 };
	const char			*path = mkfile(MSG_A MSG_B MSG_C);
	struct mbox			*m;
	struct bytes			 before;

	(void)state;
	m = open_ok(path);
	/* "Subject: b" becomes "Subject: B": same size, new mtime */
	poke(path, strlen(MSG_A FROM2 "\nSubject: "), "B", 0);
	before = read_file(path);
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	assert_int_equal(mbox_ops.msg_open(m, 0, 0), MD_CHANGED);
	assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
	mbox_ops.close(m);
	assert_string_equal(read_text(path), before.p);
	free(before.p);
}

/*
 * With mail appended as well, the size grew: the header fingerprint
 * still catches a changed header, message by message.
 */
static void
test_rewrite_and_append(void **state)
{
	const char	*path = mkfile(MSG_A MSG_B MSG_C);
	struct mbox	*m;

	(void)state;
	m = open_ok(path);
	poke(path, strlen(MSG_A FROM2 "\nSubject: "), "B", 0);
	append(path, MSG_A);
	assert_string_equal(retr_text(m, 0), "Subject: a\r\n"
	    "Message-ID: <1@x>\r\n\r\nhello\r\n");
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	(void)retr_text(m, 2);
	mbox_ops.close(m);
	/* a body whose length changed moves the next From_ line */
	path = mkfile(MSG_A MSG_B MSG_C);
	m = open_ok(path);
	write_file(path, MSG_A FROM2 "\nSubject: b\n\nhello bb\n\n" MSG_C
	    MSG_A, strlen(MSG_A FROM2 "\nSubject: b\n\nhello bb\n\n" MSG_C
	    MSG_A));
	(void)retr_text(m, 0);
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	mbox_ops.close(m);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_update_delete),
		cmocka_unit_test(test_update_appended),
		cmocka_unit_test(test_update_changed),
		cmocka_unit_test(test_update_shifted),
		cmocka_unit_test(test_update_untouched),
		cmocka_unit_test(test_update_nothing),
		cmocka_unit_test(test_rewrite_same_size),
		cmocka_unit_test(test_rewrite_and_append),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
