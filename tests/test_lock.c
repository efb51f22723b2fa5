/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the locks around a mailbox (lock.c, through mbox_open
 * and UPDATE): the session lock (its file, the flock fallback, a file
 * planted by someone else), dotlocks (waited for, stale, of a dead
 * process, raced by several processes, in a directory the user can't
 * write), fcntl and flock held by a delivering program, and no lock or
 * link file left behind.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
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
#include "lock.h"
#include "maildrop.h"
#include "mbox.h"

/* ------------------------------------------------------------------ */
/* The session lock */

static void
test_session_lock(void **state)
{
	const char	*path = mkfile(M1);
	struct mbox	*m, *m2;
	struct conf	 c;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	m = open_ok(path);
	assert_int_equal(mbox_open(path, &c, &m2), MD_INUSE);
	assert_null(m2);
	mbox_ops.close(m);
	m = open_ok(path);
	mbox_ops.close(m);
}

static void
test_session_lock_file(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 name[PATH_MAX];
	struct mbox	*m, *m2 = NULL;
	struct conf	 c;
	struct flock	 fl;
	int		 fd;

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	sibling(path, ".pop3d-session", name);
	m = open_ok(path);
	assert_int_equal(access(name, F_OK), 0);
	assert_int_equal(mbox_open(path, &c, &m2), MD_INUSE);
	assert_null(m2);
	/* it is an OFD lock on that file, seen by other processes too */
	fd = open(name, O_RDWR);
	assert_true(fd >= 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_WRLCK);
	close(fd);
	/* and no flock on the mailbox: an MDA using flock is not held up */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	mbox_ops.close(m);
	/* the file stays (removing it would race) and is free again */
	assert_int_equal(access(name, F_OK), 0);
	m = open_ok(path);
	mbox_ops.close(m);
}

/*
 * Make a mailbox holding text in a directory of tmpdir, and run check on
 * its path in a child process that can't write that directory: as
 * nobody when we are root, else with the directory made read-only.
 * check's result is the child's exit code, which must be 0.
 */
