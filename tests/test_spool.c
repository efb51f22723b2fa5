/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for the files beside a mailbox, as a hostile local user
 * would plant them: spool_open's checks, and through mbox_open and the
 * LOGIN-DELAY stamp, that a planted file is never obeyed, never makes
 * pop3d hang and never keeps the user out.  "Another owner" needs root
 * to make (chown); those cases are skipped otherwise.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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
#include "logindelay.h"
#include "maildrop.h"
#include "mbox.h"
#include "spool.h"

/* A uid and gid nobody here has: the hostile local user. */
#define OTHER_ID	4242

/* How a planted file may look. */
enum planted {
	PL_OWNER,	/* another user's file */
	PL_LINK,	/* a second name of a file of ours */
	PL_MODE,	/* writable by others */
	PL_SYMLINK,	/* a symbolic link to a file of ours */
	PL_FIFO,
	PL_END
};

static const char *const planted_name[] = {
	"owner", "hard link", "mode", "symlink", "fifo"
};

static int	is_root;

static void
in_tmp(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static int
exists(const char *path)
{
	struct stat	st;

	return lstat(path, &st) == 0;
}

/* Make a file of kind k at path with content text; spare is free. */
static void
plant(enum planted k, const char *path, const char *spare, const char *text)
{
	(void)unlink(path);
	switch (k) {
	case PL_OWNER:
		write_file(path, text, strlen(text));
		assert_int_equal(chown(path, OTHER_ID, OTHER_ID), 0);
		break;
	case PL_LINK:
		write_file(spare, text, strlen(text));
		assert_int_equal(link(spare, path), 0);
		break;
	case PL_MODE:
		write_file(path, text, strlen(text));
		assert_int_equal(chmod(path, 0666), 0);
		break;
	case PL_SYMLINK:
		write_file(spare, text, strlen(text));
		assert_int_equal(symlink(spare, path), 0);
		break;
	case PL_FIFO:
		assert_int_equal(mkfifo(path, 0600), 0);
		break;
	case PL_END:
		break;
	}
}

/* The files set aside from path: how many, each removed. */
static size_t
aside_count(const char *path)
{
	char	pattern[PATH_MAX + 16];
	glob_t	g;
	size_t	i, n;

	snprintf(pattern, sizeof(pattern), "%s.foreign-*", path);
	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	for (i = 0; i < n; i++)
		(void)unlink(g.gl_pathv[i]);
	globfree(&g);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	is_root = geteuid() == 0;
	return tmpdir_make("test_spool");
}

/* ------------------------------------------------------------------ */

/* Each planted kind is refused with EPERM; a file of ours is opened. */
static void
test_spool_open(void **state)
{
	char		path[PATH_MAX], spare[PATH_MAX];
	struct stat	st;
	enum planted	k;
	int		fd;

	(void)state;
	in_tmp(path, sizeof(path), ".box.pop3d-x");
	in_tmp(spare, sizeof(spare), "spare");
	for (k = 0; k < PL_END; k++) {
		if (k == PL_OWNER && !is_root)
			continue;
		plant(k, path, spare, "x");
		errno = 0;
		assert_int_equal(spool_open(path, O_RDWR, SPOOL_OURS, NULL), -1);
		assert_int_equal(errno, EPERM);
		(void)unlink(spare);
	}
	(void)unlink(path);
	assert_int_equal(spool_open(path, O_RDONLY, SPOOL_OURS, NULL), -1);
	assert_int_equal(errno, ENOENT);
	fd = spool_open(path, O_RDWR | O_CREAT, SPOOL_OURS, &st);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
	close(fd);
	/* a mailbox may be group-writable (Debian's exim makes 0660) */
	assert_int_equal(chmod(path, 0660), 0);
	assert_true((fd = spool_open(path, O_RDWR, SPOOL_MAILBOX, NULL)) >= 0);
	close(fd);
	assert_int_equal(spool_open(path, O_RDWR, SPOOL_OURS, NULL), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(spool_set_aside(path), 0);
	assert_false(exists(path));
	assert_int_equal(aside_count(path), 1);
}

/*
 * The mailbox itself: another user's file, or one with a second name,
 * is taken for none (the user logs in to an empty maildrop, the file is
 * not touched); a directory of the user's own is a mistake, [SYS/PERM].
 */
static void
test_mailbox_planted(void **state)
{
	char		 path[PATH_MAX], spare[PATH_MAX];
	struct mbox	*m;
	struct conf	 c;
	enum planted	 k;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	in_tmp(path, sizeof(path), "victim");
	in_tmp(spare, sizeof(spare), "other");
	for (k = 0; k < PL_END; k++) {
		if (k == PL_MODE || k == PL_FIFO || (k == PL_OWNER && !is_root))
			continue;
		plant(k, path, spare, M1 M2);
		if (k == PL_SYMLINK && is_root)
			assert_int_equal(lchown(path, OTHER_ID, OTHER_ID), 0);
		m = NULL;
		assert_int_equal(mbox_open(path, &c, &m), MD_OK);
		assert_int_equal(mbox_ops.count(m), 0);
		mbox_ops.close(m);
		(void)unlink(spare);
	}
	(void)unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mbox_open(path, &c, &m), MD_PERM);
	assert_int_equal(rmdir(path), 0);
}

/*
 * A session lock file planted and held by someone else's process (an
 * OFD lock on it, which conflicts even within this process): set aside,
 * and the session takes one of its own.  Also with flock among the
 * delivery locks, where falling back to flock on the mailbox can't be.
 */
static void
test_session_lock_planted(void **state)
{
	char		 path[PATH_MAX], lock[PATH_MAX], spare[PATH_MAX];
	struct flock	 fl;
	struct mbox	*m;
	struct conf	 c;
	enum planted	 k;
	int		 fd, flock_too;

	(void)state;
	in_tmp(path, sizeof(path), "held");
	in_tmp(lock, sizeof(lock), ".held.pop3d-session");
	in_tmp(spare, sizeof(spare), "spare");
	write_file(path, M1, strlen(M1));
	for (flock_too = 0; flock_too < 2; flock_too++)
		for (k = 0; k < PL_END; k++) {
			if (k == PL_OWNER && !is_root)
				continue;
			conf_for(&c, MBOX_MBOXO);
			if (flock_too)
				c.mbox_locks[c.nlocks++] = LOCK_FLOCK;
			plant(k, lock, spare, "");
			fd = k == PL_FIFO ? -1 : open(lock, O_RDWR);
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_WRLCK;
			fl.l_whence = SEEK_SET;
			assert_true(fd == -1 || fcntl(fd, F_OFD_SETLK, &fl) == 0);
			m = NULL;
			print_message("  %s%s\n", planted_name[k], flock_too ?
			    ", flock a delivery lock" : "");
			assert_int_equal(mbox_open(path, &c, &m), MD_OK);
			assert_int_equal(mbox_ops.count(m), 1);
			mbox_ops.close(m);
			assert_int_equal(aside_count(lock), 1);
			if (fd != -1)
				close(fd);
			(void)unlink(spare);
		}
}

/*
 * The UID file: a planted one, even a valid one of ours under a second
 * name, is not read (it would take UIDs over), and is set aside.
 */
static void
test_uids_planted(void **state)
{
	char		 path[PATH_MAX], side[PATH_MAX], spare[PATH_MAX];
	struct mbox	*m;
	struct conf	 c;
	enum planted	 k;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	in_tmp(path, sizeof(path), "uids");
	in_tmp(side, sizeof(side), ".uids.pop3d-uids");
	in_tmp(spare, sizeof(spare), "spare");
	write_file(path, M1 M2, strlen(M1 M2));
	for (k = 0; k < PL_END; k++) {
		if (k == PL_OWNER && !is_root)
			continue;
		plant(k, side, spare, "pop3d-uids 1\nnot a valid line\n");
		m = NULL;
		assert_int_equal(mbox_open(path, &c, &m), MD_OK);
		assert_int_equal(mbox_ops.count(m), 2);
		mbox_ops.close(m);
		assert_int_equal(aside_count(side), 1);
		(void)unlink(spare);
	}
}

/*
 * LOGIN-DELAY's stamp: one planted with a recent time would keep the
 * user out; it is set aside and the login allowed, and the next login
 * is recorded in a file of our own.
 */
static void
test_login_stamp_planted(void **state)
{
	char		path[PATH_MAX], stamp[PATH_MAX], spare[PATH_MAX];
	struct stat	st;
	enum planted	k;

	(void)state;
	in_tmp(path, sizeof(path), "late");
	in_tmp(stamp, sizeof(stamp), ".late.pop3d-login");
	in_tmp(spare, sizeof(spare), "spare");
	assert_int_equal(logindelay_record(path), 0);
	assert_int_equal(logindelay_ok(path, 3600), 0);
	for (k = 0; k < PL_END; k++) {
		if (k == PL_OWNER && !is_root)
			continue;
		plant(k, stamp, spare, "");
		print_message("  %s\n", planted_name[k]);
		assert_int_equal(logindelay_ok(path, 3600), 1);
		assert_int_equal(aside_count(stamp), 1);
		plant(k, stamp, spare, "");
		assert_int_equal(logindelay_record(path), 0);
		assert_int_equal(lstat(stamp, &st), 0);
		assert_true(S_ISREG(st.st_mode) && st.st_nlink == 1 &&
		    st.st_uid == geteuid());
		assert_int_equal(aside_count(stamp), 1);
		assert_int_equal(logindelay_ok(path, 3600), 0);
		(void)unlink(spare);
	}
}

/*
 * A stamp just written keeps the next login out whatever the moment.
 * File times can come from a finer clock than time(2) reads, a second
 * ahead of it just after a second begins; two seconds of logins cross
 * such a moment.
 */
static void
test_login_stamp_fresh(void **state)
{
	char	path[PATH_MAX];
	time_t	end = time(NULL) + 2;
	long	n;

	(void)state;
	in_tmp(path, sizeof(path), "fresh");
	for (n = 0; time(NULL) < end; n++) {
		assert_int_equal(logindelay_record(path), 0);
		if (logindelay_ok(path, 3600) != 0)
			fail_msg("login %ld let in right after the last one", n);
	}
}

/*
 * A dotlock dated far in the future is no lock anyone holds now: it is
 * broken like a stale one, instead of locking everyone out until then.
 */
static void
test_dotlock_future(void **state)
{
	char		 path[PATH_MAX], lock[PATH_MAX];
	struct timespec	 t[2] = { { 0, 0 }, { 0, 0 } };
	struct mbox	*m;
	struct conf	 c;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	in_tmp(path, sizeof(path), "dotted");
	in_tmp(lock, sizeof(lock), "dotted.lock");
	write_file(path, M1, strlen(M1));
	write_file(lock, "1\n", 2);
	t[0].tv_sec = t[1].tv_sec = time(NULL) + 10 * 365 * 86400L;
	assert_int_equal(utimensat(AT_FDCWD, lock, t, 0), 0);
	m = NULL;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	mbox_ops.close(m);
	assert_false(exists(lock));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool_open),
		cmocka_unit_test(test_mailbox_planted),
		cmocka_unit_test(test_session_lock_planted),
		cmocka_unit_test(test_uids_planted),
		cmocka_unit_test(test_login_stamp_planted),
		cmocka_unit_test(test_login_stamp_fresh),
		cmocka_unit_test(test_dotlock_future),
	};

	return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