static void
in_unwritable_dir(const char *text, int (*check)(const char *path))
{
	char	dir[128], path[PATH_MAX];
	pid_t	pid;
	int	st;

	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/mbox", dir);
	write_file(path, text, strlen(text));
	if ((pid = fork()) == 0) {
		if (geteuid() == 0) {
			if (chown(path, 65534, 65534) == -1 ||
			    setgid(65534) == -1 || setuid(65534) == -1)
				_exit(2);
		} else if (chmod(dir, 0555) == -1)
			_exit(2);
		_exit(check(path));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(dir, 0755);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	unlink(path);
	rmdir(dir);
}

/* test_session_lock_fallback's child: 0, or bits for what went wrong. */
static int
fallback_check(const char *path)
{
	struct mbox	*m = NULL, *m2 = NULL;
	struct conf	 c;
	int		 r = 0;

	conf_for(&c, MBOX_MBOXO);
	c.mbox_locks[0] = LOCK_FCNTL;
	c.nlocks = 1;
	if (mbox_open(path, &c, &m) != MD_OK)
		r |= 4;
	else if (mbox_open(path, &c, &m2) != MD_INUSE)
		r |= 8;
	if (m != NULL)
		mbox_ops.close(m);
	/* flock as a delivery lock leaves no session lock: refuse */
	c.mbox_locks[1] = LOCK_FLOCK;
	c.nlocks = 2;
	if (open_status(path, &c) != MD_TEMP)
		r |= 16;
	return r;
}

/*
 * Where the session lock file can't be made (a directory the user can't
 * write): flock on the mailbox instead, unless flock is a delivery lock.
 */
static void
test_session_lock_fallback(void **state)
{
	(void)state;
	in_unwritable_dir(MSG_A, fallback_check);
}

/* A session lock file planted by someone else is not trusted. */
static void
test_session_lock_foreign(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 name[PATH_MAX], p2[PATH_MAX];
	struct mbox	*m;
	struct conf	 c;
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	conf_for(&c, MBOX_MBOXO);
	snprintf(p2, sizeof(p2), "%s", path);
	sibling(p2, ".pop3d-session", name);
	write_file(name, "", 0);
	assert_int_equal(chown(name, 65534, 65534), 0);
	/* its owner holds it: we don't care, flock on the mailbox instead */
	fd = open(name, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	m = open_ok(p2);
	assert_int_equal(open_status(p2, &c), MD_INUSE);
	mbox_ops.close(m);
	close(fd);
	/* a symlink is not followed */
	unlink(name);
	assert_int_equal(symlink("/etc/passwd", name), 0);
	m = open_ok(p2);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* Delivery locks: dotlock, fcntl, flock */

static void
test_no_lock_left(void **state)
{
	static const unsigned char	 del[] = { 1, 0 };
	const char			*path = mkfile(M1 M2);
	struct mbox			*m;
	char				 lock[PATH_MAX];

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	m = open_ok(path);
	assert_int_equal(access(lock, F_OK), -1);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
	mbox_ops.close(m);
	assert_int_equal(access(lock, F_OK), -1);
	/* and no temporary link file either */
	{
		DIR		*d = opendir(tmpdir);
		struct dirent	*e;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			assert_null(strstr(e->d_name, ".lk"));
		closedir(d);
	}
}

static void
test_dotlock(void **state)
{
	const char	*path = mkfile(M1);
	char		 lock[PATH_MAX];
	struct timespec	 old[2] = { { 0, 0 }, { 0, 0 } };
	struct timespec	 t0, t1;
	struct conf	 c;

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	conf_for(&c, MBOX_MBOXO);
	/* a fresh dotlock: wait lock_timeout, then [SYS/TEMP] */
	write_file(lock, "1\n", 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	assert_int_equal(access(lock, F_OK), 0);
	/* only fcntl configured: the dotlock is not looked at */
	c.mbox_locks[0] = LOCK_FCNTL;
	c.nlocks = 1;
	assert_int_equal(open_status(path, &c), MD_OK);
	/* a stale one is broken */
	conf_for(&c, MBOX_MBOXO);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - DOTLOCK_STALE_AGE - 10;
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_int_equal(open_status(path, &c), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
}

/*
 * A dotlock whose process is gone (a session or an MDA killed holding
 * it) is broken at once, not after DOTLOCK_STALE_AGE; one whose process
 * lives is waited for.
 */
static void
test_dotlock_dead_owner(void **state)
{
	const char	*path = mkfile(M1);
	char		 lock[PATH_MAX], pid[32];
	struct conf	 c;
	pid_t		 dead;
	int		 st;

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	conf_for(&c, MBOX_MBOXO);
	if ((dead = fork()) == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &st, 0), dead);
	snprintf(pid, sizeof(pid), "%ld\n", (long)dead);
	write_file(lock, pid, strlen(pid));
	c.lock_timeout = 30;
	assert_int_equal(open_status(path, &c), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
	/* alive: a lock like any other */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	write_file(lock, pid, strlen(pid));
	c.lock_timeout = 1;
	assert_int_equal(open_status(path, &c), MD_TEMP);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(unlink(lock), 0);
}

/*
 * Several processes race for the dotlock (the link-count method): at no
 * time do two hold it.
 */
static void
test_dotlock_race(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 inside[PATH_MAX];
	pid_t		 pid[4];
	int		 i, k, st, fd, bad;

	(void)state;
	snprintf(inside, sizeof(inside), "%s.inside", path);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) != 0)
			continue;
		struct lockset	lk;

		memset(&lk, 0, sizeof(lk));
		lk.path = path;
		snprintf(lk.lockpath, sizeof(lk.lockpath), "%s.lock", path);
		lk.fd = -1;
		lk.methods[0] = LOCK_DOTLOCK;
		lk.nmethods = 1;
		lk.timeout = 20;
		bad = 0;
		for (k = 0; k < 40; k++) {
			if (lock_take(&lk) != MD_OK)
				_exit(3);
			fd = open(inside, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (fd == -1)
				bad = 1;
			usleep(500);
			close(fd);
			unlink(inside);
			lock_release(&lk);
		}
		_exit(bad);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	snprintf(inside, sizeof(inside), "%s.lock", path);
	assert_int_equal(access(inside, F_OK), -1);
}

/* test_dotlock_dir_not_writable's child: 0 when the open is [SYS/TEMP]. */
static int
dotlock_check(const char *path)
{
	struct conf	c;

	conf_for(&c, MBOX_MBOXO);
	return open_status(path, &c) == MD_TEMP ? 0 : 1;
}

/* As an unprivileged user in a directory it cannot write: [SYS/TEMP]. */
static void
test_dotlock_dir_not_writable(void **state)
{
	(void)state;
	in_unwritable_dir(M1, dotlock_check);
}

static void
test_fcntl_held(void **state)
{
	const char	*path = mkfile(M1);
	struct flock	 fl;
	struct timespec	 t0, t1;
	struct conf	 c;
	pid_t		 pid;
	int		 ready[2], hold[2], fd, st;
	char		 ch;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(hold[1]);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fd = open(path, O_RDWR);
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(ready[1], "x", 1);
		/* hold the lock until the parent closes its end */
		(void)read(hold[0], &ch, 1);
		_exit(0);
	}
	assert_true(pid > 0);
	close(ready[1]);
	close(hold[0]);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	conf_for(&c, MBOX_MBOXO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	close(hold[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the lock went with the child: open works again */
	assert_int_equal(open_status(path, &c), MD_OK);
}

static void
test_flock_delivery(void **state)
{
	const char	*path = mkfile(MSG_A MSG_B);
	struct timespec	 t0, t1;
	struct conf	 c;
	struct mbox	*m;
	int		 fd;
	static const unsigned char	del[] = { 1, 0 };

	(void)state;
	conf_for(&c, MBOX_MBOXO);
	c.mbox_locks[0] = LOCK_FLOCK;
	c.mbox_locks[1] = LOCK_DOTLOCK;
	c.mbox_locks[2] = LOCK_FCNTL;
	c.nlocks = 3;
	/* an MDA holding flock: bounded wait, then [SYS/TEMP] */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	close(fd);
	/* released: open, and UPDATE under all three locks */
	m = NULL;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	/* between scan and UPDATE the flock is not held */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	assert_string_equal(read_text(path), MSG_B);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_session_lock),
		cmocka_unit_test(test_session_lock_file),
		cmocka_unit_test(test_session_lock_fallback),
		cmocka_unit_test(test_session_lock_foreign),
		cmocka_unit_test(test_no_lock_left),
		cmocka_unit_test(test_dotlock),
		cmocka_unit_test(test_dotlock_dead_owner),
		cmocka_unit_test(test_dotlock_race),
		cmocka_unit_test(test_dotlock_dir_not_writable),
		cmocka_unit_test(test_fcntl_held),
		cmocka_unit_test(test_flock_delivery),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
